/*
 * Sample statistics and Student t quantiles (see statistics.h).
 *
 * The t quantile solves tail(t) = q for the upper tail probability
 * q = 1 - p (p > 1/2; the lower half follows by symmetry), where
 *
 *     tail(t) = P(T > t) = I_x(df/2, 1/2) / 2,   x = df / (df + t^2),
 *
 * and I is the regularized incomplete beta function. Working with q rather
 * than p keeps full relative precision for confidence levels close to 1.
 * Newton's method runs on log(tail), whose derivative is -pdf/tail, from a
 * start given by the Cornish-Fisher series; a bracket [lo, hi] that always
 * holds the root catches any step that would leave it (then we bisect), so
 * convergence is guaranteed even where the start is poor (df < 1).
 */
#include "collector/analysis/statistics.h"

#include <errno.h>
#include <float.h>
#include <math.h>

void agp_stats_init(struct agp_stats *s)
{
	s->count = 0;
	s->mean = 0;
	s->m2 = 0;
	s->min = INFINITY;
	s->max = -INFINITY;
}

void agp_stats_add(struct agp_stats *s, double value)
{
	if (s->count == 0) {
		s->min = value;
		s->max = value;
	}
	s->count++;
	double delta = value - s->mean;
	s->mean += delta / (double)s->count;
	s->m2 += delta * (value - s->mean);
	if (value < s->min)
		s->min = value;
	if (value > s->max)
		s->max = value;
}

void agp_stats_merge(struct agp_stats *a, const struct agp_stats *b)
{
	if (b->count == 0)
		return;
	if (a->count == 0) {
		*a = *b;
		return;
	}
	double na = (double)a->count, nb = (double)b->count, n = na + nb;
	double delta = b->mean - a->mean;
	a->mean += delta * nb / n;
	a->m2 += b->m2 + delta * delta * na * nb / n;
	a->count += b->count;
	if (b->min < a->min)
		a->min = b->min;
	if (b->max > a->max)
		a->max = b->max;
}

double agp_stats_mean(const struct agp_stats *s)
{
	return s->count ? s->mean : NAN;
}

double agp_stats_variance(const struct agp_stats *s)
{
	return s->count >= 2 ? s->m2 / (double)(s->count - 1) : NAN;
}

double agp_stats_stddev(const struct agp_stats *s)
{
	return sqrt(agp_stats_variance(s));
}

int agp_stats_from_sums(uint64_t count, long double sum, long double sum_of_squares, double *mean,
                        double *variance)
{
	if (count == 0)
		return -EINVAL;
	long double n = (long double)count;
	long double m = sum / n;
	double var = NAN;
	if (count >= 2) {
		long double v = (sum_of_squares - sum * m) / (n - 1);
		var = v > 0 ? (double)v : 0.0;
	}
	*mean = (double)m;
	*variance = var;
	return 0;
}

/* ---------------------------------------------------------------- normal quantile */

/*
 * Acklam's rational approximation (relative error 1.15e-9), then one Halley
 * step on erfc, which brings it to full double precision.
 */
