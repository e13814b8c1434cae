/*
 * The daemon's baseline keeper and CI exporter, run from the services tick
 * on the main thread, with establish/get offered to the control socket's
 * threads.
 *
 *  - At start: loads <storage_dir>/baseline.json (none is fine; a broken one
 *    is an error that stops the daemon, naming the file and the key) and
 *    gives its p95 bounds to the drain thread as regression limits.
 *  - With baseline.auto_update_baseline: re-establishes every
 *    update_frequency_hours (fractions allowed) from the last
 *    measurement_period_hours, saves baseline.json and publishes the new
 *    limits. Too few samples keeps the old baseline and says so on stderr.
 *  - With monitoring.ci_export_enabled: writes the CI JSON to ci_export_file
 *    every export_frequency_minutes and once more at shutdown, atomically.
 *
 *  - It feeds the baseline to the /metrics exporter (exports.h) on each tick.
 *
 * Threads: a mutex guards the baseline and the timers. The drain thread
 * never takes it (it sees only the RCU-published limits), so holding it
 * while computing a baseline delays other control requests, never the drain.
 */
#ifndef AGP_COLLECTOR_BASELINE_SERVICE_H
#define AGP_COLLECTOR_BASELINE_SERVICE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "collector/analysis/baseline.h"
#include "collector/collector.h"
#include "collector/export/exports.h"
#include "common/storage_dir.h"

struct agp_baseline_service {
	struct agp_collector *collector;
	pthread_mutex_t lock;
	struct agp_baseline *baseline; /* heap: the struct is large; ->established says if any */
	uint64_t next_update_ns;       /* CLOCK_MONOTONIC deadlines */
	uint64_t next_export_ns;
	bool limits_unresolved;      /* some bounded metric was not registered yet: retry */
	struct agp_exports *exports; /* the /metrics gauges, fed from the tick; NULL: none */
	uint64_t updates;            /* auto-updates that established a baseline */
	uint64_t ci_exports_written; /* CI files written */
	const struct agp_storage_dir *storage; /* baseline.json's folder; NULL: by path */
};

/*
 * Loads the baseline and publishes its limits; exports (or NULL) gets the
 * baseline for its /metrics gauges on every tick. With storage (the opened
 * storage_dir, borrowed until stop) baseline.json is read and replaced
 * relative to it and never through a link (a link is refused at start, and
 * replaced by a save); with NULL, by the path under storage_dir. 0; or a
 * negative errno with a message (agp_last_error()) that names baseline.json
 * and the broken key.
 */
int agp_baseline_service_start(struct agp_baseline_service *service,
                               struct agp_collector *collector, struct agp_exports *exports,
                               const struct agp_storage_dir *storage);

/* Periodic work (auto-update, CI export); cheap when nothing is due. */
void agp_baseline_service_tick(struct agp_baseline_service *service);

/* Writes the CI export a last time (when enabled) and releases everything. */
void agp_baseline_service_stop(struct agp_baseline_service *service);

/*
 * Establishes a baseline now from a fresh snapshot, saves it and publishes
 * its limits; the auto-update timer restarts. measurement_period_hours <= 0,
 * min_samples <= 0 or confidence <= 0 take the config's value. 0 and *out;
 * -ENODATA ("N samples, M needed"), -EINVAL or an I/O error with a message
 * in err (out untouched). Thread-safe.
 */
int agp_baseline_service_establish(struct agp_baseline_service *service,
                                   double measurement_period_hours, int64_t min_samples,
                                   double confidence, struct agp_baseline *out, char *err,
                                   size_t errlen);

/* Copies the current baseline: 0, or -ENOENT when none is established. Thread-safe. */
int agp_baseline_service_get(struct agp_baseline_service *service, struct agp_baseline *out);

/* Writes the CI export file now (atomically). 0 or a negative errno with a message in err. */
int agp_baseline_service_export_ci(struct agp_baseline_service *service, char *err, size_t errlen);

/*
 * The regression limits of a baseline: the quantile test's reference
 * (quantile_test.h) of each entry with percentiles, per (metric id, agent
 * type; "" for all types), ids looked up by name in the segment's registry.
 * *unresolved gets how many such metrics are not registered (yet). NULL
 * when out of memory.
 */
struct agp_regression_limits *agp_baseline_regression_limits(const struct agp_baseline *baseline,
                                                             const struct agp_segment *segment,
                                                             size_t *unresolved);

#endif
