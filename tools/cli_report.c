/*
 * `agentperf report`: the seed's report object as JSON, and a self-contained
 * HTML report (no scripts, no network): per metric an SVG plot of the
 * percentile distribution on HdrHistogram's log "1/(1-percentile)" axis with
 * the baseline and the thresholds drawn on it, a statistics table, and the
 * recent alerts.
 *
 * Raw and corrected: the plot always has the raw distribution (as recorded); a metric with an
 * expected interval also gets its coordinated-omission corrected distribution on the same
 * plot, a second, labelled curve. Each curve is a <polyline> whose data-histogram ("raw",
 * "corrected"), data-count (its samples) and data-points ("percentile:value ..." in the
 * metric's unit) give the figures it is drawn from, so that a reader (and the tests) can check
 * them; the statistics table has a row per agent type and histogram.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tools/cli.h"
#include "tools/cli_options.h"
#include "tools/report_axis.h"
#include "tools/report_timeline.h"
#include "common/json_dump.h"

#define PLOT_W        720
#define PLOT_H        300
#define MARGIN_L      70
#define MARGIN_R      190
#define MARGIN_T      20
#define MARGIN_B      45
#define X_MAX_DECADES 6  /* 99.9999% */
#define LINES_MAX     16 /* thresholds and baseline lines a plot names */
/* What the report's coordination-overhead figures come from (the collector's agp_report). */
#define REPORT_HISTOGRAM "raw (as recorded, not corrected for coordinated omission)"

static void html_escape(FILE *out, const char *text)
{
	for (; text && *text; text++) {
		switch (*text) {
		case '<':
			fputs("&lt;", out);
			break;
		case '>':
			fputs("&gt;", out);
			break;
		case '&':
			fputs("&amp;", out);
			break;
		case '"':
			fputs("&quot;", out);
			break;
		default:
			fputc(*text, out);
		}
	}
}

struct line {
	double value; /* display unit */
	const char *label;
	const char *color;
	const char *dash;
};

/* The metric's thresholds as plot lines, coloured by level. */
static int thresholds_of(const json_t *config, const char *metric, struct line *lines, int max)
{
	struct cli_threshold thresholds[LINES_MAX];
	int count = cli_thresholds(config, metric, thresholds, max < LINES_MAX ? max : LINES_MAX);
	for (int i = 0; i < count; i++) {
		const char *level = thresholds[i].level;
		const char *color = strcmp(level, "warning") == 0    ? "#e69500"
		                    : strcmp(level, "critical") == 0 ? "#d62728"
		                                                     : "#7f0000";
		lines[i] = (struct line){thresholds[i].value, level, color, ""};
	}
	return count;
}

static double x_of(double percentile)
{
	double p = percentile / 100.0;
	double decades = p >= 1 ? X_MAX_DECADES : log10(1.0 / (1.0 - p));
	if (decades > X_MAX_DECADES)
		decades = X_MAX_DECADES;
	return MARGIN_L + decades / X_MAX_DECADES * PLOT_W;
}

/*
 * The value axis of a percentile plot (report_axis.h): up to the data's
 * maximum, or a line just above it, so that lines near the data stay visible;
 * logarithmic when the distribution spans more than two decades.
 */
static struct report_axis value_axis_of(const json_t *distribution, double scale,
                                        const struct line *lines, int nlines)
{
	double top = cli_num(distribution, "max") * scale;
	double data_top = top;
	for (int i = 0; i < nlines; i++)
		if (lines[i].value > top && lines[i].value < 4 * (data_top > 0 ? data_top : 1))
			top = lines[i].value; /* keep lines near the data visible */
	double smallest = 0;
	size_t index;
	json_t *point;
	json_array_foreach(json_object_get(distribution, "points"), index, point)
	{
		double value = cli_num(point, "value") * scale;
		if (value > 0 && (smallest == 0 || value < smallest))
			smallest = value;
	}
	return report_axis_for(smallest, top);
}

