/*
 * Agent slots: who owns which ring.
 *
 * State machine (every transition is one compare-and-swap, so no two
 * processes can both win it):
 *
 *   FREE --agent claims--> CLAIMING --agent publishes--> LIVE
 *   LIVE --agent closes--> CLOSED
 *   CLOSED, or LIVE with a dead owner --collector, after draining--> FREE
 *
 * While CLAIMING the agent resets the ring indices and counters and writes
 * its identity; the collector skips such a slot. The generation, bumped at
 * every claim, tells the collector that a slot it knew has a new occupant.
 * When no collector serves the segment and no slot is FREE, an agent may
 * itself reclaim a CLOSED or dead slot (there is nobody to drain it; its
 * samples are lost, and only then: free slots are always taken first).
 */
#ifndef AGP_SHM_SLOT_H
#define AGP_SHM_SLOT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "shm/segment.h"

/* The process's start time in clock ticks since boot; 0 when it is gone (no /proc entry, or a
 * zombie). */
uint64_t agp_process_start_time(pid_t pid);

/* True while the process that owned a slot still runs: same pid and same start time. */
bool agp_process_alive(pid_t pid, uint64_t start_time);

/* Claims a slot for the calling process. -ENOSPC when every slot is taken. */
int agp_slot_claim(struct agp_segment *segment, const char *name, const char *type,
                   uint32_t *index_out);

/* LIVE -> CLOSED by the owner. */
void agp_slot_close(struct agp_segment *segment, uint32_t index);

/*
 * CLOSED or LIVE -> FREE, by the collector once the ring is drained and
 * only if the slot still holds the generation the caller drained.
 */
bool agp_slot_release(struct agp_segment *segment, uint32_t index, uint32_t generation);

#endif
