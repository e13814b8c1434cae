/*
 * The keyed hash map (see map.h).
 *
 * Every entry keeps its key's 64-bit hash, so growing the index never
 * rehashes a key, and a probe compares the bytes of a key only when the
 * hashes agree. The index is at most half full (slots >= 2 * capacity), so
 * probe sequences stay short.
 *
 * Backward-shift deletion: emptying a slot would cut the probe sequence of
 * any later member of its cluster whose home lies at or before the hole.
 * So after emptying it, each later member of the cluster that may move
 * (its home is not cyclically within (hole, position]) moves into the
 * hole, and the hole moves to where it was, until the cluster ends. Every
 * remaining key then stays reachable from its home without tombstones.
 */
#include "common/map.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"

#define KEY_SIZE_MAX   4096
#define VALUE_SIZE_MAX 4096

static size_t round_up_8(size_t size)
{
	return (size + 7) & ~(size_t)7;
}

/* A multiply-xorshift hash over 8-byte words, with a final avalanche. */
static uint64_t hash_key(const unsigned char *key, size_t size)
{
	uint64_t hash = 0x243f6a8885a308d3ull ^ size;
	for (; size >= 8; key += 8, size -= 8) {
		uint64_t word;
		memcpy(&word, key, 8);
		hash = (hash ^ word) * 0x9e3779b97f4a7c15ull;
		hash ^= hash >> 29;
	}
	if (size) {
		uint64_t word = 0;
		memcpy(&word, key, size);
		hash = (hash ^ word) * 0x9e3779b97f4a7c15ull;
		hash ^= hash >> 29;
	}
	hash ^= hash >> 32;
	hash *= 0xd6e8feb86659fd93ull;
	hash ^= hash >> 32;
	return hash;
}

static unsigned char *entry_at(const struct agp_map *map, size_t i)
{
	return map->entries + i * map->entry_size;
}

static uint64_t entry_hash(const struct agp_map *map, size_t i)
{
	uint64_t hash;
	memcpy(&hash, entry_at(map, i), sizeof(hash));
	return hash;
}

/* Index slots for capacity entries: a power of two, at least twice as many, at least 8. */
static size_t slots_for(size_t capacity)
{
	size_t slots = 8;
	while (slots < 2 * capacity)
		slots *= 2;
	return slots;
}

int agp_map_init(struct agp_map *map, size_t key_size, size_t value_size, size_t capacity)
{
	if (key_size == 0 || key_size > KEY_SIZE_MAX || value_size > VALUE_SIZE_MAX)
		return agp__error(-EINVAL, "map: key size %zu or value size %zu out of range",
		                  key_size, value_size);
	if (capacity > AGP_MAP_CAPACITY_MAX)
		return agp__error(-EINVAL, "map: capacity %zu is above the most, %u", capacity,
		                  AGP_MAP_CAPACITY_MAX);
	if (capacity == 0)
		capacity = 1;
	size_t value_offset = sizeof(uint64_t) + round_up_8(key_size);
	size_t entry_size = value_offset + round_up_8(value_size);
	size_t slots = slots_for(capacity);
	uint32_t *index = calloc(slots, sizeof(*index));
	unsigned char *entries = malloc(capacity * entry_size);
	if (!index || !entries) {
		free(entries);
		free(index);
		return agp__error(-ENOMEM, "map: out of memory for %zu entries", capacity);
	}
	map->key_size = key_size;
	map->value_size = value_size;
	map->value_offset = value_offset;
	map->entry_size = entry_size;
	map->count = 0;
	map->capacity = capacity;
	map->index = index;
	map->index_mask = (uint32_t)(slots - 1);
	map->entries = entries;
	return 0;
}

void agp_map_destroy(struct agp_map *map)
{
	free(map->entries);
	free(map->index);
	memset(map, 0, sizeof(*map));
}

/* The slot holding key, or the empty slot where its probe sequence ends. */
static uint32_t probe(const struct agp_map *map, const void *key, uint64_t hash)
{
	uint32_t slot = (uint32_t)hash & map->index_mask;
	for (;; slot = (slot + 1) & map->index_mask) {
		uint32_t entry = map->index[slot];
		if (entry == 0)
			return slot;
		if (entry_hash(map, entry - 1) == hash &&
		    memcmp(agp_map_key_at(map, entry - 1), key, map->key_size) == 0)
			return slot;
	}
}

