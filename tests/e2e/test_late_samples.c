/*
 * Late samples are visible where the accounting is: this test records, into a real agentperfd
 * (1 s windows, 3.6 s retention), samples stamped now and samples stamped a minute ago (older
 * than the retention), with agp_record_at, and `agentperf status` and `agentperf agents` (text
 * and --json) must count exactly the old ones as late, the others as aggregated, with the
 * accounting identity holding. The witness is what this test recorded.
 *
 * The daemon (its own deployment name, config, storage and socket folder) is stopped by its pid.
 * Paths of the programs come from CMake: AGP_DAEMON, AGP_CLI.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "tests/support/cli_test_util.h"

#include <agentperf/agentperf.h>

#define OLD    7
#define RECENT 5

static char folder[64];
static char name[48];
static pid_t daemon_pid = -1;

static int start(void **state)
{
	(void)state;
	snprintf(folder, sizeof(folder), "/tmp/agp-late-XXXXXX");
	if (!mkdtemp(folder))
		return -1;
	snprintf(name, sizeof(name), "late-%d", (int)getpid());
	char socket_folder[96], config_path[128], log[128];
	snprintf(socket_folder, sizeof(socket_folder), "%s/sock", folder);
	setenv("AGENTPERF_SOCKET_DIR", socket_folder, 1);
	snprintf(config_path, sizeof(config_path), "%s/config.json", folder);
	FILE *config = fopen(config_path, "w");
	if (!config)
		return -1;
	fprintf(
	    config,
	    "{\"monitoring\": {\"storage_dir\": \"%s/storage\", \"aggregation_window_seconds\": 1, "
	    "\"metric_retention_hours\": 0.001}}\n",
	    folder);
	fclose(config);
	snprintf(log, sizeof(log), "%s/daemon.log", folder);
	return ct_daemon_start(folder, name, config_path, log, &daemon_pid) < 0 ? -1 : 0;
}

static int stop(void **state)
{
	(void)state;
	return ct_daemon_stop(daemon_pid, folder);
}

static void late_samples_are_counted_in_status_and_agents(void **state)
{
	(void)state;
	struct agp_agent_options options = {.deployment = name};
	agp_agent *agent;
	assert_int_equal(agp_agent_open("old-clock", "worker", &options, &agent), 0);
	uint64_t now = agp_clock_now_ns(agent);
	for (int i = 0; i < OLD; i++)
		assert_true(agp_record_at(agent, AGP_METRIC_TASK_EXECUTION_TIME, 1000, 0,
		                          now - 60ull * 1000 * 1000 * 1000, 0));
	for (int i = 0; i < RECENT; i++)
		assert_true(agp_record(agent, AGP_METRIC_TASK_EXECUTION_TIME, 1000, 0));

	json_t *status = NULL;
	for (int waited = 0; waited < 5000; waited += 20) {
		json_decref(status);
		status = ct_cli_json(folder, name, 0, "status");
		if (ct_num(status, "late") + ct_num(status, "aggregated") >= OLD + RECENT)
			break;
		ct_sleep_ms(20);
	}
	assert_int_equal(ct_num(status, "late"), OLD);
	assert_int_equal(ct_num(status, "aggregated"), RECENT);
	assert_int_equal(ct_num(status, "written"),
	                 ct_num(status, "aggregated") + ct_num(status, "invalid") +
	                     ct_num(status, "discarded") + ct_num(status, "late") +
	                     ct_num(status, "dropped") + ct_num(status, "pending") +
	                     ct_num(status, "earlier"));
	json_decref(status);

	json_t *agents = ct_cli_json(folder, name, 0, "agents");
	json_t *entry = json_array_get(json_object_get(agents, "agents"), 0);
	assert_non_null(entry);
	assert_string_equal(json_string_value(json_object_get(entry, "name")), "old-clock");
	assert_int_equal(ct_num(entry, "late"), OLD);
	assert_int_equal(ct_num(entry, "samples"), OLD + RECENT);
	json_decref(agents);

	char *text;
	assert_int_equal(ct_cli(folder, name, &text, "status"), 0);
	assert_non_null(strstr(text, "late           7 (older than the retention"));
	free(text);
	assert_int_equal(ct_cli(folder, name, &text, "agents"), 0);
	assert_non_null(strstr(text, "LATE"));
	free(text);
	agp_agent_close(agent);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(late_samples_are_counted_in_status_and_agents),
	};
	return cmocka_run_group_tests(tests, start, stop);
}
