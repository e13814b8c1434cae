/*
 * A pool: the region shared with one agent type's workers, starting and
 * stopping them, and one task's trip through it.
 *
 * The trip (the fast path): pick a free, ready slot under the pool lock;
 * write the task into the slot; SUBMITTED with one FUTEX_WAKE; the worker
 * runs it and answers DONE with one FUTEX_WAKE; copy the result out; IDLE.
 * Short tasks are caught by spinning before sleeping, so the caller's side
 * often needs no system call at all.
 */
#include "agents/task/worker/pool.h"

#include <dlfcn.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "shm/clock.h"
#include "common/error.h"
#include "agents/task/worker/runner.h"

#define READY_TIMEOUT_NS 10000000000ull
#define STOP_GRACE_MS    1000
/* About the cost of a futex sleep and wake-up: spinning longer would only burn a core. */
#define CALLER_SPIN_NS 20000u

static size_t region_size(unsigned workers, size_t *side_offset)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t head = sizeof(struct agp__region) + workers * sizeof(struct agp__task_slot);
	head = (head + page - 1) / page * page;
	*side_offset = head;
	return head + workers * (size_t)(AGP__SIDE_IN_SIZE + AGP__SIDE_OUT_SIZE);
}

int agp__pool_spawn(struct agp__pool *pool, uint32_t index, uint64_t died_ns)
{
	struct agp__task_slot *slot = &pool->region->slots[index];
	/* Relaxed: nobody dispatches to this slot until ready is 1 again (release by the worker).
	 */
	atomic_store_explicit(&slot->ready, 0, memory_order_relaxed);
	atomic_store_explicit(&slot->kill_reason, AGP__KILL_NONE, memory_order_relaxed);
	atomic_store_explicit(&slot->alarm_armed, 0, memory_order_relaxed);
	atomic_store_explicit(&slot->runner_pgid, 0, memory_order_relaxed);
	uint64_t forked_ns = agp__caller_now();
	pid_t pid = fork();
	if (pid < 0)
		return agp__error(-errno, "forking worker %u of agent '%s': %s", index,
		                  pool->def->id, strerror(errno));
	if (pid == 0)
		agp__worker_main(pool, index, forked_ns, died_ns);
	pool->pids[index] = pid;
	pool->pidfds[index] = (int)syscall(SYS_pidfd_open, pid, 0);
	pool->died_ns[index] = died_ns;
	return 0;
}

static int load_plugin(struct agp__pool *pool)
{
	/*
	 * Loaded here, before the workers are forked, so they inherit the mapped
	 * code: a child of a threaded process should not take the loader's locks.
	 */
	dlerror();
	pool->plugin_handle = dlopen(pool->def->plugin_path, RTLD_NOW | RTLD_LOCAL);
	if (!pool->plugin_handle)
		return agp__error(-ELIBACC, "agent '%s': cannot load plugin '%s': %s",
		                  pool->def->id, pool->def->plugin_path, dlerror());
	void *symbol = dlsym(pool->plugin_handle, pool->def->plugin_symbol);
	if (!symbol) {
		int error =
		    agp__error(-ELIBACC, "agent '%s': plugin '%s' has no symbol '%s'",
		               pool->def->id, pool->def->plugin_path, pool->def->plugin_symbol);
		dlclose(pool->plugin_handle);
		pool->plugin_handle = NULL;
		return error;
	}
	/* POSIX allows converting dlsym's object pointer to a function pointer. */
	*(void **)&pool->plugin = symbol;
	return 0;
}

static void release_memory(struct agp__pool *pool)
{
	if (pool->region)
		munmap(pool->region, pool->region->size);
	pool->region = NULL;
	if (pool->plugin_handle)
		dlclose(pool->plugin_handle);
	pool->plugin_handle = NULL;
	free(pool->busy);
	free(pool->pids);
	free(pool->pidfds);
	free(pool->died_ns);
	pool->busy = NULL;
	pool->pids = NULL;
	pool->pidfds = NULL;
	pool->died_ns = NULL;
}

