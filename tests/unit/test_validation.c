/*
 * Validation, CI export and report on snapshots built by hand (windows
 * encoded from histograms of known values): each seed rule at its boundary,
 * no baseline, no recent samples, per-metric verdicts, the regression test
 * against the baseline's p95 (and what it cannot check), the seed's keys, trends, task counts,
 * alerts and the "unknown" level without samples.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collector/analysis/baseline.h"
#include "collector/config/config.h"
#include "hdr/histogram.h"
#include "hdr/sparse.h"
#include "collector/analysis/validation.h"

#define MS      1000000ll
#define MINUTE  (60ull * 1000 * 1000 * 1000)
#define HOUR    (60 * MINUTE)
#define TAKEN   (10 * HOUR)
#define WALL_MS 1700000000123ll

static struct agp_snapshot *new_snapshot(void)
{
	struct agp_snapshot *snapshot = agp_snapshot_alloc();
	assert_non_null(snapshot);
	snapshot->taken_ns = TAKEN;
	snapshot->taken_wall_ms = WALL_MS;
	snapshot->histogram_lowest = 1;
	snapshot->histogram_highest = 3600ll * 1000 * 1000 * 1000;
	snapshot->histogram_significant_figures = 3;
	snapshot->series = calloc(32, sizeof(*snapshot->series));
	assert_non_null(snapshot->series);
	return snapshot;
}

static struct agp_snapshot_series *add_series(struct agp_snapshot *snapshot, const char *type,
                                              const char *metric, uint16_t id, enum agp_unit unit)
{
	assert_true(snapshot->series_count < 32);
	struct agp_snapshot_series *series = &snapshot->series[snapshot->series_count++];
	snprintf(series->agent_type, sizeof(series->agent_type), "%s", type);
	snprintf(series->metric, sizeof(series->metric), "%s", metric);
	series->metric_id = id;
	series->unit = unit;
	return series;
}

/* Adds a window [start, end) holding values (the last one added is the "open" window). */
static void add_window(struct agp_snapshot_series *series, uint64_t start, uint64_t end,
                       const int64_t *values, size_t count)
{
	struct agp_hdr *histogram;
	assert_int_equal(agp_hdr_create(1, 3600ll * 1000 * 1000 * 1000, 3, &histogram), 0);
	for (size_t i = 0; i < count; i++)
		assert_int_equal(agp_hdr_record(histogram, values[i]), 0);
	series->windows =
	    realloc(series->windows, (series->window_count + 1) * sizeof(*series->windows));
	assert_non_null(series->windows);
	struct agp_snapshot_window *window = &series->windows[series->window_count++];
	memset(window, 0, sizeof(*window));
	window->start_ns = start;
	window->end_ns = end;
	if (count)
		assert_int_equal(
		    agp_sparse_hist_encode(histogram, (struct agp_sparse_hist **)&window->raw), 0);
	series->total_count += count;
	agp_hdr_destroy(histogram);
}

/* One series of coordination overhead in the current window. */
static struct agp_snapshot *coordination_snapshot(const int64_t *values, size_t count)
{
	struct agp_snapshot *snapshot = new_snapshot();
	struct agp_snapshot_series *series =
	    add_series(snapshot, "planner", "coordination_overhead", 0, AGP_UNIT_NANOSECONDS);
	add_window(series, TAKEN - MINUTE, TAKEN, values, count);
	snapshot->totals.aggregated = count;
	return snapshot;
}

static struct agp_baseline *some_baseline(void)
{
	struct agp_baseline *baseline = calloc(1, sizeof(*baseline));
	assert_non_null(baseline);
	baseline->established = true;
	baseline->established_at_us = (WALL_MS - 3600 * 1000) * 1000;
	baseline->last_updated_us = baseline->established_at_us;
	baseline->measurement_period_hours = 1;
	baseline->confidence_interval = 0.95;
	baseline->samples_count = 100;
	baseline->metric_count = 1;
	struct agp_baseline_metric *entry = &baseline->metrics[0];
	snprintf(entry->metric, sizeof(entry->metric), "coordination_overhead");
	entry->unit = AGP_UNIT_NANOSECONDS;
	entry->count = 100;
	entry->mean = 100.0 * MS;
	entry->stddev = 1.0 * MS;
	entry->p50 = entry->p95 = entry->p99 = entry->max = 100 * MS;
	entry->p95_upper = 0;
	entry->has_percentiles = false; /* nothing to test regressions against unless a test says */
	return baseline;
}

