/*
 * Bad configuration that used to get through: a monitoring.group this machine
 * does not know (config check said "valid"; the daemon created its segment and
 * then failed with exit 1), and CODEX_* numbers in forms docs/config.md does
 * not promise (hex such as 0x10 was read as 16). Both tools must now refuse
 * them as bad configuration with the same status 2: `agentperf config check`
 * for the problems it finds, agentperfd before it creates anything. Witnesses: the group database
 * (the name really is unknown), /dev/shm (no segment), each program's own exit status and words.
 *
 * Paths of the programs come from CMake: AGP_DAEMON, AGP_CLI.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/support/test_util.h"

/* A refusal takes milliseconds; this only bounds a program that wrongly keeps running. */
#define RUN_DEADLINE_MS 10000

static char folder[64];
static char unknown_group[48];

struct run {
	int status; /* the exit status, or -1 when it had to be killed at the deadline */
	char output[8192];
};

static int64_t now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/*
 * Runs argv with one extra environment variable (NULL: none), standard output
 * and error together into run->output. A program still running at the
 * deadline is killed by its pid (status -1).
 */
static void run_program(char *const argv[], const char *env_name, const char *env_value,
                        struct run *run)
{
	int pipe_fds[2];
	assert_int_equal(pipe2(pipe_fds, O_CLOEXEC), 0);
	pid_t child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		dup2(pipe_fds[1], STDOUT_FILENO);
		dup2(pipe_fds[1], STDERR_FILENO);
		if (env_name)
			setenv(env_name, env_value, 1);
		/* Whatever a wrongly started daemon writes lands in the test's folder. */
		if (chdir(folder) != 0)
			_exit(126);
		execv(argv[0], argv);
		_exit(127);
	}
	close(pipe_fds[1]);
	size_t length = 0;
	int64_t deadline = now_ms() + RUN_DEADLINE_MS;
	bool killed = false;
	for (;;) {
		int64_t left = deadline - now_ms();
		if (left <= 0 && !killed) {
			kill(child, SIGKILL);
			killed = true;
		}
		struct pollfd p = {.fd = pipe_fds[0], .events = POLLIN};
		if (poll(&p, 1, left > 0 ? (int)left : 1000) <= 0)
			continue;
		ssize_t got =
		    read(pipe_fds[0], run->output + length, sizeof(run->output) - 1 - length);
		if (got <= 0)
			break;
		length += (size_t)got;
		if (length == sizeof(run->output) - 1)
			break;
	}
	run->output[length] = '\0';
	close(pipe_fds[0]);
	int status;
	assert_int_equal(waitpid(child, &status, 0), child);
	run->status = !killed && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void write_config(const char *file, const char *group)
{
	FILE *out = fopen(file, "w");
	assert_non_null(out);
	fprintf(out, "{\"monitoring\": {\"storage_dir\": \"%s/storage\", \"group\": \"%s\"}}\n",
	        folder, group);
	assert_int_equal(fclose(out), 0);
}

static bool segment_exists(const char *deployment)
{
	char path[160];
	snprintf(path, sizeof(path), "/dev/shm/agentperf.%s", deployment);
	struct stat st;
	return stat(path, &st) == 0;
}

static int setup(void **state)
{
	(void)state;
	snprintf(folder, sizeof(folder), "/tmp/agp-cfgref-%ld-XXXXXX", (long)getpid());
	if (!mkdtemp(folder))
		return -1;
	char sockets[128];
	snprintf(sockets, sizeof(sockets), "%s/sockets", folder);
	if (mkdir(sockets, 0700) != 0)
		return -1;
	setenv("AGENTPERF_SOCKET_DIR", sockets, 1);
	snprintf(unknown_group, sizeof(unknown_group), "agpnogroup%ld", (long)getpid());
	return 0;
}

static int teardown(void **state)
{
	agp_test_cleanup(state);
	char command[160];
	snprintf(command, sizeof(command), "rm -rf '%s'", folder);
	return system(command) == 0 ? 0 : -1;
}

static void test_check_refuses_an_unknown_group(void **state)
{
	(void)state;
	errno = 0;
	assert_null(getgrnam(unknown_group)); /* the witness: no group has this name */
	char file[128];
	snprintf(file, sizeof(file), "%s/unknown-group.json", folder);
	write_config(file, unknown_group);

	struct run run;
	char *check[] = {AGP_CLI, "config", "check", file, NULL};
	run_program(check, NULL, NULL, &run);
	if (run.status != 2) /* agentperfd's status for a bad configuration (below) */
		fail_msg("config check exited %d, expected 2: %s", run.status, run.output);
	assert_message_contains(run.output, file);
	assert_message_contains(run.output, "monitoring.group");
	assert_message_contains(run.output, unknown_group);

	char *check_json[] = {AGP_CLI, "config", "check", file, "--json", NULL};
	run_program(check_json, NULL, NULL, &run);
	assert_int_equal(run.status, 2);
	assert_message_contains(run.output, "\"valid\": false");

	/* The process's own group is known: the same file with it is valid. */
	struct group *own = getgrgid(getgid());
	assert_non_null(own);
	write_config(file, own->gr_name);
	run_program(check, NULL, NULL, &run);
	if (run.status != 0)
		fail_msg("config check of group %s exited %d: %s", own->gr_name, run.status,
		         run.output);
}

static void test_daemon_refuses_an_unknown_group_before_creating_anything(void **state)
{
	(void)state;
	char file[128], name[48];
	snprintf(file, sizeof(file), "%s/daemon-group.json", folder);
	write_config(file, unknown_group);
	agp_test_name(name, sizeof(name), "badgroup");

	struct run run;
	char *daemon[] = {AGP_DAEMON, "--name", name, "--config", file, NULL};
	run_program(daemon, NULL, NULL, &run);
	if (run.status != 2)
		fail_msg("agentperfd exited %d, expected 2: %s", run.status, run.output);
	assert_message_contains(run.output, "monitoring.group");
	assert_message_contains(run.output, unknown_group);
	assert_false(segment_exists(name));
}

static void test_hex_in_the_environment_is_bad_configuration(void **state)
{
	(void)state;
	char file[128], name[48];
	snprintf(file, sizeof(file), "%s/plain.json", folder);
	write_config(file, "");
	agp_test_name(name, sizeof(name), "hexenv");
	const char *variable = "CODEX_BASELINE_MEASUREMENT_HOURS";
	const char *values[] = {"0x10", "0x1p3", "inf"};

	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		char quoted[96];
		snprintf(quoted, sizeof(quoted), "%s=\"%s\"", variable, values[i]);
		struct run run;
		char *check[] = {AGP_CLI, "config", "check", file, NULL};
		run_program(check, variable, values[i], &run);
		if (run.status != 2)
			fail_msg("config check with %s exited %d, expected 2: %s", quoted,
			         run.status, run.output);
		assert_message_contains(run.output, quoted);

		char *daemon[] = {AGP_DAEMON, "--name", name, "--config", file, NULL};
		run_program(daemon, variable, values[i], &run);
		if (run.status != 2)
			fail_msg("agentperfd with %s exited %d, expected 2: %s", quoted, run.status,
			         run.output);
		assert_message_contains(run.output, quoted);
		assert_false(segment_exists(name));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_check_refuses_an_unknown_group),
	    cmocka_unit_test(test_daemon_refuses_an_unknown_group_before_creating_anything),
	    cmocka_unit_test(test_hex_in_the_environment_is_bad_configuration),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
