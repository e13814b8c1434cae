/* The text form of `agentperf run`'s result. */
#include "tools/run/run_output.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "tools/cli.h"
#include "tools/run/run.h"

static void print_command(const json_t *result)
{
	printf("agentperf run:");
	size_t index;
	const json_t *word;
	json_array_foreach(json_object_get(result, "command"), index, word)
	    printf(" %s", json_string_value(word));
	printf("\n  deployment '%s', %s collector, %lld runs", cli_str(result, "deployment"),
	       json_is_true(json_object_get(json_object_get(result, "collector"), "private"))
	           ? "a private"
	           : "the running",
	       (long long)cli_num(result, "runs"));
	if (cli_num(result, "warmup") > 0)
		printf(" after %lld warmup", (long long)cli_num(result, "warmup"));
	if (json_is_number(json_object_get(result, "rate"))) {
		char interval[CLI_CELL_MAX];
		cli_format_value(cli_num(result, "interval_ns"), "nanoseconds", interval,
		                 sizeof(interval));
		printf(", open loop at %g/s (a start planned every %s)", cli_num(result, "rate"),
		       interval);
	}
	printf("\n\n");
}

static void print_figures(const json_t *result)
{
	static const char *const header[] = {"figure", "min",    "median", "max",
	                                     "mean",   "spread", "metric"};
	struct cli_table *table = cli_table_new(7, header);
	const json_t *figures = json_object_get(result, "figures");
	for (int f = 0; table && f < RUN_FIGURE_COUNT; f++) {
		const json_t *entry = json_object_get(figures, run_figures[f].key);
		if (!entry)
			continue;
		const char *unit = cli_str(entry, "unit");
		char cells[5][CLI_CELL_MAX];
		static const char *const keys[] = {"min", "median", "max", "mean"};
		for (int k = 0; k < 4; k++)
			cli_format_value(json_is_number(json_object_get(entry, keys[k]))
			                     ? cli_num(entry, keys[k])
			                     : NAN,
			                 unit, cells[k], CLI_CELL_MAX);
		double spread = json_is_number(json_object_get(entry, "relative_spread"))
		                    ? cli_num(entry, "relative_spread")
		                    : NAN;
		if (isnan(spread))
			snprintf(cells[4], CLI_CELL_MAX, "-");
		else
			snprintf(cells[4], CLI_CELL_MAX, "%.1f %%", spread * 100);
		const char *row[] = {
		    run_figures[f].label, cells[0], cells[1], cells[2], cells[3], cells[4],
		    run_figures[f].metric};
		cli_table_add(table, row);
	}
	cli_table_print(table, stdout);
	cli_table_free(table);
	const json_t *failed = json_object_get(result, "failed");
	if (json_is_object(failed))
		printf("FAILED: %s exited with status %lld in %s %lld\n", cli_str(failed, "what"),
		       (long long)cli_num(failed, "exit_status"),
		       cli_num(failed, "run") < 0 ? "warmup" : "run",
		       (long long)(cli_num(failed, "run") < 0 ? -cli_num(failed, "run")
		                                              : cli_num(failed, "run") + 1));
}

/* A table of collector series (stats objects): type, metric, count, p50, p95, p99, max. */
static void print_series(const char *title, const json_t *list, bool with_agent)
{
	printf("\n%s\n", title);
	if (json_array_size(list) == 0) {
		printf("  no data\n");
		return;
	}
	static const char *const header[] = {"agent type", "metric", "count", "p50",
	                                     "p95",        "p99",    "max"};
	static const char *const agent_header[] = {"agent", "metric", "count", "p50",
	                                           "p95",   "p99",    "max"};
	struct cli_table *table = cli_table_new(7, with_agent ? agent_header : header);
	size_t index;
	const json_t *series;
	json_array_foreach(list, index, series)
	{
		static const char *const keys[] = {"p50", "p95", "p99", "max"};
		char cells[5][CLI_CELL_MAX];
		cli_statistic_cells(series, cli_str(series, "unit"), keys, 4, cells);
		const char *row[] = {with_agent ? cli_str(series, "agent")
		                                : cli_str(series, "agent_type"),
		                     cli_str(series, "metric"),
		                     cells[0],
		                     cells[1],
		                     cells[2],
		                     cells[3],
		                     cells[4]};
		cli_table_add(table, row);
	}
	cli_table_print(table, stdout);
	cli_table_free(table);
}

static void print_requirements(const json_t *validation)
{
	printf("\ncoordination requirements (what CMD recorded as coordination_overhead)\n");
	if (!json_is_object(validation)) {
		printf("  no data: CMD recorded no coordination_overhead samples\n");
		return;
	}
	static const char *const keys[][2] = {
	    {"meets_sub_200ms_requirement", "sub-200ms requirement"},
	    {"meets_p95_requirement", "p95 requirement"},
	    {"meets_consistency_requirement", "consistency requirement"},
	};
	for (size_t k = 0; k < 3; k++) {
		const json_t *value = json_object_get(validation, keys[k][0]);
		printf("  %-26s%s\n", keys[k][1],
		       json_is_true(value)    ? "met"
		       : json_is_false(value) ? "NOT met"
		                              : "no data");
	}
}

static void print_baseline(const json_t *result)
{
	const json_t *baseline = json_object_get(result, "baseline");
	if (json_is_object(baseline))
		printf("\nrun baseline established in %s\n", cli_str(baseline, "file"));
	const json_t *compare = json_object_get(result, "compare");
	if (!json_is_object(compare))
		return;
	printf("\ncompared with the run baseline %s\n", cli_str(compare, "baseline_file"));
	const json_t *reference = json_object_get(compare, "baseline");
	if (json_is_object(reference)) {
		char p95[CLI_CELL_MAX];
		cli_format_value(cli_num(reference, "p95"), "nanoseconds", p95, sizeof(p95));
		printf("  baseline wall time p95  %s over %lld runs; slower: beyond +%g %%\n", p95,
		       (long long)cli_num(reference, "count"),
		       cli_num(compare, "threshold_percent"));
	}
	if (json_is_false(json_object_get(compare, "same_command")))
		printf("  note: the baseline was established for another command\n");
	printf("  verdict: %s (%s)\n", cli_str(compare, "verdict"), cli_str(compare, "reason"));
}

void run_print(const json_t *result)
{
	print_command(result);
	print_figures(result);
	char title[128];
	snprintf(title, sizeof(title), "the collector's view of these runs (agent %s, type run)",
	         cli_str(result, "agent"));
	print_series(title, json_object_get(result, "collector_series"), true);
	if (json_is_array(json_object_get(result, "collector_corrected")))
		print_series(
		    "wall time corrected for coordinated omission (expected interval 1/rate)",
		    json_object_get(result, "collector_corrected"), true);
	print_series("recorded by CMD through libagentperf", json_object_get(result, "recorded"),
	             false);
	print_requirements(json_object_get(result, "requirements"));
	print_baseline(result);
	printf("\nexit status %lld\n", (long long)cli_num(result, "exit_status"));
}
