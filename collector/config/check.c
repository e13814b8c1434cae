/*
 * The configuration's checks (see check.h): what agp_config_check and every
 * step that changes a config (file, environment) run over the whole result.
 */
#include "collector/config/check.h"

#include "common/units.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool in_range(const struct agp__config_key *k, double v)
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

/* Whether a key that is not a string holds its default. */
static bool key_has_default(const struct agp_config *cfg, const struct agp__config_key *k)
{
	const void *ptr = agp__config_key_cptr(cfg, k);
	switch (k->type) {
	case AGP__KEY_BOOL:
		return *(const bool *)ptr == (k->default_value != 0);
	case AGP__KEY_NUMBER:
		return *(const double *)ptr == k->default_value;
	case AGP__KEY_INTEGER:
		return *(const int64_t *)ptr == (int64_t)k->default_value;
	case AGP__KEY_STRING:
		break;
	}
	return true;
}

/* Checks one key's value; a problem reads "<source>: <section.key>: found V, expected E". */
void agp__config_check_key(struct agp__config_problems *p, const char *source,
                           const struct agp_config *cfg, const struct agp__config_key *k)
{
	bool ok = true;
	const void *ptr = agp__config_key_cptr(cfg, k);
	switch (k->type) {
	case AGP__KEY_BOOL:
		break;
	case AGP__KEY_NUMBER:
		ok = in_range(k, *(const double *)ptr);
		break;
	case AGP__KEY_INTEGER:
		ok = in_range(k, (double)*(const int64_t *)ptr);
		break;
	case AGP__KEY_STRING: {
		const char *s = ptr;
		size_t len = strnlen(s, k->size);
		if (len == k->size || (len == 0 && !k->may_empty))
			ok = false;
		else if (k->rule == AGP__RULE_LISTEN)
			ok = valid_listen(s);
		else if (k->rule == AGP__RULE_GROUP)
			ok = valid_group(s);
		break;
	}
	}
	if (ok && k->only_default && !key_has_default(cfg, k)) {
		char value[128], fallback[40];
		agp__config_key_value_text(cfg, k, value, sizeof(value));
		agp__config_format_double(fallback, sizeof(fallback), k->default_value);
		agp__config_problem(p, "%s: %s.%s: found %s, but %s: expected the default %s",
		                    source, k->section, k->name, value, k->only_default, fallback);
		return;
	}
	if (ok)
		return;
	char value[128], expected[200];
	agp__config_key_value_text(cfg, k, value, sizeof(value));
	agp__config_key_expectation(k, expected, sizeof(expected));
	agp__config_problem(p, "%s: %s.%s: found %s, expected %s", source, k->section, k->name,
	                    value, expected);
}

