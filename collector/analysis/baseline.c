/*
 * Baselines (see baseline.h and docs/analysis.md).
 *
 * Exactness. A window histogram keeps the integer sum and sum of squares of
 * the raw values (unsigned __int128). The textbook variance
 * (S2 - S1^2 / n) / (n - 1) in floating point loses everything when the
 * spread is small beside the values (100 ms +- 1 ns squared is 1e16 +- 2e8:
 * the difference vanishes in a double). We split S1 = q n + r (q, r
 * integers, r < n) and use the identity
 *     sum (x - q)^2 = S2 - n q^2 - 2 q r            (an integer, >= 0)
 *     sum (x - mean)^2 = sum (x - q)^2 - r^2 / n
 * so the only rounding is of the final, small quantities. Nothing can wrap:
 * n q^2 <= S1^2 / n <= S2 (Cauchy-Schwarz) and S2 itself fits.
 */
#include "collector/analysis/baseline.h"
#include "common/json_values.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hdr/histogram.h"
#include "collector/analysis/statistics.h"
#include "common/atomic_file.h"
#include "common/json_dump.h"
#include "common/json_u64.h"

#define NS_PER_HOUR  3600e9
#define NS_PER_MS    1e6
#define BYTES_PER_MB 1048576.0

int agp_baseline_moments(const struct agp_hdr *histogram, double *mean, double *variance)
{
	if (histogram->total_count <= 0)
		return -EINVAL;
	typedef unsigned __int128 u128;
	u128 n = (u128)histogram->total_count;
	u128 q = histogram->sum / n;
	u128 r = histogram->sum % n;
	*mean = (double)q + (double)r / (double)n;
	if (histogram->total_count < 2) {
		*variance = NAN;
		return 0;
	}
	u128 about_q = histogram->sum_squares - n * q * q - 2 * q * r;
	long double m2 = (long double)about_q - (long double)(r * r) / (long double)n;
	*variance = m2 > 0 ? (double)(m2 / (long double)(n - 1)) : 0.0;
	return 0;
}

void agp_baseline_metric_compute(const struct agp_hdr *histogram, double confidence,
                                 struct agp_baseline_metric *entry)
{
	uint64_t n = (uint64_t)agp_hdr_count(histogram);
	double mean = 0, variance = NAN;
	agp_baseline_moments(histogram, &mean, &variance);
	entry->count = n;
	entry->has_percentiles = n > 0;
	entry->mean = mean;
	entry->stddev = sqrt(variance);
	struct agp_confidence_interval ci;
	if (agp_confidence_interval(n, mean, entry->stddev, confidence, &ci) == 0) {
		entry->mean_ci_low = ci.lower;
		entry->mean_ci_high = ci.upper;
	} else {
		entry->mean_ci_low = entry->mean_ci_high = NAN;
	}
	entry->p50 = agp_hdr_value_at_percentile(histogram, 50.0);
	entry->p95 = agp_hdr_value_at_percentile(histogram, 95.0);
	entry->p99 = agp_hdr_value_at_percentile(histogram, 99.0);
	entry->max = agp_hdr_max(histogram); /* exact */

	/*
	 * Distribution-free upper bound of the p95: the number of samples at or
	 * below the true p95 is Binomial(n, 0.95), so the order statistic of
	 * rank ceil(0.95 n + z sqrt(0.95 * 0.05 n)) lies above the true p95 with
	 * probability about `confidence` (normal approximation, one-sided z).
	 * Never below the p95's own rank, never beyond the largest sample.
	 */
	if (n == 0) {
		entry->p95_upper = 0;
		return;
	}
	double z = agp_normal_quantile(confidence);
	double rank = ceil((double)n * 0.95 + z * sqrt((double)n * 0.95 * 0.05));
	double own_rank = floor((double)n * 0.95 + 0.5);
	if (!(rank >= own_rank))
		rank = own_rank;
	if (rank < 1)
		rank = 1;
	if (rank > (double)n)
		rank = (double)n;
	entry->p95_upper = agp_hdr_value_at_percentile(histogram, 100.0 * rank / (double)n);
}

