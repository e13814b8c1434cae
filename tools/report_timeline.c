#include "tools/report_timeline.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hdr/histogram.h"
#include "hdr/interval_log.h"
#include "tools/report_axis.h"

#define WIDTH       980
#define HEIGHT      260
#define LEFT        70
#define RIGHT       150
#define TOP         20
#define BOTTOM      40
#define PLOT_W      (WIDTH - LEFT - RIGHT)
#define PLOT_H      (HEIGHT - TOP - BOTTOM)
#define TICKS       6 /* time labels at most: 110 px apart or more, so they never overlap */
#define MAX_WINDOWS 4096

/* One window: its start and the raw samples of every agent type merged. */
struct window {
	double start_s, length_s;
	struct agp_hdr *histogram;
};

struct windows {
	struct window *list;
	size_t count;
};

static void windows_free(struct windows *windows)
{
	for (size_t i = 0; i < windows->count; i++)
		agp_hdr_destroy(windows->list[i].histogram);
	free(windows->list);
}

/* The window starting at start_s (a millisecond either way), made when there is none. */
static struct window *window_at(struct windows *windows, double start_s, double length_s)
{
	for (size_t i = 0; i < windows->count; i++)
		if (fabs(windows->list[i].start_s - start_s) < 1e-3)
			return &windows->list[i];
	if (windows->count == MAX_WINDOWS)
		return NULL;
	if (!(windows->count & (windows->count + 1))) { /* 0, 1, 3, 7, ...: double the room */
		struct window *list =
		    realloc(windows->list, (windows->count * 2 + 1) * sizeof(*list));
		if (!list)
			return NULL;
		windows->list = list;
	}
	struct window *window = &windows->list[windows->count++];
	*window = (struct window){start_s, length_s, NULL};
	return window;
}

static int by_start(const void *a, const void *b)
{
	double x = ((const struct window *)a)->start_s, y = ((const struct window *)b)->start_s;
	return x < y ? -1 : x > y;
}

/* The metric's raw windows, merged over agent types and sorted by start; 0 or a CLI status. */
static int read_windows(struct cli *cli, const char *metric, struct windows *windows)
{
	json_t *args = json_pack("{s:s}", "metric", metric), *answer = NULL;
	int status = cli_request(cli, "hlog", args, &answer, NULL);
	json_decref(args);
	if (status)
		return status;
	const char *text = json_string_value(json_object_get(answer, "hlog"));
	FILE *in = text ? fmemopen((void *)text, strlen(text), "r") : NULL;
	if (!in) {
		json_decref(answer);
		return CLI_VIOLATED;
	}
	struct agp_hlog_reader reader;
	agp_hlog_reader_init(&reader, in, 0);
	struct agp_hlog_entry entry;
	int result;
	while ((result = agp_hlog_reader_next(&reader, &entry)) == 1) {
		/* Raw only: the corrected series' tags end in ":corrected" (docs/hdr.md). */
		bool corrected = entry.has_tag && strstr(entry.tag, ":corrected") != NULL;
		struct window *window =
		    corrected ? NULL
		              : window_at(windows, agp_hlog_absolute_start(&reader, &entry),
		                          entry.length_s);
		if (window && !window->histogram) {
			window->histogram = entry.h;
			continue;
		}
		if (window && agp_hdr_merge(window->histogram, entry.h) != 0)
			result = -EINVAL;
		agp_hdr_destroy(entry.h);
		if (result < 0)
			break;
	}
	agp_hlog_reader_destroy(&reader);
	fclose(in);
	json_decref(answer);
	if (result < 0) {
		fprintf(stderr, "agentperf report: the collector's interval log of %s: %s\n",
		        metric, reader.error[0] ? reader.error : "windows of different layouts");
		return CLI_VIOLATED;
	}
	qsort(windows->list, windows->count, sizeof(*windows->list), by_start);
	return CLI_OK;
}

static double x_of(double t, double first, double last)
{
	return LEFT + (last > first ? (t - first) / (last - first) : 0.5) * PLOT_W;
}

/* A polyline through the windows' percentile, its figures in data-points ("start:value"). */
static void percentile_line(FILE *out, const struct windows *windows, double percentile,
                            double scale, const struct report_axis *axis, double first, double last,
                            const char *color, const char *dash)
{
	fprintf(out, "<polyline class=\"timeline\" data-percentile=\"%g\" data-points=\"",
	        percentile);
	for (size_t i = 0; i < windows->count; i++)
		fprintf(
		    out, "%s%.3f:%lld", i ? " " : "", windows->list[i].start_s,
		    (long long)agp_hdr_value_at_percentile(windows->list[i].histogram, percentile));
	fprintf(
	    out,
	    "\" fill=\"none\" stroke=\"%s\" stroke-width=\"2\" stroke-dasharray=\"%s\" points=\"",
	    color, dash);
	for (size_t i = 0; i < windows->count; i++) {
		const struct window *window = &windows->list[i];
		double value =
		    (double)agp_hdr_value_at_percentile(window->histogram, percentile) * scale;
		fprintf(out, "%.1f,%.1f ",
		        x_of(window->start_s + window->length_s / 2, first, last),
		        report_axis_y(axis, value, TOP, PLOT_H));
	}
	fprintf(out, "\"/>\n");
}

