/*
 * libFuzzer target: the consumer against an agent that writes anything.
 *
 * Each input is laid over slot 0 of a real, small segment (64-record
 * ring): its first bytes become the consumer's private head and the
 * shared tail (mostly near the head, so that the fuzzer reaches the record
 * checks, sometimes anywhere), optionally a custom registry entry, and the
 * rest the records themselves. The slot is then drained in batches of a
 * fuzzed size. Besides ASan/UBSan finding any bad access, the target
 * traps when an accepted record breaks a validation rule or the
 * accounting (taken out = accepted + invalid) does not add up.
 */
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shm/ring_consumer.h"
#include "common/error.h"
#include "shm/registry.h"
#include "shm/segment.h"
#include "shm/slot.h"

#define CAPACITY 64u

static struct agp_segment segment;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	char name[64];
	snprintf(name, sizeof(name), "fuzz%ld", (long)getpid());
	struct agp_segment_layout layout = {1, CAPACITY, (gid_t)-1};
	if (agp_segment_create(name, &layout, &segment) != 0) {
		fprintf(stderr, "fuzz_slot_drain: %s\n", agp__error_message());
		abort();
	}
	/* Nobody else attaches: drop the name now, the mapping lives on. */
	agp_segment_unlink(name);
	uint32_t index;
	if (agp_slot_claim(&segment, "fuzz", "fuzz", &index) != 0 || index != 0)
		abort();
	return 0;
}

static uint64_t take_u64(const uint8_t **data, size_t *size)
{
	uint64_t value = 0;
	size_t n = *size < 8 ? *size : 8;
	memcpy(&value, *data, n);
	*data += n;
	*size -= n;
	return value;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	uint8_t mode = data[0];
	uint8_t batch = data[1];
	data += 2;
	size -= 2;
	uint64_t head = take_u64(&data, &size);
	uint64_t tail_bits = take_u64(&data, &size);
	uint64_t tail = mode & 1 ? head + tail_bits % (2 * CAPACITY + 2) : tail_bits;

	struct agp_slot *slot = agp_segment_slot(&segment, 0);
	atomic_store_explicit(&slot->tail_hot, tail, memory_order_relaxed);
	if (mode & 2 && size >= sizeof(struct agp_metric_entry) + 1) {
		uint32_t id = AGP_METRIC_FIRST_CUSTOM +
		              data[0] % (AGP_REGISTRY_CAPACITY - AGP_METRIC_FIRST_CUSTOM);
		memcpy(agp_segment_metric(&segment, id), data + 1, sizeof(struct agp_metric_entry));
		data += sizeof(struct agp_metric_entry) + 1;
		size -= sizeof(struct agp_metric_entry) + 1;
	}
	struct agp_record *records = agp_slot_records(slot);
	memset(records, 0, CAPACITY * sizeof(*records));
	memcpy(records, data,
	       size < CAPACITY * sizeof(*records) ? size : CAPACITY * sizeof(*records));

	struct agp_ring_consumer consumer;
	agp_ring_consumer_init(&consumer, 0, 1);
	consumer.head = head;
	struct agp_metric_cache metrics = {0};
	uint64_t now_limit = mode & 4 ? UINT64_MAX : 1ull << 62;
	size_t max = 1 + batch % CAPACITY;
	struct agp_record out[CAPACITY];
	for (int round = 0; round < 4 * (int)CAPACITY; round++) {
		uint64_t before = consumer.head;
		uint64_t invalid_before = consumer.invalid;
		size_t n = agp_ring_drain_spsc(&segment, &metrics, &consumer, now_limit, out, max);
		uint64_t taken = consumer.head - before;
		if (n > max || taken > max || n + (consumer.invalid - invalid_before) != taken)
			__builtin_trap();
		for (size_t i = 0; i < n; i++) {
			struct agp_metric_info info;
			if (out[i].value < 0 || (out[i].flags & ~AGP_RECORD_FLAGS_KNOWN) ||
			    out[i].timestamp_ns == 0 || out[i].timestamp_ns > now_limit ||
			    !agp_registry_lookup(&segment, out[i].metric_id, &info))
				__builtin_trap();
		}
		if (consumer.quarantined && (n != 0 || taken != 0))
			__builtin_trap();
		if (taken == 0)
			break;
	}
	/* Scribbled geometry is quarantined exactly when the tail is behind or over a ring ahead.
	 */
	if (consumer.quarantined != (tail < head || tail - head > CAPACITY))
		__builtin_trap();
	if (!consumer.quarantined && consumer.head != tail)
		__builtin_trap();
	return 0;
}
