/*
 * Alert limiter: cooldown, suppressed counts, independent keys, bounded
 * memory with eviction, and a randomised comparison against a naive model
 * (a plain array searched linearly, evicting the least recently seen key).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "collector/alerts/limiter.h"

#define SEC 1000000000ull

static void test_init_rejects_bad_capacity(void **state)
{
	(void)state;
	struct agp_alert_limiter l;
	memset(&l, 0xab, sizeof(l));
	assert_int_equal(agp_alert_limiter_init(&l, 0, SEC), -EINVAL);
	assert_int_equal(agp_alert_limiter_init(&l, AGP_ALERT_LIMITER_CAPACITY_MAX + 1, SEC),
	                 -EINVAL);
	assert_int_equal(agp_alert_limiter_init(&l, 1, SEC), 0);
	agp_alert_limiter_destroy(&l);
}

static void test_cooldown_and_suppressed_count(void **state)
{
	(void)state;
	struct agp_alert_limiter l;
	assert_int_equal(agp_alert_limiter_init(&l, 16, 600 * SEC), 0);
	uint64_t suppressed = 99;
	assert_true(agp_alert_limiter_check(&l, 0, "test-runner", 2, 1000 * SEC, &suppressed));
	assert_int_equal(suppressed, 0);
	/* Everything within the 10 minutes is held back and counted... */
	for (uint64_t t = 1000; t < 1600; t += 100)
		assert_false(
		    agp_alert_limiter_check(&l, 0, "test-runner", 2, t * SEC, &suppressed));
	assert_false(agp_alert_limiter_check(&l, 0, "test-runner", 2, 1600 * SEC - 1, NULL));
	assert_int_equal(l.stats.suppressed, 7);
	/* ...and the next alert after the cooldown carries the count. */
	suppressed = 0;
	assert_true(agp_alert_limiter_check(&l, 0, "test-runner", 2, 1600 * SEC, &suppressed));
	assert_int_equal(suppressed, 7);
	/* The count starts again from zero, and the cooldown from the new alert. */
	assert_false(agp_alert_limiter_check(&l, 0, "test-runner", 2, 1700 * SEC, NULL));
	assert_true(agp_alert_limiter_check(&l, 0, "test-runner", 2, 2200 * SEC, &suppressed));
	assert_int_equal(suppressed, 1);
	assert_true(agp_alert_limiter_check(&l, 0, "test-runner", 2, 3000 * SEC, &suppressed));
	assert_int_equal(suppressed, 0);
	assert_int_equal(l.stats.passed, 4);
	assert_int_equal(l.stats.entries, 1);
	/* A clock that goes back counts as within the cooldown. */
	assert_false(agp_alert_limiter_check(&l, 0, "test-runner", 2, 10 * SEC, NULL));
	agp_alert_limiter_destroy(&l);
}

static void test_zero_cooldown_passes_all(void **state)
{
	(void)state;
	struct agp_alert_limiter l;
	assert_int_equal(agp_alert_limiter_init(&l, 4, 0), 0);
	uint64_t suppressed = 5;
	for (int i = 0; i < 100; i++) {
		assert_true(agp_alert_limiter_check(&l, 3, "x", 1, 42, &suppressed));
		assert_int_equal(suppressed, 0);
	}
	assert_int_equal(l.stats.suppressed, 0);
	agp_alert_limiter_destroy(&l);
}

static void test_distinct_keys_are_independent(void **state)
{
	(void)state;
	struct agp_alert_limiter l;
	assert_int_equal(agp_alert_limiter_init(&l, 16, 60 * SEC), 0);
	assert_true(agp_alert_limiter_check(&l, 0, "debugger", 1, 0, NULL));
	/* Another metric, another agent type, another level: each its own first alert. */
	assert_true(agp_alert_limiter_check(&l, 1, "debugger", 1, 1, NULL));
	assert_true(agp_alert_limiter_check(&l, 0, "doc-writer", 1, 2, NULL));
	assert_true(agp_alert_limiter_check(&l, 0, "debugger", 2, 3, NULL));
	/* A type that is a prefix of another is a different key. */
	assert_true(agp_alert_limiter_check(&l, 0, "debug", 1, 4, NULL));
	assert_true(agp_alert_limiter_check(&l, 0, NULL, 1, 5, NULL));
	assert_false(agp_alert_limiter_check(&l, 0, "", 1, 6, NULL)); /* NULL is "" */
	assert_false(agp_alert_limiter_check(&l, 0, "debugger", 1, 7, NULL));
	assert_false(agp_alert_limiter_check(&l, 0, "debugger", 1, 8, NULL));
	uint64_t suppressed = 0;
	assert_true(agp_alert_limiter_check(&l, 1, "debugger", 1, 61 * SEC, &suppressed));
	assert_int_equal(suppressed, 0); /* the repeats were of another key */
	assert_true(agp_alert_limiter_check(&l, 0, "debugger", 1, 61 * SEC, &suppressed));
	assert_int_equal(suppressed, 2);
	assert_int_equal(l.stats.entries, 6);
	agp_alert_limiter_destroy(&l);
}

static int collect_pending(const struct agp_alert_limiter_entry *e, void *context)
{
	uint64_t *total = context;
	*total += e->suppressed;
	return 0;
}

