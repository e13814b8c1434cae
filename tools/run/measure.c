/*
 * One run of the command: fork, exec with the deployment in the
 * environment, and wait4 for its figures. The wall time spans the fork to
 * the reaping, so it includes what starting a program costs (as hyperfine's
 * does, without its shell-spawn correction: there is no shell unless CMD is
 * one).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/error.h"
#include "tools/run/run.h"

uint64_t run_now_ns(void)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
}

static uint64_t timeval_ns(const struct timeval *tv)
{
	return (uint64_t)tv->tv_sec * 1000000000u + (uint64_t)tv->tv_usec * 1000u;
}

/* The child: the deployment in its environment, stdout where run wants it, then exec. */
static void exec_child(char **argv, const char *deployment, bool stdout_to_stderr)
{
	setenv("AGENTPERF_NAME", deployment, 1);
	if (stdout_to_stderr && dup2(2, 1) < 0)
		_exit(127);
	signal(SIGINT, SIG_DFL);
	execvp(argv[0], argv);
	fprintf(stderr, "agentperf run: cannot run %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

int run_measure(char **argv, const char *deployment, bool stdout_to_stderr,
                struct run_measurement *out)
{
	fflush(stdout);
	fflush(stderr);
	/* Let the terminal's ^C reach the command; run carries on to its summary. */
	void (*previous)(int) = signal(SIGINT, SIG_IGN);
	uint64_t started = run_now_ns();
	pid_t pid = fork();
	if (pid < 0) {
		int error = errno;
		signal(SIGINT, previous);
		return agp__error(-error, "cannot fork to run %s: %s", argv[0], strerror(error));
	}
	if (pid == 0)
		exec_child(argv, deployment, stdout_to_stderr);
	int status = 0;
	struct rusage usage;
	memset(&usage, 0, sizeof(usage));
	while (wait4(pid, &status, 0, &usage) < 0 && errno == EINTR)
		;
	uint64_t ended = run_now_ns();
	signal(SIGINT, previous);
	out->started_ns = started;
	out->wall_ns = ended - started;
	out->user_ns = timeval_ns(&usage.ru_utime);
	out->system_ns = timeval_ns(&usage.ru_stime);
	out->peak_rss_bytes = (uint64_t)usage.ru_maxrss * 1024u;
	out->exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	return 0;
}

int run_shell(const char *command, const char *deployment, bool stdout_to_stderr, int *status)
{
	char *argv[] = {"sh", "-c", (char *)command, NULL};
	struct run_measurement measurement;
	int error = run_measure(argv, deployment, stdout_to_stderr, &measurement);
	if (!error)
		*status = measurement.exit_status;
	return error;
}
