/* `agentperf stats`: statistics per metric, in units people read. */
#include <errno.h>
#include <stdio.h>

#include "tools/cli.h"
#include "tools/cli_options.h"

static const char help[] =
    "Usage: agentperf stats [--metric M] [--agent-type T] [--agent A] [--window 30m]\n"
    "                       [--corrected] [--json]\n"
    "       agentperf stats --hgrm --metric M [--agent-type T] [--corrected] (see --hgrm --help)\n"
    "Count, mean, stddev, min, p50, p95, p99 and max of each metric per agent type\n"
    "(or per agent with --agent), over the last --window (default: all retained).\n"
    "--corrected uses the coordinated-omission corrected histograms (metrics with an\n"
    "expected interval); a heading line (\"histogram\" in --json) says which is shown.\n"
    "--json gives raw values in the metric's unit (ns, bytes).\n"
    "A series without samples in the window shows \"no data\" (null in --json); when\n"
    "nothing matches, \"no data\" is printed instead of a table.\n"
    "Exit status: 0 ok (no data included), 1 collector error, 2 usage error (a\n"
    "metric, agent type or agent the collector does not know: the known names are\n"
    "printed), 3 collector unreachable.\n";

/* One row per series, values in units people read; "no data" when there is no series. */
static void print_stats_table(const json_t *result, bool corrected)
{
	if (json_array_size(json_object_get(result, "series")) == 0) {
		printf(corrected
		           ? "no data (corrected histograms exist for metrics with an expected "
		             "interval only)\n"
		           : "no data\n");
		return;
	}
	/* Which histogram the figures come from, before any figure. */
	printf(corrected
	           ? "coordinated-omission corrected histograms (HdrHistogram's "
	             "expected-interval rule)\n"
	           : "raw histograms (as recorded, not corrected for coordinated omission)\n");
	static const char *const header[] = {"METRIC", "TYPE", "AGENT", "COUNT", "MEAN", "STDDEV",
	                                     "MIN",    "P50",  "P95",   "P99",   "MAX"};
	struct cli_table *table = cli_table_new(11, header);
	size_t index;
	json_t *series;
	json_array_foreach(json_object_get(result, "series"), index, series)
	{
		const char *unit = cli_str(series, "unit");
		static const char *const keys[] = {"mean", "stddev", "min", "p50",
		                                   "p95",  "p99",    "max"};
		char cells[8][CLI_CELL_MAX];
		cli_statistic_cells(series, unit, keys, 7, cells);
		/* Null figures: say so once rather than "-" seven times. */
		if (cli_num(series, "count") == 0)
			snprintf(cells[1], CLI_CELL_MAX, "no data");
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
}

/* The request's arguments from the options that were given. */
static json_t *stats_arguments(const char *metric, const char *agent_type, const char *agent,
                               double window_s, bool corrected)
{
	json_t *args = json_object();
	if (metric)
		json_object_set_new(args, "metric", json_string(metric));
	if (agent_type)
		json_object_set_new(args, "agent_type", json_string(agent_type));
	if (agent)
		json_object_set_new(args, "agent", json_string(agent));
	if (window_s >= 0)
		json_object_set_new(args, "window_s", json_real(window_s));
	if (corrected)
		json_object_set_new(args, "corrected", json_true());
	return args;
}

int cli_stats(struct cli *cli, int argc, char **argv)
{
	const char *metric = NULL, *agent_type = NULL, *agent = NULL;
	double window_s = -1; /* not given: a duration is never negative */
	bool corrected = false;
	const struct cli_option options[] = {
	    {"metric", 'm', CLI_OPTION_TEXT, &metric, NULL},
	    {"agent-type", 't', CLI_OPTION_TEXT, &agent_type, NULL},
	    {"agent", 'a', CLI_OPTION_TEXT, &agent, NULL},
	    {"window", 'w', CLI_OPTION_VALUE, &window_s, cli_option_duration},
	    {"corrected", 'c', CLI_OPTION_FLAG, &corrected, NULL},
	    CLI_OPTION_JSON_ENTRY,
	    CLI_OPTION_END,
	};
	const struct cli_options spec = {"stats", help, options, 0, false};
	int status = cli_parse_options(cli, &spec, argc, argv, NULL);
	if (status != CLI_PARSED)
		return status;
	json_t *args = stats_arguments(metric, agent_type, agent, window_s, corrected);
	json_t *result;
	status = cli_request_selection(cli, "stats", "stats", args, &result);
	json_decref(args);
	if (status)
		return status;
	if (cli->json)
		cli_print_json(result);
	else
		print_stats_table(result, corrected);
	json_decref(result);
	return CLI_OK;
}

int cli_request_selection(struct cli *cli, const char *command, const char *verb, json_t *args,
                          json_t **result)
{
	char message[512] = "";
	int code = 0;
	int status = cli_request_quiet(cli, verb, args, result, &code, message, sizeof(message));
	if (status == CLI_VIOLATED && code == ENOENT) {
		fprintf(stderr, "agentperf %s: %s\n", command, message);
		return CLI_USAGE;
	}
	if (status == CLI_VIOLATED || (status == CLI_USAGE && message[0]))
		fprintf(stderr, "agentperf: %s: %s\n", verb, message);
	return status;
}
