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
 *    + dropped + pending + earlier + lost_on_reclaim), where what the spinners had pending in
 *    the truncated rings is lost on reclaim (more than 0: they record faster than the drain).
 *
 * The spinning agents whose slot lay beyond the new end die of SIGBUS themselves (the README
 * says so); the test only reaps them.
 *
 * The second test truncates again and again while the collector re-creates the segment: an
 * attacker process truncates whatever object the name points at, as fast as it can, for 1.5 s
 * (the fresh segment included, while the collector writes its header). The collector stays up
 * and answers every `status` meanwhile; afterwards it has a fresh segment of the full size in
 * place, owns it, and drains a newcomer exactly. A deployment next door, with its own daemon
 * and an agent that records throughout, is untouched: its daemon aggregated exactly what its
 * agent says its ring took. Every process is started and stopped by its own pid.
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
/* The deployment next door (second test). */
static char other_name[40];
static char other_config_path[128];
static char other_log_path[128];
static pid_t other_daemon_pid = -1;
static pid_t attacker_pid = -1;

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

static void agent_start_in(struct agent_proc *agent, const char *deployment, const char *agent_name)
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
		execl(AGP_AGENT, AGP_AGENT, deployment, "worker", agent_name, "0", "1000",
		      (char *)NULL);
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

