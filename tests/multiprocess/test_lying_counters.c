/*
 * Agents whose counters are impossible (shm/counter_audit.h).
 *
 *  1. The audit alone: an honest history (drops only once a ring's worth was written, growing
 *     no faster than time allows) is accepted; each impossible read is named, and a refused read
 *     leaves the history as it was.
 *  2. A collector in this process with seven agents of this process in one segment (rings of
 *     64): an honest agent that really dropped (it filled its ring before the collector came),
 *     an honest one without drops, and five liars that write into their own slot a dropped
 *     count without a full ring, a decreasing one, one that jumps by 2^40, and a tail four rings
 *     ahead, and one that scribbled the consumer's head (2^40) before the collector adopted it.
 *     Each liar is listed with its lie; the totals are exactly the honest agents' own counts
 *     (agp_agent_recorded + agp_agent_dropped: the independent witness), and lying_agents
 *     counts the five.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <agentperf/agentperf.h>

#include "collector/collector.h"
#include "shm/counter_audit.h"
#include "tests/support/test_util.h"

#define CAPACITY 64u
#define MS       1000000ull

static void audit_accepts_honest_and_names_each_lie(void **state)
{
	(void)state;
	struct agp_counter_audit audit;
	agp_counter_audit_init(&audit);
	/* Drops need a ring's worth of tail. */
	assert_int_equal(agp_counter_audit_dropped(&audit, 0, 10, CAPACITY, 1 * MS), AGP_LIE_NONE);
	assert_int_equal(agp_counter_audit_dropped(&audit, 3, CAPACITY - 1, CAPACITY, 2 * MS),
	                 AGP_LIE_DROPPED_NO_FULL_RING);
	assert_int_equal(agp_counter_audit_dropped(&audit, 3, CAPACITY, CAPACITY, 2 * MS),
	                 AGP_LIE_NONE);
	/* A million drops in 10 ms is possible (one per 10 ns), 2^40 is not. */
	assert_int_equal(agp_counter_audit_dropped(&audit, 1000003, 100, CAPACITY, 12 * MS),
	                 AGP_LIE_NONE);
	assert_int_equal(
	    agp_counter_audit_dropped(&audit, 1000003 + (1ull << 40), 100, CAPACITY, 13 * MS),
	    AGP_LIE_DROPPED_TOO_FAST);
	/* Refused reads changed nothing: the history is still 1000003 at 12 ms. */
	assert_int_equal(audit.dropped, 1000003);
	assert_int_equal(agp_counter_audit_dropped(&audit, 1000002, 100, CAPACITY, 14 * MS),
	                 AGP_LIE_DROPPED_DECREASED);
	assert_int_equal(agp_counter_audit_dropped(&audit, 1000003, 100, CAPACITY, 14 * MS),
	                 AGP_LIE_NONE);
	/* Beyond 2^62 even a first read is impossible. */
	struct agp_counter_audit fresh;
	agp_counter_audit_init(&fresh);
	assert_int_equal(
	    agp_counter_audit_dropped(&fresh, (1ull << 62) + 1, 1ull << 40, CAPACITY, 1 * MS),
	    AGP_LIE_DROPPED_TOO_FAST);
	assert_string_equal(agp_lie_name(AGP_LIE_NONE), "");
	assert_string_equal(agp_lie_name(AGP_LIE_DROPPED_DECREASED), "dropped decreased");
}

struct fixture {
	char deployment[64];
	char storage[128];
	struct agp_config config;
	struct agp_collector collector;
	bool collector_open;
};

static struct agp_slot *slot_of(struct agp_collector *collector, const char *name)
{
	for (uint32_t i = 0; i < collector->segment.slot_count; i++) {
		struct agp_slot *slot = agp_segment_slot(&collector->segment, i);
		if (atomic_load(&slot->state) == AGP_SLOT_LIVE && strcmp(slot->name, name) == 0)
			return slot;
	}
	fail_msg("no live slot named %s", name);
	return NULL;
}

