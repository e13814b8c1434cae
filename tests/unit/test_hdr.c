/*
 * The HDR histogram against independent answers: layout numbers of the shared vector, exact
 * sorted percentiles of random data, a brute-force counts walk, the reference's published
 * figures for the vector, merge versus recording the union, clamping, and the
 * coordinated-omission correction versus recording every hidden value one by one.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hdr/histogram.h"

#define HOUR_NS INT64_C(3600000000000)

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rng_next(void)
{
	/* splitmix64: deterministic, so a failure reproduces. */
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static double rng_unit(void)
{
	return (double)(rng_next() >> 11) * 0x1.0p-53;
}

static double rng_normal(void)
{
	double u = rng_unit(), v = rng_unit();
	return sqrt(-2.0 * log(u > 0 ? u : 1e-300)) * cos(2 * M_PI * v);
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

static struct agp_hdr *make(int64_t lowest, int64_t highest, int figures)
{
	struct agp_hdr *h = NULL;
	assert_int_equal(agp_hdr_create(lowest, highest, figures, &h), 0);
	assert_non_null(h);
	return h;
}

/* The reference's percentile: walk every counts entry from index 0. */
static int64_t brute_percentile(const struct agp_hdr *h, double p)
{
	double req = p < 100.0 ? p : 100.0;
	int64_t target = (int64_t)((req / 100) * (double)h->total_count + 0.5), run = 0;

	if (target < 1)
		target = 1;
	for (int32_t i = 0; i < h->cfg.counts_len; i++) {
		run += h->counts[i];
		if (run >= target) {
			int64_t v = agp_hdr_value_at_index(h, i);
			return p == 0.0 ? v : agp_hdr_highest_equivalent(h, v);
		}
	}
	return 0;
}

enum shape { UNIFORM, LOGNORMAL, BIMODAL };
static int64_t draw(enum shape s);
static void assert_same_histogram(const struct agp_hdr *a, const struct agp_hdr *b);

static void test_config_vector(void **state)
{
	struct agp_hdr_config cfg, untouched;
	(void)state;

	assert_int_equal(agp_hdr_config_init(1, HOUR_NS, 3, &cfg), 0);
	assert_int_equal(cfg.bucket_count, 32);
	assert_int_equal(cfg.sub_bucket_count, 2048);
	assert_int_equal(cfg.sub_bucket_half_count, 1024);
	assert_int_equal(cfg.sub_bucket_half_count_magnitude, 10);
	assert_int_equal(cfg.counts_len, 33792);
	assert_int_equal(cfg.unit_magnitude, 0);
	assert_int_equal(cfg.sub_bucket_mask, 2047);

	/* 2 figures: 2*10^2 = 200 -> 256 sub-buckets; lowest 1000 -> unit magnitude 9. */
	assert_int_equal(agp_hdr_config_init(1000, INT64_C(1000000000), 2, &cfg), 0);
	assert_int_equal(cfg.sub_bucket_count, 256);
	assert_int_equal(cfg.unit_magnitude, 9);
	assert_int_equal(cfg.sub_bucket_mask, 255 << 9);
	/* 256 << 9 = 131072 doubles 13 times to pass 1e9: 14 buckets. */
	assert_int_equal(cfg.bucket_count, 14);
	assert_int_equal(cfg.counts_len, 15 * 128);

	memset(&untouched, 0x5a, sizeof(untouched));
	cfg = untouched;
	assert_int_equal(agp_hdr_config_init(0, 100, 3, &cfg), -EINVAL);
	assert_int_equal(agp_hdr_config_init(1, 100, 0, &cfg), -EINVAL);
	assert_int_equal(agp_hdr_config_init(1, 100, 6, &cfg), -EINVAL);
	assert_int_equal(agp_hdr_config_init(10, 19, 3, &cfg), -EINVAL);
	assert_memory_equal(&cfg, &untouched, sizeof(cfg));
	assert_int_equal(agp_hdr_config_init(1, INT64_MAX, 5, &cfg), 0);
	/* A unit magnitude that would shift the sub-bucket mask out of int64. */
	assert_int_equal(agp_hdr_config_init(INT64_C(1) << 60, INT64_MAX, 1, &cfg), -EINVAL);
}

static void test_top_of_int64(void **state)
{
	struct agp_hdr *h = make(1, INT64_MAX, 3);
	(void)state;

	/* The last bucket ends at INT64_MAX; its highest equivalent must not overflow. */
	assert_int_equal(agp_hdr_record(h, INT64_MAX), 0);
	assert_int_equal(agp_hdr_record(h, INT64_MAX - 1), 0);
	assert_int_equal(agp_hdr_clamped(h), 0);
	assert_int_equal(agp_hdr_highest_equivalent(h, INT64_MAX), INT64_MAX);
	assert_int_equal(agp_hdr_value_at_percentile(h, 100), INT64_MAX);
	assert_int_equal(agp_hdr_max_equivalent(h), INT64_MAX);
	assert_true(agp_hdr_mean(h) > 9.2e18);
	agp_hdr_destroy(h);
}

static void test_record_values_batch(void **state)
{
	enum { N = 100000 };
	struct agp_hdr *one = make(1, HOUR_NS, 3), *batch = make(1, HOUR_NS, 3);
	int64_t *values = malloc(N * sizeof(*values));
	(void)state;

	for (int i = 0; i < N; i++)
		values[i] = i % 1000 == 7 ? -i : (i % 999 == 0 ? HOUR_NS * 3 : draw(LOGNORMAL));
	for (int i = 0; i < N; i++)
		agp_hdr_record(one, values[i]);
	agp_hdr_record(batch, 5); /* the batch continues existing state */
	agp_hdr_record(one, 5);
	assert_int_equal(agp_hdr_record_values(batch, values, N), 100);
	assert_same_histogram(batch, one);
	free(values);
	agp_hdr_destroy(one);
	agp_hdr_destroy(batch);
}

static void test_init_in_caller_memory(void **state)
{
	struct agp_hdr_config cfg;
	struct agp_hdr h;
	void *memory;
	(void)state;

	assert_int_equal(agp_hdr_config_init(1, HOUR_NS, 3, &cfg), 0);
	assert_int_equal(agp_hdr_memory_size(&cfg), (33792 + 528 + 9) * 8);
	memory = malloc(agp_hdr_memory_size(&cfg));
	memset(memory, 0xff, agp_hdr_memory_size(&cfg)); /* init must clear it */
	agp_hdr_init(&h, &cfg, memory);
	assert_int_equal(agp_hdr_count(&h), 0);
	assert_int_equal(agp_hdr_record(&h, 12345), 0);
	assert_int_equal(agp_hdr_value_at_percentile(&h, 50),
	                 agp_hdr_highest_equivalent(&h, 12345));
	assert_int_equal(agp_hdr_count_at_value(&h, 12345), 1);
	assert_int_equal(agp_hdr_count(&h), 1);
	free(memory);
}

static void test_shared_vector(void **state)
{
	struct agp_hdr *h = make(1, HOUR_NS, 3);
	(void)state;

	for (int64_t i = 1; i <= 10000; i++)
		assert_int_equal(agp_hdr_record(h, i * 1000), 0);
	assert_int_equal(agp_hdr_count(h), 10000);
	assert_int_equal(agp_hdr_value_at_percentile(h, 50), 5001215);
	assert_int_equal(agp_hdr_value_at_percentile(h, 99), 9904127);
	assert_int_equal(agp_hdr_value_at_percentile(h, 99.9), 9994239);
	assert_int_equal(agp_hdr_value_at_percentile(h, 100), 10002431);
	assert_int_equal(agp_hdr_value_at_percentile(h, 0), 1000);
	assert_int_equal(agp_hdr_max_equivalent(h), 10002431);
	assert_int_equal(agp_hdr_max(h), 10000000);
	assert_int_equal(agp_hdr_min(h), 1000);
	assert_int_equal(agp_hdr_min_equivalent(h), 1000);
	/* Exact mean 5000500; the reference's midpoint mean 5000504.758 is within precision. */
	assert_true(agp_hdr_mean(h) == 5000500.0);
	assert_true(fabs(agp_hdr_mean_equivalent(h) - 5000504.758) < 0.0005);
	assert_true(fabs(agp_hdr_mean(h) - agp_hdr_mean_equivalent(h)) / agp_hdr_mean(h) < 1e-3);
	assert_true(fabs(agp_hdr_stddev_equivalent(h) - 2886751.647) < 0.0005);
	/* Population stddev of 1000*(1..n): 1000*sqrt((n^2-1)/12). */
	assert_true(fabs(agp_hdr_stddev(h) - 1000.0 * sqrt((1e8 - 1) / 12.0)) < 1e-6);
	assert_true(agp_hdr_sums_exact(h));
	agp_hdr_destroy(h);
}

static void test_equivalents(void **state)
{
	struct agp_hdr *h = make(1, HOUR_NS, 3);
	(void)state;

	/* Single-unit resolution below 2048, then ranges double per bucket. */
	assert_int_equal(agp_hdr_equivalent_range(h, 2047), 1);
	assert_int_equal(agp_hdr_equivalent_range(h, 2048), 2);
	assert_int_equal(agp_hdr_lowest_equivalent(h, 10007), 10000);
	assert_int_equal(agp_hdr_highest_equivalent(h, 10007), 10007);
	assert_int_equal(agp_hdr_median_equivalent(h, 10007), 10004);
	assert_int_equal(agp_hdr_highest_equivalent(h, 5000000), 5001215);
	assert_int_equal(agp_hdr_lowest_equivalent(h, 5000000), 4997120);
	assert_int_equal(agp_hdr_median_equivalent(h, 5000000), 4997120 + 2048);
	for (int32_t i = 0; i < h->cfg.counts_len; i += 97) {
		int64_t v = agp_hdr_value_at_index(h, i);
		assert_int_equal(agp__hdr_index(h, v), i);
		assert_int_equal(agp__hdr_index(h, agp_hdr_highest_equivalent(h, v)), i);
	}
	agp_hdr_destroy(h);
}

static int64_t draw(enum shape s)
{
	switch (s) {
	case UNIFORM:
		return 1 + (int64_t)(rng_unit() * 1e9);
	case LOGNORMAL:
		/* Latency-like: median ~200 us, heavy right tail. */
		return (int64_t)exp(12.2 + 1.5 * rng_normal()) + 1;
	case BIMODAL:
	default:
		return rng_unit() < 0.8 ? (int64_t)(50000 + 5000 * fabs(rng_normal()))
		                        : (int64_t)(2e8 + 3e7 * fabs(rng_normal()));
	}
}

static void check_accuracy(enum shape s, int figures)
{
	enum { N = 100000 };
	static const double ps[] = {0, 1, 10, 25, 50, 75, 90, 95, 99, 99.5, 99.9, 99.99, 100};
	int64_t *values = malloc(N * sizeof(*values));
	struct agp_hdr *h = make(1, HOUR_NS, figures);
	double bound = pow(10.0, -figures);
	long double sum = 0;

	for (int i = 0; i < N; i++) {
		values[i] = draw(s);
		if (values[i] > HOUR_NS)
			values[i] = HOUR_NS;
		sum += values[i];
		assert_int_equal(agp_hdr_record(h, values[i]), 0);
	}
	qsort(values, N, sizeof(*values), cmp_i64);
	for (size_t k = 0; k < sizeof(ps) / sizeof(ps[0]); k++) {
		int64_t rank = (int64_t)((ps[k] / 100) * N + 0.5);
		int64_t exact = values[(rank < 1 ? 1 : rank) - 1];
		int64_t got = agp_hdr_value_at_percentile(h, ps[k]);

		/* Same bucket as the exact answer, hence within the configured precision. */
		assert_int_equal(agp_hdr_lowest_equivalent(h, got),
		                 agp_hdr_lowest_equivalent(h, exact));
		if (fabs((double)(got - exact)) / (double)exact > bound)
			fail_msg("p%g: %lld vs exact %lld exceeds 10^-%d", ps[k], (long long)got,
			         (long long)exact, figures);
	}
	/* The block walk (both directions) agrees with a full walk at every 0.1%. */
	for (int p = 0; p <= 1000; p++)
		assert_int_equal(agp_hdr_value_at_percentile(h, p / 10.0),
		                 brute_percentile(h, p / 10.0));
	assert_int_equal(agp_hdr_min(h), values[0]);
	assert_int_equal(agp_hdr_max(h), values[N - 1]);
	assert_true(fabs(agp_hdr_mean(h) - (double)(sum / N)) <= 1e-9 * (double)(sum / N));
	agp_hdr_destroy(h);
	free(values);
}

static void test_accuracy_uniform(void **state)
{
	(void)state;
	check_accuracy(UNIFORM, 3);
	check_accuracy(UNIFORM, 2);
}

static void test_accuracy_lognormal(void **state)
{
	(void)state;
	check_accuracy(LOGNORMAL, 3);
	check_accuracy(LOGNORMAL, 4);
}

static void test_accuracy_bimodal(void **state)
{
	(void)state;
	check_accuracy(BIMODAL, 3);
}

static void test_stddev_exact(void **state)
{
	/* Large offset, small spread: the cancellation case of sumsq/n - mean^2. */
	struct agp_hdr *h = make(1, HOUR_NS, 3);
	int64_t vals[] = {3000000000001, 3000000000003, 3000000000007, 3000000000011};
	double mean = 0, dev = 0;
	(void)state;

	for (int i = 0; i < 4; i++) {
		agp_hdr_record(h, vals[i]);
		mean += (double)(vals[i] - 3000000000000) / 4;
	}
	for (int i = 0; i < 4; i++)
		dev += pow((double)(vals[i] - 3000000000000) - mean, 2) / 4;
	assert_true(fabs(agp_hdr_stddev(h) - sqrt(dev)) < 1e-9);
	assert_true(fabs(agp_hdr_mean(h) - (3000000000000.0 + mean)) < 1e-3);
	agp_hdr_destroy(h);
}

static void assert_same_histogram(const struct agp_hdr *a, const struct agp_hdr *b)
{
	assert_int_equal(a->cfg.counts_len, b->cfg.counts_len);
	assert_memory_equal(a->counts, b->counts, (size_t)a->cfg.counts_len * sizeof(int64_t));
	assert_memory_equal(a->block_counts, b->block_counts,
	                    (size_t)a->cfg.block_count * sizeof(uint64_t));
	assert_memory_equal(a->occupied, b->occupied, (size_t)a->cfg.bitmap_words * 8);
	assert_int_equal(a->total_count, b->total_count);
	assert_int_equal(a->clamped_count, b->clamped_count);
	assert_int_equal(agp_hdr_min(a), agp_hdr_min(b));
	assert_int_equal(agp_hdr_max(a), agp_hdr_max(b));
	assert_true(a->sum == b->sum);
	assert_true(a->sum_squares == b->sum_squares);
}

static void test_merge_equals_union(void **state)
{
	struct agp_hdr *a = make(1, HOUR_NS, 3), *b = make(1, HOUR_NS, 3);
	struct agp_hdr *all = make(1, HOUR_NS, 3), *coarse = make(1, HOUR_NS, 2);
	(void)state;

	for (int i = 0; i < 50000; i++) {
		int64_t v = draw(i % 2 ? LOGNORMAL : BIMODAL);
		agp_hdr_record(i % 3 ? a : b, v);
		agp_hdr_record(all, v);
	}
	agp_hdr_record(b, HOUR_NS * 2); /* clamped on both sides */
	agp_hdr_record(all, HOUR_NS * 2);
	assert_int_equal(agp_hdr_merge(a, b), 0);
	assert_same_histogram(a, all);
	for (int p = 0; p <= 100; p++)
		assert_int_equal(agp_hdr_value_at_percentile(a, p),
		                 agp_hdr_value_at_percentile(all, p));

	/* A different layout re-buckets: same total, percentiles within the coarse precision. */
	assert_int_equal(agp_hdr_merge(coarse, all), 0);
	assert_int_equal(agp_hdr_count(coarse), agp_hdr_count(all));
	assert_int_equal(agp_hdr_clamped(coarse), 1);
	for (int p = 1; p < 100; p += 7) {
		double x = (double)agp_hdr_value_at_percentile(coarse, p);
		double y = (double)agp_hdr_value_at_percentile(all, p);
		assert_true(fabs(x - y) / y < 1e-2);
	}
	/* Merging an empty histogram changes nothing. */
	agp_hdr_reset(b);
	assert_int_equal(agp_hdr_merge(a, b), 0);
	assert_same_histogram(a, all);
	agp_hdr_destroy(a);
	agp_hdr_destroy(b);
	agp_hdr_destroy(all);
	agp_hdr_destroy(coarse);
}

static void test_reset(void **state)
{
	struct agp_hdr *h = make(1, HOUR_NS, 3), *fresh = make(1, HOUR_NS, 3);
	(void)state;

	for (int i = 0; i < 1000; i++)
		agp_hdr_record(h, draw(LOGNORMAL));
	agp_hdr_record(h, HOUR_NS + 1);
	agp_hdr_reset(h);
	assert_same_histogram(h, fresh);
	assert_int_equal(agp_hdr_value_at_percentile(h, 99), 0);
	assert_true(agp_hdr_mean(h) == 0.0);
	assert_int_equal(agp_hdr_max_equivalent(h), 0);
	agp_hdr_record(h, 777);
	assert_int_equal(agp_hdr_min(h), 777);
	assert_int_equal(agp_hdr_max(h), 777);
	assert_int_equal(agp_hdr_value_at_percentile(h, 50), 777);
	agp_hdr_destroy(h);
	agp_hdr_destroy(fresh);
}

static void test_clamping_and_rejection(void **state)
{
	struct agp_hdr *h = make(1, HOUR_NS, 3);
	(void)state;

	assert_int_equal(agp_hdr_record(h, -1), -EINVAL);
	assert_int_equal(agp_hdr_record_n(h, 5, -2), -EINVAL);
	assert_int_equal(agp_hdr_record_n(h, INT64_MIN, 1), -EINVAL);
	assert_int_equal(agp_hdr_count(h), 0);
	assert_int_equal(agp_hdr_record(h, HOUR_NS * 5), 0);
	assert_int_equal(agp_hdr_record_n(h, INT64_MAX, 3), 0);
	assert_int_equal(agp_hdr_record(h, HOUR_NS), 0); /* the limit itself is in range */
	assert_int_equal(agp_hdr_count(h), 5);
	assert_int_equal(agp_hdr_clamped(h), 4);
	assert_int_equal(agp_hdr_max(h), HOUR_NS);
	assert_int_equal(agp_hdr_count_at_value(h, HOUR_NS), 5);
	assert_int_equal(agp_hdr_record_n(h, 10, 0), 0);
	assert_int_equal(agp_hdr_count(h), 5);
	/* Totals that would pass INT64_MAX are refused whole. */
	assert_int_equal(agp_hdr_record_n(h, 10, INT64_MAX - 4), -EOVERFLOW);
	assert_int_equal(agp_hdr_record_corrected_n(h, 1000, INT64_MAX / 4, 100), -EOVERFLOW);
	assert_int_equal(agp_hdr_count(h), 5);
	assert_int_equal(agp_hdr_count_at_value(h, 10), 0);
	assert_int_equal(agp_hdr_record_n(h, 10, INT64_MAX - 5), 0);
	assert_int_equal(agp_hdr_count(h), INT64_MAX);
	agp_hdr_destroy(h);
}

static void test_corrected_hand_computed(void **state)
{
	struct agp_hdr *h = make(1, HOUR_NS, 3);
	(void)state;

	/* 1000 with interval 100: 1000 itself and the hidden 900, 800, ..., 100. */
	assert_int_equal(agp_hdr_record_corrected(h, 1000, 100), 0);
	assert_int_equal(agp_hdr_count(h), 10);
	for (int64_t v = 100; v <= 1000; v += 100)
		assert_int_equal(agp_hdr_count_at_value(h, v), 1);
	assert_int_equal(agp_hdr_count_at_value(h, 50), 0);
	assert_int_equal(agp_hdr_min(h), 100);
	assert_true(agp_hdr_mean(h) == 550.0);
	/* At or below the interval nothing is added; a non-positive interval disables it. */
	agp_hdr_reset(h);
	assert_int_equal(agp_hdr_record_corrected(h, 100, 100), 0);
	assert_int_equal(agp_hdr_record_corrected(h, 5000, 0), 0);
	assert_int_equal(agp_hdr_count(h), 2);
	/* 250 with interval 100: hidden 150 only (50 is below the interval). */
	agp_hdr_reset(h);
	assert_int_equal(agp_hdr_record_corrected_n(h, 250, 3, 100), 0);
	assert_int_equal(agp_hdr_count_at_value(h, 250), 3);
	assert_int_equal(agp_hdr_count_at_value(h, 150), 3);
	assert_int_equal(agp_hdr_count(h), 6);
	assert_int_equal(agp_hdr_record_corrected(h, -5, 100), -EINVAL);
	agp_hdr_destroy(h);
}

/* The run-based correction must equal recording every hidden value one at a time. */
static void check_corrected_against_loop(int64_t lowest, int64_t highest, int figures,
                                         int64_t value, int64_t count, int64_t interval)
{
	struct agp_hdr *fast = make(lowest, highest, figures),
	               *slow = make(lowest, highest, figures);

	assert_int_equal(agp_hdr_record_corrected_n(fast, value, count, interval), 0);
	assert_int_equal(agp_hdr_record_n(slow, value, count), 0);
	if (interval > 0 && value > interval)
		for (int64_t m = value - interval; m >= interval; m -= interval)
			assert_int_equal(agp_hdr_record_n(slow, m, count), 0);
	assert_same_histogram(fast, slow);
	assert_true(fabs(agp_hdr_stddev(fast) - agp_hdr_stddev(slow)) < 1e-6);
	agp_hdr_destroy(fast);
	agp_hdr_destroy(slow);
}

static void test_corrected_against_loop(void **state)
{
	(void)state;
	check_corrected_against_loop(1, HOUR_NS, 3, 1000000, 1, 3);
	check_corrected_against_loop(1, HOUR_NS, 3, 123456789, 2, 997);
	check_corrected_against_loop(1, HOUR_NS, 2, 5000000, 1, 1);
	check_corrected_against_loop(1000, INT64_C(1000000000), 3, 99999999, 1, 7);
	/* Clamped: values above 10000 are recorded as 10000 and counted. */
	check_corrected_against_loop(1, 10000, 2, 20000, 1, 1000);
	check_corrected_against_loop(1, 10000, 2, 1000000, 5, 33);
}

/* 2^33 with interval 1 hides every value 1..2^33-1: 8.6e9 samples, checked by closed forms. */
static void test_corrected_at_scale(void **state)
{
	struct agp_hdr *h = make(1, HOUR_NS, 3);
	const unsigned __int128 v = (unsigned __int128)1 << 33;
	struct agp_hdr_iter it;
	int64_t seen = 0;
	(void)state;

	assert_int_equal(agp_hdr_record_corrected(h, (int64_t)v, 1), 0);
	assert_int_equal(agp_hdr_count(h), (int64_t)v);
	assert_true(h->sum == v * (v + 1) / 2);
	assert_true(h->sum_squares == v * (v + 1) * (2 * v + 1) / 6);
	assert_int_equal(agp_hdr_min(h), 1);
	assert_true(agp_hdr_mean(h) == ((double)v + 1) / 2);
	/* Each entry holds exactly the integers of its range that are <= v. */
	agp_hdr_iter_init(&it, h);
	while (agp_hdr_iter_next(&it)) {
		int64_t top = it.highest_equivalent_value < (int64_t)v ? it.highest_equivalent_value
		                                                       : (int64_t)v;
		assert_int_equal(it.count, top - it.value + 1);
		seen += it.count;
	}
	assert_int_equal(seen, (int64_t)v);
	agp_hdr_destroy(h);
}

static void test_iterators(void **state)
{
	struct agp_hdr *h = make(1, HOUR_NS, 3);
	struct agp_hdr_iter it;
	int64_t seen = 0, last = -1, steps = 0;
	double last_p = -1;
	(void)state;

	for (int i = 0; i < 20000; i++)
		agp_hdr_record(h, draw(BIMODAL));
	agp_hdr_iter_init(&it, h);
	while (agp_hdr_iter_next(&it)) {
		assert_true(it.value > last);
		assert_true(it.count > 0);
		assert_int_equal(it.count, h->counts[it.index]);
		assert_int_equal(it.highest_equivalent_value,
		                 agp_hdr_highest_equivalent(h, it.value));
		last = it.value;
		seen += it.count;
		assert_int_equal(it.cumulative_count, seen);
	}
	assert_int_equal(seen, agp_hdr_count(h));

	agp_hdr_iter_percentile_init(&it, h, 5);
	while (agp_hdr_iter_percentile_next(&it)) {
		assert_true(it.percentile >= last_p);
		last_p = it.percentile;
		steps++;
	}
	assert_true(last_p == 100.0);
	assert_int_equal(it.cumulative_count, agp_hdr_count(h));
	assert_true(steps > 50);

	/* 2^62 samples: levels crowd against 100% until rounding stops them; it must end. */
	agp_hdr_reset(h);
	assert_int_equal(agp_hdr_record_n(h, 1000, INT64_C(1) << 62), 0);
	assert_int_equal(agp_hdr_record(h, 2000), 0);
	agp_hdr_iter_percentile_init(&it, h, 5);
	for (steps = 0, last_p = -1; agp_hdr_iter_percentile_next(&it); steps++) {
		assert_true(steps < 100000);
		assert_true(it.percentile >= last_p);
		last_p = it.percentile;
	}
	assert_true(last_p == 100.0);
	assert_int_equal(it.highest_equivalent_value, 2000);
	agp_hdr_destroy(h);
}

/* The block formula for midpoint means equals an entry-by-entry sum, on every layout. */
static void test_mean_equivalent_layouts(void **state)
{
	(void)state;
	for (int figures = 1; figures <= 5; figures++) {
		for (int64_t lowest = 1; lowest <= 1000; lowest *= 1000) {
			struct agp_hdr *h = make(lowest, HOUR_NS, figures);
			unsigned __int128 total = 0;

			for (int i = 0; i < 20000; i++)
				agp_hdr_record_n(h, draw(i % 2 ? LOGNORMAL : UNIFORM), 1 + i % 5);
			for (int32_t i = 0; i < h->cfg.counts_len; i++)
				total += (unsigned __int128)(uint64_t)h->counts[i] *
				         (uint64_t)agp_hdr_median_equivalent(
				             h, agp_hdr_value_at_index(h, i));
			assert_true(agp_hdr_mean_equivalent(h) ==
			            (double)total / (double)h->total_count);
			assert_int_equal(agp_hdr_merge(h, h), -EINVAL);
			agp_hdr_destroy(h);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_config_vector),
	    cmocka_unit_test(test_init_in_caller_memory),
	    cmocka_unit_test(test_shared_vector),
	    cmocka_unit_test(test_equivalents),
	    cmocka_unit_test(test_accuracy_uniform),
	    cmocka_unit_test(test_accuracy_lognormal),
	    cmocka_unit_test(test_accuracy_bimodal),
	    cmocka_unit_test(test_stddev_exact),
	    cmocka_unit_test(test_merge_equals_union),
	    cmocka_unit_test(test_reset),
	    cmocka_unit_test(test_clamping_and_rejection),
	    cmocka_unit_test(test_corrected_hand_computed),
	    cmocka_unit_test(test_corrected_against_loop),
	    cmocka_unit_test(test_corrected_at_scale),
	    cmocka_unit_test(test_iterators),
	    cmocka_unit_test(test_top_of_int64),
	    cmocka_unit_test(test_record_values_batch),
	    cmocka_unit_test(test_mean_equivalent_layouts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
