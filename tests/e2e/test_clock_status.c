/*
 * `agentperf status` names the deployment clock and why: the TSC exactly
 * where the kernel's own clocksource is tsc (the witness: the kernel's
 * file, read here), re-anchored by the running collector; CLOCK_MONOTONIC
 * when AGENTPERF_CLOCK=monotonic was set at segment creation, even where
 * the kernel uses the TSC; and an AGENTPERF_CLOCK of another value is
 * refused by name.
 *
 * Each daemon has its own deployment name, config, storage and socket
 * folder, and is stopped by its pid. Paths of the programs come from
 * CMake: AGP_DAEMON, AGP_CLI.
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

#define KERNEL_CLOCKSOURCE "/sys/devices/system/clocksource/clocksource0/current_clocksource"

static char folder[64];
static char name[48];
static pid_t daemon_pid = -1;

/* The kernel's current clocksource, "" when unreadable. */
static void kernel_clocksource(char *out, size_t size)
{
	out[0] = '\0';
	FILE *file = fopen(KERNEL_CLOCKSOURCE, "r");
	if (!file)
		return;
	if (fgets(out, (int)size, file))
		out[strcspn(out, "\n")] = '\0';
	fclose(file);
}

/* A folder, config and socket folder of our own; the daemon under name-<what>. */
static void start(const char *what, const char *clock_variable)
{
	snprintf(folder, sizeof(folder), "/tmp/agp-clockst-XXXXXX");
	assert_non_null(mkdtemp(folder));
	snprintf(name, sizeof(name), "clockst-%d-%s", (int)getpid(), what);
	char socket_folder[96], config_path[128], log[128];
	snprintf(socket_folder, sizeof(socket_folder), "%s/sock", folder);
	setenv("AGENTPERF_SOCKET_DIR", socket_folder, 1);
	if (clock_variable)
		setenv("AGENTPERF_CLOCK", clock_variable, 1);
	else
		unsetenv("AGENTPERF_CLOCK");
	snprintf(config_path, sizeof(config_path), "%s/config.json", folder);
	FILE *config = fopen(config_path, "w");
	assert_non_null(config);
	fprintf(config, "{\"monitoring\": {\"storage_dir\": \"%s/storage\"}}\n", folder);
	fclose(config);
	snprintf(log, sizeof(log), "%s/daemon.log", folder);
	assert_true(ct_daemon_start(folder, name, config_path, log, &daemon_pid) > 0);
}

static void stop(void)
{
	assert_int_equal(ct_daemon_stop(daemon_pid, folder), 0);
	daemon_pid = -1;
	unsetenv("AGENTPERF_CLOCK");
}

/* The status's clock object, after at least reanchors re-anchors when it is re-anchored. */
static json_t *status_clock(json_t **status, double reanchors)
{
	for (int waited = 0;; waited += 20) {
		*status = ct_cli_json(folder, name, 0, "status");
		json_t *clock = json_object_get(*status, "clock");
		assert_non_null(clock);
		if (!json_is_true(json_object_get(clock, "reanchored")) ||
		    ct_num(clock, "reanchors") >= reanchors)
			return clock;
		if (waited > 5000)
			fail_msg("fewer than %.0f re-anchors after 5 s", reanchors);
		json_decref(*status);
		ct_sleep_ms(20);
	}
}

static void expect_line(const char *needle)
{
	char *text;
	assert_int_equal(ct_cli(folder, name, &text, "status"), 0);
	if (!strstr(text, needle))
		fail_msg("`agentperf status` has no \"%s\":\n%s", needle, text);
	free(text);
}

static void test_status_names_the_kernel_choice(void **state)
{
	(void)state;
	char kernel[64];
	kernel_clocksource(kernel, sizeof(kernel));
	start("auto", NULL);
	json_t *status;
	json_t *clock = status_clock(&status, 4);
	const char *source = json_string_value(json_object_get(clock, "source"));
	assert_non_null(source);
	assert_string_equal(json_string_value(json_object_get(clock, "kernel_clocksource")),
	                    kernel);
	if (strcmp(kernel, "tsc") == 0) {
#if defined(__x86_64__) || defined(__i386__)
		assert_string_equal(source, "tsc");
		assert_string_equal(json_string_value(json_object_get(clock, "reason")),
		                    "kernel clocksource tsc");
		assert_true(json_is_true(json_object_get(clock, "reanchored")));
		/* Re-anchored every 25 ms: the last one is recent. */
		assert_true(ct_num(clock, "since_reanchor_s") < 1.0);
		expect_line("clock          tsc (kernel clocksource tsc, re-anchored ");
#endif
	} else {
		assert_string_equal(source, "monotonic");
		assert_true(json_is_false(json_object_get(clock, "reanchored")));
		char line[160];
		snprintf(line, sizeof(line),
		         "clock          monotonic (kernel clocksource %s, not tsc",
		         kernel[0] ? kernel : "unknown");
		if (kernel[0])
			expect_line(line);
	}
	char *shown = json_dumps(clock, JSON_COMPACT);
	print_message("kernel clocksource %s: %s\n", kernel, shown);
	free(shown);
	json_decref(status);
	stop();
}

static void test_monotonic_still_forces_the_fallback(void **state)
{
	(void)state;
	start("mono", "monotonic");
	json_t *status;
	json_t *clock = status_clock(&status, 0);
	assert_string_equal(json_string_value(json_object_get(clock, "source")), "monotonic");
	assert_string_equal(json_string_value(json_object_get(clock, "reason")),
	                    "AGENTPERF_CLOCK=monotonic at segment creation");
	assert_true(json_is_false(json_object_get(clock, "reanchored")));
	assert_int_equal(ct_num(clock, "reanchors"), 0);
	expect_line("clock          monotonic (AGENTPERF_CLOCK=monotonic at segment creation)");
	json_decref(status);
	stop();
}

static void test_other_values_are_refused(void **state)
{
	(void)state;
	char command[256], *text;
	snprintf(command, sizeof(command),
	         "AGENTPERF_CLOCK=rdtsc %s --name clockst-%d-bad --unlink-on-exit 2>&1", AGP_DAEMON,
	         (int)getpid());
	int status = ct_run(&text, command);
	assert_int_not_equal(status, 0);
	if (!strstr(text, "AGENTPERF_CLOCK is 'rdtsc'"))
		fail_msg("agentperfd does not name the variable:\n%s", text);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_status_names_the_kernel_choice),
	    cmocka_unit_test(test_monotonic_still_forces_the_fallback),
	    cmocka_unit_test(test_other_values_are_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
