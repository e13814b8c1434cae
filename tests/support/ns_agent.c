/*
 * An agent for tests that run it elsewhere (another pid namespace, another
 * uid): opens an agent of deployment argv[1] named argv[2], and for every
 * byte read on stdin records 100 samples and writes the total recorded so
 * far (a uint64_t) to stdout: the test's witness of what was sent. Tests
 * kill it; should a test die first, end of input makes it exit (without
 * closing its agent), so that nothing outlives the test.
 */
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

#include <agentperf/agentperf.h>

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: ns_agent DEPLOYMENT NAME\n");
		return 2;
	}
	struct agp_agent_options options = {.deployment = argv[1]};
	agp_agent *agent;
	if (agp_agent_open(argv[2], "elsewhere", &options, &agent) != 0) {
		fprintf(stderr, "ns_agent: %s\n", agp_last_error());
		return 1;
	}
	uint64_t total = 0;
	char command;
	while (read(STDIN_FILENO, &command, 1) == 1) {
		for (int i = 0; i < 100; i++)
			total += agp_record(agent, AGP_METRIC_COORDINATION_OVERHEAD, 1000 + i, 0);
		if (write(STDOUT_FILENO, &total, sizeof(total)) != sizeof(total))
			return 1;
	}
	_exit(0);
}
