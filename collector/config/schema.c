/*
 * The configuration's schema (see schema.h): the key table with defaults,
 * ranges and presets, and the seed metrics whose thresholds live in the
 * `thresholds` section. agp_config_defaults and agp_config_preset only walk
 * the table.
 */
#include "collector/config/schema.h"

#include "collector/config/problems.h"

#include <errno.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>

#define AT(sec, member)                                                                            \
	.section = #sec, .name = #member, .offset = offsetof(struct agp_config, sec.member),       \
	.size = sizeof(((struct agp_config *)0)->sec.member)
/* agentperf's keys, in the monitoring section of the file but apart in struct agp_config. */
#define ADDITION(member)                                                                           \
	.section = "monitoring", .name = #member,                                                  \
	.offset = offsetof(struct agp_config, additions.member),                                   \
	.size = sizeof(((struct agp_config *)0)->additions.member), .addition = true

#define BOOLEAN(value)  .type = AGP__KEY_BOOL, .default_value = (value)
#define STRING(text)    .type = AGP__KEY_STRING, .default_text = (text)
#define INTEGER(lo, hi) .type = AGP__KEY_INTEGER, .min = (lo), .max = (hi)
/* A number in (lo, hi]: every duration and ratio that must be positive. */
#define POSITIVE(hi)   .type = AGP__KEY_NUMBER, .min = 0, .min_open = true, .max = (hi)
#define DEFAULT(value) .default_value = (value)
#define DEVELOPMENT(v) .preset[AGP__PRESET_DEVELOPMENT] = {true, (v)}
#define PRODUCTION(v)  .preset[AGP__PRESET_PRODUCTION] = {true, (v)}

/* Thresholds: durations in ms, memory in MiB; bounded so that they convert to 64-bit ns and bytes.
 */
#define THRESHOLD POSITIVE(1e9)
/* Hours, minutes and days are bounded so that every value converts to nanoseconds in 64 bits. */
#define HOURS_MAX   87600.0   /* ten years */
#define MINUTES_MAX 5256000.0 /* ten years */

