/*
 * The classic HdrHistogram percentile table (".hgrm"), read by HdrHistogram's plotters.
 */
#ifndef AGP_COLLECTOR_HDR_PRINT_H
#define AGP_COLLECTOR_HDR_PRINT_H

#include <stdint.h>
#include <stdio.h>

#include "hdr/histogram.h"

/*
 * Writes the table byte for byte as HdrHistogram_c's hdr_percentiles_print(CLASSIC) does:
 * a header, one line per percentile step of agp_hdr_iter_percentile_next() (value = the
 * step's highest equivalent value / value_scale, with significant_figures decimals), and a
 * footer with the reference's mean, standard deviation (bucket midpoints) and max (highest
 * equivalent). value_scale divides every value: 1.0 prints the recorded unit, 1e6 prints
 * nanoseconds as milliseconds. Returns 0, -EINVAL (value_scale not > 0) or -EIO.
 */
int agp_hdr_print_percentiles(const struct agp_hdr *h, FILE *out, int32_t ticks_per_half_distance,
                              double value_scale);

#endif
