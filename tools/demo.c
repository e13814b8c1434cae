/*
 * agentperf-demo: the interim main job until the collector exists.
 *
 * Forks a few agent processes (the seed's default agent set) that record
 * samples through libagentperf (task durations with AGP_TIMER_SCOPE,
 * coordination overhead, memory usage and a custom metric), while this
 * process drains their rings as a collector would and finally prints, per
 * agent, what was written, read, found invalid and dropped, and per metric
 * the count and mean. Exit status 0 only when the accounting is exact for
 * every agent.
 *
 *   agentperf-demo [--name DEPLOYMENT] [--samples N]
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <agentperf/agentperf.h>

#include "shm/clock.h"
#include "shm/consumer.h"
#include "shm/error.h"
#include "shm/registry.h"
#include "shm/segment.h"
#include "shm/slot.h"

#define AGENTS      5
#define MAX_METRICS AGP_REGISTRY_CAPACITY

static const char *const agent_types[AGENTS] = {"code-reviewer", "test-runner", "doc-writer",
                                                "debugger", "refactor-agent"};

/* Keeps the busy work from being optimised away. */
static volatile uint64_t demo_sink;

/* A little work whose duration varies, so that the timings are not all alike. */
static uint64_t busy_work(unsigned rounds)
{
	uint64_t x = rounds;
	for (unsigned i = 0; i < rounds; i++)
		x = x * 6364136223846793005ull + 1442695040888963407ull;
	return x;
}

static long resident_bytes(void)
{
	long pages = 0, resident = 0;
	FILE *file = fopen("/proc/self/statm", "re");
	if (file) {
		if (fscanf(file, "%ld %ld", &pages, &resident) != 2)
			resident = 0;
		fclose(file);
	}
	return resident * sysconf(_SC_PAGESIZE);
}

static void run_agent(const char *deployment, int number, long samples)
{
	struct agp_agent_options options = {.deployment = deployment};
	agp_agent *agent;
	char name[32];
	snprintf(name, sizeof(name), "worker-%d", number);
	int error = agp_agent_open(name, agent_types[number], &options, &agent);
	if (error) {
		fprintf(stderr, "%s: %s\n", name, agp_last_error());
		_exit(2);
	}
	uint16_t queue_depth = 0;
	if (agp_metric_register(agent, "demo_queue_depth", AGP_UNIT_COUNT, 0, &queue_depth) != 0)
		fprintf(stderr, "%s: %s\n", name, agp_last_error());
	for (long task = 1; task <= samples; task++) {
		{
			AGP_TIMER_SCOPE(agent, AGP_METRIC_TASK_EXECUTION_TIME, (uint64_t)task);
			demo_sink += busy_work(100 + (unsigned)(task % 400));
		}
		agp_record(agent, AGP_METRIC_COORDINATION_OVERHEAD, 1000 + task % 5000,
		           (uint64_t)task);
		if (queue_depth)
			agp_record(agent, queue_depth, task % 17, (uint64_t)task);
		if (task % 1000 == 0) {
			agp_record(agent, AGP_METRIC_MEMORY_USAGE, resident_bytes(), 0);
			/* Give the drain a moment now and then, as real work would. */
			struct timespec pause = {0, 100000};
			nanosleep(&pause, NULL);
		}
	}
	agp_agent_close(agent);
	_exit(0);
}

struct tally {
	bool active;
	struct agp_ring_consumer consumer;
	char name[AGP_AGENT_NAME_MAX + 1];
	char type[AGP_AGENT_TYPE_MAX + 1];
	int32_t pid;
	uint64_t count[MAX_METRICS];
	double sum[MAX_METRICS];
};

static void discover(const struct agp_segment *segment, struct tally *tallies)
{
	for (uint32_t i = 0; i < segment->slot_count; i++) {
		struct agp_slot *slot = agp_segment_slot(segment, i);
		/* Acquire: pairs with the claimant's release of LIVE; the identity is complete. */
		uint32_t state = atomic_load_explicit(&slot->state, memory_order_acquire);
		if (tallies[i].active || (state != AGP_SLOT_LIVE && state != AGP_SLOT_CLOSED))
			continue;
		struct tally *t = &tallies[i];
		memset(t, 0, sizeof(*t));
		t->active = true;
		/* Copies of agent-writable strings, bounded and terminated here. */
		memcpy(t->name, slot->name, sizeof(t->name) - 1);
		memcpy(t->type, slot->type, sizeof(t->type) - 1);
		t->pid = slot->pid;
		agp_ring_consumer_init(
		    &t->consumer, i, atomic_load_explicit(&slot->generation, memory_order_relaxed));
	}
}

static uint64_t drain(const struct agp_segment *segment, struct agp_metric_cache *metrics,
                      struct tally *tallies)
{
	static struct agp_record out[1024];
	uint64_t pending = 0, limit = agp_clock_read(&segment->clock) + 1000000000ull;
	for (uint32_t i = 0; i < segment->slot_count; i++) {
		struct tally *t = &tallies[i];
		if (!t->active)
			continue;
		size_t n = agp_ring_drain_spsc(segment, metrics, &t->consumer, limit, out, 1024);
		for (size_t j = 0; j < n; j++) {
			t->count[out[j].metric_id]++;
			t->sum[out[j].metric_id] += (double)out[j].value;
		}
		pending += agp_ring_pending(segment, &t->consumer);
	}
	return pending;
}

