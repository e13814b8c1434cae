/*
 * An agent in another pid namespace that shares /dev/shm (a container, a
 * sidecar): `unshare --pid --fork --mount-proc` runs it as pid 1 of its own
 * namespace, with its own /proc, so that neither its pid nor /proc say
 * anything true about it here. The collector (this process) must keep its
 * slot live while it records, aggregate every sample it says it sent, and
 * free the slot within a second of its death.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <agentperf/agentperf.h>

#include "collector/collector.h"
#include "shm/clock.h"
#include "shm/slot.h"
#include "tests/support/test_util.h"

#define MS 1000000ull

static const struct agp_snapshot_agent *find_agent(const struct agp_snapshot *snapshot,
                                                   const char *name)
{
	for (size_t i = 0; i < snapshot->agent_count; i++)
		if (strcmp(snapshot->agents[i].name, name) == 0)
			return &snapshot->agents[i];
	return NULL;
}

struct seen {
	bool found;
	struct agp_snapshot_agent agent;
};

static struct seen look(struct agp_collector *collector, const char *name)
{
	struct seen seen = {0};
	assert_int_equal(agp_collector_refresh(collector, 2000), 0);
	const struct agp_snapshot *snapshot = agp_snapshot_read_begin(collector);
	const struct agp_snapshot_agent *agent = find_agent(snapshot, name);
	if (agent) {
		seen.found = true;
		seen.agent = *agent;
	}
	agp_snapshot_read_end(snapshot);
	return seen;
}

static uint64_t ask_to_record(int command_fd, int reply_fd)
{
	uint64_t total = 0;
	assert_int_equal(write(command_fd, "r", 1), 1);
	assert_int_equal(read(reply_fd, &total, sizeof(total)), sizeof(total));
	return total;
}

static void test_agent_in_another_pid_namespace(void **state)
{
	if (system("unshare --pid --fork --mount-proc true 2>/dev/null") != 0)
		skip(); /* no CAP_SYS_ADMIN or no pid namespaces here */
	char deployment[64];
	agp_test_name(deployment, sizeof(deployment), "pidns");
	struct agp_config config;
	agp_config_defaults(&config);
	snprintf(config.monitoring.storage_dir, sizeof(config.monitoring.storage_dir),
	         "/tmp/agp-test-%s", deployment);
	struct agp_collector_options options;
	agp_collector_options_default(&options);
	options.deployment = deployment;
	options.layout.slot_count = 4;
	struct agp_collector collector;
	assert_int_equal(agp_collector_open(&collector, &options, &config), 0);
	assert_int_equal(agp_collector_start(&collector), 0);

	int command[2], reply[2];
	assert_int_equal(pipe(command), 0);
	assert_int_equal(pipe(reply), 0);
	pid_t unshare = fork();
	assert_true(unshare >= 0);
	if (unshare == 0) {
		dup2(command[0], STDIN_FILENO);
		dup2(reply[1], STDOUT_FILENO);
		close(command[1]);
		close(reply[0]);
		/* --kill-child: our SIGKILL of unshare reaches the agent, pid 1 of its namespace.
		 */
		execlp("unshare", "unshare", "--pid", "--fork", "--mount-proc", "--kill-child",
		       AGP_NS_AGENT, deployment, "nsagent", (char *)NULL);
		_exit(127);
	}
	close(command[0]);
	close(reply[1]);

	/* 1.5 s of recording: longer than the old code's start-time check took to call it dead. */
	uint64_t total = ask_to_record(command[1], reply[0]);
	struct seen first = look(&collector, "nsagent");
	assert_true(first.found);
	assert_int_equal(first.agent.pid, 1); /* what its namespace calls it */
	uint64_t started = agp_monotonic_ns();
	while (agp_monotonic_ns() - started < 1500 * MS) {
		total = ask_to_record(command[1], reply[0]);
		usleep(20 * 1000);
	}
	struct seen now = look(&collector, "nsagent");
	for (int i = 0; i < 200 && now.agent.aggregated < total; i++) {
		usleep(10 * 1000);
		now = look(&collector, "nsagent");
	}
	assert_true(now.found);
	assert_int_equal(now.agent.state, AGP_AGENT_LIVE);
	assert_int_equal(now.agent.generation, first.agent.generation);
	assert_int_equal(now.agent.slot, first.agent.slot);
	assert_int_equal(now.agent.aggregated, total);
	assert_int_equal(now.agent.invalid, 0);
	assert_int_equal(now.agent.dropped, 0);

	/* Its death: the reply pipe's end of file says the agent is gone; then a second at most. */
	assert_int_equal(kill(unshare, SIGKILL), 0);
	char byte;
	assert_int_equal(read(reply[0], &byte, 1), 0);
	uint64_t died = agp_monotonic_ns();
	struct agp_slot *slot = agp_segment_slot(&collector.segment, first.agent.slot);
	while (atomic_load(&slot->state) != AGP_SLOT_FREE && agp_monotonic_ns() - died < 5000 * MS)
		usleep(5 * 1000);
	uint64_t freed_after = agp_monotonic_ns() - died;
	print_message("slot freed %.0f ms after the agent's death\n", (double)freed_after / 1e6);
	assert_int_equal(atomic_load(&slot->state), AGP_SLOT_FREE);
	assert_true(freed_after < 1000 * MS);
	now = look(&collector, "nsagent");
	assert_int_equal(now.agent.state, AGP_AGENT_DEAD);
	assert_int_equal(now.agent.aggregated, total); /* nothing lost on the way out */

	assert_int_equal(waitpid(unshare, NULL, 0), unshare);
	close(command[1]);
	close(reply[0]);
	agp_collector_close(&collector, true);
	char remove[160];
	snprintf(remove, sizeof(remove), "rm -rf /tmp/agp-test-%s", deployment);
	assert_int_equal(system(remove), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_agent_in_another_pid_namespace),
	};
	return cmocka_run_group_tests(tests, NULL, agp_test_cleanup);
}
