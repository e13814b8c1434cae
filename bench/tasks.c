/*
 * bench/tasks: what a task's trip through the Task API costs, beside the
 * floor it is built on, measured in the same run.
 *
 *  - floor: a futex wake round trip between two processes that sleep in
 *    FUTEX_WAIT (one wake each way), on a MAP_SHARED page;
 *  - coordination overhead (the call until the worker begins) and the full
 *    round trip (call to result in hand) of an empty builtin task and of an
 *    empty plugin task, "hot" (tasks back to back, the worker still
 *    spinning) and "cold" (300 us between tasks, past both sides' 20 us
 *    spin, so the worker sleeps in FUTEX_WAIT and must be woken);
 *  - tasks/s through agp_task_submit/agp_task_wait_all with 1, 2 and 4
 *    workers.
 *
 * Every figure is the median over TRIALS trials of that trial's percentile.
 * Usage: bench/tasks [trips-per-trial]
 */
#include <agentperf/task.h>

#include "bench/bench_util.h"

#include <linux/futex.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define TRIALS       5
#define COLD_GAP_US  300
#define SEED_LOW_MS  0.10
#define SEED_HIGH_MS 0.43

/* ---- the floor: futex ping-pong between two processes ---- */

static void futex_wait_value(_Atomic uint32_t *word, uint32_t value)
{
	/* Acquire: the other side's store is what we wait for. */
	while (atomic_load_explicit(word, memory_order_acquire) == value)
		syscall(SYS_futex, (uint32_t *)word, FUTEX_WAIT, value, NULL, NULL, 0);
}

static void futex_store_wake(_Atomic uint32_t *word, uint32_t value)
{
	/* Release: publishes the turn; the wake makes the sleeper look. */
	atomic_store_explicit(word, value, memory_order_release);
	syscall(SYS_futex, (uint32_t *)word, FUTEX_WAKE, 1, NULL, NULL, 0);
}

static void futex_round_trips(size_t trips, unsigned gap_us, double *p50_us, double *p99_us)
{
	_Atomic uint32_t *word =
	    mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	atomic_store_explicit(word, 0, memory_order_relaxed);
	pid_t child = fork();
	if (child == 0) {
		for (uint32_t k = 0;; k++) {
			futex_wait_value(word, 2 * k);     /* wait for the ping 2k+1 */
			futex_store_wake(word, 2 * k + 2); /* pong */
		}
	}
	double *samples = malloc(trips * sizeof(double));
	double p50s[TRIALS], p99s[TRIALS];
	uint32_t k = 0;
	for (int trial = 0; trial < TRIALS; trial++) {
		for (size_t i = 0; i < trips; i++, k++) {
			if (gap_us)
				usleep(gap_us);
			uint64_t start = agp_bench_now_ns();
			futex_store_wake(word, 2 * k + 1);
			futex_wait_value(word, 2 * k + 1);
			samples[i] = (double)(agp_bench_now_ns() - start) / 1e3;
		}
		p50s[trial] = agp_bench_percentile(samples, (int)(trips), 0.50);
		p99s[trial] = agp_bench_percentile(samples, (int)(trips), 0.99);
	}
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	munmap((void *)word, 4096);
	free(samples);
	*p50_us = agp_bench_median(p50s, (int)(TRIALS));
	*p99_us = agp_bench_median(p99s, (int)(TRIALS));
}

/* ---- tasks ---- */

struct trip_figures {
	double coordination_p50, coordination_p99, coordination_mean;
	double round_trip_p50, round_trip_p99;
	size_t failures;
};

