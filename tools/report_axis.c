#include "tools/report_axis.h"

#include <math.h>

/* More than this ratio between the largest and the smallest value: a log axis. */
#define LOG_ABOVE_RATIO 100.0

struct report_axis report_axis_for(double smallest, double largest)
{
	if (!(largest > 0))
		largest = 1;
	if (smallest > 0 && largest / smallest > LOG_ABOVE_RATIO)
		return (struct report_axis){true, pow(10, floor(log10(smallest))),
		                            pow(10, ceil(log10(largest * 1.0001))), 0};
	double raw_step = largest * 1.05 / 5;
	double magnitude = pow(10, floor(log10(raw_step)));
	double norm = raw_step / magnitude;
	double step = (norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 5 ? 5 : 10) * magnitude;
	return (struct report_axis){false, 0, ceil(largest * 1.05 / step) * step, step};
}

double report_axis_y(const struct report_axis *axis, double value, double top, double height)
{
	double share;
	if (axis->log)
		share = value > 0 ? (log10(value) - log10(axis->low)) /
		                        (log10(axis->high) - log10(axis->low))
		                  : 0;
	else
		share = (value - axis->low) / (axis->high - axis->low);
	share = share < 0 ? 0 : share > 1 ? 1 : share;
	return top + height - share * height;
}

void report_axis_draw(FILE *out, const struct report_axis *axis, int left, int right, int top,
                      int height, const char *unit)
{
	/* One tick per decade (log) or per step (linear); the ticks are 12 px apart at least. */
	int count = axis->log ? (int)lround(log10(axis->high / axis->low))
	                      : (int)lround((axis->high - axis->low) / axis->step);
	for (int t = 0; t <= count; t++) {
		double value = axis->log ? axis->low * pow(10, t) : axis->low + axis->step * t;
		double y = report_axis_y(axis, value, top, height);
		fprintf(out,
		        "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#eee\"/>"
		        "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%.6g</text>\n",
		        left, y, right, y, left - 5, y + 4, value);
	}
	fprintf(out,
	        "<text x=\"14\" y=\"%d\" transform=\"rotate(-90 14 %d)\" "
	        "text-anchor=\"middle\">value (%s%s)</text>\n",
	        top + height / 2, top + height / 2, unit, axis->log ? ", log scale" : "");
}
