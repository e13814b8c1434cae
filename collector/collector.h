/*
 * The collector: owns the deployment's segment for its lifetime, drains
 * every ring on one thread, and publishes what it aggregated as RCU
 * snapshots (snapshot.h) for every other thread.
 *
 * Threads: the drain thread (the only writer of aggregated state); any
 * number of reader threads (control socket, HTTP, analyses) that call
 * agp_collector_refresh() and read snapshots under rcu_read_lock().
 */
#ifndef AGP_COLLECTOR_COLLECTOR_H
#define AGP_COLLECTOR_COLLECTOR_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <urcu-bp.h>

#include <agentperf/agent.h>

#include "collector/analysis/quantile_test.h"
#include "collector/config/config.h"
#include "shm/ring_consumer.h"
#include "shm/segment.h"
#include "collector/drain/snapshot.h"

struct agp_collector_drain; /* the drain thread's private state (drain.c) */
struct agp_clock_service;   /* re-anchors the deployment clock (clock_service.h) */

struct agp_collector_options {
	const char *deployment;            /* NULL: $AGENTPERF_NAME, then "default" */
	struct agp_segment_layout layout;  /* used only when the collector creates the segment */
	int histogram_significant_figures; /* default 3 */
	int64_t histogram_lowest;          /* default 1 */
	int64_t histogram_highest;         /* default 3600e9 (1 h in ns) */
	uint64_t publish_interval_ns;      /* periodic snapshots; default 250 ms */
};

void agp_collector_options_default(struct agp_collector_options *options);

/*
 * What the drain thread tests closed (agent type, metric) windows against
 * (baseline regression, collector/analysis/quantile_test.h): one reference
 * per baseline entry with percentiles, by metric id and agent type.
 */
struct agp_regression_limit {
	uint16_t metric_id;
	char agent_type[AGP_AGENT_TYPE_MAX + 1];
	struct agp_quantile_reference reference;
};

#define AGP_REGRESSION_LIMITS_MAX 512 /* a baseline's entries at most */

struct agp_regression_limits {
	size_t count;
	struct agp_regression_limit limit[AGP_REGRESSION_LIMITS_MAX];
	struct rcu_head rcu;
};

struct agp_collector {
	struct agp_segment segment;
	struct agp_config config;
	struct agp_collector_options options;
	bool created_segment;
	uint64_t started_ns;
	int segment_guard;               /* collector/drain/segment_guard.h: truncation survived */
	uint64_t segment_faults_handled; /* drain thread only */
	struct agp_clock_service *clock; /* segment.clock reads its copy of the conversion */

	struct agp_collector_drain *drain; /* drain thread only */
	pthread_t drain_thread;
	_Atomic bool drain_running; /* read by refresh callers on any thread */
	_Atomic bool stop_requested;

	/*
	 * The newest snapshot and the regression limits from the baseline:
	 * published with a release exchange, read with acquire inside an RCU
	 * read-side section, freed after a grace period.
	 */
	struct agp_snapshot *_Atomic snapshot;
	struct agp_regression_limits *_Atomic regression;

	_Atomic uint64_t refresh_requested; /* readers bump it to ask for a fresh snapshot */
	_Atomic uint32_t drain_wake; /* futex word: readers bump and wake the idle drain thread */
	_Atomic uint64_t
	    refresh_served; /* the drain thread's answer: requests up to here are served */
};

/*
 * Creates the segment (or attaches an existing one, which agents may have
 * made) and claims it: -EBUSY when another live collector serves it.
 * config is copied. Messages through agp_last_error().
 */
int agp_collector_open(struct agp_collector *collector, const struct agp_collector_options *options,
                       const struct agp_config *config);

/* Starts the drain thread; publishes a first snapshot before returning. */
int agp_collector_start(struct agp_collector *collector);

/* Stops the drain thread after a final drain and publish. */
void agp_collector_stop(struct agp_collector *collector);

/* Releases the segment claim (the segment itself stays for agents); unlink removes its name. */
void agp_collector_close(struct agp_collector *collector, bool unlink_segment);

/*
 * Asks the drain thread for a snapshot that includes everything drained
 * up to now and waits for it up to timeout_ms. 0, or -ETIMEDOUT.
 */
int agp_collector_refresh(struct agp_collector *collector, int timeout_ms);

/*
 * Enters a read-side section and returns the newest snapshot (never NULL
 * once started); agp_snapshot_read_end() leaves it. The snapshot stays
 * valid and unchanged in between; do not block for long inside.
 */
const struct agp_snapshot *agp_snapshot_read_begin(struct agp_collector *collector);
void agp_snapshot_read_end(const struct agp_snapshot *snapshot);

/* The same for the regression limits (NULL when no baseline set any). */
const struct agp_regression_limits *agp_regression_read_begin(struct agp_collector *collector);
void agp_regression_read_end(const struct agp_regression_limits *limits);

/* Drain thread: makes snapshot the newest; the previous one is freed after a grace period. */
void agp_collector_publish(struct agp_collector *collector, struct agp_snapshot *snapshot);

/* Replaces the regression limits (NULL: none); the collector frees the old after a grace period. */
void agp_collector_set_regression_limits(struct agp_collector *collector,
                                         struct agp_regression_limits *limits);

#endif
