#include "collector/alerts/regression.h"

#include "collector/collector.h"
#include "hdr/histogram.h"

struct regression_check {
	struct agp_series_table *table;
	struct agp_alerting *alerting;
	const struct agp_regression_limits *limits;
	uint64_t now_ns;
};

/*
 * Decoding the window into the table's scratch histogram costs in
 * proportion to the window's occupied buckets.
 */
static int check_series(struct agp_series *series, void *context)
{
	struct regression_check *check = context;
	if (series->agent[0] || series->window_count == 0)
		return 0;
	int64_t bound = check->limits->p95_upper[series->metric_id];
	const struct agp_series_window *window =
	    agp_series_window_at(check->table, series, series->window_count - 1);
	if (bound <= 0 || !agp_series_window_has_samples(window))
		return 0;
	struct agp_hdr *scratch = check->table->scratch;
	agp_hdr_reset(scratch);
	if (agp_series_window_merge(window, false, scratch) != 0)
		return 0;
	int64_t p95 = agp_hdr_value_at_percentile(scratch, 95.0);
	if (p95 <= bound)
		return 0;
	struct agp_alert_source source = {series->metric_id,  series->unit, series->metric,
	                                  series->agent_type, "",           0,
	                                  check->now_ns};
	agp_alerting_raise(check->alerting, &source, AGP_ALERT_REGRESSION, p95, bound);
	return 0;
}

void agp_regression_check(struct agp_collector *collector, struct agp_series_table *table,
                          struct agp_alerting *alerting, uint64_t now_ns)
{
	if (!alerting->enabled ||
	    !collector->config.monitoring.enable_performance_degradation_alerts)
		return;
	struct regression_check check = {table, alerting, agp_regression_read_begin(collector),
	                                 now_ns};
	if (check.limits)
		agp_series_table_visit(table, check_series, &check);
	agp_regression_read_end(check.limits);
}
