/*
 * The drain loop.
 *
 * One thread owns every consumer index and every aggregation structure, so
 * nothing it touches needs a lock. Each pass visits every slot:
 *
 *  1. Reads the slot's state and generation (acquire, pairing with the
 *     claimant's release of LIVE) to notice a new occupant, a close, or a
 *     slot we follow being reclaimed under us (only possible when the
 *     segment was served by nobody: the old occupant's figures are retired).
 *  2. Drains the ring in batches into a private buffer; every record is
 *     validated on its copy (shm/ring_consumer.c) and then aggregated into the
 *     (agent type, metric) and (agent, metric) series, in the window of its
 *     own timestamp (series.h), and checked against the thresholds. A record
 *     at or after the open window's end is held, with the rest of its batch,
 *     and the ring is not drained further until the rotation has opened its
 *     window; one older than the retention is counted as late.
 *  3. Checks liveness every LIVENESS_NS: the owner's lock on the slot
 *     (shm/slot.c), which the kernel drops when the owner dies. A dead or
 *     closed occupant is drained to empty, then its slot freed; a slot
 *     whose claimant died before going live is freed at once.
 *
 * At the end of a pass: the closed windows' amendments are folded in, the
 * open window is closed when the pass began after its end (so that every
 * sample stamped before it, in any ring, is in), and the held records are
 * placed. Between passes: a snapshot when one is due or asked for, and back-off: a pass that found
 * records is followed at once by another; idle passes sleep 20 us, doubling
 * up to 5 ms, which bounds idle CPU (a pass over 128 idle slots costs a few
 * microseconds). A reader that asks for a fresh snapshot wakes the sleeper
 * through a futex, so what it sees is never older than its request.
 *
 * Accounting per occupant is exact at every snapshot:
 *   written (tail + dropped) = aggregated + invalid + discarded + late + dropped + pending,
 * where discarded are valid samples the config kept out of the aggregates
 * (monitoring.enabled false, or the max_metrics_in_memory series limit), late
 * valid samples older than the retention's oldest window, and pending
 * includes the records held for a later window.
 * Occupants that left keep counting in the totals through `retired`, and
 * what was still pending in the ring when one left is lost_on_reclaim there:
 * a slot taken from us before we drained it (a scribbled state), the rings
 * of a truncated segment (as last read before the truncation), and what an
 * agent's claim discarded when it reclaimed a slot while no collector
 * served the segment (the claimant counts it into the slot: shm/slot.c;
 * we check it against the ring's size). A dead or closed occupant we
 * follow is always drained to empty before its slot is freed, so the
 * collector's own reclaim loses nothing; records it left held (taken out
 * of the ring, not yet placed) are counted late.
 *
 * Here: the loop and the slot tracking (including the agents' part of a
 * snapshot). Elsewhere: the rest of a snapshot (snapshot_build.c), the
 * per-sample threshold check (alerts/threshold.h) and the check of closed
 * windows against the baseline (alerts/regression.c).
 */
#include "collector/drain/drain.h"

#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <urcu-bp.h>

#include "collector/alerts/alerting.h"
#include "collector/alerts/regression.h"
#include "collector/alerts/threshold.h"
#include "collector/alerts/window_threshold.h"
#include "collector/collector.h"
#include "collector/drain/segment_guard.h"
#include "collector/drain/segment_replace.h"
#include "collector/drain/series.h"
#include "collector/drain/series_memory.h"
#include "collector/drain/snapshot_build.h"
#include "common/units.h"
#include "shm/clock.h"
#include "shm/registry.h"
#include "shm/slot.h"

#define BATCH             512
#define LIVENESS_NS       (50ull * 1000 * 1000)
#define RATE_INTERVAL_NS  (1000ull * 1000 * 1000)
#define IDLE_SLEEP_MIN_NS (20ull * 1000)
#define IDLE_SLEEP_MAX_NS (5ull * 1000 * 1000)
#define DEAD_SHOWN_NS     (60ull * 1000 * 1000 * 1000) /* a departed agent stays listed this long */
#define FINAL_PASSES_MAX  1000 /* agents still writing at shutdown cannot hold it forever */
#define FUTURE_SLACK_NS   (1000ull * 1000 * 1000) /* timestamps may lead our clock by this */

/* What the drain thread knows about one metric id, resolved once from the registry and config. */
struct metric_info {
	bool resolved;
	enum agp_unit unit;
	char name[AGP_METRIC_NAME_MAX + 1];
	uint64_t expected_interval_ns;
	int64_t warning;  /* 0: none */
	int64_t critical; /* 0: none */
};