double agp_normal_quantile(double p)
{
	static const double a[] = {-3.969683028665376e+01, 2.209460984245205e+02,
	                           -2.759285104469687e+02, 1.383577518672690e+02,
	                           -3.066479806614716e+01, 2.506628277459239e+00};
	static const double b[] = {-5.447609879822406e+01, 1.615858368580409e+02,
	                           -1.556989798598866e+02, 6.680131188771972e+01,
	                           -1.328068155288572e+01};
	static const double c[] = {-7.784894002430293e-03, -3.223964580411365e-01,
	                           -2.400758277161838e+00, -2.549732539343734e+00,
	                           4.374664141464968e+00,  2.938163982698783e+00};
	static const double d[] = {7.784695709041462e-03, 3.224671290700398e-01,
	                           2.445134137142996e+00, 3.754408661907416e+00};
	if (!(p > 0 && p < 1))
		return NAN;
	const double low = 0.02425, high = 1 - low;
	double x;
	if (p < low) {
		double q = sqrt(-2 * log(p));
		x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
		    ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
	} else if (p <= high) {
		double q = p - 0.5, r = q * q;
		x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
		    (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
	} else {
		double q = sqrt(-2 * log1p(-p));
		x = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
		    ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
	}
	/* Halley refinement: e is the CDF error at x, u the Newton step scaled by the density. */
	double e = 0.5 * erfc(-x / M_SQRT2) - p;
	double u = e * sqrt(2 * M_PI) * exp(x * x / 2);
	x = x - u / (1 + x * u / 2);
	return x;
}

/* ---------------------------------------------------------------- incomplete beta */

/*
 * The continued fraction of I_x(a, b) (Numerical Recipes' betacf, modified
 * Lentz); converges quickly for x < (a + 1) / (a + b + 2).
 */
static double beta_continued_fraction(double a, double b, double x)
{
	const double tiny = 1e-300;
	double qab = a + b, qap = a + 1, qam = a - 1;
	double c = 1, d = 1 - qab * x / qap;
	if (fabs(d) < tiny)
		d = tiny;
	d = 1 / d;
	double h = d;
	for (int m = 1; m <= 100000; m++) {
		double m2 = 2.0 * m;
		double aa = m * (b - m) * x / ((qam + m2) * (a + m2));
		d = 1 + aa * d;
		if (fabs(d) < tiny)
			d = tiny;
		c = 1 + aa / c;
		if (fabs(c) < tiny)
			c = tiny;
		d = 1 / d;
		h *= d * c;
		aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
		d = 1 + aa * d;
		if (fabs(d) < tiny)
			d = tiny;
		c = 1 + aa / c;
		if (fabs(c) < tiny)
			c = tiny;
		d = 1 / d;
		double del = d * c;
		h *= del;
		if (fabs(del - 1) < 1e-16)
			break;
	}
	return h;
}

/*
 * I_x(a, b) given both x and 1 - x (the caller knows 1 - x more precisely
 * than 1 - x computed here would be).
 */
static double incomplete_beta(double a, double b, double x, double one_minus_x)
{
	if (x <= 0)
		return 0;
	if (one_minus_x <= 0)
		return 1;
	double log_front =
	    lgamma(a + b) - lgamma(a) - lgamma(b) + a * log(x) + b * log(one_minus_x);
	double front = exp(log_front);
	if (x < (a + 1) / (a + b + 2))
		return front * beta_continued_fraction(a, b, x) / a;
	return 1 - front * beta_continued_fraction(b, a, one_minus_x) / b;
}

/* P(T > t) for t >= 0. */
static double t_tail(double t, double df)
{
	double t2 = t * t;
	/* x = df / (df + t^2) and 1 - x = t^2 / (df + t^2), each without cancellation. */
	double x = df / (df + t2), one_minus_x = t2 / (df + t2);
	return 0.5 * incomplete_beta(df / 2, 0.5, x, one_minus_x);
}

static double log_t_density(double t, double df)
{
	return lgamma((df + 1) / 2) - lgamma(df / 2) - 0.5 * log(df * M_PI) -
	       (df + 1) / 2 * log1p(t * t / df);
}

/*
 * Cornish-Fisher expansion of the t quantile in powers of 1/df
 * (Abramowitz & Stegun 26.7.5), from the normal quantile z.
 */
static double t_cornish_fisher(double z, double df)
{
	double z2 = z * z;
	double g1 = (z2 + 1) * z / 4;
	double g2 = ((5 * z2 + 16) * z2 + 3) * z / 96;
	double g3 = (((3 * z2 + 19) * z2 + 17) * z2 - 15) * z / 384;
	double g4 = ((((79 * z2 + 776) * z2 + 1482) * z2 - 1920) * z2 - 945) * z / 92160;
	return z + (g1 + (g2 + (g3 + g4 / df) / df) / df) / df;
}

/* The t with P(T > t) = q, for 0 < q <= 1/2. */
static double t_upper(double q, double df)
{
	if (q == 0.5)
		return 0;
	/* Closed forms: Cauchy for df = 1, and the df = 2 inverse. */
	if (df == 1)
		return 1 / tan(M_PI * q);
	if (df == 2) {
		double p = 1 - q;
		return (2 * p - 1) * sqrt(2 / (4 * p * q));
	}
	double z = -agp_normal_quantile(q);
	if (df >= 1e5)
		return t_cornish_fisher(z, df);

	/* Bracket the root: tail falls from 1/2 at t = 0 towards 0. */
	double lo = 0, hi = fmax(1, t_cornish_fisher(z, df));
	while (t_tail(hi, df) > q) {
		lo = hi;
		hi *= 2;
		if (hi > 1e300)
			return INFINITY;
	}
	double t = t_cornish_fisher(z, df);
	if (!(t > lo && t < hi))
		t = 0.5 * (lo + hi);
	double log_q = log(q);
	for (int i = 0; i < 200; i++) {
		double tail = t_tail(t, df);
		if (tail > q)
			lo = t;
		else
			hi = t;
		/* Newton on g(t) = log tail(t) - log q, with g'(t) = -pdf(t) / tail(t). */
		double g = log(tail) - log_q;
		double slope = -exp(log_t_density(t, df) - log(tail));
		double next = t - g / slope;
		if (!(next > lo && next < hi))
			next = 0.5 * (lo + hi);
		/*
		 * The tail is accurate to about 1e-14 relative, so asking for more
		 * than 1e-13 in t would chase rounding noise.
		 */
		if (fabs(next - t) <= 1e-13 * fabs(next) || hi - lo <= 4 * DBL_EPSILON * hi)
			return next;
		t = next;
	}
	return t;
}

double agp_student_t_quantile(double p, double df)
{
	if (!(p > 0 && p < 1) || !(df > 0) || isnan(df))
		return NAN;
	if (isinf(df))
		return agp_normal_quantile(p);
	if (p > 0.5)
		return t_upper(1 - p, df);
	return -t_upper(p, df);
}

double agp_student_t_two_sided(double level, double df)
{
	if (!(level > 0 && level < 1) || !(df > 0) || isnan(df))
		return NAN;
	/* The upper tail (1 - level) / 2 directly, without going through (1 + level) / 2. */
	double q = (1 - level) / 2;
	if (isinf(df))
		return -agp_normal_quantile(q);
	return t_upper(q, df);
}

int agp_confidence_interval(uint64_t n, double mean, double stddev, double level,
                            struct agp_confidence_interval *out)
{
	if (n < 2 || !(level > 0 && level < 1) || !(stddev >= 0) || !isfinite(stddev) ||
	    !isfinite(mean))
		return -EINVAL;
	double t = agp_student_t_two_sided(level, (double)(n - 1));
	double half = t * stddev / sqrt((double)n);
	out->lower = mean - half;
	out->upper = mean + half;
	out->half_width = half;
	out->t = t;
	return 0;
}

/* ---------------------------------------------------------------- binomial tail */

/*
 * P(X >= k) = I_p(k, n - k + 1) for 1 <= k <= n: the regularized incomplete
 * beta above, so that a tail of 1e-300 keeps its relative precision where a
 * sum of probability terms, or 1 minus the lower tail, would not.
 */
double agp_binomial_upper_tail(uint64_t k, uint64_t n, double p)
{
	if (!(p >= 0 && p <= 1))
		return NAN;
	if (k == 0)
		return 1.0;
	if (k > n || p == 0)
		return 0.0;
	if (p == 1)
		return 1.0;
	return incomplete_beta((double)k, (double)(n - k + 1), p, 1 - p);
}
