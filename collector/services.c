#include "services.h"

int agp_services_start(struct agp_services *services, struct agp_collector *collector)
{
	services->collector = collector;
	int error = agp_alert_sink_open(&services->alerts, &collector->config);
	if (error)
		return error;
	error = agp_baseline_service_start(&services->baseline, collector);
	if (error)
		agp_alert_sink_close(&services->alerts);
	return error;
}

void agp_services_tick(struct agp_services *services)
{
	const struct agp_snapshot *snapshot = agp_snapshot_read_begin(services->collector);
	if (snapshot)
		agp_alert_sink_deliver(&services->alerts, snapshot);
	agp_snapshot_read_end(snapshot);
	agp_baseline_service_tick(&services->baseline);
}

void agp_services_stop(struct agp_services *services)
{
	agp_services_tick(services);
	agp_baseline_service_stop(&services->baseline);
	agp_alert_sink_close(&services->alerts);
}
