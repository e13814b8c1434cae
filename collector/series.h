/*
 * Aggregation series: one per (agent type, metric) and one per (agent,
 * metric). Each series holds a dense histogram of the open time window (and
 * a coordinated-omission corrected twin when the metric declares an
 * expected interval) and a ring of closed windows in compact form that
 * covers the retention period. Memory is bounded for any run length: the
 * ring has a fixed capacity and a per-agent series that saw nothing for a
 * whole retention period is removed.
 *
 * Only the drain thread touches a series table.
 */
#ifndef AGP_COLLECTOR_SERIES_H
#define AGP_COLLECTOR_SERIES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <agentperf/agent.h>
#include <agentperf/metrics.h>
#include <agentperf/record.h>

#include "hdr_histogram.h"
#include "sparse_hist.h"

struct agp_series_window {
	uint64_t start_ns;
	uint64_t end_ns;
	struct agp_sparse_hist *raw;
	struct agp_sparse_hist *corrected;
};

struct agp_series {
	char agent_type[AGP_AGENT_TYPE_MAX + 1];
	char agent[AGP_AGENT_NAME_MAX + 1]; /* "" for the (agent type, metric) series */
	uint16_t metric_id;
	enum agp_unit unit;
	char metric[AGP_METRIC_NAME_MAX + 1];
	uint64_t expected_interval_ns;

	struct agp_hdr *current;           /* the open window */
	struct agp_hdr *current_corrected; /* NULL without an expected interval */
	uint64_t total_count;
	uint64_t clamped; /* samples above the histogram's range, recorded at its top */
	/*
	 * Samples flagged by the agent since the collector started: timeout_count
	 * those with AGP_RECORD_TIMEOUT, failed_count those with AGP_RECORD_FAILED
	 * and not TIMEOUT, so that the two never count one task twice.
	 */
	uint64_t failed_count;
	uint64_t timeout_count;
	uint64_t last_sample_ns;

	struct agp_series_window *windows; /* ring of closed windows, oldest at first_window */
	size_t first_window;
	size_t window_count;

	struct agp_series *hash_next;
};

struct agp_series_params {
	int64_t lowest;
	int64_t highest;
	int significant_figures;
	uint64_t window_ns;     /* length of one window */
	size_t window_capacity; /* closed windows kept: retention / window length */
};

struct agp_series_table {
	struct agp_series_params params;
	struct agp_series **buckets;
	size_t bucket_count;
	size_t count;
	uint64_t window_start_ns; /* start of the open window */
};

int agp_series_table_init(struct agp_series_table *table, const struct agp_series_params *params,
                          uint64_t now_ns);
void agp_series_table_destroy(struct agp_series_table *table);

/* Finds or creates the series for (agent_type, agent, metric); NULL when out of memory. */
struct agp_series *agp_series_get(struct agp_series_table *table, const char *agent_type,
                                  const char *agent, uint16_t metric_id, enum agp_unit unit,
                                  const char *metric, uint64_t expected_interval_ns);

/* Adds one sample to the open window; counts clamping inside the histogram. */
static inline void agp_series_record(struct agp_series *series, int64_t value, uint64_t now_ns)
{
	agp_hdr_record(series->current, value);
	if (series->current_corrected)
		agp_hdr_record_corrected(series->current_corrected, value,
		                         (int64_t)series->expected_interval_ns);
	series->total_count++;
	series->clamped += (uint64_t)value > (uint64_t)series->current->highest_trackable_value;
	series->last_sample_ns = now_ns;
}

/* Counts a sample's failure flags (AGP_RECORD_FAILED / AGP_RECORD_TIMEOUT, record.h). */
static inline void agp_series_count_flags(struct agp_series *series, uint16_t flags)
{
	if (flags & AGP_RECORD_TIMEOUT)
		series->timeout_count++;
	else if (flags & AGP_RECORD_FAILED)
		series->failed_count++;
}

/*
 * Closes the open window when now_ns has passed its end: every series'
 * open histogram becomes a compact closed window, the oldest beyond the
 * capacity are dropped, idle per-agent series are removed. Returns the
 * number of windows closed (0 when the window is still open), or -ENOMEM.
 */
int agp_series_table_rotate(struct agp_series_table *table, uint64_t now_ns);

/* The i-th closed window of series, oldest first (i < series->window_count). */
static inline const struct agp_series_window *
agp_series_window_at(const struct agp_series_table *table, const struct agp_series *series,
                     size_t i)
{
	return &series->windows[(series->first_window + i) % table->params.window_capacity];
}

/* Calls visit for every series; stops early when visit returns non-zero and returns that. */
int agp_series_table_visit(struct agp_series_table *table,
                           int (*visit)(struct agp_series *series, void *context), void *context);

#endif