struct slot_tracker {
	bool following; /* an occupant is (or was, while DEAD is shown) here */
	struct agp_ring_consumer consumer;
	enum agp_agent_state state;
	int32_t pid;
	char name[AGP_AGENT_NAME_MAX + 1];
	char type[AGP_AGENT_TYPE_MAX + 1];
	uint64_t dropped;
	uint64_t pending; /* tail - head when last read; with head and dropped, the written count */
	uint64_t discarded; /* drained, valid, not aggregated: monitoring off or the series limit */
	uint64_t late;      /* drained, valid, older than every retained window: not aggregated */
	struct agp_record
	    *held;           /* BATCH records at or after the open window's end, allocated once */
	uint32_t held_count; /* while non-zero the ring is not drained */
	uint64_t earlier;    /* records a previous collector took out before we adopted the agent */
	uint64_t reclaimed;  /* of the previous occupant, discarded by this one's claim */
	uint64_t first_seen_ns;
	uint64_t last_sample_ns;
	uint64_t departed_ns;
	uint64_t liveness_checked_ns; /* also paces the check of an abandoned claim */
	uint64_t rate_mark_count;
	uint64_t rate_mark_ns;
	double rate;
	struct agp_counter_audit audit;   /* shm/counter_audit.h */
	enum agp_lie lie;                 /* the first impossible counter seen; sticky */
	struct agp_series **type_series;  /* by metric id, allocated on first sample */
	struct agp_series **agent_series; /* by metric id */
	uint64_t series_removals_seen;    /* the table's removals when agent_series was valid */
};

struct retired_totals {
	uint64_t written, aggregated, invalid, dropped, earlier, discarded, late;
	uint64_t lost_on_reclaim; /* pending when they left: in written, never drained */
	uint64_t lying_agents;    /* who left lying; their figures are in none of the above */
};

struct agp_collector_drain {
	struct slot_tracker *trackers;
	uint32_t tracker_count;
	struct agp_metric_cache metric_cache;
	struct metric_info metrics[AGP_REGISTRY_CAPACITY];
	struct agp_series_table series;
	struct agp_alerting alerting;
	struct retired_totals retired;
	/* A truncated segment that no fresh one could replace yet (segment_replace.h). */
	bool replacement_due;
	uint64_t replacement_tried_ns;
	uint64_t replacement_fault_offset;
	/* What the config's monitoring switches ask of the drain (docs/config.md). */
	bool aggregating;           /* monitoring.enabled */
	bool per_sample_thresholds; /* enable_threshold_alerts and real_time_monitoring */
	bool window_thresholds;     /* enable_threshold_alerts without real_time_monitoring */
	uint64_t series_max;        /* monitoring.max_metrics_in_memory */
	uint64_t series_refused;    /* samples discarded because the table held series_max series */
	bool series_limit_hit;      /* series_for's last NULL was the limit (not out of memory) */
	uint32_t holding;           /* trackers with held records */
	uint64_t retained_window_bytes; /* series_memory.h, as of the last rotation */
	uint64_t published_generation;
	uint64_t last_publish_ns;
	uint64_t last_published_alert;
	struct agp_record buffer[BATCH];
};

static void sanitize_label(char *out, const char *in, size_t size)
{
	memcpy(out, in, size);
	out[size - 1] = '\0';
	/* Agent-written bytes end up in JSON, Prometheus labels and terminals: keep them printable.
	 */
	for (char *c = out; *c; c++)
		if ((unsigned char)*c < 0x20 || (unsigned char)*c > 0x7e || *c == '"' || *c == '\\')
			*c = '?';
}

int agp_drain_create(struct agp_collector *collector, struct agp_collector_drain **out)
{
	struct agp_collector_drain *drain = calloc(1, sizeof(*drain));
	if (!drain)
		return -ENOMEM;
	int error = -ENOMEM;
	drain->tracker_count = collector->segment.slot_count;
	drain->trackers = calloc(drain->tracker_count, sizeof(*drain->trackers));
	if (!drain->trackers)
		goto fail_drain;

	const struct agp_config *config = &collector->config;
	uint64_t window_ns = agp_config_window_ns(config);
	double retention_ns = config->monitoring.metric_retention_hours * 3600e9;
	size_t capacity = (size_t)(retention_ns / (double)window_ns);
	struct agp_series_params params = {
	    .lowest = collector->options.histogram_lowest,
	    .highest = collector->options.histogram_highest,
	    .significant_figures = collector->options.histogram_significant_figures,
	    .window_ns = window_ns,
	    .window_capacity = capacity ? capacity : 1,
	};
	error = agp_series_table_init(&drain->series, &params, collector->started_ns);
	if (error)
		goto fail_trackers;
	error = agp_alerting_init(&drain->alerting, config);
	if (error)
		goto fail_series;
	const struct agp_config_monitoring *monitoring = &config->monitoring;
	drain->aggregating = monitoring->enabled;
	drain->per_sample_thresholds =
	    monitoring->enable_threshold_alerts && monitoring->real_time_monitoring;
	drain->window_thresholds =
	    monitoring->enable_threshold_alerts && !monitoring->real_time_monitoring;
	drain->series_max = (uint64_t)monitoring->max_metrics_in_memory;
	*out = drain;
	return 0;

fail_series:
	agp_series_table_destroy(&drain->series);
fail_trackers:
	free(drain->trackers);
fail_drain:
	free(drain);
	return error;
}

void agp_drain_destroy(struct agp_collector_drain *drain)
{
	if (!drain)
		return;
	for (uint32_t i = 0; i < drain->tracker_count; i++) {
		free(drain->trackers[i].type_series);
		free(drain->trackers[i].agent_series);
		free(drain->trackers[i].held);
	}
	agp_alerting_destroy(&drain->alerting);
	agp_series_table_destroy(&drain->series);
	free(drain->trackers);
	free(drain);
}

/*
 * A `metrics` entry's thresholds are in one unit family (ms, MB or a count): for a metric
 * registered in another unit they would be compared in the wrong unit, so they are refused,
 * and said so once (a metric is resolved once per collector).
 */
