/*
 * Confinement of a task's runner by the capabilities its agent lacks, enforced
 * by the kernel rather than guessed from the task's words:
 *
 *  - without WRITE_FILES: Landlock (ABI 3 or later, which also covers
 *    truncate) lets the worker and everything it starts write, create,
 *    remove, rename or link only beneath a private scratch folder
 *    ($TMPDIR for the runner; made in a folder of the caller, which removes
 *    it) and write to /dev/null;
 *  - without NETWORK_ACCESS: a new network namespace (only a loopback that
 *    is down; a user namespace is entered first when not root);
 *  - without EXECUTE_COMMANDS: a seccomp filter makes execve and execveat
 *    fail with EPERM. An in-worker runner gets it in the worker itself; an
 *    exec runner's child installs it with a listener just before its own
 *    execve, and the worker allows exactly that first call and refuses
 *    every later one (user notification: no counter in BPF is needed).
 *
 * What the machine allows is probed once per process. An agent that lacks a
 * capability whose guarantee the machine cannot give is refused by the
 * caller with a sentence saying which guarantee and why; it never runs
 * unguarded.
 */
#ifndef AGP_AGENTS_TASK_WORKER_SANDBOX_H
#define AGP_AGENTS_TASK_WORKER_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "agents/task/defs.h"

/* What the kernel and sandbox here allow; each why says what failed ("" when it works). */
struct agp__sandbox_support {
	int landlock_abi; /* 0 when Landlock is absent or disabled */
	bool network_namespace;
	bool seccomp_filter;
	bool seccomp_notify;
	char landlock_why[128];
	char network_why[128];
	char seccomp_why[128];
};

/* Probed at the first call (forks one short-lived child to try a network namespace). */
const struct agp__sandbox_support *agp__sandbox_support(void);

/*
 * 0 when every restriction the agent's missing capabilities imply can be
 * enforced here; otherwise -ENOTSUP with a sentence in why naming the
 * capability, the guarantee and what the machine lacks. The environment's
 * AGENTPERF_TASK_ASSUME_MISSING (landlock, netns, seccomp) takes those
 * away from what the probe found (-EINVAL for another word).
 */
int agp__sandbox_check(const struct agp__agent_def *def, char *why, size_t why_len);

/* Room for a listing's confinement text. */
#define AGP__CONFINEMENT_TEXT_MAX 640

/* How each restriction is enforced for def, for listings: "write:landlock net:netns ...". */
void agp__sandbox_describe(const struct agp__agent_def *def, char *text, size_t text_len);

/*
 * In a new worker, before it serves a task: makes the scratch folder (when
 * WRITE_FILES is lacking) and enters the confinement. Irreversible. 0, or a
 * negative errno with a sentence in common/error.h; the worker must then
 * refuse its tasks.
 */
int agp__sandbox_enter(const struct agp__agent_def *def, char *scratch, size_t scratch_len);

/*
 * True in a worker that made a user namespace of its own (not root, no
 * NETWORK_ACCESS): RLIMIT_NPROC there counts only the worker's processes.
 * The second: whether a worker of def will (root needs none).
 */
bool agp__sandbox_in_user_namespace(void);
bool agp__sandbox_will_enter_user_namespace(const struct agp__agent_def *def);

/* Empties the scratch folder and, with remove_folder, removes it. */
void agp__sandbox_clean_scratch(const char *scratch, bool remove_folder);

/*
 * After a task: empties the scratch folder only when something was made in it
 * since the last time (an inotify watch; one read when nothing was).
 */
void agp__sandbox_clean_scratch_if_used(const char *scratch);

/*
 * In the caller, before it forks workers: makes the folder that holds each
 * worker's scratch folder ($TMPDIR/agentperf-scratch.PID.XXXXXX/WORKER_PID).
 * 0 or -errno with a sentence (workers lacking WRITE_FILES then refuse tasks).
 */
int agp__sandbox_prepare(void);

/* In the caller: removes a reaped worker's scratch folder. */
void agp__sandbox_forget_worker(pid_t worker);

/* In the caller, once every worker is gone: removes the whole folder. */
void agp__sandbox_release(void);

/*
 * The exec runner's single exec. In the child after fork (async-signal-safe
 * only): installs the filter with a listener and sends the listener over
 * socket_fd; -errno on failure.
 */
int agp__single_exec_arm(int socket_fd);

/* In the worker: the listener the child sent, or -errno when it sent none. */
int agp__single_exec_receive(int socket_fd);

/*
 * In the worker: answers one pending execve/execveat. The runner's first
 * one continues; any other is refused with EPERM and its path (as far as it
 * can be read) appended to refused. Returns 1 for a refusal, 0 for an
 * allowed call or nothing pending, -errno when the listener is gone.
 */
int agp__single_exec_answer(int listener, pid_t runner, bool *first_allowed, char *refused,
                            size_t refused_len);

#endif
