/*
 * Exact accounting across processes, against what each producer says it
 * recorded: N agent processes each write M samples (value = their own
 * sequence number, task id = agent number) and count for themselves how
 * many agp_record() took (true) and how many it refused because the ring
 * was full (false); they send both counts back over a pipe at the end.
 * Odd agents write flat out and overrun their ring, even ones pause every
 * 512 samples, so that both regimes are checked.
 *
 *  - test_exact_accounting: this process drains every ring itself. Per
 *    agent, the records read are exactly the ones the agent says the ring
 *    took, the slot's dropped count exactly the ones it says were refused,
 *    and the values read are strictly increasing: no sample duplicated,
 *    reordered or invented.
 *  - test_collector_accounting: a real agentperfd drains them. Per agent
 *    (its `agents` entry, once the collector has drained and freed its
 *    slot), aggregated is exactly what the agent says the ring took, dropped
 *    exactly what it says was refused, invalid 0; and the totals of
 *    `status` are the sums of the agents' own counts.
 *
 * The identity written = aggregated + invalid + dropped + pending + earlier
 * holds by construction of the collector's counters; comparing them with the
 * producers' own counts is what can fail.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include <agentperf/agentperf.h>
#include <jansson.h>

#include "shm/clock.h"
#include "shm/ring_consumer.h"
#include "shm/ownership.h"
#include "shm/segment.h"
#include "shm/slot.h"
#include "tests/support/cli_test_util.h"
#include "tests/support/test_util.h"

#define AGENTS  4
#define SAMPLES 200000

/* What a producer says it did: the samples its ring took, and those it refused (ring full). */
struct producer_count {
	int32_t agent;
	int32_t pid;
	uint64_t taken;
	uint64_t refused;
};

static void run_agent(const char *deployment, int number, int start_fd, int report_fd)
{
	char name[32], go;
	snprintf(name, sizeof(name), "agent-%d", number);
	struct agp_agent_options options = {.deployment = deployment};
	agp_agent *agent;
	if (agp_agent_open(name, "accounting", &options, &agent) != 0) {
		fprintf(stderr, "%s: %s\n", name, agp_last_error());
		_exit(2);
	}
	/* Wait until every agent is open, so that all of them write at once. */
	if (read(start_fd, &go, 1) != 1)
		_exit(3);
	/*
	 * Odd agents write flat out and overrun their ring (drops); even ones
	 * pause every 512 samples so that most of theirs are read: both
	 * regimes go through the same accounting.
	 */
	struct producer_count count = {number, (int32_t)getpid(), 0, 0};
	for (int64_t i = 0; i < SAMPLES; i++) {
		if (agp_record(agent, AGP_METRIC_TASK_EXECUTION_TIME, i, (uint64_t)number))
			count.taken++;
		else
			count.refused++;
		if (number % 2 == 0 && i % 512 == 511) {
			struct timespec pause = {0, 20000};
			nanosleep(&pause, NULL);
		}
	}
	agp_agent_close(agent);
	/* One write of less than PIPE_BUF: the reports of several agents never interleave. */
	_exit(write(report_fd, &count, sizeof(count)) == sizeof(count) ? 0 : 4);
}

/* Reads the AGENTS reports, indexed by agent number. */
static void read_reports(int report_fd, struct producer_count counts[AGENTS])
{
	for (int k = 0; k < AGENTS; k++) {
		struct producer_count count;
		assert_int_equal(read(report_fd, &count, sizeof(count)), sizeof(count));
		assert_true(count.agent >= 0 && count.agent < AGENTS);
		assert_int_equal(count.taken + count.refused, SAMPLES);
		counts[count.agent] = count;
	}
}

struct tracked {
	bool active;
	int agent; /* from the slot's name "agent-N" */
	struct agp_ring_consumer consumer;
	int64_t last;
};

