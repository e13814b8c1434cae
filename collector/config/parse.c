/*
 * Configuration: defaults, presets, file, environment, checks and writing.
 *
 * Every key of the three seed sections and agentperf's additions to
 * `monitoring` is described once in the table `keys` below (section, name,
 * type, where it lives in struct agp_config, its range). Parsing, range
 * checks, the environment, writing and the error texts all walk that table,
 * so a key cannot be readable but unchecked, or checked but never written.
 *
 * Problems are collected, not returned at the first one: a user who fixes a
 * config file wants the whole list in one go. Every step works on a copy and
 * copies back only when there was no problem, so a caller's config is never
 * left half-updated.
 */
#include "collector/config/config.h"

#include "common/atomic_file.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* Largest config file we read; a real one is a few KiB. */
#define CONFIG_FILE_MAX (1024 * 1024)

#define NS_PER_MS    1000000.0
#define BYTES_PER_MB 1048576.0

/* ---------------------------------------------------------------- problems */

/*
 * Collects problem messages into the caller's buffer, one per line. When the
 * buffer runs out, later messages are counted, and a final line says how many
 * were left out, so the reader knows the list is not complete.
 */
struct problems {
	char *buf;
	size_t cap; /* bytes usable for messages (the rest is kept for the tail line) */
	size_t full_cap;
	size_t len;
	unsigned count;
	unsigned omitted;
};

static void problems_init(struct problems *p, char *buf, size_t len)
{
	p->buf = buf;
	p->full_cap = buf ? len : 0;
	p->cap = p->full_cap > 160 ? p->full_cap - 40 : p->full_cap;
	p->len = 0;
	p->count = 0;
	p->omitted = 0;
	if (p->buf && p->full_cap)
		p->buf[0] = '\0';
}

__attribute__((format(printf, 2, 3))) static void problem(struct problems *p, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	p->count++;
	size_t need = strlen(line) + (p->len ? 1 : 0);
	if (!p->buf || p->len + need + 1 > p->cap) {
		/* A lone first message is still shown, truncated, rather than omitted. */
		if (p->buf && p->len == 0 && p->full_cap) {
			snprintf(p->buf, p->cap, "%s", line);
			p->len = strlen(p->buf);
			return;
		}
		p->omitted++;
		return;
	}
	if (p->len)
		p->buf[p->len++] = '\n';
	memcpy(p->buf + p->len, line, strlen(line) + 1);
	p->len += strlen(line);
}

static int problems_finish(struct problems *p)
{
	if (p->omitted && p->buf && p->full_cap > p->len + 1)
		snprintf(p->buf + p->len, p->full_cap - p->len, "%s(%u more problems)",
		         p->len ? "\n" : "", p->omitted);
	return p->count ? -EINVAL : 0;
}

static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	if (!err || !errlen)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* ---------------------------------------------------------------- numbers */

/* The fewest significant digits (15..17) that give x back exactly. */
static int exact_precision(double x)
{
	char text[40];
	for (int digits = 15; digits < 17; digits++) {
		snprintf(text, sizeof(text), "%.*g", digits, x);
		if (strtod(text, NULL) == x)
			return digits;
	}
	return 17;
}

static void format_double(char *out, size_t len, double x)
{
	snprintf(out, len, "%.*g", exact_precision(x), x);
}

/* ---------------------------------------------------------------- the key table */

enum key_type { KEY_BOOL, KEY_NUMBER, KEY_INTEGER, KEY_STRING };
enum key_rule { RULE_NONE, RULE_LISTEN, RULE_GROUP };

struct key {
	const char *section;
	const char *name;
	enum key_type type;
	size_t offset;
	size_t size; /* strings: the buffer size */
	double min, max;
	bool min_open;   /* min itself is not allowed */
	bool max_open;   /* max itself is not allowed */
	bool zero_unset; /* 0 means "not set" and is always allowed */
	bool addition;   /* agentperf's key: written only when not default */
	bool may_empty;  /* strings: "" is allowed */
	enum key_rule rule;
};

#define AT(member) offsetof(struct agp_config, member), sizeof(((struct agp_config *)0)->member)
#define THRESHOLD(name)                                                                            \
	{                                                                                          \
		"thresholds", #name, KEY_NUMBER, AT(thresholds.name), 0, 1e9, true, false, false,  \
		    false, false, RULE_NONE                                                        \
	}
#define BOOLKEY(sec, name)                                                                         \
	{                                                                                          \
#sec, #name, KEY_BOOL, AT(sec.name), 0, 0, false, false, false, false, false,      \
		    RULE_NONE                                                                      \
	}
#define NUMKEY(sec, name, lo, lo_open, hi, hi_open)                                                \
	{                                                                                          \
#sec, #name, KEY_NUMBER, AT(sec.name), lo, hi, lo_open, hi_open, false, false,     \
		    false, RULE_NONE                                                               \
	}
#define INTKEY(sec, name, lo, hi)                                                                  \
	{                                                                                          \
#sec, #name, KEY_INTEGER, AT(sec.name), lo, hi, false, false, false, false, false, \
		    RULE_NONE                                                                      \
	}
#define STRKEY(sec, name)                                                                          \
	{                                                                                          \
#sec, #name, KEY_STRING, AT(sec.name), 0, 0, false, false, false, false, false,    \
		    RULE_NONE                                                                      \
	}

/* Hours, minutes and days are bounded so that every value converts to nanoseconds in 64 bits. */
#define HOURS_MAX   87600.0   /* ten years */
#define MINUTES_MAX 5256000.0 /* ten years */

