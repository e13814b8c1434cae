/*
 * bench/record_callgrind: a fixed recording workload whose instructions per
 * call callgrind counts (bench/record_callgrind.sh): one agent on a private
 * deployment calls agp_record() RECORDS times and AGP_TIMER_SCOPE TIMERS
 * times, all of which fit the ring, so that every call stores a record.
 * Public API only, so that the same file builds against an older tree's
 * libagentperf.so for a before/after comparison.
 */
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include <agentperf/agentperf.h>

#define RECORDS 4000
#define TIMERS  2000

int main(void)
{
	char deployment[64], shm_name[96];
	snprintf(deployment, sizeof(deployment), "recordcg%ld", (long)getpid());
	snprintf(shm_name, sizeof(shm_name), "/agentperf.%s", deployment);
	struct agp_agent_options options = {.deployment = deployment};
	agp_agent *agent = NULL;
	if (agp_agent_open("callgrind", "bench", &options, &agent) != 0) {
		fprintf(stderr, "bench/record_callgrind: %s\n", agp_last_error());
		return 1;
	}
	unsigned stored = 0;
	for (int i = 0; i < RECORDS; i++)
		stored += agp_record(agent, AGP_METRIC_TASK_EXECUTION_TIME, i, 1);
	for (int i = 0; i < TIMERS; i++) {
		AGP_TIMER_SCOPE(agent, AGP_METRIC_COORDINATION_OVERHEAD, 1);
	}
	agp_agent_close(agent);
	shm_unlink(shm_name);
	printf("bench/record_callgrind: %u of %d agp_record calls stored, %d timers\n", stored,
	       RECORDS, TIMERS);
	return stored == RECORDS ? 0 : 1;
}
