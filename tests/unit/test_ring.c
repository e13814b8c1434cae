/*
 * The SPSC ring in one process: wrap-around, exact drop counting, the
 * consumer's validation of every record and index, and (in two threads,
 * which ThreadSanitizer can follow) the release/acquire protocol.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdlib.h>

#include "shm/clock.h"
#include "shm/ring_consumer.h"
#include "common/error.h"
#include "shm/ring.h"
#include "shm/segment.h"
#include "shm/slot.h"
#include "tests/support/test_util.h"

#define CAPACITY 64u

struct fixture {
	char name[64];
	struct agp_segment segment;
	uint32_t index;
	uint32_t generation;
	struct agp_ring_producer producer;
	struct agp_ring_consumer consumer;
	struct agp_metric_cache metrics;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	agp_test_name(f->name, sizeof(f->name), "ring");
	struct agp_segment_layout layout = {2, CAPACITY, (gid_t)-1};
	agp_segment_unlink(f->name); /* a leftover of a crashed earlier run with our pid */
	if (agp_segment_create(f->name, &layout, &f->segment) != 0) {
		fprintf(stderr, "create: %s\n", agp__error_message());
		return -1;
	}
	if (agp_slot_claim(&f->segment, "ring", "test", &f->index) != 0)
		return -1;
	struct agp_slot *slot = agp_segment_slot(&f->segment, f->index);
	f->generation = atomic_load_explicit(&slot->generation, memory_order_relaxed);
	agp_ring_producer_init(&f->producer, &f->segment, f->index);
	agp_ring_consumer_init(&f->consumer, f->index, f->generation);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	agp_segment_detach(&f->segment);
	agp_segment_unlink(f->name);
	free(f);
	return 0;
}

static uint64_t now_limit(const struct fixture *f)
{
	return agp_clock_read(&f->segment.clock) + 1000000000ull;
}

static bool push(struct fixture *f, int64_t value)
{
	return agp_ring_push_spsc(&f->producer, agp_clock_read(&f->segment.clock), value, 7,
	                          AGP_METRIC_TASK_EXECUTION_TIME, 0);
}

static size_t drain(struct fixture *f, struct agp_record *out, size_t max)
{
	return agp_ring_drain_spsc(&f->segment, &f->metrics, &f->consumer, now_limit(f), out, max);
}

/* Thousands of records through a 64-record ring in uneven batches: every one comes out, in order.
 */
static void test_wrap_around(void **state)
{
	struct fixture *f = *state;
	struct agp_record out[CAPACITY];
	int64_t next_in = 0, next_out = 0;
	srand(42);
	while (next_in < 20000) {
		int batch = 1 + rand() % (int)CAPACITY;
		for (int i = 0; i < batch; i++)
			assert_true(push(f, next_in++));
		while (next_out < next_in) {
			size_t n = drain(f, out, 1 + (size_t)(rand() % (int)CAPACITY));
			assert_true(n > 0);
			for (size_t i = 0; i < n; i++) {
				assert_int_equal(out[i].value, next_out);
				assert_int_equal(out[i].task_id, 7);
				assert_int_equal(out[i].metric_id, AGP_METRIC_TASK_EXECUTION_TIME);
				next_out++;
			}
		}
	}
	assert_true(next_in >= 20000);
	assert_int_equal(f->consumer.consumed, next_in);
	assert_int_equal(f->consumer.invalid, 0);
	assert_int_equal(f->producer.dropped, 0);
	assert_false(f->consumer.quarantined);
}

