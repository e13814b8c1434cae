/*
 * The deployment clock: the discipline's arithmetic with injected readings
 * (a simulated TSC and a simulated CLOCK_MONOTONIC that the "kernel"
 * slews), the published conversion, the choice of clock, and segments of
 * ABI 2.0 (no published conversion).
 *
 * The witness of the simulation is the simulated CLOCK_MONOTONIC itself:
 * every millisecond of simulated time (and every 50 ns around each
 * re-anchor, where readers switch from the old conversion to the new one)
 * the converted clock is compared with it and with the previous reading.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/error.h"
#include "shm/clock.h"
#include "shm/segment.h"
#include "tests/support/test_util.h"

#define MS             1000000ull
#define S              (1000 * MS)
#define LIMIT_NS       50000 /* the discipline's promise: within 50 µs of CLOCK_MONOTONIC */
#define NOMINAL_GHZ_X4 12    /* the TSC's nominal rate: 3 GHz, in ticks per 4 ns */

static const struct agp_segment_layout small_layout = {4, 64, (gid_t)-1};

/*
 * The simulated machine. True time t (ns since the start); the TSC ticks
 * at 3 GHz x (1 + tsc_ppm); CLOCK_MONOTONIC runs at 1 + slew(t) where the
 * slew changes every slew_every_ns through the schedule, as the kernel
 * slews it for NTP (at most 500 ppm).
 */
struct machine {
	int64_t tsc_ppm;
	const int64_t *slew_ppm; /* schedule, cycled */
	size_t slews;
	uint64_t slew_every_ns;
};

static uint64_t machine_tsc(const struct machine *m, uint64_t t)
{
	/* 1e12 + t * 3 (1 + ppm): the TSC of a machine that has been up a while. */
	__int128 ticks = (__int128)t * 3 * (1000000 + m->tsc_ppm) / 1000000;
	return 1000000000000ull + (uint64_t)ticks;
}

static uint64_t machine_mono(const struct machine *m, uint64_t t)
{
	/* 5e11 + the integral of 1 + slew over [0, t]. */
	__int128 mono = 500000000000ll;
	uint64_t done = 0;
	for (size_t k = 0; done < t; k++) {
		uint64_t span = t - done < m->slew_every_ns ? t - done : m->slew_every_ns;
		int64_t ppm = m->slew_ppm[k % m->slews];
		mono += (__int128)span + (__int128)span * ppm / 1000000;
		done += span;
	}
	return (uint64_t)mono;
}

/* The creation calibration: nominal 3 GHz, anchored at t = 0 (so off by tsc_ppm). */
static struct agp_clock_line nominal_line(const struct machine *m, int64_t offset_ns)
{
	return (struct agp_clock_line){.base_tsc = machine_tsc(m, 0),
	                               .base_ns = machine_mono(m, 0) + (uint64_t)offset_ns,
	                               .mult =
	                                   (uint64_t)((4ull << AGP_CLOCK_SHIFT) / NOMINAL_GHZ_X4)};
}

struct run_result {
	int64_t worst_ns;      /* largest |converted - mono| after settling */
	int64_t worst_late_ns; /* the same over the last half of the run */
	uint64_t backwards;    /* readings earlier than the one before */
	uint64_t anchors;      /* re-anchors done */
	uint64_t settled_at;   /* true time of the first reading within LIMIT_NS */
	int64_t max_rate_ppm;  /* fastest slew of the converted clock against mono, per ms */
};

/* Simple deterministic lateness of the collector's wake-ups: 0 .. 4 ms. */
static uint64_t lateness(uint64_t *seed)
{
	*seed = *seed * 6364136223846793005ull + 1442695040888963407ull;
	return (*seed >> 33) % (4 * MS);
}

/*
 * Runs the discipline on machine m for duration_ns from an initial line
 * offset_ns off CLOCK_MONOTONIC. Each re-anchor is published publish_ns
 * after its reading; readers before that still use the old line.
 */
