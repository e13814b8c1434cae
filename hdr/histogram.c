/*
 * HDR histogram: layout arithmetic, recording, merge, queries and iteration.
 * The design (block sums, occupancy bitmap, exact running sums) is explained in
 * hdr_histogram.h; this file keeps the invariants:
 *   block_counts[b] == sum of counts[b*64 .. b*64+63]
 *   occupied bit b set <=> block_counts[b] != 0 (counts only grow until a reset)
 *   total_count == sum of counts
 */
#include "hdr/histogram.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

typedef unsigned __int128 u128;

/* ------------------------------------------------------------------ layout */

int agp_hdr_config_init(int64_t lowest, int64_t highest, int significant_figures,
                        struct agp_hdr_config *cfg)
{
	struct agp_hdr_config c;
	int64_t single_unit_limit = 2;
	int32_t count_magnitude = 0;
	int64_t untrackable;

	if (lowest < 1 || significant_figures < 1 || significant_figures > 5 ||
	    highest / 2 < lowest)
		return -EINVAL;

	memset(&c, 0, sizeof(c));
	c.lowest_discernible_value = lowest;
	c.highest_trackable_value = highest;
	c.significant_figures = significant_figures;

	/* The sub-bucket count is the smallest power of two that resolves single units up to
	 * 2 * 10^figures, i.e. ceil(log2(2 * 10^figures)), computed in integers. */
	for (int i = 0; i < significant_figures; i++)
		single_unit_limit *= 10;
	while ((INT64_C(1) << count_magnitude) < single_unit_limit)
		count_magnitude++;
	c.sub_bucket_half_count_magnitude = (count_magnitude > 1 ? count_magnitude : 1) - 1;
	c.unit_magnitude = 63 - __builtin_clzll((uint64_t)lowest); /* floor(log2(lowest)) */
	c.sub_bucket_count = INT32_C(1) << (c.sub_bucket_half_count_magnitude + 1);
	c.sub_bucket_half_count = c.sub_bucket_count / 2;
	/* Checked before any shift by unit_magnitude, so the shifts below stay within int64. */
	if (c.unit_magnitude + c.sub_bucket_half_count_magnitude > 61)
		return -EINVAL;
	c.sub_bucket_mask = ((int64_t)c.sub_bucket_count - 1) << c.unit_magnitude;

	/* Buckets double the covered range until highest is below the first untrackable value;
	 * near the top of int64 one extra bucket covers the rest (as the reference does). */
	untrackable = (int64_t)c.sub_bucket_count << c.unit_magnitude;
	c.bucket_count = 1;
	while (untrackable <= highest) {
		if (untrackable > INT64_MAX / 2) {
			c.bucket_count++;
			break;
		}
		untrackable <<= 1;
		c.bucket_count++;
	}
	c.counts_len = (c.bucket_count + 1) * c.sub_bucket_half_count;
	c.block_count = (c.counts_len + AGP_HDR_BLOCK_LEN - 1) / AGP_HDR_BLOCK_LEN;
	c.bitmap_words = (c.block_count + 63) / 64;
	*cfg = c;
	return 0;
}

size_t agp_hdr_memory_size(const struct agp_hdr_config *cfg)
{
	return ((size_t)cfg->counts_len + (size_t)cfg->block_count + (size_t)cfg->bitmap_words) *
	       sizeof(uint64_t);
}

/* Sets up h over counts memory the caller guarantees to be zero. */
static void init_over_zeroed(struct agp_hdr *h, const struct agp_hdr_config *cfg,
                             void *counts_memory)
{
	memset(h, 0, sizeof(*h));
	h->cfg = *cfg;
	h->counts = counts_memory;
	h->block_counts = (uint64_t *)(h->counts + cfg->counts_len);
	h->occupied = h->block_counts + cfg->block_count;
	h->highest_trackable_value = cfg->highest_trackable_value;
	h->sub_bucket_mask = cfg->sub_bucket_mask;
	h->unit_magnitude = cfg->unit_magnitude;
	h->sub_bucket_half_count_magnitude = cfg->sub_bucket_half_count_magnitude;
	h->min_value = INT64_MAX;
	h->max_value = 0;
	h->sums_exact = true;
}