static int report(const struct agp_segment *segment, struct tally *tallies)
{
	int exact = 1;
	printf("%-10s %-15s %8s %9s %9s %8s %8s  %s\n", "agent", "type", "pid", "written", "read",
	       "invalid", "dropped", "accounting");
	for (uint32_t i = 0; i < segment->slot_count; i++) {
		struct tally *t = &tallies[i];
		if (!t->active)
			continue;
		struct agp_slot *slot = agp_segment_slot(segment, i);
		uint64_t tail = atomic_load_explicit(&slot->tail_hot, memory_order_acquire);
		uint64_t dropped = atomic_load_explicit(&slot->dropped_hot, memory_order_relaxed);
		uint64_t written = tail + dropped;
		bool ok = t->consumer.consumed + t->consumer.invalid + dropped == written &&
		          !t->consumer.quarantined;
		exact &= ok;
		printf("%-10s %-15s %8d %9llu %9llu %8llu %8llu  %s\n", t->name, t->type, t->pid,
		       (unsigned long long)written, (unsigned long long)t->consumer.consumed,
		       (unsigned long long)t->consumer.invalid, (unsigned long long)dropped,
		       ok ? "exact" : "MISMATCH");
	}
	printf("\n%-24s %10s %16s\n", "metric", "samples", "mean");
	for (uint32_t id = 0; id < MAX_METRICS; id++) {
		uint64_t count = 0;
		double sum = 0;
		for (uint32_t i = 0; i < segment->slot_count; i++) {
			count += tallies[i].count[id];
			sum += tallies[i].sum[id];
		}
		struct agp_metric_info info;
		if (count == 0 || !agp_registry_lookup(segment, id, &info))
			continue;
		double mean = sum / (double)count;
		if (info.unit == AGP_UNIT_NANOSECONDS)
			printf("%-24s %10llu %13.4f ms\n", info.name, (unsigned long long)count,
			       mean / 1e6);
		else if (info.unit == AGP_UNIT_BYTES)
			printf("%-24s %10llu %13.1f MB\n", info.name, (unsigned long long)count,
			       mean / (1024.0 * 1024.0));
		else
			printf("%-24s %10llu %16.2f\n", info.name, (unsigned long long)count, mean);
	}
	printf("\naccounting %s (written = read + invalid + dropped, per agent)\n",
	       exact ? "exact" : "NOT exact");
	return exact ? 0 : 1;
}

int main(int argc, char **argv)
{
	const char *requested = NULL;
	long samples = 20000;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--name") == 0 && i + 1 < argc) {
			requested = argv[++i];
		} else if (strcmp(argv[i], "--samples") == 0 && i + 1 < argc) {
			char *end;
			samples = strtol(argv[++i], &end, 10);
			if (*end || samples <= 0) {
				fprintf(stderr,
				        "agentperf-demo: --samples '%s' is not a positive "
				        "integer\n",
				        argv[i]);
				return 2;
			}
		} else {
			fprintf(stderr,
			        "usage: agentperf-demo [--name DEPLOYMENT] [--samples N]\n");
			return 2;
		}
	}
	/* Without --name or AGENTPERF_NAME, a private deployment, so that a running one is left
	 * alone. */
	char own[32];
	if (!requested && !getenv("AGENTPERF_NAME")) {
		snprintf(own, sizeof(own), "demo%ld", (long)getpid());
		requested = own;
	}
	char deployment[AGP_DEPLOYMENT_NAME_MAX + 1];
	int error = agp_deployment_resolve(requested, deployment);
	if (error) {
		fprintf(stderr, "agentperf-demo: %s\n", agp__error_message());
		return 2;
	}
	struct agp_segment_layout layout;
	agp_segment_layout_default(&layout);
	struct agp_segment segment;
	bool created = true;
	error = agp_segment_create(deployment, &layout, &segment);
	if (error == -EEXIST) {
		created = false;
		error = agp_segment_attach(deployment, &segment);
	}
	if (error) {
		fprintf(stderr, "agentperf-demo: %s\n", agp__error_message());
		return 1;
	}
	/* We drain: tell agents not to reclaim slots themselves. */
	atomic_store_explicit(&agp_segment_header(&segment)->collector_pid, getpid(),
	                      memory_order_relaxed);
	printf("agentperf-demo: deployment '%s', %u slots of %u records, clock %s; %d agents x %ld "
	       "tasks\n\n",
	       deployment, segment.slot_count, segment.ring_capacity,
	       segment.clock.use_tsc ? "calibrated TSC" : "CLOCK_MONOTONIC", AGENTS, samples);

	for (int k = 0; k < AGENTS; k++) {
		pid_t pid = fork();
		if (pid < 0) {
			perror("agentperf-demo: fork");
			return 1;
		}
		if (pid == 0)
			run_agent(deployment, k, samples);
	}
	static struct tally tallies[4096];
	struct agp_metric_cache metrics = {0};
	int running = AGENTS, failed = 0;
	for (;;) {
		discover(&segment, tallies);
		uint64_t pending = drain(&segment, &metrics, tallies);
		if (running > 0) {
			int status;
			pid_t done = waitpid(-1, &status, WNOHANG);
			if (done > 0) {
				running--;
				failed += !WIFEXITED(status) || WEXITSTATUS(status) != 0;
			} else if (pending == 0) {
				struct timespec pause = {0, 200000};
				nanosleep(&pause, NULL);
			}
		} else if (pending == 0) {
			break;
		}
	}
	int status = report(&segment, tallies);
	for (uint32_t i = 0; i < segment.slot_count; i++)
		if (tallies[i].active)
			agp_slot_release(&segment, i, tallies[i].consumer.generation);
	atomic_store_explicit(&agp_segment_header(&segment)->collector_pid, 0,
	                      memory_order_relaxed);
	agp_segment_detach(&segment);
	if (created)
		agp_segment_unlink(deployment);
	if (failed)
		fprintf(stderr, "agentperf-demo: %d agent processes failed\n", failed);
	return status || failed ? 1 : 0;
}
