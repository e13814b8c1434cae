/*
 * The Prometheus exposition, checked on hand-made snapshots: escaping, HELP and TYPE for
 * every family, cumulative buckets (+Inf equal to _count), base units, counters that stay
 * monotonic when windows close and expire, stale snapshots refused, baseline and health.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "shm/abi.h"
#include <agentperf/agentperf.h>
#include <math.h>
#include <time.h>
#include <sys/resource.h>
#include <dirent.h>

#include "hdr/histogram.h"
#include "collector/export/prometheus.h"
#include "hdr/sparse.h"

#define MS     INT64_C(1000000)
#define MIB    INT64_C(1048576)
#define LAYOUT 1, INT64_C(3600000000000), 3

struct sample {
	int64_t value;
	int64_t count;
};

static struct agp_sparse_hist *window_of(const struct sample *samples, size_t n)
{
	struct agp_hdr *h;
	assert_int_equal(agp_hdr_create(LAYOUT, &h), 0);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(agp_hdr_record_n(h, samples[i].value, samples[i].count), 0);
	struct agp_sparse_hist *out;
	assert_int_equal(agp_sparse_hist_encode(h, &out), 0);
	agp_hdr_destroy(h);
	return out;
}

static struct agp_snapshot *snapshot_new(uint64_t generation)
{
	struct agp_snapshot *s = agp_snapshot_alloc();
	assert_non_null(s);
	s->generation = generation;
	s->taken_ns = 1000 * (uint64_t)1e9;
	s->taken_wall_ms = INT64_C(1764463130000);
	s->collector_started_ns = 10 * (uint64_t)1e9;
	s->series = calloc(16, sizeof(*s->series));
	return s;
}

/* Adds a series; windows[i] NULL means an empty window. The last window is the open one. */
static struct agp_snapshot_series *series_add(struct agp_snapshot *s, const char *type,
                                              const char *agent, const char *metric, uint16_t id,
                                              enum agp_unit unit, uint64_t first_start_ns,
                                              struct agp_sparse_hist **windows, size_t n)
{
	struct agp_snapshot_series *series = &s->series[s->series_count++];
	snprintf(series->agent_type, sizeof(series->agent_type), "%s", type);
	snprintf(series->agent, sizeof(series->agent), "%s", agent);
	snprintf(series->metric, sizeof(series->metric), "%s", metric);
	series->metric_id = id;
	series->unit = unit;
	series->windows = calloc(n, sizeof(*series->windows));
	series->window_count = n;
	for (size_t i = 0; i < n; i++) {
		series->windows[i].start_ns = first_start_ns + i * (uint64_t)60e9;
		series->windows[i].end_ns = first_start_ns + (i + 1) * (uint64_t)60e9;
		series->windows[i].raw = windows[i];
		struct agp_sparse_summary summary;
		if (windows[i] && agp_sparse_hist_summary(windows[i], &summary) == 0)
			series->total_count += (uint64_t)summary.total_count;
	}
	return series;
}

static struct agp_prom_exporter *exporter_new(bool per_agent)
{
	struct agp_config cfg;
	agp_config_defaults(&cfg);
	struct agp_prom_options options;
	agp_prom_options_default(&options, &cfg);
	options.per_agent = per_agent;
	struct agp_prom_exporter *exporter;
	assert_int_equal(agp_prom_exporter_create(&options, &cfg, &exporter), 0);
	return exporter;
}

static char *render(struct agp_prom_exporter *exporter, const struct agp_snapshot *s,
                    const struct agp_baseline *baseline)
{
	char *text = NULL;
	size_t length = 0;
	assert_int_equal(agp_prom_render(exporter, s, baseline, &text, &length), 0);
	assert_int_equal(strlen(text), length);
	return text;
}

/* The value of the sample line that starts with prefix (name and labels up to the space). */
static double value_of(const char *text, const char *prefix)
{
	size_t length = strlen(prefix);
	for (const char *line = text; line && *line;) {
		if (strncmp(line, prefix, length) == 0 && line[length] == ' ')
			return strtod(line + length + 1, NULL);
		line = strchr(line, '\n');
		if (line)
			line++;
	}
	/* The whole text goes to stderr: cmocka truncates long messages. */
	fprintf(stderr, "%s", text);
	fail_msg("no sample line '%s' in the text above", prefix);
	return 0;
}

