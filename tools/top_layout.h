/*
 * The screen of `agentperf top` for a terminal of any size from 60x12 up:
 * which columns it shows and how wide, how many rows go to the series and
 * to the alerts, and text fitted to a column (cut with an ellipsis, padded).
 * Pure functions: test_top_layout checks every size.
 */
#ifndef AGP_TOOLS_TOP_LAYOUT_H
#define AGP_TOOLS_TOP_LAYOUT_H

#include <stdbool.h>
#include <stddef.h>

enum top_column {
	TOP_TYPE,
	TOP_METRIC,
	TOP_RATE,
	TOP_P50,
	TOP_P95,
	TOP_P99,
	TOP_MAX,
	TOP_DROPS,
	TOP_LEVEL,
	TOP_COLUMNS
};

struct top_layout {
	int width[TOP_COLUMNS]; /* in terminal columns; 0: not shown */
	int header_rows; /* the collector's lines, a blank line on tall screens, the table header */
	int series_rows; /* rows for series (the last one says how many more when they do not fit)
	                  */
	int alert_rows;  /* the "recent alerts" title and the alerts under it */
};

/* The smallest screen the layout is made for; a smaller one gets the same layout, cut. */
#define TOP_MIN_COLUMNS 60
#define TOP_MIN_ROWS    12

void top_layout_for(int columns, int rows, struct top_layout *layout);

/* Columns one row of the table takes: the shown columns and one space between each two. */
int top_layout_row_width(const struct top_layout *layout);

/*
 * text fitted to width columns into out: cut with an ellipsis (U+2026 when
 * utf8, else '~') when longer, padded with spaces to width (on the left when
 * right_aligned). text is ASCII (names and figures). out must hold width * 3 + 1.
 */
void top_fit(const char *text, int width, bool right_aligned, bool utf8, char *out, size_t size);

/* The level as the column shows it: "critical", or "crit" when the column is narrow. */
const char *top_level_text(const char *level, int width);

#endif
