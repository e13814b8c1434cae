/*
 * Prometheus text exposition (format 0.0.4) of what the collector knows.
 *
 * Families (all prefixed agentperf_, base units only):
 *   agentperf_duration_seconds       histogram of every nanosecond metric
 *   agentperf_size_bytes             histogram of every byte metric (memory_usage)
 *   agentperf_sample_value           histogram of every plain-count metric
 *     labels agent_type, metric (and agent when per-agent series are on)
 *   agentperf_corrected_duration_seconds, agentperf_corrected_size_bytes,
 *   agentperf_corrected_sample_value   the same for the coordinated-omission corrected
 *     histograms of the metrics with an expected interval (only those series); the three
 *     families above stay the raw samples, as recorded
 *   agentperf_samples_written_total, _aggregated_total, _dropped_total,
 *   agentperf_records_invalid_total, agentperf_alerts_total   counters
 *   agentperf_samples_clamped_total{agent_type,metric}        counter
 *   agentperf_samples_pending, agentperf_agents_live, agentperf_slots_quarantined gauges
 *   agentperf_agents_lying gauge (listed or departed liars: shm/counter_audit.h)
 *   agentperf_health_level (0 unknown .. 5 critical) and agentperf_health{level=...} (state set)
 *   agentperf_baseline_* gauges, only when a baseline exists
 *
 * Why the bucket counters are cumulative since the collector started and
 * never go down: the collector keeps a ring of closed windows over the
 * retention period and drops the oldest. A histogram merged from the ring
 * would make _bucket and _count fall whenever a window expires, which
 * rate() would misread as a counter reset. So the exporter keeps, per
 * series, its own cumulative count per bucket bound: every closed window is
 * added exactly once (windows are identified by their start, which only
 * increases), and a scrape shows those sums plus the open window. The
 * services tick feeds closed windows in every 100 ms, far more often than
 * windows expire, so no window is missed. Counters restart from zero with
 * the collector, which Prometheus handles as an ordinary counter reset. A series the
 * collector removed (a per-agent series idle for a whole retention period) is forgotten
 * here too, so memory stays bounded with agent churn.
 *
 * A sample falls into the bucket le="b" when the lowest value of its HDR
 * bucket is <= b (its HDR bucket index is <= the index of b). No sample
 * <= b is ever left out; a sample up to one HDR bucket width above b (0.1 %
 * of b with 3 significant figures) may be counted in it. The _sum is exact
 * (the histograms keep exact running sums).
 *
 * Thread safety: an exporter has its own mutex; any thread may call update
 * and render with a snapshot it holds under rcu_read_lock(). Snapshots must
 * reach one exporter in generation order; a snapshot older than one already
 * seen is refused with -ESTALE (the caller takes the current one and
 * retries), which keeps every counter monotonic.
 */
#ifndef AGP_COLLECTOR_PROMETHEUS_H
#define AGP_COLLECTOR_PROMETHEUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <agentperf/metrics.h>

#include "collector/analysis/baseline.h"
#include "collector/config/config.h"
#include "collector/drain/snapshot.h"

#define AGP_PROM_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"
/* Most bucket bounds of one unit (without +Inf). */
#define AGP_PROM_BOUNDS_MAX 64

/* Bucket bounds in base units (seconds, bytes, plain counts), strictly increasing, > 0. */
struct agp_prom_bounds {
	size_t count;
	double value[AGP_PROM_BOUNDS_MAX];
};

struct agp_prom_options {
	struct agp_prom_bounds duration_seconds;
	struct agp_prom_bounds size_bytes;
	struct agp_prom_bounds sample_value;
	bool per_agent; /* also export the (agent, metric) series, with an agent label */
	/* The collector's histogram layout (agp_collector_options), to read its windows. */
	int64_t histogram_lowest;
	int64_t histogram_highest;
	int histogram_significant_figures;
	/* Average coordination overhead over this trailing period gives the health level. */
	uint64_t health_period_ns;
};

/*
 * Defaults: log-spaced 1-2.5-5 bounds (100 us .. 60 s, 1 MiB .. 16 GiB, 1 .. 10^6) with every
 * warning, critical and max-acceptable threshold of cfg added, so that alerting rules on
 * the thresholds are exact bucket boundaries. Histogram layout as the collector's defaults;
 * health over the last 30 minutes (the window of the seed's validation).
 */
void agp_prom_options_default(struct agp_prom_options *options, const struct agp_config *cfg);

/*
 * Parses "b1,b2,..." (numbers in base units) into bounds, sorted and deduplicated.
 * 0, or -EINVAL with err naming the item that is not a positive number or the count
 * over AGP_PROM_BOUNDS_MAX. bounds untouched on failure.
 */
int agp_prom_parse_bounds(const char *text, struct agp_prom_bounds *bounds, char *err,
                          size_t errlen);

struct agp_prom_exporter;

/* 0 and *out, or -EINVAL (bad options, message via agp_last_error()) / -ENOMEM. */
int agp_prom_exporter_create(const struct agp_prom_options *options, const struct agp_config *cfg,
                             struct agp_prom_exporter **out);
void agp_prom_exporter_destroy(struct agp_prom_exporter *exporter);

/* Adds the snapshot's newly closed windows to the cumulative counts. 0, -ESTALE, -ENOMEM. */
int agp_prom_exporter_update(struct agp_prom_exporter *exporter,
                             const struct agp_snapshot *snapshot);

/*
 * Updates from snapshot, then writes the exposition into a malloc'ed, NUL-terminated
 * *text (*len without the NUL). baseline may be NULL (no baseline gauges). 0, -ESTALE,
 * -ENOMEM; outputs untouched on failure.
 */
int agp_prom_render(struct agp_prom_exporter *exporter, const struct agp_snapshot *snapshot,
                    const struct agp_baseline *baseline, char **text, size_t *len);

#endif