const struct agp_baseline_metric *agp_baseline_find(const struct agp_baseline *baseline,
                                                    const char *metric, const char *agent_type)
{
	const char *type = agent_type ? agent_type : "";
	for (size_t i = 0; i < baseline->metric_count; i++) {
		const struct agp_baseline_metric *entry = &baseline->metrics[i];
		if (strcmp(entry->metric, metric) == 0 && strcmp(entry->agent_type, type) == 0)
			return entry;
	}
	return NULL;
}

/* Establishing ---------------------------------------------------------------------------- */

static bool is_type_series(const struct agp_snapshot_series *series)
{
	return series->agent[0] == '\0';
}

static int compare_names(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int compare_entries(const void *a, const void *b)
{
	const struct agp_baseline_metric *x = a, *y = b;
	int order = strcmp(x->metric, y->metric);
	return order ? order : strcmp(x->agent_type, y->agent_type);
}

/* Appends an entry computed from histogram (skipped when the period holds no sample). */
static void add_entry(struct agp_baseline *baseline, const struct agp_hdr *histogram,
                      const char *metric, const char *agent_type, enum agp_unit unit,
                      double confidence)
{
	if (agp_hdr_count(histogram) == 0 || baseline->metric_count == AGP_BASELINE_METRICS_MAX)
		return;
	struct agp_baseline_metric *entry = &baseline->metrics[baseline->metric_count++];
	memset(entry, 0, sizeof(*entry));
	snprintf(entry->metric, sizeof(entry->metric), "%s", metric);
	snprintf(entry->agent_type, sizeof(entry->agent_type), "%s", agent_type);
	entry->unit = unit;
	agp_baseline_metric_compute(histogram, confidence, entry);
}

static int check_establish_settings(double measurement_period_hours, int64_t min_samples,
                                    double confidence_interval, char *err, size_t errlen)
{
	if (!(measurement_period_hours > 0) || !isfinite(measurement_period_hours)) {
		snprintf(err, errlen,
		         "measurement_period_hours %g: expected a positive number of hours",
		         measurement_period_hours);
		return -EINVAL;
	}
	if (min_samples < 1) {
		snprintf(err, errlen, "min_samples %" PRId64 ": expected at least 1", min_samples);
		return -EINVAL;
	}
	if (!(confidence_interval > 0 && confidence_interval < 1)) {
		snprintf(err, errlen, "confidence_interval %g: expected a level between 0 and 1",
		         confidence_interval);
		return -EINVAL;
	}
	return 0;
}

/* The distinct metrics with (agent type, metric) series into names, in name order; their count. */
static size_t type_metric_names(const struct agp_snapshot *snapshot, const char **names)
{
	size_t name_count = 0;
	for (size_t s = 0; s < snapshot->series_count; s++) {
		if (!is_type_series(&snapshot->series[s]))
			continue;
		bool seen = false;
		for (size_t i = 0; i < name_count && !seen; i++)
			seen = strcmp(names[i], snapshot->series[s].metric) == 0;
		if (!seen)
			names[name_count++] = snapshot->series[s].metric;
	}
	qsort(names, name_count, sizeof(*names), compare_names);
	return name_count;
}

/* Adds the series' windows that end after since_ns into histogram. */
static int merge_period(const struct agp_snapshot_series *series, uint64_t since_ns,
                        struct agp_hdr *histogram, char *err, size_t errlen)
{
	int error = agp_snapshot_merge_windows(series, since_ns, UINT64_MAX, false, histogram);
	if (error)
		snprintf(err, errlen, "metric %s, agent type %s: a window does not decode (%s)",
		         series->metric, series->agent_type, strerror(-error));
	return error;
}

/*
 * The all-types entry of each metric (every agent type's series merged into
 * scratch), and the coordination_overhead sample count.
 */
static int add_all_types_entries(const struct agp_snapshot *snapshot, const char *const *names,
                                 size_t name_count, uint64_t since_ns, double confidence,
                                 struct agp_hdr *scratch, struct agp_baseline *baseline, char *err,
                                 size_t errlen)
{
	for (size_t i = 0; i < name_count; i++) {
		agp_hdr_reset(scratch);
		enum agp_unit unit = AGP_UNIT_COUNT;
		for (size_t s = 0; s < snapshot->series_count; s++) {
			const struct agp_snapshot_series *series = &snapshot->series[s];
			if (!is_type_series(series) || strcmp(series->metric, names[i]) != 0)
				continue;
			unit = series->unit;
			int error = merge_period(series, since_ns, scratch, err, errlen);
			if (error)
				return error;
		}
		if (strcmp(names[i], "coordination_overhead") == 0)
			baseline->samples_count = (uint64_t)agp_hdr_count(scratch);
		add_entry(baseline, scratch, names[i], "", unit, confidence);
	}
	return 0;
}

/* The entry of each (agent type, metric) series. */
static int add_per_type_entries(const struct agp_snapshot *snapshot, uint64_t since_ns,
                                double confidence, struct agp_hdr *scratch,
                                struct agp_baseline *baseline, char *err, size_t errlen)
{
	for (size_t s = 0; s < snapshot->series_count; s++) {
		const struct agp_snapshot_series *series = &snapshot->series[s];
		if (!is_type_series(series))
			continue;
		agp_hdr_reset(scratch);
		int error = merge_period(series, since_ns, scratch, err, errlen);
		if (error)
			return error;
		add_entry(baseline, scratch, series->metric, series->agent_type, series->unit,
		          confidence);
	}
	return 0;
}

int agp_baseline_establish(const struct agp_snapshot *snapshot, double measurement_period_hours,
                           int64_t min_samples, double confidence_interval,
                           struct agp_baseline *out, char *err, size_t errlen)
{
	int error = check_establish_settings(measurement_period_hours, min_samples,
	                                     confidence_interval, err, errlen);
	if (error)
		return error;
	double period_ns = measurement_period_hours * NS_PER_HOUR;
	uint64_t since_ns =
	    period_ns >= (double)snapshot->taken_ns ? 0 : snapshot->taken_ns - (uint64_t)period_ns;

	error = -ENOMEM;
	struct agp_baseline *baseline = calloc(1, sizeof(*baseline));
	const char **names = calloc(snapshot->series_count + 1, sizeof(*names));
	struct agp_hdr *scratch = NULL;
	if (!baseline || !names || agp_snapshot_histogram_create(snapshot, &scratch) != 0) {
		snprintf(err, errlen, "establishing a baseline: out of memory");
		goto out;
	}

	/* All-types entries first, so that they are never the ones a full table leaves out. */
	size_t name_count = type_metric_names(snapshot, names);
	error = add_all_types_entries(snapshot, names, name_count, since_ns, confidence_interval,
	                              scratch, baseline, err, errlen);
	if (error)
		goto out;
	if (baseline->samples_count < (uint64_t)min_samples) {
		snprintf(err, errlen,
		         "too few coordination_overhead samples for a baseline over the last %g h: "
		         "%" PRIu64 " samples, %" PRId64 " needed",
		         measurement_period_hours, baseline->samples_count, min_samples);
		error = -ENODATA;
		goto out;
	}
	error = add_per_type_entries(snapshot, since_ns, confidence_interval, scratch, baseline,
	                             err, errlen);
	if (error)
		goto out;
	qsort(baseline->metrics, baseline->metric_count, sizeof(baseline->metrics[0]),
	      compare_entries);

	baseline->established = true;
	baseline->established_at_us = snapshot->taken_wall_ms * 1000;
	baseline->last_updated_us = snapshot->taken_wall_ms * 1000;
	baseline->measurement_period_hours = measurement_period_hours;
	baseline->confidence_interval = confidence_interval;
	memcpy(out, baseline, sizeof(*out));
	error = 0;
out:
	agp_hdr_destroy(scratch);
	free(names);
	free(baseline);
	return error;
}

/* JSON ------------------------------------------------------------------------------------ */

/* The seed's keys: the all-types mean of each metric, in ms (MB for memory). */
static const struct {
	const char *key;
	const char *metric;
	double scale; /* wire unit per seed unit */
} seed_keys[] = {
    {"coordination_overhead_ms", "coordination_overhead", NS_PER_MS},
    {"task_execution_ms", "task_execution_time", NS_PER_MS},
    {"agent_init_ms", "agent_initialization", NS_PER_MS},
    {"result_processing_ms", "result_processing", NS_PER_MS},
    {"parallel_overhead_ms", "parallel_coordination", NS_PER_MS},
    {"memory_usage_mb", "memory_usage", BYTES_PER_MB},
};
#define SEED_KEY_COUNT (sizeof(seed_keys) / sizeof(seed_keys[0]))

static json_t *metric_to_json(const struct agp_baseline_metric *entry)
{
	json_t *object = json_object();
	if (!object)
		return NULL;
	json_object_set_new(object, "metric", json_string(entry->metric));
	json_object_set_new(object, "agent_type",
	                    entry->agent_type[0] ? json_string(entry->agent_type) : json_null());
	json_object_set_new(object, "unit", json_string(agp_unit_name(entry->unit)));
	json_object_set_new(object, "count", agp_json_u64(entry->count));
	json_object_set_new(object, "mean", agp_json_number_or_null(entry->mean));
	json_object_set_new(object, "stddev", agp_json_number_or_null(entry->stddev));
	json_object_set_new(object, "mean_ci_low", agp_json_number_or_null(entry->mean_ci_low));
	json_object_set_new(object, "mean_ci_high", agp_json_number_or_null(entry->mean_ci_high));
	/* Without percentiles (a seed import) they are null, never a flattering 0. */
	const char *const keys[] = {"p50", "p95", "p99", "max", "p95_upper"};
	const int64_t values[] = {entry->p50, entry->p95, entry->p99, entry->max, entry->p95_upper};
	for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
		json_object_set_new(object, keys[k],
		                    entry->has_percentiles ? json_integer(values[k]) : json_null());
	return object;
}

json_t *agp_baseline_to_json(const struct agp_baseline *baseline)
{
	json_t *object = json_object();
	json_t *metrics = json_array();
	if (!object || !metrics) {
		json_decref(object);
		json_decref(metrics);
		return NULL;
	}
	for (size_t k = 0; k < SEED_KEY_COUNT; k++) {
		const struct agp_baseline_metric *entry =
		    agp_baseline_find(baseline, seed_keys[k].metric, "");
		/* The seed's keys are numbers; a metric without samples keeps the seed's 0.0. */
		double value = entry ? entry->mean / seed_keys[k].scale : 0.0;
		json_object_set_new(object, seed_keys[k].key, json_real(value));
	}
	json_object_set_new(object, "samples_count", agp_json_u64(baseline->samples_count));
	json_object_set_new(object, "measurement_period_hours",
	                    json_real(baseline->measurement_period_hours));
	json_object_set_new(object, "confidence_interval",
	                    json_real(baseline->confidence_interval));
	json_object_set_new(object, "established_at",
	                    agp_json_iso_time_us(baseline->established_at_us));
	json_object_set_new(object, "last_updated",
	                    agp_json_iso_time_us(baseline->last_updated_us));
	for (size_t i = 0; i < baseline->metric_count; i++)
		json_array_append_new(metrics, metric_to_json(&baseline->metrics[i]));
	json_object_set_new(object, "metrics", metrics);
	return object;
}

/* Reading, with messages that name the key ---------------------------------------------- */

struct reader {
	char *err;
	size_t errlen;
	char path[96]; /* "metrics[3]." while reading an entry */
};

static int wrong(struct reader *reader, const char *key, const char *expected, const json_t *found)
{
	const char *kind = "nothing (the key is missing)";
	if (found) {
		static const char *const kinds[] = {"an object",  "an array",      "a string",
		                                    "an integer", "a real number", "true",
		                                    "false",      "null"};
		kind = kinds[json_typeof(found)];
	}
	snprintf(reader->err, reader->errlen, "key '%s%s': expected %s, found %s", reader->path,
	         key, expected, kind);
	return -EINVAL;
}

static int read_number(struct reader *reader, const json_t *object, const char *key, bool nullable,
                       double *out)
{
	const json_t *value = json_object_get(object, key);
	if (nullable && json_is_null(value)) {
		*out = NAN;
		return 0;
	}
	if (!json_is_number(value))
		return wrong(reader, key, nullable ? "a number or null" : "a number", value);
	*out = json_number_value(value);
	return 0;
}

static int read_count(struct reader *reader, const json_t *object, const char *key, int64_t *out)
{
	const json_t *value = json_object_get(object, key);
	if (!json_is_integer(value) || json_integer_value(value) < 0)
		return wrong(reader, key, "a non-negative integer", value);
	*out = json_integer_value(value);
	return 0;
}

static int read_time(struct reader *reader, const json_t *object, const char *key, int64_t *out)
{
	const json_t *value = json_object_get(object, key);
	if (!json_is_string(value) || agp_parse_iso8601_us(json_string_value(value), out) != 0)
		return wrong(reader, key, "an ISO 8601 time such as \"2026-01-31T12:00:00+00:00\"",
		             value);
	return 0;
}

static int read_name(struct reader *reader, const json_t *object, const char *key, bool nullable,
                     char *out, size_t size)
{
	const json_t *value = json_object_get(object, key);
	if (nullable && json_is_null(value)) {
		out[0] = '\0';
		return 0;
	}
	if (!json_is_string(value) || json_string_length(value) == 0 ||
	    json_string_length(value) >= size)
		return wrong(reader, key, "a name string of 1 to 47 characters", value);
	memcpy(out, json_string_value(value), json_string_length(value) + 1);
	return 0;
}

static int read_unit(struct reader *reader, const json_t *object, enum agp_unit *out)
{
	const json_t *value = json_object_get(object, "unit");
	const enum agp_unit units[] = {AGP_UNIT_NANOSECONDS, AGP_UNIT_BYTES, AGP_UNIT_COUNT};
	for (size_t i = 0; json_is_string(value) && i < 3; i++)
		if (strcmp(json_string_value(value), agp_unit_name(units[i])) == 0) {
			*out = units[i];
			return 0;
		}
	return wrong(reader, "unit", "\"nanoseconds\", \"bytes\" or \"count\"", value);
}

/*
 * p50, p95, p99, max and p95_upper: all non-negative integers, or all null
 * (an entry without percentiles).
 */
static int read_percentiles(struct reader *reader, const json_t *object,
                            struct agp_baseline_metric *entry)
{
	static const char *const keys[] = {"p50", "p95", "p99", "max", "p95_upper"};
	int64_t *const values[] = {&entry->p50, &entry->p95, &entry->p99, &entry->max,
	                           &entry->p95_upper};
	entry->has_percentiles = !json_is_null(json_object_get(object, keys[0]));
	for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
		const json_t *value = json_object_get(object, keys[k]);
		if (!entry->has_percentiles && json_is_null(value)) {
			*values[k] = 0;
			continue;
		}
		if (!entry->has_percentiles)
			return wrong(reader, keys[k], "null, as p50 is null", value);
		int error = read_count(reader, object, keys[k], values[k]);
		if (error)
			return error;
	}
	return 0;
}

