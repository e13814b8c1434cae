/*
 * The control server's verbs: status, agents, stats, percentiles, baseline
 * (establish, show), validate, export.ci, report, alerts, config.show, hlog,
 * compare.
 *
 * Requests are answered from RCU snapshots of the collector. Verbs whose
 * answer should include the newest samples first ask the drain thread for a
 * fresh snapshot (agp_collector_refresh, bounded wait): the drain thread
 * answers between drains, and never waits for this thread.
 */
#include "collector/control/verbs.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <agentperf/agentperf.h>

#include "collector/alerts/sink.h"
#include "collector/clock_service.h"
#include "collector/control/server_state.h"
#include "hdr/histogram.h"
#include "collector/export/hlog_export.h"
#include "collector/analysis/level.h"
#include "collector/analysis/quantile_test.h"
#include "common/protocol.h"
#include "common/error.h"
#include "common/units.h"
#include "common/json_u64.h"
#include "common/json_values.h"
#include "common/write_losses.h"
#include "collector/analysis/validation.h"

#define REFRESH_WAIT_MS 500
#define STRINGIFY_(x)   #x
#define STRINGIFY(x)    STRINGIFY_(x)
#define AGP_COLLECTOR_VERSION                                                                      \
	STRINGIFY(AGENTPERF_VERSION_MAJOR) "." STRINGIFY(AGENTPERF_VERSION_MINOR)

/* ---------------------------------------------------------------- arguments */

struct args_error {
	char message[256];
};

/* Strict arguments: every key of args must be in allowed (NULL-terminated). */
static int check_arg_keys(const json_t *args, const char *const *allowed, const char *verb,
                          struct args_error *err)
{
	const char *key;
	json_t *value;
	json_object_foreach((json_t *)args, key, value)
	{
		bool known = false;
		for (const char *const *a = allowed; *a; a++)
			known |= strcmp(*a, key) == 0;
		if (!known) {
			snprintf(err->message, sizeof(err->message),
			         "verb %s takes no argument \"%.64s\"", verb, key);
			return -EINVAL;
		}
	}
	return 0;
}

static int arg_string(const json_t *args, const char *key, const char **out, struct args_error *err)
{
	json_t *value = json_object_get(args, key);
	if (!value || json_is_null(value))
		return 0;
	if (!json_is_string(value)) {
		snprintf(err->message, sizeof(err->message), "argument %s must be a string", key);
		return -EINVAL;
	}
	*out = json_string_value(value);
	return 0;
}

static int arg_number(const json_t *args, const char *key, double min, double *out,
                      struct args_error *err)
{
	json_t *value = json_object_get(args, key);
	if (!value || json_is_null(value))
		return 0;
	if (!json_is_number(value) || !(json_number_value(value) >= min) ||
	    !isfinite(json_number_value(value))) {
		snprintf(err->message, sizeof(err->message), "argument %s must be a number >= %g",
		         key, min);
		return -EINVAL;
	}
	*out = json_number_value(value);
	return 0;
}

static int arg_bool(const json_t *args, const char *key, bool *out, struct args_error *err)
{
	json_t *value = json_object_get(args, key);
	if (!value || json_is_null(value))
		return 0;
	if (!json_is_boolean(value)) {
		snprintf(err->message, sizeof(err->message), "argument %s must be true or false",
		         key);
		return -EINVAL;
	}
	*out = json_is_true(value);
	return 0;
}

/* ---------------------------------------------------------------- verbs */

struct answer {
	json_t *result; /* set on success */
	int code;       /* negative errno on failure */
	char message[512];
};

static void answer_error(struct answer *answer, int code, const char *format, ...)
    __attribute__((format(printf, 3, 4)));
static void answer_error(struct answer *answer, int code, const char *format, ...)
{
	va_list args;
	va_start(args, format);
	vsnprintf(answer->message, sizeof(answer->message), format, args);
	va_end(args);
	answer->code = code;
}

/* ---------------------------------------------------------------- names */

/* What a selection names: the collector knows each by the series, agents and config it holds. */
enum name_kind { NAME_METRIC, NAME_AGENT_TYPE, NAME_AGENT };

static const char *const name_kind_words[] = {"metric", "agent type", "agent"};

