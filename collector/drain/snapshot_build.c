#include "collector/drain/snapshot_build.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "collector/collector.h"

struct agp_snapshot *agp_snapshot_build_begin(const struct agp_collector *collector,
                                              uint64_t generation, uint64_t now_ns,
                                              size_t agent_capacity,
                                              const struct agp_series_table *table)
{
	struct agp_snapshot *snapshot = agp_snapshot_alloc();
	if (!snapshot)
		return NULL;
	snapshot->generation = generation;
	snapshot->taken_ns = now_ns;
	snapshot->taken_wall_ms = agp_wall_time_ms();
	snapshot->collector_started_ns = collector->started_ns;
	snapshot->collector_pid = getpid();
	memcpy(snapshot->deployment, collector->segment.deployment, sizeof(snapshot->deployment));
	snapshot->histogram_lowest = collector->options.histogram_lowest;
	snapshot->histogram_highest = collector->options.histogram_highest;
	snapshot->histogram_significant_figures = collector->options.histogram_significant_figures;

	size_t series_count = agp_series_table_count(table);
	snapshot->agents = calloc(agent_capacity, sizeof(*snapshot->agents));
	snapshot->series = calloc(series_count, sizeof(*snapshot->series));
	snapshot->alerts = calloc(AGP_ALERT_RING, sizeof(*snapshot->alerts));
	if (!snapshot->agents || (series_count && !snapshot->series) || !snapshot->alerts) {
		agp_snapshot_free(snapshot);
		return NULL;
	}
	return snapshot;
}

struct series_copy {
	struct agp_series_table *table;
	struct agp_snapshot *snapshot;
	uint64_t now_ns;
	int error;
};

/* The references a series' derived closed windows hold, which the copy keeps too. */
static size_t part_references(const struct agp_series_table *table, const struct agp_series *series)
{
	size_t references = 0;
	for (size_t i = 0; i < series->window_count; i++) {
		const struct agp_series_parts *parts =
		    agp_series_window_at(table, series, i)->parts;
		if (parts)
			references += parts->count * (parts->corrected ? 2u : 1u);
	}
	return references;
}

/* Shares a closed window; its part lists go to *pool, which moves past them. */
static void share_closed_window(const struct agp_series_window *window,
                                struct agp_snapshot_window *shared,
                                const struct agp_sparse_hist ***pool)
{
	/* Closed windows are immutable: the snapshot shares them by reference. */
	shared->start_ns = window->start_ns;
	shared->end_ns = window->end_ns;
	shared->raw = window->raw ? agp_sparse_hist_ref(window->raw) : NULL;
	shared->corrected = window->corrected ? agp_sparse_hist_ref(window->corrected) : NULL;
	const struct agp_series_parts *parts = window->parts;
	if (!parts)
		return;
	for (uint32_t k = 0; k < parts->count; k++)
		(*pool)[k] = agp_sparse_hist_ref(parts->hist[k]);
	shared->raw_parts = *pool;
	shared->raw_part_count = parts->count;
	*pool += parts->count;
	if (parts->corrected) {
		for (uint32_t k = 0; k < parts->count; k++)
			(*pool)[k] = agp_sparse_hist_ref(parts->hist[parts->count + k]);
		shared->corrected_parts = *pool;
		shared->corrected_part_count = parts->count;
		*pool += parts->count;
	}
}

static int copy_series(struct agp_series *series, void *context)
{
	struct series_copy *copy = context;
	struct agp_snapshot_series *out = &copy->snapshot->series[copy->snapshot->series_count];
	memcpy(out->agent_type, series->agent_type, sizeof(out->agent_type));
	memcpy(out->agent, series->agent, sizeof(out->agent));
	memcpy(out->metric, series->metric, sizeof(out->metric));
	out->metric_id = series->metric_id;
	out->unit = series->unit;
	out->expected_interval_ns = series->expected_interval_ns;
	out->total_count = series->total_count;
	out->clamped = series->clamped;
	out->failed_count = series->failed_count;
	out->timeout_count = series->timeout_count;
	const struct agp_series_table *table = copy->table;
	/* The derived windows' part lists live after the windows, in one block freed with them. */
	size_t windows_size = (series->window_count + 1) * sizeof(*out->windows);
	out->windows = calloc(1, windows_size + part_references(table, series) *
	                                            sizeof(struct agp_sparse_hist *));
	if (!out->windows)
		return copy->error = -ENOMEM;
	copy->snapshot->series_count++;

	const struct agp_sparse_hist **pool =
	    (const struct agp_sparse_hist **)((char *)out->windows + windows_size);
	for (size_t i = 0; i < series->window_count; i++)
		share_closed_window(agp_series_window_at(table, series, i),
		                    &out->windows[out->window_count++], &pool);
	/* The open window is still changing: the snapshot gets its own encoding of it. */
	struct agp_snapshot_window *open = &out->windows[out->window_count++];
	open->start_ns = table->window_start_ns;
	open->end_ns = copy->now_ns;
	struct agp_sparse_hist *raw, *corrected;
	if (agp_series_encode_open(copy->table, series, &raw, &corrected) != 0)
		return copy->error = -ENOMEM;
	open->raw = raw;
	open->corrected = corrected;
	return 0;
}

int agp_snapshot_build_series(struct agp_snapshot *snapshot, struct agp_series_table *table,
                              uint64_t now_ns)
{
	struct series_copy copy = {table, snapshot, now_ns, 0};
	/* Closed windows that received samples since the last snapshot show them. */
	agp_series_table_fold(table);
	agp_series_table_visit(table, copy_series, &copy);
	return copy.error;
}

void agp_snapshot_build_alerts(struct agp_snapshot *snapshot, const struct agp_alerting *alerting)
{
	snapshot->alert_count =
	    agp_alerting_copy_recent(alerting, snapshot->alerts, AGP_ALERT_RING);
	snapshot->alerts_raised = alerting->raised;
	snapshot->totals.alerts = alerting->raised;
}
