#include "shm/segment.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "shm/clock.h"
#include "common/error.h"
#include "shm/registry.h"

#define SLOT_COUNT_MAX    4096u
#define RING_CAPACITY_MIN 64u
#define RING_CAPACITY_MAX (1u << 24)

void agp_segment_layout_default(struct agp_segment_layout *layout)
{
	layout->slot_count = AGP_DEFAULT_SLOT_COUNT;
	layout->ring_capacity = AGP_DEFAULT_RING_CAPACITY;
	layout->group = (gid_t)-1;
}

static uint64_t align_up(uint64_t value, uint64_t alignment)
{
	return (value + alignment - 1) / alignment * alignment;
}

static int check_layout(const struct agp_segment_layout *layout)
{
	if (layout->slot_count == 0 || layout->slot_count > SLOT_COUNT_MAX)
		return agp__error(-EINVAL, "slot count %u is out of range 1..%u",
		                  layout->slot_count, SLOT_COUNT_MAX);
	uint32_t capacity = layout->ring_capacity;
	if (capacity < RING_CAPACITY_MIN || capacity > RING_CAPACITY_MAX ||
	    (capacity & (capacity - 1)) != 0)
		return agp__error(
		    -EINVAL, "ring capacity %u must be a power of two between %u and %u records",
		    capacity, RING_CAPACITY_MIN, RING_CAPACITY_MAX);
	return 0;
}

/* The geometry a header with this layout describes; fills the private copy too. */
static void compute_geometry(const struct agp_segment_layout *layout, struct agp_segment *segment)
{
	segment->slot_count = layout->slot_count;
	segment->ring_capacity = layout->ring_capacity;
	segment->registry_capacity = AGP_REGISTRY_CAPACITY;
	segment->registry_offset = align_up(sizeof(struct agp_shm_header), 4096);
	segment->slots_offset =
	    align_up(segment->registry_offset +
	                 (uint64_t)AGP_REGISTRY_CAPACITY * sizeof(struct agp_metric_entry),
	             4096);
	segment->slot_stride = align_up(sizeof(struct agp_slot) + (uint64_t)layout->ring_capacity *
	                                                              sizeof(struct agp_record),
	                                4096);
	segment->size = segment->slots_offset + segment->slot_stride * layout->slot_count;
}

/*
 * Our ownership locks must not outlive an exec (slot.c): shm_open sets
 * FD_CLOEXEC, and we make sure of it rather than trust it.
 */
static int check_close_on_exec(const struct agp_segment *segment, int fd)
{
	int flags = fcntl(fd, F_GETFD);
	if (flags < 0 || (!(flags & FD_CLOEXEC) && fcntl(fd, F_SETFD, flags | FD_CLOEXEC) != 0))
		return agp__error(-errno, "setting close-on-exec on %s: %s", segment->shm_name,
		                  strerror(errno));
	return 0;
}

/* Resolves the deployment's name (NULL: $AGENTPERF_NAME, then "default") and its object's. */
static int name_segment(struct agp_segment *segment, const char *deployment)
{
	char name[AGP_DEPLOYMENT_NAME_MAX + 1];
	int error = agp_deployment_resolve(deployment, name);
	if (error)
		return error;
	snprintf(segment->deployment, sizeof(segment->deployment), "%s", name);
	snprintf(segment->shm_name, sizeof(segment->shm_name), "/agentperf.%s", name);
	return 0;
}

int agp_segment_create(const char *deployment, const struct agp_segment_layout *layout,
                       struct agp_segment *segment_out)
{
	struct agp_segment segment = {0};
	int error = name_segment(&segment, deployment);
	if (!error)
		error = check_layout(layout);
	if (error)
		return error;
	compute_geometry(layout, &segment);

