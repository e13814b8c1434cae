/*
 * Negative cross-process differences are counted, not hidden: the Task API's coordination
 * overhead is the caller's clock against the worker's, and a worker whose clock reads earlier
 * than the caller's used to give a silent 0. Here the workers' clock is shifted back on purpose,
 * and `agentperf status` must count every such task in clock_skew_negative, as many as the
 * test itself saw (a task whose worker stamped its begin before the test called it).
 *
 * How the clock is shifted: the deployment uses CLOCK_MONOTONIC (AGENTPERF_CLOCK=monotonic when
 * the daemon creates the segment), and this program defines clock_gettime, which the
 * libagentperf.so it links calls instead of libc's. In every process of this program but the
 * test itself (the pre-forked workers are forks of it) CLOCK_MONOTONIC reads shift_ns earlier;
 * shift_ns lives in shared memory, so the test changes it for workers already running. Nothing
 * of this is in the library.
 *
 * The daemon (its own deployment name, config, storage and socket folder) is stopped by its pid.
 * Paths of the programs come from CMake: AGP_DAEMON, AGP_CLI.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "tests/support/cli_test_util.h"

#include <agentperf/task.h>

#define SHIFT_NS 1000000000LL /* 1 s: far above a trip's real overhead, far below a timeout */
#define TASKS    4

static char folder[64];
static char name[48];
static pid_t daemon_pid = -1;
static pid_t test_pid;
static _Atomic int64_t *shift_ns; /* shared with the workers; NULL until the test maps it */

#define cli(out, ...)          ct_cli(folder, name, out, __VA_ARGS__)
#define cli_json(status, args) ct_cli_json(folder, name, status, args)
#define num                    ct_num

int clock_gettime(clockid_t clock, struct timespec *now)
{
	int result = (int)syscall(SYS_clock_gettime, clock, now);
	if (result != 0 || clock != CLOCK_MONOTONIC || !shift_ns || getpid() == test_pid)
		return result;
	/*
	 * Relaxed: the test writes it before handing the worker a task, and that hand-off (the
	 * task slot's futex and release/acquire state) orders it before the worker's reading.
	 */
	int64_t shift = atomic_load_explicit(shift_ns, memory_order_relaxed);
	int64_t ns = (int64_t)now->tv_sec * 1000000000LL + now->tv_nsec - shift;
	now->tv_sec = (time_t)(ns / 1000000000LL);
	now->tv_nsec = (long)(ns % 1000000000LL);
	return 0;
}

static uint64_t test_now_ns(void)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now); /* the test's own: never shifted */
	return (uint64_t)now.tv_sec * 1000000000ull + (uint64_t)now.tv_nsec;
}

static double status_count(const char *key)
{
	json_t *status = cli_json(0, "status");
	double value = num(status, key);
	json_decref(status);
	return value;
}

/* Waits until the daemon's status shows key at least expected (5 s at most); returns it. */
static double wait_count(const char *key, double expected)
{
	double value = status_count(key);
	for (int waited = 0; waited < 5000 && value < expected; waited += 20) {
		ct_sleep_ms(20);
		value = status_count(key);
	}
	return value;
}

/* Runs TASKS tasks; returns how many began, by the worker's stamp, before the test called them. */
static int run_tasks(void)
{
	int began_before_call = 0;
	for (int t = 0; t < TASKS; t++) {
		uint64_t called_ns = test_now_ns();
		struct agp_task_result result;
		agp_task("code-reviewer", "Review this function", "clock skew test", &result);
		assert_true(result.success);
		assert_true(result.metadata.begin_ns > 0);
		if (result.metadata.begin_ns < called_ns) {
			began_before_call++;
			assert_true(result.metadata.coordination_overhead == 0.0);
		}
		agp_task_result_free(&result);
	}
	return began_before_call;
}

