/*
 * Reclaiming the slot of an agent that died without closing (SIGKILL):
 * liveness by the owner's lock (shm/slot.c), release by the collector
 * after the drain, self-reclaim by agents when no collector serves the
 * segment.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>

#include <agentperf/agentperf.h>

#include "shm/clock.h"
#include "shm/ring_consumer.h"
#include "common/error.h"
#include "shm/ownership.h"
#include "shm/segment.h"
#include "shm/slot.h"
#include "tests/support/test_util.h"

#define RECORDED 10

/* A child that opens an agent, records RECORDED samples, reports its slot and waits to be killed.
 */
static pid_t spawn_agent(const char *deployment, const char *name, uint32_t *index_out)
{
	int report[2];
	assert_int_equal(pipe(report), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(report[0]);
		struct agp_agent_options options = {.deployment = deployment};
		agp_agent *agent;
		int32_t index = -1;
		if (agp_agent_open(name, "reclaim", &options, &agent) == 0) {
			for (int i = 0; i < RECORDED; i++)
				agp_record(agent, AGP_METRIC_COORDINATION_OVERHEAD, i, 1);
			/* The slot index is not public; find our own pid in the segment. */
			struct agp_segment segment;
			if (agp_segment_attach(deployment, &segment) == 0) {
				for (uint32_t i = 0; i < segment.slot_count; i++)
					if (agp_segment_slot(&segment, i)->pid == getpid())
						index = (int32_t)i;
			}
		} else {
			fprintf(stderr, "%s: %s\n", name, agp_last_error());
		}
		if (write(report[1], &index, sizeof(index)) != sizeof(index))
			_exit(2);
		for (;;)
			pause();
	}
	close(report[1]);
	int32_t index;
	assert_int_equal(read(report[0], &index, sizeof(index)), sizeof(index));
	close(report[0]);
	if (index < 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		fail_msg("agent %s could not open", name);
	}
	*index_out = (uint32_t)index;
	return pid;
}

static void kill_agent(pid_t pid, bool reap)
{
	assert_int_equal(kill(pid, SIGKILL), 0);
	if (reap) {
		int status;
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFSIGNALED(status));
	} else {
		/* Leave a zombie: /proc still lists it, but it is dead. */
		siginfo_t info;
		assert_int_equal(waitid(P_PID, (id_t)pid, &info, WEXITED | WNOWAIT), 0);
	}
}

static void test_killed_agent_slot_is_reclaimed(void **state)
{
	char deployment[64];
	agp_test_name(deployment, sizeof(deployment), "reclaim");
	agp_segment_unlink(deployment);
	struct agp_segment segment;
	struct agp_segment_layout layout = {2, 64, (gid_t)-1};
	assert_int_equal(agp_segment_create(deployment, &layout, &segment), 0);
	assert_int_equal(agp_collector_presence_take(&segment), 0);

	uint32_t index;
	pid_t pid = spawn_agent(deployment, "victim", &index);
	struct agp_slot *slot = agp_segment_slot(&segment, index);
	assert_int_equal(atomic_load_explicit(&slot->state, memory_order_acquire), AGP_SLOT_LIVE);
	assert_int_equal(slot->pid, pid);
	assert_true(agp_slot_owner_alive(&segment, index));
	/* A live owner's slot cannot be released, whatever generation one names. */
	uint32_t generation = atomic_load(&slot->generation);
	assert_false(agp_slot_release(&segment, index, generation));

	kill_agent(pid, false);
	assert_false(agp_slot_owner_alive(&segment, index)); /* a zombie is dead */
	assert_int_equal(waitpid(pid, NULL, 0), pid);
	assert_false(agp_slot_owner_alive(&segment, index));
	/* The killed agent never closed its slot. */
	assert_int_equal(atomic_load(&slot->state), AGP_SLOT_LIVE);

	/* While we (the collector) serve the segment, a new agent does not take the dead slot. */
	uint32_t other;
	pid_t second = spawn_agent(deployment, "second", &other);
	assert_int_not_equal(other, index);

	/* Drain first: the dead agent's samples are still read. */
	struct agp_ring_consumer consumer;
	struct agp_metric_cache metrics = {0};
	struct agp_record out[64];
	agp_ring_consumer_init(&consumer, index, generation);
	size_t n = agp_ring_drain_spsc(&segment, &metrics, &consumer,
	                               agp_clock_read(&segment.clock) + 1000000000ull, out, 64);
	assert_int_equal(n, RECORDED);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(out[i].value, (int64_t)i);

	assert_false(agp_slot_release(&segment, index, generation + 1)); /* another occupant's */
	assert_true(agp_slot_release(&segment, index, generation));
	assert_int_equal(atomic_load(&slot->state), AGP_SLOT_FREE);
	assert_false(agp_slot_release(&segment, index, generation)); /* only once */

	/* The freed slot is claimed by the next agent, with a new generation and fresh indices. */
	uint32_t third_index;
	pid_t third = spawn_agent(deployment, "third", &third_index);
	assert_int_equal(third_index, index);
	assert_int_equal(slot->pid, third);
	assert_int_equal(atomic_load(&slot->generation), generation + 1);
	assert_int_equal(atomic_load(&slot->tail_hot), RECORDED);
	assert_int_equal(atomic_load(&slot->head), 0);
	assert_string_equal(slot->name, "third");

	kill_agent(second, true);
	kill_agent(third, true);
	agp_segment_detach(&segment);
	agp_segment_unlink(deployment);
}

