/*
 * The exec runner's process handling.
 *
 * The child calls setpgid(0, 0) and the parent does the same for it, so the
 * group exists before either side goes on (no window where a kill of the
 * group would miss it). Everything the runner starts stays in that group
 * unless it makes its own, and the whole group is killed at the deadline,
 * when the runner goes over its memory limit and after the runner exits
 * (so background leftovers never outlive their task).
 *
 * The pipes to the runner connect the worker and its child; they are not
 * the caller-worker path, which stays on the shared slots.
 */
#include "agents/task/worker/exec.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agents/task/worker/cgroup.h"
#include "agents/task/worker/sandbox.h"
#include "common/error.h"
#include "shm/clock.h"

uint64_t agp__resident_bytes(int pid)
{
	char path[64];
	if (pid > 0)
		snprintf(path, sizeof(path), "/proc/%d/statm", pid);
	else
		snprintf(path, sizeof(path), "/proc/self/statm");
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	char buffer[128];
	ssize_t length = read(fd, buffer, sizeof(buffer) - 1);
	close(fd);
	if (length <= 0)
		return 0;
	buffer[length] = '\0';
	unsigned long long size, resident;
	if (sscanf(buffer, "%llu %llu", &size, &resident) != 2)
		return 0;
	return (uint64_t)resident * (uint64_t)sysconf(_SC_PAGESIZE);
}

void agp__describe_wait_status(int wait_status, char *text, size_t text_len)
{
	if (WIFEXITED(wait_status))
		snprintf(text, text_len, "exit status %d", WEXITSTATUS(wait_status));
	else if (WIFSIGNALED(wait_status))
		snprintf(text, text_len, "killed by SIG%s (%s)",
		         sigabbrev_np(WTERMSIG(wait_status)) ? sigabbrev_np(WTERMSIG(wait_status))
		                                             : "?",
		         strsignal(WTERMSIG(wait_status)));
	else
		snprintf(text, text_len, "wait status 0x%x", wait_status);
}

static bool restore_address_limit;
static rlim_t runner_address_limit;

void agp__exec_set_runner_address_limit(unsigned long long soft_limit)
{
	restore_address_limit = true;
	runner_address_limit = (rlim_t)soft_limit;
}

static bool single_exec;
static const struct agp__cgroup *runner_cgroup;
static rlim_t process_limit; /* RLIMIT_NPROC of runners; 0: left as it is */

void agp__exec_set_confinement(bool only_the_named_program, const struct agp__cgroup *leaf,
                               unsigned max_processes)
{
	single_exec = only_the_named_program;
	runner_cgroup = leaf;
	process_limit = max_processes;
}

int agp__exec_track_descendants(void)
{
	/* Orphans of a runner (setsid, double fork) become our children, so we can end them. */
	if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0)
		return agp__error(-errno, "cannot become a child subreaper: %s", strerror(errno));
	return 0;
}

static void child_say(const char *what, const char *name, int error)
{
	(void)!write(2, what, strlen(what));
	(void)!write(2, name, strlen(name));
	(void)!write(2, ": ", 2);
	const char *reason = strerror(error);
	(void)!write(2, reason, strlen(reason));
}

/*
 * In the child, between fork and exec: only async-signal-safe calls. With
 * listener_socket >= 0 the exec is the only one the child and its
 * descendants get (sandbox.h), and argv[0] was resolved by the parent, so
 * that exactly one execve is made.
 */
