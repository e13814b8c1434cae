/*
 * The HTML report's time series of one metric: per aggregation window over
 * the retained period, the p50 and p99 of every agent type's raw samples
 * together (the windows' histograms merged exactly, from the collector's
 * hlog verb), with the metric's alerts marked where they were raised, on a
 * value axis that turns logarithmic past two decades (report_axis.h).
 */
#ifndef AGP_TOOLS_REPORT_TIMELINE_H
#define AGP_TOOLS_REPORT_TIMELINE_H

#include <jansson.h>
#include <stdio.h>

#include "tools/cli.h"

/*
 * Writes the SVG (or a line saying there are no windows) into out. scale and unit:
 * the metric's display scale and unit; alerts: the alerts verb's answer. 0 or a CLI status.
 */
int report_timeline(struct cli *cli, FILE *out, const char *metric, double scale, const char *unit,
                    const json_t *alerts);

#endif
