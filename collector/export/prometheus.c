#include "collector/export/prometheus.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <agentperf/agentperf.h>

#include "hdr/histogram.h"
#include "collector/analysis/level.h"
#include "collector/export/process_metrics.h"
#include "shm/abi.h"
#include "common/error.h"
#include "common/map.h"
#include "common/units.h"
#include "hdr/sparse.h"

/* ---- output buffer ---------------------------------------------------------------------- */

struct text {
	char *data;
	size_t len, cap;
	bool failed;
};

static void text_reserve(struct text *t, size_t more)
{
	if (t->failed || t->len + more + 1 <= t->cap)
		return;
	size_t cap = t->cap ? t->cap : 4096;
	while (cap < t->len + more + 1)
		cap *= 2;
	char *data = realloc(t->data, cap);
	if (!data) {
		t->failed = true;
		return;
	}
	t->data = data;
	t->cap = cap;
}

__attribute__((format(printf, 2, 3))) static void text_printf(struct text *t, const char *fmt, ...)
{
	va_list args;
	va_start(args, fmt);
	int needed = vsnprintf(NULL, 0, fmt, args);
	va_end(args);
	if (needed < 0) {
		t->failed = true;
		return;
	}
	text_reserve(t, (size_t)needed);
	if (t->failed)
		return;
	va_start(args, fmt);
	vsnprintf(t->data + t->len, (size_t)needed + 1, fmt, args);
	va_end(args);
	t->len += (size_t)needed;
}

static void text_putc(struct text *t, char c)
{
	text_reserve(t, 1);
	if (t->failed)
		return;
	t->data[t->len++] = c;
	t->data[t->len] = '\0';
}

/* A label value: backslash, double quote and line feed are escaped (exposition 0.0.4). */
static void text_label_value(struct text *t, const char *value)
{
	for (const char *c = value; *c; c++) {
		if (*c == '\\' || *c == '"') {
			text_putc(t, '\\');
			text_putc(t, *c);
		} else if (*c == '\n') {
			text_putc(t, '\\');
			text_putc(t, 'n');
		} else {
			text_putc(t, *c);
		}
	}
}

/* HELP and TYPE lines. HELP text escapes backslash and line feed only (0.0.4). */
static void text_family(struct text *t, const char *name, const char *type, const char *help)
{
	text_printf(t, "# HELP %s ", name);
	for (const char *c = help; *c; c++) {
		if (*c == '\\')
			text_printf(t, "\\\\");
		else if (*c == '\n')
			text_printf(t, "\\n");
		else
			text_putc(t, *c);
	}
	text_printf(t, "\n# TYPE %s %s\n", name, type);
}

/* The shortest decimal that reads back as the same double; Prometheus's spellings of the rest. */
static void format_double(char *out, size_t len, double value)
{
	if (isnan(value)) {
		snprintf(out, len, "NaN");
		return;
	}
	if (isinf(value)) {
		snprintf(out, len, value > 0 ? "+Inf" : "-Inf");
		return;
	}
	/* Whole numbers in plain digits (le="10", not "1e+01"), as people write bounds. */
	if (value == floor(value) && fabs(value) < 1e15) {
		snprintf(out, len, "%.0f", value);
		return;
	}
	for (int precision = 1; precision <= 17; precision++) {
		snprintf(out, len, "%.*g", precision, value);
		if (strtod(out, NULL) == value)
			return;
	}
}

static void text_double(struct text *t, double value)
{
	char number[40];
	format_double(number, sizeof(number), value);
	text_printf(t, "%s", number);
}

/* ---- bounds ----------------------------------------------------------------------------- */

static int compare_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static void bounds_normalize(struct agp_prom_bounds *bounds)
{
	qsort(bounds->value, bounds->count, sizeof(double), compare_double);
	size_t kept = 0;
	for (size_t i = 0; i < bounds->count; i++)
		if (kept == 0 || bounds->value[i] != bounds->value[kept - 1])
			bounds->value[kept++] = bounds->value[i];
	bounds->count = kept;
}

static void bounds_add(struct agp_prom_bounds *bounds, double value)
{
	if (value > 0 && isfinite(value) && bounds->count < AGP_PROM_BOUNDS_MAX)
		bounds->value[bounds->count++] = value;
}

/* 1, 2.5, 5 times every power of ten from low to high (inclusive). */
static void bounds_log_spaced(struct agp_prom_bounds *bounds, double low, double high)
{
	static const double steps[] = {1.0, 2.5, 5.0};
	for (double decade = low; decade <= high * 1.0000001; decade *= 10)
		for (size_t s = 0; s < 3; s++)
			if (decade * steps[s] <= high * 1.0000001)
				bounds_add(bounds, decade * steps[s]);
}