/* The i-th candidate name of kind (NULL: none at i; "" is skipped), in a fixed order. */
static const char *name_candidate(const struct agp_control_server *server,
                                  const struct agp_snapshot *snapshot, enum name_kind kind,
                                  size_t i)
{
	const struct agp_config *config = &server->collector->config;
	if (kind == NAME_METRIC) {
		if (i < AGP_METRIC_FIRST_CUSTOM)
			return agp_builtin_metric_name((unsigned)i);
		i -= AGP_METRIC_FIRST_CUSTOM;
		if (i < config->metric_count)
			return config->metrics[i].name;
		i -= config->metric_count;
		return i < snapshot->series_count ? snapshot->series[i].metric : NULL;
	}
	if (i < snapshot->agent_count)
		return kind == NAME_AGENT ? snapshot->agents[i].name : snapshot->agents[i].type;
	i -= snapshot->agent_count;
	if (i >= snapshot->series_count)
		return NULL;
	return kind == NAME_AGENT ? snapshot->series[i].agent : snapshot->series[i].agent_type;
}

/*
 * Whether name (NULL: nothing asked) is a known metric, agent type or agent. When it is not,
 * answers -ENOENT (the CLI's usage error, status 2) with the known names: "no metric 'nope';
 * known: coordination_overhead, task_execution_time, ...". A known name without samples is no
 * error: it has no data.
 */
static bool name_known(const struct agp_control_server *server, const struct agp_snapshot *snapshot,
                       enum name_kind kind, const char *name, struct answer *answer)
{
	if (!name)
		return true;
	const char *candidate;
	for (size_t i = 0; (candidate = name_candidate(server, snapshot, kind, i)) != NULL; i++)
		if (strcmp(candidate, name) == 0)
			return true;
	char known[400] = "";
	size_t used = 0;
	for (size_t i = 0; (candidate = name_candidate(server, snapshot, kind, i)) != NULL; i++) {
		bool seen = !candidate[0];
		for (size_t j = 0; j < i && !seen; j++)
			seen = strcmp(name_candidate(server, snapshot, kind, j), candidate) == 0;
		if (seen)
			continue;
		int wrote = snprintf(known + used, sizeof(known) - used, "%s%s", used ? ", " : "",
		                     candidate);
		if (wrote < 0 || (size_t)wrote >= sizeof(known) - used) {
			snprintf(known + (used < sizeof(known) - 6 ? used : sizeof(known) - 6), 6,
			         ", ...");
			break;
		}
		used += (size_t)wrote;
	}
	answer_error(answer, -ENOENT, "no %s '%.64s'; known: %s", name_kind_words[kind], name,
	             used ? known : "(none yet)");
	return false;
}

/* What a client multiplies a wire value by to show it in agp_unit_display_name's unit. */
static double display_scale(enum agp_unit unit)
{
	return 1.0 / agp_unit_display_divisor(unit);
}

/* Merges every matching series' windows of [since, ∞) into a new histogram. */
static int merge_matching(struct agp_control_server *server, const struct agp_snapshot *snapshot,
                          const char *metric, const char *agent_type, const char *agent,
                          uint64_t since_ns, bool corrected, struct agp_hdr **out,
                          enum agp_unit *unit, size_t *matched)
{
	const struct agp_collector_options *o = &server->collector->options;
	struct agp_hdr *histogram;
	int error = agp_hdr_create(o->histogram_lowest, o->histogram_highest,
	                           o->histogram_significant_figures, &histogram);
	if (error)
		return error;
	*matched = 0;
	for (size_t s = 0; s < snapshot->series_count; s++) {
		const struct agp_snapshot_series *series = &snapshot->series[s];
		if (strcmp(series->metric, metric))
			continue;
		if (agent ? strcmp(series->agent, agent) : series->agent[0] != '\0')
			continue;
		if (agent_type && strcmp(series->agent_type, agent_type))
			continue;
		error =
		    agp_snapshot_merge_windows(series, since_ns, UINT64_MAX, corrected, histogram);
		if (error) {
			agp_hdr_destroy(histogram);
			return error;
		}
		*unit = series->unit;
		(*matched)++;
	}
	*out = histogram;
	return 0;
}

static uint64_t window_since(const struct agp_snapshot *snapshot, double window_s)
{
	if (window_s <= 0)
		return 0;
	double window_ns = window_s * 1e9;
	return window_ns >= (double)snapshot->taken_ns ? 0
	                                               : snapshot->taken_ns - (uint64_t)window_ns;
}

static json_t *overall_health(struct agp_control_server *server,
                              const struct agp_snapshot *snapshot)
{
	struct agp_hdr *histogram;
	enum agp_unit unit = AGP_UNIT_NANOSECONDS;
	size_t matched;
	if (merge_matching(server, snapshot, "coordination_overhead", NULL, NULL,
	                   window_since(snapshot, AGP_VALIDATION_WINDOW_NS / 1e9), false,
	                   &histogram, &unit, &matched))
		return json_string("unknown");
	struct agp_level_bands bands;
	agp_level_bands_from_config(&server->collector->config, &bands);
	enum agp_level level =
	    agp_level_classify(&bands, (uint64_t)histogram->total_count, agp_hdr_mean(histogram));
	agp_hdr_destroy(histogram);
	return json_string(agp_level_name(level));
}

