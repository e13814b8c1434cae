/*
 * Windows by the sample's own timestamp across a collector restart under
 * load: two producer processes record steadily while collector A (a forked
 * process) drains them; A is SIGKILLed, nobody drains for three windows,
 * then collector B (this process) starts and adopts the agents. Each
 * producer knows its own timestamps (agp_record_at) and the windows
 * (multiples of the window length on the deployment clock), counts the
 * samples it recorded per window and sends the counts over a pipe at the
 * end. B's per-window counts of each producer's (agent, metric) series must
 * equal them exactly for every window that began after A died (the
 * samples queued while nobody drained included), and no window may show
 * more than was recorded in it; what A took before it died is B's
 * `earlier`, so that B's windows plus earlier are exactly what each
 * producer recorded.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <agentperf/agentperf.h>

#include "collector/collector.h"
#include "hdr/sparse.h"
#include "shm/clock.h"
#include "shm/segment.h"
#include "tests/support/test_util.h"

#define PRODUCERS 2
#define WINDOW_NS (200ull * 1000 * 1000) /* 0.2 s */
#define MS        (1000ull * 1000)
#define RUN_NS    (2000 * MS) /* each producer records this long */
#define A_LIVES   (500 * MS)  /* A drains this long after the producers began */
#define NOBODY    (600 * MS)  /* then nobody drains for three windows */
#define SLOTS     64          /* windows a producer counts: RUN_NS / WINDOW_NS and margin */
#define METRIC    AGP_METRIC_TASK_EXECUTION_TIME

struct report {
	uint64_t first_window; /* window number (timestamp / WINDOW_NS) of counts[0] */
	uint64_t counts[SLOTS];
	uint64_t recorded, dropped;
};

static char folder[128];

static void config_for(struct agp_config *config)
{
	agp_config_defaults(config);
	snprintf(config->monitoring.storage_dir, sizeof(config->monitoring.storage_dir),
	         "%s/storage", folder);
	config->additions.aggregation_window_seconds = (double)WINDOW_NS / 1e9;
	config->monitoring.metric_retention_hours = 60.0 / 3600; /* 300 windows */
}

static void sleep_ns(uint64_t ns)
{
	struct timespec pause = {(time_t)(ns / 1000000000), (long)(ns % 1000000000)};
	nanosleep(&pause, NULL);
}

/* Collector A: runs until it is killed. */
static void run_collector_a(const char *deployment, int ready_fd)
{
	static struct agp_config config;
	config_for(&config);
	struct agp_collector_options options;
	agp_collector_options_default(&options);
	options.deployment = deployment;
	options.layout.slot_count = 8;
	static struct agp_collector collector;
	if (agp_collector_open(&collector, &options, &config) != 0 ||
	    agp_collector_start(&collector) != 0) {
		fprintf(stderr, "collector A: %s\n", agp_last_error());
		_exit(2);
	}
	if (write(ready_fd, "r", 1) != 1)
		_exit(3);
	for (;;)
		pause();
}

/* A producer: records for RUN_NS, about one sample per 50 us, and reports per window. */
static void run_producer(const char *deployment, int number, int report_fd)
{
	char name[32];
	snprintf(name, sizeof(name), "p%d", number);
	struct agp_agent_options options = {.deployment = deployment};
	agp_agent *agent;
	if (agp_agent_open(name, "worker", &options, &agent) != 0) {
		fprintf(stderr, "%s: %s\n", name, agp_last_error());
		_exit(2);
	}
	static struct report report;
	uint64_t begin = agp_clock_now_ns(agent);
	report.first_window = begin / WINDOW_NS;
	for (int64_t i = 0;; i++) {
		uint64_t t = agp_clock_now_ns(agent);
		if (t - begin >= RUN_NS)
			break;
		uint64_t slot = t / WINDOW_NS - report.first_window;
		if (slot >= SLOTS)
			_exit(4);
		if (agp_record_at(agent, METRIC, 1000 + i % 1000, (uint64_t)i, t, 0))
			report.counts[slot]++;
		if (i % 8 == 7)
			sleep_ns(400 * 1000);
	}
	report.recorded = agp_agent_recorded(agent);
	report.dropped = agp_agent_dropped(agent);
	agp_agent_close(agent);
	if (write(report_fd, &report, sizeof(report)) != (ssize_t)sizeof(report))
		_exit(5);
	_exit(0);
}

/* Every agent of the snapshot has left and been drained: all that was recorded is in. */
static bool all_drained(struct agp_collector *collector)
{
	if (agp_collector_refresh(collector, 1000) != 0)
		return false;
	const struct agp_snapshot *snapshot = agp_snapshot_read_begin(collector);
	bool done = snapshot->agent_count == PRODUCERS;
	for (size_t a = 0; done && a < snapshot->agent_count; a++)
		done = snapshot->agents[a].state == AGP_AGENT_DEAD;
	agp_snapshot_read_end(snapshot);
	return done;
}

