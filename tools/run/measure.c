/*
 * One run of the command: spawned with the deployment in its environment,
 * then wait4 for its figures. The wall time spans the spawn to the reaping,
 * so it includes what starting a program costs (as hyperfine's does, without
 * its shell-spawn correction: there is no shell unless CMD is one).
 */
#include <errno.h>
#include <signal.h>
#include <spawn.h>
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

extern char **environ;

/* environ with AGENTPERF_NAME=deployment in place of any it has; NULL without memory. */
static char **environment_for(const char *deployment, char **entry_out)
{
	size_t count = 0;
	while (environ[count])
		count++;
	char **envp = calloc(count + 2, sizeof(*envp));
	size_t length = strlen("AGENTPERF_NAME=") + strlen(deployment) + 1;
	char *entry = malloc(length);
	if (!envp || !entry) {
		free(envp);
		free(entry);
		return NULL;
	}
	snprintf(entry, length, "AGENTPERF_NAME=%s", deployment);
	size_t n = 0;
	for (size_t i = 0; i < count; i++)
		if (strncmp(environ[i], "AGENTPERF_NAME=", strlen("AGENTPERF_NAME=")) != 0)
			envp[n++] = environ[i];
	envp[n++] = entry;
	envp[n] = NULL;
	*entry_out = entry;
	return envp;
}

/*
 * posix_spawnp, not fork: glibc's spawn shares the address space until the exec (vfork), so
 * the measured span holds no copy of this process's page tables, whatever its size.
 */
static int spawn(char **argv, char **envp, bool stdout_to_stderr, pid_t *pid)
{
	posix_spawn_file_actions_t actions;
	posix_spawnattr_t attributes;
	int error = posix_spawn_file_actions_init(&actions);
	if (error)
		return error;
	error = posix_spawnattr_init(&attributes);
	if (error) {
		posix_spawn_file_actions_destroy(&actions);
		return error;
	}
	sigset_t defaults;
	sigemptyset(&defaults);
	sigaddset(&defaults, SIGINT); /* ignored here while CMD runs; CMD gets the default */
	if (stdout_to_stderr)
		error = posix_spawn_file_actions_adddup2(&actions, 2, 1);
	if (!error)
		error = posix_spawnattr_setsigdefault(&attributes, &defaults);
	if (!error)
		error = posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGDEF);
	if (!error)
		error = posix_spawnp(pid, argv[0], &actions, &attributes, argv, envp);
	posix_spawnattr_destroy(&attributes);
	posix_spawn_file_actions_destroy(&actions);
	return error;
}

int run_measure(char **argv, const char *deployment, bool stdout_to_stderr,
                struct run_measurement *out)
{
	char *entry = NULL;
	char **envp = environment_for(deployment, &entry);
	if (!envp)
		return agp__error(-ENOMEM, "cannot run %s: out of memory", argv[0]);
	fflush(stdout);
	fflush(stderr);
	memset(out, 0, sizeof(*out));
	/* Let the terminal's ^C reach the command; run carries on to its summary. */
	void (*previous)(int) = signal(SIGINT, SIG_IGN);
	uint64_t started = run_now_ns();
	pid_t pid;
	int error = spawn(argv, envp, stdout_to_stderr, &pid);
	int status = 0;
	struct rusage usage;
	memset(&usage, 0, sizeof(usage));
	if (error) {
		/* As a shell reports a command it cannot execute: 127, and why. */
		fprintf(stderr, "agentperf run: cannot run %s: %s\n", argv[0], strerror(error));
		status = 127 << 8;
	} else {
		while (wait4(pid, &status, 0, &usage) < 0 && errno == EINTR)
			;
	}
	uint64_t ended = run_now_ns();
	signal(SIGINT, previous);
	free(envp);
	free(entry);
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
