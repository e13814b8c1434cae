/*
 * What the tests that drive a real agentperfd through the `agentperf`
 * command line share: running a command and capturing its output, the CLI
 * with --json parsed, and number lookups that fail the test when a key is
 * missing. Each test binds its own folder and deployment name.
 */
#ifndef AGP_CLI_TEST_UTIL_H
#define AGP_CLI_TEST_UTIL_H

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static inline void ct_sleep_ms(long ms)
{
	struct timespec pause = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&pause, NULL);
}

/* Runs command through the shell; returns its exit status and its standard output in *out. */
static inline int ct_run(char **out, const char *command)
{
	FILE *pipe = popen(command, "r");
	assert_non_null(pipe);
	size_t capacity = 1 << 16, length = 0, got;
	char *text = malloc(capacity);
	while ((got = fread(text + length, 1, capacity - length - 1, pipe)) > 0) {
		length += got;
		if (capacity - length < 2)
			text = realloc(text, capacity *= 2);
	}
	text[length] = '\0';
	int status = pclose(pipe);
	if (out)
		*out = text;
	else
		free(text);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Runs `agentperf -n NAME <args>` with its standard error appended to FOLDER/cli.err. */
static inline int ct_cli(const char *folder, const char *name, char **out, const char *format, ...)
    __attribute__((format(printf, 4, 5)));
static inline int ct_cli(const char *folder, const char *name, char **out, const char *format, ...)
{
	char args[1024], command[1500];
	va_list list;
	va_start(list, format);
	vsnprintf(args, sizeof(args), format, list);
	va_end(list);
	snprintf(command, sizeof(command), "%s -n %s %s 2>>%s/cli.err", AGP_CLI, name, args,
	         folder);
	return ct_run(out, command);
}

/* The CLI with --json: asserts its exit status and parses its output. */
static inline json_t *ct_cli_json(const char *folder, const char *name, int expected_status,
                                  const char *args)
{
	char *text;
	int status = ct_cli(folder, name, &text, "%s --json", args);
	if (status != expected_status)
		fail_msg("agentperf %s: status %d (expected %d), output:\n%s", args, status,
		         expected_status, text);
	json_error_t error;
	json_t *value = json_loads(text, 0, &error);
	if (!value)
		fail_msg("agentperf %s: not JSON (%s):\n%s", args, error.text, text);
	free(text);
	return value;
}

static inline double ct_num(const json_t *object, const char *key)
{
	json_t *value = json_object_get(object, key);
	if (!json_is_number(value))
		fail_msg("key %s missing or not a number", key);
	return json_number_value(value);
}

#ifdef AGP_DAEMON
/*
 * Starts `agentperfd --name NAME --config CONFIG --unlink-on-exit` with its output appended to
 * LOG and waits, 5 s at most, until `agentperf status` answers (the condition, not a delay).
 * Returns the daemon's pid, or -1 with the log's path on stderr (the daemon is left to the
 * caller's stop, which kills it by that pid).
 */
static inline pid_t ct_daemon_start(const char *folder, const char *name, const char *config,
                                    const char *log, pid_t *pid_out)
{
	pid_t pid = fork();
	*pid_out = pid;
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
		dup2(fd, 1);
		dup2(fd, 2);
		execl(AGP_DAEMON, AGP_DAEMON, "--name", name, "--config", config,
		      "--unlink-on-exit", (char *)NULL);
		_exit(127);
	}
	for (int waited = 0; waited < 5000; waited += 20) {
		if (ct_cli(folder, name, NULL, "status") == 0)
			return pid;
		ct_sleep_ms(20);
	}
	fprintf(stderr, "agentperfd did not answer within 5 s; its log is %s\n", log);
	return -1;
}
#endif

/*
 * Stops the daemon by its own pid (SIGTERM, then reaps it) and removes folder. 0 when the
 * daemon exited 0 (a clean stop: final drain, files flushed), else -1 with its status and the
 * log's place on stderr, the folder kept for a look.
 */
static inline int ct_daemon_stop(pid_t pid, const char *folder)
{
	int status = 0;
	if (pid > 0) {
		kill(pid, SIGTERM);
		waitpid(pid, &status, 0);
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "agentperfd ended with status %#x; its log is in %s/daemon.log\n",
		        status, folder);
		return -1;
	}
	char command[160];
	snprintf(command, sizeof(command), "rm -rf '%s'", folder);
	return system(command) == 0 ? 0 : -1;
}

#endif
