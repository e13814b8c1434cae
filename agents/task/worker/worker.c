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
#include "agents/task/worker/pool.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <unistd.h>

#include "shm/clock.h"
#include "common/error.h"
#include "agents/task/worker/cgroup.h"
#include "agents/task/worker/exec.h"
#include "agents/task/worker/runner.h"
#include "agents/task/worker/sandbox.h"

/* How long a worker sleeps between checks that its parent still lives. */
#define PARENT_CHECK_NS 500000000L
/* A worker stays hot this long after a task, for a caller that sends the next one at once. */
#define WORKER_SPIN_NS 20000u

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

static pid_t worker_pid;
static int statm_fd = -1;

static uint64_t resident_bytes(void)
{
	char buffer[128];
	ssize_t length = statm_fd >= 0 ? pread(statm_fd, buffer, sizeof(buffer) - 1, 0) : -1;
	if (length <= 0)
		return agp__resident_bytes(0);
	buffer[length] = '\0';
	unsigned long long size, resident;
	if (sscanf(buffer, "%llu %llu", &size, &resident) != 2)
		return 0;
	return (uint64_t)resident * (uint64_t)sysconf(_SC_PAGESIZE);
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

/*
 * The in-worker timeout without two system calls per task. ITIMER_REAL stays
 * armed across tasks: alarm_at_ns is when it fires (0: disarmed). A task
 * arms it only when it is disarmed or would fire after the task's deadline;
 * when it fires, the handler ends the worker if an in-worker task is past
 * its deadline, re-arms it for the running task's deadline otherwise, and
 * lets it rest when no task runs. With a constant timeout, a busy worker
 * pays one setitimer per timeout period instead of two per task.
 *
 * The handler runs on the worker's only thread, so the loads and stores of
 * alarm_at_ns need no more than relaxed order and a signal fence
 * (atomic_signal_fence). C11 lets a handler touch only lock-free atomics and
 * volatile sig_atomic_t objects of static storage: both variables are
 * lock-free atomics (asserted here).
 */
_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2 && ATOMIC_LONG_LOCK_FREE == 2 &&
                   ATOMIC_POINTER_LOCK_FREE == 2,
               "the SIGALRM handler's state must be lock-free atomics");
static struct agp__task_slot *_Atomic alarm_slot;
static _Atomic uint64_t alarm_at_ns;

static void set_timer(uint64_t delay_ns)
{
	if (delay_ns == 0)
		delay_ns = 1000;
	struct itimerval timer = {{0, 0},
	                          {(time_t)(delay_ns / 1000000000u),
	                           (suseconds_t)((delay_ns % 1000000000u + 999) / 1000)}};
	setitimer(ITIMER_REAL, &timer, NULL);
}

static void on_alarm(int signal_number)
{
	int saved_errno = errno;
	/* Relaxed: set once before the handler was installed (sigaction orders it). */
	struct agp__task_slot *slot = atomic_load_explicit(&alarm_slot, memory_order_relaxed);
	/* Relaxed: written by this same thread; the signal fence orders it against the handler. */
	uint64_t deadline = atomic_load_explicit(&slot->deadline_ns, memory_order_relaxed);
	bool in_worker = atomic_load_explicit(&slot->alarm_armed, memory_order_relaxed);
	uint64_t now = agp_monotonic_ns();
	if (deadline && in_worker && now >= deadline) {
		/* Die of SIGALRM: the supervisor reads that as this task's timeout. */
		signal(signal_number, SIG_DFL);
		sigset_t alarm_only;
		sigemptyset(&alarm_only);
		sigaddset(&alarm_only, signal_number);
		sigprocmask(SIG_UNBLOCK, &alarm_only, NULL);
		raise(signal_number);
	}
	/* Relaxed: only this thread reads it; the fence below orders it for the code we
	 * interrupted. */
	if (deadline && in_worker) {
		set_timer(deadline - now);
		atomic_store_explicit(&alarm_at_ns, deadline, memory_order_relaxed);
	} else {
		atomic_store_explicit(&alarm_at_ns, 0, memory_order_relaxed);
	}
	/* A compiler-only fence (no instruction is emitted, so seq_cst costs nothing): the
	 * interrupted code sees alarm_at_ns as the handler left it. */
	atomic_signal_fence(memory_order_seq_cst);
	errno = saved_errno;
}

