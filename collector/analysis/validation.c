/*
 * Validation, the CI export and the report (see validation.h and
 * docs/analysis.md for every figure's convention).
 *
 * Everything here reads one immutable snapshot: the caller holds it
 * (agp_snapshot_read_begin .. _end, or owns it) for the duration of a call.
 * Figures in the seed's keys are in milliseconds (MB for memory); the
 * additions say their unit beside the value.
 */
#include "collector/analysis/validation.h"
#include "collector/alerts/sink.h"
#include "common/json_u64.h"
#include "common/json_values.h"
#include "common/units.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hdr/histogram.h"
#include "collector/analysis/level.h"
#include "collector/analysis/quantile_test.h"
#include "hdr/sparse.h"

#define COORDINATION "coordination_overhead"
#define TASKS        "task_execution_time"
/* A change of the p95 beyond this fraction between windows is a trend, not noise. */
#define TREND_FRACTION 0.10

static uint64_t since(const struct agp_snapshot *snapshot, uint64_t length_ns)
{
	return snapshot->taken_ns > length_ns ? snapshot->taken_ns - length_ns : 0;
}

/* Window statistics ----------------------------------------------------------------------- */

/* One metric over all agent types in [since_ns, until_ns): exact moments, reference percentiles. */
struct window_stats {
	uint64_t count;
	double mean;   /* wire unit; NAN without samples */
	double stddev; /* sample stddev; 0 with one sample (as the seed's statistics.stdev guard) */
	int64_t p95, p99, max;
	enum agp_unit unit;
	bool found; /* some (agent type, metric) series exists */
};

static int metric_window(const struct agp_snapshot *snapshot, struct agp_hdr *scratch,
                         const char *metric, uint64_t since_ns, uint64_t until_ns,
                         struct window_stats *out)
{
	memset(out, 0, sizeof(*out));
	out->mean = out->stddev = NAN;
	agp_hdr_reset(scratch);
	for (size_t s = 0; s < snapshot->series_count; s++) {
		const struct agp_snapshot_series *series = &snapshot->series[s];
		if (series->agent[0] || strcmp(series->metric, metric) != 0)
			continue;
		out->found = true;
		out->unit = series->unit;
		int error = agp_snapshot_merge_windows(series, since_ns, until_ns, false, scratch);
		if (error)
			return error;
	}
	out->count = (uint64_t)agp_hdr_count(scratch);
	if (out->count == 0)
		return 0;
	double variance;
	agp_baseline_moments(scratch, &out->mean, &variance);
	out->stddev = out->count > 1 ? sqrt(variance) : 0.0;
	out->p95 = agp_hdr_value_at_percentile(scratch, 95.0);
	out->p99 = agp_hdr_value_at_percentile(scratch, 99.0);
	out->max = agp_hdr_max(scratch); /* exact: kept beside the counts, merged exactly */
	return 0;
}

/* The unit of a metric that may have no series yet: built-in, then the config's entry. */
static enum agp_unit metric_unit(const struct agp_config *config, const char *metric,
                                 const struct window_stats *stats)
{
	if (stats->found)
		return stats->unit;
	for (unsigned id = 0; id < AGP_METRIC_FIRST_CUSTOM; id++)
		if (strcmp(agp_builtin_metric_name(id), metric) == 0)
			return agp_builtin_metric_unit(id);
	const struct agp_config_metric *entry = agp_config_metric_find(config, metric);
	return entry ? agp_config_threshold_wire_unit(entry->unit) : AGP_UNIT_COUNT;
}

/* Every metric name the validation knows: built-ins, the config's entries, any series. */
static size_t known_metrics(const struct agp_snapshot *snapshot, const struct agp_config *config,
                            const char **names, size_t capacity)
{
	size_t count = 0;
	const char *candidate;
	size_t total = AGP_METRIC_FIRST_CUSTOM + config->metric_count + snapshot->series_count;
	for (size_t i = 0; i < total && count < capacity; i++) {
		if (i < AGP_METRIC_FIRST_CUSTOM)
			candidate = agp_builtin_metric_name((unsigned)i);
		else if (i < AGP_METRIC_FIRST_CUSTOM + config->metric_count)
			candidate = config->metrics[i - AGP_METRIC_FIRST_CUSTOM].name;
		else
			candidate =
			    snapshot->series[i - AGP_METRIC_FIRST_CUSTOM - config->metric_count]
			        .metric;
		bool seen = false;
		for (size_t j = 0; j < count && !seen; j++)
			seen = strcmp(names[j], candidate) == 0;
		if (!seen)
			names[count++] = candidate;
	}
	return count;
}

