/*
 * The .hgrm table. Its layout is a de-facto file format (plotters parse it by column), so
 * widths and precisions below are fixed by HdrHistogram_c, not chosen here.
 */
#include "hdr/hgrm.h"

#include <errno.h>
#include <inttypes.h>

int agp_hdr_print_percentiles(const struct agp_hdr *h, FILE *out, int32_t ticks_per_half_distance,
                              double value_scale)
{
	struct agp_hdr_iter it;
	int decimals = h->cfg.significant_figures;

	if (!(value_scale > 0.0))
		return -EINVAL;
	if (fprintf(out, "%12s %12s %12s %12s\n\n", "Value", "Percentile", "TotalCount",
	            "1/(1-Percentile)") < 0)
		return -EIO;
	agp_hdr_iter_percentile_init(&it, h, ticks_per_half_distance);
	while (agp_hdr_iter_percentile_next(&it)) {
		double fraction = it.percentile / 100.0;

		/* 1/(1-1.0) prints as "inf" on the last line, as in the reference. */
		if (fprintf(out, "%12.*f %12f %12" PRId64 " %12.2f\n", decimals,
		            (double)it.highest_equivalent_value / value_scale, fraction,
		            it.cumulative_count, 1.0 / (1.0 - fraction)) < 0)
			return -EIO;
	}
	if (fprintf(out,
	            "#[Mean    = %12.3f, StdDeviation   = %12.3f]\n"
	            "#[Max     = %12.3f, Total count    = %12" PRId64 "]\n"
	            "#[Buckets = %12d, SubBuckets     = %12d]\n",
	            agp_hdr_mean_equivalent(h) / value_scale,
	            agp_hdr_stddev_equivalent(h) / value_scale,
	            (double)agp_hdr_max_equivalent(h) / value_scale, h->total_count,
	            h->cfg.bucket_count, h->cfg.sub_bucket_count) < 0)
		return -EIO;
	return 0;
}
