/*
 * Counts above INT64_MAX from the daemon to the CLI's --json output: a fake
 * daemon on a Unix socket answers every request with a handcrafted msgpack
 * reply holding 2^64-1 and 2^63 (msgpack uint64), and `agentperf status
 * --json` and `agentperf agents --json` must print those numbers exactly.
 * A second fake daemon answers with a reply packed as agentperfd packs one
 * (agp_protocol_encode_ok of agp_json_u64 counts) holding the counts of
 * statistics, validation, baseline and alerts above 2^63: `stats`,
 * `validate`, `baseline show` and `alerts` with --json must print them
 * exactly too, and a task id as a string.
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

#include "common/json_u64.h"
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
static char socket_path[128], packed_socket_path[128];
static pid_t fake_pid = -1, packed_pid = -1;

#define TWO_63 ((uint64_t)INT64_MAX + 1)

/*
 * The second daemon's reply: every key that stats, validate, baseline show and alerts print,
 * with counts above INT64_MAX, packed by the daemon's own code.
 */
static pid_t start_packed(void)
{
	json_t *result = json_pack(
	    "{s:[{s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:o}], s:o, s:b, s:o, s:o, s:o, s:o, s:o,"
	    " s:[{s:o, s:o, s:s, s:s}]}",
	    "series", "agent_type", "worker", "metric", "task_execution_time", "unit",
	    "nanoseconds", "count", agp_json_u64(UINT64_MAX), "total_count",
	    agp_json_u64(UINT64_MAX), "failed_count", agp_json_u64(TWO_63), "timeout_count",
	    agp_json_u64(TWO_63 + 1), "clamped", agp_json_u64(UINT64_MAX - 1), "samples_analyzed",
	    agp_json_u64(UINT64_MAX), "validated", 1, "total_metrics_collected",
	    agp_json_u64(UINT64_MAX), "samples_count", agp_json_u64(UINT64_MAX), "newest",
	    agp_json_u64(UINT64_MAX), "missed", agp_json_u64(TWO_63), "total_tasks_executed",
	    agp_json_u64(UINT64_MAX), "alerts", "sequence", agp_json_u64(UINT64_MAX), "suppressed",
	    agp_json_u64(TWO_63), "task_id", "18446744073709551613", "level", "critical");
	if (!result)
		return -1;
	msgpack_sbuffer frame;
	msgpack_sbuffer_init(&frame);
	int error = agp_protocol_encode_ok(&frame, result);
	json_decref(result);
	pid_t pid =
	    error ? -1
	          : fake_daemon_start(packed_socket_path,
	                              (const unsigned char *)frame.data + AGP_PROTOCOL_FRAME_HEADER,
	                              frame.size - AGP_PROTOCOL_FRAME_HEADER, false, -1);
	msgpack_sbuffer_destroy(&frame);
	return pid;
}

static int start(void **state)
{
	(void)state;
	snprintf(folder, sizeof(folder), "/tmp/agp-u64-XXXXXX");
	if (!mkdtemp(folder) || chdir(folder))
		return -1;
	snprintf(socket_path, sizeof(socket_path), "%s/fake-%d.sock", folder, (int)getpid());
	fake_pid = fake_daemon_start(socket_path, reply, sizeof(reply), false, -1);
	snprintf(packed_socket_path, sizeof(packed_socket_path), "%s/packed-%d.sock", folder,
	         (int)getpid());
	packed_pid = start_packed();
	return fake_pid > 0 && packed_pid > 0 ? 0 : -1;
}

static int stop(void **state)
{
	(void)state;
	if (fake_pid > 0) {
		kill(fake_pid, SIGTERM);
		waitpid(fake_pid, NULL, 0);
	}
	if (packed_pid > 0) {
		kill(packed_pid, SIGTERM);
		waitpid(packed_pid, NULL, 0);
	}
	char command[160];
	snprintf(command, sizeof(command), "rm -rf %s", folder);
	return system(command) == 0 ? 0 : -1;
}

/* Runs the CLI's subcommand with --json and has Python check the expression on its output. */
static void check_json_at(const char *socket, const char *subcommand, const char *expression)
{
	char command[1024];
	snprintf(
	    command, sizeof(command),
	    "%s --socket %s %s --json | python3 -c 'import json, sys; v = json.load(sys.stdin); "
	    "sys.exit(0 if %s else 1)'",
	    AGP_CLI, socket, subcommand, expression);
	if (ct_run(NULL, command) != 0) {
		char *text;
		snprintf(command, sizeof(command), "%s --socket %s %s --json 2>&1", AGP_CLI, socket,
		         subcommand);
		ct_run(&text, command);
		fail_msg("agentperf %s --json: not (%s); its output:\n%s", subcommand, expression,
		         text);
	}
}

static void check_json(const char *subcommand, const char *expression)
{
	check_json_at(socket_path, subcommand, expression);
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

static void stats_validate_baseline_alerts_print_counts_exactly(void **state)
{
	(void)state;
	if (system("python3 -c 1 2>/dev/null") != 0) {
		skip();
		return;
	}
	check_json_at(packed_socket_path, "stats",
	              "v[\"series\"][0][\"count\"] == 2**64 - 1 and "
	              "v[\"series\"][0][\"total_count\"] == 2**64 - 1 and "
	              "v[\"series\"][0][\"failed_count\"] == 2**63 and "
	              "v[\"series\"][0][\"timeout_count\"] == 2**63 + 1 and "
	              "v[\"series\"][0][\"clamped\"] == 2**64 - 2");
	check_json_at(packed_socket_path, "validate",
	              "v[\"samples_analyzed\"] == 2**64 - 1 and "
	              "v[\"total_metrics_collected\"] == 2**64 - 1");
	check_json_at(packed_socket_path, "baseline show", "v[\"samples_count\"] == 2**64 - 1");
	check_json_at(packed_socket_path, "alerts",
	              "v[\"alerts\"][0][\"sequence\"] == 2**64 - 1 and "
	              "v[\"alerts\"][0][\"suppressed\"] == 2**63 and "
	              "v[\"alerts\"][0][\"task_id\"] == \"18446744073709551613\" and "
	              "v[\"newest\"] == 2**64 - 1 and v[\"missed\"] == 2**63");
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(status_prints_counts_above_int64_max_exactly),
	    cmocka_unit_test(agents_prints_counts_above_int64_max_exactly),
	    cmocka_unit_test(stats_validate_baseline_alerts_print_counts_exactly),
	};
	return cmocka_run_group_tests(tests, start, stop);
}