static bool has_line_starting(const char *text, const char *prefix)
{
	size_t length = strlen(prefix);
	for (const char *line = text; line && *line;) {
		if (strncmp(line, prefix, length) == 0)
			return true;
		line = strchr(line, '\n');
		if (line)
			line++;
	}
	return false;
}

#define CO "agent_type=\"worker\",metric=\"coordination_overhead\""

static void test_cumulative_buckets_and_base_units(void **state)
{
	(void)state;
	struct agp_prom_exporter *exporter = exporter_new(false);
	struct agp_snapshot *s = snapshot_new(1);
	const struct sample closed[] = {{1 * MS, 3}, {100 * MS, 2}};
	/* Exactly the warning threshold (150 ms, a bound) and one beyond every bound (70 s). */
	const struct sample open[] = {{150 * MS, 1}, {70000 * MS, 1}};
	struct agp_sparse_hist *windows[] = {window_of(closed, 2), window_of(open, 2)};
	series_add(s, "worker", "", "coordination_overhead", 0, AGP_UNIT_NANOSECONDS, 0, windows,
	           2);
	const struct sample memory[] = {{512 * MIB, 1}, {2048 * MIB, 1}};
	struct agp_sparse_hist *memory_windows[] = {window_of(memory, 2)};
	series_add(s, "worker", "", "memory_usage", 5, AGP_UNIT_BYTES, 0, memory_windows, 1);

	char *text = render(exporter, s, NULL);
	assert_true(value_of(text, "agentperf_duration_seconds_bucket{" CO ",le=\"0.0001\"}") == 0);
	assert_true(value_of(text, "agentperf_duration_seconds_bucket{" CO ",le=\"0.001\"}") == 3);
	assert_true(value_of(text, "agentperf_duration_seconds_bucket{" CO ",le=\"0.1\"}") == 5);
	assert_true(value_of(text, "agentperf_duration_seconds_bucket{" CO ",le=\"0.15\"}") == 6);
	assert_true(value_of(text, "agentperf_duration_seconds_bucket{" CO ",le=\"60\"}") == 6);
	assert_true(value_of(text, "agentperf_duration_seconds_bucket{" CO ",le=\"+Inf\"}") == 7);
	assert_true(value_of(text, "agentperf_duration_seconds_count{" CO "}") == 7);
	/* The sum is exact and in seconds: 3 ms + 200 ms + 150 ms + 70 s. */
	assert_float_equal(value_of(text, "agentperf_duration_seconds_sum{" CO "}"), 70.353, 1e-9);
	/* Bytes stay bytes; thresholds 512 MiB and 1024 MiB are bounds. */
	const char *mem = "agent_type=\"worker\",metric=\"memory_usage\"";
	char prefix[256];
	snprintf(prefix, sizeof(prefix), "agentperf_size_bytes_bucket{%s,le=\"536870912\"}", mem);
	assert_true(value_of(text, prefix) == 1);
	snprintf(prefix, sizeof(prefix), "agentperf_size_bytes_sum{%s}", mem);
	assert_true(value_of(text, prefix) == 2560.0 * MIB);
	/* Buckets never decrease along le. */
	double previous = -1;
	for (const char *line = strstr(text, "agentperf_duration_seconds_bucket"); line;
	     line = strstr(line + 1, "agentperf_duration_seconds_bucket")) {
		double value = strtod(strchr(line, ' ') + 1, NULL);
		assert_true(value >= previous);
		previous = value;
	}
	free(text);
	agp_snapshot_free(s);
	agp_prom_exporter_destroy(exporter);
}

