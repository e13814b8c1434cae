/* `agentperf baseline establish|show`. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tools/cli.h"

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
		char cells[6][32];
		snprintf(cells[0], sizeof(cells[0]), "%.0f", cli_num(metric, "count"));
		static const char *const keys[] = {"mean", "stddev", "p50", "p95", "p99"};
		for (int k = 0; k < 5; k++)
			cli_format_value(cli_num(metric, keys[k]), unit, cells[k + 1],
			                 sizeof(cells[k + 1]));
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

int cli_baseline(struct cli *cli, int argc, char **argv)
{
	static const struct option longs[] = {
	    {"hours", required_argument, NULL, 'H'},
	    {"min-samples", required_argument, NULL, 'n'},
	    {"confidence", required_argument, NULL, 'c'},
	    {"json", no_argument, NULL, 'j'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	json_t *args = json_object();
	int option;
	int status = CLI_OK;
	while ((option = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
		char *end;
		double value;
		switch (option) {
		case 'H':
		case 'n':
		case 'c':
			value = strtod(optarg, &end);
			if (end == optarg || *end || !(value > 0)) {
				status = cli_usage_error("baseline",
				                         "'%s' is not a positive number", optarg);
				goto out;
			}
			if (option == 'n')
				json_object_set_new(args, "min_samples",
				                    json_integer((json_int_t)value));
			else
				json_object_set_new(args, option == 'H' ? "hours" : "confidence",
				                    json_real(value));
			break;
		case 'j':
			cli->json = true;
			break;
		case 'h':
			fputs(help, stdout);
			goto out;
		default:
			status = cli_usage_error("baseline", "unknown option");
			goto out;
		}
	}
	if (optind + 1 != argc ||
	    (strcmp(argv[optind], "establish") && strcmp(argv[optind], "show"))) {
		status = cli_usage_error("baseline", "say 'establish' or 'show'");
		goto out;
	}
	bool establish = strcmp(argv[optind], "establish") == 0;
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
