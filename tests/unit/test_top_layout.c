/*
 * The screen of `agentperf top` at every size from 60x12 to 300x80: every row
 * fits the width, the rows add up to the height, the names keep a readable
 * width and the figures theirs; text is cut with one ellipsis column.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "tools/top_layout.h"

static void every_size_fits(void **state)
{
	(void)state;
	for (int columns = TOP_MIN_COLUMNS; columns <= 300; columns++) {
		for (int rows = TOP_MIN_ROWS; rows <= 80; rows++) {
			struct top_layout layout;
			top_layout_for(columns, rows, &layout);
			assert_true(top_layout_row_width(&layout) <= columns);
			assert_int_equal(
			    layout.header_rows + layout.series_rows + layout.alert_rows, rows);
			assert_true(layout.series_rows >= 2);
			assert_true(layout.alert_rows >= 2); /* the title and at least one alert */
			assert_true(layout.width[TOP_TYPE] >= 6);
			assert_true(layout.width[TOP_METRIC] >= 8);
			/* A figure column holds what cli_format_value writes ("999.99 ms"). */
			assert_true(layout.width[TOP_P50] >= 9 && layout.width[TOP_P99] >= 9);
			assert_true(layout.width[TOP_LEVEL] >= 4);
		}
	}
}

static void wide_screens_show_more(void **state)
{
	(void)state;
	struct top_layout narrow, wide;
	top_layout_for(60, 12, &narrow);
	top_layout_for(200, 50, &wide);
	assert_int_equal(narrow.width[TOP_P95], 0);
	assert_int_equal(narrow.width[TOP_DROPS], 0);
	assert_true(wide.width[TOP_P95] > 0 && wide.width[TOP_MAX] > 0 &&
	            wide.width[TOP_DROPS] > 0);
	assert_true(wide.width[TOP_METRIC] > narrow.width[TOP_METRIC]);
	assert_true(wide.series_rows > narrow.series_rows);
	/* "coordination_overhead" (21) whole on an 80-column screen. */
	struct top_layout standard;
	top_layout_for(80, 24, &standard);
	assert_true(standard.width[TOP_METRIC] >= 21);
}

static void text_is_cut_with_an_ellipsis(void **state)
{
	(void)state;
	char out[64];
	top_fit("code-reviewer-with-a-long-name", 10, false, true, out, sizeof(out));
	assert_string_equal(out, "code-revi\u2026"); /* 9 columns and the ellipsis */
	top_fit("code-reviewer-with-a-long-name", 10, false, false, out, sizeof(out));
	assert_string_equal(out, "code-revi~");
	top_fit("ok", 4, false, true, out, sizeof(out));
	assert_string_equal(out, "ok  ");
	top_fit("1.2 ms", 9, true, true, out, sizeof(out));
	assert_string_equal(out, "   1.2 ms");
	top_fit("exactly10!", 10, false, true, out, sizeof(out));
	assert_string_equal(out, "exactly10!");
	assert_string_equal(top_level_text("critical", 4), "crit");
	assert_string_equal(top_level_text("warning", 4), "warn");
	assert_string_equal(top_level_text("critical", 8), "critical");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(every_size_fits),
	    cmocka_unit_test(wide_screens_show_more),
	    cmocka_unit_test(text_is_cut_with_an_ellipsis),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
