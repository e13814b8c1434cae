/*
 * The C side of the interoperability tests.
 *   hdr_interop_writer OUT.hlog    writes an .hlog with tagged intervals and prints, per tag,
 *                                  agentperf's own figures over all of that tag's intervals;
 *   hdr_interop_writer -r IN.hlog  reads an .hlog written by another implementation and
 *                                  prints the same figures from what it decoded.
 * Figures: "<tag> <count> <p50> <p90> <p99> <p99.9> <max>" (values in ns, reference
 * conventions), to compare with Java's HistogramLogProcessor or hdr-histogram-js.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hdr/histogram.h"
#include "hdr/interval_log.h"

#define HOUR_NS INT64_C(3600000000000)

static void report(const char *tag, const struct agp_hdr *h)
{
	printf("%s %lld %lld %lld %lld %lld %lld\n", tag, (long long)agp_hdr_count(h),
	       (long long)agp_hdr_value_at_percentile(h, 50),
	       (long long)agp_hdr_value_at_percentile(h, 90),
	       (long long)agp_hdr_value_at_percentile(h, 99),
	       (long long)agp_hdr_value_at_percentile(h, 99.9),
	       (long long)agp_hdr_max_equivalent(h));
}

/* Reads a foreign log and prints the figures per tag, in order of first appearance. */
static int read_log(const char *path)
{
	enum { MAX_TAGS = 16 };
	char tags[MAX_TAGS][AGP_HLOG_TAG_MAX];
	struct agp_hdr *totals[MAX_TAGS];
	struct agp_hlog_reader r;
	struct agp_hlog_entry e;
	int n = 0, rc;
	FILE *in = fopen(path, "r");

	if (!in) {
		perror(path);
		return 1;
	}
	agp_hlog_reader_init(&r, in, 0);
	while ((rc = agp_hlog_reader_next(&r, &e)) == 1) {
		int k = 0;

		while (k < n && strcmp(tags[k], e.has_tag ? e.tag : "-") != 0)
			k++;
		if (k == n) {
			if (n == MAX_TAGS || agp_hdr_create(1, HOUR_NS, 3, &totals[n]))
				return 1;
			snprintf(tags[n++], AGP_HLOG_TAG_MAX, "%s", e.has_tag ? e.tag : "-");
		}
		agp_hdr_merge(totals[k], e.h);
		agp_hdr_destroy(e.h);
	}
	if (rc < 0) {
		fprintf(stderr, "%s: %s\n", path, r.error);
		return 1;
	}
	for (int k = 0; k < n; k++) {
		report(tags[k], totals[k]);
		agp_hdr_destroy(totals[k]);
	}
	agp_hlog_reader_destroy(&r);
	fclose(in);
	return 0;
}

int main(int argc, char **argv)
{
	struct agp_hdr *interval, *total_a, *total_b;
	FILE *out;
	uint64_t x = 88172645463325252ull;

	if (argc == 3 && strcmp(argv[1], "-r") == 0)
		return read_log(argv[2]);
	if (argc != 2) {
		fprintf(stderr, "usage: hdr_interop_writer OUT.hlog | -r IN.hlog\n");
		return 2;
	}
	out = fopen(argv[1], "w");
	if (!out || agp_hdr_create(1, HOUR_NS, 3, &interval) ||
	    agp_hdr_create(1, HOUR_NS, 3, &total_a) || agp_hdr_create(1, HOUR_NS, 3, &total_b)) {
		perror(argv[1]);
		return 1;
	}
	if (agp_hlog_write_header(out, "[agentperf interop test]", 1764460800000, 1764460800000))
		return 1;
	/* Tag A: the shared vector, then 3 intervals of random latencies; tag B: 2 intervals.
	 * Counts are multiples of 1000 so that Java's ceil-based percentile rank and the C
	 * reference's rounded rank coincide. */
	for (int k = 0; k < 6; k++) {
		const char *tag =
		    k % 2 ? "agentB.task_execution_time" : "agentA.coordination_overhead";
		struct agp_hdr *total = k % 2 ? total_b : total_a;

		agp_hdr_reset(interval);
		for (int64_t i = 1; i <= 10000 * (k + 1); i++) {
			int64_t v;

			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			v = k == 0 ? i * 1000 : (int64_t)(x % (UINT64_C(1) << (20 + 3 * k))) + 1;
			agp_hdr_record(interval, v);
		}
		if (agp_hlog_write_interval(out, tag, 10.0 * k, 10.0, interval, AGP_HLOG_NS_TO_MS))
			return 1;
		agp_hdr_merge(total, interval);
	}
	if (fclose(out))
		return 1;
	report("agentA.coordination_overhead", total_a);
	report("agentB.task_execution_time", total_b);
	agp_hdr_destroy(interval);
	agp_hdr_destroy(total_a);
	agp_hdr_destroy(total_b);
	return 0;
}
