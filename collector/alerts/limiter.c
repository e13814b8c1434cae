/*
 * Alert rate limiting (see limiter.h).
 *
 * Entries live in a fixed array; a common/map made for capacity keys maps
 * each key to its entry's index. Entries are never freed one by one: until
 * the array is full a new key takes the next unused entry, afterwards it
 * takes the entry of the least recently seen key, whose key leaves the map
 * first, so the map never holds more than capacity keys and never grows.
 *
 * The least-recently-seen list is doubly linked through entry indices; every
 * check moves its key to the newest end in O(1).
 */
#include "collector/alerts/limiter.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define NIL UINT32_MAX

/* The map's key: zeroed whole, so that padding and the bytes after the type compare equal. */
struct limiter_key {
	uint32_t metric;
	uint8_t level;
	char agent_type[AGP_AGENT_TYPE_MAX + 1];
};

/* agent_type longer than AGP_AGENT_TYPE_MAX bytes is cut there, as the entry's copy is. */
static struct limiter_key limiter_key(uint32_t metric, const char *agent_type, uint8_t level)
{
	struct limiter_key key;
	memset(&key, 0, sizeof(key));
	key.metric = metric;
	key.level = level;
	agp_map_key_string(key.agent_type, sizeof(key.agent_type), agent_type);
	return key;
}

int agp_alert_limiter_init(struct agp_alert_limiter *limiter, uint32_t capacity,
                           uint64_t cooldown_ns)
{
	if (capacity == 0 || capacity > AGP_ALERT_LIMITER_CAPACITY_MAX)
		return -EINVAL;
	struct agp_map keys;
	int error = agp_map_init(&keys, sizeof(struct limiter_key), sizeof(uint32_t), capacity);
	if (error)
		return error;
	struct agp_alert_limiter_entry *entries = calloc(capacity, sizeof(*entries));
	if (!entries) {
		agp_map_destroy(&keys);
		return -ENOMEM;
	}
	memset(limiter, 0, sizeof(*limiter));
	limiter->cooldown_ns = cooldown_ns;
	limiter->capacity = capacity;
	limiter->oldest = NIL;
	limiter->newest = NIL;
	limiter->keys = keys;
	limiter->entries = entries;
	return 0;
}

void agp_alert_limiter_destroy(struct agp_alert_limiter *limiter)
{
	free(limiter->entries);
	agp_map_destroy(&limiter->keys);
	limiter->entries = NULL;
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

/* A repeat of the key of entry i: due when its cooldown has passed, else counted. */
static bool check_known(struct agp_alert_limiter *l, uint32_t i, uint64_t now_ns,
                        uint64_t *suppressed)
{
	struct agp_alert_limiter_entry *e = &l->entries[i];
	list_unlink(l, i);
	list_push_newest(l, i);
	e->last_seen_ns = now_ns;
	bool due = now_ns >= e->last_alert_ns && now_ns - e->last_alert_ns >= l->cooldown_ns;
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

/* A new key: a fresh entry while there are any, else the least recently seen key's. */
static void track_new(struct agp_alert_limiter *l, const struct limiter_key *key, uint64_t now_ns)
{
	uint32_t i;
	if (l->used < l->capacity) {
		i = l->used++;
		l->stats.entries++;
	} else {
		i = l->oldest;
		struct agp_alert_limiter_entry *evicted = &l->entries[i];
		l->stats.evictions++;
		l->stats.evicted_suppressed += evicted->suppressed;
		struct limiter_key evicted_key =
		    limiter_key(evicted->metric, evicted->agent_type, evicted->level);
		agp_map_remove(&l->keys, &evicted_key);
		list_unlink(l, i);
	}
	struct agp_alert_limiter_entry *e = &l->entries[i];
	memset(e, 0, sizeof(*e));
	e->metric = key->metric;
	e->level = key->level;
	memcpy(e->agent_type, key->agent_type, sizeof(e->agent_type));
	e->last_alert_ns = now_ns;
	e->last_seen_ns = now_ns;
	/* Cannot fail: the map holds fewer than capacity keys now, and was made for capacity. */
	agp_map_insert(&l->keys, key, &i, NULL);
	list_push_newest(l, i);
	l->stats.passed++;
}

bool agp_alert_limiter_check(struct agp_alert_limiter *l, uint32_t metric, const char *agent_type,
                             unsigned level, uint64_t now_ns, uint64_t *suppressed)
{
	struct limiter_key key = limiter_key(metric, agent_type ? agent_type : "", (uint8_t)level);
	const uint32_t *found = agp_map_find(&l->keys, &key);
	if (found)
		return check_known(l, *found, now_ns, suppressed);
	track_new(l, &key, now_ns);
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