static json_t *validate(const struct agp_snapshot *snapshot, const struct agp_config *config,
                        const struct agp_baseline *baseline, bool *validated)
{
	json_t *result = agp_validate(snapshot, config, baseline, validated);
	assert_non_null(result);
	return result;
}

static bool flag(const json_t *object, const char *key)
{
	const json_t *value = json_object_get(object, key);
	if (!json_is_boolean(value)) {
		print_error("key %s is not a boolean\n", key);
		fail();
	}
	return json_is_true(value);
}

static double number(const json_t *object, const char *key)
{
	const json_t *value = json_object_get(object, key);
	if (!json_is_number(value)) {
		print_error("key %s is not a number\n", key);
		fail();
	}
	return json_number_value(value);
}

static void fill(int64_t *values, size_t count, int64_t value)
{
	for (size_t i = 0; i < count; i++)
		values[i] = value;
}

/* The rules ------------------------------------------------------------------------------- */

static void test_average_against_critical(void **state)
{
	(void)state;
	struct agp_config config;
	agp_config_defaults(&config);
	struct agp_baseline *baseline = some_baseline();
	int64_t values[20];
	bool validated = false;

	/* A nanosecond below the critical 200 ms: met. */
	fill(values, 20, 200 * MS - 1);
	struct agp_snapshot *snapshot = coordination_snapshot(values, 20);
	json_t *result = validate(snapshot, &config, baseline, &validated);
	assert_true(flag(result, "meets_sub_200ms_requirement"));
	assert_true(flag(result, "validated"));
	assert_true(validated);
	assert_true(number(result, "avg_coordination_overhead_ms") < 200.0);
	assert_int_equal(json_array_size(json_object_get(result, "recommendations")), 0);
	json_decref(result);
	agp_snapshot_free(snapshot);

	/* Exactly at it: not met ("avg < critical"). */
	fill(values, 20, 200 * MS);
	snapshot = coordination_snapshot(values, 20);
	result = validate(snapshot, &config, baseline, &validated);
	assert_true(number(result, "avg_coordination_overhead_ms") == 200.0);
	assert_false(flag(result, "meets_sub_200ms_requirement"));
	assert_true(flag(result, "meets_consistency_requirement"));
	assert_false(flag(result, "validated"));
	assert_false(validated);
	assert_true(json_array_size(json_object_get(result, "recommendations")) >= 1);
	json_decref(result);

	/* The threshold comes from the config: raise it and the same data passes. */
	config.thresholds.coordination_overhead_warning_ms = 150;
	config.thresholds.coordination_overhead_critical_ms = 201;
	result = validate(snapshot, &config, baseline, &validated);
	assert_true(flag(result, "meets_sub_200ms_requirement"));
	assert_true(validated);
	json_decref(result);
	agp_snapshot_free(snapshot);
	free(baseline);
}