static bool thresholds_fit_unit(const struct agp_config *config,
                                const struct agp_metric_info *entry)
{
	const struct agp_config_metric *configured = agp_config_metric_find(config, entry->name);
	if (!configured || configured->unit == AGP_CONFIG_UNIT_NONE ||
	    agp_config_threshold_wire_unit(configured->unit) == entry->unit)
		return true;
	fprintf(stderr,
	        "agentperfd: WARNING - config: metrics.%s: thresholds in %s, but the metric is "
	        "registered in %s: its thresholds are ignored\n",
	        entry->name, agp_unit_seed_name(agp_config_threshold_wire_unit(configured->unit)),
	        agp_unit_name(entry->unit));
	return false;
}

static __attribute__((noinline)) const struct metric_info *
resolve_metric_slow(struct agp_collector *collector, struct agp_collector_drain *drain, uint16_t id)
{
	struct metric_info *info = &drain->metrics[id];
	struct agp_metric_info entry;
	if (!agp_registry_lookup(&collector->segment, id, &entry))
		return NULL; /* the consumer checked it; a scribbled registry still must not hurt us
		              */
	info->unit = entry.unit;
	memcpy(info->name, entry.name, sizeof(info->name));
	uint64_t configured = agp_config_expected_interval_ns(&collector->config, entry.name);
	info->expected_interval_ns = configured ? configured : entry.expected_interval_ns;
	uint64_t warning = 0, critical = 0;
	if (agp_config_metric_thresholds(&collector->config, entry.name, &warning, &critical) ==
	        0 &&
	    thresholds_fit_unit(&collector->config, &entry)) {
		info->warning = warning > INT64_MAX ? INT64_MAX : (int64_t)warning;
		info->critical = critical > INT64_MAX ? INT64_MAX : (int64_t)critical;
	}
	info->resolved = true;
	return info;
}

/* Held records were taken out of the ring (they are in head, not in pending). */
static uint64_t tracker_written(const struct slot_tracker *tracker)
{
	return tracker->consumer.head + tracker->pending + tracker->dropped;
}

/* Moves a departing occupant's figures into the totals of those who left. */
static void retire(struct agp_collector *collector, struct agp_collector_drain *drain,
                   struct slot_tracker *tracker)
{
	if (tracker->lie != AGP_LIE_NONE) {
		drain->retired.lying_agents++;
	} else {
		drain->retired.written += tracker_written(tracker);
		drain->retired.aggregated += tracker->consumer.consumed;
		drain->retired.invalid += tracker->consumer.invalid;
		drain->retired.dropped += tracker->dropped;
		drain->retired.earlier += tracker->earlier;
		drain->retired.discarded += tracker->discarded;
		/* Records still held (a reclaim or a truncation) will not be placed: late. */
		drain->retired.late += tracker->late + tracker->held_count;
		drain->retired.lost_on_reclaim += tracker->pending;
	}
	drain->holding -= tracker->held_count != 0;
	tracker->held_count = 0;
	free(tracker->type_series);
	free(tracker->agent_series);
	free(tracker->held);
	tracker->held = NULL;
	tracker->type_series = tracker->agent_series = NULL;
	tracker->following = false;
}

/*
 * What the occupant's claim says it discarded of the slot's previous
 * occupant (shm/slot.c): a departed agent we never followed, counted as
 * retired, written and lost. Agent-written: more than a ring's worth is a
 * lie, and the occupant's figures are kept apart. A collector that adopts
 * the occupant again after a restart counts it again, as it counts
 * `earlier`: each collector's figures are its own.
 */
static void count_reclaimed(struct agp_collector *collector, struct agp_collector_drain *drain,
                            struct slot_tracker *tracker, const struct agp_slot *slot)
{
	/* Plain: written while CLAIMING, before the release of LIVE that visit_slot acquired. */
	uint64_t reclaimed = slot->reclaimed_pending;
	tracker->lie = agp_counter_audit_reclaimed(reclaimed, collector->segment.ring_capacity);
	if (tracker->lie != AGP_LIE_NONE)
		return;
	tracker->reclaimed = reclaimed;
	drain->retired.written += reclaimed;
	drain->retired.lost_on_reclaim += reclaimed;
}

static void follow(struct slot_tracker *tracker, struct agp_slot *slot, uint32_t index,
                   uint32_t generation, uint64_t now_ns)
{
	agp_ring_consumer_init(&tracker->consumer, index, generation);
	/*
	 * An agent that was recording before we started (a collector restart)
	 * has records a previous collector already took: start where it left
	 * off. Acquire pairs with that collector's release of the head. A new
	 * agent's head is 0 (reset before its release of LIVE). The drain
	 * checks the tail against this head, so a scribbled head quarantines.
	 */
	tracker->earlier = atomic_load_explicit(&slot->head, memory_order_acquire);
	tracker->consumer.head = tracker->earlier;
	tracker->following = true;
	tracker->state = AGP_AGENT_LIVE;
	tracker->pid = slot->pid;
	sanitize_label(tracker->name, slot->name, sizeof(tracker->name));
	sanitize_label(tracker->type, slot->type, sizeof(tracker->type));
	tracker->dropped = 0;
	tracker->pending = 0;
	tracker->discarded = 0;
	tracker->late = 0;
	tracker->reclaimed = 0;
	tracker->first_seen_ns = now_ns;
	tracker->last_sample_ns = 0;
	tracker->departed_ns = 0;
	tracker->liveness_checked_ns = now_ns;
	tracker->rate_mark_count = 0;
	tracker->rate_mark_ns = now_ns;
	tracker->rate = 0;
	agp_counter_audit_init(&tracker->audit);
	tracker->lie = AGP_LIE_NONE;
}

