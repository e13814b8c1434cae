/*
 * A closed time window's histogram in compact, immutable form.
 *
 * A dense histogram of the default range (1 ns .. 1 h, 3 digits) is 270 KB
 * of counters; a window typically occupies a few hundred of them. Keeping
 * 24 hours of 5-minute windows for every series densely would cost
 * gigabytes, so a closed window is one byte string of LEB128 varints:
 *
 *   total count, clamped count, min, max - min,
 *   sum (low 64 bits, high 64 bits), sum of squares (low, high),
 *   then per occupied counter: (index gap << 1 | has_count) [, count]
 *
 * A count of 1 (the usual case at three significant digits) is implied, so
 * an occupied counter usually costs one byte. The exact sums travel along,
 * so means and deviations stay exact across merged windows. Encoding walks
 * only occupied blocks; merging costs in proportion to the encoded length.
 *
 * Sharing: a window is referenced by the series that owns it, by the
 * (agent type, metric) series whose derived window sums it (series.h), and
 * by every published snapshot that shows it; the last reference frees it. Counting
 * is atomic because snapshots are released from the RCU callback thread.
 */
#ifndef AGP_COLLECTOR_SPARSE_HIST_H
#define AGP_COLLECTOR_SPARSE_HIST_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

struct agp_hdr;

struct agp_sparse_hist {
	_Atomic uint32_t references;
	uint32_t encoded_length;
	uint8_t encoded[];
};

/* The figures at the head of an encoding. */
struct agp_sparse_summary {
	int64_t total_count;
	int64_t clamped_count;
	int64_t min_value; /* INT64_MAX when empty, as in a fresh histogram */
	int64_t max_value;
	unsigned __int128 sum;
	unsigned __int128 sum_squares;
};

/* Encodes histogram's counts; 0 and *out (one reference), or -ENOMEM. */
int agp_sparse_hist_encode(const struct agp_hdr *histogram, struct agp_sparse_hist **out);

/* Decodes the summary; -EPROTO for a damaged encoding. */
int agp_sparse_hist_summary(const struct agp_sparse_hist *window,
                            struct agp_sparse_summary *summary);

/* Adds the window's counts and sums into histogram (which has the layout it was encoded from). */
int agp_sparse_hist_merge_into(const struct agp_sparse_hist *window, struct agp_hdr *histogram);

/* Bytes the window occupies. */
size_t agp_sparse_hist_footprint(const struct agp_sparse_hist *window);

struct agp_sparse_hist *agp_sparse_hist_ref(const struct agp_sparse_hist *window);
void agp_sparse_hist_unref(const struct agp_sparse_hist *window);

#endif
