/*
 * The run baseline: `run --establish-baseline` stores, per figure, the
 * collector's count and p95 of this run's samples (with the command and the
 * confidence level); `run --compare` has the collector test this run's wall
 * times against it (the `compare` verb: the regression test of
 * collector/analysis/quantile_test.h, as the collector's own regression
 * alerts use it). The file is the CLI's, beside the collector's
 * baseline.json, which rests on coordination_overhead samples a benchmarked
 * command need not record.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tools/run/run.h"

int run_baseline_save(const char *path, char **command, const json_t *collector_series,
                      double confidence, char *err, size_t errlen)
{
	json_t *argv = json_array(), *figures = json_object();
	for (size_t i = 0; argv && command[i]; i++)
		json_array_append_new(argv, json_string(command[i]));
	size_t index;
	const json_t *series;
	json_array_foreach(collector_series, index, series)
	{
		const char *metric = json_string_value(json_object_get(series, "metric"));
		for (int f = 0; metric && f < RUN_FIGURE_COUNT; f++) {
			if (strcmp(metric, run_figures[f].metric) ||
			    !json_is_integer(json_object_get(series, "p95")))
				continue;
			json_object_set_new(figures, run_figures[f].key,
			                    json_pack("{s:s, s:s, s:O, s:O, s:O, s:O}", "metric",
			                              metric, "unit",
			                              agp_unit_name(run_figures[f].unit), "count",
			                              json_object_get(series, "count"), "p50",
			                              json_object_get(series, "p50"), "p95",
			                              json_object_get(series, "p95"), "mean",
			                              json_object_get(series, "mean")));
		}
	}
	json_t *baseline =
	    json_pack("{s:i, s:o, s:I, s:f, s:o}", "version", 1, "command", argv, "established_at",
	              (json_int_t)time(NULL), "confidence", confidence, "figures", figures);
	char *text =
	    baseline ? json_dumps(baseline, JSON_INDENT(2) | JSON_REAL_PRECISION(17)) : NULL;
	json_decref(baseline);
	int error = text ? cli_write_file(path, text, strlen(text)) : -ENOMEM;
	free(text);
	if (error) {
		snprintf(err, errlen, "cannot write the run baseline %s: %s", path,
		         strerror(-error));
		return CLI_WRITE_FAILED;
	}
	return CLI_OK;
}

/* The wall-time entry of the baseline in path, or NULL with why in err. */
static json_t *load_wall_time(const char *path, char *err, size_t errlen)
{
	json_error_t error;
	json_t *baseline = json_load_file(path, 0, &error);
	if (!baseline) {
		if (access(path, F_OK) != 0)
			snprintf(
			    err, errlen,
			    "no run baseline in %s: establish one with run --establish-baseline",
			    path);
		else
			snprintf(err, errlen, "%s: not a run baseline (line %d: %s)", path,
			         error.line, error.text);
		return NULL;
	}
	json_t *entry = json_object_get(json_object_get(baseline, "figures"), "wall_time");
	if (!json_is_integer(json_object_get(entry, "count")) ||
	    !json_is_integer(json_object_get(entry, "p95")) ||
	    json_integer_value(json_object_get(entry, "count")) < 1 ||
	    json_integer_value(json_object_get(entry, "p95")) < 1) {
		snprintf(err, errlen,
		         "%s: figures.wall_time: expected an object with a count and a p95 of at "
		         "least 1",
		         path);
		json_decref(baseline);
		return NULL;
	}
	json_t *copy = json_deep_copy(baseline);
	json_decref(baseline);
	return copy;
}

/* Whether the baseline's "command" is command, word for word. */
static bool same_command(const json_t *baseline, char **command)
{
	const json_t *stored = json_object_get(baseline, "command");
	size_t i = 0;
	for (; command[i]; i++) {
		const char *word = json_string_value(json_array_get(stored, i));
		if (!word || strcmp(word, command[i]))
			return false;
	}
	return json_array_size(stored) == i;
}

int run_baseline_compare(struct cli *cli, const char *path, char **command, const char *agent_name,
                         double threshold_percent, json_t **verdict, char *err, size_t errlen)
{
	*verdict = NULL;
	json_t *baseline = load_wall_time(path, err, errlen);
	if (!baseline) {
		*verdict = json_pack("{s:s, s:s, s:s}", "verdict", "not tested", "reason", err,
		                     "baseline_file", path);
		return CLI_NO_DATA;
	}
	json_t *entry = json_object_get(json_object_get(baseline, "figures"), "wall_time");
	double confidence = json_number_value(json_object_get(baseline, "confidence"));
	if (!(confidence > 0 && confidence < 1))
		confidence = 0.95;
	/*
	 * The noise threshold lifts the reference above the baseline's p95: a run counts as
	 * slower only beyond it. The reference is then no bucket's highest value, which only
	 * makes the test more reluctant (quantile_test.h), and the exceedance bound stays the
	 * baseline's, which the higher reference can only lower.
	 */
	double p95 = (double)json_integer_value(json_object_get(entry, "p95"));
	double reference = ceil(p95 * (1 + threshold_percent / 100));
	json_t *args = json_pack("{s:s, s:s, s:O, s:f, s:f}", "metric", "run_wall_time", "agent",
	                         agent_name, "baseline_count", json_object_get(entry, "count"),
	                         "baseline_p95", reference, "confidence", confidence);
	json_t *test = NULL;
	int status = cli_request_quiet(cli, "compare", args, &test, NULL, err, errlen);
	json_decref(args);
	if (status) {
		json_decref(baseline);
		if (status == CLI_UNREACHABLE)
			return status;
		/* The collector could not test (its error is in err): nothing was judged. */
		*verdict = json_pack("{s:s, s:s, s:s}", "verdict", "not tested", "reason", err,
		                     "baseline_file", path);
		return CLI_NO_DATA;
	}
	int result;
	char reason[256];
	uint64_t samples = (uint64_t)json_integer_value(json_object_get(test, "samples"));
	uint64_t above = (uint64_t)json_integer_value(json_object_get(test, "above"));
	if (!json_is_true(json_object_get(test, "tested"))) {
		snprintf(reason, sizeof(reason),
		         "%llu runs measured; the regression test needs at least %lld",
		         (unsigned long long)samples,
		         (long long)json_integer_value(json_object_get(test, "min_samples")));
		snprintf(err, errlen, "%s", reason);
		result = CLI_NO_DATA;
	} else {
		snprintf(reason, sizeof(reason),
		         "%llu of %llu runs above the baseline's p95 + %g %% (p = %.3g, alpha %g)",
		         (unsigned long long)above, (unsigned long long)samples, threshold_percent,
		         json_number_value(json_object_get(test, "p_value")),
		         json_number_value(json_object_get(test, "alpha")));
		result = json_is_true(json_object_get(test, "regressed")) ? CLI_VIOLATED : CLI_OK;
	}
	*verdict =
	    json_pack("{s:s, s:s, s:s, s:O, s:o}", "verdict",
	              result == CLI_OK         ? "no regression"
	              : result == CLI_VIOLATED ? "regression"
	                                       : "not tested",
	              "reason", reason, "baseline_file", path, "baseline", entry, "test", test);
	json_object_set_new(*verdict, "threshold_percent", json_real(threshold_percent));
	json_object_set_new(*verdict, "same_command",
	                    json_boolean(same_command(baseline, command)));
	json_decref(baseline);
	return result;
}
