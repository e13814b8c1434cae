/*
 * bench/collector: the collector's own costs, each beside a floor measured
 * in the same run.
 *
 *  1. Samples per second drained AND aggregated by a real collector (its
 *     drain thread in this process) from 1, 2 and 8 producer processes
 *     recording flat out, beside raw ck_ring cross-process throughput.
 *  2. Visibility: time from agp_record() until a refreshed snapshot shows
 *     the sample, after idle gaps of 0..5 ms (p50/p99).
 *  3. Resident memory of the aggregation state for 64 agents x 7 metrics
 *     with 24 h of 5-minute windows, every window filled, at two densities.
 */
#include <errno.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <agentperf/agentperf.h>

#include "bench/bench_util.h"
#include "collector/collector.h"
#include "collector/drain/series.h"

#define TRIALS       5
#define MEASURE_NS   (1000ull * 1000 * 1000)
#define WARMUP_US    200000
#define LATENCY_RUNS 1000

struct control {
	_Atomic int stop;
	_Atomic int ready;
};

static void die(const char *what)
{
	fprintf(stderr, "bench/collector: %s: %s\n", what, agp_last_error());
	exit(1);
}

static pid_t start_producer(const char *deployment, int number, struct control *control)
{
	pid_t pid = fork();
	if (pid != 0)
		return pid;
	char name[32];
	snprintf(name, sizeof(name), "producer%d", number);
	struct agp_agent_options options = {deployment};
	agp_agent *agent;
	if (agp_agent_open(name, "bench", &options, &agent) != 0)
		_exit(2);
	/* Release: the parent counts producers that are recording. */
	atomic_fetch_add_explicit(&control->ready, 1, memory_order_release);
	int64_t value = 1000;
	while (!atomic_load_explicit(&control->stop, memory_order_relaxed)) {
		value = value * 1103515245 % 100000000 + 1000; /* spread over buckets */
		while (!agp_record(agent, AGP_METRIC_TASK_EXECUTION_TIME, value, 1) &&
		       !atomic_load_explicit(&control->stop, memory_order_relaxed))
			;
	}
	agp_agent_close(agent);
	_exit(0);
}

static uint64_t aggregated_now(struct agp_collector *collector)
{
	if (agp_collector_refresh(collector, 2000) != 0)
		die("refresh");
	const struct agp_snapshot *snapshot = agp_snapshot_read_begin(collector);
	uint64_t aggregated = snapshot->totals.aggregated;
	agp_snapshot_read_end(snapshot);
	return aggregated;
}