static void test_p95_against_max_acceptable(void **state)
{
	(void)state;
	struct agp_config config;
	agp_config_defaults(&config);
	config.thresholds.coordination_overhead_warning_ms = 900;
	config.thresholds.coordination_overhead_critical_ms = 1000; /* only the p95 rule can fail */
	struct agp_baseline *baseline = some_baseline();
	struct agp_hdr *probe;
	assert_int_equal(agp_hdr_create(1, 3600ll * 1000 * 1000 * 1000, 3, &probe), 0);
	/* p95 is reported as its bucket's highest equivalent value: the boundary is a bucket's. */
	int64_t below = agp_hdr_lowest_equivalent(probe, 250 * MS) - 1;
	assert_true(agp_hdr_highest_equivalent(probe, below) < 250 * MS);
	agp_hdr_destroy(probe);

	int64_t values[20];
	fill(values, 20, below);
	struct agp_snapshot *snapshot = coordination_snapshot(values, 20);
	bool validated = false;
	json_t *result = validate(snapshot, &config, baseline, &validated);
	assert_true(number(result, "p95_coordination_overhead_ms") < 250.0);
	assert_true(flag(result, "meets_p95_requirement"));
	assert_true(validated);
	json_decref(result);
	agp_snapshot_free(snapshot);

	/* 19 samples far below, one at 250 ms: with 20 samples the p95 is the 19th, still fine. */
	fill(values, 19, 10 * MS);
	values[19] = 250 * MS;
	snapshot = coordination_snapshot(values, 20);
	result = validate(snapshot, &config, baseline, &validated);
	assert_true(flag(result, "meets_p95_requirement"));
	json_decref(result);
	agp_snapshot_free(snapshot);

	/* Two at 250 ms: the 19th sample is one of them, p95 >= 250: not met. */
	values[18] = 250 * MS;
	snapshot = coordination_snapshot(values, 20);
	config.thresholds.coordination_variance_threshold = 1000; /* isolate the p95 rule */
	result = validate(snapshot, &config, baseline, &validated);
	assert_true(number(result, "p95_coordination_overhead_ms") >= 250.0);
	assert_false(flag(result, "meets_p95_requirement"));
	assert_true(flag(result, "meets_sub_200ms_requirement"));
	assert_true(flag(result, "meets_consistency_requirement"));
	assert_false(flag(result, "validated"));
	assert_false(validated);
	json_decref(result);
	agp_snapshot_free(snapshot);
	free(baseline);
}

static void test_stddev_against_variance_threshold(void **state)
{
	(void)state;
	struct agp_config config;
	agp_config_defaults(&config);
	struct agp_baseline *baseline = some_baseline();
	bool validated = false;

	/* a - d, a, a + d has sample standard deviation exactly d. */
	int64_t at[3] = {100 * MS - 50 * MS, 100 * MS, 100 * MS + 50 * MS};
	struct agp_snapshot *snapshot = coordination_snapshot(at, 3);
	json_t *result = validate(snapshot, &config, baseline, &validated);
	assert_true(number(result, "stddev_coordination_overhead_ms") == 50.0);
	assert_false(flag(result, "meets_consistency_requirement"));
	assert_true(flag(result, "meets_sub_200ms_requirement"));
	assert_false(validated);
	json_decref(result);
	agp_snapshot_free(snapshot);

	int64_t below[3] = {100 * MS - (50 * MS - 1), 100 * MS, 100 * MS + (50 * MS - 1)};
	snapshot = coordination_snapshot(below, 3);
	result = validate(snapshot, &config, baseline, &validated);
	assert_true(number(result, "stddev_coordination_overhead_ms") < 50.0);
	assert_true(flag(result, "meets_consistency_requirement"));
	assert_true(validated);
	json_decref(result);
	agp_snapshot_free(snapshot);
	free(baseline);
}

static void test_no_baseline(void **state)
{
	(void)state;
	struct agp_config config;
	agp_config_defaults(&config);
	int64_t values[10];
	fill(values, 10, 50 * MS);
	struct agp_snapshot *snapshot = coordination_snapshot(values, 10);
	bool validated = true;
	json_t *result = validate(snapshot, &config, NULL, &validated);
	assert_false(validated);
	assert_false(flag(result, "validated"));
	assert_string_equal(json_string_value(json_object_get(result, "error")),
	                    "No baseline established");
	assert_non_null(json_string_value(json_object_get(result, "recommendation")));
	assert_true(json_array_size(json_object_get(result, "recommendations")) >= 1);
	assert_true(json_is_null(json_object_get(result, "baseline_established_at")));
	assert_true(json_is_null(json_object_get(result, "baseline_overhead_ms")));
	/* The figures are still there: the data is fine, only the baseline is missing. */
	assert_true(number(result, "avg_coordination_overhead_ms") == 50.0);
	json_decref(result);

	/* An unestablished baseline counts as none. */
	struct agp_baseline *empty = calloc(1, sizeof(*empty));
	result = validate(snapshot, &config, empty, &validated);
	assert_false(validated);
	assert_non_null(json_object_get(result, "error"));
	json_decref(result);
	free(empty);
	agp_snapshot_free(snapshot);
}

