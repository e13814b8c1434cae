/*
 * The metric registry: processes registering the same names at the same
 * moment get the same ids; mismatched units, a full registry, built-in and
 * malformed names are refused with a message.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include <agentperf/agentperf.h>

#include "common/error.h"
#include "shm/registry.h"
#include "shm/segment.h"
#include "tests/support/test_util.h"

#define PROCESSES 4
#define NAMES     50

struct shared_results {
	_Atomic int ready; /* the barrier: processes that are open and waiting */
	uint16_t ids[PROCESSES][NAMES];
};

static void register_all(const char *deployment, int process, struct shared_results *results)
{
	struct agp_agent_options options = {.deployment = deployment};
	agp_agent *agent;
	char name[32];
	snprintf(name, sizeof(name), "registrar-%d", process);
	if (agp_agent_open(name, "registry", &options, &agent) != 0)
		_exit(2);
	/* Relaxed is enough for a start line: no data is handed over through it. */
	atomic_fetch_add_explicit(&results->ready, 1, memory_order_relaxed);
	while (atomic_load_explicit(&results->ready, memory_order_relaxed) < PROCESSES)
		sched_yield();
	/* Half the processes go forwards, half backwards, so they collide in both orders. */
	for (int n = 0; n < NAMES; n++) {
		int i = process % 2 ? NAMES - 1 - n : n;
		char metric[32];
		snprintf(metric, sizeof(metric), "custom_metric_%d", i);
		if (agp_metric_register(agent, metric, AGP_UNIT_NANOSECONDS, 0,
		                        &results->ids[process][i]) != 0) {
			fprintf(stderr, "%s: %s\n", metric, agp_last_error());
			_exit(3);
		}
	}
	agp_agent_close(agent);
	_exit(0);
}

