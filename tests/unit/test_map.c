/*
 * common/map: random insertions, lookups and removals, growth from one
 * entry, removal while walking, and churn in a tiny index, each checked
 * against an independent witness: a sorted array of the same keys with
 * their values, searched with bsearch.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/error.h"
#include "common/map.h"

/* 13 bytes: not a multiple of the hash's 8-byte words, so the tail is hashed too. */
struct test_key {
	char text[13];
};

struct witness_entry {
	uint32_t number;
	uint64_t value;
	int visits;
};

struct witness {
	struct witness_entry *entries; /* sorted by number */
	size_t count;
};

static struct test_key key_of(uint32_t number)
{
	struct test_key key;
	memset(&key, 0, sizeof(key));
	snprintf(key.text, sizeof(key.text), "k%u", number);
	return key;
}

static uint32_t number_of(const struct test_key *key)
{
	return (uint32_t)strtoul(key->text + 1, NULL, 10);
}

static int compare_number(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = ((const struct witness_entry *)b)->number;
	return (x > y) - (x < y);
}

static struct witness_entry *witness_find(struct witness *w, uint32_t number)
{
	return bsearch(&number, w->entries, w->count, sizeof(*w->entries), compare_number);
}

static void witness_add(struct witness *w, uint32_t number, uint64_t value)
{
	size_t at = 0;
	while (at < w->count && w->entries[at].number < number)
		at++;
	memmove(&w->entries[at + 1], &w->entries[at], (w->count - at) * sizeof(*w->entries));
	w->entries[at] = (struct witness_entry){number, value, 0};
	w->count++;
}

static void witness_remove(struct witness *w, uint32_t number)
{
	struct witness_entry *e = witness_find(w, number);
	size_t at = (size_t)(e - w->entries);
	memmove(&w->entries[at], &w->entries[at + 1], (w->count - at - 1) * sizeof(*w->entries));
	w->count--;
}

/* Every key of the map once in the walk, every key of the witness found, same values. */
static void check_against_witness(const struct agp_map *map, struct witness *w)
{
	assert_int_equal(agp_map_count(map), w->count);
	for (size_t i = 0; i < w->count; i++)
		w->entries[i].visits = 0;
	for (size_t i = 0; i < agp_map_count(map); i++) {
		const struct test_key *key = agp_map_key_at(map, i);
		struct witness_entry *e = witness_find(w, number_of(key));
		assert_non_null(e);
		e->visits++;
		uint64_t value;
		memcpy(&value, agp_map_value_at(map, i), sizeof(value));
		assert_int_equal(value, e->value);
	}
	for (size_t i = 0; i < w->count; i++) {
		assert_int_equal(w->entries[i].visits, 1);
		struct test_key key = key_of(w->entries[i].number);
		const uint64_t *value = agp_map_find(map, &key);
		assert_non_null(value);
		assert_int_equal(*value, w->entries[i].value);
	}
}

/* One random insertion, lookup or removal of a key in [0, key_space), done on map and witness. */
static void random_step(struct agp_map *map, struct witness *w, uint32_t key_space)
{
	uint32_t number = (uint32_t)rand() % key_space;
	struct test_key key = key_of(number);
	struct witness_entry *known = witness_find(w, number);
	int operation = rand() % 3;
	if (operation == 0) {
		uint64_t value = (uint64_t)rand() << 20 | number;
		void *stored = NULL;
		int result = agp_map_insert(map, &key, &value, &stored);
		assert_non_null(stored);
		if (known) {
			assert_int_equal(result, -EEXIST);
			assert_int_equal(*(uint64_t *)stored, known->value); /* left as it was */
		} else {
			assert_int_equal(result, 0);
			assert_int_equal(*(uint64_t *)stored, value);
			witness_add(w, number, value);
		}
	} else if (operation == 1) {
		const uint64_t *value = agp_map_find(map, &key);
		if (known) {
			assert_non_null(value);
			assert_int_equal(*value, known->value);
		} else {
			assert_null(value);
		}
	} else {
		assert_int_equal(agp_map_remove(map, &key), known != NULL);
		if (known)
			witness_remove(w, number);
	}
}

static void random_operations_match_a_sorted_witness(void **state)
{
	(void)state;
	enum { KEY_SPACE = 3000, STEPS = 60000 };
	struct agp_map map;
	assert_int_equal(agp_map_init(&map, sizeof(struct test_key), sizeof(uint64_t), 0), 0);
	struct witness w = {calloc(KEY_SPACE, sizeof(struct witness_entry)), 0};
	assert_non_null(w.entries);
	srand(9);
	size_t most = 0;
	for (int step = 0; step < STEPS; step++) {
		random_step(&map, &w, KEY_SPACE);
		if (w.count > most)
			most = w.count;
		if (step % 2000 == 0)
			check_against_witness(&map, &w);
	}
	check_against_witness(&map, &w);
	/* It grew from one entry to hold the most keys it ever had at once. */
	assert_true(most > 1000);
	assert_true(map.capacity >= most);
	free(w.entries);
	agp_map_destroy(&map);
}