struct named_count {
	const char *name;
	uint64_t value;
};

/*
 * Sets each count on object as an unsigned 64-bit JSON count (json_u64.h: above
 * INT64_MAX, jansson's signed integers would turn it negative). NULL, object
 * released, when one cannot be set; NULL object passes through.
 */
static json_t *with_counts(json_t *object, const struct named_count *counts, size_t count)
{
	for (size_t i = 0; object && i < count; i++) {
		if (json_object_set_new(object, counts[i].name, agp_json_u64(counts[i].value))) {
			json_decref(object);
			return NULL;
		}
	}
	return object;
}

/* Samples of metric over all agent types since their series started (what status counts). */
static uint64_t metric_total(const struct agp_snapshot *snapshot, const char *metric)
{
	uint64_t total = 0;
	for (size_t s = 0; s < snapshot->series_count; s++)
		if (!snapshot->series[s].agent[0] &&
		    strcmp(snapshot->series[s].metric, metric) == 0)
			total += snapshot->series[s].total_count;
	return total;
}

/* Which clock the deployment uses, why, and how its re-anchoring goes (clock_service.h). */
static json_t *clock_json(const struct agp_clock_service *service)
{
	struct agp_clock_status c;
	agp_clock_service_status(service, &c);
	json_t *since =
	    c.since_reanchor_ns < 0 ? json_null() : json_real((double)c.since_reanchor_ns / 1e9);
	return json_pack(
	    "{s:s, s:s, s:s, s:b, s:b, s:b, s:o, s:o, s:o, s:I, s:I}", "source", c.clock, "reason",
	    c.reason, "kernel_clocksource", c.kernel_clocksource, "reanchored", c.disciplined,
	    "recalibrated", c.recalibrated, "header_abandoned", c.header_abandoned, "reanchors",
	    agp_json_u64(c.reanchors), "steps", agp_json_u64(c.steps), "since_reanchor_s", since,
	    "last_correction_ns", (json_int_t)c.last_correction_ns, "worst_correction_ns",
	    (json_int_t)c.worst_correction_ns);
}

static void verb_status(struct agp_control_server *server, const struct agp_snapshot *snapshot,
                        const json_t *args, struct answer *answer)
{
	(void)args;
	const struct agp_snapshot_totals *t = &snapshot->totals;
	json_t *status =
	    json_pack("{s:s, s:i, s:s, s:i, s:f, s:f}", "deployment", snapshot->deployment, "pid",
	              (int)snapshot->collector_pid, "version", AGP_COLLECTOR_VERSION, "protocol",
	              AGP_PROTOCOL_VERSION, "uptime_s",
	              (double)(snapshot->taken_ns - snapshot->collector_started_ns) / 1e9,
	              "samples_per_second", t->samples_per_second);
	const struct named_count counts[] = {
	    {"agents_live", t->agents_live},
	    {"agents", snapshot->agent_count},
	    {"written", t->written},
	    {"aggregated", t->aggregated},
	    {"invalid", t->invalid},
	    {"dropped", t->dropped},
	    {"pending", t->pending},
	    {"earlier", t->earlier},
	    {"discarded", t->discarded},
	    {"late", t->late},
	    {"lost_on_reclaim", t->lost_on_reclaim},
	    {"retained_window_bytes", t->retained_window_bytes},
	    {"series_refused", t->series_refused},
	    {"alerts", t->alerts},
	    {"quarantined_slots", t->quarantined_slots},
	    {"lying_agents", t->lying_agents},
	    /* The Task API's negative caller-vs-worker clock differences (agentperf/task.h). */
	    {"clock_skew_negative", metric_total(snapshot, AGP_TASK_CLOCK_SKEW_METRIC)},
	    {"snapshot_generation", snapshot->generation},
	};
	status = with_counts(status, counts, sizeof(counts) / sizeof(counts[0]));
	if (status &&
	    json_object_update_new(status, json_pack("{s:o, s:s, s:I}", "health",
	                                             overall_health(server, snapshot), "socket",
	                                             server->path, "taken_wall_ms",
	                                             (json_int_t)snapshot->taken_wall_ms))) {
		json_decref(status);
		status = NULL;
	}
	if (status) /* false: samples are drained and discarded (docs/config.md) */
		json_object_set_new(status, "monitoring_enabled",
		                    json_boolean(server->collector->config.monitoring.enabled));
	if (status) /* writes the disk refused, per destination (write_losses.h) */
		json_object_set_new(status, "lost_writes", agp_write_losses_json());
	if (status)
		json_object_set_new(status, "clock", clock_json(server->collector->clock));
	answer->result = status;
}

