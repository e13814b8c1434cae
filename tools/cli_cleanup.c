/*
 * `agentperf cleanup [--name N]`: removes the shared segment (and a control
 * socket nobody answers on) that a stopped deployment left behind, e.g.
 * after its collector was killed. It refuses while any process serves or
 * records into the deployment: every collector, agent and registrar holds
 * an OFD lock on a byte of the segment's file for as long as it lives
 * (shm/ownership.h), and the kernel drops the lock when it dies, so one
 * query for any lock over the whole file tells live from stale without
 * trusting a pid the segment records.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <agentperf/agent.h>

#include "common/deployment.h"
#include "tools/cli.h"
#include "tools/cli_options.h"

static const char help[] =
    "Usage: agentperf cleanup [--name N] [--json]\n"
    "Removes the shared segment /dev/shm/agentperf.N of a stopped deployment, and its\n"
    "control socket when no collector answers on it. Refused while a collector or an\n"
    "agent of N is live (it holds a lock on the segment), so nothing recorded is lost.\n"
    "Exit status: 0 removed (or nothing to remove), 1 refused: the deployment is live,\n"
    "2 usage error, 4 the segment could not be removed (the reason is printed).\n";

/* 1 when another open file description holds a lock anywhere in fd's file, 0 when none. */
static int any_lock_held(int fd)
{
	struct flock lock = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0};
	if (fcntl(fd, F_OFD_GETLK, &lock) != 0)
		return -errno;
	return lock.l_type != F_UNLCK;
}

static int report(const struct cli *cli, int status, const char *deployment, const char *segment,
                  bool removed, bool socket_removed, const char *message)
{
	if (cli->json) {
		json_t *result =
		    json_pack("{s:s, s:s, s:b, s:b, s:s, s:i}", "deployment", deployment, "segment",
		              segment, "removed", removed, "socket_removed", socket_removed,
		              "message", message, "code", status);
		cli_print_json(result);
		json_decref(result);
	}
	if (!cli->json || status)
		fprintf(status ? stderr : stdout, "agentperf cleanup: %s\n", message);
	return status;
}

int cli_cleanup(struct cli *cli, int argc, char **argv)
{
	const struct cli_option options[] = {
	    {"name", 'n', CLI_OPTION_TEXT, &cli->name, NULL},
	    CLI_OPTION_JSON_ENTRY,
	    CLI_OPTION_END,
	};
	const struct cli_options spec = {"cleanup", help, options, 0, false};
	int status = cli_parse_options(cli, &spec, argc, argv, NULL);
	if (status != CLI_PARSED)
		return status;
	char name[AGP_DEPLOYMENT_NAME_MAX + 1];
	if (agp_deployment_resolve(cli->name, name))
		return cli_usage_error("cleanup", "%s", agp_last_error());
	char segment[AGP_DEPLOYMENT_NAME_MAX + 16], message[512];
	snprintf(segment, sizeof(segment), "/agentperf.%s", name);

	int fd = shm_open(segment, O_RDWR | O_CLOEXEC, 0);
	if (fd < 0 && errno != ENOENT) {
		snprintf(message, sizeof(message), "cannot open /dev/shm%s: %s", segment,
		         strerror(errno));
		return report(cli, CLI_WRITE_FAILED, name, segment, false, false, message);
	}
	if (fd >= 0) {
		int held = any_lock_held(fd);
		if (held != 0) {
			close(fd);
			if (held > 0)
				snprintf(
				    message, sizeof(message),
				    "deployment '%s' is live: a collector or an agent holds a lock "
				    "on /dev/shm%s; stop it first (nothing was removed)",
				    name, segment);
			else
				snprintf(
				    message, sizeof(message),
				    "cannot tell whether deployment '%s' is live (F_OFD_GETLK on "
				    "/dev/shm%s: %s); nothing was removed",
				    name, segment, strerror(-held));
			return report(cli, CLI_VIOLATED, name, segment, false, false, message);
		}
		/*
		 * A process that opens the deployment between the query and the unlink keeps
		 * its mapping of the removed object; the next process creates a fresh one.
		 */
		int removed = shm_unlink(segment);
		int error = errno;
		close(fd);
		if (removed != 0 && error != ENOENT) {
			snprintf(message, sizeof(message), "cannot remove /dev/shm%s: %s", segment,
			         strerror(error));
			return report(cli, CLI_WRITE_FAILED, name, segment, false, false, message);
		}
	}
	/* The socket of a collector that did not stop cleanly: only when nobody answers on it. */
	bool socket_removed = false;
	struct stat st;
	if (cli_resolve_path(cli) == 0 && lstat(cli->path, &st) == 0 && S_ISSOCK(st.st_mode) &&
	    !cli_probe(cli))
		socket_removed = unlink(cli->path) == 0;
	if (fd >= 0)
		snprintf(message, sizeof(message), "removed /dev/shm%s", segment);
	else
		snprintf(message, sizeof(message),
		         "no segment of deployment '%s' in /dev/shm (nothing to remove)", name);
	if (socket_removed) {
		size_t length = strlen(message);
		snprintf(message + length, sizeof(message) - length,
		         "; removed the stale socket %s", cli->path);
	}
	return report(cli, CLI_OK, name, segment, fd >= 0, socket_removed, message);
}