/*
 * A rotation removes per-agent series idle for a whole retention period,
 * also those of an agent that is still here: its cached pointers to them
 * go before its next batch, and a sample of such a metric gets a new
 * series. Type series are never removed.
 */
static void forget_removed_series(struct agp_collector_drain *drain, struct slot_tracker *tracker)
{
	if (tracker->series_removals_seen == drain->series.removals)
		return;
	tracker->series_removals_seen = drain->series.removals;
	if (tracker->agent_series)
		memset(tracker->agent_series, 0,
		       AGP_REGISTRY_CAPACITY * sizeof(*tracker->agent_series));
}

/*
 * Per sample, resolve_metric and series_for give the cached answer inline
 * and leave the first lookup to a function of its own, which keeps the
 * drain loop small enough for the compiler to keep it in one piece.
 */
static inline const struct metric_info *
resolve_metric(struct agp_collector *collector, struct agp_collector_drain *drain, uint16_t id)
{
	const struct metric_info *info = &drain->metrics[id];
	return __builtin_expect(info->resolved, 1) ? info
	                                           : resolve_metric_slow(collector, drain, id);
}

/*
 * NULL when out of memory, or (series_limit_hit set) when the series does not
 * exist and the table already holds max_metrics_in_memory series.
 */
static __attribute__((noinline)) struct agp_series *
series_for_slow(struct agp_collector_drain *drain, struct slot_tracker *tracker, bool per_agent,
                uint16_t id, const struct metric_info *info)
{
	struct agp_series ***table = per_agent ? &tracker->agent_series : &tracker->type_series;
	if (!*table) {
		*table = calloc(AGP_REGISTRY_CAPACITY, sizeof(**table));
		if (!*table)
			return NULL;
	}
	if (!(*table)[id]) {
		const char *agent = per_agent ? tracker->name : "";
		struct agp_series *found =
		    agp_series_find(&drain->series, tracker->type, agent, id);
		if (!found && agp_series_table_count(&drain->series) >= drain->series_max) {
			drain->series_limit_hit = true;
			return NULL;
		}
		(*table)[id] =
		    found ? found
		          : agp_series_get(&drain->series, tracker->type, agent, id, info->unit,
		                           info->name, info->expected_interval_ns);
	}
	return (*table)[id];
}

static inline struct agp_series *series_for(struct agp_collector_drain *drain,
                                            struct slot_tracker *tracker, bool per_agent,
                                            uint16_t id, const struct metric_info *info)
{
	struct agp_series **cached = per_agent ? tracker->agent_series : tracker->type_series;
	if (__builtin_expect(cached && cached[id], 1))
		return cached[id];
	return series_for_slow(drain, tracker, per_agent, id, info);
}

/*
 * Aggregates a record into the window of its timestamp, where (not AHEAD)
 * is agp_series_table_place()'s answer for it. Inlined, so that the drain's
 * copy for the open window (a constant where) has no test of it at all.
 */
static inline __attribute__((always_inline)) void
aggregate(struct agp_collector *collector, struct agp_collector_drain *drain,
          struct slot_tracker *tracker, const struct agp_record *record,
          enum agp_series_place where, uint64_t now_ns)
{
	if (where == AGP_SERIES_LATE) {
		/* Its window left the retention: counted, neither aggregated nor checked. */
		tracker->consumer.consumed--;
		tracker->late++;
		return;
	}
	const struct metric_info *info = resolve_metric(collector, drain, record->metric_id);
	struct agp_series *by_type =
	    info ? series_for(drain, tracker, false, record->metric_id, info) : NULL;
	struct agp_series *by_agent =
	    by_type ? series_for(drain, tracker, true, record->metric_id, info) : NULL;
	if (!by_type || !by_agent) {
		/*
		 * The series limit, out of memory or a registry scribbled after validation:
		 * the sample is lost, and counted.
		 */
		tracker->consumer.consumed--;
		if (drain->series_limit_hit) {
			drain->series_limit_hit = false;
			tracker->discarded++;
			drain->series_refused++;
		} else {
			tracker->consumer.invalid++;
		}
		return;
	}
	if (where == AGP_SERIES_OPEN) {
		agp_series_record(&drain->series, by_type, record->value, now_ns);
		agp_series_record(&drain->series, by_agent, record->value, now_ns);
	} else {
		agp_series_record_closed(&drain->series, by_type, record->value,
		                         record->timestamp_ns, now_ns);
		agp_series_record_closed(&drain->series, by_agent, record->value,
		                         record->timestamp_ns, now_ns);
	}
	if (record->flags) {
		agp_series_count_flags(by_type, record->flags);
		agp_series_count_flags(by_agent, record->flags);
	}
	tracker->last_sample_ns = now_ns;

