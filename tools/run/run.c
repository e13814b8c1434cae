/*
 * `agentperf run [OPTION]... [--] CMD...`: the benchmark harness. It runs
 * CMD (--warmup times unrecorded, then --runs times measured, one at a
 * time, each after --prepare), optionally on the open-loop schedule of
 * --rate, under the deployment's collector (a private one when none
 * answers); records each run's figures (wall time, user and system CPU,
 * peak RSS, exit status; with --rate the start delay and the response time)
 * as metrics of its own agent; and prints them beside what the collector
 * made of them and of what CMD recorded itself, the coordination
 * requirements when CMD recorded coordination_overhead, and the verdict of
 * --compare against the run baseline of --establish-baseline.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/deployment.h"
#include "tools/cli_options.h"
#include "tools/run/run.h"
#include "tools/run/run_output.h"

static const char help[] =
    "Usage: agentperf run [--name N] [--config FILE] [--runs N] [--warmup N] [--prepare CMD]\n"
    "                     [--rate R] [--establish-baseline | --compare [--threshold PCT]]\n"
    "                     [--baseline FILE]\n"
    "                     [--export-json FILE] [--ci FILE] [--html FILE] [--json] [--] CMD...\n"
    "Runs CMD under the collector of deployment N (a private agentperfd, stopped by its pid\n"
    "afterwards, when none answers) with AGENTPERF_NAME=N, and measures it:\n"
    "  --runs N           measured runs, one at a time (default 1)\n"
    "  --warmup N         runs before them, not recorded (default 0)\n"
    "  --prepare CMD      `sh -c CMD` before every run (warmups too), not measured\n"
    "  --rate R           open loop: run i is planned at start + i/R seconds; a run that\n"
    "                     starts late (a slow CMD or --prepare) records its delay\n"
    "  --establish-baseline  store this run's figures as the run baseline\n"
    "  --compare          test this run's wall times against the run baseline (needs at\n"
    "                     least 20 runs; the collector's regression test, alpha 0.001)\n"
    "  --threshold PCT    --compare: runs count as slower only beyond the baseline's p95\n"
    "                     + PCT % (default 5: smaller slowdowns are taken for noise)\n"
    "  --baseline FILE    the run baseline (default: <storage_dir>/run-baseline.json)\n"
    "  --export-json FILE the result as JSON (what --json prints) into FILE\n"
    "  --ci FILE, --html FILE  the CI JSON and HTML report (defaults as `export --ci`,\n"
    "                     performance_report.html)\n"
    "Each run's wall time, user and system CPU, peak RSS and exit status are recorded as\n"
    "the metrics run_wall_time, run_user_cpu, run_system_cpu, run_peak_rss, run_exit_status\n"
    "(with --rate also run_start_delay and run_response_time) of the agent run-PID, type\n"
    "run; the summary gives min, median, max, mean and the relative spread (stddev/mean).\n"
    "With --json CMD's standard output goes to standard error.\n"
    "The collector binary is $AGENTPERFD, else agentperfd beside this program or on PATH.\n"
    "Exit status: 0 ok (no regression with --compare), 1 a regression (--compare) or a\n"
    "coordination requirement violated by what CMD recorded, 2 usage error, 3 collector\n"
    "unreachable, 4 an output file could not be written, 5 --compare judged nothing (no\n"
    "baseline, or fewer than 20 runs), 6 CMD or --prepare failed (the runs stop there).\n";

struct run_settings {
	const char *config, *ci_file, *html_file, *prepare, *export_json, *baseline_file;
	double runs, warmup, rate, threshold;
	bool establish, compare;
};

static const char *parse_count(const char *value, double *target, double min)
{
	char *end;
	errno = 0;
	long long count = strtoll(value, &end, 10);
	if (errno || end == value || *end || count < (long long)min || count > 1000000)
		return min > 0 ? "is not a whole number from 1 to 1000000"
		               : "is not a whole number from 0 to 1000000";
	*target = (double)count;
	return NULL;
}

static const char *parse_runs(const char *value, void *target)
{
	return parse_count(value, target, 1);
}

static const char *parse_warmup(const char *value, void *target)
{
	return parse_count(value, target, 0);
}

static const char *parse_threshold(const char *value, void *target)
{
	char *end;
	errno = 0;
	double percent = strtod(value, &end);
	if (errno || end == value || *end || !(percent >= 0 && percent <= 1000))
		return "is not a percentage from 0 to 1000";
	*(double *)target = percent;
	return NULL;
}

/* An error after the options: one line on stderr (with --json also the object: cli_json_errors.h).
 */
