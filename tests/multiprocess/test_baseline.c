/*
 * Baselines from a real collector run in this process: an agent of the same
 * process records a known data set, the drain thread aggregates it, and the
 * baseline's statistics are checked against figures computed here from the
 * raw values (exact mean and sample standard deviation, the t interval with
 * a table value of t, percentiles within the histogram's precision, the p95
 * upper bound by its order-statistic rank). Also: too few samples, the
 * per-series failed/timeout counts, save/load round trip, broken files.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <agentperf/agentperf.h>

#include "collector/analysis/baseline.h"
#include "collector/collector.h"
#include "hdr/histogram.h"

#define MS        1000000ll
#define PLANNERS  20
#define EXECUTORS 10
#define N         (PLANNERS + EXECUTORS)
#define T_29_975  2.0452296421327 /* Student t, 29 degrees of freedom, two-sided 95 % */
#define Z_95      1.6448536269514722

struct fixture {
	char storage[64];
	char deployment[64];
	struct agp_collector collector;
	agp_agent *planner, *executor;
	int64_t values[N]; /* coordination overhead: planners first */
};

static struct fixture fx;

/* A fixed pseudo-random data set: 80 ms plus up to 40 ms, nanosecond resolution. */
static void make_values(void)
{
	uint64_t state = 12345;
	for (int i = 0; i < N; i++) {
		state = state * 6364136223846793005ull + 1442695040888963407ull;
		fx.values[i] = 80 * MS + (int64_t)((state >> 33) % (uint64_t)(40 * MS));
	}
}

static int setup(void **state)
{
	(void)state;
	snprintf(fx.storage, sizeof(fx.storage), "/tmp/agp-test-baseline-XXXXXX");
	if (!mkdtemp(fx.storage))
		return -1;
	snprintf(fx.deployment, sizeof(fx.deployment), "agp-test-baseline-%d", (int)getpid());
	struct agp_config config;
	agp_config_defaults(&config);
	snprintf(config.monitoring.storage_dir, sizeof(config.monitoring.storage_dir), "%s",
	         fx.storage);
	config.additions.aggregation_window_seconds = 60;
	struct agp_collector_options options;
	agp_collector_options_default(&options);
	options.deployment = fx.deployment;
	if (agp_collector_open(&fx.collector, &options, &config) != 0 ||
	    agp_collector_start(&fx.collector) != 0) {
		fprintf(stderr, "collector: %s\n", agp_last_error());
		return -1;
	}
	struct agp_agent_options agent_options = {fx.deployment};
	if (agp_agent_open("planner-1", "planner", &agent_options, &fx.planner) != 0 ||
	    agp_agent_open("executor-1", "executor", &agent_options, &fx.executor) != 0)
		return -1;
	make_values();
	for (int i = 0; i < N; i++)
		if (!agp_record(i < PLANNERS ? fx.planner : fx.executor,
		                AGP_METRIC_COORDINATION_OVERHEAD, fx.values[i], (uint64_t)i + 1))
			return -1;
	/* Six tasks: two failed, two timed out (one of them also flagged failed), two fine. */
	const uint16_t flags[6] = {0,
	                           AGP_RECORD_FAILED,
	                           AGP_RECORD_FAILED,
	                           AGP_RECORD_TIMEOUT,
	                           AGP_RECORD_TIMEOUT | AGP_RECORD_FAILED,
	                           0};
	for (int i = 0; i < 6; i++)
		if (!agp_record_at(fx.executor, AGP_METRIC_TASK_EXECUTION_TIME, 500 * MS + i,
		                   (uint64_t)i + 1, agp_clock_now_ns(fx.executor), flags[i]))
			return -1;
	return agp_collector_refresh(&fx.collector, 5000);
}

static int teardown(void **state)
{
	(void)state;
	agp_agent_close(fx.planner);
	agp_agent_close(fx.executor);
	agp_collector_close(&fx.collector, true);
	char command[128];
	snprintf(command, sizeof(command), "rm -rf '%s'", fx.storage);
	return system(command) == 0 ? 0 : -1;
}