void agp_hdr_init(struct agp_hdr *h, const struct agp_hdr_config *cfg, void *counts_memory)
{
	memset(counts_memory, 0, agp_hdr_memory_size(cfg));
	init_over_zeroed(h, cfg, counts_memory);
}

/*
 * The allocating form maps its counts straight from the kernel: the pages
 * are zero already and stay unbacked until a value lands in them, so a
 * histogram whose values cluster in a few buckets (the usual case) costs a
 * few pages of resident memory, not the 270 KB of the whole default range.
 * The collector keeps hundreds of series; this is what keeps it small.
 */
int agp_hdr_create(int64_t lowest, int64_t highest, int significant_figures, struct agp_hdr **out)
{
	struct agp_hdr_config cfg;
	int rc = agp_hdr_config_init(lowest, highest, significant_figures, &cfg);
	if (rc)
		return rc;
	struct agp_hdr *h = malloc(sizeof(*h));
	if (!h)
		return -ENOMEM;
	size_t size = agp_hdr_memory_size(&cfg);
	void *memory = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (memory == MAP_FAILED) {
		free(h);
		return -ENOMEM;
	}
	init_over_zeroed(h, &cfg, memory);
	h->allocation = memory;
	*out = h;
	return 0;
}

void agp_hdr_destroy(struct agp_hdr *h)
{
	if (!h)
		return;
	if (h->allocation)
		munmap(h->allocation, agp_hdr_memory_size(&h->cfg));
	free(h);
}

size_t agp_hdr_footprint(const struct agp_hdr *h)
{
	return sizeof(*h) + agp_hdr_memory_size(&h->cfg);
}

/* Clears only the blocks that were ever occupied: cost and pages touched follow what was recorded.
 */
void agp_hdr_reset(struct agp_hdr *h)
{
	for (int32_t word = 0; word < h->cfg.bitmap_words; word++) {
		uint64_t bits = h->occupied[word];
		while (bits) {
			int32_t block = word * 64 + __builtin_ctzll(bits);
			bits &= bits - 1;
			int32_t first = block << AGP_HDR_BLOCK_SHIFT;
			int32_t length = h->cfg.counts_len - first < AGP_HDR_BLOCK_LEN
			                     ? h->cfg.counts_len - first
			                     : AGP_HDR_BLOCK_LEN;
			memset(&h->counts[first], 0, (size_t)length * sizeof(h->counts[0]));
			h->block_counts[block] = 0;
		}
		h->occupied[word] = 0;
	}
	h->total_count = 0;
	h->clamped_count = 0;
	h->min_value = INT64_MAX;
	h->max_value = 0;
	h->sum = 0;
	h->sum_squares = 0;
	h->sums_exact = true;
}

bool agp_hdr_same_layout(const struct agp_hdr *a, const struct agp_hdr *b)
{
	return a->cfg.lowest_discernible_value == b->cfg.lowest_discernible_value &&
	       a->cfg.highest_trackable_value == b->cfg.highest_trackable_value &&
	       a->cfg.significant_figures == b->cfg.significant_figures;
}

/* ------------------------------------------------------------ equivalents */

int64_t agp_hdr_value_at_index(const struct agp_hdr *h, int32_t index)
{
	int32_t half_magnitude = h->sub_bucket_half_count_magnitude;
	int32_t bucket = (index >> half_magnitude) - 1;
	int32_t sub = (index & (h->cfg.sub_bucket_half_count - 1)) + h->cfg.sub_bucket_half_count;

	/* Index block 0 is the lower half of bucket 0, which has no bucket of its own. */
	if (bucket < 0) {
		sub -= h->cfg.sub_bucket_half_count;
		bucket = 0;
	}
	return (int64_t)sub << (bucket + h->unit_magnitude);
}

