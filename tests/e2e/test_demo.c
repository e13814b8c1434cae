/*
 * The README's main job end to end: `agentperf demo` starts its own
 * agentperfd, runs 200 tasks over the five default agents, and must exit 0
 * with every file it names written and parseable, the collector's counts
 * exact, and its shared segment gone afterwards. A second, small run checks
 * the --json summary.
 *
 * Paths of the programs come from CMake: AGP_DAEMON, AGP_CLI.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "tests/support/cli_test_util.h"

static char folder[64];

/* Runs the demo with args; returns its exit status, standard output in *out. */
static int demo(char **out, const char *args)
{
	char command[1024];
	snprintf(command, sizeof(command), "%s demo %s 2>>%s/demo.err", AGP_CLI, args, folder);
	return ct_run(out, command);
}
#define num ct_num

static json_t *load(const char *dir, const char *file)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	json_error_t error;
	json_t *value = json_load_file(path, 0, &error);
	if (!value)
		fail_msg("%s: %s (line %d)", path, error.text, error.line);
	return value;
}

/* The deployment's segment is gone once the demo's collector stopped. */
static void assert_segment_gone(const char *output)
{
	const char *at = strstr(output, "deployment '");
	assert_non_null(at);
	char name[64];
	assert_int_equal(sscanf(at, "deployment '%63[^']'", name), 1);
	char path[128];
	snprintf(path, sizeof(path), "/dev/shm/agentperf.%s", name);
	struct stat info;
	if (stat(path, &info) == 0)
		fail_msg("%s is still there after the demo", path);
}

static void main_job(void **state)
{
	(void)state;
	char dir[128], args[256];
	snprintf(dir, sizeof(dir), "%s/out", folder);
	snprintf(args, sizeof(args), "--dir %s", dir);
	char *output;
	int status = demo(&output, args);
	if (status != 0)
		fprintf(stderr, "agentperf demo: status %d, output:\n%s\n", status, output);
	assert_int_equal(status, 0);
	/* Progress, the tasks, the statistics, the verdict and the paths. */
	assert_non_null(strstr(output, "100%  200/200 tasks"));
	assert_non_null(strstr(output, "200 completed, 0 failed, 0 timed out"));
	assert_non_null(strstr(output, "coordination_overhead    200"));
	assert_non_null(strstr(output, "validated                 yes"));
	char line[256];
	snprintf(line, sizeof(line), "CI JSON        %s/performance_metrics.json", dir);
	assert_non_null(strstr(output, line));
	snprintf(line, sizeof(line), "HTML report    %s/performance_report.html", dir);
	assert_non_null(strstr(output, line));
	assert_segment_gone(output);
	free(output);

	json_t *ci = load(dir, "performance_metrics.json");
	assert_true(json_is_true(json_object_get(ci, "validation_passed")));
	assert_true(json_is_true(json_object_get(ci, "baseline_established")));
	assert_true(num(ci, "coordination_overhead_ms") < 200);
	/*
	 * Four samples a task, one agent_initialization per worker (five agents,
	 * two workers each) and one parallel_coordination per batch of ten.
	 */
	assert_int_equal(num(ci, "total_metrics_collected"), 200 * 4 + 10 + 20);
	json_t *validation = json_object_get(ci, "performance_validation");
	assert_int_equal(num(validation, "samples_analyzed"), 200);
	json_decref(ci);

	json_t *baseline = load(dir, "baseline.json");
	assert_int_equal(num(baseline, "samples_count"), 200);
	assert_true(json_array_size(json_object_get(baseline, "metrics")) >= 7);
	json_decref(baseline);

	char path[256];
	snprintf(path, sizeof(path), "%s/performance_report.html", dir);
	FILE *file = fopen(path, "r");
	assert_non_null(file);
	static char html[1 << 20];
	size_t length = fread(html, 1, sizeof(html) - 1, file);
	fclose(file);
	html[length] = '\0';
	assert_true(strncmp(html, "<!DOCTYPE html>", 15) == 0);
	assert_non_null(strstr(html, "<svg"));
	assert_non_null(strstr(html, "coordination_overhead"));
	assert_non_null(strstr(html, "</html>"));
}

static void json_summary(void **state)
{
	(void)state;
	char dir[128], args[256];
	snprintf(dir, sizeof(dir), "%s/small", folder);
	snprintf(args, sizeof(args), "--dir %s --tasks 25 --concurrency 5 --json", dir);
	char *output;
	assert_int_equal(demo(&output, args), 0);
	json_error_t error;
	json_t *summary = json_loads(output, 0, &error);
	if (!summary)
		fail_msg("not one JSON object (%s):\n%s", error.text, output);
	free(output);
	json_t *tasks = json_object_get(summary, "tasks");
	assert_int_equal(num(tasks, "completed"), 25);
	assert_int_equal(num(tasks, "concurrency"), 5);
	assert_int_equal(num(summary, "exit_status"), 0);
	assert_true(
	    json_is_true(json_object_get(json_object_get(summary, "validation"), "validated")));
	/* 25 tasks are fewer than the default 100 samples: the baseline fits the workload. */
	assert_int_equal(num(json_object_get(summary, "baseline"), "samples_count"), 25);
	json_decref(summary);
	json_decref(load(dir, "performance_metrics.json"));
}

static void bad_options(void **state)
{
	(void)state;
	char *output;
	assert_int_equal(demo(&output, "--tasks 0"), 2);
	free(output);
	assert_int_equal(demo(&output, "--concurrency x"), 2);
	free(output);
}

static int setup(void **state)
{
	(void)state;
	snprintf(folder, sizeof(folder), "/tmp/agp-demo-XXXXXX");
	if (!mkdtemp(folder))
		return -1;
	char socket_folder[96];
	snprintf(socket_folder, sizeof(socket_folder), "%s/sock", folder);
	setenv("AGENTPERF_SOCKET_DIR", socket_folder, 1);
	setenv("AGENTPERFD", AGP_DAEMON, 1);
	unsetenv("AGENTPERF_NAME");
	unsetenv("CODEX_CI_EXPORT_FILE");
	unsetenv("CODEX_BASELINE_MIN_SAMPLES");
	unsetenv("CODEX_COORDINATION_THRESHOLD_MS");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	char command[160];
	snprintf(command, sizeof(command), "rm -rf '%s'", folder);
	return system(command) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(main_job),
	    cmocka_unit_test(json_summary),
	    cmocka_unit_test(bad_options),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