/* Figures computed here, independently of the collector. */
struct expected {
	uint64_t count;
	double mean, stddev;
	int64_t sorted[N];
};

static int compare_int64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

static void expect(const int64_t *values, size_t count, struct expected *out)
{
	long double sum = 0;
	for (size_t i = 0; i < count; i++)
		sum += (long double)values[i]; /* exact: 30 values below 2^27 */
	long double mean = sum / (long double)count;
	long double m2 = 0;
	for (size_t i = 0; i < count; i++)
		m2 += ((long double)values[i] - mean) * ((long double)values[i] - mean);
	out->count = count;
	out->mean = (double)mean;
	out->stddev = (double)sqrtl(m2 / (long double)(count - 1));
	memcpy(out->sorted, values, count * sizeof(*values));
	qsort(out->sorted, count, sizeof(*values), compare_int64);
}

/* The value of rank (1-based) within the histogram's precision: its bucket's highest value. */
static void assert_bucket_of(int64_t got, int64_t exact)
{
	if (got < exact || (double)(got - exact) > (double)exact / 1000.0) {
		print_error("got %lld, exact %lld: outside the histogram's precision\n",
		            (long long)got, (long long)exact);
		fail();
	}
}

static int64_t at_percentile(const struct expected *e, double percentile)
{
	/* The reference's rank: nearest, rounding half up, at least the first. */
	int64_t rank = (int64_t)(percentile / 100.0 * (double)e->count + 0.5);
	return e->sorted[(rank < 1 ? 1 : rank) - 1];
}

static void assert_rel(double got, double want, double rel)
{
	if (!(fabs(got - want) <= rel * fabs(want))) {
		print_error("got %.17g, want %.17g (relative %.3g allowed)\n", got, want, rel);
		fail();
	}
}

static void check_entry(const struct agp_baseline_metric *entry, const struct expected *e)
{
	assert_int_equal(entry->count, e->count);
	assert_rel(entry->mean, e->mean, 1e-15);
	assert_rel(entry->stddev, e->stddev, 1e-12);
	assert_bucket_of(entry->p50, at_percentile(e, 50));
	assert_bucket_of(entry->p95, at_percentile(e, 95));
	assert_bucket_of(entry->p99, at_percentile(e, 99));
	assert_bucket_of(entry->max, e->sorted[e->count - 1]);
	double rank = ceil((double)e->count * 0.95 + Z_95 * sqrt((double)e->count * 0.0475));
	if (rank > (double)e->count)
		rank = (double)e->count;
	assert_bucket_of(entry->p95_upper, e->sorted[(size_t)rank - 1]);
	assert_true(entry->p95_upper >= entry->p95);
}

static struct agp_baseline *establish(int64_t min_samples, int *error, char *err, size_t errlen)
{
	struct agp_baseline *baseline = malloc(sizeof(*baseline));
	assert_non_null(baseline);
	memset(baseline, 0x5a, sizeof(*baseline));
	const struct agp_snapshot *snapshot = agp_snapshot_read_begin(&fx.collector);
	*error = agp_baseline_establish(snapshot, 1.0, min_samples, 0.95, baseline, err, errlen);
	agp_snapshot_read_end(snapshot);
	return baseline;
}

