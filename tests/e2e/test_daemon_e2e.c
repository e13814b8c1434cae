/*
 * agentperfd end to end, as users run it: the daemon is a real process (its own deployment
 * name, a temporary config with a 1 s aggregation window, storage and socket folders), agents
 * are real processes (tests/e2e_agent.c, libagentperf) that record known values, and every
 * figure is read through the `agentperf` command line's --json output, or the control socket
 * where the CLI prints a table.
 *
 *  1. Exact accounting per agent and in total (written = aggregated + invalid + dropped +
 *     pending + earlier); an agent SIGKILLed while it records is noticed (state dead), drained,
 *     and its slot goes to the next agent.
 *  2. `agentperf hlog` and `agentperf stats --hgrm` from the running daemon (open window
 *     included) against the daemon's own stats and percentile iteration.
 *  3. A baseline established, the daemon stopped with SIGTERM (exit 0, final drain) and
 *     restarted: the persisted baseline is loaded, and an agent alive across the restart keeps
 *     being counted (what the first daemon took shows as `earlier`).
 *  4. A broken config file and a bad CODEX_* variable: exit 2 with the file, key and value or
 *     the variable named.
 *
 * Every daemon and agent is stopped by its own pid. Paths come from CMake: AGP_DAEMON, AGP_CLI,
 * AGP_AGENT.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "tests/support/cli_test_util.h"

#include "hdr/histogram.h"
#include "hdr/interval_log.h"
#include "common/protocol.h"

#define MS 1000000LL

static char folder[64];
static char name[24];
static char config_path[128];
static char socket_path[104];
static pid_t daemon_pid = -1;

struct agent_proc {
	pid_t pid;
	FILE *commands; /* its standard input */
	FILE *replies;  /* its standard output */
};
static struct agent_proc survivor = {-1, NULL, NULL}; /* lives across the daemon restart */
static json_t *baseline_before;                       /* established before the restart */

/* The CLI against this test's deployment (tests/cli_test_util.h). */
#define cli(out, ...)  ct_cli(folder, name, out, __VA_ARGS__)
#define cli_json(args) ct_cli_json(folder, name, 0, args)
#define sleep_ms       ct_sleep_ms

static int64_t num(const json_t *object, const char *key)
{
	json_t *value = json_object_get(object, key);
	if (!json_is_number(value))
		fail_msg("key %s missing or not a number", key);
	return (int64_t)llround(json_number_value(value));
}

/* One request on the control socket, for figures the CLI prints only as a table. */
static json_t *control(const char *verb, json_t *args)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un address = {.sun_family = AF_UNIX};
	snprintf(address.sun_path, sizeof(address.sun_path), "%s", socket_path);
	assert_int_equal(connect(fd, (struct sockaddr *)&address, sizeof(address)), 0);
	msgpack_sbuffer frame;
	msgpack_sbuffer_init(&frame);
	assert_int_equal(agp_protocol_encode_request(&frame, verb, args), 0);
	assert_int_equal(write(fd, frame.data, frame.size), (ssize_t)frame.size);
	msgpack_sbuffer_destroy(&frame);
	unsigned char header[AGP_PROTOCOL_FRAME_HEADER];
	assert_int_equal(recv(fd, header, sizeof(header), MSG_WAITALL), (ssize_t)sizeof(header));
	uint32_t length = agp_frame_length(header);
	unsigned char *payload = malloc(length);
	assert_int_equal(recv(fd, payload, length, MSG_WAITALL), (ssize_t)length);
	close(fd);
	struct agp_reply reply;
	char err[256];
	assert_int_equal(agp_protocol_decode_reply(payload, length, &reply, err, sizeof(err)), 0);
	free(payload);
	json_decref(args);
	if (!reply.ok)
		fail_msg("verb %s: %s", verb, reply.error);
	return reply.result;
}

