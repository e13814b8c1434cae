#include "shm/counter_audit.h"

#define DROPPED_MAX (1ull << 62)
#define DROP_SLACK  (1ull << 20) /* drops made before an earlier read but not yet visible to it */

const char *agp_lie_name(enum agp_lie lie)
{
	switch (lie) {
	case AGP_LIE_NONE:
		return "";
	case AGP_LIE_INDICES:
		return "indices";
	case AGP_LIE_DROPPED_DECREASED:
		return "dropped decreased";
	case AGP_LIE_DROPPED_NO_FULL_RING:
		return "dropped without a full ring";
	case AGP_LIE_DROPPED_TOO_FAST:
		return "dropped faster than possible";
	case AGP_LIE_RECLAIMED_TOO_MANY:
		return "reclaimed more than a ring";
	}
	return "unknown";
}

void agp_counter_audit_init(struct agp_counter_audit *audit)
{
	audit->seen = false;
	audit->dropped = 0;
	audit->checked_ns = 0;
}

enum agp_lie agp_counter_audit_dropped(struct agp_counter_audit *audit, uint64_t dropped,
                                       uint64_t tail_after, uint64_t capacity, uint64_t now_ns)
{
	if (dropped > DROPPED_MAX)
		return AGP_LIE_DROPPED_TOO_FAST;
	if (dropped > 0 && tail_after < capacity)
		return AGP_LIE_DROPPED_NO_FULL_RING;
	if (audit->seen) {
		if (dropped < audit->dropped)
			return AGP_LIE_DROPPED_DECREASED;
		uint64_t elapsed = now_ns > audit->checked_ns ? now_ns - audit->checked_ns : 0;
		if (dropped - audit->dropped > elapsed + DROP_SLACK)
			return AGP_LIE_DROPPED_TOO_FAST;
	}
	audit->seen = true;
	audit->dropped = dropped;
	audit->checked_ns = now_ns;
	return AGP_LIE_NONE;
}

enum agp_lie agp_counter_audit_reclaimed(uint64_t reclaimed, uint64_t capacity)
{
	return reclaimed > capacity ? AGP_LIE_RECLAIMED_TOO_MANY : AGP_LIE_NONE;
}
