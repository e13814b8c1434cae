/*
 * Alert rate limiting (see alert_limiter.h).
 *
 * Entries live in a fixed array; a separate index of at least twice as many
 * slots maps hashes to entries by linear probing, so probe sequences stay
 * short (load <= 1/2). Entries are never freed one by one: until the array is
 * full a new key takes the next unused entry, afterwards it takes the entry
 * of the least recently seen key. Removing that key from the index uses
 * backward-shift deletion, which keeps every remaining key reachable from its
 * home slot without tombstones, so lookups never degrade over time.
 *
 * The least-recently-seen list is doubly linked through entry indices; every
 * check moves its key to the newest end in O(1).
 */
#include "collector/alerts/limiter.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define NIL UINT32_MAX

static uint32_t key_hash(uint32_t metric, const char *type, size_t type_len, unsigned level)
{
	/* FNV-1a over the type, then the metric and level mixed in, then murmur3's finaliser. */
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < type_len; i++)
		h = (h ^ (uint8_t)type[i]) * 16777619u;
	h ^= metric * 0x9e3779b1u;
	h ^= (uint32_t)level * 0x85ebca77u;
	h ^= h >> 16;
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	h *= 0xc2b2ae35u;
	h ^= h >> 16;
	return h;
}

int agp_alert_limiter_init(struct agp_alert_limiter *limiter, uint32_t capacity,
                           uint64_t cooldown_ns)
{
	if (capacity == 0 || capacity > AGP_ALERT_LIMITER_CAPACITY_MAX)
		return -EINVAL;
	uint32_t slots = 2;
	while (slots < 2 * capacity)
		slots *= 2;
	uint32_t *index = calloc(slots, sizeof(*index));
	struct agp_alert_limiter_entry *entries = calloc(capacity, sizeof(*entries));
	if (!index || !entries) {
		free(entries);
		free(index);
		return -ENOMEM;
	}
	memset(limiter, 0, sizeof(*limiter));
	limiter->cooldown_ns = cooldown_ns;
	limiter->capacity = capacity;
	limiter->index_mask = slots - 1;
	limiter->oldest = NIL;
	limiter->newest = NIL;
	limiter->index = index;
	limiter->entries = entries;
	return 0;
}

void agp_alert_limiter_destroy(struct agp_alert_limiter *limiter)
{
	free(limiter->entries);
	free(limiter->index);
	limiter->entries = NULL;
	limiter->index = NULL;
	limiter->capacity = 0;
	limiter->used = 0;
}

void agp_alert_limiter_set_cooldown(struct agp_alert_limiter *limiter, uint64_t cooldown_ns)
{
	limiter->cooldown_ns = cooldown_ns;
}

static void list_unlink(struct agp_alert_limiter *l, uint32_t i)
{
	struct agp_alert_limiter_entry *e = &l->entries[i];
	if (e->older != NIL)
		l->entries[e->older].newer = e->newer;
	else
		l->oldest = e->newer;
	if (e->newer != NIL)
		l->entries[e->newer].older = e->older;
	else
		l->newest = e->older;
	e->older = e->newer = NIL;
}

static void list_push_newest(struct agp_alert_limiter *l, uint32_t i)
{
	struct agp_alert_limiter_entry *e = &l->entries[i];
	e->older = l->newest;
	e->newer = NIL;
	if (l->newest != NIL)
		l->entries[l->newest].newer = i;
	else
		l->oldest = i;
	l->newest = i;
}

/* Removes entry i from the index, shifting later members of its cluster back. */
static void index_remove(struct agp_alert_limiter *l, uint32_t i)
{
	uint32_t mask = l->index_mask;
	uint32_t hole = l->entries[i].hash & mask;
	while (l->index[hole] != i + 1)
		hole = (hole + 1) & mask;
	l->index[hole] = 0;
	for (uint32_t j = (hole + 1) & mask; l->index[j] != 0; j = (j + 1) & mask) {
		uint32_t home = l->entries[l->index[j] - 1].hash & mask;
		/*
		 * The key at j may move into the hole unless its home lies
		 * cyclically in (hole, j]: then it would sit before its home.
		 */
		bool stays = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
		if (stays)
			continue;
		l->index[hole] = l->index[j];
		l->index[j] = 0;
		hole = j;
	}
}

bool agp_alert_limiter_check(struct agp_alert_limiter *l, uint32_t metric, const char *agent_type,
                             unsigned level, uint64_t now_ns, uint64_t *suppressed)
{
	const char *type = agent_type ? agent_type : "";
	size_t type_len = strnlen(type, AGP_AGENT_TYPE_MAX);
	uint32_t hash = key_hash(metric, type, type_len, level & 0xffu);
	uint32_t mask = l->index_mask;

	uint32_t slot = hash & mask;
	for (; l->index[slot] != 0; slot = (slot + 1) & mask) {
		uint32_t i = l->index[slot] - 1;
		struct agp_alert_limiter_entry *e = &l->entries[i];
		if (e->hash != hash || e->metric != metric || e->level != (uint8_t)level ||
		    strncmp(e->agent_type, type, type_len) != 0 || e->agent_type[type_len] != '\0')
			continue;
		list_unlink(l, i);
		list_push_newest(l, i);
		e->last_seen_ns = now_ns;
		bool due =
		    now_ns >= e->last_alert_ns && now_ns - e->last_alert_ns >= l->cooldown_ns;
		if (!due) {
			e->suppressed++;
			l->stats.suppressed++;
			return false;
		}
		if (suppressed)
			*suppressed = e->suppressed;
		e->suppressed = 0;
		e->last_alert_ns = now_ns;
		l->stats.passed++;
		return true;
	}

	/* A new key: a fresh entry while there are any, else the least recently seen one. */
	uint32_t i;
	if (l->used < l->capacity) {
		i = l->used++;
		l->stats.entries++;
	} else {
		i = l->oldest;
		l->stats.evictions++;
		l->stats.evicted_suppressed += l->entries[i].suppressed;
		index_remove(l, i);
		list_unlink(l, i);
		/* The removal may have shifted keys into our probe path: find the hole again. */
		slot = hash & mask;
		while (l->index[slot] != 0)
			slot = (slot + 1) & mask;
	}
	struct agp_alert_limiter_entry *e = &l->entries[i];
	memset(e, 0, sizeof(*e));
	e->metric = metric;
	e->level = (uint8_t)level;
	e->hash = hash;
	memcpy(e->agent_type, type, type_len);
	e->agent_type[type_len] = '\0';
	e->last_alert_ns = now_ns;
	e->last_seen_ns = now_ns;
	l->index[slot] = i + 1;
	list_push_newest(l, i);
	l->stats.passed++;
	if (suppressed)
		*suppressed = 0;
	return true;
}

int agp_alert_limiter_foreach_pending(const struct agp_alert_limiter *limiter,
                                      int (*fn)(const struct agp_alert_limiter_entry *entry,
                                                void *context),
                                      void *context)
{
	for (uint32_t i = 0; i < limiter->used; i++) {
		if (limiter->entries[i].suppressed == 0)
			continue;
		int rc = fn(&limiter->entries[i], context);
		if (rc != 0)
			return rc;
	}
	return 0;
}