static void __attribute__((noreturn)) child_exec(char *const *argv, const char *program, int in_fd,
                                                 int out_fd, int err_fd, int listener_socket)
{
	setpgid(0, 0);
	agp__cgroup_join(runner_cgroup);
	if (process_limit) {
		struct rlimit processes = {process_limit, process_limit};
		setrlimit(RLIMIT_NPROC, &processes);
	}
	if (restore_address_limit) {
		struct rlimit limit;
		if (getrlimit(RLIMIT_AS, &limit) == 0) {
			limit.rlim_cur = runner_address_limit;
			setrlimit(RLIMIT_AS, &limit);
		}
	}
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	for (int signal_number = 1; signal_number < NSIG; signal_number++)
		if (signal_number != SIGKILL && signal_number != SIGSTOP)
			signal(signal_number, SIG_DFL);
	if (dup2(in_fd, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(err_fd, 2) < 0)
		_exit(127);
	if (listener_socket >= 0) {
		int error = agp__single_exec_arm(listener_socket);
		if (error) {
			child_say("cannot install the execve filter for ", argv[0], -error);
			_exit(126);
		}
		execv(program, argv);
	} else {
		execvp(argv[0], argv);
	}
	child_say("cannot execute ", argv[0], errno);
	_exit(127);
}

/* argv[0] as execvp would find it in PATH, into path; false when it is nowhere. */
static bool resolve_program(const char *name, char *path, size_t path_len)
{
	if (strchr(name, '/')) {
		snprintf(path, path_len, "%s", name);
		return true;
	}
	const char *search = getenv("PATH");
	if (!search || !*search)
		search = "/usr/local/bin:/usr/bin:/bin";
	for (const char *cursor = search; *cursor;) {
		size_t length = strcspn(cursor, ":");
		snprintf(path, path_len, "%.*s/%s", (int)(length ? length : 1),
		         length ? cursor : ".", name);
		struct stat info;
		if (stat(path, &info) == 0 && S_ISREG(info.st_mode) && access(path, X_OK) == 0)
			return true;
		cursor += length + (cursor[length] == ':');
	}
	return false;
}

/*
 * After the runner was reaped: end whatever it left (its group, its cgroup
 * leaf, and every orphan that the subreaper made our child, with what those
 * started in turn) and reap it all. Bounded by 2 s.
 */
static void end_leftovers(pid_t group)
{
	kill(-group, SIGKILL);
	agp__cgroup_kill_all(runner_cgroup);
	pid_t self = getpid();
	uint64_t give_up = agp_monotonic_ns() + 2000000000ull;
	for (;;) {
		int status;
		pid_t reaped = waitpid(-1, &status, WNOHANG);
		if (reaped > 0)
			continue;
		if (reaped < 0 || agp_monotonic_ns() > give_up)
			return; /* ECHILD: nothing of the runner is left */
		/* Children still live: kill every one of them (and their groups), then look again.
		 */
		DIR *proc = opendir("/proc");
		if (!proc)
			return;
		for (struct dirent *entry; (entry = readdir(proc));) {
			int pid = atoi(entry->d_name);
			if (pid <= 0)
				continue;
			char path[64], text[512];
			snprintf(path, sizeof(path), "/proc/%d/stat", pid);
			int fd = open(path, O_RDONLY | O_CLOEXEC);
			if (fd < 0)
				continue;
			ssize_t length = read(fd, text, sizeof(text) - 1);
			close(fd);
			if (length <= 0)
				continue;
			text[length] = '\0';
			const char *after_name = strrchr(text, ')');
			int parent = 0, process_group = 0;
			if (after_name &&
			    sscanf(after_name + 1, " %*c %d %d", &parent, &process_group) == 2 &&
			    parent == self) {
				kill(pid, SIGKILL);
				if (process_group > 1 && process_group != self)
					kill(-process_group, SIGKILL);
			}
		}
		closedir(proc);
		const struct timespec pause = {0, 1000000};
		nanosleep(&pause, NULL);
	}
}

struct capture {
	char *buffer;
	size_t max;
	size_t length;
	bool truncated;
	bool open;
};

static void capture_read(int fd, struct capture *capture)
{
	char scratch[4096];
	for (;;) {
		ssize_t got = read(fd, scratch, sizeof(scratch));
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0 && errno == EAGAIN)
			return;
		if (got <= 0) {
			capture->open = false;
			return;
		}
		size_t room = capture->max - 1 - capture->length;
		size_t keep = (size_t)got < room ? (size_t)got : room;
		memcpy(capture->buffer + capture->length, scratch, keep);
		capture->length += keep;
		if (keep < (size_t)got)
			capture->truncated = true;
	}
}

