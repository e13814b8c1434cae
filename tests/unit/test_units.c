/*
 * The units module: each view's name and divisor, the seed conversions, and
 * that every figure is the same double as the expressions the five call sites
 * used before the module (their formulas are the witness here).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <string.h>

#include "common/units.h"

#include <agentperf/metrics.h>

static const enum agp_unit all_units[] = {AGP_UNIT_NANOSECONDS, AGP_UNIT_BYTES, AGP_UNIT_COUNT};

/* Wire values that exercise rounding: odd, large, fractional after division. */
static const double wire_values[] = {0, 1, 999, 1500000, 123456789, 1048577, 3e15, 9.1e18};

static void test_names_per_view(void **state)
{
	(void)state;
	assert_string_equal(agp_unit_display_name(AGP_UNIT_NANOSECONDS), "ms");
	assert_string_equal(agp_unit_display_name(AGP_UNIT_BYTES), "MiB");
	assert_string_equal(agp_unit_display_name(AGP_UNIT_COUNT), "count");
	assert_string_equal(agp_unit_seed_name(AGP_UNIT_NANOSECONDS), "ms");
	assert_string_equal(agp_unit_seed_name(AGP_UNIT_BYTES), "MB");
	assert_string_equal(agp_unit_seed_name(AGP_UNIT_COUNT), "count");
	assert_string_equal(agp_unit_seed_suffix(AGP_UNIT_NANOSECONDS), "_ms");
	assert_string_equal(agp_unit_seed_suffix(AGP_UNIT_BYTES), "_mb");
	assert_string_equal(agp_unit_seed_suffix(AGP_UNIT_COUNT), "");
	assert_string_equal(agp_unit_prometheus_name(AGP_UNIT_NANOSECONDS), "seconds");
	assert_string_equal(agp_unit_prometheus_name(AGP_UNIT_BYTES), "bytes");
	assert_string_equal(agp_unit_prometheus_name(AGP_UNIT_COUNT), "");
}

static void test_unknown_unit_is_a_count(void **state)
{
	(void)state;
	enum agp_unit bad = (enum agp_unit)7;
	assert_string_equal(agp_unit_display_name(bad), "count");
	assert_string_equal(agp_unit_seed_name(bad), "count");
	assert_true(agp_unit_display_divisor(bad) == 1.0);
	assert_true(agp_unit_seed_divisor(bad) == 1.0);
	assert_true(agp_unit_prometheus_divisor(bad) == 1.0);
	assert_true(agp_unit_to_seed(bad, 42.0) == 42.0);
}

/* The control server's display_scale was 1e-6 / 1.0 / 1048576 / 1.0; clients multiply by it. */
static void test_display_scale_is_the_old_constant(void **state)
{
	(void)state;
	assert_true(1.0 / agp_unit_display_divisor(AGP_UNIT_NANOSECONDS) == 1e-6);
	assert_true(1.0 / agp_unit_display_divisor(AGP_UNIT_BYTES) == 1.0 / 1048576);
	assert_true(1.0 / agp_unit_display_divisor(AGP_UNIT_COUNT) == 1.0);
}

/* validation.c divided by 1e6 / 1048576.0; the alert sink by 1e6 and (1024.0 * 1024.0). */
static void test_seed_conversion_is_the_old_division(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(wire_values) / sizeof(wire_values[0]); i++) {
		double v = wire_values[i];
		assert_true(agp_unit_to_seed(AGP_UNIT_NANOSECONDS, v) == v / 1e6);
		assert_true(agp_unit_to_seed(AGP_UNIT_BYTES, v) == v / (1024.0 * 1024.0));
		assert_true(agp_unit_to_seed(AGP_UNIT_COUNT, v) == v);
		assert_true(v / agp_unit_seed_divisor(AGP_UNIT_BYTES) == v / 1048576.0);
	}
	assert_true(agp_unit_to_seed(AGP_UNIT_NANOSECONDS, 1500000) == 1.5);
	assert_true(agp_unit_to_seed(AGP_UNIT_BYTES, 512.0 * 1048576) == 512.0);
}

