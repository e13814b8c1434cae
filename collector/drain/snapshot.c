#include "collector/drain/snapshot.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hdr/histogram.h"

const char *agp_agent_state_name(enum agp_agent_state state)
{
	switch (state) {
	case AGP_AGENT_LIVE:
		return "live";
	case AGP_AGENT_DRAINING:
		return "draining";
	case AGP_AGENT_DEAD:
		return "dead";
	}
	return "unknown";
}

int64_t agp_wall_time_ms(void)
{
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

struct agp_snapshot *agp_snapshot_alloc(void)
{
	return calloc(1, sizeof(struct agp_snapshot));
}

void agp_snapshot_free(struct agp_snapshot *snapshot)
{
	if (!snapshot)
		return;
	for (size_t s = 0; s < snapshot->series_count; s++) {
		struct agp_snapshot_series *series = &snapshot->series[s];
		for (size_t w = 0; w < series->window_count; w++) {
			const struct agp_snapshot_window *window = &series->windows[w];
			agp_sparse_hist_unref(window->raw);
			agp_sparse_hist_unref(window->corrected);
			for (size_t i = 0; i < window->raw_part_count; i++)
				agp_sparse_hist_unref(window->raw_parts[i]);
			for (size_t i = 0; i < window->corrected_part_count; i++)
				agp_sparse_hist_unref(window->corrected_parts[i]);
		}
		free(series->windows);
	}
	free(snapshot->series);
	free(snapshot->agents);
	free(snapshot->alerts);
	free(snapshot);
}

const struct agp_snapshot_series *agp_snapshot_find_series(const struct agp_snapshot *snapshot,
                                                           const char *agent_type,
                                                           const char *agent, const char *metric)
{
	const char *wanted_agent = agent ? agent : "";
	for (size_t s = 0; s < snapshot->series_count; s++) {
		const struct agp_snapshot_series *series = &snapshot->series[s];
		if (strcmp(series->agent_type, agent_type) == 0 &&
		    strcmp(series->agent, wanted_agent) == 0 && strcmp(series->metric, metric) == 0)
			return series;
	}
	return NULL;
}

int agp_snapshot_histogram_create(const struct agp_snapshot *snapshot, struct agp_hdr **out)
{
	return agp_hdr_create(snapshot->histogram_lowest, snapshot->histogram_highest,
	                      snapshot->histogram_significant_figures, out);
}

int agp_snapshot_window_merge(const struct agp_snapshot_window *window, bool corrected,
                              struct agp_hdr *histogram)
{
	const struct agp_sparse_hist *single = corrected ? window->corrected : window->raw;
	if (single)
		return agp_sparse_hist_merge_into(single, histogram);
	const struct agp_sparse_hist *const *parts =
	    corrected ? window->corrected_parts : window->raw_parts;
	size_t count = corrected ? window->corrected_part_count : window->raw_part_count;
	for (size_t i = 0; i < count; i++) {
		int error = agp_sparse_hist_merge_into(parts[i], histogram);
		if (error)
			return error;
	}
	return 0;
}

int agp_snapshot_window_summary(const struct agp_snapshot_window *window,
                                struct agp_sparse_summary *summary)
{
	if (window->raw)
		return agp_sparse_hist_summary(window->raw, summary);
	if (window->raw_part_count == 0)
		return -ENOENT;
	/* The summaries add up exactly: counts and sums add, extremes combine. */
	struct agp_sparse_summary total = {0, 0, INT64_MAX, 0, 0, 0};
	for (size_t i = 0; i < window->raw_part_count; i++) {
		struct agp_sparse_summary part;
		int error = agp_sparse_hist_summary(window->raw_parts[i], &part);
		if (error)
			return error;
		if (part.total_count == 0)
			continue;
		total.total_count += part.total_count;
		total.clamped_count += part.clamped_count;
		if (part.min_value < total.min_value)
			total.min_value = part.min_value;
		if (part.max_value > total.max_value)
			total.max_value = part.max_value;
		total.sum += part.sum;
		total.sum_squares += part.sum_squares;
	}
	*summary = total;
	return 0;
}

int agp_snapshot_merge_windows(const struct agp_snapshot_series *series, uint64_t since_ns,
                               uint64_t until_ns, bool corrected, struct agp_hdr *histogram)
{
	if (corrected && !series->expected_interval_ns)
		return -ENOENT;
	for (size_t w = 0; w < series->window_count; w++) {
		const struct agp_snapshot_window *window = &series->windows[w];
		if (window->end_ns <= since_ns || window->start_ns >= until_ns)
			continue;
		int error = agp_snapshot_window_merge(window, corrected, histogram);
		if (error)
			return error;
	}
	return 0;
}
