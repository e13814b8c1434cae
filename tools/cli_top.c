/*
 * `agentperf top`: a live view refreshed every second, per agent type and
 * metric: rate, p50, p99, drops and level, with the recent alerts below.
 * Plain ncurses, so it works over ssh in an 80x24 terminal; q quits.
 */
#include <curses.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "tools/cli.h"
#include "tools/cli_options.h"

/*
 * Percentiles come from the windows overlapping the last minute (the
 * collector's windows are aggregation_window long, so at least one window).
 * Rates are exact: the change of each series' total count between frames.
 */
#define TOP_WINDOW_S 60.0

struct top_state {
	json_t *totals; /* "type/metric" -> total_count at the previous frame */
	double taken_s; /* CLOCK_MONOTONIC of the previous frame; 0 before the first */
};

static double monotonic_s(void)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)now.tv_sec + (double)now.tv_nsec / 1e9;
}

/* "ok", "warning" or "critical": the p99 against the metric's thresholds (display units). */
static const char *level_of(const json_t *config, const char *metric, double p99_display)
{
	struct cli_threshold thresholds[16];
	int count = cli_thresholds(config, metric, thresholds, 16);
	double warning = 0, critical = 0;
	for (int i = 0; i < count; i++) {
		if (strcmp(thresholds[i].level, "warning") == 0)
			warning = thresholds[i].value;
		else if (strcmp(thresholds[i].level, "critical") == 0)
			critical = thresholds[i].value;
	}
	if (isnan(p99_display))
		return "-";
	if (critical > 0 && p99_display >= critical)
		return "critical";
	if (warning > 0 && p99_display >= warning)
		return "warning";
	return "ok";
}

static double drops_of_type(const json_t *agents, const char *type)
{
	double drops = 0;
	size_t index;
	json_t *agent;
	json_array_foreach(json_object_get(agents, "agents"), index,
	                   agent) if (strcmp(cli_str(agent, "type"), type) == 0) drops +=
	    cli_num(agent, "dropped");
	return drops;
}

/* The daemon's answers one frame shows. */
struct frame {
	json_t *status, *agents, *stats, *alerts;
};

/* Asks for the frame's answers; 0, or the first failed request's status. */
static int fetch_frame(struct cli *cli, struct frame *frame)
{
	json_t *args = json_pack("{s:f}", "window_s", TOP_WINDOW_S);
	json_t *since = json_pack("{s:i}", "since", 0);
	int result = cli_request_quiet(cli, "status", NULL, &frame->status, NULL, NULL, 0);
	if (!result)
		result = cli_request_quiet(cli, "agents", NULL, &frame->agents, NULL, NULL, 0);
	if (!result)
		result = cli_request_quiet(cli, "stats", args, &frame->stats, NULL, NULL, 0);
	if (!result)
		result = cli_request_quiet(cli, "alerts", since, &frame->alerts, NULL, NULL, 0);
	json_decref(args);
	json_decref(since);
	return result;
}

/* The two lines about the collector and the table's header. */
static void draw_header(const json_t *status)
{
	double uptime = cli_num(status, "uptime_s");
	attron(A_BOLD);
	mvprintw(0, 0, "agentperf top - %.20s  up %.0fh%02.0fm  agents %.0f  %.0f samples/s",
	         cli_str(status, "deployment"), floor(uptime / 3600),
	         floor(fmod(uptime, 3600) / 60), cli_num(status, "agents_live"),
	         cli_num(status, "samples_per_second"));
	attroff(A_BOLD);
	mvprintw(1, 0, "drops %.0f  invalid %.0f  alerts %.0f  health %s  (q quits)",
	         cli_num(status, "dropped"), cli_num(status, "invalid"), cli_num(status, "alerts"),
	         cli_str(status, "health"));
	attron(A_REVERSE);
	mvprintw(3, 0, "%-11s %-21s %7s %10s %10s %5s %-8s", "TYPE", "METRIC", "RATE/s", "P50",
	         "P99", "DROPS", "LEVEL");
	attroff(A_REVERSE);
	mvprintw(2, 0, "P50, P99: raw histograms (as recorded)"); /* docs/hdr.md: raw, corrected */
}

/*
 * A row per series from row 4 until last_row; every series' total goes into
 * state, so that the next frame's rates are right for the rows cut off too.
 */