static struct run_result run(const struct machine *m, int64_t offset_ns, uint64_t duration_ns,
                             uint64_t stall_at, uint64_t stall_ns)
{
	struct agp_clock_discipline d;
	struct agp_clock_line line = nominal_line(m, offset_ns);
	agp_clock_discipline_init(&d, AGP_CLOCK_SHIFT, &line, AGP_CLOCK_REANCHOR_PERIOD_NS);
	struct run_result result = {.settled_at = UINT64_MAX};
	const uint64_t publish_ns = 2000; /* reading to publish: 2 µs */
	uint64_t seed = 42, last = 0, t = 0;
	uint64_t next_anchor = 0; /* the collector anchors once when it starts */
	uint64_t previous_mono = 0, previous_ours = 0;
	while (t < duration_ns) {
		if (t >= next_anchor) {
			struct agp_clock_line old = d.line;
			agp_clock_discipline_anchor(&d, machine_tsc(m, t), machine_mono(m, t));
			result.anchors++;
			assert_true(agp_clock_discipline_publishable(
			    &d, &old, machine_tsc(m, t + publish_ns)));
			/* Readers around the switch: old line until the publish, then the new one.
			 */
			for (uint64_t r = t; r < t + 4 * publish_ns; r += 50) {
				const struct agp_clock_line *in_force =
				    r < t + publish_ns ? &old : &d.line;
				uint64_t ours = agp_clock_line_convert(in_force, AGP_CLOCK_SHIFT,
				                                       machine_tsc(m, r));
				if (ours < last)
					result.backwards++;
				last = ours;
			}
			next_anchor = t + AGP_CLOCK_REANCHOR_PERIOD_NS + lateness(&seed);
			if (stall_ns && t >= stall_at &&
			    t < stall_at + AGP_CLOCK_REANCHOR_PERIOD_NS)
				next_anchor += stall_ns; /* the collector's thread held up */
		}
		t += MS;
		uint64_t mono = machine_mono(m, t);
		uint64_t ours = agp_clock_line_convert(&d.line, AGP_CLOCK_SHIFT, machine_tsc(m, t));
		if (ours < last)
			result.backwards++;
		last = ours;
		int64_t error = (int64_t)(ours - mono);
		int64_t magnitude = error < 0 ? -error : error;
		if (result.settled_at == UINT64_MAX && magnitude <= LIMIT_NS)
			result.settled_at = t;
		if (result.settled_at != UINT64_MAX && magnitude > result.worst_ns)
			result.worst_ns = magnitude;
		if (t > duration_ns / 2 && magnitude > result.worst_late_ns)
			result.worst_late_ns = magnitude;
		if (previous_mono) {
			int64_t rate =
			    ((int64_t)(ours - previous_ours) - (int64_t)(mono - previous_mono)) *
			    1000000 / (int64_t)(mono - previous_mono);
			if (rate > result.max_rate_ppm)
				result.max_rate_ppm = rate;
			if (-rate > result.max_rate_ppm)
				result.max_rate_ppm = -rate;
		}
		previous_mono = mono;
		previous_ours = ours;
	}
	return result;
}

static const int64_t slews_up_first[] = {0, 500, 0, -500};
static const int64_t slews_down_first[] = {-500, 0, 500, 0, 500};

/*
 * The case: a TSC 200 ppm off its calibration, a CLOCK_MONOTONIC
 * the kernel slews by 500 ppm on and off every 10 s: within 50 µs from the
 * first reading on, and never backwards.
 */
static void test_discipline_follows_slewed_monotonic(void **state)
{
	(void)state;
	const int64_t tsc_ppm[] = {200, -200};
	const struct {
		const int64_t *slews;
		size_t count;
	} schedules[] = {{slews_up_first, 4}, {slews_down_first, 5}};
	for (size_t a = 0; a < 2; a++)
		for (size_t b = 0; b < 2; b++) {
			struct machine m = {tsc_ppm[a], schedules[b].slews, schedules[b].count,
			                    10 * S};
			struct run_result r = run(&m, 0, 120 * S, 0, 0);
			print_message("tsc %+lld ppm, schedule %zu: worst %lld ns over %llu "
			              "re-anchors\n",
			              (long long)m.tsc_ppm, b, (long long)r.worst_ns,
			              (unsigned long long)r.anchors);
			assert_int_equal(r.settled_at, MS); /* the very first reading */
			assert_true(r.worst_ns <= LIMIT_NS);
			assert_int_equal(r.backwards, 0);
			assert_true(r.anchors >= 120 * S / (AGP_CLOCK_REANCHOR_PERIOD_NS + 4 * MS));
		}
}

/* The witness that the simulation can fail: without re-anchors the same machine drifts off. */
static void test_without_reanchor_it_drifts(void **state)
{
	(void)state;
	struct machine m = {200, slews_up_first, 4, 10 * S};
	struct agp_clock_line line = nominal_line(&m, 0);
	uint64_t t = 1 * S;
	int64_t error =
	    (int64_t)(agp_clock_line_convert(&line, AGP_CLOCK_SHIFT, machine_tsc(&m, t)) -
	              machine_mono(&m, t));
	assert_true(error > 150000); /* 200 µs after 1 s at 200 ppm */
}

