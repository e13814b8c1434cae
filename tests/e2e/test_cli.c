/*
 * The agentperf command line against a real agentperfd: the test starts the
 * daemon (its own deployment name, config, storage and socket folder), agent
 * processes that record known values, then runs every subcommand and checks
 * the numbers of their --json output, the files they write and their exit
 * statuses. On the raw socket it sends malformed, truncated, oversized and
 * stuck requests and checks that the daemon answers each with an error and
 * keeps serving everyone else; as root it checks that another uid is refused.
 *
 * Paths of the programs come from CMake: AGP_DAEMON, AGP_CLI, AGP_AGENT.
 */
#include <errno.h>
#include <grp.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "tests/support/cli_test_util.h"

#include "common/protocol.h"

#define MS 1000000LL

static char folder[64]; /* the test's temporary folder, also the working folder */
static char name[32];   /* deployment name */
static char socket_path[200];
static char config_path[128];
static pid_t daemon_pid = -1;
static pid_t live_agent_pid = -1;

/* The CLI against this test's deployment (tests/support/cli_test_util.h). */
#define cli(out, ...)          ct_cli(folder, name, out, __VA_ARGS__)
#define cli_json(status, args) ct_cli_json(folder, name, status, args)
#define num                    ct_num
#define sleep_ms               ct_sleep_ms

static void assert_near(double value, double expected, double relative)
{
	if (fabs(value - expected) > fabs(expected) * relative)
		fail_msg("%.6g is not within %.3g%% of %.6g", value, relative * 100, expected);
}

static pid_t spawn(char *const argv[], const char *log)
{
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (log) {
			int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execv(argv[0], argv);
		_exit(127);
	}
	return pid;
}