static void draw_series(const struct frame *frame, const json_t *config, struct top_state *state,
                        int last_row)
{
	int row = 4;
	size_t index;
	json_t *series;
	json_t *list = json_object_get(frame->stats, "series");
	double now = monotonic_s();
	double elapsed = state->taken_s > 0 ? now - state->taken_s : 0;
	json_t *totals = json_object();
	json_array_foreach(list, index, series)
	{
		char key[128], rate[16] = "-";
		snprintf(key, sizeof(key), "%s/%s", cli_str(series, "agent_type"),
		         cli_str(series, "metric"));
		double total = cli_num(series, "total_count");
		json_object_set_new(totals, key, json_real(total));
		double before = cli_num(state->totals, key);
		if (elapsed > 0 && !isnan(before))
			snprintf(rate, sizeof(rate), "%.1f", (total - before) / elapsed);
		if (row >= last_row)
			break;
		const char *unit = cli_str(series, "unit");
		char p50[24], p99[24];
		cli_format_value(cli_num(series, "p50"), unit, p50, sizeof(p50));
		cli_format_value(cli_num(series, "p99"), unit, p99, sizeof(p99));
		double scale = cli_num(series, "display_scale");
		const char *level = level_of(config, cli_str(series, "metric"),
		                             cli_num(series, "p99") * (scale > 0 ? scale : 1));
		mvprintw(row++, 0, "%-11.11s %-21.21s %7s %10s %10s %5.0f %-8s",
		         cli_str(series, "agent_type"), cli_str(series, "metric"), rate, p50, p99,
		         drops_of_type(frame->agents, cli_str(series, "agent_type")), level);
	}
	json_decref(state->totals);
	state->totals = totals;
	state->taken_s = now;
	if (!json_array_size(list))
		mvprintw(row, 0, "(no samples yet)");
}

/* The last four alerts, from alert_row to the bottom. */
static void draw_alerts(const json_t *alerts, int alert_row, int rows)
{
	attron(A_BOLD);
	mvprintw(alert_row++, 0, "recent alerts");
	attroff(A_BOLD);
	json_t *recent = json_object_get(alerts, "alerts");
	size_t count = json_array_size(recent);
	for (size_t a = count > 4 ? count - 4 : 0; a < count && alert_row < rows; a++) {
		json_t *alert = json_array_get(recent, a);
		char value[24];
		cli_alert_value(alert, "value", value, sizeof(value));
		mvprintw(alert_row++, 0, "#%-4.0f %-8.8s %-22.22s %-12.12s %s",
		         cli_num(alert, "sequence"), cli_str(alert, "level"),
		         cli_str(alert, "metric"), cli_str(alert, "agent_type"), value);
	}
	if (!count)
		mvprintw(alert_row, 0, "none");
}

/* Draws one frame; a status other than CLI_OK ends the view. */
static int draw(struct cli *cli, const json_t *config, struct top_state *state)
{
	struct frame frame = {NULL, NULL, NULL, NULL};
	int result = fetch_frame(cli, &frame);
	erase();
	int rows, columns;
	getmaxyx(stdscr, rows, columns);
	(void)columns;
	if (result) {
		mvprintw(0, 0, "agentperf top: collector unreachable at %s", cli->path);
		mvprintw(2, 0, "retrying every second; q quits");
		cli_disconnect(cli);
	} else {
		const int alert_rows = 5;
		draw_header(frame.status);
		draw_series(&frame, config, state, rows - alert_rows - 1);
		draw_alerts(frame.alerts, rows - alert_rows, rows);
	}
	refresh();
	json_decref(frame.status);
	json_decref(frame.agents);
	json_decref(frame.stats);
	json_decref(frame.alerts);
	return CLI_OK;
}

static const char help[] = "Usage: agentperf top\n"
                           "A live view of the collector, refreshed every second: per agent type\n"
                           "and metric the rate (samples/s between refreshes), p50 and p99 (over\n"
                           "the windows of the last minute), drops and level (p99 against the\n"
                           "thresholds), and the recent alerts. q quits.\n"
                           "Exit status: 0 ok, 2 usage error, 3 collector unreachable at start.\n";

int cli_top(struct cli *cli, int argc, char **argv)
{
	static const struct cli_option options[] = {CLI_OPTION_END};
	const struct cli_options spec = {"top", help, options, 0, false};
	int status = cli_parse_options(cli, &spec, argc, argv, NULL);
	if (status != CLI_PARSED)
		return status;
	json_t *config;
	status = cli_request(cli, "config.show", NULL, &config, NULL);
	if (status)
		return status;
	initscr();
	cbreak();
	noecho();
	curs_set(0);
	keypad(stdscr, TRUE);
	timeout(100); /* getch waits at most 100 ms, so q is answered promptly */
	struct timespec last = {0, 0};
	struct top_state state = {NULL, 0};
	for (;;) {
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		double elapsed =
		    (double)(now.tv_sec - last.tv_sec) + (double)(now.tv_nsec - last.tv_nsec) / 1e9;
		if (elapsed >= 1.0) {
			draw(cli, config, &state);
			last = now;
		}
		int key = getch();
		if (key == 'q' || key == 'Q')
			break;
		if (key == KEY_RESIZE)
			last = (struct timespec){0, 0};
	}
	endwin();
	json_decref(state.totals);
	json_decref(config);
	return CLI_OK;
}