/*
 * The slot's pid field says nothing about life: a dead owner whose pid
 * field now names a running process (a reused or scribbled pid) is dead,
 * and a live owner whose pid field is scribbled to 0 lives.
 */
static void test_pid_field_is_not_the_witness(void **state)
{
	char deployment[64];
	agp_test_name(deployment, sizeof(deployment), "pidfield");
	struct agp_segment segment;
	struct agp_segment_layout layout = {2, 64, (gid_t)-1};
	assert_int_equal(agp_segment_create(deployment, &layout, &segment), 0);
	assert_int_equal(agp_collector_presence_take(&segment), 0);
	uint32_t dead_index, live_index;
	pid_t dead = spawn_agent(deployment, "dead", &dead_index);
	pid_t live = spawn_agent(deployment, "live", &live_index);
	kill_agent(dead, true);
	agp_segment_slot(&segment, dead_index)->pid = getpid();
	agp_segment_slot(&segment, live_index)->pid = 0;
	assert_false(agp_slot_owner_alive(&segment, dead_index));
	assert_true(agp_slot_owner_alive(&segment, live_index));
	kill_agent(live, true);
	assert_false(agp_slot_owner_alive(&segment, live_index));
	agp_segment_detach(&segment);
	agp_segment_unlink(deployment);
}

/*
 * Without a collector nobody would ever drain or free a dead agent's
 * slot, so a new agent that finds every slot taken reclaims it itself;
 * while a collector serves the segment it gets -ENOSPC instead.
 */
static void test_agent_reclaims_without_collector(void **state)
{
	char deployment[64];
	agp_test_name(deployment, sizeof(deployment), "selfreclaim");
	agp_segment_unlink(deployment);
	struct agp_segment segment;
	struct agp_segment_layout layout = {1, 64, (gid_t)-1};
	assert_int_equal(agp_segment_create(deployment, &layout, &segment), 0);

	uint32_t index;
	pid_t pid = spawn_agent(deployment, "first", &index);
	struct agp_agent_options options = {.deployment = deployment};
	agp_agent *agent = NULL;
	/* The owner lives: the only slot is taken. */
	assert_int_equal(agp_agent_open("late", "reclaim", &options, &agent), -ENOSPC);
	assert_message_contains(agp_last_error(), deployment);
	assert_null(agent);
	assert_false(agp_record(agent, 0, 1, 0)); /* recording into a failed agent is a no-op */

	kill_agent(pid, true);
	assert_int_equal(agp_collector_presence_take(&segment), 0);
	assert_int_equal(agp_agent_open("late", "reclaim", &options, &agent), -ENOSPC);

	agp_collector_presence_drop(&segment);
	assert_int_equal(agp_agent_open("late", "reclaim", &options, &agent), 0);
	struct agp_slot *slot = agp_segment_slot(&segment, 0);
	assert_int_equal(slot->pid, getpid());
	assert_true(agp_record(agent, 0, 1, 0));
	agp_agent_close(agent);
	assert_int_equal(atomic_load(&slot->state), AGP_SLOT_CLOSED);

	/* A closed slot is reclaimed the same way. */
	assert_int_equal(agp_agent_open("later", "reclaim", &options, &agent), 0);
	assert_string_equal(slot->name, "later");
	agp_agent_close(agent);
	agp_segment_detach(&segment);
	agp_segment_unlink(deployment);
}

