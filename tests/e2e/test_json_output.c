/*
 * Every JSON output of a real agentperfd and the CLI writes numbers one way
 * (docs/cli.md, "JSON"): each real is the shortest text that reads back as
 * the same double, and identifiers have one type, task_id a string of
 * digits, agent names and types strings. The witness is Python's json
 * module: its parse_float hook sees each real's text as written, which must
 * be what Python's repr (the shortest round trip) writes for that double,
 * so 0.94999999999999996 or 5.0804999999999999e-05 fail; and each task_id,
 * agent_id, agent and agent_type must be a str. The outputs: config show,
 * config preset, status, agents, stats, validate, baseline show and
 * establish, alerts, export --ci, report --json, task --json (the Task API),
 * and the files baseline.json, alerts.jsonl and the CI export.
 *
 * Paths from CMake: AGP_DAEMON, AGP_CLI, AGP_AGENT.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "tests/support/cli_test_util.h"

#define MS 1000000ll

static char folder[64], name[64], checker[128];
static pid_t daemon_pid = -1;

/*
 * The witness: check.py MODE FILE MIN_TASK_IDS MIN_REALS (MODE "one" for a JSON text, "lines"
 * for one a line). Prints what is wrong and exits 1.
 */
static const char check_py[] =
    "import json, sys\n"
    "mode, path, min_ids, min_reals = sys.argv[1], sys.argv[2], int(sys.argv[3]), "
    "int(sys.argv[4])\n"
    "bad, reals, ids = [], [], []\n"
    "def real(token):\n"
    "    reals.append(token)\n"
    "    if repr(float(token)) != token:\n"
    "        bad.append('real %s: the shortest text of that double is %s' % (token, "
    "repr(float(token))))\n"
    "    return float(token)\n"
    "def walk(value):\n"
    "    if isinstance(value, dict):\n"
    "        for key, item in value.items():\n"
    "            if key in ('task_id', 'agent_id', 'agent', 'agent_type') and item is not None:\n"
    "                if not isinstance(item, str):\n"
    "                    bad.append('%s is %r, not a string' % (key, item))\n"
    "                if key == 'task_id':\n"
    "                    ids.append(item)\n"
    "                    if isinstance(item, str) and not item.isdigit():\n"
    "                        bad.append('task_id %r is not digits' % item)\n"
    "            walk(item)\n"
    "    elif isinstance(value, list):\n"
    "        for item in value:\n"
    "            walk(item)\n"
    "text = open(path).read()\n"
    "docs = [line for line in text.splitlines() if line.strip()] if mode == 'lines' else [text]\n"
    "for doc in docs:\n"
    "    walk(json.loads(doc, parse_float=real))\n"
    "if len(ids) < min_ids:\n"
    "    bad.append('%d task_id keys, at least %d expected' % (len(ids), min_ids))\n"
    "if len(reals) < min_reals:\n"
    "    bad.append('%d reals, at least %d expected' % (len(reals), min_reals))\n"
    "print('\\n'.join(bad))\n"
    "sys.exit(1 if bad else 0)\n";

static bool have_python(void)
{
	return system("python3 -c 1 2>/dev/null") == 0;
}

/* Has the witness check file; fails the test with what it found wrong and the file. */
static void check_file(const char *what, const char *path, bool lines, int min_ids, int min_reals)
{
	char command[1024];
	snprintf(command, sizeof(command), "python3 %s %s %s %d %d 2>&1", checker,
	         lines ? "lines" : "one", path, min_ids, min_reals);
	char *verdict;
	if (ct_run(&verdict, command) != 0) {
		char *text;
		snprintf(command, sizeof(command), "head -c 3000 %s", path);
		ct_run(&text, command);
		fail_msg("%s (%s):\n%s\nits text:\n%s", what, path, verdict, text);
	}
	free(verdict);
}