static pid_t start_daemon(bool unlink_on_exit)
{
	char log[128];
	snprintf(log, sizeof(log), "%s/daemon.log", folder);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
		dup2(fd, 1);
		dup2(fd, 2);
		execl(AGP_DAEMON, AGP_DAEMON, "--name", name, "--config", config_path,
		      unlink_on_exit ? "--unlink-on-exit" : NULL, (char *)NULL);
		_exit(127);
	}
	for (int waited = 0; waited < 5000; waited += 20) {
		if (cli(NULL, "status") == 0)
			return pid;
		sleep_ms(20);
	}
	fail_msg("agentperfd did not answer within 5 s; log in %s", log);
	return -1;
}

/* SIGTERM to the daemon by its pid; returns its exit status (128 + signal when killed). */
static int stop_daemon(pid_t pid)
{
	int status;
	kill(pid, SIGTERM);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void agent_start(struct agent_proc *agent, const char *type, const char *agent_name,
                        int metric, long long step)
{
	int in[2], out[2];
	assert_int_equal(pipe(in), 0);
	assert_int_equal(pipe(out), 0);
	char metric_text[16], step_text[32];
	snprintf(metric_text, sizeof(metric_text), "%d", metric);
	snprintf(step_text, sizeof(step_text), "%lld", step);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		close(in[1]);
		close(out[0]);
		execl(AGP_AGENT, AGP_AGENT, name, type, agent_name, metric_text, step_text,
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

/* Sends a command and returns the agent's reply line. */
static void agent_say(struct agent_proc *agent, const char *command, char *reply, size_t len)
{
	fprintf(agent->commands, "%s\n", command);
	fflush(agent->commands);
	assert_non_null(fgets(reply, (int)len, agent->replies));
}

static void agent_record(struct agent_proc *agent, long count)
{
	char command[32], reply[64], expected[64];
	snprintf(command, sizeof(command), "record %ld", count);
	snprintf(expected, sizeof(expected), "recorded %ld\n", count);
	agent_say(agent, command, reply, sizeof(reply));
	assert_string_equal(reply, expected); /* the ring (8192 records) took every one */
}

/* Ends an agent: quit (exit 0 expected) or SIGKILL. */
static void agent_end(struct agent_proc *agent, bool kill_it)
{
	int status;
	if (kill_it)
		kill(agent->pid, SIGKILL);
	else
		fprintf(agent->commands, "quit\n");
	fclose(agent->commands);
	fclose(agent->replies);
	assert_int_equal(waitpid(agent->pid, &status, 0), agent->pid);
	if (kill_it)
		assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	else
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	agent->pid = -1;
}

/* The agents list entry of pid (a new reference), NULL when not listed. */
static json_t *agent_entry(pid_t pid)
{
	json_t *agents = cli_json("agents");
	json_t *found = NULL, *entry;
	size_t index;
	json_array_foreach(json_object_get(agents, "agents"), index, entry)
	{
		if (num(entry, "pid") == pid)
			found = json_incref(entry);
	}
	json_decref(agents);
	return found;
}

/* The exact identity, for one agent or for the totals of `status`. */
static void assert_accounted(const json_t *counts, const char *written_key)
{
	int64_t written = num(counts, written_key);
	int64_t parts = num(counts, "aggregated") + num(counts, "invalid") +
	                num(counts, "dropped") + num(counts, "pending") + num(counts, "earlier");
	/* The totals' part: left in the rings of agents that departed undrained. */
	if (json_object_get(counts, "lost_on_reclaim"))
		parts += num(counts, "lost_on_reclaim");
	if (written != parts)
		fail_msg("written %lld != aggregated + invalid + dropped + pending + earlier (+ "
		         "lost_on_reclaim) = %lld",
		         (long long)written, (long long)parts);
}

/* Waits until the daemon has aggregated `target` samples in all (it never exceeds it here). */
static void wait_aggregated(int64_t target)
{
	int64_t aggregated = -1;
	for (int waited = 0; waited < 5000; waited += 20) {
		json_t *status = cli_json("status");
		aggregated = num(status, "aggregated");
		json_decref(status);
		if (aggregated >= target)
			break;
		sleep_ms(20);
	}
	assert_int_equal(aggregated, target);
}

static int setup(void **state)
{
	(void)state;
	snprintf(folder, sizeof(folder), "/tmp/agp-e2e-XXXXXX");
	if (!mkdtemp(folder) || chdir(folder))
		return -1;
	snprintf(name, sizeof(name), "e2e-%d", (int)(getpid() % 10000000));
	char socket_folder[72];
	snprintf(socket_folder, sizeof(socket_folder), "%s/sock", folder);
	setenv("AGENTPERF_SOCKET_DIR", socket_folder, 1);
	snprintf(socket_path, sizeof(socket_path), "%s/%s.sock", socket_folder, name);
	snprintf(config_path, sizeof(config_path), "%s/config.json", folder);
	FILE *config = fopen(config_path, "w");
	if (!config)
		return -1;
	fprintf(config,
	        "{\"monitoring\": {\"storage_dir\": \"%s/storage\", "
	        "\"aggregation_window_seconds\": 1, \"ci_export_file\": \"%s/ci.json\"}}\n",
	        folder, folder);
	fclose(config);
	unsetenv("CODEX_CI_EXPORT_FILE");
	unsetenv("CODEX_BASELINE_MIN_SAMPLES");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	if (survivor.pid > 0) {
		kill(survivor.pid, SIGKILL);
		waitpid(survivor.pid, NULL, 0);
	}
	if (daemon_pid > 0)
		stop_daemon(daemon_pid);
	json_decref(baseline_before);
	char command[200];
	snprintf(command, sizeof(command), "rm -rf %s /dev/shm/agentperf.%s", folder, name);
	return system(command) == 0 ? 0 : -1;
}

static void accounting_kill_and_reclaim(void **state)
{
	(void)state;
	daemon_pid = start_daemon(false); /* the segment outlives this daemon: agents stay */
	/* One after the other, so that they take slots 0, 1, 2 in order. */
	struct agent_proc victim, reviewer;
	agent_start(&survivor, "worker", "a1", 0, MS);        /* coordination_overhead 1..1000 ms */
	agent_start(&victim, "worker", "b1", 0, MS / 10);     /* 0.1 ms steps */
	agent_start(&reviewer, "reviewer", "c1", 1, 10 * MS); /* task_execution_time */
	agent_record(&survivor, 1000);
	agent_record(&victim, 700);
	agent_record(&reviewer, 300);
	wait_aggregated(2000);

	struct agent_proc *all[] = {&survivor, &victim, &reviewer};
	const int64_t recorded[] = {1000, 700, 300};
	for (int a = 0; a < 3; a++) {
		json_t *entry = agent_entry(all[a]->pid);
		assert_non_null(entry);
		assert_string_equal(json_string_value(json_object_get(entry, "state")), "live");
		assert_int_equal(num(entry, "samples"), recorded[a]);
		assert_int_equal(num(entry, "aggregated"), recorded[a]);
		assert_int_equal(num(entry, "invalid"), 0);
		assert_int_equal(num(entry, "dropped"), 0);
		assert_int_equal(num(entry, "pending"), 0);
		assert_int_equal(num(entry, "earlier"), 0);
		assert_accounted(entry, "samples");
		json_decref(entry);
	}

	/* The victim records as fast as it can (the ring may overflow) and dies in the middle. */
	char reply[64];
	agent_say(&victim, "spin", reply, sizeof(reply));
	assert_string_equal(reply, "spinning\n");
	/* Killed once the daemon has seen it record past its first batch: truly mid-run. */
	for (int waited = 0; waited < 3000; waited += 10) {
		json_t *entry = agent_entry(victim.pid);
		int64_t written = entry ? num(entry, "samples") : 0;
		json_decref(entry);
		if (written > 700)
			break;
		sleep_ms(10);
	}
	pid_t victim_pid = victim.pid;
	agent_end(&victim, true);
	json_t *dead = NULL;
	for (int waited = 0; waited < 3000; waited += 20) {
		dead = agent_entry(victim_pid);
		assert_non_null(dead); /* a departed agent stays listed for a minute */
		if (strcmp(json_string_value(json_object_get(dead, "state")), "dead") == 0)
			break;
		json_decref(dead);
		dead = NULL;
		sleep_ms(20);
	}
	if (!dead)
		fail_msg("the SIGKILLed agent %d was not noticed dead within 3 s", (int)victim_pid);
	int64_t victim_slot = num(dead, "slot");
	int64_t victim_written = num(dead, "samples");
	int64_t victim_aggregated = num(dead, "aggregated");
	assert_true(victim_written > 700);         /* it did record after the first batch */
	assert_int_equal(num(dead, "pending"), 0); /* drained to the last record */
	assert_int_equal(num(dead, "invalid"), 0);
	assert_accounted(dead, "samples");
	printf("killed agent: %lld written, %lld aggregated, %lld dropped\n",
	       (long long)victim_written, (long long)victim_aggregated,
	       (long long)num(dead, "dropped"));
	json_decref(dead);

	/* Every worker sample the daemon took is in the (worker, coordination_overhead) series. */
	json_t *stats = cli_json("stats --metric coordination_overhead --agent-type worker");
	assert_int_equal(num(json_array_get(json_object_get(stats, "series"), 0), "count"),
	                 1000 + victim_aggregated);
	json_decref(stats);

	/* Its slot was freed: the next agent, finding 0 and 2 taken, gets it. */
	struct agent_proc newcomer;
	agent_start(&newcomer, "worker", "d1", 0, MS);
	agent_record(&newcomer, 200);
	json_t *entry = agent_entry(newcomer.pid);
	assert_non_null(entry);
	assert_int_equal(num(entry, "slot"), victim_slot);
	json_decref(entry);
	agent_end(&newcomer, false);
	agent_end(&reviewer, false);

	/* The totals still count the agents that left, exactly. */
	json_t *status = cli_json("status");
	for (int waited = 0; waited < 3000 && num(status, "pending") != 0; waited += 20) {
		json_decref(status);
		sleep_ms(20);
		status = cli_json("status");
	}
	assert_accounted(status, "written");
	assert_int_equal(num(status, "written"), 1000 + victim_written + 300 + 200);
	assert_int_equal(num(status, "aggregated"), 1000 + victim_aggregated + 300 + 200);
	assert_int_equal(num(status, "invalid"), 0);
	json_decref(status);
}

/* Merges the intervals tagged tag of an .hlog text with agentperf's reader. */
static struct agp_hdr *merge_hlog(const char *text, const char *tag, size_t *intervals)
{
	FILE *in = fmemopen((void *)text, strlen(text), "r");
	assert_non_null(in);
	struct agp_hlog_reader reader;
	agp_hlog_reader_init(&reader, in, 0);
	struct agp_hdr *merged = NULL;
	assert_int_equal(agp_hdr_create(1, 3600LL * 1000 * MS, 3, &merged), 0);
	struct agp_hlog_entry entry;
	int result;
	*intervals = 0;
	while ((result = agp_hlog_reader_next(&reader, &entry)) == 1) {
		if (entry.has_tag && strcmp(entry.tag, tag) == 0) {
			assert_int_equal(agp_hdr_merge(merged, entry.h), 0);
			(*intervals)++;
		}
		agp_hdr_destroy(entry.h);
	}
	if (result < 0)
		fail_msg("agentperf hlog output: %s", reader.error);
	agp_hlog_reader_destroy(&reader);
	fclose(in);
	return merged;
}

static void hlog_and_hgrm_from_daemon(void **state)
{
	(void)state;
	/* The daemon's own figures for worker/coordination_overhead (open window included). */
	json_t *stats = cli_json("stats --metric coordination_overhead --agent-type worker");
	json_t *s = json_array_get(json_object_get(stats, "series"), 0);
	int64_t count = num(s, "count");

	char *text;
	assert_int_equal(cli(&text, "hlog --metric coordination_overhead"), 0);
	size_t intervals;
	struct agp_hdr *h = merge_hlog(text, "worker/coordination_overhead", &intervals);
	assert_true(intervals >= 1);
	assert_null(strstr(text, "task_execution_time")); /* --metric selects */
	free(text);
	assert_int_equal(agp_hdr_count(h), count);
	assert_int_equal(agp_hdr_value_at_percentile(h, 50), num(s, "p50"));
	assert_int_equal(agp_hdr_value_at_percentile(h, 99), num(s, "p99"));
	assert_int_equal(agp_hdr_value_at_percentile(h, 95), num(s, "p95"));
	/* stats gives the exact extremes; the log's buckets hold them. */
	assert_int_equal(agp_hdr_min_equivalent(h), agp_hdr_lowest_equivalent(h, num(s, "min")));
	assert_int_equal(agp_hdr_max_equivalent(h), agp_hdr_highest_equivalent(h, num(s, "max")));
	json_decref(stats);

	/* --agent-type narrows; every type's intervals without it. */
	assert_int_equal(cli(&text, "hlog --agent-type reviewer"), 0);
	assert_null(strstr(text, "Tag=worker/"));
	assert_non_null(strstr(text, "Tag=reviewer/task_execution_time,"));
	free(text);
	assert_int_equal(cli(NULL, "hlog --since %lld", (long long)time(NULL) + 3600), 1);
	assert_int_equal(cli(NULL, "hlog --since yesterday"), 2);

	/* stats --hgrm: the daemon's percentile iteration (verb percentiles), row by row. */
	assert_int_equal(
	    cli(&text, "stats --hgrm --metric coordination_overhead --agent-type worker"), 0);
	json_t *points =
	    control("percentiles", json_pack("{s:s, s:s}", "metric", "coordination_overhead",
	                                     "agent_type", "worker"));
	json_t *list = json_object_get(points, "points");
	assert_true(json_array_size(list) > 10);
	char *line = strstr(text, "\n\n");
	assert_non_null(line);
	line += 2;
	size_t index;
	json_t *point;
	json_array_foreach(list, index, point)
	{
		double value, percentile, inverse;
		long long total;
		if (sscanf(line, "%lf %lf %lld %lf", &value, &percentile, &total, &inverse) < 3)
			fail_msg("row %zu of the .hgrm table is not a row: %.80s", index, line);
		double expected = (double)num(point, "value") / 1e6; /* printed in ms */
		if (fabs(value - expected) > 0.0005 + 1e-9 * expected)
			fail_msg("row %zu: %.3f ms, the daemon says %.6f", index, value, expected);
		assert_int_equal(total, num(point, "count"));
		assert_true(fabs(percentile * 100 -
		                 json_number_value(json_object_get(point, "percentile"))) < 1e-4);
		line = strchr(line, '\n') + 1;
	}
	assert_int_equal(strncmp(line, "#[Mean", 6), 0); /* then the footer */
	char footer[96];
	snprintf(footer, sizeof(footer), "Total count    = %12lld]", (long long)count);
	assert_non_null(strstr(line, footer));
	json_decref(points);
	free(text);
	agp_hdr_destroy(h);
	assert_int_equal(cli(NULL, "stats --hgrm"), 2); /* one metric (one unit) per table */
}

static void baseline_across_restart(void **state)
{
	(void)state;
	baseline_before = cli_json("baseline establish --min-samples 100");
	json_t *shown = cli_json("baseline show");
	assert_true(json_equal(baseline_before, shown));
	json_decref(shown);
	assert_true(num(baseline_before, "samples_count") >= 1000);

	/* The table from the daemon now, to compare with its files after the stop. */
	char *table_live, *table_files;
	assert_int_equal(cli(&table_live, "stats --hgrm --metric coordination_overhead"), 0);

	assert_int_equal(stop_daemon(daemon_pid), 0); /* a clean stop */
	daemon_pid = -1;
	char log[128], *text;
	snprintf(log, sizeof(log), "cat %s/daemon.log", folder);
	FILE *pipe = popen(log, "r");
	static char buffer[1 << 16];
	size_t length = fread(buffer, 1, sizeof(buffer) - 1, pipe);
	buffer[length] = '\0';
	pclose(pipe);
	assert_non_null(strstr(buffer, "final drain"));
	/* The stop wrote the open window too: the files hold everything the daemon showed. */
	assert_int_equal(cli(&table_files,
	                     "stats --hgrm --metric coordination_overhead --storage "
	                     "%s/storage",
	                     folder),
	                 0);
	assert_string_equal(table_files, table_live);
	free(table_live);
	free(table_files);

	/* With no collector, the survivor's samples wait in its ring. */
	agent_record(&survivor, 500);
	assert_int_equal(cli(&text, "status"), 3); /* nobody answers meanwhile */
	free(text);

	daemon_pid = start_daemon(true);
	json_t *shown_again = cli_json("baseline show");
	if (!json_equal(baseline_before, shown_again)) {
		char *a = json_dumps(baseline_before, JSON_SORT_KEYS);
		char *b = json_dumps(shown_again, JSON_SORT_KEYS);
		fail_msg("the baseline changed across the restart:\n%s\n%s", a, b);
	}
	json_decref(shown_again);

	/* The first daemon took 1000 of the survivor's samples: `earlier`; this one the rest. */
	wait_aggregated(500);
	json_t *entry = agent_entry(survivor.pid);
	assert_non_null(entry);
	assert_string_equal(json_string_value(json_object_get(entry, "state")), "live");
	assert_int_equal(num(entry, "earlier"), 1000);
	assert_int_equal(num(entry, "aggregated"), 500);
	assert_int_equal(num(entry, "samples"), 1500);
	assert_accounted(entry, "samples");
	json_decref(entry);
	agent_record(&survivor, 250);
	wait_aggregated(750);
	entry = agent_entry(survivor.pid);
	assert_int_equal(num(entry, "samples"), 1750);
	assert_int_equal(num(entry, "aggregated"), 750);
	assert_accounted(entry, "samples");
	json_decref(entry);
	json_t *status = cli_json("status");
	assert_accounted(status, "written");
	assert_int_equal(num(status, "earlier"), 1000);
	json_decref(status);

	agent_end(&survivor, false);
	assert_int_equal(stop_daemon(daemon_pid), 0);
	daemon_pid = -1;
}

/* Starts agentperfd expecting a refusal; returns its exit status and stderr in out. */
static int refused_start(const char *config, const char *variable, const char *value, char *out,
                         size_t len)
{
	char log[128];
	snprintf(log, sizeof(log), "%s/refused.log", folder);
	unlink(log);
	char refused_name[64];
	snprintf(refused_name, sizeof(refused_name), "%s-refused", name);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		dup2(fd, 2);
		if (variable)
			setenv(variable, value, 1);
		execl(AGP_DAEMON, AGP_DAEMON, "--name", refused_name, "--config", config,
		      "--unlink-on-exit", (char *)NULL);
		_exit(127);
	}
	int status = 0;
	int waited = 0;
	while (waitpid(pid, &status, WNOHANG) == 0) {
		if (waited > 5000) {
			kill(pid, SIGTERM); /* it started: stop it by its pid, then fail */
			waitpid(pid, &status, 0);
			fail_msg("agentperfd started instead of refusing");
		}
		sleep_ms(10);
		waited += 10;
	}
	FILE *in = fopen(log, "r");
	size_t got = in ? fread(out, 1, len - 1, in) : 0;
	out[got] = '\0';
	if (in)
		fclose(in);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void refuses_bad_config(void **state)
{
	(void)state;
	char bad[160], message[4096];
	snprintf(bad, sizeof(bad), "%s/bad-config.json", folder);
	FILE *file = fopen(bad, "w");
	fprintf(file, "{\"baseline\": {\"confidence_interval\": 1.5}}\n");
	fclose(file);
	assert_int_equal(refused_start(bad, NULL, NULL, message, sizeof(message)), 2);
	if (!strstr(message, "bad-config.json") || !strstr(message, "confidence_interval") ||
	    !strstr(message, "1.5"))
		fail_msg("the refusal does not name file, key and value:\n%s", message);

	/* A good file, a bad environment value: the variable is named. */
	assert_int_equal(refused_start(config_path, "CODEX_BASELINE_MIN_SAMPLES", "many", message,
	                               sizeof(message)),
	                 2);
	if (!strstr(message, "CODEX_BASELINE_MIN_SAMPLES"))
		fail_msg("the refusal does not name the variable:\n%s", message);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(accounting_kill_and_reclaim),
	    cmocka_unit_test(hlog_and_hgrm_from_daemon),
	    cmocka_unit_test(baseline_across_restart),
	    cmocka_unit_test(refuses_bad_config),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
