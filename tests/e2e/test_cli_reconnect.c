/*
 * The CLI keeps working when the daemon closes its idle connection between
 * requests (the idle timeout, shorter under pressure, or an eviction to make
 * room): a fake daemon answers `alerts` and closes every connection after
 * its reply; `agentperf alerts --follow` (one request a second on one
 * connection) must reconnect each time instead of failing with "Broken
 * pipe". The witness is the fake daemon's count of accepted connections,
 * over a pipe; the CLI must still be running when it reaches 3, and stop
 * cleanly (exit 0) on SIGTERM with nothing about an unreachable collector
 * on its standard error.
 *
 * The path of the CLI comes from CMake: AGP_CLI.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "tests/support/cli_test_util.h"
#include "tests/support/fake_daemon.h"

/* {"v": 1, "ok": true, "result": {"alerts": [], "newest": 0, "missed": 0}}, by hand. */
static const unsigned char reply[] = {
    0x83, 0xa1, 'v',  0x01, 0xa2, 'o', 'k', 0xc3, 0xa6, 'r',  'e',  's',  'u', 'l',
    't',  0x83, 0xa6, 'a',  'l',  'e', 'r', 't',  's',  0x90, 0xa6, 'n',  'e', 'w',
    'e',  's',  't',  0x00, 0xa6, 'm', 'i', 's',  's',  'e',  'd',  0x00,
};

static void follow_survives_closed_connections(void **state)
{
	(void)state;
	char folder[] = "/tmp/agp-reconnect-XXXXXX";
	assert_non_null(mkdtemp(folder));
	char socket_path[128], errors[160];
	snprintf(socket_path, sizeof(socket_path), "%s/fake-%d.sock", folder, (int)getpid());
	snprintf(errors, sizeof(errors), "%s/cli.err", folder);
	int report[2];
	assert_int_equal(pipe(report), 0);
	pid_t fake = fake_daemon_start(socket_path, reply, sizeof(reply), true, report[1]);
	assert_true(fake > 0);
	close(report[1]);
	pid_t cli = fork();
	if (cli == 0) {
		int fd = open(errors, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int null = open("/dev/null", O_WRONLY);
		dup2(null, 1);
		dup2(fd, 2);
		execl(AGP_CLI, AGP_CLI, "--socket", socket_path, "alerts", "--follow", "--json",
		      (char *)NULL);
		_exit(127);
	}
	/* Three connections: the first request, then two reconnections a second apart. */
	int connections = 0;
	struct timespec start;
	clock_gettime(CLOCK_MONOTONIC, &start);
	while (connections < 3) {
		struct pollfd p = {.fd = report[0], .events = POLLIN};
		char byte;
		if (poll(&p, 1, 6000) <= 0 || read(report[0], &byte, 1) != 1)
			break;
		connections++;
	}
	int status;
	bool running = waitpid(cli, &status, WNOHANG) == 0;
	if (running) {
		kill(cli, SIGTERM);
		assert_int_equal(waitpid(cli, &status, 0), cli);
	}
	kill(fake, SIGTERM);
	waitpid(fake, NULL, 0);
	char *text;
	char command[300];
	snprintf(command, sizeof(command), "cat %s; rm -rf %s", errors, folder);
	ct_run(&text, command);
	if (connections < 3 || !running || !WIFEXITED(status) || WEXITSTATUS(status) != 0 ||
	    strstr(text, "unreachable"))
		fail_msg("alerts --follow against a daemon that closes every connection: %d "
		         "connection(s), %s, status %#x, stderr:\n%s",
		         connections, running ? "still running" : "exited by itself", status, text);
	free(text);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(follow_survives_closed_connections),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