static void test_no_recent_samples(void **state)
{
	(void)state;
	struct agp_config config;
	agp_config_defaults(&config);
	struct agp_baseline *baseline = some_baseline();
	/* Samples 31 minutes old and older lie outside the 30-minute window. */
	struct agp_snapshot *snapshot = new_snapshot();
	struct agp_snapshot_series *series =
	    add_series(snapshot, "planner", "coordination_overhead", 0, AGP_UNIT_NANOSECONDS);
	int64_t values[10];
	fill(values, 10, 50 * MS);
	add_window(series, TAKEN - 40 * MINUTE, TAKEN - 31 * MINUTE, values, 10);
	add_window(series, TAKEN - MINUTE, TAKEN, NULL, 0);
	bool validated = true;
	json_t *result = validate(snapshot, &config, baseline, &validated);
	assert_false(validated);
	assert_int_equal(json_integer_value(json_object_get(result, "samples_analyzed")), 0);
	assert_non_null(strstr(json_string_value(json_object_get(result, "error")), "No recent"));
	assert_true(json_is_null(json_object_get(result, "avg_coordination_overhead_ms")));
	/* Nothing judged: neither met nor violated. */
	assert_true(json_is_null(json_object_get(result, "meets_sub_200ms_requirement")));
	assert_true(json_is_null(json_object_get(result, "meets_p95_requirement")));
	assert_true(json_is_null(json_object_get(result, "meets_consistency_requirement")));
	assert_true(json_is_false(json_object_get(result, "has_data")));
	assert_string_equal(json_string_value(json_object_get(result, "performance_level")),
	                    "unknown");
	assert_true(number(result, "baseline_overhead_ms") == 100.0);
	json_decref(result);

	/* A window that ends inside the 30 minutes counts. */
	add_window(series, TAKEN - 31 * MINUTE, TAKEN - 29 * MINUTE, values, 10);
	result = validate(snapshot, &config, baseline, &validated);
	assert_int_equal(json_integer_value(json_object_get(result, "samples_analyzed")), 10);
	assert_true(validated);
	json_decref(result);
	agp_snapshot_free(snapshot);
	free(baseline);
}

/* Per-metric verdicts and regressions ------------------------------------------------------ */

static const json_t *verdict_of(const json_t *result, const char *metric)
{
	const json_t *verdicts = json_object_get(result, "metrics");
	for (size_t i = 0; i < json_array_size(verdicts); i++) {
		const json_t *verdict = json_array_get(verdicts, i);
		if (strcmp(json_string_value(json_object_get(verdict, "metric")), metric) == 0)
			return verdict;
	}
	return NULL;
}

