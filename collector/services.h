/*
 * The daemon's periodic services, run on the main thread between signals:
 * logging and storing alerts, keeping the baseline up to date, and writing
 * the files other tools read. Every service reads snapshots only, so none
 * of them can slow the drain.
 */
#ifndef AGP_COLLECTOR_SERVICES_H
#define AGP_COLLECTOR_SERVICES_H

#include "collector/alerts/sink.h"
#include "collector/analysis/baseline_service.h"
#include "collector/collector.h"
#include "collector/export/exports.h"
#include "common/storage_dir.h"

struct agp_services {
	struct agp_collector *collector;
	struct agp_storage_dir storage; /* monitoring.storage_dir, opened once (storage_dir.h) */
	struct agp_alert_sink alerts;
	struct agp_exports_options export_options; /* set by the caller before start */
	struct agp_exports exports;
	struct agp_baseline_service baseline; /* baseline keeper and CI export */
};

/*
 * Opens the storage folder (refusing one that is a link, foreign-owned or writable by others),
 * then the alert sink, the exports and the baseline keeper, every file relative to it.
 * 0 or a negative errno with agp_last_error().
 */
int agp_services_start(struct agp_services *services, struct agp_collector *collector);
void agp_services_tick(struct agp_services *services);
/* Runs a last tick (after the final drain) and releases everything. */
void agp_services_stop(struct agp_services *services);

#endif