/* Records COUNT samples step, 2 step, ... of metric; holds the agent open hold_ms. */
static pid_t agent(const char *type, const char *agent_name, int metric, int count, long long step,
                   long hold_ms, bool wait)
{
	char metric_text[16], count_text[16], step_text[32], hold_text[16];
	snprintf(metric_text, sizeof(metric_text), "%d", metric);
	snprintf(count_text, sizeof(count_text), "%d", count);
	snprintf(step_text, sizeof(step_text), "%lld", step);
	snprintf(hold_text, sizeof(hold_text), "%ld", hold_ms);
	char *argv[] = {AGP_AGENT,          name,        (char *)type,
	                (char *)agent_name, metric_text, count_text,
	                step_text,          hold_text,   NULL};
	char log[128];
	snprintf(log, sizeof(log), "%s/agents.log", folder);
	pid_t pid = spawn(argv, log);
	if (wait) {
		int status;
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	return pid;
}

static int start(void **state)
{
	(void)state;
	snprintf(folder, sizeof(folder), "/tmp/agp-cli-XXXXXX");
	if (!mkdtemp(folder))
		return -1;
	if (chdir(folder))
		return -1;
	snprintf(name, sizeof(name), "clitest-%d", (int)getpid());
	char socket_folder[96];
	snprintf(socket_folder, sizeof(socket_folder), "%s/sock", folder);
	setenv("AGENTPERF_SOCKET_DIR", socket_folder, 1);
	snprintf(socket_path, sizeof(socket_path), "%s/%s.sock", socket_folder, name);
	snprintf(config_path, sizeof(config_path), "%s/config.json", folder);
	FILE *config = fopen(config_path, "w");
	fprintf(config,
	        "{\"monitoring\": {\"storage_dir\": \"%s/storage\", \"ci_export_file\": "
	        "\"%s/ci-default.json\"}, \"metrics\": {\"coordination_overhead\": "
	        "{\"expected_interval_ms\": 10}}}\n",
	        folder, folder);
	fclose(config);
	setenv("AGENTPERFD", AGP_DAEMON, 1);
	unsetenv("CODEX_CI_EXPORT_FILE");
	char log[128];
	snprintf(log, sizeof(log), "%s/daemon.log", folder);
	char *argv[] = {AGP_DAEMON,  "--name",           name, "--config",
	                config_path, "--unlink-on-exit", NULL};
	daemon_pid = spawn(argv, log);
	for (int waited = 0; waited < 5000; waited += 20) {
		if (cli(NULL, "status") == 0)
			break;
		sleep_ms(20);
	}
	/* Known values: coordination_overhead 1..100 ms on a live agent of type worker. */
	live_agent_pid = agent("worker", "w1", 0, 100, MS, 60000, false);
	/* task_execution_time 1..5 s: 3, 4 and 5 s are above the critical 2 s: alerts. */
	agent("slow", "s1", 1, 5, 1000 * MS, 0, true);
	/* Wait until the live agent's samples are aggregated. */
	for (int waited = 0; waited < 5000; waited += 20) {
		char *text;
		cli(&text, "status --json");
		json_t *status = json_loads(text, 0, NULL);
		free(text);
		double aggregated =
		    status ? json_number_value(json_object_get(status, "aggregated")) : 0;
		json_decref(status);
		if (aggregated >= 105)
			break;
		sleep_ms(20);
	}
	return 0;
}

static int stop(void **state)
{
	(void)state;
	if (live_agent_pid > 0) {
		kill(live_agent_pid, SIGTERM);
		waitpid(live_agent_pid, NULL, 0);
	}
	/* A clean stop exits 0; a sanitizer report or a crash would not. */
	return ct_daemon_stop(daemon_pid, folder);
}

static void status_and_agents(void **state)
{
	(void)state;
	json_t *status = cli_json(0, "status");
	assert_true(json_is_true(json_object_get(status, "up")));
	assert_string_equal(json_string_value(json_object_get(status, "deployment")), name);
	assert_int_equal(num(status, "pid"), daemon_pid);
	assert_int_equal(num(status, "written"), 105);
	assert_int_equal(num(status, "aggregated"), 105);
	assert_int_equal(num(status, "dropped"), 0);
	assert_int_equal(num(status, "invalid"), 0);
	assert_true(num(status, "agents_live") >= 1);
	assert_string_equal(json_string_value(json_object_get(status, "socket")), socket_path);
	/* 50.5 ms average coordination overhead: "excellent" below 100 ms. */
	assert_string_equal(json_string_value(json_object_get(status, "health")), "excellent");
	json_decref(status);

	json_t *agents = cli_json(0, "agents");
	json_t *list = json_object_get(agents, "agents");
	bool found = false;
	size_t index;
	json_t *entry;
	json_array_foreach(list, index, entry)
	{
		if (strcmp(json_string_value(json_object_get(entry, "name")), "w1"))
			continue;
		found = true;
		assert_string_equal(json_string_value(json_object_get(entry, "type")), "worker");
		assert_int_equal(num(entry, "pid"), live_agent_pid);
		assert_int_equal(num(entry, "samples"), 100);
		assert_int_equal(num(entry, "dropped"), 0);
		assert_string_equal(json_string_value(json_object_get(entry, "state")), "live");
	}
	assert_true(found);
	json_decref(agents);

	/* The table form names the agent too. */
	char *text;
	assert_int_equal(cli(&text, "agents"), 0);
	assert_non_null(strstr(text, "w1"));
	assert_non_null(strstr(text, "worker"));
	free(text);
}

static void stats_numbers(void **state)
{
	(void)state;
	json_t *stats = cli_json(0, "stats --metric coordination_overhead --agent-type worker");
	json_t *list = json_object_get(stats, "series");
	assert_int_equal(json_array_size(list), 1);
	json_t *s = json_array_get(list, 0);
	assert_string_equal(json_string_value(json_object_get(s, "unit")), "nanoseconds");
	assert_int_equal(num(s, "count"), 100);
	/* HDR with 3 significant figures: values within 0.1%. */
	assert_near(num(s, "mean"), 50.5 * MS, 0.001);
	assert_near(num(s, "min"), 1 * MS, 0.001);
	assert_near(num(s, "max"), 100 * MS, 0.001);
	assert_near(num(s, "p50"), 50 * MS, 0.002);
	assert_near(num(s, "p95"), 95 * MS, 0.002);
	assert_near(num(s, "p99"), 99 * MS, 0.002);
	assert_near(num(s, "stddev"), 29.011 * MS, 0.01); /* sample stddev of 1..100 */
	json_decref(stats);

	/* Per agent; and the window filter keeps them (recorded just now). */
	stats = cli_json(0, "stats --agent w1 --window 30m");
	list = json_object_get(stats, "series");
	assert_int_equal(json_array_size(list), 1);
	assert_int_equal(num(json_array_get(list, 0), "count"), 100);
	assert_string_equal(json_string_value(json_object_get(json_array_get(list, 0), "agent")),
	                    "w1");
	json_decref(stats);

	/*
	 * Coordinated-omission correction (expected interval 10 ms): a sample v
	 * above the interval adds v - 10, v - 20, ... down to 10 ms, the samples
	 * that would have been taken meanwhile (HdrHistogram's rule). For 1..100 ms
	 * that is 10 x (1 + ... + 8) + 9 = 369 more: 469.
	 */
	stats = cli_json(0, "stats --metric coordination_overhead --agent-type worker --corrected");
	s = json_array_get(json_object_get(stats, "series"), 0);
	assert_true(json_is_true(json_object_get(s, "corrected")));
	assert_int_equal(num(s, "count"), 469);
	assert_near(num(s, "max"), 100 * MS, 0.001);
	json_decref(stats);

	stats = cli_json(0, "stats --metric task_execution_time");
	s = json_array_get(json_object_get(stats, "series"), 0);
	assert_int_equal(num(s, "count"), 5);
	assert_near(num(s, "max"), 5000 * MS, 0.001);
	json_decref(stats);

	/* An unknown metric is a usage error that names the known ones, not an empty table. */
	char command[512], *refusal = NULL;
	snprintf(command, sizeof(command), "%s -n %s stats --metric no_such_metric 2>&1", AGP_CLI,
	         name);
	assert_int_equal(ct_run(&refusal, command), 2);
	assert_non_null(strstr(refusal, "agentperf stats: no metric 'no_such_metric'; known: "
	                                "coordination_overhead, task_execution_time"));
	free(refusal);

	char *text;
	assert_int_equal(cli(&text, "stats --metric coordination_overhead"), 0);
	assert_non_null(strstr(text, "50.50 ms")); /* the mean, in a readable unit */
	free(text);
	assert_int_equal(cli(NULL, "stats --window forever"), 2);
	assert_int_equal(cli(NULL, "stats --bogus"), 2);
}

static void baseline_validate_export_report(void **state)
{
	(void)state;
	assert_int_equal(cli(NULL, "baseline show"), 1); /* none yet */
	assert_int_equal(cli(NULL, "baseline establish --min-samples 1000"), 1);
	json_t *baseline = cli_json(0, "baseline establish --min-samples 50");
	assert_int_equal(num(baseline, "samples_count"), 100);
	assert_near(num(baseline, "coordination_overhead_ms"), 50.5, 0.001);
	json_decref(baseline);
	baseline = cli_json(0, "baseline show");
	assert_int_equal(num(baseline, "samples_count"), 100);
	json_decref(baseline);
	char path[160];
	snprintf(path, sizeof(path), "%s/storage/baseline.json", folder);
	assert_int_equal(access(path, R_OK), 0);

	json_t *validation = cli_json(0, "validate");
	assert_true(json_is_true(json_object_get(validation, "validated")));
	assert_int_equal(num(validation, "samples_analyzed"), 100);
	assert_near(num(validation, "avg_coordination_overhead_ms"), 50.5, 0.001);
	assert_near(num(validation, "p95_coordination_overhead_ms"), 95, 0.002);
	assert_true(json_is_true(json_object_get(validation, "meets_sub_200ms_requirement")));
	assert_true(json_is_true(json_object_get(validation, "meets_consistency_requirement")));
	json_decref(validation);
	assert_int_equal(cli(NULL, "validate --fail-on-violation"), 0);

	/* CI export to a named file and to the config's default file. */
	snprintf(path, sizeof(path), "%s/ci.json", folder);
	assert_int_equal(cli(NULL, "export --ci %s", path), 0);
	json_t *ci = json_load_file(path, 0, NULL);
	assert_non_null(ci);
	static const char *const keys[] = {
	    "performance_validation", "coordination_overhead_ms", "p95_coordination_overhead_ms",
	    "overall_health",         "baseline_established",     "total_metrics_collected",
	    "export_timestamp",       "meets_requirements",       "validation_passed"};
	for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
		if (!json_object_get(ci, keys[k]))
			fail_msg("CI export lacks %s", keys[k]);
	assert_near(num(ci, "coordination_overhead_ms"), 50.5, 0.001);
	assert_true(json_is_true(json_object_get(ci, "meets_requirements")));
	assert_true(json_equal(json_object_get(ci, "meets_requirements"),
	                       json_object_get(ci, "validation_passed")));
	assert_true(json_is_true(json_object_get(ci, "baseline_established")));
	json_decref(ci);
	assert_int_equal(cli(NULL, "export --ci"), 0);
	snprintf(path, sizeof(path), "%s/ci-default.json", folder);
	assert_int_equal(access(path, R_OK), 0);
	assert_int_equal(cli(NULL, "export"), 2); /* --ci is required */

	/* Report as JSON file and HTML file. */
	char json_path[160], html_path[160];
	snprintf(json_path, sizeof(json_path), "%s/report.json", folder);
	snprintf(html_path, sizeof(html_path), "%s/report.html", folder);
	assert_int_equal(cli(NULL, "report --json %s --html %s", json_path, html_path), 0);
	json_t *report = json_load_file(json_path, 0, NULL);
	assert_non_null(report);
	assert_non_null(json_object_get(report, "report_id"));
	assert_near(num(report, "avg_coordination_overhead"), 50.5, 0.001);
	json_decref(report);
	FILE *html = fopen(html_path, "r");
	assert_non_null(html);
	static char page[1 << 20];
	size_t length = fread(page, 1, sizeof(page) - 1, html);
	fclose(html);
	page[length] = '\0';
	assert_non_null(strstr(page, "<svg"));
	assert_non_null(strstr(page, "coordination_overhead"));
	assert_non_null(strstr(page, "task_execution_time"));
	assert_non_null(strstr(page, "baseline p95"));
	assert_non_null(strstr(page, "critical 200 ms"));
	assert_null(strstr(page, "<script")); /* self-contained, nothing fetched */
	assert_null(strstr(page, "src="));
	assert_null(strstr(page, "href="));
}

static void alerts_and_config(void **state)
{
	(void)state;
	json_t *alerts = cli_json(0, "alerts");
	json_t *list = json_object_get(alerts, "alerts");
	assert_true(json_array_size(list) >= 1);
	/* 2 s is above the warning (1 s), 3..5 s above the critical threshold (2 s). */
	bool critical = false;
	size_t index;
	json_t *alert;
	json_array_foreach(list, index, alert)
	{
		assert_string_equal(json_string_value(json_object_get(alert, "metric")),
		                    "task_execution_time");
		assert_string_equal(json_string_value(json_object_get(alert, "agent_type")),
		                    "slow");
		critical |=
		    strcmp(json_string_value(json_object_get(alert, "level")), "critical") == 0;
	}
	assert_true(critical);
	double newest = num(alerts, "newest");
	assert_true(newest >= 1);
	json_decref(alerts);
	char args[64];
	snprintf(args, sizeof(args), "alerts --since %.0f", newest);
	alerts = cli_json(0, args);
	assert_int_equal(json_array_size(json_object_get(alerts, "alerts")), 0);
	json_decref(alerts);

	/*
	 * --follow streams an alert raised while it runs (one JSON object a line).
	 * --foreground: timeout signals the command only, not its process group,
	 * where a sanitizer's exit-time helper process may live.
	 */
	char command[512];
	snprintf(
	    command, sizeof(command),
	    "timeout --foreground --preserve-status -s INT 1.5 %s -n %s alerts --follow --json",
	    AGP_CLI, name);
	FILE *follow = popen(command, "r");
	assert_non_null(follow);
	sleep_ms(400);
	agent("slow2", "s2", 1, 3, 1500 * MS, 0, true); /* 3 and 4.5 s: above critical */
	char line[2048];
	bool streamed = false;
	while (fgets(line, sizeof(line), follow)) {
		json_t *streamed_alert = json_loads(line, 0, NULL);
		assert_non_null(streamed_alert); /* every line is one JSON object */
		const char *type = json_string_value(json_object_get(streamed_alert, "agent_type"));
		streamed |= type && strcmp(type, "slow2") == 0;
		json_decref(streamed_alert);
	}
	int follow_status = pclose(follow);
	assert_true(WIFEXITED(follow_status) && WEXITSTATUS(follow_status) == 0);
	assert_true(streamed);

	json_t *config = cli_json(0, "config show");
	char storage[128];
	snprintf(storage, sizeof(storage), "%s/storage", folder);
	assert_string_equal(json_string_value(json_object_get(json_object_get(config, "monitoring"),
	                                                      "storage_dir")),
	                    storage);
	json_decref(config);

	/* check works without a daemon and names file and key. */
	char bad[160];
	snprintf(bad, sizeof(bad), "%s/bad.json", folder);
	FILE *file = fopen(bad, "w");
	fputs("{\"thresholds\": {\"coordination_overhead_critical_ms\": \"fast\"}}\n", file);
	fclose(file);
	char *text;
	assert_int_equal(cli(&text, "--socket /nonexistent config check %s", bad), 2);
	assert_non_null(strstr(text, bad));
	assert_non_null(strstr(text, "coordination_overhead_critical_ms"));
	free(text);
	assert_int_equal(cli(NULL, "--socket /nonexistent config check %s", config_path), 0);
	json_t *preset = cli_json(0, "config preset production");
	assert_int_equal(
	    num(json_object_get(preset, "thresholds"), "coordination_overhead_critical_ms"), 150);
	json_decref(preset);
	assert_int_equal(cli(NULL, "config preset fastest"), 2);
}

static void exit_statuses_and_help(void **state)
{
	(void)state;
	static const char *const commands[] = {"status",   "agents", "stats",  "baseline",
	                                       "validate", "export", "report", "alerts",
	                                       "config",   "top",    "run",    "cleanup"};
	for (size_t c = 0; c < sizeof(commands) / sizeof(commands[0]); c++) {
		char *text;
		assert_int_equal(cli(&text, "%s --help", commands[c]), 0);
		assert_non_null(strstr(text, "Usage: agentperf"));
		assert_non_null(strstr(text, "Exit status"));
		free(text);
	}
	assert_int_equal(cli(NULL, "no-such-command"), 2);
	/* The Task API's subcommands are reached through the dispatch table. */
	char *listing;
	assert_int_equal(cli(&listing, "agents --available"), 0);
	assert_non_null(strstr(listing, "code-reviewer"));
	free(listing);
	assert_int_equal(cli(NULL, "task"), 2);
	assert_int_equal(cli(NULL, "baseline sideways"), 2);
	/* Unreachable: status 3 and the path tried on stderr. */
	char errfile[128];
	snprintf(errfile, sizeof(errfile), "%s/cli.err", folder);
	truncate(errfile, 0);
	assert_int_equal(cli(NULL, "--socket %s/none.sock status", folder), 3);
	FILE *err = fopen(errfile, "r");
	char line[512] = "";
	assert_non_null(fgets(line, sizeof(line), err));
	fclose(err);
	assert_non_null(strstr(line, "none.sock"));
}

/* ---- raw socket ---- */

static int raw_connect(void)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un address = {.sun_family = AF_UNIX};
	strcpy(address.sun_path, socket_path);
	assert_int_equal(connect(fd, (struct sockaddr *)&address, sizeof(address)), 0);
	return fd;
}