/* A collector held up for half a second while the rate is steady stays within bounds. */
static void test_late_reanchor(void **state)
{
	(void)state;
	static const int64_t steady[] = {300};
	struct machine m = {-200, steady, 1, 1000 * S};
	struct run_result r = run(&m, 0, 20 * S, 5 * S, 500 * MS);
	assert_true(r.worst_ns <= LIMIT_NS);
	assert_int_equal(r.backwards, 0);
}

/*
 * At a steady rate the measured rate takes over: the offset shrinks to the
 * rounding, instead of the 700 ppm x 2 periods that steering alone would
 * leave standing.
 */
static void test_steady_rate_is_measured(void **state)
{
	(void)state;
	static const int64_t steady[] = {500};
	struct machine m = {-200, steady, 1, 1000 * S};
	struct run_result r = run(&m, 0, 10 * S, 0, 0);
	print_message("steady 700 ppm apart: worst %lld ns, %lld ns over the last 5 s\n",
	              (long long)r.worst_ns, (long long)r.worst_late_ns);
	assert_true(r.worst_late_ns <= 1000);
}

/*
 * Far off at the start (a segment nobody re-anchored for a long time):
 * 5 ms behind is stepped forward at once; 5 ms ahead is slewed out, never
 * faster than the bound, and never backwards.
 */
static void test_far_off_steps_forward_or_slews(void **state)
{
	(void)state;
	static const int64_t none[] = {0};
	struct machine m = {0, none, 1, 1000 * S};
	struct run_result behind = run(&m, -5 * (int64_t)MS, 2 * S, 0, 0);
	assert_int_equal(behind.settled_at, MS);
	assert_int_equal(behind.backwards, 0);

	struct run_result ahead = run(&m, 5 * (int64_t)MS, 20 * S, 0, 0);
	assert_int_equal(ahead.backwards, 0);
	/* 5 ms at 1000 ppm: 5 s, and a little more for the half-per-period steering. */
	assert_true(ahead.settled_at > 4 * S);
	assert_true(ahead.settled_at < 8 * S);
	assert_true(ahead.worst_ns <= LIMIT_NS);
	assert_true(ahead.max_rate_ppm <= AGP_CLOCK_SLEW_MAX_PPM + 5); /* + rounding of ns per ms */
}

/* Random lines and anchors: the new line never reads below the old where readers switch. */
static void test_continuity_covers_rounding(void **state)
{
	(void)state;
	uint64_t seed = 7;
	for (int i = 0; i < 20000; i++) {
		uint64_t jitter = lateness(&seed);
		struct agp_clock_line line = {.base_tsc = 1000000 + jitter,
		                              .base_ns = 77777 + jitter * 3,
		                              .mult = (1ull << 31) + jitter * 7};
		struct agp_clock_discipline d;
		agp_clock_discipline_init(&d, AGP_CLOCK_SHIFT, &line, AGP_CLOCK_REANCHOR_PERIOD_NS);
		uint64_t tsc = line.base_tsc + 100000000 + lateness(&seed);
		/* An offset of a few µs either way: both a faster and a slower next line. */
		uint64_t mono = agp_clock_line_convert(&line, AGP_CLOCK_SHIFT, tsc) + 20000 -
		                lateness(&seed) / 100;
		agp_clock_discipline_anchor(&d, tsc, mono);
		for (uint64_t r = tsc; r < tsc + 4000; r++) {
			uint64_t old = agp_clock_line_convert(&line, AGP_CLOCK_SHIFT, r);
			uint64_t next = agp_clock_line_convert(&d.line, AGP_CLOCK_SHIFT, r);
			if (next < old)
				fail_msg("case %d: at tsc %llu the new line reads %llu < old %llu",
				         i, (unsigned long long)r, (unsigned long long)next,
				         (unsigned long long)old);
		}
	}
}

/* A slower line anchored ahead may not be published once its anchor has passed. */
static void test_publishable(void **state)
{
	(void)state;
	struct agp_clock_line line = {1000, 1000, 1ull << 32};
	struct agp_clock_discipline d;
	agp_clock_discipline_init(&d, AGP_CLOCK_SHIFT, &line, AGP_CLOCK_REANCHOR_PERIOD_NS);
	/* Converted ahead: the next line is slower, anchored 1 ms (1e6 ticks) ahead. */
	agp_clock_discipline_anchor(&d, 1000000, 990000);
	assert_true(d.line.mult < line.mult);
	assert_int_equal(d.line.base_tsc, 1000000 + 1000000);
	assert_true(agp_clock_discipline_publishable(&d, &line, 1000000 + 999999));
	assert_false(agp_clock_discipline_publishable(&d, &line, 1000000 + 1000000));
}