	enum agp_alert_level level;
	int64_t threshold;
	if (!drain->per_sample_thresholds ||
	    !agp_threshold_violated(record->value, info->warning, info->critical, &level,
	                            &threshold))
		return;
	struct agp_alert_source source = {
	    record->metric_id, info->unit,      info->name, tracker->type,
	    tracker->name,     record->task_id, now_ns};
	agp_alerting_raise(&drain->alerting, &source, level, record->value, threshold);
}

/* The rare placements (a closed window, late), out of the drain loop's way. */
static __attribute__((noinline)) void
aggregate_elsewhere(struct agp_collector *collector, struct agp_collector_drain *drain,
                    struct slot_tracker *tracker, const struct agp_record *record,
                    enum agp_series_place where, uint64_t now_ns)
{
	aggregate(collector, drain, tracker, record, where, now_ns);
}

/*
 * Keeps records (the rest of a batch, from the first at or after the open
 * window's end) until the rotation has opened their window. They count as
 * pending meanwhile. Without memory for them they are lost, as invalid.
 */
static void hold(struct agp_collector_drain *drain, struct slot_tracker *tracker,
                 const struct agp_record *records, size_t count)
{
	tracker->consumer.consumed -= count;
	if (!tracker->held && !(tracker->held = malloc(BATCH * sizeof(*tracker->held)))) {
		tracker->consumer.invalid += count;
		return;
	}
	memcpy(tracker->held, records, count * sizeof(*records));
	tracker->held_count = (uint32_t)count;
	drain->holding++;
}

/* Places the held records whose window is open now; those still ahead stay held. */
static void place_held(struct agp_collector *collector, struct agp_collector_drain *drain,
                       struct slot_tracker *tracker, uint64_t now_ns)
{
	forget_removed_series(drain, tracker); /* the rotation may have removed some */
	uint32_t placed = 0;
	for (; placed < tracker->held_count; placed++) {
		const struct agp_record *record = &tracker->held[placed];
		enum agp_series_place where =
		    agp_series_table_place(&drain->series, record->timestamp_ns);
		if (where == AGP_SERIES_AHEAD)
			break;
		tracker->consumer
		    .consumed++; /* taken back from pending; aggregate() may refuse it */
		aggregate_elsewhere(collector, drain, tracker, record, where, now_ns);
	}
	tracker->held_count -= placed;
	memmove(tracker->held, tracker->held + placed,
	        tracker->held_count * sizeof(*tracker->held));
	drain->holding -= tracker->held_count == 0;
}

/*
 * Drains one occupant's ring: until it is empty, but at most one ring's
 * worth per visit, so that an agent recording as fast as we drain cannot
 * hold the pass (and every other slot) forever, and not while it holds
 * records for a later window. The future-timestamp bound
 * is taken from the clock at each batch, not once per pass: a record
 * stamped after the pass began is not from the future.
 */
static uint64_t drain_ring(struct agp_collector *collector, struct agp_collector_drain *drain,
                           struct slot_tracker *tracker, uint64_t now_ns)
{
	uint64_t taken = 0;
	if (tracker->held_count)
		return 0;
	forget_removed_series(drain, tracker);
	while (taken < collector->segment.ring_capacity) {
		uint64_t head_before = tracker->consumer.head;
		uint64_t limit_ns = agp_clock_read(&collector->segment.clock) + FUTURE_SLACK_NS;
		size_t valid =
		    agp_ring_drain_spsc(&collector->segment, &drain->metric_cache,
		                        &tracker->consumer, limit_ns, drain->buffer, BATCH);
		if (drain->aggregating) {
			size_t i = 0;
			for (; i < valid; i++) {
				const struct agp_record *record = &drain->buffer[i];
				enum agp_series_place where =
				    agp_series_table_place(&drain->series, record->timestamp_ns);
				if (__builtin_expect(where == AGP_SERIES_OPEN, 1)) {
					aggregate(collector, drain, tracker, record,
					          AGP_SERIES_OPEN, now_ns);
					continue;
				}
				if (where == AGP_SERIES_AHEAD)
					break;
				aggregate_elsewhere(collector, drain, tracker, record, where,
				                    now_ns);
			}
			if (i < valid) {
				hold(drain, tracker, &drain->buffer[i], valid - i);
				taken += tracker->consumer.head - head_before;
				break;
			}
		} else {
			/* monitoring.enabled is false: taken out of the ring so that it never
			 * fills, counted, never aggregated nor checked. */
			tracker->consumer.consumed -= valid;
			tracker->discarded += valid;
		}
		uint64_t advanced = tracker->consumer.head - head_before;
		taken += advanced;
		if (advanced < BATCH)
			break;
	}
	return taken;
}

static void check_liveness(const struct agp_segment *segment, struct slot_tracker *tracker,
                           uint32_t index, uint64_t now_ns)
{
	if (now_ns - tracker->liveness_checked_ns < LIVENESS_NS)
		return;
	tracker->liveness_checked_ns = now_ns;
	if (!agp_slot_owner_alive(segment, index))
		tracker->state = AGP_AGENT_DRAINING;
}

static void update_rate(struct slot_tracker *tracker, uint64_t now_ns)
{
	uint64_t elapsed = now_ns - tracker->rate_mark_ns;
	if (elapsed < RATE_INTERVAL_NS)
		return;
	uint64_t count = tracker->consumer.head;
	tracker->rate = (double)(count - tracker->rate_mark_count) * 1e9 / (double)elapsed;
	tracker->rate_mark_count = count;
	tracker->rate_mark_ns = now_ns;
}

