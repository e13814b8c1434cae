#include "tools/top_layout.h"

#include <stdio.h>
#include <string.h>

/* Figures keep their width; the names get what is left, type before metric. */
static const int figure_width[TOP_COLUMNS] = {
    [TOP_RATE] = 8, [TOP_P50] = 9,   [TOP_P95] = 9,   [TOP_P99] = 9,
    [TOP_MAX] = 9,  [TOP_DROPS] = 6, [TOP_LEVEL] = 8,
};
#define TYPE_MIN   6
#define TYPE_MAX   28
#define METRIC_MIN 8
#define METRIC_MAX 40

void top_layout_for(int columns, int rows, struct top_layout *layout)
{
	if (columns < TOP_MIN_COLUMNS)
		columns = TOP_MIN_COLUMNS;
	if (rows < TOP_MIN_ROWS)
		rows = TOP_MIN_ROWS;
	memset(layout, 0, sizeof(*layout));
	layout->width[TOP_RATE] = figure_width[TOP_RATE];
	layout->width[TOP_P50] = figure_width[TOP_P50];
	layout->width[TOP_P99] = figure_width[TOP_P99];
	/* Narrow: "crit"/"warn"; drops and the extra percentiles only where they fit. */
	layout->width[TOP_LEVEL] = columns < 80 ? 4 : figure_width[TOP_LEVEL];
	if (columns >= 80)
		layout->width[TOP_DROPS] = figure_width[TOP_DROPS];
	if (columns >= 120) {
		layout->width[TOP_P95] = figure_width[TOP_P95];
		layout->width[TOP_MAX] = figure_width[TOP_MAX];
	}
	int used = 0, shown = 2; /* the two names */
	for (int c = TOP_RATE; c < TOP_COLUMNS; c++)
		if (layout->width[c]) {
			used += layout->width[c];
			shown++;
		}
	int names = columns - used - (shown - 1);
	int type = names / 3;
	type = type < TYPE_MIN ? TYPE_MIN : type > TYPE_MAX ? TYPE_MAX : type;
	int metric = names - type;
	metric = metric < METRIC_MIN ? METRIC_MIN : metric > METRIC_MAX ? METRIC_MAX : metric;
	layout->width[TOP_TYPE] = type;
	layout->width[TOP_METRIC] = metric;

	bool tall = rows >= 20;
	layout->header_rows = tall ? 4 : 3;
	layout->alert_rows = tall ? 5 : 2;
	layout->series_rows = rows - layout->header_rows - layout->alert_rows;
}

int top_layout_row_width(const struct top_layout *layout)
{
	int width = 0, shown = 0;
	for (int c = 0; c < TOP_COLUMNS; c++)
		if (layout->width[c]) {
			width += layout->width[c];
			shown++;
		}
	return shown ? width + shown - 1 : 0;
}

void top_fit(const char *text, int width, bool right_aligned, bool utf8, char *out, size_t size)
{
	if (width <= 0 || size == 0) {
		if (size)
			out[0] = '\0';
		return;
	}
	int length = (int)strlen(text);
	if (length > width) {
		/* width - 1 characters and the ellipsis: one column either way. */
		snprintf(out, size, "%.*s%s", width - 1, text, utf8 ? "\u2026" : "~");
		return;
	}
	snprintf(out, size, right_aligned ? "%*s" : "%-*s", width, text);
}

const char *top_level_text(const char *level, int width)
{
	if (width >= 8)
		return level;
	if (strcmp(level, "critical") == 0)
		return "crit";
	if (strcmp(level, "warning") == 0)
		return "warn";
	return level;
}
