/*
 * Running a program for a task: its own process group, the prompt on
 * standard input, standard output and standard error captured with bounds,
 * a deadline and a resident-memory limit enforced by killing the group.
 * Used by the exec runner and by the test-runner builtin; runs inside a
 * worker, never in the caller.
 */
#ifndef AGP_AGENTS_TASK_EXEC_H
#define AGP_AGENTS_TASK_EXEC_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct agp__exec_request {
	char *const *argv; /* argv[0] is looked up in PATH; never a shell */
	const char *input; /* written to standard input, then closed */
	size_t input_length;
	uint64_t deadline_ns;      /* CLOCK_MONOTONIC; 0: none */
	unsigned memory_limit_mb;  /* 0: none; the runner leaf's memory cgroup, else polled RSS */
	_Atomic int32_t *pgid_out; /* receives the group while it runs (may be NULL) */
};

struct agp__exec_outcome {
	int wait_status; /* as from waitpid */
	bool timed_out;
	bool memory_exceeded;
	uint64_t
	    memory_kills; /* processes the kernel killed for the memory cgroup's limit (0: RSS) */
	bool output_truncated;
	uint64_t resident_peak; /* bytes, highest RSS seen of the runner */
	uint64_t kill_ns;       /* CLOCK_MONOTONIC when the group was killed, 0 when it was not */
};

/*
 * Runs the program and waits for it. Output and error text are NUL-terminated
 * and cut at their max - 1. Returns 0 when the program ran (whatever its
 * exit), or a negative errno with a sentence in error when it could not be
 * started.
 */
int agp__exec_run(const struct agp__exec_request *request, char *output, size_t output_max,
                  size_t *output_length, char *error, size_t error_max, size_t *error_length,
                  struct agp__exec_outcome *outcome);

/*
 * The address-space limit runners start with. A worker with memory_limit_mb
 * lowers its own soft RLIMIT_AS as a backstop for in-worker runners; exec
 * runners get the limit the worker had before, and are held to the memory
 * limit by their resident size instead (set once, before any runner starts).
 */
void agp__exec_set_runner_address_limit(unsigned long long soft_limit);

struct agp__cgroup;

/*
 * The worker's confinement of what it starts (set once, before any runner
 * starts): with only_the_named_program, each runner gets exactly one execve
 * (its own) and every later one fails with EPERM, named in the error text;
 * with a leaf, each runner joins its cgroups (cgroup.h); with
 * max_processes, each runner gets that RLIMIT_NPROC (0: unchanged).
 */
void agp__exec_set_confinement(bool only_the_named_program, const struct agp__cgroup *leaf,
                               unsigned max_processes);

/*
 * Makes the worker a child subreaper, so that what a runner leaves behind
 * (a setsid grandchild, a double fork) is reparented to the worker and
 * killed and reaped when the runner's task ends. 0 or -errno with a sentence.
 */
int agp__exec_track_descendants(void);

/* "exit status 3", "killed by SIGKILL" ... into text. */
void agp__describe_wait_status(int wait_status, char *text, size_t text_len);

/* Resident bytes of a process from /proc/PID/statm; 0 when it cannot be read. */
uint64_t agp__resident_bytes(int pid);

#endif
