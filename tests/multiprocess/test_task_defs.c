/* Agent definitions and the capability gate, through the public API (no worker is forked). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <agentperf/task.h>

#include "tests/support/task_test_util.h"

/* Static: a failed assertion leaves the test early, and tt_teardown stops it then. */
static struct tt t;

static const struct agp_agent_info *find(const struct agp_agent_info *agents, int count,
                                         const char *id)
{
	for (int i = 0; i < count; i++)
		if (strcmp(agents[i].id, id) == 0)
			return &agents[i];
	return NULL;
}

static void defaults_without_folder(void **state)
{
	assert_int_equal(tt_start(&t, NULL, 0, 0), 0);
	const struct agp_agent_info *agents;
	int count = agp_list_agents(&agents);
	assert_int_equal(count, 5);
	const char *ids[] = {"code-reviewer", "test-runner", "doc-writer", "debugger",
	                     "refactor-agent"};
	for (size_t i = 0; i < 5; i++) {
		const struct agp_agent_info *agent = find(agents, count, ids[i]);
		assert_non_null(agent);
		assert_true(strncmp(agent->runner, "builtin:", 8) == 0);
		assert_true(agent->timeout_s == 300.0);
		assert_string_equal(agent->source, "(default)");
	}
	assert_non_null(
	    strstr(find(agents, count, "test-runner")->capabilities, "EXECUTE_COMMANDS"));
	assert_string_equal(agp_task_load_messages(), "");
	tt_stop(&t);
}

static void invalid_files_skipped_with_file_and_key(void **state)
{
	const struct tt_file files[] = {
	    {"good.json",
	     "{\"id\": \"good\", \"name\": \"Good\", \"capabilities\": [\"READ_FILES\"],"
	     " \"config\": {}, \"runner\": {\"kind\": \"exec\", \"argv\": [\"/bin/cat\"]},"
	     " \"workers\": 3, \"timeout_s\": 2.5, \"memory_limit_mb\": 64}"},
	    {"plugin.json", "{\"id\": \"plug\", \"runner\": {\"kind\": \"plugin\", \"path\": "
	                    "\"./x.so\", \"symbol\": \"run\"}}"},
	    {"badkind.json", "{\"id\": \"bk\", \"runner\": {\"kind\": \"telnet\"}}"},
	    {"badworkers.json", "{\"id\": \"bw\", \"runner\": {\"kind\": \"builtin\", \"name\": "
	                        "\"echo\"}, \"workers\": 0}"},
	    {"badjson.json", "{\"id\": \"bj\", "},
	    {"badargv.json", "{\"id\": \"ba\", \"runner\": {\"kind\": \"exec\", \"argv\": [1]}}"},
	    {"badbuiltin.json", "{\"id\": \"bb\", \"runner\": {\"kind\": \"builtin\", \"name\": "
	                        "\"teleport\"}}"},
	    {"badcaps.json", "{\"id\": \"bc\", \"capabilities\": \"READ_FILES\", \"runner\": "
	                     "{\"kind\": \"builtin\", \"name\": \"echo\"}}"},
	    {"zdup.json",
	     "{\"id\": \"good\", \"runner\": {\"kind\": \"builtin\", \"name\": \"echo\"}}"},
	    {"seedschema.json", "{\"id\": \"debugger\", \"name\": \"Dbg\", \"capabilities\": "
	                        "[\"READ_FILES\"], \"config\": {}}"},
	    {"notes.txt", "not a definition"},
	};
	assert_int_equal(tt_start(&t, files, sizeof(files) / sizeof(files[0]), 0), 0);
	const struct agp_agent_info *agents;
	int count = agp_list_agents(&agents);
	if (count != 3) {
		fprintf(stderr, "%s", agp_task_load_messages());
		for (int i = 0; i < count; i++)
			fprintf(stderr, "loaded %s from %s\n", agents[i].id, agents[i].source);
	}
	assert_int_equal(count, 3); /* good, plug, debugger (seed schema keeps its runner) */
	const struct agp_agent_info *good = find(agents, count, "good");
	assert_non_null(good);
	assert_int_equal(good->workers, 3);
	assert_true(good->timeout_s == 2.5);
	assert_int_equal(good->memory_limit_mb, 64);
	assert_string_equal(good->runner, "exec:/bin/cat");
	assert_string_equal(find(agents, count, "plug")->runner, "plugin:./x.so:run");
	assert_string_equal(find(agents, count, "debugger")->runner, "builtin:debug-trace");

	const char *messages = agp_task_load_messages();
	const char *expected[][2] = {
	    {"badkind.json", "'runner.kind'"},
	    {"badworkers.json", "'workers'"},
	    {"badjson.json", "not valid JSON"},
	    {"badargv.json", "'runner.argv'"},
	    {"badbuiltin.json", "'runner.name'"},
	    {"badcaps.json", "'capabilities'"},
	    {"zdup.json", "'id'"},
	};
	for (size_t i = 0; i < sizeof(expected) / sizeof(expected[0]); i++) {
		const char *line = strstr(messages, expected[i][0]);
		assert_non_null(line);
		const char *end = strchr(line, '\n');
		assert_non_null(end);
		const char *key = strstr(line, expected[i][1]);
		assert_true(key && key < end);
	}
	assert_null(strstr(messages, "good.json"));
	assert_null(strstr(messages, "notes.txt"));
	tt_stop(&t);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The capability gate (invalid arguments and unknown agents: test_task_seed.c). */
static void gate_refusals_fast_and_named(void **state)
{
	assert_int_equal(tt_start(&t, NULL, 0, 0), 0);
	struct {
		const char *type, *prompt, *description, *error_part;
	} cases[] = {
	    {"code-reviewer", "please run the tests", "d", "EXECUTE_COMMANDS"},
	    {"code-reviewer", "Fix it", "then write the result", "WRITE_FILES"},
	    {"doc-writer", "download the spec over HTTP", "d", "NETWORK_ACCESS"},
	    {"refactor-agent", "Bash it into shape", "d", "EXECUTE_COMMANDS"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct agp_task_result result;
		double start = now_s();
		agp_task(cases[i].type, cases[i].prompt, cases[i].description, &result);
		double took = now_s() - start;
		assert_false(result.success);
		assert_int_equal(result.metadata.status, AGP_TASK_FAILED);
		assert_non_null(result.output);
		assert_non_null(strstr(result.error, cases[i].error_part));
		assert_int_equal(result.metadata.worker_pid, 0);
		agp_task_result_free(&result);
		/*
		 * Fast: the best of a few tries, so that one preemption of this test on a
		 * busy machine does not count as the API being slow.
		 */
		for (int again = 0; again < 4 && took >= 0.0001; again++) {
			start = now_s();
			agp_task(cases[i].type, cases[i].prompt, cases[i].description, &result);
			double retry = now_s() - start;
			took = retry < took ? retry : took;
			agp_task_result_free(&result);
		}
		assert_true(took < 0.0001); /* 100 us: "well under a millisecond" */
	}
	/* Whole words only: "prune" and "run_all" ask for nothing. */
	struct agp_task_result result;
	agp_task("refactor-agent", "prune run_all files_x", "d", &result);
	assert_true(result.success);
	agp_task_result_free(&result);
	tt_stop(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(defaults_without_folder, tt_teardown),
	    cmocka_unit_test_teardown(invalid_files_skipped_with_file_and_key, tt_teardown),
	    cmocka_unit_test_teardown(gate_refusals_fast_and_named, tt_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