static void test_metric_verdicts(void **state)
{
	(void)state;
	struct agp_config config;
	agp_config_defaults(&config);
	/* A custom metric with count thresholds from the `metrics` section. */
	config.metric_count = 1;
	snprintf(config.metrics[0].name, sizeof(config.metrics[0].name), "queue_depth");
	config.metrics[0].unit = AGP_CONFIG_UNIT_COUNT;
	config.metrics[0].warning = 10;
	config.metrics[0].critical = 20;

	int64_t coordination[5];
	fill(coordination, 5, 20 * MS);
	struct agp_snapshot *snapshot = coordination_snapshot(coordination, 5);
	int64_t tasks[4] = {1400 * MS, 1500 * MS, 1500 * MS, 1600 * MS}; /* mean 1500: warning */
	add_window(add_series(snapshot, "planner", "task_execution_time", 1, AGP_UNIT_NANOSECONDS),
	           TAKEN - MINUTE, TAKEN, tasks, 4);
	int64_t memory[2] = {2048ll * 1048576, 2048ll * 1048576}; /* 2 GiB: critical (1024 MB) */
	add_window(add_series(snapshot, "planner", "memory_usage", 5, AGP_UNIT_BYTES),
	           TAKEN - MINUTE, TAKEN, memory, 2);
	int64_t depth[3] = {1, 2, 3};
	add_window(add_series(snapshot, "planner", "queue_depth", 7, AGP_UNIT_COUNT),
	           TAKEN - MINUTE, TAKEN, depth, 3);
	int64_t recovery[1] = {5 * MS}; /* no thresholds: no verdict */
	add_window(add_series(snapshot, "planner", "error_recovery_time", 6, AGP_UNIT_NANOSECONDS),
	           TAKEN - MINUTE, TAKEN, recovery, 1);

	struct agp_baseline *baseline = some_baseline();
	json_t *result = validate(snapshot, &config, baseline, NULL);
	const json_t *verdicts = json_object_get(result, "metrics");
	/* coordination, task execution, agent initialization, memory (the seed's four) +
	 * queue_depth. */
	assert_int_equal(json_array_size(verdicts), 5);
	assert_null(verdict_of(result, "error_recovery_time"));
	assert_null(verdict_of(result, "result_processing"));

	const json_t *v = verdict_of(result, "coordination_overhead");
	assert_string_equal(json_string_value(json_object_get(v, "level")), "ok");
	assert_true(flag(v, "passed"));
	v = verdict_of(result, "task_execution_time");
	assert_string_equal(json_string_value(json_object_get(v, "level")), "warning");
	assert_true(flag(v, "passed"));
	assert_true(number(v, "mean") == 1500.0);
	assert_true(number(v, "warning") == 1000.0);
	assert_true(number(v, "critical") == 2000.0);
	assert_string_equal(json_string_value(json_object_get(v, "unit")), "ms");
	v = verdict_of(result, "memory_usage");
	assert_string_equal(json_string_value(json_object_get(v, "level")), "critical");
	assert_false(flag(v, "passed"));
	assert_true(number(v, "mean") == 2048.0);
	assert_string_equal(json_string_value(json_object_get(v, "unit")), "MB");
	v = verdict_of(result, "agent_initialization");
	assert_string_equal(json_string_value(json_object_get(v, "level")), "no_data");
	assert_true(json_is_null(json_object_get(v, "passed")));
	v = verdict_of(result, "queue_depth");
	assert_string_equal(json_string_value(json_object_get(v, "level")), "ok");
	assert_true(number(v, "mean") == 2.0);
	assert_string_equal(json_string_value(json_object_get(v, "unit")), "count");
	assert_false(flag(result, "metrics_passed"));
	/* The seed's validated covers its three rules only; the verdicts stand beside it. */
	assert_true(flag(result, "validated"));
	json_decref(result);
	agp_snapshot_free(snapshot);
	free(baseline);
}

/* The one regression object of a validation of values against baseline. */
static json_t *regression_of(struct agp_baseline *baseline, const int64_t *values, size_t count)
{
	struct agp_config config;
	agp_config_defaults(&config);
	struct agp_snapshot *snapshot = coordination_snapshot(values, count);
	json_t *result = validate(snapshot, &config, baseline, NULL);
	agp_snapshot_free(snapshot);
	const json_t *regressions = json_object_get(result, "regressions");
	assert_int_equal(json_array_size(regressions), 1);
	json_t *regression = json_incref(json_array_get(regressions, 0));
	const json_t *regressed = json_object_get(regression, "regressed");
	/* regression_detected agrees with the entry, and is false when it was not checked. */
	assert_int_equal(flag(result, "regression_detected"), json_is_true(regressed));
	json_decref(result);
	return regression;
}

/* P(X >= k), X ~ Binomial(n, p), by summing the terms (the witness for small n). */
static double binomial_tail_by_sum(unsigned k, unsigned n, double p)
{
	long double total = 0;
	for (unsigned j = k; j <= n; j++) {
		long double choose = 1;
		for (unsigned i = 0; i < j; i++)
			choose = choose * (n - i) / (i + 1);
		total += choose * powl(p, j) * powl(1 - p, n - j);
	}
	return (double)total;
}

