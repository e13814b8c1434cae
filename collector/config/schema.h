/*
 * The configuration's schema: every key of the three seed sections and
 * agentperf's additions to `monitoring`, described once in one table
 * (agp__config_keys): section, name, type, where it lives in struct
 * agp_config, its default, its range and its value in each preset.
 *
 * Defaults, presets, parsing, range checks, the environment, writing and the
 * error texts all walk that table, so a key cannot be readable but unchecked,
 * or checked but never written.
 */
#ifndef AGP_COLLECTOR_CONFIG_SCHEMA_H
#define AGP_COLLECTOR_CONFIG_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>

#include "collector/config/config.h"

enum agp__config_key_type {
	AGP__KEY_BOOL,
	AGP__KEY_NUMBER,
	AGP__KEY_INTEGER,
	AGP__KEY_STRING,
};

/* A string key's rule beyond its length. */
enum agp__config_key_rule {
	AGP__RULE_NONE,
	AGP__RULE_LISTEN, /* "[host:]port" */
	AGP__RULE_GROUP,  /* a group name or a numeric gid */
};

enum agp__config_preset {
	AGP__PRESET_DEVELOPMENT,
	AGP__PRESET_PRODUCTION,
	AGP__PRESET_COUNT,
};

/* A preset's value of a key (booleans 0 or 1); set is false where the preset leaves the key. */
struct agp__config_preset_value {
	bool set;
	double value;
};

struct agp__config_key {
	const char *section;
	const char *name;
	enum agp__config_key_type type;
	size_t offset;
	size_t size; /* strings: the buffer size */
	/* The default: booleans (0 or 1), numbers and integers in value, strings in text. */
	double default_value;
	const char *default_text; /* NULL: "" */
	double min, max;
	bool min_open;   /* min itself is not allowed */
	bool max_open;   /* max itself is not allowed */
	bool zero_unset; /* 0 means "not set" and is always allowed */
	bool addition;   /* agentperf's key: written only when not default */
	bool may_empty;  /* strings: "" is allowed */
	enum agp__config_key_rule rule;
	/*
	 * Non-NULL for a seed key agentperf can give no honest effect: only the
	 * default is accepted (so that seed files still load), any other value is
	 * refused with this reason.
	 */
	const char *only_default;
	struct agp__config_preset_value preset[AGP__PRESET_COUNT];
};

extern const struct agp__config_key agp__config_keys[];
extern const size_t agp__config_key_count;
/* At least agp__config_key_count, for arrays of one entry per key (checked in schema.c). */
#define AGP__CONFIG_KEYS_MAX 64

/* The seed's three sections, in the order a file is written. */
#define AGP__CONFIG_SECTION_COUNT 3
extern const char *const agp__config_sections[AGP__CONFIG_SECTION_COUNT];

/* The key of section.name, or NULL. */
const struct agp__config_key *agp__config_find_key(const char *section, const char *name);

/* Where a key's value lives in cfg. */
void *agp__config_key_ptr(struct agp_config *cfg, const struct agp__config_key *k);
const void *agp__config_key_cptr(const struct agp_config *cfg, const struct agp__config_key *k);

/* What a key accepts, in words: "a number > 0 and <= 1000000000". */
void agp__config_key_expectation(const struct agp__config_key *k, char *out, size_t len);

/* The current value of a key as text for a message. */
void agp__config_key_value_text(const struct agp_config *cfg, const struct agp__config_key *k,
                                char *out, size_t len);

/* A seed metric whose thresholds live in `thresholds`, and where. */
struct agp__config_seed_thresholds {
	const char *metric;
	size_t warning_offset, critical_offset;
	enum agp_unit unit; /* of the wire; the keys are in its seed unit (ms, MB) */
};

/* The seed metric's entry (coordination_overhead, ...), or NULL for any other metric. */
const struct agp__config_seed_thresholds *agp__config_find_seed_thresholds(const char *metric);

#endif
