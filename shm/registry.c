#include "shm/registry.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "shm/clock.h"
#include "common/error.h"
#include "shm/fault.h"
#include "shm/ownership.h"
#include "shm/segment.h"

/*
 * A living registrar that holds an entry this long (stopped, or starved)
 * is passed by: we probe on. A dead one costs nothing: its lock is gone and
 * the next registrar that meets the entry takes it over at once. So the
 * wait only ever covers a writer that is alive: it is long (writing an
 * entry takes microseconds, but a starved writer on a loaded machine can be
 * off its core for tens of milliseconds), because passing by a writer of
 * the same name would give that name a second id.
 */
#define WRITER_WAIT_NS (2000ull * 1000 * 1000)

void agp_registry_init(struct agp_segment *segment)
{
	for (unsigned id = 0; id < AGP_METRIC_FIRST_CUSTOM; id++) {
		struct agp_metric_entry *entry = agp_segment_metric(segment, id);
		entry->unit = agp_builtin_metric_unit(id);
		entry->expected_interval_ns = 0;
		strncpy(entry->name, agp_builtin_metric_name(id), sizeof(entry->name) - 1);
		/* Relaxed: the segment is not yet published; its magic's release store orders this.
		 */
		atomic_store_explicit(&entry->state, AGP_METRIC_READY, memory_order_relaxed);
	}
}

/* FNV-1a: cheap, and the same in every process. */
static uint32_t name_hash(const char *name)
{
	uint32_t hash = 2166136261u;
	for (; *name; name++)
		hash = (hash ^ (uint8_t)*name) * 16777619u;
	return hash;
}

/* Fills an entry we hold as WRITING and publishes it. */
static void publish(struct agp_metric_entry *entry, const char *name, enum agp_unit unit,
                    uint64_t expected_interval_ns)
{
	AGP_FAULT_POINT("registry.writing");
	memset(entry->name, 0, sizeof(entry->name));
	strncpy(entry->name, name, sizeof(entry->name) - 1);
	entry->unit = (uint32_t)unit;
	entry->expected_interval_ns = expected_interval_ns;
	/* Zero: a reader of a later minor version reads its fields there as absent. */
	memset(entry->reserved, 0, sizeof(entry->reserved));
	AGP_FAULT_POINT("registry.named");
	/* Release: whoever sees READY sees the name, unit and interval above. */
	atomic_store_explicit(&entry->state, AGP_METRIC_READY, memory_order_release);
}

/*
 * The entry locks are OFD locks (ownership.h), and every thread of a process
 * takes them through the same descriptor, so they keep other processes out
 * but not our own threads: two of them could both hold an entry's lock and
 * both take over its WRITING state. This mutex keeps our threads to one
 * registration step at a time; a child forked while one held it starts with
 * it unlocked (the fork handler), since the thread that held it is not there.
 */
static pthread_mutex_t registering = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t fork_handler_once = PTHREAD_ONCE_INIT;

static void registering_reset_in_child(void)
{
	pthread_mutex_init(&registering, NULL);
}

static void install_fork_handler(void)
{
	pthread_atfork(NULL, NULL, registering_reset_in_child);
}

/*
 * Settles entry id for name: 1 when we wrote it (FREE, or WRITING left by
 * a registrar that died), 0 when it is READY (the caller compares its
 * name), -EAGAIN when a living registrar kept it WRITING too long, another
 * negative errno when the kernel refuses the lock. Every change of an
 * entry that is not READY is made under its lock (ownership.h), taken
 * before FREE becomes WRITING and dropped after READY.
 */
static int settle_entry(struct agp_segment *segment, uint32_t id, const char *name,
                        enum agp_unit unit, uint64_t expected_interval_ns)
{
	struct agp_metric_entry *entry = agp_segment_metric(segment, id);
	uint64_t byte = agp_ownership_metric_byte(segment, id);
	uint64_t deadline = 0;
	pthread_once(&fork_handler_once, install_fork_handler);
	for (;;) {
		/* Acquire pairs with the writer's release of READY: the name is complete when we
		 * read it. */
		uint32_t state = atomic_load_explicit(&entry->state, memory_order_acquire);
		if (state == AGP_METRIC_READY)
			return 0;
		pthread_mutex_lock(&registering);
		int error = agp_ownership_take(segment, byte);
		if (error != 0)
			pthread_mutex_unlock(&registering);
		if (error == 0) {
			AGP_FAULT_POINT("registry.locked");
			/* Acquire on success and failure: as above. */
			state = atomic_load_explicit(&entry->state, memory_order_acquire);
			bool ours = state != AGP_METRIC_READY &&
			            atomic_compare_exchange_strong_explicit(
			                &entry->state, &state, AGP_METRIC_WRITING,
			                memory_order_acquire, memory_order_acquire);
			if (ours)
				publish(entry, name, unit, expected_interval_ns);
			agp_ownership_drop(segment, byte);
			pthread_mutex_unlock(&registering);
			if (ours)
				return 1;
			continue; /* it became READY (or was scribbled) meanwhile: look again */
		}
		if (error != -EAGAIN)
			return error;
		/* A living registrar is writing it: wait for READY, but not forever. */
		uint64_t now = agp_monotonic_ns();
		if (!deadline)
			deadline = now + WRITER_WAIT_NS;
		else if (now > deadline)
			return -EAGAIN;
		sched_yield();
	}
}

