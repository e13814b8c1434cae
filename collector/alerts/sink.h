/*
 * Where alerts go once the drain thread has raised them: a log line on
 * stderr in the original's form, one JSON object a line appended to
 * <storage_dir>/alerts.jsonl, and optionally a hook command that gets the
 * alert's JSON on standard input (its failure is logged, never fatal).
 *
 * The sink reads alerts from snapshots by sequence number, so it delivers
 * each alert once; if more alerts were raised between two deliveries than
 * a snapshot carries, it says how many it missed.
 */
#ifndef AGP_COLLECTOR_ALERT_SINK_H
#define AGP_COLLECTOR_ALERT_SINK_H

#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include <jansson.h>

#include "collector/config/config.h"
#include "common/storage_dir.h"
#include "collector/drain/snapshot.h"

struct agp_alert_sink {
	uint64_t delivered; /* sequence number of the last alert delivered */
	int jsonl;          /* alerts.jsonl (O_APPEND), -1 when closed */
	off_t repair_to;    /* -1, or the size a partly written line must be cut back to */
	char path[1200];    /* <storage_dir>/alerts.jsonl, for messages */
	char hook[AGP_CONFIG_PATH_MAX + 1];
};

/*
 * Opens <storage>/alerts.jsonl for appending (never through a link; see storage_dir.h). A line
 * that cannot be written (disk full, read-only storage) is cut back out of the file, counted
 * and logged once per outage (write_losses.h), so the file only ever holds whole lines.
 */
int agp_alert_sink_open(struct agp_alert_sink *sink, const struct agp_config *config,
                        const struct agp_storage_dir *storage);
void agp_alert_sink_deliver(struct agp_alert_sink *sink, const struct agp_snapshot *snapshot);
void agp_alert_sink_close(struct agp_alert_sink *sink);

/*
 * The alert as a JSON object (the caller owns the reference; NULL without memory):
 * sequence, time_ms (Unix ms), metric, agent_type, agent, task_id, level, unit (the
 * metric's wire unit: "nanoseconds", "bytes" or "count"), value and threshold (whole
 * numbers in unit), the seed's figures value_ms/threshold_ms (durations only) or
 * value_mb/threshold_mb (bytes only), message (agp_alert_format_message) and suppressed.
 */
json_t *agp_alert_to_json(const struct agp_alert *alert);

/*
 * The seed's message in the metric's unit (agp_unit_format_seed): "Performance threshold
 * violation: coordination_overhead = 250.5ms (Level: critical)", "... queue_depth = 42 ...".
 */
int agp_alert_format_message(const struct agp_alert *alert, char *out, size_t size);

/* The log line: the message, then agent_type=, agent=, task_id=, threshold= and repeats. */
int agp_alert_format_line(const struct agp_alert *alert, char *out, size_t size);

#endif
