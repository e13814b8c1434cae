/*
 * bench/hdr: the HDR histogram on 30M latency-like values (1 ns .. 1 h, 3 figures).
 *
 * Prints medians of repeated trials for record, value_at_percentile, mean, merge and memory,
 * each beside two yardsticks:
 *  - "floor": the reference's algorithm re-done here and measured in the same run (record:
 *    index + one counter + min/max; percentile and mean: a walk over all 33792 counters;
 *    merge: adding all 33792 counters), so ratios do not depend on this machine's day;
 *  - "issue": HdrHistogram_c's figures measured on this machine and quoted in the issue
 *    (record 2.2 ns, value_at_percentile 1.8 us, mean 74 us, merge 48 us, 270 KB).
 * Ratios are speed-ups (yardstick / ours) for times and ours / yardstick for memory.
 *
 * Run: build with -DAGP_BUILD_BENCH=ON, then ./build/bench/bench_hdr [values] (default 30M,
 * at least 16M). Record is timed over the last 15M values: 15 trials re-recording the same
 * 1M values into the nearly full histograms; queries and merge run on all the values.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench/bench_util.h"
#include "hdr/histogram.h"

#define HOUR_NS INT64_C(3600000000000)
#define CHUNK   (1 << 20)
#define TRIALS  15

static const double issue_record_ns = 2.2, issue_p99_us = 1.8, issue_mean_us = 74,
                    issue_merge_us = 48, issue_memory_bytes = 270e3;

static uint64_t rng = 0x243f6a8885a308d3ull;

static double unit(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return ((double)(rng >> 11) + 0.5) * 0x1.0p-53;
}

/* Latency-like: 98% around 200 us (lognormal, sigma 1), 2% slow around 40 ms (sigma 1.5). */
static int64_t latency(void)
{
	double z = sqrt(-2 * log(unit())) * cos(2 * M_PI * unit());
	double v = unit() < 0.98 ? exp(log(200e3) + z) : exp(log(40e6) + 1.5 * z);

	if (v < 1)
		v = 1;
	if (v > (double)HOUR_NS)
		v = (double)HOUR_NS;
	return (int64_t)v;
}

/* ---- the reference's algorithms, re-done for a same-run yardstick ---- */

struct plain {
	int64_t *counts;
	int64_t total, min, max;
};

static void plain_record(struct plain *p, const struct agp_hdr *layout, int64_t v)
{
	p->counts[agp__hdr_index(layout, v)]++;
	p->total++;
	if (v < p->min)
		p->min = v;
	if (v > p->max)
		p->max = v;
}

static int64_t plain_percentile(const struct plain *p, const struct agp_hdr *layout, double pct)
{
	int64_t target = (int64_t)(pct / 100 * (double)p->total + 0.5), run = 0;

	for (int32_t i = 0; i < layout->cfg.counts_len; i++) {
		run += p->counts[i];
		if (run >= target)
			return agp_hdr_highest_equivalent(layout,
			                                  agp_hdr_value_at_index(layout, i));
	}
	return 0;
}

static double plain_mean(const struct plain *p, const struct agp_hdr *layout)
{
	double sum = 0;

	for (int32_t i = 0; i < layout->cfg.counts_len; i++)
		if (p->counts[i])
			sum += (double)p->counts[i] *
			       (double)agp_hdr_median_equivalent(layout,
			                                         agp_hdr_value_at_index(layout, i));
	return sum / (double)p->total;
}

static void plain_merge(struct plain *to, const struct plain *from, int32_t len)
{
	for (int32_t i = 0; i < len; i++)
		to->counts[i] += from->counts[i];
	to->total += from->total;
}

/* Timed loops live in their own functions, so their code does not depend on main's. */
__attribute__((noinline)) static void record_each(struct agp_hdr *h, const int64_t *v, long n)
{
	for (long i = 0; i < n; i++)
		agp_hdr_record(h, v[i]);
}

__attribute__((noinline)) static void
plain_record_each(struct plain *p, const struct agp_hdr *layout, const int64_t *v, long n)
{
	for (long i = 0; i < n; i++)
		plain_record(p, layout, v[i]);
}

/* Keeps a result alive so the compiler cannot drop the call that produced it. */
static inline void keep_i(int64_t x)
{
	__asm__ __volatile__("" : : "r"(x) : "memory");
}

static inline void keep_d(double x)
{
	__asm__ __volatile__("" : : "x"(x) : "memory");
}