static int run_error(int status, const char *format, ...) __attribute__((format(printf, 2, 3)));
static int run_error(int status, const char *format, ...)
{
	char message[768];
	va_list list;
	va_start(list, format);
	vsnprintf(message, sizeof(message), format, list);
	va_end(list);
	fprintf(stderr, "agentperf run: %s\n", message);
	return status;
}

/* What the runs measured: values[figure][run] and how the runs ended. */
struct run_results {
	unsigned measured;
	double *values[RUN_FIGURE_COUNT];
	json_t *exit_statuses;
	json_t *started_ns; /* CLOCK_MONOTONIC of each measured start (before its spawn) */
	json_t *failed;     /* NULL, or {what, run, exit_status} */
	struct run_schedule schedule; /* --rate */
};

static int results_init(struct run_results *results, unsigned runs)
{
	memset(results, 0, sizeof(*results));
	for (int f = 0; f < RUN_FIGURE_COUNT; f++)
		if (!(results->values[f] = calloc(runs, sizeof(double))))
			return -ENOMEM;
	results->exit_statuses = json_array();
	results->started_ns = json_array();
	return results->exit_statuses && results->started_ns ? 0 : -ENOMEM;
}

static void results_free(struct run_results *results)
{
	for (int f = 0; f < RUN_FIGURE_COUNT; f++)
		free(results->values[f]);
	json_decref(results->exit_statuses);
	json_decref(results->started_ns);
	json_decref(results->failed);
}

static void note_failure(struct run_results *results, const char *what, int run, int status)
{
	results->failed =
	    json_pack("{s:s, s:i, s:i}", "what", what, "run", run, "exit_status", status);
	fprintf(stderr, "agentperf run: %s failed in %s %d with status %d; the runs stop here\n",
	        what, run < 0 ? "warmup" : "run", run < 0 ? -run : run + 1, status);
}

/* Runs --prepare; false (noted) when it failed. */
static bool prepare(const struct run_settings *settings, const char *deployment, bool json,
                    struct run_results *results, int run)
{
	if (!settings->prepare)
		return true;
	int status = 0;
	if (run_shell(settings->prepare, deployment, json, &status) || status != 0) {
		note_failure(results, "--prepare", run, status ? status : 127);
		return false;
	}
	return true;
}

static void record_run(struct run_recorder *recorder, struct run_results *results,
                       const struct run_measurement *m, const uint64_t *delay_ns)
{
	unsigned i = results->measured++;
	uint64_t figures[RUN_FIGURE_COUNT] = {
	    [RUN_WALL_TIME] = m->wall_ns,
	    [RUN_USER_CPU] = m->user_ns,
	    [RUN_SYSTEM_CPU] = m->system_ns,
	    [RUN_PEAK_RSS] = m->peak_rss_bytes,
	    [RUN_EXIT_STATUS] = (uint64_t)m->exit_status,
	    [RUN_START_DELAY] = delay_ns ? *delay_ns : 0,
	    [RUN_RESPONSE_TIME] = delay_ns ? *delay_ns + m->wall_ns : 0,
	};
	for (int f = 0; f < RUN_FIGURE_COUNT; f++) {
		if (!delay_ns && (f == RUN_START_DELAY || f == RUN_RESPONSE_TIME))
			continue;
		results->values[f][i] = (double)figures[f];
		run_recorder_record(recorder, (enum run_figure)f, figures[f], i + 1);
	}
	json_array_append_new(results->exit_statuses, json_integer(m->exit_status));
	json_array_append_new(results->started_ns, json_integer((json_int_t)m->started_ns));
}

/* The warmups and the measured runs. Returns 0, or a negative errno (no memory). */
static int run_all(const struct run_settings *settings, char **command, const char *deployment,
                   bool json, struct run_recorder *recorder, struct run_results *results)
{
	struct run_measurement m;
	for (int w = 1; w <= (int)settings->warmup; w++) {
		if (!prepare(settings, deployment, json, results, -w))
			return 0;
		int error = run_measure(command, deployment, json, &m);
		if (error)
			return error;
		if (m.exit_status != 0) {
			note_failure(results, "CMD", -w, m.exit_status);
			return 0;
		}
	}
	struct run_schedule *schedule = &results->schedule;
	if (settings->rate > 0)
		run_schedule_begin(schedule, settings->rate);
	for (unsigned i = 0; i < (unsigned)settings->runs; i++) {
		if (!prepare(settings, deployment, json, results, (int)i))
			return 0;
		if (settings->rate > 0)
			run_schedule_wait(schedule, i);
		int error = run_measure(command, deployment, json, &m);
		if (error)
			return error;
		uint64_t planned = settings->rate > 0 ? run_schedule_planned(schedule, i) : 0;
		uint64_t delay = m.started_ns > planned ? m.started_ns - planned : 0;
		record_run(recorder, results, &m, settings->rate > 0 ? &delay : NULL);
		if (m.exit_status != 0) {
			note_failure(results, "CMD", (int)i, m.exit_status);
			return 0;
		}
	}
	return 0;
}