const struct agp__config_key agp__config_keys[] = {
    {AT(thresholds, coordination_overhead_warning_ms), THRESHOLD, DEFAULT(150.0),
     DEVELOPMENT(200.0), PRODUCTION(100.0)},
    {AT(thresholds, coordination_overhead_critical_ms), THRESHOLD, DEFAULT(200.0),
     DEVELOPMENT(300.0), PRODUCTION(150.0)},
    {AT(thresholds, coordination_overhead_max_acceptable_ms), THRESHOLD, DEFAULT(250.0),
     DEVELOPMENT(400.0), PRODUCTION(200.0)},
    {AT(thresholds, task_execution_warning_ms), THRESHOLD, DEFAULT(1000.0)},
    {AT(thresholds, task_execution_critical_ms), THRESHOLD, DEFAULT(2000.0)},
    {AT(thresholds, agent_init_warning_ms), THRESHOLD, DEFAULT(50.0)},
    {AT(thresholds, agent_init_critical_ms), THRESHOLD, DEFAULT(100.0)},
    {AT(thresholds, memory_usage_warning_mb), THRESHOLD, DEFAULT(512.0)},
    {AT(thresholds, memory_usage_critical_mb), THRESHOLD, DEFAULT(1024.0)},
    {AT(thresholds, coordination_variance_threshold), THRESHOLD, DEFAULT(50.0)},

    {AT(baseline, measurement_period_hours), POSITIVE(HOURS_MAX), DEFAULT(1.0), DEVELOPMENT(0.5),
     PRODUCTION(2.0)},
    /* Two samples at least: a standard deviation and a t interval need n - 1 >= 1. */
    {AT(baseline, min_samples_for_baseline), INTEGER(2, 1e12), DEFAULT(100), DEVELOPMENT(20),
     PRODUCTION(200)},
    {AT(baseline, confidence_interval), POSITIVE(1), .max_open = true, DEFAULT(0.95)},
    {AT(baseline, auto_update_baseline), BOOLEAN(true)},
    {AT(baseline, update_frequency_hours), POSITIVE(HOURS_MAX), DEFAULT(6.0), DEVELOPMENT(2.0),
     PRODUCTION(12.0)},
    /*
     * The original expired old baselines after this many days; agentperf keeps
     * one baseline.json, replaced at every update, so there is nothing to expire.
     */
    {AT(baseline, baseline_retention_days), INTEGER(1, 3650), DEFAULT(30),
     .only_default = "agentperf keeps a single baseline (baseline.json, replaced at every "
                     "update) and no older ones that could expire"},
    {AT(baseline, min_success_rate), .type = AGP__KEY_NUMBER, .min = 0, .max = 1, DEFAULT(0.90)},
    {AT(baseline, max_variance_coefficient), POSITIVE(1e6), DEFAULT(0.5)},

    {AT(monitoring, enabled), BOOLEAN(true)},
    {AT(monitoring, real_time_monitoring), BOOLEAN(true)},
    {AT(monitoring, background_monitoring), BOOLEAN(true)},
    {AT(monitoring, max_metrics_in_memory), INTEGER(1, 1e12), DEFAULT(10000), PRODUCTION(5000)},
    {AT(monitoring, metric_retention_hours), POSITIVE(HOURS_MAX), DEFAULT(24.0), PRODUCTION(48.0)},
    {AT(monitoring, aggregation_window_minutes), INTEGER(1, MINUTES_MAX), DEFAULT(5),
     DEVELOPMENT(1)},
    {AT(monitoring, storage_dir), STRING(".codexplus/performance")},
    {AT(monitoring, export_metrics_to_file), BOOLEAN(true)},
    {AT(monitoring, export_frequency_minutes), INTEGER(1, MINUTES_MAX), DEFAULT(15),
     DEVELOPMENT(5)},
    {AT(monitoring, enable_threshold_alerts), BOOLEAN(true)},
    {AT(monitoring, enable_performance_degradation_alerts), BOOLEAN(true)},
    /* 0 is allowed: no cooldown, every violation alerts. */
    {AT(monitoring, alert_cooldown_minutes), INTEGER(0, MINUTES_MAX), DEFAULT(10), PRODUCTION(30)},
    {AT(monitoring, ci_export_enabled), BOOLEAN(true), PRODUCTION(true)},
    {AT(monitoring, ci_export_file), STRING("performance_metrics.json")},
    {AT(monitoring, ci_fail_on_threshold_violation), BOOLEAN(true), PRODUCTION(true)},

    /* Additions: no HTTP endpoint, owner-only access, no hook, window from the minutes. */
    {ADDITION(http_listen), STRING(NULL), .may_empty = true, .rule = AGP__RULE_LISTEN},
    {ADDITION(group), STRING(NULL), .may_empty = true, .rule = AGP__RULE_GROUP},
    {ADDITION(alert_hook), STRING(NULL), .may_empty = true},
    {ADDITION(aggregation_window_seconds), .type = AGP__KEY_NUMBER, .min = 0.001,
     .max = HOURS_MAX * 3600, .zero_unset = true},
};
const size_t agp__config_key_count = sizeof(agp__config_keys) / sizeof(agp__config_keys[0]);
_Static_assert(sizeof(agp__config_keys) / sizeof(agp__config_keys[0]) <= AGP__CONFIG_KEYS_MAX,
               "AGP__CONFIG_KEYS_MAX is below the number of keys");

const char *const agp__config_sections[AGP__CONFIG_SECTION_COUNT] = {"thresholds", "baseline",
                                                                     "monitoring"};

static const char *const preset_names[AGP__PRESET_COUNT] = {
    [AGP__PRESET_DEVELOPMENT] = "development",
    [AGP__PRESET_PRODUCTION] = "production",
};

void *agp__config_key_ptr(struct agp_config *cfg, const struct agp__config_key *k)
{
	return (char *)cfg + k->offset;
}

const void *agp__config_key_cptr(const struct agp_config *cfg, const struct agp__config_key *k)
{
	return (const char *)cfg + k->offset;
}

const struct agp__config_key *agp__config_find_key(const char *section, const char *name)
{
	for (size_t i = 0; i < agp__config_key_count; i++)
		if (strcmp(agp__config_keys[i].section, section) == 0 &&
		    strcmp(agp__config_keys[i].name, name) == 0)
			return &agp__config_keys[i];
	return NULL;
}

/* Stores a default or preset value (booleans 0 or 1) in a key that is not a string. */
static void set_number(struct agp_config *cfg, const struct agp__config_key *k, double value)
{
	void *ptr = agp__config_key_ptr(cfg, k);
	switch (k->type) {
	case AGP__KEY_BOOL:
		*(bool *)ptr = value != 0;
		break;
	case AGP__KEY_NUMBER:
		*(double *)ptr = value;
		break;
	case AGP__KEY_INTEGER:
		*(int64_t *)ptr = (int64_t)value;
		break;
	case AGP__KEY_STRING:
		break;
	}
}