int agp_registry_register(struct agp_segment *segment, const char *name, enum agp_unit unit,
                          uint64_t expected_interval_ns, uint16_t *id_out)
{
	if (!name || !agp_metric_name_valid(name))
		return agp__error(-EINVAL,
		                  "metric name '%.60s' is not valid: 1..%d characters of letters, "
		                  "digits and '_', not starting with a digit",
		                  name ? name : "(null)", AGP_METRIC_NAME_MAX);
	if ((unsigned)unit > AGP_UNIT_COUNT)
		return agp__error(-EINVAL, "metric '%s': unit %d is not a known unit", name, unit);

	uint16_t builtin_id;
	if (agp_registry_find(segment, name, &builtin_id) == 0 &&
	    builtin_id < AGP_METRIC_FIRST_CUSTOM)
		return agp__error(-EINVAL, "metric '%s' is a built-in metric (id %u)", name,
		                  builtin_id);

	uint32_t custom_count = segment->registry_capacity - AGP_METRIC_FIRST_CUSTOM;
	uint32_t start = name_hash(name) % custom_count;
	for (uint32_t probe = 0; probe < custom_count; probe++) {
		uint32_t id = AGP_METRIC_FIRST_CUSTOM + (start + probe) % custom_count;
		struct agp_metric_entry *entry = agp_segment_metric(segment, id);
		int settled = settle_entry(segment, id, name, unit, expected_interval_ns);
		if (settled == 1) {
			*id_out = (uint16_t)id;
			return 0;
		}
		if (settled == -EAGAIN)
			continue; /* held too long by a living writer: its name is unknown, probe on
			           */
		if (settled < 0)
			return settled;
		if (strncmp(entry->name, name, sizeof(entry->name)) == 0) {
			if (entry->unit != (uint32_t)unit)
				return agp__error(
				    -EINVAL, "metric '%s' is registered with unit %s, not %s", name,
				    agp_unit_name((enum agp_unit)entry->unit), agp_unit_name(unit));
			*id_out = (uint16_t)id;
			return 0;
		}
	}
	return agp__error(-ENOSPC, "metric registry is full (%u custom metrics); cannot add '%s'",
	                  custom_count, name);
}

bool agp_registry_lookup(const struct agp_segment *segment, uint32_t id,
                         struct agp_metric_info *info)
{
	if (id >= segment->registry_capacity)
		return false;
	struct agp_metric_entry *entry = agp_segment_metric(segment, id);
	/* Acquire pairs with the registrar's release of READY. */
	if (atomic_load_explicit(&entry->state, memory_order_acquire) != AGP_METRIC_READY)
		return false;
	/*
	 * Every field is read once, into the copy, and checked there: an agent
	 * may rewrite the entry between two reads of it.
	 */
	/* Relaxed atomic read: one load the compiler may not repeat; READY's acquire orders it. */
	uint32_t unit = __atomic_load_n(&entry->unit, __ATOMIC_RELAXED);
	struct agp_metric_info copy = {.id = (uint16_t)id,
	                               .expected_interval_ns = entry->expected_interval_ns};
	memcpy(copy.name, entry->name, sizeof(copy.name));
	if (memchr(copy.name, 0, sizeof(copy.name)) == NULL || !agp_metric_name_valid(copy.name) ||
	    unit > AGP_UNIT_COUNT)
		return false;
	copy.unit = (enum agp_unit)unit;
	*info = copy;
	return true;
}

int agp_registry_find(const struct agp_segment *segment, const char *name, uint16_t *id_out)
{
	struct agp_metric_info info;
	for (uint32_t id = 0; id < segment->registry_capacity; id++) {
		if (agp_registry_lookup(segment, id, &info) && strcmp(info.name, name) == 0) {
			*id_out = (uint16_t)id;
			return 0;
		}
	}
	return -ENOENT;
}