/* stats of args (NULL on a failure, printed), its "series" list owned by the caller. */
static json_t *collector_series(struct cli *cli, json_t *args)
{
	json_t *result = NULL;
	char err[512];
	int status = cli_request_quiet(cli, "stats", args, &result, NULL, err, sizeof(err));
	json_decref(args);
	if (status) {
		if (status != CLI_UNREACHABLE)
			fprintf(stderr, "agentperf run: the collector's stats: %s\n", err);
		return NULL;
	}
	json_t *series = json_incref(json_object_get(result, "series"));
	json_decref(result);
	return series;
}

/* What the collector holds of CMD's own agents (all but type run) in the last window_s. */
static json_t *recorded_by_command(struct cli *cli, double window_s)
{
	json_t *all = collector_series(cli, json_pack("{s:f}", "window_s", window_s));
	json_t *recorded = json_array();
	size_t index;
	json_t *series;
	json_array_foreach(all, index, series)
	{
		if (strcmp(cli_str(series, "agent_type"), "run") == 0 ||
		    !json_is_integer(json_object_get(series, "count")) ||
		    json_integer_value(json_object_get(series, "count")) == 0)
			continue;
		json_array_append(recorded, series);
	}
	json_decref(all);
	return recorded;
}

/* The validation when CMD recorded coordination_overhead; NULL when it did not. */
static json_t *requirements(struct cli *cli, bool *violated)
{
	*violated = false;
	json_t *validation = NULL;
	char err[512];
	if (cli_request_quiet(cli, "validate", NULL, &validation, NULL, err, sizeof(err)))
		return NULL;
	if (!json_is_true(json_object_get(validation, "has_data"))) {
		json_decref(validation);
		return NULL;
	}
	static const char *const keys[] = {"meets_sub_200ms_requirement", "meets_p95_requirement",
	                                   "meets_consistency_requirement"};
	for (size_t k = 0; k < 3; k++)
		*violated |= json_is_false(json_object_get(validation, keys[k]));
	return validation;
}

/* The run baseline's path: --baseline, else <storage_dir>/run-baseline.json; its confidence. */
static void baseline_path(struct cli *cli, const struct run_settings *settings, char *out,
                          size_t size, double *confidence)
{
	*confidence = 0.95;
	json_t *config = NULL;
	char err[256];
	const char *storage = ".codexplus/performance";
	if (cli_request_quiet(cli, "config.show", NULL, &config, NULL, err, sizeof(err)) == 0) {
		const char *dir = cli_str(json_object_get(config, "monitoring"), "storage_dir");
		if (dir[0])
			storage = dir;
		double c = cli_num(json_object_get(config, "baseline"), "confidence_interval");
		if (c > 0 && c < 1)
			*confidence = c;
	}
	if (settings->baseline_file)
		snprintf(out, size, "%s", settings->baseline_file);
	else
		snprintf(out, size, "%s/run-baseline.json", storage);
	json_decref(config);
}

static json_t *figures_json(const struct run_results *results, bool rate)
{
	json_t *figures = json_object();
	for (int f = 0; f < RUN_FIGURE_COUNT; f++) {
		if (!rate && (f == RUN_START_DELAY || f == RUN_RESPONSE_TIME))
			continue;
		struct run_summary summary;
		run_summarize(results->values[f], results->measured, &summary);
		json_t *entry = run_summary_json(&summary, agp_unit_name(run_figures[f].unit),
		                                 results->values[f]);
		json_object_set_new(entry, "metric", json_string(run_figures[f].metric));
		json_object_set_new(figures, run_figures[f].key, entry);
	}
	return figures;
}

/* The exit status of a finished run (docs/cli.md, "run"). */
static int final_status(int write_status, const json_t *failed, bool violated, int compare)
{
	if (failed)
		return RUN_COMMAND_FAILED;
	if (write_status)
		return write_status;
	if (violated || compare == CLI_VIOLATED)
		return CLI_VIOLATED;
	if (compare == CLI_NO_DATA)
		return CLI_NO_DATA;
	return CLI_OK;
}

