/*
 * The task slots a caller shares with the workers of one agent type.
 *
 * One MAP_SHARED|MAP_ANONYMOUS region per pool, created before the first
 * fork so every worker inherits it at the same address. Worker i owns slot
 * i: a caller hands it a task by writing the slot and moving the state word
 * to SUBMITTED; the worker answers by writing the result and moving it to
 * DONE. Nothing but the state word's futex crosses the processes: no
 * socket, no pipe.
 *
 * The state word protocol. Every state change is an atomic exchange whose
 * release publishes the fields written before it; whoever reads the new
 * state with acquire sees them. A process about to sleep sets the WAITER
 * bit on the value it saw and sleeps with FUTEX_WAIT on exactly that value,
 * so a change it could miss makes FUTEX_WAIT return at once. Changes that
 * someone may be waiting for (SUBMITTED, DONE) clear the bit and call
 * FUTEX_WAKE only when it was set; the others (RUNNING, IDLE) keep the bit,
 * so that the wake-up it asks for happens at the next waited-for change.
 * The futexes are the shared (not PRIVATE) kind, because the waiters are
 * in different processes.
 *
 * Large prompts and outputs: each slot has a side area in the same region,
 * reserved but only faulted in when a task uses it (MAP_NORESERVE), bounded
 * by AGP_TASK_PROMPT_MAX + AGP__DESCRIPTION_MAX in and AGP_TASK_OUTPUT_MAX
 * out.
 */
#ifndef AGP_AGENTS_SUBAGENT_REGION_H
#define AGP_AGENTS_SUBAGENT_REGION_H

#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <linux/futex.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <agentperf/task.h>

#define AGP__INLINE_PROMPT      2048u
#define AGP__INLINE_DESCRIPTION 512u
#define AGP__INLINE_OUTPUT      4096u
#define AGP__ERROR_MAX          4096u
#define AGP__DESCRIPTION_MAX    (64u << 10)
#define AGP__SIDE_IN_SIZE       (AGP_TASK_PROMPT_MAX + 1 + AGP__DESCRIPTION_MAX + 1)
#define AGP__SIDE_OUT_SIZE      (AGP_TASK_OUTPUT_MAX + 1)

enum agp__slot_state {
	AGP__SLOT_IDLE = 0,
	AGP__SLOT_SUBMITTED = 1,
	AGP__SLOT_RUNNING = 2,
	AGP__SLOT_DONE = 3,
	AGP__SLOT_STOP = 4, /* the manager is shutting down: the worker exits */
};
#define AGP__SLOT_WAITER 0x80000000u

/* Why the supervisor killed a worker, so the death is reported as what it was. */
enum agp__kill_reason {
	AGP__KILL_NONE = 0,
	AGP__KILL_TIMEOUT = 1,
	AGP__KILL_MEMORY = 2,
};

struct agp__task_slot {
	/* Synchronisation line. */
	_Atomic uint32_t state; /* enum agp__slot_state | AGP__SLOT_WAITER: a futex word */
	_Atomic uint32_t ready; /* 1 once the slot's current worker waits for tasks; a futex word */
	_Atomic int32_t worker_pid;  /* written by the worker itself when it starts */
	_Atomic int32_t runner_pgid; /* process group of a running exec runner, 0 when none */
	_Atomic uint32_t
	    kill_reason; /* enum agp__kill_reason, set by the supervisor before a kill */
	_Atomic uint32_t alarm_armed;      /* 1 while an in-worker runner runs under SIGALRM */
	_Atomic uint32_t memory_by_cgroup; /* 1 when the worker's memory cgroup holds its limit */
	_Atomic uint64_t
	    deadline_ns;   /* CLOCK_MONOTONIC deadline of the running task, 0 when none */
	uint64_t ready_ns; /* deployment clock when the worker got ready (before ready = 1) */
	uint8_t pad0[64 - 48];

	/* Task, written by the caller before SUBMITTED. */
	uint64_t task_id;
	uint32_t prompt_length;
	uint32_t description_length;
	double timeout_s;

	/* Result, written by the worker (or the supervisor for a dead worker) before DONE. */
	uint64_t begin_ns; /* deployment clock; 0 when the task never began */
	uint64_t end_ns;
	uint64_t resident_bytes;
	uint32_t status; /* enum agp_task_status */
	uint32_t output_length;
	uint32_t error_length;
	uint32_t output_truncated;
	int32_t pid_that_ran;

	char prompt[AGP__INLINE_PROMPT];
	char description[AGP__INLINE_DESCRIPTION];
	char output[AGP__INLINE_OUTPUT];
	char error[AGP__ERROR_MAX];
} __attribute__((aligned(64)));

struct agp__region {
	uint32_t slot_count;
	uint32_t reserved;
	size_t size;
	size_t side_offset; /* side areas: slot i at side_offset + i * (in + out) */
	struct agp__task_slot slots[];
};

