/*
 * A test agent for the command-line tests: records COUNT samples of metric
 * METRIC_ID with the known values STEP, 2*STEP, ..., COUNT*STEP, prints
 * "recorded N" (the samples not dropped) and stays alive HOLD_MS milliseconds (so it is listed
 * live). Usage: cli_agent DEPLOYMENT TYPE NAME METRIC_ID COUNT STEP HOLD_MS
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <agentperf/agent.h>

int main(int argc, char **argv)
{
	if (argc != 8) {
		fprintf(stderr, "usage: %s DEPLOYMENT TYPE NAME METRIC_ID COUNT STEP HOLD_MS\n",
		        argv[0]);
		return 2;
	}
	struct agp_agent_options options = {.deployment = argv[1]};
	agp_agent *agent;
	if (agp_agent_open(argv[3], argv[2], &options, &agent)) {
		fprintf(stderr, "cli_agent: %s\n", agp_last_error());
		return 1;
	}
	unsigned metric = (unsigned)strtoul(argv[4], NULL, 10);
	long count = strtol(argv[5], NULL, 10);
	long long step = strtoll(argv[6], NULL, 10);
	long hold_ms = strtol(argv[7], NULL, 10);
	long recorded = 0;
	for (long i = 1; i <= count; i++) {
		/* The tests keep COUNT below the ring's capacity: nothing is dropped. */
		recorded += agp_record(agent, (uint16_t)metric, step * i, (uint64_t)i);
	}
	printf("recorded %ld\n", recorded);
	fflush(stdout);
	struct timespec hold = {hold_ms / 1000, (hold_ms % 1000) * 1000000L};
	nanosleep(&hold, NULL);
	agp_agent_close(agent);
	return 0;
}