static void kill_group(pid_t pgid, struct agp__exec_outcome *outcome)
{
	if (!outcome->kill_ns)
		outcome->kill_ns = agp_monotonic_ns();
	kill(-pgid, SIGKILL);
}

/* One run of a program: the child, the descriptors the worker keeps to it, what came back. */
struct exec_run {
	pid_t pid;
	int pidfd;    /* -1 where pidfd_open is missing: then waitpid polls every 10 ms */
	int listener; /* the execve filter's notifications (single exec), or -1 */
	int in_fd;    /* the child's standard input, -1 once all of it is written */
	int out_fd, err_fd;
	size_t written; /* of request->input */
	struct capture out, err;
	bool first_exec_allowed;
	char refused[512]; /* programs the filter refused, for the error text */
	bool exited;
	int wait_status;
	uint64_t
	    memory_kills_before; /* the runner leaf's kills for its memory limit at the start */
};

/*
 * Makes the pipes (and, for a single exec, the filter's socket pair), forks
 * the child and keeps the worker's ends. 0, or -1 with errno and nothing left
 * open.
 */
static int start_child(const struct agp__exec_request *request, struct exec_run *run)
{
	int in_pipe[2], out_pipe[2], err_pipe[2];
	int listener_pair[2] = {-1, -1};
	char program[4096];
	if (pipe2(in_pipe, O_CLOEXEC) < 0)
		goto fail_start;
	if (pipe2(out_pipe, O_CLOEXEC) < 0)
		goto fail_in;
	if (pipe2(err_pipe, O_CLOEXEC) < 0)
		goto fail_out;
	if (single_exec) {
		if (!resolve_program(request->argv[0], program, sizeof(program))) {
			errno = ENOENT;
			goto fail_err;
		}
		if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, listener_pair) != 0)
			goto fail_err;
	}
	run->pid = fork();
	if (run->pid < 0)
		goto fail_pair;
	if (run->pid == 0)
		child_exec(request->argv, program, in_pipe[0], out_pipe[1], err_pipe[1],
		           listener_pair[1]);
	setpgid(run->pid,
	        run->pid); /* may fail with EACCES after the exec: then the child did it */
	run->listener = -1;
	if (single_exec) {
		close(listener_pair[1]);
		/* The child sends it before its execve, which then waits for our answer. */
		run->listener = agp__single_exec_receive(listener_pair[0]);
		close(listener_pair[0]);
		if (run->listener >= 0)
			fcntl(run->listener, F_SETFL, O_NONBLOCK);
	}
	if (request->pgid_out)
		/* Relaxed: read by the supervisor only after it saw this worker die. */
		atomic_store_explicit(request->pgid_out, run->pid, memory_order_relaxed);
	close(in_pipe[0]);
	close(out_pipe[1]);
	close(err_pipe[1]);
	run->pidfd = (int)syscall(SYS_pidfd_open, run->pid, 0);
	run->in_fd = in_pipe[1];
	run->out_fd = out_pipe[0];
	run->err_fd = err_pipe[0];
	fcntl(run->in_fd, F_SETFL, O_NONBLOCK);
	fcntl(run->out_fd, F_SETFL, O_NONBLOCK);
	fcntl(run->err_fd, F_SETFL, O_NONBLOCK);
	if (request->input_length == 0) {
		close(run->in_fd);
		run->in_fd = -1;
	}
	return 0;

fail_pair:
	if (listener_pair[0] >= 0) {
		close(listener_pair[0]);
		close(listener_pair[1]);
	}
fail_err:
	close(err_pipe[0]);
	close(err_pipe[1]);
fail_out:
	close(out_pipe[0]);
	close(out_pipe[1]);
fail_in:
	close(in_pipe[0]);
	close(in_pipe[1]);
fail_start:
	return -1;
}

