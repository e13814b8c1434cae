/*
 * Raising alerts on the drain thread: for the per-sample threshold checks
 * against the configured warning/critical thresholds (threshold.h) and the
 * window checks against the baseline's p95 bound (regression.c), with rate
 * limiting per (metric, agent type, level) (limiter.c), into a ring of the
 * most recent alerts that snapshots carry to the threads that log, store
 * and forward them (sink.c). Nothing here blocks or does I/O: O(1) work
 * per alert.
 */
#ifndef AGP_COLLECTOR_ALERTING_H
#define AGP_COLLECTOR_ALERTING_H

#include <stdbool.h>
#include <stdint.h>

#include "collector/alerts/limiter.h"
#include "collector/config/config.h"
#include "collector/drain/snapshot.h"

#define AGP_ALERT_RING 512

enum agp_alert_level { AGP_ALERT_WARNING = 0, AGP_ALERT_CRITICAL = 1, AGP_ALERT_REGRESSION = 2 };
const char *agp_alert_level_name(enum agp_alert_level level);

struct agp_alerting {
	bool enabled;
	struct agp_alert_limiter limiter;
	uint64_t raised; /* sequence number of the newest alert */
	struct agp_alert recent[AGP_ALERT_RING];
};

int agp_alerting_init(struct agp_alerting *alerting, const struct agp_config *config);
void agp_alerting_destroy(struct agp_alerting *alerting);

/* The sample's context for an alert. */
struct agp_alert_source {
	uint16_t metric_id;
	enum agp_unit
	    unit; /* the metric's registered unit, for every output that shows the alert */
	const char *metric;
	const char *agent_type;
	const char *agent;
	uint64_t task_id;
	uint64_t time_ns;
};

/* Raises an alert unless the key is cooling down; value and threshold are in the metric's unit. */
void agp_alerting_raise(struct agp_alerting *alerting, const struct agp_alert_source *source,
                        enum agp_alert_level level, int64_t value, int64_t threshold);

/* Copies the up to count newest alerts, oldest first; returns how many. */
size_t agp_alerting_copy_recent(const struct agp_alerting *alerting, struct agp_alert *out,
                                size_t count);

#endif