static const struct key keys[] = {
    THRESHOLD(coordination_overhead_warning_ms),
    THRESHOLD(coordination_overhead_critical_ms),
    THRESHOLD(coordination_overhead_max_acceptable_ms),
    THRESHOLD(task_execution_warning_ms),
    THRESHOLD(task_execution_critical_ms),
    THRESHOLD(agent_init_warning_ms),
    THRESHOLD(agent_init_critical_ms),
    THRESHOLD(memory_usage_warning_mb),
    THRESHOLD(memory_usage_critical_mb),
    THRESHOLD(coordination_variance_threshold),

    NUMKEY(baseline, measurement_period_hours, 0, true, HOURS_MAX, false),
    /* Two samples at least: a standard deviation and a t interval need n - 1 >= 1. */
    INTKEY(baseline, min_samples_for_baseline, 2, 1e12),
    NUMKEY(baseline, confidence_interval, 0, true, 1, true),
    BOOLKEY(baseline, auto_update_baseline),
    NUMKEY(baseline, update_frequency_hours, 0, true, HOURS_MAX, false),
    INTKEY(baseline, baseline_retention_days, 1, 3650),
    NUMKEY(baseline, min_success_rate, 0, false, 1, false),
    NUMKEY(baseline, max_variance_coefficient, 0, true, 1e6, false),

    BOOLKEY(monitoring, enabled),
    BOOLKEY(monitoring, real_time_monitoring),
    BOOLKEY(monitoring, background_monitoring),
    INTKEY(monitoring, max_metrics_in_memory, 1, 1e12),
    NUMKEY(monitoring, metric_retention_hours, 0, true, HOURS_MAX, false),
    INTKEY(monitoring, aggregation_window_minutes, 1, MINUTES_MAX),
    STRKEY(monitoring, storage_dir),
    BOOLKEY(monitoring, export_metrics_to_file),
    INTKEY(monitoring, export_frequency_minutes, 1, MINUTES_MAX),
    BOOLKEY(monitoring, enable_threshold_alerts),
    BOOLKEY(monitoring, enable_performance_degradation_alerts),
    /* 0 is allowed: no cooldown, every violation alerts. */
    INTKEY(monitoring, alert_cooldown_minutes, 0, MINUTES_MAX),
    BOOLKEY(monitoring, ci_export_enabled),
    STRKEY(monitoring, ci_export_file),
    BOOLKEY(monitoring, ci_fail_on_threshold_violation),

    /* agentperf's additions, in the monitoring section of the file. */
    {"monitoring", "http_listen", KEY_STRING, AT(additions.http_listen), 0, 0, false, false, false,
     true, true, RULE_LISTEN},
    {"monitoring", "group", KEY_STRING, AT(additions.group), 0, 0, false, false, false, true, true,
     RULE_GROUP},
    {"monitoring", "alert_hook", KEY_STRING, AT(additions.alert_hook), 0, 0, false, false, false,
     true, true, RULE_NONE},
    {"monitoring", "aggregation_window_seconds", KEY_NUMBER,
     AT(additions.aggregation_window_seconds), 0.001, HOURS_MAX * 3600, false, false, true, true,
     false, RULE_NONE},
};
#define KEY_COUNT (sizeof(keys) / sizeof(keys[0]))

static const char *const sections[] = {"thresholds", "baseline", "monitoring"};

static void *key_ptr(struct agp_config *cfg, const struct key *k)
{
	return (char *)cfg + k->offset;
}

static const void *key_cptr(const struct agp_config *cfg, const struct key *k)
{
	return (const char *)cfg + k->offset;
}

static const struct key *find_key(const char *section, const char *name)
{
	for (size_t i = 0; i < KEY_COUNT; i++)
		if (strcmp(keys[i].section, section) == 0 && strcmp(keys[i].name, name) == 0)
			return &keys[i];
	return NULL;
}

/* What a key accepts, in words: "a number > 0 and <= 1000000000". */
static void key_expectation(const struct key *k, char *out, size_t len)
{
	char lo[40], hi[40];
	format_double(lo, sizeof(lo), k->min);
	format_double(hi, sizeof(hi), k->max);
	switch (k->type) {
	case KEY_BOOL:
		snprintf(out, len, "true or false");
		break;
	case KEY_NUMBER:
		snprintf(out, len, "a number %s %s and %s %s%s", k->min_open ? ">" : ">=", lo,
		         k->max_open ? "<" : "<=", hi, k->zero_unset ? " (or 0 for not set)" : "");
		break;
	case KEY_INTEGER:
		snprintf(out, len, "an integer >= %s and <= %s", lo, hi);
		break;
	case KEY_STRING:
		if (k->rule == RULE_LISTEN)
			snprintf(out, len,
			         "\"\" (off) or \"[host:]port\" with a port of 1..65535, at most "
			         "%zu bytes",
			         k->size - 1);
		else if (k->rule == RULE_GROUP)
			snprintf(out, len,
			         "\"\" (owner only), a group name of letters, digits, '_', '-', "
			         "'.' or a numeric gid, at most %zu bytes",
			         k->size - 1);
		else
			snprintf(out, len, "a non-empty string of at most %zu bytes", k->size - 1);
		break;
	}
}

static const char *json_kind(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "an array";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
		return "an integer";
	case JSON_REAL:
		return "a number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	case JSON_NULL:
		return "null";
	}
	return "a value";
}

/* A JSON value as short text for a message ("-5", "\"abc\"", "[1, 2]"). */
static void json_brief(const json_t *v, char *out, size_t len)
{
	char *text = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT | JSON_REAL_PRECISION(17));
	if (!text) {
		snprintf(out, len, "(%s)", json_kind(v));
		return;
	}
	if (json_is_real(v)) {
		char num[40];
		format_double(num, sizeof(num), json_real_value(v));
		snprintf(out, len, "%s", num);
	} else if (strlen(text) > 80) {
		snprintf(out, len, "%.77s...", text);
	} else {
		snprintf(out, len, "%s", text);
	}
	free(text);
}

/* The current value of a key as text for a message. */
static void key_value_text(const struct agp_config *cfg, const struct key *k, char *out, size_t len)
{
	const void *p = key_cptr(cfg, k);
	switch (k->type) {
	case KEY_BOOL:
		snprintf(out, len, "%s", *(const bool *)p ? "true" : "false");
		break;
	case KEY_NUMBER:
		format_double(out, len, *(const double *)p);
		break;
	case KEY_INTEGER:
		snprintf(out, len, "%lld", (long long)*(const int64_t *)p);
		break;
	case KEY_STRING:
		snprintf(out, len, "\"%.80s\"", (const char *)p);
		break;
	}
}

/* Levenshtein distance, for "did you mean" on unknown keys; names are short. */
static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	if (la > 63 || lb > 63)
		return SIZE_MAX;
	size_t row[64];
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j];
			size_t best = diag + (a[i - 1] != b[j - 1]);
			if (row[j] + 1 < best)
				best = row[j] + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

/* " (did you mean \"x\"?)" when one candidate is close, else "". */
static void suggestion(const char *name, const char *const *candidates, size_t n, char *out,
                       size_t len)
{
	size_t best = SIZE_MAX;
	const char *best_name = NULL;
	for (size_t i = 0; i < n; i++) {
		size_t d = edit_distance(name, candidates[i]);
		if (d < best) {
			best = d;
			best_name = candidates[i];
		}
	}
	size_t limit = strlen(name) / 3 > 2 ? strlen(name) / 3 : 2;
	if (best_name && best <= limit)
		snprintf(out, len, " (did you mean \"%s\"?)", best_name);
	else
		out[0] = '\0';
}

