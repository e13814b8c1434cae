/*
 * Series windows with an injected clock: rotation, retention bound, expiry
 * of idle per-agent series, placement by timestamp and amendments of closed
 * windows, compact window histograms that merge back to
 * exactly the counts and sums that were recorded, and (agent type, metric)
 * windows derived from their agents' windows.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include "hdr/histogram.h"
#include "collector/drain/series.h"
#include "collector/drain/snapshot.h"
#include "hdr/sparse.h"

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
	assert_int_equal(agp_series_table_count(&table), 2);
	uint64_t retention = params.window_ns * params.window_capacity;
	assert_true(agp_series_table_rotate(&table, retention / 2) > 0);
	assert_int_equal(agp_series_table_count(&table), 2);
	assert_true(agp_series_table_rotate(&table, retention + 2 * params.window_ns) > 0);
	/* The per-agent series went; the per-type one stays (bounded by its ring). */
	assert_int_equal(agp_series_table_count(&table), 1);
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

static void assert_same_histogram(const struct agp_hdr *got, const struct agp_hdr *want)
{
	assert_int_equal(agp_hdr_count(got), agp_hdr_count(want));
	assert_true(got->sum == want->sum);
	assert_true(got->sum_squares == want->sum_squares);
	assert_int_equal(agp_hdr_min(got), agp_hdr_min(want));
	assert_int_equal(agp_hdr_max(got), agp_hdr_max(want));
	assert_int_equal(agp_hdr_clamped(got), agp_hdr_clamped(want));
	for (int32_t i = 0; i < want->cfg.counts_len; i++)
		if (got->counts[i] != want->counts[i])
			fail_msg("counts differ at index %d: %lld != %lld", i,
			         (long long)got->counts[i], (long long)want->counts[i]);
}

/*
 * Records as the drain thread does: every sample into its agent's series
 * and its type's. Agent w2 outgrows the staging array (dense), w3 has no
 * sample in the window, and an agent of another type shares the metric.
 */