/* True once the segment guard absorbed a truncation this drain has not handled yet. */
static bool segment_truncated(struct agp_collector *collector, uint64_t *fault_offset)
{
	return agp_segment_guard_faults(collector->segment_guard, fault_offset) !=
	       collector->segment_faults_handled;
}

/*
 * Takes the dropped count read before the drain only once it is possible
 * (shm/counter_audit.h); the tail it is checked against is head + pending,
 * read after it. A lying occupant keeps its last possible figures. Zeros
 * read from a truncated segment are no agent's lie: the pass ends, and the
 * truncation is handled (survive_truncation).
 */
static void audit_counters(struct agp_collector *collector, struct slot_tracker *tracker,
                           uint64_t dropped)
{
	uint64_t fault_offset;
	if (segment_truncated(collector, &fault_offset))
		return;
	if (tracker->lie == AGP_LIE_NONE && tracker->consumer.quarantined)
		tracker->lie = AGP_LIE_INDICES;
	if (tracker->lie != AGP_LIE_NONE)
		return;
	tracker->lie = agp_counter_audit_dropped(
	    &tracker->audit, dropped, tracker->consumer.head + tracker->pending,
	    collector->segment.ring_capacity, agp_clock_read(&collector->segment.clock));
	if (tracker->lie == AGP_LIE_NONE)
		tracker->dropped = dropped;
}

static uint64_t visit_slot(struct agp_collector *collector, struct agp_collector_drain *drain,
                           uint32_t index, uint64_t now_ns)
{
	struct slot_tracker *tracker = &drain->trackers[index];
	struct agp_slot *slot = agp_segment_slot(&collector->segment, index);
	/* Acquire: pairs with the claimant's release of LIVE (identity and zeroed indices visible).
	 */
	uint32_t state = atomic_load_explicit(&slot->state, memory_order_acquire);
	/* Relaxed: the generation was written before the state's release we just acquired. */
	uint32_t generation = atomic_load_explicit(&slot->generation, memory_order_relaxed);
	bool occupied = state == AGP_SLOT_LIVE || state == AGP_SLOT_CLOSED;

	bool taken_from_us = false;
	if (tracker->following && tracker->state != AGP_AGENT_DEAD &&
	    (!occupied || generation != tracker->consumer.generation)) {
		/*
		 * Taken from us before we drained it (a scribbled state, or a claim that
		 * raced with our start): what we knew as pending is lost on reclaim.
		 */
		retire(collector, drain, tracker);
		taken_from_us = true;
	}
	if (occupied && (!tracker->following || generation != tracker->consumer.generation)) {
		if (tracker->following)
			retire(collector, drain, tracker); /* a DEAD entry still shown */
		follow(tracker, slot, index, generation, now_ns);
		/* A claim that took the slot from us: its count is the one we just retired. */
		if (!taken_from_us)
			count_reclaimed(collector, drain, tracker, slot);
	}
	if (state == AGP_SLOT_CLAIMING &&
	    (!tracker->following || tracker->state == AGP_AGENT_DEAD) &&
	    now_ns - tracker->liveness_checked_ns >= LIVENESS_NS) {
		tracker->liveness_checked_ns = now_ns;
		agp_slot_free_abandoned_claim(&collector->segment, index);
	}
	if (!tracker->following)
		return 0;
	if (tracker->state == AGP_AGENT_DEAD) {
		if (now_ns - tracker->departed_ns > DEAD_SHOWN_NS)
			retire(collector, drain, tracker);
		return 0;
	}

	if (state == AGP_SLOT_CLOSED)
		tracker->state = AGP_AGENT_DRAINING;
	else
		check_liveness(&collector->segment, tracker, index, now_ns);
	/* Acquire: pairs with the producer's release of a drop; see audit_counters. */
	uint64_t dropped = atomic_load_explicit(&slot->dropped_hot, memory_order_acquire);
	uint64_t head_before = tracker->consumer.head;
	uint64_t taken = drain_ring(collector, drain, tracker, now_ns);
	uint64_t pending = agp_ring_pending(&collector->segment, &tracker->consumer);
	uint64_t fault_offset;
	if (segment_truncated(collector, &fault_offset)) {
		/* Read after the fault, the tail is zeros: keep what we knew, less what we took. */
		uint64_t took = tracker->consumer.head - head_before;
		tracker->pending = tracker->pending > took ? tracker->pending - took : 0;
	} else {
		tracker->pending = pending;
	}
	audit_counters(collector, tracker, dropped);
	update_rate(tracker, now_ns);

	if (tracker->state == AGP_AGENT_DRAINING && tracker->pending == 0 &&
	    tracker->held_count == 0) {
		/* Re-read dropped: the agent may have dropped samples after our first read, before
		 * dying. */
		audit_counters(collector, tracker,
		               atomic_load_explicit(&slot->dropped_hot, memory_order_acquire));
		if (agp_slot_release(&collector->segment, index, tracker->consumer.generation)) {
			tracker->state = AGP_AGENT_DEAD;
			tracker->departed_ns = now_ns;
		}
	}
	return taken;
}

