/*
 * What every benchmark shares: a clock, medians of repeated trials, and
 * the floors its figures are divided by, measured in the same run.
 */
#ifndef AGP_BENCH_UTIL_H
#define AGP_BENCH_UTIL_H

#include <stdint.h>

uint64_t agp_bench_now_ns(void);

/* Median of count values (sorts them in place). */
double agp_bench_median(double *values, int count);

/* The value at fraction p (0..1) of count values by nearest rank (sorts them in place). */
double agp_bench_percentile(double *values, int count, double p);

/*
 * The floor for cross-process throughput: records per second that one
 * producer process pushes through a raw ck_ring SPSC ring of 32-byte
 * records in shared memory to a consumer (this process), the producer
 * retrying whenever the ring is full. One trial of duration_ns.
 */
double agp_bench_ck_ring_cross_process(uint64_t duration_ns);

/* Resident memory of this process in bytes (/proc/self/statm). */
uint64_t agp_bench_rss_bytes(void);

#endif
