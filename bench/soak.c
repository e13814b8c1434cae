/*
 * bench/soak: a real agentperfd under a steady load for a long time.
 *
 *   soak [--seconds N] [--rate SAMPLES_PER_S] [--agents K] [--warmup S]
 *        [--window-seconds S] [--retention-hours H]
 *
 * (defaults: 600 s, 1000000/s, 4 agents, a warm-up through the first window's close (the window
 * plus 30 s) when that leaves 40 % of the run, else a tenth of the run but at least 5 s, and the
 * daemon's own defaults for the window and the retention: 5 min and 24 h.) Starts agentperfd on a
 * private deployment (soak-PID, its own config, storage and socket folders), forks K agent
 * processes that together record RATE samples per second, paced against the clock
 * (task_execution_time, values spread over 1 us .. 1 ms), for N seconds. Once a second it reads the
 * daemon's resident memory and CPU time from /proc, and from `agentperf status --json` the bytes
 * its retained closed windows take (retained_window_bytes). At the end each agent reports over a
 * pipe what it did by its own count (the samples agp_record() took, and those it refused because
 * the ring was full), the daemon's totals are read once nothing is pending, and it prints:
 *
 *   - the achieved rate;
 *   - the daemon's RSS after the warm-up, at the end and at its highest after the warm-up, and
 *     two drifts relative to after the warm-up: of RSS itself (highest - after warm-up), and of
 *     RSS less the retained closed windows (target: within 1 %);
 *   - the daemon's CPU seconds per million samples, over the whole run;
 *   - unaccounted samples: the agents' own counts of what their rings took and refused against
 *     the daemon's aggregated and dropped, and written against aggregated + invalid + discarded
 *     + dropped + pending + earlier + lost_on_reclaim (target: 0 and 0).
 *
 * Closed windows are kept for the retention, by design: with the defaults the daemon's memory
 * grows by one closed window of every series every 5 minutes for 24 hours, so RSS itself keeps
 * growing in a 10-minute run, and the drift that says whether anything else grows is the one
 * less the retained windows. A warm-up longer than a short retention (e.g. --window-seconds 10
 * --retention-hours 0.02 --warmup 120) reaches the steady state of RSS itself.
 *
 * Exit status 0 when every target is met, 1 otherwise.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include <agentperf/agentperf.h>

#include "bench/bench_util.h"

#define AGENTS_MAX 64

struct soak {
	long seconds;
	long rate;
	int agents;
	long warmup;            /* 0: see default_warmup */
	long window_seconds;    /* 0: the daemon's default */
	double retention_hours; /* 0: the daemon's default */
	char folder[64];
	char name[32];
	char config[128];
	pid_t daemon;
};

static void sleep_ns(uint64_t ns)
{
	struct timespec pause = {(time_t)(ns / 1000000000u), (long)(ns % 1000000000u)};
	nanosleep(&pause, NULL);
}

/* `agentperf -n NAME status --json`, parsed; NULL when the daemon does not answer. */
static json_t *daemon_status(const struct soak *soak)
{
	char command[512];
	snprintf(command, sizeof(command), "%s -n %s status --json 2>/dev/null", AGP_CLI,
	         soak->name);
	FILE *pipe = popen(command, "r");
	if (!pipe)
		return NULL;
	json_error_t error;
	json_t *status = json_loadf(pipe, 0, &error);
	pclose(pipe);
	return status;
}

static uint64_t field(const json_t *status, const char *key)
{
	return (uint64_t)json_integer_value(json_object_get(status, key));
}

/* What an agent process says it did, by its own count. */
struct agent_count {
	uint64_t taken;   /* agp_record() returned true */
	uint64_t refused; /* false: the ring was full */
};

/* The daemon's retained closed windows in bytes; false when it does not answer. */
static bool retained_windows(const struct soak *soak, uint64_t *bytes)
{
	json_t *status = daemon_status(soak);
	if (!status)
		return false;
	*bytes = field(status, "retained_window_bytes");
	json_decref(status);
	return true;
}

/* The daemon's resident bytes and CPU ticks (user + system) from /proc. */
static bool daemon_usage(pid_t pid, uint64_t *rss_bytes, uint64_t *cpu_ticks)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/statm", (int)pid);
	FILE *file = fopen(path, "r");
	unsigned long long size, resident;
	if (!file)
		return false;
	int got = fscanf(file, "%llu %llu", &size, &resident);
	fclose(file);
	if (got != 2)
		return false;
	*rss_bytes = resident * (uint64_t)sysconf(_SC_PAGESIZE);
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	file = fopen(path, "r");
	if (!file)
		return false;
	char text[1024];
	size_t length = fread(text, 1, sizeof(text) - 1, file);
	fclose(file);
	text[length] = '\0';
	const char *after_name = strrchr(text, ')'); /* the command may hold spaces */
	unsigned long long utime, stime;
	if (!after_name ||
	    sscanf(after_name + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime,
	           &stime) != 2)
		return false;
	*cpu_ticks = utime + stime;
	return true;
}