static void measure_trips(const char *agent, size_t trips, unsigned gap_us,
                          struct trip_figures *figures)
{
	double *coordination = malloc(trips * sizeof(double));
	double *round_trip = malloc(trips * sizeof(double));
	double c50[TRIALS], c99[TRIALS], cmean[TRIALS], r50[TRIALS], r99[TRIALS];
	memset(figures, 0, sizeof(*figures));
	for (int warm = 0; warm < 200; warm++) {
		struct agp_task_result result;
		agp_task(agent, "x", "", &result);
		agp_task_result_free(&result);
	}
	for (int trial = 0; trial < TRIALS; trial++) {
		double sum = 0;
		for (size_t i = 0; i < trips; i++) {
			if (gap_us)
				usleep(gap_us);
			struct agp_task_result result;
			uint64_t start = agp_bench_now_ns();
			agp_task(agent, "x", "", &result);
			uint64_t end = agp_bench_now_ns();
			if (!result.success)
				figures->failures++;
			round_trip[i] = (double)(end - start) / 1e3;
			coordination[i] = result.metadata.coordination_overhead * 1e6;
			sum += coordination[i];
			agp_task_result_free(&result);
		}
		cmean[trial] = sum / (double)trips;
		c50[trial] = agp_bench_percentile(coordination, (int)(trips), 0.50);
		c99[trial] = agp_bench_percentile(coordination, (int)(trips), 0.99);
		r50[trial] = agp_bench_percentile(round_trip, (int)(trips), 0.50);
		r99[trial] = agp_bench_percentile(round_trip, (int)(trips), 0.99);
	}
	figures->coordination_p50 = agp_bench_median(c50, (int)(TRIALS));
	figures->coordination_p99 = agp_bench_median(c99, (int)(TRIALS));
	figures->coordination_mean = agp_bench_median(cmean, (int)(TRIALS));
	figures->round_trip_p50 = agp_bench_median(r50, (int)(TRIALS));
	figures->round_trip_p99 = agp_bench_median(r99, (int)(TRIALS));
	free(coordination);
	free(round_trip);
}

static double tasks_per_second(const char *agent, size_t count)
{
	agp_task_handle **handles = malloc(count * sizeof(*handles));
	struct agp_task_result *results = malloc(count * sizeof(*results));
	double rates[TRIALS];
	for (int trial = 0; trial < TRIALS; trial++) {
		uint64_t start = agp_bench_now_ns();
		for (size_t i = 0; i < count; i++)
			handles[i] = agp_task_submit(agent, "x", "");
		agp_task_wait_all(handles, count, results);
		uint64_t end = agp_bench_now_ns();
		for (size_t i = 0; i < count; i++)
			agp_task_result_free(&results[i]);
		rates[trial] = (double)count / ((double)(end - start) / 1e9);
	}
	free(handles);
	free(results);
	return agp_bench_median(rates, (int)(TRIALS));
}

static void write_agent(const char *dir, const char *id, const char *runner, unsigned workers)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s.json", dir, id);
	FILE *file = fopen(path, "w");
	if (!file) {
		perror(path);
		exit(1);
	}
	fprintf(file, "{\"id\": \"%s\", \"runner\": %s, \"workers\": %u}\n", id, runner, workers);
	fclose(file);
}

static const char *verdict(double ratio, double target)
{
	return ratio <= target ? "meets" : "MISSES";
}

static void print_trips(const char *what, const struct trip_figures *f, double futex_p50)
{
	printf("%-22s coordination p50 %7.2f us (%5.2fx futex)  p99 %7.2f us (%5.2fx)  mean %7.2f "
	       "us\n",
	       what, f->coordination_p50, f->coordination_p50 / futex_p50, f->coordination_p99,
	       f->coordination_p99 / futex_p50, f->coordination_mean);
	printf("%-22s round trip   p50 %7.2f us (%5.2fx futex)  p99 %7.2f us (%5.2fx)%s\n", "",
	       f->round_trip_p50, f->round_trip_p50 / futex_p50, f->round_trip_p99,
	       f->round_trip_p99 / futex_p50, f->failures ? "  (SOME TASKS FAILED)" : "");
	printf("%-22s targets: coordination p50 <= 1x %s, p99 <= 10x %s, round trip p50 <= 2x %s\n",
	       "", verdict(f->coordination_p50 / futex_p50, 1.0),
	       verdict(f->coordination_p99 / futex_p50, 10.0),
	       verdict(f->round_trip_p50 / futex_p50, 2.0));
}

static void print_cold(const struct trip_figures *f, double cold_p50)
{
	printf("%-22s against the cold futex round trip: coordination p50 %.2fx, p99 %.2fx, round "
	       "trip p50 %.2fx\n",
	       "", f->coordination_p50 / cold_p50, f->coordination_p99 / cold_p50,
	       f->round_trip_p50 / cold_p50);
}

