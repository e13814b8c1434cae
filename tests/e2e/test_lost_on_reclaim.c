/*
 * Lost on reclaim, against what the producers themselves say: every agent is an e2e_agent
 * process that answers each "record N" with the number of samples its ring took (agp_record
 * returned true), over a pipe; the collector is a real agentperfd. One slot of 1024 records.
 *
 * The collector's own reclaim loses nothing: with agentperfd stopped (SIGSTOP: the drain
 * paused, its presence kept), an agent fills its ring and is killed; once agentperfd runs
 * again it drains the dead agent's ring before it frees the slot. Aggregated is exactly what
 * the agent said its ring took, lost_on_reclaim 0.
 *
 * An agent's reclaim, while no collector serves the segment, loses the ring it takes over,
 * and says how much: agent A records 300 under agentperfd #1 (all aggregated), #1 is killed,
 * A records 1500 more (its ring takes 1024, the rest are refused) and is killed; agent B then
 * finds the only slot held by nobody and reclaims it. agentperfd #2 adopts B and reports
 * lost_on_reclaim = what A said its ring took - what #1 aggregated of A, B's `reclaimed` the
 * same, B's samples aggregated exactly, and its totals add up with lost_on_reclaim in them.
 * Every process is started and stopped by its own pid.
 */
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
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "tests/support/cli_test_util.h"

#define RING 1024

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
static struct agent_proc agents[2] = {{-1, NULL, NULL}, {-1, NULL, NULL}};

#define cli_json(args) ct_cli_json(folder, name, 0, args)

static int64_t num(const json_t *object, const char *key)
{
	return (int64_t)llround(ct_num(object, key));
}

static void start_daemon(void)
{
	if (ct_daemon_start(folder, name, config_path, log_path, &daemon_pid) < 0)
		fail_msg("agentperfd did not answer within 5 s; log in %s", log_path);
}