/* Width of the bucket holding index (all values of a sub-bucket are equivalent). */
static int64_t index_range(const struct agp_hdr *h, int32_t index)
{
	int32_t bucket = (index >> h->sub_bucket_half_count_magnitude) - 1;

	return INT64_C(1) << (h->unit_magnitude + (bucket < 0 ? 0 : bucket));
}

static int32_t bucket_of(const struct agp_hdr *h, int64_t value)
{
	return 64 - __builtin_clzll((uint64_t)(value | h->sub_bucket_mask)) - h->unit_magnitude -
	       (h->sub_bucket_half_count_magnitude + 1);
}

int64_t agp_hdr_equivalent_range(const struct agp_hdr *h, int64_t value)
{
	return INT64_C(1) << (h->unit_magnitude + bucket_of(h, value));
}

int64_t agp_hdr_lowest_equivalent(const struct agp_hdr *h, int64_t value)
{
	int32_t shift = bucket_of(h, value) + h->unit_magnitude;

	return (value >> shift) << shift;
}

int64_t agp_hdr_highest_equivalent(const struct agp_hdr *h, int64_t value)
{
	/* Parenthesised: the next bucket may start at 2^63, the last value of this one may not. */
	return agp_hdr_lowest_equivalent(h, value) + (agp_hdr_equivalent_range(h, value) - 1);
}

int64_t agp_hdr_median_equivalent(const struct agp_hdr *h, int64_t value)
{
	return agp_hdr_lowest_equivalent(h, value) + (agp_hdr_equivalent_range(h, value) >> 1);
}

int64_t agp_hdr_count_at_value(const struct agp_hdr *h, int64_t value)
{
	if (value < 0 || value > h->highest_trackable_value)
		return 0;
	return h->counts[agp__hdr_index(h, value)];
}

/* -------------------------------------------------------------- recording */

static void note_extremes(struct agp_hdr *h, int64_t low, int64_t high)
{
	if (low < h->min_value)
		h->min_value = low;
	if (high > h->max_value)
		h->max_value = high;
}

int agp__hdr_record_slow(struct agp_hdr *h, int64_t value, int64_t count)
{
	int64_t total;

	if (value < 0 || count < 0)
		return -EINVAL;
	if (count == 0)
		return 0;
	if (__builtin_add_overflow(h->total_count, count, &total))
		return -EOVERFLOW;
	if (value > h->highest_trackable_value) {
		h->clamped_count += count;
		value = h->highest_trackable_value;
	}
	agp__hdr_count_at(h, agp__hdr_index(h, value), count);
	h->sum += (u128)(uint64_t)value * (uint64_t)count;
	h->sum_squares += (u128)(uint64_t)value * (uint64_t)value * (uint64_t)count;
	note_extremes(h, value, value);
	return 0;
}

size_t agp_hdr_record_values(struct agp_hdr *h, const int64_t *values, size_t n)
{
	/* Locals cannot alias the counts array, so the compiler keeps them in registers;
	 * through h they would be reloaded and stored around every counter increment. */
	int64_t *counts = h->counts;
	uint64_t *blocks = h->block_counts;
	const uint64_t highest = (uint64_t)h->highest_trackable_value;
	int64_t total = 0, clamped = 0, low = h->min_value, high = h->max_value;
	u128 sum = 0, squares = 0;
	size_t rejected = 0;

	for (size_t k = 0; k < n; k++) {
		int64_t value = values[k];
		int32_t index, block;

		if (__builtin_expect((uint64_t)value > highest, 0)) {
			if (value < 0) {
				rejected++;
				continue;
			}
			clamped++;
			value = (int64_t)highest;
		}
		index = agp__hdr_index(h, value);
		block = index >> AGP_HDR_BLOCK_SHIFT;
		counts[index]++;
		if (__builtin_expect(blocks[block] == 0, 0))
			h->occupied[block >> 6] |= UINT64_C(1) << (block & 63);
		blocks[block]++;
		total++;
		sum += (uint64_t)value;
		squares += (u128)(uint64_t)value * (uint64_t)value;
		low = value < low ? value : low;
		high = value > high ? value : high;
	}
	h->total_count += total;
	h->clamped_count += clamped;
	h->sum += sum;
	h->sum_squares += squares;
	h->min_value = low;
	h->max_value = high;
	return rejected;
}

