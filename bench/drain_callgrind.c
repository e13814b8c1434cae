/*
 * bench/drain_callgrind: a fixed drain workload for counting instructions
 * per drained sample under callgrind (bench/drain_callgrind.sh runs it).
 *
 * No thread and no timing: 8 agents of 4 types in this process fill their
 * rings with the same pseudo-random samples of 5 metrics every run, and
 * agp_drain_pass() (validation, two series per sample, threshold checks,
 * the alert limiter for the 1 in 64 samples above a threshold) drains them
 * round after round; after each round agp_drain_publish() builds a
 * snapshot. The figures are callgrind's inclusive counts of those two
 * functions divided by the samples drained and the snapshots built.
 *
 * It checks itself against what the agents say they recorded: every
 * accepted sample must come out of the drain and be counted as aggregated,
 * else it exits 1.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <agentperf/agentperf.h>

#include "collector/collector.h"
#include "collector/drain/drain.h"
#include "shm/clock.h"

#define AGENTS           8
#define ROUNDS           16
#define RECORDS_PER_FILL 4096 /* half the default ring: nothing is dropped */

static const uint16_t metrics[] = {AGP_METRIC_COORDINATION_OVERHEAD, AGP_METRIC_TASK_EXECUTION_TIME,
                                   AGP_METRIC_RESULT_PROCESSING, AGP_METRIC_MEMORY_USAGE,
                                   AGP_METRIC_ERROR_RECOVERY_TIME};

static int fail(const char *what)
{
	fprintf(stderr, "bench/drain_callgrind: %s: %s\n", what, agp_last_error());
	return 1;
}

/* Deterministic values from 1 us to 100 ms; one in 64 is 250 ms, above the critical thresholds. */
static int64_t next_value(uint64_t *state)
{
	*state = *state * 6364136223846793005ull + 1442695040888963407ull;
	uint64_t bits = *state >> 33;
	if (bits % 64 == 0)
		return 250 * 1000 * 1000;
	return 1000 + (int64_t)(bits % (100 * 1000 * 1000));
}

int main(void)
{
	char deployment[64], storage[128];
	snprintf(deployment, sizeof(deployment), "drainbench%ld", (long)getpid());
	snprintf(storage, sizeof(storage), "/tmp/agentperf-drainbench-%ld", (long)getpid());
	static struct agp_config config;
	agp_config_defaults(&config);
	snprintf(config.monitoring.storage_dir, sizeof(config.monitoring.storage_dir), "%s",
	         storage);
	config.monitoring.enable_threshold_alerts = true;
	/*
	 * One window of the whole retention (24 h): windows are aligned to the
	 * clock, and a boundary crossed during the run would add a rotation to
	 * the counts of agp_drain_pass (which rotates at the end of a pass).
	 */
	config.additions.aggregation_window_seconds = 86400;
	struct agp_collector_options options;
	agp_collector_options_default(&options);
	options.deployment = deployment;
	options.layout.slot_count = 16;
	static struct agp_collector collector;
	if (agp_collector_open(&collector, &options, &config) != 0)
		return fail("opening the collector");

	int status = 1;
	agp_agent *agents[AGENTS] = {0};
	struct agp_agent_options agent_options = {deployment};
	for (int a = 0; a < AGENTS; a++) {
		char name[32], type[32];
		snprintf(name, sizeof(name), "agent%d", a);
		snprintf(type, sizeof(type), "type%d", a % 4);
		if (agp_agent_open(name, type, &agent_options, &agents[a]) != 0) {
			fail("opening an agent");
			goto close_agents;
		}
	}

	uint64_t state = 42, recorded = 0, drained = 0;
	for (int round = 0; round < ROUNDS; round++) {
		for (int a = 0; a < AGENTS; a++)
			for (int i = 0; i < RECORDS_PER_FILL; i++) {
				uint16_t metric = metrics[(unsigned)(i + a) % 5];
				recorded +=
				    agp_record(agents[a], metric, next_value(&state), (uint64_t)i);
			}
		uint64_t now_ns = agp_clock_read(&collector.segment.clock);
		uint64_t taken;
		while ((taken = agp_drain_pass(&collector, collector.drain, now_ns)) != 0)
			drained += taken;
		if (agp_drain_publish(&collector, collector.drain, now_ns) != 0) {
			fail("publishing a snapshot");
			goto close_agents;
		}
	}

	const struct agp_snapshot *snapshot = agp_snapshot_read_begin(&collector);
	uint64_t aggregated = snapshot->totals.aggregated;
	agp_snapshot_read_end(snapshot);
	printf("bench/drain_callgrind: %d agents, %d rounds: %llu samples recorded, %llu drained, "
	       "%llu aggregated, %d snapshots\n",
	       AGENTS, ROUNDS, (unsigned long long)recorded, (unsigned long long)drained,
	       (unsigned long long)aggregated, ROUNDS);
	if (drained != recorded || aggregated != recorded)
		fprintf(stderr, "bench/drain_callgrind: the drain lost or invented samples\n");
	else
		status = 0;

close_agents:
	for (int a = AGENTS - 1; a >= 0; a--)
		agp_agent_close(agents[a]);
	agp_collector_close(&collector, true);
	return status;
}
