/*
 * The regression test (see quantile_test.h and docs/analysis.md).
 *
 * The exceedance p0. The baseline's p95 is the sample of rank
 * r = (int)(0.95 N + 0.5) (at least 1) of its N samples, reported as its
 * bucket's highest value q, so q is at or above that order statistic X_(r).
 * For a continuous distribution F, 1 - F(X_(r)) follows Beta(N - r + 1, r):
 * mean m = (N - r + 1) / (N + 1), variance m (1 - m) / (N + 2). Its upper
 * bound at the baseline's confidence c (normal approximation),
 *
 *     p0 = m + z_c sqrt(m (1 - m) / (N + 2)),
 *
 * bounds P(sample > q) with probability about c over the baseline's own
 * sampling; q's bucket rounding only lowers the true exceedance. With
 * N = 45,000 and c = 0.95: p0 = 0.0517.
 */
#include "collector/analysis/quantile_test.h"

#include <errno.h>
#include <math.h>

#include "collector/analysis/baseline.h"
#include "collector/analysis/statistics.h"
#include "hdr/histogram.h"

int agp_quantile_reference_from_baseline(const struct agp_baseline_metric *entry, double confidence,
                                         struct agp_quantile_reference *out)
{
	if (!(confidence > 0 && confidence < 1))
		return -EINVAL;
	if (!entry->has_percentiles || entry->count == 0 || entry->p95 <= 0)
		return -ENODATA;
	double n = (double)entry->count;
	double rank = floor(0.95 * n + 0.5);
	if (rank < 1)
		rank = 1;
	double mean = (n - rank + 1) / (n + 1);
	double bound = mean + agp_normal_quantile(confidence) * sqrt(mean * (1 - mean) / (n + 2));
	out->value = entry->p95;
	out->exceedance = bound < 1 ? bound : 1;
	return 0;
}

void agp_quantile_test(const struct agp_quantile_reference *reference, uint64_t samples,
                       uint64_t above, double alpha, struct agp_quantile_test_result *out)
{
	out->samples = samples;
	out->above = above;
	out->tested = reference->value > 0 && samples >= AGP_QUANTILE_TEST_MIN_SAMPLES;
	out->p_value =
	    out->tested ? agp_binomial_upper_tail(above, samples, reference->exceedance) : NAN;
	out->regressed = out->tested && out->p_value < alpha;
}

void agp_quantile_test_histogram(const struct agp_quantile_reference *reference,
                                 const struct agp_hdr *window, double alpha,
                                 struct agp_quantile_test_result *out)
{
	/*
	 * A bucket counts as above only when its lowest value is: a bucket that
	 * straddles q (another layout) counts as not above, which can only make
	 * the test more reluctant to flag.
	 */
	uint64_t above = 0;
	struct agp_hdr_iter it;
	agp_hdr_iter_init(&it, window);
	while (agp_hdr_iter_next(&it))
		if (it.value > reference->value)
			above += (uint64_t)it.count;
	agp_quantile_test(reference, (uint64_t)agp_hdr_count(window), above, alpha, out);
}
