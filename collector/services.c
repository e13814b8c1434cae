#include "collector/services.h"

int agp_services_start(struct agp_services *services, struct agp_collector *collector)
{
	services->collector = collector;
	const struct agp_config_monitoring *monitoring = &collector->config.monitoring;
	gid_t group;
	int error = agp_storage_resolve_group(collector->config.additions.group, &group);
	if (error)
		return error;
	error = agp_storage_dir_open(&services->storage, monitoring->storage_dir, group);
	if (error)
		return error;
	error = agp_alert_sink_open(&services->alerts, &collector->config, &services->storage);
	if (error)
		goto fail_storage;
	services->export_options.storage = &services->storage;
	error = agp_exports_start(&services->exports, collector, &services->export_options);
	if (error)
		goto fail_alerts;
	error = agp_baseline_service_start(&services->baseline, collector, &services->exports,
	                                   &services->storage);
	if (error)
		goto fail_exports;
	return 0;

fail_exports:
	agp_exports_stop(&services->exports);
fail_alerts:
	agp_alert_sink_close(&services->alerts);
fail_storage:
	agp_storage_dir_close(&services->storage);
	return error;
}

static void tick(struct agp_services *services, bool final)
{
	const struct agp_snapshot *snapshot = agp_snapshot_read_begin(services->collector);
	if (snapshot) {
		agp_alert_sink_deliver(&services->alerts, snapshot);
		agp_exports_tick(&services->exports, snapshot, final);
	}
	agp_snapshot_read_end(snapshot);
	if (!final)
		agp_baseline_service_tick(&services->baseline);
}

void agp_services_tick(struct agp_services *services)
{
	tick(services, false);
}

void agp_services_stop(struct agp_services *services)
{
	tick(services, true);
	agp_baseline_service_stop(&services->baseline); /* writes the CI export a last time */
	agp_exports_stop(&services->exports);
	agp_alert_sink_close(&services->alerts);
	agp_storage_dir_close(&services->storage);
}