/*
 * After a truncation every occupant is quarantined with what was last read
 * and retired (what it had pending then is lost on reclaim: its ring is
 * gone), the metric caches are forgotten (the fresh registry assigns its
 * own ids), and the segment is replaced (segment_replace.h). When that
 * fails (an agent truncating the fresh one again and again), the drain
 * serves the zero pages and tries again every REPLACE_RETRY_NS.
 */
#define REPLACE_RETRY_NS (1000ull * 1000 * 1000)

static void survive_truncation(struct agp_collector *collector, struct agp_collector_drain *drain,
                               uint64_t now_ns)
{
	uint64_t fault_offset = 0;
	collector->segment_faults_handled =
	    agp_segment_guard_faults(collector->segment_guard, &fault_offset);
	uint32_t lost = 0;
	for (uint32_t index = 0; index < drain->tracker_count; index++) {
		struct slot_tracker *tracker = &drain->trackers[index];
		if (!tracker->following)
			continue;
		lost += tracker->state != AGP_AGENT_DEAD;
		tracker->consumer.quarantined = true;
		retire(collector, drain, tracker);
	}
	memset(&drain->metric_cache, 0, sizeof(drain->metric_cache));
	memset(drain->metrics, 0, sizeof(drain->metrics));
	bool retrying = drain->replacement_due;
	drain->replacement_due =
	    agp_segment_replace(&collector->segment, collector->options.layout.group,
	                        retrying ? drain->replacement_fault_offset : fault_offset, lost,
	                        retrying) != 0;
	drain->replacement_tried_ns = now_ns;
	if (!retrying)
		drain->replacement_fault_offset = fault_offset;
}

static void rotate_windows(struct agp_collector *collector, struct agp_collector_drain *drain,
                           uint64_t now_ns);

uint64_t agp_drain_pass(struct agp_collector *collector, struct agp_collector_drain *drain,
                        uint64_t now_ns)
{
	uint64_t taken = 0;
	uint64_t fault_offset;
	if (drain->replacement_due) {
		/* The range holds zero pages: nothing to drain until a fresh segment is in. */
		if (now_ns - drain->replacement_tried_ns >= REPLACE_RETRY_NS ||
		    segment_truncated(collector, &fault_offset))
			survive_truncation(collector, drain, now_ns);
		return 0;
	}
	for (uint32_t index = 0; index < drain->tracker_count; index++) {
		if (segment_truncated(collector, &fault_offset))
			break; /* what the slots hold now is zeros: handled below, not drained */
		taken += visit_slot(collector, drain, index, now_ns);
	}
	if (segment_truncated(collector, &fault_offset))
		survive_truncation(collector, drain, now_ns);
	/*
	 * now_ns was read before the pass: a window that ended by then closes
	 * only now that every ring was drained up to it (rotation folds the
	 * closed windows' amendments first). Then the held records go to the
	 * window just opened, or stay held.
	 */
	rotate_windows(collector, drain, now_ns);
	for (uint32_t index = 0; drain->holding && index < drain->tracker_count; index++)
		if (drain->trackers[index].held_count)
			place_held(collector, drain, &drain->trackers[index], now_ns);
	return taken;
}

/* The agents' part of a snapshot ---------------------------------------------------------- */

static void snapshot_agent(const struct slot_tracker *tracker, uint32_t index,
                           struct agp_snapshot_agent *out)
{
	out->slot = index;
	out->generation = tracker->consumer.generation;
	out->pid = tracker->pid;
	out->state = tracker->state;
	out->quarantined = tracker->consumer.quarantined;
	out->lie = tracker->lie;
	memcpy(out->name, tracker->name, sizeof(out->name));
	memcpy(out->type, tracker->type, sizeof(out->type));
	out->written = tracker_written(tracker);
	out->aggregated = tracker->consumer.consumed;
	out->invalid = tracker->consumer.invalid;
	out->dropped = tracker->dropped;
	out->pending = tracker->pending + tracker->held_count;
	out->earlier = tracker->earlier;
	out->discarded = tracker->discarded;
	out->late = tracker->late;
	out->reclaimed = tracker->reclaimed;
	out->samples_per_second = tracker->state == AGP_AGENT_DEAD ? 0 : tracker->rate;
	out->first_seen_ns = tracker->first_seen_ns;
	out->last_sample_ns = tracker->last_sample_ns;
}