	mode_t mode = layout->group == (gid_t)-1 ? 0600 : 0660;
	int fd = shm_open(segment.shm_name, O_RDWR | O_CREAT | O_EXCL, mode);
	if (fd < 0) {
		error = -errno;
		if (error == -EEXIST)
			return error;
		return agp__error(error, "shm_open(%s): %s", segment.shm_name, strerror(errno));
	}
	error = check_close_on_exec(&segment, fd);
	if (error)
		goto fail_unlink;
	if (layout->group != (gid_t)-1 &&
	    (fchown(fd, (uid_t)-1, layout->group) != 0 || fchmod(fd, mode) != 0)) {
		error = agp__error(-errno, "giving %s to group %u: %s", segment.shm_name,
		                   (unsigned)layout->group, strerror(errno));
		goto fail_unlink;
	}
	/* posix_fallocate reserves every page now, so a shortage is ENOSPC here rather than SIGBUS
	 * later. */
	int fallocate_error = posix_fallocate(fd, 0, (off_t)segment.size);
	if (fallocate_error) {
		error = agp__error(-fallocate_error, "reserving %zu bytes for %s: %s", segment.size,
		                   segment.shm_name, strerror(fallocate_error));
		goto fail_unlink;
	}
	void *base =
	    mmap(NULL, segment.size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0);
	if (base == MAP_FAILED) {
		error = agp__error(-errno, "mapping %zu bytes of %s: %s", segment.size,
		                   segment.shm_name, strerror(errno));
		goto fail_unlink;
	}
	segment.base = base;
	segment.fd = fd;

	struct agp_shm_header *header = agp_segment_header(&segment);
	header->abi_major = AGP_SHM_ABI_MAJOR;
	header->abi_minor = AGP_SHM_ABI_MINOR;
	header->endian_check = AGP_SHM_ENDIAN_CHECK;
	header->total_size = segment.size;
	header->header_size = sizeof(struct agp_shm_header);
	header->record_size = sizeof(struct agp_record);
	header->slot_count = segment.slot_count;
	header->ring_capacity = segment.ring_capacity;
	header->slot_stride = segment.slot_stride;
	header->slots_offset = segment.slots_offset;
	header->registry_offset = segment.registry_offset;
	header->registry_capacity = segment.registry_capacity;
	header->registry_entry_size = sizeof(struct agp_metric_entry);
	header->slot_size = sizeof(struct agp_slot);
	header->created_ns = agp_monotonic_ns();
	error = agp_clock_create(header);
	if (error)
		goto fail_unmap;
	error = agp_clock_attach(header, segment.shm_name, &segment.clock);
	if (error)
		goto fail_unmap;
	snprintf(header->deployment, sizeof(header->deployment), "%s", segment.deployment);
	agp_registry_init(&segment);

	/* Release: an attacher that reads the magic (acquire) sees every field written above. */
	atomic_store_explicit(&header->magic, AGP_SHM_MAGIC, memory_order_release);
	*segment_out = segment;
	return 0;

fail_unmap:
	munmap(base, segment.size);
fail_unlink:
	close(fd);
	shm_unlink(segment.shm_name);
	return error;
}

#define EXPECT_FIELD(field, expected)                                                              \
	do {                                                                                       \
		if ((uint64_t)(header->field) != (uint64_t)(expected))                             \
			return agp__error(                                                         \
			    -EPROTO, "segment %s: header field %s is %llu, expected %llu",         \
			    segment->shm_name, #field, (unsigned long long)(header->field),        \
			    (unsigned long long)(expected));                                       \
	} while (0)

