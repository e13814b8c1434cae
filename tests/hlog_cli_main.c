/*
 * A stand-in dispatcher for the export tests until `agentperf` wires the subcommands:
 *   hlog_cli hlog [...]          -> agp_cli_hlog
 *   hlog_cli stats --hgrm [...]  -> agp_cli_stats_hgrm
 */
#include <stdio.h>
#include <string.h>

#include "tools/cli_hlog.h"

int main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "hlog") == 0)
		return agp_cli_hlog(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "stats") == 0)
		return agp_cli_stats_hgrm(argc - 1, argv + 1);
	fprintf(stderr, "usage: %s hlog|stats --hgrm [options]\n", argv[0]);
	return 2;
}
