/*
 * Series windows with an injected clock: rotation, retention bound, expiry
 * of idle per-agent series, and compact window histograms that merge back
 * to exactly the counts and sums that were recorded.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "collector/hdr_histogram.h"
#include "collector/series.h"
#include "collector/sparse_hist.h"

#define SECOND 1000000000ull

static const struct agp_series_params params = {
    .lowest = 1,
    .highest = 3600ll * 1000 * 1000 * 1000,
    .significant_figures = 3,
    .window_ns = 10 * SECOND,
    .window_capacity = 6, /* one minute of 10 s windows */
};

static void sparse_round_trip_is_exact(void **state)
{
	(void)state;
	struct agp_hdr *original, *copy;
	assert_int_equal(agp_hdr_create(1, params.highest, 3, &original), 0);
	assert_int_equal(agp_hdr_create(1, params.highest, 3, &copy), 0);
	srand(7);
	for (int i = 0; i < 100000; i++)
		agp_hdr_record(original, (int64_t)(rand() % 1000000) * (rand() % 1000 + 1));
	agp_hdr_record(original, params.highest * 2); /* clamped */

	struct agp_sparse_hist *window;
	assert_int_equal(agp_sparse_hist_encode(original, &window), 0);
	assert_int_equal(agp_sparse_hist_merge_into(window, copy), 0);
	assert_int_equal(agp_hdr_count(copy), agp_hdr_count(original));
	assert_true(copy->sum == original->sum);
	assert_true(copy->sum_squares == original->sum_squares);
	assert_int_equal(agp_hdr_min(copy), agp_hdr_min(original));
	assert_int_equal(agp_hdr_max(copy), agp_hdr_max(original));
	assert_int_equal(agp_hdr_clamped(copy), 1);
	for (int32_t i = 0; i < original->cfg.counts_len; i++)
		if (copy->counts[i] != original->counts[i])
			fail_msg("counts differ at index %d: %lld != %lld", i,
			         (long long)copy->counts[i], (long long)original->counts[i]);
	/* Far fewer bytes than the dense counters. */
	assert_true(agp_sparse_hist_footprint(window) < agp_hdr_footprint(original) / 4);
	agp_sparse_hist_unref(window);
	agp_hdr_destroy(copy);
	agp_hdr_destroy(original);
}

static void windows_rotate_and_expire(void **state)
{
	(void)state;
	struct agp_series_table table;
	uint64_t t0 = 1000 * SECOND;
	assert_int_equal(agp_series_table_init(&table, &params, t0), 0);
	struct agp_series *series =
	    agp_series_get(&table, "worker", "", 0, AGP_UNIT_NANOSECONDS, "m", 0);
	assert_non_null(series);

	/* Ten windows, window k gets k + 1 samples of value (k + 1) * 1000. */
	for (uint64_t k = 0; k < 10; k++) {
		uint64_t now = t0 + k * params.window_ns + SECOND;
		assert_int_equal(agp_series_table_rotate(&table, now), k == 0 ? 0 : 1);
		for (uint64_t i = 0; i <= k; i++)
			agp_series_record(&table, series, (int64_t)(k + 1) * 1000, now);
	}
	assert_int_equal(agp_series_table_rotate(&table, t0 + 10 * params.window_ns), 1);
	/* Only the capacity is kept: windows 4..9. */
	assert_int_equal(series->window_count, params.window_capacity);
	const struct agp_series_window *oldest = agp_series_window_at(&table, series, 0);
	assert_int_equal(oldest->start_ns, t0 + 4 * params.window_ns);
	struct agp_sparse_summary summary;
	assert_int_equal(agp_sparse_hist_summary(oldest->raw, &summary), 0);
	assert_int_equal(summary.total_count, 5);
	const struct agp_series_window *newest = agp_series_window_at(&table, series, 5);
	assert_int_equal(agp_sparse_hist_summary(newest->raw, &summary), 0);
	assert_int_equal(summary.total_count, 10);
	assert_int_equal(summary.min_value, 10000);
	assert_int_equal(summary.max_value, 10000);
	assert_int_equal(series->total_count, 55);
	agp_series_table_destroy(&table);
}

static void idle_gap_keeps_alignment_and_empty_windows_cost_nothing(void **state)
{
	(void)state;
	struct agp_series_table table;
	uint64_t t0 = 0;
	assert_int_equal(agp_series_table_init(&table, &params, t0), 0);
	struct agp_series *series =
	    agp_series_get(&table, "worker", "", 0, AGP_UNIT_NANOSECONDS, "m", 0);
	agp_series_record(&table, series, 5, 1);
	/* 35 s later: one window closes (with the sample), the open one starts at 30 s. */
	assert_int_equal(agp_series_table_rotate(&table, 35 * SECOND), 1);
	assert_int_equal(table.window_start_ns, 30 * SECOND);
	assert_int_equal(agp_series_table_rotate(&table, 41 * SECOND), 1);
	const struct agp_series_window *empty = agp_series_window_at(&table, series, 1);
	assert_null(empty->raw);
	agp_series_table_destroy(&table);
}

