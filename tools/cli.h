/*
 * Shared parts of the agentperf command line: the subcommand table entry,
 * the connection to agentperfd, and output helpers.
 *
 * Exit statuses (also in --help and the README):
 *   0 ok, 1 a requirement is violated (or the daemon reported a failure),
 *   2 usage error, 3 collector unreachable or refusing the connection (the socket
 *   path tried and the daemon's reason are printed), 4 an output file could not be
 *   written (the file and the reason are printed).
 */
#ifndef AGP_TOOLS_CLI_H
#define AGP_TOOLS_CLI_H

#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

#include <jansson.h>

enum {
	CLI_OK = 0,
	CLI_VIOLATED = 1,
	CLI_USAGE = 2,
	CLI_BAD_CONFIG = 2, /* what agentperfd exits with for a bad configuration, too */
	CLI_UNREACHABLE = 3,
	CLI_WRITE_FAILED = 4,
	CLI_NO_DATA =
	    5, /* validate --fail-on-violation: no samples; run --compare: nothing judged */
};

struct cli {
	const char *name;        /* deployment (NULL: $AGENTPERF_NAME, then "default") */
	const char *socket_path; /* --socket, else the deployment's path */
	bool json;               /* --json given before the subcommand */
	int fd;                  /* the connection, -1 until the first request */
	char path[108];          /* the socket path in use */
	int timeout_ms;          /* per request */
	bool probing;            /* cli_probe: a failed connection is an answer, not an error */
};

/*
 * One subcommand: argv[0] is its name. Returns an exit status. Other
 * helpers' subcommands (task, hlog, ...) are added to the table in
 * agentperf.c with the same signature.
 */
struct cli_command {
	const char *name;
	int (*run)(struct cli *cli, int argc, char **argv);
	const char *summary;
};

/* ---- connection (cli_client.c) ---- */

/* The socket path this invocation uses (for messages). 0 or CLI_USAGE for a bad name. */
int cli_resolve_path(struct cli *cli);

/*
 * Sends verb with args (borrowed; NULL for none) and waits for the reply.
 * Returns CLI_OK with *result set (caller decrefs), CLI_UNREACHABLE after
 * printing the socket path tried, or CLI_VIOLATED after printing the
 * daemon's error (its errno code in *code when code is not NULL).
 */
int cli_request(struct cli *cli, const char *verb, json_t *args, json_t **result, int *code);

/* Like cli_request, but prints nothing on a daemon error; message copied to err. */
int cli_request_quiet(struct cli *cli, const char *verb, json_t *args, json_t **result, int *code,
                      char *err, size_t errlen);

/*
 * cli_request for a verb whose arguments name a metric, agent type or agent (cli_stats.c):
 * a name the collector does not know (its code ENOENT) is a usage error, CLI_USAGE, printed
 * as "agentperf COMMAND: no metric 'x'; known: ...".
 */
int cli_request_selection(struct cli *cli, const char *command, const char *verb, json_t *args,
                          json_t **result);

void cli_disconnect(struct cli *cli);

/* Whether a collector answers on cli's socket (a status request); prints nothing. */
bool cli_probe(struct cli *cli);

/* ---- output (cli_format.c) ---- */

/* Prints value as indented JSON on stdout. */
void cli_print_json(const json_t *value);

/*
 * Set once a command printed JSON of its own on standard output (cli_print_json,
 * or a writer of its own that sets it), so that cli_json_errors.h prints no
 * second document after it.
 */
extern bool cli_json_printed;

/*
 * "12.30 ms", "1.500 s", "512.0 KiB", "42": a value of a unit ("nanoseconds", "bytes",
 * "count"; any other name is a count) scaled to its magnitude (agp_unit_format); "-" for NaN.
 */
void cli_format_value(double value, const char *unit, char *out, size_t size);

/* object's key, a figure in ms, as "12.345 ms", or absent where it is null or missing. */
void cli_format_ms(const json_t *object, const char *key, const char *absent, char *out,
                   size_t size);

/*
 * A table row's cells of a statistics object (a series, a baseline metric):
 * cells[0] its "count", then cells[1 + k] the value of keys[k] in unit,
 * as cli_format_value writes it.
 */
#define CLI_CELL_MAX 32
void cli_statistic_cells(const json_t *statistics, const char *unit, const char *const *keys,
                         size_t key_count, char (*cells)[CLI_CELL_MAX]);

