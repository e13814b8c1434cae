/*
 * The regression test of a window against a baseline: has the window's p95
 * moved up? A one-sided exact binomial test on the number of the window's
 * samples above the baseline's p95 value q (docs/analysis.md, "Regression
 * test").
 *
 * Under "no change" each of the window's n samples exceeds q with a
 * probability of at most p0 (the reference's exceedance), so the number k
 * above q is at most Binomial(n, p0) in distribution, and
 *
 *     p_value = P(X >= k | n, p0)
 *
 * is below alpha with probability at most alpha: the false-alarm rate per
 * window and series is at most alpha, whatever the window's sample count.
 * Windows with fewer than AGP_QUANTILE_TEST_MIN_SAMPLES samples are not
 * tested.
 */
#ifndef AGP_COLLECTOR_QUANTILE_TEST_H
#define AGP_COLLECTOR_QUANTILE_TEST_H

#include <stdbool.h>
#include <stdint.h>

struct agp_hdr;
struct agp_baseline_metric;

/* The false-alarm rate per window and series of the regression check. */
#define AGP_QUANTILE_TEST_ALPHA 0.001
/*
 * Fewer samples than this are not tested: a handful of samples from one
 * hiccup (a cold start, a page fault storm) are not independent draws, and
 * with 5 samples all above q the binomial p-value (p0^5, 4e-7) would flag it.
 */
#define AGP_QUANTILE_TEST_MIN_SAMPLES 20

/* What a window is tested against. value 0: nothing to test. */
struct agp_quantile_reference {
	int64_t value;     /* q: the baseline's p95, the highest value of its bucket */
	double exceedance; /* p0: bound of P(sample > q) with no change (see quantile_test.c) */
};

/*
 * The reference from a baseline entry (its count and p95) at confidence
 * (the baseline's level, 0 < confidence < 1). -ENODATA when the entry has
 * no percentiles (imported from the original's baseline.json) or no
 * samples, -EINVAL for a confidence outside (0, 1); out untouched then.
 */
int agp_quantile_reference_from_baseline(const struct agp_baseline_metric *entry, double confidence,
                                         struct agp_quantile_reference *out);

struct agp_quantile_test_result {
	uint64_t samples; /* n */
	uint64_t above;   /* k: samples above the reference value */
	double p_value;   /* P(X >= k | n, p0); NAN when not tested */
	bool tested;      /* n >= AGP_QUANTILE_TEST_MIN_SAMPLES and a reference value */
	bool regressed;   /* tested and p_value < alpha */
};

/* The test from the counts: n samples of which above exceed the reference value. */
void agp_quantile_test(const struct agp_quantile_reference *reference, uint64_t samples,
                       uint64_t above, double alpha, struct agp_quantile_test_result *out);

/*
 * The test of a window's histogram. The reference value must be a bucket's
 * highest value of the same layout (a baseline's p95 is), so that "above"
 * is exact: every sample of a later bucket.
 */
void agp_quantile_test_histogram(const struct agp_quantile_reference *reference,
                                 const struct agp_hdr *window, double alpha,
                                 struct agp_quantile_test_result *out);

#endif
