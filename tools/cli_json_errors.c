#include "tools/cli_json_errors.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/json_dump.h"
#include "tools/cli.h"

bool cli_json_errors_wanted(int argc, char **argv)
{
	for (int i = 1; i < argc && strcmp(argv[i], "--"); i++)
		if (strcmp(argv[i], "--json") == 0 || strncmp(argv[i], "--json=", 7) == 0)
			return true;
	return false;
}

/* Copies the pipe to the real standard error and keeps the start of it, until EOF or done. */
static void *copy_stderr(void *argument)
{
	struct cli_json_errors *errors = argument;
	char chunk[4096];
	for (;;) {
		struct pollfd fd = {errors->pipe_read, POLLIN, 0};
		int ready = poll(&fd, 1, 50);
		if (ready < 0 && errno == EINTR)
			continue;
		if (ready <= 0) {
			/*
			 * Acquire: pairs with the release in cli_json_errors_end; nothing more
			 * comes from the command once it is done (a child that kept the pipe
			 * is not waited for).
			 */
			if (atomic_load_explicit(&errors->command_done, memory_order_acquire))
				break;
			continue;
		}
		ssize_t got = read(errors->pipe_read, chunk, sizeof(chunk));
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		(void)!write(errors->real_stderr, chunk, (size_t)got);
		size_t room = sizeof(errors->text) - 1 - errors->length;
		size_t keep = (size_t)got < room ? (size_t)got : room;
		memcpy(errors->text + errors->length, chunk, keep);
		errors->length += keep;
	}
	return NULL;
}

void cli_json_errors_begin(struct cli_json_errors *errors)
{
	memset(errors, 0, sizeof(*errors));
	errors->real_stderr = -1;
	int ends[2];
	if (pipe2(ends, O_CLOEXEC) != 0)
		return;
	errors->real_stderr = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
	if (errors->real_stderr < 0)
		goto fail_pipe;
	errors->pipe_read = ends[0];
	if (pthread_create(&errors->copier, NULL, copy_stderr, errors) != 0)
		goto fail_dup;
	fflush(stderr);
	dup2(ends[1],
	     STDERR_FILENO); /* without CLOEXEC: programs the command starts write here too */
	close(ends[1]);
	errors->active = true;
	return;

fail_dup:
	close(errors->real_stderr);
	errors->real_stderr = -1;
fail_pipe:
	close(ends[0]);
	close(ends[1]);
}

static const char *kind_of(int status)
{
	switch (status) {
	case CLI_USAGE:
		return "usage";
	case CLI_UNREACHABLE:
		return "unreachable";
	case CLI_WRITE_FAILED:
		return "write_failed";
	case CLI_NO_DATA:
		return "no_data";
	default:
		return "failed";
	}
}

void cli_json_errors_end(struct cli_json_errors *errors, int status)
{
	if (!errors->active)
		return;
	fflush(stderr);
	dup2(errors->real_stderr,
	     STDERR_FILENO); /* our end of the pipe closes: the copier sees EOF */
	/* Release: the copier stops polling once it sees this (and nothing is left to read). */
	atomic_store_explicit(&errors->command_done, true, memory_order_release);
	pthread_join(errors->copier, NULL);
	close(errors->pipe_read);
	close(errors->real_stderr);
	errors->active = false;
	/* A command that answered in JSON (a failed task's result, status's "up": false) said it.
	 */
	if (status == CLI_OK || cli_json_printed || errors->length == 0)
		return;
	while (errors->length && (errors->text[errors->length - 1] == '\n'))
		errors->length--;
	errors->text[errors->length] = '\0';
	json_t *object = json_pack("{s:{s:i,s:s,s:s%}}", "error", "code", status, "kind",
	                           kind_of(status), "message", errors->text, errors->length);
	if (!object) /* the text was not UTF-8: the kind says what happened */
		object = json_pack("{s:{s:i,s:s,s:s}}", "error", "code", status, "kind",
		                   kind_of(status), "message", "");
	cli_print_json(object);
	json_decref(object);
	fflush(stdout);
}