static void install_alarm(struct agp__task_slot *slot)
{
	/* Relaxed: sigaction below is what makes it visible to the handler (same thread). */
	atomic_store_explicit(&alarm_slot, slot, memory_order_relaxed);
	struct sigaction action;
	memset(&action, 0, sizeof(action));
	action.sa_handler = on_alarm;
	action.sa_flags = SA_RESTART; /* a runner's interrupted system calls resume */
	sigemptyset(&action.sa_mask);
	sigaction(SIGALRM, &action, NULL);
}

static void arm_alarm(uint64_t deadline_ns)
{
	/* The fences keep the handler's view and ours of alarm_at_ns in program order. */
	atomic_signal_fence(memory_order_seq_cst);
	/* Relaxed: the handler that writes it runs on this thread; the fences order the two. */
	uint64_t alarm_at = atomic_load_explicit(&alarm_at_ns, memory_order_relaxed);
	if (alarm_at == 0 || alarm_at > deadline_ns) {
		uint64_t now = agp_monotonic_ns();
		atomic_store_explicit(&alarm_at_ns, deadline_ns, memory_order_relaxed);
		atomic_signal_fence(memory_order_seq_cst);
		set_timer(deadline_ns > now ? deadline_ns - now : 0);
	}
}

/* Runs the definition's runner: exec runners time themselves, in-worker ones run under SIGALRM. */
static void run_runner(struct agp__pool *pool, struct agp__task_slot *slot, struct agp__run *run)
{
	const struct agp__agent_def *def = pool->def;
	if (def->kind == AGP__RUNNER_EXEC) {
		pool->module_runner(run); /* the exec template runner (pool start resolved it) */
		return;
	}
	/*
	 * Relaxed: read by our own SIGALRM handler (this thread) and by the
	 * supervisor after this process died, ordered by waitpid.
	 */
	atomic_store_explicit(&slot->alarm_armed, 1, memory_order_relaxed);
	arm_alarm(run->deadline_ns);
	if (def->kind == AGP__RUNNER_PLUGIN) {
		size_t length = 0;
		int rc = pool->plugin(run->prompt, run->description, run->output,
		                      AGP__SIDE_OUT_SIZE - 1, &length);
		run->output_length = length < AGP__SIDE_OUT_SIZE ? length : AGP__SIDE_OUT_SIZE - 1;
		if (rc != 0)
			agp__run_fail(run, AGP_TASK_FAILED, "plugin %s:%s returned %d: %.*s",
			              def->plugin_path, def->plugin_symbol, rc,
			              (int)(run->output_length > 1024 ? 1024 : run->output_length),
			              run->output);
	} else if (pool->module_runner) {
		pool->module_runner(run); /* a seed agent's runner */
	} else {
		agp__builtin_run(run);
	}
	/* Relaxed: as above; a handler running after this lets the timer rest. */
	atomic_store_explicit(&slot->alarm_armed, 0, memory_order_relaxed);
}

