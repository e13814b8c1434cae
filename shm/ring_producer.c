#include "shm/ring.h"

#include "shm/segment.h"

void agp_ring_producer_init(struct agp_ring_producer *producer, const struct agp_segment *segment,
                            uint32_t slot_index)
{
	struct agp_slot *slot = agp_segment_slot(segment, slot_index);
	producer->slot = slot;
	producer->records = agp_slot_records(slot);
	producer->capacity = segment->ring_capacity;
	producer->mask = segment->ring_capacity - 1;
	/* Relaxed: we own this freshly claimed slot; these are our own (zeroed) values. */
	producer->tail = atomic_load_explicit(&slot->tail_hot, memory_order_relaxed);
	producer->dropped = atomic_load_explicit(&slot->dropped_hot, memory_order_relaxed);
	producer->cached_head = 0;
}
