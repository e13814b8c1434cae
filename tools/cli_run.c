/*
 * `agentperf run [--name N] [--] CMD...`: runs a benchmark under a
 * collector. When no agentperfd answers for the deployment, it starts a
 * private one (and stops exactly that process, by its pid, afterwards).
 * CMD runs with AGENTPERF_NAME set, so its agents find the collector; then
 * the requirements are validated, the CI JSON exported and the report
 * written. Exit status: CMD's failure if it failed, else 1 when a
 * requirement is violated (or there is no baseline), else 5 when there were
 * no coordination_overhead samples to judge, else 0.
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
#include "tools/cli_options.h"

static const char help[] =
    "Usage: agentperf run [--name N] [--config FILE] [--ci FILE] [--html FILE] [--] CMD...\n"
    "Starts a private agentperfd for deployment N unless one answers, runs CMD with\n"
    "AGENTPERF_NAME=N, then validates, writes the CI JSON (FILE, default\n"
    "$CODEX_CI_EXPORT_FILE, then monitoring.ci_export_file) and the HTML report\n"
    "(default performance_report.html), and stops the private collector.\n"
    "The collector binary is $AGENTPERFD, else agentperfd beside this program or on PATH.\n"
    "Exit status: CMD's status when it failed (128+signal when killed), 1 when a\n"
    "requirement is violated (or there is no baseline), 2 usage error, 3 collector\n"
    "unreachable, 4 the CI file could not be written, 5 no data: CMD recorded no\n"
    "coordination_overhead samples, so nothing was judged (the summary says \"no data\").\n";

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

/* CMD's exit status as a shell would report it. */
static int run_command(const char *name, char **argv)
{
	pid_t pid = fork();
	if (pid < 0)
		return 127;
	if (pid == 0) {
		setenv("AGENTPERF_NAME", name, 1);
		execvp(argv[0], argv);
		fprintf(stderr, "agentperf run: cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	/* Let the terminal's ^C reach the command; we carry on to the validation. */
	signal(SIGINT, SIG_IGN);
	int status;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	signal(SIGINT, SIG_DFL);
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + WTERMSIG(status);
}

int cli_run(struct cli *cli, int argc, char **argv)
{
	const char *config = NULL, *ci_file = NULL, *html_file = "performance_report.html";
	const struct cli_option options[] = {
	    {"name", 'n', CLI_OPTION_TEXT, &cli->name, NULL},
	    {"config", 'c', CLI_OPTION_TEXT, &config, NULL},
	    {"ci", 0, CLI_OPTION_TEXT, &ci_file, NULL},
	    {"html", 0, CLI_OPTION_TEXT, &html_file, NULL},
	    CLI_OPTION_END,
	};
	/* Stopping at the first operand: it starts CMD, whose options are its own. */
	const struct cli_options spec = {"run", help, options, -1, true};
	int command = 0;
	int status = cli_parse_options(cli, &spec, argc, argv, &command);
	if (status != CLI_PARSED)
		return status;
	if (command >= argc)
		return cli_usage_error("run", "no command to run");
	const char *name = cli->name ? cli->name : getenv("AGENTPERF_NAME");
	if (!name || !name[0])
		name = "default";
	cli->name = name;
	status = cli_resolve_path(cli);
	if (status)
		return status;
	pid_t daemon = 0;
	if (cli_probe(cli)) {
		fprintf(stderr, "agentperf run: using the running collector of '%s'\n", name);
	} else {
		/* Private: its segment goes with it, so runs leave nothing behind in /dev/shm. */
		struct cli_daemon_options daemon_options = {.config = config,
		                                            .unlink_on_exit = true};
		daemon = cli_start_daemon(cli, name, &daemon_options);
		if (daemon < 0)
			return CLI_UNREACHABLE;
		fprintf(stderr, "agentperf run: started a private agentperfd (pid %d) for '%s'\n",
		        (int)daemon, name);
	}
	fflush(stderr);
	int command_status = run_command(name, argv + command);
	status = cli_validate_and_export(cli, ci_file, html_file, false);
	if (daemon > 0) {
		cli_disconnect(cli);
		cli_stop_daemon(daemon);
	}
	if (command_status != 0) {
		fprintf(stderr, "agentperf run: %s failed with status %d\n", argv[command],
		        command_status);
		return command_status;
	}
	return status;
}
