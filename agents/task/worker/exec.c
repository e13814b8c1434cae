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

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

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

/* In the child, between fork and exec: only async-signal-safe calls. */
static void __attribute__((noreturn))
child_exec(char *const *argv, int in_fd, int out_fd, int err_fd)
{
	setpgid(0, 0);
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
	execvp(argv[0], argv);
	int error = errno;
	static const char prefix[] = "cannot execute ";
	(void)!write(2, prefix, sizeof(prefix) - 1);
	(void)!write(2, argv[0], strlen(argv[0]));
	(void)!write(2, ": ", 2);
	const char *reason = strerror(error);
	(void)!write(2, reason, strlen(reason));
	_exit(127);
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

int agp__exec_run(const struct agp__exec_request *request, char *output, size_t output_max,
                  size_t *output_length, char *error, size_t error_max, size_t *error_length,
                  struct agp__exec_outcome *outcome)
{
	int in_pipe[2], out_pipe[2], err_pipe[2];
	memset(outcome, 0, sizeof(*outcome));
	if (pipe2(in_pipe, O_CLOEXEC) < 0)
		goto fail_start;
	if (pipe2(out_pipe, O_CLOEXEC) < 0)
		goto fail_in;
	if (pipe2(err_pipe, O_CLOEXEC) < 0)
		goto fail_out;

	pid_t pid = fork();
	if (pid < 0)
		goto fail_err;
	if (pid == 0)
		child_exec(request->argv, in_pipe[0], out_pipe[1], err_pipe[1]);
	setpgid(pid, pid); /* may fail with EACCES after the exec: then the child did it */
	if (request->pgid_out)
		/* Relaxed: read by the supervisor only after it saw this worker die. */
		atomic_store_explicit(request->pgid_out, pid, memory_order_relaxed);
	close(in_pipe[0]);
	close(out_pipe[1]);
	close(err_pipe[1]);
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);

	fcntl(in_pipe[1], F_SETFL, O_NONBLOCK);
	fcntl(out_pipe[0], F_SETFL, O_NONBLOCK);
	fcntl(err_pipe[0], F_SETFL, O_NONBLOCK);
	struct capture out = {output, output_max, 0, false, true};
	struct capture err = {error, error_max, 0, false, true};
	size_t written = 0;
	int in_fd = in_pipe[1];
	if (request->input_length == 0) {
		close(in_fd);
		in_fd = -1;
	}
	bool exited = false;
	int wait_status = 0;
	while (!exited) {
		struct pollfd fds[4];
		int count = 0;
		int out_index = -1, err_index = -1, in_index = -1, pid_index = -1;
		if (out.open) {
			out_index = count;
			fds[count++] = (struct pollfd){out_pipe[0], POLLIN, 0};
		}
		if (err.open) {
			err_index = count;
			fds[count++] = (struct pollfd){err_pipe[0], POLLIN, 0};
		}
		if (in_fd >= 0) {
			in_index = count;
			fds[count++] = (struct pollfd){in_fd, POLLOUT, 0};
		}
		if (pidfd >= 0) {
			pid_index = count;
			fds[count++] = (struct pollfd){pidfd, POLLIN, 0};
		}
		int timeout_ms = pidfd >= 0 ? -1 : 10;
		uint64_t now = agp_monotonic_ns();
		if (request->deadline_ns) {
			if (now >= request->deadline_ns && !outcome->timed_out) {
				outcome->timed_out = true;
				kill_group(pid, outcome);
			}
			if (!outcome->timed_out) {
				uint64_t left_ms = (request->deadline_ns - now + 999999) / 1000000;
				if (timeout_ms < 0 || left_ms < (uint64_t)timeout_ms)
					timeout_ms = (int)left_ms;
			}
		}
		if (request->memory_limit_mb && !outcome->memory_exceeded) {
			uint64_t resident = agp__resident_bytes(pid);
			if (resident > outcome->resident_peak)
				outcome->resident_peak = resident;
			if (resident > (uint64_t)request->memory_limit_mb << 20) {
				outcome->memory_exceeded = true;
				kill_group(pid, outcome);
			}
			if (timeout_ms < 0 || timeout_ms > 10)
				timeout_ms = 10;
		}
		int ready = poll(fds, (nfds_t)count, timeout_ms);
		if (ready < 0 && errno != EINTR)
			break;
		if (ready <= 0) {
			if (pidfd < 0 && waitpid(pid, &wait_status, WNOHANG) == pid)
				exited = true;
			continue;
		}
		if (out_index >= 0 && fds[out_index].revents)
			capture_read(out_pipe[0], &out);
		if (err_index >= 0 && fds[err_index].revents)
			capture_read(err_pipe[0], &err);
		if (in_index >= 0 && fds[in_index].revents) {
			ssize_t put =
			    write(in_fd, request->input + written, request->input_length - written);
			if (put > 0)
				written += (size_t)put;
			if ((put < 0 && errno != EAGAIN && errno != EINTR) ||
			    written == request->input_length) {
				close(in_fd);
				in_fd = -1;
			}
		}
		if (pid_index >= 0 && fds[pid_index].revents &&
		    waitpid(pid, &wait_status, WNOHANG) == pid)
			exited = true;
	}
	if (!exited)
		waitpid(pid, &wait_status, 0);
	/* Take what the runner wrote before it exited, then end whatever it left behind. */
	if (out.open)
		capture_read(out_pipe[0], &out);
	if (err.open)
		capture_read(err_pipe[0], &err);
	kill(-pid, SIGKILL);
	if (request->pgid_out)
		atomic_store_explicit(request->pgid_out, 0, memory_order_relaxed);
	if (in_fd >= 0)
		close(in_fd);
	if (pidfd >= 0)
		close(pidfd);
	close(out_pipe[0]);
	close(err_pipe[0]);
	output[out.length] = '\0';
	error[err.length] = '\0';
	*output_length = out.length;
	*error_length = err.length;
	outcome->wait_status = wait_status;
	outcome->output_truncated = out.truncated;
	return 0;

fail_err:
	close(err_pipe[0]);
	close(err_pipe[1]);
fail_out:
	close(out_pipe[0]);
	close(out_pipe[1]);
fail_in:
	close(in_pipe[0]);
	close(in_pipe[1]);
fail_start:;
	int saved = errno;
	snprintf(error, error_max, "cannot start '%s': %s", request->argv[0], strerror(saved));
	*error_length = strlen(error);
	output[0] = '\0';
	*output_length = 0;
	return -saved;
}
