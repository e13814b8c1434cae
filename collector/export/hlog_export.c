#include "collector/export/hlog_export.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hdr/interval_log.h"
#include "common/error.h"
#include "hdr/sparse.h"

int agp_hlog_tag(const char *agent_type, const char *metric, char *out, size_t len)
{
	return agp_hlog_series_tag(agent_type, metric, false, out, len);
}

int agp_hlog_series_tag(const char *agent_type, const char *metric, bool corrected, char *out,
                        size_t len)
{
	int length = snprintf(out, len, "%s/%s%s", agent_type, metric,
	                      corrected ? AGP_HLOG_CORRECTED_SUFFIX : "");
	if (length < 0 || (size_t)length >= len)
		return -ENAMETOOLONG;
	return 0;
}

int64_t agp_hlog_wall_ms(const struct agp_snapshot *snapshot, uint64_t time_ns)
{
	int64_t delta_ns = (int64_t)(snapshot->taken_ns - time_ns);
	return snapshot->taken_wall_ms - delta_ns / 1000000;
}

struct line_ref {
	uint64_t start_ns;
	size_t series;
	size_t window;
	bool corrected; /* the window's coordinated-omission corrected histogram */
};

/* By start, then series, a series' raw line before its corrected one. */
static int compare_lines(const void *a, const void *b)
{
	const struct line_ref *x = a, *y = b;
	if (x->start_ns != y->start_ns)
		return x->start_ns < y->start_ns ? -1 : 1;
	if (x->series != y->series)
		return x->series < y->series ? -1 : 1;
	return (int)x->corrected - (int)y->corrected;
}

int agp_hlog_write_windows(FILE *out, const struct agp_snapshot *snapshot, const char *metric,
                           uint64_t since_ns, bool include_open, uint64_t base_ns,
                           struct agp_hdr *scratch, uint64_t *last_end_ns)
{
	size_t capacity = 0;
	for (size_t s = 0; s < snapshot->series_count; s++)
		capacity += 2 * snapshot->series[s].window_count; /* raw and corrected */
	struct line_ref *lines = calloc(capacity ? capacity : 1, sizeof(*lines));
	if (!lines)
		return -ENOMEM;
	size_t count = 0;
	for (size_t s = 0; s < snapshot->series_count; s++) {
		const struct agp_snapshot_series *series = &snapshot->series[s];
		if (series->agent[0] || (metric && metric[0] && strcmp(series->metric, metric)))
			continue;
		for (size_t w = 0; w < series->window_count; w++) {
			const struct agp_snapshot_window *window = &series->windows[w];
			bool open = w + 1 == series->window_count;
			struct agp_sparse_summary summary;
			if ((open && !include_open) || window->start_ns < since_ns ||
			    agp_snapshot_window_summary(window, &summary) != 0 ||
			    summary.total_count == 0)
				continue;
			lines[count++] = (struct line_ref){window->start_ns, s, w, false};
			if (series->expected_interval_ns)
				lines[count++] = (struct line_ref){window->start_ns, s, w, true};
		}
	}
	/* Java's readers expect intervals in time order across tags. */
	qsort(lines, count, sizeof(*lines), compare_lines);
	int error = 0;
	uint64_t latest_end = 0;
	for (size_t i = 0; i < count; i++) {
		const struct agp_snapshot_series *series = &snapshot->series[lines[i].series];
		const struct agp_snapshot_window *window = &series->windows[lines[i].window];
		char tag[AGP_HLOG_TAG_MAX];
		if (agp_hlog_series_tag(series->agent_type, series->metric, lines[i].corrected, tag,
		                        sizeof(tag)))
			continue;
		agp_hdr_reset(scratch);
		error = agp_snapshot_window_merge(window, lines[i].corrected, scratch);
		if (error)
			break;
		if (agp_hdr_count(scratch) == 0)
			continue; /* a window stored without its corrected form: nothing to say */
		/* Both on the deployment clock: the offset is exact, whatever the wall clock does.
		 */
		double start_s = ((double)window->start_ns - (double)base_ns) / 1e9;
		double length_s = (double)(window->end_ns - window->start_ns) / 1e9;
		double divisor = series->unit == AGP_UNIT_NANOSECONDS ? AGP_HLOG_NS_TO_MS : 1.0;
		error = agp_hlog_write_interval(out, tag, start_s, length_s, scratch, divisor);
		if (error == -EINVAL) {
			/* A tag with a comma or a space cannot be written; the others still can. */
			error = 0;
			continue;
		}
		if (error)
			break;
		if (window->end_ns > latest_end)
			latest_end = window->end_ns;
	}
	free(lines);
	if (error)
		return error;
	if (latest_end && last_end_ns)
		*last_end_ns = latest_end;
	return (int)count;
}

char *agp_hlog_export_layout(const struct agp_snapshot *snapshot, const char *metric,
                             uint64_t since_ns, int64_t lowest, int64_t highest,
                             int significant_figures, size_t *len)
{
	struct agp_hdr *scratch = NULL;
	int error = agp_hdr_create(lowest, highest, significant_figures, &scratch);
	if (error) {
		agp__error(error, "hlog export: histogram layout %lld..%lld, %d digits is invalid",
		           (long long)lowest, (long long)highest, significant_figures);
		return NULL;
	}
	char *text = NULL;
	size_t length = 0;
	FILE *out = open_memstream(&text, &length);
	if (!out) {
		agp__error(-ENOMEM, "hlog export: out of memory");
		goto destroy_scratch;
	}
	/* BaseTime is the start of the oldest window shown, so start times read as offsets. */
	uint64_t base_ns = snapshot->taken_ns;
	for (size_t s = 0; s < snapshot->series_count; s++)
		for (size_t w = 0; w < snapshot->series[s].window_count; w++) {
			uint64_t start = snapshot->series[s].windows[w].start_ns;
			if (start >= since_ns && start < base_ns)
				base_ns = start;
		}
	int64_t base_ms = agp_hlog_wall_ms(snapshot, base_ns);
	char comment[320];
	snprintf(comment, sizeof(comment), "agentperf deployment %s, metric %s; %s",
	         snapshot->deployment, metric && metric[0] ? metric : "(all)",
	         AGP_HLOG_TAGS_COMMENT);
	error = agp_hlog_write_header(out, comment, base_ms, base_ms);
	if (!error) {
		int lines = agp_hlog_write_windows(out, snapshot, metric, since_ns, true, base_ns,
		                                   scratch, NULL);
		error = lines < 0 ? lines : 0;
	}
	if (fclose(out) != 0 && !error)
		error = -EIO;
	if (error) {
		agp__error(error, "hlog export: writing the log failed");
		free(text);
		text = NULL;
		goto destroy_scratch;
	}
	*len = length;
destroy_scratch:
	agp_hdr_destroy(scratch);
	return text;
}

char *agp_hlog_export(const struct agp_snapshot *snapshot, const char *metric, uint64_t since_ns,
                      size_t *len)
{
	return agp_hlog_export_layout(snapshot, metric, since_ns, 1, INT64_C(3600000000000), 3,
	                              len);
}