/* The config turned thresholds into wire units with llround(value * 1000000.0 or 1048576.0). */
static void test_from_seed_rounds_and_zero_is_none(void **state)
{
	(void)state;
	const double seed_values[] = {0.0000004, 0.0000005, 0.1, 1.5, 150, 1e9, 0.3333333};
	for (size_t i = 0; i < sizeof(seed_values) / sizeof(seed_values[0]); i++) {
		double s = seed_values[i];
		assert_true(agp_unit_from_seed(AGP_UNIT_NANOSECONDS, s) ==
		            (uint64_t)llround(s * 1000000.0));
		assert_true(agp_unit_from_seed(AGP_UNIT_BYTES, s) ==
		            (uint64_t)llround(s * 1048576.0));
	}
	assert_int_equal(agp_unit_from_seed(AGP_UNIT_NANOSECONDS, 150), 150000000);
	assert_int_equal(agp_unit_from_seed(AGP_UNIT_BYTES, 1), 1048576);
	assert_int_equal(agp_unit_from_seed(AGP_UNIT_COUNT, 2.5), 3);
	assert_int_equal(agp_unit_from_seed(AGP_UNIT_NANOSECONDS, 0), 0);
	assert_int_equal(agp_unit_from_seed(AGP_UNIT_NANOSECONDS, -5), 0);
}

/* The largest seed value converts without overflow (ms, MB) or loss (counts). */
static void test_seed_max_fits_the_wire(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(all_units) / sizeof(all_units[0]); i++) {
		double max = agp_unit_seed_max(all_units[i]);
		double wire = max * agp_unit_seed_divisor(all_units[i]);
		assert_true(wire < 18446744073709551616.0);
		assert_true(wire <= 9007199254740992.0 || all_units[i] != AGP_UNIT_COUNT);
	}
	assert_true(agp_unit_seed_max(AGP_UNIT_NANOSECONDS) == 1e9);
	assert_true(agp_unit_seed_max(AGP_UNIT_BYTES) == 1e9);
	assert_true(agp_unit_seed_max(AGP_UNIT_COUNT) == 9007199254740992.0);
}

/* prometheus.c scaled nanoseconds by 1e9 into seconds and left bytes and counts alone. */
static void test_prometheus_divisor(void **state)
{
	(void)state;
	assert_true(agp_unit_prometheus_divisor(AGP_UNIT_NANOSECONDS) == 1e9);
	assert_true(agp_unit_prometheus_divisor(AGP_UNIT_BYTES) == 1.0);
	assert_true(agp_unit_prometheus_divisor(AGP_UNIT_COUNT) == 1.0);
	assert_true(2500000000.0 / agp_unit_prometheus_divisor(AGP_UNIT_NANOSECONDS) == 2.5);
}

/* The wire names agree with libagentperf's agp_unit_name (shm/metrics.c) and parse back. */
static void test_wire_names_parse_back(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(all_units) / sizeof(all_units[0]); i++) {
		enum agp_unit parsed = (enum agp_unit)7;
		assert_string_equal(agp_unit_wire_name(all_units[i]), agp_unit_name(all_units[i]));
		assert_int_equal(agp_unit_parse(agp_unit_name(all_units[i]), &parsed), 0);
		assert_int_equal(parsed, all_units[i]);
	}
	enum agp_unit untouched = AGP_UNIT_BYTES;
	assert_int_equal(agp_unit_parse("ms", &untouched), -EINVAL);
	assert_int_equal(agp_unit_parse(NULL, &untouched), -EINVAL);
	assert_int_equal(untouched, AGP_UNIT_BYTES);
}

static void assert_formats(enum agp_unit unit, double wire, const char *expected)
{
	char text[AGP_UNIT_TEXT_MAX];
	int length = agp_unit_format(unit, wire, text, sizeof(text));
	if (strcmp(text, expected) != 0)
		fail_msg("agp_unit_format(%s, %.17g) = \"%s\", expected \"%s\"",
		         agp_unit_name(unit), wire, text, expected);
	assert_int_equal(length, (int)strlen(expected));
}

