/*
 * The runners module (agentperf-runners.so) as the Task API finds it: a
 * seed agent or exec definition whose module cannot be loaded fails its
 * task with a sentence naming the path tried; the builtins that live in
 * libagentperf still run; a library that is not the module is refused;
 * AGENTPERF_RUNNERS_MODULE chooses the file. One
 * process loads the module at most once, so every case that must not find
 * it comes before the first that does.
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

#include <agentperf/task.h>

#include "tests/support/task_test_util.h"

static struct tt t;

static const struct tt_file files[] = {
    {"echo.json", "{\"id\": \"echo\", \"runner\": {\"kind\": \"builtin\", \"name\": \"echo\"}, "
                  "\"workers\": 1}"},
    {"reviewer.json", "{\"id\": \"code-reviewer\", \"capabilities\": [\"READ_FILES\"], "
                      "\"runner\": {\"kind\": \"builtin\", \"name\": \"code-review\"}, "
                      "\"workers\": 1}"},
    {"counter.json", "{\"id\": \"counter\", \"runner\": {\"kind\": \"exec\", \"argv\": [\"wc\", "
                     "\"-c\"]}, \"workers\": 1}"},
};

/* Runs one task and checks its outcome; the error must contain needle when it fails. */
static void expect_task(const char *type, const char *prompt, bool success, const char *needle)
{
	struct agp_task_result result;
	agp_task(type, prompt, "", &result);
	if (result.success != success ||
	    (needle && !strstr(success ? result.output : result.error, needle)))
		fail_msg("agent %s: success %d, output '%s', error '%s'; expected success %d with "
		         "'%s'",
		         type, result.success, result.output, result.error, success,
		         needle ? needle : "");
	agp_task_result_free(&result);
}

static void a_missing_module_fails_the_task_naming_the_path(void **state)
{
	char missing[128];
	snprintf(missing, sizeof(missing), "/nonexistent-%d/agentperf-runners.so", (int)getpid());
	setenv("AGENTPERF_RUNNERS_MODULE", missing, 1);
	assert_int_equal(tt_start(&t, files, 3, 0), 0);
	expect_task("code-reviewer", "int a;", false, missing);
	expect_task("counter", "four", false, missing);
	/* A builtin of libagentperf itself needs no module. */
	expect_task("echo", "still here", true, "still here");

	/* A bare name would be searched for by the loader: refused, naming the variable. */
	setenv("AGENTPERF_RUNNERS_MODULE", "agentperf-runners.so", 1);
	expect_task("code-reviewer", "int a;", false,
	            "AGENTPERF_RUNNERS_MODULE='agentperf-runners.so'");

	/* A loadable library that is not the runners module (the test plugin) is refused. */
	setenv("AGENTPERF_RUNNERS_MODULE", AGP_TEST_PLUGIN, 1);
	expect_task("code-reviewer", "int a;", false, "no agp_runners_module");
	expect_task("code-reviewer", "int a;", false, AGP_TEST_PLUGIN);

	/* The variable chooses the file: the build's module does the work. */
	setenv("AGENTPERF_RUNNERS_MODULE", AGP_RUNNERS_MODULE, 1);
	expect_task("code-reviewer", "int a;\n", true, "lines: 1");
	expect_task("counter", "four", true, "4");
	tt_stop(&t);
	unsetenv("AGENTPERF_RUNNERS_MODULE");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(a_missing_module_fails_the_task_naming_the_path, tt_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