/* One threshold of a metric, in its display unit (ms, MB, or the metric's own). */
struct cli_threshold {
	double value;
	const char *level; /* "warning", "critical" or "max acceptable" */
};
/*
 * The thresholds above 0 that config (config.show's answer) sets for metric,
 * the seed's `thresholds` first, then its `metrics` entry (cli_thresholds.c).
 * Returns how many were written, at most max.
 */
int cli_thresholds(const json_t *config, const char *metric, struct cli_threshold *out, int max);

/* An alert's "value" or "threshold" in the alert's "unit" ("3.000 s", "42", "1.5 KiB"). */
void cli_alert_value(const json_t *alert, const char *key, char *out, size_t size);
/* An alert's time ("time_ms", Unix ms) as "YYYY-MM-DD HH:MM:SS" UTC. */
void cli_alert_time(const json_t *alert, char *out, size_t size);

/* Parses "30m", "2h", "45s", "1.5h", "90" (seconds). 0 or -EINVAL. */
int cli_parse_duration(const char *text, double *seconds);

/* Prints a table: header cells, then rows of cells; columns sized to fit. */
struct cli_table;
struct cli_table *cli_table_new(int columns, const char *const *header);
void cli_table_add(struct cli_table *table, const char *const *cells);
void cli_table_print(struct cli_table *table, FILE *out);
void cli_table_free(struct cli_table *table);

/* JSON helpers that tolerate missing keys. */
double cli_num(const json_t *object, const char *key);
const char *cli_str(const json_t *object, const char *key);

/* Writes text to path atomically (temporary file, fsync, rename). 0 or -errno. */
int cli_write_file(const char *path, const char *text, size_t length);

/* Prints the usage error and a pointer to --help; returns CLI_USAGE. */
int cli_usage_error(const char *command, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

/* ---- subcommands ---- */
int cli_status(struct cli *cli, int argc, char **argv);
int cli_agents(struct cli *cli, int argc, char **argv);
int cli_stats(struct cli *cli, int argc, char **argv);
int cli_baseline(struct cli *cli, int argc, char **argv);
int cli_validate(struct cli *cli, int argc, char **argv);
int cli_export(struct cli *cli, int argc, char **argv);
int cli_report(struct cli *cli, int argc, char **argv);
int cli_alerts(struct cli *cli, int argc, char **argv);
int cli_config(struct cli *cli, int argc, char **argv);
int cli_top(struct cli *cli, int argc, char **argv);
int cli_run(struct cli *cli, int argc, char **argv);
/* Removes a stopped deployment's stale segment (cli_cleanup.c). */
int cli_cleanup(struct cli *cli, int argc, char **argv);
/* HdrHistogram exports (cli_hlog.c): `hlog` and `stats --hgrm`, from the daemon or --files. */
int cli_hlog(struct cli *cli, int argc, char **argv);
int cli_stats_hgrm(struct cli *cli, int argc, char **argv);
int cli_demo(struct cli *cli, int argc, char **argv);
/* Exact figures over many hosts (cli_fleet.c): `fleet stats --from URL... | --files F...`. */
int cli_fleet(struct cli *cli, int argc, char **argv);
/* The Task API's subcommands (task, agents --available), from libagentperf. */
int cli_task(struct cli *cli, int argc, char **argv);

/* A private agentperfd (tools/run/private_daemon.c), for run and demo. */
struct cli_daemon_options {
	const char *config;  /* --config FILE, NULL: the daemon's default */
	const char *log;     /* its standard output and error go here; NULL: inherited */
	bool unlink_on_exit; /* it removes the deployment's segment when it stops */
};
/*
 * Starts agentperfd for deployment name (the binary: $AGENTPERFD, else beside
 * this program, else PATH) and waits until it answers on cli's socket.
 * Returns its pid, or -1 after printing why.
 */
pid_t cli_start_daemon(struct cli *cli, const char *name, const struct cli_daemon_options *options);
/* SIGTERM, then after 10 s SIGKILL, to exactly that process; reaps it. */
void cli_stop_daemon(pid_t pid);

/* Used by run: validate / export / report with their default outputs. */
int cli_validate_and_export(struct cli *cli, const char *ci_file, const char *html_file,
                            bool quiet);
int cli_write_report(struct cli *cli, const char *json_file, const char *html_file);

#endif
