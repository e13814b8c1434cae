#include "collector/drain/segment_replace.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "collector/drain/segment_guard.h"
#include "common/error.h"
#include "shm/ownership.h"

/* The size of the object the segment's name points at now; -1 when there is none. */
static long long object_size(const char *shm_name)
{
	int fd = shm_open(shm_name, O_RDONLY, 0);
	if (fd < 0)
		return -1;
	struct stat st;
	long long size = fstat(fd, &st) == 0 ? (long long)st.st_size : -1;
	close(fd);
	return size;
}

/* A fresh segment of the old one's layout, mapped anywhere for now, with our pid in it. */
static int make_fresh_once(const struct agp_segment *old, gid_t group, struct agp_segment *fresh)
{
	struct agp_segment_layout layout = {old->slot_count, old->ring_capacity, group};
	int error = agp_segment_unlink(old->deployment);
	if (error && error != -ENOENT)
		return error;
	error = agp_segment_create(old->deployment, &layout, fresh);
	if (error == -EEXIST) /* an agent made one between our unlink and create: ours only */
		error = agp_segment_adopt(old->deployment, geteuid(), group, fresh);
	if (error)
		return error;
	if (fresh->size != old->size || fresh->slots_offset != old->slots_offset ||
	    fresh->slot_stride != old->slot_stride) {
		agp_segment_detach(fresh);
		return agp__error(-EPROTO,
		                  "the segment an agent re-created has another layout (%u slots "
		                  "of %u records; ours: %u of %u)",
		                  fresh->slot_count, fresh->ring_capacity, old->slot_count,
		                  old->ring_capacity);
	}
	/* Relaxed: advisory, as in claim_segment (collector.c): agents then leave reclaiming to us.
	 */
	atomic_store_explicit(&agp_segment_header(fresh)->collector_pid, (int32_t)getpid(),
	                      memory_order_relaxed);
	return 0;
}

/*
 * make_fresh_once, with the calling thread absorbing its faults (segment_guard.h): an agent
 * may truncate the fresh object while we write its header (or read the one an agent made).
 * A fresh segment that faulted even once is thrown away, whatever it holds now, and made
 * again, up to FRESH_ATTEMPTS times.
 */
#define FRESH_ATTEMPTS 3

static int make_fresh(const struct agp_segment *old, gid_t group, struct agp_segment *fresh)
{
	int error = 0;
	for (int attempt = 0; attempt < FRESH_ATTEMPTS; attempt++) {
		uint64_t absorbed = agp_segment_guard_absorbed();
		error = make_fresh_once(old, group, fresh);
		bool faulted = agp_segment_guard_absorbed() != absorbed;
		if (!error && !faulted)
			return 0;
		if (!error)
			agp_segment_detach(fresh);
		if (!faulted)
			return error;
	}
	return agp__error(-EAGAIN,
	                  "the fresh segment was truncated by a process of the deployment while it "
	                  "was made, %d times in a row",
	                  FRESH_ATTEMPTS);
}

int agp_segment_replace(struct agp_segment *segment, gid_t group, uint64_t fault_offset,
                        uint32_t agents_lost, bool retrying)
{
	long long truncated_to = object_size(segment->shm_name);
	struct agp_segment fresh;
	int error = agp_segment_guard_absorb_begin();
	if (error)
		goto fail;
	error = make_fresh(segment, group, &fresh);
	if (error)
		goto fail_absorbing;
	/*
	 * Nothing of the fresh mapping is touched from here to the move: a truncation meanwhile
	 * faults at our next read, inside the watched range, where the guard absorbs it.
	 */
	void *moved = mremap(fresh.base, fresh.size, fresh.size, MREMAP_MAYMOVE | MREMAP_FIXED,
	                     segment->base);
	if (moved == MAP_FAILED) {
		error = agp__error(-errno, "mremap of the fresh segment over the old one: %s",
		                   strerror(errno));
		agp_segment_detach(&fresh);
		goto fail_absorbing;
	}
	agp_segment_guard_absorb_end();
	/*
	 * The ownership locks live on the object's descriptor (shm/ownership.h): the old
	 * object's mean nothing now. Keep the fresh one's descriptor, and be its collector
	 * there, so that its agents see us and we see their locks.
	 */
	close(segment->fd);
	segment->fd = fresh.fd;
	error = agp_collector_presence_take(segment);
	if (error)
		goto fail;
	if (retrying)
		fprintf(stderr,
		        "agentperfd: segment %s: a fresh segment replaces the truncated one at "
		        "last; agents attached to the old one must reopen\n",
		        segment->shm_name);
	else
		fprintf(
		    stderr,
		    "agentperfd: segment %s was truncated to %lld of %zu bytes by a process of "
		    "the deployment (a read at offset %llu faulted): its %u agents are "
		    "quarantined, their figures kept as last read; a fresh segment replaces it, "
		    "and agents attached to the old one must reopen\n",
		    segment->shm_name, truncated_to, segment->size,
		    (unsigned long long)fault_offset, agents_lost);
	return 0;

fail_absorbing:
	agp_segment_guard_absorb_end();
fail:
	if (!retrying)
		fprintf(
		    stderr,
		    "agentperfd: segment %s was truncated to %lld of %zu bytes by a process of "
		    "the deployment (a read at offset %llu faulted): its %u agents are "
		    "quarantined; no fresh segment could replace it yet (%s), so this collector "
		    "serves nothing and tries again every second\n",
		    segment->shm_name, truncated_to, segment->size,
		    (unsigned long long)fault_offset, agents_lost, agp__error_message());
	return error;
}