/* Per-metric verdicts ----------------------------------------------------------------------- */

/*
 * The seed's rule for coordination overhead (the window's mean below the
 * critical threshold) applied to every metric with thresholds: "critical"
 * when the mean reaches the critical threshold, "warning" when it reaches
 * the warning one, "ok" below both, "no_data" without samples.
 */
static json_t *metric_verdict(const struct agp_config *config, const char *metric,
                              const struct window_stats *stats, uint64_t warning, uint64_t critical)
{
	enum agp_unit unit = metric_unit(config, metric, stats);
	double scale = agp_unit_seed_divisor(unit);
	const char *level = "no_data";
	if (stats->count) {
		if (critical && stats->mean >= (double)critical)
			level = "critical";
		else if (warning && stats->mean >= (double)warning)
			level = "warning";
		else
			level = "ok";
	}
	json_t *verdict = json_object();
	json_object_set_new(verdict, "metric", json_string(metric));
	json_object_set_new(verdict, "unit", json_string(agp_unit_seed_name(unit)));
	json_object_set_new(verdict, "warning",
	                    warning ? json_real((double)warning / scale) : json_null());
	json_object_set_new(verdict, "critical",
	                    critical ? json_real((double)critical / scale) : json_null());
	json_object_set_new(verdict, "samples", agp_json_u64(stats->count));
	json_object_set_new(verdict, "mean", agp_json_number_or_null(stats->mean / scale));
	json_object_set_new(verdict, "p95",
	                    stats->count ? json_real((double)stats->p95 / scale) : json_null());
	json_object_set_new(verdict, "max",
	                    stats->count ? json_real((double)stats->max / scale) : json_null());
	json_object_set_new(verdict, "level", json_string(level));
	json_object_set_new(verdict, "passed",
	                    stats->count ? json_boolean(strcmp(level, "critical") != 0)
	                                 : json_null());
	return verdict;
}

/*
 * One metric's regression verdict: the quantile test (quantile_test.h) of
 * the window's samples against the baseline's p95, or why it could not be
 * made ("checked" false, "reason", "regressed" null).
 */
static json_t *regression_entry(const struct agp_baseline *baseline,
                                const struct agp_baseline_metric *entry,
                                const struct window_stats *stats, const struct agp_hdr *window,
                                bool *regressed)
{
	double scale = agp_unit_seed_divisor(entry->unit);
	struct agp_quantile_reference reference;
	int error =
	    agp_quantile_reference_from_baseline(entry, baseline->confidence_interval, &reference);
	struct agp_quantile_test_result result = {.p_value = NAN}; /* untested */
	if (!error)
		agp_quantile_test_histogram(&reference, window, AGP_QUANTILE_TEST_ALPHA, &result);
	*regressed = result.regressed;

	json_t *object = json_object();
	json_object_set_new(object, "metric", json_string(entry->metric));
	json_object_set_new(object, "unit", json_string(agp_unit_seed_name(entry->unit)));
	json_object_set_new(object, "test",
	                    json_string("binomial test of the samples above the "
	                                "baseline's p95"));
	json_object_set_new(object, "alpha", json_real(AGP_QUANTILE_TEST_ALPHA));
	json_object_set_new(object, "samples", agp_json_u64(stats->count));
	json_object_set_new(object, "current_p95",
	                    stats->count ? json_real((double)stats->p95 / scale) : json_null());
	json_object_set_new(object, "baseline_p95",
	                    error ? json_null() : json_real((double)reference.value / scale));
	json_object_set_new(object, "samples_above_baseline_p95",
	                    error ? json_null() : agp_json_u64(result.above));
	json_object_set_new(object, "expected_fraction_above",
	                    error ? json_null() : json_real(reference.exceedance));
	json_object_set_new(object, "p_value", agp_json_number_or_null(result.p_value));
	json_object_set_new(object, "checked", json_boolean(result.tested));
	char reason[160] = "";
	if (error)
		snprintf(reason, sizeof(reason),
		         "the baseline has no percentiles (a means-only baseline.json of the "
		         "original): the quantile test needs its p95");
	else if (!result.tested)
		snprintf(reason, sizeof(reason), "%llu samples in the window, the test needs %d",
		         (unsigned long long)stats->count, AGP_QUANTILE_TEST_MIN_SAMPLES);
	json_object_set_new(object, "reason", reason[0] ? json_string(reason) : json_null());
	json_object_set_new(object, "regressed",
	                    result.tested ? json_boolean(result.regressed) : json_null());
	return object;
}

