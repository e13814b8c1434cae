/*
 * The supervisor: one thread of the caller's process that watches every
 * started pool's workers, off the fast path.
 *
 *  - A worker's death shows as its pidfd turning readable. A task it held
 *    is failed with the reason (the signal's name, a timeout for SIGALRM or
 *    a timeout kill, the memory limit for a memory kill), the runner's
 *    process group is killed, and a replacement is forked at once.
 *  - When the replacement reports ready, error_recovery_time (death seen
 *    until ready) is recorded and waiting callers are woken.
 *  - For agents with memory_limit_mb, the resident memory of each worker
 *    running a task is read every 10 ms; over the limit, the worker is
 *    killed and the task reported as stopped by the memory limit.
 *  - A task still running 2 s past its deadline (a runner that blocks
 *    SIGALRM, say) gets its worker killed as a timeout.
 */
#include "agents/task/worker/pool.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "shm/clock.h"
#include "common/error.h"
#include "agents/task/worker/cgroup.h"
#include "agents/task/worker/exec.h"
#include "agents/task/worker/sandbox.h"

#define IDLE_POLL_MS      200
#define MEMORY_POLL_MS    10
#define REPLACE_POLL_MS   1
#define DEADLINE_GRACE_NS 2000000000ull

struct agp__supervisor {
	pthread_t thread;
	int event_fd;
	_Atomic bool stopping;
	struct agp__pool *pools;
	size_t count;
};

void agp__supervisor_poke(struct agp__supervisor *supervisor)
{
	if (!supervisor)
		return;
	uint64_t one = 1;
	(void)!write(supervisor->event_fd, &one, sizeof(one));
}

static void fail_task(struct agp__pool *pool, uint32_t index, int wait_status, bool memory_kill)
{
	struct agp__task_slot *slot = &pool->region->slots[index];
	uint32_t state =
	    atomic_load_explicit(&slot->state, memory_order_acquire) & ~AGP__SLOT_WAITER;
	if (state != AGP__SLOT_SUBMITTED && state != AGP__SLOT_RUNNING)
		return;
	/* Relaxed: the worker that stored these is dead and reaped; waitpid ordered its writes. */
	uint32_t reason = atomic_load_explicit(&slot->kill_reason, memory_order_relaxed);
	bool alarm = atomic_load_explicit(&slot->alarm_armed, memory_order_relaxed);
	char how[96];
	agp__describe_wait_status(wait_status, how, sizeof(how));
	enum agp_task_status status = AGP_TASK_FAILED;
	if (reason == AGP__KILL_TIMEOUT ||
	    (alarm && WIFSIGNALED(wait_status) && WTERMSIG(wait_status) == SIGALRM)) {
		status = AGP_TASK_TIMEOUT;
		snprintf(slot->error, AGP__ERROR_MAX,
		         "timed out after %g s: the worker running it was killed and is being "
		         "replaced",
		         slot->timeout_s);
	} else if (memory_kill) {
		snprintf(
		    slot->error, AGP__ERROR_MAX,
		    "memory limit exceeded: the kernel killed the worker at memory_limit_mb %u "
		    "(its memory cgroup, %s); it is being replaced",
		    pool->def->memory_limit_mb, agp__cgroup_memory_where());
	} else if (reason == AGP__KILL_MEMORY) {
		snprintf(slot->error, AGP__ERROR_MAX,
		         "memory limit exceeded: the worker held %.1f MB resident, over "
		         "memory_limit_mb %u; it was killed and is being replaced",
		         slot->resident_bytes / 1048576.0, pool->def->memory_limit_mb);
	} else {
		snprintf(slot->error, AGP__ERROR_MAX,
		         "worker %d crashed mid-task (%s); it is being replaced",
		         (int)pool->pids[index], how);
	}
	slot->error_length = (uint32_t)strlen(slot->error);
	slot->status = status;
	slot->output[0] = '\0';
	slot->output_length = 0;
	slot->output_truncated = 0;
	uint64_t now = agp__caller_now();
	if (state == AGP__SLOT_RUNNING && slot->begin_ns) {
		slot->end_ns = now;
		uint16_t flags =
		    AGP_RECORD_FAILED | (status == AGP_TASK_TIMEOUT ? AGP_RECORD_TIMEOUT : 0);
		/* The worker cannot record its last task any more: the supervisor does. */
		agp__caller_record(AGP_METRIC_TASK_EXECUTION_TIME,
		                   (int64_t)(now > slot->begin_ns ? now - slot->begin_ns : 0),
		                   slot->task_id, flags);
	} else {
		slot->begin_ns = 0;
		slot->end_ns = 0;
	}
	agp__slot_set_wake(slot, AGP__SLOT_DONE);
}

