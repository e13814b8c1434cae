/*
 * One keyed hash map for the whole project: fixed-size byte keys, fixed-size
 * values, both stored by copy inside the map.
 *
 * Keys are compared and hashed as key_size raw bytes, so a key is a small
 * struct the caller fills after zeroing all of it (memset, not `= {0}`,
 * which leaves padding unspecified): strings in char arrays, numbers beside
 * them. Values are copied in and out as value_size bytes, aligned to 8; a
 * value is typically a pointer to an object the caller owns, or an index
 * into the caller's own array. The map frees only its own memory.
 *
 * Layout: the entries {hash, key, value} live densely in one array, in
 * insertion order (a removal moves the last entry into the hole); an index
 * of uint32 slots, at least twice as many as the entries allocated and a
 * power of two, maps hashes to entries by linear probing, and removal uses
 * backward-shift deletion, so no tombstones accumulate. Iteration is a walk
 * over the dense array: agp_map_key_at / agp_map_value_at for i < count.
 *
 * Growth doubles the entries (up to AGP_MAP_CAPACITY_MAX) when an
 * insertion finds them all in use; an insertion while count < capacity
 * never allocates, so a map initialised with the most entries it will hold
 * (and kept there by removals) never allocates after init.
 *
 * Pointers returned into the map (keys, values) stay valid until the next
 * insertion or removal. Not thread-safe: one map belongs to one thread, or
 * to whoever holds the lock around it.
 */
#ifndef AGP_COMMON_MAP_H
#define AGP_COMMON_MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/*
 * Copies text into a char array of a key that was zeroed: at most
 * field_size - 1 bytes, so the field stays terminated and a longer text is
 * cut where a char array of that size would cut it.
 */
static inline void agp_map_key_string(char *field, size_t field_size, const char *text)
{
	memcpy(field, text, strnlen(text, field_size - 1));
}

/* Most entries a map holds (its index slots are 32-bit). */
#define AGP_MAP_CAPACITY_MAX (1u << 30)

struct agp_map {
	size_t key_size;
	size_t value_size;
	size_t value_offset; /* of the value within an entry */
	size_t entry_size;   /* a multiple of 8 */
	size_t count;        /* entries in use: entries [0, count) */
	size_t capacity;     /* entries allocated */
	uint32_t *index;     /* slot -> entry number + 1; 0: empty */
	uint32_t index_mask; /* slots - 1 */
	unsigned char *entries;
};

/*
 * Prepares an empty map for keys of key_size bytes (1..4096) and values of
 * value_size bytes (0..4096), with room for capacity entries before it
 * first grows (0 is taken as 1). 0, -EINVAL or -ENOMEM (map untouched);
 * messages through common/error.h.
 */
int agp_map_init(struct agp_map *map, size_t key_size, size_t value_size, size_t capacity);

/* Frees the map's memory (never what its values point to); the map is then empty and unusable. */
void agp_map_destroy(struct agp_map *map);

static inline size_t agp_map_count(const struct agp_map *map)
{
	return map->count;
}

/* The value stored under key (key_size bytes), or NULL. */
void *agp_map_find(const struct agp_map *map, const void *key);

/*
 * Stores a copy of key and value (value_size bytes; NULL stores zeroes).
 * 0 when the key was new; -EEXIST when it was there already (the value is
 * left as it was); -ENOMEM when growing failed (the map is unchanged).
 * *stored (may be NULL) then points to the value in the map, on 0 and
 * -EEXIST.
 */
int agp_map_insert(struct agp_map *map, const void *key, const void *value, void **stored);

/* Removes key; false when it was not there. */
bool agp_map_remove(struct agp_map *map, const void *key);

/* The i-th entry's key and value, for i < count (insertion order, see above). */
static inline const void *agp_map_key_at(const struct agp_map *map, size_t i)
{
	return map->entries + i * map->entry_size + sizeof(uint64_t);
}

static inline void *agp_map_value_at(const struct agp_map *map, size_t i)
{
	return map->entries + i * map->entry_size + map->value_offset;
}

/*
 * Removes the i-th entry (i < count) and moves the last entry into its
 * place: a walk that removes as it goes looks at entry i again instead of
 * stepping on, and so visits every entry exactly once.
 */
void agp_map_remove_at(struct agp_map *map, size_t i);

#endif
