/*
 * The baseline keeper against a real collector in this process: with
 * update_frequency_hours of 0.0005 (1.8 s) it really re-establishes and
 * rewrites baseline.json; its regression limits reach the drain thread, and
 * a window with a worse p95 raises a regression alert when it closes;
 * establish/get as the control socket calls them; the CI export written at
 * stop; a broken baseline.json refused at start with file and key named; a CI
 * export that cannot be written counted as a lost write.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <agentperf/agentperf.h>

#include "collector/analysis/baseline_service.h"
#include "collector/collector.h"
#include "common/write_losses.h"
#include "shm/clock.h"

#define US            1000ll
#define MS            1000000ll
#define UPDATE_HOURS  0.0005 /* 1.8 s */
#define WAIT_LIMIT_NS (10ull * 1000 * 1000 * 1000)

struct fixture {
	char storage[64];
	char ci_file[128];
	char deployment[64];
	struct agp_config config;
	struct agp_collector collector;
	agp_agent *agent;
};

static struct fixture fx;

static void pause_ms(long ms)
{
	struct timespec pause = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&pause, NULL);
}

static int setup(void **state)
{
	(void)state;
	snprintf(fx.storage, sizeof(fx.storage), "/tmp/agp-test-auto-XXXXXX");
	if (!mkdtemp(fx.storage))
		return -1;
	snprintf(fx.ci_file, sizeof(fx.ci_file), "%s/performance_metrics.json", fx.storage);
	snprintf(fx.deployment, sizeof(fx.deployment), "agp-test-auto-%d", (int)getpid());
	struct agp_config *config = &fx.config;
	agp_config_defaults(config);
	snprintf(config->monitoring.storage_dir, sizeof(config->monitoring.storage_dir), "%s",
	         fx.storage);
	snprintf(config->monitoring.ci_export_file, sizeof(config->monitoring.ci_export_file), "%s",
	         fx.ci_file);
	config->additions.aggregation_window_seconds = 0.3;
	config->monitoring.metric_retention_hours = 0.01; /* 120 windows of 0.3 s */
	config->baseline.update_frequency_hours = UPDATE_HOURS;
	config->baseline.min_samples_for_baseline = 10;
	char err[1024];
	if (agp_config_check(config, "test", err, sizeof(err)) != 0) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	struct agp_collector_options options;
	agp_collector_options_default(&options);
	options.deployment = fx.deployment;
	if (agp_collector_open(&fx.collector, &options, config) != 0 ||
	    agp_collector_start(&fx.collector) != 0) {
		fprintf(stderr, "collector: %s\n", agp_last_error());
		return -1;
	}
	struct agp_agent_options agent_options = {fx.deployment};
	return agp_agent_open("planner-1", "planner", &agent_options, &fx.agent);
}

static int teardown(void **state)
{
	(void)state;
	agp_agent_close(fx.agent);
	agp_collector_close(&fx.collector, true);
	char command[128];
	snprintf(command, sizeof(command), "rm -rf '%s'", fx.storage);
	return system(command) == 0 ? 0 : -1;
}

static void record(int count, int64_t base, int64_t step)
{
	for (int i = 0; i < count; i++)
		assert_true(
		    agp_record(fx.agent, AGP_METRIC_COORDINATION_OVERHEAD, base + i * step, 0));
	assert_int_equal(agp_collector_refresh(&fx.collector, 5000), 0);
}

static json_t *load_baseline_file(void)
{
	char path[128];
	snprintf(path, sizeof(path), "%s/baseline.json", fx.storage);
	json_t *json = json_load_file(path, 0, NULL);
	assert_non_null(json);
	return json;
}

/* Ticks the keeper as the daemon does (every 100 ms here 20 ms) until it updated `updates` times.
 */
static uint64_t tick_until(struct agp_baseline_service *service, uint64_t updates)
{
	uint64_t start = agp_monotonic_ns();
	while (service->updates < updates) {
		if (agp_monotonic_ns() - start > WAIT_LIMIT_NS) {
			print_error("no baseline update within 10 s\n");
			fail();
		}
		pause_ms(20);
		agp_baseline_service_tick(service);
	}
	return agp_monotonic_ns() - start;
}

