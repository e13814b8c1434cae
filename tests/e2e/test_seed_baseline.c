/*
 * A baseline.json of the original system (its means only) under a real
 * agentperfd: `baseline show` says it has no percentiles (null in JSON,
 * "no percentiles" in the table) and keeps its timestamps' microseconds, and
 * `validate` says which regression checks it cannot make and why. The test
 * starts its own daemon (its own deployment name with the pid, config,
 * storage and socket folder) and stops it by its pid.
 *
 * Paths of the programs come from CMake: AGP_DAEMON, AGP_CLI.
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
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "tests/support/cli_test_util.h"

static char folder[64];
static char name[48];
static pid_t daemon_pid = -1;

#define cli(out, ...)          ct_cli(folder, name, out, __VA_ARGS__)
#define cli_json(status, args) ct_cli_json(folder, name, status, args)

/* As the original wrote it: json.dump(indent=2) of its keys, datetime.now().isoformat(). */
static const char seed_baseline[] =
    "{\n  \"coordination_overhead_ms\": 120.5,\n  \"task_execution_ms\": 900.25,\n"
    "  \"agent_init_ms\": 0.0,\n  \"result_processing_ms\": 0.0,\n"
    "  \"parallel_overhead_ms\": 0.0,\n  \"memory_usage_mb\": 0.0,\n"
    "  \"samples_count\": 150,\n  \"measurement_period_hours\": 24,\n"
    "  \"confidence_interval\": 0.95,\n"
    "  \"established_at\": \"2024-01-15T10:30:00.123456\",\n"
    "  \"last_updated\": \"2024-01-15T10:30:00.123456\"\n}\n";

static void write_text(const char *path, const char *text)
{
	FILE *file = fopen(path, "w");
	assert_non_null(file);
	assert_true(fputs(text, file) >= 0);
	assert_int_equal(fclose(file), 0);
}

static int start(void **state)
{
	(void)state;
	snprintf(folder, sizeof(folder), "/tmp/agp-seed-baseline-XXXXXX");
	if (!mkdtemp(folder))
		return -1;
	snprintf(name, sizeof(name), "seedbase-%d", (int)getpid());
	char path[160];
	snprintf(path, sizeof(path), "%s/sock", folder);
	setenv("AGENTPERF_SOCKET_DIR", path, 1);
	snprintf(path, sizeof(path), "%s/storage", folder);
	if (mkdir(path, 0700) != 0)
		return -1;
	snprintf(path, sizeof(path), "%s/storage/baseline.json", folder);
	write_text(path, seed_baseline);
	char config_path[128], config[400];
	snprintf(config_path, sizeof(config_path), "%s/config.json", folder);
	snprintf(config, sizeof(config),
	         "{\"monitoring\": {\"storage_dir\": \"%s/storage\", \"ci_export_file\": "
	         "\"%s/ci.json\"}}\n",
	         folder, folder);
	write_text(config_path, config);
	unsetenv("CODEX_CI_EXPORT_FILE");
	char log[128];
	snprintf(log, sizeof(log), "%s/daemon.log", folder);
	return ct_daemon_start(folder, name, config_path, log, &daemon_pid) < 0 ? -1 : 0;
}

static int stop(void **state)
{
	(void)state;
	return ct_daemon_stop(daemon_pid, folder);
}

static void show_says_no_percentiles(void **state)
{
	(void)state;
	json_t *baseline = cli_json(0, "baseline show");
	const char *established = json_string_value(json_object_get(baseline, "established_at"));
	assert_non_null(established);
	assert_non_null(strstr(established, ".123456+00:00")); /* the microseconds are kept */
	json_t *metrics = json_object_get(baseline, "metrics");
	assert_int_equal(json_array_size(metrics), 2); /* the two non-zero means */
	size_t index;
	json_t *metric;
	json_array_foreach(metrics, index, metric)
	{
		assert_true(json_is_number(json_object_get(metric, "mean")));
		const char *const percentiles[] = {"p50", "p95", "p99", "max", "p95_upper"};
		for (size_t k = 0; k < 5; k++)
			if (!json_is_null(json_object_get(metric, percentiles[k])))
				fail_msg("%s of %s is not null", percentiles[k],
				         json_string_value(json_object_get(metric, "metric")));
	}
	json_decref(baseline);

	char *text;
	assert_int_equal(cli(&text, "baseline show"), 0);
	if (!strstr(text, "no percentiles"))
		fail_msg("baseline show does not say 'no percentiles':\n%s", text);
	free(text);
}

static void validate_says_what_it_cannot_check(void **state)
{
	(void)state;
	char *text;
	cli(&text, "validate --json"); /* no samples: not validated, whatever its status */
	json_t *validation = json_loads(text, 0, NULL);
	if (!validation)
		fail_msg("validate --json is not JSON:\n%s", text);
	free(text);
	json_t *regressions = json_object_get(validation, "regressions");
	assert_int_equal(json_array_size(regressions), 2);
	size_t index;
	json_t *regression;
	json_array_foreach(regressions, index, regression)
	{
		assert_true(json_is_false(json_object_get(regression, "checked")));
		assert_true(json_is_null(json_object_get(regression, "regressed")));
		assert_true(json_is_null(json_object_get(regression, "baseline_p95")));
		assert_true(json_is_null(json_object_get(regression, "p_value")));
		const char *reason = json_string_value(json_object_get(regression, "reason"));
		assert_non_null(reason);
		assert_non_null(strstr(reason, "no percentiles"));
	}
	assert_true(json_is_false(json_object_get(validation, "regression_detected")));
	json_decref(validation);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(show_says_no_percentiles),
	    cmocka_unit_test(validate_says_what_it_cannot_check),
	};
	return cmocka_run_group_tests(tests, start, stop);
}