static const struct agp_snapshot_agent *agent_named(const struct agp_snapshot *snapshot,
                                                    const char *name)
{
	for (size_t i = 0; i < snapshot->agent_count; i++)
		if (strcmp(snapshot->agents[i].name, name) == 0)
			return &snapshot->agents[i];
	return NULL;
}

/* Waits (on fresh snapshots, up to 10 s) until agent name shows lie with dropped figures. */
static void wait_for_agent(struct agp_collector *collector, const char *name, enum agp_lie lie,
                           uint64_t dropped)
{
	enum agp_lie seen_lie = AGP_LIE_NONE;
	uint64_t seen_dropped = 0;
	for (int attempt = 0; attempt < 1000; attempt++) {
		assert_int_equal(agp_collector_refresh(collector, 1000), 0);
		const struct agp_snapshot *snapshot = agp_snapshot_read_begin(collector);
		const struct agp_snapshot_agent *agent = agent_named(snapshot, name);
		if (agent) {
			seen_lie = agent->lie;
			seen_dropped = agent->dropped;
		}
		agp_snapshot_read_end(snapshot);
		if (agent && seen_lie == lie && seen_dropped == dropped)
			return;
		usleep(10000);
	}
	fail_msg("agent %s: lie '%s' dropped %llu, expected '%s' dropped %llu", name,
	         agp_lie_name(seen_lie), (unsigned long long)seen_dropped, agp_lie_name(lie),
	         (unsigned long long)dropped);
}

static void record(agp_agent *agent, int count)
{
	for (int i = 1; i <= count; i++)
		agp_record(agent, AGP_METRIC_TASK_EXECUTION_TIME, i * 1000, (uint64_t)i);
}