static void test_statistics_of_a_known_set(void **state)
{
	(void)state;
	char err[256] = "";
	int error;
	struct agp_baseline *baseline = establish(N, &error, err, sizeof(err));
	if (error)
		print_error("%s\n", err);
	assert_int_equal(error, 0);
	assert_true(baseline->established);
	assert_int_equal(baseline->samples_count, N);
	assert_true(baseline->measurement_period_hours == 1.0);
	assert_true(baseline->confidence_interval == 0.95);

	struct expected all, planners, executors;
	expect(fx.values, N, &all);
	expect(fx.values, PLANNERS, &planners);
	expect(fx.values + PLANNERS, EXECUTORS, &executors);

	const struct agp_baseline_metric *entry =
	    agp_baseline_find(baseline, "coordination_overhead", "");
	assert_non_null(entry);
	assert_int_equal(entry->unit, AGP_UNIT_NANOSECONDS);
	check_entry(entry, &all);
	/* The t interval with t from a table: 29 degrees of freedom at 95 %. */
	double half = T_29_975 * all.stddev / sqrt((double)N);
	assert_rel(entry->mean_ci_high - entry->mean, half, 1e-7);
	assert_rel(entry->mean - entry->mean_ci_low, half, 1e-7);

	entry = agp_baseline_find(baseline, "coordination_overhead", "planner");
	assert_non_null(entry);
	check_entry(entry, &planners);
	entry = agp_baseline_find(baseline, "coordination_overhead", "executor");
	assert_non_null(entry);
	check_entry(entry, &executors);
	/* 9 degrees of freedom: t = 2.2621571627982 (table). */
	assert_rel(entry->mean_ci_high - entry->mean,
	           2.2621571627982 * executors.stddev / sqrt((double)EXECUTORS), 1e-7);

	entry = agp_baseline_find(baseline, "task_execution_time", NULL);
	assert_non_null(entry);
	assert_int_equal(entry->count, 6);
	assert_rel(entry->mean, 500 * MS + 2.5, 1e-15);
	assert_null(agp_baseline_find(baseline, "memory_usage", NULL));
	/* coordination (all, planner, executor) and task execution (all, executor). */
	assert_int_equal(baseline->metric_count, 5);
	free(baseline);
}

static void test_too_few_samples(void **state)
{
	(void)state;
	char err[256] = "";
	int error;
	struct agp_baseline *baseline = establish(N + 1, &error, err, sizeof(err));
	assert_int_equal(error, -ENODATA);
	assert_non_null(strstr(err, "30 samples, 31 needed"));
	/* The output was not touched. */
	const unsigned char *bytes = (const unsigned char *)baseline;
	for (size_t i = 0; i < sizeof(*baseline); i++)
		assert_int_equal(bytes[i], 0x5a);
	free(baseline);
}

/* Copies a series' counters under the read lock (a failed check must not leave it held). */
static struct agp_snapshot_series series_counts(const char *type, const char *agent,
                                                const char *metric)
{
	struct agp_snapshot_series copy;
	memset(&copy, 0xff, sizeof(copy));
	const struct agp_snapshot *snapshot = agp_snapshot_read_begin(&fx.collector);
	const struct agp_snapshot_series *series =
	    agp_snapshot_find_series(snapshot, type, agent, metric);
	if (series) {
		copy = *series;
		copy.windows = NULL;
	}
	agp_snapshot_read_end(snapshot);
	return copy;
}

static void test_failed_and_timeout_counts(void **state)
{
	(void)state;
	struct agp_snapshot_series by_type = series_counts("executor", NULL, "task_execution_time");
	struct agp_snapshot_series by_agent =
	    series_counts("executor", "executor-1", "task_execution_time");
	assert_int_equal(by_type.total_count, 6);
	assert_int_equal(by_type.failed_count, 2);
	assert_int_equal(by_type.timeout_count, 2);
	assert_int_equal(by_agent.total_count, 6);
	assert_int_equal(by_agent.failed_count, 2);
	assert_int_equal(by_agent.timeout_count, 2);
	struct agp_snapshot_series coordination =
	    series_counts("planner", NULL, "coordination_overhead");
	assert_int_equal(coordination.total_count, PLANNERS);
	assert_int_equal(coordination.failed_count + coordination.timeout_count, 0);
}