static int read_metric(struct reader *reader, const json_t *object,
                       struct agp_baseline_metric *entry)
{
	if (!json_is_object(object)) {
		reader->path[strlen(reader->path) - 1] = '\0'; /* "metrics[3]" without the dot */
		return wrong(reader, "", "an object", object);
	}
	int64_t count;
	int error =
	    read_name(reader, object, "metric", false, entry->metric, sizeof(entry->metric));
	if (!error)
		error = read_name(reader, object, "agent_type", true, entry->agent_type,
		                  sizeof(entry->agent_type));
	if (!error)
		error = read_unit(reader, object, &entry->unit);
	if (!error)
		error = read_count(reader, object, "count", &count);
	if (!error)
		error = read_number(reader, object, "mean", false, &entry->mean);
	if (!error)
		error = read_number(reader, object, "stddev", true, &entry->stddev);
	if (!error)
		error = read_number(reader, object, "mean_ci_low", true, &entry->mean_ci_low);
	if (!error)
		error = read_number(reader, object, "mean_ci_high", true, &entry->mean_ci_high);
	if (error)
		return error;
	entry->count = (uint64_t)count;
	return read_percentiles(reader, object, entry);
}

/*
 * A file of the original system has the seed keys only: its means become
 * all-types entries (no deviation, no percentiles: has_percentiles false, so
 * no quantile test) until the first baseline agentperf establishes itself.
 */