static void agent_start(struct agent_proc *agent, const char *agent_name)
{
	agent_start_in(agent, name, agent_name);
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

static int log_count(const char *needle)
{
	FILE *log = fopen(log_path, "r");
	if (!log)
		return 0;
	char line[1024];
	int found = 0;
	while (fgets(line, sizeof(line), log))
		found += strstr(line, needle) != NULL;
	fclose(log);
	return found;
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

/* The `agents` entry of pid's aggregated count in deployment, -1 when it is not listed. */
static int64_t aggregated_in(const char *deployment, pid_t pid)
{
	json_t *agents = ct_cli_json(folder, deployment, 0, "agents");
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

static int64_t aggregated_of(pid_t pid)
{
	return aggregated_in(name, pid);
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
	snprintf(other_name, sizeof(other_name), "trunc-other-%d", (int)getpid());
	snprintf(other_config_path, sizeof(other_config_path), "%s/other.json", folder);
	snprintf(other_log_path, sizeof(other_log_path), "%s/other.log", folder);
	config = fopen(other_config_path, "w");
	if (!config)
		return -1;
	fprintf(config, "{\"monitoring\": {\"storage_dir\": \"%s/other-storage\"}}\n", folder);
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
	if (attacker_pid > 0) {
		kill(attacker_pid, SIGKILL);
		waitpid(attacker_pid, NULL, 0);
	}
	pid_t daemons[] = {daemon_pid, other_daemon_pid};
	for (int i = 0; i < 2; i++) {
		if (daemons[i] > 0) {
			kill(daemons[i], SIGTERM);
			waitpid(daemons[i], NULL, 0);
		}
	}
	char command[300];
	snprintf(command, sizeof(command), "rm -rf %s /dev/shm/agentperf.%s /dev/shm/agentperf.%s",
	         folder, name, other_name);
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

	/*
	 * The truncated segment's agents are nobody's liars, and the totals still add up: what
	 * the spinners had pending in the rings that went is lost on reclaim, not gone from
	 * written.
	 */
	json_t *status = cli_json("status");
	assert_int_equal(num(status, "lying_agents"), 0);
	assert_int_equal(num(status, "written"),
	                 num(status, "aggregated") + num(status, "invalid") +
	                     num(status, "dropped") + num(status, "pending") +
	                     num(status, "earlier") + num(status, "lost_on_reclaim"));
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

/* Truncates whatever object the deployment's name points at, as fast as it can, for run_ms. */
static pid_t start_attacker(long run_ms)
{
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid > 0)
		return pid;
	char shm_name[64];
	snprintf(shm_name, sizeof(shm_name), "/agentperf.%s", name);
	struct timespec start, now;
	clock_gettime(CLOCK_MONOTONIC, &start);
	/* Nothing, a page (the header and a little), half: every kind of short object. */
	const off_t sizes[] = {0, 4096, segment_size() / 2};
	long truncations = 0;
	for (unsigned i = 0;; i++) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		if ((now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000 >=
		    run_ms)
			break;
		int fd = shm_open(shm_name, O_RDWR, 0);
		if (fd < 0)
			continue; /* between the collector's unlink and its create */
		truncations += ftruncate(fd, sizes[i % 3]) == 0;
		close(fd);
	}
	_exit(truncations > 0 ? 0 : 1);
}

static void truncation_during_recreation(void **state)
{
	(void)state;
	agent_reap(&newcomer); /* the first test's */
	assert_int_equal(truncate(log_path, 0), 0);
	daemon_pid = start_daemon();
	if (ct_daemon_start(folder, other_name, other_config_path, other_log_path,
	                    &other_daemon_pid) < 0)
		fail_msg("the other deployment's agentperfd did not answer; log in %s",
		         other_log_path);
	off_t full_size = segment_size();
	assert_true(full_size > 0);
	struct agent_proc next_door = {-1, NULL, NULL};
	agent_start_in(&next_door, other_name, "next-door");
	agent_start(&spinners[0], "victim");
	agent_say(&spinners[0], "record 100", "recorded 100\n");

	attacker_pid = start_attacker(1500);
	/* Meanwhile: the collector answers every status, and next door records on. */
	int64_t next_door_took = 0;
	int answered = 0;
	for (;;) {
		fprintf(next_door.commands, "record 200\n");
		fflush(next_door.commands);
		char reply[64];
		long took = -1;
		assert_non_null(fgets(reply, sizeof(reply), next_door.replies));
		assert_int_equal(sscanf(reply, "recorded %ld", &took), 1);
		next_door_took += took;
		if (cli(NULL, "status") != 0)
			fail_msg("agentperfd did not answer status during the attack (log %s)",
			         log_path);
		answered++;
		int attacker_status;
		pid_t done = waitpid(attacker_pid, &attacker_status, WNOHANG);
		if (done == attacker_pid) {
			attacker_pid = -1;
			assert_true(WIFEXITED(attacker_status) &&
			            WEXITSTATUS(attacker_status) == 0);
			break;
		}
		ct_sleep_ms(10);
	}
	assert_int_equal(waitpid(daemon_pid, NULL, WNOHANG), 0); /* still running */
	/*
	 * The attack reached the fresh segments: one was truncated again after it was in place
	 * (a second line), or while it was made, so often that the collector had to wait.
	 */
	int truncations = log_count("was truncated to");
	int waits = log_count("tries again every second");
	print_message("%d truncations logged, %d of them with a wait for a fresh segment\n",
	              truncations, waits);
	assert_true(truncations >= 2 || waits >= 1);

	/*
	 * Recovered: the name points at an object of the full size that the collector owns,
	 * steadily (a fresh segment the last truncations hit is replaced again meanwhile).
	 */
	int steady = 0;
	for (int waited = 0; waited < 10000 && steady < 5; waited += 100) {
		steady = segment_size() == full_size && collector_lock_held() ? steady + 1 : 0;
		ct_sleep_ms(100);
	}
	if (steady < 5)
		fail_msg("no steady fresh segment within 10 s after the attack (log %s)", log_path);
	assert_int_equal(cli(NULL, "status"), 0);
	agent_start(&newcomer, "newcomer");
	agent_say(&newcomer, "record 500", "recorded 500\n");
	int64_t newcomer_aggregated = -1;
	for (int waited = 0;
	     waited < 5000 && (newcomer_aggregated = aggregated_of(newcomer.pid)) < 500;
	     waited += 20)
		ct_sleep_ms(20);
	assert_int_equal(newcomer_aggregated, 500);

	/* Next door: exactly what its agent's ring took, all aggregated, nothing invalid. */
	int64_t next_door_aggregated = -1;
	for (int waited = 0;
	     waited < 5000 &&
	     (next_door_aggregated = aggregated_in(other_name, next_door.pid)) < next_door_took;
	     waited += 20)
		ct_sleep_ms(20);
	print_message("%d status answers during the attack; next door took %lld samples\n",
	              answered, (long long)next_door_took);
	assert_int_equal(next_door_aggregated, next_door_took);
	json_t *other_status = ct_cli_json(folder, other_name, 0, "status");
	assert_int_equal(num(other_status, "invalid"), 0);
	assert_int_equal(num(other_status, "lost_on_reclaim"), 0);
	json_decref(other_status);

	json_t *status = cli_json("status");
	assert_int_equal(num(status, "written"),
	                 num(status, "aggregated") + num(status, "invalid") +
	                     num(status, "dropped") + num(status, "pending") +
	                     num(status, "earlier") + num(status, "lost_on_reclaim"));
	json_decref(status);
	agent_reap(&next_door);
	agent_reap(&newcomer);
	agent_reap(&spinners[0]);
	pid_t daemons[] = {daemon_pid, other_daemon_pid};
	for (int i = 0; i < 2; i++) {
		int status_code;
		kill(daemons[i], SIGTERM);
		assert_int_equal(waitpid(daemons[i], &status_code, 0), daemons[i]);
		assert_true(WIFEXITED(status_code) && WEXITSTATUS(status_code) == 0);
	}
	daemon_pid = other_daemon_pid = -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(truncation_under_load),
	    cmocka_unit_test(truncation_during_recreation),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
