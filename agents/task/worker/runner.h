/*
 * What a runner sees of a task inside the worker, and the runners that
 * execute it: the built-in ones (test helpers and the five seed agents),
 * plugins and exec templates.
 */
#ifndef AGP_AGENTS_TASK_RUNNER_H
#define AGP_AGENTS_TASK_RUNNER_H

#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <agentperf/task.h>

#include "agents/task/defs.h"

struct agp__run {
	const struct agp__agent_def *def;
	agp_task_plugin_fn plugin;
	const char *prompt;
	size_t prompt_length;
	const char *description;
	uint64_t task_id;
	uint64_t deadline_ns; /* CLOCK_MONOTONIC */
	_Atomic int32_t *runner_pgid;

	/* Results. */
	char *output;
	size_t output_max; /* including the NUL */
	size_t output_length;
	bool output_truncated;
	char *error;
	size_t error_max;
	size_t error_length;
	enum agp_task_status status;
	uint64_t recovery_ns; /* a runner group was killed: kill until reaped */
};

/* Appends to the output, cutting (and flagging) at output_max - 1. */
void agp__run_printf(struct agp__run *run, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

/* Sets the error text and the failed status. */
void agp__run_fail(struct agp__run *run, enum agp_task_status status, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

/* Runs a builtin in the worker; the outcome is in run. */
void agp__builtin_run(struct agp__run *run);

/* The five seed agents' runners (task_seed_runners.c); false when name is not one. */
bool agp__seed_runner_run(const char *name, struct agp__run *run);
bool agp__seed_runner_known(const char *name);

/* The exec runner: substitutes the template and runs it (task_exec_runner.c). */
void agp__exec_runner_run(struct agp__run *run);

#endif