static pid_t start_daemon(struct soak *soak)
{
	char log[128];
	snprintf(log, sizeof(log), "%s/daemon.log", soak->folder);
	pid_t pid = fork();
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
		dup2(fd, 1);
		dup2(fd, 2);
		execl(AGP_DAEMON, AGP_DAEMON, "--name", soak->name, "--config", soak->config,
		      "--unlink-on-exit", (char *)NULL);
		_exit(127);
	}
	for (int waited = 0; pid > 0 && waited < 5000; waited += 20) {
		json_t *status = daemon_status(soak);
		if (status) {
			json_decref(status);
			return pid;
		}
		sleep_ns(20 * 1000 * 1000);
	}
	fprintf(stderr, "soak: agentperfd did not answer within 5 s (log: %s)\n", log);
	return -1;
}

/* One agent process: rate samples/s, paced, for seconds; writes its own count to report_fd. */
static void agent_main(const struct soak *soak, int index, long rate, int report_fd)
{
	char name[32];
	snprintf(name, sizeof(name), "soak-%d", index);
	struct agp_agent_options options = {soak->name};
	agp_agent *agent;
	if (agp_agent_open(name, "soak", &options, &agent) != 0) {
		fprintf(stderr, "soak: agent %d: %s\n", index, agp_last_error());
		_exit(1);
	}
	uint64_t start = agp_bench_now_ns(), duration = (uint64_t)soak->seconds * 1000000000u;
	uint64_t sent = 0;
	struct agent_count count = {0, 0};
	for (;;) {
		uint64_t elapsed = agp_bench_now_ns() - start;
		if (elapsed >= duration)
			break;
		uint64_t due = (uint64_t)((double)elapsed * (double)rate / 1e9);
		for (; sent < due; sent++) {
			if (agp_record(agent, AGP_METRIC_TASK_EXECUTION_TIME,
			               (int64_t)(1000 + (sent * 2654435761u) % 999000), sent))
				count.taken++;
			else
				count.refused++;
		}
		sleep_ns(200 * 1000);
	}
	agp_agent_close(agent);
	/* Less than PIPE_BUF: one write, never interleaved with another agent's. */
	_exit(write(report_fd, &count, sizeof(count)) == sizeof(count) ? 0 : 1);
}

/*
 * The first window's close runs code for the first time (encoding, the checks of closed windows,
 * the interval log), and the allocator keeps the pages it used: a warm-up that ends before it
 * counts that one-time step as drift. So the warm-up lasts through it (the window plus 30 s)
 * when that leaves at least 40 % of the run to measure (270 s of a 10-minute run with 5-minute
 * windows), else a tenth of the run, at least 5 s.
 */
static long default_warmup(const struct soak *soak)
{
	long window = soak->window_seconds ? soak->window_seconds : 300;
	if (window + 30 <= soak->seconds * 6 / 10)
		return window + 30;
	return soak->seconds / 10 < 5 ? 5 : soak->seconds / 10;
}

