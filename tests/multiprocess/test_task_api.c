/*
 * The Task API on real worker processes without a collector: the seed
 * agents' work, side-area transfers, plugins and the CLI. (The
 * seed's validation scenarios, with a collector, are test_task_seed.c.)
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <agentperf/metrics.h>
#include <agentperf/task.h>

#include "tests/support/task_test_util.h"

/* Static: a failed assertion leaves the test early, and tt_teardown stops it then. */
static struct tt t;

static void seed_agents_do_real_work(void **state)
{
	assert_int_equal(tt_start(&t, NULL, 0, 0), 0);
	char path[] = "/tmp/agp-review-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	char line[200];
	memset(line, 'x', 150);
	line[150] = '\n';
	assert_int_equal(write(fd, "int a;\n/* FIXME */\n", 19), 19);
	assert_int_equal(write(fd, line, 151), 151);
	close(fd);

	struct agp_task_result result;
	char prompt[300];
	snprintf(prompt, sizeof(prompt), "Please review '%s'.", path);
	agp_task("code-reviewer", prompt, "", &result);
	assert_true(result.success);
	assert_non_null(strstr(result.output, path));
	assert_non_null(strstr(result.output, "lines: 3"));
	assert_non_null(strstr(result.output, "long lines (> 100): 1, first at line 3"));
	assert_non_null(strstr(result.output, "markers: 1 at lines 2"));
	agp_task_result_free(&result);
	unlink(path);

	agp_task("refactor-agent", "if (x) {\n\ty = 1;   \n\n\n\n}\n\n", "", &result);
	assert_true(result.success);
	assert_string_equal(result.output, "if (x) {\n    y = 1;\n\n}\n");
	agp_task_result_free(&result);

	agp_task("debugger", "In file included from a.c:1:\nsrc/b.c:17:3: error: x undeclared", "",
	         &result);
	assert_true(result.success);
	assert_non_null(strstr(result.output, "src/b.c:17: error: x undeclared"));
	agp_task_result_free(&result);
	agp_task("debugger", "nothing to see", "", &result);
	assert_false(result.success);
	assert_non_null(strstr(result.error, "no file:line"));
	agp_task_result_free(&result);

	agp_task("doc-writer", "The cache keeps agp_ring_push results.\n\nIt evicts old ones.",
	         "Cache notes", &result);
	assert_true(result.success);
	assert_non_null(strstr(result.output, "# Cache notes"));
	assert_non_null(strstr(result.output, "2. It evicts old ones"));
	assert_non_null(strstr(result.output, "`agp_ring_push`"));
	agp_task_result_free(&result);

	agp_task("test-runner", "run this:\n$ /bin/echo 'all tests passed'", "", &result);
	assert_true(result.success);
	assert_non_null(strstr(result.output, "exit status 0"));
	assert_non_null(strstr(result.output, "a pass: 1"));
	agp_task_result_free(&result);
	agp_task("test-runner", "run `/bin/false`", "", &result);
	assert_false(result.success);
	assert_non_null(strstr(result.error, "exit status 1"));
	agp_task_result_free(&result);
	tt_stop(&t);
}

static void large_prompt_and_output_travel_by_side_area(void **state)
{
	const struct tt_file files[] = {
	    {"echo.json", "{\"id\": \"echo\", \"runner\": {\"kind\": \"builtin\", \"name\": "
	                  "\"echo\"}, \"workers\": 1}"},
	    {"zeros.json", "{\"id\": \"zeros\", \"runner\": {\"kind\": \"exec\", \"argv\": "
	                   "[\"head\", \"-c\", \"1500000\", \"/dev/zero\"]}, \"workers\": 1}"},
	};
	assert_int_equal(tt_start(&t, files, 2, 0), 0);
	size_t size = AGP_TASK_PROMPT_MAX;
	char *prompt = malloc(size + 1);
	for (size_t i = 0; i < size; i++)
		prompt[i] = (char)('a' + i % 26);
	prompt[size] = '\0';
	struct agp_task_result result;
	agp_task("echo", prompt, "", &result);
	assert_true(result.success);
	assert_int_equal(strlen(result.output), size);
	assert_memory_equal(result.output, prompt, size);
	assert_false(result.metadata.output_truncated);
	agp_task_result_free(&result);

	prompt[size - 1] = 'z';
	char *too_big = realloc(prompt, size + 2);
	too_big[size] = 'z';
	too_big[size + 1] = '\0';
	agp_task("echo", too_big, "", &result);
	assert_false(result.success);
	assert_non_null(strstr(result.error, "at most"));
	agp_task_result_free(&result);
	free(too_big);

	agp_task("zeros", "go", "", &result);
	assert_true(result.success);
	assert_true(result.metadata.output_truncated);
	agp_task_result_free(&result);
	tt_stop(&t);
}

