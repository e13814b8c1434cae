/*
 * Reading the configuration file: at most 1 MiB, strict JSON (duplicate keys
 * are not JSON), every key assigned through the schema's table, and every
 * problem named with the file, the key path, the value found and what was
 * expected. The file is read over a copy of the caller's config, which is
 * replaced only when nothing was wrong.
 */
#include "collector/config/config.h"

#include "collector/config/check.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Largest config file we read; a real one is a few KiB. */
#define CONFIG_FILE_MAX (1024 * 1024)

static void wrong_type(struct agp__config_problems *p, const char *source, const char *path,
                       const json_t *v, const char *expected)
{
	char value[128];
	agp__config_json_brief(v, value, sizeof(value));
	agp__config_problem(p, "%s: %s: found %s (%s), expected %s", source, path, value,
	                    agp__config_json_kind(v), expected);
}

/* Assigns one JSON value to a key of the table, or reports why it cannot. */
static void assign_key(struct agp__config_problems *p, const char *source, struct agp_config *cfg,
                       const struct agp__config_key *k, const json_t *v)
{
	char path[128], expected[200];
	snprintf(path, sizeof(path), "%s.%s", k->section, k->name);
	agp__config_key_expectation(k, expected, sizeof(expected));
	void *ptr = agp__config_key_ptr(cfg, k);
	switch (k->type) {
	case AGP__KEY_BOOL:
		if (!json_is_boolean(v)) {
			wrong_type(p, source, path, v, expected);
			return;
		}
		*(bool *)ptr = json_is_true(v);
		return;
	case AGP__KEY_NUMBER:
		if (!json_is_number(v)) {
			wrong_type(p, source, path, v, expected);
			return;
		}
		*(double *)ptr = json_number_value(v);
		return;
	case AGP__KEY_INTEGER:
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
	case AGP__KEY_STRING: {
		if (!json_is_string(v)) {
			wrong_type(p, source, path, v, expected);
			return;
		}
		size_t len = json_string_length(v);
		if (len >= k->size || strlen(json_string_value(v)) != len) {
			char value[128];
			agp__config_json_brief(v, value, sizeof(value));
			agp__config_problem(p, "%s: %s: found %s (%zu bytes), expected %s", source,
			                    path, value, len, expected);
			return;
		}
		memcpy(ptr, json_string_value(v), len + 1);
		return;
	}
	}
}

static void parse_section(struct agp__config_problems *p, const char *source,
                          struct agp_config *cfg, const char *section, json_t *obj)
{
	const char *names[AGP__CONFIG_KEYS_MAX];
	size_t n = 0;
	for (size_t i = 0; i < agp__config_key_count; i++)
		if (strcmp(agp__config_keys[i].section, section) == 0)
			names[n++] = agp__config_keys[i].name;

	const char *name;
	json_t *value;
	json_object_foreach(obj, name, value)
	{
		const struct agp__config_key *k = agp__config_find_key(section, name);
		if (k) {
			assign_key(p, source, cfg, k, value);
			continue;
		}
		char hint[128];
		agp__config_suggestion(name, names, n, hint, sizeof(hint));
		agp__config_problem(
		    p,
		    "%s: %s.%.80s: unknown key%s, expected one of the keys of section \"%s\" "
		    "(docs/config.md)",
		    source, section, name, hint, section);
	}
}

static const char *const metric_keys[] = {
    "expected_interval_ms", "warning_ms", "critical_ms", "warning_mb",
    "critical_mb",          "warning",    "critical"};
#define METRIC_KEY_COUNT (sizeof(metric_keys) / sizeof(metric_keys[0]))

/* The index of key in metric_keys, or -1 (reported with a "did you mean"). */
static int metric_key_index(struct agp__config_problems *p, const char *source, const char *path,
                            const char *key)
{
	for (size_t i = 0; i < METRIC_KEY_COUNT; i++)
		if (strcmp(metric_keys[i], key) == 0)
			return (int)i;
	char hint[128];
	agp__config_suggestion(key, metric_keys, METRIC_KEY_COUNT, hint, sizeof(hint));
	agp__config_problem(p,
	                    "%s: %s: unknown key%s, expected expected_interval_ms, "
	                    "warning_ms/critical_ms (durations), warning_mb/critical_mb "
	                    "(memory) or warning/critical (counts)",
	                    source, path, hint);
	return -1;
}

