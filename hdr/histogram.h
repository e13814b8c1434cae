/*
 * An HDR (high dynamic range) histogram whose counts array has exactly the index layout of
 * HdrHistogram (Java, C, JS), so that its encodings, percentiles and .hgrm tables agree with
 * those tools, but whose queries cost in proportion to what is recorded rather than to the
 * size of the counts array.
 *
 * Layout. Values are bucketed log-linearly: bucket b covers [2^(b+u) * S/2, 2^(b+u) * S) in
 * S/2 sub-buckets of width 2^(b+u) (bucket 0 also covers [0, 2^u * S/2) at width 2^u), where
 * u is the unit magnitude (floor(log2(lowest))) and S the sub-bucket count (the power of two
 * >= 2 * 10^significant_figures). The counts index of a value is
 *     bucket << log2(S/2)  +  (value >> (bucket + u)),
 * the same number HdrHistogram computes, so counts arrays can be exchanged without mapping.
 *
 * What we keep beside the counts, and why:
 *  - block_counts[]: the sum of each run of 64 counters. A percentile query walks block sums
 *    (from whichever end of the histogram is nearer) and then at most 64 counters.
 *  - occupied[]: one bit per block that has ever been non-zero since the last reset. Merge,
 *    iteration and encoding visit only those blocks.
 *  - exact running sums: sum and sum of squares of the raw recorded values, each an
 *    unsigned __int128 (integers, no rounding), so mean and standard deviation are O(1) and
 *    exact rather than estimated from bucket midpoints. The square sum cannot wrap while
 *    count * max^2 < 2^128 (for example 2^44 samples of one hour in nanoseconds).
 *  - min and max of the raw values (exact), with the reference's conventions available too.
 *
 * Conventions of the accessors (the reference is HdrHistogram_c 0.11):
 *  - agp_hdr_value_at_percentile(): reference convention, the highest value equivalent to the
 *    bucket that holds the percentile (lowest equivalent for percentile 0).
 *  - agp_hdr_min() / agp_hdr_max(): exact raw extremes (a clamped value counts as the range
 *    limit it was clamped to). agp_hdr_min_equivalent() / agp_hdr_max_equivalent(): the
 *    reference's hdr_min()/hdr_max() (lowest/highest equivalent value of the extreme).
 *  - agp_hdr_mean() / agp_hdr_stddev(): exact, from the running sums, population standard
 *    deviation. agp_hdr_mean_equivalent() / agp_hdr_stddev_equivalent(): the reference's
 *    figures from bucket midpoints (a walk over occupied blocks), used by the .hgrm footer.
 *    A histogram built by decoding has no raw values: its sums are taken from bucket
 *    midpoints and agp_hdr_sums_exact() says false.
 *
 * Thread safety: none. One thread records; readers take snapshots (the collector's job).
 */
#ifndef AGP_COLLECTOR_HDR_HISTOGRAM_H
#define AGP_COLLECTOR_HDR_HISTOGRAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Counters per occupancy block; a block's sum and bit cover this many counts entries. */
#define AGP_HDR_BLOCK_SHIFT 6
#define AGP_HDR_BLOCK_LEN   (1 << AGP_HDR_BLOCK_SHIFT)

/* The bucket layout for (lowest, highest, significant figures); pure arithmetic. */
struct agp_hdr_config {
	int64_t lowest_discernible_value;
	int64_t highest_trackable_value;
	int32_t significant_figures;
	int32_t unit_magnitude;
	int32_t sub_bucket_half_count_magnitude;
	int32_t sub_bucket_count;
	int32_t sub_bucket_half_count;
	int32_t bucket_count;
	int32_t counts_len;
	int32_t block_count;  /* counts_len / AGP_HDR_BLOCK_LEN rounded up */
	int32_t bitmap_words; /* block_count / 64 rounded up */
	int64_t sub_bucket_mask;
};

struct agp_hdr {
	/* Hot fields first: everything agp_hdr_record() touches besides the arrays. */
	int64_t *counts;
	uint64_t *block_counts;
	uint64_t *occupied;
	int64_t highest_trackable_value;
	int64_t sub_bucket_mask;
	int32_t unit_magnitude;
	int32_t sub_bucket_half_count_magnitude;
	int64_t total_count;
	int64_t min_value; /* INT64_MAX while empty */
	int64_t max_value; /* 0 while empty */
	unsigned __int128 sum;
	unsigned __int128 sum_squares;
	/* Cold fields. */
	int64_t clamped_count; /* values above highest_trackable_value, recorded as it */
	bool sums_exact;       /* false once sums came from bucket midpoints (decode) */
	struct agp_hdr_config cfg;
	void *allocation; /* agp_hdr_create()'s block, NULL for caller memory */
};