/* The frame, the percentile ticks (0%, 90%, 99%, ...) and the value ticks with their titles. */
static void svg_axes(FILE *out, const struct report_axis *axis, const char *unit)
{
	int width = MARGIN_L + PLOT_W + MARGIN_R, height = MARGIN_T + PLOT_H + MARGIN_B;
	fprintf(out,
	        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
	        "viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"11\">\n"
	        "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"#fbfbfb\" "
	        "stroke=\"#999\"/>\n",
	        width, height, width, height, MARGIN_L, MARGIN_T, PLOT_W, PLOT_H);
	static const char *const tick_labels[] = {"0%",     "90%",     "99%",     "99.9%",
	                                          "99.99%", "99.999%", "99.9999%"};
	for (int d = 0; d <= X_MAX_DECADES; d++) {
		double x = MARGIN_L + (double)d / X_MAX_DECADES * PLOT_W;
		fprintf(out,
		        "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#ddd\"/>"
		        "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s</text>\n",
		        x, MARGIN_T, x, MARGIN_T + PLOT_H, x, MARGIN_T + PLOT_H + 15,
		        tick_labels[d]);
	}
	fprintf(out,
	        "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">percentile (log scale of "
	        "1/(1-percentile))</text>\n",
	        MARGIN_L + PLOT_W / 2, MARGIN_T + PLOT_H + 35);
	report_axis_draw(out, axis, MARGIN_L, MARGIN_L + PLOT_W, MARGIN_T, PLOT_H, unit);
}

/*
 * Where the labels of the horizontal lines go, at the right: pushed apart (at
 * least 12 px, highest value on top) so close lines stay readable.
 */
static void place_labels(const struct line *lines, int nlines, const struct report_axis *axis,
                         double *label_y)
{
	int order[LINES_MAX];
	for (int i = 0; i < nlines; i++) {
		double v = lines[i].value;
		label_y[i] =
		    v > axis->high ? MARGIN_T + 6 : report_axis_y(axis, v, MARGIN_T, PLOT_H) + 4;
		order[i] = i;
	}
	for (int i = 1; i < nlines; i++) /* insertion sort by y, top first */
		for (int j = i; j > 0 && label_y[order[j]] < label_y[order[j - 1]]; j--) {
			int t = order[j];
			order[j] = order[j - 1];
			order[j - 1] = t;
		}
	for (int k = 1; k < nlines; k++)
		if (label_y[order[k]] < label_y[order[k - 1]] + 12)
			label_y[order[k]] = label_y[order[k - 1]] + 12;
	/* Pushed below the frame: push back up from its bottom, so no two overlap either way. */
	double bottom = MARGIN_T + PLOT_H + 4;
	if (nlines && label_y[order[nlines - 1]] > bottom)
		label_y[order[nlines - 1]] = bottom;
	for (int k = nlines - 2; k >= 0; k--)
		if (label_y[order[k]] > label_y[order[k + 1]] - 12)
			label_y[order[k]] = label_y[order[k + 1]] - 12;
}

/* Horizontal lines: baseline and thresholds; one above the axis is only named. */
static void svg_lines(FILE *out, const struct line *lines, int nlines,
                      const struct report_axis *axis, const char *unit)
{
	if (nlines > LINES_MAX)
		nlines = LINES_MAX;
	double label_y[LINES_MAX];
	place_labels(lines, nlines, axis, label_y);
	for (int i = 0; i < nlines; i++) {
		double v = lines[i].value;
		bool above = v > axis->high;
		double y = above ? MARGIN_T + 6 : report_axis_y(axis, v, MARGIN_T, PLOT_H);
		if (!above)
			fprintf(out,
			        "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"%s\" "
			        "stroke-width=\"1.5\" stroke-dasharray=\"%s\"/>\n",
			        MARGIN_L, y, MARGIN_L + PLOT_W, y, lines[i].color,
			        lines[i].dash[0] ? lines[i].dash : "6 3");
		fprintf(out, "<text x=\"%d\" y=\"%.1f\" fill=\"%s\">%s %.4g %s%s</text>\n",
		        MARGIN_L + PLOT_W + 6, label_y[i], lines[i].color, lines[i].label, v, unit,
		        above ? " (above)" : "");
	}
}

/* How each histogram's curve is drawn and named. */
struct curve_style {
	const char *histogram; /* "raw" or "corrected", as the percentiles verb names it */
	const char *color;
	const char *dash;
	const char *label;
};

static const struct curve_style curve_styles[] = {
    {"raw", "#1f77b4", "", "raw (as recorded)"},
    {"corrected", "#9467bd", "7 3", "corrected for coordinated omission"},
};

/* The distribution as a step line through the percentile iteration's points. */
static void svg_distribution(FILE *out, const json_t *distribution, const struct curve_style *style,
                             double scale, const struct report_axis *axis)
{
	const json_t *points = json_object_get(distribution, "points");
	fprintf(out,
	        "<polyline class=\"distribution\" data-histogram=\"%s\" data-count=\"%.0f\" "
	        "data-points=\"",
	        style->histogram, cli_num(distribution, "count"));
	size_t index;
	json_t *point;
	json_array_foreach(points, index, point)
	    fprintf(out, "%s%.12g:%.0f", index ? " " : "", cli_num(point, "percentile"),
	            cli_num(point, "value"));
	fprintf(out, "\" fill=\"none\" stroke=\"%s\" stroke-width=\"2\"", style->color);
	if (style->dash[0])
		fprintf(out, " stroke-dasharray=\"%s\"", style->dash);
	fprintf(out, " points=\"");
	double last_y = NAN;
	json_array_foreach(points, index, point)
	{
		double x = x_of(cli_num(point, "percentile"));
		double y = report_axis_y(axis, cli_num(point, "value") * scale, MARGIN_T, PLOT_H);
		if (!isnan(last_y))
			fprintf(out, "%.1f,%.1f ", x, last_y);
		fprintf(out, "%.1f,%.1f ", x, y);
		last_y = y;
	}
	fprintf(out, "\"><title>%s: %.0f samples</title></polyline>\n", style->label,
	        cli_num(distribution, "count"));
}

/* The legend of the curves, top left inside the frame. */
static void svg_legend(FILE *out, const struct curve_style *const *styles,
                       const json_t *const *curves, int ncurves)
{
	for (int c = 0; c < ncurves; c++) {
		double y = MARGIN_T + 14 + 14 * c;
		fprintf(out,
		        "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"%s\" "
		        "stroke-width=\"2\" stroke-dasharray=\"%s\"/>"
		        "<text class=\"legend\" x=\"%d\" y=\"%.1f\">%s, %.0f samples</text>\n",
		        MARGIN_L + 8, y - 4, MARGIN_L + 32, y - 4, styles[c]->color,
		        styles[c]->dash, MARGIN_L + 38, y, styles[c]->label,
		        cli_num(curves[c], "count"));
	}
}

/* The raw curve, and the corrected one when there is one (curves[1] non-NULL), on one plot. */
static void svg_plot(FILE *out, const json_t *const *curves, const struct line *lines, int nlines,
                     const char *unit)
{
	double scale = cli_num(curves[0], "display_scale");
	if (!(scale > 0))
		scale = 1;
	/* The corrected histogram has the raw one's maximum: one axis fits both. */
	struct report_axis axis = value_axis_of(curves[0], scale, lines, nlines);
	svg_axes(out, &axis, unit);
	svg_lines(out, lines, nlines, &axis, unit);
	const struct curve_style *styles[2] = {&curve_styles[0], &curve_styles[1]};
	int ncurves = curves[1] ? 2 : 1;
	for (int c = ncurves - 1; c >= 0; c--) /* the raw curve on top */
		svg_distribution(out, curves[c], styles[c], scale, &axis);
	svg_legend(out, styles, curves, ncurves);
	fprintf(out, "</svg>\n");
}

static void stats_row(FILE *out, const json_t *series)
{
	const char *unit = cli_str(series, "unit");
	fprintf(out, "<tr><td>");
	html_escape(out, cli_str(series, "agent_type"));
	fprintf(out, "</td><td>%.0f</td>", cli_num(series, "count"));
	static const char *const keys[] = {"mean", "stddev", "min", "p50", "p95", "p99", "max"};
	for (int k = 0; k < 7; k++) {
		char cell[32];
		cli_format_value(cli_num(series, keys[k]), unit, cell, sizeof(cell));
		fprintf(out, "<td>%s</td>", cell);
	}
	fprintf(out, "<td>");
	html_escape(out, cli_str(series, "histogram"));
	fprintf(out, "</td>");
	fprintf(out, "</tr>\n");
}

static const json_t *baseline_metric(const json_t *baseline, const char *metric)
{
	size_t index;
	json_t *entry;
	json_array_foreach(json_object_get(baseline, "metrics"), index, entry)
	{
		const char *type = cli_str(entry, "agent_type");
		if (strcmp(cli_str(entry, "metric"), metric) == 0 && !type[0])
			return entry;
	}
	return NULL;
}

/* What the HTML report shows besides the report object: the daemon's answers. */
struct report_inputs {
	json_t *stats, *config, *baseline, *alerts; /* baseline NULL when none is established */
	json_t *corrected_stats; /* the series with an expected interval, corrected */
};

static void report_inputs_free(struct report_inputs *inputs)
{
	json_decref(inputs->stats);
	json_decref(inputs->corrected_stats);
	json_decref(inputs->config);
	json_decref(inputs->baseline);
	json_decref(inputs->alerts);
}

/* Asks the daemon for the inputs; CLI_OK, or the failed request's status. */
static int fetch_inputs(struct cli *cli, struct report_inputs *inputs)
{
	int status = cli_request(cli, "stats", NULL, &inputs->stats, NULL);
	if (!status) {
		json_t *args = json_pack("{s:b}", "corrected", true);
		status = cli_request(cli, "stats", args, &inputs->corrected_stats, NULL);
		json_decref(args);
	}
	if (!status)
		status = cli_request(cli, "config.show", NULL, &inputs->config, NULL);
	if (!status) {
		json_t *args = json_pack("{s:i}", "since", 0);
		status = cli_request(cli, "alerts", args, &inputs->alerts, NULL);
		json_decref(args);
	}
	if (status)
		return status;
	char message[256];
	if (cli_request_quiet(cli, "baseline.show", NULL, &inputs->baseline, NULL, message,
	                      sizeof(message)) == CLI_UNREACHABLE)
		return CLI_UNREACHABLE;
	return CLI_OK;
}

/* The document's head with its style, the title and the summary table. */
static void html_head(FILE *out, const json_t *report, bool baseline)
{
	time_t now = time(NULL);
	char stamp[64];
	strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%S UTC", gmtime(&now));
	fprintf(out, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
	             "<title>agentperf report ");
	html_escape(out, cli_str(report, "report_id"));
	fprintf(
	    out,
	    "</title>\n<style>\n"
	    "body{font-family:sans-serif;margin:24px;color:#222;max-width:1100px}\n"
	    "h1{font-size:22px}h2{font-size:18px;margin-top:28px;border-bottom:1px solid #ccc}\n"
	    "table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ccc;"
	    "padding:3px 8px;text-align:right}th{background:#f0f0f0}td:first-child{text-align:"
	    "left}\n.ok{color:#2ca02c}.bad{color:#d62728}.note{color:#666;font-size:12px}\n"
	    "</style></head><body>\n<h1>agentperf performance report</h1>\n"
	    "<p class=\"note\">%s &middot; ",
	    stamp);
	html_escape(out, cli_str(report, "report_id"));
	fprintf(out, "</p>\n<table>\n");
	const char *health = cli_str(report, "overall_health");
	fprintf(out, "<tr><th>overall health</th><td>");
	html_escape(out, health[0] ? health : "unknown");
	char avg[64], p95[64], p99[64];
	cli_format_ms(report, "avg_coordination_overhead", "no data", avg, sizeof(avg));
	cli_format_ms(report, "p95_coordination_overhead", "no data", p95, sizeof(p95));
	cli_format_ms(report, "p99_coordination_overhead", "no data", p99, sizeof(p99));
	fprintf(out,
	        "</td></tr>\n<tr><th>avg coordination overhead</th><td>%s</td></tr>\n"
	        "<tr><th>p95 coordination overhead</th><td>%s</td></tr>\n"
	        "<tr><th>p99 coordination overhead</th><td>%s</td></tr>\n"
	        "<tr><th>histogram</th><td>%s</td></tr>\n"
	        "<tr><th>baseline</th><td>%s</td></tr>\n</table>\n",
	        avg, p95, p99, REPORT_HISTOGRAM, baseline ? "established" : "none established");
}

static void html_recommendations(FILE *out, const json_t *report)
{
	const json_t *recommendations = json_object_get(report, "recommendations");
	if (!json_array_size(recommendations))
		return;
	fprintf(out, "<h2>Recommendations</h2>\n<ul>\n");
	size_t index;
	json_t *line;
	json_array_foreach(recommendations, index, line)
	{
		fprintf(out, "<li>");
		html_escape(out, json_is_string(line) ? json_string_value(line) : "");
		fprintf(out, "</li>\n");
	}
	fprintf(out, "</ul>\n");
}

/* Whether metric has a corrected series (an expected interval) among those of stats. */
static bool has_series(const json_t *stats, const char *metric)
{
	size_t index;
	json_t *series;
	json_array_foreach(json_object_get(stats, "series"), index, series)
	{
		if (strcmp(cli_str(series, "metric"), metric) == 0)
			return true;
	}
	return false;
}

/* The rows of metric's series in stats, one per agent type. */
static void stats_rows(FILE *out, const json_t *stats, const char *metric)
{
	size_t index;
	json_t *series;
	json_array_foreach(json_object_get(stats, "series"), index, series)
	{
		if (strcmp(cli_str(series, "metric"), metric) == 0)
			stats_row(out, series);
	}
}

/* The percentile iteration of metric over every agent type, raw or corrected. */
static int request_distribution(struct cli *cli, const char *metric, bool corrected,
                                json_t **distribution)
{
	json_t *args =
	    json_pack("{s:s, s:i, s:b}", "metric", metric, "ticks", 5, "corrected", corrected);
	int status = cli_request(cli, "percentiles", args, distribution, NULL);
	json_decref(args);
	return status;
}

/* One metric's section: the plot with thresholds and baseline, then a row per agent type. */
static int html_metric(struct cli *cli, FILE *out, const struct report_inputs *inputs,
                       const char *metric)
{
	json_t *distribution = NULL, *corrected = NULL;
	int status = request_distribution(cli, metric, false, &distribution);
	if (!status && has_series(inputs->corrected_stats, metric))
		status = request_distribution(cli, metric, true, &corrected);
	if (status) {
		json_decref(distribution);
		return status;
	}
	const char *unit = cli_str(distribution, "display_unit");
	fprintf(out, "<h2>");
	html_escape(out, metric);
	fprintf(out, "</h2>\n");
	struct line lines[12];
	int nlines = thresholds_of(inputs->config, metric, lines, 10); /* room for the baseline's */
	const json_t *base = baseline_metric(inputs->baseline, metric);
	double scale = cli_num(distribution, "display_scale");
	if (base && cli_num(base, "p95") > 0)
		lines[nlines++] =
		    (struct line){cli_num(base, "p95") * scale, "baseline p95", "#2ca02c", "2 2"};
	if (base && cli_num(base, "p50") > 0)
		lines[nlines++] =
		    (struct line){cli_num(base, "p50") * scale, "baseline p50", "#17becf", "2 2"};
	const json_t *curves[2] = {distribution, corrected};
	svg_plot(out, curves, lines, nlines, unit);
	/* unit belongs to distribution: the time series is drawn before it goes. */
	status = report_timeline(cli, out, metric, scale > 0 ? scale : 1, unit, inputs->alerts);
	json_decref(distribution);
	json_decref(corrected);
	if (status)
		return status;
	fprintf(out, "<table><tr><th>agent type</th><th>count</th><th>mean</th>"
	             "<th>stddev</th><th>min</th><th>p50</th><th>p95</th><th>p99</th>"
	             "<th>max</th><th>histogram</th></tr>\n");
	stats_rows(out, inputs->stats, metric);
	stats_rows(out, inputs->corrected_stats, metric);
	fprintf(out, "</table>\n");
	return CLI_OK;
}

/* One section per metric, in the order the collector lists its series. */
static int html_metrics(struct cli *cli, FILE *out, const struct report_inputs *inputs)
{
	json_t *done = json_object();
	int status = CLI_OK;
	size_t index;
	json_t *series;
	json_array_foreach(json_object_get(inputs->stats, "series"), index, series)
	{
		const char *metric = cli_str(series, "metric");
		if (json_object_get(done, metric))
			continue;
		json_object_set_new(done, metric, json_true());
		if ((status = html_metric(cli, out, inputs, metric)))
			break;
	}
	json_decref(done);
	return status;
}

static void html_alerts(FILE *out, const json_t *alerts)
{
	fprintf(out, "<h2>Recent alerts</h2>\n");
	json_t *list = json_object_get(alerts, "alerts");
	if (!json_array_size(list)) {
		fprintf(out, "<p class=\"ok\">No alerts.</p>\n");
		return;
	}
	fprintf(out, "<table><tr><th>#</th><th>time (UTC)</th><th>level</th><th>metric</th>"
	             "<th>agent type</th><th>agent</th><th>value</th><th>threshold</th></tr>\n");
	size_t index;
	json_t *alert;
	json_array_foreach(list, index, alert)
	{
		char value[32], threshold[32], when[32];
		cli_alert_value(alert, "value", value, sizeof(value));
		cli_alert_value(alert, "threshold", threshold, sizeof(threshold));
		cli_alert_time(alert, when, sizeof(when));
		fprintf(out, "<tr><td>%.0f</td><td>", cli_num(alert, "sequence"));
		html_escape(out, when);
		fprintf(out, "</td><td class=\"bad\">");
		html_escape(out, cli_str(alert, "level"));
		static const char *const texts[] = {"metric", "agent_type", "agent"};
		for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
			fprintf(out, "</td><td>");
			html_escape(out, cli_str(alert, texts[i]));
		}
		fprintf(out, "</td><td>%s</td><td>%s</td></tr>\n", value, threshold);
	}
	fprintf(out, "</table>\n");
}