/*
 * Stores metric_keys[index] = value in entry. Both thresholds of a metric
 * must be in one unit; *unit_key remembers the key that set it, for the
 * message when another key disagrees. Returns false after reporting a problem.
 */
static bool assign_metric_key(struct agp__config_problems *p, const char *source, const char *path,
                              struct agp_config_metric *entry, const char **unit_key, int index,
                              const json_t *value)
{
	if (!json_is_number(value)) {
		wrong_type(p, source, path, value, "a number >= 0 (0 for none)");
		return false;
	}
	double d = json_number_value(value);
	if (index == 0) {
		entry->expected_interval_ms = d;
		return true;
	}
	enum agp_config_threshold_unit unit = index <= 2   ? AGP_CONFIG_UNIT_MS
	                                      : index <= 4 ? AGP_CONFIG_UNIT_MB
	                                                   : AGP_CONFIG_UNIT_COUNT;
	if (entry->unit != AGP_CONFIG_UNIT_NONE && entry->unit != unit) {
		agp__config_problem(
		    p,
		    "%s: %s: found beside %s, expected both thresholds of a metric in "
		    "one unit: warning_ms/critical_ms, warning_mb/critical_mb or "
		    "warning/critical",
		    source, path, *unit_key);
		return false;
	}
	entry->unit = unit;
	*unit_key = metric_keys[index];
	if (index % 2 == 1)
		entry->warning = d;
	else
		entry->critical = d;
	return true;
}

/* An entry of the file replaces the entry of the same name; others are kept. */
static void store_metric(struct agp__config_problems *p, const char *source, struct agp_config *cfg,
                         const struct agp_config_metric *entry)
{
	for (unsigned i = 0; i < cfg->metric_count; i++) {
		if (strcmp(cfg->metrics[i].name, entry->name) == 0) {
			cfg->metrics[i] = *entry;
			return;
		}
	}
	if (cfg->metric_count >= AGP_CONFIG_METRICS_MAX) {
		agp__config_problem(
		    p, "%s: metrics.%s: one entry too many, expected at most %d metrics", source,
		    entry->name, AGP_CONFIG_METRICS_MAX);
		return;
	}
	cfg->metrics[cfg->metric_count++] = *entry;
}

