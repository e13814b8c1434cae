/*
 * validate_performance_requirements with the seed's keys and rules
 * (docs/analysis.md), thresholds from the config: window = last 30 minutes of
 * coordination_overhead; meets_sub_200ms = avg < critical threshold; p95 <
 * max_acceptable; consistency = sample stddev < coordination_variance_threshold;
 * validated = all three. No baseline or no recent samples: validated false
 * with an error and a recommendation. agentperf adds a per-metric verdict for
 * every metric with thresholds, and a regression check against the baseline
 * (current p95 above the baseline p95's upper bound).
 */
#ifndef AGP_COLLECTOR_VALIDATION_H
#define AGP_COLLECTOR_VALIDATION_H

#include <stdbool.h>

#include <jansson.h>

#include "collector/analysis/baseline.h"
#include "collector/config/config.h"
#include "collector/drain/snapshot.h"

#define AGP_VALIDATION_WINDOW_NS (30ull * 60 * 1000 * 1000 * 1000)

/* The validation object (caller owns it); *validated gets its "validated" value. */
json_t *agp_validate(const struct agp_snapshot *snapshot, const struct agp_config *config,
                     const struct agp_baseline *baseline, bool *validated);

/* The seed's CI export object (the seed's keys plus validation_passed; docs/analysis.md). */
json_t *agp_ci_export(const struct agp_snapshot *snapshot, const struct agp_config *config,
                      const struct agp_baseline *baseline, bool *meets_requirements);

/* The seed's report object (its keys: docs/analysis.md). */
json_t *agp_report(const struct agp_snapshot *snapshot, const struct agp_config *config,
                   const struct agp_baseline *baseline);

/* Statistics of one series over [since_ns, now] as JSON (count, mean, stddev, min, p50, p95, p99,
 * max). */
json_t *agp_series_stats(const struct agp_snapshot *snapshot,
                         const struct agp_snapshot_series *series, uint64_t since_ns,
                         bool corrected);

#endif