static void per_window_counts_survive_a_restart(void **state)
{
	(void)state;
	char deployment[64];
	agp_test_name(deployment, sizeof(deployment), "wrestart");
	snprintf(folder, sizeof(folder), "/tmp/agp-test-%s", deployment);
	char command[300];
	snprintf(command, sizeof(command), "mkdir -p %s", folder);
	assert_int_equal(system(command), 0);

	int ready[2];
	assert_int_equal(pipe(ready), 0);
	pid_t collector_a = fork();
	assert_true(collector_a >= 0);
	if (collector_a == 0)
		run_collector_a(deployment, ready[1]);
	char byte;
	assert_int_equal(read(ready[0], &byte, 1), 1);
	struct agp_segment segment;
	assert_int_equal(agp_segment_attach(deployment, &segment), 0);

	int reports[PRODUCERS][2];
	pid_t producers[PRODUCERS];
	for (int p = 0; p < PRODUCERS; p++) {
		assert_int_equal(pipe(reports[p]), 0);
		producers[p] = fork();
		assert_true(producers[p] >= 0);
		if (producers[p] == 0)
			run_producer(deployment, p, reports[p][1]);
		close(reports[p][1]);
	}

	sleep_ns(A_LIVES);
	assert_int_equal(kill(collector_a, SIGKILL), 0);
	assert_int_equal(waitpid(collector_a, NULL, 0), collector_a);
	uint64_t a_dead = agp_clock_read(&segment.clock); /* A took nothing stamped after this */
	sleep_ns(NOBODY);

	static struct agp_config config;
	config_for(&config);
	struct agp_collector_options options;
	agp_collector_options_default(&options);
	options.deployment = deployment;
	static struct agp_collector collector_b;
	assert_int_equal(agp_collector_open(&collector_b, &options, &config), 0);
	uint64_t b_started = collector_b.started_ns;
	assert_int_equal(agp_collector_start(&collector_b), 0);

	struct report report[PRODUCERS];
	for (int p = 0; p < PRODUCERS; p++) {
		assert_int_equal(read(reports[p][0], &report[p], sizeof(report[p])),
		                 sizeof(report[p]));
		int status;
		assert_int_equal(waitpid(producers[p], &status, 0), producers[p]);
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
		close(reports[p][0]);
	}
	bool drained = false;
	for (int tries = 0; tries < 1000 && !(drained = all_drained(&collector_b)); tries++)
		sleep_ns(10 * MS);
	assert_true(drained);

	const struct agp_snapshot *snapshot = agp_snapshot_read_begin(&collector_b);
	int downtime_windows = 0; /* windows wholly between A's death and B's start, with samples */
	for (int p = 0; p < PRODUCERS; p++) {
		char name[32];
		snprintf(name, sizeof(name), "p%d", p);
		const struct agp_snapshot_agent *agent = NULL;
		for (size_t a = 0; a < snapshot->agent_count; a++)
			if (strcmp(snapshot->agents[a].name, name) == 0)
				agent = &snapshot->agents[a];
		assert_non_null(agent);
		assert_int_equal(agent->written, report[p].recorded + report[p].dropped);
		assert_int_equal(agent->late, 0);
		assert_int_equal(agent->invalid, 0);
		assert_int_equal(agent->pending, 0);
		assert_true(agent->earlier > 0); /* A did drain before it died */

		const struct agp_snapshot_series *series = agp_snapshot_find_series(
		    snapshot, "worker", name, agp_builtin_metric_name(METRIC));
		assert_non_null(series);
		uint64_t shown[SLOTS] = {0}, in_windows = 0;
		for (size_t w = 0; w < series->window_count; w++) {
			const struct agp_snapshot_window *window = &series->windows[w];
			struct agp_sparse_summary summary;
			if (agp_snapshot_window_summary(window, &summary) != 0)
				continue;
			assert_int_equal(window->start_ns % WINDOW_NS, 0);
			uint64_t slot = window->start_ns / WINDOW_NS - report[p].first_window;
			assert_true(slot < SLOTS);
			shown[slot] += (uint64_t)summary.total_count;
			in_windows += (uint64_t)summary.total_count;
		}
		assert_int_equal(in_windows, agent->aggregated);
		assert_int_equal(in_windows + agent->earlier, report[p].recorded);
		for (uint64_t slot = 0; slot < SLOTS; slot++) {
			uint64_t start = (report[p].first_window + slot) * WINDOW_NS;
			if (shown[slot] > report[p].counts[slot] ||
			    (start >= a_dead && shown[slot] != report[p].counts[slot]))
				fail_msg("%s, window %llu (%+.3f s after A died): collector %llu, "
				         "producer %llu",
				         name, (unsigned long long)slot,
				         ((double)start - (double)a_dead) / 1e9,
				         (unsigned long long)shown[slot],
				         (unsigned long long)report[p].counts[slot]);
			downtime_windows += start >= a_dead && start + WINDOW_NS <= b_started &&
			                    report[p].counts[slot] > 0;
		}
	}
	agp_snapshot_read_end(snapshot);
	assert_true(downtime_windows >= PRODUCERS); /* the restart did leave samples queued */

	agp_collector_close(&collector_b, true);
	agp_segment_detach(&segment);
	snprintf(command, sizeof(command), "rm -rf %s", folder);
	assert_int_equal(system(command), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(per_window_counts_survive_a_restart),
	};
	return cmocka_run_group_tests(tests, NULL, agp_test_cleanup);
}