/* Validation ------------------------------------------------------------------------------ */

static void recommend(json_t *list, const char *text)
{
	json_array_append_new(list, json_string(text));
}

static json_t *ms_or_null(bool present, double value_ns)
{
	return present ? json_real(agp_unit_to_seed(AGP_UNIT_NANOSECONDS, value_ns)) : json_null();
}

/* The seed's three requirements over coordination overhead in the validation window. */
struct requirements {
	bool have_baseline;
	bool have_samples;
	double avg_ms, p95_ms, stddev_ms;
	bool sub_critical; /* average below the critical threshold */
	bool p95_ok;       /* p95 below the maximum acceptable */
	bool consistent;   /* standard deviation below the variance threshold */
	bool ok;           /* all three, with a baseline */
};

static void judge_requirements(const struct agp_config_thresholds *limits, bool have_baseline,
                               const struct window_stats *coordination, struct requirements *r)
{
	r->have_baseline = have_baseline;
	r->have_samples = coordination->count > 0;
	r->avg_ms = agp_unit_to_seed(AGP_UNIT_NANOSECONDS, coordination->mean);
	r->p95_ms = agp_unit_to_seed(AGP_UNIT_NANOSECONDS, (double)coordination->p95);
	r->stddev_ms = agp_unit_to_seed(AGP_UNIT_NANOSECONDS, coordination->stddev);
	r->sub_critical = r->have_samples && r->avg_ms < limits->coordination_overhead_critical_ms;
	r->p95_ok = r->have_samples && r->p95_ms < limits->coordination_overhead_max_acceptable_ms;
	r->consistent = r->have_samples && r->stddev_ms < limits->coordination_variance_threshold;
	r->ok = have_baseline && r->have_samples && r->sub_critical && r->p95_ok && r->consistent;
}

/*
 * The seed's "error" and "recommendation" keys when there is nothing to
 * judge (no baseline, no recent samples), and one recommendation per unmet
 * requirement.
 */
static void recommend_requirements(json_t *result, json_t *recommendations,
                                   const struct requirements *r,
                                   const struct agp_config_thresholds *limits)
{
	char text[256];
	if (!r->have_baseline) {
		json_object_set_new(result, "error", json_string("No baseline established"));
		json_object_set_new(result, "recommendation",
		                    json_string("Establish a baseline first (agentperf baseline "
		                                "establish)"));
		recommend(recommendations,
		          "Establish a baseline first (agentperf baseline establish)");
	}
	if (!r->have_samples) {
		if (r->have_baseline) {
			json_object_set_new(result, "error",
			                    json_string("No recent coordination_overhead samples "
			                                "in the last 30 minutes"));
			json_object_set_new(
			    result, "recommendation",
			    json_string("Run a workload that records "
			                "coordination_overhead, then validate again"));
		}
		recommend(recommendations,
		          "Run a workload that records coordination_overhead, then validate again");
		return;
	}
	if (!r->sub_critical) {
		snprintf(text, sizeof(text),
		         "Average coordination overhead %.3f ms is not below the critical "
		         "threshold of %g ms: reduce coordination work per task",
		         r->avg_ms, limits->coordination_overhead_critical_ms);
		recommend(recommendations, text);
	}
	if (!r->p95_ok) {
		snprintf(text, sizeof(text),
		         "P95 coordination overhead %.3f ms is not below the maximum "
		         "acceptable %g ms: look for slow outliers",
		         r->p95_ms, limits->coordination_overhead_max_acceptable_ms);
		recommend(recommendations, text);
	}
	if (!r->consistent) {
		snprintf(text, sizeof(text),
		         "Coordination overhead varies too much (standard deviation %.3f ms, "
		         "limit %g ms): make coordination more predictable",
		         r->stddev_ms, limits->coordination_variance_threshold);
		recommend(recommendations, text);
	}
}