static void test_eviction_is_bounded(void **state)
{
	(void)state;
	struct agp_alert_limiter l;
	assert_int_equal(agp_alert_limiter_init(&l, 8, 3600 * SEC), 0);
	/* A hot key seen between every new key is never the least recently seen one. */
	assert_true(agp_alert_limiter_check(&l, 0, "hot", 2, 0, NULL));
	char type[32];
	for (uint32_t i = 0; i < 10000; i++) {
		snprintf(type, sizeof(type), "agent-%u", i);
		assert_true(agp_alert_limiter_check(&l, 5, type, 1, i + 1, NULL));
		/* and a repeat of it, so that evicted keys carry suppressed repeats */
		assert_false(agp_alert_limiter_check(&l, 5, type, 1, i + 1, NULL));
		assert_false(agp_alert_limiter_check(&l, 0, "hot", 2, i + 1, NULL));
		assert_true(l.stats.entries <= 8);
	}
	assert_int_equal(l.stats.entries, 8);
	assert_int_equal(l.stats.evictions, 10000 + 1 - 8);
	assert_int_equal(l.stats.evicted_suppressed, 10000 + 1 - 8);
	/* The hot key kept its cooldown and its whole count. */
	uint64_t pending = 0;
	assert_int_equal(agp_alert_limiter_foreach_pending(&l, collect_pending, &pending), 0);
	assert_int_equal(pending, 10000 + 7); /* hot's 10000 and one per surviving agent key */
	uint64_t suppressed = 0;
	assert_true(agp_alert_limiter_check(&l, 0, "hot", 2, 3600 * SEC, &suppressed));
	assert_int_equal(suppressed, 10000);
	/* An evicted key starts afresh: it alerts at once. */
	assert_true(agp_alert_limiter_check(&l, 5, "agent-0", 1, 10002, &suppressed));
	assert_int_equal(suppressed, 0);
	agp_alert_limiter_destroy(&l);
}

/* ---- randomised comparison with a naive model */

struct model_entry {
	uint32_t metric;
	unsigned level;
	char type[8];
	uint64_t last_alert, last_seen_order, suppressed;
	int live;
};

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint32_t next_random(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 16);
}

static void test_matches_naive_model(void **state)
{
	(void)state;
	enum { CAPACITY = 13, KEYS = 40, STEPS = 200000 };
	const uint64_t cooldown = 50;
	struct agp_alert_limiter l;
	assert_int_equal(agp_alert_limiter_init(&l, CAPACITY, cooldown), 0);
	struct model_entry model[CAPACITY];
	memset(model, 0, sizeof(model));
	uint64_t now = 0, order = 0, model_evicted_suppressed = 0;

	for (int step = 0; step < STEPS; step++) {
		now += next_random() % 3;
		uint32_t key = next_random() % KEYS;
		/* A skewed key choice keeps some keys hot and lets others age out. */
		if (next_random() % 2)
			key %= 8;
		uint32_t metric = key % 5;
		unsigned level = 1 + key % 2;
		char type[8];
		snprintf(type, sizeof(type), "t%u", key / 10);

		int found = -1, free_slot = -1, oldest = -1;
		for (int i = 0; i < CAPACITY; i++) {
			if (!model[i].live) {
				if (free_slot < 0)
					free_slot = i;
				continue;
			}
			if (model[i].metric == metric && model[i].level == level &&
			    strcmp(model[i].type, type) == 0)
				found = i;
			if (oldest < 0 || model[i].last_seen_order < model[oldest].last_seen_order)
				oldest = i;
		}
		bool expect_pass;
		uint64_t expect_suppressed = 0;
		if (found >= 0) {
			struct model_entry *e = &model[found];
			e->last_seen_order = ++order;
			if (now - e->last_alert >= cooldown) {
				expect_pass = true;
				expect_suppressed = e->suppressed;
				e->suppressed = 0;
				e->last_alert = now;
			} else {
				expect_pass = false;
				e->suppressed++;
			}
		} else {
			int slot = free_slot >= 0 ? free_slot : oldest;
			if (free_slot < 0)
				model_evicted_suppressed += model[slot].suppressed;
			model[slot] = (struct model_entry){metric, level, "", now, ++order, 0, 1};
			memcpy(model[slot].type, type, sizeof(type));
			expect_pass = true;
		}
		uint64_t suppressed = UINT64_MAX;
		bool pass = agp_alert_limiter_check(&l, metric, type, level, now, &suppressed);
		if (pass != expect_pass || (pass && suppressed != expect_suppressed)) {
			print_error(
			    "step %d key %u: pass %d (want %d), suppressed %llu (want %llu)\n",
			    step, key, pass, expect_pass, (unsigned long long)suppressed,
			    (unsigned long long)expect_suppressed);
			fail();
		}
	}
	assert_int_equal(l.stats.evicted_suppressed, model_evicted_suppressed);
	assert_true(l.stats.evictions > 1000); /* the run did exercise eviction */
	agp_alert_limiter_destroy(&l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_init_rejects_bad_capacity),
	    cmocka_unit_test(test_cooldown_and_suppressed_count),
	    cmocka_unit_test(test_zero_cooldown_passes_all),
	    cmocka_unit_test(test_distinct_keys_are_independent),
	    cmocka_unit_test(test_eviction_is_bounded),
	    cmocka_unit_test(test_matches_naive_model),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