/* ---------------------------------------------------------------- defaults and presets */

void agp_config_defaults(struct agp_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	struct agp_config_thresholds *t = &cfg->thresholds;
	t->coordination_overhead_warning_ms = 150.0;
	t->coordination_overhead_critical_ms = 200.0;
	t->coordination_overhead_max_acceptable_ms = 250.0;
	t->task_execution_warning_ms = 1000.0;
	t->task_execution_critical_ms = 2000.0;
	t->agent_init_warning_ms = 50.0;
	t->agent_init_critical_ms = 100.0;
	t->memory_usage_warning_mb = 512.0;
	t->memory_usage_critical_mb = 1024.0;
	t->coordination_variance_threshold = 50.0;

	struct agp_config_baseline *b = &cfg->baseline;
	b->measurement_period_hours = 1.0;
	b->min_samples_for_baseline = 100;
	b->confidence_interval = 0.95;
	b->auto_update_baseline = true;
	b->update_frequency_hours = 6.0;
	b->baseline_retention_days = 30;
	b->min_success_rate = 0.90;
	b->max_variance_coefficient = 0.5;

	struct agp_config_monitoring *m = &cfg->monitoring;
	m->enabled = true;
	m->real_time_monitoring = true;
	m->background_monitoring = true;
	m->max_metrics_in_memory = 10000;
	m->metric_retention_hours = 24.0;
	m->aggregation_window_minutes = 5;
	snprintf(m->storage_dir, sizeof(m->storage_dir), "%s", ".codexplus/performance");
	m->export_metrics_to_file = true;
	m->export_frequency_minutes = 15;
	m->enable_threshold_alerts = true;
	m->enable_performance_degradation_alerts = true;
	m->alert_cooldown_minutes = 10;
	m->ci_export_enabled = true;
	snprintf(m->ci_export_file, sizeof(m->ci_export_file), "%s", "performance_metrics.json");
	m->ci_fail_on_threshold_violation = true;

	/* Additions: no HTTP endpoint, owner-only access, window from the minutes, no metrics. */
}

int agp_config_preset(struct agp_config *cfg, const char *name, char *err, size_t errlen)
{
	if (name && strcmp(name, "development") == 0) {
		cfg->thresholds.coordination_overhead_warning_ms = 200.0;
		cfg->thresholds.coordination_overhead_critical_ms = 300.0;
		cfg->thresholds.coordination_overhead_max_acceptable_ms = 400.0;
		cfg->baseline.measurement_period_hours = 0.5;
		cfg->baseline.min_samples_for_baseline = 20;
		cfg->baseline.update_frequency_hours = 2.0;
		cfg->monitoring.export_frequency_minutes = 5;
		cfg->monitoring.aggregation_window_minutes = 1;
		return 0;
	}
	if (name && strcmp(name, "production") == 0) {
		cfg->thresholds.coordination_overhead_warning_ms = 100.0;
		cfg->thresholds.coordination_overhead_critical_ms = 150.0;
		cfg->thresholds.coordination_overhead_max_acceptable_ms = 200.0;
		cfg->baseline.measurement_period_hours = 2.0;
		cfg->baseline.min_samples_for_baseline = 200;
		cfg->baseline.update_frequency_hours = 12.0;
		cfg->monitoring.max_metrics_in_memory = 5000;
		cfg->monitoring.metric_retention_hours = 48.0;
		cfg->monitoring.alert_cooldown_minutes = 30;
		cfg->monitoring.ci_export_enabled = true;
		cfg->monitoring.ci_fail_on_threshold_violation = true;
		return 0;
	}
	set_err(err, errlen, "unknown preset \"%.60s\", expected \"development\" or \"production\"",
	        name ? name : "(null)");
	return -EINVAL;
}

/* ---------------------------------------------------------------- metrics entries */

/* The seed metrics whose thresholds live in `thresholds`, and where. */
struct seed_thresholds {
	const char *metric;
	size_t warning_offset, critical_offset;
	const char *warning_key, *critical_key;
	double scale; /* to the wire unit */
};

#define SEED_T(metric, w, c, scale)                                                                \
	{                                                                                          \
		metric, offsetof(struct agp_config, thresholds.w),                                 \
		    offsetof(struct agp_config, thresholds.c), "thresholds." #w, "thresholds." #c, \
		    scale                                                                          \
	}

static const struct seed_thresholds seed_thresholds[] = {
    SEED_T("coordination_overhead", coordination_overhead_warning_ms,
           coordination_overhead_critical_ms, NS_PER_MS),
    SEED_T("task_execution_time", task_execution_warning_ms, task_execution_critical_ms, NS_PER_MS),
    SEED_T("agent_initialization", agent_init_warning_ms, agent_init_critical_ms, NS_PER_MS),
    SEED_T("memory_usage", memory_usage_warning_mb, memory_usage_critical_mb, BYTES_PER_MB),
};

static const struct seed_thresholds *find_seed_thresholds(const char *metric)
{
	for (size_t i = 0; i < sizeof(seed_thresholds) / sizeof(seed_thresholds[0]); i++)
		if (strcmp(seed_thresholds[i].metric, metric) == 0)
			return &seed_thresholds[i];
	return NULL;
}

static const char *unit_suffix(enum agp_config_threshold_unit unit)
{
	switch (unit) {
	case AGP_CONFIG_UNIT_MS:
		return "_ms";
	case AGP_CONFIG_UNIT_MB:
		return "_mb";
	default:
		return "";
	}
}

static double unit_max(enum agp_config_threshold_unit unit)
{
	/* Counts up to 2^53 stay exact in a double; ms and MiB up to 1e9 fit 64-bit ns/bytes. */
	return unit == AGP_CONFIG_UNIT_COUNT ? 9007199254740992.0 : 1e9;
}

static double unit_scale(enum agp_config_threshold_unit unit)
{
	switch (unit) {
	case AGP_CONFIG_UNIT_MS:
		return NS_PER_MS;
	case AGP_CONFIG_UNIT_MB:
		return BYTES_PER_MB;
	default:
		return 1.0;
	}
}