static void test_regression(void **state)
{
	(void)state;
	struct agp_baseline *baseline = some_baseline();
	struct agp_baseline_metric *entry = &baseline->metrics[0];
	struct agp_hdr *probe;
	assert_int_equal(agp_hdr_create(1, 3600ll * 1000 * 1000 * 1000, 3, &probe), 0);
	/* The baseline's p95 is a bucket's highest value, as establish computes it. */
	entry->has_percentiles = true;
	entry->count = 45000;
	entry->p95 = agp_hdr_highest_equivalent(probe, 120 * MS);
	int64_t next_bucket = entry->p95 + 1;
	agp_hdr_destroy(probe);

	/* 40 samples, none above the baseline's p95 (at it is not above). */
	int64_t values[40];
	fill(values, 40, 120 * MS);
	json_t *regression = regression_of(baseline, values, 40);
	assert_true(flag(regression, "checked"));
	assert_false(flag(regression, "regressed"));
	assert_int_equal(
	    json_integer_value(json_object_get(regression, "samples_above_baseline_p95")), 0);
	assert_true(number(regression, "p_value") == 1.0);
	json_decref(regression);

	/* 6 of 40 above: p = P(X >= 6 | 40, p0) ~ 0.016, not below alpha. */
	for (size_t i = 0; i < 6; i++)
		values[i] = next_bucket;
	regression = regression_of(baseline, values, 40);
	double p0 = number(regression, "expected_fraction_above");
	assert_true(p0 > 0.05 && p0 < 0.053);
	assert_int_equal(
	    json_integer_value(json_object_get(regression, "samples_above_baseline_p95")), 6);
	double witness = binomial_tail_by_sum(6, 40, p0);
	assert_true(fabs(number(regression, "p_value") - witness) <= 1e-9 * witness);
	assert_true(witness > 0.001);
	assert_false(flag(regression, "regressed"));
	json_decref(regression);

	/* All 40 above: regressed. */
	fill(values, 40, next_bucket);
	regression = regression_of(baseline, values, 40);
	assert_true(flag(regression, "regressed"));
	assert_true(number(regression, "current_p95") > number(regression, "baseline_p95"));
	json_decref(regression);

	/* 10 samples, all above: too few to test, and it says so. */
	regression = regression_of(baseline, values, 10);
	assert_false(flag(regression, "checked"));
	assert_true(json_is_null(json_object_get(regression, "regressed")));
	assert_non_null(strstr(json_string_value(json_object_get(regression, "reason")),
	                       "10 samples in the window"));
	json_decref(regression);

	/* A means-only entry (the original's baseline.json): not checked, and why. */
	entry->has_percentiles = false;
	entry->p95 = 0;
	regression = regression_of(baseline, values, 40);
	assert_false(flag(regression, "checked"));
	assert_true(json_is_null(json_object_get(regression, "regressed")));
	assert_true(json_is_null(json_object_get(regression, "baseline_p95")));
	assert_true(json_is_null(json_object_get(regression, "p_value")));
	assert_non_null(
	    strstr(json_string_value(json_object_get(regression, "reason")), "no percentiles"));
	json_decref(regression);
	free(baseline);
}

/* CI export and report -------------------------------------------------------------------- */

static void assert_keys(const json_t *object, const char *const *keys, size_t count)
{
	for (size_t i = 0; i < count; i++)
		if (!json_object_get(object, keys[i])) {
			print_error("key %s is missing\n", keys[i]);
			fail();
		}
}

static const char *const validation_keys[] = {
    "validated",
    "avg_coordination_overhead_ms",
    "p95_coordination_overhead_ms",
    "samples_analyzed",
    "baseline_overhead_ms",
    "meets_sub_200ms_requirement",
    "meets_consistency_requirement",
    "recommendations",
    "baseline_established_at",
    "validation_timestamp",
};

static void test_ci_export_keys(void **state)
{
	(void)state;
	struct agp_config config;
	agp_config_defaults(&config);
	struct agp_baseline *baseline = some_baseline();
	int64_t values[10];
	fill(values, 10, 120 * MS); /* good: 100 <= 120 < 150 */
	struct agp_snapshot *snapshot = coordination_snapshot(values, 10);
	bool meets = false;
	json_t *ci = agp_ci_export(snapshot, &config, baseline, &meets);
	assert_non_null(ci);
	static const char *const keys[] = {
	    "performance_validation", "coordination_overhead_ms", "p95_coordination_overhead_ms",
	    "overall_health",         "baseline_established",     "total_metrics_collected",
	    "export_timestamp",       "meets_requirements",       "validation_passed",
	};
	assert_keys(ci, keys, sizeof(keys) / sizeof(keys[0]));
	assert_keys(json_object_get(ci, "performance_validation"), validation_keys,
	            sizeof(validation_keys) / sizeof(validation_keys[0]));
	assert_true(meets);
	assert_true(flag(ci, "meets_requirements"));
	assert_true(flag(ci, "validation_passed"));
	assert_true(flag(ci, "baseline_established"));
	assert_true(number(ci, "coordination_overhead_ms") == 120.0);
	assert_string_equal(json_string_value(json_object_get(ci, "overall_health")), "good");
	/* Which histogram its percentiles come from (docs/hdr.md). */
	assert_string_equal(
	    json_string_value(json_object_get(ci, "coordination_overhead_histogram")), "raw");
	assert_int_equal(json_integer_value(json_object_get(ci, "total_metrics_collected")), 10);
	assert_string_equal(json_string_value(json_object_get(ci, "export_timestamp")),
	                    "2023-11-14T22:13:20.123000+00:00");
	json_decref(ci);

	/* A failing run says so in both keys. */
	json_t *failing = NULL;
	config.thresholds.coordination_overhead_warning_ms = 100;
	config.thresholds.coordination_overhead_critical_ms = 110;
	failing = agp_ci_export(snapshot, &config, baseline, &meets);
	assert_false(meets);
	assert_false(flag(failing, "validation_passed"));
	assert_false(flag(failing, "meets_requirements"));
	json_decref(failing);
	agp_snapshot_free(snapshot);
	free(baseline);
}

