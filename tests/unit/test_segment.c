/*
 * The shared segment: create/attach/detach/unlink, deployment names, and
 * attach refusals on real segments whose header bytes were edited.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "common/error.h"
#include "shm/registry.h"
#include "shm/segment.h"
#include "shm/slot.h"
#include "tests/support/test_util.h"

static const struct agp_segment_layout small_layout = {4, 64, (gid_t)-1};

static void test_create_attach_detach_unlink(void **state)
{
	char name[64];
	agp_test_name(name, sizeof(name), "life");
	struct agp_segment created, attached;
	assert_int_equal(agp_segment_create(name, &small_layout, &created), 0);

	/* Owner-only unless a group was asked for. */
	char shm_path[128];
	snprintf(shm_path, sizeof(shm_path), "/dev/shm/agentperf.%s", name);
	struct stat st;
	assert_int_equal(stat(shm_path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal((uint64_t)st.st_size, created.size);

	struct agp_segment again;
	assert_int_equal(agp_segment_create(name, &small_layout, &again), -EEXIST);

	assert_int_equal(agp_segment_attach(name, &attached), 0);
	assert_int_equal(attached.slot_count, 4);
	assert_int_equal(attached.ring_capacity, 64);
	assert_int_equal(attached.size, created.size);
	assert_int_equal(attached.slot_stride, created.slot_stride);
	assert_int_equal(attached.clock.use_tsc, created.clock.use_tsc);
	/* Both read the one conversion in the header, not copies of it. */
	assert_ptr_equal(attached.clock.published, &agp_segment_header(&attached)->clock_published);
	assert_int_equal(agp_clock_published_line(attached.clock.published).mult,
	                 agp_clock_published_line(created.clock.published).mult);
	assert_string_equal(attached.deployment, name);

	/* Both mappings see the same memory, and the built-in metrics are there. */
	uint32_t index;
	assert_int_equal(agp_slot_claim(&created, "seg", "test", &index), 0);
	struct agp_slot *seen = agp_segment_slot(&attached, index);
	assert_int_equal(atomic_load(&seen->state), AGP_SLOT_LIVE);
	assert_int_equal(seen->pid, getpid());
	assert_string_equal(seen->name, "seg");
	uint16_t id;
	assert_int_equal(agp_registry_find(&attached, "memory_usage", &id), 0);
	assert_int_equal(id, AGP_METRIC_MEMORY_USAGE);

	agp_segment_detach(&attached);
	assert_null(attached.base);
	agp_segment_detach(&attached); /* twice is harmless */
	agp_segment_detach(&created);
	assert_int_equal(agp_segment_unlink(name), 0);
	assert_int_equal(agp_segment_attach(name, &attached), -ENOENT);
	assert_int_equal(agp_segment_unlink(name), -ENOENT);
	assert_message_contains(agp__error_message(), name);
}

static void test_group_readable_segment(void **state)
{
	char name[64], shm_path[128];
	agp_test_name(name, sizeof(name), "group");
	struct agp_segment_layout layout = {1, 64, getgid()};
	struct agp_segment segment;
	assert_int_equal(agp_segment_create(name, &layout, &segment), 0);
	snprintf(shm_path, sizeof(shm_path), "/dev/shm/agentperf.%s", name);
	struct stat st;
	assert_int_equal(stat(shm_path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0660);
	assert_int_equal(st.st_gid, getgid());
	agp_segment_detach(&segment);
	agp_segment_unlink(name);
}

static void test_open_creates_or_attaches(void **state)
{
	char name[64];
	agp_test_name(name, sizeof(name), "open");
	struct agp_segment first, second;
	assert_int_equal(agp_segment_open(name, &small_layout, &first), 0);
	/* The second open attaches: the existing layout wins over the one asked for. */
	struct agp_segment_layout other = {8, 128, (gid_t)-1};
	assert_int_equal(agp_segment_open(name, &other, &second), 0);
	assert_int_equal(second.slot_count, 4);
	assert_int_equal(second.ring_capacity, 64);
	agp_segment_detach(&first);
	agp_segment_detach(&second);
	agp_segment_unlink(name);
}

static void test_bad_layouts(void **state)
{
	char name[64];
	agp_test_name(name, sizeof(name), "layout");
	struct agp_segment segment;
	struct agp_segment_layout layout = {0, 64, (gid_t)-1};
	assert_int_equal(agp_segment_create(name, &layout, &segment), -EINVAL);
	assert_message_contains(agp__error_message(), "slot count 0");
	layout = (struct agp_segment_layout){4, 100, (gid_t)-1};
	assert_int_equal(agp_segment_create(name, &layout, &segment), -EINVAL);
	assert_message_contains(agp__error_message(), "ring capacity 100");
	layout = (struct agp_segment_layout){4, 32, (gid_t)-1};
	assert_int_equal(agp_segment_create(name, &layout, &segment), -EINVAL);
	assert_int_equal(agp_segment_attach(name, &segment), -ENOENT);
}

static void test_deployment_names(void **state)
{
	char out[AGP_DEPLOYMENT_NAME_MAX + 1];
	unsetenv("AGENTPERF_NAME");
	assert_int_equal(agp_deployment_resolve(NULL, out), 0);
	assert_string_equal(out, "default");
	strcpy(out, "untouched");
	assert_int_equal(agp_deployment_resolve("", out), -EINVAL); /* empty is not "default" */
	assert_message_contains(agp__error_message(), "deployment name is empty");
	assert_string_equal(out, "untouched");
	assert_int_equal(agp_deployment_resolve("prod-1.eu_west", out), 0);
	assert_string_equal(out, "prod-1.eu_west");

	strcpy(out, "untouched");
	assert_int_equal(agp_deployment_resolve("a/b", out), -EINVAL);
	assert_message_contains(agp__error_message(), "'a/b'");
	assert_message_contains(agp__error_message(), "'/'");
	assert_string_equal(out, "untouched");
	assert_int_equal(agp_deployment_resolve(".hidden", out), -EINVAL);
	assert_int_equal(agp_deployment_resolve("with space", out), -EINVAL);

	char longest[AGP_DEPLOYMENT_NAME_MAX + 2];
	memset(longest, 'x', sizeof(longest) - 1);
	longest[AGP_DEPLOYMENT_NAME_MAX] = '\0';
	assert_int_equal(agp_deployment_resolve(longest, out), 0);
	longest[AGP_DEPLOYMENT_NAME_MAX] = 'x';
	longest[AGP_DEPLOYMENT_NAME_MAX + 1] = '\0';
	assert_int_equal(agp_deployment_resolve(longest, out), -EINVAL);
	assert_message_contains(agp__error_message(), "65 characters");

	setenv("AGENTPERF_NAME", "from-env", 1);
	assert_int_equal(agp_deployment_resolve(NULL, out), 0);
	assert_string_equal(out, "from-env");
	assert_int_equal(agp_deployment_resolve("explicit", out), 0); /* an explicit name wins */
	assert_string_equal(out, "explicit");
	setenv("AGENTPERF_NAME", "bad/env", 1);
	assert_int_equal(agp_deployment_resolve(NULL, out), -EINVAL);
	assert_message_contains(agp__error_message(), "AGENTPERF_NAME");
	setenv("AGENTPERF_NAME", "", 1);
	assert_int_equal(agp_deployment_resolve(NULL, out), -EINVAL);
	assert_message_contains(agp__error_message(), "AGENTPERF_NAME is set but empty");
	assert_int_equal(agp_deployment_resolve("explicit", out), 0); /* a name given still wins */
	unsetenv("AGENTPERF_NAME");

	/* Every entry point refuses a bad name the same way. */
	struct agp_segment segment;
	assert_int_equal(agp_segment_create("x/y", &small_layout, &segment), -EINVAL);
	assert_int_equal(agp_segment_attach("x/y", &segment), -EINVAL);
	assert_int_equal(agp_segment_unlink("x/y"), -EINVAL);
}

/*
 * Attach refusals. A real segment is made, one header field is edited
 * through a second mapping, and attach must refuse with a message that
 * names the field and both values.
 */
struct refusal {
	char name[64];
	struct agp_segment segment;
	struct agp_shm_header *header;
};

static int refusal_setup(void **state)
{
	struct refusal *r = calloc(1, sizeof(*r));
	agp_test_name(r->name, sizeof(r->name), "refuse");
	agp_segment_unlink(r->name);
	if (agp_segment_create(r->name, &small_layout, &r->segment) != 0)
		return -1;
	r->header = agp_segment_header(&r->segment);
	*state = r;
	return 0;
}

static int refusal_teardown(void **state)
{
	struct refusal *r = *state;
	agp_segment_detach(&r->segment);
	agp_segment_unlink(r->name);
	free(r);
	return 0;
}

static void expect_refusal(struct refusal *r, const char *field, const char *found,
                           const char *expected)
{
	struct agp_segment attached;
	memset(&attached, 0xab, sizeof(attached));
	int error = agp_segment_attach(r->name, &attached);
	assert_int_equal(error, -EPROTO);
	const char *message = agp__error_message();
	assert_message_contains(message, field);
	assert_message_contains(message, found);
	assert_message_contains(message, expected);
	assert_message_contains(message, r->name);
	/* Out-parameter untouched on failure. */
	assert_int_equal(attached.slot_count, 0xabababab);
}

static void test_refuse_bad_magic(void **state)
{
	struct refusal *r = *state;
	atomic_store(&r->header->magic, 0x1122334455667788ull);
	expect_refusal(r, "magic", "0x1122334455667788", "0x3130465245504741");
}

/* Another major is refused whichever way it differs, and the message gives both versions. */
static void test_refuse_abi_major(void **state)
{
	struct refusal *r = *state;
	char found[64], ours[64];
	snprintf(ours, sizeof(ours), "reads only %u.x", AGP_SHM_ABI_MAJOR);
	r->header->abi_major = AGP_SHM_ABI_MAJOR + 1;
	r->header->abi_minor = 3;
	snprintf(found, sizeof(found), "ABI version %u.3", AGP_SHM_ABI_MAJOR + 1);
	expect_refusal(r, found, ours, "the segment is newer");
	r->header->abi_major = AGP_SHM_ABI_MAJOR - 1;
	snprintf(found, sizeof(found), "ABI version %u.3", AGP_SHM_ABI_MAJOR - 1);
	expect_refusal(r, found, ours, "the segment is older");
}

/*
 * A newer minor of our major attaches: what it added lives in reserved
 * bytes, which this reader ignores in the header, and which a claim and a
 * registration of ours leave zero (absent) in the slot and the entry.
 */
static void test_accept_newer_abi_minor(void **state)
{
	struct refusal *r = *state;
	r->header->abi_minor = AGP_SHM_ABI_MINOR + 9;
	memset(r->header->reserved, 0x5a, sizeof(r->header->reserved));
	struct agp_slot *slot = agp_segment_slot(&r->segment, 0);
	memset(slot->reserved_cold, 0x5a, sizeof(slot->reserved_cold));
	memset(slot->reserved_producer, 0x5a, sizeof(slot->reserved_producer));
	struct agp_metric_entry *entry = agp_segment_metric(&r->segment, 3);
	memset(entry->reserved, 0x5a, sizeof(entry->reserved));

	struct agp_segment attached;
	assert_int_equal(agp_segment_attach(r->name, &attached), 0);
	assert_int_equal(attached.slot_count, small_layout.slot_count);
	struct agp_metric_info info;
	assert_true(agp_registry_lookup(&attached, 3, &info)); /* a built-in with added fields */
	assert_string_equal(info.name, agp_builtin_metric_name(3));
	uint32_t index;
	assert_int_equal(agp_slot_claim(&attached, "newer", "test", &index), 0);
	assert_int_equal(index, 0);
	uint8_t zero[64] = {0}; /* the largest reserved run below */
	assert_memory_equal(slot->reserved_cold, zero, sizeof(slot->reserved_cold));
	assert_memory_equal(slot->reserved_producer, zero, sizeof(slot->reserved_producer));
	uint16_t id;
	assert_int_equal(agp_registry_register(&attached, "added", AGP_UNIT_COUNT, 0, &id), 0);
	entry = agp_segment_metric(&attached, id);
	assert_memory_equal(entry->reserved, zero, sizeof(entry->reserved));
	agp_slot_close(&attached, index);
	agp_segment_detach(&attached);
}

/* Within a major the sizes are fixed: a header of another size is another layout. */
static void test_refuse_slot_size(void **state)
{
	struct refusal *r = *state;
	char expected[64];
	snprintf(expected, sizeof(expected), "expected %u", AGP_SHM_SLOT_SIZE);
	r->header->slot_size = AGP_SHM_SLOT_SIZE + 64;
	expect_refusal(r, "slot_size", "is 320", expected);
}

static void test_refuse_endianness(void **state)
{
	struct refusal *r = *state;
	r->header->endian_check = 0x04030201u;
	expect_refusal(r, "endian_check", "is 67305985", "expected 16909060");
}

static void test_refuse_record_size(void **state)
{
	struct refusal *r = *state;
	r->header->record_size = 48;
	expect_refusal(r, "record_size", "is 48", "expected 32");
}

static void test_refuse_total_size(void **state)
{
	struct refusal *r = *state;
	char found[64], expected[64];
	uint64_t real = r->header->total_size;
	r->header->total_size = real + 4096;
	snprintf(found, sizeof(found), "is %llu", (unsigned long long)(real + 4096));
	snprintf(expected, sizeof(expected), "expected %llu", (unsigned long long)real);
	expect_refusal(r, "total_size", found, expected);
}

static void test_refuse_ring_capacity(void **state)
{
	struct refusal *r = *state;
	r->header->ring_capacity = 100;
	expect_refusal(r, "ring capacity", "100", "power of two");
}

static void test_refuse_slot_stride(void **state)
{
	struct refusal *r = *state;
	char expected[64];
	snprintf(expected, sizeof(expected), "expected %llu",
	         (unsigned long long)r->segment.slot_stride);
	r->header->slot_stride = 12345;
	expect_refusal(r, "slot_stride", "is 12345", expected);
}

static void test_refuse_deployment(void **state)
{
	struct refusal *r = *state;
	r->header->deployment[0] = 'X';
	expect_refusal(r, "deployment", "'X", r->name);
}

static void test_refuse_clock(void **state)
{
	struct refusal *r = *state;
	r->header->clock.use_tsc = 5;
	expect_refusal(r, "clock", "use_tsc", "5");
}

static void truncate_object(struct refusal *r, off_t size)
{
	char shm_name[128];
	snprintf(shm_name, sizeof(shm_name), "/agentperf.%s", r->name);
	int fd = shm_open(shm_name, O_RDWR, 0);
	assert_true(fd >= 0);
	/* The creator's mapping must not be touched past the new end: it would SIGBUS. */
	assert_int_equal(ftruncate(fd, size), 0);
	close(fd);
}

static void test_refuse_truncated_object(void **state)
{
	struct refusal *r = *state;
	char found[64], expected[64];
	off_t size = (off_t)(r->segment.size / 2);
	truncate_object(r, size);
	snprintf(found, sizeof(found), "is %lld bytes", (long long)size);
	snprintf(expected, sizeof(expected), "says %llu", (unsigned long long)r->segment.size);
	expect_refusal(r, "object", found, expected);
}

static void test_refuse_object_shorter_than_header(void **state)
{
	struct refusal *r = *state;
	truncate_object(r, 100);
	expect_refusal(r, "object", "is 100 bytes", "header");
}

int main(void)
{
#define REFUSAL(test) cmocka_unit_test_setup_teardown(test, refusal_setup, refusal_teardown)
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_create_attach_detach_unlink),
	    cmocka_unit_test(test_group_readable_segment),
	    cmocka_unit_test(test_open_creates_or_attaches),
	    cmocka_unit_test(test_bad_layouts),
	    cmocka_unit_test(test_deployment_names),
	    REFUSAL(test_refuse_bad_magic),
	    REFUSAL(test_refuse_abi_major),
	    REFUSAL(test_accept_newer_abi_minor),
	    REFUSAL(test_refuse_slot_size),
	    REFUSAL(test_refuse_endianness),
	    REFUSAL(test_refuse_record_size),
	    REFUSAL(test_refuse_total_size),
	    REFUSAL(test_refuse_ring_capacity),
	    REFUSAL(test_refuse_slot_stride),
	    REFUSAL(test_refuse_deployment),
	    REFUSAL(test_refuse_clock),
	    REFUSAL(test_refuse_truncated_object),
	    REFUSAL(test_refuse_object_shorter_than_header),
	};
	return cmocka_run_group_tests(tests, NULL, agp_test_cleanup);
}
