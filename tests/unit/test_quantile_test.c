/*
 * The regression test (collector/analysis/quantile_test.h) on seeded random
 * data: the binomial tail against a direct sum; an unchanged workload over
 * 100 windows of 50..500 samples raises at most the false alarms alpha
 * allows; a 20 % shift of the p95 with 500 samples per window is flagged
 * within 3 windows; a window of 5 samples never flags. Directly, and through
 * agp_regression_check on a series table with an injected clock.
 *
 * Witnesses: the samples above the baseline's p95 are counted from the raw
 * values the test generated, not from the histogram the test function reads.
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "collector/alerts/alerting.h"
#include "collector/alerts/regression.h"
#include "collector/analysis/baseline.h"
#include "collector/analysis/quantile_test.h"
#include "collector/analysis/statistics.h"
#include "collector/collector.h"
#include "hdr/histogram.h"

#define US              1000ll
#define MS              1000000ll
#define SECOND          1000000000ull
#define BASELINE_N      45000
#define WINDOWS         100
#define MEDIAN_NS       (2 * MS)
#define LOG_SPREAD      0.25 /* sigma of log(value): p95 / median = e^(1.645 * 0.25) = 1.51 */
#define HIGHEST         (3600ll * 1000 * 1000 * 1000)
#define SHIFTED_WINDOWS 3

/* splitmix64: a seeded generator whose sequence is the same on every machine. */
struct random {
	uint64_t state;
};

