/*
 * The daemon's exports to tools people already run: the Prometheus endpoint
 * (when monitoring.http_listen or --http is set) and the HdrHistogram
 * interval log (when monitoring.export_metrics_to_file is true). Started,
 * ticked and stopped by the periodic services; both read snapshots only.
 */
#ifndef AGP_COLLECTOR_EXPORTS_H
#define AGP_COLLECTOR_EXPORTS_H

#include <stdbool.h>

#include "collector/collector.h"
#include "collector/export/hlog_service.h"
#include "collector/export/http_metrics.h"
#include "collector/export/prometheus.h"

struct agp_exports_options {
	bool per_agent;                 /* --http-per-agent: also the (agent, metric) series */
	const char *duration_buckets_s; /* --http-buckets: "b1,b2,..." seconds; NULL: defaults */
	uint64_t hlog_max_bytes;        /* 0: AGP_HLOG_DEFAULT_MAX_BYTES */
	const struct agp_storage_dir *storage; /* the opened storage_dir; NULL: no interval log */
};

struct agp_exports {
	struct agp_collector *collector;
	struct agp_prom_exporter *prom;
	struct agp_http_metrics *http;
	struct agp_hlog_service hlog;
	bool hlog_open;
	bool hlog_failed; /* reported once, then the log stays off */
	bool baseline_shown;
	int64_t baseline_established_us, baseline_updated_us; /* of the baseline shown */
};

/* 0, or a negative errno with agp_last_error() (bad buckets, address in use, ...). */
int agp_exports_start(struct agp_exports *exports, struct agp_collector *collector,
                      const struct agp_exports_options *options);
/* final: the collector has stopped; the interval log also gets the open (last) window. */
void agp_exports_tick(struct agp_exports *exports, const struct agp_snapshot *snapshot, bool final);
void agp_exports_stop(struct agp_exports *exports);

/*
 * Shows baseline (NULL: none) in the /metrics gauges from the next scrape on. Cheap to call
 * every tick: the copy is made only when the baseline's establishment or update time
 * changed. 0 or -ENOMEM.
 */
int agp_exports_set_baseline(struct agp_exports *exports, const struct agp_baseline *baseline);

#endif
