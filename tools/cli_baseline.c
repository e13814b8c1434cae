/* `agentperf baseline establish|show`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tools/cli.h"
#include "tools/cli_options.h"

static const char help[] =
    "Usage: agentperf baseline establish [--hours H] [--min-samples N] [--confidence C]\n"
    "                                    [--json]\n"
    "       agentperf baseline show [--json]\n"
    "establish computes a baseline from the last H hours (config:\n"
    "baseline.measurement_period_hours) and needs at least N coordination_overhead\n"
    "samples (baseline.min_samples_for_baseline); the collector saves it to\n"
    "<storage_dir>/baseline.json. show prints the current baseline.\n"
    "Exit status: 0 ok, 1 not enough samples / no baseline, 2 usage error,\n"
    "3 collector unreachable.\n";

static void print_baseline(const json_t *baseline)
{
	printf("established at   %s\n", cli_str(baseline, "established_at"));
	printf("samples          %.0f\n", cli_num(baseline, "samples_count"));
	printf("period           %g h\n", cli_num(baseline, "measurement_period_hours"));
	printf("confidence       %g\n", cli_num(baseline, "confidence_interval"));
	json_t *metrics = json_object_get(baseline, "metrics");
	if (!json_array_size(metrics))
		return;
	static const char *const header[] = {"METRIC", "TYPE", "COUNT", "MEAN",
	                                     "STDDEV", "P50",  "P95",   "P99"};
	struct cli_table *table = cli_table_new(8, header);
	size_t index;
	json_t *metric;
	json_array_foreach(metrics, index, metric)
	{
		const char *unit = cli_str(metric, "unit");
		if (!unit[0])
			unit = "nanoseconds";
		static const char *const keys[] = {"mean", "stddev", "p50", "p95", "p99"};
		char cells[6][CLI_CELL_MAX];
		cli_statistic_cells(metric, unit, keys, 5, cells);
		/* A means-only entry (the original's baseline.json) has null percentiles. */
		if (json_is_null(json_object_get(metric, "p95")))
			for (size_t k = 3; k < 6; k++)
				snprintf(cells[k], CLI_CELL_MAX, "%s",
				         k == 3 ? "no percentiles" : "-");
		const char *type = cli_str(metric, "agent_type");
		const char *row[] = {cli_str(metric, "metric"),
		                     type[0] ? type : "*",
		                     cells[0],
		                     cells[1],
		                     cells[2],
		                     cells[3],
		                     cells[4],
		                     cells[5]};
		cli_table_add(table, row);
	}
	cli_table_print(table, stdout);
	cli_table_free(table);
}

/* The request's arguments from the options that were given (0: not given; they are > 0). */
static json_t *establish_arguments(double hours, double min_samples, double confidence)
{
	json_t *args = json_object();
	if (hours > 0)
		json_object_set_new(args, "hours", json_real(hours));
	if (min_samples > 0)
		json_object_set_new(args, "min_samples", json_integer((json_int_t)min_samples));
	if (confidence > 0)
		json_object_set_new(args, "confidence", json_real(confidence));
	return args;
}

int cli_baseline(struct cli *cli, int argc, char **argv)
{
	double hours = 0, min_samples = 0, confidence = 0;
	const struct cli_option options[] = {
	    {"hours", 0, CLI_OPTION_VALUE, &hours, cli_option_positive},
	    {"min-samples", 0, CLI_OPTION_VALUE, &min_samples, cli_option_positive},
	    {"confidence", 0, CLI_OPTION_VALUE, &confidence, cli_option_positive},
	    CLI_OPTION_JSON_ENTRY,
	    CLI_OPTION_END,
	};
	const struct cli_options spec = {"baseline", help, options, -1, false};
	int action = 0;
	int status = cli_parse_options(cli, &spec, argc, argv, &action);
	if (status != CLI_PARSED)
		return status;
	json_t *args = establish_arguments(hours, min_samples, confidence);
	if (action + 1 != argc ||
	    (strcmp(argv[action], "establish") && strcmp(argv[action], "show"))) {
		status = cli_usage_error("baseline", "say 'establish' or 'show'");
		goto out;
	}
	bool establish = strcmp(argv[action], "establish") == 0;
	if (!establish && json_object_size(args)) {
		status =
		    cli_usage_error("baseline", "show takes no --hours/--min-samples/--confidence");
		goto out;
	}
	json_t *result;
	status = cli_request(cli, establish ? "baseline.establish" : "baseline.show", args, &result,
	                     NULL);
	if (status)
		goto out;
	if (cli->json)
		cli_print_json(result);
	else
		print_baseline(result);
	json_decref(result);
out:
	json_decref(args);
	return status;
}
