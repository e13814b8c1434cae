/*
 * The regression check, run by the drain thread after each window
 * rotation: the newest closed window of each (agent type, metric) series is
 * tested against the baseline entry of the same agent type and metric
 * (agp_regression_limits, published by the baseline keeper) with the
 * quantile test of collector/analysis/quantile_test.h at the false-alarm
 * rate AGP_QUANTILE_TEST_ALPHA; a window it flags raises a regression alert
 * (value: the window's p95; threshold: the baseline's p95).
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
 * A series whose agent type has no baseline entry, or whose window has
 * fewer than AGP_QUANTILE_TEST_MIN_SAMPLES samples, is not tested.
 */
void agp_regression_check(struct agp_collector *collector, struct agp_series_table *table,
                          struct agp_alerting *alerting, uint64_t now_ns);

#endif