static void test_auto_update_and_regression_alert(void **state)
{
	(void)state;
	struct agp_baseline_service service;
	assert_int_equal(agp_baseline_service_start(&service, &fx.collector, NULL, NULL), 0);
	struct agp_baseline *got = calloc(1, sizeof(*got));
	assert_int_equal(agp_baseline_service_get(&service, got), -ENOENT);

	/* 40 samples of about 1 ms: the first update establishes from them. */
	record(40, 1 * MS, 1 * US);
	uint64_t waited = tick_until(&service, 1);
	assert_true(waited > 1000ull * 1000 * 1000); /* it waited for its period (1.8 s) */
	json_t *first = load_baseline_file();
	assert_int_equal(json_integer_value(json_object_get(first, "samples_count")), 40);

	/*
	 * 40 more of the same values (no regression against the first baseline,
	 * whose limits the drain thread already checks): the next period
	 * re-establishes and rewrites the file.
	 */
	record(40, 1 * MS, 1 * US);
	tick_until(&service, 2);
	json_t *second = load_baseline_file();
	assert_int_equal(json_integer_value(json_object_get(second, "samples_count")), 80);
	assert_string_equal(json_string_value(json_object_get(second, "established_at")),
	                    json_string_value(json_object_get(first, "established_at")));
	assert_string_not_equal(json_string_value(json_object_get(second, "last_updated")),
	                        json_string_value(json_object_get(first, "last_updated")));
	json_decref(first);
	json_decref(second);

	/*
	 * The drain thread tests (planner, coordination_overhead) windows against
	 * the planner entry's p95, with the exceedance bound of 80 samples.
	 */
	assert_int_equal(agp_baseline_service_get(&service, got), 0);
	const struct agp_baseline_metric *entry =
	    agp_baseline_find(got, "coordination_overhead", "planner");
	assert_non_null(entry);
	assert_true(entry->p95 > 1 * MS && entry->p95 < 2 * MS);
	struct agp_quantile_reference expected;
	assert_int_equal(
	    agp_quantile_reference_from_baseline(entry, got->confidence_interval, &expected), 0);
	/* Copied under the read lock, checked after it: a failed check must not leave it held. */
	const struct agp_regression_limits *limits = agp_regression_read_begin(&fx.collector);
	struct agp_regression_limit planner = {0};
	bool task_limit = false;
	for (size_t i = 0; limits && i < limits->count; i++) {
		const struct agp_regression_limit *limit = &limits->limit[i];
		if (limit->metric_id == AGP_METRIC_COORDINATION_OVERHEAD &&
		    strcmp(limit->agent_type, "planner") == 0)
			planner = *limit;
		task_limit |= limit->metric_id == AGP_METRIC_TASK_EXECUTION_TIME;
	}
	agp_regression_read_end(limits);
	assert_int_equal(planner.reference.value, entry->p95);
	assert_true(planner.reference.exceedance == expected.exceedance);
	assert_true(expected.exceedance > 0.05 && expected.exceedance < 0.2);
	assert_false(task_limit); /* no task samples, no entry, no limit */

	/* No regression so far: the samples are the baseline's own workload. */
	uint64_t regressions = 0;
	const struct agp_snapshot *snapshot = agp_snapshot_read_begin(&fx.collector);
	for (size_t a = 0; a < snapshot->alert_count; a++)
		regressions += strcmp(snapshot->alerts[a].level, "regression") == 0;
	agp_snapshot_read_end(snapshot);
	assert_int_equal(regressions, 0);

	/* A window of 10 ms samples (no tick now: the baseline must not absorb them first). */
	uint64_t start = agp_monotonic_ns();
	record(40, 10 * MS, 1 * US);
	struct agp_alert alert = {0};
	while (alert.sequence == 0) {
		assert_true(agp_monotonic_ns() - start < WAIT_LIMIT_NS);
		pause_ms(50);
		assert_int_equal(agp_collector_refresh(&fx.collector, 5000), 0);
		snapshot = agp_snapshot_read_begin(&fx.collector);
		for (size_t a = 0; a < snapshot->alert_count; a++)
			if (strcmp(snapshot->alerts[a].level, "regression") == 0)
				alert = snapshot->alerts[a];
		agp_snapshot_read_end(snapshot);
	}
	assert_string_equal(alert.metric, "coordination_overhead");
	assert_string_equal(alert.agent_type, "planner");
	assert_int_equal(alert.threshold, entry->p95); /* the p95 the test compares with */
	assert_true(alert.value >= 10 * MS);

	/* establish/get as the control socket calls them: config defaults, then too few. */
	char err[256] = "";
	assert_int_equal(agp_baseline_service_establish(&service, 0, 0, 0, got, err, sizeof(err)),
	                 0);
	assert_int_equal(got->samples_count, 120);
	assert_int_equal(
	    agp_baseline_service_establish(&service, 1.0, 1000, 0.95, got, err, sizeof(err)),
	    -ENODATA);
	assert_non_null(strstr(err, "120 samples, 1000 needed"));
	assert_int_equal(got->samples_count, 120); /* untouched */

	/* Stop writes the CI export. */
	unlink(fx.ci_file);
	agp_baseline_service_stop(&service);
	json_t *ci = json_load_file(fx.ci_file, 0, NULL);
	assert_non_null(ci);
	assert_true(json_is_true(json_object_get(ci, "baseline_established")));
	assert_true(json_is_boolean(json_object_get(ci, "validation_passed")));
	assert_int_equal(json_integer_value(json_object_get(
	                     json_object_get(ci, "performance_validation"), "samples_analyzed")),
	                 120);
	json_decref(ci);
	free(got);
}