void agp_prom_options_default(struct agp_prom_options *options, const struct agp_config *cfg)
{
	memset(options, 0, sizeof(*options));
	struct agp_prom_bounds *seconds = &options->duration_seconds;
	bounds_log_spaced(seconds, 1e-4, 10.0);
	bounds_add(seconds, 30.0);
	bounds_add(seconds, 60.0);
	struct agp_prom_bounds *bytes = &options->size_bytes;
	for (double mib = 1; mib <= 16384; mib *= 2)
		bounds_add(bytes, mib * 1048576.0);
	bounds_log_spaced(&options->sample_value, 1.0, 1e6);
	if (cfg) {
		/* The thresholds become bounds, so a threshold alert counts buckets exactly. */
		const struct agp_config_thresholds *th = &cfg->thresholds;
		const double ms[] = {th->coordination_overhead_warning_ms,
		                     th->coordination_overhead_critical_ms,
		                     th->coordination_overhead_max_acceptable_ms,
		                     th->task_execution_warning_ms,
		                     th->task_execution_critical_ms,
		                     th->agent_init_warning_ms,
		                     th->agent_init_critical_ms};
		for (size_t i = 0; i < sizeof(ms) / sizeof(ms[0]); i++)
			bounds_add(seconds, ms[i] / 1e3);
		bounds_add(bytes, th->memory_usage_warning_mb * 1048576.0);
		bounds_add(bytes, th->memory_usage_critical_mb * 1048576.0);
		for (unsigned m = 0; m < cfg->metric_count; m++) {
			const struct agp_config_metric *metric = &cfg->metrics[m];
			struct agp_prom_bounds *target =
			    metric->unit == AGP_CONFIG_UNIT_MS   ? seconds
			    : metric->unit == AGP_CONFIG_UNIT_MB ? bytes
			                                         : &options->sample_value;
			double scale = metric->unit == AGP_CONFIG_UNIT_MS   ? 1e-3
			               : metric->unit == AGP_CONFIG_UNIT_MB ? 1048576.0
			                                                    : 1.0;
			bounds_add(target, metric->warning * scale);
			bounds_add(target, metric->critical * scale);
		}
	}
	bounds_normalize(seconds);
	bounds_normalize(bytes);
	bounds_normalize(&options->sample_value);
	options->histogram_lowest = 1;
	options->histogram_highest = INT64_C(3600000000000);
	options->histogram_significant_figures = 3;
	options->health_period_ns = UINT64_C(30) * 60 * 1000000000;
}

int agp_prom_parse_bounds(const char *text, struct agp_prom_bounds *bounds, char *err,
                          size_t errlen)
{
	struct agp_prom_bounds parsed = {0};
	const char *item = text;
	for (;;) {
		const char *end = strchr(item, ',');
		size_t length = end ? (size_t)(end - item) : strlen(item);
		char copy[64];
		if (length == 0 || length >= sizeof(copy)) {
			snprintf(err, errlen, "bucket bound '%.*s' in '%s' is not a number",
			         (int)length, item, text);
			return -EINVAL;
		}
		memcpy(copy, item, length);
		copy[length] = '\0';
		char *rest;
		errno = 0;
		double value = strtod(copy, &rest);
		if (*rest || errno || !(value > 0) || !isfinite(value)) {
			snprintf(err, errlen, "bucket bound '%s' in '%s' is not a positive number",
			         copy, text);
			return -EINVAL;
		}
		if (parsed.count == AGP_PROM_BOUNDS_MAX) {
			snprintf(err, errlen, "'%s' has more than %d bucket bounds", text,
			         AGP_PROM_BOUNDS_MAX);
			return -EINVAL;
		}
		parsed.value[parsed.count++] = value;
		if (!end)
			break;
		item = end + 1;
	}
	bounds_normalize(&parsed);
	*bounds = parsed;
	return 0;
}

/* ---- per-series cumulative state ------------------------------------------------------- */

/* One histogram's cumulative sums: the raw one, or the coordinated-omission corrected one. */
struct cumulative {
	uint64_t count;
	unsigned __int128 sum; /* in the metric's unit */
	uint64_t *buckets;     /* per bound, not cumulative: samples above the previous bound */
};