static void parse_metric(struct agp__config_problems *p, const char *source, struct agp_config *cfg,
                         const char *name, json_t *obj)
{
	if (!agp_metric_name_valid(name)) {
		agp__config_problem(
		    p,
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
		int index = metric_key_index(p, source, path, key);
		if (index < 0 ||
		    !assign_metric_key(p, source, path, &entry, &unit_key, index, value))
			ok = false;
	}
	if (ok)
		store_metric(p, source, cfg, &entry);
}

static void parse_root(struct agp__config_problems *p, const char *source, struct agp_config *cfg,
                       json_t *root)
{
	if (!json_is_object(root)) {
		char value[128];
		agp__config_json_brief(root, value, sizeof(value));
		agp__config_problem(
		    p,
		    "%s: found %s (%s) at the top level, expected an object with the sections "
		    "thresholds, baseline, monitoring (and metrics)",
		    source, value, agp__config_json_kind(root));
		return;
	}
	const char *all_sections[] = {"thresholds", "baseline", "monitoring", "metrics"};
	const char *name;
	json_t *value;
	json_object_foreach(root, name, value)
	{
		bool known = false;
		for (size_t i = 0; i < 3; i++) {
			if (strcmp(name, agp__config_sections[i]) != 0)
				continue;
			known = true;
			if (json_is_object(value))
				parse_section(p, source, cfg, agp__config_sections[i], value);
			else
				wrong_type(p, source, agp__config_sections[i], value, "an object");
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
			agp__config_suggestion(name, all_sections, 4, hint, sizeof(hint));
			agp__config_problem(
			    p,
			    "%s: %.80s: unknown section%s, expected thresholds, baseline, "
			    "monitoring or metrics",
			    source, name, hint);
		}
	}
}

/* Checks that the opened file is a regular file of at most CONFIG_FILE_MAX bytes. */
static int check_opened_file(int fd, const char *path, char *err, size_t errlen)
{
	struct stat st;
	if (fstat(fd, &st) != 0) {
		int rc = -errno;
		agp__error_into(err, errlen, 0, "%s: cannot stat: %s", path, strerror(-rc));
		return rc;
	}
	if (S_ISDIR(st.st_mode)) {
		agp__error_into(err, errlen, 0, "%s: is a directory, expected a JSON file", path);
		return -EISDIR;
	}
	if (!S_ISREG(st.st_mode)) {
		agp__error_into(err, errlen, 0, "%s: is not a regular file, expected a JSON file",
		                path);
		return -EINVAL;
	}
	if (st.st_size > CONFIG_FILE_MAX) {
		agp__error_into(err, errlen, 0,
		                "%s: found %lld bytes, expected a config of at most %d bytes", path,
		                (long long)st.st_size, CONFIG_FILE_MAX);
		return -EFBIG;
	}
	return 0;
}

/*
 * Reads fd to its end into text (CONFIG_FILE_MAX + 1 bytes); the file may
 * have grown since fstat, so the limit is checked again while reading.
 */
static int read_to_end(int fd, const char *path, char *text, size_t *len_out, char *err,
                       size_t errlen)
{
	size_t len = 0;
	for (;;) {
		ssize_t got = read(fd, text + len, CONFIG_FILE_MAX + 1 - len);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			int rc = -errno;
			agp__error_into(err, errlen, 0, "%s: cannot read: %s", path, strerror(-rc));
			return rc;
		}
		if (got == 0)
			break;
		len += (size_t)got;
		if (len > CONFIG_FILE_MAX) {
			agp__error_into(err, errlen, 0, "%s: expected a config of at most %d bytes",
			                path, CONFIG_FILE_MAX);
			return -EFBIG;
		}
	}
	text[len] = '\0';
	*len_out = len;
	return 0;
}

/* Reads a whole regular file of at most CONFIG_FILE_MAX bytes. */
static int read_file(const char *path, char **text_out, size_t *len_out, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		if (e == ENOENT)
			agp__error_into(err, errlen, 0, "%s: no such file (the defaults apply)",
			                path);
		else
			agp__error_into(err, errlen, 0, "%s: cannot open for reading: %s", path,
			                strerror(e));
		return -e;
	}
	char *text = NULL;
	size_t len = 0;
	int rc = check_opened_file(fd, path, err, errlen);
	if (rc)
		goto out_close;
	text = malloc(CONFIG_FILE_MAX + 1);
	if (!text) {
		rc = -ENOMEM;
		agp__error_into(err, errlen, 0, "%s: out of memory", path);
		goto out_close;
	}
	rc = read_to_end(fd, path, text, &len, err, errlen);
	if (rc)
		goto out_free;
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
		agp__error_into(err, errlen, 0, "%s:%d:%d: not valid JSON: %s%s", path, jerr.line,
		                jerr.column, jerr.text, key);
		free(text);
		return -EINVAL;
	}
	free(text);

	struct agp_config *copy = malloc(sizeof(*copy));
	if (!copy) {
		json_decref(root);
		agp__error_into(err, errlen, 0, "%s: out of memory", path);
		return -ENOMEM;
	}
	*copy = *cfg;
	struct agp__config_problems p;
	agp__config_problems_init(&p, err, errlen);
	parse_root(&p, path, copy, root);
	json_decref(root);
	agp__config_check_into(&p, copy, path);
	rc = agp__config_problems_finish(&p);
	if (rc == 0)
		*cfg = *copy;
	free(copy);
	return rc;
}
