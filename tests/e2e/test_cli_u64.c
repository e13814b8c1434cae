/*
 * Counts above INT64_MAX from the daemon to the CLI's --json output: a fake
 * daemon on a Unix socket answers every request with a handcrafted msgpack
 * reply holding 2^64-1 and 2^63 (msgpack uint64), and `agentperf status
 * --json` and `agentperf agents --json` must print those numbers exactly.
 * The witness is Python's json module, whose integers have no size limit.
 *
 * The path of the CLI comes from CMake: AGP_CLI.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "tests/support/cli_test_util.h"
#include "tests/support/fake_daemon.h"

#include "common/protocol.h"

#define MAX8 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff

/*
 * {"v": 1, "ok": true, "result": {"written": 2^64-1, "dropped": 2^63,
 *  "agents": [{"samples": 2^64-1}]}}, by hand.
 */
static const unsigned char reply[] = {
    0x83, 0xa1, 'v',  0x01, 0xa2, 'o',  'k',  0xc3, 0xa6, 'r',  'e',  's',  'u',  'l',  't', 0x83,
    0xa7, 'w',  'r',  'i',  't',  't',  'e',  'n',  0xcf, MAX8, 0xa7, 'd',  'r',  'o',  'p', 'p',
    'e',  'd',  0xcf, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xa6, 'a',  'g',  'e', 'n',
    't',  's',  0x91, 0x81, 0xa7, 's',  'a',  'm',  'p',  'l',  'e',  's',  0xcf, MAX8,
};

static char folder[64];
static char socket_path[128];
static pid_t fake_pid = -1;

static int start(void **state)
{
	(void)state;
	snprintf(folder, sizeof(folder), "/tmp/agp-u64-XXXXXX");
	if (!mkdtemp(folder) || chdir(folder))
		return -1;
	snprintf(socket_path, sizeof(socket_path), "%s/fake-%d.sock", folder, (int)getpid());
	fake_pid = fake_daemon_start(socket_path, reply, sizeof(reply), false, -1);
	return fake_pid > 0 ? 0 : -1;
}

static int stop(void **state)
{
	(void)state;
	if (fake_pid > 0) {
		kill(fake_pid, SIGTERM);
		waitpid(fake_pid, NULL, 0);
	}
	char command[160];
	snprintf(command, sizeof(command), "rm -rf %s", folder);
	return system(command) == 0 ? 0 : -1;
}

/* Runs the CLI's subcommand with --json and has Python check the expression on its output. */
static void check_json(const char *subcommand, const char *expression)
{
	char command[1024];
	snprintf(
	    command, sizeof(command),
	    "%s --socket %s %s --json | python3 -c 'import json, sys; v = json.load(sys.stdin); "
	    "sys.exit(0 if %s else 1)'",
	    AGP_CLI, socket_path, subcommand, expression);
	if (ct_run(NULL, command) != 0) {
		char *text;
		snprintf(command, sizeof(command), "%s --socket %s %s --json 2>&1", AGP_CLI,
		         socket_path, subcommand);
		ct_run(&text, command);
		fail_msg("agentperf %s --json: not (%s); its output:\n%s", subcommand, expression,
		         text);
	}
}

static void status_prints_counts_above_int64_max_exactly(void **state)
{
	(void)state;
	if (system("python3 -c 1 2>/dev/null") != 0) {
		skip(); /* the witness is missing */
		return;
	}
	check_json("status", "v[\"written\"] == 2**64 - 1 and v[\"dropped\"] == 2**63");
}

static void agents_prints_counts_above_int64_max_exactly(void **state)
{
	(void)state;
	if (system("python3 -c 1 2>/dev/null") != 0) {
		skip();
		return;
	}
	check_json("agents", "v[\"agents\"][0][\"samples\"] == 18446744073709551615");
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(status_prints_counts_above_int64_max_exactly),
	    cmocka_unit_test(agents_prints_counts_above_int64_max_exactly),
	};
	return cmocka_run_group_tests(tests, start, stop);
}