static int start(void **state)
{
	(void)state;
	test_pid = getpid();
	shift_ns = mmap(NULL, sizeof(*shift_ns), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
	                -1, 0);
	if (shift_ns == MAP_FAILED)
		return -1;
	/* Relaxed: no worker exists yet. */
	atomic_store_explicit(shift_ns, 0, memory_order_relaxed);
	snprintf(folder, sizeof(folder), "/tmp/agp-skew-XXXXXX");
	if (!mkdtemp(folder) || chdir(folder))
		return -1;
	snprintf(name, sizeof(name), "skew-%d", (int)getpid());
	char socket_folder[96], config_path[128], log[128];
	snprintf(socket_folder, sizeof(socket_folder), "%s/sock", folder);
	setenv("AGENTPERF_SOCKET_DIR", socket_folder, 1);
	setenv("AGENTPERF_CLOCK", "monotonic", 1); /* read when the daemon creates the segment */
	snprintf(config_path, sizeof(config_path), "%s/config.json", folder);
	FILE *config = fopen(config_path, "w");
	if (!config)
		return -1;
	fprintf(config, "{\"monitoring\": {\"storage_dir\": \"%s/storage\"}}\n", folder);
	fclose(config);
	snprintf(log, sizeof(log), "%s/daemon.log", folder);
	if (ct_daemon_start(folder, name, config_path, log, &daemon_pid) < 0)
		return -1;
	char agents[128];
	snprintf(agents, sizeof(agents), "%s/no-agents", folder); /* the five seed agents */
	struct agp_task_options options = {.agents_dir = agents, .deployment = name, .eager = true};
	return agp_task_init(&options) == 0 ? 0 : -1;
}

static int stop(void **state)
{
	(void)state;
	agp_task_shutdown();
	return ct_daemon_stop(daemon_pid, folder);
}

/* Clocks that agree: the tasks' trips are recorded and nothing is counted as skew. */
static void agreeing_clocks_count_nothing(void **state)
{
	(void)state;
	double before = status_count("aggregated");
	assert_int_equal(run_tasks(), 0);
	/* coordination_overhead, result_processing, task_execution_time, memory_usage per task */
	assert_true(wait_count("aggregated", before + 4 * TASKS) >= before + 4 * TASKS);
	assert_int_equal(status_count("clock_skew_negative"), 0);
	assert_int_equal(status_count("invalid"), 0);
}

/* Workers 1 s behind: every trip's difference is negative, recorded as 0 and counted. */
static void worker_behind_is_counted(void **state)
{
	(void)state;
	/* Relaxed: see clock_gettime above. */
	atomic_store_explicit(shift_ns, SHIFT_NS, memory_order_relaxed);
	double before = status_count("aggregated");
	int seen = run_tasks();
	atomic_store_explicit(shift_ns, 0, memory_order_relaxed);
	assert_int_equal(seen, TASKS); /* the test's own witness */
	/* Four samples per task as before, plus one clock_skew_negative sample each. */
	assert_true(wait_count("aggregated", before + 5 * TASKS) >= before + 5 * TASKS);
	assert_int_equal(wait_count("clock_skew_negative", seen), seen);
	assert_int_equal(status_count("invalid"), 0);
	char wanted[96], *text = NULL;
	snprintf(wanted, sizeof(wanted), "clock skew     %d negative caller-vs-worker differences",
	         seen);
	assert_int_equal(cli(&text, "status"), 0);
	if (!strstr(text, wanted))
		fail_msg("no \"%s\" in:\n%s", wanted, text);
	free(text);
	/* Each sample is the size of its negative difference: the shift less the trip's time. */
	json_t *stats = cli_json(0, "stats --metric clock_skew_negative --agent-type task-api");
	json_t *series = json_array_get(json_object_get(stats, "series"), 0);
	assert_non_null(series);
	assert_int_equal(num(series, "count"), seen);
	assert_true(num(series, "max") <= 1.001 * SHIFT_NS);
	assert_true(num(series, "min") >= 0.5 * SHIFT_NS);
	json_decref(stats);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(agreeing_clocks_count_nothing),
	    cmocka_unit_test(worker_behind_is_counted),
	};
	return cmocka_run_group_tests(tests, start, stop);
}