struct series_state {
	char agent_type[AGP_AGENT_TYPE_MAX + 1];
	char agent[AGP_AGENT_NAME_MAX + 1];
	char metric[AGP_METRIC_NAME_MAX + 1];
	enum agp_unit unit;
	/* Closed windows that started before this are in the sums below. */
	uint64_t ingested_until_ns;
	struct cumulative raw;
	bool has_corrected;          /* the metric has an expected interval */
	struct cumulative corrected; /* buckets NULL unless has_corrected */
	uint64_t seen_generation;    /* the last snapshot that had the series */
};

/* The states' key: zeroed whole, so that the bytes after each string compare equal. */
struct state_key {
	char agent_type[AGP_AGENT_TYPE_MAX + 1];
	char agent[AGP_AGENT_NAME_MAX + 1];
	char metric[AGP_METRIC_NAME_MAX + 1];
};

struct agp_prom_exporter {
	pthread_mutex_t lock;
	struct agp_prom_options options;
	struct agp_level_bands bands;
	struct agp_hdr *scratch;
	uint64_t generation_seen;
	struct agp_map states; /* struct state_key -> struct series_state *, owned */
};

static struct state_key state_key(const struct agp_snapshot_series *series)
{
	struct state_key key;
	memset(&key, 0, sizeof(key));
	agp_map_key_string(key.agent_type, sizeof(key.agent_type), series->agent_type);
	agp_map_key_string(key.agent, sizeof(key.agent), series->agent);
	agp_map_key_string(key.metric, sizeof(key.metric), series->metric);
	return key;
}

static struct series_state *state_at(const struct agp_prom_exporter *exporter, size_t i)
{
	struct series_state *state;
	memcpy(&state, agp_map_value_at(&exporter->states, i), sizeof(state));
	return state;
}

static void state_free(struct series_state *state)
{
	free(state->raw.buckets);
	free(state->corrected.buckets);
	free(state);
}

static const struct agp_prom_bounds *unit_bounds(const struct agp_prom_exporter *exporter,
                                                 enum agp_unit unit)
{
	switch (unit) {
	case AGP_UNIT_NANOSECONDS:
		return &exporter->options.duration_seconds;
	case AGP_UNIT_BYTES:
		return &exporter->options.size_bytes;
	default:
		return &exporter->options.sample_value;
	}
}

static bool bounds_valid(const struct agp_prom_bounds *bounds)
{
	if (bounds->count > AGP_PROM_BOUNDS_MAX)
		return false;
	for (size_t i = 0; i < bounds->count; i++)
		if (!(bounds->value[i] > 0) || !isfinite(bounds->value[i]) ||
		    (i > 0 && !(bounds->value[i] > bounds->value[i - 1])))
			return false;
	return true;
}

int agp_prom_exporter_create(const struct agp_prom_options *options, const struct agp_config *cfg,
                             struct agp_prom_exporter **out)
{
	if (!bounds_valid(&options->duration_seconds) || !bounds_valid(&options->size_bytes) ||
	    !bounds_valid(&options->sample_value))
		return agp__error(-EINVAL, "prometheus: bucket bounds must be positive, finite and "
		                           "strictly increasing");
	struct agp_prom_exporter *exporter = calloc(1, sizeof(*exporter));
	if (!exporter)
		return -ENOMEM;
	exporter->options = *options;
	if (cfg)
		agp_level_bands_from_config(cfg, &exporter->bands);
	else
		agp_level_bands_from_critical_ms(200.0, &exporter->bands);
	int error = agp_hdr_create(options->histogram_lowest, options->histogram_highest,
	                           options->histogram_significant_figures, &exporter->scratch);
	if (error) {
		agp__error(error, "prometheus: histogram layout %lld..%lld, %d digits is invalid",
		           (long long)options->histogram_lowest,
		           (long long)options->histogram_highest,
		           options->histogram_significant_figures);
		goto free_exporter;
	}
	error = agp_map_init(&exporter->states, sizeof(struct state_key),
	                     sizeof(struct series_state *), 64);
	if (error)
		goto destroy_scratch;
	pthread_mutex_init(&exporter->lock, NULL);
	*out = exporter;
	return 0;

destroy_scratch:
	agp_hdr_destroy(exporter->scratch);
free_exporter:
	free(exporter);
	return error;
}

void agp_prom_exporter_destroy(struct agp_prom_exporter *exporter)
{
	if (!exporter)
		return;
	for (size_t i = 0; i < agp_map_count(&exporter->states); i++)
		state_free(state_at(exporter, i));
	agp_map_destroy(&exporter->states);
	agp_hdr_destroy(exporter->scratch);
	pthread_mutex_destroy(&exporter->lock);
	free(exporter);
}

