/* `agentperf alerts [--since N] [--follow]`. */
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "tools/cli.h"
#include "tools/cli_options.h"
#include "common/json_dump.h"

/*
 * Set by the signal handler, read by the loop: a lock-free atomic is
 * async-signal-safe, and relaxed is enough because it publishes no other data.
 */
static _Atomic bool interrupted;

static void on_signal(int signal_number)
{
	(void)signal_number;
	atomic_store_explicit(&interrupted, true, memory_order_relaxed);
}

static bool stop_asked(void)
{
	return atomic_load_explicit(&interrupted, memory_order_relaxed);
}

static void print_alert(const json_t *alert, bool json)
{
	if (json) {
		char *text = agp_json_dumps(alert, JSON_COMPACT);
		if (text)
			puts(text);
		free(text);
		cli_json_printed = true;
		return;
	}
	char value[32], threshold[32], when[32];
	cli_alert_value(alert, "value", value, sizeof(value));
	cli_alert_value(alert, "threshold", threshold, sizeof(threshold));
	cli_alert_time(alert, when, sizeof(when));
	printf("#%-5.0f %s  %-10s %s = %s (threshold %s)  type %s agent %s",
	       cli_num(alert, "sequence"), when, cli_str(alert, "level"), cli_str(alert, "metric"),
	       value, threshold, cli_str(alert, "agent_type"), cli_str(alert, "agent"));
	double suppressed = cli_num(alert, "suppressed");
	if (suppressed > 0)
		printf("  (+%.0f suppressed)", suppressed);
	putchar('\n');
}

static const char help[] =
    "Usage: agentperf alerts [--since N] [--follow] [--json]\n"
    "Recent alerts (those after sequence number N); --follow keeps polling\n"
    "every second and prints new alerts as they come (one JSON object a line\n"
    "with --json) until interrupted.\n"
    "Exit status: 0 ok, 2 usage error, 3 collector unreachable.\n";

int cli_alerts(struct cli *cli, int argc, char **argv)
{
	bool follow = false;
	double since = 0;
	const struct cli_option options[] = {
	    {"follow", 'f', CLI_OPTION_FLAG, &follow, NULL},
	    {"since", 0, CLI_OPTION_VALUE, &since, cli_option_sequence},
	    CLI_OPTION_JSON_ENTRY,
	    CLI_OPTION_END,
	};
	const struct cli_options spec = {"alerts", help, options, 0, false};
	int status = cli_parse_options(cli, &spec, argc, argv, NULL);
	if (status != CLI_PARSED)
		return status;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	bool first = true;
	do {
		json_t *args = json_pack("{s:f}", "since", since);
		json_t *result;
		status = cli_request(cli, "alerts", args, &result, NULL);
		json_decref(args);
		if (status)
			return stop_asked() ? CLI_OK : status;
		json_t *alerts = json_object_get(result, "alerts");
		if (!follow && cli->json) {
			cli_print_json(result);
		} else {
			if (first && !follow && !json_array_size(alerts))
				printf("no alerts\n");
			double missed = cli_num(result, "missed");
			if (missed > 0 && !cli->json)
				printf("(%.0f older alerts no longer held; see alerts.jsonl)\n",
				       missed);
			size_t index;
			json_t *alert;
			json_array_foreach(alerts, index, alert) print_alert(alert, cli->json);
		}
		fflush(stdout);
		double newest = cli_num(result, "newest");
		if (newest > since)
			since = newest;
		json_decref(result);
		first = false;
		if (follow && !stop_asked()) {
			struct timespec second = {1, 0};
			nanosleep(&second, NULL);
		}
	} while (follow && !stop_asked());
	return CLI_OK;
}
