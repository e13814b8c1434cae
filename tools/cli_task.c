/*
 * `agentperf task ...` and `agentperf agents --available`: the Task API's
 * part of the command line (agents/task_cli.c in libagentperf), which runs
 * tasks on the deployment's agent workers and lists the agent definitions.
 */
#include <stdlib.h>

#include <agentperf/task.h>

#include "tools/cli.h"

int cli_task(struct cli *cli, int argc, char **argv)
{
	/* The Task API finds its deployment through AGENTPERF_NAME: `-n NAME` sets it. */
	if (cli->name)
		setenv("AGENTPERF_NAME", cli->name, 1);
	return agp_task_cli(argc, argv);
}
