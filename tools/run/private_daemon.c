/*
 * A private agentperfd for `agentperf run` and `agentperf demo`: found
 * ($AGENTPERFD, beside this program, PATH), started for one deployment,
 * waited for until it answers, and stopped by its own pid.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tools/cli.h"

static void sleep_ms(long ms)
{
	struct timespec pause = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&pause, NULL);
}

/* agentperfd: $AGENTPERFD, the build tree or install beside us, then PATH. */
static void find_daemon(char *out, size_t size)
{
	const char *given = getenv("AGENTPERFD");
	if (given && given[0]) {
		snprintf(out, size, "%s", given);
		return;
	}
	char self[PATH_MAX];
	ssize_t length = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (length > 0) {
		self[length] = '\0';
		char *slash = strrchr(self, '/');
		if (slash) {
			*slash = '\0';
			static const char *const candidates[] = {
			    "agentperfd", "../collector/agentperfd", "../sbin/agentperfd"};
			for (size_t i = 0; i < 3; i++) {
				snprintf(out, size, "%s/%s", self, candidates[i]);
				if (access(out, X_OK) == 0)
					return;
			}
		}
	}
	snprintf(out, size, "agentperfd");
}

pid_t cli_start_daemon(struct cli *cli, const char *name, const struct cli_daemon_options *options)
{
	char daemon_path[PATH_MAX + 32];
	find_daemon(daemon_path, sizeof(daemon_path));
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		char *argv[10];
		int n = 0;
		argv[n++] = daemon_path;
		argv[n++] = "--name";
		argv[n++] = (char *)name;
		if (options->config) {
			argv[n++] = "--config";
			argv[n++] = (char *)options->config;
		}
		if (cli->socket_path) {
			argv[n++] = "--socket";
			argv[n++] = (char *)cli->socket_path;
		}
		if (options->unlink_on_exit)
			argv[n++] = "--unlink-on-exit";
		argv[n] = NULL;
		if (options->log) {
			int fd =
			    open(options->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
			if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0) {
				fprintf(stderr, "agentperf: cannot write %s: %s\n", options->log,
				        strerror(errno));
				_exit(127);
			}
		}
		execvp(daemon_path, argv);
		fprintf(stderr, "agentperf: cannot start %s: %s\n", daemon_path, strerror(errno));
		_exit(127);
	}
	/* Wait until it answers (or dies). */
	for (int waited = 0; waited < 10000; waited += 50) {
		int child_status;
		if (waitpid(pid, &child_status, WNOHANG) == pid) {
			fprintf(stderr, "agentperf: the private agentperfd exited (status %d)\n",
			        WIFEXITED(child_status) ? WEXITSTATUS(child_status) : -1);
			return -1;
		}
		if (cli_probe(cli))
			return pid;
		sleep_ms(50);
	}
	fprintf(stderr, "agentperf: the private agentperfd did not answer on %s\n", cli->path);
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
	return -1;
}

void cli_stop_daemon(pid_t pid)
{
	kill(pid, SIGTERM);
	for (int waited = 0; waited < 10000; waited += 20) {
		if (waitpid(pid, NULL, WNOHANG) == pid)
			return;
		sleep_ms(20);
	}
	fprintf(stderr, "agentperf: agentperfd %d ignored SIGTERM; killing it\n", (int)pid);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}
