/*
 * Baselines: what "normal" looks like for each metric, established from the
 * collector's histograms over a measurement period, with real statistics
 * (count, mean, sample standard deviation, p50/p95/p99, max, the Student-t
 * confidence interval of the mean, and a distribution-free upper bound of
 * the p95 used for regression checks), persisted atomically to
 * <storage_dir>/baseline.json with the seed's keys kept beside them.
 *
 * A baseline is per metric over all agent types (the seed's notion) and
 * also per (agent type, metric).
 */
#ifndef AGP_COLLECTOR_BASELINE_H
#define AGP_COLLECTOR_BASELINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include <agentperf/agent.h>
#include <agentperf/metrics.h>

#include "collector/config/config.h"
#include "collector/drain/snapshot.h"

#define AGP_BASELINE_METRICS_MAX 512

struct agp_hdr;

/*
 * One metric's statistics. Conventions: count, mean and stddev are exact
 * (from the histogram's integer running sums); p50/p95/p99/max are the
 * HdrHistogram reference's (highest value equivalent to the bucket that
 * holds the rank); p95_upper is a bucket value of the same convention.
 * stddev and the interval are NAN with fewer than two samples. An entry
 * imported from the original's baseline.json has a mean only:
 * has_percentiles is false and p50 .. p95_upper are 0 and mean nothing.
 */
struct agp_baseline_metric {
	char metric[AGP_METRIC_NAME_MAX + 1];
	char agent_type[AGP_AGENT_TYPE_MAX + 1]; /* "" for the metric over all agent types */
	enum agp_unit unit;
	uint64_t count;
	double mean;   /* in the metric's unit (ns, bytes) */
	double stddev; /* sample standard deviation */
	double mean_ci_low, mean_ci_high;
	bool has_percentiles; /* p50, p95, p99, max and p95_upper were measured */
	int64_t p50, p95, p99, max;
	int64_t p95_upper; /* upper confidence bound of the p95 (order statistics) */
};

struct agp_baseline {
	bool established;
	int64_t established_at_us; /* Unix microseconds (the seed's files have them) */
	int64_t last_updated_us;
	double measurement_period_hours;
	double confidence_interval;
	uint64_t samples_count; /* coordination_overhead samples it rests on (seed key) */
	size_t metric_count;
	struct agp_baseline_metric metrics[AGP_BASELINE_METRICS_MAX];
};

/*
 * Establishes a baseline from the windows of the last measurement_period_hours
 * of snapshot. Fails (-ENODATA, err says how many samples there are and how
 * many are needed) when coordination_overhead has fewer than min_samples.
 * out is untouched on failure.
 */
int agp_baseline_establish(const struct agp_snapshot *snapshot, double measurement_period_hours,
                           int64_t min_samples, double confidence_interval,
                           struct agp_baseline *out, char *err, size_t errlen);

/* Where the baseline lives: <storage_dir>/baseline.json. */
#define AGP_BASELINE_FILE "baseline.json"

/*
 * Exact mean and sample variance (divisor n - 1) of a histogram's recorded
 * values from its integer running sums, without the cancellation of
 * sum_squares - sum^2 / n in floating point (see baseline.c). 0, or -EINVAL
 * when it is empty; the variance is NAN with one sample.
 */
int agp_baseline_moments(const struct agp_hdr *histogram, double *mean, double *variance);

/*
 * Fills entry's statistics (not its names) from histogram: count, exact mean
 * and stddev, the Student-t interval of the mean at confidence, p50/p95/p99,
 * max and p95_upper (see docs/analysis.md).
 */
void agp_baseline_metric_compute(const struct agp_hdr *histogram, double confidence,
                                 struct agp_baseline_metric *entry);

/* The metric's entry for agent_type (NULL or "" for the all-types entry), or NULL. */
const struct agp_baseline_metric *agp_baseline_find(const struct agp_baseline *baseline,
                                                    const char *metric, const char *agent_type);

/* Seed keys (coordination_overhead_ms, ..., established_at ISO 8601) plus "metrics": [...]. */
json_t *agp_baseline_to_json(const struct agp_baseline *baseline);
int agp_baseline_from_json(const json_t *json, struct agp_baseline *out, char *err, size_t errlen);

/* <storage_dir>/baseline.json, written atomically; load gives -ENOENT when there is none. */
int agp_baseline_save(const struct agp_baseline *baseline, const char *storage_dir, char *err,
                      size_t errlen);
int agp_baseline_load(const char *storage_dir, struct agp_baseline *out, char *err, size_t errlen);

#endif
