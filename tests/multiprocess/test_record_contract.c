/*
 * agp_record's contract under threads, fork and signals (include/agentperf/agent.h), checked
 * against the shared slots themselves (the test attaches the segment and reads each slot's
 * published tail, and drains and validates the rings) and against what each producer counted
 * on its own:
 *
 *  1. Eight threads record through agp_thread_agent(), each a different number of samples:
 *     each thread gets its own slot, whose tail is exactly that thread's own count of samples
 *     the ring took, and the slot is closed once the thread has exited.
 *  2. A forked child records through the handles its parent had open (its plain agent and its
 *     main thread's agp_thread_agent): every sample is refused, and the parent's slots get
 *     none of them; the child's agp_thread_agent() opens the child's own slot, which gets
 *     exactly the child's samples. The child reports over a pipe.
 *  3. A signal handler records in a tight loop (SIGUSR1 sent flat out by a second thread) while
 *     the main thread records on the same handle: every sample the handler tried is either in
 *     the ring or refused by the nesting guard, and the ring holds exactly the main thread's
 *     samples in order plus the handler's accepted ones, none invalid. Run under ASan and TSan.
 * Each test uses its own deployment (the pid in the name).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <agentperf/agentperf.h>

#include "shm/ring_consumer.h"
#include "shm/segment.h"
#include "tests/support/test_util.h"

#define METRIC AGP_METRIC_TASK_EXECUTION_TIME

/* The slot whose occupant is called name, or NULL. */
static struct agp_slot *slot_named(const struct agp_segment *segment, const char *name,
                                   uint32_t *index_out)
{
	for (uint32_t i = 0; i < segment->slot_count; i++) {
		struct agp_slot *slot = agp_segment_slot(segment, i);
		uint32_t state = atomic_load(&slot->state);
		if ((state == AGP_SLOT_LIVE || state == AGP_SLOT_CLOSED) &&
		    strcmp(slot->name, name) == 0) {
			if (index_out)
				*index_out = i;
			return slot;
		}
	}
	return NULL;
}

/* 1. Threads ----------------------------------------------------------------------------- */

#define THREADS 8

struct thread_run {
	const char *deployment;
	long tid;
	uint64_t taken; /* the thread's own count of samples the ring took */
	int count;
};

static void *recording_thread(void *argument)
{
	struct thread_run *run = argument;
	struct agp_agent_options options = {run->deployment};
	run->tid = (long)syscall(SYS_gettid);
	for (int i = 1; i <= run->count; i++)
		run->taken += agp_record(agp_thread_agent("worker", &options), METRIC, i, 0);
	return NULL;
}

static void threads_each_get_their_own_slot(void **state)
{
	(void)state;
	char deployment[64];
	agp_test_name(deployment, sizeof(deployment), "threads");
	pthread_t threads[THREADS];
	struct thread_run runs[THREADS];
	for (int t = 0; t < THREADS; t++) {
		runs[t] = (struct thread_run){deployment, 0, 0, 500 * (t + 1)}; /* below a ring */
		assert_int_equal(pthread_create(&threads[t], NULL, recording_thread, &runs[t]), 0);
	}
	for (int t = 0; t < THREADS; t++)
		assert_int_equal(pthread_join(threads[t], NULL), 0);

	struct agp_segment segment;
	assert_int_equal(agp_segment_attach(deployment, &segment), 0);
	for (int t = 0; t < THREADS; t++) {
		char name[AGP_AGENT_NAME_MAX + 1];
		snprintf(name, sizeof(name), "worker-%ld", runs[t].tid);
		struct agp_slot *slot = slot_named(&segment, name, NULL);
		if (!slot)
			fail_msg("no slot for thread %d (%s)", t, name);
		assert_int_equal(runs[t].taken, (uint64_t)runs[t].count);
		assert_int_equal(atomic_load(&slot->tail_hot), runs[t].taken);
		assert_int_equal(atomic_load(&slot->dropped_hot), 0);
		assert_int_equal(atomic_load(&slot->state), AGP_SLOT_CLOSED); /* closed at exit */
	}
	agp_segment_detach(&segment);
}

/* 2. Fork -------------------------------------------------------------------------------- */

struct child_report {
	uint64_t taken_through_parent; /* samples the parent's handles took in the child: 0 */
	uint64_t parent_recorded;      /* agp_agent_recorded() of the parent's handle there */
	uint64_t own_taken;
	long own_tid;
	int same_thread_handle; /* agp_thread_agent returned the parent's handle */
};

