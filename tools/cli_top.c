/*
 * `agentperf top`: a live view refreshed every second, per agent type and
 * metric: rate, p50, p99, drops and level, with the recent alerts below.
 * Plain ncurses, so it works over ssh; the layout (top_layout.h) fits any
 * terminal from 60x12 up, and a collector that goes away is said inside the
 * screen, over its last answer. q quits.
 */
#include <curses.h>
#include <langinfo.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "tools/cli.h"
#include "tools/cli_options.h"
#include "tools/top_layout.h"

/*
 * Percentiles come from the windows overlapping the last minute (the
 * collector's windows are aggregation_window long, so at least one window).
 * Rates are exact: the change of each series' total count between frames.
 */
#define TOP_WINDOW_S 60.0

struct top_state {
	json_t *totals; /* "type/metric" -> total_count at the previous frame */
	double taken_s; /* CLOCK_MONOTONIC of the previous frame; 0 before the first */
	bool utf8;      /* the terminal's locale takes "…" */
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

static void frame_release(struct frame *frame)
{
	json_decref(frame->status);
	json_decref(frame->agents);
	json_decref(frame->stats);
	json_decref(frame->alerts);
	*frame = (struct frame){NULL, NULL, NULL, NULL};
}

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
	if (result)
		frame_release(frame);
	return result;
}

/* What one screen is drawn from: the layout and whether "…" can be shown. */
struct screen {
	struct top_layout layout;
	int columns;
	bool utf8;
};

/* text at (row, 0), cut to the screen's width with an ellipsis. */
static void put_line(const struct screen *screen, int row, const char *text)
{
	char fitted[1024];
	int width = screen->columns < 340 ? screen->columns : 340;
	if ((int)strlen(text) > width)
		top_fit(text, width, false, screen->utf8, fitted, sizeof(fitted));
	else
		snprintf(fitted, sizeof(fitted), "%s", text);
	mvaddstr(row, 0, fitted);
}

/* One table row from cells (NULL for a column not shown), each fitted to its column. */
static void put_row(const struct screen *screen, int row, const char *const cells[TOP_COLUMNS])
{
	char line[1024] = "";
	size_t used = 0;
	for (int c = 0; c < TOP_COLUMNS; c++) {
		int width = screen->layout.width[c];
		if (!width)
			continue;
		char cell[160];
		bool figure = c != TOP_TYPE && c != TOP_METRIC && c != TOP_LEVEL;
		top_fit(cells[c] ? cells[c] : "", width, figure, screen->utf8, cell, sizeof(cell));
		used += (size_t)snprintf(line + used, sizeof(line) - used, "%s%s", used ? " " : "",
		                         cell);
		if (used >= sizeof(line))
			break;
	}
	mvaddstr(row, 0, line);
}

/*
 * The collector's two lines and the table's header. While the collector is
 * away, the second line says so (in reverse) over the last answer it gave.
 */
static void draw_header(const struct screen *screen, const json_t *status, const char *away)
{
	char text[512];
	double uptime = cli_num(status, "uptime_s");
	snprintf(
	    text, sizeof(text), "agentperf top - %s  up %.0fh%02.0fm  agents %.0f  %.0f samples/s",
	    cli_str(status, "deployment"), floor(uptime / 3600), floor(fmod(uptime, 3600) / 60),
	    cli_num(status, "agents_live"), cli_num(status, "samples_per_second"));
	attron(A_BOLD);
	put_line(screen, 0, text);
	attroff(A_BOLD);
	if (away) {
		attron(A_REVERSE);
		put_line(screen, 1, away);
		attroff(A_REVERSE);
	} else {
		/* A short screen has no room for the histograms' line: its first word says it. */
		snprintf(text, sizeof(text),
		         "%sdrops %.0f  invalid %.0f  alerts %.0f  health %s  (q quits)",
		         screen->layout.header_rows > 3 ? "" : "raw  ", cli_num(status, "dropped"),
		         cli_num(status, "invalid"), cli_num(status, "alerts"),
		         cli_str(status, "health"));
		put_line(screen, 1, text);
	}
	static const char *const titles[TOP_COLUMNS] = {
	    [TOP_TYPE] = "TYPE", [TOP_METRIC] = "METRIC", [TOP_RATE] = "RATE/s",
	    [TOP_P50] = "P50",   [TOP_P95] = "P95",       [TOP_P99] = "P99",
	    [TOP_MAX] = "MAX",   [TOP_DROPS] = "DROPS",   [TOP_LEVEL] = "LEVEL",
	};
	const char *cells[TOP_COLUMNS];
	memcpy(cells, titles, sizeof(cells));
	if (screen->layout.width[TOP_LEVEL] < 5)
		cells[TOP_LEVEL] = "LVL";
	attron(A_REVERSE);
	put_row(screen, screen->layout.header_rows - 1, cells);
	attroff(A_REVERSE);
	if (screen->layout.header_rows > 3) /* docs/hdr.md: raw and corrected */
		put_line(screen, 2, "P50, P95, P99, MAX: raw histograms (as recorded)");
}