static void kill_daemon(void)
{
	assert_int_equal(kill(daemon_pid, SIGKILL), 0);
	assert_int_equal(waitpid(daemon_pid, NULL, 0), daemon_pid);
	daemon_pid = -1;
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
		execl(AGP_AGENT, AGP_AGENT, name, "reclaim", agent_name, "0", "1000", (char *)NULL);
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

/* "record count": returns what the agent says its ring took. */
static int64_t agent_record(struct agent_proc *agent, long count)
{
	char reply[64];
	long took = -1;
	fprintf(agent->commands, "record %ld\n", count);
	fflush(agent->commands);
	assert_non_null(fgets(reply, sizeof(reply), agent->replies));
	assert_int_equal(sscanf(reply, "recorded %ld", &took), 1);
	return took;
}

static void agent_kill(struct agent_proc *agent)
{
	if (agent->pid <= 0)
		return;
	kill(agent->pid, SIGKILL);
	assert_int_equal(waitpid(agent->pid, NULL, 0), agent->pid);
	fclose(agent->commands);
	fclose(agent->replies);
	agent->pid = -1;
}

/* pid's `agents` entry (a new reference), NULL when it is not listed. */
static json_t *entry_of(pid_t pid)
{
	json_t *list = cli_json("agents");
	json_t *found = NULL, *entry;
	size_t index;
	json_array_foreach(json_object_get(list, "agents"), index, entry)
	{
		if (num(entry, "pid") == pid)
			found = json_incref(entry);
	}
	json_decref(list);
	return found;
}

/* Waits until pid's entry shows at least aggregated samples and nothing pending. */
static json_t *wait_drained(pid_t pid, int64_t aggregated)
{
	for (int waited = 0; waited < 5000; waited += 20) {
		json_t *entry = entry_of(pid);
		if (entry && num(entry, "aggregated") >= aggregated && num(entry, "pending") == 0)
			return entry;
		json_decref(entry);
		ct_sleep_ms(20);
	}
	fail_msg("agent %d: %lld samples not aggregated within 5 s", (int)pid,
	         (long long)aggregated);
	return NULL;
}

static void assert_totals_add_up(void)
{
	json_t *status = cli_json("status");
	assert_int_equal(num(status, "written"),
	                 num(status, "aggregated") + num(status, "invalid") +
	                     num(status, "dropped") + num(status, "pending") +
	                     num(status, "earlier") + num(status, "discarded") +
	                     num(status, "lost_on_reclaim"));
	json_decref(status);
}

static int setup(void **state)
{
	(void)state;
	snprintf(folder, sizeof(folder), "/tmp/agp-lost-XXXXXX");
	if (!mkdtemp(folder))
		return -1;
	snprintf(config_path, sizeof(config_path), "%s/config.json", folder);
	snprintf(log_path, sizeof(log_path), "%s/daemon.log", folder);
	char socket_folder[80];
	snprintf(socket_folder, sizeof(socket_folder), "%s/sock", folder);
	setenv("AGENTPERF_SOCKET_DIR", socket_folder, 1);
	/* Whoever creates a segment (agent or daemon) makes it one slot of RING records. */
	setenv("AGENTPERF_SLOTS", "1", 1);
	setenv("AGENTPERF_RING_CAPACITY", "1024", 1);
	FILE *config = fopen(config_path, "w");
	if (!config)
		return -1;
	fprintf(config,
	        "{\"monitoring\": {\"storage_dir\": \"%s/storage\", \"ci_export_file\": "
	        "\"%s/ci.json\"}}\n",
	        folder, folder);
	fclose(config);
	return 0;
}

static int teardown_test(void **state)
{
	(void)state;
	for (int i = 0; i < 2; i++)
		agent_kill(&agents[i]);
	if (daemon_pid > 0) {
		kill(daemon_pid, SIGCONT);
		kill(daemon_pid, SIGTERM);
		waitpid(daemon_pid, NULL, 0);
		daemon_pid = -1;
	}
	char command[160];
	snprintf(command, sizeof(command), "rm -f /dev/shm/agentperf.%s", name);
	return system(command) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	char command[160];
	snprintf(command, sizeof(command), "rm -rf %s", folder);
	return system(command) == 0 ? 0 : -1;
}

static void collector_reclaim_loses_nothing(void **state)
{
	(void)state;
	snprintf(name, sizeof(name), "lost-paused-%d", (int)getpid());
	struct agent_proc *a = &agents[0];
	agent_start(a, "a"); /* creates the segment: one slot of RING */
	start_daemon();
	int64_t took = agent_record(a, 300);
	assert_int_equal(took, 300);
	json_decref(wait_drained(a->pid, took));

	/* The drain paused: the agent fills its ring, with nobody reading, and dies. */
	assert_int_equal(kill(daemon_pid, SIGSTOP), 0);
	int64_t more = agent_record(a, 1500);
	assert_int_equal(more, RING); /* the ring took one ring's worth, refused the rest */
	took += more;
	pid_t dead = a->pid;
	agent_kill(a);
	assert_int_equal(kill(daemon_pid, SIGCONT), 0);

	json_t *entry = wait_drained(dead, took);
	assert_int_equal(num(entry, "aggregated"), took);
	assert_int_equal(num(entry, "dropped"), 1500 - RING);
	assert_int_equal(num(entry, "invalid"), 0);
	json_decref(entry);
	/* Freed after the drain (the entry turns dead): the next agent gets the only slot. */
	bool freed = false;
	for (int waited = 0; waited < 5000 && !freed; waited += 20) {
		json_t *seen = entry_of(dead);
		freed =
		    seen && strcmp(json_string_value(json_object_get(seen, "state")), "dead") == 0;
		json_decref(seen);
		ct_sleep_ms(20);
	}
	assert_true(freed);
	struct agent_proc *b = &agents[1];
	agent_start(b, "b");
	assert_int_equal(agent_record(b, 10), 10);
	json_t *b_entry = wait_drained(b->pid, 10);
	assert_int_equal(num(b_entry, "aggregated"), 10);
	assert_int_equal(num(b_entry, "reclaimed"), 0);
	json_decref(b_entry);
	json_t *status = cli_json("status");
	assert_int_equal(num(status, "lost_on_reclaim"), 0);
	json_decref(status);
	assert_totals_add_up();
}

static void agent_reclaim_counts_what_it_discards(void **state)
{
	(void)state;
	snprintf(name, sizeof(name), "lost-reclaim-%d", (int)getpid());
	struct agent_proc *a = &agents[0];
	agent_start(a, "a");
	start_daemon();
	int64_t a_took = agent_record(a, 300);
	json_t *entry = wait_drained(a->pid, a_took);
	int64_t first_collector_aggregated = num(entry, "aggregated");
	json_decref(entry);
	assert_int_equal(first_collector_aggregated, 300);

	/* No collector any more: A's ring fills, nobody drains it, A dies. */
	kill_daemon();
	a_took += agent_record(a, 1500);
	agent_kill(a);

	/* B finds the only slot held by nobody and, with no collector serving, reclaims it. */
	struct agent_proc *b = &agents[1];
	agent_start(b, "b");
	int64_t b_took = agent_record(b, 100);
	assert_int_equal(b_took, 100);

	start_daemon();
	json_t *b_entry = wait_drained(b->pid, b_took);
	int64_t lost = a_took - first_collector_aggregated;
	print_message("A's ring took %lld, collector #1 aggregated %lld: %lld lost on reclaim\n",
	              (long long)a_took, (long long)first_collector_aggregated, (long long)lost);
	assert_int_equal(lost, RING);
	assert_int_equal(num(b_entry, "reclaimed"), lost);
	assert_int_equal(num(b_entry, "aggregated"), b_took);
	assert_int_equal(num(b_entry, "samples"), b_took);
	assert_string_equal(json_string_value(json_object_get(b_entry, "lying")), "");
	json_decref(b_entry);
	json_t *status = cli_json("status");
	assert_int_equal(num(status, "lost_on_reclaim"), lost);
	assert_int_equal(num(status, "lying_agents"), 0);
	json_decref(status);
	json_t *list = cli_json("agents");
	assert_int_equal(num(list, "lost_on_reclaim"), lost);
	json_decref(list);
	/* The text outputs say it too. */
	char *text = NULL, expected[96];
	assert_int_equal(ct_cli(folder, name, &text, "status"), 0);
	snprintf(expected, sizeof(expected), "lost           %lld on reclaim", (long long)lost);
	if (!strstr(text, expected))
		fail_msg("status does not say '%s':\n%s", expected, text);
	free(text);
	assert_int_equal(ct_cli(folder, name, &text, "agents"), 0);
	snprintf(expected, sizeof(expected), "lost on reclaim: %lld samples", (long long)lost);
	if (!strstr(text, expected))
		fail_msg("agents does not say '%s':\n%s", expected, text);
	free(text);
	assert_totals_add_up();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(collector_reclaim_loses_nothing, teardown_test),
	    cmocka_unit_test_teardown(agent_reclaim_counts_what_it_discards, teardown_test),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
