/*
 * A cgroup leaf per worker for the processes its runners start, in the
 * hierarchy that has the pids controller (cgroup v2 when the controller is
 * enabled for our cgroup's children, else a cgroup v1 pids mount). Its
 * pids.max bounds a fork storm of a task; killing every process in it is
 * the kill that no setsid or double fork escapes. Where no such hierarchy
 * can be written (not root, no pids controller), there is no leaf: runners
 * are then bounded by nothing but the descendant sweep of exec.c.
 */
#ifndef AGP_AGENTS_TASK_WORKER_CGROUP_H
#define AGP_AGENTS_TASK_WORKER_CGROUP_H

#include <stdbool.h>
#include <sys/types.h>

/* Processes a task's runner may have at once (itself included) where a pids cgroup exists. */
#define AGP__TASK_PROCESS_MAX 128

struct agp__cgroup {
	char path[512]; /* the leaf's folder, "" when none */
	int procs_fd;   /* its cgroup.procs open for writing, -1 when none */
	bool v2;
};

/*
 * Makes the leaf agentperf-<caller pid>-<worker pid> with pids.max = AGP__TASK_PROCESS_MAX
 * and opens its cgroup.procs (kept open: the runner's child joins by writing
 * "0" to it, which Landlock does not check on an open descriptor). 0, or a
 * negative errno with a sentence in common/error.h; leaf->procs_fd is -1 then.
 */
int agp__cgroup_create(struct agp__cgroup *leaf);

/* In the runner's child after fork (async-signal-safe): joins the leaf. */
void agp__cgroup_join(const struct agp__cgroup *leaf);

/* Kills every process in the leaf until it is empty (bounded by 2 s). */
void agp__cgroup_kill_all(const struct agp__cgroup *leaf);

/*
 * In the caller: kills what is left in the leaf of worker pid and removes it
 * (a confined worker cannot remove its own: that is a change to the folder
 * above it).
 */
void agp__cgroup_remove(pid_t worker);

/* In the caller, before it forks workers: leaves are named agentperf-<caller>-<worker>. */
void agp__cgroup_prepare(void);

/* In the caller, once every worker is gone: removes every leaf of its workers. */
void agp__cgroup_release(void);

/* "cgroup v1 pids", "cgroup v2 pids" or "none (...)": where fork storms are bounded. */
const char *agp__cgroup_where(void);

#endif