static void test_help_and_type_for_every_family(void **state)
{
	(void)state;
	struct agp_prom_exporter *exporter = exporter_new(true);
	struct agp_snapshot *s = snapshot_new(1);
	const struct sample samples[] = {{5 * MS, 10}};
	struct agp_sparse_hist *w1[] = {window_of(samples, 1)};
	struct agp_sparse_hist *w2[] = {window_of(samples, 1)};
	struct agp_sparse_hist *w3[] = {window_of(samples, 1)};
	series_add(s, "worker", "", "coordination_overhead", 0, AGP_UNIT_NANOSECONDS, 0, w1, 1);
	series_add(s, "worker", "w-1", "coordination_overhead", 0, AGP_UNIT_NANOSECONDS, 0, w2, 1);
	series_add(s, "worker", "", "queue_depth", 9, AGP_UNIT_COUNT, 0, w3, 1);
	struct agp_baseline *baseline = calloc(1, sizeof(*baseline));
	baseline->established = true;
	baseline->metric_count = 2;
	snprintf(baseline->metrics[0].metric, sizeof(baseline->metrics[0].metric),
	         "coordination_overhead");
	baseline->metrics[0].unit = AGP_UNIT_NANOSECONDS;
	baseline->metrics[0].count = 10;
	baseline->metrics[0].mean = 5e6;
	baseline->metrics[0].has_percentiles = true;
	baseline->metrics[0].p95 = 5 * MS;
	/* A means-only entry (the original's baseline.json): no percentile samples. */
	snprintf(baseline->metrics[1].metric, sizeof(baseline->metrics[1].metric),
	         "task_execution_time");
	baseline->metrics[1].unit = AGP_UNIT_NANOSECONDS;
	baseline->metrics[1].mean = 2e6;

	char *text = render(exporter, s, baseline);
	/* Every sample line belongs to a family announced by HELP then TYPE before it. */
	char families[64][128];
	size_t family_count = 0;
	char help_for[128] = "";
	char *copy = strdup(text); /* split into lines in place */
	for (char *line = copy; *line;) {
		char *end = strchr(line, '\n');
		assert_non_null(end);
		*end = '\0';
		char name[128];
		if (strncmp(line, "# HELP ", 7) == 0) {
			assert_int_equal(sscanf(line + 7, "%127s", help_for), 1);
		} else if (strncmp(line, "# TYPE ", 7) == 0) {
			char type[32];
			assert_int_equal(sscanf(line + 7, "%127s %31s", name, type), 2);
			assert_string_equal(name, help_for);
			for (size_t f = 0; f < family_count; f++)
				assert_string_not_equal(families[f], name);
			snprintf(families[family_count++], 128, "%s", name);
		} else {
			size_t length = strcspn(line, "{ ");
			memcpy(name, line, length);
			name[length] = '\0';
			bool known = false;
			for (size_t f = 0; f < family_count && !known; f++) {
				size_t fl = strlen(families[f]);
				known =
				    strcmp(name, families[f]) == 0 ||
				    (strncmp(name, families[f], fl) == 0 &&
				     (!strcmp(name + fl, "_bucket") || !strcmp(name + fl, "_sum") ||
				      !strcmp(name + fl, "_count")));
			}
			if (!known)
				fail_msg("sample '%s' has no HELP/TYPE before it", line);
		}
		line = end + 1;
	}
	free(copy);
	assert_true(family_count >= 15);
	/* Per-agent series carry the agent label; plain counts have their own family. */
	assert_true(strstr(text,
	                   "agent_type=\"worker\",agent=\"w-1\",metric=\"coordination_overhead"
	                   "\"") != NULL);
	assert_true(strstr(text,
	                   "agentperf_sample_value_count{agent_type=\"worker\",metric=\"queue_"
	                   "depth\"} 10") != NULL);
	assert_true(value_of(text, "agentperf_baseline_duration_seconds{metric=\"coordination_"
	                           "overhead\",statistic=\"p95\"}") == 0.005);
	assert_true(value_of(text, "agentperf_baseline_duration_seconds{metric=\"task_execution_"
	                           "time\",statistic=\"mean\"}") == 0.002);
	assert_false(has_line_starting(text, "agentperf_baseline_duration_seconds{metric=\"task_"
	                                     "execution_time\",statistic=\"p95\"}"));
	assert_true(value_of(text, "agentperf_baseline_established") == 1);
	free(text);
	free(baseline);
	agp_snapshot_free(s);
	agp_prom_exporter_destroy(exporter);
}

static void test_label_values_escaped(void **state)
{
	(void)state;
	struct agp_prom_exporter *exporter = exporter_new(false);
	struct agp_snapshot *s = snapshot_new(1);
	const struct sample samples[] = {{1 * MS, 1}};
	struct agp_sparse_hist *w[] = {window_of(samples, 1)};
	series_add(s, "we\"ird\\ty\npe", "", "coordination_overhead", 0, AGP_UNIT_NANOSECONDS, 0, w,
	           1);
	char *text = render(exporter, s, NULL);
	assert_non_null(strstr(text, "agentperf_duration_seconds_count{agent_type=\"we\\\"ird\\\\ty"
	                             "\\npe\",metric=\"coordination_overhead\"} 1\n"));
	/* No raw line feed inside any label set. */
	for (const char *line = text; *line; line = strchr(line, '\n') + 1) {
		const char *end = strchr(line, '\n');
		const char *open = memchr(line, '{', (size_t)(end - line));
		if (open && line[0] != '#')
			assert_non_null(memchr(open, '}', (size_t)(end - open)));
	}
	free(text);
	agp_snapshot_free(s);
	agp_prom_exporter_destroy(exporter);
}