static void entries_from_seed_keys(const json_t *json, struct agp_baseline *baseline)
{
	for (size_t k = 0; k < SEED_KEY_COUNT; k++) {
		double value = json_number_value(json_object_get(json, seed_keys[k].key));
		if (!(value > 0))
			continue;
		struct agp_baseline_metric *entry = &baseline->metrics[baseline->metric_count++];
		memset(entry, 0, sizeof(*entry));
		snprintf(entry->metric, sizeof(entry->metric), "%s", seed_keys[k].metric);
		entry->unit = strcmp(seed_keys[k].metric, "memory_usage") == 0
		                  ? AGP_UNIT_BYTES
		                  : AGP_UNIT_NANOSECONDS;
		entry->mean = value * seed_keys[k].scale;
		entry->count = strcmp(seed_keys[k].metric, "coordination_overhead") == 0
		                   ? baseline->samples_count
		                   : 0;
		entry->stddev = entry->mean_ci_low = entry->mean_ci_high = NAN;
	}
}

int agp_baseline_from_json(const json_t *json, struct agp_baseline *out, char *err, size_t errlen)
{
	struct reader reader = {err, errlen, ""};
	if (!json_is_object(json)) {
		snprintf(err, errlen, "expected a JSON object at the top level");
		return -EINVAL;
	}
	struct agp_baseline *baseline = calloc(1, sizeof(*baseline));
	if (!baseline) {
		snprintf(err, errlen, "reading a baseline: out of memory");
		return -ENOMEM;
	}
	int error = 0;
	double ignored;
	for (size_t k = 0; k < SEED_KEY_COUNT && !error; k++)
		error = read_number(&reader, json, seed_keys[k].key, false, &ignored);
	int64_t samples = 0;
	if (!error)
		error = read_count(&reader, json, "samples_count", &samples);
	if (!error)
		error = read_number(&reader, json, "measurement_period_hours", false,
		                    &baseline->measurement_period_hours);
	if (!error)
		error = read_number(&reader, json, "confidence_interval", false,
		                    &baseline->confidence_interval);
	if (!error && !(baseline->confidence_interval > 0 && baseline->confidence_interval < 1))
		error = wrong(&reader, "confidence_interval", "a level between 0 and 1 (exclusive)",
		              json_object_get(json, "confidence_interval"));
	if (!error)
		error = read_time(&reader, json, "established_at", &baseline->established_at_us);
	if (!error)
		error = read_time(&reader, json, "last_updated", &baseline->last_updated_us);
	if (error)
		goto out;
	baseline->samples_count = (uint64_t)samples;

	const json_t *metrics = json_object_get(json, "metrics");
	if (!metrics) {
		entries_from_seed_keys(json, baseline);
	} else if (!json_is_array(metrics)) {
		error = wrong(&reader, "metrics", "an array of metric objects", metrics);
		goto out;
	} else if (json_array_size(metrics) > AGP_BASELINE_METRICS_MAX) {
		snprintf(err, errlen, "key 'metrics': %zu entries, at most %d expected",
		         json_array_size(metrics), AGP_BASELINE_METRICS_MAX);
		error = -EINVAL;
		goto out;
	} else {
		for (size_t i = 0; i < json_array_size(metrics); i++) {
			snprintf(reader.path, sizeof(reader.path), "metrics[%zu].", i);
			error =
			    read_metric(&reader, json_array_get(metrics, i), &baseline->metrics[i]);
			if (error)
				goto out;
			baseline->metric_count++;
		}
	}
	baseline->established = true;
	memcpy(out, baseline, sizeof(*out));
out:
	free(baseline);
	return error;
}