/* Runs `agentperf -n NAME ARGS > FOLDER/out-N.json`; its exit status, the output's path in out. */
static int cli_to_file(const char *args, char *out, size_t size)
{
	static int number;
	snprintf(out, size, "%s/out-%d.json", folder, ++number);
	char command[1500];
	snprintf(command, sizeof(command), "%s -n %s %s > %s 2>>%s/cli.err", AGP_CLI, name, args,
	         out, folder);
	return ct_run(NULL, command);
}

static void run_agent(const char *type, const char *agent, int metric, int count, long long step)
{
	char command[512];
	snprintf(command, sizeof(command), "%s %s %s %s %d %d %lld 0 >>%s/agents.log 2>&1",
	         AGP_AGENT, name, type, agent, metric, count, step, folder);
	assert_int_equal(ct_run(NULL, command), 0);
}

static double status_number(const char *key)
{
	char *text;
	ct_cli(folder, name, &text, "status --json");
	json_t *status = json_loads(text, 0, NULL);
	free(text);
	double value = status ? json_number_value(json_object_get(status, key)) : 0;
	json_decref(status);
	return value;
}

static int start(void **state)
{
	(void)state;
	snprintf(folder, sizeof(folder), "/tmp/agp-jsonout-XXXXXX");
	if (!mkdtemp(folder) || chdir(folder))
		return -1;
	snprintf(name, sizeof(name), "jsonout-%d", (int)getpid());
	char path[160];
	snprintf(path, sizeof(path), "%s/sock", folder);
	setenv("AGENTPERF_SOCKET_DIR", path, 1);
	snprintf(path, sizeof(path), "%s/no-agents", folder);
	setenv("AGENTPERF_AGENTS_DIR", path, 1); /* the Task API's five default agents */
	setenv("AGENTPERF_NAME", name, 1);       /* the task's samples go to this deployment */
	unsetenv("CODEX_CI_EXPORT_FILE");
	snprintf(checker, sizeof(checker), "%s/check.py", folder);
	FILE *file = fopen(checker, "w");
	if (!file || fputs(check_py, file) < 0 || fclose(file))
		return -1;
	char config[160], log[160];
	snprintf(config, sizeof(config), "%s/config.json", folder);
	snprintf(log, sizeof(log), "%s/daemon.log", folder);
	file = fopen(config, "w");
	if (!file)
		return -1;
	fprintf(file,
	        "{\"monitoring\": {\"storage_dir\": \"%s/storage\", \"ci_export_file\": "
	        "\"%s/ci-default.json\"}, \"baseline\": {\"confidence_interval\": 0.95, "
	        "\"min_success_rate\": 0.9}}\n",
	        folder, folder);
	fclose(file);
	if (ct_daemon_start(folder, name, config, log, &daemon_pid) < 0)
		return -1;
	/* coordination_overhead 1.234567 ms .. 123.4567 ms: means and deviations of many digits. */
	run_agent("jsonw", "j1", 0, 100, 1234567);
	/* task_execution_time 1..5 s, task ids 1..5: 3, 4 and 5 s are above the critical 2 s. */
	run_agent("jsonw", "j2", 1, 5, 1000 * MS);
	for (int waited = 0; waited < 5000 && status_number("aggregated") < 105; waited += 20)
		ct_sleep_ms(20);
	for (int waited = 0; waited < 5000 && status_number("alerts") < 1; waited += 20)
		ct_sleep_ms(20);
	return 0;
}

static int stop(void **state)
{
	(void)state;
	return ct_daemon_stop(daemon_pid, folder);
}

static void config_show_writes_0_95(void **state)
{
	(void)state;
	if (!have_python()) {
		skip(); /* the witness is missing */
		return;
	}
	char out[128];
	assert_int_equal(cli_to_file("config show --json", out, sizeof(out)), 0);
	check_file("config show --json", out, false, 0, 5);
	char *text;
	char command[160];
	snprintf(command, sizeof(command), "cat %s", out);
	ct_run(&text, command);
	assert_non_null(strstr(text, "\"confidence_interval\": 0.95,"));
	assert_null(strstr(text, "0.9499999"));
	free(text);
	assert_int_equal(cli_to_file("config preset production", out, sizeof(out)), 0);
	check_file("config preset production", out, false, 0, 5);
}

