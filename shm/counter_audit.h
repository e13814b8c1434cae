/*
 * The checks of what an agent's counters claim, before they enter the
 * collector's figures.
 *
 * An agent writes its tail and its dropped count into shared memory, and a
 * buggy or hostile one can write anything there. The ring consumer already
 * refuses indices that cannot be (a tail behind the head or more than a
 * ring ahead of it: the slot is quarantined). This audits the dropped
 * count, which only the producer's ring-full branch may change:
 *
 *  - it never decreases;
 *  - a drop needs a full ring, tail - head >= capacity with head <= tail, so
 *    any dropped > 0 needs a tail of at least one ring's worth: a tail read
 *    after the dropped count must be >= capacity;
 *  - each drop is one agp_record() call, which takes far more than a
 *    nanosecond: between two reads it grows by at most the nanoseconds in
 *    between (plus DROP_SLACK for what was not yet visible at the earlier
 *    read), and it can never exceed 2^62 (146 years of drops at one per ns).
 *
 * An agent that fails a check is lying: the collector says so in `agents`
 * and keeps its figures out of the totals (drain.c). The first lie is kept.
 */
#ifndef AGP_SHM_COUNTER_AUDIT_H
#define AGP_SHM_COUNTER_AUDIT_H

#include <stdbool.h>
#include <stdint.h>

enum agp_lie {
	AGP_LIE_NONE = 0,
	AGP_LIE_INDICES,              /* tail behind the head, or more than a ring ahead */
	AGP_LIE_DROPPED_DECREASED,    /* dropped went down */
	AGP_LIE_DROPPED_NO_FULL_RING, /* drops though the tail never reached a ring's worth */
	AGP_LIE_DROPPED_TOO_FAST,     /* more drops than calls could have made in the time */
	AGP_LIE_RECLAIMED_TOO_MANY,   /* a claim discarded more than a ring's worth */
};

/* "indices", "dropped decreased", ...; "" for AGP_LIE_NONE. */
const char *agp_lie_name(enum agp_lie lie);

/* What the audit remembers of one occupant of a slot. */
struct agp_counter_audit {
	bool seen;           /* a dropped count was accepted before */
	uint64_t dropped;    /* the last accepted dropped count */
	uint64_t checked_ns; /* when it was read (the collector's clock) */
};

void agp_counter_audit_init(struct agp_counter_audit *audit);

/*
 * Checks dropped, read at now_ns, against the audit's history and against
 * tail_after, a tail read after it (any later read: the tail only grows).
 * AGP_LIE_NONE: accepted and remembered. Otherwise the lie; the history is
 * left as it was.
 */
enum agp_lie agp_counter_audit_dropped(struct agp_counter_audit *audit, uint64_t dropped,
                                       uint64_t tail_after, uint64_t capacity, uint64_t now_ns);

/*
 * Checks the count of records a claim says it discarded of the slot's
 * previous occupant (shm/abi.h, reclaimed_pending): at most one ring's worth.
 */
enum agp_lie agp_counter_audit_reclaimed(uint64_t reclaimed, uint64_t capacity);

#endif
