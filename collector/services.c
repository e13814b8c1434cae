#include "services.h"

#include <stdlib.h>

int agp_services_start(struct agp_services *services, struct agp_collector *collector)
{
	services->collector = collector;
	int error = agp_alert_sink_open(&services->alerts, &collector->config);
	if (error)
		return error;
	error = agp_baseline_service_start(&services->baseline, collector);
	if (error)
		goto fail_alerts;
	error = agp_exports_start(&services->exports, collector, &services->export_options);
	if (error)
		goto fail_baseline;
	services->baseline_version = UINT64_MAX;
	return 0;

fail_baseline:
	agp_baseline_service_stop(&services->baseline);
fail_alerts:
	agp_alert_sink_close(&services->alerts);
	return error;
}

/* Hands the exports (Prometheus gauges) the baseline whenever it changed. */
static void share_baseline(struct agp_services *services)
{
	uint64_t version = agp_baseline_service_version(&services->baseline);
	if (version == services->baseline_version)
		return;
	struct agp_baseline *baseline = malloc(sizeof(*baseline));
	if (!baseline)
		return; /* tried again at the next tick */
	if (agp_baseline_service_get(&services->baseline, baseline) == 0 &&
	    agp_exports_set_baseline(&services->exports, baseline) == 0)
		services->baseline_version = version;
	free(baseline);
}

static void tick(struct agp_services *services, bool final)
{
	const struct agp_snapshot *snapshot = agp_snapshot_read_begin(services->collector);
	if (snapshot) {
		agp_alert_sink_deliver(&services->alerts, snapshot);
		agp_exports_tick(&services->exports, snapshot, final);
	}
	agp_snapshot_read_end(snapshot);
	agp_baseline_service_tick(&services->baseline);
	share_baseline(services);
}

void agp_services_tick(struct agp_services *services)
{
	tick(services, false);
}

void agp_services_stop(struct agp_services *services)
{
	tick(services, true);
	agp_exports_stop(&services->exports);
	agp_baseline_service_stop(&services->baseline);
	agp_alert_sink_close(&services->alerts);
}
