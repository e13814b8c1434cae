/*
 * Start order: agents that start together before any collector race to
 * create the segment. Exactly one creates it; the others wait for its
 * magic and attach; all get distinct slots of the same segment.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sched.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include <agentperf/agentperf.h>

#include "shm/segment.h"
#include "tests/support/test_util.h"

#define PROCESSES 6
#define ROUNDS    20

struct start_line {
	_Atomic int ready;
	_Atomic int go;
};

static void open_agent(const char *deployment, int number, struct start_line *line)
{
	struct agp_agent_options options = {.deployment = deployment};
	char name[32];
	snprintf(name, sizeof(name), "starter-%d", number);
	/* Relaxed: a start line only; the segment carries its own synchronisation. */
	atomic_fetch_add_explicit(&line->ready, 1, memory_order_relaxed);
	while (!atomic_load_explicit(&line->go, memory_order_relaxed))
		;
	agp_agent *agent;
	if (agp_agent_open(name, "startup", &options, &agent) != 0) {
		fprintf(stderr, "%s: %s\n", name, agp_last_error());
		_exit(2);
	}
	bool recorded = agp_record(agent, AGP_METRIC_AGENT_INITIALIZATION, number, 0);
	agp_agent_close(agent);
	_exit(recorded ? 0 : 3);
}

static void test_simultaneous_first_agents(void **state)
{
	struct start_line *line =
	    mmap(NULL, sizeof(*line), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	assert_true(line != MAP_FAILED);
	for (int round = 0; round < ROUNDS; round++) {
		char deployment[64], what[32];
		snprintf(what, sizeof(what), "start%d", round);
		agp_test_name(deployment, sizeof(deployment), what);
		agp_segment_unlink(deployment);
		atomic_store(&line->ready, 0);
		atomic_store(&line->go, 0);
		for (int p = 0; p < PROCESSES; p++) {
			pid_t pid = fork();
			assert_true(pid >= 0);
			if (pid == 0)
				open_agent(deployment, p, line);
		}
		while (atomic_load(&line->ready) < PROCESSES)
			sched_yield();
		atomic_store(&line->go, 1);
		for (int p = 0; p < PROCESSES; p++) {
			int status;
			assert_true(wait(&status) > 0);
			if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
				fail_msg("round %d: an agent ended with status 0x%x", round,
				         status);
		}
		/* One segment, every agent in its own slot, each with its one record. */
		struct agp_segment segment;
		assert_int_equal(agp_segment_attach(deployment, &segment), 0);
		int closed = 0;
		uint64_t seen = 0;
		for (uint32_t i = 0; i < segment.slot_count; i++) {
			struct agp_slot *slot = agp_segment_slot(&segment, i);
			if (atomic_load(&slot->state) != AGP_SLOT_CLOSED)
				continue;
			closed++;
			int number;
			assert_int_equal(sscanf(slot->name, "starter-%d", &number), 1);
			assert_false(seen & (1ull << number));
			seen |= 1ull << number;
			assert_int_equal(atomic_load(&slot->tail_hot), 1);
			assert_int_equal(agp_slot_records(slot)[0].value, number);
		}
		assert_int_equal(closed, PROCESSES);
		agp_segment_detach(&segment);
		agp_segment_unlink(deployment);
	}
	munmap(line, sizeof(*line));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_simultaneous_first_agents),
	};
	return cmocka_run_group_tests(tests, NULL, agp_test_cleanup);
}
