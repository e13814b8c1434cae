/*
 * The collector in this process, agents in forked processes: exact
 * accounting per agent and in total, a SIGKILLed agent noticed, drained and
 * its slot reclaimed, threshold alerts with cooldown, and a refreshed
 * snapshot that shows every sample recorded before the refresh.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <agentperf/agentperf.h>

#include "collector/collector.h"
#include "hdr/histogram.h"
#include "shm/slot.h"
#include "tests/support/test_util.h"

#define MS 1000000ull

struct fixture {
	char deployment[64];
	char storage[128];
	struct agp_config config;
	struct agp_collector collector;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	static int counter;
	char what[32];
	snprintf(what, sizeof(what), "coll%d", counter++);
	agp_test_name(f->deployment, sizeof(f->deployment), what);
	snprintf(f->storage, sizeof(f->storage), "/tmp/agp-test-%s", f->deployment);
	agp_config_defaults(&f->config);
	snprintf(f->config.monitoring.storage_dir, sizeof(f->config.monitoring.storage_dir), "%s",
	         f->storage);
	f->config.additions.aggregation_window_seconds = 1;
	struct agp_collector_options options;
	agp_collector_options_default(&options);
	options.deployment = f->deployment;
	options.layout.slot_count = 16;
	if (agp_collector_open(&f->collector, &options, &f->config) != 0 ||
	    agp_collector_start(&f->collector) != 0) {
		fprintf(stderr, "collector: %s\n", agp_last_error());
		return -1;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	agp_collector_close(&f->collector, true);
	char command[256];
	snprintf(command, sizeof(command), "rm -rf %s", f->storage);
	if (system(command) != 0)
		return -1;
	free(f);
	return 0;
}

/* Child body: records count samples of value (i % 100 + 1) us, then exits or waits to be killed. */
static void agent_child(const char *deployment, const char *name, int count, bool wait_for_kill,
                        int ready_fd, int go_fd)
{
	struct agp_agent_options options = {deployment};
	agp_agent *agent;
	if (agp_agent_open(name, "worker", &options, &agent) != 0)
		_exit(10);
	/* With go_fd: say the slot is held, then wait, so that siblings never reuse each other's
	 * slot. */
	char byte = 1;
	if (go_fd >= 0 && (write(ready_fd, &byte, 1) != 1 || read(go_fd, &byte, 1) != 1))
		_exit(12);
	for (int i = 0; i < count; i++)
		agp_record(agent, AGP_METRIC_TASK_EXECUTION_TIME, (int64_t)(i % 100 + 1) * 1000,
		           (uint64_t)i);
	if (wait_for_kill) {
		if (write(ready_fd, &byte, 1) != 1)
			_exit(11);
		pause();
	}
	agp_agent_close(agent);
	_exit(0);
}

static const struct agp_snapshot_agent *find_agent(const struct agp_snapshot *snapshot,
                                                   const char *name)
{
	for (size_t i = 0; i < snapshot->agent_count; i++)
		if (strcmp(snapshot->agents[i].name, name) == 0)
			return &snapshot->agents[i];
	return NULL;
}

/* Prints what the collector shows, so that a wait that timed out says why. */
static void dump_snapshot(struct agp_collector *collector)
{
	const struct agp_snapshot *snapshot = agp_snapshot_read_begin(collector);
	const struct agp_snapshot_totals *t = &snapshot->totals;
	fprintf(
	    stderr,
	    "snapshot %llu: written %llu aggregated %llu invalid %llu dropped %llu pending %llu "
	    "live %llu\n",
	    (unsigned long long)snapshot->generation, (unsigned long long)t->written,
	    (unsigned long long)t->aggregated, (unsigned long long)t->invalid,
	    (unsigned long long)t->dropped, (unsigned long long)t->pending,
	    (unsigned long long)t->agents_live);
	for (size_t i = 0; i < snapshot->agent_count; i++) {
		const struct agp_snapshot_agent *a = &snapshot->agents[i];
		fprintf(stderr,
		        "  slot %u gen %u %s/%s pid %d %s%s: written %llu aggregated %llu invalid "
		        "%llu dropped %llu pending %llu\n",
		        a->slot, a->generation, a->type, a->name, a->pid,
		        agp_agent_state_name(a->state), a->quarantined ? " quarantined" : "",
		        (unsigned long long)a->written, (unsigned long long)a->aggregated,
		        (unsigned long long)a->invalid, (unsigned long long)a->dropped,
		        (unsigned long long)a->pending);
	}
	agp_snapshot_read_end(snapshot);
}