/* Checks every header field against what this build computes for the header's own layout. */
static int validate_header(struct agp_segment *segment, size_t mapped_size)
{
	const struct agp_shm_header *header = segment->base;
	/* The version first: the other fields of another major may mean something else. */
	if (header->abi_major != AGP_SHM_ABI_MAJOR)
		return agp__error(
		    -EPROTO,
		    "segment %s has ABI version %u.%u, this build reads only %u.x (%s): run agents "
		    "and collector of one major version, or remove the segment once no process "
		    "uses it",
		    segment->shm_name, header->abi_major, header->abi_minor, AGP_SHM_ABI_MAJOR,
		    header->abi_major > AGP_SHM_ABI_MAJOR ? "the segment is newer"
		                                          : "the segment is older");
	/*
	 * Any abi_minor of our major is accepted, older or newer: minors only
	 * give meaning to reserved bytes, which we neither read nor check.
	 */
	EXPECT_FIELD(endian_check, AGP_SHM_ENDIAN_CHECK);
	EXPECT_FIELD(header_size, sizeof(struct agp_shm_header));
	EXPECT_FIELD(slot_size, sizeof(struct agp_slot));
	EXPECT_FIELD(record_size, sizeof(struct agp_record));
	EXPECT_FIELD(registry_entry_size, sizeof(struct agp_metric_entry));
	EXPECT_FIELD(registry_capacity, AGP_REGISTRY_CAPACITY);

	struct agp_segment_layout layout = {header->slot_count, header->ring_capacity, (gid_t)-1};
	/* A geometry this build refuses to create is another layout, not a bad argument: -EPROTO.
	 */
	if (check_layout(&layout) != 0)
		return agp__error(-EPROTO, "segment %s: header %s", segment->shm_name,
		                  agp__error_message());
	struct agp_segment expected = {0};
	compute_geometry(&layout, &expected);
	EXPECT_FIELD(slot_stride, expected.slot_stride);
	EXPECT_FIELD(slots_offset, expected.slots_offset);
	EXPECT_FIELD(registry_offset, expected.registry_offset);
	EXPECT_FIELD(total_size, expected.size);
	if (expected.size > mapped_size)
		return agp__error(-EPROTO, "segment %s: object is %zu bytes, header says %llu",
		                  segment->shm_name, mapped_size,
		                  (unsigned long long)expected.size);
	if (memchr(header->deployment, 0, sizeof(header->deployment)) == NULL ||
	    strcmp(header->deployment, segment->deployment) != 0)
		return agp__error(-EPROTO,
		                  "segment %s: header field deployment is '%.64s', expected '%s'",
		                  segment->shm_name, header->deployment, segment->deployment);

	segment->slot_count = expected.slot_count;
	segment->ring_capacity = expected.ring_capacity;
	segment->registry_capacity = expected.registry_capacity;
	segment->slot_stride = expected.slot_stride;
	segment->slots_offset = expected.slots_offset;
	segment->registry_offset = expected.registry_offset;
	int error = agp_clock_attach(header, segment->shm_name, &segment->clock);
	if (error)
		return error;
	return 0;
}

/* The owner and mode a collector adopts (see agp_segment_adopt); NULL: anyone's. */
struct expected_owner {
	uid_t uid;
	gid_t group;
};

static int check_owner(const struct agp_segment *segment, int fd,
                       const struct expected_owner *owner)
{
	struct stat st;
	if (fstat(fd, &st) != 0)
		return agp__error(-errno, "fstat(%s): %s", segment->shm_name, strerror(errno));
	mode_t mode = st.st_mode & 07777;
	bool owner_only = mode == 0600;
	bool with_group = owner->group != (gid_t)-1 && mode == 0660 && st.st_gid == owner->group;
	if (st.st_uid == owner->uid && (owner_only || with_group))
		return 0;
	char group_part[64] = "";
	if (owner->group != (gid_t)-1)
		snprintf(group_part, sizeof(group_part), ", or 0660 with group %u",
		         (unsigned)owner->group);
	return agp__error(-EPERM,
	                  "segment /dev/shm%s belongs to uid %u (gid %u) with mode %04o; it is "
	                  "adopted only from uid %u with mode 0600%s. Another user may have made "
	                  "it to read or forge this deployment's samples: find out who, then "
	                  "remove it",
	                  segment->shm_name, (unsigned)st.st_uid, (unsigned)st.st_gid,
	                  (unsigned)mode, (unsigned)owner->uid, group_part);
}

/*
 * Maps the object once its creator has sized it and stored the magic. A
 * creator may be between shm_open and posix_fallocate (size 0) or before its
 * magic store (magic 0): wait up to 2 s for it. Any other size below the
 * header's is a truncated object, refused at once. On success *base and
 * *mapped_size hold the mapping (the caller unmaps it on a later failure);
 * on failure nothing stays mapped.
 */
