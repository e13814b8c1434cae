/*
 * ISO 8601 times as the JSON outputs write and baseline.json is read
 * (common/json_values.h): to the microsecond, zones and offsets, digits
 * beyond the sixth cut, times before 1970, and the millisecond forms agree.
 * Witness: Unix times of known dates (date -u -d '2024-01-15T10:30:00Z' +%s
 * is 1705314600).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "common/json_values.h"

#define JAN_15_2024_1030 1705314600ll /* 2024-01-15T10:30:00Z */

static int64_t parse_us(const char *text)
{
	int64_t us = 0;
	if (agp_parse_iso8601_us(text, &us) != 0)
		fail_msg("'%s' does not parse", text);
	return us;
}

static void microseconds_are_kept(void **state)
{
	(void)state;
	assert_int_equal(parse_us("2024-01-15T10:30:00.123456+00:00"),
	                 JAN_15_2024_1030 * 1000000 + 123456);
	assert_int_equal(parse_us("2024-01-15T10:30:00.123456Z"),
	                 JAN_15_2024_1030 * 1000000 + 123456);
	assert_int_equal(parse_us("2024-01-15T12:30:00.5+02:00"),
	                 JAN_15_2024_1030 * 1000000 + 500000);
	assert_int_equal(parse_us("2024-01-15T10:30:00+00:00"), JAN_15_2024_1030 * 1000000);
	/* Beyond the microsecond the digits are cut, not rounded. */
	assert_int_equal(parse_us("2024-01-15T10:30:00.1234569Z"),
	                 JAN_15_2024_1030 * 1000000 + 123456);

	char text[64];
	agp_format_iso8601_us(JAN_15_2024_1030 * 1000000 + 123456, text, sizeof(text));
	assert_string_equal(text, "2024-01-15T10:30:00.123456+00:00");
	/* Before 1970: the fraction still counts forwards from the second below. */
	agp_format_iso8601_us(-1, text, sizeof(text));
	assert_string_equal(text, "1969-12-31T23:59:59.999999+00:00");
	assert_int_equal(parse_us(text), -1);
}

static void milliseconds_agree(void **state)
{
	(void)state;
	int64_t ms = 0;
	assert_int_equal(agp_parse_iso8601("2024-01-15T10:30:00.123456+00:00", &ms), 0);
	assert_int_equal(ms, JAN_15_2024_1030 * 1000 + 123);
	assert_int_equal(agp_parse_iso8601("1969-12-31T23:59:59.999999+00:00", &ms), 0);
	assert_int_equal(ms, -1); /* towards the past, as the digits are cut */
	char text[64];
	agp_format_iso8601(JAN_15_2024_1030 * 1000 + 7, text, sizeof(text));
	assert_string_equal(text, "2024-01-15T10:30:00.007000+00:00");
}

static void naive_times_are_local(void **state)
{
	(void)state;
	setenv("TZ", "UTC+3", 1); /* POSIX: three hours behind UTC */
	tzset();
	assert_int_equal(parse_us("2024-01-15T07:30:00.000001"), JAN_15_2024_1030 * 1000000 + 1);
	unsetenv("TZ");
	tzset();
}

static void bad_times_are_refused(void **state)
{
	(void)state;
	int64_t us;
	const char *const bad[] = {"yesterday", "2024-01-15T10:30:00.", "2024-01-15T10:30:00+2",
	                           "2024-01-15T10:30:00Zjunk", "2024-01-15"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (agp_parse_iso8601_us(bad[i], &us) != -EINVAL)
			fail_msg("'%s' was accepted", bad[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(microseconds_are_kept),
	    cmocka_unit_test(milliseconds_agree),
	    cmocka_unit_test(naive_times_are_local),
	    cmocka_unit_test(bad_times_are_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
