/*
 * Aggregation series: one per (agent type, metric) and one per (agent,
 * metric). Each series holds its open time window and a ring of closed
 * windows in compact form (sparse_hist.h) that covers the retention period.
 *
 * An (agent type, metric) series receives exactly the samples of its
 * agents' (agent, metric) series, so storing its closed windows as well
 * would keep every sample twice. At rotation the per-agent series close
 * first, and a type series' closed window becomes a list of references to
 * its agents' just-closed windows (derived) instead of an encoding of its
 * own. A per-agent series is removed only after a whole retention period
 * without samples, and the references keep its windows alive anyway, so
 * nothing inside the retention is lost. When the counts disagree (samples
 * recorded into the type series alone, or an agent whose series could not
 * be created), the type series encodes its own window as before.
 *
 * Windows go by the sample's own timestamp, not by when it was drained:
 * window k is [k * window_ns, (k + 1) * window_ns) on the deployment clock,
 * so anyone can compute which window a timestamp belongs to. The drain asks
 * agp_series_table_place() where a sample goes: into the open window; into
 * a closed window that is still retained (the retention's window_capacity
 * windows before the open one), as an amendment (agp_series_record_closed)
 * that agp_series_table_fold() adds to that window's encoding before the
 * next rotation or snapshot; or nowhere, when it is older than the
 * retention (late: the drain counts it) or lies at or beyond the open
 * window's end (ahead: the drain holds it until the rotation).
 *
 * The open window starts as a short array of raw values and becomes a
 * dense HDR histogram only when it outgrows that array. A dense histogram
 * of the default range is 270 KB of counters and touches a few pages per
 * binary order of magnitude its values span; most series of a deployment
 * see a handful of samples per window, so staging keeps their cost to the
 * array. Encoding a staged window goes through one scratch histogram that
 * the whole table shares.
 *
 * Memory is bounded for any run length: the ring has a fixed capacity, and
 * a per-agent series that saw nothing for a whole retention period is
 * removed. Only the drain thread touches a series table.
 */
#ifndef AGP_COLLECTOR_SERIES_H
#define AGP_COLLECTOR_SERIES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <agentperf/agent.h>
#include <agentperf/metrics.h>
#include <agentperf/record.h>

#include "common/map.h"
#include "hdr/histogram.h"
#include "hdr/sparse.h"

/* Raw values an open window holds before it becomes a dense histogram. */
#define AGP_SERIES_STAGED_MAX 1024

/*
 * The per-agent windows a derived (agent type, metric) window sums: hist[0,
 * count) are the raw windows of the agents that had samples, and, when
 * corrected is set, hist[count, 2 * count) their corrected windows in the
 * same order. Each entry holds one reference.
 */
struct agp_series_parts {
	uint32_t count;
	bool corrected;
	struct agp_sparse_hist *hist[];
};

/* A closed window: encoded (raw, corrected) or derived (parts); all NULL when empty. */
struct agp_series_window {
	uint64_t start_ns;
	uint64_t end_ns;
	struct agp_sparse_hist *raw;       /* NULL: no samples, or derived */
	struct agp_sparse_hist *corrected; /* NULL: none, no expected interval, or derived */
	struct agp_series_parts *parts;    /* non-NULL only for a derived window with samples */
};

struct agp_series {
	char agent_type[AGP_AGENT_TYPE_MAX + 1];
	char agent[AGP_AGENT_NAME_MAX + 1]; /* "" for the (agent type, metric) series */
	uint16_t metric_id;
	enum agp_unit unit;
	char metric[AGP_METRIC_NAME_MAX + 1];
	uint64_t expected_interval_ns;

	/* The open window: staged values, or (once promoted) the dense histogram. */
	uint32_t staged_count;
	int64_t *staged;         /* AGP_SERIES_STAGED_MAX values, allocated on first use */
	struct agp_hdr *current; /* NULL until the window outgrows the staging array */
	struct agp_hdr *current_corrected; /* dense from the start; NULL without an interval */
	uint64_t window_count_open;        /* samples in the open window */

	uint64_t total_count;
	uint64_t clamped; /* samples above the histogram's range, recorded at its top */
	/*
	 * Samples flagged by the agent since the collector started: timeout_count
	 * those with AGP_RECORD_TIMEOUT, failed_count those with AGP_RECORD_FAILED
	 * and not TIMEOUT, so that the two never count one task twice.
	 */
	uint64_t failed_count;
	uint64_t timeout_count;
	uint64_t lost; /* samples that found no memory to be recorded in */
	uint64_t last_sample_ns;
	/* Samples of closed windows waiting for agp_series_table_fold(); NULL when none. */
	struct agp_series_amendments *amendments;

	struct agp_series_window *windows; /* ring of closed windows, oldest at first_window */
	size_t first_window;
	size_t window_count;

	/*
	 * Used during agp_series_table_rotate only: on a type series, the chain
	 * of its agents' series closed in this rotation (through rotate_next),
	 * the samples their closed windows hold and how many of them have any;
	 * rotate_mismatch is set when an agent's series cannot be summed into it.
	 */
	struct agp_series *rotate_first;
	struct agp_series *rotate_next;
	uint64_t rotate_samples;
	uint32_t rotate_parts;
	bool rotate_mismatch;
};