static void verb_agents(struct agp_control_server *server, const struct agp_snapshot *snapshot,
                        const json_t *args, struct answer *answer)
{
	(void)server;
	(void)args;
	json_t *list = json_array();
	for (size_t a = 0; list && a < snapshot->agent_count; a++) {
		const struct agp_snapshot_agent *agent = &snapshot->agents[a];
		json_t *entry =
		    json_pack("{s:s, s:s, s:i, s:i, s:s, s:b, s:f, s:f}", "name", agent->name,
		              "type", agent->type, "pid", (int)agent->pid, "slot", (int)agent->slot,
		              "state", agp_agent_state_name(agent->state), "quarantined",
		              agent->quarantined, "rate", agent->samples_per_second, "age_s",
		              agent->first_seen_ns && snapshot->taken_ns > agent->first_seen_ns
		                  ? (double)(snapshot->taken_ns - agent->first_seen_ns) / 1e9
		                  : 0.0);
		const struct named_count counts[] = {
		    {"samples", agent->written}, {"aggregated", agent->aggregated},
		    {"invalid", agent->invalid}, {"dropped", agent->dropped},
		    {"pending", agent->pending}, {"earlier", agent->earlier},
		};
		entry = with_counts(entry, counts, sizeof(counts) / sizeof(counts[0]));
		/* Kept out of the aggregates by the config (docs/config.md). */
		const struct named_count more[] = {
		    {"discarded", agent->discarded},
		    /* older than the retention (docs/analysis.md) */
		    {"late", agent->late},
		    /* Of the slot's previous occupant; in the totals' lost_on_reclaim. */
		    {"reclaimed", agent->reclaimed},
		};
		entry = with_counts(entry, more, sizeof(more) / sizeof(more[0]));
		if (json_array_append_new(list, entry)) {
			json_decref(list);
			list = NULL;
		}
	}
	/* Why an agent's counters are impossible ("" when they are not: shm/counter_audit.h). */
	for (size_t a = 0; list && a < json_array_size(list); a++)
		json_object_set_new(json_array_get(list, a), "lying",
		                    json_string(agp_lie_name(snapshot->agents[a].lie)));
	answer->result = json_pack("{s:o}", "agents", list);
	const struct named_count lost = {"lost_on_reclaim", snapshot->totals.lost_on_reclaim};
	answer->result = with_counts(answer->result, &lost, 1);
}

static void verb_stats(struct agp_control_server *server, const struct agp_snapshot *snapshot,
                       const json_t *args, struct answer *answer)
{
	static const char *const allowed[] = {"metric",   "agent_type", "agent",
	                                      "window_s", "corrected",  NULL};
	struct args_error err = {{0}};
	const char *metric = NULL, *agent_type = NULL, *agent = NULL;
	double window_s = 0;
	bool corrected = false;
	if (check_arg_keys(args, allowed, "stats", &err) ||
	    arg_string(args, "metric", &metric, &err) ||
	    arg_string(args, "agent_type", &agent_type, &err) ||
	    arg_string(args, "agent", &agent, &err) ||
	    arg_number(args, "window_s", 0, &window_s, &err) ||
	    arg_bool(args, "corrected", &corrected, &err)) {
		answer_error(answer, -EINVAL, "%s", err.message);
		return;
	}
	if (!name_known(server, snapshot, NAME_METRIC, metric, answer) ||
	    !name_known(server, snapshot, NAME_AGENT_TYPE, agent_type, answer) ||
	    !name_known(server, snapshot, NAME_AGENT, agent, answer))
		return;
	uint64_t since_ns = window_since(snapshot, window_s);
	json_t *list = json_array();
	for (size_t s = 0; list && s < snapshot->series_count; s++) {
		const struct agp_snapshot_series *series = &snapshot->series[s];
		if (metric && strcmp(series->metric, metric))
			continue;
		if (agent_type && strcmp(series->agent_type, agent_type))
			continue;
		if (agent ? strcmp(series->agent, agent) : series->agent[0] != '\0')
			continue;
		if (corrected && !series->expected_interval_ns)
			continue;
		json_t *stats = agp_series_stats(snapshot, series, since_ns, corrected);
		if (!stats)
			continue;
		json_object_set_new(stats, "metric", json_string(series->metric));
		json_object_set_new(stats, "agent_type", json_string(series->agent_type));
		json_object_set_new(stats, "agent", json_string(series->agent));
		json_object_set_new(stats, "unit", json_string(agp_unit_name(series->unit)));
		json_object_set_new(stats, "display_unit",
		                    json_string(agp_unit_display_name(series->unit)));
		json_object_set_new(stats, "display_scale", json_real(display_scale(series->unit)));
		json_object_set_new(stats, "corrected", json_boolean(corrected));
		/* 0: no corrected histogram (docs/hdr.md, coordinated omission). */
		json_object_set_new(stats, "expected_interval_ns",
		                    agp_json_u64(series->expected_interval_ns));
		json_object_set_new(stats, "total_count", agp_json_u64(series->total_count));
		json_array_append_new(list, stats);
	}
	answer->result = json_pack("{s:o, s:f, s:s}", "series", list, "window_s", window_s,
	                           "histogram", corrected ? "corrected" : "raw");
}

