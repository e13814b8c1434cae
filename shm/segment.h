/*
 * The deployment's POSIX shared-memory segment: naming, creation,
 * attachment and validation.
 *
 * The creator sizes the object with posix_fallocate() and maps it with
 * MAP_POPULATE, so a shortage of memory fails here, at setup, and never as
 * SIGBUS on the hot path. The header's magic is stored last, with release
 * order, so an attacher that sees the magic sees a fully initialised
 * segment; an attacher that finds the object still empty waits briefly.
 */
#ifndef AGP_SHM_SEGMENT_H
#define AGP_SHM_SEGMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "common/deployment.h"
#include "shm/abi.h"
#include "shm/clock.h"

/* A process's view of a segment: its mapping plus a private, validated copy of the geometry. */
struct agp_segment {
	void *base;
	size_t size;
	int fd; /* kept open while attached: the handle ownership locks hang on (ownership.h) */
	uint32_t slot_count;
	uint32_t ring_capacity;
	uint32_t registry_capacity;
	uint64_t slot_stride;
	uint64_t slots_offset;
	uint64_t registry_offset;
	struct agp_clock clock; /* reads the header's published conversion (clock.h) */
	char deployment[AGP_DEPLOYMENT_NAME_MAX + 1];
	char shm_name[AGP_DEPLOYMENT_NAME_MAX + 16];
};

struct agp_segment_layout {
	uint32_t slot_count;    /* 1 .. 4096 */
	uint32_t ring_capacity; /* a power of two, 64 .. 2^24 */
	gid_t group;            /* (gid_t)-1: owner-only 0600; otherwise 0660 for that group */
};

/* The layout used when neither the config nor the environment names one. */
void agp_segment_layout_default(struct agp_segment_layout *layout);

/* Creates a new segment; -EEXIST when one exists already. */
int agp_segment_create(const char *deployment, const struct agp_segment_layout *layout,
                       struct agp_segment *segment_out);

/* Attaches an existing segment, checking every header field; -ENOENT when there is none. */
int agp_segment_attach(const char *deployment, struct agp_segment *segment_out);

/*
 * Attaches as agp_segment_attach does, but only a segment that belongs to
 * uid with mode 0600, or 0660 with group group (unless group is
 * (gid_t)-1): -EPERM otherwise, naming the segment, its owner and its
 * mode, before anything of it is read. For the collector, which must not
 * serve (and aggregate) a segment another user made.
 */
int agp_segment_adopt(const char *deployment, uid_t uid, gid_t group,
                      struct agp_segment *segment_out);

/* Attaches, or creates with the given layout when none exists (races with other creators are fine).
 */
int agp_segment_open(const char *deployment, const struct agp_segment_layout *layout,
                     struct agp_segment *segment_out);

/* Unmaps and closes the descriptor, which drops every ownership lock taken through it. */
void agp_segment_detach(struct agp_segment *segment);

/* Removes the segment's name; mappings that exist stay valid. */
int agp_segment_unlink(const char *deployment);

static inline struct agp_shm_header *agp_segment_header(const struct agp_segment *segment)
{
	return (struct agp_shm_header *)segment->base;
}

/* The slot at index, which the caller has checked against segment->slot_count. */
static inline struct agp_slot *agp_segment_slot(const struct agp_segment *segment, uint32_t index)
{
	return (struct agp_slot *)((char *)segment->base + segment->slots_offset +
	                           (uint64_t)index * segment->slot_stride);
}

static inline struct agp_metric_entry *agp_segment_metric(const struct agp_segment *segment,
                                                          uint32_t id)
{
	return (struct agp_metric_entry *)((char *)segment->base + segment->registry_offset) + id;
}

#endif
