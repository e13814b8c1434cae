/*
 * `agentperf run` as a benchmark harness, checked against witnesses it does not control:
 * the benchmarked program (tests/support/run_child.c) writes what it saw itself (its
 * CLOCK_MONOTONIC at start and end, its own rusage, the samples it recorded); a collector
 * the test starts is asked afterwards what it holds of the run's agent; the start schedule
 * of --rate is checked against a deliberately slow --prepare and a slow command; and a
 * first-run baseline is compared with an unchanged and a 20 % slower command.
 *
 * Each case has its own deployment name (with the pid), folder, config and socket folder;
 * run starts and stops its private agentperfd by its pid, and the shared one of the first
 * case is started and stopped by the test, by its pid. Paths come from CMake: AGP_DAEMON,
 * AGP_CLI, AGP_CHILD.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "tests/support/cli_test_util.h"

#define MS 1000000.0

static char folder[64];
static char name[48];
static char config_path[128];
static char child_log[128];

static int start(void **state)
{
	(void)state;
	snprintf(folder, sizeof(folder), "/tmp/agp-run-XXXXXX");
	if (!mkdtemp(folder) || chdir(folder))
		return -1;
	snprintf(name, sizeof(name), "run-test-%d", (int)getpid());
	char socket_folder[96];
	snprintf(socket_folder, sizeof(socket_folder), "%s/sock", folder);
	setenv("AGENTPERF_SOCKET_DIR", socket_folder, 1);
	setenv("AGENTPERFD", AGP_DAEMON, 1);
	unsetenv("CODEX_CI_EXPORT_FILE");
	unsetenv("CODEX_CI_FAIL_ON_VIOLATION");
	unsetenv("AGENTPERF_NAME");
	snprintf(config_path, sizeof(config_path), "%s/config.json", folder);
	FILE *config = fopen(config_path, "w");
	if (!config)
		return -1;
	fprintf(config, "{\"monitoring\": {\"storage_dir\": \"%s/storage\"}}\n", folder);
	fclose(config);
	snprintf(child_log, sizeof(child_log), "%s/child.log", folder);
	return 0;
}

static int stop(void **state)
{
	(void)state;
	char command[160];
	snprintf(command, sizeof(command), "rm -rf '%s'", folder);
	return system(command) == 0 ? 0 : -1;
}

/* `agentperf -n NAME run ... ARGS` (ARGS hold --json and `-- CMD`); its stdout in *out. */
static int run(char **out, const char *format, ...) __attribute__((format(printf, 2, 3)));
static int run(char **out, const char *format, ...)
{
	char args[1024], command[2048];
	va_list list;
	va_start(list, format);
	vsnprintf(args, sizeof(args), format, list);
	va_end(list);
	snprintf(command, sizeof(command),
	         "%s -n %s run --config %s --html %s/run.html --ci %s/ci.json %s 2>>%s/cli.err",
	         AGP_CLI, name, config_path, folder, folder, args, folder);
	return ct_run(out, command);
}

/* run with --json: asserts the exit status and parses the result. */
static json_t *run_json(int expected, const char *args)
{
	char *text;
	int status = run(&text, "--json %s", args);
	if (status != expected)
		fail_msg("agentperf run %s: status %d (expected %d), output:\n%s", args, status,
		         expected, text);
	json_error_t error;
	json_t *value = json_loads(text, 0, &error);
	if (!value)
		fail_msg("agentperf run %s: not JSON (%s):\n%s", args, error.text, text);
	free(text);
	assert_int_equal(ct_num(value, "exit_status"), expected);
	return value;
}

/* What run_child wrote, one entry per run, in order. */
struct child_line {
	double start, end, user, system, maxrss_kib, recorded;
};

static size_t read_child_log(struct child_line *lines, size_t max)
{
	FILE *log = fopen(child_log, "r");
	size_t n = 0;
	while (log && n < max &&
	       fscanf(log, "%lf %lf %lf %lf %lf %lf", &lines[n].start, &lines[n].end,
	              &lines[n].user, &lines[n].system, &lines[n].maxrss_kib,
	              &lines[n].recorded) == 6)
		n++;
	if (log)
		fclose(log);
	unlink(child_log);
	return n;
}

static double value_at(const json_t *result, const char *figure, size_t run)
{
	json_t *values =
	    json_object_get(json_object_get(json_object_get(result, "figures"), figure), "values");
	json_t *value = json_array_get(values, run);
	if (!json_is_number(value))
		fail_msg("figures.%s.values[%zu] missing", figure, run);
	return json_number_value(value);
}

static const json_t *figure(const json_t *result, const char *key)
{
	return json_object_get(json_object_get(result, "figures"), key);
}

