#include "collector/alerts/regression.h"

#include <string.h>

#include "collector/analysis/quantile_test.h"
#include "collector/collector.h"
#include "hdr/histogram.h"

struct regression_check {
	struct agp_series_table *table;
	struct agp_alerting *alerting;
	const struct agp_regression_limits *limits;
	uint64_t now_ns;
};

/* The reference of (metric id, agent type), or NULL (a scan of at most a baseline's entries). */
static const struct agp_quantile_reference *
find_reference(const struct agp_regression_limits *limits, uint16_t metric_id,
               const char *agent_type)
{
	for (size_t i = 0; i < limits->count; i++) {
		const struct agp_regression_limit *limit = &limits->limit[i];
		if (limit->metric_id == metric_id && strcmp(limit->agent_type, agent_type) == 0)
			return &limit->reference;
	}
	return NULL;
}

/*
 * Decoding the window into the table's scratch histogram costs in
 * proportion to the window's occupied buckets.
 */
static int check_series(struct agp_series *series, void *context)
{
	struct regression_check *check = context;
	if (series->agent[0] || series->window_count == 0)
		return 0;
	const struct agp_quantile_reference *reference =
	    find_reference(check->limits, series->metric_id, series->agent_type);
	const struct agp_series_window *window =
	    agp_series_window_at(check->table, series, series->window_count - 1);
	if (!reference || !agp_series_window_has_samples(window))
		return 0;
	struct agp_hdr *scratch = check->table->scratch;
	agp_hdr_reset(scratch);
	if (agp_series_window_merge(window, false, scratch) != 0)
		return 0;
	struct agp_quantile_test_result result;
	agp_quantile_test_histogram(reference, scratch, AGP_QUANTILE_TEST_ALPHA, &result);
	if (!result.regressed)
		return 0;
	struct agp_alert_source source = {series->metric_id,  series->unit, series->metric,
	                                  series->agent_type, "",           0,
	                                  check->now_ns};
	agp_alerting_raise(check->alerting, &source, AGP_ALERT_REGRESSION,
	                   agp_hdr_value_at_percentile(scratch, 95.0), reference->value);
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
	if (check.limits && check.limits->count > 0)
		agp_series_table_visit(table, check_series, &check);
	agp_regression_read_end(check.limits);
}
