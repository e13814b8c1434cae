/*
 * The sample record: what an agent writes into its ring, 32 bytes, one
 * cache-line half. Both sides of the shared segment agree on this layout
 * through the segment header's record_size and ABI version.
 */
#ifndef AGENTPERF_RECORD_H
#define AGENTPERF_RECORD_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct agp_record {
	uint64_t timestamp_ns; /* agp_clock_now_ns() when the sample was taken */
	int64_t value;         /* nanoseconds, bytes or a count: see the metric's unit */
	uint64_t task_id;      /* 0 when the sample belongs to no task */
	uint32_t sequence;     /* low 32 bits of the ring position it was written at */
	uint16_t metric_id;    /* enum agp_metric_id or a registered custom id */
	uint16_t flags;        /* AGP_RECORD_* bits */
};

/* The sample failed (e.g. a task that ended in error); still aggregated. */
#define AGP_RECORD_FAILED 0x0001u
/* The sample belongs to a task that timed out. */
#define AGP_RECORD_TIMEOUT     0x0002u
#define AGP_RECORD_FLAGS_KNOWN (AGP_RECORD_FAILED | AGP_RECORD_TIMEOUT)

#ifdef __cplusplus
static_assert(sizeof(struct agp_record) == 32, "the record is part of the shared-memory ABI");
#else
_Static_assert(sizeof(struct agp_record) == 32, "the record is part of the shared-memory ABI");
#endif

#ifdef __cplusplus
}
#endif
#endif