static int map_initialised(const struct agp_segment *segment, int fd, void **base_out,
                           size_t *mapped_size_out)
{
	struct stat st;
	uint64_t magic = 0;
	void *base = MAP_FAILED;
	size_t mapped_size = 0;
	int error = 0;
	for (int attempt = 0; attempt < 200; attempt++) {
		if (fstat(fd, &st) != 0) {
			error =
			    agp__error(-errno, "fstat(%s): %s", segment->shm_name, strerror(errno));
			goto fail;
		}
		if (st.st_size > 0 && (size_t)st.st_size < sizeof(struct agp_shm_header)) {
			error = agp__error(-EPROTO,
			                   "segment %s: object is %lld bytes, shorter than the "
			                   "%zu-byte header",
			                   segment->shm_name, (long long)st.st_size,
			                   sizeof(struct agp_shm_header));
			goto fail;
		}
		if (st.st_size > 0) {
			if (base != MAP_FAILED && mapped_size != (size_t)st.st_size) {
				munmap(base, mapped_size); /* it changed size: map it anew */
				base = MAP_FAILED;
			}
			if (base == MAP_FAILED) {
				base = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE,
				            MAP_SHARED, fd, 0);
				if (base == MAP_FAILED)
					return agp__error(-errno, "mapping %s: %s",
					                  segment->shm_name, strerror(errno));
				mapped_size = (size_t)st.st_size;
			}
			/* Acquire pairs with the creator's release store of the magic. */
			magic = atomic_load_explicit(&((struct agp_shm_header *)base)->magic,
			                             memory_order_acquire);
			if (magic != 0)
				break;
		}
		struct timespec pause = {0, 10 * 1000 * 1000};
		nanosleep(&pause, NULL);
	}
	if (magic != AGP_SHM_MAGIC) {
		error = agp__error(
		    -EPROTO, "segment %s: header field magic is 0x%016llx, expected 0x%016llx%s",
		    segment->shm_name, (unsigned long long)magic, (unsigned long long)AGP_SHM_MAGIC,
		    magic == 0 ? " (never initialised)" : "");
		goto fail;
	}
	*base_out = base;
	*mapped_size_out = mapped_size;
	return 0;

fail:
	if (base != MAP_FAILED)
		munmap(base, mapped_size);
	return error;
}

static int attach(const char *deployment, const struct expected_owner *owner,
                  struct agp_segment *segment_out)
{
	struct agp_segment segment = {0};
	int error = name_segment(&segment, deployment);
	if (error)
		return error;

	int fd = shm_open(segment.shm_name, O_RDWR, 0);
	if (fd < 0) {
		error = -errno;
		return error == -ENOENT ? error
		                        : agp__error(error, "shm_open(%s): %s", segment.shm_name,
		                                     strerror(errno));
	}
	error = check_close_on_exec(&segment, fd);
	if (!error && owner)
		error = check_owner(&segment, fd, owner);
	if (!error)
		error = map_initialised(&segment, fd, &segment.base, &segment.size);
	if (error)
		goto fail_close;
	error = validate_header(&segment, segment.size);
	if (error)
		goto fail_unmap;
	segment.fd = fd;
	*segment_out = segment;
	return 0;

fail_unmap:
	munmap(segment.base, segment.size);
fail_close:
	close(fd);
	return error;
}

int agp_segment_attach(const char *deployment, struct agp_segment *segment_out)
{
	return attach(deployment, NULL, segment_out);
}

int agp_segment_adopt(const char *deployment, uid_t uid, gid_t group,
                      struct agp_segment *segment_out)
{
	struct expected_owner owner = {uid, group};
	return attach(deployment, &owner, segment_out);
}

int agp_segment_open(const char *deployment, const struct agp_segment_layout *layout,
                     struct agp_segment *segment_out)
{
	for (int attempt = 0; attempt < 3; attempt++) {
		int error = agp_segment_attach(deployment, segment_out);
		if (error != -ENOENT)
			return error;
		error = agp_segment_create(deployment, layout, segment_out);
		if (error != -EEXIST)
			return error;
		/* Another process created it between our two calls: attach to theirs. */
	}
	return agp__error(-EAGAIN, "segment for deployment '%s' kept appearing and vanishing",
	                  deployment ? deployment : "(default)");
}

void agp_segment_detach(struct agp_segment *segment)
{
	if (!segment->base)
		return;
	agp_clock_freeze(&segment->clock);
	munmap(segment->base, segment->size);
	close(segment->fd);
	segment->base = NULL;
	segment->fd = -1;
}

int agp_segment_unlink(const char *deployment)
{
	struct agp_segment segment = {0};
	int error = name_segment(&segment, deployment);
	if (error)
		return error;
	if (shm_unlink(segment.shm_name) != 0)
		return agp__error(-errno, "shm_unlink(%s): %s", segment.shm_name, strerror(errno));
	return 0;
}
