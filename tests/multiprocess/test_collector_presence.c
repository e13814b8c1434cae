/*
 * The collector's presence is its lock on the segment (shm/ownership.h),
 * not the pid the header records: a live collector keeps a second one out,
 * wherever it runs; a dead one, even unreaped (a zombie), does not; and a
 * collector_pid that names another running process (reused, or scribbled)
 * stops nobody.
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
#include "shm/ownership.h"
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
	/* WNOWAIT: it stays a zombie, and kill(old, 0) still succeeds (what the old check asked). */
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

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_zombie_collector_does_not_block, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reused_or_scribbled_pid_does_not_block, setup,
	                                    teardown),
	};
	return cmocka_run_group_tests(tests, NULL, agp_test_cleanup);
}
