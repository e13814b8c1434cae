/*
 * The runners module's entry point: the table of its runners, and the host
 * services it calls back into libagentperf for (module.h says why).
 */
#include "agents/task/runners/module.h"

static const struct agp__runners_host *host;

/* libagentperf's process handling, reached through the host it lent us. */
int agp__exec_run(const struct agp__exec_request *request, char *output, size_t output_max,
                  size_t *output_length, char *error, size_t error_max, size_t *error_length,
                  struct agp__exec_outcome *outcome)
{
	return host->exec_run(request, output, output_max, output_length, error, error_max,
	                      error_length, outcome);
}

void agp__describe_wait_status(int wait_status, char *text, size_t text_len)
{
	host->describe_wait_status(wait_status, text, text_len);
}

static const struct agp__runners_entry entries[] = {
    {"code-review", agp__runner_code_review}, {"test-run", agp__runner_test_run},
    {"doc-outline", agp__runner_doc_outline}, {"debug-trace", agp__runner_debug_trace},
    {"refactor", agp__runner_refactor},       {AGP__RUNNERS_MODULE_EXEC, agp__runner_exec_template},
};

static const struct agp__runners_table table = {
    .abi = AGP__RUNNERS_MODULE_ABI,
    .run_size = sizeof(struct agp__run),
    .def_size = sizeof(struct agp__agent_def),
    .entries = entries,
    .count = sizeof(entries) / sizeof(entries[0]),
};

__attribute__((visibility("default"))) const struct agp__runners_table *
agp_runners_module(const struct agp__runners_host *lent)
{
	if (!lent || lent->abi != AGP__RUNNERS_MODULE_ABI)
		return NULL;
	/* Set once, before any worker is forked (the loader holds its lock). */
	host = lent;
	return &table;
}