/* The stats object of metric in a list of series, or NULL. */
static const json_t *series_of(const json_t *list, const char *metric)
{
	size_t index;
	const json_t *series;
	json_array_foreach(list, index, series)
	{
		if (strcmp(json_string_value(json_object_get(series, "metric")), metric) == 0)
			return series;
	}
	return NULL;
}

static int compare_doubles(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/*
 * --runs and --warmup under a collector the test started: each figure against the child's
 * own view, the summary against a sorted copy, the collector's stats of the run's agent
 * (asked by the test afterwards) against the figures, what the child recorded against
 * what it says it recorded, and --export-json against --json.
 */
static void runs_read_back(void **state)
{
	(void)state;
	char log[128];
	snprintf(log, sizeof(log), "%s/daemon.log", folder);
	pid_t daemon = -1;
	assert_true(ct_daemon_start(folder, name, config_path, log, &daemon) > 0);
	char args[512];
	snprintf(args, sizeof(args),
	         "--runs 5 --warmup 1 --export-json %s/run.json -- %s %s 30 16 2 %d", folder,
	         AGP_CHILD, child_log, 1000000);
	json_t *result = run_json(0, args);
	assert_false(
	    json_is_true(json_object_get(json_object_get(result, "collector"), "private")));
	assert_int_equal(ct_num(result, "runs"), 5);
	struct child_line lines[8];
	assert_int_equal(read_child_log(lines, 8), 6); /* the warmup, then the 5 runs */
	double walls[5];
	for (size_t i = 0; i < 5; i++) {
		const struct child_line *seen = &lines[i + 1];
		double wall = value_at(result, "wall_time", i);
		walls[i] = wall;
		/* The child lived inside the measured span, and starting it costs well under 1 s.
		 */
		assert_true(wall >= seen->end - seen->start);
		assert_true(wall - (seen->end - seen->start) < 1000 * MS);
		assert_true(wall >= 30 * MS);
		/* wait4's figures include all the child saw of itself. */
		assert_true(value_at(result, "user_cpu", i) >= seen->user);
		assert_true(value_at(result, "system_cpu", i) >= seen->system);
		assert_true(value_at(result, "peak_rss", i) >= seen->maxrss_kib * 1024);
		assert_true(value_at(result, "peak_rss", i) >= 16.0 * 1024 * 1024);
		assert_int_equal(value_at(result, "exit_status", i), 0);
	}
	qsort(walls, 5, sizeof(walls[0]), compare_doubles);
	const json_t *wall = figure(result, "wall_time");
	assert_true(ct_num(wall, "min") == walls[0]);
	assert_true(ct_num(wall, "median") == walls[2]);
	assert_true(ct_num(wall, "max") == walls[4]);
	assert_string_equal(json_string_value(json_object_get(wall, "unit")), "nanoseconds");
	assert_string_equal(json_string_value(json_object_get(figure(result, "peak_rss"), "unit")),
	                    "bytes");

	/* The collector, asked afterwards: the run's agent and its metrics, each in its unit. */
	const char *agent = json_string_value(json_object_get(result, "agent"));
	char stats_args[128];
	snprintf(stats_args, sizeof(stats_args), "stats --agent %s", agent);
	json_t *stats = ct_cli_json(folder, name, 0, stats_args);
	const json_t *list = json_object_get(stats, "series");
	const json_t *wall_series = series_of(list, "run_wall_time");
	assert_non_null(wall_series);
	assert_int_equal(ct_num(wall_series, "count"), 5);
	assert_string_equal(json_string_value(json_object_get(wall_series, "unit")), "nanoseconds");
	/* HDR buckets of 3 significant figures: within 0.1 % of the exact value. */
	assert_true(ct_num(wall_series, "max") >= walls[4]);
	assert_true(ct_num(wall_series, "max") <= walls[4] * 1.001 + 1);
	const json_t *rss = series_of(list, "run_peak_rss");
	assert_non_null(rss);
	assert_string_equal(json_string_value(json_object_get(rss, "unit")), "bytes");
	assert_int_equal(ct_num(rss, "count"), 5);
	assert_non_null(series_of(list, "run_exit_status"));
	json_decref(stats);

	/* What the child recorded (2 samples in each of its 6 lives), shown beside. */
	double sent = 0;
	for (size_t i = 0; i < 6; i++)
		sent += lines[i].recorded;
	assert_int_equal(sent, 12);
	const json_t *recorded =
	    series_of(json_object_get(result, "recorded"), "coordination_overhead");
	assert_non_null(recorded);
	assert_int_equal(ct_num(recorded, "count"), sent);
	assert_string_equal(json_string_value(json_object_get(recorded, "agent_type")),
	                    "run-child");
	const json_t *requirements = json_object_get(result, "requirements");
	assert_true(json_is_true(json_object_get(requirements, "meets_sub_200ms_requirement")));

	/* --export-json wrote what --json printed. */
	char path[128];
	snprintf(path, sizeof(path), "%s/run.json", folder);
	json_t *exported = json_load_file(path, 0, NULL);
	assert_non_null(exported);
	assert_true(json_equal(exported, result));
	json_decref(exported);
	json_decref(result);
	/* Stopped by its pid; the folder stays for the next cases. */
	kill(daemon, SIGTERM);
	int status = 0;
	assert_int_equal(waitpid(daemon, &status, 0), daemon);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/*
 * --rate with a --prepare of 100 ms before every start planned 50 ms apart: each start falls
 * behind its plan by at least 100 + 50 i ms; the start times against the child's own clock;
 * then a command slower than the interval, whose corrected histogram grows.
 */
static void rate_schedule(void **state)
{
	(void)state;
	char args[512];
	snprintf(args, sizeof(args), "--runs 4 --rate 20 --prepare 'sleep 0.1' -- %s %s 0 0 0 0",
	         AGP_CHILD, child_log);
	json_t *result = run_json(0, args);
	struct child_line lines[8];
	assert_int_equal(read_child_log(lines, 8), 4);
	const json_t *schedule = json_object_get(result, "schedule");
	double origin = ct_num(schedule, "origin_ns"), interval = ct_num(schedule, "interval_ns");
	assert_true(interval == 50 * MS);
	for (size_t i = 0; i < 4; i++) {
		double started =
		    json_number_value(json_array_get(json_object_get(schedule, "started_ns"), i));
		double delay = value_at(result, "start_delay", i);
		assert_true(delay == started - (origin + (double)i * interval));
		assert_true(delay >= (100.0 + 50.0 * (double)i) * MS);
		/* The child began after the start run stamped, and not much later. */
		assert_true(lines[i].start >= started);
		assert_true(lines[i].start - started < 1000 * MS);
		assert_true(value_at(result, "response_time", i) ==
		            delay + value_at(result, "wall_time", i));
	}
	const json_t *delays = figure(result, "start_delay");
	assert_true(ct_num(delays, "max") >= 250 * MS);
	json_decref(result);

	/* A command of 120 ms at 20/s: run i starts about 70 i ms late, and the corrected
	 * histogram of the wall time fills in the starts the closed loop did not make. */
	snprintf(args, sizeof(args), "--runs 4 --rate 20 -- %s %s 120 0 0 0", AGP_CHILD, child_log);
	result = run_json(0, args);
	assert_int_equal(read_child_log(lines, 8), 4);
	for (size_t i = 0; i < 4; i++)
		assert_true(value_at(result, "start_delay", i) >= 70.0 * (double)i * MS);
	const json_t *corrected =
	    series_of(json_object_get(result, "collector_corrected"), "run_wall_time");
	assert_non_null(corrected);
	/* HdrHistogram's correction: a value v adds v - 50 ms, v - 100 ms, ... down to 50 ms, so
	 * each of >= 120 ms adds one at least (>= 70 ms). */
	assert_true(ct_num(corrected, "count") >= 8);
	const json_t *raw = series_of(json_object_get(result, "collector_series"), "run_wall_time");
	assert_int_equal(ct_num(raw, "count"), 4);
	json_decref(result);
}

/*
 * A first-run baseline of a 100 ms command, then --compare with the same command (0) and one
 * 20 % slower, 120 ms (1). The regression test compares against the baseline's p95, so the
 * baseline must come from a quiet spell: on a machine shared by many builds a burst can add
 * hundreds of ms to a few of its runs (seen while writing this test at a load of 22 on 2
 * cores), which lifts its p95 above any 20 % slowdown. The baseline is established again,
 * at most 5 times, until its p95 is within 10 % of its p50 (the precondition of the case,
 * checked in the stored file), and the case is reported as skipped when no quiet spell came;
 * the compares are run once each.
 */
static void baseline_compare(void **state)
{
	(void)state;
	char args[512], baseline[128];
	snprintf(baseline, sizeof(baseline), "%s/run-baseline.json", folder);
	/* Without a baseline: nothing judged, 5. */
	snprintf(args, sizeof(args), "--runs 1 --compare --baseline %s -- %s %s 50 0 0 0", baseline,
	         AGP_CHILD, child_log);
	json_t *result = run_json(5, args);
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(result, "compare"), "verdict")),
	    "not tested");
	json_decref(result);
	snprintf(args, sizeof(args), "--runs 20 --establish-baseline --baseline %s -- sleep 0.1",
	         baseline);
	bool quiet = false;
	for (int attempt = 0; attempt < 5 && !quiet; attempt++) {
		result = run_json(0, args);
		json_decref(result);
		json_t *stored = json_load_file(baseline, 0, NULL);
		assert_non_null(stored);
		const json_t *entry =
		    json_object_get(json_object_get(stored, "figures"), "wall_time");
		assert_int_equal(ct_num(entry, "count"), 20);
		assert_true(ct_num(entry, "p50") >= 100 * MS);
		assert_true(ct_num(entry, "p95") >= ct_num(entry, "p50"));
		quiet = ct_num(entry, "p95") <= 1.1 * ct_num(entry, "p50");
		json_decref(stored);
	}
	if (!quiet) {
		/* Not a pass: cmocka reports the case as skipped, and says why. */
		fprintf(stderr,
		        "baseline_compare SKIPPED: 5 baselines of sleep 0.1 had a p95 above "
		        "110 %% of their p50; the machine is too busy for a 20 %% slowdown to "
		        "show against a p95 (re-run when it is quieter)\n");
		unlink(child_log);
		skip();
	}

	snprintf(args, sizeof(args), "--runs 20 --compare --baseline %s -- sleep 0.1", baseline);
	result = run_json(0, args);
	const json_t *compare = json_object_get(result, "compare");
	assert_string_equal(json_string_value(json_object_get(compare, "verdict")),
	                    "no regression");
	assert_true(json_is_true(json_object_get(compare, "same_command")));
	json_decref(result);

	snprintf(args, sizeof(args), "--runs 20 --compare --baseline %s -- sleep 0.12", baseline);
	result = run_json(1, args);
	compare = json_object_get(result, "compare");
	assert_string_equal(json_string_value(json_object_get(compare, "verdict")), "regression");
	assert_true(json_is_false(json_object_get(compare, "same_command"))); /* 0.12, not 0.1 */
	const json_t *test = json_object_get(compare, "test");
	/* The default noise threshold: only runs beyond the baseline's p95 + 5 % count. */
	assert_true(ct_num(test, "reference_value") >=
	            1.05 * ct_num(json_object_get(compare, "baseline"), "p95"));
	assert_true(json_is_true(json_object_get(test, "regressed")));
	assert_true(ct_num(test, "p_value") < ct_num(test, "alpha"));
	json_decref(result);

	/* Too few runs for the test: not tested, 5; the text says so. */
	char *text;
	assert_int_equal(run(&text, "--runs 3 --compare --baseline %s -- sleep 0.12", baseline), 5);
	assert_non_null(strstr(text, "verdict: not tested"));
	free(text);
	unlink(child_log);
}

