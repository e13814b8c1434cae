/*
 * agentperf: the command line of an agentperf deployment. It talks to the
 * deployment's agentperfd over the control socket (cli_client.c); each
 * subcommand lives in a cli_*.c file and is found through the table below,
 * where other subcommands (task, hlog, ...) plug in with the same signature.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <agentperf/agentperf.h>

#include "tools/cli.h"
#include "tools/cli_json_errors.h"

static const struct cli_command commands[] = {
    {"status", cli_status, "collector up/down, uptime, agents, samples/s, drops, alerts"},
    {"agents", cli_agents, "live agents: name, type, pid, samples, rate, drops, state"},
    {"stats", cli_stats, "count, mean, stddev, min, p50, p95, p99, max per metric"},
    {"baseline", cli_baseline, "establish | show the performance baseline"},
    {"validate", cli_validate, "validate the performance requirements"},
    {"export", cli_export, "export the CI JSON (--ci [FILE])"},
    {"report", cli_report, "performance report as JSON and/or self-contained HTML"},
    {"alerts", cli_alerts, "recent alerts; --follow streams new ones"},
    {"config", cli_config, "show | check [FILE] | preset NAME"},
    {"top", cli_top, "live terminal view, refreshed every second (q quits)"},
    {"run", cli_run, "benchmark a command: runs, figures, --rate, baselines, --compare"},
    {"task", cli_task, "run a task on an agent worker (TYPE PROMPT|-, --prompt-file F)"},
    {"hlog", cli_hlog, "HdrHistogram interval log (.hlog) of any window, open one included"},
    {"fleet", cli_fleet, "fleet stats: exact percentiles merged over many hosts (/hlog, .hlog)"},
    {"cleanup", cli_cleanup, "remove the stale segment of a stopped deployment (--name N)"},
    {"demo", cli_demo, "the main job: a private collector, tasks, baseline, validation, reports"},
    /* Further subcommands register here, one line each. */
};

/*
 * Options of a subcommand above that another part of agentperf implements:
 * when a command's arguments hold `option`, `run` gets them instead of the
 * command's own function (same signature, argv[0] the command).
 */
struct cli_extension {
	const char *command;
	const char *option;
	int (*run)(struct cli *cli, int argc, char **argv);
};
static const struct cli_extension extensions[] = {
    {"agents", "--available", cli_task},
    {"stats", "--hgrm", cli_stats_hgrm},
    {NULL, NULL, NULL},
};

typedef int (*cli_handler)(struct cli *cli, int argc, char **argv);

/* The function that handles argv: an extension when one of its options is there. */
static cli_handler handler_for(const struct cli_command *command, int argc, char **argv)
{
	for (const struct cli_extension *e = extensions; e->command; e++) {
		if (strcmp(e->command, command->name))
			continue;
		for (int i = 1; i < argc && strcmp(argv[i], "--"); i++)
			if (strcmp(argv[i], e->option) == 0)
				return e->run;
	}
	return command->run;
}

static void usage(FILE *out)
{
	fprintf(out, "Usage: agentperf [--name NAME] [--socket PATH] [--json] COMMAND [OPTION]...\n"
	             "Talks to the agentperfd of a deployment.\n\nCommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fprintf(
	    out,
	    "\nOptions:\n"
	    "  -n, --name NAME    deployment (default: $AGENTPERF_NAME, then 'default')\n"
	    "      --socket PATH  control socket (default: $XDG_RUNTIME_DIR/agentperf/NAME.sock,\n"
	    "                     /run/agentperf/NAME.sock as root, else /tmp/agentperf-UID/)\n"
	    "      --json         machine-readable output (every command takes it too)\n"
	    "  -h, --help         this help; `agentperf COMMAND --help` for a command\n"
	    "      --version      the version\n\n"
	    "Exit status: 0 ok, 1 requirement violated (or the collector reported a failure),\n"
	    "2 usage error, 3 collector unreachable or refusing the connection (the socket\n"
	    "path tried and the daemon's reason are printed),\n"
	    "4 an output file could not be written (export --ci: the file and reason are "
	    "printed),\n5 no data: validate --fail-on-violation found no samples to judge (run\n"
	    "--compare: nothing judged), 6 the command of run failed.\n");
}

/* The global options, then the command; the exit status. */
static int run_invocation(int argc, char **argv)
{
	struct cli cli = {.fd = -1, .timeout_ms = 30000};
	static const struct option longs[] = {
	    {"name", required_argument, NULL, 'n'}, {"socket", required_argument, NULL, 's'},
	    {"json", no_argument, NULL, 'j'},       {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},    {NULL, 0, NULL, 0},
	};
	int option;
	/* '+': stop at the command; its options are its own. */
	while ((option = getopt_long(argc, argv, "+n:h", longs, NULL)) != -1) {
		switch (option) {
		case 'n':
			cli.name = optarg;
			break;
		case 's':
			cli.socket_path = optarg;
			break;
		case 'j':
			cli.json = true;
			break;
		case 'h':
			usage(stdout);
			return CLI_OK;
		case 'V':
			printf("agentperf %d.%d\n", AGENTPERF_VERSION_MAJOR,
			       AGENTPERF_VERSION_MINOR);
			return CLI_OK;
		default:
			usage(stderr);
			return CLI_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return CLI_USAGE;
	}
	const char *name = argv[optind];
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(commands[i].name, name) == 0) {
			int command_argc = argc - optind;
			char **command_argv = argv + optind;
			optind = 0; /* glibc: restart getopt for the command's own options */
			cli_handler run = handler_for(&commands[i], command_argc, command_argv);
			int status = run(&cli, command_argc, command_argv);
			cli_disconnect(&cli);
			return status;
		}
	}
	fprintf(stderr, "agentperf: unknown command '%s'\n", name);
	usage(stderr);
	return CLI_USAGE;
}

int main(int argc, char **argv)
{
	struct cli_json_errors errors = {0};
	bool json = cli_json_errors_wanted(argc, argv);
	if (json)
		cli_json_errors_begin(&errors);
	int status = run_invocation(argc, argv);
	if (json)
		cli_json_errors_end(&errors, status);
	return status;
}
