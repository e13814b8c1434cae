/* `agentperf stats`: statistics per metric, in units people read. */
#include <getopt.h>
#include <stdio.h>

#include "tools/cli.h"

static const char help[] =
    "Usage: agentperf stats [--metric M] [--agent-type T] [--agent A] [--window 30m]\n"
    "                       [--corrected] [--json]\n"
    "Count, mean, stddev, min, p50, p95, p99 and max of each metric per agent type\n"
    "(or per agent with --agent), over the last --window (default: all retained).\n"
    "--corrected uses the coordinated-omission corrected histograms (metrics with an\n"
    "expected interval). --json gives raw values in the metric's unit (ns, bytes).\n"
    "Exit status: 0 ok, 1 collector error, 2 usage error, 3 collector unreachable.\n";

int cli_stats(struct cli *cli, int argc, char **argv)
{
	static const struct option longs[] = {
	    {"metric", required_argument, NULL, 'm'}, {"agent-type", required_argument, NULL, 't'},
	    {"agent", required_argument, NULL, 'a'},  {"window", required_argument, NULL, 'w'},
	    {"corrected", no_argument, NULL, 'c'},    {"json", no_argument, NULL, 'j'},
	    {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
	};
	json_t *args = json_object();
	int option;
	while ((option = getopt_long(argc, argv, "m:t:a:w:ch", longs, NULL)) != -1) {
		double seconds;
		switch (option) {
		case 'm':
			json_object_set_new(args, "metric", json_string(optarg));
			break;
		case 't':
			json_object_set_new(args, "agent_type", json_string(optarg));
			break;
		case 'a':
			json_object_set_new(args, "agent", json_string(optarg));
			break;
		case 'w':
			if (cli_parse_duration(optarg, &seconds)) {
				json_decref(args);
				return cli_usage_error(
				    "stats", "--window '%s' is not a duration (30s, 5m, 2h)",
				    optarg);
			}
			json_object_set_new(args, "window_s", json_real(seconds));
			break;
		case 'c':
			json_object_set_new(args, "corrected", json_true());
			break;
		case 'j':
			cli->json = true;
			break;
		case 'h':
			fputs(help, stdout);
			json_decref(args);
			return CLI_OK;
		default:
			json_decref(args);
			return cli_usage_error("stats", "unknown option");
		}
	}
	if (optind < argc) {
		json_decref(args);
		return cli_usage_error("stats", "unexpected argument '%s'", argv[optind]);
	}
	json_t *result;
	int status = cli_request(cli, "stats", args, &result, NULL);
	json_decref(args);
	if (status)
		return status;
	if (cli->json) {
		cli_print_json(result);
		json_decref(result);
		return CLI_OK;
	}
	static const char *const header[] = {"METRIC", "TYPE", "AGENT", "COUNT", "MEAN", "STDDEV",
	                                     "MIN",    "P50",  "P95",   "P99",   "MAX"};
	struct cli_table *table = cli_table_new(11, header);
	size_t index;
	json_t *series;
	json_array_foreach(json_object_get(result, "series"), index, series)
	{
		const char *unit = cli_str(series, "unit");
		char cells[8][32];
		snprintf(cells[0], sizeof(cells[0]), "%.0f", cli_num(series, "count"));
		static const char *const keys[] = {"mean", "stddev", "min", "p50",
		                                   "p95",  "p99",    "max"};
		for (int k = 0; k < 7; k++)
			cli_format_value(cli_num(series, keys[k]), unit, cells[k + 1],
			                 sizeof(cells[k + 1]));
		const char *agent = cli_str(series, "agent");
		const char *row[] = {cli_str(series, "metric"),
		                     cli_str(series, "agent_type"),
		                     agent[0] ? agent : "*",
		                     cells[0],
		                     cells[1],
		                     cells[2],
		                     cells[3],
		                     cells[4],
		                     cells[5],
		                     cells[6],
		                     cells[7]};
		cli_table_add(table, row);
	}
	cli_table_print(table, stdout);
	cli_table_free(table);
	json_decref(result);
	return CLI_OK;
}