/* The metric's alerts inside the plotted period: a vertical mark each, its text as a tooltip. */
static int alert_marks(FILE *out, const json_t *alerts, const char *metric, double first,
                       double last)
{
	int marked = 0;
	size_t index;
	json_t *alert;
	json_array_foreach(json_object_get(alerts, "alerts"), index, alert)
	{
		if (strcmp(cli_str(alert, "metric"), metric) != 0)
			continue;
		double t = cli_num(alert, "time_ms") / 1e3;
		if (!(t >= first && t <= last))
			continue;
		bool critical = strcmp(cli_str(alert, "level"), "critical") == 0;
		double x = x_of(t, first, last);
		fprintf(
		    out,
		    "<line class=\"alert\" data-time=\"%.3f\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" "
		    "y2=\"%d\" stroke=\"%s\" stroke-width=\"1.5\"><title>alert #%.0f %s (%s)"
		    "</title></line>\n",
		    t, x, TOP, x, TOP + PLOT_H, critical ? "#d62728" : "#ff7f0e",
		    cli_num(alert, "sequence"), cli_str(alert, "level"),
		    cli_str(alert, "agent_type"));
		marked++;
	}
	return marked;
}

/* Time labels (UTC, HH:MM, with seconds for a short period), at most TICKS of them. */
static void time_ticks(FILE *out, double first, double last)
{
	int ticks = last > first ? TICKS : 1;
	for (int k = 0; k < ticks; k++) {
		double t = ticks > 1 ? first + (last - first) * k / (ticks - 1) : first;
		time_t seconds = (time_t)t;
		struct tm utc;
		gmtime_r(&seconds, &utc);
		char label[16];
		strftime(label, sizeof(label), last - first < 600 ? "%H:%M:%S" : "%H:%M", &utc);
		double x = x_of(t, first, last);
		fprintf(out,
		        "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#ddd\"/>"
		        "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s</text>\n",
		        x, TOP, x, TOP + PLOT_H, x, TOP + PLOT_H + 15, label);
	}
	fprintf(out, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">window (UTC)</text>\n",
	        LEFT + PLOT_W / 2, TOP + PLOT_H + 32);
}

int report_timeline(struct cli *cli, FILE *out, const char *metric, double scale, const char *unit,
                    const json_t *alerts)
{
	struct windows windows = {NULL, 0};
	int status = read_windows(cli, metric, &windows);
	if (status) {
		windows_free(&windows);
		return status;
	}
	if (!windows.count) {
		fprintf(out, "<p>no windows with samples</p>\n");
		windows_free(&windows);
		return CLI_OK;
	}
	double smallest = 0, largest = 0;
	for (size_t i = 0; i < windows.count; i++) {
		double p50 =
		    (double)agp_hdr_value_at_percentile(windows.list[i].histogram, 50) * scale;
		double p99 =
		    (double)agp_hdr_value_at_percentile(windows.list[i].histogram, 99) * scale;
		if (p50 > 0 && (smallest == 0 || p50 < smallest))
			smallest = p50;
		if (p99 > largest)
			largest = p99;
	}
	struct report_axis axis = report_axis_for(smallest, largest);
	double first = windows.list[0].start_s;
	double last =
	    windows.list[windows.count - 1].start_s + windows.list[windows.count - 1].length_s;
	fprintf(out,
	        "<svg class=\"timeline\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" "
	        "height=\"%d\" viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"11\">\n"
	        "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"#fbfbfb\" "
	        "stroke=\"#999\"/>\n",
	        WIDTH, HEIGHT, WIDTH, HEIGHT, LEFT, TOP, PLOT_W, PLOT_H);
	report_axis_draw(out, &axis, LEFT, LEFT + PLOT_W, TOP, PLOT_H, unit);
	time_ticks(out, first, last);
	int marked = alert_marks(out, alerts, metric, first, last);
	percentile_line(out, &windows, 50, scale, &axis, first, last, "#1f77b4", "");
	percentile_line(out, &windows, 99, scale, &axis, first, last, "#d62728", "6 3");
	/* The legend at the right, outside the frame: nothing is drawn over it. */
	static const struct {
		const char *text, *color, *dash;
	} legend[] = {{"p50 per window (raw)", "#1f77b4", ""},
	              {"p99 per window (raw)", "#d62728", "6 3"},
	              {"alert (orange: warning)", "#ff7f0e", ""}};
	for (int i = 0; i < 3; i++) {
		double y = TOP + 12 + 16 * i;
		fprintf(out,
		        "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"%s\" "
		        "stroke-width=\"2\" stroke-dasharray=\"%s\"/>"
		        "<text x=\"%d\" y=\"%.1f\">%s</text>\n",
		        LEFT + PLOT_W + 8, y - 4, LEFT + PLOT_W + 28, y - 4, legend[i].color,
		        legend[i].dash, LEFT + PLOT_W + 32, y, legend[i].text);
	}
	fprintf(out, "<text x=\"%d\" y=\"%d\">%zu windows, %d alerts</text>\n", LEFT + PLOT_W + 8,
	        TOP + 70, windows.count, marked);
	fprintf(out, "</svg>\n");
	windows_free(&windows);
	return CLI_OK;
}