static void stop_workers(struct agp__pool *pool)
{
	for (unsigned i = 0; i < pool->worker_count; i++)
		if (pool->pids[i] > 0)
			agp__slot_set_wake(&pool->region->slots[i], AGP__SLOT_STOP);
	uint64_t until = agp_monotonic_ns() + STOP_GRACE_MS * 1000000ull;
	for (unsigned i = 0; i < pool->worker_count; i++) {
		if (pool->pids[i] <= 0)
			continue;
		int status;
		while (waitpid(pool->pids[i], &status, WNOHANG) == 0) {
			if (agp_monotonic_ns() > until) {
				kill(pool->pids[i], SIGKILL);
				waitpid(pool->pids[i], &status, 0);
				break;
			}
			usleep(1000);
		}
		/* Relaxed: the worker is reaped; waitpid ordered everything it stored. */
		int32_t pgid =
		    atomic_load_explicit(&pool->region->slots[i].runner_pgid, memory_order_relaxed);
		if (pgid > 0)
			kill(-pgid, SIGKILL);
		if (pool->pidfds[i] >= 0)
			close(pool->pidfds[i]);
		pool->pids[i] = 0;
		pool->pidfds[i] = -1;
	}
}

int agp__pool_start(struct agp__pool *pool, const struct agp__agent_def *def,
                    const char *deployment)
{
	int error = 0;
	pool->worker_count = def->workers;
	snprintf(pool->deployment, sizeof(pool->deployment), "%s", deployment ? deployment : "");
	size_t side_offset;
	size_t size = region_size(def->workers, &side_offset);
	void *base = mmap(NULL, size, PROT_READ | PROT_WRITE,
	                  MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (base == MAP_FAILED)
		return agp__error(-errno, "mapping %zu bytes of task slots for agent '%s': %s",
		                  size, def->id, strerror(errno));
	pool->region = base;
	pool->region->slot_count = def->workers;
	pool->region->size = size;
	pool->region->side_offset = side_offset;
	pool->busy = calloc(def->workers, sizeof(bool));
	pool->pids = calloc(def->workers, sizeof(pid_t));
	pool->pidfds = malloc(def->workers * sizeof(int));
	pool->died_ns = calloc(def->workers, sizeof(uint64_t));
	if (!pool->busy || !pool->pids || !pool->pidfds || !pool->died_ns) {
		error = agp__error(-ENOMEM, "allocating the pool of agent '%s'", def->id);
		goto fail;
	}
	for (unsigned i = 0; i < def->workers; i++)
		pool->pidfds[i] = -1;
	if (def->kind == AGP__RUNNER_PLUGIN && (error = load_plugin(pool)))
		goto fail;
	if ((error = agp__module_runner_resolve(def, &pool->module_runner)))
		goto fail;

	for (unsigned i = 0; i < def->workers; i++)
		if ((error = agp__pool_spawn(pool, i, 0)))
			goto fail_workers;
	uint64_t until = agp_monotonic_ns() + READY_TIMEOUT_NS;
	for (unsigned i = 0; i < def->workers; i++) {
		struct agp__task_slot *slot = &pool->region->slots[i];
		/* Acquire: pairs with the worker's release of ready. */
		while (!atomic_load_explicit(&slot->ready, memory_order_acquire)) {
			if (agp_monotonic_ns() > until) {
				error = agp__error(-ETIMEDOUT,
				                   "worker %u of agent '%s' was not ready within "
				                   "%llu s",
				                   i, def->id, READY_TIMEOUT_NS / 1000000000ull);
				goto fail_workers;
			}
			struct timespec wait = {0, 10000000};
			agp__futex_wait(&slot->ready, 0, &wait);
		}
	}
	pool->started = true;
	agp__supervisor_poke(pool->supervisor);
	return 0;

fail_workers:
	stop_workers(pool);
fail:
	release_memory(pool);
	return error;
}

void agp__pool_stop(struct agp__pool *pool)
{
	if (!pool->region)
		return;
	stop_workers(pool);
	release_memory(pool);
	pool->started = false;
}

/* Picks a free slot whose worker is ready; waits while there is none. */
static uint32_t acquire_slot(struct agp__pool *pool)
{
	pthread_mutex_lock(&pool->lock);
	for (;;) {
		for (uint32_t i = 0; i < pool->worker_count; i++)
			/* Acquire: pairs with the worker's release of ready. */
			if (!pool->busy[i] && atomic_load_explicit(&pool->region->slots[i].ready,
			                                           memory_order_acquire)) {
				pool->busy[i] = true;
				pthread_mutex_unlock(&pool->lock);
				return i;
			}
		/* Readiness changes in another process: re-check now and then besides the signal.
		 */
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += 5000000;
		if (until.tv_nsec >= 1000000000) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&pool->changed, &pool->lock, &until);
	}
}