/* Reads one reply frame (within 3 s); returns its error code, 0 for ok, -1 when closed. */
static int raw_reply(int fd)
{
	unsigned char header[4];
	size_t got = 0;
	static char payload[1 << 20];
	struct pollfd p = {.fd = fd, .events = POLLIN};
	while (got < 4) {
		if (poll(&p, 1, 3000) != 1)
			return -2;
		ssize_t n = read(fd, header + got, 4 - got);
		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	uint32_t length = agp_frame_length(header);
	assert_true(length <= sizeof(payload));
	got = 0;
	while (got < length) {
		if (poll(&p, 1, 3000) != 1)
			return -2;
		ssize_t n = read(fd, payload + got, length - got);
		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	struct agp_reply reply;
	char err[256];
	assert_int_equal(agp_protocol_decode_reply(payload, length, &reply, err, sizeof(err)), 0);
	if (reply.ok) {
		json_decref(reply.result);
		return 0;
	}
	return reply.code;
}

static void raw_send(int fd, const void *data, size_t length)
{
	assert_int_equal(send(fd, data, length, MSG_NOSIGNAL), (ssize_t)length);
}

static void frame_send(int fd, const void *payload, uint32_t length)
{
	unsigned char header[4] = {(unsigned char)(length >> 24), (unsigned char)(length >> 16),
	                           (unsigned char)(length >> 8), (unsigned char)length};
	raw_send(fd, header, 4);
	raw_send(fd, payload, length);
}

/* The connection is closed by the daemon: read gives EOF. */
static void assert_closed(int fd)
{
	char byte;
	struct pollfd p = {.fd = fd, .events = POLLIN};
	assert_int_equal(poll(&p, 1, 3000), 1);
	assert_true(read(fd, &byte, 1) <= 0);
	close(fd);
}

static void status_works(void)
{
	int fd = raw_connect();
	msgpack_sbuffer frame;
	msgpack_sbuffer_init(&frame);
	assert_int_equal(agp_protocol_encode_request(&frame, "status", NULL), 0);
	raw_send(fd, frame.data, frame.size);
	assert_int_equal(raw_reply(fd), 0);
	/* The connection stays usable for a second request. */
	raw_send(fd, frame.data, frame.size);
	assert_int_equal(raw_reply(fd), 0);
	msgpack_sbuffer_destroy(&frame);
	close(fd);
}

static void hostile_requests(void **state)
{
	(void)state;
	/* A stuck client: half a header, then nothing; it must not delay anyone. */
	int stuck = raw_connect();
	raw_send(stuck, "\x00\x00", 2);

	int fd = raw_connect(); /* malformed msgpack */
	frame_send(fd, "\xc1\xc1\xc1", 3);
	assert_int_equal(raw_reply(fd), EPROTO);
	assert_closed(fd);

	fd = raw_connect(); /* a map with an unknown verb */
	static const unsigned char unknown_verb[] = {0x82, 0xa1, 'v',  0x01, 0xa4, 'v', 'e',
	                                             'r',  'b',  0xa4, 'h',  'a',  'l', 't'};
	frame_send(fd, unknown_verb, sizeof(unknown_verb));
	assert_int_equal(raw_reply(fd), EOPNOTSUPP);
	assert_closed(fd);

	fd = raw_connect(); /* version 2 */
	static const unsigned char version2[] = {0x82, 0xa1, 'v', 0x02, 0xa4, 'v', 'e', 'r',
	                                         'b',  0xa6, 's', 't',  'a',  't', 'u', 's'};
	frame_send(fd, version2, sizeof(version2));
	assert_int_equal(raw_reply(fd), EPROTONOSUPPORT);
	assert_closed(fd);

	fd = raw_connect(); /* an array claiming 4 billion elements */
	frame_send(fd, "\xdd\xff\xff\xff\xff", 5);
	assert_int_equal(raw_reply(fd), EPROTO);
	assert_closed(fd);

	fd = raw_connect();                  /* oversized: refused on the header alone */
	raw_send(fd, "\x00\x20\x00\x00", 4); /* 2 MiB */
	assert_int_equal(raw_reply(fd), EMSGSIZE);
	assert_closed(fd);

	fd = raw_connect(); /* empty frame */
	raw_send(fd, "\x00\x00\x00\x00", 4);
	assert_int_equal(raw_reply(fd), EPROTO);
	assert_closed(fd);

	fd = raw_connect(); /* truncated: 100 bytes announced, 10 sent, then the end */
	raw_send(fd, "\x00\x00\x00\x64", 4);
	raw_send(fd, "0123456789", 10);
	shutdown(fd, SHUT_WR);
	assert_closed(fd);

	/* Everyone else is served promptly while the stuck client still hangs. */
	struct timespec before, after;
	clock_gettime(CLOCK_MONOTONIC, &before);
	status_works();
	clock_gettime(CLOCK_MONOTONIC, &after);
	double seconds =
	    (double)(after.tv_sec - before.tv_sec) + (double)(after.tv_nsec - before.tv_nsec) / 1e9;
	assert_true(seconds < 1.0);
	assert_int_equal(cli(NULL, "status"), 0);
	close(stuck);
	assert_int_equal(kill(daemon_pid, 0), 0); /* still alive */
}

static void other_uid_refused(void **state)
{
	(void)state;
	if (geteuid() != 0) {
		skip(); /* needs root to become another uid */
		return;
	}
	/*
	 * The file modes already keep other uids out (0700 folder, 0600 socket).
	 * Widen them here so the connection reaches the daemon's own check:
	 * SO_PEERCRED must refuse it on its own.
	 */
	char socket_folder[96];
	snprintf(socket_folder, sizeof(socket_folder), "%s/sock", folder);
	struct stat before;
	assert_int_equal(stat(socket_folder, &before), 0);
	assert_int_equal(before.st_mode & 0777, 0700);
	assert_int_equal(stat(socket_path, &before), 0);
	assert_int_equal(before.st_mode & 0777, 0600);
	chmod(folder, 0711);
	chmod(socket_folder, 0711);
	chmod(socket_path, 0666);
	pid_t child = fork();
	if (child == 0) {
		if (setgid(65534) || setuid(65534))
			_exit(10);
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		struct sockaddr_un address = {.sun_family = AF_UNIX};
		strcpy(address.sun_path, socket_path);
		if (connect(fd, (struct sockaddr *)&address, sizeof(address)))
			_exit(11);
		msgpack_sbuffer frame;
		msgpack_sbuffer_init(&frame);
		agp_protocol_encode_request(&frame, "status", NULL);
		(void)!send(fd, frame.data, frame.size, MSG_NOSIGNAL);
		_exit(raw_reply(fd) == EACCES ? 0 : 12);
	}
	int status;
	assert_int_equal(waitpid(child, &status, 0), child);
	chmod(socket_path, 0600);
	chmod(socket_folder, 0700);
	chmod(folder, 0700);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	/* The refusal is logged. */
	char log[128], command[256];
	snprintf(log, sizeof(log), "%s/daemon.log", folder);
	snprintf(command, sizeof(command), "grep -q 'uid 65534.*refused' %s", log);
	assert_int_equal(system(command), 0);
	status_works();
}

/*
 * monitoring.group: a second daemon gives its socket folder and socket to a
 * group (0710/0660); a member of that group of another uid is served, an
 * outsider cannot even connect.
 */
static void group_member_allowed(void **state)
{
	(void)state;
	if (geteuid() != 0) {
		skip();
		return;
	}
	char group_name[48], group_config[160], group_socket[200], log[160];
	snprintf(group_name, sizeof(group_name), "%s-g", name);
	snprintf(group_config, sizeof(group_config), "%s/group.json", folder);
	snprintf(group_socket, sizeof(group_socket), "%s/sock/%s.sock", folder, group_name);
	snprintf(log, sizeof(log), "%s/daemon-group.log", folder);
	FILE *config = fopen(group_config, "w");
	fprintf(config,
	        "{\"monitoring\": {\"storage_dir\": \"%s/storage-g\", \"group\": \"65534\"}}\n",
	        folder);
	fclose(config);
	char *argv[] = {AGP_DAEMON,   "--name",           group_name, "--config",
	                group_config, "--unlink-on-exit", NULL};
	pid_t group_daemon = spawn(argv, log);
	struct stat info;
	for (int waited = 0; waited < 5000 && stat(group_socket, &info); waited += 20)
		sleep_ms(20);
	sleep_ms(50);
	assert_int_equal(stat(group_socket, &info), 0);
	assert_int_equal(info.st_mode & 0777, 0660);
	assert_int_equal(info.st_gid, 65534);
	char socket_folder[96];
	snprintf(socket_folder, sizeof(socket_folder), "%s/sock", folder);
	chmod(folder, 0711); /* the test's own folder; the daemon's folder is 0710 */
	int results[2];
	for (int outsider = 0; outsider < 2; outsider++) {
		pid_t child = fork();
		if (child == 0) {
			gid_t gid = outsider ? 12345 : 65534;
			if (setgroups(0, NULL) || setgid(gid) || setuid(65534))
				_exit(10);
			int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
			struct sockaddr_un address = {.sun_family = AF_UNIX};
			strcpy(address.sun_path, group_socket);
			if (connect(fd, (struct sockaddr *)&address, sizeof(address)))
				_exit(errno == EACCES ? 20 : 11);
			msgpack_sbuffer frame;
			msgpack_sbuffer_init(&frame);
			agp_protocol_encode_request(&frame, "status", NULL);
			(void)!send(fd, frame.data, frame.size, MSG_NOSIGNAL);
			_exit(raw_reply(fd) == 0 ? 0 : 12);
		}
		int status;
		assert_int_equal(waitpid(child, &status, 0), child);
		results[outsider] = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	}
	chmod(folder, 0700);
	kill(group_daemon, SIGTERM);
	waitpid(group_daemon, NULL, 0);
	assert_int_equal(results[0], 0);  /* a member: served */
	assert_int_equal(results[1], 20); /* an outsider: the file modes stop it */
}

/* Last: adds slow samples so the requirements fail, then checks the failing statuses. */
static void violation_statuses(void **state)
{
	(void)state;
	/* 100 more samples of 10..1000 ms: the average goes to 277.75 ms > 200 ms. */
	agent("worker", "w2", 0, 100, 10 * MS, 0, true);
	for (int waited = 0; waited < 3000; waited += 20) {
		json_t *status = cli_json(0, "status");
		double aggregated = num(status, "aggregated");
		json_decref(status);
		if (aggregated >= 205)
			break;
		sleep_ms(20);
	}
	json_t *validation = cli_json(0, "validate");
	assert_false(json_is_true(json_object_get(validation, "validated")));
	assert_int_equal(num(validation, "samples_analyzed"), 200);
	assert_near(num(validation, "avg_coordination_overhead_ms"), 277.75, 0.001);
	assert_false(json_is_true(json_object_get(validation, "meets_sub_200ms_requirement")));
	json_decref(validation);
	assert_int_equal(cli(NULL, "validate --fail-on-violation"), 1);
	char path[160];
	snprintf(path, sizeof(path), "%s/ci-fail.json", folder);
	/* ci_fail_on_threshold_violation is on by default. */
	assert_int_equal(cli(NULL, "export --ci %s", path), 1);
	json_t *ci = json_load_file(path, 0, NULL);
	assert_non_null(ci);
	assert_false(json_is_true(json_object_get(ci, "meets_requirements")));
	json_decref(ci);
}

/* run: a private collector for a new name, CMD's failure (6), an agent's samples validated. */
static void run_command(void **state)
{
	(void)state;
	char run_name[80], command[1024];
	snprintf(run_name, sizeof(run_name), "%s-run", name);
	/* A failing command: 6 (its own status is in the output), and the private daemon is gone
	 * afterwards. */
	snprintf(command, sizeof(command),
	         "%s run --name %s --ci %s/run-ci.json --html %s/run.html -- sh -c 'exit 7' "
	         ">/dev/null 2>>%s/cli.err",
	         AGP_CLI, run_name, folder, folder, folder);
	int status = system(command);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 6);
	snprintf(command, sizeof(command), "%s --name %s status >/dev/null 2>&1", AGP_CLI,
	         run_name);
	status = system(command);
	assert_int_equal(WEXITSTATUS(status), 3);

	/* An agent under run: its requirements are met; no baseline is no failure any more: 0. */
	snprintf(command, sizeof(command),
	         "%s run --name %s --ci %s/run-ci.json --html %s/run.html -- %s %s worker r1 0 "
	         "50 1000000 0 >/dev/null 2>>%s/cli.err",
	         AGP_CLI, run_name, folder, folder, AGP_AGENT, run_name, folder);
	status = system(command);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	snprintf(command, sizeof(command), "%s/run-ci.json", folder);
	json_t *ci = json_load_file(command, 0, NULL);
	assert_non_null(ci);
	assert_int_equal(num(json_object_get(ci, "performance_validation"), "samples_analyzed"),
	                 50);
	assert_false(json_is_true(json_object_get(ci, "baseline_established")));
	json_decref(ci);
	snprintf(command, sizeof(command), "%s/run.html", folder);
	assert_int_equal(access(command, R_OK), 0);
	/* The private collector took its segment with it. */
	snprintf(command, sizeof(command), "/dev/shm/agentperf.%s", run_name);
	assert_int_equal(access(command, F_OK), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(status_and_agents),
	    cmocka_unit_test(stats_numbers),
	    cmocka_unit_test(baseline_validate_export_report),
	    cmocka_unit_test(alerts_and_config),
	    cmocka_unit_test(exit_statuses_and_help),
	    cmocka_unit_test(hostile_requests),
	    cmocka_unit_test(other_uid_refused),
	    cmocka_unit_test(group_member_allowed),
	    cmocka_unit_test(violation_statuses),
	    cmocka_unit_test(run_command),
	};
	return cmocka_run_group_tests(tests, start, stop);
}