static void test_save_load_round_trip(void **state)
{
	(void)state;
	char err[512] = "";
	int error;
	struct agp_baseline *baseline = establish(N, &error, err, sizeof(err));
	assert_int_equal(error, 0);
	assert_int_equal(agp_baseline_save(baseline, fx.storage, err, sizeof(err)), 0);

	struct agp_baseline *loaded = calloc(1, sizeof(*loaded));
	assert_int_equal(agp_baseline_load(fx.storage, loaded, err, sizeof(err)), 0);
	assert_true(loaded->established);
	assert_int_equal(loaded->established_at_us, baseline->established_at_us);
	assert_int_equal(loaded->last_updated_us, baseline->last_updated_us);
	assert_int_equal(loaded->samples_count, baseline->samples_count);
	assert_true(loaded->measurement_period_hours == baseline->measurement_period_hours);
	assert_true(loaded->confidence_interval == baseline->confidence_interval);
	assert_int_equal(loaded->metric_count, baseline->metric_count);
	for (size_t i = 0; i < baseline->metric_count; i++) {
		const struct agp_baseline_metric *a = &baseline->metrics[i],
		                                 *b = &loaded->metrics[i];
		assert_string_equal(a->metric, b->metric);
		assert_string_equal(a->agent_type, b->agent_type);
		assert_int_equal(a->unit, b->unit);
		assert_int_equal(a->count, b->count);
		/* 17 significant digits: doubles come back bit for bit. */
		assert_true(a->mean == b->mean && a->stddev == b->stddev);
		assert_true(a->mean_ci_low == b->mean_ci_low && a->mean_ci_high == b->mean_ci_high);
		assert_true(a->has_percentiles && b->has_percentiles);
		assert_int_equal(a->p50, b->p50);
		assert_int_equal(a->p95, b->p95);
		assert_int_equal(a->p99, b->p99);
		assert_int_equal(a->max, b->max);
		assert_int_equal(a->p95_upper, b->p95_upper);
	}

	/* The seed's keys, in ms, beside the statistics. */
	char path[128];
	snprintf(path, sizeof(path), "%s/baseline.json", fx.storage);
	json_t *json = json_load_file(path, 0, NULL);
	assert_non_null(json);
	const struct agp_baseline_metric *coordination =
	    agp_baseline_find(baseline, "coordination_overhead", "");
	assert_rel(json_number_value(json_object_get(json, "coordination_overhead_ms")),
	           coordination->mean / 1e6, 1e-15);
	assert_rel(json_number_value(json_object_get(json, "task_execution_ms")), 500.0000025,
	           1e-15);
	const char *seed_keys[] = {"agent_init_ms", "result_processing_ms", "parallel_overhead_ms",
	                           "memory_usage_mb"};
	for (size_t i = 0; i < 4; i++)
		assert_true(json_is_number(json_object_get(json, seed_keys[i])));
	assert_int_equal(json_integer_value(json_object_get(json, "samples_count")), N);
	const char *established = json_string_value(json_object_get(json, "established_at"));
	assert_non_null(established);
	assert_int_equal(strlen(established), strlen("2026-01-31T12:00:00.123000+00:00"));
	assert_non_null(json_string_value(json_object_get(json, "last_updated")));
	assert_int_equal(json_array_size(json_object_get(json, "metrics")), baseline->metric_count);
	json_decref(json);
	free(loaded);
	free(baseline);
}

/* Broken files ---------------------------------------------------------------------------- */

static void write_file(const char *folder, const char *text)
{
	char path[128];
	snprintf(path, sizeof(path), "%s/baseline.json", folder);
	FILE *file = fopen(path, "w");
	assert_non_null(file);
	fputs(text, file);
	fclose(file);
}

static void expect_broken(const char *folder, const char *text, const char *key_named)
{
	write_file(folder, text);
	struct agp_baseline *out = calloc(1, sizeof(*out));
	char err[512] = "";
	assert_int_equal(agp_baseline_load(folder, out, err, sizeof(err)), -EINVAL);
	if (!strstr(err, "baseline.json") || !strstr(err, folder) || !strstr(err, key_named)) {
		print_error("message '%s' does not name the file and '%s'\n", err, key_named);
		fail();
	}
	assert_false(out->established); /* untouched */
	free(out);
}

#define SEED_PART                                                                                  \
	"\"coordination_overhead_ms\": 120.5, \"task_execution_ms\": 0.0, \"agent_init_ms\": "     \
	"0.0, "                                                                                    \
	"\"result_processing_ms\": 0.0, \"parallel_overhead_ms\": 0.0, \"memory_usage_mb\": 0.0, "
#define TIMES_PART                                                                                 \
	"\"established_at\": \"2024-01-15T10:30:00.123456\", "                                     \
	"\"last_updated\": \"2024-01-15T10:30:00.123456\""