/* A verdict for every metric that has thresholds; *passed is false when one is critical. */
static int judge_metrics(const struct agp_snapshot *snapshot, struct agp_hdr *scratch,
                         const struct agp_config *config, uint64_t window_since, json_t *verdicts,
                         json_t *recommendations, bool *passed)
{
	size_t capacity = AGP_METRIC_FIRST_CUSTOM + config->metric_count + snapshot->series_count;
	const char **names = calloc(capacity, sizeof(*names));
	if (!names)
		return -ENOMEM;
	int error = 0;
	size_t name_count = known_metrics(snapshot, config, names, capacity);
	*passed = true;
	for (size_t i = 0; i < name_count; i++) {
		uint64_t warning = 0, critical = 0;
		if (agp_config_metric_thresholds(config, names[i], &warning, &critical) != 0)
			continue;
		struct window_stats stats;
		error =
		    metric_window(snapshot, scratch, names[i], window_since, UINT64_MAX, &stats);
		if (error)
			break;
		json_t *verdict = metric_verdict(config, names[i], &stats, warning, critical);
		if (json_is_false(json_object_get(verdict, "passed"))) {
			*passed = false;
			char text[256];
			snprintf(text, sizeof(text),
			         "%s: mean over the last 30 minutes is at or above its critical "
			         "threshold",
			         names[i]);
			recommend(recommendations, text);
		}
		json_array_append_new(verdicts, verdict);
	}
	free(names);
	return error;
}

/*
 * Regressions: every all-types baseline entry's quantile test over the
 * window (all agent types of a metric); entries it cannot test say why.
 */
static int judge_regressions(const struct agp_snapshot *snapshot, struct agp_hdr *scratch,
                             const struct agp_baseline *baseline, uint64_t window_since,
                             json_t *regressions, json_t *recommendations, bool *detected)
{
	*detected = false;
	for (size_t i = 0; i < baseline->metric_count; i++) {
		const struct agp_baseline_metric *entry = &baseline->metrics[i];
		if (entry->agent_type[0])
			continue;
		struct window_stats stats;
		int error = metric_window(snapshot, scratch, entry->metric, window_since,
		                          UINT64_MAX, &stats);
		if (error)
			return error;
		bool regressed;
		json_array_append_new(
		    regressions, regression_entry(baseline, entry, &stats, scratch, &regressed));
		if (regressed) {
			*detected = true;
			char text[256];
			snprintf(text, sizeof(text),
			         "%s regressed: more samples above the baseline's p95 than an "
			         "unchanged workload gives (binomial test, alpha %g)",
			         entry->metric, AGP_QUANTILE_TEST_ALPHA);
			recommend(recommendations, text);
		}
	}
	return 0;
}

/* The seed's keys of validate_performance_requirements; takes recommendations' reference. */
static void set_seed_keys(json_t *result, const struct requirements *r,
                          const struct window_stats *coordination,
                          const struct agp_baseline *baseline, const struct agp_snapshot *snapshot,
                          json_t *recommendations)
{
	const struct agp_baseline_metric *base =
	    r->have_baseline ? agp_baseline_find(baseline, COORDINATION, "") : NULL;
	json_object_set_new(result, "validated", json_boolean(r->ok));
	json_object_set_new(result, "avg_coordination_overhead_ms",
	                    ms_or_null(r->have_samples, coordination->mean));
	json_object_set_new(result, "p95_coordination_overhead_ms",
	                    ms_or_null(r->have_samples, (double)coordination->p95));
	json_object_set_new(result, "samples_analyzed", agp_json_u64(coordination->count));
	json_object_set_new(result, "baseline_overhead_ms",
	                    ms_or_null(base != NULL, base ? base->mean : 0));
	/* Without samples a requirement is neither met nor violated: null, not false. */
	json_object_set_new(result, "meets_sub_200ms_requirement",
	                    r->have_samples ? json_boolean(r->sub_critical) : json_null());
	json_object_set_new(result, "meets_consistency_requirement",
	                    r->have_samples ? json_boolean(r->consistent) : json_null());
	json_object_set_new(result, "recommendations", recommendations);
	json_object_set_new(result, "baseline_established_at",
	                    r->have_baseline ? agp_json_iso_time_us(baseline->established_at_us)
	                                     : json_null());
	json_object_set_new(result, "validation_timestamp",
	                    agp_json_iso_time(snapshot->taken_wall_ms));
}