static double trial_drain(struct agp_collector *collector, int producers)
{
	struct control *control =
	    mmap(NULL, sizeof(*control), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	pid_t pids[16];
	for (int p = 0; p < producers; p++)
		pids[p] = start_producer(collector->segment.deployment, p, control);
	/* Acquire: pairs with the producers' ready increments. */
	while (atomic_load_explicit(&control->ready, memory_order_acquire) < producers)
		usleep(1000);
	usleep(WARMUP_US);
	uint64_t start = agp_bench_now_ns(), before = aggregated_now(collector);
	struct timespec pause = {0, (long)MEASURE_NS};
	nanosleep(&pause, NULL);
	uint64_t after = aggregated_now(collector), elapsed = agp_bench_now_ns() - start;
	/* Relaxed: a flag the producers poll. */
	atomic_store_explicit(&control->stop, 1, memory_order_relaxed);
	for (int p = 0; p < producers; p++)
		waitpid(pids[p], NULL, 0);
	munmap(control, sizeof(*control));
	return (double)(after - before) * 1e9 / (double)elapsed;
}

static int compare_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

static void visibility(struct agp_collector *collector, double *p50_ms, double *p99_ms)
{
	struct agp_agent_options options = {collector->segment.deployment};
	agp_agent *agent;
	if (agp_agent_open("probe", "latency", &options, &agent) != 0)
		die("opening the probe agent");
	static uint64_t latencies[LATENCY_RUNS];
	srand(11);
	for (int run = 0; run < LATENCY_RUNS; run++) {
		usleep((useconds_t)(rand() % 5000)); /* let the drain thread back off */
		uint64_t start = agp_bench_now_ns();
		agp_record(agent, AGP_METRIC_RESULT_PROCESSING, 1000, (uint64_t)run);
		for (;;) {
			if (agp_collector_refresh(collector, 1000) != 0)
				die("refresh");
			const struct agp_snapshot *snapshot = agp_snapshot_read_begin(collector);
			const struct agp_snapshot_series *series =
			    agp_snapshot_find_series(snapshot, "latency", "", "result_processing");
			bool seen = series && series->total_count == (uint64_t)run + 1;
			agp_snapshot_read_end(snapshot);
			if (seen)
				break;
		}
		latencies[run] = agp_bench_now_ns() - start;
	}
	agp_agent_close(agent);
	qsort(latencies, LATENCY_RUNS, sizeof(latencies[0]), compare_u64);
	*p50_ms = (double)latencies[LATENCY_RUNS / 2] / 1e6;
	*p99_ms = (double)latencies[LATENCY_RUNS * 99 / 100] / 1e6;
}

/*
 * 64 agents of 8 types x 7 metrics, 288 five-minute windows, each window of
 * each per-agent series filled with per_window samples (300: one a second,
 * an agent doing a task a second all day) from a wide log-normal
 * distribution, so nearly every sample lands in its own counter: the hard
 * case for compact windows. The per-type series get 8 agents' samples each.
 */
static void aggregation_memory(int per_window, uint64_t *rss_bytes, size_t *series_count)
{
	enum { AGENTS = 64, TYPES = 8, METRICS = 7, WINDOWS = 288 };
	const uint64_t window_ns = 300ull * 1000 * 1000 * 1000;
	struct agp_series_params params = {1, 3600ll * 1000 * 1000 * 1000, 3, window_ns, WINDOWS};
	uint64_t before = agp_bench_rss_bytes();
	struct agp_series_table table;
	if (agp_series_table_init(&table, &params, 0) != 0)
		die("series table");
	struct agp_series *series[AGENTS][METRICS][2];
	for (int a = 0; a < AGENTS; a++)
		for (int m = 0; m < METRICS; m++) {
			char type[16], agent[16];
			snprintf(type, sizeof(type), "type%d", a % TYPES);
			snprintf(agent, sizeof(agent), "agent%d", a);
			const char *metric = agp_builtin_metric_name((unsigned)m);
			enum agp_unit unit = agp_builtin_metric_unit((unsigned)m);
			series[a][m][0] =
			    agp_series_get(&table, type, "", (uint16_t)m, unit, metric, 0);
			series[a][m][1] =
			    agp_series_get(&table, type, agent, (uint16_t)m, unit, metric, 0);
		}
	srand(5);
	for (int w = 0; w < WINDOWS + 1; w++) {
		uint64_t now = (uint64_t)w * window_ns + 1;
		agp_series_table_rotate(&table, now);
		for (int a = 0; a < AGENTS; a++)
			for (int m = 0; m < METRICS; m++)
				for (int i = 0; i < per_window; i++) {
					/* Log-normal-ish latencies around 1 ms, memory around 100
					 * MB. */
					double u = (rand() + 1.0) / (RAND_MAX + 2.0);
					double v =
					    exp(log(1e6) + 0.8 * sqrt(-2 * log(u)) *
					                       cos(6.2831853 * rand() / RAND_MAX));
					int64_t value = m == AGP_METRIC_MEMORY_USAGE
					                    ? (int64_t)(v * 100)
					                    : (int64_t)v;
					agp_series_record(&table, series[a][m][0], value, now);
					agp_series_record(&table, series[a][m][1], value, now);
				}
	}
	*rss_bytes = agp_bench_rss_bytes() - before;
	*series_count = agp_series_table_count(&table);
	agp_series_table_destroy(&table);
}

int main(void)
{
	char deployment[64], storage[128];
	snprintf(deployment, sizeof(deployment), "benchc%ld", (long)getpid());
	snprintf(storage, sizeof(storage), "/tmp/agentperf-bench-%ld", (long)getpid());
	static struct agp_config config;
	agp_config_defaults(&config);
	snprintf(config.monitoring.storage_dir, sizeof(config.monitoring.storage_dir), "%s",
	         storage);
	config.monitoring.enable_threshold_alerts = false;
	struct agp_collector_options options;
	agp_collector_options_default(&options);
	options.deployment = deployment;
	options.layout.slot_count = 16;
	static struct agp_collector collector;
	if (agp_collector_open(&collector, &options, &config) != 0 ||
	    agp_collector_start(&collector) != 0)
		die("starting the collector");

	static const int producer_counts[] = {1, 2, 8};
	double floor[TRIALS], drained[3][TRIALS];
	for (int t = 0; t < TRIALS; t++) {
		floor[t] = agp_bench_ck_ring_cross_process(MEASURE_NS);
		for (int p = 0; p < 3; p++)
			drained[p][t] = trial_drain(&collector, producer_counts[p]);
	}
	double m_floor = agp_bench_median(floor, TRIALS);
	printf("bench/collector: medians of %d trials of %.1f s\n", TRIALS, MEASURE_NS / 1e9);
	printf("  %-48s %7.1f M samples/s\n", "raw ck_ring, one producer process (floor)",
	       m_floor / 1e6);
	for (int p = 0; p < 3; p++) {
		double m = agp_bench_median(drained[p], TRIALS);
		char label[64];
		snprintf(label, sizeof(label), "drained + aggregated, %d producer%s",
		         producer_counts[p], producer_counts[p] > 1 ? "s" : "");
		printf("  %-48s %7.1f M samples/s  %.2fx floor%s\n", label, m / 1e6, m / m_floor,
		       p == 0 ? (m / m_floor >= 0.6 ? " (target >= 0.6: met)"
		                                    : " (target >= 0.6: MISSED)")
		              : "");
	}

	double p50, p99;
	visibility(&collector, &p50, &p99);
	printf("  %-48s p50 %.3f ms, p99 %.3f ms (target p99 <= 10 ms: %s)\n",
	       "record -> visible in a refreshed snapshot", p50, p99, p99 <= 10 ? "met" : "MISSED");
	agp_collector_close(&collector, true);

	/* Each density in a fresh process, so that one run's freed heap does not flatter the next.
	 */
	static const int densities[] = {100, 300};
	for (int d = 0; d < 2; d++) {
		fflush(stdout);
		pid_t child = fork();
		if (child == 0) {
			uint64_t rss;
			size_t series_count;
			aggregation_memory(densities[d], &rss, &series_count);
			char label[96];
			snprintf(label, sizeof(label),
			         "aggregation state, %d samples/agent/metric/5 min", densities[d]);
			printf(
			    "  %-48s %7.1f MiB, %zu series x 288 windows (target <= 64 MiB: %s)\n",
			    label, rss / 1048576.0, series_count,
			    rss <= 64ull << 20 ? "met" : "MISSED");
			fflush(stdout);
			_exit(0);
		}
		waitpid(child, NULL, 0);
	}
	char command[256];
	snprintf(command, sizeof(command), "rm -rf %s", storage);
	return system(command) == 0 ? 0 : 1;
}
