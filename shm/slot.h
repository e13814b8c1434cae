/*
 * Agent slots: who owns which ring. The owner holds the slot's lock
 * (ownership.h) for as long as it owns it; slot.c explains the state
 * machine and why the kernel, not a pid, says whether an owner lives.
 */
#ifndef AGP_SHM_SLOT_H
#define AGP_SHM_SLOT_H

#include <stdbool.h>
#include <stdint.h>

#include "shm/segment.h"

/*
 * Claims a slot for the calling handle and holds its lock until
 * agp_slot_close (or the handle's death). -ENOSPC when every slot is taken.
 */
int agp_slot_claim(struct agp_segment *segment, const char *name, const char *type,
                   uint32_t *index_out);

/* LIVE -> CLOSED by the owner, which then drops the slot's lock. */
void agp_slot_close(struct agp_segment *segment, uint32_t index);

/* Whether the owner of slot index still holds its lock (asked by the collector). */
bool agp_slot_owner_alive(const struct agp_segment *segment, uint32_t index);

/*
 * CLOSED or LIVE with a departed owner -> FREE, by the collector once the
 * ring is drained and only if the slot still holds the generation the
 * caller drained and nobody holds its lock. False: try again later.
 */
bool agp_slot_release(struct agp_segment *segment, uint32_t index, uint32_t generation);

/* CLAIMING whose claimant died -> FREE, by the collector. False when there was none. */
bool agp_slot_free_abandoned_claim(struct agp_segment *segment, uint32_t index);

#endif