/* agentperf's additions; takes the references of verdicts and regressions. */
static void set_additions(json_t *result, const struct requirements *r,
                          const struct window_stats *coordination, const struct agp_config *config,
                          json_t *verdicts, bool metrics_passed, json_t *regressions,
                          bool regression_detected)
{
	const struct agp_config_thresholds *limits = &config->thresholds;
	struct agp_level_bands bands;
	agp_level_bands_from_config(config, &bands);
	enum agp_level level = agp_level_classify(&bands, coordination->count, coordination->mean);
	json_object_set_new(result, "meets_p95_requirement",
	                    r->have_samples ? json_boolean(r->p95_ok) : json_null());
	json_object_set_new(result, "has_data", json_boolean(r->have_samples));
	json_object_set_new(result, "stddev_coordination_overhead_ms",
	                    ms_or_null(r->have_samples, coordination->stddev));
	json_object_set_new(result, "window_minutes",
	                    json_integer(AGP_VALIDATION_WINDOW_NS / 60000000000ull));
	json_t *thresholds = json_object();
	json_object_set_new(thresholds, "critical_ms",
	                    json_real(limits->coordination_overhead_critical_ms));
	json_object_set_new(thresholds, "max_acceptable_ms",
	                    json_real(limits->coordination_overhead_max_acceptable_ms));
	json_object_set_new(thresholds, "variance_threshold_ms",
	                    json_real(limits->coordination_variance_threshold));
	json_object_set_new(result, "thresholds", thresholds);
	json_object_set_new(result, "performance_level", json_string(agp_level_name(level)));
	json_object_set_new(result, "metrics", verdicts);
	json_object_set_new(result, "metrics_passed", json_boolean(metrics_passed));
	json_object_set_new(result, "regressions", regressions);
	json_object_set_new(result, "regression_detected", json_boolean(regression_detected));

	/*
	 * baseline.max_variance_coefficient: coordination overhead's standard
	 * deviation relative to its mean. Reported with a recommendation, and not
	 * part of `validated`, which stays the seed's three requirements.
	 */
	double variation = r->have_samples && coordination->mean > 0
	                       ? coordination->stddev / coordination->mean
	                       : NAN;
	bool variation_ok = variation <= config->baseline.max_variance_coefficient;
	json_object_set_new(result, "coefficient_of_variation", agp_json_number_or_null(variation));
	json_object_set_new(result, "meets_variation_requirement", json_boolean(variation_ok));
	json_object_set_new(thresholds, "max_variance_coefficient",
	                    json_real(config->baseline.max_variance_coefficient));
	if (isfinite(variation) && !variation_ok) {
		char text[256];
		snprintf(text, sizeof(text),
		         "Coordination overhead's coefficient of variation %.3f is above "
		         "baseline.max_variance_coefficient %g: its spread is large for its mean",
		         variation, config->baseline.max_variance_coefficient);
		recommend(json_object_get(result, "recommendations"), text);
	}
}

json_t *agp_validate(const struct agp_snapshot *snapshot, const struct agp_config *config,
                     const struct agp_baseline *baseline, bool *validated)
{
	struct agp_hdr *scratch = NULL;
	json_t *result = json_object();
	json_t *recommendations = json_array();
	json_t *verdicts = json_array();
	json_t *regressions = json_array();
	if (!result || !recommendations || !verdicts || !regressions ||
	    agp_snapshot_histogram_create(snapshot, &scratch) != 0)
		goto fail;

	uint64_t window_since = since(snapshot, AGP_VALIDATION_WINDOW_NS);
	struct window_stats coordination;
	if (metric_window(snapshot, scratch, COORDINATION, window_since, UINT64_MAX, &coordination))
		goto fail;
	struct requirements r;
	judge_requirements(&config->thresholds, baseline && baseline->established, &coordination,
	                   &r);
	recommend_requirements(result, recommendations, &r, &config->thresholds);
	bool metrics_passed, regression_detected = false;
	if (judge_metrics(snapshot, scratch, config, window_since, verdicts, recommendations,
	                  &metrics_passed) ||
	    (r.have_baseline &&
	     judge_regressions(snapshot, scratch, baseline, window_since, regressions,
	                       recommendations, &regression_detected)))
		goto fail;

	set_seed_keys(result, &r, &coordination, baseline, snapshot, recommendations);
	set_additions(result, &r, &coordination, config, verdicts, metrics_passed, regressions,
	              regression_detected);
	agp_hdr_destroy(scratch);
	if (validated)
		*validated = r.ok;
	return result;

fail:
	agp_hdr_destroy(scratch);
	json_decref(regressions);
	json_decref(verdicts);
	json_decref(recommendations);
	json_decref(result);
	return NULL;
}

/* CI export ------------------------------------------------------------------------------- */

