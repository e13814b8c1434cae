/* `agentperf status` and `agentperf agents`. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "tools/cli.h"
#include "tools/cli_options.h"

/* The options of both commands: --json and --help, no operand. */
static int json_options(struct cli *cli, int argc, char **argv, const char *help)
{
	static const struct cli_option options[] = {CLI_OPTION_JSON_ENTRY, CLI_OPTION_END};
	const struct cli_options spec = {argv[0], help, options, 0, false};
	return cli_parse_options(cli, &spec, argc, argv, NULL);
}

/* A clock correction in ns as "22 ns" or "3.1 µs". */
static void print_correction(const char *what, double ns)
{
	if (fabs(ns) < 1000)
		printf(", %s %.0f ns", what, ns);
	else
		printf(", %s %.1f µs", what, ns / 1e3);
}

/* "clock          tsc (kernel clocksource tsc, re-anchored 0.01 s ago, last correction 4 ns, ...)"
 */
static void print_clock(const json_t *clock)
{
	if (!clock)
		return;
	printf("clock          %s (%s", cli_str(clock, "source"), cli_str(clock, "reason"));
	if (json_is_true(json_object_get(clock, "recalibrated")))
		printf(", recalibrated: the segment's conversion was over 1 s off");
	if (json_is_true(json_object_get(clock, "header_abandoned")))
		printf(", agents' copy no longer re-anchored: the segment was truncated");
	if (json_is_true(json_object_get(clock, "reanchored"))) {
		const json_t *since = json_object_get(clock, "since_reanchor_s");
		if (json_is_number(since)) {
			printf(", re-anchored %.2f s ago", json_number_value(since));
			print_correction("last correction", cli_num(clock, "last_correction_ns"));
			print_correction("worst", cli_num(clock, "worst_correction_ns"));
		} else
			printf(", not re-anchored yet");
		if (cli_num(clock, "steps") > 0)
			printf(", %.0f forward steps", cli_num(clock, "steps"));
	}
	printf(")\n");
}

int cli_status(struct cli *cli, int argc, char **argv)
{
	int status = json_options(
	    cli, argc, argv,
	    "Usage: agentperf status [--json]\n"
	    "Whether the collector is up, its uptime, live agents, samples/s, drops, invalid\n"
	    "samples, alerts, negative caller-vs-worker clock differences the Task API\n"
	    "counted (clock_skew_negative), the deployment clock (tsc or monotonic, why, and\n"
	    "its re-anchoring), and overall health (\"no data\" without\n"
	    "coordination_overhead samples in the last 30 minutes; \"unknown\" in --json).\n"
	    "Exit status: 0 up, 2 usage error, 3 collector unreachable.\n");
	if (status != CLI_PARSED)
		return status;
	json_t *result;
	status = cli_request(cli, "status", NULL, &result, NULL);
	if (status) {
		if (cli->json && status == CLI_UNREACHABLE) {
			/* The answer to "is it up": no, and where it was looked for
			 * (cli_json_errors.h). */
			json_t *down = json_pack("{s:b,s:s}", "up", 0, "socket", cli->path);
			cli_print_json(down);
			json_decref(down);
		}
		return status;
	}
	json_object_set_new(result, "up", json_true());
	if (cli->json) {
		cli_print_json(result);
	} else {
		double uptime = cli_num(result, "uptime_s");
		printf("collector      up (pid %.0f), deployment '%s'\n", cli_num(result, "pid"),
		       cli_str(result, "deployment"));
		printf("uptime         %.0fh %02.0fm %02.0fs\n", floor(uptime / 3600),
		       floor(fmod(uptime, 3600) / 60), floor(fmod(uptime, 60)));
		printf("agents live    %.0f (of %.0f known)\n", cli_num(result, "agents_live"),
		       cli_num(result, "agents"));
		printf("samples/s      %.1f\n", cli_num(result, "samples_per_second"));
		printf("samples        %.0f written, %.0f aggregated, %.0f pending",
		       cli_num(result, "written"), cli_num(result, "aggregated"),
		       cli_num(result, "pending"));
		/* Taken by an earlier agentperfd from agents that outlived it. */
		if (cli_num(result, "earlier") > 0)
			printf(", %.0f by an earlier collector", cli_num(result, "earlier"));
		printf("\n");
		/* Drained but kept out of the aggregates by the config (docs/config.md). */
		if (json_is_false(json_object_get(result, "monitoring_enabled")))
			printf("monitoring     disabled (monitoring.enabled): %.0f samples "
			       "discarded\n",
			       cli_num(result, "discarded"));
		else if (cli_num(result, "series_refused") > 0)
			printf("discarded      %.0f (new series beyond "
			       "monitoring.max_metrics_in_memory)\n",
			       cli_num(result, "series_refused"));
		/* Older than the oldest retained window when drained (docs/analysis.md). */
		if (cli_num(result, "late") > 0)
			printf("late           %.0f (older than the retention: not aggregated)\n",
			       cli_num(result, "late"));
		printf("drops          %.0f\n", cli_num(result, "dropped"));
		/* Written, never drained: left in the ring of an agent whose slot was taken. */
		if (cli_num(result, "lost_on_reclaim") > 0)
			printf("lost           %.0f on reclaim (left in the rings of agents that "
			       "departed undrained)\n",
			       cli_num(result, "lost_on_reclaim"));
		printf("invalid        %.0f\n", cli_num(result, "invalid"));
		printf("alerts         %.0f\n", cli_num(result, "alerts"));
		/* Agents whose counters are impossible: their figures are not in the lines above.
		 */
		json_int_t lying = json_integer_value(json_object_get(result, "lying_agents"));
		if (lying > 0)
			printf("lying agents   %lld (kept out of the figures above; see agents)\n",
			       (long long)lying);
		const json_t *lost = json_object_get(result, "lost_writes");
		if (lost)
			printf("lost writes    %.0f alerts, %.0f hlog, %.0f baseline, %.0f "
			       "ci_export\n",
			       cli_num(lost, "alerts"), cli_num(lost, "hlog"),
			       cli_num(lost, "baseline"), cli_num(lost, "ci_export"));
		/* Tasks whose worker's clock read earlier than the caller's: clamped to 0, counted.
		 */
		printf("clock skew     %.0f negative caller-vs-worker differences\n",
		       cli_num(result, "clock_skew_negative"));
		print_clock(json_object_get(result, "clock"));
		const char *health = cli_str(result, "health");
		printf("health         %s\n",
		       strcmp(health, "unknown") == 0
		           ? "no data (no coordination_overhead samples in the last 30 minutes)"
		           : health);
		printf("socket         %s\n", cli_str(result, "socket"));
	}
	json_decref(result);
	return CLI_OK;
}

