/*
 * Alert rate limiting: at most one alert per (metric, agent type, level)
 * per cooldown; the repeats in between are counted and the count travels
 * with the next alert of that key that passes ("... (37 similar alerts
 * suppressed)").
 *
 * Bounded: a fixed number of keys (the capacity), found through a
 * common/map made for exactly that many, which therefore never grows. When
 * every entry is taken, a new key evicts the least recently seen one; its
 * unreported repeats are counted in the statistics, never silently lost.
 * Every check is O(1) expected work and never allocates. Time is an argument, so tests and
 * replays need no clock.
 *
 * Not thread-safe: one limiter belongs to one thread (the alert path of the
 * collector's drain thread).
 */
#ifndef AGP_COLLECTOR_ALERT_LIMITER_H
#define AGP_COLLECTOR_ALERT_LIMITER_H

#include <stdbool.h>
#include <stdint.h>

#include <agentperf/agent.h>

#include "common/map.h"

struct agp_alert_limiter_entry {
	uint64_t last_alert_ns; /* when the last alert of this key passed */
	uint64_t last_seen_ns;  /* when this key was last checked */
	uint64_t suppressed;    /* repeats since last_alert_ns */
	uint32_t metric;
	uint32_t older, newer; /* the least-recently-seen list, by entry index */
	uint8_t level;
	char agent_type[AGP_AGENT_TYPE_MAX + 1];
};

struct agp_alert_limiter_stats {
	uint64_t passed;             /* alerts let through */
	uint64_t suppressed;         /* repeats held back */
	uint64_t evictions;          /* keys evicted to make room */
	uint64_t evicted_suppressed; /* held-back repeats of evicted keys, never reported */
	uint32_t entries;            /* keys currently tracked */
};

struct agp_alert_limiter {
	uint64_t cooldown_ns;
	uint32_t capacity; /* most keys tracked */
	uint32_t used;     /* entries in use (only grows, up to capacity) */
	uint32_t oldest, newest;
	struct agp_map keys; /* (metric, level, agent type) -> entry index (uint32_t) */
	struct agp_alert_limiter_entry *entries;
	struct agp_alert_limiter_stats stats;
};

/* Largest capacity agp_alert_limiter_init accepts. */
#define AGP_ALERT_LIMITER_CAPACITY_MAX (1u << 24)

/*
 * Prepares a limiter for capacity keys (1..AGP_ALERT_LIMITER_CAPACITY_MAX)
 * with the given cooldown (0: every alert passes, still counted). Returns 0,
 * -EINVAL or -ENOMEM (limiter untouched).
 */
int agp_alert_limiter_init(struct agp_alert_limiter *limiter, uint32_t capacity,
                           uint64_t cooldown_ns);
void agp_alert_limiter_destroy(struct agp_alert_limiter *limiter);

/*
 * Decides about one violation of key (metric, agent_type, level) at now_ns.
 * Returns true when the alert should be emitted; *suppressed (may be NULL)
 * is then the number of repeats of this key held back since its previous
 * alert. Returns false when it falls within the key's cooldown (and counts
 * it). A time earlier than the key's last alert counts as within the
 * cooldown. agent_type NULL means ""; longer than AGP_AGENT_TYPE_MAX bytes is
 * truncated (the segment never holds longer ones).
 */
bool agp_alert_limiter_check(struct agp_alert_limiter *limiter, uint32_t metric,
                             const char *agent_type, unsigned level, uint64_t now_ns,
                             uint64_t *suppressed);

/* Changes the cooldown (a config reload); tracked keys keep their last alert time. */
void agp_alert_limiter_set_cooldown(struct agp_alert_limiter *limiter, uint64_t cooldown_ns);

/*
 * Calls fn for every key with repeats held back and not yet reported (for a
 * summary at shutdown); stops early when fn returns nonzero, and returns that.
 */
int agp_alert_limiter_foreach_pending(const struct agp_alert_limiter *limiter,
                                      int (*fn)(const struct agp_alert_limiter_entry *entry,
                                                void *context),
                                      void *context);

#endif