static void test_unknown_level_without_samples(void **state)
{
	(void)state;
	struct agp_config config;
	agp_config_defaults(&config);
	struct agp_snapshot *snapshot = new_snapshot();
	bool meets = true;
	json_t *ci = agp_ci_export(snapshot, &config, NULL, &meets);
	assert_string_equal(json_string_value(json_object_get(ci, "overall_health")), "unknown");
	assert_false(meets);
	assert_true(json_is_null(json_object_get(ci, "coordination_overhead_ms")));
	assert_false(flag(ci, "baseline_established"));
	json_decref(ci);
	json_t *report = agp_report(snapshot, &config, NULL);
	assert_string_equal(json_string_value(json_object_get(report, "overall_health")),
	                    "unknown");
	json_decref(report);
	agp_snapshot_free(snapshot);
}

static void test_report(void **state)
{
	(void)state;
	struct agp_config config;
	agp_config_defaults(&config);
	struct agp_baseline *baseline = some_baseline();
	struct agp_snapshot *snapshot = new_snapshot();
	struct agp_snapshot_series *series =
	    add_series(snapshot, "planner", "coordination_overhead", 0, AGP_UNIT_NANOSECONDS);
	/* Three old windows around 100 ms, then a closed window around 200 ms, then the open one.
	 */
	int64_t old[4] = {90 * MS, 100 * MS, 100 * MS, 110 * MS};
	int64_t worse[4] = {190 * MS, 200 * MS, 200 * MS, 210 * MS};
	for (int w = 0; w < 3; w++)
		add_window(series, TAKEN - (uint64_t)(5 - w) * MINUTE,
		           TAKEN - (uint64_t)(4 - w) * MINUTE, old, 4);
	add_window(series, TAKEN - 2 * MINUTE, TAKEN - MINUTE, worse, 4);
	add_window(series, TAKEN - MINUTE, TAKEN, NULL, 0);
	/* 10 tasks: 2 failed, 1 timed out. */
	struct agp_snapshot_series *tasks =
	    add_series(snapshot, "planner", "task_execution_time", 1, AGP_UNIT_NANOSECONDS);
	int64_t durations[10];
	fill(durations, 10, 500 * MS);
	add_window(tasks, TAKEN - MINUTE, TAKEN, durations, 10);
	tasks->failed_count = 2;
	tasks->timeout_count = 1;
	/* One alert, as the drain thread raises them. */
	snapshot->alerts = calloc(1, sizeof(*snapshot->alerts));
	snapshot->alert_count = 1;
	struct agp_alert *alert = &snapshot->alerts[0];
	snprintf(alert->metric, sizeof(alert->metric), "coordination_overhead");
	snprintf(alert->agent_type, sizeof(alert->agent_type), "planner");
	snprintf(alert->level, sizeof(alert->level), "critical");
	alert->value = 250500000;
	alert->threshold = 200 * MS;
	alert->wall_time_ms = WALL_MS;

	json_t *report = agp_report(snapshot, &config, baseline);
	assert_non_null(report);
	static const char *const keys[] = {
	    "report_id",
	    "generated_at",
	    "baseline",
	    "recent_metrics",
	    "avg_coordination_overhead",
	    "p95_coordination_overhead",
	    "p99_coordination_overhead",
	    "total_tasks_executed",
	    "successful_tasks",
	    "failed_tasks",
	    "timeout_tasks",
	    "performance_trends",
	    "threshold_violations",
	    "recommendations",
	    "overall_health",
	};
	assert_keys(report, keys, sizeof(keys) / sizeof(keys[0]));
	assert_string_equal(json_string_value(json_object_get(report, "report_id")),
	                    "perf_report_1700000000");
	assert_true(json_is_object(json_object_get(report, "baseline")));
	assert_int_equal(json_integer_value(json_object_get(report, "total_tasks_executed")), 10);
	assert_int_equal(json_integer_value(json_object_get(report, "successful_tasks")), 7);
	assert_int_equal(json_integer_value(json_object_get(report, "failed_tasks")), 2);
	assert_int_equal(json_integer_value(json_object_get(report, "timeout_tasks")), 1);
	/* 70% success is below the default minimum of 90%: recommended. */
	const json_t *recommendations = json_object_get(report, "recommendations");
	bool success_rate_named = false;
	for (size_t i = 0; i < json_array_size(recommendations); i++)
		success_rate_named |= strstr(json_string_value(json_array_get(recommendations, i)),
		                             "success rate") != NULL;
	assert_true(success_rate_named);
	/* Average over 16 samples: (3 * 400 + 800) / 16 = 125 ms. */
	assert_true(number(report, "avg_coordination_overhead") == 125.0);
	assert_int_equal(json_array_size(json_object_get(report, "recent_metrics")), 2);
	assert_string_equal(
	    json_string_value(json_object_get(report, "coordination_overhead_histogram")), "raw");

	const json_t *trend =
	    json_object_get(json_object_get(report, "performance_trends"), "coordination_overhead");
	assert_string_equal(json_string_value(json_object_get(trend, "trend")), "degrading");
	assert_true(number(trend, "p95_change_percent") > 80.0);
	assert_true(number(trend, "mean_change_percent") == 100.0);
	trend =
	    json_object_get(json_object_get(report, "performance_trends"), "task_execution_time");
	assert_string_equal(json_string_value(json_object_get(trend, "trend")),
	                    "insufficient_data");

	const json_t *violations = json_object_get(report, "threshold_violations");
	assert_int_equal(json_array_size(violations), 1);
	assert_string_equal(
	    json_string_value(json_object_get(json_array_get(violations, 0), "message")),
	    "Performance threshold violation: coordination_overhead = 250.5ms (Level: critical)");
	assert_string_equal(json_string_value(json_object_get(report, "overall_health")), "good");
	json_decref(report);
	agp_snapshot_free(snapshot);
	free(baseline);
}

