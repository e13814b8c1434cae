/*
 * The runners module, agentperf-runners.so: the runners that act on prompt
 * text (the five seed agents' and the exec template runner), kept out of
 * libagentperf.so so that a program that links the recording library for
 * its samples carries no code that turns a prompt into a command.
 *
 * libagentperf loads the module only when a definition needs one of its
 * runners (agents/task/worker/runner_module.c), and hands it the host
 * services that must stay in the library (starting a program in a sandboxed
 * process group: exec.c keeps per-worker state). The module gives back a
 * table of named runners. Both are built from the same tree; the table says
 * which layout of struct agp__run and struct agp__agent_def it was built
 * with, and a module of another build is refused.
 */
#ifndef AGP_AGENTS_TASK_RUNNERS_MODULE_H
#define AGP_AGENTS_TASK_RUNNERS_MODULE_H

#include <stddef.h>

#include "agents/task/worker/exec.h"
#include "agents/task/worker/runner.h"

/* Raise when the host, the table or struct agp__run change meaning. */
#define AGP__RUNNERS_MODULE_ABI 1
/* The module's file name, and its folder next to libagentperf.so (build tree and install). */
#define AGP__RUNNERS_MODULE_FILE   "agentperf-runners.so"
#define AGP__RUNNERS_MODULE_FOLDER "agentperf"
/* The one symbol the module exports. */
#define AGP__RUNNERS_MODULE_ENTRY "agp_runners_module"
/* The table entry of the exec template runner (the others are seed builtin names). */
#define AGP__RUNNERS_MODULE_EXEC "exec"

/* What libagentperf lends the module. */
struct agp__runners_host {
	unsigned abi;
	int (*exec_run)(const struct agp__exec_request *request, char *output, size_t output_max,
	                size_t *output_length, char *error, size_t error_max, size_t *error_length,
	                struct agp__exec_outcome *outcome);
	void (*describe_wait_status)(int wait_status, char *text, size_t text_len);
};

struct agp__runners_entry {
	const char *name;
	agp__module_runner_fn run;
};

struct agp__runners_table {
	unsigned abi;
	size_t run_size; /* sizeof(struct agp__run) in the module's build */
	size_t def_size; /* sizeof(struct agp__agent_def) */
	const struct agp__runners_entry *entries;
	size_t count;
};

/*
 * The entry point (AGP__RUNNERS_MODULE_ENTRY). The host must outlive every
 * call of a runner; NULL when the host's abi is not the module's.
 */
typedef const struct agp__runners_table *(*agp__runners_module_fn)(
    const struct agp__runners_host *host);
const struct agp__runners_table *agp_runners_module(const struct agp__runners_host *host);

/* The module's runners (seed.c, exec_template.c). */
void agp__runner_code_review(struct agp__run *run);
void agp__runner_test_run(struct agp__run *run);
void agp__runner_doc_outline(struct agp__run *run);
void agp__runner_debug_trace(struct agp__run *run);
void agp__runner_refactor(struct agp__run *run);
void agp__runner_exec_template(struct agp__run *run);

#endif