int main(int argc, char **argv)
{
	size_t trips = argc > 1 ? strtoul(argv[1], NULL, 10) : 2000;
	if (trips < 10)
		trips = 10;
	char dir[128], deployment[64];
	snprintf(deployment, sizeof(deployment), "bench%d", (int)getpid());
	snprintf(dir, sizeof(dir), "/tmp/agp-bench-%d", (int)getpid());
	mkdir(dir, 0700);
	write_agent(dir, "empty", "{\"kind\": \"builtin\", \"name\": \"empty\"}", 1);
	char plugin[1024];
	snprintf(plugin, sizeof(plugin),
	         "{\"kind\": \"plugin\", \"path\": \"%s\", \"symbol\": \"agp_bench_empty\"}",
	         AGP_BENCH_PLUGIN);
	write_agent(dir, "plugin", plugin, 1);
	write_agent(dir, "empty2", "{\"kind\": \"builtin\", \"name\": \"empty\"}", 2);
	write_agent(dir, "empty4", "{\"kind\": \"builtin\", \"name\": \"empty\"}", 4);
	struct agp_task_options options = {.agents_dir = dir, .deployment = deployment};
	if (agp_task_init(&options) != 0 || *agp_task_load_messages()) {
		fprintf(stderr, "bench/tasks: cannot start: %s\n", agp_task_load_messages());
		return 1;
	}

	printf("bench/tasks: %d trials x %zu trips; medians of per-trial percentiles; %ld CPUs\n\n",
	       TRIALS, trips, sysconf(_SC_NPROCESSORS_ONLN));
	/*
	 * The floor is measured before and after the tasks and the lower one is
	 * used: on a busy machine it drifts, and the lower floor is the stricter
	 * yardstick for the ratios.
	 */
	double futex_p50, futex_p99, before_p50, before_p99;
	futex_round_trips(trips * 5, 0, &before_p50, &before_p99);
	struct trip_figures figures[4];
	measure_trips("empty", trips, 0, &figures[0]);
	measure_trips("empty", trips / 4, COLD_GAP_US, &figures[1]);
	measure_trips("plugin", trips, 0, &figures[2]);
	measure_trips("plugin", trips / 4, COLD_GAP_US, &figures[3]);
	double after_p50, after_p99;
	futex_round_trips(trips * 5, 0, &after_p50, &after_p99);
	double cold_p50, cold_p99;
	futex_round_trips(trips / 4, COLD_GAP_US, &cold_p50, &cold_p99);
	futex_p50 = before_p50 < after_p50 ? before_p50 : after_p50;
	futex_p99 = before_p50 < after_p50 ? before_p99 : after_p99;
	printf("%-22s p50 %7.2f us  p99 %7.2f us   (the floor: two processes, FUTEX_WAIT both "
	       "ways;\n%-22s before %.2f us, after %.2f us: the lower is used)\n\n",
	       "futex round trip", futex_p50, futex_p99, "", before_p50, after_p50);
	printf("%-22s p50 %7.2f us  p99 %7.2f us   (the same after a %d us pause: the sleeper's "
	       "core\n%-22s has gone idle, as a cold worker's has)\n\n",
	       "futex round trip, cold", cold_p50, cold_p99, COLD_GAP_US, "");
	print_trips("builtin empty, hot", &figures[0], futex_p50);
	print_trips("builtin empty, cold", &figures[1], futex_p50);
	print_cold(&figures[1], cold_p50);
	print_trips("plugin empty, hot", &figures[2], futex_p50);
	print_trips("plugin empty, cold", &figures[3], futex_p50);
	print_cold(&figures[3], cold_p50);
	printf("\nthe seed's claim, 0.10-0.43 ms average coordination overhead around a mock:\n");
	const char *names[] = {"builtin hot", "builtin cold", "plugin hot", "plugin cold"};
	for (int i = 0; i < 4; i++)
		printf("  %-13s mean %7.4f ms = %.4fx of 0.10 ms, %.4fx of 0.43 ms\n", names[i],
		       figures[i].coordination_mean / 1e3,
		       figures[i].coordination_mean / 1e3 / SEED_LOW_MS,
		       figures[i].coordination_mean / 1e3 / SEED_HIGH_MS);

	printf("\nthroughput, agp_task_submit + agp_task_wait_all of %zu empty tasks (cap 10):\n",
	       trips * 5);
	const char *pools[] = {"empty", "empty2", "empty4"};
	double one = 0;
	for (int i = 0; i < 3; i++) {
		double rate = tasks_per_second(pools[i], trips * 5);
		if (i == 0)
			one = rate;
		printf("  %u worker%s %10.0f tasks/s  (%.2fx of 1 worker; %.2f us per task = %.2fx "
		       "futex)\n",
		       1u << i, i ? "s" : " ", rate, rate / one, 1e6 / rate,
		       1e6 / rate / futex_p50);
	}
	agp_task_shutdown();
	char shm_name[96];
	snprintf(shm_name, sizeof(shm_name), "/agentperf.%s", deployment);
	shm_unlink(shm_name);
	char command[200];
	snprintf(command, sizeof(command), "rm -rf '%s'", dir);
	(void)!system(command);
	return 0;
}