const struct agp_config_metric *agp_config_metric_find(const struct agp_config *cfg,
                                                       const char *metric)
{
	for (unsigned i = 0; i < cfg->metric_count && i < AGP_CONFIG_METRICS_MAX; i++)
		if (strcmp(cfg->metrics[i].name, metric) == 0)
			return &cfg->metrics[i];
	return NULL;
}

static uint64_t to_wire(double value, double scale)
{
	return value > 0 ? (uint64_t)llround(value * scale) : 0;
}

int agp_config_metric_thresholds(const struct agp_config *cfg, const char *metric, uint64_t *warn,
                                 uint64_t *crit)
{
	uint64_t w = 0, c = 0;
	const struct seed_thresholds *seed = find_seed_thresholds(metric);
	if (seed) {
		w = to_wire(*(const double *)((const char *)cfg + seed->warning_offset),
		            seed->scale);
		c = to_wire(*(const double *)((const char *)cfg + seed->critical_offset),
		            seed->scale);
	} else {
		const struct agp_config_metric *entry = agp_config_metric_find(cfg, metric);
		if (entry && entry->unit != AGP_CONFIG_UNIT_NONE) {
			w = to_wire(entry->warning, unit_scale(entry->unit));
			c = to_wire(entry->critical, unit_scale(entry->unit));
		}
	}
	if (w == 0 && c == 0)
		return -ENOENT;
	*warn = w;
	*crit = c;
	return 0;
}

uint64_t agp_config_expected_interval_ns(const struct agp_config *cfg, const char *metric)
{
	const struct agp_config_metric *entry = agp_config_metric_find(cfg, metric);
	return entry ? to_wire(entry->expected_interval_ms, NS_PER_MS) : 0;
}

uint64_t agp_config_window_ns(const struct agp_config *cfg)
{
	if (cfg->additions.aggregation_window_seconds > 0)
		return (uint64_t)llround(cfg->additions.aggregation_window_seconds * 1e9);
	return (uint64_t)cfg->monitoring.aggregation_window_minutes * 60u * 1000000000u;
}

uint64_t agp_config_cooldown_ns(const struct agp_config *cfg)
{
	return (uint64_t)cfg->monitoring.alert_cooldown_minutes * 60u * 1000000000u;
}

/* ---------------------------------------------------------------- checks */

static bool in_range(const struct key *k, double v)
{
	if (k->zero_unset && v == 0)
		return true;
	if (!isfinite(v))
		return false;
	if (k->min_open ? !(v > k->min) : !(v >= k->min))
		return false;
	if (k->max_open ? !(v < k->max) : !(v <= k->max))
		return false;
	return true;
}

static bool valid_listen(const char *s)
{
	if (s[0] == '\0')
		return true;
	const char *port = strrchr(s, ':');
	if (port) {
		size_t host_len = (size_t)(port - s);
		if (host_len == 0)
			return false;
		/* An IPv6 host must be bracketed, otherwise its colons are ambiguous. */
		if (memchr(s, ':', host_len) && !(s[0] == '[' && s[host_len - 1] == ']'))
			return false;
		for (size_t i = 0; i < host_len; i++)
			if (isspace((unsigned char)s[i]) || s[i] == '/')
				return false;
		port++;
	} else {
		port = s;
	}
	if (*port == '\0' || strlen(port) > 5)
		return false;
	for (const char *c = port; *c; c++)
		if (*c < '0' || *c > '9')
			return false;
	long value = strtol(port, NULL, 10);
	return value >= 1 && value <= 65535;
}

static bool valid_group(const char *s)
{
	if (s[0] == '\0')
		return true;
	if (s[0] == '-')
		return false;
	for (const char *c = s; *c; c++)
		if (!isalnum((unsigned char)*c) && *c != '_' && *c != '-' && *c != '.')
			return false;
	return true;
}

/* Checks one key's value; a problem reads "<source>: <section.key>: found V, expected E". */
static void check_key(struct problems *p, const char *source, const struct agp_config *cfg,
                      const struct key *k)
{
	bool ok = true;
	const void *ptr = key_cptr(cfg, k);
	switch (k->type) {
	case KEY_BOOL:
		break;
	case KEY_NUMBER:
		ok = in_range(k, *(const double *)ptr);
		break;
	case KEY_INTEGER:
		ok = in_range(k, (double)*(const int64_t *)ptr);
		break;
	case KEY_STRING: {
		const char *s = ptr;
		size_t len = strnlen(s, k->size);
		if (len == k->size || (len == 0 && !k->may_empty))
			ok = false;
		else if (k->rule == RULE_LISTEN)
			ok = valid_listen(s);
		else if (k->rule == RULE_GROUP)
			ok = valid_group(s);
		break;
	}
	}
	if (ok)
		return;
	char value[128], expected[200];
	key_value_text(cfg, k, value, sizeof(value));
	key_expectation(k, expected, sizeof(expected));
	problem(p, "%s: %s.%s: found %s, expected %s", source, k->section, k->name, value,
	        expected);
}

static void check_metric(struct problems *p, const char *source, const struct agp_config *cfg,
                         unsigned index)
{
	const struct agp_config_metric *m = &cfg->metrics[index];
	if (memchr(m->name, '\0', sizeof(m->name)) == NULL || !agp_metric_name_valid(m->name)) {
		problem(p,
		        "%s: metrics: found the metric name \"%.*s\", expected 1..%d letters, "
		        "digits or '_', not starting with a digit",
		        source, AGP_METRIC_NAME_MAX, m->name, AGP_METRIC_NAME_MAX);
		return;
	}
	for (unsigned j = 0; j < index; j++)
		if (strcmp(cfg->metrics[j].name, m->name) == 0)
			problem(p, "%s: metrics.%s: found twice, expected each metric once", source,
			        m->name);
	char value[40], other[40], limit[40];
	if (!(isfinite(m->expected_interval_ms) && m->expected_interval_ms >= 0 &&
	      m->expected_interval_ms <= 1e9)) {
		format_double(value, sizeof(value), m->expected_interval_ms);
		problem(p,
		        "%s: metrics.%s.expected_interval_ms: found %s, expected a number >= 0 "
		        "and <= 1000000000 (0 for none)",
		        source, m->name, value);
	}
	if (m->unit == AGP_CONFIG_UNIT_NONE) {
		if (m->warning != 0 || m->critical != 0)
			problem(p, "%s: metrics.%s: has thresholds but no unit", source, m->name);
		return;
	}
	if (find_seed_thresholds(m->name))
		problem(p,
		        "%s: metrics.%s: found thresholds, expected them in the thresholds "
		        "section, which holds this seed metric's thresholds",
		        source, m->name);
	const char *suffix = unit_suffix(m->unit);
	format_double(limit, sizeof(limit), unit_max(m->unit));
	const double values[2] = {m->warning, m->critical};
	const char *names[2] = {"warning", "critical"};
	bool both_valid = true;
	for (int i = 0; i < 2; i++) {
		if (isfinite(values[i]) && values[i] >= 0 && values[i] <= unit_max(m->unit))
			continue;
		both_valid = false;
		format_double(value, sizeof(value), values[i]);
		problem(
		    p,
		    "%s: metrics.%s.%s%s: found %s, expected a number >= 0 and <= %s (0 for none)",
		    source, m->name, names[i], suffix, value, limit);
	}
	if (both_valid && m->warning > 0 && m->critical > 0 && m->warning > m->critical) {
		format_double(value, sizeof(value), m->warning);
		format_double(other, sizeof(other), m->critical);
		problem(p,
		        "%s: metrics.%s.warning%s: found %s, above metrics.%s.critical%s (%s); "
		        "expected warning <= critical",
		        source, m->name, suffix, value, m->name, suffix, other);
	}
}