/* Renders the HTML report from what the daemon answered. */
static int render_html(struct cli *cli, const json_t *report, FILE *out)
{
	struct report_inputs inputs = {NULL, NULL, NULL, NULL, NULL};
	int status = fetch_inputs(cli, &inputs);
	if (status)
		goto out;
	html_head(out, report, inputs.baseline != NULL);
	html_recommendations(out, report);
	if ((status = html_metrics(cli, out, &inputs)))
		goto out;
	html_alerts(out, inputs.alerts);
	fprintf(out, "</body></html>\n");
out:
	report_inputs_free(&inputs);
	return status;
}

int cli_write_report(struct cli *cli, const char *json_file, const char *html_file)
{
	json_t *report;
	int status = cli_request(cli, "report", NULL, &report, NULL);
	if (status)
		return status;
	if (json_file) {
		char *text = agp_json_dumps(report, JSON_INDENT(2));
		if (!text || cli_write_file(json_file, text, strlen(text))) {
			fprintf(stderr, "agentperf report: cannot write %s\n", json_file);
			status = CLI_VIOLATED;
		}
		free(text);
	}
	if (!status && html_file) {
		char *html = NULL;
		size_t length = 0;
		FILE *out = open_memstream(&html, &length);
		status = out ? render_html(cli, report, out) : CLI_VIOLATED;
		if (out)
			fclose(out);
		if (!status && cli_write_file(html_file, html, length)) {
			fprintf(stderr, "agentperf report: cannot write %s\n", html_file);
			status = CLI_VIOLATED;
		}
		free(html);
	}
	if (!status && !json_file && cli->json) {
		cli_print_json(report);
	} else if (!status && !json_file && !html_file) {
		{
			printf("report                    %s\n", cli_str(report, "report_id"));
			printf("overall health            %s\n", cli_str(report, "overall_health"));
			static const char *const keys[] = {"avg", "p95", "p99"};
			for (size_t k = 0; k < 3; k++) {
				char key[64], text[64];
				snprintf(key, sizeof(key), "%s_coordination_overhead", keys[k]);
				cli_format_ms(report, key, "no data", text, sizeof(text));
				printf("%s coordination overhead %s\n", keys[k], text);
			}
			printf("histogram                 %s\n", REPORT_HISTOGRAM);
			printf(
			    "tasks                     %.0f executed, %.0f ok, %.0f failed, %.0f "
			    "timed out\n",
			    cli_num(report, "total_tasks_executed"),
			    cli_num(report, "successful_tasks"), cli_num(report, "failed_tasks"),
			    cli_num(report, "timeout_tasks"));
		}
	}
	json_decref(report);
	return status;
}