/* The rest of the snapshot is built in snapshot_build.c. */
static int build_snapshot(struct agp_collector *collector, struct agp_collector_drain *drain,
                          uint64_t now_ns, struct agp_snapshot **out)
{
	struct agp_snapshot *snapshot = agp_snapshot_build_begin(
	    collector, ++drain->published_generation, now_ns, drain->tracker_count, &drain->series);
	if (!snapshot)
		return -ENOMEM;

	struct agp_snapshot_totals *totals = &snapshot->totals;
	totals->written = drain->retired.written;
	totals->aggregated = drain->retired.aggregated;
	totals->invalid = drain->retired.invalid;
	totals->dropped = drain->retired.dropped;
	totals->earlier = drain->retired.earlier;
	totals->discarded = drain->retired.discarded;
	totals->late = drain->retired.late;
	totals->lost_on_reclaim = drain->retired.lost_on_reclaim;
	totals->retained_window_bytes = drain->retained_window_bytes;
	totals->series_refused = drain->series_refused;
	totals->lying_agents = drain->retired.lying_agents;
	for (uint32_t index = 0; index < drain->tracker_count; index++) {
		const struct slot_tracker *tracker = &drain->trackers[index];
		if (!tracker->following)
			continue;
		struct agp_snapshot_agent *agent = &snapshot->agents[snapshot->agent_count++];
		snapshot_agent(tracker, index, agent);
		totals->agents_live += agent->state == AGP_AGENT_LIVE;
		totals->quarantined_slots += agent->quarantined;
		if (agent->lie != AGP_LIE_NONE) {
			totals->lying_agents++; /* listed with its figures, kept out of the sums */
			continue;
		}
		totals->written += agent->written;
		totals->aggregated += agent->aggregated;
		totals->invalid += agent->invalid;
		totals->dropped += agent->dropped;
		totals->pending += agent->pending;
		totals->earlier += agent->earlier;
		totals->discarded += agent->discarded;
		totals->late += agent->late;
		totals->samples_per_second += agent->samples_per_second;
	}

	int error = agp_snapshot_build_series(snapshot, &drain->series, now_ns);
	if (error) {
		agp_snapshot_free(snapshot);
		return error;
	}
	agp_snapshot_build_alerts(snapshot, &drain->alerting);
	*out = snapshot;
	return 0;
}

int agp_drain_publish(struct agp_collector *collector, struct agp_collector_drain *drain,
                      uint64_t now_ns)
{
	struct agp_snapshot *snapshot;
	int error = build_snapshot(collector, drain, now_ns, &snapshot);
	if (error)
		return error;
	agp_collector_publish(collector, snapshot);
	drain->last_publish_ns = now_ns;
	drain->last_published_alert = drain->alerting.raised;
	return 0;
}

/* Closes the open window; then checks each (agent type, metric) window against the baseline. */
static void rotate_windows(struct agp_collector *collector, struct agp_collector_drain *drain,
                           uint64_t now_ns)
{
	int closed = agp_series_table_rotate(&drain->series, now_ns);
	if (closed <= 0)
		return;
	/* A rotation closes one window per series (closed counts series): check that one. */
	drain->retained_window_bytes = agp_series_retained_bytes(&drain->series);
	if (drain->window_thresholds)
		agp_window_threshold_check(&collector->config, &drain->series, &drain->alerting, 1,
		                           now_ns);
	agp_regression_check(collector, &drain->series, &drain->alerting, now_ns);
}

/*
 * Sleeps up to sleep_ns, or until a reader asks for a fresh snapshot: the
 * back-off bounds idle CPU, the wake-up keeps a reader's wait short.
 */
static void idle_wait(struct agp_collector *collector, uint64_t sleep_ns)
{
	/* Relaxed: a stale value only means FUTEX_WAIT returns at once and we loop. */
	uint32_t seen = atomic_load_explicit(&collector->drain_wake, memory_order_relaxed);
	if (atomic_load_explicit(&collector->refresh_requested, memory_order_acquire) >
	    atomic_load_explicit(&collector->refresh_served, memory_order_relaxed))
		return;
	struct timespec pause = {0, (long)sleep_ns};
	syscall(SYS_futex, &collector->drain_wake, FUTEX_WAIT_PRIVATE, seen, &pause, NULL, 0);
}

void *agp_drain_thread(void *argument)
{
	struct agp_collector *collector = argument;
	struct agp_collector_drain *drain = collector->drain;
	uint64_t sleep_ns = IDLE_SLEEP_MIN_NS;
	uint64_t publish_interval = collector->options.publish_interval_ns;

	/* Acquire: pairs with agp_collector_stop's release; nothing else is published through it.
	 */
	while (!atomic_load_explicit(&collector->stop_requested, memory_order_acquire)) {
		uint64_t now_ns = agp_clock_read(&collector->segment.clock);
		/* Acquire: the reader's request was made after the samples it wants to see. */
		uint64_t requested =
		    atomic_load_explicit(&collector->refresh_requested, memory_order_acquire);
		uint64_t taken = agp_drain_pass(collector, drain, now_ns);

		bool asked = requested >
		             atomic_load_explicit(&collector->refresh_served, memory_order_relaxed);
		bool due = now_ns - drain->last_publish_ns >= publish_interval ||
		           drain->alerting.raised != drain->last_published_alert;
		if ((asked || due) && agp_drain_publish(collector, drain, now_ns) == 0 && asked)
			/* Release: a reader that sees its request served finds the snapshot
			 * published. */
			atomic_store_explicit(&collector->refresh_served, requested,
			                      memory_order_release);

		if (taken) {
			sleep_ns = IDLE_SLEEP_MIN_NS;
			continue;
		}
		idle_wait(collector, sleep_ns);
		sleep_ns = sleep_ns * 2 > IDLE_SLEEP_MAX_NS ? IDLE_SLEEP_MAX_NS : sleep_ns * 2;
	}
	/* Final drain: everything agents published before the stop is aggregated and shown. */
	uint64_t now_ns = agp_clock_read(&collector->segment.clock);
	for (int pass = 0; pass < FINAL_PASSES_MAX && agp_drain_pass(collector, drain, now_ns);
	     pass++)
		;
	agp_drain_publish(collector, drain, now_ns);
	return NULL;
}