/* Waits until predicate holds on a fresh snapshot, up to 20 s (generous: CI machines are shared).
 */
#define WAIT_FOR(f, snapshot_var, predicate)                                                       \
	do {                                                                                       \
		bool agp__ok = false;                                                              \
		for (int agp__i = 0; agp__i < 2000 && !agp__ok; agp__i++) {                        \
			assert_int_equal(agp_collector_refresh(&(f)->collector, 1000), 0);         \
			const struct agp_snapshot *snapshot_var =                                  \
			    agp_snapshot_read_begin(&(f)->collector);                              \
			agp__ok = (predicate);                                                     \
			agp_snapshot_read_end(snapshot_var);                                       \
			if (!agp__ok)                                                              \
				usleep(10000);                                                     \
		}                                                                                  \
		if (!agp__ok)                                                                      \
			dump_snapshot(&(f)->collector);                                            \
		assert_true(agp__ok);                                                              \
	} while (0)

/* Whether worker/task_execution_time's open window is empty: every sample is in a closed one. */
static bool all_in_closed_windows(const struct agp_snapshot *snapshot)
{
	const struct agp_snapshot_series *series =
	    agp_snapshot_find_series(snapshot, "worker", "", "task_execution_time");
	return series &&
	       !agp_snapshot_window_has_samples(&series->windows[series->window_count - 1]);
}