static void collector_keeps_liars_apart(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	*state = f;
	agp_test_name(f->deployment, sizeof(f->deployment), "liars");
	snprintf(f->storage, sizeof(f->storage), "/tmp/agp-test-%s", f->deployment);
	struct agp_agent_options options = {f->deployment};

	/* Before any collector: the honest dropper fills its ring of 64 and drops 36. */
	setenv("AGENTPERF_RING_CAPACITY", "64", 1);
	setenv("AGENTPERF_SLOTS", "8", 1);
	agp_agent *dropper, *honest, *no_full, *decreasing, *fast, *indices, *adopted;
	assert_int_equal(agp_agent_open("dropper", "worker", &options, &dropper), 0);
	record(dropper, 100);
	assert_int_equal(agp_agent_recorded(dropper), CAPACITY);
	assert_int_equal(agp_agent_dropped(dropper), 100 - CAPACITY);
	/*
	 * And one that scribbles the consumer's head before a collector adopts it: taken as what
	 * an earlier collector consumed, it would put 2^40 samples into the totals.
	 */
	assert_int_equal(agp_agent_open("adopted", "worker", &options, &adopted), 0);
	record(adopted, 10);
	struct agp_segment own_view;
	assert_int_equal(agp_segment_attach(f->deployment, &own_view), 0);
	for (uint32_t i = 0; i < own_view.slot_count; i++) {
		struct agp_slot *slot = agp_segment_slot(&own_view, i);
		if (atomic_load(&slot->state) == AGP_SLOT_LIVE &&
		    strcmp(slot->name, "adopted") == 0)
			atomic_store(&slot->head, 1ull << 40);
	}
	agp_segment_detach(&own_view);

	agp_config_defaults(&f->config);
	snprintf(f->config.monitoring.storage_dir, sizeof(f->config.monitoring.storage_dir), "%s",
	         f->storage);
	struct agp_collector_options collector_options;
	agp_collector_options_default(&collector_options);
	collector_options.deployment = f->deployment;
	assert_int_equal(agp_collector_open(&f->collector, &collector_options, &f->config), 0);
	f->collector_open = true;
	assert_int_equal(agp_collector_start(&f->collector), 0);
	wait_for_agent(&f->collector, "dropper", AGP_LIE_NONE, 100 - CAPACITY);
	wait_for_agent(&f->collector, "adopted", AGP_LIE_INDICES, 0);

	assert_int_equal(agp_agent_open("honest", "worker", &options, &honest), 0);
	assert_int_equal(agp_agent_open("no-full", "worker", &options, &no_full), 0);
	assert_int_equal(agp_agent_open("decreasing", "worker", &options, &decreasing), 0);
	assert_int_equal(agp_agent_open("fast", "worker", &options, &fast), 0);
	assert_int_equal(agp_agent_open("indices", "worker", &options, &indices), 0);
	record(honest, 50);
	record(no_full, 10);
	record(decreasing, 40);
	record(fast, 40);
	record(indices, 10);
	wait_for_agent(&f->collector, "honest", AGP_LIE_NONE, 0);

	/* The liars write their own slots, as any agent can. */
	atomic_store(&slot_of(&f->collector, "no-full")->dropped_hot, 5);
	atomic_store(&slot_of(&f->collector, "indices")->tail_hot, 10 + 4 * CAPACITY);
	/* A ring's worth of tail first (a slow drain may make them drop some: their own count). */
	record(decreasing, CAPACITY);
	record(fast, CAPACITY);
	wait_for_agent(&f->collector, "decreasing", AGP_LIE_NONE, agp_agent_dropped(decreasing));
	wait_for_agent(&f->collector, "fast", AGP_LIE_NONE, agp_agent_dropped(fast));
	atomic_store(&slot_of(&f->collector, "decreasing")->dropped_hot, 1000);
	atomic_store(&slot_of(&f->collector, "fast")->dropped_hot, 1000);
	wait_for_agent(&f->collector, "decreasing", AGP_LIE_NONE, 1000); /* possible: accepted */
	wait_for_agent(&f->collector, "fast", AGP_LIE_NONE, 1000);
	atomic_store(&slot_of(&f->collector, "decreasing")->dropped_hot, 10);
	atomic_store(&slot_of(&f->collector, "fast")->dropped_hot, 1000 + (1ull << 40));

	wait_for_agent(&f->collector, "no-full", AGP_LIE_DROPPED_NO_FULL_RING, 0);
	wait_for_agent(&f->collector, "indices", AGP_LIE_INDICES, 0);
	wait_for_agent(&f->collector, "decreasing", AGP_LIE_DROPPED_DECREASED, 1000);
	wait_for_agent(&f->collector, "fast", AGP_LIE_DROPPED_TOO_FAST, 1000);

	/* The totals are the honest agents' own counts, exactly. */
	uint64_t honest_written = agp_agent_recorded(dropper) + agp_agent_dropped(dropper) +
	                          agp_agent_recorded(honest) + agp_agent_dropped(honest);
	assert_int_equal(honest_written, 150);
	assert_int_equal(agp_collector_refresh(&f->collector, 1000), 0);
	const struct agp_snapshot *snapshot = agp_snapshot_read_begin(&f->collector);
	const struct agp_snapshot_totals *t = &snapshot->totals;
	uint64_t written = t->written, aggregated = t->aggregated, dropped = t->dropped;
	uint64_t pending = t->pending, lying = t->lying_agents;
	agp_snapshot_read_end(snapshot);
	assert_int_equal(written, honest_written);
	assert_int_equal(aggregated + dropped + pending, honest_written);
	assert_int_equal(dropped, 100 - CAPACITY);
	assert_int_equal(lying, 5);

	agp_agent_close(dropper);
	agp_agent_close(honest);
	agp_agent_close(no_full);
	agp_agent_close(decreasing);
	agp_agent_close(fast);
	agp_agent_close(indices);
	agp_agent_close(adopted);
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	if (!f)
		return 0;
	if (f->collector_open)
		agp_collector_close(&f->collector, true);
	char command[256];
	snprintf(command, sizeof(command), "rm -rf %s", f->storage);
	int status = system(command);
	free(f);
	return status == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(audit_accepts_honest_and_names_each_lie),
	    cmocka_unit_test_teardown(collector_keeps_liars_apart, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, agp_test_cleanup);
}
