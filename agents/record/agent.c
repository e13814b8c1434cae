/*
 * The recording library: an agent's handle on its slot and ring.
 *
 * Start order does not matter: the first process of a deployment, agent or
 * collector, creates the segment with the default layout (overridable with
 * AGENTPERF_SLOTS and AGENTPERF_RING_CAPACITY), and later ones attach.
 * Samples recorded before a collector arrives wait in the ring (and are
 * dropped and counted once it is full).
 */
#include <agentperf/agent.h>

#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shm/clock.h"
#include "common/error.h"
#include "shm/registry.h"
#include "shm/ring.h"
#include "shm/segment.h"
#include "shm/slot.h"

struct agp_agent {
	struct agp_ring_producer producer; /* first: the hot path's only state */
	struct agp_shm_clock clock;
	struct agp_segment segment;
	uint32_t slot_index;
	pid_t claimant; /* the process that claimed the slot: only it may give it up */
	bool closed;
	struct agp_agent *next_closed;
};

/*
 * Recording into a closed agent must be a cheap no-op, not a use after
 * free, so agp_agent_close() does not free the handle: it points the
 * producer at this private stand-in slot with a capacity of 0, where
 * every push takes the ring-full branch and is dropped, and keeps the
 * handle on a list (a few hundred bytes per closed agent; processes open
 * an agent once or a few times in their life). A later handle never
 * reuses a closed one, so a stale pointer can never record into another
 * agent's ring.
 */
static struct agp_slot closed_slot;
static _Atomic(struct agp_agent *) closed_agents;

static int parse_layout_variable(const char *variable, uint32_t *value)
{
	const char *text = getenv(variable);
	if (!text || !*text)
		return 0;
	char *end;
	errno = 0;
	unsigned long parsed = strtoul(text, &end, 10);
	if (errno || *end || parsed == 0 || parsed > UINT32_MAX)
		return agp__error(-EINVAL, "%s='%s' is not a positive integer", variable, text);
	*value = (uint32_t)parsed;
	return 0;
}

static int check_label(const char *what, const char *value, size_t max)
{
	if (!value || !*value)
		return agp__error(-EINVAL, "agent %s is empty", what);
	size_t length = strlen(value);
	if (length > max)
		return agp__error(-EINVAL, "agent %s '%.40s...' is %zu characters; at most %zu",
		                  what, value, length, max);
	for (size_t i = 0; i < length; i++)
		if ((unsigned char)value[i] < 0x20 || value[i] == '"' || value[i] == '\\')
			return agp__error(-EINVAL,
			                  "agent %s '%s' has a control character, quote or "
			                  "backslash at position %zu",
			                  what, value, i);
	return 0;
}

int agp_agent_open(const char *name, const char *type, const struct agp_agent_options *options,
                   agp_agent **agent_out)
{
	int error = check_label("name", name, AGP_AGENT_NAME_MAX);
	if (error)
		return error;
	error = check_label("type", type, AGP_AGENT_TYPE_MAX);
	if (error)
		return error;

	struct agp_segment_layout layout;
	agp_segment_layout_default(&layout);
	error = parse_layout_variable("AGENTPERF_SLOTS", &layout.slot_count);
	if (error)
		return error;
	error = parse_layout_variable("AGENTPERF_RING_CAPACITY", &layout.ring_capacity);
	if (error)
		return error;

	agp_agent *agent = calloc(1, sizeof(*agent));
	if (!agent)
		return agp__error(-ENOMEM, "allocating an agent handle");
	error = agp_segment_open(options ? options->deployment : NULL, &layout, &agent->segment);
	if (error)
		goto fail_free;
	error = agp_slot_claim(&agent->segment, name, type, &agent->slot_index);
	if (error)
		goto fail_detach;
	agent->claimant = getpid();
	agent->clock = agent->segment.clock;
	agp_ring_producer_init(&agent->producer, &agent->segment, agent->slot_index);
	*agent_out = agent;
	return 0;

fail_detach:
	agp_segment_detach(&agent->segment);
fail_free:
	free(agent);
	return error;
}

void agp_agent_close(agp_agent *agent)
{
	if (!agent || agent->closed)
		return;
	agent->closed = true;
	/*
	 * A forked child shares its parent's slot lock (shm/slot.c): closing
	 * the slot or unlocking from here would end the parent's ownership
	 * while it records. The child only lets go of its own descriptor and
	 * mapping, which leaves the parent's lock and slot untouched.
	 */
	if (getpid() == agent->claimant)
		agp_slot_close(&agent->segment, agent->slot_index);
	agp_segment_detach(&agent->segment);
	agent->producer.slot = &closed_slot;
	agent->producer.records = NULL;
	agent->producer.capacity = 0;
	agent->producer.mask = 0;
	agent->producer.cached_head = agent->producer.tail;
	/*
	 * Release on success: a thread that walks the list (none does today)
	 * would see the handle complete. Relaxed on failure: we only retry.
	 */
	struct agp_agent *head = atomic_load_explicit(&closed_agents, memory_order_relaxed);
	do
		agent->next_closed = head;
	while (!atomic_compare_exchange_weak_explicit(&closed_agents, &head, agent,
	                                              memory_order_release, memory_order_relaxed));
}

uint64_t agp_clock_now_ns(const agp_agent *agent)
{
	return agent ? agp_clock_read(&agent->clock) : agp_monotonic_ns();
}

bool agp_record_at(agp_agent *agent, uint16_t metric_id, int64_t value, uint64_t task_id,
                   uint64_t timestamp_ns, uint16_t flags)
{
	if (__builtin_expect(agent == NULL, 0))
		return false;
	return agp_ring_push_spsc(&agent->producer, timestamp_ns, value, task_id, metric_id, flags);
}

bool agp_record(agp_agent *agent, uint16_t metric_id, int64_t value, uint64_t task_id)
{
	if (__builtin_expect(agent == NULL, 0))
		return false;
	return agp_ring_push_spsc(&agent->producer, agp_clock_read(&agent->clock), value, task_id,
	                          metric_id, 0);
}

int agp_metric_register(agp_agent *agent, const char *name, enum agp_unit unit,
                        uint64_t expected_interval_ns, uint16_t *id_out)
{
	if (!agent || agent->closed)
		return agp__error(-ENOTCONN, "registering metric '%s': the agent is not open",
		                  name ? name : "(null)");
	return agp_registry_register(&agent->segment, name, unit, expected_interval_ns, id_out);
}

uint64_t agp_agent_recorded(const agp_agent *agent)
{
	return agent ? agent->producer.tail : 0;
}

uint64_t agp_agent_dropped(const agp_agent *agent)
{
	return agent ? agent->producer.dropped : 0;
}
