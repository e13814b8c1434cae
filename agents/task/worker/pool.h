/*
 * The SubAgentManager's pool of one agent type: its shared task region, its
 * worker processes and the caller-side bookkeeping of which slot is busy.
 *
 * Threads: any caller thread dispatches (under the pool lock only to pick a
 * slot); the supervisor thread watches worker deaths, memory and readiness
 * of replacements. Processes: workers are forked from whichever thread
 * starts the pool or replaces a worker; they never touch the pool lock.
 */
#ifndef AGP_AGENTS_SUBAGENT_POOL_H
#define AGP_AGENTS_SUBAGENT_POOL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <agentperf/agent.h>
#include <agentperf/task.h>

#include "agents/task/worker/region.h"
#include "agents/task/defs.h"

struct agp__run;

struct agp__pool {
	const struct agp__agent_def *def;
	agp_task_plugin_fn plugin;
	void *plugin_handle;
	/* The runners module's runner for def (exec, seed builtins), NULL for none (runner.h). */
	void (*module_runner)(struct agp__run *run);
	struct agp__region *region;
	unsigned worker_count;
	char deployment[80]; /* "" for the default resolution */

	pthread_mutex_t lock;
	pthread_cond_t changed; /* a slot became free or a worker became ready */
	bool started;
	bool *busy;        /* slot i has a caller's task (caller-side only) */
	pid_t *pids;       /* current worker of slot i, 0 while none */
	int *pidfds;       /* -1 while none */
	uint64_t *died_ns; /* deployment clock when a death was seen; 0 when not replacing */
	struct agp__supervisor *supervisor;
};

/* Caller-side recording through the manager's own "task-api" agent (task_api.c). */
void agp__caller_record(uint16_t metric, int64_t value, uint64_t task_id, uint16_t flags);
uint64_t agp__caller_now(void);
/*
 * later - earlier for two readings of the deployment clock taken in different processes (the
 * caller's and a worker's). A negative difference (clock skew between the two) gives 0, and its
 * size is recorded as a sample of the count metric "clock_skew_negative" (nanoseconds), so the
 * clamp is counted, never silent (task_api.c).
 */
uint64_t agp__caller_difference(uint64_t later, uint64_t earlier, uint64_t task_id);

/* Drops the caller's manager in a worker after fork (task_api.c). */
void agp__manager_forget(void);

struct agp__supervisor;
/* Wakes the supervisor so it rebuilds its set of watched workers (NULL: nothing to do). */
void agp__supervisor_poke(struct agp__supervisor *supervisor);

/*
 * Makes the region and forks every worker, then waits until all are ready.
 * Errors: -ENOMEM, the errno of mmap/fork, -ETIMEDOUT (a worker never got
 * ready), -ELIBACC (the plugin or the runners module did not load; the
 * message names the path and the symbol or runner).
 */
int agp__pool_start(struct agp__pool *pool, const struct agp__agent_def *def,
                    const char *deployment);

/* Stops the workers (asking first, killing after a grace period) and frees the pool. */
void agp__pool_stop(struct agp__pool *pool);

/* Forks the worker of slot index; the caller holds pool->lock. */
int agp__pool_spawn(struct agp__pool *pool, uint32_t index, uint64_t died_ns);

/* The worker's life: never returns. */
void agp__worker_main(struct agp__pool *pool, uint32_t index, uint64_t forked_ns, uint64_t died_ns)
    __attribute__((noreturn));

/* A task's trip through a pool, for task_api.c. */
struct agp__trip {
	uint64_t task_id;
	uint64_t call_ns; /* deployment clock at the API call */
	const char *prompt;
	size_t prompt_length;
	const char *description;
	size_t description_length;
};

/* Dispatches to a free worker, waits for the result and fills result (always). */
void agp__pool_run(struct agp__pool *pool, const struct agp__trip *trip,
                   struct agp_task_result *result);

/* The supervisor thread watching a fixed array of pools (subagent_supervisor.c). */
int agp__supervisor_start(struct agp__supervisor **out, struct agp__pool *pools, size_t count);
void agp__supervisor_stop(struct agp__supervisor *supervisor);

#endif