/* Ends the task once the kernel killed one of its processes for the leaf's memory limit. */
static void notice_memory_kill(const struct exec_run *run, struct agp__exec_outcome *outcome)
{
	uint64_t kills = agp__cgroup_memory_kills(runner_cgroup);
	if (kills <= run->memory_kills_before)
		return;
	outcome->memory_exceeded = true;
	outcome->memory_kills = kills - run->memory_kills_before;
	kill_group(run->pid, outcome);
}

/*
 * Enforces the deadline and the memory limit (killing the group) and says
 * how long the next poll may sleep: until the deadline, 10 ms while memory
 * is watched or without a pidfd, else until something happens (-1).
 */
static int enforce_limits(const struct agp__exec_request *request, const struct exec_run *run,
                          struct agp__exec_outcome *outcome)
{
	int timeout_ms = run->pidfd >= 0 ? -1 : 10;
	uint64_t now = agp_monotonic_ns();
	if (request->deadline_ns) {
		if (now >= request->deadline_ns && !outcome->timed_out) {
			outcome->timed_out = true;
			kill_group(run->pid, outcome);
		}
		if (!outcome->timed_out) {
			uint64_t left_ms = (request->deadline_ns - now + 999999) / 1000000;
			if (timeout_ms < 0 || left_ms < (uint64_t)timeout_ms)
				timeout_ms = (int)left_ms;
		}
	}
	if (request->memory_limit_mb && !outcome->memory_exceeded &&
	    agp__cgroup_limits_memory(runner_cgroup)) {
		/* The kernel holds the leaf to the limit; a kill in it ends the whole task. */
		notice_memory_kill(run, outcome);
		if (timeout_ms < 0 || timeout_ms > 10)
			timeout_ms = 10;
	} else if (request->memory_limit_mb && !outcome->memory_exceeded) {
		uint64_t resident = agp__resident_bytes(run->pid);
		if (resident > outcome->resident_peak)
			outcome->resident_peak = resident;
		if (resident > (uint64_t)request->memory_limit_mb << 20) {
			outcome->memory_exceeded = true;
			kill_group(run->pid, outcome);
		}
		if (timeout_ms < 0 || timeout_ms > 10)
			timeout_ms = 10;
	}
	return timeout_ms;
}

/* Writes what the pipe takes of the rest of the input; closes it when done or broken. */
static void feed_input(const struct agp__exec_request *request, struct exec_run *run)
{
	ssize_t put =
	    write(run->in_fd, request->input + run->written, request->input_length - run->written);
	if (put > 0)
		run->written += (size_t)put;
	if ((put < 0 && errno != EAGAIN && errno != EINTR) ||
	    run->written == request->input_length) {
		close(run->in_fd);
		run->in_fd = -1;
	}
}

/* Polls the child's descriptors until it exits, serving each as it becomes ready. */
static void supervise(const struct agp__exec_request *request, struct exec_run *run,
                      struct agp__exec_outcome *outcome)
{
	while (!run->exited) {
		struct pollfd fds[5];
		int count = 0;
		int out_index = -1, err_index = -1, in_index = -1, pid_index = -1,
		    listener_index = -1;
		if (run->listener >= 0) {
			listener_index = count;
			fds[count++] = (struct pollfd){run->listener, POLLIN, 0};
		}
		if (run->out.open) {
			out_index = count;
			fds[count++] = (struct pollfd){run->out_fd, POLLIN, 0};
		}
		if (run->err.open) {
			err_index = count;
			fds[count++] = (struct pollfd){run->err_fd, POLLIN, 0};
		}
		if (run->in_fd >= 0) {
			in_index = count;
			fds[count++] = (struct pollfd){run->in_fd, POLLOUT, 0};
		}
		if (run->pidfd >= 0) {
			pid_index = count;
			fds[count++] = (struct pollfd){run->pidfd, POLLIN, 0};
		}
		int ready = poll(fds, (nfds_t)count, enforce_limits(request, run, outcome));
		if (ready < 0 && errno != EINTR)
			break;
		if (ready <= 0) {
			if (run->pidfd < 0 &&
			    waitpid(run->pid, &run->wait_status, WNOHANG) == run->pid)
				run->exited = true;
			continue;
		}
		if (listener_index >= 0 && fds[listener_index].revents) {
			if (agp__single_exec_answer(run->listener, run->pid,
			                            &run->first_exec_allowed, run->refused,
			                            sizeof(run->refused)) < 0 ||
			    (fds[listener_index].revents & (POLLHUP | POLLERR))) {
				close(run->listener); /* nobody is left under the filter */
				run->listener = -1;
			}
		}
		if (out_index >= 0 && fds[out_index].revents)
			capture_read(run->out_fd, &run->out);
		if (err_index >= 0 && fds[err_index].revents)
			capture_read(run->err_fd, &run->err);
		if (in_index >= 0 && fds[in_index].revents)
			feed_input(request, run);
		if (pid_index >= 0 && fds[pid_index].revents &&
		    waitpid(run->pid, &run->wait_status, WNOHANG) == run->pid)
			run->exited = true;
	}
	if (!run->exited)
		waitpid(run->pid, &run->wait_status, 0);
}

