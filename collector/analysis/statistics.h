/*
 * Sample statistics for baselines: mean, sample variance, Student t
 * quantiles, the confidence interval of the mean and the binomial upper
 * tail (for the regression test, quantile_test.h).
 *
 * Means and variances come either from raw values (Welford's update, which
 * stays accurate when the spread is tiny beside the values, e.g. 100 ms +- 1
 * ns) or from running sums (count, sum, sum of squares) as a histogram keeps
 * them; the sums are long double so that nanosecond values squared keep 64
 * bits of mantissa.
 *
 * The t quantile is exact to about 1e-12 relative for any degrees of
 * freedom: Newton's method on the t distribution's tail, which is the
 * regularized incomplete beta function evaluated by its continued fraction;
 * closed forms for 1 and 2 degrees of freedom; a Cornish-Fisher series in
 * 1/df (error below 1e-15) from 1e5 degrees of freedom on, which tends to the
 * normal quantile as df grows.
 */
#ifndef AGP_COLLECTOR_STATISTICS_H
#define AGP_COLLECTOR_STATISTICS_H

#include <stdint.h>

/* Welford's running mean and sum of squared deviations. Zero-initialise or agp_stats_init. */
struct agp_stats {
	uint64_t count;
	double mean;
	double m2; /* sum of squared deviations from the mean */
	double min;
	double max;
};

void agp_stats_init(struct agp_stats *s);
void agp_stats_add(struct agp_stats *s, double value);
/* Adds b's samples to a (Chan et al.'s pairwise combination). */
void agp_stats_merge(struct agp_stats *a, const struct agp_stats *b);
/* Mean; NAN with no samples. */
double agp_stats_mean(const struct agp_stats *s);
/* Sample variance (divisor n - 1); NAN with fewer than two samples. */
double agp_stats_variance(const struct agp_stats *s);
/* Sample standard deviation; NAN with fewer than two samples. */
double agp_stats_stddev(const struct agp_stats *s);

/*
 * Mean and sample variance from running sums. Returns 0, or -EINVAL when
 * count is 0 (variance needs count >= 2: with one sample it is set to NAN).
 * A variance that rounding makes slightly negative is returned as 0.
 */
int agp_stats_from_sums(uint64_t count, long double sum, long double sum_of_squares, double *mean,
                        double *variance);

/* The standard normal quantile: z with P(Z <= z) = p, for 0 < p < 1; NAN otherwise. */
double agp_normal_quantile(double p);

/* Student t quantile: t with P(T <= t) = p for df > 0 degrees of freedom; NAN when invalid. */
double agp_student_t_quantile(double p, double df);

/*
 * The two-sided critical value t such that P(|T| <= t) = level, for
 * 0 < level < 1 and df > 0 (a baseline of n samples uses df = n - 1).
 * NAN when invalid.
 */
double agp_student_t_two_sided(double level, double df);

/* The confidence interval of a mean: mean +- t * stddev / sqrt(n). */
struct agp_confidence_interval {
	double lower;
	double upper;
	double half_width;
	double t; /* the critical value used */
};

/*
 * The interval at level (0 < level < 1) for n samples of the given mean and
 * sample standard deviation. Returns 0, -EINVAL when n < 2, level is outside
 * (0, 1) or stddev is negative or not finite (out untouched).
 */
int agp_confidence_interval(uint64_t n, double mean, double stddev, double level,
                            struct agp_confidence_interval *out);

/*
 * P(X >= k) for X ~ Binomial(n, p), 0 <= p <= 1: 1 for k = 0, 0 for k > n,
 * NAN when p is outside [0, 1]. From the regularized incomplete beta
 * I_p(k, n - k + 1), accurate to about 1e-13 relative even for tails far
 * below the double epsilon.
 */
double agp_binomial_upper_tail(uint64_t k, uint64_t n, double p);

#endif
