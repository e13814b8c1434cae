/*
 * The regression check, run by the drain thread after each window
 * rotation: a closed (agent type, metric) window whose p95 exceeds the
 * baseline's bound for that metric (agp_regression_limits, published by the
 * baseline keeper) raises a regression alert.
 */
#ifndef AGP_COLLECTOR_REGRESSION_H
#define AGP_COLLECTOR_REGRESSION_H

#include <stdint.h>

#include "collector/alerts/alerting.h"
#include "collector/drain/series.h"

struct agp_collector;

/*
 * Checks the newest closed window of every (agent type, metric) series of
 * table against the collector's current limits, unless alerts or
 * performance-degradation alerts are off or no baseline set any limit.
 */
void agp_regression_check(struct agp_collector *collector, struct agp_series_table *table,
                          struct agp_alerting *alerting, uint64_t now_ns);

#endif
