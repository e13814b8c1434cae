/*
 * Config: the seed's defaults (docs/config.md) key by key, every kind of bad file (each
 * message must name the file, the key and the value found), several problems
 * reported at once, the CODEX_* environment, presets, the `metrics` section
 * and its threshold lookups, and write -> load round trips with atomic
 * replacement.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "collector/config/config.h"

static char dir[64];
static char path[128];
static char err[8192];

static const char *const env_names[] = {
    "CODEX_PERFORMANCE_MONITORING", "CODEX_COORDINATION_THRESHOLD_MS",
    "CODEX_BASELINE_MIN_SAMPLES",   "CODEX_BASELINE_MEASUREMENT_HOURS",
    "CODEX_CI_EXPORT_FILE",         "CODEX_CI_FAIL_ON_VIOLATION",
};

static void remove_tree(const char *root)
{
	DIR *d = opendir(root);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		char child[512];
		snprintf(child, sizeof(child), "%s/%s", root, e->d_name);
		struct stat st;
		if (lstat(child, &st) == 0 && S_ISDIR(st.st_mode))
			remove_tree(child);
		else
			unlink(child);
	}
	closedir(d);
	rmdir(root);
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/agp_test_config.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof(path), "%s/config.json", dir);
	for (size_t i = 0; i < 6; i++)
		unsetenv(env_names[i]);
	err[0] = '\0';
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	remove_tree(dir);
	for (size_t i = 0; i < 6; i++)
		unsetenv(env_names[i]);
	return 0;
}

static void write_text(const char *file, const char *text)
{
	FILE *f = fopen(file, "w");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

/* Loads text as a config file over the defaults; returns the result code. */
static int load_text(const char *text, struct agp_config *cfg)
{
	write_text(path, text);
	agp_config_defaults(cfg);
	err[0] = '\0';
	return agp_config_load_file(path, cfg, err, sizeof(err));
}

/* Fails unless err contains every given fragment. */
static void expect_in_err(const char *first, ...)
{
	va_list ap;
	va_start(ap, first);
	for (const char *s = first; s; s = va_arg(ap, const char *)) {
		if (!strstr(err, s)) {
			print_error("message lacks \"%s\":\n%s\n", s, err);
			va_end(ap);
			fail();
		}
	}
	va_end(ap);
}

static unsigned err_lines(void)
{
	unsigned n = err[0] ? 1 : 0;
	for (const char *c = err; *c; c++)
		n += *c == '\n';
	return n;
}

/* ---------------------------------------------------------------- defaults */

static void test_defaults_match_compat(void **state)
{
	(void)state;
	struct agp_config c;
	memset(&c, 0x5a, sizeof(c));
	agp_config_defaults(&c);
	const struct agp_config_thresholds *t = &c.thresholds;
	assert_true(t->coordination_overhead_warning_ms == 150.0);
	assert_true(t->coordination_overhead_critical_ms == 200.0);
	assert_true(t->coordination_overhead_max_acceptable_ms == 250.0);
	assert_true(t->task_execution_warning_ms == 1000.0);
	assert_true(t->task_execution_critical_ms == 2000.0);
	assert_true(t->agent_init_warning_ms == 50.0);
	assert_true(t->agent_init_critical_ms == 100.0);
	assert_true(t->memory_usage_warning_mb == 512.0);
	assert_true(t->memory_usage_critical_mb == 1024.0);
	assert_true(t->coordination_variance_threshold == 50.0);

	const struct agp_config_baseline *b = &c.baseline;
	assert_true(b->measurement_period_hours == 1.0);
	assert_int_equal(b->min_samples_for_baseline, 100);
	assert_true(b->confidence_interval == 0.95);
	assert_true(b->auto_update_baseline);
	assert_true(b->update_frequency_hours == 6.0);
	assert_int_equal(b->baseline_retention_days, 30);
	assert_true(b->min_success_rate == 0.90);
	assert_true(b->max_variance_coefficient == 0.5);

	const struct agp_config_monitoring *m = &c.monitoring;
	assert_true(m->enabled);
	assert_true(m->real_time_monitoring);
	assert_true(m->background_monitoring);
	assert_int_equal(m->max_metrics_in_memory, 10000);
	assert_true(m->metric_retention_hours == 24.0);
	assert_int_equal(m->aggregation_window_minutes, 5);
	assert_string_equal(m->storage_dir, ".codexplus/performance");
	assert_true(m->export_metrics_to_file);
	assert_int_equal(m->export_frequency_minutes, 15);
	assert_true(m->enable_threshold_alerts);
	assert_true(m->enable_performance_degradation_alerts);
	assert_int_equal(m->alert_cooldown_minutes, 10);
	assert_true(m->ci_export_enabled);
	assert_string_equal(m->ci_export_file, "performance_metrics.json");
	assert_true(m->ci_fail_on_threshold_violation);

	assert_string_equal(c.additions.http_listen, "");
	assert_string_equal(c.additions.group, "");
	assert_true(c.additions.aggregation_window_seconds == 0);
	assert_int_equal(c.metric_count, 0);

	assert_int_equal(agp_config_check(&c, "defaults", err, sizeof(err)), 0);
	assert_int_equal(agp_config_window_ns(&c), 300ull * 1000000000ull);
	assert_int_equal(agp_config_cooldown_ns(&c), 600ull * 1000000000ull);
}

