/*
 * An agent that lies with ftruncate: a real agentperfd drains three agent processes that
 * record as fast as they can (tests/support/e2e_agent.c, "spin"); an attacker of the same uid
 * truncates the deployment's segment to half its size under that load. Without the collector's
 * segment guard the daemon dies of SIGBUS at its next read beyond the new end. With it:
 *
 *  - the daemon stays alive and answers `agentperf status` (exit 0) afterwards;
 *  - its log has the one line that names the segment and says it was truncated;
 *  - the segment's name points at a fresh object of the original size again, and a new agent
 *    that opens it is drained: its 500 samples are aggregated exactly;
 *  - no agent is taken for a liar, and the totals still add up (written = aggregated + invalid
 *    + dropped + pending + earlier).
 *
 * The spinning agents whose slot lay beyond the new end die of SIGBUS themselves (the README
 * says so); the test only reaps them. Every process is started and stopped by its own pid.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "shm/abi.h"
#include "tests/support/cli_test_util.h"

#define SPINNERS 3

static char folder[64];
static char name[32];
static char config_path[128];
static char log_path[128];
static pid_t daemon_pid = -1;

struct agent_proc {
	pid_t pid;
	FILE *commands;
	FILE *replies;
};
static struct agent_proc spinners[SPINNERS];
static struct agent_proc newcomer = {-1, NULL, NULL};

#define cli(out, ...)  ct_cli(folder, name, out, __VA_ARGS__)
#define cli_json(args) ct_cli_json(folder, name, 0, args)

static pid_t start_daemon(void)
{
	pid_t pid;
	if (ct_daemon_start(folder, name, config_path, log_path, &pid) < 0)
		fail_msg("agentperfd did not answer within 5 s; log in %s", log_path);
	return pid;
}

static void agent_start(struct agent_proc *agent, const char *agent_name)
{
	int in[2], out[2];
	assert_int_equal(pipe(in), 0);
	assert_int_equal(pipe(out), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		close(in[1]);
		close(out[0]);
		execl(AGP_AGENT, AGP_AGENT, name, "worker", agent_name, "0", "1000", (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	agent->pid = pid;
	agent->commands = fdopen(in[1], "w");
	agent->replies = fdopen(out[0], "r");
	char line[64];
	assert_non_null(fgets(line, sizeof(line), agent->replies));
	assert_string_equal(line, "ready\n");
}

static void agent_say(struct agent_proc *agent, const char *command, const char *expected)
{
	char reply[64];
	fprintf(agent->commands, "%s\n", command);
	fflush(agent->commands);
	assert_non_null(fgets(reply, sizeof(reply), agent->replies));
	assert_string_equal(reply, expected);
}

/* SIGKILL (if still running) and reap; returns the signal that ended it. */
static int agent_reap(struct agent_proc *agent)
{
	int status = 0;
	if (agent->pid <= 0)
		return 0;
	kill(agent->pid, SIGKILL);
	assert_int_equal(waitpid(agent->pid, &status, 0), agent->pid);
	fclose(agent->commands);
	fclose(agent->replies);
	agent->pid = -1;
	return WIFSIGNALED(status) ? WTERMSIG(status) : 0;
}

static off_t segment_size(void)
{
	char shm_name[64];
	snprintf(shm_name, sizeof(shm_name), "/agentperf.%s", name);
	int fd = shm_open(shm_name, O_RDONLY, 0);
	if (fd < 0)
		return -1;
	struct stat st;
	assert_int_equal(fstat(fd, &st), 0);
	close(fd);
	return st.st_size;
}

static void attacker_truncate(off_t size)
{
	char shm_name[64];
	snprintf(shm_name, sizeof(shm_name), "/agentperf.%s", name);
	int fd = shm_open(shm_name, O_RDWR, 0);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, size), 0);
	close(fd);
}

static bool log_has(const char *needle)
{
	FILE *log = fopen(log_path, "r");
	if (!log)
		return false;
	char line[1024];
	bool found = false;
	while (!found && fgets(line, sizeof(line), log))
		found = strstr(line, needle) != NULL;
	fclose(log);
	return found;
}

static int64_t num(const json_t *object, const char *key)
{
	return (int64_t)llround(ct_num(object, key));
}

/* Whether the kernel sees the collector's presence lock on the object the name points at now. */
static bool collector_lock_held(void)
{
	char shm_name[64];
	snprintf(shm_name, sizeof(shm_name), "/agentperf.%s", name);
	int fd = shm_open(shm_name, O_RDONLY, 0);
	assert_true(fd >= 0);
	struct flock lock = {.l_type = F_WRLCK,
	                     .l_whence = SEEK_SET,
	                     .l_start = offsetof(struct agp_shm_header, collector_pid),
	                     .l_len = 1};
	assert_int_equal(fcntl(fd, F_OFD_GETLK, &lock), 0);
	close(fd);
	return lock.l_type != F_UNLCK;
}

/* The `agents` entry of pid's state, "" when it is not listed. */
static void state_of(pid_t pid, char *state, size_t size)
{
	json_t *agents = cli_json("agents");
	size_t index;
	json_t *entry;
	state[0] = '\0';
	json_array_foreach(json_object_get(agents, "agents"), index, entry)
	{
		if (num(entry, "pid") == pid)
			snprintf(state, size, "%s",
			         json_string_value(json_object_get(entry, "state")));
	}
	json_decref(agents);
}

