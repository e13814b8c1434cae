/*
 * min and max are exact, percentiles are to the histogram's precision: the
 * values recorded into a series table (two agents of one type, one staged
 * and one dense, over three closed windows and the open one, one closed
 * window amended after it closed) are compared with a sorted copy of them,
 * through a snapshot and agp_series_stats (what `stats`, the report and the
 * CI JSON show), for the agents' series and the type's derived one, over
 * the whole retention and over a shorter period. The extremes are chosen
 * inside wide buckets, so that a bucket's bound would differ from them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "collector/analysis/validation.h"
#include "collector/drain/series.h"
#include "collector/drain/snapshot.h"
#include "collector/drain/snapshot_build.h"
#include "hdr/histogram.h"

#define SECOND  1000000000ull
#define WINDOWS 4    /* three closed and the open one */
#define DENSE   1500 /* more than AGP_SERIES_STAGED_MAX: a dense open window */
#define STAGED  300
#define LOWEST  1000003 /* in a bucket of 512 values starting at 999936 */
#define HIGHEST 5000007 /* in a bucket of 4096 values ending at 5001215 */

static const struct agp_series_params params = {
    .lowest = 1,
    .highest = 3600ll * 1000 * 1000 * 1000,
    .significant_figures = 3,
    .window_ns = 10 * SECOND,
    .window_capacity = 6,
};

struct values {
	int64_t *v;
	size_t n;
};

static void keep(struct values *values, int64_t value)
{
	values->v = realloc(values->v, (values->n + 1) * sizeof(*values->v));
	assert_non_null(values->v);
	values->v[values->n++] = value;
}

static int compare_values(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

static int64_t field(const json_t *stats, const char *key)
{
	const json_t *value = json_object_get(stats, key);
	if (!json_is_integer(value))
		fail_msg("stats: %s is not an integer", key);
	return (int64_t)json_integer_value(value);
}

/* stats of series since since_ns against the sorted copy of what was sent there. */
static void check_stats(const struct agp_snapshot *snapshot, const char *agent, uint64_t since_ns,
                        struct values *sent, const struct agp_hdr *layout)
{
	const struct agp_snapshot_series *series =
	    agp_snapshot_find_series(snapshot, "worker", agent, "m");
	assert_non_null(series);
	json_t *stats = agp_series_stats(snapshot, series, since_ns, false);
	assert_non_null(stats);
	qsort(sent->v, sent->n, sizeof(*sent->v), compare_values);
	assert_int_equal(field(stats, "count"), sent->n);
	assert_int_equal(field(stats, "min"), sent->v[0]);
	assert_int_equal(field(stats, "max"), sent->v[sent->n - 1]);
	/* The buckets would have said otherwise. */
	assert_true(agp_hdr_lowest_equivalent(layout, sent->v[0]) != sent->v[0]);
	assert_true(agp_hdr_highest_equivalent(layout, sent->v[sent->n - 1]) !=
	            sent->v[sent->n - 1]);
	/* Percentiles: the reference's convention, within the histogram's precision. */
	static const struct {
		const char *key;
		double p;
	} percentiles[] = {{"p50", 50}, {"p95", 95}, {"p99", 99}};
	for (size_t i = 0; i < 3; i++) {
		size_t rank = (size_t)(percentiles[i].p / 100 * (double)sent->n + 0.5);
		int64_t exact = sent->v[(rank ? rank : 1) - 1];
		int64_t shown = field(stats, percentiles[i].key);
		assert_int_equal(shown, agp_hdr_highest_equivalent(layout, exact));
		assert_true(shown >= exact && (double)shown <= (double)exact * (1 + 1.0 / 1024));
	}
	json_decref(stats);
}

static void extremes_are_exact_and_percentiles_to_precision(void **state)
{
	(void)state;
	struct agp_series_table table;
	assert_int_equal(agp_series_table_init(&table, &params, 0), 0);
	struct agp_series *type =
	    agp_series_get(&table, "worker", "", 0, AGP_UNIT_NANOSECONDS, "m", 0);
	struct agp_series *agents[2] = {
	    agp_series_get(&table, "worker", "w1", 0, AGP_UNIT_NANOSECONDS, "m", 0),
	    agp_series_get(&table, "worker", "w2", 0, AGP_UNIT_NANOSECONDS, "m", 0),
	};
	struct values all = {0}, recent = {0}, per_agent[2] = {{0}, {0}};
	srand(5);
	for (uint64_t k = 0; k < WINDOWS; k++) {
		if (k > 0)
			assert_true(agp_series_table_rotate(&table, k * params.window_ns) > 0);
		uint64_t now = k * params.window_ns + SECOND;
		for (int a = 0; a < 2; a++)
			for (int i = 0; i < (a ? DENSE : STAGED); i++) {
				/* Inside (LOWEST, HIGHEST), away from both extremes' buckets. */
				int64_t value = 1100000 + rand() % 3800000;
				agp_series_record(&table, type, value, now);
				agp_series_record(&table, agents[a], value, now);
				keep(&all, value);
				keep(&per_agent[a], value);
				if (k >= 2)
					keep(&recent, value);
			}
	}
	/* The highest value in the open window, the lowest in window 0 after it closed. */
	agp_series_record(&table, type, HIGHEST, 3 * params.window_ns + 2 * SECOND);
	agp_series_record(&table, agents[1], HIGHEST, 3 * params.window_ns + 2 * SECOND);
	keep(&all, HIGHEST);
	keep(&recent, HIGHEST);
	keep(&per_agent[1], HIGHEST);
	uint64_t in_window_0 = 5 * SECOND;
	assert_int_equal(agp_series_table_place(&table, in_window_0), AGP_SERIES_CLOSED);
	agp_series_record_closed(&table, type, LOWEST, in_window_0, 3 * params.window_ns);
	agp_series_record_closed(&table, agents[0], LOWEST, in_window_0, 3 * params.window_ns);
	keep(&all, LOWEST);
	keep(&per_agent[0], LOWEST);
	assert_non_null(agents[1]->current); /* dense */
	assert_null(agents[0]->current);     /* staged */

	struct agp_snapshot *snapshot = agp_snapshot_alloc();
	assert_non_null(snapshot);
	snapshot->series = calloc(agp_series_table_count(&table), sizeof(*snapshot->series));
	assert_non_null(snapshot->series);
	snapshot->histogram_lowest = params.lowest;
	snapshot->histogram_highest = params.highest;
	snapshot->histogram_significant_figures = params.significant_figures;
	uint64_t now = 3 * params.window_ns + 3 * SECOND;
	snapshot->taken_ns = now;
	assert_int_equal(agp_snapshot_build_series(snapshot, &table, now), 0);

	struct agp_hdr *layout;
	assert_int_equal(agp_hdr_create(params.lowest, params.highest, 3, &layout), 0);
	check_stats(snapshot, "", 0, &all, layout);
	check_stats(snapshot, "w1", 0, &per_agent[0], layout);
	check_stats(snapshot, "w2", 0, &per_agent[1], layout);
	/* Over the last two windows only: neither window 0's lowest nor its others. */
	check_stats(snapshot, "", 2 * params.window_ns, &recent, layout);

	agp_hdr_destroy(layout);
	agp_snapshot_free(snapshot);
	free(all.v);
	free(recent.v);
	free(per_agent[0].v);
	free(per_agent[1].v);
	agp_series_table_destroy(&table);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(extremes_are_exact_and_percentiles_to_precision),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