static uint64_t next_u64(struct random *r)
{
	uint64_t z = (r->state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Uniform in (0, 1). */
static double next_unit(struct random *r)
{
	return ((double)(next_u64(r) >> 11) + 0.5) / 9007199254740992.0;
}

static double next_normal(struct random *r)
{
	return sqrt(-2 * log(next_unit(r))) * cos(2 * M_PI * next_unit(r));
}

/* A latency of the workload: log-normal around MEDIAN_NS, times scale. */
static int64_t next_latency(struct random *r, double scale)
{
	return (int64_t)(scale * (double)MEDIAN_NS * exp(LOG_SPREAD * next_normal(r)));
}

static struct agp_hdr *new_histogram(void)
{
	struct agp_hdr *h;
	assert_int_equal(agp_hdr_create(1, HIGHEST, 3, &h), 0);
	return h;
}

/* The baseline entry of BASELINE_N samples of the unchanged workload. */
static void establish(struct random *r, struct agp_baseline_metric *entry)
{
	struct agp_hdr *h = new_histogram();
	for (int i = 0; i < BASELINE_N; i++)
		assert_int_equal(agp_hdr_record(h, next_latency(r, 1.0)), 0);
	memset(entry, 0, sizeof(*entry));
	snprintf(entry->metric, sizeof(entry->metric), "coordination_overhead");
	agp_baseline_metric_compute(h, 0.95, entry);
	agp_hdr_destroy(h);
}

/* One window of n samples at scale, tested; the raw values' count above q must agree. */
static bool window_flags(struct random *r, const struct agp_quantile_reference *reference, size_t n,
                         double scale, struct agp_hdr *window, double alpha)
{
	agp_hdr_reset(window);
	uint64_t above = 0;
	for (size_t i = 0; i < n; i++) {
		int64_t value = next_latency(r, scale);
		above += value > reference->value;
		assert_int_equal(agp_hdr_record(window, value), 0);
	}
	struct agp_quantile_test_result result;
	agp_quantile_test_histogram(reference, window, alpha, &result);
	assert_int_equal(result.samples, n);
	assert_int_equal(result.above, above);
	assert_true(result.tested);
	return result.regressed;
}

/* P(X >= k) for X ~ Binomial(n, p) as a sum of its terms in logs (the witness). */
static double tail_by_sum(uint64_t k, uint64_t n, double p)
{
	long double total = 0;
	for (uint64_t j = k; j <= n; j++) {
		long double log_term = lgammal((long double)n + 1) - lgammal((long double)j + 1) -
		                       lgammal((long double)(n - j) + 1) +
		                       (long double)j * logl(p) +
		                       (long double)(n - j) * log1pl(-(long double)p);
		total += expl(log_term);
	}
	return (double)total;
}

static void binomial_tail_matches_the_sum(void **state)
{
	(void)state;
	const struct {
		uint64_t k, n;
		double p;
	} cases[] = {{1, 1, 0.05},    {3, 20, 0.05},      {25, 500, 0.05},  {40, 500, 0.0517},
	             {90, 500, 0.05}, {200, 500, 0.05},   {5, 5, 0.05},     {480, 500, 0.95},
	             {1, 100, 1e-6},  {2000, 40000, .05}, {13, 50, 0.2511}, {499, 500, 0.5}};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		double got = agp_binomial_upper_tail(cases[i].k, cases[i].n, cases[i].p);
		double want = tail_by_sum(cases[i].k, cases[i].n, cases[i].p);
		if (!(fabs(got - want) <= 1e-10 * want))
			fail_msg("P(X >= %llu | %llu, %g): %.17g, the sum gives %.17g",
			         (unsigned long long)cases[i].k, (unsigned long long)cases[i].n,
			         cases[i].p, got, want);
	}
	assert_true(agp_binomial_upper_tail(0, 10, 0.3) == 1.0);
	assert_true(agp_binomial_upper_tail(11, 10, 0.3) == 0.0);
	assert_true(agp_binomial_upper_tail(1, 10, 0.0) == 0.0);
	assert_true(agp_binomial_upper_tail(10, 10, 1.0) == 1.0);
	assert_true(isnan(agp_binomial_upper_tail(1, 10, 1.5)));
}

static void reference_bounds_the_exceedance(void **state)
{
	(void)state;
	struct agp_baseline_metric entry = {0};
	entry.has_percentiles = true;
	entry.count = 45000;
	entry.p95 = 3 * MS;
	struct agp_quantile_reference reference;
	assert_int_equal(agp_quantile_reference_from_baseline(&entry, 0.95, &reference), 0);
	assert_int_equal(reference.value, 3 * MS);
	/* rank 42750: m = 2251 / 45001; plus 1.645 standard deviations of Beta(2251, 42750). */
	double m = 2251.0 / 45001.0;
	double want = m + 1.6448536269514722 * sqrt(m * (1 - m) / 45002.0);
	assert_true(fabs(reference.exceedance - want) < 1e-12);
	assert_true(reference.exceedance > 0.0516 && reference.exceedance < 0.0518);

	/* A means-only entry (the original's baseline.json) has nothing to test against. */
	entry.has_percentiles = false;
	assert_int_equal(agp_quantile_reference_from_baseline(&entry, 0.95, &reference), -ENODATA);
	entry.has_percentiles = true;
	assert_int_equal(agp_quantile_reference_from_baseline(&entry, 1.0, &reference), -EINVAL);
}

/*
 * Each window flags with probability at most alpha = 0.001 (for a baseline
 * whose exceedance bound holds), so 100 windows flag at most
 * Binomial(100, 0.001): P(2 or more) <= C(100, 2) alpha^2 = 0.5 %. We assert
 * at most 1. Over 20 such runs (2000 windows, 20 baselines) the count is at
 * most about Poisson(2): P(8 or more) = 0.1 %; we assert at most 7. (The
 * check this replaced, window p95 > the baseline's p95_upper, flagged 752 of
 * these 2000 windows.)
 */
static void unchanged_workload_stays_quiet(void **state)
{
	(void)state;
	struct agp_hdr *window = new_histogram();
	unsigned total_flags = 0, loose_flags = 0;
	for (uint64_t seed = 1; seed <= 20; seed++) {
		struct random r = {seed};
		struct agp_baseline_metric entry;
		establish(&r, &entry);
		struct agp_quantile_reference reference;
		assert_int_equal(agp_quantile_reference_from_baseline(&entry, 0.95, &reference), 0);
		unsigned flags = 0;
		for (int w = 0; w < WINDOWS; w++) {
			size_t n = 50 + (size_t)(next_u64(&r) % 451); /* 50 .. 500 */
			flags +=
			    window_flags(&r, &reference, n, 1.0, window, AGP_QUANTILE_TEST_ALPHA);
		}
		for (int w = 0; w < WINDOWS; w++) {
			size_t n = 50 + (size_t)(next_u64(&r) % 451);
			loose_flags += window_flags(&r, &reference, n, 1.0, window, 0.05);
		}
		if (flags > 1)
			fail_msg(
			    "seed %llu: %u of %d unchanged windows flagged (at most 1 expected)",
			    (unsigned long long)seed, flags, WINDOWS);
		total_flags += flags;
	}
	if (total_flags > 7)
		fail_msg("%u of 2000 unchanged windows flagged (at most 7 expected)", total_flags);
	/*
	 * Calibration at alpha = 0.05 over 2000 more windows: at most 5 % plus
	 * three standard deviations (130); and a test that never flags would
	 * pass the check above, so it must flag some (here about 2.6 %: the
	 * discrete test and the exceedance bound make it conservative).
	 */
	if (loose_flags > 130 || loose_flags < 10)
		fail_msg("%u of 2000 unchanged windows flagged at alpha 0.05 (10 .. 130 expected)",
		         loose_flags);
	agp_hdr_destroy(window);
}

/*
 * Every value 20 % higher (so is the p95): about 18 % of the samples lie
 * above the old p95 instead of 5 %; with 500 per window each window flags
 * almost surely. Required: within 3 windows, for every seed.
 */
static void shifted_p95_is_flagged_within_3_windows(void **state)
{
	(void)state;
	struct agp_hdr *window = new_histogram();
	for (uint64_t seed = 1; seed <= 20; seed++) {
		struct random r = {seed};
		struct agp_baseline_metric entry;
		establish(&r, &entry);
		struct agp_quantile_reference reference;
		assert_int_equal(agp_quantile_reference_from_baseline(&entry, 0.95, &reference), 0);
		int first = -1;
		for (int w = 0; w < SHIFTED_WINDOWS && first < 0; w++)
			if (window_flags(&r, &reference, 500, 1.2, window, AGP_QUANTILE_TEST_ALPHA))
				first = w;
		if (first < 0)
			fail_msg("seed %llu: a 20 %% shift was not flagged within %d windows",
			         (unsigned long long)seed, SHIFTED_WINDOWS);
	}
	agp_hdr_destroy(window);
}

static void tiny_windows_never_flag(void **state)
{
	(void)state;
	struct agp_quantile_reference reference = {3 * MS, 0.0517};
	struct agp_quantile_test_result result;
	/* 5 of 5 far above the baseline's p95: not tested, so never flagged on its own. */
	agp_quantile_test(&reference, 5, 5, AGP_QUANTILE_TEST_ALPHA, &result);
	assert_false(result.tested);
	assert_false(result.regressed);
	assert_true(isnan(result.p_value));
	agp_quantile_test(&reference, AGP_QUANTILE_TEST_MIN_SAMPLES - 1,
	                  AGP_QUANTILE_TEST_MIN_SAMPLES - 1, AGP_QUANTILE_TEST_ALPHA, &result);
	assert_false(result.regressed);
	/* From the minimum on it is tested: all above is a regression, 1 above is not. */
	agp_quantile_test(&reference, AGP_QUANTILE_TEST_MIN_SAMPLES, AGP_QUANTILE_TEST_MIN_SAMPLES,
	                  AGP_QUANTILE_TEST_ALPHA, &result);
	assert_true(result.tested && result.regressed);
	agp_quantile_test(&reference, AGP_QUANTILE_TEST_MIN_SAMPLES, 1, AGP_QUANTILE_TEST_ALPHA,
	                  &result);
	assert_true(result.tested && !result.regressed);
	/* No reference value: nothing is tested. */
	struct agp_quantile_reference none = {0, 0.05};
	agp_quantile_test(&none, 500, 500, AGP_QUANTILE_TEST_ALPHA, &result);
	assert_false(result.tested || result.regressed);
}

/* Through agp_regression_check ------------------------------------------------------------ */

static struct agp_collector collector; /* only its config and regression limits are used */

static const struct agp_series_params params = {
    .lowest = 1,
    .highest = HIGHEST,
    .significant_figures = 3,
    .window_ns = 10 * SECOND,
    .window_capacity = 6,
};

/* Windows of sizes[w] samples at scale into a planner series; how many regression alerts each
 * rotation raised goes to raised[w]. */
static void run_windows(const struct agp_baseline_metric *entry, struct random *r,
                        const size_t *sizes, size_t window_count, double scale, uint64_t *raised)
{
	struct agp_regression_limits *limits = calloc(1, sizeof(*limits));
	assert_non_null(limits);
	limits->count = 1;
	limits->limit[0].metric_id = 0;
	snprintf(limits->limit[0].agent_type, sizeof(limits->limit[0].agent_type), "planner");
	assert_int_equal(
	    agp_quantile_reference_from_baseline(entry, 0.95, &limits->limit[0].reference), 0);
	agp_collector_set_regression_limits(&collector, limits);

	struct agp_alerting alerting;
	assert_int_equal(agp_alerting_init(&alerting, &collector.config), 0);
	struct agp_series_table table;
	uint64_t t0 = 1000 * SECOND;
	assert_int_equal(agp_series_table_init(&table, &params, t0), 0);
	struct agp_series *series = agp_series_get(&table, "planner", "", 0, AGP_UNIT_NANOSECONDS,
	                                           "coordination_overhead", 0);
	assert_non_null(series);
	for (size_t w = 0; w < window_count; w++) {
		uint64_t now = t0 + w * params.window_ns + SECOND;
		for (size_t i = 0; i < sizes[w]; i++)
			agp_series_record(&table, series, next_latency(r, scale), now);
		uint64_t end = t0 + (w + 1) * params.window_ns;
		assert_int_equal(agp_series_table_rotate(&table, end), 1);
		uint64_t before = alerting.raised;
		agp_regression_check(&collector, &table, &alerting, end);
		raised[w] = alerting.raised - before;
	}
	agp_series_table_destroy(&table);
	agp_alerting_destroy(&alerting);
}

static void the_drain_check_uses_the_test(void **state)
{
	(void)state;
	agp_config_defaults(&collector.config);
	/* The cooldown would hide a second alert; every flagged window must show. */
	collector.config.monitoring.alert_cooldown_minutes = 0;
	struct random r = {42};
	struct agp_baseline_metric entry;
	establish(&r, &entry);

	size_t sizes[WINDOWS];
	uint64_t raised[WINDOWS];
	for (size_t w = 0; w < WINDOWS; w++)
		sizes[w] = 50 + (size_t)(next_u64(&r) % 451);
	run_windows(&entry, &r, sizes, WINDOWS, 1.0, raised);
	uint64_t alarms = 0;
	for (size_t w = 0; w < WINDOWS; w++)
		alarms += raised[w];
	assert_true(alarms <= 1); /* as unchanged_workload_stays_quiet */

	for (size_t w = 0; w < SHIFTED_WINDOWS; w++)
		sizes[w] = 500;
	run_windows(&entry, &r, sizes, SHIFTED_WINDOWS, 1.2, raised);
	assert_true(raised[0] + raised[1] + raised[2] >= 1);

	/* 5 samples, all ten times the p95: the check does not flag them. */
	sizes[0] = 5;
	run_windows(&entry, &r, sizes, 1, 10.0, raised);
	assert_int_equal(raised[0], 0);
	agp_collector_set_regression_limits(&collector, NULL);
	rcu_barrier();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(binomial_tail_matches_the_sum),
	    cmocka_unit_test(reference_bounds_the_exceedance),
	    cmocka_unit_test(unchanged_workload_stays_quiet),
	    cmocka_unit_test(shifted_p95_is_flagged_within_3_windows),
	    cmocka_unit_test(tiny_windows_never_flag),
	    cmocka_unit_test(the_drain_check_uses_the_test),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