void agp_config_defaults(struct agp_config *cfg)
{
	/* The zeros are the additions' defaults and an empty `metrics` section. */
	memset(cfg, 0, sizeof(*cfg));
	for (size_t i = 0; i < agp__config_key_count; i++) {
		const struct agp__config_key *k = &agp__config_keys[i];
		if (k->type != AGP__KEY_STRING)
			set_number(cfg, k, k->default_value);
		else if (k->default_text)
			snprintf(agp__config_key_ptr(cfg, k), k->size, "%s", k->default_text);
	}
}

int agp_config_preset(struct agp_config *cfg, const char *name, char *err, size_t errlen)
{
	for (size_t p = 0; name && p < AGP__PRESET_COUNT; p++) {
		if (strcmp(name, preset_names[p]) != 0)
			continue;
		for (size_t i = 0; i < agp__config_key_count; i++)
			if (agp__config_keys[i].preset[p].set)
				set_number(cfg, &agp__config_keys[i],
				           agp__config_keys[i].preset[p].value);
		return 0;
	}
	agp__error_into(err, errlen, 0,
	                "unknown preset \"%.60s\", expected \"development\" or \"production\"",
	                name ? name : "(null)");
	return -EINVAL;
}

void agp__config_key_expectation(const struct agp__config_key *k, char *out, size_t len)
{
	char lo[40], hi[40];
	agp__config_format_double(lo, sizeof(lo), k->min);
	agp__config_format_double(hi, sizeof(hi), k->max);
	switch (k->type) {
	case AGP__KEY_BOOL:
		snprintf(out, len, "true or false");
		break;
	case AGP__KEY_NUMBER:
		snprintf(out, len, "a number %s %s and %s %s%s", k->min_open ? ">" : ">=", lo,
		         k->max_open ? "<" : "<=", hi, k->zero_unset ? " (or 0 for not set)" : "");
		break;
	case AGP__KEY_INTEGER:
		snprintf(out, len, "an integer >= %s and <= %s", lo, hi);
		break;
	case AGP__KEY_STRING:
		if (k->rule == AGP__RULE_LISTEN)
			snprintf(out, len,
			         "\"\" (off) or \"[host:]port\" with a port of 1..65535, at most "
			         "%zu bytes",
			         k->size - 1);
		else if (k->rule == AGP__RULE_GROUP)
			snprintf(out, len,
			         "\"\" (owner only), a group name of letters, digits, '_', '-', "
			         "'.' or a numeric gid, at most %zu bytes",
			         k->size - 1);
		else
			snprintf(out, len, "a non-empty string of at most %zu bytes", k->size - 1);
		break;
	}
}

void agp__config_key_value_text(const struct agp_config *cfg, const struct agp__config_key *k,
                                char *out, size_t len)
{
	const void *p = agp__config_key_cptr(cfg, k);
	switch (k->type) {
	case AGP__KEY_BOOL:
		snprintf(out, len, "%s", *(const bool *)p ? "true" : "false");
		break;
	case AGP__KEY_NUMBER:
		agp__config_format_double(out, len, *(const double *)p);
		break;
	case AGP__KEY_INTEGER:
		snprintf(out, len, "%lld", (long long)*(const int64_t *)p);
		break;
	case AGP__KEY_STRING:
		snprintf(out, len, "\"%.80s\"", (const char *)p);
		break;
	}
}

#define SEED_THRESHOLDS(metric, w, c, unit)                                                        \
	{                                                                                          \
		metric, offsetof(struct agp_config, thresholds.w),                                 \
		    offsetof(struct agp_config, thresholds.c), unit                                \
	}

static const struct agp__config_seed_thresholds seed_thresholds[] = {
    SEED_THRESHOLDS("coordination_overhead", coordination_overhead_warning_ms,
                    coordination_overhead_critical_ms, AGP_UNIT_NANOSECONDS),
    SEED_THRESHOLDS("task_execution_time", task_execution_warning_ms, task_execution_critical_ms,
                    AGP_UNIT_NANOSECONDS),
    SEED_THRESHOLDS("agent_initialization", agent_init_warning_ms, agent_init_critical_ms,
                    AGP_UNIT_NANOSECONDS),
    SEED_THRESHOLDS("memory_usage", memory_usage_warning_mb, memory_usage_critical_mb,
                    AGP_UNIT_BYTES),
};

const struct agp__config_seed_thresholds *agp__config_find_seed_thresholds(const char *metric)
{
	for (size_t i = 0; i < sizeof(seed_thresholds) / sizeof(seed_thresholds[0]); i++)
		if (strcmp(seed_thresholds[i].metric, metric) == 0)
			return &seed_thresholds[i];
	return NULL;
}