/*
 * Records the recovery of slot index if its replacement is ready: from the
 * death seen to the ready time the worker wrote. The caller holds the lock.
 */
static bool record_recovery(struct agp__pool *pool, uint32_t index)
{
	struct agp__task_slot *slot = &pool->region->slots[index];
	/* Acquire: pairs with the replacement's release of ready; ready_ns is written. */
	if (!pool->died_ns[index] || !atomic_load_explicit(&slot->ready, memory_order_acquire))
		return false;
	uint64_t died = pool->died_ns[index];
	/* The replacement's clock against ours: a negative difference is counted. */
	agp__caller_record(AGP_METRIC_ERROR_RECOVERY_TIME,
	                   (int64_t)agp__caller_difference(slot->ready_ns, died, 0), 0, 0);
	pool->died_ns[index] = 0;
	pthread_cond_broadcast(&pool->changed);
	return true;
}

static void handle_death(struct agp__supervisor *supervisor, struct agp__pool *pool, uint32_t index)
{
	pthread_mutex_lock(&pool->lock);
	/* A replacement that got ready and died before we looked still recovered once. */
	record_recovery(pool, index);
	int wait_status = 0;
	waitpid(pool->pids[index], &wait_status, 0);
	uint64_t died_ns = agp__caller_now();
	close(pool->pidfds[index]);
	pool->pidfds[index] = -1;
	struct agp__task_slot *slot = &pool->region->slots[index];
	/* Relaxed: callers re-check ready under the pool lock, which we hold. */
	atomic_store_explicit(&slot->ready, 0, memory_order_relaxed);
	int32_t pgid = atomic_exchange_explicit(&slot->runner_pgid, 0, memory_order_relaxed);
	if (pgid > 0)
		kill(-pgid, SIGKILL);
	/* Read before the leaf goes: a kill by the worker leaf's memory limit is reported as one.
	 */
	bool memory_kill = WIFSIGNALED(wait_status) && WTERMSIG(wait_status) == SIGKILL &&
	                   agp__cgroup_worker_memory_kills(pool->pids[index]) > 0;
	agp__cgroup_remove(pool->pids[index]); /* and whatever else its runners left there */
	agp__sandbox_forget_worker(pool->pids[index]);
	fail_task(pool, index, wait_status, memory_kill);
	pool->pids[index] = 0;
	/* Acquire: stopping is set before the pools are torn down; see it and leave them be. */
	if (!atomic_load_explicit(&supervisor->stopping, memory_order_acquire) &&
	    agp__pool_spawn(pool, index, died_ns) != 0)
		fprintf(stderr, "agentperf: cannot replace a worker of agent '%s': %s\n",
		        pool->def->id, agp__error_message());
	pthread_mutex_unlock(&pool->lock);
}

/* Records recoveries that completed; returns true while one is still pending. */
static bool check_replacements(struct agp__pool *pool)
{
	bool pending = false;
	pthread_mutex_lock(&pool->lock);
	for (uint32_t i = 0; i < pool->worker_count; i++)
		if (pool->died_ns[i] && !record_recovery(pool, i))
			pending = true;
	pthread_mutex_unlock(&pool->lock);
	return pending;
}

/* Memory and deadline checks; returns true while a memory-limited task runs. */
static bool check_running(struct agp__pool *pool)
{
	bool watching = false;
	uint64_t now = agp_monotonic_ns();
	uint64_t limit = (uint64_t)pool->def->memory_limit_mb << 20;
	pthread_mutex_lock(&pool->lock);
	for (uint32_t i = 0; i < pool->worker_count; i++) {
		struct agp__task_slot *slot = &pool->region->slots[i];
		/*
		 * Relaxed loads: a stale state or deadline only delays a check by one
		 * poll; no data is read on their strength.
		 */
		uint32_t state =
		    atomic_load_explicit(&slot->state, memory_order_relaxed) & ~AGP__SLOT_WAITER;
		if (state != AGP__SLOT_RUNNING || pool->pids[i] <= 0)
			continue;
		uint64_t deadline = atomic_load_explicit(&slot->deadline_ns, memory_order_relaxed);
		if (deadline && now > deadline + DEADLINE_GRACE_NS) {
			/* Relaxed: read back by this thread after the death, in handle_death. */
			atomic_store_explicit(&slot->kill_reason, AGP__KILL_TIMEOUT,
			                      memory_order_relaxed);
			kill(pool->pids[i], SIGKILL);
			continue;
		}
		/*
		 * Relaxed: set by the worker before it got ready; a stale 0 costs one
		 * needless poll. With a memory cgroup, the kernel holds it to the limit.
		 */
		if (!limit || atomic_load_explicit(&slot->memory_by_cgroup, memory_order_relaxed))
			continue;
		watching = true;
		uint64_t resident = agp__resident_bytes(pool->pids[i]);
		if (resident > limit) {
			slot->resident_bytes = resident;
			/* Relaxed: read back by this thread after the death, in handle_death. */
			atomic_store_explicit(&slot->kill_reason, AGP__KILL_MEMORY,
			                      memory_order_relaxed);
			kill(pool->pids[i], SIGKILL);
		}
	}
	pthread_mutex_unlock(&pool->lock);
	return watching;
}