/* The rate of a series since the previous frame, into rate ("-" for the first). */
static void series_rate(const json_t *series, const struct top_state *state, double elapsed,
                        json_t *totals, char *rate, size_t size)
{
	char key[128];
	snprintf(key, sizeof(key), "%s/%s", cli_str(series, "agent_type"),
	         cli_str(series, "metric"));
	double total = cli_num(series, "total_count");
	json_object_set_new(totals, key, json_real(total));
	double before = cli_num(state->totals, key);
	snprintf(rate, size, "-");
	if (elapsed > 0 && !isnan(before))
		snprintf(rate, size, "%.1f", (total - before) / elapsed);
}

/*
 * A row per series under the header; the last row says how many more there
 * are when they do not fit. Every series' total goes into state (when
 * counting is set), so that the next frame's rates are right for the rows
 * cut off too.
 */
static void draw_series(const struct screen *screen, const struct frame *frame,
                        const json_t *config, struct top_state *state, bool counting)
{
	int row = screen->layout.header_rows, last = row + screen->layout.series_rows;
	json_t *list = json_object_get(frame->stats, "series");
	size_t count = json_array_size(list);
	double now = monotonic_s();
	double elapsed = state->taken_s > 0 ? now - state->taken_s : 0;
	json_t *totals = json_object();
	for (size_t index = 0; index < count; index++) {
		json_t *series = json_array_get(list, index);
		char rate[24], p50[24], p95[24], p99[24], max[24], drops[24];
		series_rate(series, state, elapsed, totals, rate, sizeof(rate));
		if (row >= last)
			continue;
		if (row == last - 1 && index + 1 < count) {
			char more[96];
			snprintf(more, sizeof(more),
			         "... %zu more series (a taller terminal shows them)",
			         count - index);
			put_line(screen, row++, more);
			continue;
		}
		const char *unit = cli_str(series, "unit");
		cli_format_value(cli_num(series, "p50"), unit, p50, sizeof(p50));
		cli_format_value(cli_num(series, "p95"), unit, p95, sizeof(p95));
		cli_format_value(cli_num(series, "p99"), unit, p99, sizeof(p99));
		cli_format_value(cli_num(series, "max"), unit, max, sizeof(max));
		snprintf(drops, sizeof(drops), "%.0f",
		         drops_of_type(frame->agents, cli_str(series, "agent_type")));
		double scale = cli_num(series, "display_scale");
		const char *level = level_of(config, cli_str(series, "metric"),
		                             cli_num(series, "p99") * (scale > 0 ? scale : 1));
		const char *cells[TOP_COLUMNS] = {
		    [TOP_TYPE] = cli_str(series, "agent_type"),
		    [TOP_METRIC] = cli_str(series, "metric"),
		    [TOP_RATE] = rate,
		    [TOP_P50] = p50,
		    [TOP_P95] = p95,
		    [TOP_P99] = p99,
		    [TOP_MAX] = max,
		    [TOP_DROPS] = drops,
		    [TOP_LEVEL] = top_level_text(level, screen->layout.width[TOP_LEVEL]),
		};
		put_row(screen, row++, cells);
	}
	if (counting) {
		json_decref(state->totals);
		state->totals = totals;
		state->taken_s = now;
	} else {
		json_decref(totals);
	}
	if (!count)
		put_line(screen, row, "(no samples yet)");
}

/* The last alerts that fit, from the alerts' first row to the bottom. */
static void draw_alerts(const struct screen *screen, const json_t *alerts, int rows)
{
	int row = rows - screen->layout.alert_rows;
	attron(A_BOLD);
	put_line(screen, row++, "recent alerts");
	attroff(A_BOLD);
	json_t *recent = json_object_get(alerts, "alerts");
	size_t count = json_array_size(recent), room = (size_t)(rows - row);
	for (size_t a = count > room ? count - room : 0; a < count && row < rows; a++) {
		json_t *alert = json_array_get(recent, a);
		char value[24], text[256];
		cli_alert_value(alert, "value", value, sizeof(value));
		snprintf(text, sizeof(text), "#%-4.0f %-8s %-22s %-12s %s",
		         cli_num(alert, "sequence"), cli_str(alert, "level"),
		         cli_str(alert, "metric"), cli_str(alert, "agent_type"), value);
		put_line(screen, row++, text);
	}
	if (!count)
		put_line(screen, row, "none");
}

