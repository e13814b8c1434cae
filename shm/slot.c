/*
 * Slot ownership: who owns which ring, witnessed by the kernel.
 *
 * Design note. The owner of a slot, the writer of a registry entry and the
 * collector each hold a one-byte OFD write lock (fcntl F_OFD_SETLK) on the
 * segment's own file, through the descriptor their struct agp_segment
 * keeps open (bytes: ownership.h). Whether an owner is still there is then
 * a question to the kernel (F_OFD_GETLK, or a failed non-blocking
 * F_OFD_SETLK), and the answer is right whatever /proc shows: across pid
 * namespaces that share /dev/shm, under hidepid, for a zombie (its files
 * are closed before it becomes one) and for a reused or scribbled pid
 * (no pid is consulted). The lock goes away when the last descriptor of
 * its open file description closes, which the kernel does for a process
 * that dies however it dies.
 *
 * Why OFD locks and not the alternatives:
 *  - Classic POSIX locks (F_SETLK) belong to a process: a second agent
 *    handle in the same process would not conflict with the first, a
 *    collector could not test an agent of its own process, and closing any
 *    descriptor of the file (a second attach) drops every lock the process
 *    holds on it.
 *  - A robust process-shared mutex (EOWNERDEAD) answers only the next
 *    locker, lives in memory an agent can scribble, and the kernel's robust
 *    list is kept by the owner itself in its own memory.
 *  - A pidfd or a socket per agent needs a collector to hand it to, and
 *    agents run before any collector does.
 *
 * What follows from a lock belonging to an open file description:
 *  - fork: the child shares the parent's description, so the parent's
 *    locks would stay held while either lives, and a child that never
 *    records would keep its parent's slot live after the parent's death.
 *    So the agents' fork handler (agent.c, disown_after_fork), in the
 *    child, close()s its copy of every agent's descriptor (that removes
 *    the child's reference and leaves the parent's lock alone), never
 *    unlocks or closes the slot (F_UNLCK through the shared description
 *    would release the parent's lock, and CLOSED would end its slot), and
 *    never records through the parent's ring; a child that wants to
 *    record opens its own agent. agp_agent_close() keeps to the same in a
 *    child that still reaches it (agent.c compares the claimant's pid).
 *  - exec: shm_open gives the descriptor FD_CLOEXEC (we check), so after
 *    exec the program holds nothing, and it has no mapping either.
 *  - close: a program that closes descriptors it did not open (a
 *    daemonizing loop over every fd) gives its slots up; the collector
 *    then drains and frees them, and the program's later records may land
 *    in a ring that another agent claimed. Nothing on the hot path can see
 *    that; don't close the descriptors of a library you still use.
 *
 * State machine; every transition is made by a process that holds the
 * slot's lock (the owner, a claimant, or the collector while it frees),
 * so two processes never make one concurrently; each that leaves a state
 * someone else wrote is still a compare-and-swap, so that a scribbled
 * state is never overwritten blind:
 *
 *   FREE --agent locks, claims--> CLAIMING --agent publishes--> LIVE
 *   LIVE --agent closes, then unlocks--> CLOSED
 *   CLOSED, or LIVE unlocked (owner dead) --collector, after draining--> FREE
 *                                         --agent, when no collector serves--> CLAIMING
 *   CLAIMING unlocked (claimant died) --any agent--> CLAIMING (taken over)
 *                                     --collector--> FREE
 *
 * The lock is taken before the state leaves FREE and dropped after it
 * reaches CLOSED, so a CLAIMING or LIVE slot whose lock nobody holds has
 * lost its owner, and its state cannot change under whoever takes the lock
 * next. The lock orders nothing in memory: every state load and store
 * below carries its own acquire or release, and the lock is only mutual
 * exclusion and the witness of a life.
 *
 * While CLAIMING the agent resets the ring indices and counters and writes
 * its identity; the collector skips such a slot. The generation, bumped at
 * every claim, tells the collector that a slot it knew has a new occupant.
 * When no collector serves the segment and no slot is FREE, an agent may
 * itself reclaim a CLOSED or dead slot (there is nobody to drain it; its
 * samples are lost, and only then: free slots are always taken first).
 */
#include "shm/slot.h"

#include <errno.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include "common/error.h"
#include "shm/fault.h"
#include "shm/ownership.h"

/* With the slot's lock in hand: may we take a slot in this state? */
static bool claimable(uint32_t state, bool may_reclaim)
{
	/* CLAIMING under a lock nobody else held is a claimant that died: as good as FREE. */
	if (state == AGP_SLOT_FREE || state == AGP_SLOT_CLAIMING)
		return true;
	/* CLOSED, or LIVE under a free lock (a dead owner): a ring only a collector would read. */
	return may_reclaim && (state == AGP_SLOT_CLOSED || state == AGP_SLOT_LIVE);
}

/*
 * Takes slot index, or returns false with nothing changed. -errno when the kernel refuses.
 * *state_out: the state it was taken in.
 */
static int try_take(struct agp_segment *segment, uint32_t index, bool may_reclaim,
                    uint32_t *state_out)
{
	struct agp_slot *slot = agp_segment_slot(segment, index);
	/* Relaxed: a pre-check that spares a system call per taken slot; we decide under the lock.
	 */
	if (!claimable(atomic_load_explicit(&slot->state, memory_order_relaxed), may_reclaim))
		return 0;
	int error = agp_ownership_take(segment, agp_ownership_slot_byte(segment, index));
	if (error == -EAGAIN)
		return 0; /* its owner, or another claimant, lives */
	if (error)
		return error;
	AGP_FAULT_POINT("slot.locked");
	/* Acquire: we reset indices the previous owner and collector wrote; see their writes first.
	 */
	uint32_t state = atomic_load_explicit(&slot->state, memory_order_acquire);
	if (claimable(state, may_reclaim) &&
	    atomic_compare_exchange_strong_explicit(&slot->state, &state, AGP_SLOT_CLAIMING,
	                                            memory_order_acquire, memory_order_relaxed)) {
		*state_out = state;
		return 1;
	}
	agp_ownership_drop(segment, agp_ownership_slot_byte(segment, index));
	return 0;
}