static void type_window_is_the_sum_of_its_agents_windows(void **state)
{
	(void)state;
	const uint64_t interval = 1000000;
	struct agp_series_table table;
	assert_int_equal(agp_series_table_init(&table, &params, 0), 0);
	struct agp_series *type =
	    agp_series_get(&table, "worker", "", 3, AGP_UNIT_NANOSECONDS, "m", interval);
	struct agp_series *other_type =
	    agp_series_get(&table, "other", "", 3, AGP_UNIT_NANOSECONDS, "m", interval);
	struct agp_series *agents[4] = {
	    agp_series_get(&table, "worker", "w1", 3, AGP_UNIT_NANOSECONDS, "m", interval),
	    agp_series_get(&table, "worker", "w2", 3, AGP_UNIT_NANOSECONDS, "m", interval),
	    agp_series_get(&table, "worker", "w3", 3, AGP_UNIT_NANOSECONDS, "m", interval),
	    agp_series_get(&table, "other", "o1", 3, AGP_UNIT_NANOSECONDS, "m", interval),
	};
	static const int samples[4] = {300, AGP_SERIES_STAGED_MAX + 500, 0, 200};
	struct agp_hdr *want, *want_corrected, *got;
	assert_int_equal(agp_hdr_create(1, params.highest, 3, &want), 0);
	assert_int_equal(agp_hdr_create(1, params.highest, 3, &want_corrected), 0);
	assert_int_equal(agp_hdr_create(1, params.highest, 3, &got), 0);
	srand(11);
	for (int a = 0; a < 4; a++)
		for (int i = 0; i < samples[a]; i++) {
			int64_t value = (int64_t)(rand() % 5000000) + 1;
			if (a == 1 && i == 0)
				value = params.highest * 2; /* clamped */
			agp_series_record(&table, a < 3 ? type : other_type, value, 1);
			agp_series_record(&table, agents[a], value, 1);
			if (a < 3) {
				agp_hdr_record(want, value);
				agp_hdr_record_corrected(want_corrected, value, (int64_t)interval);
			}
		}
	assert_non_null(agents[1]->current);
	assert_int_equal(agp_series_table_rotate(&table, params.window_ns), 6);

	/* The type's window stores references to w1's and w2's windows, no encoding. */
	const struct agp_series_window *window = agp_series_window_at(&table, type, 0);
	assert_null(window->raw);
	assert_null(window->corrected);
	assert_non_null(window->parts);
	assert_int_equal(window->parts->count, 2);
	assert_true(window->parts->corrected);
	for (int a = 0; a < 2; a++) {
		const struct agp_series_window *own = agp_series_window_at(&table, agents[a], 0);
		bool found = false;
		for (uint32_t i = 0; i < 2; i++)
			found |= window->parts->hist[i] == own->raw &&
			         window->parts->hist[2 + i] == own->corrected;
		assert_true(found);
	}
	assert_true(agp_series_window_has_samples(window));
	assert_int_equal(agp_series_window_merge(window, false, got), 0);
	assert_same_histogram(got, want);
	agp_hdr_reset(got);
	assert_int_equal(agp_series_window_merge(window, true, got), 0);
	assert_same_histogram(got, want_corrected);

	/* The same through a snapshot window carrying the parts. */
	const struct agp_sparse_hist *raw_parts[2] = {window->parts->hist[0],
	                                              window->parts->hist[1]};
	const struct agp_sparse_hist *corrected_parts[2] = {window->parts->hist[2],
	                                                    window->parts->hist[3]};
	struct agp_snapshot_window shared = {
	    .start_ns = window->start_ns,
	    .end_ns = window->end_ns,
	    .raw_parts = raw_parts,
	    .raw_part_count = 2,
	    .corrected_parts = corrected_parts,
	    .corrected_part_count = 2,
	};
	assert_true(agp_snapshot_window_has_samples(&shared));
	agp_hdr_reset(got);
	assert_int_equal(agp_snapshot_window_merge(&shared, false, got), 0);
	assert_same_histogram(got, want);
	agp_hdr_reset(got);
	assert_int_equal(agp_snapshot_window_merge(&shared, true, got), 0);
	assert_same_histogram(got, want_corrected);
	struct agp_sparse_summary summary;
	assert_int_equal(agp_snapshot_window_summary(&shared, &summary), 0);
	assert_int_equal(summary.total_count, agp_hdr_count(want));
	assert_int_equal(summary.clamped_count, 1);
	assert_int_equal(summary.min_value, agp_hdr_min(want));
	assert_int_equal(summary.max_value, agp_hdr_max(want));
	assert_true(summary.sum == want->sum);
	assert_true(summary.sum_squares == want->sum_squares);
	struct agp_snapshot_window empty = {0};
	assert_false(agp_snapshot_window_has_samples(&empty));
	assert_int_equal(agp_snapshot_window_summary(&empty, &summary), -ENOENT);

	/* The other type's window holds only its own agent's. */
	const struct agp_series_window *other = agp_series_window_at(&table, other_type, 0);
	assert_non_null(other->parts);
	assert_int_equal(other->parts->count, 1);
	assert_ptr_equal(other->parts->hist[0], agp_series_window_at(&table, agents[3], 0)->raw);

	/* The type's open window stays its own, for current stats and alerts. */
	assert_int_equal(type->window_count_open, 0);
	agp_series_record(&table, type, 42, params.window_ns + 1);
	agp_series_record(&table, agents[0], 42, params.window_ns + 1);
	struct agp_sparse_hist *open_raw, *open_corrected;
	assert_int_equal(agp_series_encode_open(&table, type, &open_raw, &open_corrected), 0);
	assert_int_equal(agp_sparse_hist_summary(open_raw, &summary), 0);
	assert_int_equal(summary.total_count, 1);
	agp_sparse_hist_unref(open_raw);
	agp_sparse_hist_unref(open_corrected);

	agp_hdr_destroy(got);
	agp_hdr_destroy(want_corrected);
	agp_hdr_destroy(want);
	agp_series_table_destroy(&table);
}

/*
 * Many agents of one type, half of their series made before the type's (so
 * they come before it in the table) and half after: every one is summed.
 */
static void type_window_collects_every_agent(void **state)
{
	(void)state;
	enum { AGENTS = 40 };
	struct agp_series_table table;
	assert_int_equal(agp_series_table_init(&table, &params, 0), 0);
	struct agp_series *type = NULL;
	struct agp_series *agents[AGENTS];
	for (int a = 0; a < AGENTS; a++) {
		if (a == AGENTS / 2)
			type =
			    agp_series_get(&table, "worker", "", 0, AGP_UNIT_NANOSECONDS, "m", 0);
		char name[16];
		snprintf(name, sizeof(name), "w%d", a);
		agents[a] = agp_series_get(&table, "worker", name, 0, AGP_UNIT_NANOSECONDS, "m", 0);
		assert_non_null(agents[a]);
	}
	struct agp_hdr *got;
	assert_int_equal(agp_hdr_create(1, params.highest, 3, &got), 0);
	for (uint64_t k = 1; k <= 3; k++) {
		for (int a = 0; a < AGENTS; a++) {
			agp_series_record(&table, type, (int64_t)(a + 1) * 1000,
			                  k * params.window_ns);
			agp_series_record(&table, agents[a], (int64_t)(a + 1) * 1000,
			                  k * params.window_ns);
		}
		assert_int_equal(agp_series_table_rotate(&table, (k + 1) * params.window_ns),
		                 AGENTS + 1);
		const struct agp_series_window *window =
		    agp_series_window_at(&table, type, type->window_count - 1);
		assert_non_null(window->parts);
		assert_int_equal(window->parts->count, AGENTS);
		agp_hdr_reset(got);
		assert_int_equal(agp_series_window_merge(window, false, got), 0);
		assert_int_equal(agp_hdr_count(got), AGENTS);
		for (int a = 0; a < AGENTS; a++)
			assert_int_equal(agp_hdr_count_at_value(got, (int64_t)(a + 1) * 1000), 1);
	}
	agp_hdr_destroy(got);
	agp_series_table_destroy(&table);
}

