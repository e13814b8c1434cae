/*
 * What the closed windows of a series table take in memory: the soak
 * (bench/soak.c) tells the growth they bring by design (the ring of closed
 * windows fills over the retention period) from any other growth.
 */
#ifndef AGP_COLLECTOR_SERIES_MEMORY_H
#define AGP_COLLECTOR_SERIES_MEMORY_H

#include <stdint.h>

#include "collector/drain/series.h"

/*
 * Bytes of the retained closed windows: each encoding (raw and corrected)
 * once, and the reference lists of derived (agent type, metric) windows,
 * without the allocator's overhead. Walks every closed window of every
 * series, so the drain calls it at rotation, the only time they change.
 */
uint64_t agp_series_retained_bytes(struct agp_series_table *table);

#endif
