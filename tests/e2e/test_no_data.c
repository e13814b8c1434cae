/*
 * "No data" instead of nan, 0 or "NOT met", and unknown names refused: a real agentperfd
 * (its own deployment name, config, storage and socket folder, stopped by its pid) that has
 * no samples yet, asked through the `agentperf` command line as a user would. Then one agent
 * records known values, and the names it brought become known while others stay refused.
 *
 * Paths of the programs come from CMake: AGP_DAEMON, AGP_CLI, AGP_AGENT.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
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

#define MS 1000000LL

static char folder[64]; /* the test's temporary folder, also the working folder */
static char name[48];   /* deployment name */
static pid_t daemon_pid = -1;

#define cli(out, ...)          ct_cli(folder, name, out, __VA_ARGS__)
#define cli_json(status, args) ct_cli_json(folder, name, status, args)
#define num                    ct_num

/* `agentperf -n NAME ARGS` with standard error folded into *out. Returns the exit status. */
static int cli_both(char **out, const char *args)
{
	char command[1024];
	snprintf(command, sizeof(command), "%s -n %s %s 2>&1", AGP_CLI, name, args);
	return ct_run(out, command);
}

/* The command's exit status is expected and its combined output holds every wanted text. */
static void expect(const char *args, int expected_status, const char *const *wanted,
                   const char *const *unwanted)
{
	char *text = NULL;
	int status = cli_both(&text, args);
	if (status != expected_status)
		fail_msg("agentperf %s: status %d (expected %d), output:\n%s", args, status,
		         expected_status, text);
	for (; wanted && *wanted; wanted++)
		if (!strstr(text, *wanted))
			fail_msg("agentperf %s: no \"%s\" in:\n%s", args, *wanted, text);
	for (; unwanted && *unwanted; unwanted++)
		if (strstr(text, *unwanted))
			fail_msg("agentperf %s: \"%s\" in:\n%s", args, *unwanted, text);
	free(text);
}

static const char *const no_nan[] = {"nan", "NOT met", " 0 ns", NULL};

static int start(void **state)
{
	(void)state;
	snprintf(folder, sizeof(folder), "/tmp/agp-nodata-XXXXXX");
	if (!mkdtemp(folder) || chdir(folder))
		return -1;
	snprintf(name, sizeof(name), "nodata-%d", (int)getpid());
	char socket_folder[96], config_path[128], log[128];
	snprintf(socket_folder, sizeof(socket_folder), "%s/sock", folder);
	setenv("AGENTPERF_SOCKET_DIR", socket_folder, 1);
	setenv("AGENTPERFD", AGP_DAEMON, 1);
	unsetenv("CODEX_CI_EXPORT_FILE");
	unsetenv("CODEX_CI_FAIL_ON_VIOLATION");
	snprintf(config_path, sizeof(config_path), "%s/config.json", folder);
	FILE *config = fopen(config_path, "w");
	if (!config)
		return -1;
	fprintf(config,
	        "{\"monitoring\": {\"storage_dir\": \"%s/storage\", \"ci_export_file\": "
	        "\"%s/ci-default.json\"}}\n",
	        folder, folder);
	fclose(config);
	snprintf(log, sizeof(log), "%s/daemon.log", folder);
	return ct_daemon_start(folder, name, config_path, log, &daemon_pid) < 0 ? -1 : 0;
}

static int stop(void **state)
{
	(void)state;
	return ct_daemon_stop(daemon_pid, folder);
}

/* stats: "no data" rather than an empty table, with --metric of a known metric too. */
static void stats_without_samples(void **state)
{
	(void)state;
	const char *const no_data[] = {"no data", NULL};
	expect("stats", 0, no_data, no_nan);
	expect("stats --metric agent_initialization", 0, no_data, no_nan);
	json_t *stats = cli_json(0, "stats");
	assert_true(json_is_array(json_object_get(stats, "series")));
	assert_int_equal(json_array_size(json_object_get(stats, "series")), 0);
	json_decref(stats);
}

