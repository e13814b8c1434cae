/*
 * The per-window threshold check, for monitoring.real_time_monitoring false:
 * instead of every sample as it is drained (threshold.h), the drain thread
 * checks each (agent type, metric) window as it closes. The window's exact
 * maximum is compared with the metric's critical, then warning threshold,
 * so the same breaches are found as per sample, once per window and level,
 * up to one window later; the alert carries the window's maximum.
 */
#ifndef AGP_COLLECTOR_WINDOW_THRESHOLD_H
#define AGP_COLLECTOR_WINDOW_THRESHOLD_H

#include <stddef.h>
#include <stdint.h>

#include "collector/alerts/alerting.h"
#include "collector/config/config.h"
#include "collector/drain/series.h"

/*
 * Checks the last `closed` closed windows of every (agent type, metric)
 * series that has a threshold, raising at most one alert per window.
 * Drain thread only (it owns table and alerting).
 */
void agp_window_threshold_check(const struct agp_config *config, struct agp_series_table *table,
                                struct agp_alerting *alerting, size_t closed, uint64_t now_ns);

#endif
