/*
 * The collector's presence is its lock on the segment (shm/ownership.h),
 * not the pid the header records: a live collector keeps a second one out,
 * wherever it runs; a dead one, even unreaped (a zombie), does not; and a
 * collector_pid that names another running process (reused, or scribbled)
 * stops nobody. And the collector's drain frees a slot whose claimant died
 * before going live, in bounded time.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <agentperf/agentperf.h>

#include "collector/collector.h"
#include "shm/clock.h"
#include "shm/ownership.h"
#include "shm/slot.h"
#include "tests/support/test_util.h"

struct fixture {
	char deployment[64];
	struct agp_config config;
	struct agp_collector_options options;
};

static int setup(void **state)
{
	static int counter;
	struct fixture *f = calloc(1, sizeof(*f));
	char what[32];
	snprintf(what, sizeof(what), "presence%d", counter++);
	agp_test_name(f->deployment, sizeof(f->deployment), what);
	agp_config_defaults(&f->config);
	snprintf(f->config.monitoring.storage_dir, sizeof(f->config.monitoring.storage_dir),
	         "/tmp/agp-test-%s", f->deployment);
	agp_collector_options_default(&f->options);
	f->options.deployment = f->deployment;
	f->options.layout.slot_count = 2;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	agp_segment_unlink(f->deployment);
	free(f);
	return 0;
}

/* A collector in a child; returns once it serves the segment. The child waits to be killed. */
static pid_t spawn_collector(struct fixture *f)
{
	int ready[2];
	assert_int_equal(pipe(ready), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(ready[0]);
		struct agp_collector collector;
		char result = agp_collector_open(&collector, &f->options, &f->config) == 0;
		if (write(ready[1], &result, 1) != 1)
			_exit(2);
		for (;;)
			pause();
	}
	close(ready[1]);
	char result = 0;
	assert_int_equal(read(ready[0], &result, 1), 1);
	close(ready[0]);
	assert_int_equal(result, 1);
	return pid;
}

static void expect_busy(struct fixture *f)
{
	struct agp_collector collector;
	assert_int_equal(agp_collector_open(&collector, &f->options, &f->config), -EBUSY);
	assert_message_contains(agp_last_error(), f->deployment);
	assert_message_contains(agp_last_error(), "already served");
}

static void test_zombie_collector_does_not_block(void **state)
{
	struct fixture *f = *state;
	pid_t old = spawn_collector(f);
	expect_busy(f); /* a live collector does block */

	assert_int_equal(kill(old, SIGKILL), 0);
	siginfo_t info;
	memset(&info, 0, sizeof(info));
	/* WNOWAIT: it stays a zombie, and kill(old, 0) still succeeds (what the old check asked).
	 */
	assert_int_equal(waitid(P_PID, (id_t)old, &info, WEXITED | WNOWAIT), 0);
	assert_int_equal(info.si_pid, old);
	assert_int_equal(kill(old, 0), 0);

	struct agp_collector collector;
	if (agp_collector_open(&collector, &f->options, &f->config) != 0)
		fail_msg("a new collector beside a zombie: %s", agp_last_error());
	assert_int_equal(atomic_load(&agp_segment_header(&collector.segment)->collector_pid),
	                 getpid());
	agp_collector_close(&collector, false);
	assert_int_equal(waitpid(old, NULL, 0), old);
}

static void test_reused_or_scribbled_pid_does_not_block(void **state)
{
	struct fixture *f = *state;
	/* These pids all name running processes: init, our parent, ourselves. */
	const int32_t running[] = {1, (int32_t)getppid(), (int32_t)getpid(), -1, 0x7fffffff};
	for (size_t i = 0; i < sizeof(running) / sizeof(running[0]); i++) {
		struct agp_segment segment;
		struct agp_segment_layout layout = f->options.layout;
		int error = agp_segment_open(f->deployment, &layout, &segment);
		assert_int_equal(error, 0);
		atomic_store(&agp_segment_header(&segment)->collector_pid, running[i]);
		struct agp_collector collector;
		if (agp_collector_open(&collector, &f->options, &f->config) != 0)
			fail_msg("collector_pid %d blocked a new collector: %s", running[i],
			         agp_last_error());
		/* And while it serves, an agent sees it, whatever the pid field says. */
		atomic_store(&agp_segment_header(&segment)->collector_pid, 0);
		assert_true(agp_collector_present(&segment));
		agp_collector_close(&collector, false);
		assert_false(agp_collector_present(&segment));
		agp_segment_detach(&segment);
	}
}

/* A child that locks slot 0 and makes it CLAIMING as a claimant does, then dies of SIGKILL. */
static void die_claiming(const char *deployment)
{
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct agp_segment segment;
		if (agp_segment_attach(deployment, &segment) != 0 ||
		    agp_ownership_take(&segment, agp_ownership_slot_byte(&segment, 0)) != 0)
			_exit(2);
		uint32_t expected = AGP_SLOT_FREE;
		if (!atomic_compare_exchange_strong(&agp_segment_slot(&segment, 0)->state,
		                                    &expected, AGP_SLOT_CLAIMING))
			_exit(3);
		raise(SIGKILL);
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
}

static uint64_t wait_until_free(struct agp_slot *slot)
{
	uint64_t started = agp_monotonic_ns();
	while (atomic_load(&slot->state) != AGP_SLOT_FREE &&
	       agp_monotonic_ns() - started < 5000000000ull)
		usleep(1000);
	assert_int_equal(atomic_load(&slot->state), AGP_SLOT_FREE);
	return agp_monotonic_ns() - started;
}

static void test_drain_frees_an_abandoned_claim(void **state)
{
	struct fixture *f = *state;
	f->options.layout.slot_count = 1;
	struct agp_collector collector;
	assert_int_equal(agp_collector_open(&collector, &f->options, &f->config), 0);
	assert_int_equal(agp_collector_start(&collector), 0);
	struct agp_slot *slot = agp_segment_slot(&collector.segment, 0);

	/* With nobody shown in the slot, and with a departed agent still shown (DEAD). */
	for (int round = 0; round < 2; round++) {
		if (round == 1) {
			pid_t agent = fork();
			assert_true(agent >= 0);
			if (agent == 0) {
				struct agp_agent_options options = {.deployment = f->deployment};
				agp_agent *handle;
				_exit(agp_agent_open("departed", "t", &options, &handle) == 0 ? 0
				                                                              : 2);
			}
			int status;
			assert_int_equal(waitpid(agent, &status, 0), agent);
			assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
			wait_until_free(slot);
		}
		die_claiming(f->deployment);
		uint64_t took = wait_until_free(slot);
		print_message("abandoned claim freed after %.0f ms\n", (double)took / 1e6);
		assert_true(took < 1000000000ull);
	}
	agp_collector_close(&collector, false);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_zombie_collector_does_not_block, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reused_or_scribbled_pid_does_not_block, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_drain_frees_an_abandoned_claim, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, agp_test_cleanup);
}
