/*
 * What the collector knows, as an immutable snapshot that readers (the
 * control socket, the HTTP endpoint, the analyses) use without ever making
 * the drain thread wait.
 *
 * The drain thread is the only writer of aggregated state. It builds a new
 * snapshot (periodically, and promptly when a reader asks for a fresh one;
 * drain.c and snapshot_build.c) and publishes it with a release exchange
 * (agp_collector_publish); readers call agp_snapshot_read_begin() (an RCU
 * read-side section and an acquire load), read, agp_snapshot_read_end().
 * The old snapshot is freed after a grace period (call_rcu), so a reader
 * holding it never sees it change or vanish.
 *
 * Closed time windows are immutable compact histograms shared between
 * successive snapshots by reference count, so publishing costs the agents'
 * counters plus an encoding of each series' current (open) window, not a
 * copy of the whole history.
 */
#ifndef AGP_COLLECTOR_SNAPSHOT_H
#define AGP_COLLECTOR_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <agentperf/agent.h>
#include <agentperf/metrics.h>

#include "shm/abi.h"
#include "shm/counter_audit.h"
#include "hdr/sparse.h"

struct agp_hdr;

enum agp_agent_state {
	AGP_AGENT_LIVE = 0,     /* its process runs and its slot is LIVE */
	AGP_AGENT_DRAINING = 1, /* closed or dead; samples still in its ring */
	AGP_AGENT_DEAD = 2,     /* closed or dead and drained; slot being reclaimed */
};
const char *agp_agent_state_name(enum agp_agent_state state);

/*
 * One occupant of a slot, with exact accounting: written == aggregated + invalid + discarded +
 * late + dropped + pending (+ earlier, taken by a previous collector).
 */
struct agp_snapshot_agent {
	uint32_t slot;
	uint32_t generation;
	int32_t pid;
	enum agp_agent_state state;
	bool quarantined; /* its ring indices were scribbled; never read again */
	enum agp_lie lie; /* its counters are impossible: kept out of the totals */
	char name[AGP_AGENT_NAME_MAX + 1];
	char type[AGP_AGENT_TYPE_MAX + 1];
	uint64_t written;
	uint64_t aggregated;
	uint64_t invalid;
	uint64_t dropped;
	uint64_t pending;
	uint64_t earlier;
	uint64_t discarded; /* drained but kept out of the aggregates by the config */
	uint64_t late;      /* valid, but older than the oldest retained window */
	uint64_t reclaimed; /* of the slot's previous occupant, discarded by this one's claim (in
	                       the totals' lost_on_reclaim, not in this agent's written) */
	double samples_per_second; /* over the last rate interval */
	uint64_t first_seen_ns;
	uint64_t last_sample_ns;
};

/*
 * A time window of one series: [start_ns, end_ns) on the deployment clock.
 *
 * Either encoded (raw, corrected) or, for a closed (agent type, metric)
 * window, derived: the sum of the type's per-agent windows in raw_parts
 * (and corrected_parts), with raw and corrected NULL. Read it through
 * agp_snapshot_window_merge() and agp_snapshot_window_summary(), which
 * handle both forms. Every histogram is shared and immutable, and the
 * snapshot holds one reference to each.
 */
struct agp_snapshot_window {
	uint64_t start_ns;
	uint64_t end_ns;
	const struct agp_sparse_hist *raw; /* NULL: no samples, or derived */
	const struct agp_sparse_hist
	    *corrected; /* NULL unless the metric has an expected interval, or derived */
	const struct agp_sparse_hist *const *raw_parts; /* derived: the agents' windows */
	size_t raw_part_count;
	const struct agp_sparse_hist *const *corrected_parts; /* in the same order */
	size_t corrected_part_count;
};

/* Whether the window holds any sample (encoded or derived). */
static inline bool agp_snapshot_window_has_samples(const struct agp_snapshot_window *window)
{
	return window->raw || window->raw_part_count;
}

/*
 * Adds the window's raw (or, with corrected, its coordinated-omission
 * corrected) counts and sums into histogram, whichever form the window has.
 * 0 (also when it has none), or -EPROTO for a damaged encoding.
 */
int agp_snapshot_window_merge(const struct agp_snapshot_window *window, bool corrected,
                              struct agp_hdr *histogram);

/*
 * The summary (count, clamped, min, max, exact sums) of the window's raw
 * samples: -ENOENT when it holds none, -EPROTO for a damaged encoding
 * (summary untouched on failure).
 */
int agp_snapshot_window_summary(const struct agp_snapshot_window *window,
                                struct agp_sparse_summary *summary);

/*
 * One aggregation key: (agent type, metric) when agent is "", or
 * (agent, metric) for the per-agent series.
 */