#define ENTRY(p95)                                                                                 \
	"{\"metric\": \"coordination_overhead\", \"agent_type\": null, \"unit\": "                 \
	"\"nanoseconds\", "                                                                        \
	"\"count\": 50, \"mean\": 1.0e8, \"stddev\": 1.0e6, \"mean_ci_low\": 9.9e7, "              \
	"\"mean_ci_high\": 1.01e8, \"p50\": 100000000, " p95 "\"p99\": 100000000, "                \
	"\"max\": 100000000, \"p95_upper\": 100000000}"

static void test_broken_files(void **state)
{
	(void)state;
	char folder[64] = "/tmp/agp-test-broken-XXXXXX";
	assert_non_null(mkdtemp(folder));
	struct agp_baseline *out = calloc(1, sizeof(*out));
	char err[512] = "";
	assert_int_equal(agp_baseline_load(folder, out, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, folder));

	expect_broken(folder, "{\"samples_count\": ", "not valid JSON");
	expect_broken(folder, "[1, 2]", "top level");
	expect_broken(folder,
	              "{" SEED_PART "\"samples_count\": \"many\", \"measurement_period_hours\": 1, "
	              "\"confidence_interval\": 0.95, " TIMES_PART "}",
	              "'samples_count'");
	expect_broken(folder,
	              "{" SEED_PART "\"samples_count\": 50, \"measurement_period_hours\": 1, "
	              "\"confidence_interval\": 1.5, " TIMES_PART "}",
	              "'confidence_interval'");
	expect_broken(folder,
	              "{" SEED_PART "\"samples_count\": 50, \"measurement_period_hours\": 1, "
	              "\"confidence_interval\": 0.95, \"established_at\": \"yesterday\", "
	              "\"last_updated\": \"2024-01-15T10:30:00\"}",
	              "'established_at'");
	expect_broken(folder,
	              "{\"task_execution_ms\": 0.0, \"agent_init_ms\": 0.0, "
	              "\"result_processing_ms\": 0.0, \"parallel_overhead_ms\": 0.0, "
	              "\"memory_usage_mb\": 0.0, \"samples_count\": 50, "
	              "\"measurement_period_hours\": 1, \"confidence_interval\": 0.95, " TIMES_PART
	              "}",
	              "'coordination_overhead_ms'");
	expect_broken(folder,
	              "{" SEED_PART "\"samples_count\": 50, \"measurement_period_hours\": 1, "
	              "\"confidence_interval\": 0.95, " TIMES_PART
	              ", \"metrics\": [" ENTRY("\"p95\": 100000000, ") ", " ENTRY("") "]}",
	              "'metrics[1].p95'");
	expect_broken(folder,
	              "{" SEED_PART "\"samples_count\": 50, \"measurement_period_hours\": 1, "
	              "\"confidence_interval\": 0.95, " TIMES_PART ", \"metrics\": {}}",
	              "'metrics'");
	/* Percentiles are all numbers or all null: a null p95 beside a p50 names the key. */
	expect_broken(folder,
	              "{" SEED_PART "\"samples_count\": 50, \"measurement_period_hours\": 1, "
	              "\"confidence_interval\": 0.95, " TIMES_PART
	              ", \"metrics\": [" ENTRY("\"p95\": null, ") "]}",
	              "'metrics[0].p95'");

	/* A file of the original system (seed keys only) loads: its means become entries. */
	write_file(folder,
	           "{" SEED_PART "\"samples_count\": 50, \"measurement_period_hours\": 1.0, "
	           "\"confidence_interval\": 0.95, " TIMES_PART "}");
	assert_int_equal(agp_baseline_load(folder, out, err, sizeof(err)), 0);
	assert_true(out->established);
	assert_int_equal(out->samples_count, 50);
	const struct agp_baseline_metric *entry =
	    agp_baseline_find(out, "coordination_overhead", NULL);
	assert_non_null(entry);
	assert_true(entry->mean == 120.5e6);
	assert_int_equal(entry->count, 50);
	/* Means only: it says it has no percentiles, and shows them as null, not 0. */
	assert_false(entry->has_percentiles);
	struct agp_quantile_reference reference;
	assert_int_equal(agp_quantile_reference_from_baseline(entry, 0.95, &reference), -ENODATA);
	assert_null(agp_baseline_find(out, "task_execution_time", NULL));
	/* The seed's microseconds survive (.123456), read and written. */
	assert_int_equal(out->established_at_us % 1000000, 123456);
	assert_int_equal(out->last_updated_us, out->established_at_us);
	json_t *json = agp_baseline_to_json(out);
	assert_non_null(json);
	const char *established = json_string_value(json_object_get(json, "established_at"));
	assert_non_null(established);
	assert_non_null(strstr(established, ".123456+00:00"));
	const json_t *written = json_array_get(json_object_get(json, "metrics"), 0);
	const char *const percentiles[] = {"p50", "p95", "p99", "max", "p95_upper"};
	for (size_t k = 0; k < 5; k++)
		assert_true(json_is_null(json_object_get(written, percentiles[k])));
	/* And it reads back as the same: no percentiles, the same microsecond. */
	struct agp_baseline *again = calloc(1, sizeof(*again));
	assert_non_null(again);
	assert_int_equal(agp_baseline_from_json(json, again, err, sizeof(err)), 0);
	assert_int_equal(again->established_at_us, out->established_at_us);
	assert_false(agp_baseline_find(again, "coordination_overhead", NULL)->has_percentiles);
	free(again);
	json_decref(json);
	free(out);
	char command[128];
	snprintf(command, sizeof(command), "rm -rf '%s'", folder);
	assert_int_equal(system(command), 0);
}