/*
 * Adds `count` samples of each of n values top, top - step, ..., top - (n-1)*step, which all
 * fall into counts entry index. Sums use closed forms:
 *   sum   = n*top - step*S1,                S1 = n(n-1)/2
 *   sumsq = n*top^2 - 2*top*step*S1 + step^2*S2,   S2 = (n-1)n(2n-1)/6
 * evaluated modulo 2^128; the true results fit, so wrapping intermediates cancel exactly.
 */
static void add_run(struct agp_hdr *h, int32_t index, int64_t top, int64_t n, int64_t step,
                    int64_t count)
{
	u128 un = (uint64_t)n, ut = (uint64_t)top, us = (uint64_t)step, uc = (uint64_t)count;
	/* Divide before multiplying, so S1 and S2 are exact modulo 2^128 even where their
	 * product form would wrap first: one of n-1, n is even, one of n-1, n, 2n-1 is a
	 * multiple of 3. */
	u128 a = un - 1, b = un, c = 2 * un - 1;
	u128 s1 = (a % 2 == 0) ? (a / 2) * b : a * (b / 2);
	u128 s2;

	if (a % 2 == 0)
		a /= 2;
	else
		b /= 2;
	if (a % 3 == 0)
		a /= 3;
	else if (b % 3 == 0)
		b /= 3;
	else
		c /= 3;
	s2 = a * b * c;

	agp__hdr_count_at(h, index, n * count);
	h->sum += uc * (un * ut - us * s1);
	h->sum_squares += uc * (un * ut * ut - 2 * ut * us * s1 + us * us * s2);
	note_extremes(h, top - (n - 1) * step, top);
}

int agp_hdr_record_corrected_n(struct agp_hdr *h, int64_t value, int64_t count,
                               int64_t expected_interval)
{
	int64_t missing = 0, remaining = 0, added, total;
	int rc;

	if (value < 0 || count < 0)
		return -EINVAL;
	/* The hidden samples are value - k*interval for k = 1..remaining, all >= interval. */
	if (expected_interval > 0 && value > expected_interval) {
		missing = value - expected_interval;
		remaining = missing / expected_interval;
	}
	/* Refuse before recording anything, so a refusal leaves the histogram as it was. */
	if (__builtin_mul_overflow(remaining + 1, count, &added) ||
	    __builtin_add_overflow(h->total_count, added, &total))
		return -EOVERFLOW;
	rc = agp__hdr_record_slow(h, value, count);
	if (rc)
		return rc;
	while (remaining > 0) {
		int64_t n;

		if (missing > h->highest_trackable_value) {
			/* Every value still above the range is clamped to its top. */
			n = (missing - h->highest_trackable_value - 1) / expected_interval + 1;
			if (n > remaining)
				n = remaining;
			agp__hdr_record_slow(h, h->highest_trackable_value, n * count);
			h->clamped_count += n * count;
		} else {
			int32_t index = agp__hdr_index(h, missing);
			int64_t low = agp_hdr_value_at_index(h, index);

			/* One step per counts entry: every value of this entry at once. */
			n = (missing - low) / expected_interval + 1;
			if (n > remaining)
				n = remaining;
			add_run(h, index, missing, n, expected_interval, count);
		}
		missing -= n * expected_interval;
		remaining -= n;
	}
	return 0;
}

int agp_hdr_record_corrected(struct agp_hdr *h, int64_t value, int64_t expected_interval)
{
	return agp_hdr_record_corrected_n(h, value, 1, expected_interval);
}

/* ----------------------------------------------------------- block walking */

