/* The text form of `agentperf run`'s result (run.c builds it as the JSON that --json prints). */
#ifndef AGP_TOOLS_RUN_RUN_OUTPUT_H
#define AGP_TOOLS_RUN_RUN_OUTPUT_H

#include <jansson.h>

/*
 * Prints result on stdout: the figures (min, median, max, mean, spread), the collector's
 * view of them, what CMD recorded, the coordination requirements, the baseline and the
 * verdict of --compare.
 */
void run_print(const json_t *result);

#endif
