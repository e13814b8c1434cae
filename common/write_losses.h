/*
 * Writes the daemon could not make (disk full, read-only storage, a refused file), counted per
 * destination and logged once per outage: the first failure of an outage is logged with its
 * reason, the following ones only counted, and the first success after it logs how many were
 * lost. `agentperf status` shows the counts (status field "lost_writes").
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
	AGP_WRITE_HLOG,      /* one failed write of the interval log (retried) */
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

/* A write to destination succeeded: ends its outage (logged, with the count lost). */
void agp_write_succeeded(enum agp_write_destination destination, const char *file);

/* Writes lost to destination since the daemon started. */
uint64_t agp_write_losses(enum agp_write_destination destination);

/* {"alerts": N, "hlog": N, "baseline": N, "ci_export": N} (a new reference; NULL: no memory). */
json_t *agp_write_losses_json(void);

#endif