/*
 * Computes the layout. Returns 0, or -EINVAL (cfg untouched) when lowest < 1,
 * significant_figures outside 1..5, highest < 2 * lowest, or the layout would not fit
 * 64-bit values; agp_last_error-style detail is not kept here: the conditions are simple.
 */
int agp_hdr_config_init(int64_t lowest, int64_t highest, int significant_figures,
                        struct agp_hdr_config *cfg);

/* Bytes of counts memory agp_hdr_init() needs (counts, block sums, occupancy bitmap). */
size_t agp_hdr_memory_size(const struct agp_hdr_config *cfg);

/*
 * Initialises h over caller memory of agp_hdr_memory_size(cfg) bytes, 8-byte aligned; the
 * memory is zeroed here and must outlive h. Nothing to destroy.
 */
void agp_hdr_init(struct agp_hdr *h, const struct agp_hdr_config *cfg, void *counts_memory);

/* Allocating wrapper: 0 and *out, or -EINVAL (bad parameters) / -ENOMEM; *out untouched. */
int agp_hdr_create(int64_t lowest, int64_t highest, int significant_figures, struct agp_hdr **out);
void agp_hdr_destroy(struct agp_hdr *h);

/* Bytes used by a histogram made by agp_hdr_create() (struct and arrays). */
size_t agp_hdr_footprint(const struct agp_hdr *h);

void agp_hdr_reset(struct agp_hdr *h);

/* Slow path of agp_hdr_record_n(): negatives, counts other than 1, clamping. */
int agp__hdr_record_slow(struct agp_hdr *h, int64_t value, int64_t count);

static inline int32_t agp__hdr_index(const struct agp_hdr *h, int64_t value)
{
	/* floor(log2(value | mask)) + 1 is the bit length; the bucket is how far it exceeds
	 * the sub-bucket magnitude. The OR with the mask keeps small values in bucket 0. */
	int32_t bucket = 64 - __builtin_clzll((uint64_t)(value | h->sub_bucket_mask)) -
	                 h->unit_magnitude - (h->sub_bucket_half_count_magnitude + 1);
	return (bucket << h->sub_bucket_half_count_magnitude) +
	       (int32_t)(value >> (bucket + h->unit_magnitude));
}

static inline void agp__hdr_count_at(struct agp_hdr *h, int32_t index, int64_t count)
{
	int32_t block = index >> AGP_HDR_BLOCK_SHIFT;

	h->counts[index] += count;
	/* A block's bit changes only when it first gains a count: a rarely taken branch is
	 * cheaper than a read-modify-write of the bitmap on every record. */
	if (__builtin_expect(h->block_counts[block] == 0, 0))
		h->occupied[block >> 6] |= UINT64_C(1) << (block & 63);
	h->block_counts[block] += (uint64_t)count;
	h->total_count += count;
}

/*
 * Records one value. 0, or -EINVAL for a negative value (nothing recorded). A value above
 * the highest trackable value is recorded as that value and counted in clamped_count.
 */
static inline int agp_hdr_record(struct agp_hdr *h, int64_t value)
{
	/* One unsigned compare rejects both negatives and values beyond the range. */
	if (__builtin_expect((uint64_t)value > (uint64_t)h->highest_trackable_value, 0))
		return agp__hdr_record_slow(h, value, 1);
	agp__hdr_count_at(h, agp__hdr_index(h, value), 1);
	h->sum += (uint64_t)value;
	h->sum_squares += (unsigned __int128)(uint64_t)value * (uint64_t)value;
	if (value < h->min_value)
		h->min_value = value;
	if (value > h->max_value)
		h->max_value = value;
	return 0;
}

/*
 * Records n values (the drain's batches): the same result as n agp_hdr_record() calls, with
 * the running total, sums and extremes kept in registers for the whole batch. Returns the
 * number of values rejected as negative (they are skipped).
 */
size_t agp_hdr_record_values(struct agp_hdr *h, const int64_t *values, size_t n);

/* Records value count times (count >= 0); errors as agp_hdr_record(), -EINVAL for count < 0,
 * -EOVERFLOW (nothing recorded) when the total count would pass INT64_MAX. */
static inline int agp_hdr_record_n(struct agp_hdr *h, int64_t value, int64_t count)
{
	return agp__hdr_record_slow(h, value, count);
}

/*
 * Records value and, like HdrHistogram's record-with-expected-interval, the samples that
 * coordinated omission hid: value - k * expected_interval for every k >= 1 while that is
 * >= expected_interval. Cost is proportional to the buckets those values touch, not to
 * value / expected_interval. expected_interval <= 0 records value alone. Returns 0,
 * -EINVAL (negative value or count) or -EOVERFLOW (nothing recorded).
 */