/* Publishing: double-buffered, the count never 0, read back whole. */
static void test_publish_and_read(void **state)
{
	(void)state;
	struct agp_shm_clock_published published;
	memset(&published, 0, sizeof(published));
	published.shift = AGP_CLOCK_SHIFT;
	atomic_store(&published.sequence, 1);
	struct agp_clock_line a = {10, 20, 30}, b = {40, 50, 60};
	agp_clock_publish(&published, &a);
	assert_int_equal(atomic_load(&published.sequence), 2);
	agp_clock_publish(&published, &b);
	assert_int_equal(atomic_load(&published.sequence), 3);
	struct agp_clock_line read = agp_clock_published_line(&published);
	assert_memory_equal(&read, &b, sizeof(b));
	/* The other buffer still holds a, untouched by the publish of b. */
	assert_int_equal(atomic_load(&published.conversion[0].base_ns), 20);

	atomic_store(&published.sequence, UINT32_MAX);
	agp_clock_publish(&published, &a);
	assert_int_equal(atomic_load(&published.sequence), 2); /* 0 means absent: skipped */
	read = agp_clock_published_line(&published);
	assert_memory_equal(&read, &a, sizeof(a));
}

static void write_file(const char *path, const char *text)
{
	FILE *file = fopen(path, "w");
	assert_non_null(file);
	fputs(text, file);
	fclose(file);
}

/* The TSC only where the kernel keeps time with it. */
static void test_choose_source(void **state)
{
	(void)state;
	char path[128], name[AGP_CLOCK_SOURCE_NAME_MAX + 1], reason[128];
	snprintf(path, sizeof(path), "/tmp/agp-clocksource-%ld", (long)getpid());
	write_file(path, "tsc\n");
	assert_int_equal(agp_clock_choose_source(path, false, true, name), AGP_CLOCK_SOURCE_TSC);
	assert_string_equal(name, "tsc");
	assert_int_equal(agp_clock_choose_source(path, true, true, name),
	                 AGP_CLOCK_SOURCE_FORCED_MONOTONIC);
	assert_int_equal(agp_clock_choose_source(path, false, false, name),
	                 AGP_CLOCK_SOURCE_NO_TSC);
	write_file(path, "kvm-clock\n");
	assert_int_equal(agp_clock_choose_source(path, false, true, name),
	                 AGP_CLOCK_SOURCE_KERNEL_NOT_TSC);
	assert_string_equal(name, "kvm-clock");
	agp_clock_source_reason(AGP_CLOCK_SOURCE_KERNEL_NOT_TSC, name, reason, sizeof(reason));
	assert_string_equal(reason, "kernel clocksource kvm-clock, not tsc");
	unlink(path);
	assert_int_equal(agp_clock_choose_source(path, false, true, name),
	                 AGP_CLOCK_SOURCE_KERNEL_UNKNOWN);
	assert_string_equal(name, "");
}

/* AGENTPERF_CLOCK: monotonic forces the fallback, auto is the default, anything else refused. */
static void test_clock_variable(void **state)
{
	(void)state;
	char name[64];
	agp_test_name(name, sizeof(name), "clockvar");
	struct agp_segment segment;
	setenv("AGENTPERF_CLOCK", "tsc-please", 1);
	assert_int_equal(agp_segment_create(name, &small_layout, &segment), -EINVAL);
	assert_message_contains(agp__error_message(), "AGENTPERF_CLOCK");
	assert_message_contains(agp__error_message(), "tsc-please");
	assert_int_equal(agp_segment_attach(name, &segment), -ENOENT); /* nothing left behind */

	setenv("AGENTPERF_CLOCK", "monotonic", 1);
	assert_int_equal(agp_segment_create(name, &small_layout, &segment), 0);
	assert_int_equal(segment.clock.use_tsc, 0);
	assert_int_equal(agp_segment_header(&segment)->clock_published.source,
	                 AGP_CLOCK_SOURCE_FORCED_MONOTONIC);
	agp_segment_detach(&segment);
	agp_segment_unlink(name);

	setenv("AGENTPERF_CLOCK", "auto", 1);
	assert_int_equal(agp_segment_create(name, &small_layout, &segment), 0);
	char kernel[AGP_CLOCK_SOURCE_NAME_MAX + 1];
	enum agp_clock_source expected =
	    agp_clock_choose_source(AGP_KERNEL_CLOCKSOURCE_PATH, false, AGP_HAVE_TSC, kernel);
	const struct agp_shm_header *header = agp_segment_header(&segment);
	if (expected != AGP_CLOCK_SOURCE_NO_TSC) /* the CPUID bit may still say no */
		assert_string_equal(header->clock_source_name, kernel);
	assert_int_equal(segment.clock.use_tsc,
	                 header->clock_published.source == AGP_CLOCK_SOURCE_TSC);
	if (expected != AGP_CLOCK_SOURCE_TSC)
		assert_int_equal(segment.clock.use_tsc, 0);
	agp_segment_detach(&segment);
	agp_segment_unlink(name);
	unsetenv("AGENTPERF_CLOCK");
}