/* The 32-bit sequence field wraps while the 64-bit positions do not. */
static void test_sequence_wraps_past_32_bits(void **state)
{
	struct fixture *f = *state;
	struct agp_slot *slot = agp_segment_slot(&f->segment, f->index);
	uint64_t start = (1ull << 32) - 100;
	atomic_store_explicit(&slot->tail_hot, start, memory_order_relaxed);
	atomic_store_explicit(&slot->head, start, memory_order_relaxed);
	agp_ring_producer_init(&f->producer, &f->segment, f->index);
	f->producer.cached_head = start;
	f->consumer.head = start;
	struct agp_record out[CAPACITY];
	int64_t next_out = 0;
	for (int64_t v = 0; v < 1000; v++) {
		assert_true(push(f, v));
		if (v % 50 == 49) {
			size_t n;
			while ((n = drain(f, out, CAPACITY)) > 0)
				for (size_t i = 0; i < n; i++)
					assert_int_equal(out[i].value, next_out++);
		}
	}
	assert_int_equal(next_out, 1000);
	assert_int_equal(f->consumer.invalid, 0);
}

/* A full ring refuses, never blocks, and counts every refused sample exactly. */
static void test_full_ring_drops_are_counted(void **state)
{
	struct fixture *f = *state;
	struct agp_slot *slot = agp_segment_slot(&f->segment, f->index);
	for (int64_t v = 0; v < CAPACITY; v++)
		assert_true(push(f, v));
	for (int i = 0; i < 10; i++)
		assert_false(push(f, 1000 + i));
	assert_int_equal(f->producer.dropped, 10);
	assert_int_equal(atomic_load(&slot->dropped_hot), 10);

	struct agp_record out[CAPACITY];
	assert_int_equal(drain(f, out, 20), 20);
	for (int64_t v = 0; v < 25; v++) {
		bool pushed = push(f, CAPACITY + v);
		assert_int_equal(pushed, v < 20);
	}
	assert_int_equal(f->producer.dropped, 15);
	assert_int_equal(atomic_load(&slot->dropped_hot), 15);
	assert_int_equal(atomic_load(&slot->tail_hot), CAPACITY + 20);

	/* What is left is exactly values 20..83, in order: no dropped sample slipped in. */
	size_t n = drain(f, out, CAPACITY);
	assert_int_equal(n, CAPACITY);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(out[i].value, 20 + (int64_t)i);
	/* written = consumed + invalid + dropped + pending */
	assert_int_equal(CAPACITY + 20 + 15, f->consumer.consumed + f->consumer.invalid +
	                                         f->producer.dropped +
	                                         agp_ring_pending(&f->segment, &f->consumer));
}

/* Each kind of bad record is counted invalid and skipped; its neighbours come through. */
static void test_corrupt_records_are_skipped(void **state)
{
	struct fixture *f = *state;
	for (int64_t v = 0; v < 10; v++)
		assert_true(push(f, v));
	struct agp_record *records = agp_slot_records(agp_segment_slot(&f->segment, f->index));
	records[1].sequence += 1;   /* not the position it was read from */
	records[2].metric_id = 200; /* a custom id nobody registered */
	records[3].metric_id = 999; /* beyond the registry */
	records[4].flags = 0x8000;  /* an unknown flag */
	records[5].value = -5;      /* values are non-negative */
	records[6].timestamp_ns = 0;
	records[7].timestamp_ns = UINT64_MAX; /* from the future */

	struct agp_record out[CAPACITY];
	size_t n = drain(f, out, CAPACITY);
	assert_int_equal(n, 3);
	assert_int_equal(out[0].value, 0);
	assert_int_equal(out[1].value, 8);
	assert_int_equal(out[2].value, 9);
	assert_int_equal(f->consumer.invalid, 7);
	assert_int_equal(f->consumer.consumed, 3);
	assert_int_equal(f->consumer.head, 10);
	assert_false(f->consumer.quarantined);

	/* Valid flags pass; the ring keeps working after the bad records. */
	assert_true(agp_ring_push_spsc(&f->producer, agp_clock_read(&f->segment.clock), 11, 0,
	                               AGP_METRIC_MEMORY_USAGE,
	                               AGP_RECORD_FAILED | AGP_RECORD_TIMEOUT));
	assert_int_equal(drain(f, out, CAPACITY), 1);
	assert_int_equal(out[0].flags, AGP_RECORD_FAILED | AGP_RECORD_TIMEOUT);
}

