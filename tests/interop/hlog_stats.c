/*
 * agentperf's own figures from a .hlog, for the comparisons with independent readers:
 *   hlog_stats FILE TAG
 * merges every interval of TAG (TAG "-": every untagged interval) with agentperf's reader and
 * prints, in the recorded unit, count max p50 p90 p99 p99.9 (max and percentiles as highest
 * equivalent values; percentiles in the readers' ceiling convention, value_at_percentile_ceil()
 * below). With --c-convention the percentiles follow HdrHistogram_c (agp_hdr_value_at_percentile(),
 * count rounded to nearest), which is what agentperf itself reports (docs/hdr.md).
 */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "hdr/histogram.h"
#include "hdr/interval_log.h"

/*
 * Percentiles in the convention of HdrHistogram Java (2.1.10 and later) and hdr-histogram-js:
 * the value of the first bucket at which the cumulative count reaches
 * ceil(percentile / 100 * total) (the percentile first nudged down by one ulp so that an exact
 * product does not round up into the next bucket), reported as the bucket's highest
 * equivalent value (its lowest for percentile 0). HdrHistogram_c, and agentperf, round the
 * count to the nearest integer instead; the two differ when percentile * total lies within
 * half a sample below a bucket boundary (p90 of 6007 samples: count 5406 against 5407). Only
 * the comparisons with those readers need this one, so it lives here, not in the collector.
 */
static int64_t value_at_percentile_ceil(const struct agp_hdr *h, double percentile)
{
	if (agp_hdr_count(h) == 0)
		return 0;
	double requested = nextafter(percentile, -INFINITY);
	requested = requested < 0 ? 0 : requested > 100 ? 100 : requested;
	int64_t target = (int64_t)ceil(requested / 100.0 * (double)agp_hdr_count(h));
	if (target < 1)
		target = 1;
	struct agp_hdr_iter it;
	agp_hdr_iter_init(&it, h);
	int64_t cumulative = 0;
	while (agp_hdr_iter_next(&it)) {
		cumulative += it.count;
		if (cumulative >= target)
			return percentile == 0.0 ? it.value : it.highest_equivalent_value;
	}
	return agp_hdr_max_equivalent(h);
}

int main(int argc, char **argv)
{
	bool c_convention = argc == 4 && strcmp(argv[3], "--c-convention") == 0;
	if (argc != 3 && !c_convention) {
		fprintf(stderr, "usage: %s FILE TAG [--c-convention]\n", argv[0]);
		return 2;
	}
	int64_t (*at)(const struct agp_hdr *, double) =
	    c_convention ? agp_hdr_value_at_percentile : value_at_percentile_ceil;
	FILE *in = fopen(argv[1], "r");
	if (!in) {
		perror(argv[1]);
		return 1;
	}
	struct agp_hlog_reader reader;
	agp_hlog_reader_init(&reader, in, 0);
	struct agp_hdr *merged = NULL;
	struct agp_hlog_entry entry;
	int result;
	while ((result = agp_hlog_reader_next(&reader, &entry)) == 1) {
		/* TAG "-" selects the untagged intervals. */
		bool untagged = strcmp(argv[2], "-") == 0;
		if (untagged ? !entry.has_tag : entry.has_tag && strcmp(entry.tag, argv[2]) == 0) {
			if (!merged)
				agp_hdr_create(entry.h->cfg.lowest_discernible_value,
				               entry.h->cfg.highest_trackable_value,
				               entry.h->cfg.significant_figures, &merged);
			agp_hdr_merge(merged, entry.h);
		}
		agp_hdr_destroy(entry.h);
	}
	int status = 0;
	if (result < 0) {
		fprintf(stderr, "%s: %s\n", argv[1], reader.error);
		status = 1;
	} else if (!merged) {
		fprintf(stderr, "%s: no interval tagged %s\n", argv[1], argv[2]);
		status = 1;
	} else {
		printf("%lld %lld %lld %lld %lld %lld\n", (long long)agp_hdr_count(merged),
		       (long long)agp_hdr_max_equivalent(merged), (long long)at(merged, 50.0),
		       (long long)at(merged, 90.0), (long long)at(merged, 99.0),
		       (long long)at(merged, 99.9));
	}
	agp_hdr_destroy(merged);
	agp_hlog_reader_destroy(&reader);
	fclose(in);
	return status;
}
