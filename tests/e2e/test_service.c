/*
 * The service's edges: `agentperfd --version` beside `agentperf --version`; a daemon start
 * that fails (a port in use, a storage folder refused) removes the segment it created but
 * keeps one it adopted; `agentperf cleanup` removes a stale segment and socket and refuses
 * while an agent or a collector is live; an agent with no collector says so once on stderr
 * (AGENTPERF_WARN_NO_COLLECTOR); an empty deployment name is refused by both programs and
 * the library. The kernel's view (/dev/shm) is the witness of what exists.
 *
 * Every deployment name holds the pid; daemons are started and stopped by their pid.
 * Paths come from CMake: AGP_DAEMON, AGP_CLI, AGP_AGENT (tests/support/cli_agent.c).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include <agentperf/agentperf.h>

#include "tests/support/cli_test_util.h"

static char folder[64];
static char config_path[128];

static int start(void **state)
{
	(void)state;
	snprintf(folder, sizeof(folder), "/tmp/agp-service-XXXXXX");
	if (!mkdtemp(folder) || chdir(folder))
		return -1;
	char socket_folder[96];
	snprintf(socket_folder, sizeof(socket_folder), "%s/sock", folder);
	setenv("AGENTPERF_SOCKET_DIR", socket_folder, 1);
	unsetenv("AGENTPERF_NAME");
	unsetenv("AGENTPERF_WARN_NO_COLLECTOR");
	snprintf(config_path, sizeof(config_path), "%s/config.json", folder);
	FILE *config = fopen(config_path, "w");
	if (!config)
		return -1;
	fprintf(config, "{\"monitoring\": {\"storage_dir\": \"%s/storage\"}}\n", folder);
	fclose(config);
	return 0;
}

static int stop(void **state)
{
	(void)state;
	char command[160];
	snprintf(command, sizeof(command), "rm -rf '%s'", folder);
	return system(command) == 0 ? 0 : -1;
}

static bool segment_exists(const char *name)
{
	char path[128];
	snprintf(path, sizeof(path), "/dev/shm/agentperf.%s", name);
	return access(path, F_OK) == 0;
}

static void unique_name(char *out, size_t size, const char *what)
{
	snprintf(out, size, "svc-%s-%d", what, (int)getpid());
}

/* Runs command (shell) with its standard error in *err (may be NULL); returns the status. */
static int run_capturing(const char *command, char **out, char **err)
{
	char path[128], full[2048];
	snprintf(path, sizeof(path), "%s/stderr.txt", folder);
	snprintf(full, sizeof(full), "%s 2>%s", command, path);
	int status = ct_run(out, full);
	if (err) {
		FILE *file = fopen(path, "r");
		assert_non_null(file);
		*err = calloc(1, 8192);
		size_t got = fread(*err, 1, 8191, file);
		(*err)[got] = '\0';
		fclose(file);
	}
	return status;
}

static size_t count_of(const char *text, const char *needle)
{
	size_t n = 0;
	for (const char *at = text; (at = strstr(at, needle)) != NULL; at += strlen(needle))
		n++;
	return n;
}

static void versions_agree(void **state)
{
	(void)state;
	char *daemon_version, *cli_version, expected[64];
	assert_int_equal(ct_run(&daemon_version, AGP_DAEMON " --version"), 0);
	assert_int_equal(ct_run(&cli_version, AGP_CLI " --version"), 0);
	snprintf(expected, sizeof(expected), "agentperfd %d.%d\n", AGENTPERF_VERSION_MAJOR,
	         AGENTPERF_VERSION_MINOR);
	assert_string_equal(daemon_version, expected);
	snprintf(expected, sizeof(expected), "agentperf %d.%d\n", AGENTPERF_VERSION_MAJOR,
	         AGENTPERF_VERSION_MINOR);
	assert_string_equal(cli_version, expected);
	free(daemon_version);
	free(cli_version);
	char *help;
	assert_int_equal(ct_run(&help, AGP_DAEMON " --help"), 0);
	assert_non_null(strstr(help, "--version"));
	free(help);
}