static void test_counters_survive_window_close_and_expiry(void **state)
{
	(void)state;
	struct agp_prom_exporter *exporter = exporter_new(false);
	const struct sample two[] = {{2 * MS, 2}};
	const struct sample three[] = {{2 * MS, 3}};
	const struct sample one[] = {{300 * MS, 1}};
	const char *count_line = "agentperf_duration_seconds_count{" CO "}";
	const char *le_line = "agentperf_duration_seconds_bucket{" CO ",le=\"0.0025\"}";

	/* Generation 1: window A open with 2 samples. */
	struct agp_snapshot *s1 = snapshot_new(1);
	struct agp_sparse_hist *w1[] = {window_of(two, 1)};
	series_add(s1, "worker", "", "coordination_overhead", 0, AGP_UNIT_NANOSECONDS, 0, w1, 1);
	char *text = render(exporter, s1, NULL);
	assert_true(value_of(text, count_line) == 2);
	free(text);

	/* Generation 2: A closed with 3 samples, B open with 1: A must not count twice. */
	struct agp_snapshot *s2 = snapshot_new(2);
	struct agp_sparse_hist *w2[] = {window_of(three, 1), window_of(one, 1)};
	series_add(s2, "worker", "", "coordination_overhead", 0, AGP_UNIT_NANOSECONDS, 0, w2, 2);
	assert_int_equal(agp_prom_exporter_update(exporter, s2), 0);
	text = render(exporter, s2, NULL);
	assert_true(value_of(text, count_line) == 4);
	assert_true(value_of(text, le_line) == 3);
	free(text);

	/* An older snapshot after a newer one is refused: counters could otherwise go down. */
	char *stale = NULL;
	size_t stale_length = 0;
	assert_int_equal(agp_prom_render(exporter, s1, NULL, &stale, &stale_length), -ESTALE);
	assert_null(stale);

	/* Generation 3: A expired from the retention, B closed (1), C open (2). Still counted. */
	struct agp_snapshot *s3 = snapshot_new(3);
	struct agp_sparse_hist *w3[] = {window_of(one, 1), window_of(two, 1)};
	series_add(s3, "worker", "", "coordination_overhead", 0, AGP_UNIT_NANOSECONDS,
	           (uint64_t)60e9, w3, 2);
	text = render(exporter, s3, NULL);
	assert_true(value_of(text, count_line) == 6);
	assert_true(value_of(text, le_line) == 5);
	assert_float_equal(value_of(text, "agentperf_duration_seconds_sum{" CO "}"), 0.31, 1e-12);
	free(text);

	agp_snapshot_free(s1);
	agp_snapshot_free(s2);
	agp_snapshot_free(s3);
	agp_prom_exporter_destroy(exporter);
}

/* A window's coordinated-omission corrected histogram (HdrHistogram's expected-interval rule). */
static struct agp_sparse_hist *corrected_of(const struct sample *samples, size_t n,
                                            int64_t interval)
{
	struct agp_hdr *h;
	assert_int_equal(agp_hdr_create(LAYOUT, &h), 0);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(
		    agp_hdr_record_corrected_n(h, samples[i].value, samples[i].count, interval), 0);
	struct agp_sparse_hist *out;
	assert_int_equal(agp_sparse_hist_encode(h, &out), 0);
	agp_hdr_destroy(h);
	return out;
}

/*
 * The corrected family beside the raw one: only the series with an expected interval, its own
 * HELP and TYPE, its counts from the corrected windows, and as monotonic as the raw family
 * when windows close and expire.
 */