/* Says why in the error text, after what the runner itself wrote; the note is kept whole. */
static void note_refused_programs(struct capture *err, const char *refused)
{
	char note[700];
	snprintf(note, sizeof(note),
	         "%s[agentperf: refused to start %s: the agent lacks EXECUTE_COMMANDS, so "
	         "only the program its definition names may run]",
	         err->length && err->buffer[err->length - 1] != '\n' ? "\n" : "", refused);
	size_t note_length = strlen(note);
	size_t room = err->max - 1 - err->length;
	if (note_length > room) {
		/* Keep the note: it replaces the end of what was captured. */
		err->length = err->max - 1 > note_length ? err->max - 1 - note_length : 0;
		note_length = err->max - 1 - err->length < note_length ? err->max - 1 - err->length
		                                                       : note_length;
	}
	memcpy(err->buffer + err->length, note, note_length);
	err->length += note_length;
}

int agp__exec_run(const struct agp__exec_request *request, char *output, size_t output_max,
                  size_t *output_length, char *error, size_t error_max, size_t *error_length,
                  struct agp__exec_outcome *outcome)
{
	memset(outcome, 0, sizeof(*outcome));
	struct exec_run run = {
	    .out = {output, output_max, 0, false, true},
	    .err = {error, error_max, 0, false, true},
	};
	run.memory_kills_before = agp__cgroup_memory_kills(runner_cgroup);
	if (start_child(request, &run) != 0) {
		int saved = errno;
		snprintf(error, error_max, "cannot start '%s': %s", request->argv[0],
		         strerror(saved));
		*error_length = strlen(error);
		output[0] = '\0';
		*output_length = 0;
		return -saved;
	}
	supervise(request, &run, outcome);
	/* The kernel's kill may have been the runner's own end, which supervise did not wait past.
	 */
	if (request->memory_limit_mb && !outcome->memory_exceeded &&
	    agp__cgroup_limits_memory(runner_cgroup))
		notice_memory_kill(&run, outcome);
	/* Take what the runner wrote before it exited, then end whatever it left behind. */
	if (run.out.open)
		capture_read(run.out_fd, &run.out);
	if (run.err.open)
		capture_read(run.err_fd, &run.err);
	if (run.listener >= 0)
		close(run.listener); /* pending and later execve calls of leftovers now fail */
	end_leftovers(run.pid);
	if (request->pgid_out) /* Relaxed: as in start_child */
		atomic_store_explicit(request->pgid_out, 0, memory_order_relaxed);
	if (run.refused[0])
		note_refused_programs(&run.err, run.refused);
	if (run.in_fd >= 0)
		close(run.in_fd);
	if (run.pidfd >= 0)
		close(run.pidfd);
	close(run.out_fd);
	close(run.err_fd);
	output[run.out.length] = '\0';
	error[run.err.length] = '\0';
	*output_length = run.out.length;
	*error_length = run.err.length;
	outcome->wait_status = run.wait_status;
	outcome->output_truncated = run.out.truncated;
	return 0;
}