/* The `agents` entry of pid's aggregated count, -1 when it is not listed. */
static int64_t aggregated_of(pid_t pid)
{
	json_t *agents = cli_json("agents");
	int64_t aggregated = -1;
	size_t index;
	json_t *entry;
	json_array_foreach(json_object_get(agents, "agents"), index, entry)
	{
		if (num(entry, "pid") == pid)
			aggregated = num(entry, "aggregated");
	}
	json_decref(agents);
	return aggregated;
}

static int setup(void **state)
{
	(void)state;
	snprintf(folder, sizeof(folder), "/tmp/agp-trunc-XXXXXX");
	if (!mkdtemp(folder) || chdir(folder))
		return -1;
	snprintf(name, sizeof(name), "trunc-%d", (int)getpid());
	char socket_folder[72];
	snprintf(socket_folder, sizeof(socket_folder), "%s/sock", folder);
	setenv("AGENTPERF_SOCKET_DIR", socket_folder, 1);
	snprintf(config_path, sizeof(config_path), "%s/config.json", folder);
	snprintf(log_path, sizeof(log_path), "%s/daemon.log", folder);
	FILE *config = fopen(config_path, "w");
	if (!config)
		return -1;
	fprintf(config, "{\"monitoring\": {\"storage_dir\": \"%s/storage\"}}\n", folder);
	fclose(config);
	for (int i = 0; i < SPINNERS; i++)
		spinners[i].pid = -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	for (int i = 0; i < SPINNERS; i++)
		agent_reap(&spinners[i]);
	agent_reap(&newcomer);
	if (daemon_pid > 0) {
		kill(daemon_pid, SIGTERM);
		waitpid(daemon_pid, NULL, 0);
	}
	char command[200];
	snprintf(command, sizeof(command), "rm -rf %s /dev/shm/agentperf.%s", folder, name);
	return system(command) == 0 ? 0 : -1;
}

static void truncation_under_load(void **state)
{
	(void)state;
	daemon_pid = start_daemon();
	off_t full_size = segment_size();
	assert_true(full_size > 0);
	for (int i = 0; i < SPINNERS; i++) {
		char agent_name[16];
		snprintf(agent_name, sizeof(agent_name), "spin%d", i);
		agent_start(&spinners[i], agent_name);
		agent_say(&spinners[i], "spin", "spinning\n");
	}
	/* Under load: the daemon has aggregated from the spinners before the attack. */
	int64_t aggregated = 0;
	for (int waited = 0; waited < 5000 && aggregated < 100000; waited += 20) {
		json_t *status = cli_json("status");
		aggregated = num(status, "aggregated");
		json_decref(status);
		ct_sleep_ms(20);
	}
	assert_true(aggregated >= 100000);

	attacker_truncate(full_size / 2);

	bool logged = false;
	for (int waited = 0; waited < 5000 && !(logged = log_has("was truncated to")); waited += 20)
		ct_sleep_ms(20);
	if (!logged)
		fail_msg("no truncation line in %s within 5 s", log_path);
	assert_true(log_has(name));
	assert_int_equal(waitpid(daemon_pid, NULL, WNOHANG), 0); /* still running */
	assert_int_equal(cli(NULL, "status"), 0);

	/* A fresh object of the original size took the name, and it is drained. */
	assert_int_equal(segment_size(), full_size);
	agent_start(&newcomer, "newcomer");
	agent_say(&newcomer, "record 500", "recorded 500\n");
	int64_t newcomer_aggregated = -1;
	for (int waited = 0;
	     waited < 5000 && (newcomer_aggregated = aggregated_of(newcomer.pid)) < 500;
	     waited += 20)
		ct_sleep_ms(20);
	assert_int_equal(newcomer_aggregated, 500);
	/*
	 * The collector owns the fresh object as it owned the old one (its lock is there), and
	 * sees the newcomer's slot lock there: the newcomer stays live across liveness checks
	 * (one a second), it is not taken for dead.
	 */
	assert_true(collector_lock_held());
	for (int waited = 0; waited < 1500; waited += 100) {
		char seen[32];
		state_of(newcomer.pid, seen, sizeof(seen));
		if (strcmp(seen, "live") != 0)
			fail_msg("the newcomer is '%s' after %d ms, not live", seen, waited);
		ct_sleep_ms(100);
	}

	/* The truncated segment's agents are nobody's liars, and the totals still add up. */
	json_t *status = cli_json("status");
	assert_int_equal(num(status, "lying_agents"), 0);
	assert_int_equal(num(status, "written"),
	                 num(status, "aggregated") + num(status, "invalid") +
	                     num(status, "dropped") + num(status, "pending") +
	                     num(status, "earlier"));
	json_decref(status);
	assert_int_equal(waitpid(daemon_pid, NULL, WNOHANG), 0);
	int status_code;
	kill(daemon_pid, SIGTERM);
	assert_int_equal(waitpid(daemon_pid, &status_code, 0), daemon_pid);
	daemon_pid = -1;
	assert_true(WIFEXITED(status_code) && WEXITSTATUS(status_code) == 0);
	for (int i = 0; i < SPINNERS; i++) {
		int ended_by = agent_reap(&spinners[i]);
		assert_true(ended_by == SIGBUS || ended_by == SIGKILL);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(truncation_under_load),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