/*
 * Agent w1's last sample is at 50 s, in window [50 s, 60 s); its series is removed
 * at the first rotation more than a retention later, while the type's ring
 * still holds that window: the references keep w1's window alive.
 */
static void removed_agent_series_leaves_type_windows_intact(void **state)
{
	(void)state;
	struct agp_series_table table;
	assert_int_equal(agp_series_table_init(&table, &params, 0), 0);
	struct agp_series *type =
	    agp_series_get(&table, "worker", "", 0, AGP_UNIT_NANOSECONDS, "m", 0);
	struct agp_series *w1 =
	    agp_series_get(&table, "worker", "w1", 0, AGP_UNIT_NANOSECONDS, "m", 0);
	struct agp_series *w2 =
	    agp_series_get(&table, "worker", "w2", 0, AGP_UNIT_NANOSECONDS, "m", 0);
	for (uint64_t k = 0; k <= 11; k++) {
		uint64_t now = k * params.window_ns + 5 * SECOND;
		if (k > 0)
			assert_true(agp_series_table_rotate(&table, now) > 0);
		if (k <= 5) {
			/* At the window's start: 50 s is more than a retention before 115 s. */
			agp_series_record(&table, type, 7000 + (int64_t)k, k * params.window_ns);
			agp_series_record(&table, w1, 7000 + (int64_t)k, k * params.window_ns);
		}
		agp_series_record(&table, type, 9000, now);
		agp_series_record(&table, w2, 9000, now);
	}
	/* At 115 s, w1 (last sample at 50 s) was removed; the type kept [50 s, 60 s). */
	assert_int_equal(agp_series_table_count(&table), 2);
	assert_ptr_equal(agp_series_get(&table, "worker", "w2", 0, AGP_UNIT_NANOSECONDS, "m", 0),
	                 w2);
	assert_int_equal(type->window_count, params.window_capacity);
	const struct agp_series_window *oldest = agp_series_window_at(&table, type, 0);
	assert_int_equal(oldest->start_ns, 5 * params.window_ns);
	assert_non_null(oldest->parts);
	assert_int_equal(oldest->parts->count, 2);
	struct agp_hdr *got;
	assert_int_equal(agp_hdr_create(1, params.highest, 3, &got), 0);
	assert_int_equal(agp_series_window_merge(oldest, false, got), 0);
	assert_int_equal(agp_hdr_count(got), 2);
	assert_int_equal(agp_hdr_count_at_value(got, 7005), 1);
	assert_int_equal(agp_hdr_count_at_value(got, 9000), 1);
	/* A later window of the type refers to w2 only. */
	const struct agp_series_window *newest =
	    agp_series_window_at(&table, type, type->window_count - 1);
	assert_int_equal(newest->parts->count, 1);
	agp_hdr_destroy(got);
	agp_series_table_destroy(&table);
}

static uint64_t window_samples(const struct agp_series_window *window)
{
	struct agp_hdr *got;
	assert_int_equal(agp_hdr_create(1, params.highest, 3, &got), 0);
	assert_int_equal(agp_series_window_merge(window, false, got), 0);
	uint64_t count = (uint64_t)agp_hdr_count(got);
	agp_hdr_destroy(got);
	return count;
}

/*
 * Placement by timestamp with an injected clock: the open window's bounds,
 * amendments of a closed window (the type's derived window too), a window
 * inserted in time order where the series had none, and the retention's
 * bound. The table starts at 1003 s: its open window is [1000 s, 1010 s).
 */
