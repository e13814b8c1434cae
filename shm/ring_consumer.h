/*
 * The consumer side of the rings: drains one slot at a time in batches and
 * trusts nothing an agent can write.
 *
 *  - The consumer's head is private and authoritative; the shared head is
 *    only written, never read back.
 *  - A tail behind the head, or more than a ring ahead of it, means the
 *    slot's indices were scribbled: the slot is quarantined (skipped until
 *    a new occupant claims it) and its records are never read.
 *  - Each record is copied out first and validated on the copy: its
 *    sequence must equal the position it was read from, its metric id must
 *    be registered, its flags known, its value non-negative and its
 *    timestamp not in the future. A record that fails is counted as invalid
 *    and skipped.
 *
 * Accounting for one occupant of a slot, exact at any instant between two
 * drains: tail + dropped (written) == consumed + invalid + dropped + (tail - head).
 */
#ifndef AGP_SHM_CONSUMER_H
#define AGP_SHM_CONSUMER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "shm/abi.h"
#include "shm/segment.h"

/* Which metric ids are known registered: filled lazily from the registry. */
struct agp_metric_cache {
	uint64_t ready[AGP_REGISTRY_CAPACITY / 64];
};

/* The consumer's private view of one slot occupant. */
struct agp_ring_consumer {
	uint32_t index;
	uint32_t generation;
	uint64_t head;     /* records taken out of the ring: consumed + invalid */
	uint64_t consumed; /* valid records handed to the caller */
	uint64_t invalid;  /* records that failed validation */
	bool quarantined;  /* scribbled indices: never read again */
};

/* Starts following the occupant of slot index that has generation. */
void agp_ring_consumer_init(struct agp_ring_consumer *consumer, uint32_t index,
                            uint32_t generation);

/*
 * Copies up to max validated records of the slot into out and releases
 * their space to the producer. Returns how many records were copied.
 * now_limit_ns bounds timestamps (records stamped later are invalid).
 */
size_t agp_ring_drain_spsc(const struct agp_segment *segment, struct agp_metric_cache *metrics,
                           struct agp_ring_consumer *consumer, uint64_t now_limit_ns,
                           struct agp_record *out, size_t max);

/* Records published but not yet drained, as the shared tail says now (0 when quarantined). */
uint64_t agp_ring_pending(const struct agp_segment *segment,
                          const struct agp_ring_consumer *consumer);

#endif
