#include "collector/alerts/window_threshold.h"

#include "collector/alerts/threshold.h"
#include "hdr/sparse.h"

struct window_check {
	const struct agp_config *config;
	struct agp_series_table *table;
	struct agp_alerting *alerting;
	size_t closed;
	uint64_t now_ns;
};

static int64_t clamp_threshold(uint64_t value)
{
	return value > INT64_MAX ? INT64_MAX : (int64_t)value;
}

/*
 * The exact maximum of a closed window, encoded or derived from its agents'
 * windows (series.h); false when it holds no sample or an encoding is damaged.
 */
static bool window_max(const struct agp_series_window *window, int64_t *max)
{
	struct agp_sparse_summary summary;
	if (window->raw) {
		if (agp_sparse_hist_summary(window->raw, &summary) != 0 || summary.total_count == 0)
			return false;
		*max = summary.max_value;
		return true;
	}
	if (!window->parts)
		return false;
	bool any = false;
	for (uint32_t i = 0; i < window->parts->count; i++) {
		if (agp_sparse_hist_summary(window->parts->hist[i], &summary) != 0 ||
		    summary.total_count == 0)
			continue;
		if (!any || summary.max_value > *max)
			*max = summary.max_value;
		any = true;
	}
	return any;
}

static int check_series(struct agp_series *series, void *context)
{
	struct window_check *check = context;
	if (series->agent[0] || series->window_count == 0)
		return 0;
	uint64_t warning = 0, critical = 0;
	if (agp_config_metric_thresholds(check->config, series->metric, &warning, &critical) != 0)
		return 0;
	/* Thresholds in another unit than the series' are ignored, as the drain says (drain.c). */
	const struct agp_config_metric *configured =
	    agp_config_metric_find(check->config, series->metric);
	if (configured && configured->unit != AGP_CONFIG_UNIT_NONE &&
	    agp_config_threshold_wire_unit(configured->unit) != series->unit)
		return 0;
	size_t count = check->closed < series->window_count ? check->closed : series->window_count;
	for (size_t i = series->window_count - count; i < series->window_count; i++) {
		int64_t max = 0, threshold;
		enum agp_alert_level level;
		if (!window_max(agp_series_window_at(check->table, series, i), &max) ||
		    !agp_threshold_violated(max, clamp_threshold(warning),
		                            clamp_threshold(critical), &level, &threshold))
			continue;
		struct agp_alert_source source = {series->metric_id,  series->unit, series->metric,
		                                  series->agent_type, "",           0,
		                                  check->now_ns};
		agp_alerting_raise(check->alerting, &source, level, max, threshold);
	}
	return 0;
}

void agp_window_threshold_check(const struct agp_config *config, struct agp_series_table *table,
                                struct agp_alerting *alerting, size_t closed, uint64_t now_ns)
{
	struct window_check check = {config, table, alerting, closed, now_ns};
	agp_series_table_visit(table, check_series, &check);
}