static void growth_keeps_every_key(void **state)
{
	(void)state;
	enum { KEYS = 5000 };
	struct agp_map map;
	assert_int_equal(agp_map_init(&map, sizeof(struct test_key), sizeof(uint64_t), 1), 0);
	struct witness w = {calloc(KEYS, sizeof(struct witness_entry)), 0};
	assert_non_null(w.entries);
	for (uint32_t n = 0; n < KEYS; n++) {
		uint32_t number = n * 7919u % 100003u; /* distinct, in no particular order */
		struct test_key key = key_of(number);
		uint64_t value = (uint64_t)number * 3 + 1;
		assert_int_equal(agp_map_insert(&map, &key, &value, NULL), 0);
		witness_add(&w, number, value);
		if ((n & (n + 1)) == 0) /* right after each doubling */
			check_against_witness(&map, &w);
	}
	check_against_witness(&map, &w);
	free(w.entries);
	agp_map_destroy(&map);
}

static void removal_while_walking_visits_each_once(void **state)
{
	(void)state;
	enum { KEYS = 2000 };
	struct agp_map map;
	assert_int_equal(agp_map_init(&map, sizeof(struct test_key), sizeof(uint64_t), 16), 0);
	struct witness w = {calloc(KEYS, sizeof(struct witness_entry)), 0};
	assert_non_null(w.entries);
	for (uint32_t number = 0; number < KEYS; number++) {
		struct test_key key = key_of(number);
		uint64_t value = number;
		assert_int_equal(agp_map_insert(&map, &key, &value, NULL), 0);
		witness_add(&w, number, value);
	}
	for (size_t i = 0; i < agp_map_count(&map);) {
		uint32_t number = number_of(agp_map_key_at(&map, i));
		struct witness_entry *e = witness_find(&w, number);
		assert_non_null(e);
		e->visits++;
		if (number % 3 == 0) {
			agp_map_remove_at(&map, i);
			continue;
		}
		i++;
	}
	for (uint32_t number = 0; number < KEYS; number++) {
		struct witness_entry *e = witness_find(&w, number);
		assert_int_equal(e->visits, 1);
		struct test_key key = key_of(number);
		if (number % 3 == 0)
			assert_null(agp_map_find(&map, &key));
		else
			assert_non_null(agp_map_find(&map, &key));
	}
	for (uint32_t number = 0; number < KEYS; number += 3)
		witness_remove(&w, number);
	check_against_witness(&map, &w);
	free(w.entries);
	agp_map_destroy(&map);
}

/*
 * Four entries in eight index slots, filled and emptied many times: clusters
 * wrap around the end of the index and removals shift keys back across it.
 * Staying within the capacity, the map never allocates.
 */
static void churn_within_capacity_never_allocates(void **state)
{
	(void)state;
	enum { CAPACITY = 4, KEY_SPACE = 40 };
	struct agp_map map;
	assert_int_equal(agp_map_init(&map, sizeof(struct test_key), sizeof(uint64_t), CAPACITY),
	                 0);
	const unsigned char *entries = map.entries;
	const uint32_t *index = map.index;
	struct witness w = {calloc(KEY_SPACE, sizeof(struct witness_entry)), 0};
	assert_non_null(w.entries);
	srand(4);
	for (int step = 0; step < 20000; step++) {
		if (w.count == CAPACITY) {
			/* Full: remove a random present key first, as the alert limiter evicts. */
			uint32_t victim = w.entries[(size_t)rand() % w.count].number;
			struct test_key key = key_of(victim);
			assert_true(agp_map_remove(&map, &key));
			witness_remove(&w, victim);
		}
		random_step(&map, &w, KEY_SPACE);
		check_against_witness(&map, &w);
	}
	assert_ptr_equal(map.entries, entries);
	assert_ptr_equal(map.index, index);
	assert_int_equal(map.capacity, CAPACITY);
	free(w.entries);
	agp_map_destroy(&map);
}

static void insert_without_value_stores_zeroes(void **state)
{
	(void)state;
	struct agp_map map;
	assert_int_equal(agp_map_init(&map, sizeof(struct test_key), 3, 0), 0);
	struct test_key key = key_of(7);
	void *stored = NULL;
	assert_int_equal(agp_map_insert(&map, &key, NULL, &stored), 0);
	assert_memory_equal(stored, "\0\0\0", 3);
	assert_ptr_equal(agp_map_find(&map, &key), stored);
	agp_map_destroy(&map);
}

static void init_rejects_bad_sizes(void **state)
{
	(void)state;
	struct agp_map map;
	assert_int_equal(agp_map_init(&map, 0, 8, 4), -EINVAL);
	assert_non_null(strstr(agp__error_message(), "key size 0"));
	assert_int_equal(agp_map_init(&map, 8, 5000, 4), -EINVAL);
	assert_non_null(strstr(agp__error_message(), "value size 5000"));
	assert_int_equal(agp_map_init(&map, 8, 8, (size_t)AGP_MAP_CAPACITY_MAX + 1), -EINVAL);
	assert_non_null(strstr(agp__error_message(), "capacity"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(random_operations_match_a_sorted_witness),
	    cmocka_unit_test(growth_keeps_every_key),
	    cmocka_unit_test(removal_while_walking_visits_each_once),
	    cmocka_unit_test(churn_within_capacity_never_allocates),
	    cmocka_unit_test(insert_without_value_stores_zeroes),
	    cmocka_unit_test(init_rejects_bad_sizes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