/* Next occupied block at or after block, or -1. */
static int32_t next_occupied(const struct agp_hdr *h, int32_t block)
{
	int32_t word = block >> 6;
	uint64_t bits;

	if (block >= h->cfg.block_count)
		return -1;
	bits = h->occupied[word] & (~UINT64_C(0) << (block & 63));
	while (!bits) {
		if (++word >= h->cfg.bitmap_words)
			return -1;
		bits = h->occupied[word];
	}
	return (word << 6) + __builtin_ctzll(bits);
}

static int32_t block_end(const struct agp_hdr *h, int32_t block)
{
	int32_t end = (block + 1) * AGP_HDR_BLOCK_LEN;

	return end < h->cfg.counts_len ? end : h->cfg.counts_len;
}

/*
 * The block holding the target-th sample (target >= 1) and the count before it. Empty
 * stretches of 64 blocks are skipped by their zero bitmap word; inside a word the occupied
 * span is walked as a plain array, which is faster than bit scanning when blocks are dense.
 * High targets walk down from the top, so p99 reads only the blocks above it.
 */
static int32_t block_reaching(const struct agp_hdr *h, int64_t target, int64_t *before_out)
{
	const uint64_t *sums = h->block_counts;

	if (target <= h->total_count / 2) {
		int64_t before = 0;

		for (int32_t w = 0; w < h->cfg.bitmap_words; w++) {
			uint64_t bits = h->occupied[w];
			int32_t b, last;

			if (!bits)
				continue;
			b = (w << 6) + __builtin_ctzll(bits);
			last = (w << 6) + 63 - __builtin_clzll(bits);
			for (; b <= last; b++) {
				if (before + (int64_t)sums[b] >= target) {
					*before_out = before;
					return b;
				}
				before += (int64_t)sums[b];
			}
		}
	} else {
		int64_t above = 0; /* samples in the blocks already passed, above this one */

		for (int32_t w = h->cfg.bitmap_words - 1; w >= 0; w--) {
			uint64_t bits = h->occupied[w];
			int32_t b, first;

			if (!bits)
				continue;
			b = (w << 6) + 63 - __builtin_clzll(bits);
			first = (w << 6) + __builtin_ctzll(bits);
			for (; b >= first; b--) {
				int64_t before = h->total_count - above - (int64_t)sums[b];

				if (before < target) {
					*before_out = before;
					return b;
				}
				above += (int64_t)sums[b];
			}
		}
	}
	return -1;
}

/* Index of the first counts entry at which the running count reaches target (>= 1). */
static int32_t index_reaching(const struct agp_hdr *h, int64_t target)
{
	int64_t before = 0;
	int32_t block = block_reaching(h, target, &before);

	if (block < 0)
		return h->cfg.counts_len - 1; /* unreachable while total_count >= target */
	for (int32_t i = block * AGP_HDR_BLOCK_LEN, end = block_end(h, block); i < end; i++) {
		before += h->counts[i];
		if (before >= target)
			return i;
	}
	return block_end(h, block) - 1;
}

int64_t agp_hdr_value_at_percentile(const struct agp_hdr *h, double percentile)
{
	double requested = percentile < 100.0 ? percentile : 100.0;
	int64_t target;
	int64_t value;

	if (h->total_count == 0)
		return 0;
	if (!(requested > 0.0))
		requested = 0.0;
	/* Same rounding as the reference: nearest rank, at least the first sample. */
	target = (int64_t)(((requested / 100) * (double)h->total_count) + 0.5);
	if (target < 1)
		target = 1;
	value = agp_hdr_value_at_index(h, index_reaching(h, target));
	if (requested == 0.0)
		return value;
	return agp_hdr_highest_equivalent(h, value);
}

/* ------------------------------------------------------------------ merge */

/* A whole block: fixed length and restrict let the compiler use vector adds. */
static void add_block(int64_t *restrict to, const int64_t *restrict from)
{
	for (int i = 0; i < AGP_HDR_BLOCK_LEN; i++)
		to[i] += from[i];
}