/* A daemon start that fails: the segment it created is gone, one it adopted stays. */
static void failed_start_removes_its_segment(void **state)
{
	(void)state;
	char name[64], command[1024];
	unique_name(name, sizeof(name), "port");
	/* A port in use: the test holds a listener on it. */
	int listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in address = {.sin_family = AF_INET,
	                              .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	assert_int_equal(bind(listener, (struct sockaddr *)&address, sizeof(address)), 0);
	assert_int_equal(listen(listener, 1), 0);
	socklen_t length = sizeof(address);
	getsockname(listener, (struct sockaddr *)&address, &length);
	snprintf(command, sizeof(command), "%s --name %s --config %s --http 127.0.0.1:%d",
	         AGP_DAEMON, name, config_path, ntohs(address.sin_port));
	char *err;
	assert_int_equal(run_capturing(command, NULL, &err), 1);
	assert_non_null(strstr(err, "cannot serve /metrics"));
	free(err);
	assert_false(segment_exists(name));

	/* A storage folder writable by others is refused. */
	char storage[128], bad_config[160];
	snprintf(storage, sizeof(storage), "%s/open-storage", folder);
	assert_int_equal(mkdir(storage, 0700), 0);
	assert_int_equal(chmod(storage, 0777), 0);
	snprintf(bad_config, sizeof(bad_config), "%s/bad-storage.json", folder);
	FILE *config = fopen(bad_config, "w");
	fprintf(config, "{\"monitoring\": {\"storage_dir\": \"%s\"}}\n", storage);
	fclose(config);
	unique_name(name, sizeof(name), "storage");
	snprintf(command, sizeof(command), "%s --name %s --config %s", AGP_DAEMON, name,
	         bad_config);
	assert_int_equal(run_capturing(command, NULL, &err), 1);
	assert_non_null(strstr(err, "writable by others"));
	free(err);
	assert_false(segment_exists(name));

	/* An agent made the segment first: the failed daemon adopted it, and leaves it. */
	snprintf(command, sizeof(command), "%s %s w w1 0 3 1000 0 >/dev/null", AGP_AGENT, name);
	assert_int_equal(run_capturing(command, NULL, NULL), 0);
	assert_true(segment_exists(name));
	snprintf(command, sizeof(command), "%s --name %s --config %s", AGP_DAEMON, name,
	         bad_config);
	assert_int_equal(run_capturing(command, NULL, NULL), 1);
	assert_true(segment_exists(name));
	snprintf(command, sizeof(command), "%s cleanup --name %s >/dev/null", AGP_CLI, name);
	assert_int_equal(run_capturing(command, NULL, NULL), 0);
	assert_false(segment_exists(name));
	close(listener);
}

/* Starts cli_agent holding its slot hold_ms; returns once it has recorded (its line read). */
static pid_t live_agent(const char *name, int hold_ms, FILE **pipe_out)
{
	int fds[2];
	assert_int_equal(pipe(fds), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(fds[1], 1);
		close(fds[0]);
		char hold[16];
		snprintf(hold, sizeof(hold), "%d", hold_ms);
		execl(AGP_AGENT, AGP_AGENT, name, "w", "live", "0", "3", "1000", hold,
		      (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	*pipe_out = fdopen(fds[0], "r");
	char line[64] = "";
	assert_non_null(fgets(line, sizeof(line), *pipe_out)); /* "recorded 3": the slot is held */
	assert_non_null(strstr(line, "recorded"));
	return pid;
}

static void cleanup_stale_only(void **state)
{
	(void)state;
	char name[64], command[512];
	unique_name(name, sizeof(name), "clean");
	/* Nothing there: nothing to do, 0. */
	snprintf(command, sizeof(command), "%s cleanup --name %s", AGP_CLI, name);
	assert_int_equal(run_capturing(command, NULL, NULL), 0);

	/* A live agent: refused, 1, the segment stays. */
	FILE *agent_out;
	pid_t agent = live_agent(name, 20000, &agent_out);
	char *err;
	assert_int_equal(run_capturing(command, NULL, &err), 1);
	assert_non_null(strstr(err, "is live"));
	free(err);
	assert_true(segment_exists(name));
	kill(agent, SIGKILL); /* dies holding its slot: the kernel drops the lock */
	waitpid(agent, NULL, 0);
	fclose(agent_out);

	/* A live collector: refused too. */
	char log[128];
	snprintf(log, sizeof(log), "%s/daemon-clean.log", folder);
	pid_t daemon = -1;
	assert_true(ct_daemon_start(folder, name, config_path, log, &daemon) > 0);
	assert_int_equal(run_capturing(command, NULL, NULL), 1);
	assert_true(segment_exists(name));
	/* Killed, it leaves its segment and socket behind: cleanup removes both. */
	kill(daemon, SIGKILL);
	waitpid(daemon, NULL, 0);
	assert_true(segment_exists(name));
	char socket_path[160];
	snprintf(socket_path, sizeof(socket_path), "%s/sock/%s.sock", folder, name);
	assert_int_equal(access(socket_path, F_OK), 0);
	snprintf(command, sizeof(command), "%s cleanup --name %s --json", AGP_CLI, name);
	char *out;
	assert_int_equal(run_capturing(command, &out, NULL), 0);
	json_t *result = json_loads(out, 0, NULL);
	assert_non_null(result);
	assert_true(json_is_true(json_object_get(result, "removed")));
	assert_true(json_is_true(json_object_get(result, "socket_removed")));
	json_decref(result);
	free(out);
	assert_false(segment_exists(name));
	assert_int_equal(access(socket_path, F_OK), -1);
}

/* No collector: one notice per process on stderr, none with a collector or when turned off. */
static void notice_without_collector(void **state)
{
	(void)state;
	char name[64];
	unique_name(name, sizeof(name), "notice");
	char path[128];
	snprintf(path, sizeof(path), "%s/notice.txt", folder);
	fflush(stderr);
	int saved = dup(2);
	int file = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	dup2(file, 2);
	close(file);
	struct agp_agent_options options = {.deployment = name};
	agp_agent *first = NULL, *second = NULL;
	assert_int_equal(agp_agent_open("first", "notice", &options, &first), 0);
	assert_int_equal(agp_agent_open("second", "notice", &options, &second), 0);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	agp_agent_close(first);
	agp_agent_close(second);
	FILE *in = fopen(path, "r");
	char text[4096] = "";
	size_t got = fread(text, 1, sizeof(text) - 1, in);
	text[got] = '\0';
	fclose(in);
	assert_int_equal(count_of(text, "which no collector serves"), 1);
	assert_non_null(strstr(text, name));
	assert_non_null(strstr(text, "AGENTPERF_WARN_NO_COLLECTOR=0"));

	char command[512], *err;
	snprintf(command, sizeof(command), "AGENTPERF_WARN_NO_COLLECTOR=0 %s %s w w2 0 3 1000 0",
	         AGP_AGENT, name);
	assert_int_equal(run_capturing(command, NULL, &err), 0);
	assert_null(strstr(err, "no collector"));
	free(err);
	snprintf(command, sizeof(command), "AGENTPERF_WARN_NO_COLLECTOR=yes %s %s w w2 0 3 1000 0",
	         AGP_AGENT, name);
	assert_int_equal(run_capturing(command, NULL, &err), 1); /* refused, not ignored */
	assert_non_null(strstr(err, "AGENTPERF_WARN_NO_COLLECTOR='yes'"));
	free(err);

	/* With a collector: silent. */
	char log[128];
	snprintf(log, sizeof(log), "%s/daemon-notice.log", folder);
	pid_t daemon = -1;
	assert_true(ct_daemon_start(folder, name, config_path, log, &daemon) > 0);
	snprintf(command, sizeof(command), "%s %s w w3 0 3 1000 0", AGP_AGENT, name);
	assert_int_equal(run_capturing(command, NULL, &err), 0);
	assert_null(strstr(err, "no collector"));
	free(err);
	kill(daemon, SIGTERM);
	int status = 0;
	waitpid(daemon, &status, 0);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_false(segment_exists(name)); /* --unlink-on-exit */
}

/* An empty deployment name is refused by agentperfd, agentperf and libagentperf. */
static void empty_name_refused(void **state)
{
	(void)state;
	bool default_existed = segment_exists("default");
	static const struct {
		const char *command;
		const char *message;
	} cases[] = {
	    {AGP_DAEMON " --name ''", "agentperfd: the deployment name is empty"},
	    {"AGENTPERF_NAME= " AGP_DAEMON, "agentperfd: AGENTPERF_NAME is set but empty"},
	    {AGP_CLI " --name '' status", "agentperf: the deployment name is empty"},
	    {"AGENTPERF_NAME= " AGP_CLI " status", "agentperf: AGENTPERF_NAME is set but empty"},
	    {AGP_CLI " run --name '' -- true", "the deployment name is empty"},
	    {AGP_CLI " cleanup --name ''", "the deployment name is empty"},
	};
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		char *err;
		int status = run_capturing(cases[c].command, NULL, &err);
		if (status != 2 || !strstr(err, cases[c].message))
			fail_msg("%s: status %d (expected 2), stderr:\n%s", cases[c].command,
			         status, err);
		free(err);
	}
	setenv("AGENTPERF_NAME", "", 1);
	agp_agent *agent = NULL;
	assert_int_equal(agp_agent_open("empty", "notice", NULL, &agent), -EINVAL);
	assert_non_null(strstr(agp_last_error(), "AGENTPERF_NAME is set but empty"));
	unsetenv("AGENTPERF_NAME");
	/* Nothing went to "default" on the way. */
	assert_int_equal(segment_exists("default"), default_existed);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(versions_agree),
	    cmocka_unit_test(failed_start_removes_its_segment),
	    cmocka_unit_test(cleanup_stale_only),
	    cmocka_unit_test(notice_without_collector),
	    cmocka_unit_test(empty_name_refused),
	};
	return cmocka_run_group_tests(tests, start, stop);
}