/*
 * A segment of an ABI 2.0 creator (no published block, minor 0) is read
 * with its creation calibration, as a 2.0 reader reads it; and a 2.0 reader
 * of a 2.1 segment finds that calibration in header->clock.
 */
static void test_abi_2_0_segment(void **state)
{
	(void)state;
	char name[64];
	agp_test_name(name, sizeof(name), "abi20");
	unsetenv("AGENTPERF_CLOCK");
	struct agp_segment created, attached;
	assert_int_equal(agp_segment_create(name, &small_layout, &created), 0);
	struct agp_shm_header *header = agp_segment_header(&created);
	struct agp_clock_line first = agp_clock_published_line(&header->clock_published);
	assert_int_equal(header->clock.mult, first.mult);
	assert_int_equal(header->clock.base_ns, first.base_ns);
	assert_int_equal(header->clock.base_tsc, first.base_tsc);

	header->abi_minor = 0;
	memset(&header->clock_published, 0, sizeof(header->clock_published));
	memset(header->clock_source_name, 0, sizeof(header->clock_source_name));
	assert_int_equal(agp_segment_attach(name, &attached), 0);
	assert_null(attached.clock.published);
	assert_int_equal(attached.clock.use_tsc, header->clock.use_tsc);
	uint64_t before = agp_monotonic_ns(), ours = agp_clock_read(&attached.clock),
	         after = agp_monotonic_ns();
	assert_true(ours + MS > before && ours < after + MS);
	agp_segment_detach(&attached);
	agp_segment_detach(&created);
	agp_segment_unlink(name);
}

/* A published block that contradicts the 2.0 fields is refused, naming the field. */
static void test_refuse_bad_published(void **state)
{
	(void)state;
	char name[64];
	agp_test_name(name, sizeof(name), "badpub");
	unsetenv("AGENTPERF_CLOCK");
	struct agp_segment created, attached;
	assert_int_equal(agp_segment_create(name, &small_layout, &created), 0);
	struct agp_shm_header *header = agp_segment_header(&created);
	header->clock_published.source = 99;
	assert_int_equal(agp_segment_attach(name, &attached), -EPROTO);
	assert_message_contains(agp__error_message(), "clock_published.source is 99");
	header->clock_published.source =
	    header->clock.use_tsc ? AGP_CLOCK_SOURCE_TSC : AGP_CLOCK_SOURCE_NO_TSC;
	header->clock_published.shift = AGP_CLOCK_SHIFT + 1;
	assert_int_equal(agp_segment_attach(name, &attached), -EPROTO);
	assert_message_contains(agp__error_message(), "clock_published.shift");
	agp_segment_detach(&created);
	agp_segment_unlink(name);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_discipline_follows_slewed_monotonic),
	    cmocka_unit_test(test_without_reanchor_it_drifts),
	    cmocka_unit_test(test_late_reanchor),
	    cmocka_unit_test(test_steady_rate_is_measured),
	    cmocka_unit_test(test_far_off_steps_forward_or_slews),
	    cmocka_unit_test(test_continuity_covers_rounding),
	    cmocka_unit_test(test_publishable),
	    cmocka_unit_test(test_publish_and_read),
	    cmocka_unit_test(test_choose_source),
	    cmocka_unit_test(test_clock_variable),
	    cmocka_unit_test(test_abi_2_0_segment),
	    cmocka_unit_test(test_refuse_bad_published),
	};
	return cmocka_run_group_tests(tests, NULL, agp_test_cleanup);
}
