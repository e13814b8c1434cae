/*
 * What the collector does once the segment guard (segment_guard.h) has
 * absorbed a truncation: the old segment is given up for good (its range
 * in our address space holds zero pages by now, and the object's name may
 * point at a file of any size an agent chose), and a fresh segment of the
 * same layout takes its place under the same name and at the same address.
 *
 * Same address: mremap() moves the fresh mapping over the zeroed range in
 * one call, so every pointer the collector derived from the segment's base,
 * and its private copy of the geometry, stay valid; no other thread sees a
 * change of anything but the shared contents, which it trusts no more than
 * before. The collector keeps its own clock calibration (the fresh header
 * has a new one of the same clock; they differ by the calibration error).
 *
 * Agents that were attached to the old segment are not told: those whose
 * slot lay beyond the new end died of SIGBUS on their next record, the
 * others record into an object nobody drains until they reopen.
 */
#ifndef AGP_COLLECTOR_SEGMENT_REPLACE_H
#define AGP_COLLECTOR_SEGMENT_REPLACE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "shm/segment.h"

/*
 * Logs one line naming the segment, its new size, the faulting offset and
 * the agents_lost quarantined, then unlinks the truncated object and maps a
 * fresh one of the same layout (group: its owner group, (gid_t)-1 for none)
 * over segment->base, served by this process. An agent may truncate the
 * fresh object too, at any moment: while it is made the guard absorbs the
 * faults and it is made again (segment_guard.h), once it is in place the
 * next drain pass sees a new truncation. 0, or a negative errno when it
 * could not (said in the same line): the range then stays zero pages, the
 * collector serves an empty deployment, and the caller tries again later
 * with retrying set (which logs only the success).
 */
int agp_segment_replace(struct agp_segment *segment, gid_t group, uint64_t fault_offset,
                        uint32_t agents_lost, bool retrying);

#endif
