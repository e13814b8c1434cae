/*
 * The per-sample threshold check, run by the drain thread on every sample
 * of a metric with a warning or critical threshold: inline and O(1),
 * because it is on the drain's hot path. The caller raises the alert
 * (agp_alerting_raise), building the alert's context only for a violation.
 */
#ifndef AGP_COLLECTOR_THRESHOLD_H
#define AGP_COLLECTOR_THRESHOLD_H

#include <stdbool.h>
#include <stdint.h>

#include "collector/alerts/alerting.h"

/*
 * True when value exceeds critical (then *level is AGP_ALERT_CRITICAL and
 * *threshold critical), else when it exceeds warning (AGP_ALERT_WARNING);
 * a threshold of 0 is none. Thresholds are in the metric's unit.
 */
static inline bool agp_threshold_violated(int64_t value, int64_t warning, int64_t critical,
                                          enum agp_alert_level *level, int64_t *threshold)
{
	if (critical && value > critical) {
		*level = AGP_ALERT_CRITICAL;
		*threshold = critical;
		return true;
	}
	if (warning && value > warning) {
		*level = AGP_ALERT_WARNING;
		*threshold = warning;
		return true;
	}
	return false;
}

#endif
