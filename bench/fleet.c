/*
 * bench/fleet: `agentperf fleet stats --files` at fleet scale. It generates the interval logs of
 * HOSTS simulated hosts (7 metrics x 24 h of 5-minute windows each, SAMPLES samples per window
 * drawn from a fixed-seed generator, every host its own scale), then times, in alternating
 * trials, two child processes over the same files:
 *   - the floor: this program re-executed with --read, which reads every byte of the files
 *     (fread into a 1 MiB buffer, summing the bytes so the reads cannot be skipped);
 *   - the merge: the real `agentperf fleet stats --json --files ...` (parsing, base64, zlib,
 *     decoding every interval, exact merges, per-host tails).
 * Each trial's CPU time (user + system), wall time and peak resident memory (wait4's rusage)
 * are taken; medians of the trials are printed side by side, and the ratios of CPU time (the
 * wall time of a shared machine mostly measures its load) and memory. The files stay in the page
 * cache (a first untimed read), so the floor is the cost of reading the bytes, not of the disk.
 *
 *   ./build/bench/fleet [HOSTS [TRIALS]]     (default 100 hosts, 5 trials)
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench/bench_util.h"
#include "hdr/histogram.h"
#include "hdr/interval_log.h"

#define METRICS        7
#define WINDOWS        288 /* 24 h of 5-minute windows */
#define WINDOW_S       300.0
#define SAMPLES        200 /* per window and metric */
#define DEFAULT_HOSTS  100
#define DEFAULT_TRIALS 5

static const struct {
	const char *tag;
	double scale; /* median of the metric, in its unit */
	bool nanoseconds;
} metrics[METRICS] = {
    {"worker/coordination_overhead", 4e6, true}, {"worker/task_execution_time", 80e6, true},
    {"worker/agent_initialization", 12e6, true}, {"worker/result_processing", 1e6, true},
    {"worker/parallel_coordination", 9e6, true}, {"worker/memory_usage", 256e6, false},
    {"worker/error_recovery_time", 30e6, true},
};

static uint64_t rng_state = 0x9e3779b97f4a7c15u;
static double uniform(void) /* xorshift64*, in (0, 1) */
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return ((double)((rng_state * 0x2545f4914f6cdd1dULL) >> 11) + 0.5) / 9007199254740992.0;
}

/* A log-normal sample around scale (sigma 0.6): a long right tail, as latencies have. */
static int64_t sample(double scale)
{
	double normal = sqrt(-2 * log(uniform())) * cos(2 * M_PI * uniform());
	double value = scale * exp(0.6 * normal);
	return value < 1 ? 1 : value > 3e12 ? (int64_t)3e12 : (int64_t)value;
}

static int generate(const char *dir, int hosts, char **paths, uint64_t *bytes)
{
	struct agp_hdr *h = NULL;
	if (agp_hdr_create(1, INT64_C(3600000000000), 3, &h))
		return -ENOMEM;
	*bytes = 0;
	for (int host = 0; host < hosts; host++) {
		if (asprintf(&paths[host], "%s/host%03d.hlog", dir, host) < 0)
			return -ENOMEM;
		FILE *out = fopen(paths[host], "w");
		if (!out)
			return -errno;
		double host_scale = 0.7 + 0.6 * (double)host / hosts; /* every host its own */
		int64_t base_ms = INT64_C(1764547200000);
		agp_hlog_write_header(out, "bench/fleet", base_ms, base_ms);
		for (int w = 0; w < WINDOWS; w++)
			for (int m = 0; m < METRICS; m++) {
				agp_hdr_reset(h);
				for (int s = 0; s < SAMPLES; s++)
					agp_hdr_record(h, sample(metrics[m].scale * host_scale));
				if (agp_hlog_write_interval(out, metrics[m].tag, w * WINDOW_S,
				                            WINDOW_S, h,
				                            metrics[m].nanoseconds ? 1e6 : 1.0))
					return -EIO;
			}
		if (fclose(out))
			return -EIO;
		struct stat st;
		if (stat(paths[host], &st) == 0)
			*bytes += (uint64_t)st.st_size;
	}
	agp_hdr_destroy(h);
	return 0;
}

/* The floor's child: reads every byte of the files. */
static int read_files(int count, char **paths)
{
	static char buffer[1 << 20];
	uint64_t sum = 0;
	for (int f = 0; f < count; f++) {
		FILE *in = fopen(paths[f], "r");
		if (!in)
			return 1;
		size_t got;
		while ((got = fread(buffer, 1, sizeof(buffer), in)) > 0)
			for (size_t i = 0; i < got; i += 64)
				sum += (unsigned char)buffer[i];
		fclose(in);
	}
	return sum == 42 ? 3 : 0; /* uses the sum; never 42 in practice */
}

/*
 * Runs argv as a child with stdout to /dev/null; its wall time and CPU time (user + system, s:
 * what the machine's load does not inflate) and peak RSS (bytes).
 */
