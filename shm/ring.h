/*
 * The per-agent single-producer/single-consumer ring of sample records.
 *
 * Why not ck_ring: ck_ring keeps its size and mask in the same shared
 * structure as its indices, and its consumer trusts them. Here the consumer
 * is a daemon that must survive any bytes an agent (or a stray pointer in
 * an agent) writes, so the geometry lives in each side's private memory,
 * copied once from the validated segment header, and only the two indices
 * are shared. bench/ measures this ring against ck_ring_enqueue_spsc of the
 * same record size.
 *
 * Protocol. Indices are free-running 64-bit counts (they never wrap in
 * practice); a record at position p lives at records[p & mask] and carries
 * the low 32 bits of p in its sequence field.
 *  - The producer owns tail_hot. It writes the record, then stores tail + 1
 *    with release: the consumer that loads the tail with acquire sees the
 *    whole record.
 *  - The consumer owns head. It copies records out, validates the copies,
 *    then stores the new head with release: the producer that loads the
 *    head with acquire may overwrite those positions, because the consumer
 *    has finished reading them.
 *  - The producer reloads the shared head only when its cached copy says
 *    the ring is full, so the common path touches no line the consumer
 *    writes. A full ring drops the sample and counts it; it never waits.
 */
#ifndef AGP_SHM_RING_H
#define AGP_SHM_RING_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "shm/abi.h"

struct agp_segment;

/* The producer's private state; lives in the agent's own memory. */
struct agp_ring_producer {
	struct agp_slot *slot;
	struct agp_record *records;
	uint64_t mask;
	uint64_t capacity;
	uint64_t tail;        /* authoritative copy of slot->tail_hot */
	uint64_t cached_head; /* last head read from the consumer's line */
	uint64_t dropped;     /* authoritative copy of slot->dropped_hot */
};

void agp_ring_producer_init(struct agp_ring_producer *producer, const struct agp_segment *segment,
                            uint32_t slot_index);

static inline bool agp_ring_push_spsc(struct agp_ring_producer *producer, uint64_t timestamp_ns,
                                      int64_t value, uint64_t task_id, uint16_t metric_id,
                                      uint16_t flags)
{
	uint64_t tail = producer->tail;
	if (__builtin_expect(tail - producer->cached_head >= producer->capacity, 0)) {
		/* Acquire: pairs with the consumer's release of head; those records are read. */
		producer->cached_head =
		    atomic_load_explicit(&producer->slot->head, memory_order_acquire);
		if (tail - producer->cached_head >= producer->capacity) {
			producer->dropped++;
			/*
			 * Release (off the hot path: only when dropping): a collector that
			 * acquires this count sees a tail at least as far as the one that
			 * filled the ring, which is how it checks the count is possible.
			 */
			atomic_store_explicit(&producer->slot->dropped_hot, producer->dropped,
			                      memory_order_release);
			return false;
		}
	}
	struct agp_record *record = &producer->records[tail & producer->mask];
	record->timestamp_ns = timestamp_ns;
	record->value = value;
	record->task_id = task_id;
	record->sequence = (uint32_t)tail;
	record->metric_id = metric_id;
	record->flags = flags;
	producer->tail = tail + 1;
	/* Release: the consumer's acquire of the tail sees the record written above. */
	atomic_store_explicit(&producer->slot->tail_hot, tail + 1, memory_order_release);
	return true;
}

#endif
