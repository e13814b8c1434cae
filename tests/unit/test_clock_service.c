/*
 * The collector's clock service (collector/clock_service.c) on real
 * segments of this process: it takes the segment's conversion over, its
 * own clock does not follow what is scribbled in the header, one too far
 * off is recalibrated, the thread re-anchors the header's conversion, and
 * segments of ABI 2.0 or of CLOCK_MONOTONIC are left alone.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "collector/clock_service.h"
#include "shm/clock.h"
#include "shm/segment.h"
#include "tests/support/test_util.h"

#define MS (1000 * 1000ll)

static const struct agp_segment_layout small_layout = {4, 64, (gid_t)-1};

static bool make(const char *what, struct agp_segment *segment, char *name, size_t size)
{
	agp_test_name(name, size, what);
	unsetenv("AGENTPERF_CLOCK");
	assert_int_equal(agp_segment_create(name, &small_layout, segment), 0);
	return segment->clock.use_tsc;
}

static void drop(struct agp_segment *segment, const char *name, struct agp_clock_service *service)
{
	agp_segment_detach(segment);
	agp_clock_service_close(service);
	agp_segment_unlink(name);
}

static int64_t offset_of(const struct agp_clock *clock)
{
	uint64_t before = agp_monotonic_ns(), ours = agp_clock_read(clock),
	         after = agp_monotonic_ns();
	return (int64_t)(ours - (before + (after - before) / 2));
}

/* Taken over without a jump; then the header is scribbled: the collector's clock stays. */
static void test_own_copy(void **state)
{
	(void)state;
	char name[64];
	struct agp_segment segment;
	if (!make("own", &segment, name, sizeof(name))) {
		drop(&segment, name, NULL);
		skip();
	}
	struct agp_shm_clock_published *header = &agp_segment_header(&segment)->clock_published;
	struct agp_clock_line before = agp_clock_published_line(header);
	struct agp_clock_service *service;
	assert_int_equal(agp_clock_service_open(&segment, -1, &service), 0);
	assert_ptr_not_equal(segment.clock.published, header);
	struct agp_clock_line taken = agp_clock_published_line(segment.clock.published);
	assert_memory_equal(&taken, &before, sizeof(taken));

	struct agp_clock_line scribbled = before;
	scribbled.base_ns += 1000 * MS;
	agp_clock_publish(header, &scribbled);
	int64_t offset = offset_of(&segment.clock);
	assert_true(offset > -MS && offset < MS);

	struct agp_clock_status status;
	agp_clock_service_status(service, &status);
	assert_string_equal(status.clock, "tsc");
	assert_string_equal(status.reason, "kernel clocksource tsc");
	assert_true(status.disciplined);
	assert_false(status.recalibrated);
	assert_int_equal(status.since_reanchor_ns, -1);
	drop(&segment, name, service);
}

/* The thread re-anchors: the header's sequence moves on and repairs the scribble. */
static void test_thread_reanchors_the_header(void **state)
{
	(void)state;
	char name[64];
	struct agp_segment segment;
	if (!make("thread", &segment, name, sizeof(name))) {
		drop(&segment, name, NULL);
		skip();
	}
	struct agp_shm_clock_published *header = &agp_segment_header(&segment)->clock_published;
	struct agp_clock_service *service;
	assert_int_equal(agp_clock_service_open(&segment, -1, &service), 0);
	struct agp_clock_line scribbled = agp_clock_published_line(header);
	scribbled.base_ns += 1000 * MS;
	agp_clock_publish(header, &scribbled);
	struct agp_segment agent_view;
	assert_int_equal(agp_segment_attach(name, &agent_view), 0);
	uint32_t first = atomic_load(&header->sequence);
	assert_int_equal(agp_clock_service_start(service), 0);
	struct agp_clock_status status;
	for (int waited = 0; atomic_load(&header->sequence) - first < 4; waited++) {
		assert_true(waited < 5000); /* 5 s for 4 re-anchors of 25 ms */
		struct timespec pause = {0, 1000000};
		nanosleep(&pause, NULL);
	}
	int64_t offset = offset_of(&agent_view.clock);
	assert_true(offset > -MS && offset < MS);
	agp_clock_service_status(service, &status);
	assert_true(status.reanchors >= 4);
	assert_true(status.since_reanchor_ns >= 0);
	agp_clock_service_stop(service);
	agp_segment_detach(&agent_view);
	drop(&segment, name, service);
}

/* More than 1 s off: calibrated anew, published to the header too, and said. */
static void test_far_off_is_recalibrated(void **state)
{
	(void)state;
	char name[64];
	struct agp_segment segment;
	if (!make("far", &segment, name, sizeof(name))) {
		drop(&segment, name, NULL);
		skip();
	}
	struct agp_shm_clock_published *header = &agp_segment_header(&segment)->clock_published;
	struct agp_clock_line far = agp_clock_published_line(header);
	far.base_ns += 5000 * MS;
	agp_clock_publish(header, &far);
	struct agp_clock_service *service;
	assert_int_equal(agp_clock_service_open(&segment, -1, &service), 0);
	struct agp_clock_status status;
	agp_clock_service_status(service, &status);
	assert_true(status.recalibrated);
	struct agp_segment agent_view;
	assert_int_equal(agp_segment_attach(name, &agent_view), 0);
	int64_t offset = offset_of(&agent_view.clock);
	assert_true(offset > -MS && offset < MS);
	agp_segment_detach(&agent_view);
	drop(&segment, name, service);
}

/* A 2.0 segment and a CLOCK_MONOTONIC one: nothing to re-anchor, and the status says why. */
static void test_left_alone(void **state)
{
	(void)state;
	char name[64];
	struct agp_segment segment;
	bool tsc = make("old", &segment, name, sizeof(name));
	struct agp_shm_header *header = agp_segment_header(&segment);
	header->abi_minor = 0;
	memset(&header->clock_published, 0, sizeof(header->clock_published));
	memset(header->clock_source_name, 0, sizeof(header->clock_source_name));
	agp_segment_detach(&segment);
	assert_int_equal(agp_segment_attach(name, &segment), 0);
	struct agp_clock_service *service;
	assert_int_equal(agp_clock_service_open(&segment, -1, &service), 0);
	assert_int_equal(agp_clock_service_start(service), 0);
	struct agp_clock_status status;
	agp_clock_service_status(service, &status);
	assert_false(status.disciplined);
	if (tsc)
		assert_string_equal(status.reason,
		                    "calibrated once by an ABI 2.0 creator, not re-anchored");
	assert_null(segment.clock.published);
	drop(&segment, name, service);

	setenv("AGENTPERF_CLOCK", "monotonic", 1);
	agp_test_name(name, sizeof(name), "mono");
	assert_int_equal(agp_segment_create(name, &small_layout, &segment), 0);
	unsetenv("AGENTPERF_CLOCK");
	assert_int_equal(agp_clock_service_open(&segment, -1, &service), 0);
	assert_int_equal(agp_clock_service_start(service), 0);
	agp_clock_service_status(service, &status);
	assert_false(status.disciplined);
	assert_string_equal(status.clock, "monotonic");
	assert_string_equal(status.reason, "AGENTPERF_CLOCK=monotonic at segment creation");
	drop(&segment, name, service);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_own_copy),
	    cmocka_unit_test(test_thread_reanchors_the_header),
	    cmocka_unit_test(test_far_off_is_recalibrated),
	    cmocka_unit_test(test_left_alone),
	};
	return cmocka_run_group_tests(tests, NULL, agp_test_cleanup);
}