static void run_task(struct agp__pool *pool, uint32_t index, agp_agent *agent)
{
	struct agp__region *region = pool->region;
	struct agp__task_slot *slot = &region->slots[index];
	const struct agp__agent_def *def = pool->def;
	char *output = agp__side_out(region, index);

	uint64_t begin_ns = agp_clock_now_ns(agent);
	slot->begin_ns = begin_ns;
	slot->pid_that_ran = worker_pid;
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

	run_runner(pool, slot, &run);
	/* Relaxed: a hint for the supervisor and our handler, as when it was set. */
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
	slot->resident_bytes = resident_bytes();
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

/*
 * The confinement of this worker and its runners (sandbox.h, cgroup.h):
 * entered once, before the first task. When it cannot be entered, every
 * task is refused with confinement_error instead of running unguarded.
 */
static char scratch_folder[512];
static char confinement_error[AGP__ERROR_MAX - 128];
static struct agp__cgroup runner_leaf = {
    .procs_fd = -1, .memory_procs_fd = -1, .memory_events_fd = -1};
static struct agp__cgroup worker_leaf = {
    .procs_fd = -1, .memory_procs_fd = -1, .memory_events_fd = -1};

static void enter_confinement(const struct agp__agent_def *def)
{
	/*
	 * Best effort: without a pids cgroup, fork storms are bounded only by the
	 * sweep; without a memory cgroup, memory by polling the resident size.
	 */
	(void)agp__cgroup_create(&runner_leaf, def->memory_limit_mb);
	int error = agp__exec_track_descendants();
	if (!error)
		error = agp__sandbox_enter(def, scratch_folder, sizeof(scratch_folder));
	if (error) {
		snprintf(confinement_error, sizeof(confinement_error), "%s", agp__error_message());
		return;
	}
	/*
	 * Without a pids cgroup, RLIMIT_NPROC bounds a storm where it counts only our
	 * processes: in our own user namespace (the worker itself is one of them).
	 */
	bool pids_leaf = runner_leaf.procs_fd >= 0;
	bool leaf = pids_leaf || runner_leaf.memory_path[0];
	agp__exec_set_confinement(
	    def->kind == AGP__RUNNER_EXEC && !(def->capabilities & AGP__CAP_EXECUTE_COMMANDS),
	    leaf ? &runner_leaf : NULL,
	    !pids_leaf && agp__sandbox_in_user_namespace() ? AGP__TASK_PROCESS_MAX + 1 : 0);
}

/* The caller removes the folder and the leaf once it reaped us (we may not). */
static void leave_confinement(void)
{
	agp__sandbox_clean_scratch(scratch_folder, false);
	agp__cgroup_close(&runner_leaf);
	agp__cgroup_close(&worker_leaf);
}

/* A task this worker must not run: it could not be confined (confinement_error). */
static void refuse_task(struct agp__pool *pool, uint32_t index, agp_agent *agent)
{
	struct agp__task_slot *slot = &pool->region->slots[index];
	slot->begin_ns = agp_clock_now_ns(agent);
	slot->pid_that_ran = worker_pid;
	slot->output[0] = '\0';
	slot->output_length = 0;
	slot->output_truncated = false;
	snprintf(slot->error, AGP__ERROR_MAX,
	         "agent '%s' refused the task: its worker could not be confined: %s", pool->def->id,
	         confinement_error);
	slot->error_length = (uint32_t)strlen(slot->error);
	slot->status = AGP_TASK_FAILED;
	slot->resident_bytes = resident_bytes();
	slot->end_ns = agp_clock_now_ns(agent);
	agp__slot_set_wake(slot, AGP__SLOT_DONE);
}

/*
 * The caller's descriptors are none of the worker's business, and holding
 * them would keep its pipes and sockets open after it closed them (a shell
 * pipeline or a test harness would wait for our EOF). Standard error stays
 * for diagnostics; the rest of what the worker needs it opens itself.
 */
static void leave_the_callers_descriptors(void)
{
	syscall(SYS_close_range, 3u, ~0u, 0u);
	int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null_fd >= 0) {
		dup2(null_fd, 0);
		dup2(null_fd, 1);
		close(null_fd);
	}
}

/* The backstop of limit_worker_memory without a memory cgroup. */
static void limit_address_space(unsigned memory_limit_mb)
{
	struct rlimit rl;
	if (!memory_limit_mb || getrlimit(RLIMIT_AS, &rl) != 0)
		return;
	agp__exec_set_runner_address_limit(rl.rlim_cur);
	/* Only the soft limit: exec runners get the old one back (exec.c). */
	uint64_t limit = virtual_bytes() + ((uint64_t)memory_limit_mb << 20);
	if (rl.rlim_max == RLIM_INFINITY || limit < rl.rlim_max)
		rl.rlim_cur = limit;
	setrlimit(RLIMIT_AS, &rl);
}

/*
 * The memory limit of the worker itself (in-worker runners). In its memory
 * cgroup leaf, the kernel holds it to the limit. Without one, the address
 * space may grow by the limit beyond what the worker maps now (its code, the
 * segment, the task region) as a backstop, and the supervisor's
 * resident-memory check is the limit itself.
 */
