/*
 * agp_series_retained_bytes (collector/drain/series_memory.h), with an
 * injected clock: after each rotation it equals the footprint of the
 * retained windows' encodings computed independently (the same values
 * recorded into a dense histogram of our own and encoded), it stops growing
 * once the ring of closed windows is full, and it falls back to 0 once empty
 * windows have pushed every retained one out.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "collector/drain/series.h"
#include "collector/drain/series_memory.h"
#include "hdr/histogram.h"
#include "hdr/sparse.h"

#define SECOND   1000000000ull
#define CAPACITY 4

static const struct agp_series_params params = {
    .lowest = 1,
    .highest = 3600ll * 1000 * 1000 * 1000,
    .significant_figures = 3,
    .window_ns = 10 * SECOND,
    .window_capacity = CAPACITY,
};

/* What window k holds: 3000 values (past the staging array) spread by k. */
static int64_t value(uint64_t k, int i)
{
	return 1000 + (int64_t)((uint64_t)i * 2654435761u % (100000 * (k + 1)));
}

/* The footprint of window k's encoding, from our own dense histogram. */
static uint64_t expected_footprint(uint64_t k)
{
	struct agp_hdr *dense;
	assert_int_equal(agp_hdr_create(params.lowest, params.highest, 3, &dense), 0);
	for (int i = 0; i < 3000; i++)
		agp_hdr_record(dense, value(k, i));
	struct agp_sparse_hist *encoded;
	assert_int_equal(agp_sparse_hist_encode(dense, &encoded), 0);
	uint64_t footprint = agp_sparse_hist_footprint(encoded);
	agp_sparse_hist_unref(encoded);
	agp_hdr_destroy(dense);
	return footprint;
}

static void retained_bytes_follow_the_windows(void **state)
{
	(void)state;
	struct agp_series_table table;
	uint64_t t0 = 1000 * SECOND;
	assert_int_equal(agp_series_table_init(&table, &params, t0), 0);
	struct agp_series *series =
	    agp_series_get(&table, "worker", "", 0, AGP_UNIT_NANOSECONDS, "m", 0);
	assert_non_null(series);
	assert_int_equal(agp_series_retained_bytes(&table), 0);

	uint64_t footprints[8] = {0};
	for (uint64_t k = 0; k < 8; k++) {
		uint64_t now = t0 + k * params.window_ns + SECOND;
		assert_true(agp_series_table_rotate(&table, now) >= 0);
		for (int i = 0; i < 3000; i++)
			agp_series_record(&table, series, value(k, i), now);
		footprints[k] = expected_footprint(k);
		assert_int_equal(agp_series_table_rotate(&table, now + params.window_ns), 1);
		/* Retained: windows max(0, k - CAPACITY + 1) .. k. */
		uint64_t expected = 0;
		for (uint64_t j = k + 1 > CAPACITY ? k + 1 - CAPACITY : 0; j <= k; j++)
			expected += footprints[j];
		assert_int_equal(agp_series_retained_bytes(&table), expected);
	}
	/* Empty windows push the retained ones out. */
	for (uint64_t k = 9; k < 9 + CAPACITY; k++)
		assert_int_equal(
		    agp_series_table_rotate(&table, t0 + k * params.window_ns + SECOND), 1);
	assert_int_equal(agp_series_retained_bytes(&table), 0);
	agp_series_table_destroy(&table);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(retained_bytes_follow_the_windows),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
