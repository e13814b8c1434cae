/*
 * The thresholds a collector's config sets for a metric, read from the JSON
 * of config.show: the seed's metrics keep theirs in `thresholds` (and their
 * `metrics` entry may set none, the config refuses it), other metrics in
 * their `metrics` entry. For the report's plot lines and top's levels.
 */
#include <string.h>

#include "tools/cli.h"

static const struct {
	const char *metric, *key, *level;
} seed_thresholds[] = {
    {"coordination_overhead", "coordination_overhead_warning_ms", "warning"},
    {"coordination_overhead", "coordination_overhead_critical_ms", "critical"},
    {"coordination_overhead", "coordination_overhead_max_acceptable_ms", "max acceptable"},
    {"task_execution_time", "task_execution_warning_ms", "warning"},
    {"task_execution_time", "task_execution_critical_ms", "critical"},
    {"agent_initialization", "agent_init_warning_ms", "warning"},
    {"agent_initialization", "agent_init_critical_ms", "critical"},
    {"memory_usage", "memory_usage_warning_mb", "warning"},
    {"memory_usage", "memory_usage_critical_mb", "critical"},
};

/* A `metrics` entry's keys, by the unit its name carries. */
static const char *const warning_keys[] = {"warning_ms", "warning_mb", "warning"};
static const char *const critical_keys[] = {"critical_ms", "critical_mb", "critical"};

static int add(struct cli_threshold *out, int count, int max, double value, const char *level)
{
	if (value > 0 && count < max)
		out[count++] = (struct cli_threshold){value, level};
	return count;
}

int cli_thresholds(const json_t *config, const char *metric, struct cli_threshold *out, int max)
{
	const json_t *thresholds = json_object_get(config, "thresholds");
	int count = 0;
	for (size_t i = 0; i < sizeof(seed_thresholds) / sizeof(seed_thresholds[0]); i++)
		if (strcmp(seed_thresholds[i].metric, metric) == 0)
			count = add(out, count, max, cli_num(thresholds, seed_thresholds[i].key),
			            seed_thresholds[i].level);
	const json_t *entry = json_object_get(json_object_get(config, "metrics"), metric);
	for (size_t k = 0; entry && k < sizeof(warning_keys) / sizeof(warning_keys[0]); k++) {
		count = add(out, count, max, cli_num(entry, warning_keys[k]), "warning");
		count = add(out, count, max, cli_num(entry, critical_keys[k]), "critical");
	}
	return count;
}