static void forked_child_never_records_into_parent_slots(void **state)
{
	(void)state;
	char deployment[64];
	agp_test_name(deployment, sizeof(deployment), "fork");
	struct agp_agent_options options = {deployment};
	agp_agent *parent;
	assert_int_equal(agp_agent_open("parent", "worker", &options, &parent), 0);
	agp_agent *parent_thread = agp_thread_agent("main", &options);
	assert_non_null(parent_thread);
	for (int i = 1; i <= 100; i++)
		assert_true(agp_record(parent, METRIC, i, 0));
	for (int i = 1; i <= 7; i++)
		assert_true(agp_record(parent_thread, METRIC, i, 0));

	int report_pipe[2];
	assert_int_equal(pipe(report_pipe), 0);
	pid_t child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		struct child_report report = {0};
		for (int i = 1; i <= 1000; i++) {
			report.taken_through_parent += agp_record(parent, METRIC, i, 0);
			report.taken_through_parent += agp_record(parent_thread, METRIC, i, 0);
		}
		report.parent_recorded = agp_agent_recorded(parent);
		agp_agent *own = agp_thread_agent("main", &options);
		report.same_thread_handle = own == parent_thread;
		for (int i = 1; i <= 50; i++)
			report.own_taken += agp_record(own, METRIC, i, 0);
		report.own_tid = (long)syscall(SYS_gettid);
		ssize_t written = write(report_pipe[1], &report, sizeof(report));
		_exit(written == sizeof(report) ? 0 : 1);
	}
	close(report_pipe[1]);
	struct child_report report;
	assert_int_equal(read(report_pipe[0], &report, sizeof(report)), sizeof(report));
	close(report_pipe[0]);
	int status;
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	for (int i = 1; i <= 10; i++)
		assert_true(agp_record(parent, METRIC, i, 0)); /* the parent's handle still works */

	assert_int_equal(report.taken_through_parent, 0);
	assert_int_equal(report.parent_recorded, 100);
	assert_false(report.same_thread_handle);
	assert_int_equal(report.own_taken, 50);

	struct agp_segment segment;
	assert_int_equal(agp_segment_attach(deployment, &segment), 0);
	char name[AGP_AGENT_NAME_MAX + 1];
	struct agp_slot *parent_slot = slot_named(&segment, "parent", NULL);
	assert_non_null(parent_slot);
	assert_int_equal(atomic_load(&parent_slot->tail_hot), 110);
	assert_int_equal(atomic_load(&parent_slot->dropped_hot), 0);
	snprintf(name, sizeof(name), "main-%ld", (long)syscall(SYS_gettid));
	struct agp_slot *parent_thread_slot = slot_named(&segment, name, NULL);
	assert_non_null(parent_thread_slot);
	assert_int_equal(atomic_load(&parent_thread_slot->tail_hot), 7);
	snprintf(name, sizeof(name), "main-%ld", report.own_tid);
	struct agp_slot *child_slot = slot_named(&segment, name, NULL);
	assert_non_null(child_slot);
	assert_int_equal(atomic_load(&child_slot->tail_hot), 50);
	assert_int_equal(child_slot->pid, child);
	agp_segment_detach(&segment);
	agp_agent_close(parent);
}

/* 3. Signals ----------------------------------------------------------------------------- */

#define BURST          1000
#define TRIES_WANTED   1000
#define REFUSED_WANTED 20
#define WAIT_MAX_NS    (10ull * 1000 * 1000 * 1000)

static agp_agent *signal_agent;
/* The handler's own counts: lock-free atomics, as C11 requires of what a handler touches. */
static _Atomic uint64_t handler_tries, handler_taken;
static _Atomic bool main_done;

static void record_from_handler(int signal_number)
{
	(void)signal_number;
	/* Relaxed: only handlers on the main thread write them, and the main thread reads them. */
	uint64_t attempt = atomic_fetch_add_explicit(&handler_tries, 1, memory_order_relaxed) + 1;
	if (agp_record(signal_agent, METRIC, (int64_t)(2 * attempt), attempt))
		atomic_fetch_add_explicit(&handler_taken, 1, memory_order_relaxed);
}

static void *signal_sender(void *argument)
{
	pthread_t target = *(pthread_t *)argument;
	/* Acquire: pairs with the main thread's release once it stopped recording. */
	while (!atomic_load_explicit(&main_done, memory_order_acquire))
		pthread_kill(target, SIGUSR1);
	return NULL;
}

struct ring_check {
	struct agp_segment segment;
	struct agp_ring_consumer consumer;
	struct agp_metric_cache metrics;
	uint64_t main_seen, handler_seen;
	struct agp_record batch[1024];
};

