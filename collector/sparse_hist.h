/*
 * A closed time window's histogram in compact, immutable form.
 *
 * A dense histogram of the default range (1 ns .. 1 h, 3 digits) is 270 KB
 * of counters; a window typically occupies a few hundred of them. Keeping
 * 24 hours of 5-minute windows for every series densely would cost
 * gigabytes, so a closed window is stored as its occupied counters only:
 * LEB128 varints of (index delta, count), plus the exact running sums and
 * extremes so that means and deviations stay exact across merged windows.
 * Encoding walks only occupied blocks; merging costs in proportion to the
 * encoded length.
 *
 * Sharing: a window is referenced by the series that owns it and by every
 * published snapshot that shows it; the last reference frees it. Counting
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
	uint32_t entries; /* occupied counters encoded */
	int64_t total_count;
	int64_t clamped_count;
	int64_t min_value;
	int64_t max_value;
	unsigned __int128 sum;
	unsigned __int128 sum_squares;
	size_t encoded_length;
	uint8_t encoded[];
};

/* Encodes histogram's counts; 0 and *out (one reference), or -ENOMEM. */
int agp_sparse_hist_encode(const struct agp_hdr *histogram, struct agp_sparse_hist **out);

/* Adds the window's counts and sums into histogram (which has the layout it was encoded from). */
int agp_sparse_hist_merge_into(const struct agp_sparse_hist *window, struct agp_hdr *histogram);

/* Bytes the window occupies. */
size_t agp_sparse_hist_footprint(const struct agp_sparse_hist *window);

struct agp_sparse_hist *agp_sparse_hist_ref(const struct agp_sparse_hist *window);
void agp_sparse_hist_unref(const struct agp_sparse_hist *window);

#endif