json_t *agp_ci_export(const struct agp_snapshot *snapshot, const struct agp_config *config,
                      const struct agp_baseline *baseline, bool *meets_requirements)
{
	bool validated = false;
	json_t *validation = agp_validate(snapshot, config, baseline, &validated);
	json_t *object = json_object();
	if (!validation || !object) {
		json_decref(validation);
		json_decref(object);
		return NULL;
	}
	json_object_set(object, "coordination_overhead_ms",
	                json_object_get(validation, "avg_coordination_overhead_ms"));
	json_object_set(object, "p95_coordination_overhead_ms",
	                json_object_get(validation, "p95_coordination_overhead_ms"));
	json_object_set(object, "overall_health", json_object_get(validation, "performance_level"));
	json_object_set_new(object, "baseline_established",
	                    json_boolean(baseline && baseline->established));
	json_object_set_new(object, "total_metrics_collected",
	                    agp_json_u64(snapshot->totals.aggregated));
	json_object_set_new(object, "export_timestamp", agp_json_iso_time(snapshot->taken_wall_ms));
	json_object_set_new(object, "meets_requirements", json_boolean(validated));
	json_object_set_new(object, "validation_passed", json_boolean(validated));
	json_object_set_new(object, "performance_validation", validation);
	/* Its figures come from the raw histograms (docs/hdr.md, "Raw and corrected"). */
	json_object_set_new(object, "coordination_overhead_histogram", json_string("raw"));
	if (meets_requirements)
		*meets_requirements = validated;
	return object;
}

/* Series statistics ----------------------------------------------------------------------- */

json_t *agp_series_stats(const struct agp_snapshot *snapshot,
                         const struct agp_snapshot_series *series, uint64_t since_ns,
                         bool corrected)
{
	struct agp_hdr *histogram;
	if (agp_snapshot_histogram_create(snapshot, &histogram) != 0)
		return NULL;
	if (agp_snapshot_merge_windows(series, since_ns, UINT64_MAX, corrected, histogram) != 0) {
		agp_hdr_destroy(histogram);
		return NULL;
	}
	uint64_t count = (uint64_t)agp_hdr_count(histogram);
	double mean = NAN, variance = NAN;
	agp_baseline_moments(histogram, &mean, &variance);
	json_t *object = json_object();
	json_object_set_new(object, "agent_type", json_string(series->agent_type));
	json_object_set_new(object, "agent",
	                    series->agent[0] ? json_string(series->agent) : json_null());
	json_object_set_new(object, "metric", json_string(series->metric));
	json_object_set_new(object, "unit", json_string(agp_unit_name(series->unit)));
	json_object_set_new(object, "histogram", json_string(corrected ? "corrected" : "raw"));
	json_object_set_new(object, "count", agp_json_u64(count));
	json_object_set_new(object, "mean", count ? json_real(mean) : json_null());
	json_object_set_new(object, "stddev", agp_json_number_or_null(sqrt(variance)));
	/* min and max are the exact extremes; percentiles are to the histogram's precision. */
	json_object_set_new(object, "min",
	                    count ? json_integer(agp_hdr_min(histogram)) : json_null());
	const struct {
		const char *key;
		double percentile;
	} percentiles[] = {{"p50", 50.0}, {"p95", 95.0}, {"p99", 99.0}};
	for (size_t i = 0; i < 3; i++)
		json_object_set_new(object, percentiles[i].key,
		                    count ? json_integer(agp_hdr_value_at_percentile(
		                                histogram, percentiles[i].percentile))
		                          : json_null());
	json_object_set_new(object, "max",
	                    count ? json_integer(agp_hdr_max(histogram)) : json_null());
	json_object_set_new(object, "total_count", agp_json_u64(series->total_count));
	json_object_set_new(object, "failed_count", agp_json_u64(series->failed_count));
	json_object_set_new(object, "timeout_count", agp_json_u64(series->timeout_count));
	json_object_set_new(object, "clamped", agp_json_u64(series->clamped));
	agp_hdr_destroy(histogram);
	return object;
}

/* Report ---------------------------------------------------------------------------------- */

static json_t *window_summary(const struct window_stats *stats, uint64_t start_ns, uint64_t end_ns)
{
	double scale = agp_unit_seed_divisor(stats->unit);
	json_t *object = json_object();
	if (end_ns) {
		json_object_set_new(object, "start_ns", json_integer((json_int_t)start_ns));
		json_object_set_new(object, "end_ns", json_integer((json_int_t)end_ns));
	}
	json_object_set_new(object, "samples", agp_json_u64(stats->count));
	json_object_set_new(object, "mean", agp_json_number_or_null(stats->mean / scale));
	json_object_set_new(object, "p95",
	                    stats->count ? json_real((double)stats->p95 / scale) : json_null());
	return object;
}

static json_t *percent_change(double now, double before)
{
	return before > 0 && isfinite(now) ? json_real((now - before) / before * 100.0)
	                                   : json_null();
}

