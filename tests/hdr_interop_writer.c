/*
 * Writes an .hlog with tagged intervals for the interoperability tests and prints, per tag,
 * agentperf's own figures over all of that tag's intervals in the form
 *     <tag> <count> <p50> <p90> <p99> <p99.9> <max>
 * (values in ns, reference conventions), for a reader such as Java's HistogramLogProcessor
 * to be compared against. Usage: hdr_interop_writer OUT.hlog
 */
#include <stdio.h>
#include <stdlib.h>

#include "collector/hdr_histogram.h"
#include "collector/hdr_log.h"

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

int main(int argc, char **argv)
{
	struct agp_hdr *interval, *total_a, *total_b;
	FILE *out;
	uint64_t x = 88172645463325252ull;

	if (argc != 2) {
		fprintf(stderr, "usage: hdr_interop_writer OUT.hlog\n");
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