/* A warning threshold must not exceed its critical one (equal is allowed). */
static void check_order(struct problems *p, const char *source, const struct agp_config *cfg,
                        const char *low_name, double low, const char *high_name, double high)
{
	if (!(isfinite(low) && isfinite(high) && low > high))
		return;
	char a[40], b[40];
	format_double(a, sizeof(a), low);
	format_double(b, sizeof(b), high);
	problem(p, "%s: thresholds.%s: found %s, above thresholds.%s (%s); expected %s <= %s",
	        source, low_name, a, high_name, b, low_name, high_name);
	(void)cfg;
}

static int check_into(struct problems *p, const struct agp_config *cfg, const char *source)
{
	for (size_t i = 0; i < KEY_COUNT; i++)
		check_key(p, source, cfg, &keys[i]);

	const struct agp_config_thresholds *t = &cfg->thresholds;
	check_order(p, source, cfg, "coordination_overhead_warning_ms",
	            t->coordination_overhead_warning_ms, "coordination_overhead_critical_ms",
	            t->coordination_overhead_critical_ms);
	check_order(p, source, cfg, "task_execution_warning_ms", t->task_execution_warning_ms,
	            "task_execution_critical_ms", t->task_execution_critical_ms);
	check_order(p, source, cfg, "agent_init_warning_ms", t->agent_init_warning_ms,
	            "agent_init_critical_ms", t->agent_init_critical_ms);
	check_order(p, source, cfg, "memory_usage_warning_mb", t->memory_usage_warning_mb,
	            "memory_usage_critical_mb", t->memory_usage_critical_mb);

	/* A window longer than the retention could never be kept whole. */
	double window_s = cfg->additions.aggregation_window_seconds > 0
	                      ? cfg->additions.aggregation_window_seconds
	                      : (double)cfg->monitoring.aggregation_window_minutes * 60.0;
	double retention_s = cfg->monitoring.metric_retention_hours * 3600.0;
	if (window_s > 0 && retention_s > 0 && window_s > retention_s) {
		char w[40], r[40];
		format_double(w, sizeof(w), window_s);
		format_double(r, sizeof(r), cfg->monitoring.metric_retention_hours);
		problem(p,
		        "%s: monitoring.%s: found a window of %s s, longer than "
		        "monitoring.metric_retention_hours (%s h); expected a window within the "
		        "retention",
		        source,
		        cfg->additions.aggregation_window_seconds > 0
		            ? "aggregation_window_seconds"
		            : "aggregation_window_minutes",
		        w, r);
	}

	if (cfg->metric_count > AGP_CONFIG_METRICS_MAX) {
		problem(p, "%s: metrics: found %u entries, expected at most %d", source,
		        cfg->metric_count, AGP_CONFIG_METRICS_MAX);
	} else {
		for (unsigned i = 0; i < cfg->metric_count; i++)
			check_metric(p, source, cfg, i);
	}
	return p->count ? -EINVAL : 0;
}

int agp_config_check(const struct agp_config *cfg, const char *source, char *err, size_t errlen)
{
	struct problems p;
	problems_init(&p, err, errlen);
	check_into(&p, cfg, source ? source : "config");
	return problems_finish(&p);
}

/* ---------------------------------------------------------------- parsing */

static void wrong_type(struct problems *p, const char *source, const char *path, const json_t *v,
                       const char *expected)
{
	char value[128];
	json_brief(v, value, sizeof(value));
	problem(p, "%s: %s: found %s (%s), expected %s", source, path, value, json_kind(v),
	        expected);
}

/* Assigns one JSON value to a key of the table, or reports why it cannot. */
static void assign_key(struct problems *p, const char *source, struct agp_config *cfg,
                       const struct key *k, const json_t *v)
{
	char path[128], expected[200];
	snprintf(path, sizeof(path), "%s.%s", k->section, k->name);
	key_expectation(k, expected, sizeof(expected));
	void *ptr = key_ptr(cfg, k);
	switch (k->type) {
	case KEY_BOOL:
		if (!json_is_boolean(v)) {
			wrong_type(p, source, path, v, expected);
			return;
		}
		*(bool *)ptr = json_is_true(v);
		return;
	case KEY_NUMBER:
		if (!json_is_number(v)) {
			wrong_type(p, source, path, v, expected);
			return;
		}
		*(double *)ptr = json_number_value(v);
		return;
	case KEY_INTEGER:
		if (json_is_integer(v)) {
			*(int64_t *)ptr = (int64_t)json_integer_value(v);
			return;
		}
		/* 5.0 is the integer 5 written by a float-minded tool; 5.5 is not an integer. */
		if (json_is_real(v)) {
			double d = json_real_value(v);
			if (d == floor(d) && fabs(d) <= 9007199254740992.0) {
				*(int64_t *)ptr = (int64_t)d;
				return;
			}
		}
		{
			wrong_type(p, source, path, v, expected);
			return;
		}
	case KEY_STRING: {
		if (!json_is_string(v)) {
			wrong_type(p, source, path, v, expected);
			return;
		}
		size_t len = json_string_length(v);
		if (len >= k->size || strlen(json_string_value(v)) != len) {
			char value[128];
			json_brief(v, value, sizeof(value));
			problem(p, "%s: %s: found %s (%zu bytes), expected %s", source, path, value,
			        len, expected);
			return;
		}
		memcpy(ptr, json_string_value(v), len + 1);
		return;
	}
	}
}

