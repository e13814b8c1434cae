/*
 * Exact accounting across processes: N agent processes each write M
 * samples (value = their own sequence number, task id = agent number)
 * while this process drains every ring. Per agent, read + dropped must be
 * M exactly, and the values read must be strictly increasing: no sample
 * duplicated, reordered or invented.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>

#include <agentperf/agentperf.h>

#include "shm/clock.h"
#include "shm/ring_consumer.h"
#include "shm/ownership.h"
#include "shm/segment.h"
#include "shm/slot.h"
#include "tests/support/test_util.h"

#define AGENTS  4
#define SAMPLES 200000

static void run_agent(const char *deployment, int number, int start_fd)
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
	for (int64_t i = 0; i < SAMPLES; i++) {
		agp_record(agent, AGP_METRIC_TASK_EXECUTION_TIME, i, (uint64_t)number);
		if (number % 2 == 0 && i % 512 == 511) {
			struct timespec pause = {0, 20000};
			nanosleep(&pause, NULL);
		}
	}
	int status = agp_agent_recorded(agent) + agp_agent_dropped(agent) == SAMPLES ? 0 : 4;
	agp_agent_close(agent);
	_exit(status);
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

	int start[2];
	assert_int_equal(pipe(start), 0);
	pid_t children[AGENTS];
	for (int k = 0; k < AGENTS; k++) {
		children[k] = fork();
		assert_true(children[k] >= 0);
		if (children[k] == 0) {
			close(start[1]);
			run_agent(deployment, k, start[0]);
		}
	}
	close(start[0]);

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
		if (read_by_agent[t->agent] + dropped != SAMPLES)
			fail_msg("agent %d: read %llu + dropped %llu != %d", t->agent,
			         (unsigned long long)read_by_agent[t->agent],
			         (unsigned long long)dropped, SAMPLES);
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

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_exact_accounting),
	};
	return cmocka_run_group_tests(tests, NULL, agp_test_cleanup);
}
