/*
 * What goes wrong in a worker: timeouts (exec and in-worker), crashes, the
 * memory limit, and prompts that would mean something to a shell.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <agentperf/metrics.h>
#include <agentperf/task.h>

#include "tests/support/task_test_util.h"

/* Static: a failed assertion leaves the test early, and tt_teardown stops it then. */
static struct tt t;

/*
 * Under the sanitizers a refused malloc aborts the process; the alloc runner
 * (running in a forked copy of this program) must see NULL, as it does without.
 */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	return "allocator_may_return_null=1";
}
const char *__tsan_default_options(void);
const char *__tsan_default_options(void)
{
	return "allocator_may_return_null=1";
}

/* True when pid is gone or a zombie about to be reaped by init. */
static bool process_gone(int pid)
{
	char path[64], text[512];
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	FILE *file = fopen(path, "r");
	if (!file)
		return true;
	size_t length = fread(text, 1, sizeof(text) - 1, file);
	fclose(file);
	text[length] = '\0';
	const char *close_paren = strrchr(text, ')');
	return close_paren && (close_paren[2] == 'Z' || close_paren[2] == 'X');
}

static bool wait_gone(int pid, double seconds)
{
	for (int i = 0; i < (int)(seconds * 100); i++) {
		if (process_gone(pid))
			return true;
		usleep(10000);
	}
	return process_gone(pid);
}

static void exec_timeout_kills_whole_group(void **state)
{
	/* The runner starts a grandchild and prints its pid, then waits: the group must die. */
	const struct tt_file files[] = {
	    {"slow.json", "{\"id\": \"slow\", \"capabilities\": [\"EXECUTE_COMMANDS\"], "
	                  "\"runner\": {\"kind\": \"exec\", \"argv\": [\"/bin/sh\", \"-c\", "
	                  "\"sleep 30 & echo $!; wait\"]}, \"workers\": 1, \"timeout_s\": 0.4}"},
	};
	assert_int_equal(tt_start(&t, files, 1, 0), 0);
	struct agp_task_result result;
	agp_task("slow", "go", "", &result);
	assert_false(result.success);
	assert_int_equal(result.metadata.status, AGP_TASK_TIMEOUT);
	assert_string_equal(agp_task_status_name(result.metadata.status), "timeout");
	assert_non_null(strstr(result.error, "timed out after 0.4 s"));
	int grandchild = atoi(result.output);
	assert_true(grandchild > 1);
	assert_true(wait_gone(grandchild, 2.0));
	assert_true(result.metadata.execution_time >= 0.39 && result.metadata.execution_time < 2.0);
	int worker = result.metadata.worker_pid;
	agp_task_result_free(&result);

	/* The worker itself survived and records how long getting back took. */
	agp_task("slow", "again", "", &result);
	assert_int_equal(result.metadata.status, AGP_TASK_TIMEOUT);
	assert_int_equal(result.metadata.worker_pid, worker);
	agp_task_result_free(&result);
	agp_task_shutdown();
	tt_drain(&t);
	assert_int_equal(tt_count(&t, AGP_METRIC_ERROR_RECOVERY_TIME, "slow"), 2);
	size_t timeouts = 0;
	for (size_t i = 0; i < t.record_count; i++)
		if (t.records[i].metric_id == AGP_METRIC_TASK_EXECUTION_TIME &&
		    (t.records[i].flags & AGP_RECORD_TIMEOUT))
			timeouts++;
	assert_int_equal(timeouts, 2);
	tt_stop(&t);
}