/* A sample of a closed window, and the list of them a series keeps until the next fold. */
struct agp_series_amendment {
	uint64_t window_start_ns;
	int64_t value;
};
struct agp_series_amendments {
	uint32_t count;
	uint32_t capacity;
	struct agp_series_amendment entry[];
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
	struct agp_map map;       /* (agent type, agent, metric id) -> struct agp_series *, owned */
	uint64_t window_start_ns; /* start of the open window: a multiple of window_ns */
	/*
	 * Per-agent series removed so far: whoever keeps pointers to series
	 * (the drain's slot trackers) drops them when this has changed.
	 */
	uint64_t removals;
	struct agp_hdr *scratch; /* for encoding staged windows */
	/* The series with amendments waiting (each listed once), for agp_series_table_fold(). */
	struct agp_series **amended;
	size_t amended_count;
	size_t amended_capacity;
};

/* The open window is the one that holds now_ns. */
int agp_series_table_init(struct agp_series_table *table, const struct agp_series_params *params,
                          uint64_t now_ns);
void agp_series_table_destroy(struct agp_series_table *table);

/* The number of series in the table. */
static inline size_t agp_series_table_count(const struct agp_series_table *table)
{
	return agp_map_count(&table->map);
}

/* The series for (agent_type, agent, metric), or NULL when there is none. */
struct agp_series *agp_series_find(const struct agp_series_table *table, const char *agent_type,
                                   const char *agent, uint16_t metric_id);

/* Finds or creates the series for (agent_type, agent, metric); NULL when out of memory. */
struct agp_series *agp_series_get(struct agp_series_table *table, const char *agent_type,
                                  const char *agent, uint16_t metric_id, enum agp_unit unit,
                                  const char *metric, uint64_t expected_interval_ns);

/* Slow path of agp_series_record: allocates the staging array or promotes to dense. */
void agp__series_record_slow(struct agp_series_table *table, struct agp_series *series,
                             int64_t value);

/* Where a sample of a timestamp goes (see the top of this file). */
enum agp_series_place {
	AGP_SERIES_OPEN,   /* the open window */
	AGP_SERIES_CLOSED, /* a retained closed window: agp_series_record_closed() */
	AGP_SERIES_LATE,   /* before the oldest retained window: counted, not recorded */
	AGP_SERIES_AHEAD,  /* at or after the open window's end: wait for the rotation */
};

static inline enum agp_series_place agp_series_table_place(const struct agp_series_table *table,
                                                           uint64_t timestamp_ns)
{
	const struct agp_series_params *p = &table->params;
	if (timestamp_ns - table->window_start_ns < p->window_ns) /* wraps below the start */
		return AGP_SERIES_OPEN;
	if (timestamp_ns >= table->window_start_ns)
		return AGP_SERIES_AHEAD;
	uint64_t retained_ns = p->window_ns * p->window_capacity;
	uint64_t oldest =
	    table->window_start_ns > retained_ns ? table->window_start_ns - retained_ns : 0;
	return timestamp_ns >= oldest ? AGP_SERIES_CLOSED : AGP_SERIES_LATE;
}

/*
 * Adds a sample of timestamp_ns to the retained closed window it belongs to
 * (agp_series_table_place() said AGP_SERIES_CLOSED): it waits in the
 * series' amendments until agp_series_table_fold(). Without memory for it,
 * it is counted in series->lost.
 */
void agp_series_record_closed(struct agp_series_table *table, struct agp_series *series,
                              int64_t value, uint64_t timestamp_ns, uint64_t now_ns);

/*
 * Adds every waiting amendment to its closed window: the window (created if
 * the series had none for that period) gets a new encoding of its own with
 * the samples it had and the new ones; the old encoding stays valid for
 * whoever still holds it (snapshots). Rotation and snapshots fold first.
 * Amendments that find no memory are counted in their series' lost.
 */
void agp_series_table_fold(struct agp_series_table *table);

/* Adds one sample to the open window. */
static inline void agp_series_record(struct agp_series_table *table, struct agp_series *series,
                                     int64_t value, uint64_t now_ns)
{
	if (series->current)
		agp_hdr_record(series->current, value);
	else if (series->staged && series->staged_count < AGP_SERIES_STAGED_MAX)
		series->staged[series->staged_count++] = value;
	else
		agp__series_record_slow(table, series, value);
	if (series->current_corrected)
		agp_hdr_record_corrected(series->current_corrected, value,
		                         (int64_t)series->expected_interval_ns);
	series->window_count_open++;
	series->total_count++;
	series->clamped += (uint64_t)value > (uint64_t)table->params.highest;
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
 * Encodes the open window (NULLs when it is empty); the series keeps it
 * open. 0 or -ENOMEM (nothing returned).
 */
int agp_series_encode_open(struct agp_series_table *table, struct agp_series *series,
                           struct agp_sparse_hist **raw, struct agp_sparse_hist **corrected);

/*
 * Folds the amendments, then closes the open window when now_ns has passed its end: every per-agent
 * series' open window becomes a compact closed window, then every type
 * series' a derived one (or its own encoding, see above); the oldest beyond
 * the capacity are dropped, idle per-agent series are removed. Returns the
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

/* Whether a closed window holds any sample (encoded or derived). */
static inline bool agp_series_window_has_samples(const struct agp_series_window *window)
{
	return window->raw || window->parts;
}

/*
 * Adds a closed window's raw (or, with corrected, its coordinated-omission
 * corrected) counts into histogram, whichever way the window is stored.
 * 0 (also for an empty window), or -EPROTO for a damaged encoding.
 */
int agp_series_window_merge(const struct agp_series_window *window, bool corrected,
                            struct agp_hdr *histogram);

/*
 * Calls visit for every series, in the order they were created except that
 * a removal moves the last one into its place; stops early when visit
 * returns non-zero and returns that.
 */
int agp_series_table_visit(struct agp_series_table *table,
                           int (*visit)(struct agp_series *series, void *context), void *context);

#endif
