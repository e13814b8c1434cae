/*
 * The value axis of the HTML report's plots (the percentile distribution and
 * the time series): linear from 0 on a "nice" step (1, 2 or 5 times a power of
 * ten) while the values shown span at most two decades, logarithmic (a tick
 * per decade) when they span more, so that a 50 µs p50 and a 2 s p99 are both
 * readable on one plot.
 */
#ifndef AGP_TOOLS_REPORT_AXIS_H
#define AGP_TOOLS_REPORT_AXIS_H

#include <stdbool.h>
#include <stdio.h>

struct report_axis {
	bool log;
	double low,
	    high;    /* the axis' ends (display unit): 0 and a tick when linear, decades when log */
	double step; /* linear: the tick step */
};

/* The axis for positive values from smallest to largest (display unit; smallest <= 0: linear). */
struct report_axis report_axis_for(double smallest, double largest);

/* The pixel row of value on an axis drawn from top (high) to top + height (low); clamped. */
double report_axis_y(const struct report_axis *axis, double value, double top, double height);

/* Grid lines from left to right and tick labels at left - 5, with the axis title. */
void report_axis_draw(FILE *out, const struct report_axis *axis, int left, int right, int top,
                      int height, const char *unit);

#endif
