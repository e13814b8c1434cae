/*
 * agentperf's own figures from a .hlog, for the comparisons with independent readers:
 *   hlog_stats FILE TAG
 * merges every interval of TAG with agentperf's reader and prints, in the recorded unit,
 *   count max p50 p90 p99 p99.9
 * (max and percentiles as highest equivalent values; percentiles in the readers' ceiling
 * convention, hdr_quantile.h). With --c-convention the percentiles follow HdrHistogram_c
 * (agp_hdr_value_at_percentile(), count rounded to nearest).
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "collector/hdr_histogram.h"
#include "collector/hdr_log.h"
#include "collector/hdr_quantile.h"

int main(int argc, char **argv)
{
	bool c_convention = argc == 4 && strcmp(argv[3], "--c-convention") == 0;
	if (argc != 3 && !c_convention) {
		fprintf(stderr, "usage: %s FILE TAG [--c-convention]\n", argv[0]);
		return 2;
	}
	int64_t (*at)(const struct agp_hdr *, double) =
	    c_convention ? agp_hdr_value_at_percentile : agp_hdr_value_at_percentile_ceil;
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
		if (entry.has_tag && strcmp(entry.tag, argv[2]) == 0) {
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