static void test_concurrent_registration_agrees(void **state)
{
	char deployment[64];
	agp_test_name(deployment, sizeof(deployment), "registry");
	agp_segment_unlink(deployment);
	struct agp_segment segment;
	struct agp_segment_layout layout = {8, 64, (gid_t)-1};
	assert_int_equal(agp_segment_create(deployment, &layout, &segment), 0);

	struct shared_results *results =
	    mmap(NULL, sizeof(*results), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	assert_true(results != MAP_FAILED);
	memset(results, 0, sizeof(*results));
	for (int p = 0; p < PROCESSES; p++) {
		pid_t pid = fork();
		assert_true(pid >= 0);
		if (pid == 0)
			register_all(deployment, p, results);
	}
	for (int p = 0; p < PROCESSES; p++) {
		int status;
		assert_true(wait(&status) > 0);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
	}

	uint64_t seen[AGP_REGISTRY_CAPACITY / 64] = {0};
	for (int i = 0; i < NAMES; i++) {
		uint16_t id = results->ids[0][i];
		for (int p = 1; p < PROCESSES; p++)
			if (results->ids[p][i] != id)
				fail_msg("custom_metric_%d: process 0 got id %u, process %d got %u",
				         i, id, p, results->ids[p][i]);
		assert_true(id >= AGP_METRIC_FIRST_CUSTOM && id < AGP_REGISTRY_CAPACITY);
		assert_false(seen[id / 64] &
		             (1ull << (id % 64))); /* distinct names, distinct ids */
		seen[id / 64] |= 1ull << (id % 64);
		/* And the entry really holds that name. */
		struct agp_metric_info info;
		char metric[32];
		snprintf(metric, sizeof(metric), "custom_metric_%d", i);
		assert_true(agp_registry_lookup(&segment, id, &info));
		assert_string_equal(info.name, metric);
		assert_int_equal(info.unit, AGP_UNIT_NANOSECONDS);
	}
	/* Exactly NAMES custom entries exist: no name was registered twice. */
	int ready = 0;
	for (uint32_t id = AGP_METRIC_FIRST_CUSTOM; id < AGP_REGISTRY_CAPACITY; id++) {
		struct agp_metric_info info;
		ready += agp_registry_lookup(&segment, id, &info);
	}
	assert_int_equal(ready, NAMES);
	munmap(results, sizeof(*results));
	agp_segment_detach(&segment);
	agp_segment_unlink(deployment);
}

struct fixture {
	char name[64];
	struct agp_segment segment;
};

struct registrar_thread {
	struct agp_segment *segment;
	_Atomic int *ready;
	int number;
	uint16_t ids[NAMES];
	int error;
};

static void *registrar_thread_main(void *arg)
{
	struct registrar_thread *r = arg;
	/* Relaxed: a start line only, no data is handed over through it. */
	atomic_fetch_add_explicit(r->ready, 1, memory_order_relaxed);
	while (atomic_load_explicit(r->ready, memory_order_relaxed) < PROCESSES)
		sched_yield();
	for (int n = 0; n < NAMES && !r->error; n++) {
		int i = r->number % 2 ? NAMES - 1 - n : n;
		char metric[32];
		snprintf(metric, sizeof(metric), "thread_metric_%d", i);
		r->error = agp_registry_register(r->segment, metric, AGP_UNIT_BYTES, 0, &r->ids[i]);
	}
	return NULL;
}

/* The same race among threads of one process, where ThreadSanitizer can watch the protocol. */
static void test_concurrent_registration_threads(void **state)
{
	struct fixture *f = *state;
	struct registrar_thread threads[PROCESSES] = {0};
	pthread_t handles[PROCESSES];
	_Atomic int ready = 0;
	for (int t = 0; t < PROCESSES; t++) {
		threads[t] = (struct registrar_thread){&f->segment, &ready, t, {0}, 0};
		assert_int_equal(
		    pthread_create(&handles[t], NULL, registrar_thread_main, &threads[t]), 0);
	}
	for (int t = 0; t < PROCESSES; t++) {
		pthread_join(handles[t], NULL);
		assert_int_equal(threads[t].error, 0);
	}
	for (int i = 0; i < NAMES; i++)
		for (int t = 1; t < PROCESSES; t++)
			assert_int_equal(threads[t].ids[i], threads[0].ids[i]);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	agp_test_name(f->name, sizeof(f->name), "registry-unit");
	agp_segment_unlink(f->name);
	struct agp_segment_layout layout = {1, 64, (gid_t)-1};
	if (agp_segment_create(f->name, &layout, &f->segment) != 0)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	agp_segment_detach(&f->segment);
	agp_segment_unlink(f->name);
	free(f);
	return 0;
}

static void test_builtins_are_preregistered(void **state)
{
	struct fixture *f = *state;
	for (unsigned id = 0; id < AGP_METRIC_FIRST_CUSTOM; id++) {
		struct agp_metric_info info;
		assert_true(agp_registry_lookup(&f->segment, id, &info));
		assert_string_equal(info.name, agp_builtin_metric_name(id));
		assert_int_equal(info.unit, agp_builtin_metric_unit(id));
	}
	uint16_t id;
	assert_int_equal(agp_registry_find(&f->segment, "coordination_overhead", &id), 0);
	assert_int_equal(id, AGP_METRIC_COORDINATION_OVERHEAD);
	assert_int_equal(agp_registry_find(&f->segment, "error_recovery_time", &id), 0);
	assert_int_equal(id, AGP_METRIC_ERROR_RECOVERY_TIME);
	assert_int_equal(agp_registry_find(&f->segment, "nope", &id), -ENOENT);
}

static void test_builtin_names_are_refused(void **state)
{
	struct fixture *f = *state;
	uint16_t id = 4242;
	assert_int_equal(agp_registry_register(&f->segment, "memory_usage", AGP_UNIT_BYTES, 0, &id),
	                 -EINVAL);
	assert_message_contains(agp__error_message(), "memory_usage");
	assert_message_contains(agp__error_message(), "built-in");
	assert_int_equal(id, 4242);
}

static void test_idempotent_and_unit_mismatch(void **state)
{
	struct fixture *f = *state;
	uint16_t first, second, other = 4242;
	assert_int_equal(
	    agp_registry_register(&f->segment, "queue_depth", AGP_UNIT_COUNT, 0, &first), 0);
	assert_int_equal(
	    agp_registry_register(&f->segment, "queue_depth", AGP_UNIT_COUNT, 0, &second), 0);
	assert_int_equal(first, second);
	assert_int_equal(
	    agp_registry_register(&f->segment, "queue_depth", AGP_UNIT_BYTES, 0, &other), -EINVAL);
	assert_message_contains(agp__error_message(), "queue_depth");
	assert_message_contains(agp__error_message(), "count");
	assert_message_contains(agp__error_message(), "bytes");
	assert_int_equal(other, 4242);
}

static void test_malformed_names_and_units(void **state)
{
	struct fixture *f = *state;
	uint16_t id;
	const char *bad[] = {
	    "",          "1starts_with_digit", "has-dash",
	    "has space", "dotted.name",        "x123456789012345678901234567890123456789012345678"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(agp_registry_register(&f->segment, bad[i], AGP_UNIT_COUNT, 0, &id),
		                 -EINVAL);
		assert_message_contains(agp__error_message(), "not valid");
	}
	assert_int_equal(agp_registry_register(&f->segment, NULL, AGP_UNIT_COUNT, 0, &id), -EINVAL);
	assert_int_equal(agp_registry_register(&f->segment, "ok_name", (enum agp_unit)3, 0, &id),
	                 -EINVAL);
	assert_message_contains(agp__error_message(), "unit 3");
	/* The longest legal name fits exactly. */
	char longest[AGP_METRIC_NAME_MAX + 1];
	memset(longest, 'n', AGP_METRIC_NAME_MAX);
	longest[AGP_METRIC_NAME_MAX] = '\0';
	assert_int_equal(agp_registry_register(&f->segment, longest, AGP_UNIT_COUNT, 0, &id), 0);
	struct agp_metric_info info;
	assert_true(agp_registry_lookup(&f->segment, id, &info));
	assert_string_equal(info.name, longest);
}

static void test_full_registry(void **state)
{
	struct fixture *f = *state;
	uint32_t custom = AGP_REGISTRY_CAPACITY - AGP_METRIC_FIRST_CUSTOM;
	char name[32];
	uint16_t id;
	for (uint32_t i = 0; i < custom; i++) {
		snprintf(name, sizeof(name), "fill_%u", i);
		if (agp_registry_register(&f->segment, name, AGP_UNIT_COUNT, 0, &id) != 0)
			fail_msg("%s: %s", name, agp__error_message());
	}
	id = 4242;
	assert_int_equal(agp_registry_register(&f->segment, "one_too_many", AGP_UNIT_COUNT, 0, &id),
	                 -ENOSPC);
	assert_message_contains(agp__error_message(), "one_too_many");
	assert_message_contains(agp__error_message(), "full");
	assert_int_equal(id, 4242);
	/* A name already there is still found in a full registry. */
	assert_int_equal(agp_registry_register(&f->segment, "fill_17", AGP_UNIT_COUNT, 0, &id), 0);
	uint16_t found;
	assert_int_equal(agp_registry_find(&f->segment, "fill_17", &found), 0);
	assert_int_equal(id, found);
}

/* Through the public API, an agent that is not open is refused. */
static void test_register_without_agent(void **state)
{
	uint16_t id = 4242;
	assert_int_equal(agp_metric_register(NULL, "m", AGP_UNIT_COUNT, 0, &id), -ENOTCONN);
	assert_message_contains(agp_last_error(), "'m'");
	assert_int_equal(id, 4242);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_concurrent_registration_agrees),
	    cmocka_unit_test_setup_teardown(test_concurrent_registration_threads, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_builtins_are_preregistered, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_builtin_names_are_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_idempotent_and_unit_mismatch, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_malformed_names_and_units, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_full_registry, setup, teardown),
	    cmocka_unit_test(test_register_without_agent),
	};
	return cmocka_run_group_tests(tests, NULL, agp_test_cleanup);
}