int agp_hdr_merge(struct agp_hdr *h, const struct agp_hdr *from)
{
	int64_t total;

	if (h == from)
		return -EINVAL;
	if (from->total_count == 0)
		return 0;
	if (__builtin_add_overflow(h->total_count, from->total_count, &total))
		return -EOVERFLOW;
	if (agp_hdr_same_layout(h, from)) {
		for (int32_t block = next_occupied(from, 0); block >= 0;
		     block = next_occupied(from, block + 1)) {
			int32_t begin = block * AGP_HDR_BLOCK_LEN, end = block_end(from, block);

			if (end - begin == AGP_HDR_BLOCK_LEN)
				add_block(h->counts + begin, from->counts + begin);
			else
				for (int32_t i = begin; i < end; i++)
					h->counts[i] += from->counts[i];
			h->block_counts[block] += from->block_counts[block];
			h->occupied[block >> 6] |= UINT64_C(1) << (block & 63);
		}
		h->total_count += from->total_count;
		h->clamped_count += from->clamped_count;
		note_extremes(h, from->min_value, from->max_value);
	} else {
		struct agp_hdr_iter it;

		/* Re-bucket by value; the raw sums of `from` stay valid for the same samples. */
		agp_hdr_iter_init(&it, from);
		while (agp_hdr_iter_next(&it)) {
			int64_t value = it.value;

			if (value > h->highest_trackable_value) {
				h->clamped_count += it.count;
				value = h->highest_trackable_value;
			}
			agp__hdr_count_at(h, agp__hdr_index(h, value), it.count);
		}
		h->clamped_count += from->clamped_count;
		note_extremes(
		    h,
		    from->min_value < h->highest_trackable_value ? from->min_value
		                                                 : h->highest_trackable_value,
		    from->max_value < h->highest_trackable_value ? from->max_value
		                                                 : h->highest_trackable_value);
	}
	h->sum += from->sum;
	h->sum_squares += from->sum_squares;
	h->sums_exact = h->sums_exact && from->sums_exact;
	return 0;
}

/* ---------------------------------------------------------------- queries */

int64_t agp_hdr_min(const struct agp_hdr *h)
{
	return h->total_count ? h->min_value : 0;
}

int64_t agp_hdr_max(const struct agp_hdr *h)
{
	return h->total_count ? h->max_value : 0;
}

int64_t agp_hdr_min_equivalent(const struct agp_hdr *h)
{
	return h->total_count ? agp_hdr_lowest_equivalent(h, h->min_value) : 0;
}

int64_t agp_hdr_max_equivalent(const struct agp_hdr *h)
{
	return h->max_value ? agp_hdr_highest_equivalent(h, h->max_value) : 0;
}

double agp_hdr_mean(const struct agp_hdr *h)
{
	if (h->total_count == 0)
		return 0.0;
	return (double)((long double)h->sum / (long double)h->total_count);
}

double agp_hdr_stddev(const struct agp_hdr *h)
{
	u128 n = (uint64_t)h->total_count;
	u128 m, r, around_m;
	long double squares;

	if (h->total_count == 0)
		return 0.0;
	/*
	 * Avoid cancellation in sumsq/n - mean^2: with m = floor(sum/n) and r = sum - m*n,
	 *   sum (x-m)^2    = sumsq - m*(sum + r)      (exact in integers, it is >= 0)
	 *   sum (x-mean)^2 = sum (x-m)^2 - r^2/n      (mean - m = r/n)
	 * so only the last subtraction and division round.
	 */
	m = h->sum / n;
	r = h->sum - m * n;
	around_m = h->sum_squares - m * (h->sum + r);
	squares = (long double)around_m - (long double)r * (long double)r / (long double)n;
	if (squares < 0)
		squares = 0;
	return (double)sqrtl(squares / (long double)n);
}

/* Midpoint of the bucket holding index: the reference's "median equivalent value". */
static inline int64_t median_at_index(const struct agp_hdr *h, int32_t index)
{
	return agp_hdr_value_at_index(h, index) + (index_range(h, index) >> 1);
}