static void in_worker_timeout_replaces_worker(void **state)
{
	const struct tt_file files[] = {
	    {"nap.json", "{\"id\": \"nap\", \"runner\": {\"kind\": \"builtin\", \"name\": "
	                 "\"sleep\"}, \"workers\": 1, \"timeout_s\": 0.2}"},
	};
	assert_int_equal(tt_start(&t, files, 1, 0), 0);
	struct agp_task_result result;
	/*
	 * Tasks that each stay within the timeout but together outlast it: the timer
	 * armed by the first fires during a later one and must not end it.
	 */
	int steady = 0;
	for (int i = 0; i < 8; i++) {
		agp_task("nap", "60", "", &result);
		assert_true(result.success);
		if (i == 0)
			steady = result.metadata.worker_pid;
		assert_int_equal(result.metadata.worker_pid, steady);
		agp_task_result_free(&result);
	}
	agp_task("nap", "5000", "", &result);
	assert_int_equal(result.metadata.status, AGP_TASK_TIMEOUT);
	assert_non_null(strstr(result.error, "timed out after 0.2 s"));
	int first = result.metadata.worker_pid;
	agp_task_result_free(&result);
	agp_task("nap", "10", "", &result);
	assert_true(result.success);
	assert_int_not_equal(result.metadata.worker_pid, first);
	assert_true(process_gone(first));
	agp_task_result_free(&result);
	tt_stop(&t);
	assert_true(t.count[AGP_METRIC_ERROR_RECOVERY_TIME] >= 1);
}

static void crashed_worker_fails_task_and_is_replaced(void **state)
{
	const struct tt_file files[] = {
	    {"crash.json", "{\"id\": \"crasher\", \"runner\": {\"kind\": \"builtin\", \"name\": "
	                   "\"crash\"}, \"workers\": 1}"},
	};
	assert_int_equal(tt_start(&t, files, 1, 0), 0);
	struct agp_task_result result;
	agp_task("crasher", "boom", "", &result);
	assert_false(result.success);
	assert_int_equal(result.metadata.status, AGP_TASK_FAILED);
	assert_non_null(strstr(result.error, "crashed mid-task"));
	assert_non_null(strstr(result.error, "SIGSEGV"));
	int first = result.metadata.worker_pid;
	assert_true(first > 0);
	agp_task_result_free(&result);

	/* A second task finds a new worker (which crashes too: that is all this agent does). */
	agp_task("crasher", "boom again", "", &result);
	assert_non_null(strstr(result.error, "SIGSEGV"));
	assert_true(result.metadata.worker_pid > 0);
	assert_int_not_equal(result.metadata.worker_pid, first);
	agp_task_result_free(&result);

	/* error_recovery_time: recorded by the caller side once each replacement is ready. */
	for (int i = 0; i < 200 && tt_count(&t, AGP_METRIC_ERROR_RECOVERY_TIME, "task-api") < 2;
	     i++) {
		usleep(5000);
		tt_drain(&t);
	}
	assert_int_equal(tt_count(&t, AGP_METRIC_ERROR_RECOVERY_TIME, "task-api"), 2);
	for (size_t i = 0; i < t.record_count; i++)
		if (t.records[i].metric_id == AGP_METRIC_ERROR_RECOVERY_TIME)
			assert_true(t.records[i].value > 0 && t.records[i].value < 5000000000ll);
	tt_stop(&t);
}

