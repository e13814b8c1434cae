/*
 * The cgroup leaves of a worker, in the hierarchies that have the pids and
 * the memory controller (cgroup v2 when the controller is enabled for our
 * cgroup's children, else the cgroup v1 mount of that controller).
 *
 *  - The runner leaf holds the processes the worker's runners start. Its
 *    pids.max bounds a fork storm of a task, killing every process in it is
 *    the kill that no setsid or double fork escapes, and with a memory
 *    limit its memory.max (v2) or memory.limit_in_bytes (v1) holds all of a
 *    task's processes together to the limit: the kernel refuses the memory
 *    and kills inside the leaf, however fast the task allocates.
 *  - The worker leaf holds the worker itself (in-worker runners), with the
 *    same memory limit; memory only.
 *
 * Where a hierarchy cannot be written (not root, no such controller), its
 * part is missing: fork storms are then bounded by the descendant sweep of
 * exec.c and RLIMIT_NPROC, and memory by polling the resident size.
 */
#ifndef AGP_AGENTS_TASK_WORKER_CGROUP_H
#define AGP_AGENTS_TASK_WORKER_CGROUP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* Processes a task's runner may have at once (itself included) where a pids cgroup exists. */
#define AGP__TASK_PROCESS_MAX 128

struct agp__cgroup {
	char path[512];        /* the pids part's folder, "" when none */
	int procs_fd;          /* its cgroup.procs open for writing, -1 when none */
	char memory_path[512]; /* the memory part's folder, "" when none (== path in a v2 leaf with
	                          both) */
	int memory_procs_fd;   /* its cgroup.procs when it is a folder of its own, else -1 */
	int memory_events_fd;  /* memory.events (v2) or memory.oom_control (v1), -1 when none */
};

/*
 * Makes the runner leaf agentperf-<caller pid>-<worker pid> with pids.max =
 * AGP__TASK_PROCESS_MAX and, when memory_limit_mb is not 0, the memory limit;
 * opens what joining and watching need (kept open: the runner's child joins
 * by writing "0" to cgroup.procs, which Landlock does not check on an open
 * descriptor). 0 when at least one part was made; a negative errno with a
 * sentence in common/error.h when none could be; a part that is missing has
 * its descriptors at -1.
 */
int agp__cgroup_create(struct agp__cgroup *leaf, unsigned memory_limit_mb);

/*
 * Makes the worker leaf agentperf-<caller pid>-<worker pid>-worker with the
 * memory limit and moves the calling worker into it (memory part only).
 */
int agp__cgroup_enter_worker_leaf(struct agp__cgroup *leaf, unsigned memory_limit_mb);

/* In the runner's child after fork (async-signal-safe): joins the leaf. */
void agp__cgroup_join(const struct agp__cgroup *leaf);

/* True when the kernel holds this leaf's processes to a memory limit. */
bool agp__cgroup_limits_memory(const struct agp__cgroup *leaf);

/* Processes the kernel has killed in the leaf for its memory limit so far. */
uint64_t agp__cgroup_memory_kills(const struct agp__cgroup *leaf);

/* The same, for worker pid's worker leaf, read by the caller (0 when it has none). */
uint64_t agp__cgroup_worker_memory_kills(pid_t worker);

/* Kills every process in the leaf until it is empty (bounded by 2 s). */
void agp__cgroup_kill_all(const struct agp__cgroup *leaf);

/* Closes the leaf's descriptors (the caller removes the folders). */
void agp__cgroup_close(struct agp__cgroup *leaf);

/*
 * In the caller: kills what is left in the leaves of worker pid and removes
 * them (a confined worker cannot remove its own: that is a change to the
 * folder above it).
 */
void agp__cgroup_remove(pid_t worker);

/* In the caller, before it forks workers: leaves are named agentperf-<caller>-<worker>. */
void agp__cgroup_prepare(void);

/* In the caller, once every worker is gone: removes every leaf of its workers. */
void agp__cgroup_release(void);

/* "cgroup v1 pids (...)", "cgroup v2 pids (...)" or "none (...)": where fork storms are bounded. */
const char *agp__cgroup_where(void);

/* The same for memory limits: "cgroup v1 memory (...)", ... or "none (...)". */
const char *agp__cgroup_memory_where(void);

#endif