double agp_hdr_mean_equivalent(const struct agp_hdr *h)
{
	/* With at least 64 sub-buckets per half bucket, a block never straddles a bucket: its
	 * entries are base + j*range, so sum(count * midpoint) over the block is
	 *   (base + range/2) * block_sum + range * sum(j * count_j),
	 * one multiply-add per entry instead of an index decode. */
	bool linear_blocks = h->cfg.sub_bucket_half_count >= AGP_HDR_BLOCK_LEN;
	u128 total = 0;

	if (h->total_count == 0)
		return 0.0;
	for (int32_t block = next_occupied(h, 0); block >= 0; block = next_occupied(h, block + 1)) {
		int32_t begin = block * AGP_HDR_BLOCK_LEN, end = block_end(h, block);

		if (linear_blocks && h->block_counts[block] < (UINT64_C(1) << 57)) {
			const int64_t *c = h->counts + begin;
			uint64_t weighted = 0; /* < 64 * 2^57: no overflow */
			uint64_t base = (uint64_t)agp_hdr_value_at_index(h, begin);
			uint64_t range = (uint64_t)index_range(h, begin);

			for (int32_t j = 0; j < end - begin; j++)
				weighted += (uint64_t)j * (uint64_t)c[j];
			total += (u128)(base + range / 2) * h->block_counts[block] +
			         (u128)range * weighted;
			continue;
		}
		for (int32_t i = begin; i < end; i++)
			if (h->counts[i])
				total +=
				    (u128)(uint64_t)h->counts[i] * (uint64_t)median_at_index(h, i);
	}
	return (double)total / (double)h->total_count;
}

double agp_hdr_stddev_equivalent(const struct agp_hdr *h)
{
	double mean = agp_hdr_mean_equivalent(h);
	double squares = 0.0;

	if (h->total_count == 0)
		return 0.0;
	/* Same order and double arithmetic as the reference, so printed digits agree. */
	for (int32_t block = next_occupied(h, 0); block >= 0; block = next_occupied(h, block + 1))
		for (int32_t i = block * AGP_HDR_BLOCK_LEN, end = block_end(h, block); i < end; i++)
			if (h->counts[i]) {
				double deviation = (double)median_at_index(h, i) - mean;

				squares += (deviation * deviation) * (double)h->counts[i];
			}
	return sqrt(squares / (double)h->total_count);
}

void agp__hdr_sums_from_buckets(struct agp_hdr *h)
{
	int32_t first = -1, last = -1;

	/*
	 * Only the blocks the caller marked occupied are read: a decoded window occupies a few of
	 * a fresh histogram's hundreds of blocks, and reading the others would fault in every
	 * page of its counts. One pass: block sums, total, extremes and midpoint sums together.
	 */
	memset(h->block_counts, 0, (size_t)h->cfg.block_count * sizeof(uint64_t));
	h->total_count = 0;
	h->sum = 0;
	h->sum_squares = 0;
	h->sums_exact = false;
	for (int32_t word = 0; word < h->cfg.bitmap_words; word++) {
		uint64_t bits = h->occupied[word];
		while (bits) {
			int32_t block = word * 64 + __builtin_ctzll(bits);
			bits &= bits - 1;
			for (int32_t i = block * AGP_HDR_BLOCK_LEN; i < block_end(h, block); i++) {
				if (!h->counts[i])
					continue;
				uint64_t count = (uint64_t)h->counts[i];
				u128 mid = (uint64_t)(agp_hdr_value_at_index(h, i) +
				                      (index_range(h, i) >> 1));
				h->block_counts[block] += count;
				h->total_count += h->counts[i];
				h->sum += mid * count;
				h->sum_squares += mid * mid * count;
				if (first < 0)
					first = i;
				last = i;
			}
			if (!h->block_counts[block])
				h->occupied[word] &= ~(UINT64_C(1) << (block & 63));
		}
	}
	h->min_value = INT64_MAX;
	h->max_value = 0;
	if (first < 0)
		return;
	h->min_value = agp_hdr_value_at_index(h, first);
	h->max_value = agp_hdr_highest_equivalent(h, agp_hdr_value_at_index(h, last));
}