static struct series_state *state_get(struct agp_prom_exporter *exporter,
                                      const struct agp_snapshot_series *series)
{
	struct state_key key = state_key(series);
	struct series_state *const *found = agp_map_find(&exporter->states, &key);
	if (found)
		return *found;
	struct series_state *state = calloc(1, sizeof(*state));
	if (!state)
		return NULL;
	state->has_corrected = series->expected_interval_ns != 0;
	state->raw.buckets = calloc(AGP_PROM_BOUNDS_MAX, sizeof(uint64_t));
	if (state->has_corrected)
		state->corrected.buckets = calloc(AGP_PROM_BOUNDS_MAX, sizeof(uint64_t));
	if (!state->raw.buckets || (state->has_corrected && !state->corrected.buckets)) {
		state_free(state);
		return NULL;
	}
	memcpy(state->agent_type, series->agent_type, sizeof(state->agent_type));
	memcpy(state->agent, series->agent, sizeof(state->agent));
	memcpy(state->metric, series->metric, sizeof(state->metric));
	state->unit = series->unit;
	if (agp_map_insert(&exporter->states, &key, &state, NULL) != 0) {
		state_free(state);
		return NULL;
	}
	return state;
}

/*
 * Adds one window's raw (or, with corrected, its coordinated-omission corrected) samples per
 * bucket into into->buckets[] (sized for the unit's bounds) and its count and exact sum into
 * into->count and into->sum.
 */
static int add_window(struct agp_prom_exporter *exporter, enum agp_unit unit,
                      const struct agp_snapshot_window *window, bool corrected,
                      struct cumulative *into)
{
	struct agp_hdr *scratch = exporter->scratch;
	agp_hdr_reset(scratch);
	int error = agp_snapshot_window_merge(window, corrected, scratch);
	if (error)
		return error;
	uint64_t *buckets = into->buckets;
	into->count += (uint64_t)agp_hdr_count(scratch);
	into->sum += scratch->sum;
	const struct agp_prom_bounds *bounds = unit_bounds(exporter, unit);
	double scale = agp_unit_prometheus_divisor(unit);
	size_t bound = 0;
	struct agp_hdr_iter it;
	agp_hdr_iter_init(&it, scratch);
	while (agp_hdr_iter_next(&it)) {
		/* Entries come in increasing value order, so the bound only moves forward. */
		while (bound < bounds->count && (double)it.value > bounds->value[bound] * scale)
			bound++;
		if (bound == bounds->count)
			break; /* the rest lies above every bound: only +Inf (the count) holds it */
		buckets[bound] += (uint64_t)it.count;
	}
	return 0;
}

/* Feeds the closed windows (all but the last) not yet counted. Lock held. */
/*
 * Forgets the series the snapshot no longer has. The collector removes a per-agent series
 * after a whole retention period without samples; keeping its sums would let the exporter
 * grow with every agent that ever lived. Should the series come back, its counters restart
 * from zero, which Prometheus reads as a counter reset.
 */
static void prune(struct agp_prom_exporter *exporter, uint64_t generation)
{
	for (size_t i = 0; i < agp_map_count(&exporter->states);) {
		struct series_state *state = state_at(exporter, i);
		if (state->seen_generation == generation) {
			i++;
			continue;
		}
		/* The last state moves into place i: look at i again. */
		agp_map_remove_at(&exporter->states, i);
		state_free(state);
	}
}

static int ingest(struct agp_prom_exporter *exporter, const struct agp_snapshot *snapshot)
{
	if (snapshot->generation < exporter->generation_seen)
		return -ESTALE;
	exporter->generation_seen = snapshot->generation;
	size_t exported = 0;
	for (size_t s = 0; s < snapshot->series_count; s++) {
		const struct agp_snapshot_series *series = &snapshot->series[s];
		if (series->agent[0] && !exporter->options.per_agent)
			continue;
		struct series_state *state = state_get(exporter, series);
		if (!state)
			return -ENOMEM;
		state->seen_generation = snapshot->generation;
		exported++;
		for (size_t w = 0; w + 1 < series->window_count; w++) {
			const struct agp_snapshot_window *window = &series->windows[w];
			if (window->start_ns < state->ingested_until_ns)
				continue;
			state->ingested_until_ns = window->end_ns;
			if (!agp_snapshot_window_has_samples(window))
				continue;
			int error = add_window(exporter, state->unit, window, false, &state->raw);
			if (!error && state->has_corrected)
				error = add_window(exporter, state->unit, window, true,
				                   &state->corrected);
			if (error)
				return error;
		}
	}
	if (agp_map_count(&exporter->states) > exported)
		prune(exporter, snapshot->generation);
	return 0;
}