static void test_defaults_written_are_the_seed_schema(void **state)
{
	(void)state;
	struct agp_config c;
	agp_config_defaults(&c);
	char *text = agp_config_to_string(&c, 0);
	assert_non_null(text);
	/* Indent 2, the seed's three sections, the seed's numbers, nothing of agentperf's. */
	assert_non_null(strstr(text,
	                       "{\n  \"thresholds\": {\n    \"coordination_overhead_warning_ms\": "
	                       "150.0,\n"));
	assert_non_null(strstr(text, "\"confidence_interval\": 0.95,"));
	assert_non_null(strstr(text, "\"min_success_rate\": 0.9,"));
	assert_non_null(strstr(text, "\"min_samples_for_baseline\": 100,"));
	assert_non_null(strstr(text, "\"storage_dir\": \".codexplus/performance\","));
	assert_non_null(strstr(text, "\"ci_fail_on_threshold_violation\": true\n  }\n}\n"));
	assert_null(strstr(text, "http_listen"));
	assert_null(strstr(text, "metrics\":"));
	json_error_t jerr;
	json_t *root = json_loads(text, 0, &jerr);
	assert_non_null(root);
	assert_int_equal(json_object_size(root), 3);
	assert_int_equal(json_object_size(json_object_get(root, "thresholds")), 10);
	assert_int_equal(json_object_size(json_object_get(root, "baseline")), 8);
	assert_int_equal(json_object_size(json_object_get(root, "monitoring")), 15);
	json_decref(root);
	free(text);

	/* `config show` asks for everything, additions included. */
	text = agp_config_to_string(&c, AGP_CONFIG_JSON_ALL);
	assert_non_null(strstr(text, "\"http_listen\": \"\""));
	assert_non_null(strstr(text, "\"metrics\": {}"));
	free(text);
}

/* ---------------------------------------------------------------- bad files */

static void test_missing_file_is_enoent(void **state)
{
	(void)state;
	struct agp_config c, before;
	agp_config_defaults(&c);
	c.baseline.min_samples_for_baseline = 7;
	before = c;
	assert_int_equal(agp_config_load_file(path, &c, err, sizeof(err)), -ENOENT);
	assert_memory_equal(&c, &before, sizeof(c));
	expect_in_err(path, NULL);
}

static void test_unreadable_file(void **state)
{
	(void)state;
	struct agp_config c;
	agp_config_defaults(&c);
	/* A folder where the file should be. */
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(agp_config_load_file(path, &c, err, sizeof(err)), -EISDIR);
	expect_in_err(path, "directory", NULL);
	rmdir(path);

	/* No read permission (root reads anything, so only as another user). */
	write_text(path, "{}");
	chmod(path, 0);
	if (geteuid() != 0) {
		assert_int_equal(agp_config_load_file(path, &c, err, sizeof(err)), -EACCES);
		expect_in_err(path, "Permission denied", NULL);
	}
	chmod(path, 0600);
}

static void test_not_json_names_line_and_column(void **state)
{
	(void)state;
	struct agp_config c;
	assert_int_equal(
	    load_text("{\n  \"thresholds\": {\n    \"agent_init_warning_ms\": 50,,\n", &c),
	    -EINVAL);
	char where[160];
	snprintf(where, sizeof(where), "%s:3:", path);
	expect_in_err(where, "not valid JSON", NULL);

	assert_int_equal(load_text("", &c), -EINVAL);
	expect_in_err(path, "not valid JSON", NULL);

	/* Duplicate keys are ambiguous: which one did the user mean? */
	assert_int_equal(load_text("{\"baseline\": {\"min_samples_for_baseline\": 5, "
	                           "\"min_samples_for_baseline\": 6}}",
	                           &c),
	                 -EINVAL);
	expect_in_err(path, "min_samples_for_baseline", NULL);
}

static void test_top_level_and_sections_must_be_objects(void **state)
{
	(void)state;
	struct agp_config c;
	assert_int_equal(load_text("[1, 2]", &c), -EINVAL);
	expect_in_err(path, "[1,2]", "an array", "expected an object", NULL);
	assert_int_equal(load_text("{\"thresholds\": 5}", &c), -EINVAL);
	expect_in_err(path, "thresholds: found 5", "expected an object", NULL);
}

static void test_unknown_section_and_key(void **state)
{
	(void)state;
	struct agp_config c;
	assert_int_equal(load_text("{\"monitoring\": {\"enabeld\": false}}", &c), -EINVAL);
	expect_in_err(path, "monitoring.enabeld", "unknown key", "did you mean \"enabled\"", NULL);
	assert_true(c.monitoring.enabled); /* untouched */

	assert_int_equal(load_text("{\"treshholds\": {}}", &c), -EINVAL);
	expect_in_err(path, "treshholds", "unknown section", "did you mean \"thresholds\"", NULL);
}

static void test_wrong_type(void **state)
{
	(void)state;
	struct agp_config c;
	assert_int_equal(
	    load_text("{\"thresholds\": {\"task_execution_warning_ms\": \"fast\"}}", &c), -EINVAL);
	expect_in_err(path, "thresholds.task_execution_warning_ms", "\"fast\"", "a string",
	              "expected a number", NULL);

	assert_int_equal(load_text("{\"monitoring\": {\"enabled\": \"yes\"}}", &c), -EINVAL);
	expect_in_err(path, "monitoring.enabled", "\"yes\"", "expected true or false", NULL);

	assert_int_equal(load_text("{\"monitoring\": {\"storage_dir\": 17}}", &c), -EINVAL);
	expect_in_err(path, "monitoring.storage_dir", "found 17", "string", NULL);

	assert_int_equal(load_text("{\"monitoring\": {\"aggregation_window_minutes\": 2.5}}", &c),
	                 -EINVAL);
	expect_in_err(path, "monitoring.aggregation_window_minutes", "2.5", "an integer", NULL);

	assert_int_equal(load_text("{\"baseline\": {\"confidence_interval\": null}}", &c), -EINVAL);
	expect_in_err(path, "baseline.confidence_interval", "null", NULL);

	/* 5.0 is the integer 5 written by a tool that writes every number as a float. */
	assert_int_equal(load_text("{\"monitoring\": {\"aggregation_window_minutes\": 2.0}}", &c),
	                 0);
	assert_int_equal(c.monitoring.aggregation_window_minutes, 2);
	/* And an integer is a fine number. */
	assert_int_equal(load_text("{\"baseline\": {\"measurement_period_hours\": 3}}", &c), 0);
	assert_true(c.baseline.measurement_period_hours == 3.0);
}