/* A tail behind the consumer's head is a scribble: quarantine, and stay quarantined. */
static void test_tail_behind_head_quarantines(void **state)
{
	struct fixture *f = *state;
	struct agp_slot *slot = agp_segment_slot(&f->segment, f->index);
	struct agp_record out[CAPACITY];
	for (int64_t v = 0; v < 10; v++)
		assert_true(push(f, v));
	assert_int_equal(drain(f, out, CAPACITY), 10);
	atomic_store(&slot->tail_hot, 5);
	assert_int_equal(drain(f, out, CAPACITY), 0);
	assert_true(f->consumer.quarantined);
	atomic_store(&slot->tail_hot, 12); /* looks sane again, but trust is gone */
	assert_int_equal(drain(f, out, CAPACITY), 0);
	assert_int_equal(agp_ring_pending(&f->segment, &f->consumer), 0);
}

/* A tail more than a ring ahead quarantines; exactly one ring ahead is still legal. */
static void test_tail_too_far_ahead_quarantines(void **state)
{
	struct fixture *f = *state;
	struct agp_slot *slot = agp_segment_slot(&f->segment, f->index);
	struct agp_record out[CAPACITY];
	for (int64_t v = 0; v < CAPACITY; v++)
		assert_true(push(f, v));
	assert_int_equal(drain(f, out, CAPACITY), CAPACITY);
	assert_false(f->consumer.quarantined);
	for (int64_t v = 0; v < 3; v++)
		assert_true(push(f, v));
	atomic_store(&slot->tail_hot, CAPACITY + CAPACITY + 1);
	assert_int_equal(drain(f, out, CAPACITY), 0);
	assert_true(f->consumer.quarantined);
	atomic_store(&slot->tail_hot, UINT64_MAX);
	assert_int_equal(drain(f, out, CAPACITY), 0);
}

/* A drain of a slot index beyond the segment reads nothing. */
static void test_consumer_index_out_of_range(void **state)
{
	struct fixture *f = *state;
	struct agp_ring_consumer stray;
	agp_ring_consumer_init(&stray, f->segment.slot_count, 1);
	struct agp_record out[4];
	assert_int_equal(
	    agp_ring_drain_spsc(&f->segment, &f->metrics, &stray, now_limit(f), out, 4), 0);
	assert_int_equal(agp_ring_pending(&f->segment, &stray), 0);
}

#define THREAD_SAMPLES 300000

static void *producer_thread(void *arg)
{
	struct fixture *f = arg;
	for (int64_t v = 0; v < THREAD_SAMPLES; v++)
		push(f, v);
	return NULL;
}

/*
 * A producer thread and a draining consumer on a 64-record ring: under
 * ThreadSanitizer this checks the release/acquire pairing of both indices;
 * everywhere it checks exact accounting and order.
 */
static void test_two_threads(void **state)
{
	struct fixture *f = *state;
	struct agp_slot *slot = agp_segment_slot(&f->segment, f->index);
	pthread_t thread;
	assert_int_equal(pthread_create(&thread, NULL, producer_thread, f), 0);
	struct agp_record out[CAPACITY];
	int64_t last = -1;
	uint64_t read = 0;
	for (;;) {
		/* Acquire: once the final tail is seen, every record before it is complete. */
		bool done = atomic_load_explicit(&slot->tail_hot, memory_order_acquire) +
		                atomic_load_explicit(&slot->dropped_hot, memory_order_relaxed) ==
		            THREAD_SAMPLES;
		size_t n = drain(f, out, CAPACITY);
		for (size_t i = 0; i < n; i++) {
			assert_true(out[i].value > last);
			last = out[i].value;
		}
		read += n;
		if (done && n == 0)
			break;
	}
	pthread_join(thread, NULL);
	assert_int_equal(f->consumer.invalid, 0);
	assert_int_equal(read + f->producer.dropped, THREAD_SAMPLES);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_wrap_around, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sequence_wraps_past_32_bits, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_full_ring_drops_are_counted, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_corrupt_records_are_skipped, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_tail_behind_head_quarantines, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_tail_too_far_ahead_quarantines, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_consumer_index_out_of_range, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_two_threads, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, agp_test_cleanup);
}