static void plugin_runner(void **state)
{
	char upper[512], refuse[512];
	snprintf(upper, sizeof(upper),
	         "{\"id\": \"upper\", \"runner\": {\"kind\": \"plugin\", \"path\": \"%s\", "
	         "\"symbol\": \"agp_test_upper\"}, \"workers\": 1}",
	         AGP_TEST_PLUGIN);
	snprintf(refuse, sizeof(refuse),
	         "{\"id\": \"refuse\", \"runner\": {\"kind\": \"plugin\", \"path\": \"%s\", "
	         "\"symbol\": \"agp_test_refuse\"}, \"workers\": 1}",
	         AGP_TEST_PLUGIN);
	char nosymbol[512];
	snprintf(nosymbol, sizeof(nosymbol),
	         "{\"id\": \"nosymbol\", \"runner\": {\"kind\": \"plugin\", \"path\": \"%s\", "
	         "\"symbol\": \"agp_no_such_symbol\"}}",
	         AGP_TEST_PLUGIN);
	const struct tt_file files[] = {
	    {"upper.json", upper},
	    {"refuse.json", refuse},
	    {"missing.json", "{\"id\": \"missing\", \"runner\": {\"kind\": \"plugin\", "
	                     "\"path\": \"/nonexistent/libnothing.so\"}}"},
	    {"nosymbol.json", nosymbol},
	};
	assert_int_equal(tt_start(&t, files, 4, 0), 0);
	struct agp_task_result result;
	agp_task("upper", "make me loud", "quietly", &result);
	assert_true(result.success);
	assert_string_equal(result.output, "MAKE ME LOUD / quietly");
	assert_true(result.metadata.worker_pid > 0);
	agp_task_result_free(&result);

	agp_task("refuse", "this", "", &result);
	assert_false(result.success);
	assert_non_null(strstr(result.error, "returned 7"));
	assert_non_null(strstr(result.error, "cannot handle 'this'"));
	agp_task_result_free(&result);

	agp_task("missing", "x", "", &result);
	assert_false(result.success);
	assert_non_null(strstr(result.error, "/nonexistent/libnothing.so"));
	agp_task_result_free(&result);
	agp_task("nosymbol", "x", "", &result);
	assert_false(result.success);
	assert_non_null(strstr(result.error, "agp_no_such_symbol"));
	agp_task_result_free(&result);
	tt_stop(&t);
}

/* Runs the CLI with its standard output in a file; returns the exit status, output in text. */
static int run_cli(int argc, char **argv, char *text, size_t text_max)
{
	char path[] = "/tmp/agp-cli-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	fflush(stdout);
	int saved = dup(1);
	dup2(fd, 1);
	int status = agp_task_cli(argc, argv);
	fflush(stdout);
	dup2(saved, 1);
	close(saved);
	ssize_t length = pread(fd, text, text_max - 1, 0);
	text[length > 0 ? length : 0] = '\0';
	close(fd);
	unlink(path);
	return status;
}

static void cli_task_and_agents(void **state)
{
	assert_int_equal(tt_start(&t, NULL, 0, 0), 0);
	char text[8192];
	char *task[] = {"task",          "code-reviewer", "Review this function",
	                "--description", "cli",           "--json"};
	assert_int_equal(run_cli(6, task, text, sizeof(text)), 0);
	assert_non_null(strstr(text, "\"success\": true"));
	assert_non_null(strstr(text, "\"status\": \"completed\""));
	assert_non_null(strstr(text, "\"agent_id\": \"code-reviewer\""));
	assert_non_null(strstr(text, "\"execution_time\""));

	char *agents[] = {"agents", "--available"};
	assert_int_equal(run_cli(2, agents, text, sizeof(text)), 0);
	assert_non_null(strstr(text, "refactor-agent"));
	assert_non_null(strstr(text, "builtin:test-run"));

	char *unknown[] = {"task", "nope", "Review this function"};
	assert_int_equal(run_cli(3, unknown, text, sizeof(text)), 1);
	char *bad[] = {"task", "code-reviewer"};
	assert_int_equal(run_cli(2, bad, text, sizeof(text)), 2);
	tt_stop(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(seed_agents_do_real_work, tt_teardown),
	    cmocka_unit_test_teardown(large_prompt_and_output_travel_by_side_area, tt_teardown),
	    cmocka_unit_test_teardown(cli_task_and_agents, tt_teardown),
	    cmocka_unit_test_teardown(plugin_runner, tt_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