static void test_exact_accounting(void **state)
{
	char deployment[64];
	agp_test_name(deployment, sizeof(deployment), "acct");
	agp_segment_unlink(deployment);
	struct agp_segment segment;
	struct agp_segment_layout layout = {8, 4096, (gid_t)-1};
	assert_int_equal(agp_segment_create(deployment, &layout, &segment), 0);
	/* We act as the collector: agents must not reclaim slots behind our back. */
	assert_int_equal(agp_collector_presence_take(&segment), 0);

	int start[2], report[2];
	assert_int_equal(pipe(start), 0);
	assert_int_equal(pipe(report), 0);
	pid_t children[AGENTS];
	for (int k = 0; k < AGENTS; k++) {
		children[k] = fork();
		assert_true(children[k] >= 0);
		if (children[k] == 0) {
			close(start[1]);
			close(report[0]);
			run_agent(deployment, k, start[0], report[1]);
		}
	}
	close(start[0]);
	close(report[1]);

	struct tracked tracked[8] = {0};
	uint64_t read_by_agent[AGENTS] = {0};
	int seen_by_agent[AGENTS] = {0};
	int open_agents = 0, running = AGENTS;
	bool started = false;
	static struct agp_record out[1024];
	struct agp_metric_cache metrics = {0};

	for (;;) {
		for (uint32_t i = 0; i < segment.slot_count; i++) {
			struct agp_slot *slot = agp_segment_slot(&segment, i);
			/* Acquire: pairs with the claimant's release of LIVE; its name is complete.
			 */
			uint32_t slot_state =
			    atomic_load_explicit(&slot->state, memory_order_acquire);
			if (tracked[i].active ||
			    (slot_state != AGP_SLOT_LIVE && slot_state != AGP_SLOT_CLOSED))
				continue;
			int number = -1;
			assert_int_equal(sscanf(slot->name, "agent-%d", &number), 1);
			assert_true(number >= 0 && number < AGENTS);
			assert_int_equal(seen_by_agent[number]++, 0);
			tracked[i].active = true;
			tracked[i].agent = number;
			tracked[i].last = -1;
			agp_ring_consumer_init(
			    &tracked[i].consumer, i,
			    atomic_load_explicit(&slot->generation, memory_order_relaxed));
			open_agents++;
		}
		if (!started && open_agents == AGENTS) {
			char go[AGENTS] = {0};
			assert_int_equal(write(start[1], go, AGENTS), AGENTS);
			started = true;
		}
		uint64_t limit = agp_clock_read(&segment.clock) + 1000000000ull;
		uint64_t pending = 0;
		for (uint32_t i = 0; i < segment.slot_count; i++) {
			struct tracked *t = &tracked[i];
			if (!t->active)
				continue;
			size_t n =
			    agp_ring_drain_spsc(&segment, &metrics, &t->consumer, limit, out, 1024);
			for (size_t j = 0; j < n; j++) {
				assert_int_equal(out[j].task_id, t->agent);
				if (out[j].value <= t->last)
					fail_msg("agent %d: value %lld after %lld", t->agent,
					         (long long)out[j].value, (long long)t->last);
				t->last = out[j].value;
			}
			read_by_agent[t->agent] += n;
			pending += agp_ring_pending(&segment, &t->consumer);
		}
		if (running > 0) {
			int status;
			pid_t done = waitpid(-1, &status, WNOHANG);
			if (done > 0) {
				assert_true(WIFEXITED(status));
				assert_int_equal(WEXITSTATUS(status), 0);
				running--;
			}
		} else if (pending == 0) {
			break; /* every agent exited and every ring is empty */
		}
	}
	close(start[1]);
	struct producer_count said[AGENTS];
	read_reports(report[0], said);
	close(report[0]);

	uint64_t total_dropped = 0;
	for (uint32_t i = 0; i < segment.slot_count; i++) {
		struct tracked *t = &tracked[i];
		if (!t->active)
			continue;
		struct agp_slot *slot = agp_segment_slot(&segment, i);
		assert_int_equal(atomic_load(&slot->state), AGP_SLOT_CLOSED);
		uint64_t dropped = atomic_load_explicit(&slot->dropped_hot, memory_order_relaxed);
		assert_int_equal(t->consumer.invalid, 0);
		assert_false(t->consumer.quarantined);
		assert_int_equal(t->consumer.consumed, read_by_agent[t->agent]);
		assert_int_equal(atomic_load(&slot->tail_hot), read_by_agent[t->agent]);
		if (read_by_agent[t->agent] != said[t->agent].taken ||
		    dropped != said[t->agent].refused)
			fail_msg("agent %d: read %llu, dropped %llu; the agent says its ring took "
			         "%llu and refused %llu",
			         t->agent, (unsigned long long)read_by_agent[t->agent],
			         (unsigned long long)dropped,
			         (unsigned long long)said[t->agent].taken,
			         (unsigned long long)said[t->agent].refused);
		total_dropped += dropped;
		print_message("agent %d: read %llu, dropped %llu\n", t->agent,
		              (unsigned long long)read_by_agent[t->agent],
		              (unsigned long long)dropped);
		assert_true(agp_slot_release(&segment, i, t->consumer.generation));
	}
	for (int k = 0; k < AGENTS; k++)
		assert_int_equal(seen_by_agent[k], 1);
	print_message("%d agents x %d samples: %llu dropped in total\n", AGENTS, SAMPLES,
	              (unsigned long long)total_dropped);
	agp_segment_detach(&segment);
	agp_segment_unlink(deployment);
}

