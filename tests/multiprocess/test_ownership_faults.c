/*
 * Every intermediate state of a slot and of a registry entry survives its
 * owner's death. The shm/ code here is the tests' build with fault points
 * (shm/fault.h): a child sets the point to die at and makes the call; the
 * kernel's report that it died of SIGKILL is the witness that it reached
 * the point. Then the state it left must be recovered at once: by the next
 * agent, or by the collector's call (this process holds the collector's
 * presence, so agents may not reclaim LIVE or CLOSED slots themselves).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <agentperf/agentperf.h>

#include "common/error.h"
#include "shm/clock.h"
#include "shm/fault.h"
#include "shm/ownership.h"
#include "shm/registry.h"
#include "shm/segment.h"
#include "shm/slot.h"
#include "tests/support/test_util.h"

#define MS 1000000ull

/* Runs body in a child that must die of SIGKILL at point; fails the test otherwise. */
static void die_at(const char *point, void (*body)(const char *deployment), const char *deployment)
{
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		agp__fault_kill_at = point;
		body(deployment);
		_exit(0); /* the point was never reached */
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL)
		fail_msg("the child did not die at %s (status 0x%x)", point, status);
}

static void open_agent(const char *deployment)
{
	struct agp_agent_options options = {.deployment = deployment};
	agp_agent *agent;
	if (agp_agent_open("doomed", "fault", &options, &agent) == 0)
		agp_agent_close(agent);
}

static void open_agent_and_register(const char *deployment)
{
	const char *point = agp__fault_kill_at;
	agp__fault_kill_at = NULL; /* the slot claim must not die */
	struct agp_agent_options options = {.deployment = deployment};
	agp_agent *agent;
	if (agp_agent_open("registrar", "fault", &options, &agent) != 0)
		_exit(3);
	agp__fault_kill_at = point;
	uint16_t id;
	agp_metric_register(agent, "dying_metric", AGP_UNIT_NANOSECONDS, 0, &id);
	agp_agent_close(agent);
}

struct slot_case {
	const char *point;
	uint32_t state_left; /* what the dead claimant leaves behind */
};

static const struct slot_case slot_cases[] = {
    {"slot.locked", AGP_SLOT_FREE},         {"slot.claiming", AGP_SLOT_CLAIMING},
    {"slot.identified", AGP_SLOT_CLAIMING}, {"slot.live", AGP_SLOT_LIVE},
    {"slot.closed", AGP_SLOT_CLOSED},
};

/* A one-slot segment that we serve: a slot lost for good would fail the next claim. */
static void make_served_segment(const char *deployment, struct agp_segment *segment)
{
	agp_segment_unlink(deployment);
	struct agp_segment_layout layout = {1, 64, (gid_t)-1};
	assert_int_equal(agp_segment_create(deployment, &layout, segment), 0);
	assert_int_equal(agp_collector_presence_take(segment), 0);
}

