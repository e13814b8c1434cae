/*
 * The collector adopts only a segment of its own uid with the mode it
 * would give it. An attacker (uid 65534, really run as that uid through
 * setpriv) creates the deployment's segment before agentperfd starts and
 * records into it; agentperfd must refuse to start, naming the segment,
 * its owner and its mode, and the attacker's samples must never be
 * consumed (their slot's head stays 0 while its tail says what was sent).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <agentperf/agentperf.h>

#include "collector/collector.h"
#include "shm/ownership.h"
#include "shm/segment.h"
#include "tests/support/test_util.h"

#define ATTACKER_UID 65534

static char folder[96];

static int setup(void **state)
{
	(void)state;
	snprintf(folder, sizeof(folder), "/tmp/agp-test-adopt-%ld", (long)getpid());
	if (mkdir(folder, 0700) != 0)
		return -1;
	char sockets[128];
	snprintf(sockets, sizeof(sockets), "%s/sock", folder);
	setenv("AGENTPERF_SOCKET_DIR", sockets, 1);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	char command[160];
	snprintf(command, sizeof(command), "rm -rf %s", folder);
	int status = system(command);
	agp_test_cleanup(NULL);
	return status == 0 ? 0 : -1;
}

/* Runs agentperfd on deployment until it exits (at most 10 s); its exit status, stderr in out. */
static int run_daemon(const char *deployment, char *out, size_t size)
{
	char config[160], log[160];
	snprintf(config, sizeof(config), "%s/config.json", folder);
	snprintf(log, sizeof(log), "%s/daemon.log", folder);
	FILE *file = fopen(config, "w");
	assert_non_null(file);
	fprintf(file, "{\"monitoring\": {\"storage_dir\": \"%s/storage\"}}\n", folder);
	fclose(file);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		dup2(fd, 1);
		dup2(fd, 2);
		execl(AGP_DAEMON, AGP_DAEMON, "--name", deployment, "--config", config,
		      (char *)NULL);
		_exit(127);
	}
	int status = 0;
	for (int waited = 0; waitpid(pid, &status, WNOHANG) == 0; waited += 10) {
		if (waited > 10000) {
			kill(pid, SIGTERM); /* it started: stop it by its pid, then fail */
			waitpid(pid, &status, 0);
			fail_msg("agentperfd adopted a segment of uid %d", ATTACKER_UID);
		}
		struct timespec pause = {0, 10 * 1000 * 1000};
		nanosleep(&pause, NULL);
	}
	FILE *in = fopen(log, "r");
	size_t got = in ? fread(out, 1, size - 1, in) : 0;
	out[got] = '\0';
	if (in)
		fclose(in);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void test_segment_squatted_by_another_uid(void **state)
{
	(void)state;
	if (geteuid() != 0)
		skip(); /* only root can run the attacker as another uid */
	char deployment[64];
	agp_test_name(deployment, sizeof(deployment), "squat");
	agp_segment_unlink(deployment);

	int command[2], reply[2];
	assert_int_equal(pipe(command), 0);
	assert_int_equal(pipe(reply), 0);
	pid_t attacker = fork();
	assert_true(attacker >= 0);
	if (attacker == 0) {
		dup2(command[0], STDIN_FILENO);
		dup2(reply[1], STDOUT_FILENO);
		close(command[1]);
		close(reply[0]);
		execlp("setpriv", "setpriv", "--reuid", "65534", "--regid", "65534",
		       "--clear-groups", AGP_NS_AGENT, deployment, "squatter", (char *)NULL);
		_exit(127);
	}
	close(command[0]);
	close(reply[1]);
	uint64_t sent = 0;
	assert_int_equal(write(command[1], "r", 1), 1);
	assert_int_equal(read(reply[0], &sent, sizeof(sent)), sizeof(sent));
	assert_int_equal(sent, 100);

	/* The kernel's view: the segment is the attacker's. */
	char path[128];
	snprintf(path, sizeof(path), "/dev/shm/agentperf.%s", deployment);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_uid, ATTACKER_UID);

	char message[4096], owner[64], mode[32];
	int status = run_daemon(deployment, message, sizeof(message));
	assert_int_equal(status, 1);
	snprintf(owner, sizeof(owner), "belongs to uid %d", ATTACKER_UID);
	snprintf(mode, sizeof(mode), "mode %04o", (unsigned)(st.st_mode & 07777));
	assert_message_contains(message, path);
	assert_message_contains(message, owner);
	assert_message_contains(message, mode);

	/* Never aggregated: nobody consumed a record of the attacker's, nobody serves the segment.
	 */
	struct agp_segment segment;
	assert_int_equal(agp_segment_attach(deployment, &segment), 0);
	bool found = false;
	for (uint32_t i = 0; i < segment.slot_count; i++) {
		struct agp_slot *slot = agp_segment_slot(&segment, i);
		if (atomic_load(&slot->state) == AGP_SLOT_LIVE &&
		    strcmp(slot->name, "squatter") == 0) {
			found = true;
			assert_int_equal(atomic_load(&slot->tail_hot), sent);
			assert_int_equal(atomic_load(&slot->head), 0);
		}
	}
	assert_true(found);
	assert_false(agp_collector_present(&segment));
	assert_int_equal(atomic_load(&agp_segment_header(&segment)->collector_pid), 0);
	agp_segment_detach(&segment);

	assert_int_equal(kill(attacker, SIGKILL), 0);
	assert_int_equal(waitpid(attacker, NULL, 0), attacker);
	close(command[1]);
	close(reply[0]);
	agp_segment_unlink(deployment);
}

/* Our own uid with a mode others can use is refused too; our own 0600 segment is adopted. */
static void test_own_segment_with_loose_mode(void **state)
{
	(void)state;
	char deployment[64];
	agp_test_name(deployment, sizeof(deployment), "loose");
	struct agp_segment segment;
	struct agp_segment_layout layout = {2, 64, (gid_t)-1};
	assert_int_equal(agp_segment_create(deployment, &layout, &segment), 0);
	struct agp_config config;
	agp_config_defaults(&config);
	snprintf(config.monitoring.storage_dir, sizeof(config.monitoring.storage_dir), "%s/storage",
	         folder);
	struct agp_collector_options options;
	agp_collector_options_default(&options);
	options.deployment = deployment;
	struct agp_collector collector;

	assert_int_equal(fchmod(segment.fd, 0644), 0);
	assert_int_equal(agp_collector_open(&collector, &options, &config), -EPERM);
	assert_message_contains(agp_last_error(), "mode 0644");
	assert_message_contains(agp_last_error(), deployment);

	assert_int_equal(fchmod(segment.fd, 0600), 0);
	assert_int_equal(agp_collector_open(&collector, &options, &config), 0);
	agp_collector_close(&collector, false);
	agp_segment_detach(&segment);
	agp_segment_unlink(deployment);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_segment_squatted_by_another_uid),
	    cmocka_unit_test(test_own_segment_with_loose_mode),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