/* A failing command or --prepare: 6, the failure in the JSON; usage errors as JSON; a
 * violated coordination requirement: 1. */
static void failures(void **state)
{
	(void)state;
	json_t *result = run_json(6, "--runs 3 -- sh -c 'exit 7'");
	assert_int_equal(ct_num(json_object_get(result, "failed"), "exit_status"), 7);
	assert_int_equal(ct_num(result, "runs"), 1);
	assert_int_equal(value_at(result, "exit_status", 0), 7);
	json_decref(result);
	result = run_json(6, "--runs 3 --prepare false -- true");
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(result, "failed"), "what")),
	    "--prepare");
	assert_int_equal(ct_num(result, "runs"), 0);
	json_decref(result);

	char *text;
	assert_int_equal(run(NULL, "--compare --threshold -1 -- true"),
	                 2);                                        /* refused, not clamped */
	assert_int_equal(run(&text, "--json --runs 0 -- true"), 2); /* the parser's: JSON too */
	json_t *usage = json_loads(text, 0, NULL);
	assert_non_null(usage);
	assert_int_equal(ct_num(json_object_get(usage, "error"), "code"), 2);
	json_decref(usage);
	free(text);
	assert_int_equal(run(&text, "--json --establish-baseline --compare -- true"), 2);
	json_t *answer = json_loads(text, 0, NULL);
	assert_non_null(answer);
	json_t *error = json_object_get(answer, "error");
	assert_int_equal(ct_num(error, "code"), 2);
	assert_non_null(strstr(json_string_value(json_object_get(error, "message")), "--compare"));
	json_decref(answer);
	free(text);

	/* The child records coordination_overhead of 300 ms: the sub-200 ms requirement fails. */
	char args[256];
	snprintf(args, sizeof(args), "-- %s %s 0 0 5 %d", AGP_CHILD, child_log, 300000000);
	result = run_json(1, args);
	assert_true(json_is_false(json_object_get(json_object_get(result, "requirements"),
	                                          "meets_sub_200ms_requirement")));
	json_decref(result);
	unlink(child_log);
	/* Every private collector took its segment with it. */
	char segment[128];
	snprintf(segment, sizeof(segment), "/dev/shm/agentperf.%s", name);
	assert_int_equal(access(segment, F_OK), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(runs_read_back),
	    cmocka_unit_test(rate_schedule),
	    cmocka_unit_test(baseline_compare),
	    cmocka_unit_test(failures),
	};
	return cmocka_run_group_tests(tests, start, stop);
}