int agp_prom_exporter_update(struct agp_prom_exporter *exporter,
                             const struct agp_snapshot *snapshot)
{
	pthread_mutex_lock(&exporter->lock);
	int error = ingest(exporter, snapshot);
	pthread_mutex_unlock(&exporter->lock);
	return error;
}

/* ---- rendering -------------------------------------------------------------------------- */

struct histogram_family {
	enum agp_unit unit;
	bool corrected; /* the coordinated-omission corrected histograms, of metrics with one */
	const char *name;
	const char *help;
};

#define CORRECTED_HELP                                                                             \
	" with an expected interval, corrected for coordinated omission (HdrHistogram's rule: a "  \
	"sample v also counts v - k x interval, k = 1, 2, ..., while that is at least the "        \
	"interval), cumulative since the collector started; the raw samples are in "

static const struct histogram_family histogram_families[] = {
    {AGP_UNIT_NANOSECONDS, false, "agentperf_duration_seconds",
     "Samples of every duration metric in seconds, cumulative since the collector started."},
    {AGP_UNIT_BYTES, false, "agentperf_size_bytes",
     "Samples of every memory metric in bytes, cumulative since the collector started."},
    {AGP_UNIT_COUNT, false, "agentperf_sample_value",
     "Samples of every plain-count metric, cumulative since the collector started."},
    {AGP_UNIT_NANOSECONDS, true, "agentperf_corrected_duration_seconds",
     "Samples in seconds of every duration metric" CORRECTED_HELP "agentperf_duration_seconds."},
    {AGP_UNIT_BYTES, true, "agentperf_corrected_size_bytes",
     "Samples in bytes of every memory metric" CORRECTED_HELP "agentperf_size_bytes."},
    {AGP_UNIT_COUNT, true, "agentperf_corrected_sample_value",
     "Samples of every plain-count metric" CORRECTED_HELP "agentperf_sample_value."},
};

static void text_series_labels(struct text *t, const char *agent_type, const char *agent,
                               const char *metric)
{
	text_printf(t, "agent_type=\"");
	text_label_value(t, agent_type);
	if (agent && agent[0]) {
		text_printf(t, "\",agent=\"");
		text_label_value(t, agent);
	}
	text_printf(t, "\",metric=\"");
	text_label_value(t, metric);
	text_putc(t, '"');
}

/*
 * Per-agent series (--http-per-agent) go under names of their own,
 * agentperf_agent_<rest>, so that a sum over a default family never counts a
 * sample twice (once in its agent type's series and once in its agent's).
 */
static void family_name(char *out, size_t size, const char *name, bool per_agent)
{
	static const char prefix[] = "agentperf_";
	if (per_agent)
		snprintf(out, size, "agentperf_agent_%s", name + sizeof(prefix) - 1);
	else
		snprintf(out, size, "%s", name);
}

static void family_help(char *out, size_t size, const char *help, bool per_agent)
{
	snprintf(out, size, "%s%s",
	         per_agent ? "Per agent (labels agent_type, agent, metric): " : "", help);
}

static void sum_to_text(struct text *t, unsigned __int128 sum, enum agp_unit unit)
{
	text_double(t, (double)sum / agp_unit_prometheus_divisor(unit));
}