/* The next agent, or the collector, takes back what a claimant killed at each point held. */
static void test_claimant_killed_at_every_transition(void **state)
{
	for (size_t c = 0; c < sizeof(slot_cases) / sizeof(slot_cases[0]); c++) {
		const struct slot_case *sc = &slot_cases[c];
		for (int recoverer = 0; recoverer < 2; recoverer++) {
			char deployment[64], what[32];
			snprintf(what, sizeof(what), "slot%zu-%d", c, recoverer);
			agp_test_name(deployment, sizeof(deployment), what);
			struct agp_segment segment;
			make_served_segment(deployment, &segment);
			struct agp_slot *slot = agp_segment_slot(&segment, 0);
			/* Four deaths in a row at the same point: none may cost the slot. */
			for (int death = 0; death < 4; death++) {
				die_at(sc->point, open_agent, deployment);
				uint32_t left = atomic_load(&slot->state);
				if (left != sc->state_left)
					fail_msg("%s: state %u left, expected %u", sc->point, left,
					         sc->state_left);
				assert_false(agp_slot_owner_alive(&segment, 0));
				if (recoverer == 1 || left == AGP_SLOT_LIVE ||
				    left == AGP_SLOT_CLOSED) {
					/* The collector's part: free what the dead one held. */
					bool freed =
					    left == AGP_SLOT_CLAIMING
					        ? agp_slot_free_abandoned_claim(&segment, 0)
					        : left == AGP_SLOT_FREE ||
					              agp_slot_release(
					                  &segment, 0,
					                  atomic_load(&slot->generation));
					assert_true(freed);
					assert_int_equal(atomic_load(&slot->state), AGP_SLOT_FREE);
				}
			}
			/* The slot serves a living agent again, at once. */
			struct agp_agent_options options = {.deployment = deployment};
			agp_agent *agent;
			assert_int_equal(agp_agent_open("survivor", "fault", &options, &agent), 0);
			assert_int_equal(atomic_load(&slot->state), AGP_SLOT_LIVE);
			assert_string_equal(slot->name, "survivor");
			assert_true(agp_slot_owner_alive(&segment, 0));
			agp_agent_close(agent);
			agp_segment_detach(&segment);
			agp_segment_unlink(deployment);
		}
	}
}

/*
 * A registrar that dies with the entry locked, WRITING or named costs the
 * next registration of the same name nothing: the entry is taken over, no
 * entry stays WRITING, and the name gets one id.
 */
static void test_registrar_killed_at_every_transition(void **state)
{
	static const char *points[] = {"registry.locked", "registry.writing", "registry.named"};
	for (size_t p = 0; p < sizeof(points) / sizeof(points[0]); p++) {
		char deployment[64], what[32];
		snprintf(what, sizeof(what), "reg%zu", p);
		agp_test_name(deployment, sizeof(deployment), what);
		struct agp_segment segment;
		make_served_segment(deployment, &segment);
		die_at(points[p], open_agent_and_register, deployment);
		/* The dead registrar's slot is the collector's to free; then we register. */
		struct agp_slot *slot = agp_segment_slot(&segment, 0);
		assert_true(agp_slot_release(&segment, 0, atomic_load(&slot->generation)));
		uint32_t writing_before = 0;
		for (uint32_t id = 0; id < segment.registry_capacity; id++)
			writing_before += atomic_load(&agp_segment_metric(&segment, id)->state) ==
			                  AGP_METRIC_WRITING;
		assert_int_equal(writing_before, p == 0 ? 0 : 1); /* the state the death left */

		struct agp_agent_options options = {.deployment = deployment};
		agp_agent *agent;
		assert_int_equal(agp_agent_open("next", "fault", &options, &agent), 0);
		uint16_t id, again;
		uint64_t started = agp_monotonic_ns();
		assert_int_equal(
		    agp_metric_register(agent, "dying_metric", AGP_UNIT_NANOSECONDS, 0, &id), 0);
		uint64_t took = agp_monotonic_ns() - started;
		/* The old code waited 100 ms for a dead writer; a taken-over entry costs nothing.
		 */
		if (took > 50 * MS)
			fail_msg("%s: registering after the death took %llu ms", points[p],
			         (unsigned long long)(took / MS));
		assert_int_equal(
		    agp_metric_register(agent, "dying_metric", AGP_UNIT_NANOSECONDS, 0, &again), 0);
		assert_int_equal(again, id);
		for (uint32_t i = 0; i < segment.registry_capacity; i++)
			assert_int_not_equal(atomic_load(&agp_segment_metric(&segment, i)->state),
			                     AGP_METRIC_WRITING);
		struct agp_metric_info info;
		assert_true(agp_registry_lookup(&segment, id, &info));
		assert_string_equal(info.name, "dying_metric");
		agp_agent_close(agent);
		agp_segment_detach(&segment);
		agp_segment_unlink(deployment);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_claimant_killed_at_every_transition),
	    cmocka_unit_test(test_registrar_killed_at_every_transition),
	};
	return cmocka_run_group_tests(tests, NULL, agp_test_cleanup);
}