static inline char *agp__side_in(struct agp__region *region, uint32_t index)
{
	return (char *)region + region->side_offset +
	       (size_t)index * (AGP__SIDE_IN_SIZE + AGP__SIDE_OUT_SIZE);
}

static inline char *agp__side_out(struct agp__region *region, uint32_t index)
{
	return agp__side_in(region, index) + AGP__SIDE_IN_SIZE;
}

/* Where the slot's prompt and description live: inline when they fit, else the side area. */
static inline const char *agp__slot_prompt(struct agp__region *region, uint32_t index)
{
	struct agp__task_slot *slot = &region->slots[index];
	return slot->prompt_length < AGP__INLINE_PROMPT ? slot->prompt
	                                                : agp__side_in(region, index);
}

static inline const char *agp__slot_description(struct agp__region *region, uint32_t index)
{
	struct agp__task_slot *slot = &region->slots[index];
	return slot->description_length < AGP__INLINE_DESCRIPTION
	           ? slot->description
	           : agp__side_in(region, index) + AGP_TASK_PROMPT_MAX + 1;
}

static inline const char *agp__slot_output(struct agp__region *region, uint32_t index)
{
	struct agp__task_slot *slot = &region->slots[index];
	return slot->output_length < AGP__INLINE_OUTPUT ? slot->output
	                                                : agp__side_out(region, index);
}

static inline long agp__futex_wait(_Atomic uint32_t *word, uint32_t expected,
                                   const struct timespec *relative)
{
	return syscall(SYS_futex, (uint32_t *)word, FUTEX_WAIT, expected, relative, NULL, 0);
}

static inline void agp__futex_wake(_Atomic uint32_t *word)
{
	syscall(SYS_futex, (uint32_t *)word, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}

/* A change someone may wait for: publishes, and wakes only when a waiter said it sleeps. */
static inline uint32_t agp__slot_set_wake(struct agp__task_slot *slot, uint32_t state)
{
	/*
	 * Release: the fields written before are visible to whoever acquires this
	 * state. Nothing is read on the strength of the old value but its WAITER bit.
	 */
	uint32_t old = atomic_exchange_explicit(&slot->state, state, memory_order_release);
	if (old & AGP__SLOT_WAITER)
		agp__futex_wake(&slot->state);
	return old & ~AGP__SLOT_WAITER;
}

/* A change nobody waits for: keeps a waiter's bit for the next waited-for change. */
static inline void agp__slot_set_quiet(struct agp__task_slot *slot, uint32_t state)
{
	uint32_t old = atomic_load_explicit(&slot->state, memory_order_relaxed);
	/* Release: as above; a failed exchange reloads and keeps whatever bit appeared. */
	while (!atomic_compare_exchange_weak_explicit(&slot->state, &old,
	                                              state | (old & AGP__SLOT_WAITER),
	                                              memory_order_release, memory_order_relaxed))
		;
}

/*
 * Waits until the state is one of the bits of wanted_mask (1u << state),
 * spinning up to spin_ns first: a task that ends within the time a sleep
 * and a wake-up would cost anyway is caught without either. relative_timeout
 * bounds each sleep (NULL: none); returns the state seen, or -1 when a sleep
 * timed out.
 */
static inline int64_t agp__slot_wait(struct agp__task_slot *slot, uint32_t wanted_mask,
                                     uint64_t spin_ns, const struct timespec *relative_timeout)
{
	uint64_t spin_until = 0;
	for (unsigned round = 0;; round++) {
		/* Acquire: pairs with the release of the change; the fields it published are
		 * visible. */
		uint32_t seen = atomic_load_explicit(&slot->state, memory_order_acquire);
		uint32_t state = seen & ~AGP__SLOT_WAITER;
		if (wanted_mask & (1u << state))
			return state;
		if (spin_ns) {
			if ((round & 15) == 0) {
				struct timespec now;
				clock_gettime(CLOCK_MONOTONIC, &now);
				uint64_t now_ns =
				    (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
				if (!spin_until)
					spin_until = now_ns + spin_ns;
				else if (now_ns > spin_until)
					spin_ns = 0;
			}
			/*
			 * The first rounds only pause; after them we yield, so that on a
			 * machine with more runnable threads than cores the process we wait
			 * for gets the core we would otherwise burn.
			 */
			if (round < 64) {
#if defined(__x86_64__) || defined(__i386__)
				__builtin_ia32_pause();
#endif
			} else {
				sched_yield();
			}
			continue;
		}
		if (!(seen & AGP__SLOT_WAITER) &&
		    /* Relaxed: only announces a sleeper; the data travels with the next change. */
		    !atomic_compare_exchange_strong_explicit(
		        &slot->state, &seen, seen | AGP__SLOT_WAITER, memory_order_relaxed,
		        memory_order_relaxed))
			continue;
		if (agp__futex_wait(&slot->state, seen | AGP__SLOT_WAITER, relative_timeout) != 0 &&
		    errno == ETIMEDOUT)
			return -1;
	}
}

#endif
