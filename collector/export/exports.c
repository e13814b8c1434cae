#include "collector/export/exports.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/error.h"

int agp_exports_start(struct agp_exports *exports, struct agp_collector *collector,
                      const struct agp_exports_options *options)
{
	memset(exports, 0, sizeof(*exports));
	exports->collector = collector;
	const struct agp_config *config = &collector->config;
	const struct agp_collector_options *layout = &collector->options;

	struct agp_prom_options prom;
	agp_prom_options_default(&prom, config);
	prom.per_agent = options && options->per_agent;
	prom.histogram_lowest = layout->histogram_lowest;
	prom.histogram_highest = layout->histogram_highest;
	prom.histogram_significant_figures = layout->histogram_significant_figures;
	if (options && options->duration_buckets_s) {
		char error[256];
		if (agp_prom_parse_bounds(options->duration_buckets_s, &prom.duration_seconds,
		                          error, sizeof(error)))
			return agp__error(-EINVAL, "--http-buckets: %s", error);
	}
	int error = agp_prom_exporter_create(&prom, config, &exports->prom);
	if (error)
		return error;
	if (config->additions.http_listen[0]) {
		error = agp_http_metrics_start(config->additions.http_listen, collector,
		                               exports->prom, &exports->http);
		if (error)
			goto destroy_prom;
		fprintf(stderr, "agentperfd: serving Prometheus metrics on %s (port %u)/metrics\n",
		        config->additions.http_listen, agp_http_metrics_port(exports->http));
	}
	if (config->monitoring.export_metrics_to_file && options && options->storage) {
		/* The log is an extra: a storage folder we cannot write costs the log, not the
		 * daemon. */
		if (agp_hlog_service_open(&exports->hlog, options->storage, options->hlog_max_bytes,
		                          0, layout->histogram_lowest, layout->histogram_highest,
		                          layout->histogram_significant_figures) == 0)
			exports->hlog_open = true;
		else
			fprintf(stderr, "agentperfd: no interval log: %s\n", agp_last_error());
	}
	return 0;

destroy_prom:
	agp_prom_exporter_destroy(exports->prom);
	exports->prom = NULL;
	return error;
}

void agp_exports_tick(struct agp_exports *exports, const struct agp_snapshot *snapshot, bool final)
{
	/* -ESTALE only means an HTTP reader already fed a newer snapshot in: nothing to do. */
	if (exports->prom)
		agp_prom_exporter_update(exports->prom, snapshot);
	if (exports->hlog_open && !exports->hlog_failed &&
	    agp_hlog_service_tick(&exports->hlog, snapshot, final) != 0) {
		fprintf(stderr, "agentperfd: interval log stopped: %s\n", agp_last_error());
		exports->hlog_failed = true;
	}
}

void agp_exports_stop(struct agp_exports *exports)
{
	agp_http_metrics_stop(exports->http);
	exports->http = NULL;
	if (exports->hlog_open)
		agp_hlog_service_close(&exports->hlog);
	exports->hlog_open = false;
	agp_prom_exporter_destroy(exports->prom);
	exports->prom = NULL;
}

int agp_exports_set_baseline(struct agp_exports *exports, const struct agp_baseline *baseline)
{
	if (!exports->http)
		return 0;
	bool shown = baseline && baseline->established;
	if (shown == exports->baseline_shown &&
	    (!shown || (baseline->established_at_us == exports->baseline_established_us &&
	                baseline->last_updated_us == exports->baseline_updated_us)))
		return 0;
	int error = agp_http_metrics_set_baseline(exports->http, shown ? baseline : NULL);
	if (error)
		return error;
	exports->baseline_shown = shown;
	exports->baseline_established_us = shown ? baseline->established_at_us : 0;
	exports->baseline_updated_us = shown ? baseline->last_updated_us : 0;
	return 0;
}