int main(int argc, char **argv)
{
	long total_values = argc > 1 ? atol(argv[1]) : 30000000L;
	/* The record trials add TRIALS chunks; the build makes up the rest of total_values. */
	long build_values = total_values - (long)TRIALS * CHUNK;
	int chunks = (int)((build_values + CHUNK - 1) / CHUNK);
	int64_t *values = malloc(CHUNK * sizeof(*values));
	double ours_rec[TRIALS], floor_rec[TRIALS], batch_rec[TRIALS];
	double t[TRIALS], f[TRIALS];
	struct agp_hdr *h, *dst, *floor_layout;
	struct plain ref = {0}, ref_dst = {0};
	struct agp_hdr *batch;
	double rec_ns, rec_floor, rec_batch, p99_ns, p99_floor, mean_ns, mean_eq_ns, mean_floor,
	    merge_ns, merge_floor;
	const int queries = 2000;

	if (build_values < CHUNK) {
		fprintf(stderr, "bench_hdr: at least %d values\n", (TRIALS + 1) * CHUNK);
		return 2;
	}
	if (agp_hdr_create(1, HOUR_NS, 3, &h) || agp_hdr_create(1, HOUR_NS, 3, &dst) ||
	    agp_hdr_create(1, HOUR_NS, 3, &floor_layout) || agp_hdr_create(1, HOUR_NS, 3, &batch)) {
		fprintf(stderr, "bench_hdr: cannot create histograms\n");
		return 1;
	}
	ref.counts = calloc((size_t)h->cfg.counts_len, sizeof(int64_t));
	ref_dst.counts = calloc((size_t)h->cfg.counts_len, sizeof(int64_t));
	ref.min = ref_dst.min = INT64_MAX;

	/* Build the 30M-value histograms (untimed), ours one value at a time, the batch twin
	 * through agp_hdr_record_values(), the floor's with its own loop. */
	for (int c = 0; c < chunks; c++) {
		long n =
		    build_values - (long)c * CHUNK < CHUNK ? build_values - (long)c * CHUNK : CHUNK;

		for (long i = 0; i < n; i++)
			values[i] = latency();
		for (long i = 0; i < n; i++)
			agp_hdr_record(h, values[i]);
		for (long i = 0; i < n; i++)
			plain_record(&ref, floor_layout, values[i]);
		agp_hdr_record_values(batch, values, (size_t)n);
	}
	/* Record: the same 1M values again per trial into the full histograms, the three
	 * variants alternating so that they share whatever else the machine is doing. */
	for (int k = 0; k < TRIALS; k++) {
		double t0 = (double)agp_bench_now_ns();

		record_each(h, values, CHUNK);
		ours_rec[k] = ((double)agp_bench_now_ns() - t0) / CHUNK;
		t0 = (double)agp_bench_now_ns();
		plain_record_each(&ref, floor_layout, values, CHUNK);
		floor_rec[k] = ((double)agp_bench_now_ns() - t0) / CHUNK;
		t0 = (double)agp_bench_now_ns();
		agp_hdr_record_values(batch, values, CHUNK);
		batch_rec[k] = ((double)agp_bench_now_ns() - t0) / CHUNK;
	}
	rec_ns = agp_bench_median(ours_rec, TRIALS);
	rec_floor = agp_bench_median(floor_rec, TRIALS);
	rec_batch = agp_bench_median(batch_rec, TRIALS);
	if (memcmp(batch->counts, h->counts, (size_t)h->cfg.counts_len * sizeof(int64_t)) ||
	    batch->sum != h->sum || batch->sum_squares != h->sum_squares) {
		fprintf(stderr, "bench_hdr: batch recording disagrees with single recording\n");
		return 1;
	}

	/* value_at_percentile(99). */
	for (int k = 0; k < TRIALS; k++) {
		double t0 = (double)agp_bench_now_ns();
		for (int q = 0; q < queries; q++)
			keep_i(agp_hdr_value_at_percentile(h, 99.0));
		t[k] = ((double)agp_bench_now_ns() - t0) / queries;
		t0 = (double)agp_bench_now_ns();
		for (int q = 0; q < queries / 10; q++)
			keep_i(plain_percentile(&ref, floor_layout, 99.0));
		f[k] = ((double)agp_bench_now_ns() - t0) / (queries / 10);
	}
	p99_ns = agp_bench_median(t, TRIALS);
	p99_floor = agp_bench_median(f, TRIALS);
	if (agp_hdr_value_at_percentile(h, 99.0) != plain_percentile(&ref, floor_layout, 99.0)) {
		fprintf(stderr, "bench_hdr: p99 disagrees with the reference walk\n");
		return 1;
	}

	/* Mean: exact O(1), the midpoint convention over occupied blocks, and the full walk. */
	for (int k = 0; k < TRIALS; k++) {
		double t0 = (double)agp_bench_now_ns();
		for (int q = 0; q < queries * 100; q++)
			keep_d(agp_hdr_mean(h));
		t[k] = ((double)agp_bench_now_ns() - t0) / (queries * 100);
		t0 = (double)agp_bench_now_ns();
		for (int q = 0; q < 20; q++)
			keep_d(plain_mean(&ref, floor_layout));
		f[k] = ((double)agp_bench_now_ns() - t0) / 20;
	}
	mean_ns = agp_bench_median(t, TRIALS);
	mean_floor = agp_bench_median(f, TRIALS);
	for (int k = 0; k < TRIALS; k++) {
		double t0 = (double)agp_bench_now_ns();
		for (int q = 0; q < 20; q++)
			keep_d(agp_hdr_mean_equivalent(h));
		t[k] = ((double)agp_bench_now_ns() - t0) / 20;
	}
	mean_eq_ns = agp_bench_median(t, TRIALS);

	/* Merge the 30M histogram into another of the same layout. */
	for (int k = 0; k < TRIALS; k++) {
		double t0 = (double)agp_bench_now_ns();
		for (int q = 0; q < 20; q++)
			agp_hdr_merge(dst, h);
		t[k] = ((double)agp_bench_now_ns() - t0) / 20;
		t0 = (double)agp_bench_now_ns();
		for (int q = 0; q < 20; q++)
			plain_merge(&ref_dst, &ref, h->cfg.counts_len);
		f[k] = ((double)agp_bench_now_ns() - t0) / 20;
	}
	merge_ns = agp_bench_median(t, TRIALS);
	merge_floor = agp_bench_median(f, TRIALS);

	{
		int occupied = 0;
		for (int w = 0; w < h->cfg.bitmap_words; w++)
			occupied += __builtin_popcountll(h->occupied[w]);
		printf("bench_hdr: %lld values, 1 ns..1 h, 3 figures; %d of %d blocks occupied; "
		       "medians of %d trials\n",
		       (long long)agp_hdr_count(h), occupied, h->cfg.block_count, TRIALS);
	}
	printf("p50 %lld ns, p99 %lld ns, p99.9 %lld ns, max %lld ns, mean %.1f ns\n",
	       (long long)agp_hdr_value_at_percentile(h, 50),
	       (long long)agp_hdr_value_at_percentile(h, 99),
	       (long long)agp_hdr_value_at_percentile(h, 99.9), (long long)agp_hdr_max(h),
	       agp_hdr_mean(h));
	printf("%-28s %12s %12s %8s %12s %8s\n", "what", "ours", "floor", "speedup", "issue",
	       "speedup");
	printf("%-28s %9.2f ns %9.2f ns %7.2fx %9.2f ns %7.2fx\n", "record", rec_ns, rec_floor,
	       rec_floor / rec_ns, issue_record_ns, issue_record_ns / rec_ns);
	printf("%-28s %9.2f ns %9.2f ns %7.2fx %9.2f ns %7.2fx\n", "record (batch of 1M)",
	       rec_batch, rec_floor, rec_floor / rec_batch, issue_record_ns,
	       issue_record_ns / rec_batch);
	printf("%-28s %9.3f us %9.3f us %7.1fx %9.3f us %7.1fx\n", "value_at_percentile(99)",
	       p99_ns / 1e3, p99_floor / 1e3, p99_floor / p99_ns, issue_p99_us,
	       issue_p99_us * 1e3 / p99_ns);
	printf("%-28s %9.4f us %9.3f us %7.0fx %9.3f us %7.0fx\n", "mean (exact, O(1))",
	       mean_ns / 1e3, mean_floor / 1e3, mean_floor / mean_ns, issue_mean_us,
	       issue_mean_us * 1e3 / mean_ns);
	printf("%-28s %9.3f us %9.3f us %7.1fx %9.3f us %7.1fx\n", "mean (midpoints, reference)",
	       mean_eq_ns / 1e3, mean_floor / 1e3, mean_floor / mean_eq_ns, issue_mean_us,
	       issue_mean_us * 1e3 / mean_eq_ns);
	printf("%-28s %9.3f us %9.3f us %7.1fx %9.3f us %7.1fx\n", "merge", merge_ns / 1e3,
	       merge_floor / 1e3, merge_floor / merge_ns, issue_merge_us,
	       issue_merge_us * 1e3 / merge_ns);
	printf("%-28s %9zu B  %9zu B  %7.3fx %9.0f B  %7.3fx  (ours / yardstick)\n", "memory",
	       agp_hdr_footprint(h), (size_t)h->cfg.counts_len * sizeof(int64_t),
	       (double)agp_hdr_footprint(h) / ((double)h->cfg.counts_len * sizeof(int64_t)),
	       issue_memory_bytes, (double)agp_hdr_footprint(h) / issue_memory_bytes);
	printf("targets: p99 query >= 2x issue: %s; merge >= 2x issue: %s\n",
	       issue_p99_us * 1e3 / p99_ns >= 2 ? "met" : "MISSED",
	       issue_merge_us * 1e3 / merge_ns >= 2 ? "met" : "MISSED");

	agp_hdr_destroy(h);
	agp_hdr_destroy(dst);
	agp_hdr_destroy(floor_layout);
	agp_hdr_destroy(batch);
	free(ref.counts);
	free(ref_dst.counts);
	free(values);
	return 0;
}
