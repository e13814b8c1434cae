/* Performance levels: each band boundary, scaling with the threshold, unknown. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <string.h>

#include "collector/config/config.h"
#include "collector/analysis/level.h"

#define MS 1e6

static void test_default_bands_are_the_seed(void **state)
{
	(void)state;
	struct agp_config cfg;
	agp_config_defaults(&cfg);
	struct agp_level_bands b;
	agp_level_bands_from_config(&cfg, &b);
	assert_true(b.excellent_below_ns == 100 * MS);
	assert_true(b.good_below_ns == 150 * MS);
	assert_true(b.acceptable_below_ns == 200 * MS);
	assert_true(b.poor_below_ns == 300 * MS);

	/* Each boundary belongs to the worse level; a nanosecond below it to the better one. */
	const struct {
		double avg_ns;
		const char *name;
	} cases[] = {
	    {0, "excellent"},
	    {1, "excellent"},
	    {100 * MS - 1, "excellent"},
	    {100 * MS, "good"},
	    {150 * MS - 1, "good"},
	    {150 * MS, "acceptable"},
	    {200 * MS - 1, "acceptable"},
	    {200 * MS, "poor"},
	    {300 * MS - 1, "poor"},
	    {300 * MS, "critical"},
	    {1e15, "critical"},
	    {INFINITY, "critical"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *got = agp_level_name(agp_level_classify(&b, 10, cases[i].avg_ns));
		if (strcmp(got, cases[i].name) != 0) {
			print_error("average %.0f ns: got %s, want %s\n", cases[i].avg_ns, got,
			            cases[i].name);
			fail();
		}
	}
}

static void test_unknown_without_samples(void **state)
{
	(void)state;
	struct agp_level_bands b;
	agp_level_bands_from_critical_ms(200, &b);
	assert_int_equal(agp_level_classify(&b, 0, 0), AGP_LEVEL_UNKNOWN);
	assert_int_equal(agp_level_classify(&b, 0, 50 * MS), AGP_LEVEL_UNKNOWN);
	assert_int_equal(agp_level_classify(&b, 5, NAN), AGP_LEVEL_UNKNOWN);
	assert_string_equal(agp_level_name(AGP_LEVEL_UNKNOWN), "unknown");
	assert_int_equal(agp_level_classify(&b, 1, 50 * MS), AGP_LEVEL_EXCELLENT);
}

static void test_scaling_with_threshold(void **state)
{
	(void)state;
	/* The production preset's critical 150 ms: bands 75 / 112.5 / 150 / 225 ms. */
	struct agp_config cfg;
	agp_config_defaults(&cfg);
	assert_int_equal(agp_config_preset(&cfg, "production", NULL, 0), 0);
	struct agp_level_bands b;
	agp_level_bands_from_config(&cfg, &b);
	assert_true(b.excellent_below_ns == 75 * MS);
	assert_true(b.good_below_ns == 112.5 * MS);
	assert_true(b.acceptable_below_ns == 150 * MS);
	assert_true(b.poor_below_ns == 225 * MS);
	assert_int_equal(agp_level_classify(&b, 3, 80 * MS), AGP_LEVEL_GOOD);
	assert_int_equal(agp_level_classify(&b, 3, 74 * MS), AGP_LEVEL_EXCELLENT);
	assert_int_equal(agp_level_classify(&b, 3, 160 * MS), AGP_LEVEL_POOR);
	assert_int_equal(agp_level_classify(&b, 3, 225 * MS), AGP_LEVEL_CRITICAL);

	/* A relaxed 1 s threshold: 400 ms is excellent, 1.4 s poor. */
	agp_level_bands_from_critical_ms(1000, &b);
	assert_int_equal(agp_level_classify(&b, 3, 400 * MS), AGP_LEVEL_EXCELLENT);
	assert_int_equal(agp_level_classify(&b, 3, 700 * MS), AGP_LEVEL_GOOD);
	assert_int_equal(agp_level_classify(&b, 3, 999 * MS), AGP_LEVEL_ACCEPTABLE);
	assert_int_equal(agp_level_classify(&b, 3, 1400 * MS), AGP_LEVEL_POOR);
	assert_int_equal(agp_level_classify(&b, 3, 1500 * MS), AGP_LEVEL_CRITICAL);
}

static void test_names_round_trip(void **state)
{
	(void)state;
	const char *names[] = {"unknown", "excellent", "good", "acceptable", "poor", "critical"};
	for (int i = 0; i < 6; i++) {
		assert_string_equal(agp_level_name((enum agp_level)i), names[i]);
		enum agp_level level = AGP_LEVEL_CRITICAL;
		assert_int_equal(agp_level_from_name(names[i], &level), 0);
		assert_int_equal(level, i);
	}
	enum agp_level level = AGP_LEVEL_GOOD;
	assert_int_equal(agp_level_from_name("EXCELLENT", &level), -EINVAL);
	assert_int_equal(level, AGP_LEVEL_GOOD);
	assert_string_equal(agp_level_name((enum agp_level)42), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_default_bands_are_the_seed),
	    cmocka_unit_test(test_unknown_without_samples),
	    cmocka_unit_test(test_scaling_with_threshold),
	    cmocka_unit_test(test_names_round_trip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
