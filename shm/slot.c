#include "shm/slot.h"

#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/error.h"

uint64_t agp_process_start_time(pid_t pid)
{
	char path[64], buffer[1024];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	FILE *file = fopen(path, "re");
	if (!file)
		return 0;
	size_t length = fread(buffer, 1, sizeof(buffer) - 1, file);
	fclose(file);
	buffer[length] = '\0';
	/* The command name (field 2) may hold spaces and ')': count fields after its last ')'. */
	char *cursor = strrchr(buffer, ')');
	if (!cursor || cursor[1] != ' ')
		return 0;
	/*
	 * Field 3 is the state. A zombie (Z) or dying (X) process still has
	 * its /proc entry and start time, but it will never write its ring
	 * again: for a slot's owner that is gone.
	 */
	char process_state = cursor[2];
	if (process_state == 'Z' || process_state == 'X' || process_state == 'x')
		return 0;
	cursor++;
	for (int field = 3; field < 22; field++) {
		cursor = strchr(cursor + 1, ' ');
		if (!cursor)
			return 0;
	}
	return strtoull(cursor + 1, NULL, 10);
}

bool agp_process_alive(pid_t pid, uint64_t start_time)
{
	if (pid <= 0)
		return false;
	if (kill(pid, 0) != 0 && errno == ESRCH)
		return false;
	uint64_t now_start = agp_process_start_time(pid);
	/* A zombie reads as 0 (gone); a reused pid has another start time. */
	return now_start != 0 && now_start == start_time;
}

static bool collector_serving(const struct agp_segment *segment)
{
	/* Relaxed: an advisory hint; a wrong guess only delays a reclaim. */
	int32_t pid =
	    atomic_load_explicit(&agp_segment_header(segment)->collector_pid, memory_order_relaxed);
	return pid > 0 && (kill(pid, 0) == 0 || errno == EPERM);
}

static bool try_take(struct agp_slot *slot, uint32_t from)
{
	uint32_t expected = from;
	/* Acquire: we reset indices the previous owner and collector wrote; see their writes first.
	 */
	return atomic_compare_exchange_strong_explicit(&slot->state, &expected, AGP_SLOT_CLAIMING,
	                                               memory_order_acquire, memory_order_relaxed);
}

/*
 * Takes a LIVE slot whose owner is dead. The generation guards against
 * ABA: another agent may reclaim the slot between our liveness check and
 * our compare-and-swap, leaving it LIVE again under a living owner; the
 * generation it bumped tells us, and we hand the slot back.
 */
static bool try_take_dead(struct agp_slot *slot)
{
	/* Acquire: pairs with the owner's release of LIVE; we judge the pid it wrote. */
	if (atomic_load_explicit(&slot->state, memory_order_acquire) != AGP_SLOT_LIVE)
		return false;
	/* Relaxed: written before the owner's release of LIVE, read after our acquire. */
	uint32_t generation = atomic_load_explicit(&slot->generation, memory_order_relaxed);
	if (agp_process_alive(slot->pid, slot->start_time) || !try_take(slot, AGP_SLOT_LIVE))
		return false;
	/* Relaxed: try_take's acquire synchronised with whoever published LIVE last. */
	if (atomic_load_explicit(&slot->generation, memory_order_relaxed) == generation)
		return true;
	/* Release: give the slot back to its new owner exactly as it published it. */
	atomic_store_explicit(&slot->state, AGP_SLOT_LIVE, memory_order_release);
	return false;
}

int agp_slot_claim(struct agp_segment *segment, const char *name, const char *type,
                   uint32_t *index_out)
{
	pid_t pid = getpid();
	uint64_t start_time = agp_process_start_time(pid);
	/*
	 * Two passes: free slots first, and only when none is left (and no
	 * collector serves the segment) the slot of a closed or dead agent.
	 * Taking such a slot discards the samples still in its ring, which a
	 * collector that starts later would otherwise read.
	 */
	bool may_reclaim = false;
	for (uint32_t pass_index = 0; pass_index < 2 * segment->slot_count; pass_index++) {
		uint32_t index = pass_index % segment->slot_count;
		if (pass_index == segment->slot_count) {
			may_reclaim = !collector_serving(segment);
			if (!may_reclaim)
				break;
		}
		struct agp_slot *slot = agp_segment_slot(segment, index);
		bool taken = may_reclaim
		                 ? try_take(slot, AGP_SLOT_FREE) ||
		                       try_take(slot, AGP_SLOT_CLOSED) || try_take_dead(slot)
		                 : try_take(slot, AGP_SLOT_FREE);
		if (!taken)
			continue;

		/* Relaxed: nobody reads a CLAIMING slot; the release of LIVE publishes these. */
		atomic_store_explicit(&slot->tail_hot, 0, memory_order_relaxed);
		atomic_store_explicit(&slot->dropped_hot, 0, memory_order_relaxed);
		atomic_store_explicit(&slot->head, 0, memory_order_relaxed);
		slot->pid = pid;
		slot->start_time = start_time;
		memset(slot->name, 0, sizeof(slot->name));
		memset(slot->type, 0, sizeof(slot->type));
		strncpy(slot->name, name, sizeof(slot->name) - 1);
		strncpy(slot->type, type, sizeof(slot->type) - 1);
		atomic_fetch_add_explicit(&slot->generation, 1, memory_order_relaxed);
		/* Release: a collector that reads LIVE (acquire) sees the identity and zeroed
		 * indices. */
		atomic_store_explicit(&slot->state, AGP_SLOT_LIVE, memory_order_release);
		*index_out = index;
		return 0;
	}
	return agp__error(-ENOSPC, "all %u agent slots of deployment '%s' are taken",
	                  segment->slot_count, segment->deployment);
}

void agp_slot_close(struct agp_segment *segment, uint32_t index)
{
	struct agp_slot *slot = agp_segment_slot(segment, index);
	uint32_t expected = AGP_SLOT_LIVE;
	/* Release: the collector that sees CLOSED sees every record published before. */
	atomic_compare_exchange_strong_explicit(&slot->state, &expected, AGP_SLOT_CLOSED,
	                                        memory_order_release, memory_order_relaxed);
}

bool agp_slot_release(struct agp_segment *segment, uint32_t index, uint32_t generation)
{
	struct agp_slot *slot = agp_segment_slot(segment, index);
	/* Acquire: pairs with the claimant's release, so the generation we compare is the one it
	 * wrote. */
	uint32_t state = atomic_load_explicit(&slot->state, memory_order_acquire);
	if ((state != AGP_SLOT_CLOSED && state != AGP_SLOT_LIVE) ||
	    atomic_load_explicit(&slot->generation, memory_order_relaxed) != generation)
		return false;
	/* Release: the next claimant's acquire sees that we are done reading the ring. */
	return atomic_compare_exchange_strong_explicit(&slot->state, &state, AGP_SLOT_FREE,
	                                               memory_order_release, memory_order_relaxed);
}