int cli_agents(struct cli *cli, int argc, char **argv)
{
	int status = json_options(
	    cli, argc, argv,
	    "Usage: agentperf agents [--available] [--json]\n"
	    "The agents the collector knows: name, type, pid, samples, rate, drops, invalid,\n"
	    "late (older than the retention), state (live, draining, dead). --available lists\n"
	    "the Task API's agent types instead (capabilities, runner, workers, timeout, memory\n"
	    "limit, confinement; no daemon needed).\n"
	    "Exit status: 0 ok, 2 usage error, 3 collector unreachable.\n");
	if (status != CLI_PARSED)
		return status;
	json_t *result;
	status = cli_request(cli, "agents", NULL, &result, NULL);
	if (status)
		return status;
	if (cli->json) {
		cli_print_json(result);
		json_decref(result);
		return CLI_OK;
	}
	static const char *const header[] = {"NAME",  "TYPE",    "PID",  "SAMPLES", "RATE/s",
	                                     "DROPS", "INVALID", "LATE", "STATE"};
	struct cli_table *table = cli_table_new(9, header);
	size_t index;
	json_t *agent;
	json_array_foreach(json_object_get(result, "agents"), index, agent)
	{
		char pid[16], samples[24], rate[24], drops[24], invalid[24], late[24];
		snprintf(pid, sizeof(pid), "%.0f", cli_num(agent, "pid"));
		snprintf(samples, sizeof(samples), "%.0f", cli_num(agent, "samples"));
		snprintf(rate, sizeof(rate), "%.1f", cli_num(agent, "rate"));
		snprintf(drops, sizeof(drops), "%.0f", cli_num(agent, "dropped"));
		snprintf(invalid, sizeof(invalid), "%.0f", cli_num(agent, "invalid"));
		snprintf(late, sizeof(late), "%.0f", cli_num(agent, "late"));
		char state[64];
		const char *lie = json_string_value(json_object_get(agent, "lying"));
		if (lie && *lie)
			snprintf(state, sizeof(state), "%s, lying: %s", cli_str(agent, "state"),
			         lie);
		else
			snprintf(state, sizeof(state), "%s", cli_str(agent, "state"));
		const char *row[] = {cli_str(agent, "name"),
		                     cli_str(agent, "type"),
		                     pid,
		                     samples,
		                     rate,
		                     drops,
		                     invalid,
		                     late,
		                     state};
		cli_table_add(table, row);
	}
	cli_table_print(table, stdout);
	cli_table_free(table);
	if (cli_num(result, "lost_on_reclaim") > 0)
		printf("lost on reclaim: %.0f samples left in the rings of agents that departed "
		       "undrained\n",
		       cli_num(result, "lost_on_reclaim"));
	json_decref(result);
	return CLI_OK;
}