static void samples_amend_the_closed_window_of_their_timestamp(void **state)
{
	(void)state;
	struct agp_series_table table;
	assert_int_equal(agp_series_table_init(&table, &params, 1003 * SECOND), 0);
	assert_int_equal(table.window_start_ns, 1000 * SECOND);
	assert_int_equal(agp_series_table_place(&table, 1000 * SECOND), AGP_SERIES_OPEN);
	assert_int_equal(agp_series_table_place(&table, 1010 * SECOND - 1), AGP_SERIES_OPEN);
	assert_int_equal(agp_series_table_place(&table, 1010 * SECOND), AGP_SERIES_AHEAD);
	assert_int_equal(agp_series_table_place(&table, 1000 * SECOND - 1), AGP_SERIES_CLOSED);
	/* Six windows retained: [940 s, 1000 s). */
	assert_int_equal(agp_series_table_place(&table, 940 * SECOND), AGP_SERIES_CLOSED);
	assert_int_equal(agp_series_table_place(&table, 940 * SECOND - 1), AGP_SERIES_LATE);
	assert_int_equal(agp_series_table_place(&table, 1), AGP_SERIES_LATE);

	struct agp_series *type =
	    agp_series_get(&table, "worker", "", 0, AGP_UNIT_NANOSECONDS, "m", 1000);
	struct agp_series *agent =
	    agp_series_get(&table, "worker", "w1", 0, AGP_UNIT_NANOSECONDS, "m", 1000);
	for (int i = 0; i < 3; i++) {
		agp_series_record(&table, type, 5000, 1004 * SECOND);
		agp_series_record(&table, agent, 5000, 1004 * SECOND);
	}
	assert_int_equal(agp_series_table_rotate(&table, 1010 * SECOND), 2);
	const struct agp_series_window *derived = agp_series_window_at(&table, type, 0);
	assert_non_null(derived->parts);

	/* Two late arrivals for [1000 s, 1010 s), one for [960 s, 970 s), which never was open. */
	uint64_t times[] = {1009 * SECOND, 1000 * SECOND, 965 * SECOND};
	for (int i = 0; i < 3; i++) {
		assert_int_equal(agp_series_table_place(&table, times[i]), AGP_SERIES_CLOSED);
		agp_series_record_closed(&table, type, 7000, times[i], 1011 * SECOND);
		agp_series_record_closed(&table, agent, 7000, times[i], 1011 * SECOND);
	}
	assert_int_equal(type->window_count, 1); /* nothing changes before the fold */
	agp_series_table_fold(&table);
	assert_null(type->amendments);
	for (int s = 0; s < 2; s++) {
		struct agp_series *series = s ? agent : type;
		assert_int_equal(series->window_count, 2);
		assert_int_equal(series->total_count, 6);
		const struct agp_series_window *older = agp_series_window_at(&table, series, 0);
		const struct agp_series_window *newer = agp_series_window_at(&table, series, 1);
		assert_int_equal(older->start_ns, 960 * SECOND);
		assert_int_equal(older->end_ns, 970 * SECOND);
		assert_int_equal(window_samples(older), 1);
		assert_int_equal(newer->start_ns, 1000 * SECOND);
		assert_int_equal(window_samples(newer), 5);
		assert_null(newer->parts); /* an amended type window has an encoding of its own */
		assert_non_null(newer->corrected);
		struct agp_hdr *got;
		assert_int_equal(agp_hdr_create(1, params.highest, 3, &got), 0);
		assert_int_equal(agp_series_window_merge(newer, true, got), 0);
		/* 5 us at a 1 us interval stands for 5 samples, 7 us for 7: 3 * 5 + 2 * 7. */
		assert_int_equal(agp_hdr_count(got), 29);
		agp_hdr_destroy(got);
	}
	/* The next rotation folds first, and the open window is the newest again. */
	agp_series_record_closed(&table, agent, 7000, 945 * SECOND, 1012 * SECOND);
	agp_series_record(&table, agent, 5000, 1012 * SECOND);
	assert_true(agp_series_table_rotate(&table, 1020 * SECOND) > 0);
	assert_int_equal(agent->window_count, 4);
	assert_int_equal(agp_series_window_at(&table, agent, 0)->start_ns, 940 * SECOND);
	assert_int_equal(agp_series_window_at(&table, agent, 3)->start_ns, 1010 * SECOND);
	assert_int_equal(window_samples(agp_series_window_at(&table, agent, 3)), 1);
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
	    cmocka_unit_test(type_window_is_the_sum_of_its_agents_windows),
	    cmocka_unit_test(type_window_collects_every_agent),
	    cmocka_unit_test(removed_agent_series_leaves_type_windows_intact),
	    cmocka_unit_test(samples_amend_the_closed_window_of_their_timestamp),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