static int render_histograms(struct agp_prom_exporter *exporter,
                             const struct agp_snapshot *snapshot, struct text *t)
{
	uint64_t open_buckets[AGP_PROM_BOUNDS_MAX];
	size_t families = sizeof(histogram_families) / sizeof(histogram_families[0]);
	for (size_t f = 0; f < 2 * families; f++) {
		const struct histogram_family *family = &histogram_families[f % families];
		bool per_agent = f >= families;
		if (per_agent && !exporter->options.per_agent)
			break;
		char name_buffer[96], help[512];
		family_name(name_buffer, sizeof(name_buffer), family->name, per_agent);
		family_help(help, sizeof(help), family->help, per_agent);
		const char *family_text = name_buffer;
		const struct agp_prom_bounds *bounds = unit_bounds(exporter, family->unit);
		bool header = false;
		for (size_t s = 0; s < snapshot->series_count; s++) {
			const struct agp_snapshot_series *series = &snapshot->series[s];
			enum agp_unit unit =
			    series->unit > AGP_UNIT_COUNT ? AGP_UNIT_COUNT : series->unit;
			if (unit != family->unit || (series->agent[0] != '\0') != per_agent ||
			    series->window_count == 0)
				continue;
			struct series_state *state = state_get(exporter, series);
			if (!state)
				return -ENOMEM;
			if (family->corrected && !state->has_corrected)
				continue;
			const struct cumulative *closed =
			    family->corrected ? &state->corrected : &state->raw;
			/* The open window counts unless it was already fed in as closed. */
			memset(open_buckets, 0, sizeof(open_buckets));
			struct cumulative open_part = {0, 0, open_buckets};
			const struct agp_snapshot_window *open =
			    &series->windows[series->window_count - 1];
			if (agp_snapshot_window_has_samples(open) &&
			    open->start_ns >= state->ingested_until_ns) {
				int error =
				    add_window(exporter, unit, open, family->corrected, &open_part);
				if (error)
					return error;
			}
			uint64_t count = closed->count + open_part.count;
			unsigned __int128 sum = closed->sum + open_part.sum;
			if (!header) {
				text_family(t, family_text, "histogram", help);
				header = true;
			}
			uint64_t cumulative = 0;
			for (size_t b = 0; b < bounds->count; b++) {
				cumulative += closed->buckets[b] + open_buckets[b];
				text_printf(t, "%s_bucket{", family_text);
				text_series_labels(t, series->agent_type, series->agent,
				                   series->metric);
				text_printf(t, ",le=\"");
				text_double(t, bounds->value[b]);
				text_printf(t, "\"} %llu\n", (unsigned long long)cumulative);
			}
			text_printf(t, "%s_bucket{", family_text);
			text_series_labels(t, series->agent_type, series->agent, series->metric);
			text_printf(t, ",le=\"+Inf\"} %llu\n", (unsigned long long)count);
			text_printf(t, "%s_sum{", family_text);
			text_series_labels(t, series->agent_type, series->agent, series->metric);
			text_printf(t, "} ");
			sum_to_text(t, sum, unit);
			text_printf(t, "\n%s_count{", family_text);
			text_series_labels(t, series->agent_type, series->agent, series->metric);
			text_printf(t, "} %llu\n", (unsigned long long)count);
		}
	}
	return 0;
}

static void render_scalar(struct text *t, const char *name, const char *type, const char *help,
                          double value)
{
	text_family(t, name, type, help);
	text_printf(t, "%s ", name);
	text_double(t, value);
	text_putc(t, '\n');
}

static void render_totals(const struct agp_prom_exporter *exporter,
                          const struct agp_snapshot *snapshot, struct text *t)
{
	const struct agp_snapshot_totals *totals = &snapshot->totals;
	render_scalar(t, "agentperf_samples_written_total", "counter",
	              "Samples agents wrote into their rings (aggregated + invalid + dropped + "
	              "pending).",
	              (double)totals->written);
	render_scalar(t, "agentperf_samples_aggregated_total", "counter",
	              "Samples the collector drained into histograms.", (double)totals->aggregated);
	render_scalar(t, "agentperf_samples_dropped_total", "counter",
	              "Samples dropped because an agent's ring was full.", (double)totals->dropped);
	render_scalar(t, "agentperf_records_invalid_total", "counter",
	              "Records the collector rejected as invalid.", (double)totals->invalid);
	render_scalar(t, "agentperf_alerts_total", "counter",
	              "Threshold and regression alerts raised (after the cooldown).",
	              (double)totals->alerts);
	render_scalar(t, "agentperf_samples_pending", "gauge",
	              "Samples written but still in the rings.", (double)totals->pending);
	render_scalar(t, "agentperf_agents_live", "gauge",
	              "Agents whose process runs and whose slot is live.",
	              (double)totals->agents_live);
	render_scalar(t, "agentperf_slots_quarantined", "gauge",
	              "Slots whose ring indices were scribbled and are no longer read.",
	              (double)totals->quarantined_slots);
	render_scalar(t, "agentperf_agents_lying", "gauge",
	              "Agents whose counters are impossible; their figures are in no total.",
	              (double)totals->lying_agents);
	render_scalar(
	    t, "agentperf_collector_start_time_seconds", "gauge",
	    "Unix time the collector started (its counters start from zero then).",
	    (double)(snapshot->taken_wall_ms -
	             (int64_t)((snapshot->taken_ns - snapshot->collector_started_ns) / 1000000)) /
	        1e3);

	for (int per_agent = 0; per_agent <= (int)exporter->options.per_agent; per_agent++) {
		char name[96], help[256];
		family_name(name, sizeof(name), "agentperf_samples_clamped_total", per_agent);
		family_help(help, sizeof(help),
		            "Samples above the histogram range, recorded at its top.", per_agent);
		bool header = false;
		for (size_t s = 0; s < snapshot->series_count; s++) {
			const struct agp_snapshot_series *series = &snapshot->series[s];
			if ((series->agent[0] != '\0') != per_agent)
				continue;
			if (!header) {
				text_family(t, name, "counter", help);
				header = true;
			}
			text_printf(t, "%s{", name);
			text_series_labels(t, series->agent_type, series->agent, series->metric);
			text_printf(t, "} %llu\n", (unsigned long long)series->clamped);
		}
	}
}