static void daemon_outputs_write_shortest_reals_and_string_ids(void **state)
{
	(void)state;
	if (!have_python()) {
		skip();
		return;
	}
	static const struct {
		const char *args;
		int min_ids, min_reals;
	} outputs[] = {
	    {"status --json", 0, 1},
	    {"agents --json", 0, 1},
	    {"stats --json", 0, 2},
	    {"validate --json", 0, 3},
	    {"baseline establish --min-samples 10 --json", 0, 3},
	    {"baseline show --json", 0, 3},
	    {"alerts --json", 1, 1},
	};
	for (size_t i = 0; i < sizeof(outputs) / sizeof(outputs[0]); i++) {
		char out[128];
		int status = cli_to_file(outputs[i].args, out, sizeof(out));
		if (status != 0)
			fail_msg("agentperf %s: exit status %d (see %s/cli.err)", outputs[i].args,
			         status, folder);
		check_file(outputs[i].args, out, false, outputs[i].min_ids, outputs[i].min_reals);
	}
}

static void exports_and_files_write_shortest_reals_and_string_ids(void **state)
{
	(void)state;
	if (!have_python()) {
		skip();
		return;
	}
	char out[128], args[256], path[160];
	/* The CI export: its file, and the report with its threshold violations. */
	snprintf(path, sizeof(path), "%s/ci.json", folder);
	snprintf(args, sizeof(args), "export --ci %s", path);
	int status = cli_to_file(args, out, sizeof(out));
	assert_true(status == 0 || status == 1 || status == 5);
	check_file("export --ci", path, false, 0, 3);
	snprintf(path, sizeof(path), "%s/report.json", folder);
	snprintf(args, sizeof(args), "report --json %s", path);
	assert_int_equal(cli_to_file(args, out, sizeof(out)), 0);
	check_file("report --json", path, false, 1, 5);
	/* What the daemon writes itself: baseline.json (after establish above) and alerts.jsonl. */
	snprintf(path, sizeof(path), "%s/storage/baseline.json", folder);
	struct stat info;
	for (int waited = 0; waited < 5000 && stat(path, &info) != 0; waited += 20)
		ct_sleep_ms(20);
	check_file("baseline.json", path, false, 0, 3);
	snprintf(path, sizeof(path), "%s/storage/alerts.jsonl", folder);
	for (int waited = 0; waited < 5000 && (stat(path, &info) != 0 || info.st_size == 0);
	     waited += 20)
		ct_sleep_ms(20);
	check_file("alerts.jsonl", path, true, 1, 1);
}

static void task_result_writes_string_ids(void **state)
{
	(void)state;
	if (!have_python()) {
		skip();
		return;
	}
	char out[128];
	/* Completed or refused (a machine that cannot sandbox it), the result has its ids. */
	int status =
	    cli_to_file("task code-reviewer 'Review this function' --json", out, sizeof(out));
	assert_true(status == 0 || status == 1);
	check_file("task --json", out, false, 1, 1);
	char *text;
	char command[160];
	snprintf(command, sizeof(command), "cat %s", out);
	ct_run(&text, command);
	json_t *result = json_loads(text, 0, NULL);
	free(text);
	assert_non_null(result);
	json_t *metadata = json_object_get(result, "metadata");
	assert_true(json_is_string(json_object_get(metadata, "agent_id")));
	assert_true(json_is_string(json_object_get(metadata, "task_id")));
	json_decref(result);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(config_show_writes_0_95),
	    cmocka_unit_test(daemon_outputs_write_shortest_reals_and_string_ids),
	    cmocka_unit_test(exports_and_files_write_shortest_reals_and_string_ids),
	    cmocka_unit_test(task_result_writes_string_ids),
	};
	return cmocka_run_group_tests(tests, start, stop);
}
