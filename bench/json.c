/*
 * bench/json: what the one serialiser (agp_json_dumps, common/json_dump.h)
 * costs against its floor, jansson's json_dumps of the same tree with 17
 * digits, measured in the same run. Two trees:
 *  - "report": 200 series objects as the stats verb and the report write
 *    them (names, a unit, counts, percentiles as integers, mean, stddev and
 *    two more reals of many digits), indent 2;
 *  - "reals": 10,000 reals of random bits (the worst case: each needs up to
 *    17 rounds of printf and strtod), compact.
 * Prints the median time per text of 15 trials for each, and the ratio.
 *
 * Run: build with -DAGP_BUILD_BENCH=ON, then ./build/bench/bench_json.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "bench/bench_util.h"
#include "common/json_dump.h"

#define TRIALS 15
#define SERIES 200
#define REALS  10000

static uint64_t rng = 0x243f6a8885a308d3ull;

static uint64_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static double unit(void)
{
	return ((double)(next() >> 11) + 0.5) * 0x1.0p-53;
}

static json_t *report_tree(void)
{
	json_t *list = json_array();
	for (int s = 0; s < SERIES; s++) {
		char type[32];
		snprintf(type, sizeof(type), "agent-type-%d", s % 7);
		double mean = exp(log(200e3) + 2 * unit());
		json_array_append_new(
		    list,
		    json_pack("{s:s, s:n, s:s, s:s, s:I, s:f, s:f, s:I, s:I, s:I, s:I, s:f, s:f}",
		              "agent_type", type, "agent", "metric", "coordination_overhead",
		              "unit", "nanoseconds", "count", (json_int_t)(next() % 100000), "mean",
		              mean, "stddev", mean * unit(), "p50", (json_int_t)(mean * 0.9), "p95",
		              (json_int_t)(mean * 1.9), "p99", (json_int_t)(mean * 3.1), "max",
		              (json_int_t)(mean * 9.7), "mean_ms", mean / 1e6, "rate",
		              1000 * unit()));
	}
	return json_pack("{s:o, s:f}", "series", list, "window_s", 1800.0);
}

static json_t *reals_tree(void)
{
	json_t *list = json_array();
	while (json_array_size(list) < REALS) {
		uint64_t bits = next();
		double value;
		memcpy(&value, &bits, sizeof(value));
		if (isfinite(value))
			json_array_append_new(list, json_real(value));
	}
	return list;
}

/* Median ns per text of dump over TRIALS trials of rounds texts each. */
static double time_dump(char *(*dump)(const json_t *, size_t), const json_t *tree, size_t flags,
                        int rounds)
{
	double trials[TRIALS];
	for (int t = 0; t < TRIALS; t++) {
		uint64_t start = agp_bench_now_ns();
		for (int r = 0; r < rounds; r++)
			free(dump(tree, flags));
		trials[t] = (double)(agp_bench_now_ns() - start) / rounds;
	}
	return agp_bench_median(trials, TRIALS);
}

static void measure(const char *name, json_t *tree, size_t flags, int rounds)
{
	double floor_ns = time_dump(json_dumps, tree, flags, rounds);
	double ours_ns = time_dump(agp_json_dumps, tree, flags, rounds);
	char *text = agp_json_dumps(tree, flags), *plain = json_dumps(tree, flags);
	printf("  %-7s json_dumps (17 digits) %9.1f us  %7zu bytes\n", name, floor_ns / 1e3,
	       strlen(plain));
	printf("  %-7s agp_json_dumps         %9.1f us  %7zu bytes  %.2fx json_dumps\n", name,
	       ours_ns / 1e3, strlen(text), ours_ns / floor_ns);
	free(text);
	free(plain);
	json_decref(tree);
}

int main(void)
{
	printf("bench/json: medians of %d trials; agp_json_dumps against json_dumps of the same "
	       "tree\n",
	       TRIALS);
	measure("report", report_tree(), JSON_INDENT(2), 20);
	measure("reals", reals_tree(), JSON_COMPACT, 5);
	return 0;
}