static const char help[] =
    "Usage: agentperf report [--json [FILE]] [--html FILE]\n"
    "The performance report (the seed's keys: report_id, generated_at,\n"
    "baseline, recent_metrics, avg/p95/p99_coordination_overhead, tasks,\n"
    "performance_trends, threshold_violations, recommendations,\n"
    "overall_health). --json FILE writes it as JSON (bare --json prints it);\n"
    "--html FILE writes one self-contained HTML file with a percentile\n"
    "distribution plot per metric (the raw curve, and for a metric with an\n"
    "expected interval the coordinated-omission corrected one beside it),\n"
    "baseline and thresholds, statistics and recent alerts.\n"
    "Exit status: 0 ok, 1 a file could not be written, 2 usage error,\n"
    "3 collector unreachable.\n";

int cli_report(struct cli *cli, int argc, char **argv)
{
	const char *json_file = NULL, *html_file = NULL;
	const struct cli_option options[] = {
	    {"json", 0, CLI_OPTION_JSON_OR_FILE, &json_file, NULL},
	    {"html", 0, CLI_OPTION_TEXT, &html_file, NULL},
	    CLI_OPTION_END,
	};
	const struct cli_options spec = {"report", help, options, 0, false};
	int status = cli_parse_options(cli, &spec, argc, argv, NULL);
	if (status != CLI_PARSED)
		return status;
	return cli_write_report(cli, json_file, html_file);
}