static void limit_worker_memory(unsigned memory_limit_mb, struct agp__task_slot *slot)
{
	bool held = agp__cgroup_enter_worker_leaf(&worker_leaf, memory_limit_mb) == 0 &&
	            agp__cgroup_limits_memory(&worker_leaf);
	/* Relaxed: published to the supervisor by the release store of ready. */
	atomic_store_explicit(&slot->memory_by_cgroup, held, memory_order_relaxed);
	if (!held)
		limit_address_space(memory_limit_mb);
}

/* Runs the tasks the caller submits until it says stop or is gone. */
static void serve_tasks(struct agp__pool *pool, uint32_t index, agp_agent *agent, pid_t parent)
{
	struct agp__task_slot *slot = &pool->region->slots[index];
	const struct timespec parent_check = {0, PARENT_CHECK_NS};
	for (;;) {
		int64_t state =
		    agp__slot_wait(slot, (1u << AGP__SLOT_SUBMITTED) | (1u << AGP__SLOT_STOP),
		                   WORKER_SPIN_NS, &parent_check);
		if (state == AGP__SLOT_STOP)
			return;
		if (state < 0) {
			if (getppid() != parent)
				return;
			continue;
		}
		if (confinement_error[0]) {
			refuse_task(pool, index, agent);
			continue;
		}
		run_task(pool, index, agent);
		agp__sandbox_clean_scratch_if_used(scratch_folder);
	}
}

/*
 * ready_ns (this worker's clock) - forked_ns (the caller's): a negative difference, clock skew,
 * gives 0 and is recorded as a clock_skew_negative sample of its size (agentperf/task.h).
 */
static int64_t initialization_ns(agp_agent *agent, uint16_t skew_metric, uint64_t ready_ns,
                                 uint64_t forked_ns)
{
	if (ready_ns >= forked_ns)
		return (int64_t)(ready_ns - forked_ns);
	if (skew_metric)
		agp_record_at(agent, skew_metric, (int64_t)(forked_ns - ready_ns), 0, ready_ns, 0);
	return 0;
}

void agp__worker_main(struct agp__pool *pool, uint32_t index, uint64_t forked_ns, uint64_t died_ns)
{
	struct agp__task_slot *slot = &pool->region->slots[index];
	pid_t parent = getppid();
	setpgid(0, 0);
	reset_signals();
	agp__manager_forget();
	leave_the_callers_descriptors();
	/* Relaxed: the pid is informative; the ready store below publishes it. */
	worker_pid = getpid();
	atomic_store_explicit(&slot->worker_pid, worker_pid, memory_order_relaxed);
	/* Kept open: pread of an open /proc file re-reads the current values. */
	statm_fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
	install_alarm(slot);

	char name[AGP_AGENT_NAME_MAX + 1];
	snprintf(name, sizeof(name), "%.20s#%u", pool->def->id, index);
	struct agp_agent_options options = {pool->deployment[0] ? pool->deployment : NULL};
	agp_agent *agent = NULL;
	if (agp_agent_open(name, pool->def->id, &options, &agent) != 0)
		agent = NULL; /* tasks still run; they are just not measured */
	/* Registered before the confinement, which may refuse what registering needs. */
	uint16_t skew_metric = 0;
	if (agent && agp_metric_register(agent, AGP_TASK_CLOCK_SKEW_METRIC, AGP_UNIT_NANOSECONDS, 0,
	                                 &skew_metric) != 0)
		skew_metric = 0;
	limit_worker_memory(pool->def->memory_limit_mb, slot);
	enter_confinement(pool->def);

	uint64_t ready_ns = agp_clock_now_ns(agent);
	agp_record_at(agent, AGP_METRIC_AGENT_INITIALIZATION,
	              initialization_ns(agent, skew_metric, ready_ns, forked_ns), 0, ready_ns, 0);
	(void)died_ns; /* the supervisor records the recovery once it sees us ready */
	slot->ready_ns = ready_ns;
	/* Release: a caller that sees ready sees the slot's worker fields. */
	atomic_store_explicit(&slot->ready, 1, memory_order_release);
	agp__futex_wake(&slot->ready);

	serve_tasks(pool, index, agent, parent);
	leave_confinement();
	agp_agent_close(agent);
	_exit(0);
}
