/* Summaries of a figure's repeated values: min, median, max, mean, stddev, relative spread. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tools/run/run.h"

static int compare_doubles(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

void run_summarize(const double *values, size_t count, struct run_summary *out)
{
	memset(out, 0, sizeof(*out));
	out->count = count;
	if (count == 0) {
		out->min = out->median = out->max = out->mean = NAN;
		return;
	}
	double *sorted = malloc(count * sizeof(*sorted));
	if (!sorted) {
		out->count = 0;
		out->min = out->median = out->max = out->mean = NAN;
		return;
	}
	memcpy(sorted, values, count * sizeof(*sorted));
	qsort(sorted, count, sizeof(*sorted), compare_doubles);
	out->min = sorted[0];
	out->max = sorted[count - 1];
	out->median =
	    count % 2 ? sorted[count / 2] : (sorted[count / 2 - 1] + sorted[count / 2]) / 2;
	free(sorted);
	double sum = 0;
	for (size_t i = 0; i < count; i++)
		sum += values[i];
	out->mean = sum / (double)count;
	double squares = 0;
	for (size_t i = 0; i < count; i++)
		squares += (values[i] - out->mean) * (values[i] - out->mean);
	out->stddev = count > 1 ? sqrt(squares / (double)(count - 1)) : 0;
	out->relative_spread = out->mean != 0 ? out->stddev / out->mean : 0;
}

json_t *run_summary_json(const struct run_summary *summary, const char *unit, const double *values)
{
	json_t *list = json_array();
	for (size_t i = 0; list && i < summary->count; i++)
		json_array_append_new(list, json_integer((json_int_t)values[i]));
	if (summary->count == 0)
		return json_pack("{s:s, s:i, s:n, s:n, s:n, s:n, s:n, s:n, s:o}", "unit", unit,
		                 "count", 0, "min", "median", "max", "mean", "stddev",
		                 "relative_spread", "values", list);
	return json_pack("{s:s, s:I, s:f, s:f, s:f, s:f, s:f, s:f, s:o}", "unit", unit, "count",
	                 (json_int_t)summary->count, "min", summary->min, "median", summary->median,
	                 "max", summary->max, "mean", summary->mean, "stddev", summary->stddev,
	                 "relative_spread", summary->relative_spread, "values", list);
}
