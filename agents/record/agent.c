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
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shm/clock.h"
#include "common/error.h"
#include "shm/ownership.h"
#include "shm/registry.h"
#include "shm/ring.h"
#include "shm/segment.h"
#include "shm/slot.h"

struct agp_agent {
	struct agp_ring_producer producer; /* first: the hot path's only state */
	_Atomic uint32_t recording;        /* the nesting guard: 1 while a push runs */
	struct agp_clock clock; /* a copy of the segment's handle, beside the hot fields */
	struct agp_segment segment;
	uint32_t slot_index;
	pid_t claimant; /* the process that claimed the slot: only it may give it up */
	bool closed;
	struct agp_agent *next_closed;
	struct agp_agent *next_open, *prev_open; /* open_agents, under open_lock */
	_Atomic uint64_t nested_refused;         /* samples the nesting guard refused */
};

_Static_assert(ATOMIC_INT_LOCK_FREE == 2 && ATOMIC_LLONG_LOCK_FREE == 2,
               "the nesting guard's state is touched by signal handlers: lock-free atomics");

/*
 * The open agents of this process, so that a forked child can disown them
 * (see disown_after_fork). Opening and closing are rare; a mutex is fine.
 */
static pthread_mutex_t open_lock = PTHREAD_MUTEX_INITIALIZER;
static agp_agent *open_agents;
static pthread_once_t fork_handlers_once = PTHREAD_ONCE_INIT;

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

static void retire_handle(agp_agent *agent);

/*
 * The notice of an agent that records where no collector serves (a deployment name mistyped,
 * or samples sent to "default" by mistake): once per process, at open, never on the record
 * path. AGENTPERF_WARN_NO_COLLECTOR: unset or 1 on, 0 off; anything else is refused.
 */
#define NO_COLLECTOR_VARIABLE "AGENTPERF_WARN_NO_COLLECTOR"
static atomic_bool no_collector_noticed;

static int no_collector_notice_wanted(bool *wanted)
{
	const char *text = getenv(NO_COLLECTOR_VARIABLE);
	if (!text || !*text || strcmp(text, "1") == 0) {
		*wanted = true;
		return 0;
	}
	if (strcmp(text, "0") == 0) {
		*wanted = false;
		return 0;
	}
	return agp__error(-EINVAL, "%s='%s': expected 1 (the notice on stderr) or 0 (off)",
	                  NO_COLLECTOR_VARIABLE, text);
}

static void notice_no_collector(const agp_agent *agent, const char *name)
{
	if (agp_collector_present(&agent->segment))
		return;
	/*
	 * Relaxed: the flag only has to pick one opener of this process to print; nothing
	 * else is published through it.
	 */
	if (atomic_exchange_explicit(&no_collector_noticed, true, memory_order_relaxed))
		return;
	fprintf(stderr,
	        "agentperf: agent '%s' (pid %d) records into deployment '%s', which no collector "
	        "serves: its samples wait in its ring (%u of them) until `agentperfd --name %s` "
	        "starts, later ones are dropped and counted (once per process; %s=0 turns this "
	        "off)\n",
	        name, (int)getpid(), agent->segment.deployment, agent->segment.ring_capacity,
	        agent->segment.deployment, NO_COLLECTOR_VARIABLE);
}

/*
 * Fork: the child has a copy of every handle, pointing at its parent's
 * slots. Recording through one would interleave two producers on one SPSC
 * ring, so in the child every handle open at the fork becomes a closed one
 * (recording is a no-op that returns false); the parent's slots are not
 * touched. A child that wants telemetry opens its own agent. open_lock is
 * held across the fork, so the child's copy of the list is consistent.
 */
static void lock_before_fork(void)
{
	pthread_mutex_lock(&open_lock);
}

static void unlock_in_parent(void)
{
	pthread_mutex_unlock(&open_lock);
}

static void disown_after_fork(void)
{
	agp_agent *agent = open_agents;
	open_agents = NULL;
	while (agent) {
		agp_agent *next = agent->next_open;
		/*
		 * The child's copies of the descriptor and of the mapping both
		 * hold the parent's open file description, and with it the
		 * parent's slot lock (shm/slot.c): kept, they would keep the
		 * parent's slot live after the parent's death. So both go, at the
		 * cost of an unmap per open agent in every forked child.
		 */
		retire_handle(agent);
		agent = next;
	}
	pthread_mutex_unlock(&open_lock);
}

static void install_fork_handlers(void)
{
	pthread_atfork(lock_before_fork, unlock_in_parent, disown_after_fork);
}

