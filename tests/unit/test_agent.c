/*
 * The recording library's edges: bad names, layout variables, a segment
 * of another ABI, all slots taken, recording into NULL and closed agents,
 * and the deployment clock agreeing with CLOCK_MONOTONIC.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include <agentperf/agentperf.h>

#include "shm/clock.h"
#include "shm/ownership.h"
#include "shm/segment.h"
#include "tests/support/test_util.h"

static struct agp_agent_options options;
static char deployment[64];

static int setup(void **state)
{
	agp_test_name(deployment, sizeof(deployment), "agent");
	options.deployment = deployment;
	unsetenv("AGENTPERF_SLOTS");
	unsetenv("AGENTPERF_RING_CAPACITY");
	unsetenv("AGENTPERF_CLOCK");
	return 0;
}

static int teardown(void **state)
{
	agp_segment_unlink(deployment);
	return 0;
}

static void test_bad_labels(void **state)
{
	agp_agent *agent = NULL;
	char long_name[AGP_AGENT_NAME_MAX + 2];
	memset(long_name, 'a', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	assert_int_equal(agp_agent_open("", "t", &options, &agent), -EINVAL);
	assert_message_contains(agp_last_error(), "name is empty");
	assert_int_equal(agp_agent_open(NULL, "t", &options, &agent), -EINVAL);
	assert_int_equal(agp_agent_open("a", "", &options, &agent), -EINVAL);
	assert_message_contains(agp_last_error(), "type is empty");
	assert_int_equal(agp_agent_open(long_name, "t", &options, &agent), -EINVAL);
	assert_message_contains(agp_last_error(), "32 characters");
	assert_int_equal(agp_agent_open("tab\there", "t", &options, &agent), -EINVAL);
	assert_message_contains(agp_last_error(), "position 3");
	assert_int_equal(agp_agent_open("a", "quote\"", &options, &agent), -EINVAL);
	assert_null(agent);
	struct agp_agent_options bad = {.deployment = "no/slash"};
	assert_int_equal(agp_agent_open("a", "t", &bad, &agent), -EINVAL);
	assert_message_contains(agp_last_error(), "no/slash");
	assert_null(agent);
}

static void test_layout_variables(void **state)
{
	agp_agent *agent = NULL;
	setenv("AGENTPERF_RING_CAPACITY", "lots", 1);
	assert_int_equal(agp_agent_open("a", "t", &options, &agent), -EINVAL);
	assert_message_contains(agp_last_error(), "AGENTPERF_RING_CAPACITY='lots'");
	setenv("AGENTPERF_RING_CAPACITY", "100", 1);
	assert_int_equal(agp_agent_open("a", "t", &options, &agent), -EINVAL);
	assert_message_contains(agp_last_error(), "ring capacity 100");
	setenv("AGENTPERF_RING_CAPACITY", "128", 1);
	setenv("AGENTPERF_SLOTS", "2", 1);
	assert_int_equal(agp_agent_open("a", "t", &options, &agent), 0);
	struct agp_segment segment;
	assert_int_equal(agp_segment_attach(deployment, &segment), 0);
	assert_int_equal(segment.slot_count, 2);
	assert_int_equal(segment.ring_capacity, 128);
	agp_segment_detach(&segment);
	agp_agent_close(agent);
}

/* The caller's program keeps running when telemetry cannot start; recording is then a no-op. */
static void test_other_abi_and_full_segment(void **state)
{
	struct agp_segment segment;
	struct agp_segment_layout layout = {1, 64, (gid_t)-1};
	assert_int_equal(agp_segment_create(deployment, &layout, &segment), 0);
	agp_segment_header(&segment)->abi_major = AGP_SHM_ABI_MAJOR + 1;
	agp_agent *agent = NULL;
	assert_int_equal(agp_agent_open("a", "t", &options, &agent), -EPROTO);
	assert_message_contains(agp_last_error(), "the segment is newer");
	assert_null(agent);
	assert_false(agp_record(agent, AGP_METRIC_COORDINATION_OVERHEAD, 1, 0));
	{
		AGP_TIMER_SCOPE(agent, AGP_METRIC_COORDINATION_OVERHEAD, 0);
	}
	assert_int_equal(agp_agent_recorded(agent), 0);
	agp_agent_close(agent);

	agp_segment_header(&segment)->abi_major = AGP_SHM_ABI_MAJOR;
	/* We serve the segment, so the one slot is not reclaimed from under its owner. */
	assert_int_equal(agp_collector_presence_take(&segment), 0);
	agp_agent *first, *second = NULL;
	assert_int_equal(agp_agent_open("first", "t", &options, &first), 0);
	assert_int_equal(agp_agent_open("second", "t", &options, &second), -ENOSPC);
	assert_message_contains(agp_last_error(), "all 1 agent slots");
	assert_null(second);
	agp_agent_close(first);
	agp_segment_detach(&segment);
}

