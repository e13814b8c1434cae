/*
 * Records a known arithmetic series of values for the export tests:
 *   export_record DEPLOYMENT TYPE AGENT METRIC_ID FIRST STEP COUNT
 * records FIRST + k * STEP for k = 0 .. COUNT-1 (in the metric's unit) as agent AGENT of type
 * TYPE. A full ring is waited out (up to 10 s) and the value recorded again, so every value
 * reaches the collector; the drop counter counts the refused attempts.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <agentperf/agent.h>

int main(int argc, char **argv)
{
	if (argc != 8) {
		fprintf(stderr, "usage: %s DEPLOYMENT TYPE AGENT METRIC_ID FIRST STEP COUNT\n",
		        argv[0]);
		return 2;
	}
	struct agp_agent_options options = {.deployment = argv[1]};
	unsigned metric = (unsigned)strtoul(argv[4], NULL, 10);
	long long first = strtoll(argv[5], NULL, 10);
	long long step = strtoll(argv[6], NULL, 10);
	long long count = strtoll(argv[7], NULL, 10);
	agp_agent *agent;
	int error = agp_agent_open(argv[3], argv[2], &options, &agent);
	if (error) {
		fprintf(stderr, "export_record: %s\n", agp_last_error());
		return 1;
	}
	for (long long k = 0; k < count; k++) {
		int waited_ms = 0;
		while (!agp_record(agent, (uint16_t)metric, first + k * step, (uint64_t)k)) {
			/* The ring is full: let the collector drain it, but not forever. */
			if (++waited_ms > 10000) {
				fprintf(stderr,
				        "export_record: ring full for 10 s: is a collector "
				        "running for '%s'?\n",
				        argv[1]);
				agp_agent_close(agent);
				return 1;
			}
			struct timespec pause = {0, 1000000};
			nanosleep(&pause, NULL);
		}
	}
	agp_agent_close(agent);
	return 0;
}