static int run_child(char **argv, double *seconds, double *cpu_seconds, double *peak_bytes)
{
	uint64_t start = agp_bench_now_ns();
	pid_t pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		if (!freopen("/dev/null", "w", stdout))
			_exit(127);
		execv(argv[0], argv);
		_exit(127);
	}
	int status;
	struct rusage usage;
	if (wait4(pid, &status, 0, &usage) != pid)
		return -errno;
	*seconds = (double)(agp_bench_now_ns() - start) / 1e9;
	*peak_bytes = (double)usage.ru_maxrss * 1024.0;
	*cpu_seconds = (double)(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
	               (double)(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "bench/fleet: %s exited with %d\n", argv[0],
		        WIFEXITED(status) ? WEXITSTATUS(status) : -1);
		return -ECHILD;
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "--read") == 0)
		return read_files(argc - 2, argv + 2);
	int hosts = argc >= 2 ? atoi(argv[1]) : DEFAULT_HOSTS;
	int trials = argc >= 3 ? atoi(argv[2]) : DEFAULT_TRIALS;
	if (hosts < 1 || trials < 1 || trials > 99) {
		fprintf(stderr, "usage: %s [HOSTS [TRIALS]]\n", argv[0]);
		return 2;
	}
	char dir[] = "/tmp/agp-bench-fleet.XXXXXX";
	if (!mkdtemp(dir))
		return 1;
	char **paths = calloc((size_t)hosts, sizeof(*paths));
	uint64_t bytes = 0;
	uint64_t generate_start = agp_bench_now_ns();
	int error = generate(dir, hosts, paths, &bytes);
	if (error) {
		fprintf(stderr, "bench/fleet: generating the logs: %s\n", strerror(-error));
		return 1;
	}
	double generate_s = (double)(agp_bench_now_ns() - generate_start) / 1e9;

	char **read_argv = calloc((size_t)hosts + 3, sizeof(char *));
	char **merge_argv = calloc((size_t)hosts + 6, sizeof(char *));
	read_argv[0] = "/proc/self/exe";
	read_argv[1] = "--read";
	char self[4096];
	ssize_t self_length = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (self_length <= 0)
		return 1;
	self[self_length] = '\0';
	read_argv[0] = self;
	merge_argv[0] = AGP_CLI;
	merge_argv[1] = "fleet";
	merge_argv[2] = "stats";
	merge_argv[3] = "--json";
	merge_argv[4] = "--files";
	for (int host = 0; host < hosts; host++)
		read_argv[2 + host] = merge_argv[5 + host] = paths[host];

	double read_s[100], read_cpu[100], read_mem[100], merge_s[100], merge_cpu[100],
	    merge_mem[100], ratio_cpu[100];
	double warm_s, warm_cpu, warm_mem;
	if (run_child(read_argv, &warm_s, &warm_cpu, &warm_mem)) /* into the page cache */
		return 1;
	for (int t = 0; t < trials; t++) {
		if (run_child(read_argv, &read_s[t], &read_cpu[t], &read_mem[t]) ||
		    run_child(merge_argv, &merge_s[t], &merge_cpu[t], &merge_mem[t]))
			return 1;
		ratio_cpu[t] = merge_cpu[t] / read_cpu[t];
	}
	double intervals = (double)hosts * METRICS * WINDOWS;
	double r_s = agp_bench_median(read_s, trials), m_s = agp_bench_median(merge_s, trials);
	double r_cpu = agp_bench_median(read_cpu, trials),
	       m_cpu = agp_bench_median(merge_cpu, trials);
	double r_mem = agp_bench_median(read_mem, trials),
	       m_mem = agp_bench_median(merge_mem, trials);
	printf("bench/fleet: %d hosts x %d metrics x %d windows (24 h of 5 min), %d samples each:\n"
	       "  %.0f intervals, %.1f MiB of .hlog (generated in %.1f s); medians of %d trials\n",
	       hosts, METRICS, WINDOWS, SAMPLES, intervals, (double)bytes / 1048576.0, generate_s,
	       trials);
	printf("  %-44s %9s %9s %10s\n", "", "CPU", "wall", "peak RSS");
	printf("  %-44s %7.3f s %7.3f s %6.1f MiB\n", "floor: read the same bytes (fread)", r_cpu,
	       r_s, r_mem / 1048576.0);
	printf("  %-44s %7.3f s %7.3f s %6.1f MiB\n", "agentperf fleet stats --files (exact merge)",
	       m_cpu, m_s, m_mem / 1048576.0);
	printf("  merge / read: %.0fx the CPU time (median of the paired ratios %.0fx), %.1fx the\n"
	       "  peak memory; %.1f us of CPU per interval, %.0f MiB of .hlog per CPU second\n",
	       m_cpu / r_cpu, agp_bench_median(ratio_cpu, trials), m_mem / r_mem,
	       m_cpu / intervals * 1e6, (double)bytes / 1048576.0 / m_cpu);
	for (int host = 0; host < hosts; host++) {
		unlink(paths[host]);
		free(paths[host]);
	}
	rmdir(dir);
	free(paths);
	free(read_argv);
	free(merge_argv);
	return 0;
}
