/*
 * A per-agent series that saw nothing for a whole retention period is
 * removed at a rotation, while its agent lives on. When that agent records
 * the metric again, the drain must make a new series for it, not record
 * into the removed one (the drain thread caches each agent's series).
 * Checked against what this test recorded, with a real collector in this
 * process: 0.1 s windows, a retention of 0.36 s.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <agentperf/agentperf.h>

#include "collector/collector.h"
#include "shm/clock.h"

#define WAIT_LIMIT_NS (10ull * 1000 * 1000 * 1000)

static uint64_t series_count(struct agp_collector *collector, const char *agent, bool *present)
{
	assert_int_equal(agp_collector_refresh(collector, 5000), 0);
	const struct agp_snapshot *snapshot = agp_snapshot_read_begin(collector);
	const struct agp_snapshot_series *series =
	    agp_snapshot_find_series(snapshot, "expiry", agent, "task_execution_time");
	*present = series != NULL;
	uint64_t count = series ? series->total_count : 0;
	agp_snapshot_read_end(snapshot);
	return count;
}

static void recorded_again_after_removal_is_counted(void **state)
{
	(void)state;
	char deployment[64];
	snprintf(deployment, sizeof(deployment), "agp-test-expiry-%d", (int)getpid());
	static struct agp_config config;
	agp_config_defaults(&config);
	snprintf(config.monitoring.storage_dir, sizeof(config.monitoring.storage_dir),
	         "/tmp/agp-test-expiry-%d", (int)getpid());
	config.additions.aggregation_window_seconds = 0.1;
	config.monitoring.metric_retention_hours = 0.0001; /* 0.36 s */
	char err[512];
	assert_int_equal(agp_config_check(&config, "test", err, sizeof(err)), 0);
	struct agp_collector_options options;
	agp_collector_options_default(&options);
	options.deployment = deployment;
	static struct agp_collector collector;
	assert_int_equal(agp_collector_open(&collector, &options, &config), 0);
	assert_int_equal(agp_collector_start(&collector), 0);
	struct agp_agent_options agent_options = {deployment};
	agp_agent *agent = NULL;
	assert_int_equal(agp_agent_open("idle-1", "expiry", &agent_options, &agent), 0);

	bool present = false;
	assert_true(agp_record(agent, AGP_METRIC_TASK_EXECUTION_TIME, 1000, 1));
	assert_int_equal(series_count(&collector, "idle-1", &present), 1);
	assert_true(present);

	/* The agent stays open and silent until its series is gone from the snapshots. */
	uint64_t start = agp_monotonic_ns();
	while (series_count(&collector, "idle-1", &present), present) {
		assert_true(agp_monotonic_ns() - start < WAIT_LIMIT_NS);
		struct timespec pause = {0, 20 * 1000 * 1000};
		nanosleep(&pause, NULL);
	}

	assert_true(agp_record(agent, AGP_METRIC_TASK_EXECUTION_TIME, 2000, 2));
	assert_int_equal(series_count(&collector, "idle-1", &present), 1);
	assert_true(present);
	/* The type's series is never removed: it holds both samples. */
	assert_int_equal(series_count(&collector, "", &present), 2);
	assert_true(present);

	agp_agent_close(agent);
	agp_collector_close(&collector, true);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(recorded_again_after_removal_is_counted),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
