/*
 * Every monitoring switch of the config has its effect (docs/config.md,
 * "What the monitoring switches do"), shown with a collector in this process
 * and an agent opened by this test, against what the test itself recorded:
 *
 *  - monitoring.enabled false (through CODEX_PERFORMANCE_MONITORING): samples
 *    are drained and counted as discarded; no series and no alert appear;
 *  - real_time_monitoring false: a breach raises no alert when its sample is
 *    drained, and one when its window closes;
 *  - max_metrics_in_memory: a sample that needs a series beyond the limit is
 *    discarded and counted, the existing series keep aggregating;
 *  - background_monitoring false: no baseline auto-update;
 *  - baseline.max_variance_coefficient: the validation's verdict on the
 *    coefficient of variation;
 *  - baseline.baseline_retention_days: any value but the default is refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <agentperf/agentperf.h>

#include "collector/analysis/validation.h"
#include "collector/collector.h"
#include "collector/services.h"
#include "shm/clock.h"
#include "tests/support/test_util.h"

#define MS            1000000ll
#define WAIT_LIMIT_NS (20ull * 1000 * 1000 * 1000)

struct fixture {
	char deployment[64];
	char storage[128];
	struct agp_config config;
	struct agp_collector collector;
	bool open;
};

/* A config with a private storage folder and 1 s windows. */
static void config_for(struct fixture *f, const char *what)
{
	agp_test_name(f->deployment, sizeof(f->deployment), what);
	snprintf(f->storage, sizeof(f->storage), "/tmp/agp-test-%s", f->deployment);
	agp_config_defaults(&f->config);
	snprintf(f->config.monitoring.storage_dir, sizeof(f->config.monitoring.storage_dir), "%s",
	         f->storage);
	/* The CI export at the services' stop goes to the private folder, not the working one. */
	snprintf(f->config.monitoring.ci_export_file, sizeof(f->config.monitoring.ci_export_file),
	         "%s/ci.json", f->storage);
	f->config.additions.aggregation_window_seconds = 1;
	f->config.monitoring.alert_cooldown_minutes = 0;
}

static void start(struct fixture *f)
{
	char err[1024];
	if (agp_config_check(&f->config, "test", err, sizeof(err)) != 0)
		fail_msg("config: %s", err);
	struct agp_collector_options options;
	agp_collector_options_default(&options);
	options.deployment = f->deployment;
	options.layout.slot_count = 8;
	if (agp_collector_open(&f->collector, &options, &f->config) != 0 ||
	    agp_collector_start(&f->collector) != 0)
		fail_msg("collector: %s", agp_last_error());
	f->open = true;
}

static void stop(struct fixture *f)
{
	if (f->open)
		agp_collector_close(&f->collector, true);
	f->open = false;
	char command[256];
	snprintf(command, sizeof(command), "rm -rf %s", f->storage);
	assert_int_equal(system(command), 0);
}

static agp_agent *open_agent(struct fixture *f, const char *name, const char *type)
{
	struct agp_agent_options options = {f->deployment};
	agp_agent *agent = NULL;
	if (agp_agent_open(name, type, &options, &agent) != 0)
		fail_msg("agent %s: %s", name, agp_last_error());
	return agent;
}

static const struct agp_snapshot_agent *find_agent(const struct agp_snapshot *snapshot,
                                                   const char *name)
{
	for (size_t i = 0; i < snapshot->agent_count; i++)
		if (strcmp(snapshot->agents[i].name, name) == 0)
			return &snapshot->agents[i];
	return NULL;
}

/* A fresh snapshot (the caller ends it with agp_snapshot_read_end). */
static const struct agp_snapshot *fresh(struct fixture *f)
{
	assert_int_equal(agp_collector_refresh(&f->collector, 5000), 0);
	return agp_snapshot_read_begin(&f->collector);
}

/* Waits until the agent's ring is empty (every sample it wrote is taken out). */
static void wait_drained(struct fixture *f, const char *name, uint64_t written)
{
	uint64_t begin = agp_monotonic_ns();
	for (;;) {
		const struct agp_snapshot *snapshot = fresh(f);
		const struct agp_snapshot_agent *agent = find_agent(snapshot, name);
		bool done = agent && agent->written == written && agent->pending == 0;
		agp_snapshot_read_end(snapshot);
		if (done)
			return;
		assert_true(agp_monotonic_ns() - begin < WAIT_LIMIT_NS);
		struct timespec pause = {0, 2 * 1000 * 1000};
		nanosleep(&pause, NULL);
	}
}

