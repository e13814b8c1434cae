#include "snapshot.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hdr_histogram.h"

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
			agp_sparse_hist_unref(series->windows[w].raw);
			agp_sparse_hist_unref(series->windows[w].corrected);
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

int agp_snapshot_merge_windows(const struct agp_snapshot_series *series, uint64_t since_ns,
                               uint64_t until_ns, bool corrected, struct agp_hdr *histogram)
{
	if (corrected && !series->expected_interval_ns)
		return -ENOENT;
	for (size_t w = 0; w < series->window_count; w++) {
		const struct agp_snapshot_window *window = &series->windows[w];
		if (window->end_ns <= since_ns || window->start_ns >= until_ns)
			continue;
		const struct agp_sparse_hist *hist = corrected ? window->corrected : window->raw;
		if (!hist)
			continue;
		int error = agp_sparse_hist_merge_into(hist, histogram);
		if (error)
			return error;
	}
	return 0;
}