/*
 * fork: the fork handler closes the child's copy of the segment's
 * descriptor (agent.c), so the child holds no share of the slot lock. A
 * child that closes its inherited handle leaves the parent's slot live, and
 * whether it closes it or not, the slot's owner is gone with the parent
 * while the child lives on (see shm/slot.c).
 */
struct family {
	pid_t parent, child;
	uint32_t index;
};

/* Blocks until the test process (the only writer of lifeline) is gone, then exits. */
static void wait_for_the_end(int lifeline)
{
	char byte;
	while (read(lifeline, &byte, 1) > 0)
		;
	_exit(0);
}

static struct family spawn_family(const char *deployment, bool child_closes, int lifeline[2])
{
	int parent_report[2], child_report[2];
	assert_int_equal(pipe(parent_report), 0);
	assert_int_equal(pipe(child_report), 0);
	struct family family = {0};
	family.parent = fork();
	assert_true(family.parent >= 0);
	if (family.parent == 0) {
		close(lifeline[1]);
		struct agp_agent_options options = {.deployment = deployment};
		agp_agent *agent;
		if (agp_agent_open("forking", "reclaim", &options, &agent) != 0)
			_exit(2);
		pid_t child = fork();
		if (child == 0) {
			if (child_closes)
				agp_agent_close(agent);
			if (write(child_report[1], "c", 1) != 1)
				_exit(2);
			wait_for_the_end(lifeline[0]);
		}
		struct agp_segment segment;
		int32_t report[2] = {(int32_t)child, -1};
		if (agp_segment_attach(deployment, &segment) == 0)
			for (uint32_t i = 0; i < segment.slot_count; i++)
				if (agp_segment_slot(&segment, i)->pid == getpid())
					report[1] = (int32_t)i;
		if (write(parent_report[1], report, sizeof(report)) != sizeof(report))
			_exit(2);
		wait_for_the_end(lifeline[0]);
	}
	int32_t report[2];
	char byte;
	assert_int_equal(read(parent_report[0], report, sizeof(report)), sizeof(report));
	assert_int_equal(read(child_report[0], &byte, 1), 1);
	for (int i = 0; i < 2; i++) {
		close(parent_report[i]);
		close(child_report[i]);
	}
	assert_true(report[1] >= 0);
	family.child = report[0];
	family.index = (uint32_t)report[1];
	return family;
}

static void test_fork_child_and_the_parents_slot(void **state)
{
	char deployment[64];
	agp_test_name(deployment, sizeof(deployment), "fork");
	struct agp_segment segment;
	struct agp_segment_layout layout = {2, 64, (gid_t)-1};
	assert_int_equal(agp_segment_create(deployment, &layout, &segment), 0);
	assert_int_equal(agp_collector_presence_take(&segment), 0);
	/* Orphaned grandchildren come back to us, to be reaped by their pid. */
	assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
	/* Should the test fail half-way, the family still ends with us (end of file on the pipe).
	 */
	int lifeline[2];
	assert_int_equal(pipe(lifeline), 0);
	for (int child_closes = 1; child_closes >= 0; child_closes--) {
		struct family family = spawn_family(deployment, child_closes, lifeline);
		struct agp_slot *slot = agp_segment_slot(&segment, family.index);
		/* The child's close (if any) did not end the parent's ownership. */
		assert_int_equal(atomic_load(&slot->state), AGP_SLOT_LIVE);
		assert_true(agp_slot_owner_alive(&segment, family.index));
		kill_agent(family.parent, true);
		assert_false(agp_slot_owner_alive(&segment, family.index));
		kill_agent(family.child, true); /* orphaned, it is ours (subreaper) */
		assert_false(agp_slot_owner_alive(&segment, family.index));
		assert_true(
		    agp_slot_release(&segment, family.index, atomic_load(&slot->generation)));
	}
	close(lifeline[0]);
	close(lifeline[1]);
	agp_segment_detach(&segment);
	agp_segment_unlink(deployment);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_killed_agent_slot_is_reclaimed),
	    cmocka_unit_test(test_pid_field_is_not_the_witness),
	    cmocka_unit_test(test_agent_reclaims_without_collector),
	    cmocka_unit_test(test_fork_child_and_the_parents_slot),
	};
	return cmocka_run_group_tests(tests, NULL, agp_test_cleanup);
}