static void verb_percentiles(struct agp_control_server *server, const struct agp_snapshot *snapshot,
                             const json_t *args, struct answer *answer)
{
	static const char *const allowed[] = {"metric",    "agent_type", "agent", "window_s",
	                                      "corrected", "ticks",      NULL};
	struct args_error err = {{0}};
	const char *metric = NULL, *agent_type = NULL, *agent = NULL;
	double window_s = 0, ticks = 5;
	bool corrected = false;
	if (check_arg_keys(args, allowed, "percentiles", &err) ||
	    arg_string(args, "metric", &metric, &err) ||
	    arg_string(args, "agent_type", &agent_type, &err) ||
	    arg_string(args, "agent", &agent, &err) ||
	    arg_number(args, "window_s", 0, &window_s, &err) ||
	    arg_bool(args, "corrected", &corrected, &err) ||
	    arg_number(args, "ticks", 1, &ticks, &err)) {
		answer_error(answer, -EINVAL, "%s", err.message);
		return;
	}
	if (!metric) {
		answer_error(answer, -EINVAL, "verb percentiles needs argument metric");
		return;
	}
	if (!name_known(server, snapshot, NAME_METRIC, metric, answer) ||
	    !name_known(server, snapshot, NAME_AGENT_TYPE, agent_type, answer) ||
	    !name_known(server, snapshot, NAME_AGENT, agent, answer))
		return;
	if (ticks > 100)
		ticks = 100;
	struct agp_hdr *histogram;
	enum agp_unit unit = AGP_UNIT_NANOSECONDS;
	size_t matched;
	int error = merge_matching(server, snapshot, metric, agent_type, agent,
	                           window_since(snapshot, window_s), corrected, &histogram, &unit,
	                           &matched);
	if (error) {
		answer_error(answer, error, "merging the windows of %s: %s", metric,
		             error == -ENOENT ? "no corrected histograms (no expected interval)"
		                              : strerror(-error));
		return;
	}
	if (!matched) {
		agp_hdr_destroy(histogram);
		answer_error(answer, -ENOENT, "no series of metric %s matches", metric);
		return;
	}
	json_t *points = json_array();
	if (histogram->total_count > 0) {
		struct agp_hdr_iter it;
		agp_hdr_iter_percentile_init(&it, histogram, (int32_t)ticks);
		while (points && agp_hdr_iter_percentile_next(&it))
			json_array_append_new(
			    points, json_pack("{s:f, s:I, s:I}", "percentile", it.percentile,
			                      "value", (json_int_t)it.highest_equivalent_value,
			                      "count", (json_int_t)it.cumulative_count));
	}
	bool any = histogram->total_count > 0;
	answer->result = json_pack("{s:s, s:s, s:s, s:f, s:I, s:I, s:I, s:f, s:o}", "metric",
	                           metric, "unit", agp_unit_name(unit), "display_unit",
	                           agp_unit_display_name(unit), "display_scale",
	                           display_scale(unit), "count", (json_int_t)histogram->total_count,
	                           "min", (json_int_t)(any ? agp_hdr_min(histogram) : 0), "max",
	                           (json_int_t)(any ? agp_hdr_max(histogram) : 0), "mean",
	                           any ? agp_hdr_mean(histogram) : 0.0, "points", points);
	if (answer->result) /* which histogram the points come from */
		json_object_set_new(answer->result, "histogram",
		                    json_string(corrected ? "corrected" : "raw"));
	agp_hdr_destroy(histogram);
}

static int baseline_get(struct agp_control_server *server, struct agp_baseline *out, char *err,
                        size_t errlen)
{
	if (server->options.baseline.get)
		return server->options.baseline.get(server->options.baseline.context, out);
	return agp_baseline_load(server->collector->config.monitoring.storage_dir, out, err,
	                         errlen);
}