static void check_metric(struct agp__config_problems *p, const char *source,
                         const struct agp_config *cfg, unsigned index)
{
	const struct agp_config_metric *m = &cfg->metrics[index];
	if (memchr(m->name, '\0', sizeof(m->name)) == NULL || !agp_metric_name_valid(m->name)) {
		agp__config_problem(
		    p,
		    "%s: metrics: found the metric name \"%.*s\", expected 1..%d letters, "
		    "digits or '_', not starting with a digit",
		    source, AGP_METRIC_NAME_MAX, m->name, AGP_METRIC_NAME_MAX);
		return;
	}
	for (unsigned j = 0; j < index; j++)
		if (strcmp(cfg->metrics[j].name, m->name) == 0)
			agp__config_problem(
			    p, "%s: metrics.%s: found twice, expected each metric once", source,
			    m->name);
	char value[40], other[40], limit[40];
	if (!(isfinite(m->expected_interval_ms) && m->expected_interval_ms >= 0 &&
	      m->expected_interval_ms <= 1e9)) {
		agp__config_format_double(value, sizeof(value), m->expected_interval_ms);
		agp__config_problem(
		    p,
		    "%s: metrics.%s.expected_interval_ms: found %s, expected a number >= 0 "
		    "and <= 1000000000 (0 for none)",
		    source, m->name, value);
	}
	if (m->unit == AGP_CONFIG_UNIT_NONE) {
		if (m->warning != 0 || m->critical != 0)
			agp__config_problem(p, "%s: metrics.%s: has thresholds but no unit", source,
			                    m->name);
		return;
	}
	if (agp__config_find_seed_thresholds(m->name))
		agp__config_problem(
		    p,
		    "%s: metrics.%s: found thresholds, expected them in the thresholds "
		    "section, which holds this seed metric's thresholds",
		    source, m->name);
	enum agp_unit unit = agp_config_threshold_wire_unit(m->unit);
	const char *suffix = agp_unit_seed_suffix(unit);
	double max = agp_unit_seed_max(unit);
	agp__config_format_double(limit, sizeof(limit), max);
	const double values[2] = {m->warning, m->critical};
	const char *names[2] = {"warning", "critical"};
	bool both_valid = true;
	for (int i = 0; i < 2; i++) {
		if (isfinite(values[i]) && values[i] >= 0 && values[i] <= max)
			continue;
		both_valid = false;
		agp__config_format_double(value, sizeof(value), values[i]);
		agp__config_problem(
		    p,
		    "%s: metrics.%s.%s%s: found %s, expected a number >= 0 and <= %s (0 for none)",
		    source, m->name, names[i], suffix, value, limit);
	}
	if (both_valid && m->warning > 0 && m->critical > 0 && m->warning > m->critical) {
		agp__config_format_double(value, sizeof(value), m->warning);
		agp__config_format_double(other, sizeof(other), m->critical);
		agp__config_problem(
		    p,
		    "%s: metrics.%s.warning%s: found %s, above metrics.%s.critical%s (%s); "
		    "expected warning <= critical",
		    source, m->name, suffix, value, m->name, suffix, other);
	}
}

/* A warning threshold must not exceed its critical one (equal is allowed). */
static void check_order(struct agp__config_problems *p, const char *source,
                        const struct agp_config *cfg, const char *low_name, double low,
                        const char *high_name, double high)
{
	if (!(isfinite(low) && isfinite(high) && low > high))
		return;
	char a[40], b[40];
	agp__config_format_double(a, sizeof(a), low);
	agp__config_format_double(b, sizeof(b), high);
	agp__config_problem(
	    p, "%s: thresholds.%s: found %s, above thresholds.%s (%s); expected %s <= %s", source,
	    low_name, a, high_name, b, low_name, high_name);
	(void)cfg;
}

int agp__config_check_into(struct agp__config_problems *p, const struct agp_config *cfg,
                           const char *source)
{
	for (size_t i = 0; i < agp__config_key_count; i++)
		agp__config_check_key(p, source, cfg, &agp__config_keys[i]);

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
		agp__config_format_double(w, sizeof(w), window_s);
		agp__config_format_double(r, sizeof(r), cfg->monitoring.metric_retention_hours);
		agp__config_problem(
		    p,
		    "%s: monitoring.%s: found a window of %s s, longer than "
		    "monitoring.metric_retention_hours (%s h); expected a window within the "
		    "retention",
		    source,
		    cfg->additions.aggregation_window_seconds > 0 ? "aggregation_window_seconds"
		                                                  : "aggregation_window_minutes",
		    w, r);
	}

	if (cfg->metric_count > AGP_CONFIG_METRICS_MAX) {
		agp__config_problem(p, "%s: metrics: found %u entries, expected at most %d", source,
		                    cfg->metric_count, AGP_CONFIG_METRICS_MAX);
	} else {
		for (unsigned i = 0; i < cfg->metric_count; i++)
			check_metric(p, source, cfg, i);
	}
	return p->count ? -EINVAL : 0;
}

int agp_config_check(const struct agp_config *cfg, const char *source, char *err, size_t errlen)
{
	struct agp__config_problems p;
	agp__config_problems_init(&p, err, errlen);
	agp__config_check_into(&p, cfg, source ? source : "config");
	return agp__config_problems_finish(&p);
}