static void release_slot(struct agp__pool *pool, uint32_t index)
{
	pthread_mutex_lock(&pool->lock);
	pool->busy[index] = false;
	pthread_cond_signal(&pool->changed);
	pthread_mutex_unlock(&pool->lock);
}

static char *copy_text(const char *text, size_t length)
{
	char *copy = malloc(length + 1);
	if (copy) {
		memcpy(copy, text, length);
		copy[length] = '\0';
	}
	return copy;
}

void agp__pool_run(struct agp__pool *pool, const struct agp__trip *trip,
                   struct agp_task_result *result)
{
	struct agp__region *region = pool->region;
	uint32_t index = acquire_slot(pool);
	struct agp__task_slot *slot = &region->slots[index];

	slot->task_id = trip->task_id;
	slot->timeout_s = pool->def->timeout_s;
	slot->prompt_length = (uint32_t)trip->prompt_length;
	slot->description_length = (uint32_t)trip->description_length;
	char *prompt =
	    slot->prompt_length < AGP__INLINE_PROMPT ? slot->prompt : agp__side_in(region, index);
	memcpy(prompt, trip->prompt, trip->prompt_length);
	prompt[trip->prompt_length] = '\0';
	char *description = slot->description_length < AGP__INLINE_DESCRIPTION
	                        ? slot->description
	                        : agp__side_in(region, index) + AGP_TASK_PROMPT_MAX + 1;
	memcpy(description, trip->description, trip->description_length);
	description[trip->description_length] = '\0';
	slot->begin_ns = 0;
	slot->end_ns = 0;
	slot->pid_that_ran = 0;

	agp__slot_set_wake(slot, AGP__SLOT_SUBMITTED);
	agp__slot_wait(slot, 1u << AGP__SLOT_DONE, CALLER_SPIN_NS, NULL);

	/* The result: the worker (or the supervisor, for a dead worker) wrote it before DONE. */
	const char *output = agp__slot_output(region, index);
	result->output = copy_text(output, slot->output_length);
	result->error = copy_text(slot->error, slot->error_length);
	result->metadata.status = (enum agp_task_status)slot->status;
	result->success = slot->status == AGP_TASK_COMPLETED;
	result->metadata.task_id = trip->task_id;
	result->metadata.begin_ns = slot->begin_ns;
	result->metadata.end_ns = slot->end_ns;
	result->metadata.worker_pid = slot->pid_that_ran;
	result->metadata.output_truncated = slot->output_truncated;
	snprintf(result->metadata.agent_id, sizeof(result->metadata.agent_id), "%s", pool->def->id);
	uint64_t begin_ns = slot->begin_ns, end_ns = slot->end_ns;
	agp__slot_set_quiet(slot, AGP__SLOT_IDLE);
	release_slot(pool, index);

	if (!result->output || !result->error) {
		free(result->output);
		free(result->error);
		result->output = strdup("");
		result->error = strdup("out of memory copying the task's result");
		result->success = false;
		result->metadata.status = AGP_TASK_FAILED;
	}
	if (begin_ns) {
		result->metadata.execution_time = (double)(end_ns - begin_ns) / 1e9;
		/* The caller's clock against the worker's: a negative difference is counted. */
		uint64_t coordination_ns =
		    agp__caller_difference(begin_ns, trip->call_ns, trip->task_id);
		result->metadata.coordination_overhead = (double)coordination_ns / 1e9;
		uint16_t flags = result->metadata.status == AGP_TASK_COMPLETED ? 0
		                 : result->metadata.status == AGP_TASK_TIMEOUT
		                     ? AGP_RECORD_TIMEOUT | AGP_RECORD_FAILED
		                     : AGP_RECORD_FAILED;
		agp__caller_record(AGP_METRIC_COORDINATION_OVERHEAD, (int64_t)coordination_ns,
		                   trip->task_id, flags);
		uint64_t now = agp__caller_now();
		agp__caller_record(AGP_METRIC_RESULT_PROCESSING,
		                   (int64_t)agp__caller_difference(now, end_ns, trip->task_id),
		                   trip->task_id, flags);
	}
}