/* The slot pointing at entry i (which is in the map). */
static uint32_t slot_of(const struct agp_map *map, size_t i)
{
	uint32_t slot = (uint32_t)entry_hash(map, i) & map->index_mask;
	while (map->index[slot] != i + 1)
		slot = (slot + 1) & map->index_mask;
	return slot;
}

void *agp_map_find(const struct agp_map *map, const void *key)
{
	uint32_t entry = map->index[probe(map, key, hash_key(key, map->key_size))];
	return entry ? agp_map_value_at(map, entry - 1) : NULL;
}

/* Doubles the entries and rebuilds the index from the stored hashes; unchanged on failure. */
static int grow(struct agp_map *map)
{
	if (map->capacity >= AGP_MAP_CAPACITY_MAX)
		return agp__error(-ENOMEM, "map: full at %zu entries", map->capacity);
	size_t capacity = map->capacity * 2;
	if (capacity > AGP_MAP_CAPACITY_MAX)
		capacity = AGP_MAP_CAPACITY_MAX;
	size_t slots = slots_for(capacity);
	uint32_t *index = calloc(slots, sizeof(*index));
	if (!index)
		return agp__error(-ENOMEM, "map: out of memory growing to %zu entries", capacity);
	unsigned char *entries = realloc(map->entries, capacity * map->entry_size);
	if (!entries) {
		free(index);
		return agp__error(-ENOMEM, "map: out of memory growing to %zu entries", capacity);
	}
	free(map->index);
	map->index = index;
	map->index_mask = (uint32_t)(slots - 1);
	map->entries = entries;
	map->capacity = capacity;
	for (size_t i = 0; i < map->count; i++) {
		uint32_t slot = (uint32_t)entry_hash(map, i) & map->index_mask;
		while (index[slot] != 0)
			slot = (slot + 1) & map->index_mask;
		index[slot] = (uint32_t)(i + 1);
	}
	return 0;
}

int agp_map_insert(struct agp_map *map, const void *key, const void *value, void **stored)
{
	uint64_t hash = hash_key(key, map->key_size);
	uint32_t slot = probe(map, key, hash);
	if (map->index[slot] != 0) {
		if (stored)
			*stored = agp_map_value_at(map, map->index[slot] - 1);
		return -EEXIST;
	}
	if (map->count == map->capacity) {
		int error = grow(map);
		if (error)
			return error;
		slot = probe(map, key, hash);
	}
	size_t i = map->count++;
	unsigned char *entry = entry_at(map, i);
	memset(entry, 0, map->entry_size);
	memcpy(entry, &hash, sizeof(hash));
	memcpy(entry + sizeof(hash), key, map->key_size);
	if (value)
		memcpy(entry + map->value_offset, value, map->value_size);
	map->index[slot] = (uint32_t)(i + 1);
	if (stored)
		*stored = entry + map->value_offset;
	return 0;
}

/* Empties slot hole and shifts the later members of its cluster back (see the top). */
static void index_delete(struct agp_map *map, uint32_t hole)
{
	uint32_t mask = map->index_mask;
	map->index[hole] = 0;
	for (uint32_t j = (hole + 1) & mask; map->index[j] != 0; j = (j + 1) & mask) {
		uint32_t home = (uint32_t)entry_hash(map, map->index[j] - 1) & mask;
		bool stays = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
		if (stays)
			continue;
		map->index[hole] = map->index[j];
		map->index[j] = 0;
		hole = j;
	}
}

void agp_map_remove_at(struct agp_map *map, size_t i)
{
	index_delete(map, slot_of(map, i));
	size_t last = map->count - 1;
	if (i != last) {
		/* The last entry fills the hole, so the entries stay dense. */
		map->index[slot_of(map, last)] = (uint32_t)(i + 1);
		memcpy(entry_at(map, i), entry_at(map, last), map->entry_size);
	}
	map->count--;
}

bool agp_map_remove(struct agp_map *map, const void *key)
{
	uint32_t entry = map->index[probe(map, key, hash_key(key, map->key_size))];
	if (entry == 0)
		return false;
	agp_map_remove_at(map, entry - 1);
	return true;
}
