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
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>

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

#endif