static void monitoring_disabled_drains_and_discards(void **state)
{
	(void)state;
	struct fixture f = {0};
	config_for(&f, "disabled");
	char err[1024];
	setenv("CODEX_PERFORMANCE_MONITORING", "FALSE", 1);
	int applied = agp_config_apply_env(&f.config, err, sizeof(err));
	unsetenv("CODEX_PERFORMANCE_MONITORING");
	assert_int_equal(applied, 0);
	assert_false(f.config.monitoring.enabled);
	start(&f);
	agp_agent *agent = open_agent(&f, "quiet-1", "quiet");
	/* Above task_execution_critical_ms (2 s): would alert if anything looked at it. */
	const uint64_t sent = 50;
	for (uint64_t i = 0; i < sent; i++)
		assert_true(agp_record(agent, AGP_METRIC_TASK_EXECUTION_TIME, 3000 * MS, i));
	wait_drained(&f, "quiet-1", sent);

	const struct agp_snapshot *snapshot = fresh(&f);
	const struct agp_snapshot_agent *a = find_agent(snapshot, "quiet-1");
	assert_non_null(a);
	assert_int_equal(a->discarded, sent);
	assert_int_equal(a->aggregated, 0);
	assert_int_equal(a->invalid, 0);
	assert_int_equal(snapshot->totals.discarded, sent);
	assert_int_equal(snapshot->totals.series_refused, 0);
	assert_int_equal(snapshot->series_count, 0);
	assert_int_equal(snapshot->alerts_raised, 0);
	agp_snapshot_read_end(snapshot);
	agp_agent_close(agent);
	stop(&f);
}

/* The newest alert, copied; false when none was raised. */
static bool newest_alert(struct fixture *f, struct agp_alert *out)
{
	const struct agp_snapshot *snapshot = fresh(f);
	bool any = snapshot->alert_count > 0;
	if (any)
		*out = snapshot->alerts[snapshot->alert_count - 1];
	agp_snapshot_read_end(snapshot);
	return any;
}

/*
 * One breach of task_execution_critical_ms. With real_time_monitoring the
 * alert is raised when the sample is drained, naming its agent and task;
 * without, the sample's own snapshot shows no alert while its window is
 * open, and the window's close raises one for the agent type.
 */
static void breach(bool real_time)
{
	struct fixture f = {0};
	config_for(&f, real_time ? "realtime" : "windowed");
	f.config.monitoring.real_time_monitoring = real_time;
	f.config.additions.aggregation_window_seconds = 2;
	start(&f);
	agp_agent *agent = open_agent(&f, "slow-1", "slow");
	const int64_t value = 3000 * MS;
	assert_true(agp_record(agent, AGP_METRIC_TASK_EXECUTION_TIME, value, 42));
	wait_drained(&f, "slow-1", 1);

	const struct agp_snapshot *snapshot = fresh(&f);
	const struct agp_snapshot_series *series =
	    agp_snapshot_find_series(snapshot, "slow", "", "task_execution_time");
	assert_non_null(series);
	assert_int_equal(series->total_count, 1);
	/* Whether the sample is still in the open window (the last one) of this snapshot. */
	bool still_open =
	    agp_snapshot_window_has_samples(&series->windows[series->window_count - 1]);
	uint64_t raised = snapshot->alerts_raised;
	agp_snapshot_read_end(snapshot);
	if (real_time)
		assert_int_equal(raised, 1);
	else if (still_open)
		assert_int_equal(raised, 0);

	struct agp_alert alert;
	uint64_t begin = agp_monotonic_ns();
	while (!newest_alert(&f, &alert)) {
		assert_true(agp_monotonic_ns() - begin < WAIT_LIMIT_NS);
		struct timespec pause = {0, 20 * 1000 * 1000};
		nanosleep(&pause, NULL);
	}
	assert_string_equal(alert.level, "critical");
	assert_string_equal(alert.metric, "task_execution_time");
	assert_int_equal(alert.value, value);
	assert_int_equal(alert.threshold, 2000 * MS);
	assert_string_equal(alert.agent, real_time ? "slow-1" : "");
	assert_int_equal(alert.task_id, real_time ? 42 : 0);
	/* One alert per breach either way: the window check does not repeat the sample's. */
	snapshot = fresh(&f);
	assert_int_equal(snapshot->alerts_raised, 1);
	agp_snapshot_read_end(snapshot);
	agp_agent_close(agent);
	stop(&f);
}

