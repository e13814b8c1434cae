/*
 * What a runner sees of a task inside the worker, and the runners that
 * execute it: the built-in test helpers (builtin.c), plugins, and the
 * runners module (the five seed agents' runners and the exec template
 * runner, agents/task/runners/, loaded by runner_module.c).
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

/* A runner of the runners module; the outcome is in run. */
typedef void (*agp__module_runner_fn)(struct agp__run *run);

/* True when name is a builtin runner that the runners module provides (a seed agent's). */
bool agp__module_runner_known(const char *name);

/*
 * The runner of the runners module that def needs (kind exec, or a builtin
 * that agp__module_runner_known), loading the module on first use; *out is
 * NULL when def needs none. Call before forking workers. Errors: -ELIBACC
 * with a message naming the path tried and why it failed, -ENAMETOOLONG.
 */
int agp__module_runner_resolve(const struct agp__agent_def *def, agp__module_runner_fn *out);

#endif