static void shell_text_is_one_argument(void **state)
{
	char canary[] = "/tmp/agp-canary-XXXXXX";
	assert_non_null(mkdtemp(canary));
	char json[1024];
	/* The template names a shell, but the prompt is only its positional parameter $1. */
	snprintf(
	    json, sizeof(json),
	    "{\"id\": \"args\", \"runner\": {\"kind\": \"exec\", \"argv\": [\"/bin/sh\", \"-c\", "
	    "\"printf '%%s|' \\\"$#\\\" \\\"$@\\\"\", \"sh\", \"{prompt}\", \"id={task_id}\"]}, "
	    "\"workers\": 1}");
	const struct tt_file files[] = {
	    {"args.json", json},
	    {"cat.json", "{\"id\": \"cat\", \"runner\": {\"kind\": \"exec\", \"argv\": "
	                 "[\"/bin/cat\"]}, \"workers\": 1}"},
	};
	assert_int_equal(tt_start(&t, files, 2, 0), 0);
	char prompt[256], expected[512];
	snprintf(prompt, sizeof(prompt), "hello; rm -rf %s $(rm -rf %s) `id`", canary, canary);
	struct agp_task_result result;
	agp_task("args", prompt, "", &result);
	assert_true(result.success);
	snprintf(expected, sizeof(expected), "2|%s|id=%llu|", prompt,
	         (unsigned long long)result.metadata.task_id);
	assert_string_equal(result.output, expected);
	struct stat info;
	assert_int_equal(stat(canary, &info), 0);
	agp_task_result_free(&result);

	/* The prompt is also the runner's standard input. */
	agp_task("cat", prompt, "", &result);
	assert_true(result.success);
	assert_string_equal(result.output, prompt);
	agp_task_result_free(&result);
	rmdir(canary);
	tt_stop(&t);
}

/* The confinement text of agent id, as the listing gives it. */
static const char *confinement_of(const char *id)
{
	const struct agp_agent_info *agents;
	int count = agp_list_agents(&agents);
	for (int i = 0; i < count; i++)
		if (strcmp(agents[i].id, id) == 0)
			return agents[i].confinement;
	fail_msg("agent %s is not listed", id);
	return "";
}

/* True when this machine's memory cgroup holds agent id to its limit (root, a memory controller).
 */
static bool kernel_holds_memory(const char *id)
{
	const char *text = confinement_of(id);
	bool held = strstr(text, "memory: held to the limit by the kernel") != NULL;
	assert_true(held || strstr(text, "memory: resident size polled") != NULL);
	/* Root on a machine with a writable memory cgroup must use it. */
	if (geteuid() == 0 && access("/sys/fs/cgroup/memory/cgroup.procs", W_OK) == 0)
		assert_true(held);
	return held;
}

static void memory_limit_enforced(void **state)
{
	char hog[1024], fork_hog[1024];
	snprintf(hog, sizeof(hog),
	         "{\"id\": \"hog\", \"runner\": {\"kind\": \"exec\", \"argv\": [\"%s\", \"--hog\", "
	         "\"400\"]}, \"workers\": 1, \"memory_limit_mb\": 48, \"timeout_s\": 20}",
	         tt_self());
	snprintf(fork_hog, sizeof(fork_hog),
	         "{\"id\": \"fork-hog\", \"runner\": {\"kind\": \"exec\", \"argv\": [\"%s\", "
	         "\"--fork-hog\", \"4\", \"24\"]}, "
	         "\"workers\": 1, \"memory_limit_mb\": 48, \"timeout_s\": 20}",
	         tt_self());
	const struct tt_file files[] = {
	    {"hog.json", hog},
	    {"fork-hog.json", fork_hog},
	    {"alloc.json", "{\"id\": \"alloc\", \"runner\": {\"kind\": \"builtin\", \"name\": "
	                   "\"alloc\"}, \"workers\": 1, \"memory_limit_mb\": 32}"},
	};
	assert_int_equal(tt_start(&t, files, 3, 0), 0);
	bool kernel = kernel_holds_memory("hog");
	struct agp_task_result result;
	agp_task("hog", "eat", "", &result);
	assert_false(result.success);
	assert_int_equal(result.metadata.status, AGP_TASK_FAILED);
	assert_non_null(strstr(result.error, "memory limit exceeded"));
	assert_non_null(strstr(result.error, "memory_limit_mb 48"));
	assert_non_null(strstr(result.error, kernel ? "the kernel held" : "resident"));
	assert_true(result.metadata.execution_time < 15.0);
	agp_task_result_free(&result);

	/*
	 * Four children of 24 MB each: 96 MB together, but no process over the
	 * limit of 48. Polling the runner's own resident size cannot see it; the
	 * task's memory cgroup holds them together.
	 */
	agp_task("fork-hog", "eat", "", &result);
	if (kernel) {
		assert_false(result.success);
		assert_non_null(strstr(result.error, "memory limit exceeded: the kernel held"));
		assert_null(strstr(result.output, "not stopped"));
	} else {
		assert_true(result.success); /* what the fallback cannot enforce, shown */
	}
	agp_task_result_free(&result);

	agp_task("alloc", "256", "", &result);
	assert_false(result.success);
	assert_non_null(strstr(result.error, "memory limit"));
	agp_task_result_free(&result);
	if (kernel) {
		/* Within the address space, over the limit: the kernel kills the worker. */
		agp_task("alloc", "40 2000", "", &result);
		assert_false(result.success);
		assert_non_null(
		    strstr(result.error, "memory limit exceeded: the kernel killed the worker"));
	} else {
		/*
		 * Within the address-space backstop but, with the worker's own pages, over
		 * the resident limit while it holds the memory: the supervisor's check.
		 */
		agp_task("alloc", "31 2000", "", &result);
		assert_false(result.success);
		assert_non_null(strstr(result.error, "memory limit exceeded: the worker held"));
	}
	assert_true(result.metadata.execution_time < 1.5);
	agp_task_result_free(&result);
	agp_task("alloc", "4", "", &result); /* under the limit: fine */
	assert_true(result.success);
	agp_task_result_free(&result);
	tt_stop(&t);
}