struct agp_snapshot_series {
	char agent_type[AGP_AGENT_TYPE_MAX + 1];
	char agent[AGP_AGENT_NAME_MAX + 1];
	uint16_t metric_id;
	enum agp_unit unit;
	char metric[AGP_METRIC_NAME_MAX + 1];
	uint64_t expected_interval_ns; /* 0: no coordinated-omission correction */
	uint64_t total_count;          /* every sample since the collector started */
	uint64_t clamped;              /* samples beyond the histogram range, clamped */
	uint64_t failed_count;         /* samples flagged AGP_RECORD_FAILED (not TIMEOUT) */
	uint64_t timeout_count;        /* samples flagged AGP_RECORD_TIMEOUT */
	size_t window_count;           /* oldest first; the last one is the open window */
	struct agp_snapshot_window *windows;
};

/* A threshold violation as raised by the drain thread. */
struct agp_alert {
	uint64_t time_ns;     /* deployment clock */
	int64_t wall_time_ms; /* Unix time in milliseconds */
	uint16_t metric_id;
	enum agp_unit unit; /* the metric's registered unit: value's and threshold's */
	char metric[AGP_METRIC_NAME_MAX + 1];
	char agent_type[AGP_AGENT_TYPE_MAX + 1];
	char agent[AGP_AGENT_NAME_MAX + 1];
	uint64_t task_id;
	int64_t value;     /* in unit (ns, bytes, a count) */
	int64_t threshold; /* in unit */
	char level[16];    /* "warning", "critical" or "regression" */
	uint64_t
	    suppressed;    /* repeats swallowed by the cooldown since the last alert of this key */
	uint64_t sequence; /* 1, 2, ... in the order the drain thread raised them */
};

struct agp_snapshot_totals {
	uint64_t written, aggregated, invalid, dropped, pending, earlier;
	/*
	 * Drained but not aggregated: every sample while monitoring.enabled is
	 * false, and (series_refused of them) those that needed a new series when
	 * max_metrics_in_memory series were held.
	 */
	uint64_t discarded, series_refused;
	uint64_t late; /* valid samples older than the oldest retained window: not aggregated */
	/*
	 * In written, never drained: pending in the ring of an occupant that left
	 * before we read it (drain.c says when); written = aggregated + invalid +
	 * discarded + late + dropped + pending + earlier + lost_on_reclaim.
	 */
	uint64_t lost_on_reclaim;
	/* The retained closed windows' encodings (series_memory.h), as of the last rotation. */
	uint64_t retained_window_bytes;
	uint64_t alerts;
	uint64_t agents_live;
	uint64_t quarantined_slots;
	uint64_t lying_agents; /* listed or departed; their figures are not in the sums above */
	double samples_per_second;
};

struct agp_snapshot {
	uint64_t generation; /* increases with every publish */
	uint64_t taken_ns;   /* deployment clock */
	int64_t taken_wall_ms;
	uint64_t collector_started_ns;
	int32_t collector_pid;
	char deployment[AGP_DEPLOYMENT_NAME_MAX + 1];
	struct agp_snapshot_totals totals;
	size_t agent_count;
	struct agp_snapshot_agent *agents;
	size_t series_count;
	struct agp_snapshot_series *series;
	size_t alert_count; /* the most recent alerts, oldest first */
	struct agp_alert *alerts;
	uint64_t alerts_raised; /* sequence number of the newest alert, 0 when none yet */
	/* The layout of every window histogram, for agp_snapshot_histogram_create(). */
	int64_t histogram_lowest;
	int64_t histogram_highest;
	int histogram_significant_figures;
};

/* Unix time now, in milliseconds. */
int64_t agp_wall_time_ms(void);

/* A zeroed snapshot, and its release (drops the shared windows' references). */
struct agp_snapshot *agp_snapshot_alloc(void);
void agp_snapshot_free(struct agp_snapshot *snapshot);

/* Finds a series; agent NULL or "" gives the (agent type, metric) series. */
const struct agp_snapshot_series *agp_snapshot_find_series(const struct agp_snapshot *snapshot,
                                                           const char *agent_type,
                                                           const char *agent, const char *metric);

/* A histogram (agp_hdr_create) with the layout of the snapshot's windows. */
int agp_snapshot_histogram_create(const struct agp_snapshot *snapshot, struct agp_hdr **out);

/*
 * Merges the windows of series that overlap [since_ns, until_ns) into
 * histogram (which the caller created with the collector's histogram
 * configuration and reset). corrected selects the coordinated-omission
 * corrected histograms (-ENOENT when the series has none).
 */
int agp_snapshot_merge_windows(const struct agp_snapshot_series *series, uint64_t since_ns,
                               uint64_t until_ns, bool corrected, struct agp_hdr *histogram);

#endif