int agp_slot_claim(struct agp_segment *segment, const char *name, const char *type,
                   uint32_t *index_out)
{
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
			may_reclaim = !agp_collector_present(segment);
			if (!may_reclaim)
				break;
		}
		uint32_t taken_state = AGP_SLOT_FREE;
		int taken = try_take(segment, index, may_reclaim, &taken_state);
		if (taken < 0)
			return taken;
		if (!taken)
			continue;
		AGP_FAULT_POINT("slot.claiming");

		struct agp_slot *slot = agp_segment_slot(segment, index);
		/*
		 * Reclaiming a closed or dead occupant's slot discards what is left in its
		 * ring: count it into the slot, for a collector that starts later
		 * (collector/drain/drain.c, lost on reclaim). Relaxed: the previous owner
		 * is gone (its lock was free), and the acquire of the state above ordered
		 * us after the last collector's release of the head.
		 */
		uint32_t reclaimed = 0;
		if (taken_state == AGP_SLOT_CLOSED || taken_state == AGP_SLOT_LIVE) {
			uint64_t tail = atomic_load_explicit(&slot->tail_hot, memory_order_relaxed);
			uint64_t head = atomic_load_explicit(&slot->head, memory_order_relaxed);
			uint64_t left = tail >= head ? tail - head : 0;
			reclaimed =
			    (uint32_t)(left < segment->ring_capacity ? left
			                                             : segment->ring_capacity);
		}
		/* Relaxed: nobody reads a CLAIMING slot; the release of LIVE publishes these. */
		atomic_store_explicit(&slot->tail_hot, 0, memory_order_relaxed);
		atomic_store_explicit(&slot->dropped_hot, 0, memory_order_relaxed);
		atomic_store_explicit(&slot->head, 0, memory_order_relaxed);
		slot->pid = (int32_t)getpid();
		slot->reclaimed_pending = reclaimed;
		memset(slot->name, 0, sizeof(slot->name));
		memset(slot->type, 0, sizeof(slot->type));
		strncpy(slot->name, name, sizeof(slot->name) - 1);
		strncpy(slot->type, type, sizeof(slot->type) - 1);
		/* Zero: a reader of a later minor version reads its fields there as absent. */
		memset(slot->reserved_cold, 0, sizeof(slot->reserved_cold));
		memset(slot->reserved_producer, 0, sizeof(slot->reserved_producer));
		memset(slot->reserved_consumer, 0, sizeof(slot->reserved_consumer));
		AGP_FAULT_POINT("slot.identified");
		atomic_fetch_add_explicit(&slot->generation, 1, memory_order_relaxed);
		/* Release: a collector that reads LIVE (acquire) sees the identity and zeroed
		 * indices. */
		atomic_store_explicit(&slot->state, AGP_SLOT_LIVE, memory_order_release);
		AGP_FAULT_POINT("slot.live");
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
	AGP_FAULT_POINT("slot.closed");
	agp_ownership_drop(segment, agp_ownership_slot_byte(segment, index));
}

bool agp_slot_owner_alive(const struct agp_segment *segment, uint32_t index)
{
	/* When the kernel cannot tell, the owner lives: a slot is never freed on a guess. */
	return agp_ownership_held(segment, agp_ownership_slot_byte(segment, index)) != 0;
}

bool agp_slot_release(struct agp_segment *segment, uint32_t index, uint32_t generation)
{
	struct agp_slot *slot = agp_segment_slot(segment, index);
	uint64_t byte = agp_ownership_slot_byte(segment, index);
	/* Held: the owner lives after all, or an agent is reclaiming the slot; try again later. */
	if (agp_ownership_take(segment, byte) != 0)
		return false;
	/* Acquire: pairs with the claimant's release, so the generation we compare is the one it
	 * wrote. */
	uint32_t state = atomic_load_explicit(&slot->state, memory_order_acquire);
	bool released =
	    (state == AGP_SLOT_CLOSED || state == AGP_SLOT_LIVE) &&
	    atomic_load_explicit(&slot->generation, memory_order_relaxed) == generation &&
	    /* Release: the next claimant's acquire sees that we are done reading the ring. */
	    atomic_compare_exchange_strong_explicit(&slot->state, &state, AGP_SLOT_FREE,
	                                            memory_order_release, memory_order_relaxed);
	agp_ownership_drop(segment, byte);
	return released;
}

bool agp_slot_free_abandoned_claim(struct agp_segment *segment, uint32_t index)
{
	struct agp_slot *slot = agp_segment_slot(segment, index);
	uint64_t byte = agp_ownership_slot_byte(segment, index);
	if (agp_ownership_take(segment, byte) != 0)
		return false; /* the claimant lives */
	uint32_t state = AGP_SLOT_CLAIMING;
	/* Release: the next claimant's acquire sees the slot as we leave it (nothing to read). */
	bool freed = atomic_compare_exchange_strong_explicit(
	    &slot->state, &state, AGP_SLOT_FREE, memory_order_release, memory_order_relaxed);
	agp_ownership_drop(segment, byte);
	return freed;
}
