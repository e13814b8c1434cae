#include "shm/ownership.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>

#include "common/error.h"
#include "shm/segment.h"

uint64_t agp_ownership_collector_byte(void)
{
	return offsetof(struct agp_shm_header, collector_pid);
}

uint64_t agp_ownership_slot_byte(const struct agp_segment *segment, uint32_t index)
{
	return segment->slots_offset + (uint64_t)index * segment->slot_stride;
}

uint64_t agp_ownership_metric_byte(const struct agp_segment *segment, uint32_t id)
{
	return segment->registry_offset + (uint64_t)id * sizeof(struct agp_metric_entry);
}

static struct flock one_byte(short type, uint64_t byte)
{
	/* l_pid must be 0 for the OFD commands. */
	struct flock lock = {
	    .l_type = type, .l_whence = SEEK_SET, .l_start = (off_t)byte, .l_len = 1};
	return lock;
}

int agp_ownership_take(const struct agp_segment *segment, uint64_t byte)
{
	struct flock lock = one_byte(F_WRLCK, byte);
	if (fcntl(segment->fd, F_OFD_SETLK, &lock) == 0)
		return 0;
	if (errno == EAGAIN || errno == EACCES)
		return -EAGAIN;
	return agp__error(-errno, "segment %s: locking byte %llu: %s", segment->shm_name,
	                  (unsigned long long)byte, strerror(errno));
}

void agp_ownership_drop(const struct agp_segment *segment, uint64_t byte)
{
	struct flock lock = one_byte(F_UNLCK, byte);
	/* Unlocking a range we hold cannot fail short of a bad descriptor, which closing drops
	 * anyway. */
	(void)fcntl(segment->fd, F_OFD_SETLK, &lock);
}

int agp_ownership_held(const struct agp_segment *segment, uint64_t byte)
{
	struct flock lock = one_byte(F_WRLCK, byte);
	if (fcntl(segment->fd, F_OFD_GETLK, &lock) != 0)
		return agp__error(-errno, "segment %s: asking who holds byte %llu: %s",
		                  segment->shm_name, (unsigned long long)byte, strerror(errno));
	return lock.l_type != F_UNLCK;
}

int agp_collector_presence_take(struct agp_segment *segment)
{
	int error = agp_ownership_take(segment, agp_ownership_collector_byte());
	if (error == -EAGAIN) {
		/* Relaxed: the pid is only quoted in the message; the lock decided. */
		int32_t holder = atomic_load_explicit(&agp_segment_header(segment)->collector_pid,
		                                      memory_order_relaxed);
		return agp__error(
		    -EBUSY,
		    "deployment '%s' is already served by a running collector (pid %d "
		    "in its own pid namespace, as the segment records it)",
		    segment->deployment, (int)holder);
	}
	if (error)
		return error;
	/* Relaxed: for messages and `status` only; the lock we hold is what others test. */
	atomic_store_explicit(&agp_segment_header(segment)->collector_pid, (int32_t)getpid(),
	                      memory_order_relaxed);
	return 0;
}

void agp_collector_presence_drop(struct agp_segment *segment)
{
	/* Relaxed: see agp_collector_presence_take. */
	atomic_store_explicit(&agp_segment_header(segment)->collector_pid, 0, memory_order_relaxed);
	agp_ownership_drop(segment, agp_ownership_collector_byte());
}

bool agp_collector_present(const struct agp_segment *segment)
{
	/* When the kernel cannot tell, assume a collector: an agent then only skips a reclaim. */
	return agp_ownership_held(segment, agp_ownership_collector_byte()) != 0;
}