static void *supervise(void *argument)
{
	struct agp__supervisor *supervisor = argument;
	size_t capacity = 1;
	for (size_t p = 0; p < supervisor->count; p++)
		capacity += supervisor->pools[p].def ? supervisor->pools[p].def->workers : 64;
	struct pollfd *fds = calloc(capacity, sizeof(*fds));
	struct {
		struct agp__pool *pool;
		uint32_t index;
	} *owners = calloc(capacity, sizeof(*owners));
	if (!fds || !owners) {
		fprintf(stderr, "agentperf: the supervisor has no memory; workers are unwatched\n");
		goto out;
	}
	int timeout_ms = IDLE_POLL_MS;
	/* Acquire: pairs with the release in agp__supervisor_stop. */
	while (!atomic_load_explicit(&supervisor->stopping, memory_order_acquire)) {
		size_t count = 0;
		fds[count++] = (struct pollfd){supervisor->event_fd, POLLIN, 0};
		for (size_t p = 0; p < supervisor->count; p++) {
			struct agp__pool *pool = &supervisor->pools[p];
			pthread_mutex_lock(&pool->lock);
			if (pool->started)
				for (uint32_t i = 0; i < pool->worker_count && count < capacity;
				     i++)
					if (pool->pidfds[i] >= 0) {
						owners[count].pool = pool;
						owners[count].index = i;
						fds[count++] =
						    (struct pollfd){pool->pidfds[i], POLLIN, 0};
					}
			pthread_mutex_unlock(&pool->lock);
		}
		int ready = poll(fds, (nfds_t)count, timeout_ms);
		if (ready < 0 && errno != EINTR)
			break;
		if (ready > 0 && fds[0].revents) {
			uint64_t value;
			(void)!read(supervisor->event_fd, &value, sizeof(value));
		}
		for (size_t k = 1; ready > 0 && k < count; k++)
			if (fds[k].revents)
				handle_death(supervisor, owners[k].pool, owners[k].index);
		timeout_ms = IDLE_POLL_MS;
		for (size_t p = 0; p < supervisor->count; p++) {
			struct agp__pool *pool = &supervisor->pools[p];
			pthread_mutex_lock(&pool->lock);
			bool started = pool->started;
			pthread_mutex_unlock(&pool->lock);
			if (!started)
				continue;
			if (check_replacements(pool))
				timeout_ms = REPLACE_POLL_MS;
			if (check_running(pool) && timeout_ms > MEMORY_POLL_MS)
				timeout_ms = MEMORY_POLL_MS;
		}
	}
out:
	free(fds);
	free(owners);
	return NULL;
}

int agp__supervisor_start(struct agp__supervisor **out, struct agp__pool *pools, size_t count)
{
	struct agp__supervisor *supervisor = calloc(1, sizeof(*supervisor));
	if (!supervisor)
		return agp__error(-ENOMEM, "allocating the supervisor");
	supervisor->pools = pools;
	supervisor->count = count;
	supervisor->event_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (supervisor->event_fd < 0) {
		int error = agp__error(-errno, "eventfd for the supervisor: %s", strerror(errno));
		free(supervisor);
		return error;
	}
	for (size_t p = 0; p < count; p++)
		pools[p].supervisor = supervisor;
	int error = pthread_create(&supervisor->thread, NULL, supervise, supervisor);
	if (error) {
		close(supervisor->event_fd);
		free(supervisor);
		return agp__error(-error, "starting the supervisor thread: %s", strerror(error));
	}
	*out = supervisor;
	return 0;
}

void agp__supervisor_stop(struct agp__supervisor *supervisor)
{
	if (!supervisor)
		return;
	/* Release: the thread that sees stopping stops replacing workers. */
	atomic_store_explicit(&supervisor->stopping, true, memory_order_release);
	agp__supervisor_poke(supervisor);
	pthread_join(supervisor->thread, NULL);
	for (size_t p = 0; p < supervisor->count; p++)
		supervisor->pools[p].supervisor = NULL;
	close(supervisor->event_fd);
	free(supervisor);
}
