/*
 * Percentiles in the convention of HdrHistogram Java (2.1.10 and later), hdr-histogram-js
 * and the Rust crate: the value of the first bucket at which the cumulative count reaches
 * ceil(percentile / 100 * total) (the percentile first nudged down by one ulp so that an
 * exact product does not round up into the next bucket), reported as the bucket's highest
 * equivalent value (its lowest for percentile 0).
 *
 * agp_hdr_value_at_percentile() follows HdrHistogram_c instead, which rounds the count to
 * the nearest integer; the two differ when percentile * total lies within half a sample
 * below a bucket boundary (for example p90 of 6007 samples: count 5406 against 5407). The
 * ceiling is the textbook definition (the smallest value with at least p % of the samples
 * at or below it) and what the interval-log readers people use compute, so exports that
 * are compared with those readers use this one.
 */
#ifndef AGP_COLLECTOR_HDR_QUANTILE_H
#define AGP_COLLECTOR_HDR_QUANTILE_H

#include <stdint.h>

#include "collector/hdr_histogram.h"

/* 0 for an empty histogram; percentile is clamped to [0, 100]. */
int64_t agp_hdr_value_at_percentile_ceil(const struct agp_hdr *h, double percentile);

#endif