static void exact_accounting_across_processes(void **state)
{
	struct fixture *f = *state;
	enum { AGENTS = 3, SAMPLES = 300000 };
	pid_t children[AGENTS];
	int ready[2], go[2];
	assert_int_equal(pipe(ready), 0);
	assert_int_equal(pipe(go), 0);
	for (int a = 0; a < AGENTS; a++) {
		char name[16];
		snprintf(name, sizeof(name), "w%d", a);
		children[a] = fork();
		if (children[a] == 0)
			agent_child(f->deployment, name, SAMPLES, false, ready[1], go[0]);
	}
	/*
	 * All slots held before anyone records and closes: a closed agent's
	 * slot is freed once drained and may be claimed again, and then the
	 * newcomer takes its line in the agent list (the departed one's figures
	 * move to the totals). Here each agent keeps its own line.
	 */
	char bytes[AGENTS];
	for (int got = 0; got < AGENTS;) {
		ssize_t n = read(ready[0], bytes, (size_t)(AGENTS - got));
		assert_true(n > 0);
		got += (int)n;
	}
	memset(bytes, 1, sizeof(bytes));
	assert_int_equal(write(go[1], bytes, AGENTS), AGENTS);
	close(ready[0]);
	close(ready[1]);
	close(go[0]);
	close(go[1]);
	for (int a = 0; a < AGENTS; a++) {
		int status;
		waitpid(children[a], &status, 0);
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	/* Every agent closed: once drained, each is dead and fully accounted. */
	WAIT_FOR(f, snapshot,
	         snapshot->totals.pending == 0 && snapshot->agent_count == AGENTS &&
	             snapshot->totals.agents_live == 0);

	assert_int_equal(agp_collector_refresh(&f->collector, 1000), 0);
	const struct agp_snapshot *snapshot = agp_snapshot_read_begin(&f->collector);
	uint64_t aggregated = 0;
	for (int a = 0; a < AGENTS; a++) {
		char name[16];
		snprintf(name, sizeof(name), "w%d", a);
		const struct agp_snapshot_agent *agent = find_agent(snapshot, name);
		assert_non_null(agent);
		assert_int_equal(agent->written, SAMPLES);
		assert_int_equal(agent->written, agent->aggregated + agent->invalid +
		                                     agent->dropped + agent->pending);
		assert_int_equal(agent->invalid, 0);
		assert_true(agent->aggregated > 0);
		aggregated += agent->aggregated;
	}
	assert_int_equal(snapshot->totals.written, AGENTS * SAMPLES);
	assert_int_equal(snapshot->totals.aggregated, aggregated);
	const struct agp_snapshot_series *series =
	    agp_snapshot_find_series(snapshot, "worker", "", "task_execution_time");
	assert_non_null(series);
	assert_int_equal(series->total_count, aggregated);
	agp_snapshot_read_end(snapshot);

	/*
	 * Once a window has closed over every sample, the type's closed windows are
	 * derived from its agents' (raw NULL, parts set) and hold exactly their sum.
	 */
	WAIT_FOR(f, shown, all_in_closed_windows(shown));
	snapshot = agp_snapshot_read_begin(&f->collector);
	series = agp_snapshot_find_series(snapshot, "worker", "", "task_execution_time");
	size_t derived = 0;
	for (size_t w = 0; w < series->window_count; w++) {
		const struct agp_snapshot_window *window = &series->windows[w];
		if (window->raw_part_count) {
			assert_null(window->raw);
			derived++;
		}
	}
	assert_true(derived > 0);
	struct agp_hdr *by_type, *by_agents;
	assert_int_equal(agp_snapshot_histogram_create(snapshot, &by_type), 0);
	assert_int_equal(agp_snapshot_histogram_create(snapshot, &by_agents), 0);
	assert_int_equal(agp_snapshot_merge_windows(series, 0, UINT64_MAX, false, by_type), 0);
	for (int a = 0; a < AGENTS; a++) {
		char name[16];
		snprintf(name, sizeof(name), "w%d", a);
		const struct agp_snapshot_series *own =
		    agp_snapshot_find_series(snapshot, "worker", name, "task_execution_time");
		assert_non_null(own);
		assert_int_equal(agp_snapshot_merge_windows(own, 0, UINT64_MAX, false, by_agents),
		                 0);
	}
	assert_int_equal(agp_hdr_count(by_type), aggregated);
	assert_int_equal(agp_hdr_count(by_agents), aggregated);
	assert_true(by_type->sum == by_agents->sum);
	for (int32_t i = 0; i < by_type->cfg.counts_len; i++)
		assert_int_equal(by_type->counts[i], by_agents->counts[i]);
	agp_hdr_destroy(by_agents);
	agp_hdr_destroy(by_type);
	agp_snapshot_read_end(snapshot);
}

static void killed_agent_is_drained_and_its_slot_reclaimed(void **state)
{
	struct fixture *f = *state;
	int ready[2];
	assert_int_equal(pipe(ready), 0);
	pid_t victim = fork();
	if (victim == 0)
		agent_child(f->deployment, "victim", 5000, true, ready[1], -1);
	char byte;
	assert_int_equal(read(ready[0], &byte, 1), 1);
	WAIT_FOR(f, snapshot,
	         find_agent(snapshot, "victim") &&
	             find_agent(snapshot, "victim")->state == AGP_AGENT_LIVE &&
	             find_agent(snapshot, "victim")->aggregated == 5000);
	kill(victim, SIGKILL);
	waitpid(victim, NULL, 0);
	WAIT_FOR(f, snapshot, find_agent(snapshot, "victim")->state == AGP_AGENT_DEAD);

	const struct agp_snapshot *shown = agp_snapshot_read_begin(&f->collector);
	const struct agp_snapshot_agent *dead = find_agent(shown, "victim");
	assert_int_equal(dead->written, 5000);
	assert_int_equal(dead->aggregated, 5000);
	uint32_t slot_index = dead->slot;
	agp_snapshot_read_end(shown);
	/* The slot is free again and the next agent gets it. */
	struct agp_slot *slot = agp_segment_slot(&f->collector.segment, slot_index);
	assert_int_equal(atomic_load(&slot->state), AGP_SLOT_FREE);
	struct agp_agent_options options = {f->deployment};
	agp_agent *next;
	assert_int_equal(agp_agent_open("next", "worker", &options, &next), 0);
	WAIT_FOR(f, snapshot,
	         find_agent(snapshot, "next") && find_agent(snapshot, "next")->slot == slot_index);
	agp_agent_close(next);
	close(ready[0]);
	close(ready[1]);
}

static void violations_raise_rate_limited_alerts(void **state)
{
	struct fixture *f = *state;
	struct agp_agent_options options = {f->deployment};
	agp_agent *agent;
	assert_int_equal(agp_agent_open("slow", "planner", &options, &agent), 0);
	/* Critical is 200 ms by default: three violations, one alert (10 min cooldown). */
	for (int i = 0; i < 3; i++)
		agp_record(agent, AGP_METRIC_COORDINATION_OVERHEAD, 250500 * 1000, 42);
	agp_record(agent, AGP_METRIC_COORDINATION_OVERHEAD, 170 * MS,
	           43);                                                   /* warning: its own key */
	agp_record(agent, AGP_METRIC_COORDINATION_OVERHEAD, 10 * MS, 44); /* fine */
	WAIT_FOR(f, snapshot, snapshot->alerts_raised >= 2);
	assert_int_equal(agp_collector_refresh(&f->collector, 1000), 0);
	const struct agp_snapshot *snapshot = agp_snapshot_read_begin(&f->collector);
	assert_int_equal(snapshot->alerts_raised, 2);
	const struct agp_alert *critical = &snapshot->alerts[0];
	assert_string_equal(critical->level, "critical");
	assert_string_equal(critical->metric, "coordination_overhead");
	assert_string_equal(critical->agent_type, "planner");
	assert_string_equal(critical->agent, "slow");
	assert_int_equal(critical->task_id, 42);
	assert_int_equal(critical->value, 250500 * 1000);
	assert_int_equal(critical->threshold, 200 * MS);
	assert_string_equal(snapshot->alerts[1].level, "warning");
	agp_snapshot_read_end(snapshot);
	agp_agent_close(agent);
}

static void refresh_shows_what_was_recorded_before_it(void **state)
{
	struct fixture *f = *state;
	struct agp_agent_options options = {f->deployment};
	agp_agent *agent;
	assert_int_equal(agp_agent_open("fresh", "probe", &options, &agent), 0);
	for (int round = 1; round <= 20; round++) {
		agp_record(agent, AGP_METRIC_RESULT_PROCESSING, 1000, (uint64_t)round);
		assert_int_equal(agp_collector_refresh(&f->collector, 1000), 0);
		const struct agp_snapshot *snapshot = agp_snapshot_read_begin(&f->collector);
		const struct agp_snapshot_series *series =
		    agp_snapshot_find_series(snapshot, "probe", "", "result_processing");
		uint64_t seen = series ? series->total_count : 0;
		agp_snapshot_read_end(snapshot);
		assert_int_equal(seen, (uint64_t)round);
	}
	agp_agent_close(agent);
}

static void restarted_collector_adopts_live_agents(void **state)
{
	struct fixture *f = *state;
	struct agp_agent_options options = {f->deployment};
	agp_agent *agent;
	assert_int_equal(agp_agent_open("steady", "worker", &options, &agent), 0);
	for (int i = 0; i < 1000; i++)
		agp_record(agent, AGP_METRIC_TASK_EXECUTION_TIME, 5000, (uint64_t)i);
	WAIT_FOR(f, snapshot,
	         find_agent(snapshot, "steady") &&
	             find_agent(snapshot, "steady")->aggregated == 1000);

	/* The collector goes away (keeping the segment); the agent keeps recording. */
	agp_collector_close(&f->collector, false);
	for (int i = 0; i < 500; i++)
		agp_record(agent, AGP_METRIC_TASK_EXECUTION_TIME, 5000, (uint64_t)i);
	struct agp_collector_options collector_options;
	agp_collector_options_default(&collector_options);
	collector_options.deployment = f->deployment;
	assert_int_equal(agp_collector_open(&f->collector, &collector_options, &f->config), 0);
	assert_int_equal(agp_collector_start(&f->collector), 0);

	WAIT_FOR(f, snapshot,
	         find_agent(snapshot, "steady") &&
	             find_agent(snapshot, "steady")->aggregated == 500);
	const struct agp_snapshot *snapshot = agp_snapshot_read_begin(&f->collector);
	const struct agp_snapshot_agent *steady = find_agent(snapshot, "steady");
	assert_int_equal(steady->earlier, 1000);
	assert_int_equal(steady->written, 1500);
	assert_int_equal(steady->written, steady->aggregated + steady->invalid + steady->dropped +
	                                      steady->pending + steady->earlier);
	assert_false(steady->quarantined);
	agp_snapshot_read_end(snapshot);
	agp_agent_close(agent);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(exact_accounting_across_processes, setup, teardown),
	    cmocka_unit_test_setup_teardown(killed_agent_is_drained_and_its_slot_reclaimed, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(violations_raise_rate_limited_alerts, setup, teardown),
	    cmocka_unit_test_setup_teardown(restarted_collector_adopts_live_agents, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(refresh_shows_what_was_recorded_before_it, setup,
	                                    teardown),
	};
	return cmocka_run_group_tests(tests, NULL, agp_test_cleanup);
}