static void test_out_of_range(void **state)
{
	(void)state;
	struct agp_config c;
	const struct {
		const char *text, *key, *value;
	} cases[] = {
	    {"{\"thresholds\": {\"task_execution_warning_ms\": -5}}",
	     "thresholds.task_execution_warning_ms", "found -5"},
	    {"{\"thresholds\": {\"agent_init_critical_ms\": 0}}",
	     "thresholds.agent_init_critical_ms", "found 0"},
	    {"{\"baseline\": {\"confidence_interval\": 1.5}}", "baseline.confidence_interval",
	     "found 1.5"},
	    {"{\"baseline\": {\"confidence_interval\": 1}}", "baseline.confidence_interval",
	     "found 1,"},
	    {"{\"baseline\": {\"confidence_interval\": 0}}", "baseline.confidence_interval",
	     "found 0,"},
	    {"{\"baseline\": {\"min_samples_for_baseline\": 0}}",
	     "baseline.min_samples_for_baseline", "found 0"},
	    {"{\"baseline\": {\"measurement_period_hours\": -1}}",
	     "baseline.measurement_period_hours", "found -1"},
	    {"{\"baseline\": {\"update_frequency_hours\": 0}}", "baseline.update_frequency_hours",
	     "found 0"},
	    {"{\"baseline\": {\"min_success_rate\": 1.1}}", "baseline.min_success_rate",
	     "found 1.1"},
	    {"{\"baseline\": {\"baseline_retention_days\": 0}}", "baseline.baseline_retention_days",
	     "found 0"},
	    {"{\"monitoring\": {\"aggregation_window_minutes\": 0}}",
	     "monitoring.aggregation_window_minutes", "found 0"},
	    {"{\"monitoring\": {\"metric_retention_hours\": -24}}",
	     "monitoring.metric_retention_hours", "found -24"},
	    {"{\"monitoring\": {\"max_metrics_in_memory\": -1}}",
	     "monitoring.max_metrics_in_memory", "found -1"},
	    {"{\"monitoring\": {\"alert_cooldown_minutes\": -10}}",
	     "monitoring.alert_cooldown_minutes", "found -10"},
	    {"{\"monitoring\": {\"export_frequency_minutes\": 0}}",
	     "monitoring.export_frequency_minutes", "found 0"},
	    {"{\"monitoring\": {\"storage_dir\": \"\"}}", "monitoring.storage_dir", "found \"\""},
	    {"{\"monitoring\": {\"ci_export_file\": \"\"}}", "monitoring.ci_export_file",
	     "found \"\""},
	    {"{\"monitoring\": {\"http_listen\": \"localhost:99999\"}}", "monitoring.http_listen",
	     "localhost:99999"},
	    {"{\"monitoring\": {\"http_listen\": \"::1:9100\"}}", "monitoring.http_listen",
	     "::1:9100"},
	    {"{\"monitoring\": {\"group\": \"wheel;rm\"}}", "monitoring.group", "wheel;rm"},
	    {"{\"monitoring\": {\"aggregation_window_seconds\": -1}}",
	     "monitoring.aggregation_window_seconds", "found -1"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = load_text(cases[i].text, &c);
		if (rc != -EINVAL) {
			print_error("accepted: %s\n", cases[i].text);
			fail();
		}
		expect_in_err(path, cases[i].key, cases[i].value, "expected", NULL);
	}
	/* The boundaries themselves are fine. */
	assert_int_equal(
	    load_text("{\"baseline\": {\"min_success_rate\": 1, \"confidence_interval\": "
	              "0.999}, \"monitoring\": {\"alert_cooldown_minutes\": 0, "
	              "\"http_listen\": \"[::1]:9100\", \"group\": \"agentperf\"}}",
	              &c),
	    0);
	assert_string_equal(c.additions.http_listen, "[::1]:9100");
	assert_int_equal(load_text("{\"monitoring\": {\"http_listen\": \"9100\"}}", &c), 0);
}

static void test_warning_above_critical(void **state)
{
	(void)state;
	struct agp_config c;
	assert_int_equal(
	    load_text("{\"thresholds\": {\"coordination_overhead_warning_ms\": 300}}", &c),
	    -EINVAL);
	expect_in_err(path, "thresholds.coordination_overhead_warning_ms", "found 300",
	              "thresholds.coordination_overhead_critical_ms (200)", NULL);
	assert_int_equal(load_text("{\"thresholds\": {\"memory_usage_warning_mb\": 2048}}", &c),
	                 -EINVAL);
	expect_in_err(path, "memory_usage_warning_mb", "2048", "memory_usage_critical_mb", NULL);
	/* Equal is allowed, and both moved together is fine. */
	assert_int_equal(load_text("{\"thresholds\": {\"agent_init_warning_ms\": 100}}", &c), 0);
	assert_int_equal(load_text("{\"thresholds\": {\"task_execution_warning_ms\": 3000, "
	                           "\"task_execution_critical_ms\": 4000}}",
	                           &c),
	                 0);
}

static void test_all_problems_reported(void **state)
{
	(void)state;
	struct agp_config c, before;
	agp_config_defaults(&before);
	assert_int_equal(load_text("{\n"
	                           "  \"thresholds\": {\"task_execution_warning_ms\": -1,\n"
	                           "                  \"agent_init_warning_ms\": \"x\"},\n"
	                           "  \"baseline\": {\"confidence_interval\": 1.5, \"bogus\": 1},\n"
	                           "  \"monitoring\": {\"aggregation_window_minutes\": 0},\n"
	                           "  \"extra\": {}\n"
	                           "}\n",
	                           &c),
	                 -EINVAL);
	expect_in_err("thresholds.task_execution_warning_ms", "thresholds.agent_init_warning_ms",
	              "baseline.confidence_interval", "baseline.bogus",
	              "monitoring.aggregation_window_minutes", "extra", NULL);
	assert_int_equal(err_lines(), 6);
	/* Every line names the file. */
	for (char *line = strtok(err, "\n"); line; line = strtok(NULL, "\n"))
		assert_non_null(strstr(line, path));
	/* Nothing of a bad file is applied. */
	assert_memory_equal(&c, &before, sizeof(c));
}

static void test_small_error_buffer_says_more(void **state)
{
	(void)state;
	struct agp_config c;
	write_text(path, "{\"baseline\": {\"a\": 1, \"b\": 2, \"c\": 3, \"d\": 4, \"e\": 5, \"f\": "
	                 "6, \"g\": 7}}");
	agp_config_defaults(&c);
	char small[400];
	assert_int_equal(agp_config_load_file(path, &c, small, sizeof(small)), -EINVAL);
	assert_non_null(strstr(small, "baseline.a"));
	assert_non_null(strstr(small, "more problems)"));
	assert_true(strlen(small) < sizeof(small));
}

static void test_partial_file_keeps_other_values(void **state)
{
	(void)state;
	struct agp_config c;
	agp_config_defaults(&c);
	assert_int_equal(agp_config_preset(&c, "production", err, sizeof(err)), 0);
	write_text(path, "{\"monitoring\": {\"alert_cooldown_minutes\": 3, \"ci_export_file\": "
	                 "\"out/ci.json\"}, \"baseline\": {}}");
	assert_int_equal(agp_config_load_file(path, &c, err, sizeof(err)), 0);
	assert_int_equal(c.monitoring.alert_cooldown_minutes, 3);
	assert_string_equal(c.monitoring.ci_export_file, "out/ci.json");
	assert_int_equal(c.baseline.min_samples_for_baseline, 200); /* from the preset */
	assert_true(c.thresholds.coordination_overhead_critical_ms == 150.0);
}

/* ---------------------------------------------------------------- metrics section */

static void test_metrics_section_and_lookup(void **state)
{
	(void)state;
	struct agp_config c;
	assert_int_equal(
	    load_text("{\"metrics\": {\n"
	              "  \"result_processing\": {\"warning_ms\": 20, \"critical_ms\": 40},\n"
	              "  \"queue_depth\": {\"warning\": 100, \"critical\": 1000},\n"
	              "  \"cache_size\": {\"critical_mb\": 64},\n"
	              "  \"coordination_overhead\": {\"expected_interval_ms\": 10},\n"
	              "  \"heartbeat\": {\"expected_interval_ms\": 0.5}\n"
	              "}}",
	              &c),
	    0);
	assert_int_equal(c.metric_count, 5);
	uint64_t w = 1, k = 1;
	/* Seed metrics: from `thresholds`, in ns and bytes. */
	assert_int_equal(agp_config_metric_thresholds(&c, "coordination_overhead", &w, &k), 0);
	assert_int_equal(w, 150000000ull);
	assert_int_equal(k, 200000000ull);
	assert_int_equal(agp_config_metric_thresholds(&c, "task_execution_time", &w, &k), 0);
	assert_int_equal(w, 1000000000ull);
	assert_int_equal(k, 2000000000ull);
	assert_int_equal(agp_config_metric_thresholds(&c, "agent_initialization", &w, &k), 0);
	assert_int_equal(w, 50000000ull);
	assert_int_equal(k, 100000000ull);
	assert_int_equal(agp_config_metric_thresholds(&c, "memory_usage", &w, &k), 0);
	assert_int_equal(w, 512ull << 20);
	assert_int_equal(k, 1024ull << 20);
	/* Others from `metrics`. */
	assert_int_equal(agp_config_metric_thresholds(&c, "result_processing", &w, &k), 0);
	assert_int_equal(w, 20000000ull);
	assert_int_equal(k, 40000000ull);
	assert_int_equal(agp_config_metric_thresholds(&c, "queue_depth", &w, &k), 0);
	assert_int_equal(w, 100);
	assert_int_equal(k, 1000);
	assert_int_equal(agp_config_metric_thresholds(&c, "cache_size", &w, &k), 0);
	assert_int_equal(w, 0);
	assert_int_equal(k, 64ull << 20);
	w = k = 7;
	assert_int_equal(agp_config_metric_thresholds(&c, "heartbeat", &w, &k), -ENOENT);
	assert_int_equal(agp_config_metric_thresholds(&c, "error_recovery_time", &w, &k), -ENOENT);
	assert_true(w == 7 && k == 7);
	assert_int_equal(agp_config_expected_interval_ns(&c, "coordination_overhead"), 10000000);
	assert_int_equal(agp_config_expected_interval_ns(&c, "heartbeat"), 500000);
	assert_int_equal(agp_config_expected_interval_ns(&c, "queue_depth"), 0);
	assert_null(agp_config_metric_find(&c, "nothing"));
}

static void test_metrics_section_errors(void **state)
{
	(void)state;
	struct agp_config c;
	assert_int_equal(
	    load_text("{\"metrics\": {\"x\": {\"warning_ms\": 5, \"critical_mb\": 9}}}", &c),
	    -EINVAL);
	expect_in_err(path, "metrics.x.critical_mb", "one unit", NULL);
	assert_int_equal(
	    load_text("{\"metrics\": {\"coordination_overhead\": {\"warning_ms\": 5}}}", &c),
	    -EINVAL);
	expect_in_err(path, "metrics.coordination_overhead", "thresholds section", NULL);
	assert_int_equal(load_text("{\"metrics\": {\"9lives\": {}}}", &c), -EINVAL);
	expect_in_err(path, "metrics.9lives", "\"9lives\"", "expected", NULL);
	assert_int_equal(load_text("{\"metrics\": {\"x\": {\"warnign_ms\": 5}}}", &c), -EINVAL);
	expect_in_err(path, "metrics.x.warnign_ms", "did you mean \"warning_ms\"", NULL);
	assert_int_equal(load_text("{\"metrics\": {\"x\": {\"warning_ms\": -5}}}", &c), -EINVAL);
	expect_in_err(path, "metrics.x.warning_ms", "found -5", "expected", NULL);
	assert_int_equal(load_text("{\"metrics\": {\"x\": {\"warning\": 9, \"critical\": 3}}}", &c),
	                 -EINVAL);
	expect_in_err(path, "metrics.x.warning", "found 9", "critical (3)", NULL);
	assert_int_equal(
	    load_text("{\"metrics\": {\"x\": {\"expected_interval_ms\": \"1s\"}}}", &c), -EINVAL);
	expect_in_err(path, "metrics.x.expected_interval_ms", "\"1s\"", NULL);
	assert_int_equal(load_text("{\"metrics\": [1]}", &c), -EINVAL);
	expect_in_err(path, "metrics: found [1]", NULL);
}

static void test_window_seconds_override(void **state)
{
	(void)state;
	struct agp_config c;
	assert_int_equal(load_text("{\"monitoring\": {\"aggregation_window_seconds\": 0.25}}", &c),
	                 0);
	assert_int_equal(agp_config_window_ns(&c), 250000000ull);
	assert_int_equal(load_text("{\"monitoring\": {\"aggregation_window_seconds\": 0}}", &c), 0);
	assert_int_equal(agp_config_window_ns(&c), 300000000000ull);
	/* A window longer than the retention cannot be kept. */
	assert_int_equal(load_text("{\"monitoring\": {\"aggregation_window_minutes\": 120, "
	                           "\"metric_retention_hours\": 1}}",
	                           &c),
	                 -EINVAL);
	expect_in_err(path, "monitoring.aggregation_window_minutes", "metric_retention_hours",
	              NULL);
}

/* ---------------------------------------------------------------- environment */

static void test_env_each_variable(void **state)
{
	(void)state;
	struct agp_config c;
	agp_config_defaults(&c);
	setenv("CODEX_PERFORMANCE_MONITORING", "FaLsE", 1);
	setenv("CODEX_COORDINATION_THRESHOLD_MS", "175.5", 1);
	setenv("CODEX_BASELINE_MIN_SAMPLES", "250", 1);
	setenv("CODEX_BASELINE_MEASUREMENT_HOURS", "0.25", 1);
	setenv("CODEX_CI_EXPORT_FILE", "build/perf.json", 1);
	setenv("CODEX_CI_FAIL_ON_VIOLATION", "false", 1);
	assert_int_equal(agp_config_apply_env(&c, err, sizeof(err)), 0);
	assert_false(c.monitoring.enabled);
	assert_true(c.thresholds.coordination_overhead_critical_ms == 175.5);
	assert_int_equal(c.baseline.min_samples_for_baseline, 250);
	assert_true(c.baseline.measurement_period_hours == 0.25);
	assert_string_equal(c.monitoring.ci_export_file, "build/perf.json");
	assert_false(c.monitoring.ci_fail_on_threshold_violation);

	setenv("CODEX_PERFORMANCE_MONITORING", "TRUE", 1);
	setenv("CODEX_CI_FAIL_ON_VIOLATION", "True", 1);
	assert_int_equal(agp_config_apply_env(&c, err, sizeof(err)), 0);
	assert_true(c.monitoring.enabled);
	assert_true(c.monitoring.ci_fail_on_threshold_violation);

	/* Unset variables change nothing. */
	for (size_t i = 0; i < 6; i++)
		unsetenv(env_names[i]);
	struct agp_config before = c;
	assert_int_equal(agp_config_apply_env(&c, err, sizeof(err)), 0);
	assert_memory_equal(&c, &before, sizeof(c));
}

static void test_env_unparsable_names_variable(void **state)
{
	(void)state;
	const struct {
		const char *name, *value;
	} cases[] = {
	    {"CODEX_PERFORMANCE_MONITORING", "yes"},
	    {"CODEX_PERFORMANCE_MONITORING", ""},
	    {"CODEX_COORDINATION_THRESHOLD_MS", "12abc"},
	    {"CODEX_COORDINATION_THRESHOLD_MS", " 12"},
	    {"CODEX_COORDINATION_THRESHOLD_MS", "nan"},
	    {"CODEX_COORDINATION_THRESHOLD_MS", "-5"},
	    {"CODEX_BASELINE_MIN_SAMPLES", "100.5"},
	    {"CODEX_BASELINE_MIN_SAMPLES", "0"},
	    {"CODEX_BASELINE_MIN_SAMPLES", "99999999999999999999999"},
	    {"CODEX_BASELINE_MEASUREMENT_HOURS", "1h"},
	    {"CODEX_BASELINE_MEASUREMENT_HOURS", "0"},
	    {"CODEX_CI_EXPORT_FILE", ""},
	    {"CODEX_CI_FAIL_ON_VIOLATION", "1"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct agp_config c, before;
		agp_config_defaults(&c);
		before = c;
		setenv(cases[i].name, cases[i].value, 1);
		int rc = agp_config_apply_env(&c, err, sizeof(err));
		unsetenv(cases[i].name);
		if (rc != -EINVAL) {
			print_error("%s=\"%s\" accepted\n", cases[i].name, cases[i].value);
			fail();
		}
		char quoted[128];
		snprintf(quoted, sizeof(quoted), "%s=\"%s\"", cases[i].name, cases[i].value);
		expect_in_err(quoted, "expected", NULL);
		assert_memory_equal(&c, &before, sizeof(c));
	}
}

/*
 * Numbers are decimal text only (docs/config.md): strtod's other forms (hex,
 * hex floats, inf, nan) and blanks are refused with the variable and value;
 * every decimal form is read to the value its digits say.
 */
static void test_env_numbers_are_decimal_text_only(void **state)
{
	(void)state;
	const struct {
		const char *name, *value;
	} refused[] = {
	    {"CODEX_BASELINE_MEASUREMENT_HOURS", "0x10"},
	    {"CODEX_BASELINE_MEASUREMENT_HOURS", "0X1P-1"},
	    {"CODEX_BASELINE_MEASUREMENT_HOURS", "0x1p3"},
	    {"CODEX_BASELINE_MEASUREMENT_HOURS", "infinity"},
	    {"CODEX_BASELINE_MEASUREMENT_HOURS", "INF"},
	    {"CODEX_BASELINE_MEASUREMENT_HOURS", "nan(1)"},
	    {"CODEX_BASELINE_MEASUREMENT_HOURS", "\t2"},
	    {"CODEX_BASELINE_MEASUREMENT_HOURS", "2 "},
	    {"CODEX_BASELINE_MEASUREMENT_HOURS", "2\n"},
	    {"CODEX_BASELINE_MEASUREMENT_HOURS", "."},
	    {"CODEX_BASELINE_MEASUREMENT_HOURS", "+"},
	    {"CODEX_BASELINE_MEASUREMENT_HOURS", "1e"},
	    {"CODEX_BASELINE_MEASUREMENT_HOURS", "e1"},
	    {"CODEX_BASELINE_MEASUREMENT_HOURS", "1e+"},
	    {"CODEX_BASELINE_MEASUREMENT_HOURS", "1.5.0"},
	    {"CODEX_BASELINE_MEASUREMENT_HOURS", "1,5"},
	    {"CODEX_BASELINE_MEASUREMENT_HOURS", "++2"},
	    {"CODEX_COORDINATION_THRESHOLD_MS", "0x100"},
	    {"CODEX_COORDINATION_THRESHOLD_MS", "0xC8p0"},
	    {"CODEX_BASELINE_MIN_SAMPLES", "0x10"},
	    {"CODEX_BASELINE_MIN_SAMPLES", "1e2"},
	    {"CODEX_BASELINE_MIN_SAMPLES", "100 "},
	    {"CODEX_BASELINE_MIN_SAMPLES", "+-100"},
	};
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		struct agp_config c, before;
		agp_config_defaults(&c);
		before = c;
		setenv(refused[i].name, refused[i].value, 1);
		int rc = agp_config_apply_env(&c, err, sizeof(err));
		unsetenv(refused[i].name);
		if (rc != -EINVAL) {
			print_error("%s=\"%s\" accepted\n", refused[i].name, refused[i].value);
			fail();
		}
		char quoted[128];
		snprintf(quoted, sizeof(quoted), "%s=\"%s\"", refused[i].name, refused[i].value);
		expect_in_err(quoted, "cannot parse", "decimal", NULL);
		assert_memory_equal(&c, &before, sizeof(c));
	}

	const struct {
		const char *value;
		double hours;
	} accepted[] = {{"2", 2},  {"+2", 2},   {"0.25", 0.25},   {".5", 0.5},
	                {"5.", 5}, {"1e1", 10}, {"2.5E-1", 0.25}, {"007", 7}};
	for (size_t i = 0; i < sizeof(accepted) / sizeof(accepted[0]); i++) {
		struct agp_config c;
		agp_config_defaults(&c);
		setenv("CODEX_BASELINE_MEASUREMENT_HOURS", accepted[i].value, 1);
		int rc = agp_config_apply_env(&c, err, sizeof(err));
		unsetenv("CODEX_BASELINE_MEASUREMENT_HOURS");
		if (rc != 0) {
			print_error("\"%s\" refused: %s\n", accepted[i].value, err);
			fail();
		}
		assert_true(c.baseline.measurement_period_hours == accepted[i].hours);
	}
	struct agp_config c;
	agp_config_defaults(&c);
	setenv("CODEX_BASELINE_MIN_SAMPLES", "+250", 1);
	assert_int_equal(agp_config_apply_env(&c, err, sizeof(err)), 0);
	unsetenv("CODEX_BASELINE_MIN_SAMPLES");
	assert_int_equal(c.baseline.min_samples_for_baseline, 250);
}

static void test_env_conflict_with_file_values(void **state)
{
	(void)state;
	struct agp_config c;
	agp_config_defaults(&c);
	/* Critical 100 below the warning 150: say which variable did it. */
	setenv("CODEX_COORDINATION_THRESHOLD_MS", "100", 1);
	setenv("CODEX_CI_EXPORT_FILE", "x.json", 1);
	assert_int_equal(agp_config_apply_env(&c, err, sizeof(err)), -EINVAL);
	expect_in_err("CODEX_COORDINATION_THRESHOLD_MS",
	              "thresholds.coordination_overhead_warning_ms", "(100)", NULL);
	assert_true(c.thresholds.coordination_overhead_critical_ms == 200.0);
	assert_string_equal(c.monitoring.ci_export_file, "performance_metrics.json");
}

/* ---------------------------------------------------------------- monitoring.group */

static void test_group_resolves_on_this_machine(void **state)
{
	(void)state;
	struct agp_config c;
	agp_config_defaults(&c);
	bool has_group = true;
	gid_t gid = 12345;
	assert_int_equal(agp_config_resolve_group(&c, "f.json", &has_group, &gid, err, sizeof(err)),
	                 0);
	assert_false(has_group); /* "" is owner only */

	/* The witness for a name: the group database's entry of this process's group. */
	struct group *own = getgrgid(getgid());
	assert_non_null(own);
	gid_t own_gid = own->gr_gid;
	snprintf(c.additions.group, sizeof(c.additions.group), "%s", own->gr_name);
	assert_int_equal(agp_config_resolve_group(&c, "f.json", &has_group, &gid, err, sizeof(err)),
	                 0);
	assert_true(has_group);
	assert_int_equal(gid, own_gid);

	snprintf(c.additions.group, sizeof(c.additions.group), "65534");
	assert_int_equal(agp_config_resolve_group(&c, "f.json", &has_group, &gid, err, sizeof(err)),
	                 0);
	assert_int_equal(gid, 65534);

	snprintf(c.additions.group, sizeof(c.additions.group), "agpnogroup%ld", (long)getpid());
	assert_null(getgrnam(c.additions.group));
	has_group = false;
	gid = 12345;
	assert_int_equal(agp_config_resolve_group(&c, "f.json", &has_group, &gid, err, sizeof(err)),
	                 -ENOENT);
	expect_in_err("f.json", "monitoring.group", c.additions.group, NULL);
	assert_false(has_group);
	assert_int_equal(gid, 12345);

	/* gid_t has 32 bits: a larger number must not wrap to root's group 0. */
	const char *too_large[] = {"4294967295", "4294967296", "99999999999999999999"};
	for (size_t i = 0; i < sizeof(too_large) / sizeof(too_large[0]); i++) {
		snprintf(c.additions.group, sizeof(c.additions.group), "%s", too_large[i]);
		assert_int_equal(
		    agp_config_resolve_group(&c, "f.json", &has_group, &gid, err, sizeof(err)),
		    -ERANGE);
		expect_in_err("monitoring.group", too_large[i], NULL);
		assert_int_equal(gid, 12345);
	}
}

/* ---------------------------------------------------------------- presets */

static void test_presets(void **state)
{
	(void)state;
	struct agp_config c;
	agp_config_defaults(&c);
	assert_int_equal(agp_config_preset(&c, "development", err, sizeof(err)), 0);
	assert_true(c.thresholds.coordination_overhead_warning_ms == 200.0);
	assert_true(c.thresholds.coordination_overhead_critical_ms == 300.0);
	assert_true(c.thresholds.coordination_overhead_max_acceptable_ms == 400.0);
	assert_true(c.baseline.measurement_period_hours == 0.5);
	assert_int_equal(c.baseline.min_samples_for_baseline, 20);
	assert_true(c.baseline.update_frequency_hours == 2.0);
	assert_int_equal(c.monitoring.export_frequency_minutes, 5);
	assert_int_equal(c.monitoring.aggregation_window_minutes, 1);
	assert_int_equal(c.monitoring.max_metrics_in_memory, 10000); /* not the preset's business */
	assert_int_equal(agp_config_check(&c, "development", err, sizeof(err)), 0);

	agp_config_defaults(&c);
	c.monitoring.ci_export_enabled = false;
	c.monitoring.ci_fail_on_threshold_violation = false;
	assert_int_equal(agp_config_preset(&c, "production", err, sizeof(err)), 0);
	assert_true(c.thresholds.coordination_overhead_warning_ms == 100.0);
	assert_true(c.thresholds.coordination_overhead_critical_ms == 150.0);
	assert_true(c.thresholds.coordination_overhead_max_acceptable_ms == 200.0);
	assert_true(c.baseline.measurement_period_hours == 2.0);
	assert_int_equal(c.baseline.min_samples_for_baseline, 200);
	assert_true(c.baseline.update_frequency_hours == 12.0);
	assert_int_equal(c.monitoring.max_metrics_in_memory, 5000);
	assert_true(c.monitoring.metric_retention_hours == 48.0);
	assert_int_equal(c.monitoring.alert_cooldown_minutes, 30);
	assert_true(c.monitoring.ci_export_enabled);
	assert_true(c.monitoring.ci_fail_on_threshold_violation);
	assert_int_equal(agp_config_check(&c, "production", err, sizeof(err)), 0);

	struct agp_config before = c;
	assert_int_equal(agp_config_preset(&c, "staging", err, sizeof(err)), -EINVAL);
	expect_in_err("staging", "development", "production", NULL);
	assert_memory_equal(&c, &before, sizeof(c));
}

/* ---------------------------------------------------------------- writing */

static unsigned count_entries(const char *folder)
{
	DIR *d = opendir(folder);
	assert_non_null(d);
	unsigned n = 0;
	struct dirent *e;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

static void test_write_then_load_round_trip(void **state)
{
	(void)state;
	struct agp_config c, back;
	agp_config_defaults(&c);
	assert_int_equal(agp_config_preset(&c, "development", err, sizeof(err)), 0);
	c.thresholds.task_execution_warning_ms = 0.1 + 0.2; /* needs 17 digits */
	c.thresholds.memory_usage_critical_mb = 1536.75;
	c.baseline.confidence_interval = 0.99;
	c.baseline.auto_update_baseline = false;
	c.monitoring.alert_cooldown_minutes = 0;
	snprintf(c.monitoring.storage_dir, sizeof(c.monitoring.storage_dir), "/var/lib/agentperf");
	snprintf(c.monitoring.ci_export_file, sizeof(c.monitoring.ci_export_file),
	         "r\xc3\xa9sultats \"ci\".json");
	snprintf(c.additions.http_listen, sizeof(c.additions.http_listen), "127.0.0.1:9464");
	snprintf(c.additions.group, sizeof(c.additions.group), "agents");
	c.additions.aggregation_window_seconds = 10;
	c.metric_count = 2;
	c.metrics[0] = (struct agp_config_metric){.name = "result_processing",
	                                          .expected_interval_ms = 5,
	                                          .unit = AGP_CONFIG_UNIT_MS,
	                                          .warning = 20,
	                                          .critical = 40};
	c.metrics[1] = (struct agp_config_metric){
	    .name = "queue_depth", .unit = AGP_CONFIG_UNIT_COUNT, .critical = 1e6};
	assert_int_equal(agp_config_check(&c, "test", err, sizeof(err)), 0);

	char nested[256];
	snprintf(nested, sizeof(nested), "%s/a/b/config.json", dir);
	assert_int_equal(agp_config_write_file(nested, &c, err, sizeof(err)), 0);
	agp_config_defaults(&back);
	assert_int_equal(agp_config_load_file(nested, &back, err, sizeof(err)), 0);
	assert_memory_equal(&back.thresholds, &c.thresholds, sizeof(c.thresholds));
	assert_memory_equal(&back.baseline, &c.baseline, sizeof(c.baseline));
	assert_memory_equal(&back.monitoring, &c.monitoring, sizeof(c.monitoring));
	assert_memory_equal(&back.additions, &c.additions, sizeof(c.additions));
	assert_int_equal(back.metric_count, 2);
	assert_memory_equal(back.metrics, c.metrics, 2 * sizeof(c.metrics[0]));

	/* Defaults round trip too, through the seed-only schema. */
	agp_config_defaults(&c);
	assert_int_equal(agp_config_write_file(path, &c, err, sizeof(err)), 0);
	memset(&back, 0, sizeof(back));
	agp_config_defaults(&back);
	back.monitoring.enabled = false; /* must come back from the file */
	assert_int_equal(agp_config_load_file(path, &back, err, sizeof(err)), 0);
	assert_memory_equal(&back, &c, sizeof(c));
}

static void test_write_is_atomic_and_clean(void **state)
{
	(void)state;
	struct agp_config c;
	agp_config_defaults(&c);
	write_text(path, "old contents");
	chmod(path, 0640);
	assert_int_equal(agp_config_write_file(path, &c, err, sizeof(err)), 0);
	/* Only config.json in the folder: the temporary file was renamed, not left behind. */
	assert_int_equal(count_entries(dir), 1);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0640); /* the replaced file's mode is kept */
	for (int i = 0; i < 20; i++) {
		c.baseline.min_samples_for_baseline = 100 + i;
		assert_int_equal(agp_config_write_file(path, &c, err, sizeof(err)), 0);
	}
	assert_int_equal(count_entries(dir), 1);
	struct agp_config back;
	agp_config_defaults(&back);
	assert_int_equal(agp_config_load_file(path, &back, err, sizeof(err)), 0);
	assert_int_equal(back.baseline.min_samples_for_baseline, 119);

	/* A failed write leaves neither a temporary file nor a changed target. */
	char blocked[256];
	snprintf(blocked, sizeof(blocked), "%s/sub", dir);
	assert_int_equal(mkdir(blocked, 0700), 0);
	snprintf(blocked, sizeof(blocked), "%s/sub/config.json", dir);
	assert_int_equal(mkdir(blocked, 0700), 0); /* a folder in the way of the rename */
	assert_true(agp_config_write_file(blocked, &c, err, sizeof(err)) < 0);
	expect_in_err(blocked, NULL);
	snprintf(blocked, sizeof(blocked), "%s/sub", dir);
	assert_int_equal(count_entries(blocked), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_defaults_match_compat, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_defaults_written_are_the_seed_schema, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_missing_file_is_enoent, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_unreadable_file, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_not_json_names_line_and_column, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_top_level_and_sections_must_be_objects, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_unknown_section_and_key, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_wrong_type, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_out_of_range, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_warning_above_critical, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_all_problems_reported, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_small_error_buffer_says_more, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_partial_file_keeps_other_values, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_metrics_section_and_lookup, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_metrics_section_errors, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_window_seconds_override, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_env_each_variable, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_env_unparsable_names_variable, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_env_numbers_are_decimal_text_only, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_env_conflict_with_file_values, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_group_resolves_on_this_machine, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_presets, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_write_then_load_round_trip, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_write_is_atomic_and_clean, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
