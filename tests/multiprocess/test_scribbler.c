/*
 * A hostile agent: while this process drains, a child writes random bytes
 * over its own live slot (records, indices, counters, identity) and over
 * custom registry entries for about a second. The drain must survive
 * (this test runs under ASan in CI), count what it refused as invalid or
 * quarantine the slot, and a healthy agent in another slot must keep
 * exact accounting throughout.
 *
 * Not run under ThreadSanitizer: the scribbles race with the drain's
 * reads on purpose.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>

#include <agentperf/agentperf.h>

#include "shm/clock.h"
#include "shm/ring_consumer.h"
#include "shm/registry.h"
#include "shm/ownership.h"
#include "shm/segment.h"
#include "shm/slot.h"
#include "tests/support/test_util.h"

#define RUN_NS   (1000ull * 1000 * 1000)
#define CAPACITY 1024u

static uint64_t xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void scribble(void *at, size_t length, uint64_t *seed)
{
	unsigned char *bytes = at;
	for (size_t i = 0; i < length; i++)
		bytes[i] = (unsigned char)xorshift(seed);
}

static agp_agent *open_agent(const char *deployment, const char *name)
{
	struct agp_agent_options options = {.deployment = deployment};
	agp_agent *agent;
	if (agp_agent_open(name, "scribbler", &options, &agent) != 0) {
		fprintf(stderr, "%s: %s\n", name, agp_last_error());
		_exit(2);
	}
	return agent;
}

/* Records value = sequence number for RUN_NS, pacing itself, then reports how many it wrote. */
static void run_healthy(const char *deployment, int report_fd)
{
	agp_agent *agent = open_agent(deployment, "healthy");
	uint64_t end = agp_monotonic_ns() + RUN_NS;
	uint64_t written = 0;
	while (agp_monotonic_ns() < end) {
		for (int i = 0; i < 256; i++)
			agp_record(agent, AGP_METRIC_RESULT_PROCESSING, (int64_t)written++, 0);
		struct timespec pause = {0, 20000};
		nanosleep(&pause, NULL);
	}
	if (agp_agent_recorded(agent) + agp_agent_dropped(agent) != written)
		_exit(4);
	agp_agent_close(agent);
	_exit(write(report_fd, &written, sizeof(written)) == sizeof(written) ? 0 : 3);
}

/*
 * Records and scribbles over its own slot and the custom registry entries,
 * for RUN_NS. The first third damages records only, so that the drain
 * surely meets bad records before a scribbled index quarantines the slot;
 * then anything goes.
 */
static void run_scribbler(const char *deployment)
{
	agp_agent *agent = open_agent(deployment, "victim");
	struct agp_segment segment;
	if (agp_segment_attach(deployment, &segment) != 0)
		_exit(5);
	struct agp_slot *slot = NULL;
	for (uint32_t i = 0; i < segment.slot_count; i++)
		if (agp_segment_slot(&segment, i)->pid == getpid())
			slot = agp_segment_slot(&segment, i);
	if (!slot)
		_exit(6);
	struct agp_record *records = agp_slot_records(slot);
	uint64_t seed = 0x9e3779b97f4a7c15ull ^ (uint64_t)getpid();
	uint64_t start = agp_monotonic_ns();
	uint64_t end = start + RUN_NS;
	uint64_t now;
	while ((now = agp_monotonic_ns()) < end) {
		for (int i = 0; i < 64; i++)
			agp_record(agent, AGP_METRIC_COORDINATION_OVERHEAD, i, 9);
		unsigned kinds = now - start < RUN_NS / 3 ? 3 : 8;
		switch (xorshift(&seed) % kinds) {
		case 0:
		case 1: { /* a run of records */
			size_t first = xorshift(&seed) % CAPACITY;
			size_t count = 1 + xorshift(&seed) % (CAPACITY - first);
			scribble(&records[first], count * sizeof(*records), &seed);
			break;
		}
		case 2: /* single fields of records: plausible-looking damage */
			records[xorshift(&seed) % CAPACITY].sequence = (uint32_t)xorshift(&seed);
			records[xorshift(&seed) % CAPACITY].metric_id = (uint16_t)xorshift(&seed);
			records[xorshift(&seed) % CAPACITY].flags = (uint16_t)xorshift(&seed);
			break;
		case 3: /* the producer index: anything, or slightly off */
			atomic_store_explicit(&slot->tail_hot,
			                      xorshift(&seed) % 2
			                          ? xorshift(&seed)
			                          : atomic_load(&slot->tail_hot) +
			                                xorshift(&seed) % (2 * CAPACITY),
			                      memory_order_relaxed);
			break;
		case 4: /* the consumer's index and the counters */
			atomic_store_explicit(&slot->head, xorshift(&seed), memory_order_relaxed);
			atomic_store_explicit(&slot->dropped_hot, xorshift(&seed),
			                      memory_order_relaxed);
			break;
		case 5: /* identity: pid, name, type */
			scribble(&slot->pid,
			         offsetof(struct agp_slot, reserved_cold) -
			             offsetof(struct agp_slot, pid),
			         &seed);
			break;
		case 6: /* state and generation */
			atomic_store_explicit(&slot->generation, (uint32_t)xorshift(&seed),
			                      memory_order_relaxed);
			atomic_store_explicit(&slot->state, (uint32_t)xorshift(&seed) % 5,
			                      memory_order_relaxed);
			break;
		case 7: { /* custom registry entries, away from the ids the healthy agent uses */
			uint32_t id = AGP_METRIC_FIRST_CUSTOM +
			              (uint32_t)(xorshift(&seed) %
			                         (AGP_REGISTRY_CAPACITY - AGP_METRIC_FIRST_CUSTOM));
			scribble(agp_segment_metric(&segment, id), sizeof(struct agp_metric_entry),
			         &seed);
			break;
		}
		}
	}
	agp_agent_close(agent);
	agp_segment_detach(&segment);
	_exit(0);
}

