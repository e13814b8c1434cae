#include "services.h"

int agp_services_start(struct agp_services *services, struct agp_collector *collector)
{
	services->collector = collector;
	return agp_alert_sink_open(&services->alerts, &collector->config);
}

void agp_services_tick(struct agp_services *services)
{
	const struct agp_snapshot *snapshot = agp_snapshot_read_begin(services->collector);
	if (snapshot)
		agp_alert_sink_deliver(&services->alerts, snapshot);
	agp_snapshot_read_end(snapshot);
}

void agp_services_stop(struct agp_services *services)
{
	agp_services_tick(services);
	agp_alert_sink_close(&services->alerts);
}