static void verb_baseline_establish(struct agp_control_server *server,
                                    const struct agp_snapshot *snapshot, const json_t *args,
                                    struct answer *answer)
{
	static const char *const allowed[] = {"hours", "min_samples", "confidence", NULL};
	const struct agp_config_baseline *defaults = &server->collector->config.baseline;
	struct args_error err = {{0}};
	double hours = defaults->measurement_period_hours;
	double min_samples = (double)defaults->min_samples_for_baseline;
	double confidence = defaults->confidence_interval;
	if (check_arg_keys(args, allowed, "baseline.establish", &err) ||
	    arg_number(args, "hours", 0, &hours, &err) ||
	    arg_number(args, "min_samples", 1, &min_samples, &err) ||
	    arg_number(args, "confidence", 0, &confidence, &err)) {
		answer_error(answer, -EINVAL, "%s", err.message);
		return;
	}
	if (hours <= 0 || confidence <= 0 || confidence >= 1) {
		answer_error(
		    answer, -EINVAL,
		    "baseline.establish needs hours > 0 and 0 < confidence < 1 (got %g, %g)", hours,
		    confidence);
		return;
	}
	struct agp_baseline *baseline = malloc(sizeof(*baseline));
	if (!baseline) {
		answer_error(answer, -ENOMEM, "out of memory");
		return;
	}
	char message[512] = "";
	int error;
	if (server->options.baseline.establish) {
		error = server->options.baseline.establish(server->options.baseline.context, hours,
		                                           (int64_t)min_samples, confidence,
		                                           baseline, message, sizeof(message));
	} else {
		error = agp_baseline_establish(snapshot, hours, (int64_t)min_samples, confidence,
		                               baseline, message, sizeof(message));
		if (!error)
			error = agp_baseline_save(baseline,
			                          server->collector->config.monitoring.storage_dir,
			                          message, sizeof(message));
	}
	if (error)
		answer_error(answer, error, "%s", message[0] ? message : strerror(-error));
	else
		answer->result = agp_baseline_to_json(baseline);
	free(baseline);
}

static void verb_baseline_show(struct agp_control_server *server,
                               const struct agp_snapshot *snapshot, const json_t *args,
                               struct answer *answer)
{
	(void)snapshot;
	(void)args;
	struct agp_baseline *baseline = malloc(sizeof(*baseline));
	if (!baseline) {
		answer_error(answer, -ENOMEM, "out of memory");
		return;
	}
	char message[512] = "";
	int error = baseline_get(server, baseline, message, sizeof(message));
	if (error == -ENOENT)
		answer_error(answer, error,
		             "no baseline established yet (run `agentperf baseline establish`)");
	else if (error)
		answer_error(answer, error, "%s", message[0] ? message : strerror(-error));
	else
		answer->result = agp_baseline_to_json(baseline);
	free(baseline);
}

/* The baseline when there is one; NULL otherwise (the analyses handle "no baseline"). */
static struct agp_baseline *baseline_or_null(struct agp_control_server *server)
{
	struct agp_baseline *baseline = malloc(sizeof(*baseline));
	char message[512];
	if (baseline && baseline_get(server, baseline, message, sizeof(message))) {
		free(baseline);
		baseline = NULL;
	}
	return baseline;
}

static void verb_validate(struct agp_control_server *server, const struct agp_snapshot *snapshot,
                          const json_t *args, struct answer *answer)
{
	(void)args;
	struct agp_baseline *baseline = baseline_or_null(server);
	bool validated = false;
	answer->result = agp_validate(snapshot, &server->collector->config, baseline, &validated);
	free(baseline);
}

static void verb_export_ci(struct agp_control_server *server, const struct agp_snapshot *snapshot,
                           const json_t *args, struct answer *answer)
{
	(void)args;
	const struct agp_config_monitoring *m = &server->collector->config.monitoring;
	struct agp_baseline *baseline = baseline_or_null(server);
	bool meets = false;
	json_t *export = agp_ci_export(snapshot, &server->collector->config, baseline, &meets);
	free(baseline);
	if (export)
		answer->result = json_pack(
		    "{s:o, s:b, s:s, s:b, s:b}", "export", export, "meets_requirements", meets,
		    "ci_export_file", m->ci_export_file, "ci_fail_on_threshold_violation",
		    m->ci_fail_on_threshold_violation, "ci_export_enabled", m->ci_export_enabled);
}

static void verb_report(struct agp_control_server *server, const struct agp_snapshot *snapshot,
                        const json_t *args, struct answer *answer)
{
	(void)args;
	struct agp_baseline *baseline = baseline_or_null(server);
	answer->result = agp_report(snapshot, &server->collector->config, baseline);
	free(baseline);
}

