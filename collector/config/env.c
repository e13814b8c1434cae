/*
 * The six CODEX_* environment overrides of the seed, applied after the file.
 * Each variable's text is parsed strictly (the whole text, nothing around it)
 * and range-checked alone; then the whole result is checked, so that an
 * override that contradicts the file's values is refused with the names of
 * the variables that were applied.
 */
#include "collector/config/config.h"

#include "collector/config/check.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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

static size_t digits(const char *text)
{
	size_t n = 0;
	while (text[n] >= '0' && text[n] <= '9')
		n++;
	return n;
}

/*
 * Whether text is a decimal number and nothing else: an optional sign, then
 * digits; a number may have a decimal point with digits on at least one
 * side and an exponent ("150", "-2", "0.25", ".5", "1e3"). strtod alone
 * would also take hex ("0x10", "0x1p3"), "inf", "nan" and leading blanks,
 * which docs/config.md does not promise; strtoll blanks. Checked before
 * either runs, so that those see only text they read the same way.
 */
static bool decimal_text(const char *text, bool fraction_allowed)
{
	const char *c = text;
	if (*c == '+' || *c == '-')
		c++;
	size_t whole = digits(c);
	c += whole;
	if (!fraction_allowed)
		return whole > 0 && *c == '\0';
	size_t fraction = 0;
	if (*c == '.') {
		c++;
		fraction = digits(c);
		c += fraction;
	}
	if (whole + fraction == 0)
		return false;
	if (*c == 'e' || *c == 'E') {
		c++;
		if (*c == '+' || *c == '-')
			c++;
		size_t exponent = digits(c);
		if (exponent == 0)
			return false;
		c += exponent;
	}
	return *c == '\0';
}

/* Parses one variable's text into its key, strictly: the whole text, no spaces, no suffix. */
static bool parse_env_value(const struct agp__config_key *k, const char *text,
                            struct agp_config *cfg)
{
	void *ptr = agp__config_key_ptr(cfg, k);
	char *end = NULL;
	if (k->type != AGP__KEY_STRING && (text[0] == '\0' || isspace((unsigned char)text[0])))
		return false;
	switch (k->type) {
	case AGP__KEY_BOOL:
		if (strcasecmp(text, "true") == 0)
			*(bool *)ptr = true;
		else if (strcasecmp(text, "false") == 0)
			*(bool *)ptr = false;
		else
			return false;
		return true;
	case AGP__KEY_NUMBER: {
		if (!decimal_text(text, true))
			return false;
		errno = 0;
		double d = strtod(text, &end);
		if (errno != 0 || *end != '\0' || !isfinite(d))
			return false;
		*(double *)ptr = d;
		return true;
	}
	case AGP__KEY_INTEGER: {
		if (!decimal_text(text, false))
			return false;
		errno = 0;
		long long v = strtoll(text, &end, 10);
		if (errno != 0 || *end != '\0')
			return false;
		*(int64_t *)ptr = v;
		return true;
	}
	case AGP__KEY_STRING: {
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

/* How a variable's text must be written, beside the key's range in a message. */
static const char *text_form(const struct agp__config_key *k)
{
	switch (k->type) {
	case AGP__KEY_NUMBER:
		return ", written in decimal (digits with an optional sign, point and exponent)";
	case AGP__KEY_INTEGER:
		return ", written in decimal digits with an optional sign";
	case AGP__KEY_BOOL:
		return " (any case)";
	case AGP__KEY_STRING:
		break;
	}
	return "";
}

int agp_config_apply_env(struct agp_config *cfg, char *err, size_t errlen)
{
	struct agp_config *copy = malloc(sizeof(*copy));
	if (!copy) {
		agp__error_into(err, errlen, 0, "environment overrides: out of memory");
		return -ENOMEM;
	}
	*copy = *cfg;
	struct agp__config_problems p;
	agp__config_problems_init(&p, err, errlen);
	char applied[512] = "";
	size_t applied_len = 0;

	for (size_t i = 0; i < sizeof(env_vars) / sizeof(env_vars[0]); i++) {
		const char *text = getenv(env_vars[i].name);
		if (!text)
			continue;
		const struct agp__config_key *k =
		    agp__config_find_key(env_vars[i].section, env_vars[i].key);
		char expected[200], source[160];
		agp__config_key_expectation(k, expected, sizeof(expected));
		snprintf(source, sizeof(source), "%s=\"%.80s\"", env_vars[i].name, text);
		if (!parse_env_value(k, text, copy)) {
			agp__config_problem(&p,
			                    "%s: cannot parse the value for %s.%s, expected %s%s",
			                    source, k->section, k->name, expected, text_form(k));
			continue;
		}
		unsigned before = p.count;
		agp__config_check_key(&p, source, copy, k);
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
		agp__config_check_into(&p, copy, source);
	}
	int rc = agp__config_problems_finish(&p);
	if (rc == 0)
		*cfg = *copy;
	free(copy);
	return rc;
}
