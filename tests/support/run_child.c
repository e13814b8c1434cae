/*
 * The command tests/e2e/test_run.c benchmarks with `agentperf run`, and its
 * witness: it reads CLOCK_MONOTONIC when main starts, touches ALLOC_MIB of
 * memory, records RECORD_COUNT coordination_overhead samples of RECORD_NS
 * through libagentperf (into $AGENTPERF_NAME, as `run` sets it), sleeps
 * SLEEP_MS, and appends to LOG one line with what it saw itself:
 *   START_NS END_NS USER_NS SYSTEM_NS MAXRSS_KIB RECORDED
 * (END_NS read just before the line is written; the rusage of getrusage(RUSAGE_SELF)).
 * Usage: run_child LOG SLEEP_MS ALLOC_MIB RECORD_COUNT RECORD_NS
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <agentperf/agent.h>

static unsigned long long now_ns(void)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (unsigned long long)now.tv_sec * 1000000000ull + (unsigned long long)now.tv_nsec;
}

int main(int argc, char **argv)
{
	unsigned long long start = now_ns();
	if (argc != 6) {
		fprintf(stderr, "usage: %s LOG SLEEP_MS ALLOC_MIB RECORD_COUNT RECORD_NS\n",
		        argv[0]);
		return 2;
	}
	long sleep_ms = strtol(argv[2], NULL, 10);
	size_t alloc = (size_t)strtoul(argv[3], NULL, 10) << 20;
	long count = strtol(argv[4], NULL, 10);
	long long value = strtoll(argv[5], NULL, 10);
	volatile char *memory = alloc ? malloc(alloc) : NULL;
	for (size_t i = 0; memory && i < alloc; i += 4096)
		memory[i] = (char)i;
	long recorded = 0;
	if (count > 0) {
		char name[32];
		snprintf(name, sizeof(name), "child-%d", (int)getpid());
		agp_agent *agent = NULL;
		if (agp_agent_open(name, "run-child", NULL, &agent)) {
			fprintf(stderr, "run_child: %s\n", agp_last_error());
			return 1;
		}
		for (long i = 0; i < count; i++)
			recorded += agp_record(agent, AGP_METRIC_COORDINATION_OVERHEAD, value, 0);
		agp_agent_close(agent);
	}
	struct timespec pause = {sleep_ms / 1000, (sleep_ms % 1000) * 1000000L};
	nanosleep(&pause, NULL);
	struct rusage usage;
	getrusage(RUSAGE_SELF, &usage);
	FILE *log = fopen(argv[1], "a");
	if (!log)
		return 1;
	fprintf(log, "%llu %llu %llu %llu %ld %ld\n", start, now_ns(),
	        (unsigned long long)usage.ru_utime.tv_sec * 1000000000ull +
	            (unsigned long long)usage.ru_utime.tv_usec * 1000ull,
	        (unsigned long long)usage.ru_stime.tv_sec * 1000000000ull +
	            (unsigned long long)usage.ru_stime.tv_usec * 1000ull,
	        usage.ru_maxrss, recorded);
	free((void *)memory);
	return fclose(log) == 0 ? 0 : 1;
}