static void test_record_into_closed_agent(void **state)
{
	agp_agent *agent;
	assert_int_equal(agp_agent_open("closing", "t", &options, &agent), 0);
	assert_true(agp_record(agent, AGP_METRIC_MEMORY_USAGE, 1, 0));
	assert_int_equal(agp_agent_recorded(agent), 1);
	agp_agent_close(agent);
	/* Not a use after free (ASan would say so): a no-op that counts a drop. */
	assert_false(agp_record(agent, AGP_METRIC_MEMORY_USAGE, 2, 0));
	assert_false(agp_record_at(agent, AGP_METRIC_MEMORY_USAGE, 2, 0, 1, 0));
	{
		AGP_TIMER_SCOPE(agent, AGP_METRIC_COORDINATION_OVERHEAD, 0);
	}
	assert_int_equal(agp_agent_recorded(agent), 1);
	assert_int_equal(agp_agent_dropped(agent), 3);
	uint16_t id;
	assert_int_equal(agp_metric_register(agent, "late_metric", AGP_UNIT_COUNT, 0, &id),
	                 -ENOTCONN);
	agp_agent_close(agent); /* twice is harmless */
}

/* TSC readings of the deployment clock stay within a millisecond of CLOCK_MONOTONIC. */
static void check_clock_agrees(agp_agent *agent)
{
	for (int round = 0; round < 5; round++) {
		uint64_t before = agp_monotonic_ns();
		uint64_t ours = agp_clock_now_ns(agent);
		uint64_t after = agp_monotonic_ns();
		if (ours + 1000000 < before || ours > after + 1000000)
			fail_msg("deployment clock %llu is outside [%llu, %llu] +- 1 ms",
			         (unsigned long long)ours, (unsigned long long)before,
			         (unsigned long long)after);
		struct timespec pause = {0, 30 * 1000 * 1000};
		nanosleep(&pause, NULL);
	}
}

static void test_clock_matches_monotonic(void **state)
{
	agp_agent *agent;
	assert_int_equal(agp_agent_open("clock", "t", &options, &agent), 0);
	check_clock_agrees(agent);
	agp_agent_close(agent);
	agp_segment_unlink(deployment);

	setenv("AGENTPERF_CLOCK", "monotonic", 1);
	assert_int_equal(agp_agent_open("clock", "t", &options, &agent), 0);
	struct agp_segment segment;
	assert_int_equal(agp_segment_attach(deployment, &segment), 0);
	assert_int_equal(segment.clock.use_tsc, 0);
	agp_segment_detach(&segment);
	check_clock_agrees(agent);
	agp_agent_close(agent);
	unsetenv("AGENTPERF_CLOCK");
}

/* A TSC reading just below the calibration point maps to a slightly earlier time. */
static void test_clock_before_calibration_point(void **state)
{
#if AGP_HAVE_TSC
	struct agp_clock clock = {.use_tsc = 1};
	const uint64_t base_ns = 1000000000000ull;
	atomic_init(&clock.fixed.conversion[0].mult, 1ull << 31); /* 0.5 ns/tick */
	atomic_init(&clock.fixed.conversion[0].base_ns, base_ns);
	/* A million ticks ahead of now. */
	atomic_init(&clock.fixed.conversion[0].base_tsc, agp_tsc_read() + 1000000);
	uint64_t ns = agp_clock_read(&clock);
	assert_true(ns < base_ns);
	assert_true(ns > base_ns - 2000000);
#else
	skip();
#endif
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_bad_labels, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_layout_variables, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_other_abi_and_full_segment, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_record_into_closed_agent, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_clock_matches_monotonic, setup, teardown),
	    cmocka_unit_test(test_clock_before_calibration_point),
	};
	return cmocka_run_group_tests(tests, NULL, agp_test_cleanup);
}