/*
 * Trend of one metric: its newest closed window with samples against every
 * closed window before it, by p95 (and mean for reference).
 */
static json_t *metric_trend(const struct agp_snapshot *snapshot, struct agp_hdr *scratch,
                            const char *metric)
{
	uint64_t last_start = 0, last_end = 0;
	bool any = false;
	for (size_t s = 0; s < snapshot->series_count; s++) {
		const struct agp_snapshot_series *series = &snapshot->series[s];
		if (series->agent[0] || strcmp(series->metric, metric) != 0)
			continue;
		/* The series' last window is the open one: only closed windows are compared. */
		for (size_t w = 0; w + 1 < series->window_count; w++) {
			const struct agp_snapshot_window *window = &series->windows[w];
			struct agp_sparse_summary summary;
			if (agp_snapshot_window_summary(window, &summary) == 0 &&
			    summary.total_count > 0 && (!any || window->start_ns > last_start)) {
				last_start = window->start_ns;
				last_end = window->end_ns;
				any = true;
			}
		}
	}
	json_t *trend = json_object();
	struct window_stats last = {0}, previous = {0};
	if (any && (metric_window(snapshot, scratch, metric, last_start, last_end, &last) != 0 ||
	            metric_window(snapshot, scratch, metric, 0, last_start, &previous) != 0))
		any = false;
	const char *direction = "insufficient_data";
	if (any && previous.count > 0) {
		double change = ((double)last.p95 - (double)previous.p95) / (double)previous.p95;
		direction = change > TREND_FRACTION    ? "degrading"
		            : change < -TREND_FRACTION ? "improving"
		                                       : "stable";
	}
	if (any) {
		json_object_set_new(trend, "unit", json_string(agp_unit_seed_name(last.unit)));
		json_object_set_new(trend, "last_window",
		                    window_summary(&last, last_start, last_end));
		json_object_set_new(trend, "previous_windows", window_summary(&previous, 0, 0));
		json_object_set_new(
		    trend, "p95_change_percent",
		    percent_change((double)last.p95, previous.count ? (double)previous.p95 : NAN));
		json_object_set_new(trend, "mean_change_percent",
		                    percent_change(last.mean, previous.mean));
	}
	json_object_set_new(trend, "trend", json_string(direction));
	return trend;
}

/*
 * An alert in the seed's report: its unit is the seed's ("ms", "MB", "count") and value and
 * threshold are in it, as everywhere in the report; message is the seed's line (sink.h).
 */
static json_t *alert_to_json(const struct agp_alert *alert)
{
	char message[256];
	agp_alert_format_message(alert, message, sizeof(message));
	json_t *object = json_object();
	json_object_set_new(object, "timestamp", agp_json_iso_time(alert->wall_time_ms));
	json_object_set_new(object, "metric", json_string(alert->metric));
	json_object_set_new(object, "agent_type", json_string(alert->agent_type));
	json_object_set_new(object, "agent", json_string(alert->agent));
	json_object_set_new(object, "task_id", agp_json_u64_id(alert->task_id));
	json_object_set_new(object, "unit", json_string(agp_unit_seed_name(alert->unit)));
	json_object_set_new(object, "value",
	                    json_real(agp_unit_to_seed(alert->unit, (double)alert->value)));
	json_object_set_new(object, "threshold",
	                    json_real(agp_unit_to_seed(alert->unit, (double)alert->threshold)));
	json_object_set_new(object, "level", json_string(alert->level));
	json_object_set_new(object, "suppressed", agp_json_u64(alert->suppressed));
	json_object_set_new(object, "message", json_string(message));
	return object;
}

/* The tasks of the task_execution_time series since the collector started. */
struct task_counts {
	uint64_t tasks, failed, timeouts;
};

/*
 * Per metric over all agent types: its statistics over the validation window
 * (when it has samples there) into recent, its trend into trends; the task
 * counts into counts.
 */
static int collect_recent(const struct agp_snapshot *snapshot, struct agp_hdr *scratch,
                          uint64_t window_since, json_t *recent, json_t *trends,
                          struct task_counts *counts)
{
	memset(counts, 0, sizeof(*counts));
	for (size_t s = 0; s < snapshot->series_count; s++) {
		const struct agp_snapshot_series *series = &snapshot->series[s];
		if (series->agent[0])
			continue;
		json_t *stats = agp_series_stats(snapshot, series, window_since, false);
		if (!stats)
			return -ENOMEM;
		uint64_t count = 0;
		if (agp_json_u64_value(json_object_get(stats, "count"), &count) && count > 0)
			json_array_append_new(recent, stats);
		else
			json_decref(stats);
		if (strcmp(series->metric, TASKS) == 0) {
			counts->tasks += series->total_count;
			counts->failed += series->failed_count;
			counts->timeouts += series->timeout_count;
		}
		if (!json_object_get(trends, series->metric))
			json_object_set_new(trends, series->metric,
			                    metric_trend(snapshot, scratch, series->metric));
	}
	return 0;
}