static void parse_section(struct problems *p, const char *source, struct agp_config *cfg,
                          const char *section, json_t *obj)
{
	const char *names[KEY_COUNT];
	size_t n = 0;
	for (size_t i = 0; i < KEY_COUNT; i++)
		if (strcmp(keys[i].section, section) == 0)
			names[n++] = keys[i].name;

	const char *name;
	json_t *value;
	json_object_foreach(obj, name, value)
	{
		const struct key *k = find_key(section, name);
		if (k) {
			assign_key(p, source, cfg, k, value);
			continue;
		}
		char hint[128];
		suggestion(name, names, n, hint, sizeof(hint));
		problem(p,
		        "%s: %s.%.80s: unknown key%s, expected one of the keys of section \"%s\" "
		        "(docs/config.md)",
		        source, section, name, hint, section);
	}
}

static const char *const metric_keys[] = {
    "expected_interval_ms", "warning_ms", "critical_ms", "warning_mb",
    "critical_mb",          "warning",    "critical"};

static void parse_metric(struct problems *p, const char *source, struct agp_config *cfg,
                         const char *name, json_t *obj)
{
	if (!agp_metric_name_valid(name)) {
		problem(p,
		        "%s: metrics.%.80s: found the metric name \"%.80s\", expected 1..%d "
		        "letters, digits or '_', not starting with a digit",
		        source, name, name, AGP_METRIC_NAME_MAX);
		return;
	}
	char path[160];
	snprintf(path, sizeof(path), "metrics.%s", name);
	if (!json_is_object(obj)) {
		wrong_type(p, source, path, obj,
		           "an object with expected_interval_ms and warning/critical thresholds");
		return;
	}
	struct agp_config_metric entry;
	memset(&entry, 0, sizeof(entry));
	memcpy(entry.name, name, strlen(name) + 1);
	const char *unit_key = NULL;
	bool ok = true;

	const char *key;
	json_t *value;
	json_object_foreach(obj, key, value)
	{
		snprintf(path, sizeof(path), "metrics.%s.%.60s", name, key);
		int index = -1;
		for (size_t i = 0; i < sizeof(metric_keys) / sizeof(metric_keys[0]); i++)
			if (strcmp(metric_keys[i], key) == 0)
				index = (int)i;
		if (index < 0) {
			char hint[128];
			suggestion(key, metric_keys, sizeof(metric_keys) / sizeof(metric_keys[0]),
			           hint, sizeof(hint));
			problem(p,
			        "%s: %s: unknown key%s, expected expected_interval_ms, "
			        "warning_ms/critical_ms (durations), warning_mb/critical_mb "
			        "(memory) or warning/critical (counts)",
			        source, path, hint);
			ok = false;
			continue;
		}
		if (!json_is_number(value)) {
			wrong_type(p, source, path, value, "a number >= 0 (0 for none)");
			ok = false;
			continue;
		}
		double d = json_number_value(value);
		if (index == 0) {
			entry.expected_interval_ms = d;
			continue;
		}
		enum agp_config_threshold_unit unit = index <= 2   ? AGP_CONFIG_UNIT_MS
		                                      : index <= 4 ? AGP_CONFIG_UNIT_MB
		                                                   : AGP_CONFIG_UNIT_COUNT;
		if (entry.unit != AGP_CONFIG_UNIT_NONE && entry.unit != unit) {
			problem(p,
			        "%s: %s: found beside %s, expected both thresholds of a metric in "
			        "one unit: warning_ms/critical_ms, warning_mb/critical_mb or "
			        "warning/critical",
			        source, path, unit_key);
			ok = false;
			continue;
		}
		entry.unit = unit;
		unit_key = metric_keys[index];
		if (index % 2 == 1)
			entry.warning = d;
		else
			entry.critical = d;
	}
	if (!ok)
		return;

	/* An entry of the file replaces the entry of the same name; others are kept. */
	for (unsigned i = 0; i < cfg->metric_count; i++) {
		if (strcmp(cfg->metrics[i].name, name) == 0) {
			cfg->metrics[i] = entry;
			return;
		}
	}
	if (cfg->metric_count >= AGP_CONFIG_METRICS_MAX) {
		problem(p, "%s: metrics.%s: one entry too many, expected at most %d metrics",
		        source, name, AGP_CONFIG_METRICS_MAX);
		return;
	}
	cfg->metrics[cfg->metric_count++] = entry;
}

static void parse_root(struct problems *p, const char *source, struct agp_config *cfg, json_t *root)
{
	if (!json_is_object(root)) {
		char value[128];
		json_brief(root, value, sizeof(value));
		problem(p,
		        "%s: found %s (%s) at the top level, expected an object with the sections "
		        "thresholds, baseline, monitoring (and metrics)",
		        source, value, json_kind(root));
		return;
	}
	const char *all_sections[] = {"thresholds", "baseline", "monitoring", "metrics"};
	const char *name;
	json_t *value;
	json_object_foreach(root, name, value)
	{
		bool known = false;
		for (size_t i = 0; i < 3; i++) {
			if (strcmp(name, sections[i]) != 0)
				continue;
			known = true;
			if (json_is_object(value))
				parse_section(p, source, cfg, sections[i], value);
			else
				wrong_type(p, source, sections[i], value, "an object");
		}
		if (strcmp(name, "metrics") == 0) {
			known = true;
			if (!json_is_object(value)) {
				wrong_type(p, source, "metrics", value,
				           "an object of metric names to settings");
			} else {
				const char *metric;
				json_t *settings;
				json_object_foreach(value, metric, settings)
				{
					parse_metric(p, source, cfg, metric, settings);
				}
			}
		}
		if (!known) {
			char hint[128];
			suggestion(name, all_sections, 4, hint, sizeof(hint));
			problem(p,
			        "%s: %.80s: unknown section%s, expected thresholds, baseline, "
			        "monitoring or metrics",
			        source, name, hint);
		}
	}
}