/* What this collector is, as Prometheus's *_build_info convention has it: labels, value 1. */
static void render_build_info(struct text *t)
{
	text_family(t, "agentperf_build_info", "gauge",
	            "The collector's version and shared-memory ABI (value 1).");
	text_printf(t, "agentperf_build_info{version=\"%d.%d\",abi=\"%u.%u\"} 1\n",
	            AGENTPERF_VERSION_MAJOR, AGENTPERF_VERSION_MINOR, AGP_SHM_ABI_MAJOR,
	            AGP_SHM_ABI_MINOR);
}

/* The collector process itself, under the client libraries' standard process_ names. */
static void render_process(struct text *t)
{
	struct agp_process_metrics process;
	if (!agp_process_metrics_read(&process))
		return;
	render_scalar(t, "process_cpu_seconds_total", "counter",
	              "Total user and system CPU time spent in seconds.", process.cpu_seconds);
	render_scalar(t, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.",
	              process.resident_bytes);
	render_scalar(t, "process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.",
	              process.virtual_bytes);
	render_scalar(t, "process_open_fds", "gauge", "Number of open file descriptors.",
	              process.open_fds);
	if (process.max_fds >= 0)
		render_scalar(t, "process_max_fds", "gauge",
		              "Maximum number of open file descriptors.", process.max_fds);
	render_scalar(t, "process_start_time_seconds", "gauge",
	              "Start time of the process since unix epoch in seconds.",
	              process.start_time_seconds);
}

static void render_health(const struct agp_prom_exporter *exporter,
                          const struct agp_snapshot *snapshot, struct text *t)
{
	/* The seed's overall health: the average coordination overhead of the recent period. */
	uint64_t since = snapshot->taken_ns > exporter->options.health_period_ns
	                     ? snapshot->taken_ns - exporter->options.health_period_ns
	                     : 0;
	uint64_t count = 0;
	unsigned __int128 sum = 0;
	for (size_t s = 0; s < snapshot->series_count; s++) {
		const struct agp_snapshot_series *series = &snapshot->series[s];
		if (series->agent[0] || series->metric_id != AGP_METRIC_COORDINATION_OVERHEAD)
			continue;
		for (size_t w = 0; w < series->window_count; w++) {
			const struct agp_snapshot_window *window = &series->windows[w];
			if (window->end_ns <= since || !agp_snapshot_window_has_samples(window))
				continue;
			struct agp_sparse_summary summary;
			if (agp_snapshot_window_summary(window, &summary) != 0)
				continue; /* a damaged window costs its samples, not the scrape */
			count += (uint64_t)summary.total_count;
			sum += summary.sum;
		}
	}
	double average = count ? (double)sum / (double)count : NAN;
	enum agp_level level = agp_level_classify(&exporter->bands, count, average);
	text_family(
	    t, "agentperf_health_level", "gauge",
	    "Overall health from the average coordination overhead of the last 30 minutes: "
	    "0 unknown (no samples), 1 excellent, 2 good, 3 acceptable, 4 poor, 5 critical.");
	text_printf(t, "agentperf_health_level %d\n", (int)level);
	text_family(t, "agentperf_health", "gauge",
	            "1 for the current overall health level, 0 for the others.");
	for (int l = AGP_LEVEL_UNKNOWN; l <= AGP_LEVEL_CRITICAL; l++)
		text_printf(t, "agentperf_health{level=\"%s\"} %d\n",
		            agp_level_name((enum agp_level)l), l == (int)level);
	text_family(t, "agentperf_coordination_overhead_average_seconds", "gauge",
	            "Average coordination overhead of the health period (NaN without samples).");
	text_printf(t, "agentperf_coordination_overhead_average_seconds ");
	text_double(t, average / 1e9);
	text_putc(t, '\n');
}

struct baseline_family {
	enum agp_unit unit;
	const char *name;
	const char *help;
};

