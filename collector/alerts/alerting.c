#include "collector/alerts/alerting.h"

#include <string.h>

/* Distinct keys (metric, agent type, level) tracked for cooldowns. */
#define LIMITER_KEYS 4096

const char *agp_alert_level_name(enum agp_alert_level level)
{
	switch (level) {
	case AGP_ALERT_WARNING:
		return "warning";
	case AGP_ALERT_CRITICAL:
		return "critical";
	case AGP_ALERT_REGRESSION:
		return "regression";
	}
	return "unknown";
}

int agp_alerting_init(struct agp_alerting *alerting, const struct agp_config *config)
{
	memset(alerting, 0, sizeof(*alerting));
	alerting->enabled = config->monitoring.enable_threshold_alerts;
	return agp_alert_limiter_init(&alerting->limiter, LIMITER_KEYS,
	                              agp_config_cooldown_ns(config));
}

void agp_alerting_destroy(struct agp_alerting *alerting)
{
	agp_alert_limiter_destroy(&alerting->limiter);
}

void agp_alerting_raise(struct agp_alerting *alerting, const struct agp_alert_source *source,
                        enum agp_alert_level level, int64_t value, int64_t threshold)
{
	uint64_t suppressed = 0;
	if (!agp_alert_limiter_check(&alerting->limiter, source->metric_id, source->agent_type,
	                             level, source->time_ns, &suppressed))
		return;
	alerting->raised++;
	struct agp_alert *alert = &alerting->recent[alerting->raised % AGP_ALERT_RING];
	memset(alert, 0, sizeof(*alert));
	alert->time_ns = source->time_ns;
	alert->wall_time_ms = agp_wall_time_ms(); /* snapshot.h */
	alert->metric_id = source->metric_id;
	alert->unit = source->unit;
	strncpy(alert->metric, source->metric, sizeof(alert->metric) - 1);
	strncpy(alert->agent_type, source->agent_type, sizeof(alert->agent_type) - 1);
	strncpy(alert->agent, source->agent, sizeof(alert->agent) - 1);
	alert->task_id = source->task_id;
	alert->value = value;
	alert->threshold = threshold;
	strncpy(alert->level, agp_alert_level_name(level), sizeof(alert->level) - 1);
	alert->suppressed = suppressed;
	alert->sequence = alerting->raised;
}

size_t agp_alerting_copy_recent(const struct agp_alerting *alerting, struct agp_alert *out,
                                size_t count)
{
	uint64_t available = alerting->raised < AGP_ALERT_RING ? alerting->raised : AGP_ALERT_RING;
	if (count > available)
		count = (size_t)available;
	for (size_t i = 0; i < count; i++)
		out[i] = alerting->recent[(alerting->raised - count + 1 + i) % AGP_ALERT_RING];
	return count;
}