/* Reads a whole regular file of at most CONFIG_FILE_MAX bytes. */
static int read_file(const char *path, char **text_out, size_t *len_out, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		if (e == ENOENT)
			set_err(err, errlen, "%s: no such file (the defaults apply)", path);
		else
			set_err(err, errlen, "%s: cannot open for reading: %s", path, strerror(e));
		return -e;
	}
	int rc = 0;
	char *text = NULL;
	struct stat st;
	if (fstat(fd, &st) != 0) {
		rc = -errno;
		set_err(err, errlen, "%s: cannot stat: %s", path, strerror(-rc));
		goto out_close;
	}
	if (S_ISDIR(st.st_mode)) {
		rc = -EISDIR;
		set_err(err, errlen, "%s: is a directory, expected a JSON file", path);
		goto out_close;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = -EINVAL;
		set_err(err, errlen, "%s: is not a regular file, expected a JSON file", path);
		goto out_close;
	}
	if (st.st_size > CONFIG_FILE_MAX) {
		rc = -EFBIG;
		set_err(err, errlen, "%s: found %lld bytes, expected a config of at most %d bytes",
		        path, (long long)st.st_size, CONFIG_FILE_MAX);
		goto out_close;
	}
	text = malloc(CONFIG_FILE_MAX + 1);
	if (!text) {
		rc = -ENOMEM;
		set_err(err, errlen, "%s: out of memory", path);
		goto out_close;
	}
	size_t len = 0;
	for (;;) {
		ssize_t got = read(fd, text + len, CONFIG_FILE_MAX + 1 - len);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			rc = -errno;
			set_err(err, errlen, "%s: cannot read: %s", path, strerror(-rc));
			goto out_free;
		}
		if (got == 0)
			break;
		len += (size_t)got;
		if (len > CONFIG_FILE_MAX) {
			rc = -EFBIG;
			set_err(err, errlen, "%s: expected a config of at most %d bytes", path,
			        CONFIG_FILE_MAX);
			goto out_free;
		}
	}
	text[len] = '\0';
	*text_out = text;
	*len_out = len;
	close(fd);
	return 0;

out_free:
	free(text);
out_close:
	close(fd);
	return rc;
}

/*
 * jansson reports "duplicate object key" without the key; it stops right
 * after the repeated key's string, so the key is the last string before the
 * error position. Writes " \"key\"" into out, or "" for other errors.
 */
static void duplicate_key_name(const char *text, size_t len, const json_error_t *jerr, char *out,
                               size_t outlen)
{
	out[0] = '\0';
	if (!strstr(jerr->text, "duplicate") || jerr->position <= 0 || (size_t)jerr->position > len)
		return;
	size_t end = (size_t)jerr->position;
	while (end > 0 && text[end - 1] != '"')
		end--;
	if (end == 0)
		return;
	size_t start = end - 1; /* the closing quote */
	while (start > 0 && !(text[start - 1] == '"' && (start < 2 || text[start - 2] != '\\')))
		start--;
	if (start == 0)
		return;
	size_t key_len = end - 1 - start;
	snprintf(out, outlen, " \"%.*s\"", (int)(key_len < 80 ? key_len : 80), text + start);
}

int agp_config_load_file(const char *path, struct agp_config *cfg, char *err, size_t errlen)
{
	char *text = NULL;
	size_t len = 0;
	int rc = read_file(path, &text, &len, err, errlen);
	if (rc != 0)
		return rc;

	json_error_t jerr;
	json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		char key[96];
		duplicate_key_name(text, len, &jerr, key, sizeof(key));
		set_err(err, errlen, "%s:%d:%d: not valid JSON: %s%s", path, jerr.line, jerr.column,
		        jerr.text, key);
		free(text);
		return -EINVAL;
	}
	free(text);

	struct agp_config *copy = malloc(sizeof(*copy));
	if (!copy) {
		json_decref(root);
		set_err(err, errlen, "%s: out of memory", path);
		return -ENOMEM;
	}
	*copy = *cfg;
	struct problems p;
	problems_init(&p, err, errlen);
	parse_root(&p, path, copy, root);
	json_decref(root);
	check_into(&p, copy, path);
	rc = problems_finish(&p);
	if (rc == 0)
		*cfg = *copy;
	free(copy);
	return rc;
}

/* ---------------------------------------------------------------- environment */

struct env_var {
	const char *name;
	const char *section;
	const char *key;
};

static const struct env_var env_vars[] = {
    {"CODEX_PERFORMANCE_MONITORING", "monitoring", "enabled"},
    {"CODEX_COORDINATION_THRESHOLD_MS", "thresholds", "coordination_overhead_critical_ms"},
    {"CODEX_BASELINE_MIN_SAMPLES", "baseline", "min_samples_for_baseline"},
    {"CODEX_BASELINE_MEASUREMENT_HOURS", "baseline", "measurement_period_hours"},
    {"CODEX_CI_EXPORT_FILE", "monitoring", "ci_export_file"},
    {"CODEX_CI_FAIL_ON_VIOLATION", "monitoring", "ci_fail_on_threshold_violation"},
};

/* Parses one variable's text into its key, strictly: the whole text, no spaces, no suffix. */
static bool parse_env_value(const struct key *k, const char *text, struct agp_config *cfg)
{
	void *ptr = key_ptr(cfg, k);
	char *end = NULL;
	if (k->type != KEY_STRING && (text[0] == '\0' || isspace((unsigned char)text[0])))
		return false;
	switch (k->type) {
	case KEY_BOOL:
		if (strcasecmp(text, "true") == 0)
			*(bool *)ptr = true;
		else if (strcasecmp(text, "false") == 0)
			*(bool *)ptr = false;
		else
			return false;
		return true;
	case KEY_NUMBER: {
		errno = 0;
		double d = strtod(text, &end);
		if (errno != 0 || *end != '\0' || !isfinite(d))
			return false;
		*(double *)ptr = d;
		return true;
	}
	case KEY_INTEGER: {
		errno = 0;
		long long v = strtoll(text, &end, 10);
		if (errno != 0 || *end != '\0')
			return false;
		*(int64_t *)ptr = v;
		return true;
	}
	case KEY_STRING: {
		size_t len = strlen(text);
		if (len >= k->size)
			return false;
		/* The value is written back to JSON files, which hold UTF-8 only. */
		json_t *probe = json_string(text);
		if (!probe)
			return false;
		json_decref(probe);
		memcpy(ptr, text, len + 1);
		return true;
	}
	}
	return false;
}