static void idle_agent_series_are_removed_after_retention(void **state)
{
	(void)state;
	struct agp_series_table table;
	assert_int_equal(agp_series_table_init(&table, &params, 0), 0);
	struct agp_series *by_type =
	    agp_series_get(&table, "worker", "", 0, AGP_UNIT_NANOSECONDS, "m", 0);
	struct agp_series *by_agent =
	    agp_series_get(&table, "worker", "w1", 0, AGP_UNIT_NANOSECONDS, "m", 0);
	agp_series_record(&table, by_type, 5, 1);
	agp_series_record(&table, by_agent, 5, 1);
	assert_int_equal(table.count, 2);
	uint64_t retention = params.window_ns * params.window_capacity;
	assert_true(agp_series_table_rotate(&table, retention / 2) > 0);
	assert_int_equal(table.count, 2);
	assert_true(agp_series_table_rotate(&table, retention + 2 * params.window_ns) > 0);
	/* The per-agent series went; the per-type one stays (bounded by its ring). */
	assert_int_equal(table.count, 1);
	assert_ptr_equal(agp_series_get(&table, "worker", "", 0, AGP_UNIT_NANOSECONDS, "m", 0),
	                 by_type);
	agp_series_table_destroy(&table);
}

static void corrected_twin_exists_only_with_an_interval(void **state)
{
	(void)state;
	struct agp_series_table table;
	assert_int_equal(agp_series_table_init(&table, &params, 0), 0);
	struct agp_series *plain =
	    agp_series_get(&table, "worker", "", 0, AGP_UNIT_NANOSECONDS, "a", 0);
	struct agp_series *corrected =
	    agp_series_get(&table, "worker", "", 1, AGP_UNIT_NANOSECONDS, "b", 1000);
	assert_null(plain->current_corrected);
	assert_non_null(corrected->current_corrected);
	/* A 10 us stall at a 1 us interval stands for the 9 samples it held back. */
	agp_series_record(&table, corrected, 10000, 1);
	assert_int_equal(corrected->window_count_open, 1);
	assert_int_equal(agp_hdr_count(corrected->current_corrected), 10);
	agp_series_table_destroy(&table);
}

static void staged_window_promotes_to_dense_without_losing_samples(void **state)
{
	(void)state;
	struct agp_series_table table;
	assert_int_equal(agp_series_table_init(&table, &params, 0), 0);
	struct agp_series *series =
	    agp_series_get(&table, "worker", "w", 0, AGP_UNIT_NANOSECONDS, "m", 0);
	for (int i = 1; i <= AGP_SERIES_STAGED_MAX; i++)
		agp_series_record(&table, series, i * 1000, 1);
	assert_null(series->current); /* still staged */
	struct agp_sparse_hist *staged, *none;
	assert_int_equal(agp_series_encode_open(&table, series, &staged, &none), 0);
	assert_null(none);
	for (int i = AGP_SERIES_STAGED_MAX + 1; i <= 2000; i++)
		agp_series_record(&table, series, i * 1000, 1);
	assert_non_null(series->current); /* promoted */
	assert_int_equal(agp_hdr_count(series->current), 2000);
	assert_int_equal(agp_series_table_rotate(&table, params.window_ns), 1);
	struct agp_sparse_summary summary;
	const struct agp_series_window *closed = agp_series_window_at(&table, series, 0);
	assert_int_equal(agp_sparse_hist_summary(closed->raw, &summary), 0);
	assert_int_equal(summary.total_count, 2000);
	assert_true(summary.sum == (unsigned __int128)2000 * 2001 / 2 * 1000);
	/* The staged encoding holds exactly the staged values. */
	assert_int_equal(agp_sparse_hist_summary(staged, &summary), 0);
	assert_int_equal(summary.total_count, AGP_SERIES_STAGED_MAX);
	assert_int_equal(summary.max_value, AGP_SERIES_STAGED_MAX * 1000);
	agp_sparse_hist_unref(staged);
	agp_series_table_destroy(&table);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(sparse_round_trip_is_exact),
	    cmocka_unit_test(windows_rotate_and_expire),
	    cmocka_unit_test(idle_gap_keeps_alignment_and_empty_windows_cost_nothing),
	    cmocka_unit_test(idle_agent_series_are_removed_after_retention),
	    cmocka_unit_test(corrected_twin_exists_only_with_an_interval),
	    cmocka_unit_test(staged_window_promotes_to_dense_without_losing_samples),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