static void test_series_stats(void **state)
{
	(void)state;
	int64_t values[4] = {1 * MS, 2 * MS, 3 * MS, 4 * MS};
	struct agp_snapshot *snapshot = coordination_snapshot(values, 4);
	json_t *stats = agp_series_stats(snapshot, &snapshot->series[0], 0, false);
	assert_non_null(stats);
	assert_int_equal(json_integer_value(json_object_get(stats, "count")), 4);
	assert_true(number(stats, "mean") == 2.5 * MS);
	/* Sample stddev of 1, 2, 3, 4 (ms) is sqrt(5/3) ms. */
	assert_true(fabs(number(stats, "stddev") - sqrt(5.0 / 3.0) * MS) < 1e-6);
	assert_string_equal(json_string_value(json_object_get(stats, "histogram")), "raw");
	json_decref(stats);
	/* No corrected histogram without an expected interval. */
	assert_null(agp_series_stats(snapshot, &snapshot->series[0], 0, true));
	agp_snapshot_free(snapshot);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_average_against_critical),
	    cmocka_unit_test(test_p95_against_max_acceptable),
	    cmocka_unit_test(test_stddev_against_variance_threshold),
	    cmocka_unit_test(test_no_baseline),
	    cmocka_unit_test(test_no_recent_samples),
	    cmocka_unit_test(test_metric_verdicts),
	    cmocka_unit_test(test_regression),
	    cmocka_unit_test(test_ci_export_keys),
	    cmocka_unit_test(test_unknown_level_without_samples),
	    cmocka_unit_test(test_report),
	    cmocka_unit_test(test_series_stats),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
