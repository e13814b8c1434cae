/*
 * Writes the daemon could not make (disk full, read-only storage, a refused file), per
 * destination: the first failed write of an outage is logged with its reason, the following
 * ones are not, and the first success after it logs how many failed. What was lost for good is
 * counted and shown by `agentperf status` (status field "lost_writes"): an alert line, a
 * baseline.json, a CI export, or interval-log windows that left the retention before a retried
 * write got them to disk.
 *
 * The counters are process-wide: a daemon has one storage. They are written by the services
 * thread and by the control thread (a baseline established on request) and read by the control
 * thread's status verb.
 */
#ifndef AGP_COMMON_WRITE_LOSSES_H
#define AGP_COMMON_WRITE_LOSSES_H

#include <stdint.h>

#include <jansson.h>

enum agp_write_destination {
	AGP_WRITE_ALERTS,    /* one lost alert line of alerts.jsonl */
	AGP_WRITE_HLOG,      /* one interval-log window never written (it left the retention) */
	AGP_WRITE_BASELINE,  /* one baseline.json not saved */
	AGP_WRITE_CI_EXPORT, /* one CI export not written */
	AGP_WRITE_DESTINATIONS
};

/* "alerts", "hlog", "baseline", "ci_export": the key in the status reply. */
const char *agp_write_destination_name(enum agp_write_destination destination);

/*
 * Counts one lost write to file (error: a negative errno); logs it on stderr with the reason
 * when it starts an outage of that destination.
 */
void agp_write_lost(enum agp_write_destination destination, const char *file, int error);

/* A failed write that will be retried (nothing lost yet): logged when it starts an outage. */
void agp_write_failed(enum agp_write_destination destination, const char *file, int error);

/* count items of destination lost for good (e.g. windows that left the retention). */
void agp_write_count_lost(enum agp_write_destination destination, uint64_t count);

/* A write to destination succeeded: ends its outage (logged, with the count lost). */
void agp_write_succeeded(enum agp_write_destination destination, const char *file);

/* Writes lost to destination since the daemon started. */
uint64_t agp_write_losses(enum agp_write_destination destination);

/* {"alerts": N, "hlog": N, "baseline": N, "ci_export": N} (a new reference; NULL: no memory). */
json_t *agp_write_losses_json(void);

#endif