struct tracked {
	bool active;
	bool healthy;
	struct agp_ring_consumer consumer;
	int64_t last;
	uint64_t read;
};

static void test_scribbled_slot_costs_only_its_own_samples(void **state)
{
	char deployment[64];
	agp_test_name(deployment, sizeof(deployment), "scribble");
	agp_segment_unlink(deployment);
	struct agp_segment segment;
	struct agp_segment_layout layout = {4, CAPACITY, (gid_t)-1};
	assert_int_equal(agp_segment_create(deployment, &layout, &segment), 0);
	assert_int_equal(agp_collector_presence_take(&segment), 0);

	int report[2];
	assert_int_equal(pipe(report), 0);
	pid_t healthy = fork();
	assert_true(healthy >= 0);
	if (healthy == 0)
		run_healthy(deployment, report[1]);
	close(report[1]);
	pid_t scribbler = fork();
	assert_true(scribbler >= 0);
	if (scribbler == 0)
		run_scribbler(deployment);

	struct tracked tracked[4] = {0};
	struct agp_metric_cache metrics = {0};
	static struct agp_record out[CAPACITY];
	uint64_t invalid = 0, quarantines = 0, victim_read = 0, occupants = 0;
	int running = 2;
	for (;;) {
		for (uint32_t i = 0; i < segment.slot_count; i++) {
			struct agp_slot *slot = agp_segment_slot(&segment, i);
			/* Acquire: pairs with a claimant's release of LIVE. */
			uint32_t slot_state =
			    atomic_load_explicit(&slot->state, memory_order_acquire);
			uint32_t generation =
			    atomic_load_explicit(&slot->generation, memory_order_relaxed);
			struct tracked *t = &tracked[i];
			if (slot_state != AGP_SLOT_LIVE && slot_state != AGP_SLOT_CLOSED)
				continue;
			if (t->active && t->consumer.generation == generation)
				continue;
			/* A new occupant, as far as the slot says: account for the old one. */
			if (t->active && !t->healthy) {
				invalid += t->consumer.invalid;
				quarantines += t->consumer.quarantined;
			}
			assert_false(t->active && t->healthy); /* nobody touches the healthy slot */
			t->active = true;
			t->healthy = slot->pid == healthy;
			t->last = -1;
			agp_ring_consumer_init(&t->consumer, i, generation);
			occupants++;
		}
		uint64_t limit = agp_clock_read(&segment.clock) + 1000000000ull;
		for (uint32_t i = 0; i < segment.slot_count; i++) {
			struct tracked *t = &tracked[i];
			if (!t->active)
				continue;
			size_t n = agp_ring_drain_spsc(&segment, &metrics, &t->consumer, limit, out,
			                               CAPACITY);
			if (!t->healthy) {
				victim_read += n;
				continue;
			}
			for (size_t j = 0; j < n; j++) {
				assert_int_equal(out[j].metric_id, AGP_METRIC_RESULT_PROCESSING);
				assert_true(out[j].value > t->last);
				t->last = out[j].value;
			}
			t->read += n;
		}
		/* The collector also reads the registry the scribbler attacks. */
		struct agp_metric_info info;
		for (uint32_t id = 0; id < AGP_REGISTRY_CAPACITY; id++)
			if (agp_registry_lookup(&segment, id, &info))
				assert_non_null(memchr(info.name, 0, sizeof(info.name)));
		if (running > 0) {
			int status;
			pid_t done = waitpid(-1, &status, WNOHANG);
			if (done > 0) {
				if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
					fail_msg("child %d (%s) ended with status 0x%x", done,
					         done == healthy ? "healthy" : "scribbler", status);
				running--;
			}
			continue;
		}
		bool pending = false;
		for (uint32_t i = 0; i < segment.slot_count; i++)
			if (tracked[i].active && tracked[i].healthy)
				pending |= agp_ring_pending(&segment, &tracked[i].consumer) > 0;
		if (!pending)
			break;
	}

	uint64_t written;
	assert_int_equal(read(report[0], &written, sizeof(written)), sizeof(written));
	close(report[0]);
	struct tracked *h = NULL;
	for (uint32_t i = 0; i < segment.slot_count; i++) {
		if (tracked[i].active && tracked[i].healthy)
			h = &tracked[i];
		else if (tracked[i].active) {
			invalid += tracked[i].consumer.invalid;
			quarantines += tracked[i].consumer.quarantined;
		}
	}
	assert_non_null(h);
	struct agp_slot *slot = agp_segment_slot(&segment, h->consumer.index);
	uint64_t dropped = atomic_load_explicit(&slot->dropped_hot, memory_order_relaxed);
	print_message("healthy: written %llu, read %llu, dropped %llu; victim: %llu occupants "
	              "seen, %llu read, %llu invalid, %llu quarantines\n",
	              (unsigned long long)written, (unsigned long long)h->read,
	              (unsigned long long)dropped, (unsigned long long)occupants - 1,
	              (unsigned long long)victim_read, (unsigned long long)invalid,
	              (unsigned long long)quarantines);
	assert_int_equal(h->consumer.invalid, 0);
	assert_false(h->consumer.quarantined);
	assert_int_equal(h->read + dropped, written);
	assert_true(written > 10000);
	assert_true(invalid > 0);
	assert_true(quarantines > 0);
	agp_segment_detach(&segment);
	agp_segment_unlink(deployment);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_scribbled_slot_costs_only_its_own_samples),
	};
	return cmocka_run_group_tests(tests, NULL, agp_test_cleanup);
}
