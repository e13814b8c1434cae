/*
 * `agentperf hlog` and `agentperf stats --hgrm`, from the collector's interval logs
 * (<storage_dir>/hlog/agentperf.hlog and its rotated predecessors), so they work whether
 * or not the collector still runs. They cover closed windows; the open window comes from
 * the daemon (control verb hlog, agp_hlog_export()).
 *
 *   agentperf hlog [--metric M] [--agent-type T] [--since T] [--storage DIR]
 *       writes one .hlog (format 1.3) of the selected intervals to standard output,
 *       BaseTime = the first selected interval.
 *   agentperf stats --hgrm [--metric M] [--agent-type T] [--since T] [--storage DIR]
 *       merges the selected intervals and prints the classic .hgrm percentile table,
 *       durations in milliseconds (HdrHistogram's default output ratio), bytes as bytes.
 *
 * --since: "30s", "15m", "2h", "1d" before now, or Unix seconds. --storage: default
 * monitoring.storage_dir of ./.codexplus/performance/config.json, else
 * .codexplus/performance. Exit status 0, 1 (no log or no matching interval), 2 (usage).
 */
#ifndef AGP_TOOLS_CLI_HLOG_H
#define AGP_TOOLS_CLI_HLOG_H

#include <stdio.h>

#include "collector/hdr_histogram.h"

/* argv[0] is the subcommand name ("hlog"). */
int agp_cli_hlog(int argc, char **argv);

/* argv[0] is the subcommand name ("stats"); --hgrm may appear anywhere. */
int agp_cli_stats_hgrm(int argc, char **argv);

/*
 * Prints h as a .hgrm table (5 ticks per half distance, HdrHistogram's default):
 * nanoseconds as milliseconds when nanoseconds is true, else in the recorded unit.
 * 0 or a negative errno.
 */
int agp_cli_print_hgrm(FILE *out, const struct agp_hdr *h, bool nanoseconds);

#endif