int agp_config_apply_env(struct agp_config *cfg, char *err, size_t errlen)
{
	struct agp_config *copy = malloc(sizeof(*copy));
	if (!copy) {
		set_err(err, errlen, "environment overrides: out of memory");
		return -ENOMEM;
	}
	*copy = *cfg;
	struct problems p;
	problems_init(&p, err, errlen);
	char applied[512] = "";
	size_t applied_len = 0;

	for (size_t i = 0; i < sizeof(env_vars) / sizeof(env_vars[0]); i++) {
		const char *text = getenv(env_vars[i].name);
		if (!text)
			continue;
		const struct key *k = find_key(env_vars[i].section, env_vars[i].key);
		char expected[200], source[160];
		key_expectation(k, expected, sizeof(expected));
		snprintf(source, sizeof(source), "%s=\"%.80s\"", env_vars[i].name, text);
		if (!parse_env_value(k, text, copy)) {
			problem(&p, "%s: cannot parse the value for %s.%s, expected %s", source,
			        k->section, k->name, expected);
			continue;
		}
		unsigned before = p.count;
		check_key(&p, source, copy, k);
		if (p.count == before && applied_len < sizeof(applied) - 1)
			applied_len +=
			    (size_t)snprintf(applied + applied_len, sizeof(applied) - applied_len,
			                     "%s%s", applied_len ? ", " : "", env_vars[i].name);
	}
	if (p.count == 0) {
		/*
		 * Each value is fine alone; the whole may still be inconsistent (a
		 * critical threshold below the warning one). Say which variables
		 * were applied so that the reader knows where to look.
		 */
		char source[600];
		snprintf(source, sizeof(source), "config after the environment overrides %s",
		         applied_len ? applied : "(none)");
		check_into(&p, copy, source);
	}
	int rc = problems_finish(&p);
	if (rc == 0)
		*cfg = *copy;
	free(copy);
	return rc;
}

/* ---------------------------------------------------------------- writing */

static bool addition_is_default(const struct agp_config *cfg, const struct key *k)
{
	const void *ptr = key_cptr(cfg, k);
	switch (k->type) {
	case KEY_STRING:
		return ((const char *)ptr)[0] == '\0';
	case KEY_NUMBER:
		return *(const double *)ptr == 0;
	default:
		return false;
	}
}

static json_t *key_to_json(const struct agp_config *cfg, const struct key *k)
{
	const void *ptr = key_cptr(cfg, k);
	switch (k->type) {
	case KEY_BOOL:
		return json_boolean(*(const bool *)ptr);
	case KEY_NUMBER:
		return json_real(*(const double *)ptr);
	case KEY_INTEGER:
		return json_integer((json_int_t) * (const int64_t *)ptr);
	case KEY_STRING:
		return json_string(ptr);
	}
	return NULL;
}

static json_t *metric_to_json(const struct agp_config_metric *m)
{
	json_t *obj = json_object();
	if (!obj)
		return NULL;
	int rc = 0;
	if (m->expected_interval_ms > 0)
		rc |= json_object_set_new(obj, "expected_interval_ms",
		                          json_real(m->expected_interval_ms));
	if (m->unit != AGP_CONFIG_UNIT_NONE) {
		char name[32];
		const char *suffix = unit_suffix(m->unit);
		if (m->warning > 0) {
			snprintf(name, sizeof(name), "warning%s", suffix);
			rc |= json_object_set_new(obj, name, json_real(m->warning));
		}
		if (m->critical > 0) {
			snprintf(name, sizeof(name), "critical%s", suffix);
			rc |= json_object_set_new(obj, name, json_real(m->critical));
		}
	}
	if (rc) {
		json_decref(obj);
		return NULL;
	}
	return obj;
}

json_t *agp_config_to_json(const struct agp_config *cfg, unsigned flags)
{
	json_t *root = json_object();
	if (!root)
		return NULL;
	for (size_t s = 0; s < 3; s++) {
		json_t *section = json_object();
		if (!section || json_object_set_new(root, sections[s], section) != 0)
			goto fail;
		for (size_t i = 0; i < KEY_COUNT; i++) {
			const struct key *k = &keys[i];
			if (strcmp(k->section, sections[s]) != 0)
				continue;
			if (k->addition && !(flags & AGP_CONFIG_JSON_ALL) &&
			    addition_is_default(cfg, k))
				continue;
			json_t *value = key_to_json(cfg, k);
			if (!value || json_object_set_new(section, k->name, value) != 0)
				goto fail;
		}
	}
	if (cfg->metric_count > 0 || (flags & AGP_CONFIG_JSON_ALL)) {
		json_t *metrics = json_object();
		if (!metrics || json_object_set_new(root, "metrics", metrics) != 0)
			goto fail;
		for (unsigned i = 0; i < cfg->metric_count && i < AGP_CONFIG_METRICS_MAX; i++) {
			json_t *entry = metric_to_json(&cfg->metrics[i]);
			if (!entry ||
			    json_object_set_new(metrics, cfg->metrics[i].name, entry) != 0)
				goto fail;
		}
	}
	return root;
fail:
	json_decref(root);
	return NULL;
}

/* The digits every real in the tree needs to read back exactly (at least 15). */
static int tree_precision(const json_t *v)
{
	int best = 15;
	if (json_is_real(v)) {
		best = exact_precision(json_real_value(v));
	} else if (json_is_object(v)) {
		const char *key;
		json_t *child;
		json_object_foreach((json_t *)v, key, child)
		{
			int d = tree_precision(child);
			if (d > best)
				best = d;
		}
	}
	return best;
}

char *agp_config_to_string(const struct agp_config *cfg, unsigned flags)
{
	json_t *root = agp_config_to_json(cfg, flags);
	if (!root)
		return NULL;
	/*
	 * Fifteen digits print 0.95 as "0.95" rather than "0.94999999999999996";
	 * a value that needs more gets more, so a written file reads back exactly.
	 */
	char *text = json_dumps(root, JSON_INDENT(2) | JSON_REAL_PRECISION(tree_precision(root)));
	json_decref(root);
	if (!text)
		return NULL;
	size_t len = strlen(text);
	char *with_newline = realloc(text, len + 2);
	if (!with_newline) {
		free(text);
		return NULL;
	}
	with_newline[len] = '\n';
	with_newline[len + 1] = '\0';
	return with_newline;
}

int agp_config_write_file(const char *path, const struct agp_config *cfg, char *err, size_t errlen)
{
	char *text = agp_config_to_string(cfg, 0);
	if (!text) {
		set_err(err, errlen, "%s: out of memory", path);
		return -ENOMEM;
	}
	int rc = agp_atomic_write_file(path, text, strlen(text), err, errlen);
	free(text);
	return rc;
}
