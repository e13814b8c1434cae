#include "shm/ring_consumer.h"

#include <stdatomic.h>
#include <string.h>

#include "shm/registry.h"

void agp_ring_consumer_init(struct agp_ring_consumer *consumer, uint32_t index, uint32_t generation)
{
	memset(consumer, 0, sizeof(*consumer));
	consumer->index = index;
	consumer->generation = generation;
}

static bool metric_known(const struct agp_segment *segment, struct agp_metric_cache *metrics,
                         uint16_t id)
{
	if (id >= AGP_REGISTRY_CAPACITY)
		return false;
	uint64_t bit = 1ull << (id % 64);
	if (metrics->ready[id / 64] & bit)
		return true;
	struct agp_metric_info info;
	if (!agp_registry_lookup(segment, id, &info))
		return false;
	metrics->ready[id / 64] |= bit; /* READY is final: an entry never leaves it */
	return true;
}

static bool record_valid(const struct agp_segment *segment, struct agp_metric_cache *metrics,
                         const struct agp_record *record, uint64_t position, uint64_t now_limit_ns)
{
	return record->sequence == (uint32_t)position &&
	       (record->flags & ~AGP_RECORD_FLAGS_KNOWN) == 0 && record->value >= 0 &&
	       record->timestamp_ns != 0 && record->timestamp_ns <= now_limit_ns &&
	       metric_known(segment, metrics, record->metric_id);
}

size_t agp_ring_drain_spsc(const struct agp_segment *segment, struct agp_metric_cache *metrics,
                           struct agp_ring_consumer *consumer, uint64_t now_limit_ns,
                           struct agp_record *out, size_t max)
{
	if (consumer->quarantined || consumer->index >= segment->slot_count)
		return 0;
	struct agp_slot *slot = agp_segment_slot(segment, consumer->index);
	/* Acquire: pairs with the producer's release of the tail; records before it are complete.
	 */
	uint64_t tail = atomic_load_explicit(&slot->tail_hot, memory_order_acquire);
	uint64_t head = consumer->head;
	if (tail < head || tail - head > segment->ring_capacity) {
		consumer->quarantined = true;
		return 0;
	}
	uint64_t available = tail - head;
	size_t count = available < max ? (size_t)available : max;
	if (count == 0)
		return 0;

	const struct agp_record *records = agp_slot_records(slot);
	uint64_t mask = segment->ring_capacity - 1;
	size_t copied = 0;
	for (size_t i = 0; i < count; i++) {
		uint64_t position = head + i;
		out[copied] = records[position & mask];
		if (record_valid(segment, metrics, &out[copied], position, now_limit_ns))
			copied++;
		else
			consumer->invalid++;
	}
	consumer->head = head + count;
	consumer->consumed += copied;
	/* Release: our reads of those records happen before the producer may overwrite them. */
	atomic_store_explicit(&slot->head, consumer->head, memory_order_release);
	return copied;
}

uint64_t agp_ring_pending(const struct agp_segment *segment,
                          const struct agp_ring_consumer *consumer)
{
	if (consumer->quarantined || consumer->index >= segment->slot_count)
		return 0;
	struct agp_slot *slot = agp_segment_slot(segment, consumer->index);
	/* Acquire: same pairing as the drain's tail load. */
	uint64_t tail = atomic_load_explicit(&slot->tail_hot, memory_order_acquire);
	return tail >= consumer->head ? tail - consumer->head : 0;
}