/*
 * Draws one frame from a fresh answer, or from the last one with the
 * collector's absence said inside the screen. A status other than CLI_OK
 * ends the view.
 */
static int draw(struct cli *cli, const json_t *config, struct top_state *state,
                struct frame *last_good, double *away_since)
{
	struct frame fresh = {NULL, NULL, NULL, NULL};
	int result = fetch_frame(cli, &fresh);
	if (!result) {
		frame_release(last_good);
		*last_good = fresh;
		*away_since = 0;
	} else {
		cli_disconnect(cli);
		if (!*away_since)
			*away_since = monotonic_s();
	}
	struct screen screen;
	int rows;
	getmaxyx(stdscr, rows, screen.columns);
	top_layout_for(screen.columns, rows, &screen.layout);
	screen.utf8 = state->utf8;
	erase();
	char away[512] = "";
	if (result)
		snprintf(away, sizeof(away),
		         "collector unreachable at %s for %.0f s; retrying every second; q quits",
		         cli->path, monotonic_s() - *away_since);
	if (last_good->status) {
		draw_header(&screen, last_good->status, result ? away : NULL);
		draw_series(&screen, last_good, config, state, !result);
		draw_alerts(&screen, last_good->alerts, rows);
	} else {
		put_line(&screen, 0, "agentperf top");
		attron(A_REVERSE);
		put_line(&screen, 1, away);
		attroff(A_REVERSE);
	}
	refresh();
	return CLI_OK;
}

/* top --json: one frame's answers as one object, for scripts (no screen). */
static int print_one_frame(struct cli *cli)
{
	struct frame frame = {NULL, NULL, NULL, NULL};
	int status = fetch_frame(cli, &frame);
	if (status) /* the connection's failure is told where it happened */
		return status;
	json_t *object = json_pack("{s:O,s:O,s:O,s:O}", "status", frame.status, "agents",
	                           frame.agents, "stats", frame.stats, "alerts", frame.alerts);
	cli_print_json(object);
	json_decref(object);
	frame_release(&frame);
	return CLI_OK;
}

static const char help[] = "Usage: agentperf top [--json]\n"
                           "A live view of the collector, refreshed every second: per agent type\n"
                           "and metric the rate (samples/s between refreshes), p50 and p99 (over\n"
                           "the windows of the last minute), drops and level (p99 against the\n"
                           "thresholds), and the recent alerts. q quits. --json prints one\n"
                           "frame's answers (status, agents, stats, alerts) as one object.\n"
                           "Exit status: 0 ok, 2 usage error, 3 collector unreachable at start.\n";

int cli_top(struct cli *cli, int argc, char **argv)
{
	static const struct cli_option options[] = {CLI_OPTION_JSON_ENTRY, CLI_OPTION_END};
	const struct cli_options spec = {"top", help, options, 0, false};
	int status = cli_parse_options(cli, &spec, argc, argv, NULL);
	if (status != CLI_PARSED)
		return status;
	if (cli->json)
		return print_one_frame(cli);
	json_t *config;
	status = cli_request(cli, "config.show", NULL, &config, NULL);
	if (status)
		return status;
	setlocale(LC_ALL, "");
	struct top_state state = {NULL, 0, strcmp(nl_langinfo(CODESET), "UTF-8") == 0};
	struct frame last_good = {NULL, NULL, NULL, NULL};
	double away_since = 0;
	initscr();
	cbreak();
	noecho();
	curs_set(0);
	keypad(stdscr, TRUE);
	timeout(100); /* getch waits at most 100 ms, so q is answered promptly */
	struct timespec last = {0, 0};
	for (;;) {
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		double elapsed =
		    (double)(now.tv_sec - last.tv_sec) + (double)(now.tv_nsec - last.tv_nsec) / 1e9;
		if (elapsed >= 1.0) {
			draw(cli, config, &state, &last_good, &away_since);
			last = now;
		}
		int key = getch();
		if (key == 'q' || key == 'Q')
			break;
		if (key == KEY_RESIZE)
			last = (struct timespec){0, 0};
	}
	endwin();
	frame_release(&last_good);
	json_decref(state.totals);
	json_decref(config);
	return CLI_OK;
}