static void test_corrected_family(void **state)
{
	(void)state;
	struct agp_prom_exporter *exporter = exporter_new(false);
	const int64_t interval = 10 * MS;
	const struct sample stall[] = {{250 * MS, 1}}; /* + 240, 230, ... 10 ms: 25 in all */
	const struct sample near[] = {{20 * MS, 1}};   /* + 10 ms: 2 */
	const char *raw_count = "agentperf_duration_seconds_count{" CO "}";
	const char *corrected_count = "agentperf_corrected_duration_seconds_count{" CO "}";
	const char *corrected_sum = "agentperf_corrected_duration_seconds_sum{" CO "}";
	const char *tasks = "agentperf_corrected_duration_seconds_count{agent_type=\"worker\","
	                    "metric=\"task_execution_time\"}";

	/* Generation 1: the stall in the open window; task_execution_time has no interval. */
	struct agp_snapshot *s1 = snapshot_new(1);
	struct agp_sparse_hist *w1[] = {window_of(stall, 1)};
	struct agp_snapshot_series *co = series_add(s1, "worker", "", "coordination_overhead", 0,
	                                            AGP_UNIT_NANOSECONDS, 0, w1, 1);
	co->expected_interval_ns = (uint64_t)interval;
	co->windows[0].corrected = corrected_of(stall, 1, interval);
	struct agp_sparse_hist *t1[] = {window_of(stall, 1)};
	series_add(s1, "worker", "", "task_execution_time", 1, AGP_UNIT_NANOSECONDS, 0, t1, 1);
	char *text = render(exporter, s1, NULL);
	assert_true(has_line_starting(text, "# HELP agentperf_corrected_duration_seconds "));
	assert_true(
	    has_line_starting(text, "# TYPE agentperf_corrected_duration_seconds histogram\n"));
	assert_true(value_of(text, raw_count) == 1);
	assert_true(value_of(text, corrected_count) == 25);
	/* 10 + 20 + ... + 250 ms, exact. */
	assert_float_equal(value_of(text, corrected_sum), 3.25, 1e-12);
	assert_true(
	    value_of(text, "agentperf_corrected_duration_seconds_bucket{" CO ",le=\"0.1\"}") == 10);
	assert_false(has_line_starting(text, tasks));
	free(text);

	/* Generation 2: the stall's window closed, a near-interval sample open. */
	struct agp_snapshot *s2 = snapshot_new(2);
	struct agp_sparse_hist *w2[] = {window_of(stall, 1), window_of(near, 1)};
	co = series_add(s2, "worker", "", "coordination_overhead", 0, AGP_UNIT_NANOSECONDS, 0, w2,
	                2);
	co->expected_interval_ns = (uint64_t)interval;
	co->windows[0].corrected = corrected_of(stall, 1, interval);
	co->windows[1].corrected = corrected_of(near, 1, interval);
	text = render(exporter, s2, NULL);
	assert_true(value_of(text, raw_count) == 2);
	assert_true(value_of(text, corrected_count) == 27);
	free(text);

	/* Generation 3: the stall's window expired, the near one closed, an empty one open. */
	struct agp_snapshot *s3 = snapshot_new(3);
	struct agp_sparse_hist *w3[] = {window_of(near, 1), NULL};
	co = series_add(s3, "worker", "", "coordination_overhead", 0, AGP_UNIT_NANOSECONDS,
	                (uint64_t)60e9, w3, 2);
	co->expected_interval_ns = (uint64_t)interval;
	co->windows[0].corrected = corrected_of(near, 1, interval);
	text = render(exporter, s3, NULL);
	assert_true(value_of(text, raw_count) == 2);
	assert_true(value_of(text, corrected_count) == 27);
	assert_float_equal(value_of(text, corrected_sum), 3.28, 1e-12);
	free(text);

	agp_snapshot_free(s1);
	agp_snapshot_free(s2);
	agp_snapshot_free(s3);
	agp_prom_exporter_destroy(exporter);
}