static void verb_alerts(struct agp_control_server *server, const struct agp_snapshot *snapshot,
                        const json_t *args, struct answer *answer)
{
	(void)server;
	static const char *const allowed[] = {"since", NULL};
	struct args_error err = {{0}};
	double since = 0;
	if (check_arg_keys(args, allowed, "alerts", &err) ||
	    arg_number(args, "since", 0, &since, &err)) {
		answer_error(answer, -EINVAL, "%s", err.message);
		return;
	}
	uint64_t after = since >= 9e18 ? UINT64_MAX : (uint64_t)since;
	json_t *list = json_array();
	uint64_t oldest = snapshot->alert_count ? snapshot->alerts[0].sequence : 0;
	for (size_t a = 0; list && a < snapshot->alert_count; a++)
		if (snapshot->alerts[a].sequence > after)
			json_array_append_new(list, agp_alert_to_json(&snapshot->alerts[a]));
	/* Alerts raised after `since` but already gone from the snapshot's recent list. */
	uint64_t missed = oldest > after + 1 ? oldest - after - 1 : 0;
	answer->result =
	    json_pack("{s:o, s:o, s:o}", "alerts", list, "newest",
	              agp_json_u64(snapshot->alerts_raised), "missed", agp_json_u64(missed));
}

static void verb_config_show(struct agp_control_server *server, const struct agp_snapshot *snapshot,
                             const json_t *args, struct answer *answer)
{
	(void)snapshot;
	(void)args;
	answer->result = agp_config_to_json(&server->collector->config, AGP_CONFIG_JSON_ALL);
}

/*
 * The interval log of the running collector: every window of the (agent type, metric) series
 * in [now - window_s, now], the open one included, as one .hlog text (hlog_export.h). Unlike the
 * files the log service writes, this covers the window that has not closed yet.
 */
static void verb_hlog(struct agp_control_server *server, const struct agp_snapshot *snapshot,
                      const json_t *args, struct answer *answer)
{
	/* agent_type is only checked (unknown: -ENOENT); the client selects the intervals. */
	static const char *const allowed[] = {"metric", "agent_type", "window_s", NULL};
	struct args_error err = {{0}};
	const char *metric = NULL, *agent_type = NULL;
	double window_s = 0;
	if (check_arg_keys(args, allowed, "hlog", &err) ||
	    arg_string(args, "metric", &metric, &err) ||
	    arg_string(args, "agent_type", &agent_type, &err) ||
	    arg_number(args, "window_s", 0, &window_s, &err)) {
		answer_error(answer, -EINVAL, "%s", err.message);
		return;
	}
	if (!name_known(server, snapshot, NAME_METRIC, metric, answer) ||
	    !name_known(server, snapshot, NAME_AGENT_TYPE, agent_type, answer))
		return;
	const struct agp_collector_options *o = &server->collector->options;
	size_t length = 0;
	char *text = agp_hlog_export_layout(snapshot, metric, window_since(snapshot, window_s),
	                                    o->histogram_lowest, o->histogram_highest,
	                                    o->histogram_significant_figures, &length);
	if (!text) {
		answer_error(answer, -ENOMEM, "%s", agp_last_error());
		return;
	}
	size_t intervals = 0;
	for (const char *line = text; (line = strstr(line, "\nTag=")) != NULL; line++)
		intervals++;
	answer->result = json_pack("{s:s%, s:I, s:f}", "hlog", text, length, "intervals",
	                           (json_int_t)intervals, "window_s", window_s);
	free(text);
}

/*
 * compare: the regression test of quantile_test.h, on demand, of the samples of metric (of one
 * agent, or of an agent type) in the last window_s against a reference the caller gives: the
 * count and p95 of its baseline (`agentperf run --compare` keeps its own). The same test, alpha
 * and minimum sample count as the collector's regression alerts.
 */