/* validate: no requirement met or violated, null in JSON, exit 5 with --fail-on-violation. */
static void validate_without_samples(void **state)
{
	(void)state;
	const char *const wanted[] = {
	    "avg coordination overhead no data", "p95 coordination overhead no data",
	    "sub-200ms requirement     no data", "consistency requirement   no data", NULL};
	expect("validate", 0, wanted, no_nan);
	expect("validate --fail-on-violation", 5, wanted, no_nan);
	json_t *validation = cli_json(0, "validate");
	static const char *const null_keys[] = {
	    "avg_coordination_overhead_ms", "p95_coordination_overhead_ms",
	    "meets_sub_200ms_requirement",  "meets_consistency_requirement",
	    "meets_p95_requirement",        "stddev_coordination_overhead_ms",
	    "baseline_overhead_ms",
	};
	for (size_t k = 0; k < sizeof(null_keys) / sizeof(null_keys[0]); k++)
		if (!json_is_null(json_object_get(validation, null_keys[k])))
			fail_msg("validate: %s is not null", null_keys[k]);
	assert_true(json_is_false(json_object_get(validation, "has_data")));
	assert_true(json_is_false(json_object_get(validation, "validated")));
	assert_int_equal(num(validation, "samples_analyzed"), 0);
	json_decref(validation);
}

/* export --ci: null figures; ci_fail_on_threshold_violation (on by default) makes it exit 5. */
static void ci_export_without_samples(void **state)
{
	(void)state;
	char path[128], args[160];
	snprintf(path, sizeof(path), "%s/ci-empty.json", folder);
	snprintf(args, sizeof(args), "export --ci %s", path);
	expect(args, 5, NULL, NULL);
	json_t *ci = json_load_file(path, 0, NULL);
	assert_non_null(ci);
	assert_true(json_is_null(json_object_get(ci, "coordination_overhead_ms")));
	assert_true(json_is_null(json_object_get(ci, "p95_coordination_overhead_ms")));
	assert_true(json_is_false(json_object_get(ci, "meets_requirements")));
	assert_string_equal(json_string_value(json_object_get(ci, "overall_health")), "unknown");
	json_decref(ci);
}

/* run -- true: CMD recorded nothing, so its requirements say "no data"; its figures were
 * measured, so it exits 0. */
static void run_true_without_samples(void **state)
{
	(void)state;
	char args[256];
	/* Its own private collector: run's agent (type run) would make names known to this one. */
	snprintf(args, sizeof(args),
	         "run --name %s-run --ci %s/run-ci.json --html %s/run.html -- true", name, folder,
	         folder);
	const char *const wanted[] = {"no data: CMD recorded no coordination_overhead samples",
	                              "wall time", NULL};
	const char *const unwanted[] = {"nan", "NOT met", NULL};
	expect(args, 0, wanted, unwanted);
}

/* report: its text and its HTML page say "no data" where there is no figure. */
static void report_without_samples(void **state)
{
	(void)state;
	const char *const wanted[] = {"avg coordination overhead no data",
	                              "p99 coordination overhead no data", NULL};
	expect("report", 0, wanted, no_nan);
	char path[128], args[160];
	snprintf(path, sizeof(path), "%s/empty.html", folder);
	snprintf(args, sizeof(args), "report --html %s", path);
	expect(args, 0, NULL, NULL);
	FILE *page = fopen(path, "r");
	assert_non_null(page);
	char *html = NULL;
	size_t length = 0;
	assert_true(getdelim(&html, &length, '\0', page) > 0);
	fclose(page);
	if (strstr(html, "nan ms") || !strstr(html, "<td>no data</td>"))
		fail_msg("report --html without samples:\n%s", html);
	free(html);
}