/* For people: each unit scaled to its magnitude; a rounded figure never reads 1000 (1024). */
static void test_format_for_people(void **state)
{
	(void)state;
	assert_formats(AGP_UNIT_NANOSECONDS, 850, "850 ns");
	assert_formats(AGP_UNIT_NANOSECONDS, 999.4, "999 ns");
	assert_formats(AGP_UNIT_NANOSECONDS, 999.5, "1.00 us");
	assert_formats(AGP_UNIT_NANOSECONDS, 12345, "12.35 us");
	assert_formats(AGP_UNIT_NANOSECONDS, 999994, "999.99 us");
	assert_formats(AGP_UNIT_NANOSECONDS, 999995, "1.00 ms");
	assert_formats(AGP_UNIT_NANOSECONDS, 250500000, "250.50 ms");
	assert_formats(AGP_UNIT_NANOSECONDS, 999995000, "1.000 s");
	assert_formats(AGP_UNIT_NANOSECONDS, 1500000000, "1.500 s");
	assert_formats(AGP_UNIT_NANOSECONDS, -2500, "-2.50 us");
	assert_formats(AGP_UNIT_BYTES, 512, "512 B");
	assert_formats(AGP_UNIT_BYTES, 1023.6, "1.0 KiB");
	assert_formats(AGP_UNIT_BYTES, 1536, "1.5 KiB");
	assert_formats(AGP_UNIT_BYTES, 1048576 - 52, "1023.9 KiB");
	assert_formats(AGP_UNIT_BYTES, 1048576 - 51, "1.0 MiB");
	assert_formats(AGP_UNIT_BYTES, 600.0 * 1048576, "600.0 MiB");
	assert_formats(AGP_UNIT_BYTES, 2.0 * 1073741824, "2.00 GiB");
	assert_formats(AGP_UNIT_COUNT, 42, "42");
	assert_formats(AGP_UNIT_COUNT, 0, "0");
	assert_formats(AGP_UNIT_COUNT, 1234567, "1234567");
	assert_formats(AGP_UNIT_COUNT, 42.25, "42.25");
	assert_formats((enum agp_unit)7, 42, "42");
	assert_formats(AGP_UNIT_NANOSECONDS, NAN, "-");
	assert_formats(AGP_UNIT_NANOSECONDS, INFINITY, "inf s");
	assert_formats(AGP_UNIT_BYTES, -INFINITY, "-inf GiB");
	/* The widest texts fit the documented room. */
	char text[AGP_UNIT_TEXT_MAX];
	assert_true(agp_unit_format(AGP_UNIT_NANOSECONDS, -9223372036854775807.0, text,
	                            sizeof(text)) < AGP_UNIT_TEXT_MAX);
	assert_true(agp_unit_format(AGP_UNIT_COUNT, -9223372036854775807.0, text, sizeof(text)) <
	            AGP_UNIT_TEXT_MAX);
}

static void assert_formats_seed(enum agp_unit unit, double wire, const char *expected)
{
	char text[AGP_UNIT_TEXT_MAX];
	agp_unit_format_seed(unit, wire, text, sizeof(text));
	if (strcmp(text, expected) != 0)
		fail_msg("agp_unit_format_seed(%s, %.17g) = \"%s\", expected \"%s\"",
		         agp_unit_name(unit), wire, text, expected);
}

/* The seed's alert line: ms and MB to the nanosecond's decimal, trailing zeros dropped; counts
 * plain. */
static void test_format_for_the_seed_line(void **state)
{
	(void)state;
	assert_formats_seed(AGP_UNIT_NANOSECONDS, 250500000, "250.5ms");
	assert_formats_seed(AGP_UNIT_NANOSECONDS, 250000000, "250.0ms");
	assert_formats_seed(AGP_UNIT_NANOSECONDS, 250500123, "250.500123ms");
	assert_formats_seed(AGP_UNIT_NANOSECONDS, 401, "0.000401ms");
	assert_formats_seed(AGP_UNIT_NANOSECONDS, 0, "0.0ms");
	assert_formats_seed(AGP_UNIT_BYTES, 600.0 * 1048576, "600.0MB");
	assert_formats_seed(AGP_UNIT_BYTES, 1572864, "1.5MB");
	assert_formats_seed(AGP_UNIT_COUNT, 42, "42");
	assert_formats_seed(AGP_UNIT_COUNT, 2.5, "2.5");
	assert_formats_seed(AGP_UNIT_COUNT, NAN, "-");
	char text[AGP_UNIT_TEXT_MAX];
	assert_true(agp_unit_format_seed(AGP_UNIT_NANOSECONDS, 9223372036854775807.0, text,
	                                 sizeof(text)) < AGP_UNIT_TEXT_MAX);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_names_per_view),
	    cmocka_unit_test(test_unknown_unit_is_a_count),
	    cmocka_unit_test(test_display_scale_is_the_old_constant),
	    cmocka_unit_test(test_seed_conversion_is_the_old_division),
	    cmocka_unit_test(test_from_seed_rounds_and_zero_is_none),
	    cmocka_unit_test(test_seed_max_fits_the_wire),
	    cmocka_unit_test(test_prometheus_divisor),
	    cmocka_unit_test(test_wire_names_parse_back),
	    cmocka_unit_test(test_format_for_people),
	    cmocka_unit_test(test_format_for_the_seed_line),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
