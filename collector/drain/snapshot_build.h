/*
 * Building a snapshot on the drain thread: everything but the agents'
 * figures, which only the slot tracking in drain.c knows (it appends them
 * and adds them to the totals itself).
 *
 * The order is agp_snapshot_build_begin, the agents, then
 * agp_snapshot_build_series and agp_snapshot_build_alerts; on an error the
 * caller frees the half-built snapshot with agp_snapshot_free.
 */
#ifndef AGP_COLLECTOR_SNAPSHOT_BUILD_H
#define AGP_COLLECTOR_SNAPSHOT_BUILD_H

#include <stddef.h>
#include <stdint.h>

#include "collector/alerts/alerting.h"
#include "collector/drain/series.h"
#include "collector/drain/snapshot.h"

struct agp_collector;

/*
 * A new snapshot with the collector's identity and histogram layout, taken
 * at now_ns, with room for agent_capacity agents, every series of the
 * table and the alert ring; its totals are zero. NULL when out of memory.
 */
struct agp_snapshot *agp_snapshot_build_begin(const struct agp_collector *collector,
                                              uint64_t generation, uint64_t now_ns,
                                              size_t agent_capacity,
                                              const struct agp_series_table *table);

/*
 * Copies every series of the table: closed windows are shared by reference,
 * the open window (until now_ns) gets an encoding of its own. 0 or -ENOMEM.
 */
int agp_snapshot_build_series(struct agp_snapshot *snapshot, struct agp_series_table *table,
                              uint64_t now_ns);

/* Copies the newest alerts and the count raised so far. */
void agp_snapshot_build_alerts(struct agp_snapshot *snapshot, const struct agp_alerting *alerting);

#endif