static void test_broken_baseline_stops_start(void **state)
{
	(void)state;
	char path[128];
	snprintf(path, sizeof(path), "%s/baseline.json", fx.storage);
	FILE *file = fopen(path, "w");
	assert_non_null(file);
	fputs("{\"coordination_overhead_ms\": \"fast\"}", file);
	fclose(file);
	struct agp_baseline_service service;
	assert_int_equal(agp_baseline_service_start(&service, &fx.collector, NULL, NULL), -EINVAL);
	const char *message = agp_last_error();
	if (!strstr(message, path) || !strstr(message, "'coordination_overhead_ms'")) {
		print_error("message '%s' does not name %s and the key\n", message, path);
		fail();
	}
	unlink(path);
}

/* A CI export that cannot be written is an error naming the file, and counted as a lost write. */
static void test_ci_export_failure_is_counted(void **state)
{
	(void)state;
	struct agp_baseline_service service;
	assert_int_equal(agp_baseline_service_start(&service, &fx.collector, NULL, NULL), 0);
	char plain[128], target[AGP_CONFIG_PATH_MAX + 1];
	snprintf(plain, sizeof(plain), "%s/plain", fx.storage);
	FILE *file = fopen(plain, "w"); /* a file where the export's folder should be */
	assert_non_null(file);
	fclose(file);
	snprintf(target, sizeof(target), "%s/ci.json", plain);
	char *ci_file = fx.collector.config.monitoring.ci_export_file;
	char saved[AGP_CONFIG_PATH_MAX + 1];
	snprintf(saved, sizeof(saved), "%s", ci_file);
	snprintf(ci_file, AGP_CONFIG_PATH_MAX + 1, "%s", target);
	uint64_t lost_before = agp_write_losses(AGP_WRITE_CI_EXPORT);
	char err[512] = "";
	assert_int_equal(agp_baseline_service_export_ci(&service, err, sizeof(err)), -ENOTDIR);
	assert_non_null(strstr(err, target));
	assert_int_equal(agp_write_losses(AGP_WRITE_CI_EXPORT), lost_before + 1);
	snprintf(ci_file, AGP_CONFIG_PATH_MAX + 1, "%s", saved);
	assert_int_equal(agp_baseline_service_export_ci(&service, err, sizeof(err)), 0);
	assert_int_equal(agp_write_losses(AGP_WRITE_CI_EXPORT), lost_before + 1);
	agp_baseline_service_stop(&service);
	unlink(plain);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_auto_update_and_regression_alert),
	    cmocka_unit_test(test_broken_baseline_stops_start),
	    cmocka_unit_test(test_ci_export_failure_is_counted),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