int cli_run(struct cli *cli, int argc, char **argv)
{
	struct run_settings settings = {
	    .html_file = "performance_report.html", .runs = 1, .threshold = 5};
	const struct cli_option options[] = {
	    {"name", 'n', CLI_OPTION_TEXT, &cli->name, NULL},
	    {"config", 'c', CLI_OPTION_TEXT, &settings.config, NULL},
	    {"ci", 0, CLI_OPTION_TEXT, &settings.ci_file, NULL},
	    {"html", 0, CLI_OPTION_TEXT, &settings.html_file, NULL},
	    {"runs", 0, CLI_OPTION_VALUE, &settings.runs, parse_runs},
	    {"warmup", 0, CLI_OPTION_VALUE, &settings.warmup, parse_warmup},
	    {"prepare", 0, CLI_OPTION_TEXT, &settings.prepare, NULL},
	    {"rate", 0, CLI_OPTION_VALUE, &settings.rate, cli_option_positive},
	    {"establish-baseline", 0, CLI_OPTION_FLAG, &settings.establish, NULL},
	    {"compare", 0, CLI_OPTION_FLAG, &settings.compare, NULL},
	    {"threshold", 0, CLI_OPTION_VALUE, &settings.threshold, parse_threshold},
	    {"baseline", 0, CLI_OPTION_TEXT, &settings.baseline_file, NULL},
	    {"export-json", 0, CLI_OPTION_TEXT, &settings.export_json, NULL},
	    CLI_OPTION_JSON_ENTRY,
	    CLI_OPTION_END,
	};
	/* Stopping at the first operand: it starts CMD, whose options are its own. */
	const struct cli_options spec = {"run", help, options, -1, true};
	int first = 0;
	int status = cli_parse_options(cli, &spec, argc, argv, &first);
	if (status != CLI_PARSED)
		return status;
	if (first >= argc)
		return run_error(CLI_USAGE, "no command to run (see agentperf run --help)");
	if (settings.establish && settings.compare)
		return run_error(CLI_USAGE,
		                 "--establish-baseline and --compare exclude each other: establish "
		                 "with one run, compare with the next");
	static char name[AGP_DEPLOYMENT_NAME_MAX + 1];
	if (agp_deployment_resolve(cli->name, name))
		return run_error(CLI_USAGE, "%s", agp_last_error());
	cli->name = name;
	status = cli_resolve_path(cli);
	if (status)
		return status;
	char **command = argv + first;

	pid_t daemon = 0;
	if (cli_probe(cli)) {
		fprintf(stderr, "agentperf run: using the running collector of '%s'\n", name);
	} else {
		/* Private: its segment goes with it, so runs leave nothing behind in /dev/shm. */
		struct cli_daemon_options daemon_options = {.config = settings.config,
		                                            .unlink_on_exit = true};
		daemon = cli_start_daemon(cli, name, &daemon_options);
		if (daemon < 0)
			return run_error(
			    CLI_UNREACHABLE,
			    "no collector answers for '%s' and a private one did not start", name);
		fprintf(stderr, "agentperf run: started a private agentperfd (pid %d) for '%s'\n",
		        (int)daemon, name);
	}

	struct run_recorder recorder;
	uint64_t interval_ns = settings.rate > 0 ? (uint64_t)(1e9 / settings.rate) : 0;
	if (run_recorder_open(&recorder, name, settings.rate > 0, interval_ns))
		fprintf(stderr,
		        "agentperf run: the figures are printed but not recorded into '%s': %s\n",
		        name, agp_last_error());
	struct run_results results;
	json_t *output = NULL, *verdict = NULL;
	int write_status = 0, compare = CLI_OK;
	if (results_init(&results, (unsigned)settings.runs)) {
		status = run_error(CLI_VIOLATED, "out of memory");
		goto stop;
	}
	uint64_t began = run_now_ns();
	int error = run_all(&settings, command, name, cli->json, &recorder, &results);
	if (error) {
		status = run_error(RUN_COMMAND_FAILED, "%s", agp_last_error());
		goto stop;
	}
	double elapsed_s = (double)(run_now_ns() - began) / 1e9;

	json_t *own = recorder.agent
	                  ? collector_series(cli, json_pack("{s:s}", "agent", recorder.agent_name))
	                  : NULL;
	json_t *corrected =
	    recorder.agent && settings.rate > 0
	        ? collector_series(cli, json_pack("{s:s, s:s, s:b}", "agent", recorder.agent_name,
	                                          "metric", "run_wall_time", "corrected", true))
	        : NULL;
	json_t *recorded = recorded_by_command(cli, ceil(elapsed_s) + 1);
	bool violated = false;
	json_t *validation = requirements(cli, &violated);
	bool json = cli->json; /* the CI file and the report, not printed: stdout is the result's */
	cli->json = false;
	status = cli_validate_and_export(cli, settings.ci_file, settings.html_file, true);
	cli->json = json;
	if (status == CLI_UNREACHABLE || status == CLI_WRITE_FAILED)
		write_status = status;

	char path[4096] = "";
	double confidence = 0.95;
	json_t *baseline = json_null();
	if (settings.establish || settings.compare)
		baseline_path(cli, &settings, path, sizeof(path), &confidence);
	char err[512] = "";
	if (settings.establish && !results.failed) {
		int saved = run_baseline_save(path, command, own, confidence, err, sizeof(err));
		if (saved) {
			fprintf(stderr, "agentperf run: %s\n", err);
			write_status = write_status ? write_status : saved;
		} else {
			json_decref(baseline);
			baseline = json_pack("{s:s, s:b}", "file", path, "established", true);
		}
	}
	if (settings.compare && !results.failed) {
		compare = run_baseline_compare(cli, path, command, recorder.agent_name,
		                               settings.threshold, &verdict, err, sizeof(err));
		if (compare == CLI_UNREACHABLE)
			write_status = CLI_UNREACHABLE;
	}
	status = final_status(write_status, results.failed, violated, compare);

	output = json_pack(
	    "{s:[], s:s, s:s, s:{s:b, s:o, s:s}, s:I, s:I, s:I, s:o, s:o, s:O, s:O}", "command",
	    "deployment", name, "agent", recorder.agent_name, "collector", "private", daemon > 0,
	    "pid", daemon > 0 ? json_integer(daemon) : json_null(), "socket", cli->path,
	    "runs_requested", (json_int_t)settings.runs, "runs", (json_int_t)results.measured,
	    "warmup", (json_int_t)settings.warmup, "rate",
	    settings.rate > 0 ? json_real(settings.rate) : json_null(), "figures",
	    figures_json(&results, settings.rate > 0), "exit_statuses", results.exit_statuses,
	    "failed", results.failed ? results.failed : json_null());
	for (size_t i = 0; output && command[i]; i++)
		json_array_append_new(json_object_get(output, "command"), json_string(command[i]));
	json_object_set_new(output, "interval_ns",
	                    interval_ns ? json_integer((json_int_t)interval_ns) : json_null());
	json_object_set_new(output, "schedule",
	                    settings.rate > 0
	                        ? json_pack("{s:I, s:I, s:O}", "origin_ns",
	                                    (json_int_t)results.schedule.origin_ns, "interval_ns",
	                                    (json_int_t)results.schedule.interval_ns, "started_ns",
	                                    results.started_ns)
	                        : json_null());
	json_object_set_new(output, "collector_series", own ? own : json_array());
	json_object_set_new(output, "collector_corrected", corrected ? corrected : json_null());
	json_object_set_new(output, "recorded", recorded ? recorded : json_array());
	json_object_set_new(output, "requirements", validation ? validation : json_null());
	json_object_set_new(output, "baseline", baseline);
	json_object_set_new(output, "compare", verdict ? verdict : json_null());
	verdict = NULL;
	json_object_set_new(output, "exit_status", json_integer(status));

	if (settings.export_json) {
		char *text = json_dumps(output, JSON_INDENT(2) | JSON_REAL_PRECISION(17));
		int written =
		    text ? cli_write_file(settings.export_json, text, strlen(text)) : -ENOMEM;
		free(text);
		if (written) {
			fprintf(stderr, "agentperf run: cannot write %s: %s\n",
			        settings.export_json, strerror(-written));
			if (status == CLI_OK || status == CLI_VIOLATED || status == CLI_NO_DATA)
				status = CLI_WRITE_FAILED;
			json_object_set_new(output, "exit_status", json_integer(status));
		}
	}
	if (cli->json)
		cli_print_json(output);
	else
		run_print(output);
stop:
	json_decref(output);
	json_decref(verdict);
	results_free(&results);
	run_recorder_close(&recorder);
	if (daemon > 0) {
		cli_disconnect(cli);
		cli_stop_daemon(daemon);
	}
	return status;
}