static void test_departed_series_forgotten(void **state)
{
	(void)state;
	struct agp_prom_exporter *exporter = exporter_new(true);
	const struct sample five[] = {{2 * MS, 5}};
	const struct sample one[] = {{2 * MS, 1}};
	const char *agent_count =
	    "agentperf_agent_duration_seconds_count{agent_type=\"worker\",agent=\"w-1\",metric=\""
	    "coordination_overhead\"}";

	struct agp_snapshot *s1 = snapshot_new(1);
	struct agp_sparse_hist *w1[] = {window_of(five, 1), NULL};
	struct agp_sparse_hist *a1[] = {window_of(five, 1), NULL};
	series_add(s1, "worker", "", "coordination_overhead", 0, AGP_UNIT_NANOSECONDS, 0, w1, 2);
	series_add(s1, "worker", "w-1", "coordination_overhead", 0, AGP_UNIT_NANOSECONDS, 0, a1, 2);
	char *text = render(exporter, s1, NULL);
	assert_true(value_of(text, agent_count) == 5);
	free(text);

	/* The collector dropped the agent's series: it is neither shown nor remembered. */
	struct agp_snapshot *s2 = snapshot_new(2);
	struct agp_sparse_hist *w2[] = {window_of(five, 1), NULL};
	series_add(s2, "worker", "", "coordination_overhead", 0, AGP_UNIT_NANOSECONDS, 0, w2, 2);
	text = render(exporter, s2, NULL);
	assert_false(has_line_starting(text, agent_count));
	assert_true(value_of(text, "agentperf_duration_seconds_count{" CO "}") == 5);
	free(text);

	/* It comes back with new windows: its counter starts again (a reset for Prometheus). */
	struct agp_snapshot *s3 = snapshot_new(3);
	struct agp_sparse_hist *w3[] = {window_of(five, 1), NULL};
	struct agp_sparse_hist *a3[] = {window_of(one, 1), NULL};
	series_add(s3, "worker", "", "coordination_overhead", 0, AGP_UNIT_NANOSECONDS, 0, w3, 2);
	series_add(s3, "worker", "w-1", "coordination_overhead", 0, AGP_UNIT_NANOSECONDS,
	           (uint64_t)3600e9, a3, 2);
	text = render(exporter, s3, NULL);
	assert_true(value_of(text, agent_count) == 1);
	assert_true(value_of(text, "agentperf_duration_seconds_count{" CO "}") == 5);
	free(text);
	agp_snapshot_free(s1);
	agp_snapshot_free(s2);
	agp_snapshot_free(s3);
	agp_prom_exporter_destroy(exporter);
}

static void test_totals_health_and_no_baseline(void **state)
{
	(void)state;
	struct agp_prom_exporter *exporter = exporter_new(false);
	struct agp_snapshot *s = snapshot_new(1);
	s->totals.written = 1000;
	s->totals.aggregated = 990;
	s->totals.dropped = 7;
	s->totals.invalid = 3;
	s->totals.alerts = 2;
	s->totals.agents_live = 4;
	s->totals.lying_agents = 1;
	/* Average 120 ms: "good" (100 <= avg < 150 with the default 200 ms critical). */
	const struct sample samples[] = {{100 * MS, 1}, {140 * MS, 1}};
	struct agp_sparse_hist *w[] = {window_of(samples, 2)};
	series_add(s, "worker", "", "coordination_overhead", 0, AGP_UNIT_NANOSECONDS,
	           s->taken_ns - (uint64_t)60e9, w, 1);
	char *text = render(exporter, s, NULL);
	assert_true(value_of(text, "agentperf_samples_written_total") == 1000);
	assert_true(value_of(text, "agentperf_samples_dropped_total") == 7);
	assert_true(value_of(text, "agentperf_records_invalid_total") == 3);
	assert_true(value_of(text, "agentperf_alerts_total") == 2);
	assert_true(value_of(text, "agentperf_agents_live") == 4);
	assert_true(value_of(text, "agentperf_agents_lying") == 1);
	assert_true(value_of(text, "agentperf_health_level") == 2);
	assert_true(value_of(text, "agentperf_health{level=\"good\"}") == 1);
	assert_true(value_of(text, "agentperf_health{level=\"excellent\"}") == 0);
	assert_float_equal(value_of(text, "agentperf_coordination_overhead_average_seconds"), 0.12,
	                   1e-12);
	assert_true(value_of(text, "agentperf_baseline_established") == 0);
	assert_false(has_line_starting(text, "agentperf_baseline_duration_seconds"));
	assert_false(has_line_starting(text, "agentperf_baseline_samples"));
	free(text);
	agp_snapshot_free(s);

	/* No coordination samples: health is unknown, not excellent. */
	s = snapshot_new(2);
	text = render(exporter, s, NULL);
	assert_true(value_of(text, "agentperf_health_level") == 0);
	assert_true(value_of(text, "agentperf_health{level=\"unknown\"}") == 1);
	free(text);
	agp_snapshot_free(s);
	agp_prom_exporter_destroy(exporter);
}