/* -------------------------------------------------------------- iteration */

void agp_hdr_iter_init(struct agp_hdr_iter *it, const struct agp_hdr *h)
{
	memset(it, 0, sizeof(*it));
	it->h = h;
	it->index = -1;
}

static void describe_index(struct agp_hdr_iter *it)
{
	int64_t range = index_range(it->h, it->index);

	it->value = agp_hdr_value_at_index(it->h, it->index);
	it->highest_equivalent_value = it->value + (range - 1);
	it->median_equivalent_value = it->value + (range >> 1);
}

bool agp_hdr_iter_next(struct agp_hdr_iter *it)
{
	const struct agp_hdr *h = it->h;
	int32_t i = it->index + 1;

	if (it->cumulative_count >= h->total_count)
		return false;
	while (i < h->cfg.counts_len) {
		int32_t block = i >> AGP_HDR_BLOCK_SHIFT;
		int32_t end;

		if (!(h->occupied[block >> 6] & (UINT64_C(1) << (block & 63)))) {
			block = next_occupied(h, block + 1);
			if (block < 0)
				break;
			i = block * AGP_HDR_BLOCK_LEN;
		}
		for (end = block_end(h, block); i < end; i++) {
			if (h->counts[i]) {
				it->index = i;
				it->count = h->counts[i];
				it->cumulative_count += it->count;
				describe_index(it);
				return true;
			}
		}
	}
	it->index = h->cfg.counts_len;
	return false;
}

void agp_hdr_iter_percentile_init(struct agp_hdr_iter *it, const struct agp_hdr *h,
                                  int32_t ticks_per_half_distance)
{
	agp_hdr_iter_init(it, h);
	it->ticks_per_half_distance = ticks_per_half_distance > 0 ? ticks_per_half_distance : 1;
}

/*
 * The reference walks every counts entry, but only non-empty ones can satisfy its step
 * condition or end the walk, so stepping over empty entries gives the same sequence of
 * (value, percentile, cumulative count).
 */
bool agp_hdr_iter_percentile_next(struct agp_hdr_iter *it)
{
	const struct agp_hdr *h = it->h;

	if (it->cumulative_count >= h->total_count) {
		if (it->seen_last_value)
			return false;
		it->seen_last_value = true;
		it->percentile = 100.0;
		return true;
	}
	if (it->index == -1 && !agp_hdr_iter_next(it))
		return false;
	do {
		double reached = (100.0 * (double)it->cumulative_count) / (double)h->total_count;

		if (it->count != 0 && it->percentile_to_iterate_to <= reached) {
			/* Steps halve their distance to 100% every ticks_per_half_distance
			 * reports; the expression matches the reference bit for bit. The
			 * distance is > 0 here except at the very last entry (where the next
			 * call reports 100% anyway), and the tick product is formed in double,
			 * exact for powers of two, so neither can overflow an integer. */
			double distance = 100.0 - it->percentile_to_iterate_to;
			double ticks = 1.0;

			if (distance > 0.0) {
				int64_t halvings = (int64_t)(log(100 / distance) / log(2)) + 1;
				int64_t half_distance = (int64_t)pow(2, (double)halvings);

				ticks = (double)it->ticks_per_half_distance * (double)half_distance;
			}
			double next = it->percentile_to_iterate_to + 100.0 / ticks;

			it->percentile = it->percentile_to_iterate_to;
			/* Beyond 2^53 samples the step can vanish in rounding right below 100%;
			 * then no level below 100% is left to report (the reference loops). */
			it->percentile_to_iterate_to = next > it->percentile ? next : INFINITY;
			return true;
		}
	} while (agp_hdr_iter_next(it));
	/* Only reached when no level was left for the last entry: report 100% once. */
	it->seen_last_value = true;
	it->percentile = 100.0;
	return true;
}