/* Drains what the ring holds; the main thread's samples must come in order (odd values). */
static void drain_and_check(struct ring_check *check)
{
	size_t got;
	while ((got = agp_ring_drain_spsc(&check->segment, &check->metrics, &check->consumer,
	                                  UINT64_MAX, check->batch, 1024)) > 0) {
		for (size_t i = 0; i < got; i++) {
			if (check->batch[i].value % 2 == 1) {
				assert_int_equal(check->batch[i].value,
				                 (int64_t)(2 * check->main_seen + 1));
				check->main_seen++;
			} else {
				check->handler_seen++;
			}
		}
	}
}

static void signal_handler_records_during_a_record(void **state)
{
	(void)state;
	char deployment[64];
	agp_test_name(deployment, sizeof(deployment), "signal");
	setenv("AGENTPERF_SLOTS", "2", 1);
	struct agp_agent_options options = {deployment};
	assert_int_equal(agp_agent_open("signalled", "worker", &options, &signal_agent), 0);
	unsetenv("AGENTPERF_SLOTS");
	/* The test drains the ring itself, between bursts, so that it never fills. */
	struct ring_check *check = calloc(1, sizeof(*check));
	assert_int_equal(agp_segment_attach(deployment, &check->segment), 0);
	uint32_t index;
	struct agp_slot *slot = slot_named(&check->segment, "signalled", &index);
	assert_non_null(slot);
	agp_ring_consumer_init(&check->consumer, index, atomic_load(&slot->generation));

	struct sigaction action;
	memset(&action, 0, sizeof(action));
	action.sa_handler = record_from_handler;
	sigemptyset(&action.sa_mask);
	action.sa_flags = SA_RESTART;
	assert_int_equal(sigaction(SIGUSR1, &action, NULL), 0);
	pthread_t self = pthread_self(), sender;
	assert_int_equal(pthread_create(&sender, NULL, signal_sender, &self), 0);
	uint64_t main_tries = 0, main_taken = 0;
	uint64_t started = agp_clock_now_ns(NULL);
	/* Until the handler has tried and nested enough, or 10 s. */
	while (agp_clock_now_ns(NULL) - started < WAIT_MAX_NS &&
	       (atomic_load(&handler_tries) < TRIES_WANTED ||
	        agp_agent_nested_refused(signal_agent) < REFUSED_WANTED)) {
		for (int i = 0; i < BURST; i++, main_tries++)
			main_taken +=
			    agp_record(signal_agent, METRIC, (int64_t)(2 * main_tries + 1), 0);
		drain_and_check(check);
	}
	/* Release: the sender's acquire sees it; then it stops signalling. */
	atomic_store_explicit(&main_done, true, memory_order_release);
	assert_int_equal(pthread_join(sender, NULL), 0);
	signal(SIGUSR1, SIG_IGN);
	drain_and_check(check);

	uint64_t tries = atomic_load(&handler_tries), taken = atomic_load(&handler_taken);
	uint64_t refused = agp_agent_nested_refused(signal_agent);
	print_message("main: %llu samples; handler: %llu tries, %llu taken, %llu refused by the "
	              "nesting guard\n",
	              (unsigned long long)main_tries, (unsigned long long)tries,
	              (unsigned long long)taken, (unsigned long long)refused);
	/* Every try is accounted for: in the ring, or refused by the guard; nothing dropped. */
	assert_int_equal(main_taken, main_tries);
	assert_int_equal(taken + refused, tries);
	assert_int_equal(agp_agent_dropped(signal_agent), 0);
	assert_int_equal(agp_agent_recorded(signal_agent), main_taken + taken);
	assert_int_equal(atomic_load(&slot->tail_hot), main_taken + taken);
	/* The ring held exactly those, none invalid, the main thread's in order. */
	assert_int_equal(check->consumer.invalid, 0);
	assert_false(check->consumer.quarantined);
	assert_int_equal(check->main_seen, main_taken);
	assert_int_equal(check->handler_seen, taken);
	/* The case under test happened: the handler interrupted records on its handle. */
	assert_true(refused > 0);
	agp_segment_detach(&check->segment);
	free(check);
	agp_agent_close(signal_agent);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(threads_each_get_their_own_slot),
	    cmocka_unit_test(forked_child_never_records_into_parent_slots),
	    cmocka_unit_test(signal_handler_records_during_a_record),
	};
	return cmocka_run_group_tests(tests, NULL, agp_test_cleanup);
}