static int64_t num(const json_t *object, const char *key)
{
	return (int64_t)llround(ct_num(object, key));
}

/* The `agents` list of the collector of deployment, for the agents this test started. */
static size_t our_entries(const char *folder, const char *deployment, json_t *found[AGENTS],
                          const pid_t children[AGENTS])
{
	json_t *list = ct_cli_json(folder, deployment, 0, "agents");
	size_t seen = 0, index;
	json_t *entry;
	for (int k = 0; k < AGENTS; k++)
		found[k] = NULL;
	json_array_foreach(json_object_get(list, "agents"), index, entry)
	{
		for (int k = 0; k < AGENTS; k++)
			if (num(entry, "pid") == children[k]) {
				found[k] = json_incref(entry);
				seen++;
			}
	}
	json_decref(list);
	return seen;
}

static pid_t daemon_pid = -1; /* stopped by its pid in teardown should the test fail */

static int teardown(void **state)
{
	if (daemon_pid > 0) {
		kill(daemon_pid, SIGTERM);
		waitpid(daemon_pid, NULL, 0);
	}
	return agp_test_cleanup(state);
}

static void test_collector_accounting(void **state)
{
	(void)state;
	char folder[64] = "/tmp/agp-acct-XXXXXX";
	assert_non_null(mkdtemp(folder));
	char deployment[64], config_path[128], log_path[128], socket_folder[96];
	agp_test_name(deployment, sizeof(deployment), "acct-daemon");
	snprintf(config_path, sizeof(config_path), "%s/config.json", folder);
	snprintf(log_path, sizeof(log_path), "%s/daemon.log", folder);
	snprintf(socket_folder, sizeof(socket_folder), "%s/sock", folder);
	setenv("AGENTPERF_SOCKET_DIR", socket_folder, 1);
	FILE *config = fopen(config_path, "w");
	assert_non_null(config);
	fprintf(config,
	        "{\"monitoring\": {\"storage_dir\": \"%s/storage\", \"ci_export_file\": "
	        "\"%s/ci.json\"}}\n",
	        folder, folder);
	fclose(config);
	/* Small rings, created by the daemon: the flat-out agents overrun theirs. */
	setenv("AGENTPERF_RING_CAPACITY", "4096", 1);
	setenv("AGENTPERF_SLOTS", "8", 1);
	if (ct_daemon_start(folder, deployment, config_path, log_path, &daemon_pid) < 0)
		fail_msg("agentperfd did not answer within 5 s; log in %s", log_path);

	int start[2], report[2];
	assert_int_equal(pipe(start), 0);
	assert_int_equal(pipe(report), 0);
	pid_t children[AGENTS];
	for (int k = 0; k < AGENTS; k++) {
		children[k] = fork();
		assert_true(children[k] >= 0);
		if (children[k] == 0) {
			close(start[1]);
			close(report[0]);
			run_agent(deployment, k, start[0], report[1]);
		}
	}
	close(start[0]);
	close(report[1]);
	json_t *entries[AGENTS];
	/* Every agent open (listed by the collector) before any writes. */
	size_t listed = 0;
	for (int waited = 0; waited < 5000 && listed < AGENTS; waited += 20) {
		listed = our_entries(folder, deployment, entries, children);
		for (int k = 0; k < AGENTS; k++)
			json_decref(entries[k]);
		if (listed < AGENTS)
			ct_sleep_ms(20);
	}
	assert_int_equal(listed, AGENTS);
	char go[AGENTS] = {0};
	assert_int_equal(write(start[1], go, AGENTS), AGENTS);
	close(start[1]);
	struct producer_count said[AGENTS];
	read_reports(report[0], said);
	close(report[0]);
	for (int k = 0; k < AGENTS; k++) {
		int status;
		assert_int_equal(waitpid(children[k], &status, 0), children[k]);
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}

	/* Each closed agent drained to empty and its slot freed: the entry turns dead. */
	bool all_dead = false;
	for (int waited = 0;; waited += 20) {
		all_dead = our_entries(folder, deployment, entries, children) == AGENTS;
		for (int k = 0; all_dead && k < AGENTS; k++)
			all_dead = strcmp(json_string_value(json_object_get(entries[k], "state")),
			                  "dead") == 0;
		if (all_dead || waited >= 10000)
			break;
		for (int k = 0; k < AGENTS; k++)
			json_decref(entries[k]);
		ct_sleep_ms(20);
	}
	assert_true(all_dead);
	uint64_t taken = 0, refused = 0;
	for (int k = 0; k < AGENTS; k++) {
		assert_int_equal(said[k].pid, children[k]);
		json_t *entry = entries[k];
		print_message("agent %d: took %llu, refused %llu; collector: aggregated %lld, "
		              "dropped %lld, invalid %lld\n",
		              k, (unsigned long long)said[k].taken,
		              (unsigned long long)said[k].refused,
		              (long long)num(entry, "aggregated"), (long long)num(entry, "dropped"),
		              (long long)num(entry, "invalid"));
		assert_int_equal(num(entry, "aggregated"), said[k].taken);
		assert_int_equal(num(entry, "dropped"), said[k].refused);
		assert_int_equal(num(entry, "invalid"), 0);
		assert_int_equal(num(entry, "pending"), 0);
		taken += said[k].taken;
		refused += said[k].refused;
		json_decref(entry);
	}
	assert_true(refused > 0); /* the flat-out agents did overrun their rings */
	json_t *status = ct_cli_json(folder, deployment, 0, "status");
	assert_int_equal(num(status, "aggregated"), taken);
	assert_int_equal(num(status, "dropped"), refused);
	assert_int_equal(num(status, "written"), taken + refused);
	assert_int_equal(num(status, "lost_on_reclaim"), 0);
	json_decref(status);
	pid_t stopping = daemon_pid;
	daemon_pid = -1;
	assert_int_equal(ct_daemon_stop(stopping, folder), 0);
	unsetenv("AGENTPERF_RING_CAPACITY");
	unsetenv("AGENTPERF_SLOTS");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_exact_accounting),
	    cmocka_unit_test(test_collector_accounting),
	};
	return cmocka_run_group_tests(tests, NULL, teardown);
}