static void verb_compare(struct agp_control_server *server, const struct agp_snapshot *snapshot,
                         const json_t *args, struct answer *answer)
{
	static const char *const allowed[] = {
	    "metric",         "agent_type",   "agent",      "window_s",
	    "baseline_count", "baseline_p95", "confidence", NULL};
	struct args_error err = {{0}};
	const char *metric = NULL, *agent_type = NULL, *agent = NULL;
	double window_s = 0, count = 0, p95 = 0, confidence = 0.95;
	if (check_arg_keys(args, allowed, "compare", &err) ||
	    arg_string(args, "metric", &metric, &err) ||
	    arg_string(args, "agent_type", &agent_type, &err) ||
	    arg_string(args, "agent", &agent, &err) ||
	    arg_number(args, "window_s", 0, &window_s, &err) ||
	    arg_number(args, "baseline_count", 1, &count, &err) ||
	    arg_number(args, "baseline_p95", 1, &p95, &err) ||
	    arg_number(args, "confidence", 0, &confidence, &err)) {
		answer_error(answer, -EINVAL, "%s", err.message);
		return;
	}
	if (!metric || count < 1 || p95 < 1) {
		answer_error(
		    answer, -EINVAL,
		    "verb compare needs arguments metric, baseline_count and baseline_p95");
		return;
	}
	if (!name_known(server, snapshot, NAME_METRIC, metric, answer) ||
	    !name_known(server, snapshot, NAME_AGENT_TYPE, agent_type, answer) ||
	    !name_known(server, snapshot, NAME_AGENT, agent, answer))
		return;
	struct agp_baseline_metric entry = {
	    .count = (uint64_t)count, .has_percentiles = true, .p95 = (int64_t)p95};
	struct agp_quantile_reference reference;
	if (agp_quantile_reference_from_baseline(&entry, confidence, &reference)) {
		answer_error(answer, -EINVAL, "compare: confidence %g is not within (0, 1)",
		             confidence);
		return;
	}
	struct agp_hdr *histogram;
	enum agp_unit unit = AGP_UNIT_NANOSECONDS;
	size_t matched;
	int error =
	    merge_matching(server, snapshot, metric, agent_type, agent,
	                   window_since(snapshot, window_s), false, &histogram, &unit, &matched);
	if (error) {
		answer_error(answer, error, "merging the windows of %s: %s", metric,
		             strerror(-error));
		return;
	}
	struct agp_quantile_test_result result;
	agp_quantile_test_histogram(&reference, histogram, AGP_QUANTILE_TEST_ALPHA, &result);
	agp_hdr_destroy(histogram);
	answer->result = json_pack(
	    "{s:s, s:s, s:I, s:I, s:o, s:b, s:b, s:f, s:I, s:I, s:f}", "metric", metric, "unit",
	    agp_unit_name(unit), "samples", (json_int_t)result.samples, "above",
	    (json_int_t)result.above, "p_value", agp_json_number_or_null(result.p_value), "tested",
	    result.tested, "regressed", result.regressed, "alpha", AGP_QUANTILE_TEST_ALPHA,
	    "min_samples", (json_int_t)AGP_QUANTILE_TEST_MIN_SAMPLES, "reference_value",
	    (json_int_t)reference.value, "exceedance", reference.exceedance);
}

typedef void (*verb_handler)(struct agp_control_server *server, const struct agp_snapshot *snapshot,
                             const json_t *args, struct answer *answer);

static const struct {
	verb_handler handler;
	bool refresh; /* ask the drain thread for everything drained up to now first */
} verbs[AGP_VERB_COUNT] = {
    [AGP_VERB_STATUS] = {verb_status, true},
    [AGP_VERB_AGENTS] = {verb_agents, true},
    [AGP_VERB_STATS] = {verb_stats, true},
    [AGP_VERB_PERCENTILES] = {verb_percentiles, true},
    [AGP_VERB_BASELINE_ESTABLISH] = {verb_baseline_establish, true},
    [AGP_VERB_BASELINE_SHOW] = {verb_baseline_show, false},
    [AGP_VERB_VALIDATE] = {verb_validate, true},
    [AGP_VERB_EXPORT_CI] = {verb_export_ci, true},
    [AGP_VERB_REPORT] = {verb_report, true},
    [AGP_VERB_ALERTS] = {verb_alerts, true},
    [AGP_VERB_CONFIG_SHOW] = {verb_config_show, false},
    [AGP_VERB_HLOG] = {verb_hlog, true},
    [AGP_VERB_COMPARE] = {verb_compare, true},
};

static void answer_request(struct agp_control_server *server, const struct agp_request *request,
                           struct answer *answer)
{
	if (verbs[request->verb].refresh)
		(void)agp_collector_refresh(server->collector, REFRESH_WAIT_MS); /* stale is fine */
	const struct agp_snapshot *snapshot = agp_snapshot_read_begin(server->collector);
	if (snapshot)
		verbs[request->verb].handler(server, snapshot, request->args, answer);
	else
		answer_error(answer, -EAGAIN, "the collector has published no snapshot yet");
	agp_snapshot_read_end(snapshot);
	if (!answer->result && !answer->code)
		answer_error(answer, -ENOMEM, "verb %s: could not build its result",
		             agp_verb_name(request->verb));
}

void agp_control_reply(struct agp_control_server *server, const struct agp_request *request,
                       msgpack_sbuffer *reply)
{
	struct answer answer = {0};
	answer_request(server, request, &answer);
	if (answer.result) {
		int error = agp_protocol_encode_ok(reply, answer.result);
		json_decref(answer.result);
		if (error)
			agp_protocol_encode_error(reply, error,
			                          "the reply cannot be encoded (too large?)");
	} else {
		agp_protocol_encode_error(reply, answer.code, answer.message);
	}
}