static int parse(int argc, char **argv, struct soak *soak)
{
	soak->seconds = 600;
	soak->rate = 1000000;
	soak->agents = 4;
	soak->warmup = 0;
	soak->window_seconds = 0;
	soak->retention_hours = 0;
	for (int i = 1; i < argc; i++) {
		long *target = NULL;
		long agents = 0;
		if (strcmp(argv[i], "--retention-hours") == 0 && i + 1 < argc) {
			char *end;
			soak->retention_hours = strtod(argv[++i], &end);
			if (*end || !(soak->retention_hours > 0)) {
				fprintf(stderr,
				        "soak: --retention-hours '%s' is not a positive number\n",
				        argv[i]);
				return 2;
			}
			continue;
		}
		if (strcmp(argv[i], "--seconds") == 0)
			target = &soak->seconds;
		else if (strcmp(argv[i], "--warmup") == 0)
			target = &soak->warmup;
		else if (strcmp(argv[i], "--window-seconds") == 0)
			target = &soak->window_seconds;
		else if (strcmp(argv[i], "--rate") == 0)
			target = &soak->rate;
		else if (strcmp(argv[i], "--agents") == 0)
			target = &agents;
		if (!target || i + 1 >= argc) {
			fprintf(stderr,
			        "usage: soak [--seconds N] [--rate SAMPLES_PER_S] [--agents K] "
			        "[--warmup S] [--window-seconds S] [--retention-hours H]\n");
			return 2;
		}
		char *end;
		errno = 0;
		*target = strtol(argv[++i], &end, 10);
		if (errno || *end || *target <= 0) {
			fprintf(stderr, "soak: %s '%s' is not a positive integer\n", argv[i - 1],
			        argv[i]);
			return 2;
		}
		if (target == &agents) {
			if (agents > AGENTS_MAX) {
				fprintf(stderr, "soak: --agents %ld: at most %d\n", agents,
				        AGENTS_MAX);
				return 2;
			}
			soak->agents = (int)agents;
		}
	}
	if (soak->warmup >= soak->seconds) {
		fprintf(stderr, "soak: --warmup %ld must be shorter than --seconds %ld\n",
		        soak->warmup, soak->seconds);
		return 2;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct soak soak;
	int status = parse(argc, argv, &soak);
	if (status)
		return status;
	snprintf(soak.folder, sizeof(soak.folder), "/tmp/agp-soak-XXXXXX");
	if (!mkdtemp(soak.folder)) {
		perror("soak: mkdtemp");
		return 1;
	}
	snprintf(soak.name, sizeof(soak.name), "soak-%d", (int)getpid());
	snprintf(soak.config, sizeof(soak.config), "%s/config.json", soak.folder);
	char socket_folder[96];
	snprintf(socket_folder, sizeof(socket_folder), "%s/sock", soak.folder);
	setenv("AGENTPERF_SOCKET_DIR", socket_folder, 1);
	FILE *config = fopen(soak.config, "w");
	if (!config) {
		perror("soak: config");
		return 1;
	}
	fprintf(
	    config,
	    "{\"monitoring\": {\"storage_dir\": \"%s/storage\", \"ci_export_file\": \"%s/ci.json\"",
	    soak.folder, soak.folder);
	if (soak.window_seconds)
		fprintf(config, ", \"aggregation_window_seconds\": %ld", soak.window_seconds);
	if (soak.retention_hours > 0)
		fprintf(config, ", \"metric_retention_hours\": %g", soak.retention_hours);
	fprintf(config, "}}\n");
	fclose(config);

	soak.daemon = start_daemon(&soak);
	if (soak.daemon < 0)
		return 1;
	uint64_t rss_start = 0, cpu_start = 0;
	daemon_usage(soak.daemon, &rss_start, &cpu_start);

	int reports[2];
	if (pipe(reports) != 0) {
		perror("soak: pipe");
		return 1;
	}
	pid_t agents[AGENTS_MAX];
	long per_agent = soak.rate / soak.agents;
	uint64_t started = agp_bench_now_ns();
	for (int a = 0; a < soak.agents; a++) {
		agents[a] = fork();
		if (agents[a] == 0)
			agent_main(&soak, a, per_agent, reports[1]);
	}
	close(reports[1]);

	long warmup = soak.warmup ? soak.warmup : default_warmup(&soak);
	uint64_t rss_warm = 0, rss_high = 0, rss_end = 0, cpu_end = 0;
	/* RSS less the retained closed windows: after warm-up, highest, and the windows then. */
	uint64_t other_warm = 0, other_high = 0, windows_warm = 0, windows_end = 0;
	for (long second = 1; second <= soak.seconds; second++) {
		uint64_t next = started + (uint64_t)second * 1000000000u, now = agp_bench_now_ns();
		if (next > now)
			sleep_ns(next - now);
		uint64_t rss, cpu;
		if (!daemon_usage(soak.daemon, &rss, &cpu)) {
			fprintf(stderr, "soak: agentperfd (pid %d) is gone after %ld s\n",
			        (int)soak.daemon, second);
			return 1;
		}
		uint64_t windows = windows_end;
		if (second >= warmup && !retained_windows(&soak, &windows)) {
			fprintf(stderr, "soak: agentperfd (pid %d) stopped answering after %ld s\n",
			        (int)soak.daemon, second);
			return 1;
		}
		uint64_t other = rss > windows ? rss - windows : 0;
		if (second == warmup) {
			rss_warm = rss;
			other_warm = other;
			windows_warm = windows;
		}
		if (second >= warmup && rss > rss_high)
			rss_high = rss;
		if (second >= warmup && other > other_high)
			other_high = other;
		rss_end = rss;
		windows_end = windows;
		if (second % 60 == 0)
			fprintf(
			    stderr,
			    "soak: %ld s, daemon RSS %.2f MiB, retained closed windows %.2f MiB\n",
			    second, (double)rss / 1048576.0, (double)windows / 1048576.0);
	}

	uint64_t agents_taken = 0, agents_refused = 0;
	for (int a = 0; a < soak.agents; a++) {
		struct agent_count count;
		int child_status;
		if (read(reports[0], &count, sizeof(count)) != sizeof(count) ||
		    waitpid(agents[a], &child_status, 0) < 0) {
			fprintf(stderr, "soak: agent %d did not report\n", a);
			return 1;
		}
		agents_taken += count.taken;
		agents_refused += count.refused;
	}
	uint64_t agents_written = agents_taken + agents_refused;
	uint64_t elapsed_ns = agp_bench_now_ns() - started;

	json_t *totals = NULL;
	for (int attempt = 0; attempt < 500; attempt++) {
		json_decref(totals);
		totals = daemon_status(&soak);
		if (totals && field(totals, "pending") == 0 &&
		    field(totals, "aggregated") + field(totals, "dropped") >= agents_written)
			break;
		sleep_ns(20 * 1000 * 1000);
	}
	uint64_t rss_unused;
	daemon_usage(soak.daemon, &rss_unused, &cpu_end);
	if (!totals) {
		fprintf(stderr, "soak: agentperfd stopped answering\n");
		return 1;
	}
	uint64_t written = field(totals, "written");
	uint64_t parts = field(totals, "aggregated") + field(totals, "invalid") +
	                 field(totals, "discarded") + field(totals, "dropped") +
	                 field(totals, "pending") + field(totals, "earlier") +
	                 field(totals, "lost_on_reclaim");
	/* The agents' own counts against the daemon's: what the rings took, what they refused. */
	long long unaccounted_agents =
	    llabs((long long)agents_taken - (long long)field(totals, "aggregated")) +
	    llabs((long long)agents_refused - (long long)field(totals, "dropped"));
	long long unaccounted_parts = (long long)written - (long long)parts;
	double cpu_s = (double)(cpu_end - cpu_start) / (double)sysconf(_SC_CLK_TCK);
	double drift = rss_warm ? ((double)rss_high - (double)rss_warm) / (double)rss_warm : 0;
	double other_drift =
	    other_warm ? ((double)other_high - (double)other_warm) / (double)other_warm : 0;

	char window[32] = "default (5 min)", retention[32] = "default (24 h)";
	if (soak.window_seconds)
		snprintf(window, sizeof(window), "%ld s", soak.window_seconds);
	if (soak.retention_hours > 0)
		snprintf(retention, sizeof(retention), "%g h", soak.retention_hours);
	printf("bench/soak: %d agents, %ld samples/s asked, %ld s (warm-up %ld s), window %s, "
	       "retention %s\n",
	       soak.agents, soak.rate, soak.seconds, warmup, window, retention);
	printf("  samples written          %llu (%.3f M/s achieved), dropped %llu\n",
	       (unsigned long long)agents_written, (double)agents_written / elapsed_ns * 1e3,
	       (unsigned long long)field(totals, "dropped"));
	printf("  daemon RSS               start %.1f MiB, after warm-up %.2f MiB, end %.2f MiB, "
	       "highest after warm-up %.2f MiB\n",
	       rss_start / 1048576.0, rss_warm / 1048576.0, rss_end / 1048576.0,
	       rss_high / 1048576.0);
	printf("  retained closed windows  after warm-up %.2f MiB, end %.2f MiB (kept for the "
	       "retention by design)\n",
	       windows_warm / 1048576.0, windows_end / 1048576.0);
	printf(
	    "  RSS drift after warm-up  %+.2f %% of RSS itself; %+.2f %% of RSS less the retained "
	    "windows (%.2f -> highest %.2f MiB; target within 1 %%): %s\n",
	    drift * 100, other_drift * 100, other_warm / 1048576.0, other_high / 1048576.0,
	    other_drift <= 0.01 ? "met" : "MISSED");
	printf("  daemon CPU               %.2f s, %.3f s per million samples\n", cpu_s,
	       agents_written ? cpu_s / ((double)agents_written / 1e6) : 0);
	printf(
	    "  unaccounted              %lld (agents' own taken and refused against the daemon's "
	    "aggregated and dropped), %lld (written - aggregated - invalid - discarded - "
	    "dropped - pending - earlier - lost_on_reclaim) (target 0): %s\n",
	    unaccounted_agents, unaccounted_parts,
	    unaccounted_agents == 0 && unaccounted_parts == 0 ? "met" : "MISSED");
	json_decref(totals);

	kill(soak.daemon, SIGTERM);
	waitpid(soak.daemon, &status, 0);
	char command[160];
	snprintf(command, sizeof(command), "rm -rf %s", soak.folder);
	if (system(command) != 0)
		fprintf(stderr, "soak: could not remove %s\n", soak.folder);
	return other_drift <= 0.01 && unaccounted_agents == 0 && unaccounted_parts == 0 ? 0 : 1;
}
