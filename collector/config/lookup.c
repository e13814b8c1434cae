/*
 * What the collector asks of a loaded configuration: a metric's thresholds and
 * expected interval in its wire unit, the window and the cooldown in
 * nanoseconds.
 */
#include "collector/config/config.h"

#include "collector/config/schema.h"

#include <errno.h>
#include <math.h>
#include <string.h>

#define NS_PER_MS 1000000.0

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
	const struct agp__config_seed_thresholds *seed = agp__config_find_seed_thresholds(metric);
	if (seed) {
		double scale = agp__config_unit_scale(seed->unit);
		w = to_wire(*(const double *)((const char *)cfg + seed->warning_offset), scale);
		c = to_wire(*(const double *)((const char *)cfg + seed->critical_offset), scale);
	} else {
		const struct agp_config_metric *entry = agp_config_metric_find(cfg, metric);
		if (entry && entry->unit != AGP_CONFIG_UNIT_NONE) {
			w = to_wire(entry->warning, agp__config_unit_scale(entry->unit));
			c = to_wire(entry->critical, agp__config_unit_scale(entry->unit));
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