/* The validation's recommendations, and one more when too few tasks succeeded. */
static json_t *report_recommendations(const json_t *validation, const struct agp_config *config,
                                      const struct task_counts *counts)
{
	json_t *recommendations = json_deep_copy(json_object_get(validation, "recommendations"));
	uint64_t successful = counts->tasks - counts->failed - counts->timeouts;
	if (counts->tasks > 0 &&
	    (double)successful / (double)counts->tasks < config->baseline.min_success_rate) {
		char text[256];
		snprintf(text, sizeof(text),
		         "Task success rate %.1f%% is below the minimum of %.1f%%: look at the "
		         "failed and timed-out tasks",
		         100.0 * (double)successful / (double)counts->tasks,
		         100.0 * config->baseline.min_success_rate);
		json_array_append_new(recommendations, json_string(text));
	}
	return recommendations;
}

json_t *agp_report(const struct agp_snapshot *snapshot, const struct agp_config *config,
                   const struct agp_baseline *baseline)
{
	struct agp_hdr *scratch = NULL;
	json_t *validation = agp_validate(snapshot, config, baseline, NULL);
	json_t *report = json_object();
	json_t *recent = json_array();
	json_t *trends = json_object();
	json_t *violations = json_array();
	if (!validation || !report || !recent || !trends || !violations ||
	    agp_snapshot_histogram_create(snapshot, &scratch) != 0)
		goto fail;

	uint64_t window_since = since(snapshot, AGP_VALIDATION_WINDOW_NS);
	struct task_counts counts;
	struct window_stats coordination;
	if (collect_recent(snapshot, scratch, window_since, recent, trends, &counts) ||
	    metric_window(snapshot, scratch, COORDINATION, window_since, UINT64_MAX, &coordination))
		goto fail;
	for (size_t a = 0; a < snapshot->alert_count; a++)
		json_array_append_new(violations, alert_to_json(&snapshot->alerts[a]));

	char report_id[64];
	snprintf(report_id, sizeof(report_id), "perf_report_%lld",
	         (long long)(snapshot->taken_wall_ms / 1000));
	json_object_set_new(report, "report_id", json_string(report_id));
	json_object_set_new(report, "generated_at", agp_json_iso_time(snapshot->taken_wall_ms));
	json_object_set_new(report, "baseline",
	                    baseline && baseline->established ? agp_baseline_to_json(baseline)
	                                                      : json_null());
	json_object_set_new(report, "recent_metrics", recent);
	bool any = coordination.count > 0;
	json_object_set_new(report, "avg_coordination_overhead",
	                    ms_or_null(any, coordination.mean));
	json_object_set_new(report, "p95_coordination_overhead",
	                    ms_or_null(any, (double)coordination.p95));
	json_object_set_new(report, "p99_coordination_overhead",
	                    ms_or_null(any, (double)coordination.p99));
	json_object_set_new(report, "total_tasks_executed", agp_json_u64(counts.tasks));
	json_object_set_new(report, "successful_tasks",
	                    agp_json_u64(counts.tasks - counts.failed - counts.timeouts));
	json_object_set_new(report, "failed_tasks", agp_json_u64(counts.failed));
	json_object_set_new(report, "timeout_tasks", agp_json_u64(counts.timeouts));
	json_object_set_new(report, "performance_trends", trends);
	json_object_set_new(report, "threshold_violations", violations);
	json_object_set_new(report, "recommendations",
	                    report_recommendations(validation, config, &counts));
	json_object_set(report, "overall_health", json_object_get(validation, "performance_level"));
	json_object_set_new(report, "validation", validation);
	/* The coordination figures above are of the raw histograms (docs/hdr.md). */
	json_object_set_new(report, "coordination_overhead_histogram", json_string("raw"));
	agp_hdr_destroy(scratch);
	return report;

fail:
	agp_hdr_destroy(scratch);
	json_decref(violations);
	json_decref(trends);
	json_decref(recent);
	json_decref(report);
	json_decref(validation);
	return NULL;
}