static const struct baseline_family baseline_families[] = {
    {AGP_UNIT_NANOSECONDS, "agentperf_baseline_duration_seconds",
     "Baseline statistics of duration metrics in seconds (statistic: mean, stddev (sample), "
     "mean_ci_low, mean_ci_high, p50, p95, p99, max, p95_upper); no agent_type label: all "
     "types."},
    {AGP_UNIT_BYTES, "agentperf_baseline_size_bytes",
     "Baseline statistics of memory metrics in bytes (statistics as for durations)."},
    {AGP_UNIT_COUNT, "agentperf_baseline_sample_value",
     "Baseline statistics of plain-count metrics (statistics as for durations)."},
};

static void baseline_labels(struct text *t, const struct agp_baseline_metric *metric)
{
	if (metric->agent_type[0]) {
		text_printf(t, "agent_type=\"");
		text_label_value(t, metric->agent_type);
		text_printf(t, "\",");
	}
	text_printf(t, "metric=\"");
	text_label_value(t, metric->metric);
	text_putc(t, '"');
}

static void render_baseline(const struct agp_baseline *baseline, struct text *t)
{
	render_scalar(t, "agentperf_baseline_established", "gauge",
	              "1 when a baseline exists, else 0.", baseline && baseline->established);
	if (!baseline || !baseline->established)
		return;
	render_scalar(t, "agentperf_baseline_established_timestamp_seconds", "gauge",
	              "Unix time the baseline was established.",
	              (double)baseline->established_at_us / 1e6);
	render_scalar(t, "agentperf_baseline_last_updated_timestamp_seconds", "gauge",
	              "Unix time the baseline was last updated.",
	              (double)baseline->last_updated_us / 1e6);
	text_family(t, "agentperf_baseline_samples", "gauge",
	            "Samples each baseline entry rests on.");
	for (size_t m = 0; m < baseline->metric_count; m++) {
		text_printf(t, "agentperf_baseline_samples{");
		baseline_labels(t, &baseline->metrics[m]);
		text_printf(t, "} %llu\n", (unsigned long long)baseline->metrics[m].count);
	}
	for (size_t f = 0; f < sizeof(baseline_families) / sizeof(baseline_families[0]); f++) {
		const struct baseline_family *family = &baseline_families[f];
		bool header = false;
		for (size_t m = 0; m < baseline->metric_count; m++) {
			const struct agp_baseline_metric *metric = &baseline->metrics[m];
			enum agp_unit unit =
			    metric->unit > AGP_UNIT_COUNT ? AGP_UNIT_COUNT : metric->unit;
			if (unit != family->unit)
				continue;
			if (!header) {
				text_family(t, family->name, "gauge", family->help);
				header = true;
			}
			double scale = agp_unit_prometheus_divisor(unit);
			const struct {
				const char *name;
				double value;
				bool percentile; /* absent from a seed import */
			} statistics[] = {
			    {"mean", metric->mean, false},
			    {"stddev", metric->stddev, false},
			    {"mean_ci_low", metric->mean_ci_low, false},
			    {"mean_ci_high", metric->mean_ci_high, false},
			    {"p50", (double)metric->p50, true},
			    {"p95", (double)metric->p95, true},
			    {"p99", (double)metric->p99, true},
			    {"max", (double)metric->max, true},
			    {"p95_upper", (double)metric->p95_upper, true},
			};
			for (size_t i = 0; i < sizeof(statistics) / sizeof(statistics[0]); i++) {
				if (statistics[i].percentile && !metric->has_percentiles)
					continue;
				text_printf(t, "%s{", family->name);
				baseline_labels(t, metric);
				text_printf(t, ",statistic=\"%s\"} ", statistics[i].name);
				text_double(t, statistics[i].value / scale);
				text_putc(t, '\n');
			}
		}
	}
}

int agp_prom_render(struct agp_prom_exporter *exporter, const struct agp_snapshot *snapshot,
                    const struct agp_baseline *baseline, char **text, size_t *len)
{
	struct text t = {0};
	pthread_mutex_lock(&exporter->lock);
	int error = ingest(exporter, snapshot);
	if (!error)
		error = render_histograms(exporter, snapshot, &t);
	pthread_mutex_unlock(&exporter->lock);
	if (error)
		goto fail;
	render_totals(exporter, snapshot, &t);
	render_health(exporter, snapshot, &t);
	render_baseline(baseline, &t);
	render_build_info(&t);
	render_process(&t);
	if (t.failed) {
		error = -ENOMEM;
		goto fail;
	}
	*text = t.data;
	*len = t.len;
	return 0;
fail:
	free(t.data);
	return error;
}
