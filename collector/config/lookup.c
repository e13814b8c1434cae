/*
 * What the collector asks of a loaded configuration: a metric's thresholds and
 * expected interval in its wire unit, the window and the cooldown in
 * nanoseconds.
 */
#include "collector/config/config.h"

#include "collector/config/schema.h"
#include "common/units.h"

#include <errno.h>
#include <math.h>
#include <string.h>

const struct agp_config_metric *agp_config_metric_find(const struct agp_config *cfg,
                                                       const char *metric)
{
	for (unsigned i = 0; i < cfg->metric_count && i < AGP_CONFIG_METRICS_MAX; i++)
		if (strcmp(cfg->metrics[i].name, metric) == 0)
			return &cfg->metrics[i];
	return NULL;
}

enum agp_unit agp_config_threshold_wire_unit(enum agp_config_threshold_unit unit)
{
	switch (unit) {
	case AGP_CONFIG_UNIT_MS:
		return AGP_UNIT_NANOSECONDS;
	case AGP_CONFIG_UNIT_MB:
		return AGP_UNIT_BYTES;
	default:
		return AGP_UNIT_COUNT;
	}
}

int agp_config_metric_thresholds(const struct agp_config *cfg, const char *metric, uint64_t *warn,
                                 uint64_t *crit)
{
	uint64_t w = 0, c = 0;
	const struct agp__config_seed_thresholds *seed = agp__config_find_seed_thresholds(metric);
	if (seed) {
		const char *base = (const char *)cfg;
		w = agp_unit_from_seed(seed->unit, *(const double *)(base + seed->warning_offset));
		c = agp_unit_from_seed(seed->unit, *(const double *)(base + seed->critical_offset));
	} else {
		const struct agp_config_metric *entry = agp_config_metric_find(cfg, metric);
		if (entry && entry->unit != AGP_CONFIG_UNIT_NONE) {
			enum agp_unit unit = agp_config_threshold_wire_unit(entry->unit);
			w = agp_unit_from_seed(unit, entry->warning);
			c = agp_unit_from_seed(unit, entry->critical);
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
	return entry ? agp_unit_from_seed(AGP_UNIT_NANOSECONDS, entry->expected_interval_ms) : 0;
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