int agp_hdr_record_corrected(struct agp_hdr *h, int64_t value, int64_t expected_interval);
int agp_hdr_record_corrected_n(struct agp_hdr *h, int64_t value, int64_t count,
                               int64_t expected_interval);

/*
 * Adds from's counts into h. Same layout: cost proportional to from's occupied blocks.
 * Different layouts: every recorded bucket of from is recorded at its lowest equivalent
 * value (clamping as usual). Returns 0, -EINVAL when from is h itself, or -EOVERFLOW
 * (nothing changed) when the total count would pass INT64_MAX.
 */
int agp_hdr_merge(struct agp_hdr *h, const struct agp_hdr *from);

/* True when both have the same counts layout (lowest, highest, significant figures). */
bool agp_hdr_same_layout(const struct agp_hdr *a, const struct agp_hdr *b);

static inline int64_t agp_hdr_count(const struct agp_hdr *h)
{
	return h->total_count;
}

static inline int64_t agp_hdr_clamped(const struct agp_hdr *h)
{
	return h->clamped_count;
}

static inline bool agp_hdr_sums_exact(const struct agp_hdr *h)
{
	return h->sums_exact;
}

/* Exact raw extremes; 0 when empty. */
int64_t agp_hdr_min(const struct agp_hdr *h);
int64_t agp_hdr_max(const struct agp_hdr *h);
/* Reference conventions: hdr_min() (0 if any count at index 0) and hdr_max(). */
int64_t agp_hdr_min_equivalent(const struct agp_hdr *h);
int64_t agp_hdr_max_equivalent(const struct agp_hdr *h);

/* Exact mean and population standard deviation, O(1); 0 when empty. */
double agp_hdr_mean(const struct agp_hdr *h);
double agp_hdr_stddev(const struct agp_hdr *h);
/* The reference's hdr_mean()/hdr_stddev() from bucket midpoints; walks occupied blocks. */
double agp_hdr_mean_equivalent(const struct agp_hdr *h);
double agp_hdr_stddev_equivalent(const struct agp_hdr *h);

/* Reference convention (see above); percentile in [0, 100], larger is taken as 100. */
int64_t agp_hdr_value_at_percentile(const struct agp_hdr *h, double percentile);

int64_t agp_hdr_lowest_equivalent(const struct agp_hdr *h, int64_t value);
int64_t agp_hdr_highest_equivalent(const struct agp_hdr *h, int64_t value);
int64_t agp_hdr_median_equivalent(const struct agp_hdr *h, int64_t value);
int64_t agp_hdr_equivalent_range(const struct agp_hdr *h, int64_t value);
/* The lowest value that counts index maps to (HdrHistogram's hdr_value_at_index). */
int64_t agp_hdr_value_at_index(const struct agp_hdr *h, int32_t index);
/* Count in value's bucket; 0 outside the range. */
int64_t agp_hdr_count_at_value(const struct agp_hdr *h, int64_t value);

/* Iteration over non-empty counts entries in increasing value order. */
struct agp_hdr_iter {
	const struct agp_hdr *h;
	int32_t index; /* current counts index, -1 before the first step */
	int64_t count; /* count at index */
	int64_t cumulative_count;
	int64_t value;                    /* lowest equivalent value of index */
	int64_t highest_equivalent_value; /* highest value of the same bucket */
	int64_t median_equivalent_value;
	/* Percentile iteration only. */
	int32_t ticks_per_half_distance;
	double percentile_to_iterate_to;
	double percentile; /* the percentile level this step reports */
	bool seen_last_value;
};

/* Recorded-values iterator: each step is one non-empty counts entry. */
void agp_hdr_iter_init(struct agp_hdr_iter *it, const struct agp_hdr *h);
bool agp_hdr_iter_next(struct agp_hdr_iter *it);

/*
 * Percentile iterator with the reference's steps: levels start at 0% and halve their
 * distance to 100% every ticks_per_half_distance steps; a final step reports 100%.
 * Each step's value is highest_equivalent_value, its count cumulative_count.
 */
void agp_hdr_iter_percentile_init(struct agp_hdr_iter *it, const struct agp_hdr *h,
                                  int32_t ticks_per_half_distance);
bool agp_hdr_iter_percentile_next(struct agp_hdr_iter *it);

/*
 * Internal (used by decode): recomputes the block sums, total, extremes and the running sums
 * (bucket-midpoint figures) from the counts of the blocks marked in h->occupied; the caller
 * marks every block it wrote a count into, and every other block must be zero.
 */
void agp__hdr_sums_from_buckets(struct agp_hdr *h);

#endif