/* status: health "no data" in text ("unknown" in JSON), and no clock skew counted. */
static void status_without_samples(void **state)
{
	(void)state;
	const char *const wanted[] = {"health         no data", "clock skew     0 negative", NULL};
	expect("status", 0, wanted, NULL);
	json_t *status = cli_json(0, "status");
	assert_string_equal(json_string_value(json_object_get(status, "health")), "unknown");
	assert_int_equal(num(status, "clock_skew_negative"), 0);
	json_decref(status);
}

static const char *const builtin_names[] = {
    "known: coordination_overhead, task_execution_time, agent_initialization, "
    "result_processing, parallel_coordination, memory_usage, error_recovery_time",
    NULL};

/* Names the collector does not know: exit status 2 and the known names, not an empty table. */
static void unknown_names_refused(void **state)
{
	(void)state;
	const char *const metric[] = {"agentperf stats: no metric 'nope'", builtin_names[0], NULL};
	expect("stats --metric nope", 2, metric, NULL);
	expect("stats --json --metric nope", 2, metric, NULL);
	const char *const type[] = {"agentperf stats: no agent type 'nope'; known: (none yet)",
	                            NULL};
	expect("stats --agent-type nope", 2, type, NULL);
	const char *const agent[] = {"agentperf stats: no agent 'nope'; known: (none yet)", NULL};
	expect("stats --agent nope", 2, agent, NULL);
	const char *const hlog_metric[] = {"agentperf hlog: no metric 'nope'", builtin_names[0],
	                                   NULL};
	expect("hlog --metric nope", 2, hlog_metric, NULL);
	const char *const hlog_type[] = {"agentperf hlog: no agent type 'nope'", NULL};
	expect("hlog --agent-type nope", 2, hlog_type, NULL);
	const char *const hgrm[] = {"agentperf stats: no metric 'nope'", NULL};
	expect("stats --hgrm --metric nope", 2, hgrm, NULL);
}

/* After an agent recorded, its type, name and figures are there; other names are still refused. */
static void names_known_after_samples(void **state)
{
	(void)state;
	/* 10 coordination_overhead samples of 1..10 ms from agent "w1" of type "worker". */
	char command[512], *text = NULL;
	snprintf(command, sizeof(command), "%s %s worker w1 0 10 %lld 0", AGP_AGENT, name, MS);
	assert_int_equal(ct_run(&text, command), 0);
	long recorded = 0;
	assert_int_equal(sscanf(text, "recorded %ld", &recorded), 1);
	free(text);
	assert_int_equal(recorded, 10);
	json_t *stats = NULL;
	for (int waited = 0; waited < 5000; waited += 20) {
		json_decref(stats);
		stats = cli_json(0, "stats --metric coordination_overhead --agent-type worker");
		json_t *series = json_array_get(json_object_get(stats, "series"), 0);
		if (series && num(series, "count") == (double)recorded)
			break;
		ct_sleep_ms(20);
	}
	json_t *series = json_array_get(json_object_get(stats, "series"), 0);
	assert_non_null(series);
	assert_int_equal(num(series, "count"), recorded);
	json_decref(stats);
	const char *const type[] = {"no agent type 'nope'; known: worker", NULL};
	expect("stats --agent-type nope", 2, type, NULL);
	const char *const agent[] = {"no agent 'nope'; known: w1", NULL};
	expect("stats --agent nope", 2, agent, NULL);
	expect("stats --agent w1", 0, NULL, NULL);
	const char *const has_data[] = {"sub-200ms requirement     met", NULL};
	expect("validate", 0, has_data, NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(stats_without_samples),
	    cmocka_unit_test(validate_without_samples),
	    cmocka_unit_test(ci_export_without_samples),
	    cmocka_unit_test(run_true_without_samples),
	    cmocka_unit_test(status_without_samples),
	    cmocka_unit_test(report_without_samples),
	    cmocka_unit_test(unknown_names_refused),
	    cmocka_unit_test(names_known_after_samples),
	};
	return cmocka_run_group_tests(tests, start, stop);
}
