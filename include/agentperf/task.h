/*
 * The Task API: tasks run on pre-forked agent worker processes, and every
 * step of the trip is recorded as one of the seven built-in metrics.
 *
 * The seed's Task(agent_type, prompt, description) is agp_task(). It never
 * crashes the caller: an empty type or prompt, an unknown agent or a task
 * text that asks for a capability the agent lacks give a failed result with
 * an error string, at once. Agents are defined by JSON files in
 * .codexplus/agents/ (see docs/tasks.md); without any, the five seed agents
 * exist with built-in runners that do real local work.
 *
 * The first call starts the manager implicitly with default options; call
 * agp_task_init() first to choose the folder, the deployment or the
 * concurrency cap. All functions are thread-safe.
 */
#ifndef AGENTPERF_TASK_H
#define AGENTPERF_TASK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum agp_task_status {
	AGP_TASK_COMPLETED = 0,
	AGP_TASK_FAILED = 1,
	AGP_TASK_TIMEOUT = 2,
};

struct agp_task_metadata {
	char agent_id[64];
	uint64_t task_id; /* 0 when the task was refused before it got one */
	enum agp_task_status status;
	double execution_time;        /* seconds the runner ran (the seed's execution_time) */
	double coordination_overhead; /* seconds from the call until the worker began */
	uint64_t begin_ns;            /* deployment clock: the worker began / finished */
	uint64_t end_ns;
	int32_t worker_pid;    /* 0 when no worker saw the task */
	bool output_truncated; /* output longer than AGP_TASK_OUTPUT_MAX was cut */
};

struct agp_task_result {
	bool success;
	char *output; /* NUL-terminated, never NULL after a call that filled the result */
	char *error;  /* NUL-terminated, "" on success */
	struct agp_task_metadata metadata;
};

/* Largest prompt, description and output a task carries (larger output is cut and flagged). */
#define AGP_TASK_PROMPT_MAX (1u << 20)
#define AGP_TASK_OUTPUT_MAX (1u << 20)

/*
 * The custom metric (nanoseconds) the Task API records, on its "task-api" agent, once for each
 * difference between the caller's clock and a worker's that came out negative (the worker's
 * reading earlier than the caller's: clock skew). The sample is the size of the negative
 * difference; the coordination_overhead or result_processing sample of that task is then 0.
 * `agentperf status` shows the count as clock_skew_negative.
 */
#define AGP_TASK_CLOCK_SKEW_METRIC "clock_skew_negative"

struct agp_task_options {
	const char *agents_dir; /* NULL: $AGENTPERF_AGENTS_DIR, then ".codexplus/agents" */
	const char *deployment; /* NULL: $AGENTPERF_NAME, then "default" */
	unsigned
	    max_concurrency; /* tasks in flight at once; 0: $AGENTPERF_TASK_CONCURRENCY, then 10 */
	bool eager;          /* fork every agent's workers now instead of at first use */
};

/*
 * Starts the manager: loads the agent definitions and, with eager, forks
 * their workers. -EALREADY when it runs already. Problems with single
 * definition files are not errors: those files are skipped and listed by
 * agp_task_load_messages().
 */
int agp_task_init(const struct agp_task_options *options);

/* Stops every worker and frees the manager; outstanding handles must be waited for first. */
void agp_task_shutdown(void);

/* Runs one task and waits for it. Fills result in every case; free it with agp_task_result_free().
 */
void agp_task(const char *agent_type, const char *prompt, const char *description,
              struct agp_task_result *result);

typedef struct agp_task_handle agp_task_handle;

/*
 * Queues a task; at most max_concurrency tasks run at once, the rest wait
 * their turn. Never fails: a task refused at once gives a handle whose
 * result is already there. NULL only when memory for the handle is lacking.
 */
agp_task_handle *agp_task_submit(const char *agent_type, const char *prompt,
                                 const char *description);

/* Waits for the task, moves its result into result and frees the handle. */
void agp_task_wait(agp_task_handle *handle, struct agp_task_result *result);

/*
 * Waits for a batch submitted together and records its parallel_coordination:
 * the batch's wall time from the first submission to the last result, beyond
 * its slowest task's execution time. results has count entries.
 */
void agp_task_wait_all(agp_task_handle **handles, size_t count, struct agp_task_result *results);

void agp_task_result_free(struct agp_task_result *result);

/* "completed", "failed", "timeout". */
const char *agp_task_status_name(enum agp_task_status status);

struct agp_agent_info {
	const char *id;
	const char *name;
	const char *description;
	const char *capabilities; /* comma-separated, e.g. "READ_FILES,EXECUTE_COMMANDS" */
	const char *runner;       /* "builtin:echo", "exec:/usr/bin/wc", "plugin:./x.so:handler" */
	unsigned workers;
	double timeout_s;
	unsigned memory_limit_mb; /* 0: none */
	const char *source;       /* the file it came from, or "(default)" */
	/*
	 * What the kernel enforces for the capabilities it lacks, e.g.
	 * "writes:scratch-only(landlock) network:none(netns) exec:allowed; processes:
	 * cgroup v1 pids (...); memory: ...", or "REFUSED: ..." when this machine
	 * cannot enforce one (its tasks are then refused).
	 */
	const char *confinement;
};

/*
 * Lists the available agents (starting the manager if needed). The array
 * and its strings stay valid until agp_task_shutdown(). Returns the count,
 * or a negative errno value when the manager could not start.
 */
int agp_list_agents(const struct agp_agent_info **agents_out);

/* Messages about definition files that were skipped, one per line ("" when none). */
const char *agp_task_load_messages(void);

/* Largest number of tasks that were in flight at once since init (for tests and reports). */
unsigned agp_task_peak_concurrency(void);

/*
 * The command line: "task TYPE PROMPT [--description D] [--json]" and
 * "agents [--available] [--json]". argv[0] is the subcommand. Prints to
 * stdout/stderr and returns the process exit status.
 */
int agp_task_cli(int argc, char **argv);

/* The plugin runner's entry point: write at most output_max bytes to output, return 0 on success.
 */
typedef int (*agp_task_plugin_fn)(const char *prompt, const char *description, char *output,
                                  size_t output_max, size_t *output_len);

#ifdef __cplusplus
}
#endif
#endif
