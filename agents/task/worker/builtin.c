/*
 * Built-in runners for tests and benchmarks. They run inside the worker, so
 * what they do (sleep, allocate, crash) happens to a real worker process:
 * "crash" really kills it, "alloc" really meets the memory limit.
 *
 *   echo        output = the prompt
 *   empty       no output (the cheapest task: benchmarks)
 *   sleep       sleeps arg milliseconds (or the prompt's number)
 *   spin        burns the CPU for arg milliseconds
 *   fail        fails with arg (or the prompt) as the error
 *   crash       the worker dies of SIGSEGV in the middle of the task
 *   alloc       allocates and touches arg megabytes (or the prompt's first number),
 *               holding them for the prompt's second number of milliseconds
 */
#include "agents/task/worker/runner.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "shm/clock.h"

static const char *const builtin_names[] = {"echo", "empty", "sleep", "spin",
                                            "fail", "crash", "alloc"};

bool agp__builtin_known(const char *name)
{
	for (size_t i = 0; i < sizeof(builtin_names) / sizeof(builtin_names[0]); i++)
		if (strcmp(name, builtin_names[i]) == 0)
			return true;
	return agp__module_runner_known(name);
}

/* The builtin's numeric argument: arg of the definition, else the prompt's leading number. */
static double number_argument(const struct agp__run *run, double fallback)
{
	const char *text = run->def->builtin_arg ? run->def->builtin_arg : run->prompt;
	char *end;
	double value = strtod(text, &end);
	return end == text ? fallback : value;
}

static void sleep_ms(double milliseconds)
{
	if (milliseconds <= 0)
		return;
	uint64_t nanoseconds = (uint64_t)(milliseconds * 1e6);
	struct timespec duration = {(time_t)(nanoseconds / 1000000000u),
	                            (long)(nanoseconds % 1000000000u)};
	while (nanosleep(&duration, &duration) != 0 && errno == EINTR)
		;
}

static void spin_ms(double milliseconds)
{
	uint64_t until = agp_monotonic_ns() + (uint64_t)(milliseconds * 1e6);
	while (agp_monotonic_ns() < until)
		;
}

static void run_alloc(struct agp__run *run)
{
	double megabytes = number_argument(run, 1);
	if (megabytes <= 0 || megabytes > 1 << 20) {
		agp__run_fail(run, AGP_TASK_FAILED, "alloc: %g MB is not a sensible size",
		              megabytes);
		return;
	}
	size_t bytes = (size_t)(megabytes * 1048576.0);
	char *block = malloc(bytes);
	if (!block) {
		agp__run_fail(run, AGP_TASK_FAILED,
		              "memory limit: allocating %g MB failed (memory_limit_mb %u)",
		              megabytes, run->def->memory_limit_mb);
		return;
	}
	/* Touch every page so the memory is resident, as a real consumer's would be. */
	for (size_t offset = 0; offset < bytes; offset += 4096)
		block[offset] = (char)offset;
	/* A second number in the prompt holds the memory that many milliseconds. */
	char *end;
	strtod(run->prompt, &end);
	double hold_ms = strtod(end, NULL);
	sleep_ms(hold_ms);
	agp__run_printf(run, "allocated and touched %g MB, held %g ms", megabytes, hold_ms);
	free(block);
}

void agp__builtin_run(struct agp__run *run)
{
	const char *name = run->def->builtin;
	if (strcmp(name, "echo") == 0) {
		agp__run_printf(run, "%s", run->prompt);
	} else if (strcmp(name, "empty") == 0) {
		/* Nothing: the cost of the trip alone. */
	} else if (strcmp(name, "sleep") == 0) {
		double milliseconds = number_argument(run, 0);
		sleep_ms(milliseconds);
		agp__run_printf(run, "slept %g ms", milliseconds);
	} else if (strcmp(name, "spin") == 0) {
		double milliseconds = number_argument(run, 0);
		spin_ms(milliseconds);
		agp__run_printf(run, "spun %g ms", milliseconds);
	} else if (strcmp(name, "fail") == 0) {
		agp__run_fail(run, AGP_TASK_FAILED, "%s",
		              run->def->builtin_arg ? run->def->builtin_arg : run->prompt);
	} else if (strcmp(name, "crash") == 0) {
		/* Really die mid-task: the supervisor must see a dead worker, not an error code. */
		signal(SIGSEGV, SIG_DFL);
		raise(SIGSEGV);
	} else if (strcmp(name, "alloc") == 0) {
		run_alloc(run);
	} else {
		/* The seed runners are in the runners module: the worker calls them directly. */
		agp__run_fail(run, AGP_TASK_FAILED, "no builtin runner named '%s'", name);
	}
}
