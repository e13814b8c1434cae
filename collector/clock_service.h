/*
 * The collector's re-anchoring of the deployment clock (shm/clock.h): a
 * thread of its own that every AGP_CLOCK_REANCHOR_PERIOD_NS takes a paired
 * (TSC, CLOCK_MONOTONIC) reading, runs the discipline and publishes the
 * next conversion twice: to the collector's own copy, which the
 * collector's clock reads (segment->clock is pointed at it, so that what an
 * agent scribbles in the header cannot move the collector's clock), and to
 * the header, which the agents read. A thread of its own because the
 * re-anchor must come on time: the services' tick writes files.
 *
 * At open it takes over the conversion the segment already has (a
 * previous collector's, or the creator's calibration), so that agents see
 * no jump when a collector starts or restarts; one more than
 * AGP_CLOCK_ADOPT_MAX_OFFSET_NS off CLOCK_MONOTONIC is replaced by a fresh
 * calibration instead (and said in the status). Nothing is re-anchored when
 * the deployment clock is CLOCK_MONOTONIC, or for a segment of ABI 2.0,
 * whose agents read only the creation calibration.
 */
#ifndef AGP_COLLECTOR_CLOCK_SERVICE_H
#define AGP_COLLECTOR_CLOCK_SERVICE_H

#include <stdbool.h>
#include <stdint.h>

#include "shm/segment.h"

#define AGP_CLOCK_ADOPT_MAX_OFFSET_NS (1000ll * 1000 * 1000)

struct agp_clock_service;

/* What `agentperf status` says about the clock. */
struct agp_clock_status {
	const char *clock; /* "tsc" or "monotonic" */
	char reason[160];  /* why: "kernel clocksource tsc", ... */
	char kernel_clocksource[AGP_CLOCK_SOURCE_NAME_MAX + 1]; /* at creation; "" unknown */
	bool disciplined;                                       /* this collector re-anchors it */
	uint64_t reanchors;                                     /* since this collector started */
	uint64_t steps;              /* of those, forward steps of a clock far behind */
	int64_t since_reanchor_ns;   /* -1: none yet */
	int64_t last_correction_ns;  /* converted minus CLOCK_MONOTONIC found at the last one */
	int64_t worst_correction_ns; /* the largest in magnitude since the second */
	bool recalibrated;           /* the segment's conversion was too far off to adopt */
	bool header_abandoned;       /* a truncation: the header is no longer re-anchored */
};

/*
 * Takes over segment's clock (see above) and points segment->clock at the
 * service's copy; segment must outlive the service and be detached before
 * agp_clock_service_close. guard: the segment's guard id
 * (drain/segment_guard.h), -1 for none. Once the guard has absorbed a
 * truncation the thread stops writing the header for good: the drain
 * thread replaces the segment under it (segment_replace.h), and agents of
 * the fresh segment read its own creation calibration, not re-anchored
 * (the collector's own clock still is). 0, or -ENOMEM with a message.
 */
int agp_clock_service_open(struct agp_segment *segment, int guard, struct agp_clock_service **out);

/* Starts the re-anchoring thread (none when nothing is to be disciplined). */
int agp_clock_service_start(struct agp_clock_service *service);

/* Stops the thread; the last published conversion stays for the agents. */
void agp_clock_service_stop(struct agp_clock_service *service);

void agp_clock_service_close(struct agp_clock_service *service);

/* Any thread. */
void agp_clock_service_status(const struct agp_clock_service *service,
                              struct agp_clock_status *out);

#endif
