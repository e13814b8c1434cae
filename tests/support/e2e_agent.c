/*
 * An agent process for the daemon end-to-end test, driven line by line on standard input so
 * that the test knows exactly what it wrote and when:
 *
 *   e2e_agent DEPLOYMENT TYPE NAME METRIC_ID STEP
 *
 * prints "ready" once its slot is claimed, then per command line:
 *   record N   records N samples of METRIC_ID with the values STEP, 2 STEP, ..., N STEP and
 *              prints "recorded R" (R: the samples the ring took, not dropped);
 *   spin       prints "spinning" and records STEP, ..., 1000 STEP over and over until killed
 *              (the test SIGKILLs it in the middle of that);
 *   quit (or end of input)  closes the agent and exits 0.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <agentperf/agent.h>

int main(int argc, char **argv)
{
	if (argc != 6) {
		fprintf(stderr, "usage: %s DEPLOYMENT TYPE NAME METRIC_ID STEP\n", argv[0]);
		return 2;
	}
	struct agp_agent_options options = {.deployment = argv[1]};
	agp_agent *agent;
	if (agp_agent_open(argv[3], argv[2], &options, &agent)) {
		fprintf(stderr, "e2e_agent: %s\n", agp_last_error());
		return 1;
	}
	uint16_t metric = (uint16_t)strtoul(argv[4], NULL, 10);
	long long step = strtoll(argv[5], NULL, 10);
	printf("ready\n");
	fflush(stdout);
	char line[64];
	while (fgets(line, sizeof(line), stdin)) {
		long count;
		if (sscanf(line, "record %ld", &count) == 1) {
			long recorded = 0;
			for (long i = 1; i <= count; i++)
				recorded += agp_record(agent, metric, step * i, (uint64_t)i);
			printf("recorded %ld\n", recorded);
			fflush(stdout);
		} else if (strncmp(line, "spin", 4) == 0) {
			printf("spinning\n");
			fflush(stdout);
			for (uint64_t i = 0;; i++)
				agp_record(agent, metric, step * (long long)(i % 1000 + 1), i);
		} else if (strncmp(line, "quit", 4) == 0) {
			break;
		}
	}
	agp_agent_close(agent);
	return 0;
}