static void test_bounds(void **state)
{
	(void)state;
	struct agp_config cfg;
	agp_config_defaults(&cfg);
	struct agp_prom_options options;
	agp_prom_options_default(&options, &cfg);
	/* Every threshold is a bound, and the bounds strictly increase. */
	const double thresholds[] = {0.05, 0.1, 0.15, 0.2, 0.25, 1, 2};
	for (size_t t = 0; t < sizeof(thresholds) / sizeof(thresholds[0]); t++) {
		bool found = false;
		for (size_t b = 0; b < options.duration_seconds.count; b++)
			found |= options.duration_seconds.value[b] == thresholds[t];
		assert_true(found);
	}
	for (size_t b = 1; b < options.duration_seconds.count; b++)
		assert_true(options.duration_seconds.value[b] >
		            options.duration_seconds.value[b - 1]);

	struct agp_prom_bounds bounds = {0};
	char err[256];
	assert_int_equal(agp_prom_parse_bounds("0.5,0.1,0.5,2", &bounds, err, sizeof(err)), 0);
	assert_int_equal(bounds.count, 3);
	assert_true(bounds.value[0] == 0.1 && bounds.value[2] == 2);
	assert_int_equal(agp_prom_parse_bounds("0.1,x", &bounds, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "'x'"));
	assert_int_equal(agp_prom_parse_bounds("0.1,-1", &bounds, err, sizeof(err)), -EINVAL);
	assert_int_equal(agp_prom_parse_bounds("0.1,,2", &bounds, err, sizeof(err)), -EINVAL);
	assert_int_equal(bounds.count, 3); /* untouched on failure */
}

/* The sum of every sample line of family (name_count{...} lines), as `sum(name_count)` gives. */
static double sum_of(const char *text, const char *name)
{
	char prefix[128];
	snprintf(prefix, sizeof(prefix), "%s{", name);
	double sum = 0;
	for (const char *line = text; line && *line;) {
		if (strncmp(line, prefix, strlen(prefix)) == 0)
			sum += strtod(strchr(line, ' ') + 1, NULL);
		line = strchr(line, '\n');
		if (line)
			line++;
	}
	return sum;
}

static void test_per_agent_families_apart(void **state)
{
	(void)state;
	/* Two agents of one type: 3 and 4 samples; the type's series holds all 7. */
	struct agp_prom_exporter *exporter = exporter_new(true);
	struct agp_snapshot *s = snapshot_new(1);
	const struct sample three[] = {{2 * MS, 3}}, four[] = {{2 * MS, 4}},
	                    seven[] = {{2 * MS, 7}};
	struct agp_sparse_hist *type[] = {window_of(seven, 1)};
	struct agp_sparse_hist *a1[] = {window_of(three, 1)};
	struct agp_sparse_hist *a2[] = {window_of(four, 1)};
	series_add(s, "worker", "", "coordination_overhead", 0, AGP_UNIT_NANOSECONDS, 0, type, 1);
	series_add(s, "worker", "w-1", "coordination_overhead", 0, AGP_UNIT_NANOSECONDS, 0, a1, 1);
	series_add(s, "worker", "w-2", "coordination_overhead", 0, AGP_UNIT_NANOSECONDS, 0, a2, 1);
	char *text = render(exporter, s, NULL);
	/* sum over the default family counts each sample once: the witness is what was sent. */
	assert_true(sum_of(text, "agentperf_duration_seconds_count") == 7);
	assert_true(sum_of(text, "agentperf_agent_duration_seconds_count") == 7);
	assert_false(has_line_starting(text,
	                               "agentperf_duration_seconds_count{agent_type=\"worker\","
	                               "agent="));
	assert_true(has_line_starting(text, "# TYPE agentperf_agent_duration_seconds histogram"));
	assert_true(sum_of(text, "agentperf_samples_clamped_total") == 0);
	assert_true(has_line_starting(text,
	                              "agentperf_agent_samples_clamped_total{agent_type=\"worker\","
	                              "agent=\"w-2\""));
	free(text);
	agp_snapshot_free(s);
	agp_prom_exporter_destroy(exporter);

	/* Without --http-per-agent: no per-agent family at all. */
	exporter = exporter_new(false);
	s = snapshot_new(1);
	struct agp_sparse_hist *type2[] = {window_of(seven, 1)};
	struct agp_sparse_hist *a3[] = {window_of(three, 1)};
	series_add(s, "worker", "", "coordination_overhead", 0, AGP_UNIT_NANOSECONDS, 0, type2, 1);
	series_add(s, "worker", "w-1", "coordination_overhead", 0, AGP_UNIT_NANOSECONDS, 0, a3, 1);
	text = render(exporter, s, NULL);
	assert_null(strstr(text, "agentperf_agent_"));
	assert_true(sum_of(text, "agentperf_duration_seconds_count") == 7);
	free(text);
	agp_snapshot_free(s);
	agp_prom_exporter_destroy(exporter);
}