/* Exactness and the bound on larger sets, directly on histograms --------------------------- */

static void test_moments_are_exact(void **state)
{
	(void)state;
	struct agp_hdr *h;
	assert_int_equal(agp_hdr_create(1, 3600ll * 1000 * 1000 * 1000, 3, &h), 0);
	/* 100 s +- 1 ns: sum of squares 3e22, where a long double's rounding is about 1e3. */
	for (int64_t v = 0; v < 3; v++)
		agp_hdr_record(h, 100000000000ll + v);
	double mean, variance;
	assert_int_equal(agp_baseline_moments(h, &mean, &variance), 0);
	assert_true(mean == 100000000001.0);
	assert_true(variance == 1.0);
	agp_hdr_reset(h);
	assert_int_equal(agp_baseline_moments(h, &mean, &variance), -EINVAL);
	agp_hdr_record(h, 7);
	assert_int_equal(agp_baseline_moments(h, &mean, &variance), 0);
	assert_true(mean == 7.0 && isnan(variance));
	agp_hdr_destroy(h);
}

static void test_p95_upper_rank(void **state)
{
	(void)state;
	struct agp_hdr *h;
	assert_int_equal(agp_hdr_create(1, 3600ll * 1000 * 1000 * 1000, 3, &h), 0);
	/* Values 1..1000 us: rank ceil(950 + 1.6449 * sqrt(47.5)) = 962, i.e. 962 us. */
	for (int64_t v = 1; v <= 1000; v++)
		agp_hdr_record(h, v * 1000);
	struct agp_baseline_metric entry;
	agp_baseline_metric_compute(h, 0.95, &entry);
	assert_bucket_of(entry.p95, 950 * 1000);
	assert_bucket_of(entry.p95_upper, 962 * 1000);
	/* A higher confidence moves the bound up: 99 % gives rank ceil(950 + 2.3263 * 6.892) = 967.
	 */
	agp_baseline_metric_compute(h, 0.99, &entry);
	assert_bucket_of(entry.p95_upper, 967 * 1000);
	agp_hdr_destroy(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_statistics_of_a_known_set),
	    cmocka_unit_test(test_too_few_samples),
	    cmocka_unit_test(test_failed_and_timeout_counts),
	    cmocka_unit_test(test_save_load_round_trip),
	    cmocka_unit_test(test_broken_files),
	    cmocka_unit_test(test_moments_are_exact),
	    cmocka_unit_test(test_p95_upper_rank),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
