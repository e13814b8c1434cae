/*
 * Writing and showing the configuration: as JSON in the seed's schema (the
 * additions only when they differ from their default, unless asked for all),
 * as text with numbers in their shortest exact form, and as a file written
 * atomically.
 */
#include "collector/config/config.h"

#include "collector/config/problems.h"
#include "collector/config/schema.h"
#include "common/atomic_file.h"
#include "common/json_dump.h"
#include "common/units.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool addition_is_default(const struct agp_config *cfg, const struct agp__config_key *k)
{
	const void *ptr = agp__config_key_cptr(cfg, k);
	switch (k->type) {
	case AGP__KEY_STRING:
		return ((const char *)ptr)[0] == '\0';
	case AGP__KEY_NUMBER:
		return *(const double *)ptr == 0;
	default:
		return false;
	}
}

static json_t *key_to_json(const struct agp_config *cfg, const struct agp__config_key *k)
{
	const void *ptr = agp__config_key_cptr(cfg, k);
	switch (k->type) {
	case AGP__KEY_BOOL:
		return json_boolean(*(const bool *)ptr);
	case AGP__KEY_NUMBER:
		return json_real(*(const double *)ptr);
	case AGP__KEY_INTEGER:
		return json_integer((json_int_t) * (const int64_t *)ptr);
	case AGP__KEY_STRING:
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
		const char *suffix = agp_unit_seed_suffix(agp_config_threshold_wire_unit(m->unit));
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
		if (!section || json_object_set_new(root, agp__config_sections[s], section) != 0)
			goto fail;
		for (size_t i = 0; i < agp__config_key_count; i++) {
			const struct agp__config_key *k = &agp__config_keys[i];
			if (strcmp(k->section, agp__config_sections[s]) != 0)
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

char *agp_config_to_string(const struct agp_config *cfg, unsigned flags)
{
	json_t *root = agp_config_to_json(cfg, flags);
	if (!root)
		return NULL;
	/* Reals in their shortest exact text: 0.95 as "0.95", not "0.94999999999999996". */
	char *text = agp_json_dumps(root, JSON_INDENT(2));
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
		agp__error_into(err, errlen, 0, "%s: out of memory", path);
		return -ENOMEM;
	}
	int rc = agp_atomic_write_file(path, text, strlen(text), err, errlen);
	free(text);
	return rc;
}