static void real_time_alerts_per_sample(void **state)
{
	(void)state;
	breach(true);
}

static void without_real_time_alerts_per_window(void **state)
{
	(void)state;
	breach(false);
}

static void series_beyond_the_limit_are_refused_and_counted(void **state)
{
	(void)state;
	struct fixture f = {0};
	config_for(&f, "limit");
	/* The (type, metric) series and the first agent's (agent, metric) series. */
	f.config.monitoring.max_metrics_in_memory = 2;
	start(&f);
	agp_agent *first = open_agent(&f, "first-1", "bounded");
	assert_true(agp_record(first, AGP_METRIC_TASK_EXECUTION_TIME, 1 * MS, 1));
	wait_drained(&f, "first-1", 1);
	agp_agent *second = open_agent(&f, "second-1", "bounded");
	const uint64_t refused = 5;
	for (uint64_t i = 0; i < refused; i++)
		assert_true(agp_record(second, AGP_METRIC_TASK_EXECUTION_TIME, 2 * MS, i));
	wait_drained(&f, "second-1", refused);
	/* The first agent's series exist: its samples are still aggregated. */
	assert_true(agp_record(first, AGP_METRIC_TASK_EXECUTION_TIME, 1 * MS, 2));
	wait_drained(&f, "first-1", 2);

	const struct agp_snapshot *snapshot = fresh(&f);
	assert_int_equal(snapshot->series_count, 2);
	const struct agp_snapshot_agent *a = find_agent(snapshot, "first-1");
	const struct agp_snapshot_agent *b = find_agent(snapshot, "second-1");
	assert_non_null(a);
	assert_non_null(b);
	assert_int_equal(a->aggregated, 2);
	assert_int_equal(a->discarded, 0);
	assert_int_equal(b->aggregated, 0);
	assert_int_equal(b->discarded, refused);
	assert_int_equal(b->invalid, 0);
	assert_int_equal(snapshot->totals.series_refused, refused);
	assert_int_equal(snapshot->totals.discarded, refused);
	const struct agp_snapshot_series *type =
	    agp_snapshot_find_series(snapshot, "bounded", "", "task_execution_time");
	assert_non_null(type);
	assert_int_equal(type->total_count, 2);
	assert_null(
	    agp_snapshot_find_series(snapshot, "bounded", "second-1", "task_execution_time"));
	agp_snapshot_read_end(snapshot);
	agp_agent_close(second);
	agp_agent_close(first);
	stop(&f);
}

/*
 * Auto-update every 0.36 s: with background monitoring the baseline keeper
 * establishes a baseline within 2 s of ticks; without, it never does.
 */
static uint64_t auto_updates(bool background)
{
	struct fixture f = {0};
	config_for(&f, background ? "background" : "foreground");
	f.config.monitoring.background_monitoring = background;
	f.config.baseline.auto_update_baseline = true;
	f.config.baseline.update_frequency_hours = 0.0001;
	f.config.baseline.min_samples_for_baseline = 2;
	start(&f);
	struct agp_services services = {0};
	if (agp_services_start(&services, &f.collector) != 0)
		fail_msg("services: %s", agp_last_error());
	agp_agent *agent = open_agent(&f, "steady-1", "steady");
	for (uint64_t i = 0; i < 10; i++)
		assert_true(
		    agp_record(agent, AGP_METRIC_COORDINATION_OVERHEAD, (int64_t)(i + 1) * MS, i));
	wait_drained(&f, "steady-1", 10);
	uint64_t begin = agp_monotonic_ns();
	while (agp_monotonic_ns() - begin < 2000ull * 1000 * 1000 &&
	       (!background || services.baseline.updates == 0)) {
		agp_services_tick(&services);
		struct timespec pause = {0, 20 * 1000 * 1000};
		nanosleep(&pause, NULL);
	}
	uint64_t updates = services.baseline.updates;
	char path[256];
	snprintf(path, sizeof(path), "%s/baseline.json", f.storage);
	struct stat st;
	bool saved = stat(path, &st) == 0;
	assert_true(saved == (updates > 0));
	agp_agent_close(agent);
	agp_services_stop(&services);
	stop(&f);
	return updates;
}