static void remember_open(agp_agent *agent)
{
	pthread_once(&fork_handlers_once, install_fork_handlers);
	pthread_mutex_lock(&open_lock);
	agent->prev_open = NULL;
	agent->next_open = open_agents;
	if (open_agents)
		open_agents->prev_open = agent;
	open_agents = agent;
	pthread_mutex_unlock(&open_lock);
}

static void forget_open(agp_agent *agent)
{
	pthread_mutex_lock(&open_lock);
	if (agent->prev_open)
		agent->prev_open->next_open = agent->next_open;
	else
		open_agents = agent->next_open;
	if (agent->next_open)
		agent->next_open->prev_open = agent->prev_open;
	agent->next_open = agent->prev_open = NULL;
	pthread_mutex_unlock(&open_lock);
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
	bool notice = true;
	error = no_collector_notice_wanted(&notice);
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
	remember_open(agent);
	if (notice)
		notice_no_collector(agent, name);
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
	forget_open(agent);
	/*
	 * A forked child shares its parent's slot lock (shm/slot.c): closing
	 * the slot or unlocking from here would end the parent's ownership
	 * while it records. The fork handler retires a child's copies of the
	 * handles (disown_after_fork), and should a child still reach here
	 * with one, it only lets go of its own descriptor and mapping.
	 */
	if (getpid() == agent->claimant)
		agp_slot_close(&agent->segment, agent->slot_index);
	retire_handle(agent);
}

/*
 * Makes the handle a no-op for good: it points at closed_slot and joins the
 * closed list. Detaching closes the descriptor without F_UNLCK, which in a
 * forked child would release the parent's lock.
 */
static void retire_handle(agp_agent *agent)
{
	agent->closed = true;
	agp_clock_freeze(&agent->clock); /* the timer of a closed handle still reads it */
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

/*
 * The nesting guard. A signal handler that records on the handle whose push
 * it interrupted would write the same ring position as the push under it:
 * two records in one place, and a tail that goes back. So a push first
 * marks the handle busy; a push that finds it busy is nested (a handler on
 * this thread) and refuses its sample, counting it. Both parties run on one
 * thread, so relaxed accesses and compiler-only signal fences suffice: the
 * flag is set before the ring is touched and cleared after, in the order a
 * handler on this thread observes. Cost: one load and two stores on a line
 * the push touches anyway.
 */
static inline bool push_guarded(agp_agent *agent, uint64_t timestamp_ns, int64_t value,
                                uint64_t task_id, uint16_t metric_id, uint16_t flags)
{
	if (__builtin_expect(atomic_load_explicit(&agent->recording, memory_order_relaxed), 0)) {
		/* Relaxed RMW: a handler nested in a handler may count at the same time. */
		atomic_fetch_add_explicit(&agent->nested_refused, 1, memory_order_relaxed);
		return false;
	}
	atomic_store_explicit(&agent->recording, 1, memory_order_relaxed);
	/*
	 * Compiler-only (a signal fence emits no instruction). seq_cst, not release: the
	 * push's loads of its indices must also stay after the flag's store, or a handler
	 * could run between those loads and the store and push under our feet.
	 */
	atomic_signal_fence(memory_order_seq_cst);
	bool taken =
	    agp_ring_push_spsc(&agent->producer, timestamp_ns, value, task_id, metric_id, flags);
	/* Compiler-only; release: the ring's stores (and loads) before the flag's clearing. */
	atomic_signal_fence(memory_order_release);
	atomic_store_explicit(&agent->recording, 0, memory_order_relaxed);
	return taken;
}

bool agp_record_at(agp_agent *agent, uint16_t metric_id, int64_t value, uint64_t task_id,
                   uint64_t timestamp_ns, uint16_t flags)
{
	if (__builtin_expect(agent == NULL, 0))
		return false;
	return push_guarded(agent, timestamp_ns, value, task_id, metric_id, flags);
}

bool agp_record(agp_agent *agent, uint16_t metric_id, int64_t value, uint64_t task_id)
{
	if (__builtin_expect(agent == NULL, 0))
		return false;
	return push_guarded(agent, agp_clock_read(&agent->clock), value, task_id, metric_id, 0);
}

uint64_t agp_agent_nested_refused(const agp_agent *agent)
{
	/* Relaxed: a count; the caller reads it after the handlers it cares about have run. */
	return agent ? atomic_load_explicit(&agent->nested_refused, memory_order_relaxed) : 0;
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
