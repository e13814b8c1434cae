/*
 * With --json, an error is JSON too. While a command runs, its standard error
 * goes through a pipe that a thread copies to the real standard error as it
 * comes (people and logs see every line when it is written) and keeps (the
 * first 16 KiB). When the command ends with a failing status and printed no
 * JSON of its own (cli_json_printed), standard output gets one object,
 *   {"error": {"code": STATUS, "kind": "usage", "message": "..."}}
 * with the exit status as code, its name as kind, and what the command wrote
 * on standard error as message; the exit status stays the same. Every
 * command, and every one added later, gets this without a line of its own.
 */
#ifndef AGP_TOOLS_CLI_JSON_ERRORS_H
#define AGP_TOOLS_CLI_JSON_ERRORS_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

struct cli_json_errors {
	bool active;
	int real_stderr; /* the standard error the command was started with */
	int pipe_read;
	pthread_t copier;
	_Atomic bool command_done;
	char text[16384];
	size_t length; /* of text, written by the copier only until it is joined */
};

/* True when argv asks for JSON: the global --json, or the command's (before "--"). */
bool cli_json_errors_wanted(int argc, char **argv);

/* Starts capturing standard error; without a pipe or a thread it stays as it is. */
void cli_json_errors_begin(struct cli_json_errors *errors);

/* Gives standard error back and prints the error object when status asks for it. */
void cli_json_errors_end(struct cli_json_errors *errors, int status);

#endif
