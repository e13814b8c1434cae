/*
 * A worker process: one agent of the deployment with its own ring, serving
 * slot `index` of its pool's region until the manager stops it or goes away.
 *
 * Recorded here, in the worker's own ring: agent_initialization (fork until
 * ready), task_execution_time (runner start to end, flagged failed or
 * timeout), memory_usage (the worker's resident bytes after each task) and,
 * when an exec runner's group had to be killed, error_recovery_time (kill
 * until the group is reaped and the worker is free again).
 *
 * In-worker runners (builtin, plugin) run under a SIGALRM timer set to the
 * task's deadline: the default action ends the worker, the supervisor sees
 * SIGALRM with a task pending and reports a timeout. Exec runners are timed
 * by the worker itself, which kills the runner's group and stays alive.
 */
#include "subagent_pool.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <unistd.h>

#include "../shm/clock.h"
#include "task_exec.h"
#include "task_runner.h"

/* How long a worker sleeps between checks that its parent still lives. */
#define PARENT_CHECK_NS 500000000L
#define WORKER_SPIN     2000u

static void reset_signals(void)
{
	/* Handlers inherited from the caller (a test framework's SIGSEGV catcher, say) must not run
	 * here. */
	for (int signal_number = 1; signal_number < NSIG; signal_number++)
		if (signal_number != SIGKILL && signal_number != SIGSTOP)
			signal(signal_number, SIG_DFL);
	/* Writing a prompt to a runner that already exited must fail with EPIPE, not kill us. */
	signal(SIGPIPE, SIG_IGN);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

static uint64_t virtual_bytes(void)
{
	FILE *file = fopen("/proc/self/statm", "re");
	unsigned long long pages = 0;
	if (file) {
		if (fscanf(file, "%llu", &pages) != 1)
			pages = 0;
		fclose(file);
	}
	return (uint64_t)pages * (uint64_t)sysconf(_SC_PAGESIZE);
}

static void arm_alarm(double seconds)
{
	struct itimerval timer = {
	    {0, 0}, {(time_t)seconds, (suseconds_t)((seconds - (time_t)seconds) * 1e6)}};
	if (timer.it_value.tv_sec == 0 && timer.it_value.tv_usec == 0)
		timer.it_value.tv_usec = 1;
	setitimer(ITIMER_REAL, &timer, NULL);
}

static void disarm_alarm(void)
{
	struct itimerval off = {{0, 0}, {0, 0}};
	setitimer(ITIMER_REAL, &off, NULL);
}

static void run_task(struct agp__pool *pool, uint32_t index, agp_agent *agent)
{
	struct agp__region *region = pool->region;
	struct agp__task_slot *slot = &region->slots[index];
	const struct agp__agent_def *def = pool->def;
	char *output = agp__side_out(region, index);

	uint64_t begin_ns = agp_clock_now_ns(agent);
	slot->begin_ns = begin_ns;
	slot->pid_that_ran = getpid();
	uint64_t deadline_ns = agp_monotonic_ns() + (uint64_t)(slot->timeout_s * 1e9);
	/* Relaxed: the supervisor reads the deadline only as a backstop hint. */
	atomic_store_explicit(&slot->deadline_ns, deadline_ns, memory_order_relaxed);
	agp__slot_set_quiet(slot, AGP__SLOT_RUNNING);

	struct agp__run run = {
	    .def = def,
	    .plugin = pool->plugin,
	    .prompt = agp__slot_prompt(region, index),
	    .prompt_length = slot->prompt_length,
	    .description = agp__slot_description(region, index),
	    .task_id = slot->task_id,
	    .deadline_ns = deadline_ns,
	    .runner_pgid = &slot->runner_pgid,
	    .output = output,
	    .output_max = AGP__SIDE_OUT_SIZE,
	    .error = slot->error,
	    .error_max = AGP__ERROR_MAX,
	    .status = AGP_TASK_COMPLETED,
	};
	output[0] = '\0';
	slot->error[0] = '\0';

	if (def->kind == AGP__RUNNER_EXEC) {
		agp__exec_runner_run(&run);
	} else {
		/* Relaxed: read by the supervisor after this process died, through waitpid's
		 * ordering. */
		atomic_store_explicit(&slot->alarm_armed, 1, memory_order_relaxed);
		arm_alarm(slot->timeout_s);
		if (def->kind == AGP__RUNNER_PLUGIN) {
			size_t length = 0;
			int rc = pool->plugin(run.prompt, run.description, output,
			                      AGP__SIDE_OUT_SIZE - 1, &length);
			run.output_length =
			    length < AGP__SIDE_OUT_SIZE ? length : AGP__SIDE_OUT_SIZE - 1;
			if (rc != 0)
				agp__run_fail(
				    &run, AGP_TASK_FAILED, "plugin %s:%s returned %d: %.*s",
				    def->plugin_path, def->plugin_symbol, rc,
				    (int)(run.output_length > 1024 ? 1024 : run.output_length),
				    output);
		} else {
			agp__builtin_run(&run);
		}
		disarm_alarm();
		atomic_store_explicit(&slot->alarm_armed, 0, memory_order_relaxed);
	}
	atomic_store_explicit(&slot->deadline_ns, 0, memory_order_relaxed);
	uint64_t end_ns = agp_clock_now_ns(agent);

	output[run.output_length] = '\0';
	if (run.output_length < AGP__INLINE_OUTPUT)
		memcpy(slot->output, output, run.output_length + 1);
	slot->output_length = (uint32_t)run.output_length;
	slot->output_truncated = run.output_truncated;
	slot->error[AGP__ERROR_MAX - 1] = '\0';
	slot->error_length = (uint32_t)strlen(slot->error);
	slot->status = run.status;
	slot->resident_bytes = agp__resident_bytes(0);
	slot->end_ns = end_ns;

	uint16_t flags = run.status == AGP_TASK_TIMEOUT  ? AGP_RECORD_TIMEOUT | AGP_RECORD_FAILED
	                 : run.status == AGP_TASK_FAILED ? AGP_RECORD_FAILED
	                                                 : 0;
	agp_record_at(agent, AGP_METRIC_TASK_EXECUTION_TIME, (int64_t)(end_ns - begin_ns),
	              slot->task_id, end_ns, flags);
	agp_record_at(agent, AGP_METRIC_MEMORY_USAGE, (int64_t)slot->resident_bytes, slot->task_id,
	              end_ns, 0);
	if (run.recovery_ns > 1) {
		/* The runner's group was killed at recovery_ns (monotonic): we are usable again
		 * now. */
		uint64_t now = agp_monotonic_ns();
		agp_record(agent, AGP_METRIC_ERROR_RECOVERY_TIME,
		           (int64_t)(now > run.recovery_ns ? now - run.recovery_ns : 0),
		           slot->task_id);
	}
	agp__slot_set_wake(slot, AGP__SLOT_DONE);
}

void agp__worker_main(struct agp__pool *pool, uint32_t index, uint64_t forked_ns, uint64_t died_ns)
{
	struct agp__task_slot *slot = &pool->region->slots[index];
	pid_t parent = getppid();
	setpgid(0, 0);
	reset_signals();
	/* Relaxed: the pid is informative; the ready store below publishes it. */
	atomic_store_explicit(&slot->worker_pid, getpid(), memory_order_relaxed);

	char name[AGP_AGENT_NAME_MAX + 1];
	snprintf(name, sizeof(name), "%.20s#%u", pool->def->id, index);
	struct agp_agent_options options = {pool->deployment[0] ? pool->deployment : NULL};
	agp_agent *agent = NULL;
	if (agp_agent_open(name, pool->def->id, &options, &agent) != 0)
		agent = NULL; /* tasks still run; they are just not measured */

	if (pool->def->memory_limit_mb) {
		/*
		 * A backstop for in-worker runners: the address space may grow by the limit
		 * beyond what the worker maps now (its code, the segment, the task region).
		 * The supervisor's resident-memory check is the limit itself.
		 */
		uint64_t limit = virtual_bytes() + ((uint64_t)pool->def->memory_limit_mb << 20);
		struct rlimit rl = {limit, limit};
		setrlimit(RLIMIT_AS, &rl);
	}

	uint64_t ready_ns = agp_clock_now_ns(agent);
	agp_record_at(agent, AGP_METRIC_AGENT_INITIALIZATION, (int64_t)(ready_ns - forked_ns), 0,
	              ready_ns, 0);
	(void)died_ns; /* the supervisor records the recovery once it sees us ready */
	slot->ready_ns = ready_ns;
	/* Release: a caller that sees ready sees the slot's worker fields. */
	atomic_store_explicit(&slot->ready, 1, memory_order_release);
	agp__futex_wake(&slot->ready);

	const struct timespec parent_check = {0, PARENT_CHECK_NS};
	for (;;) {
		int64_t state =
		    agp__slot_wait(slot, (1u << AGP__SLOT_SUBMITTED) | (1u << AGP__SLOT_STOP),
		                   WORKER_SPIN, &parent_check);
		if (state == AGP__SLOT_STOP)
			break;
		if (state < 0) {
			if (getppid() != parent)
				break;
			continue;
		}
		run_task(pool, index, agent);
	}
	agp_agent_close(agent);
	_exit(0);
}