/* Open descriptors of this process, as the kernel lists them (the listing's own excluded). */
static int descriptors_now(void)
{
	DIR *folder = opendir("/proc/self/fd");
	assert_non_null(folder);
	int count = 0;
	for (struct dirent *entry; (entry = readdir(folder));)
		count += entry->d_name[0] != '.';
	closedir(folder);
	return count - 1;
}

static time_t test_started;

static void test_build_info_and_process(void **state)
{
	(void)state;
	/* CPU to account for: about 0.2 s of it, measured by getrusage (a second kernel view). */
	volatile double spin = 0;
	struct timespec begin, now;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &begin);
	do {
		for (int i = 0; i < 100000; i++)
			spin += i;
		clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now);
	} while ((double)(now.tv_sec - begin.tv_sec) + (double)(now.tv_nsec - begin.tv_nsec) / 1e9 <
	         0.2);
	assert_true(spin > 0); /* the loop's work is used, so no compiler drops it */
	struct agp_prom_exporter *exporter = exporter_new(false);
	struct agp_snapshot *s = snapshot_new(1);
	int fds = descriptors_now();
	char *text = render(exporter, s, NULL);
	struct rusage usage;
	getrusage(RUSAGE_SELF, &usage);
	double cpu = (double)(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
	             (double)(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
	char build[128];
	snprintf(build, sizeof(build), "agentperf_build_info{version=\"%d.%d\",abi=\"%u.%u\"}",
	         AGENTPERF_VERSION_MAJOR, AGENTPERF_VERSION_MINOR, AGP_SHM_ABI_MAJOR,
	         AGP_SHM_ABI_MINOR);
	assert_true(value_of(text, build) == 1);
	double reported = value_of(text, "process_cpu_seconds_total");
	assert_true(reported >= 0.19 && reported <= cpu + 0.02); /* clock ticks are 10 ms */
	assert_true(value_of(text, "process_open_fds") == fds);
	struct rlimit files;
	getrlimit(RLIMIT_NOFILE, &files);
	assert_true(value_of(text, "process_max_fds") == (double)files.rlim_cur);
	double started = value_of(text, "process_start_time_seconds");
	assert_true(started <= (double)test_started + 1 && started >= (double)test_started - 30);
	/* Resident memory against /proc/self/status's VmRSS, in kB. */
	FILE *status = fopen("/proc/self/status", "r");
	assert_non_null(status);
	char line[256];
	double vm_rss_kb = -1;
	while (fgets(line, sizeof(line), status))
		if (sscanf(line, "VmRSS: %lf kB", &vm_rss_kb) == 1)
			break;
	fclose(status);
	double resident = value_of(text, "process_resident_memory_bytes");
	assert_true(fabs(resident - vm_rss_kb * 1024) < 4.0 * MIB);
	assert_true(value_of(text, "process_virtual_memory_bytes") >= resident);
	free(text);
	agp_snapshot_free(s);
	agp_prom_exporter_destroy(exporter);
}

int main(void)
{
	test_started = time(NULL);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_per_agent_families_apart),
	    cmocka_unit_test(test_build_info_and_process),
	    cmocka_unit_test(test_cumulative_buckets_and_base_units),
	    cmocka_unit_test(test_help_and_type_for_every_family),
	    cmocka_unit_test(test_label_values_escaped),
	    cmocka_unit_test(test_counters_survive_window_close_and_expiry),
	    cmocka_unit_test(test_corrected_family),
	    cmocka_unit_test(test_departed_series_forgotten),
	    cmocka_unit_test(test_totals_health_and_no_baseline),
	    cmocka_unit_test(test_bounds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