static void background_monitoring_runs_the_auto_update(void **state)
{
	(void)state;
	assert_true(auto_updates(true) > 0);
	assert_int_equal(auto_updates(false), 0);
}

/* Validation of samples 1, 1, 1, 5 ms (x25): the witness is computed here. */
static void variance_coefficient_limits_the_validation(void **state)
{
	(void)state;
	struct fixture f = {0};
	config_for(&f, "variation");
	start(&f);
	agp_agent *agent = open_agent(&f, "spread-1", "spread");
	double sum = 0, sum_squares = 0;
	const int count = 100;
	for (int i = 0; i < count; i++) {
		int64_t value = (i % 4 == 3 ? 5 : 1) * MS;
		sum += (double)value;
		sum_squares += (double)value * (double)value;
		assert_true(
		    agp_record(agent, AGP_METRIC_COORDINATION_OVERHEAD, value, (uint64_t)i));
	}
	wait_drained(&f, "spread-1", (uint64_t)count);
	double mean = sum / count;
	double stddev = sqrt((sum_squares - sum * sum / count) / (count - 1));
	double expected = stddev / mean; /* about 0.87 */

	const double limits[] = {0.5, 1.0};
	for (int i = 0; i < 2; i++) {
		f.config.baseline.max_variance_coefficient = limits[i];
		const struct agp_snapshot *snapshot = fresh(&f);
		json_t *result = agp_validate(snapshot, &f.config, NULL, NULL);
		agp_snapshot_read_end(snapshot);
		assert_non_null(result);
		double seen =
		    json_number_value(json_object_get(result, "coefficient_of_variation"));
		assert_true(fabs(seen - expected) < 1e-9 * expected);
		bool met = json_is_true(json_object_get(result, "meets_variation_requirement"));
		assert_true(met == (expected <= limits[i]));
		bool recommended = false;
		size_t index;
		json_t *text;
		json_array_foreach(json_object_get(result, "recommendations"), index, text)
		    recommended |=
		    strstr(json_string_value(text), "max_variance_coefficient") != NULL;
		assert_true(recommended == !met);
		json_decref(result);
	}
	agp_agent_close(agent);
	stop(&f);
}

static void retention_days_other_than_the_default_are_refused(void **state)
{
	(void)state;
	char dir[] = "/tmp/agp-test-retention-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[128];
	snprintf(path, sizeof(path), "%s/config.json", dir);
	FILE *file = fopen(path, "w");
	assert_non_null(file);
	fputs("{\"baseline\": {\"baseline_retention_days\": 7}}\n", file);
	fclose(file);
	struct agp_config config;
	agp_config_defaults(&config);
	char err[1024] = "";
	assert_int_equal(agp_config_load_file(path, &config, err, sizeof(err)), -EINVAL);
	char want[256];
	snprintf(want, sizeof(want), "%s: baseline.baseline_retention_days: found 7, but ", path);
	if (!strstr(err, want))
		fail_msg("expected \"%s\" in: %s", want, err);
	assert_non_null(strstr(err, "expected the default 30"));
	assert_int_equal(config.baseline.baseline_retention_days, 30); /* untouched */

	/* The default itself, as the seed writes it, still loads. */
	file = fopen(path, "w");
	assert_non_null(file);
	fputs("{\"baseline\": {\"baseline_retention_days\": 30}}\n", file);
	fclose(file);
	assert_int_equal(agp_config_load_file(path, &config, err, sizeof(err)), 0);
	unlink(path);
	rmdir(dir);
}

/* An argument runs only the tests whose name matches it (cmocka's filter, e.g. "*window*"). */
int main(int argc, char **argv)
{
	if (argc > 1)
		cmocka_set_test_filter(argv[1]);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(monitoring_disabled_drains_and_discards),
	    cmocka_unit_test(real_time_alerts_per_sample),
	    cmocka_unit_test(without_real_time_alerts_per_window),
	    cmocka_unit_test(series_beyond_the_limit_are_refused_and_counted),
	    cmocka_unit_test(background_monitoring_runs_the_auto_update),
	    cmocka_unit_test(variance_coefficient_limits_the_validation),
	    cmocka_unit_test(retention_days_other_than_the_default_are_refused),
	};
	return cmocka_run_group_tests(tests, NULL, agp_test_cleanup);
}