/* Re-entered as an exec runner: allocate and touch megabytes slowly until killed. */
static int hog(const char *megabytes)
{
	long total = atol(megabytes);
	for (long i = 0; i < total; i++) {
		char *block = malloc(1 << 20);
		if (!block)
			return 3;
		memset(block, 1, 1 << 20);
		/* The compiler may not drop the never-read block: the pages must really be touched.
		 */
		__asm__ volatile("" : : "r"(block) : "memory");
		usleep(2000);
	}
	printf("allocated %ld MB and was not stopped\n", total);
	return 0;
}

/*
 * Re-entered as an exec runner: children children of megabytes each, touched
 * and held together until every one has its memory; none alone is over the limit.
 */
static int fork_hog(const char *children_text, const char *megabytes_text)
{
	int children = atoi(children_text);
	size_t bytes = (size_t)atol(megabytes_text) << 20;
	int ready[2];
	pid_t pids[16];
	if (children < 1 || children > 16 || pipe(ready) != 0)
		return 3;
	for (int i = 0; i < children; i++) {
		if ((pids[i] = fork()) == 0) {
			close(ready[0]);
			char *block = malloc(bytes);
			if (!block)
				_exit(3);
			memset(block, 1, bytes);
			__asm__ volatile("" : : "r"(block) : "memory");
			(void)!write(ready[1], "+", 1);
			pause(); /* held until the group is killed or the parent ends it */
			_exit(0);
		}
	}
	close(ready[1]);
	int got = 0;
	char mark;
	while (got < children && read(ready[0], &mark, 1) == 1)
		got++;
	if (got == children)
		printf("%d children held %s MB each and were not stopped\n", children,
		       megabytes_text);
	for (int i = 0; i < children; i++) {
		kill(pids[i], SIGKILL);
		waitpid(pids[i], NULL, 0);
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "--hog") == 0)
		return hog(argv[2]);
	if (argc == 4 && strcmp(argv[1], "--fork-hog") == 0)
		return fork_hog(argv[2], argv[3]);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(exec_timeout_kills_whole_group, tt_teardown),
	    cmocka_unit_test_teardown(in_worker_timeout_replaces_worker, tt_teardown),
	    cmocka_unit_test_teardown(crashed_worker_fails_task_and_is_replaced, tt_teardown),
	    cmocka_unit_test_teardown(shell_text_is_one_argument, tt_teardown),
	    cmocka_unit_test_teardown(memory_limit_enforced, tt_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