/* Files ----------------------------------------------------------------------------------- */

static int baseline_path(const char *storage_dir, char *path, size_t size)
{
	if (snprintf(path, size, "%s/%s", storage_dir, AGP_BASELINE_FILE) >= (int)size)
		return -ENAMETOOLONG;
	return 0;
}

int agp_baseline_save(const struct agp_baseline *baseline, const char *storage_dir, char *err,
                      size_t errlen)
{
	char path[4096];
	if (baseline_path(storage_dir, path, sizeof(path)) != 0) {
		snprintf(err, errlen, "storage_dir '%s' is too long", storage_dir);
		return -ENAMETOOLONG;
	}
	json_t *json = agp_baseline_to_json(baseline);
	char *text = json ? agp_json_dumps(json, JSON_INDENT(2)) : NULL;
	json_decref(json);
	if (!text) {
		snprintf(err, errlen, "writing %s: out of memory", path);
		return -ENOMEM;
	}
	size_t length = strlen(text);
	/* A trailing newline, as the seed's json.dump(..., indent=2) files and editors expect. */
	char *with_newline = realloc(text, length + 2);
	if (!with_newline) {
		free(text);
		snprintf(err, errlen, "writing %s: out of memory", path);
		return -ENOMEM;
	}
	with_newline[length] = '\n';
	with_newline[length + 1] = '\0';
	/* Missing folders of storage_dir are made (0700); err names the path and the failed step.
	 */
	int error = agp_atomic_write_file(path, with_newline, length + 1, err, errlen);
	free(with_newline);
	return error;
}

int agp_baseline_load(const char *storage_dir, struct agp_baseline *out, char *err, size_t errlen)
{
	char path[4096];
	if (baseline_path(storage_dir, path, sizeof(path)) != 0) {
		snprintf(err, errlen, "storage_dir '%s' is too long", storage_dir);
		return -ENAMETOOLONG;
	}
	json_error_t parse_error;
	json_t *json = json_load_file(path, JSON_REJECT_DUPLICATES, &parse_error);
	if (!json) {
		if (json_error_code(&parse_error) == json_error_cannot_open_file) {
			FILE *probe = fopen(path, "r");
			int error = probe ? -EIO : -errno;
			if (probe)
				fclose(probe);
			snprintf(err, errlen, "baseline file %s: %s", path, strerror(-error));
			return error;
		}
		snprintf(err, errlen, "baseline file %s: not valid JSON at line %d, column %d: %s",
		         path, parse_error.line, parse_error.column, parse_error.text);
		return -EINVAL;
	}
	char detail[512];
	int error = agp_baseline_from_json(json, out, detail, sizeof(detail));
	json_decref(json);
	if (error)
		snprintf(err, errlen, "baseline file %s: %s", path, detail);
	return error;
}
