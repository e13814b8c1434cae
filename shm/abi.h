/*
 * The shared segment's layout: the one thing agents and the collector must
 * agree on byte for byte.
 *
 *   offset 0            struct agp_shm_header     (self-describing, validated on attach)
 *   registry_offset     struct agp_metric_entry[registry_capacity]
 *   slots_offset        slot_count x slot_stride bytes, each:
 *                         struct agp_slot          (control, producer and consumer lines)
 *                         struct agp_record[ring_capacity]
 *
 * Shared memory holds only offsets and indices, never pointers: each
 * process maps the segment at its own address. Everything an agent can
 * write is untrusted by the collector; the collector's copies of the
 * geometry come from the header once, at attach, after validation.
 *
 * Ownership is not stored here but in the kernel: one-byte OFD write locks
 * on the segment's file (shm/ownership.h says which byte stands for whom).
 */
#ifndef AGP_SHM_ABI_H
#define AGP_SHM_ABI_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <agentperf/agent.h>
#include <agentperf/record.h>

#include "common/deployment.h" /* AGP_DEPLOYMENT_NAME_MAX */

#define AGP_CACHELINE 64

/*
 * Versions. A minor version only gives meaning to bytes of the reserved
 * space below (header, slot, registry entry), which every writer of an
 * older minor leaves zero, so 0 must mean "absent" for any field a minor
 * adds; a reader ignores reserved bytes it does not know. Anything else
 * (a size, an offset, a field moved, a new ownership protocol) is a new
 * major, which attach refuses. 2.0: reserved space; ownership by OFD locks
 * (slot.c) instead of pid and start time. 2.1: the slot's reclaimed_pending, and the
 * disciplined clock (clock_published, clock_source_name), re-anchored by the collector.
 */
#define AGP_SHM_MAGIC        0x3130465245504741ull /* "AGPERF01" little-endian */
#define AGP_SHM_ABI_MAJOR    2u
#define AGP_SHM_ABI_MINOR    1u
#define AGP_SHM_ENDIAN_CHECK 0x01020304u

#define AGP_DEFAULT_SLOT_COUNT    128u
#define AGP_DEFAULT_RING_CAPACITY 8192u /* records per agent, a power of two */
#define AGP_REGISTRY_CAPACITY     256u  /* metric ids 0..255 */

#define AGP_SHM_HEADER_SIZE       512u
#define AGP_SHM_SLOT_SIZE         (4u * AGP_CACHELINE)
#define AGP_SHM_METRIC_ENTRY_SIZE 128u

/*
 * The creation calibration (ABI 2.0): fixed when the segment is made, and
 * what a reader of ABI 2.0 converts with. Readers of 2.1 use it only for a
 * segment without clock_published (made by a 2.0 creator).
 */
struct agp_shm_clock {
	uint32_t
	    use_tsc; /* 0: CLOCK_MONOTONIC; 1: ns = base_ns + ((tsc - base_tsc) * mult >> shift) */
	uint32_t shift;
	uint64_t mult;
	uint64_t base_tsc;
	uint64_t base_ns;
};

/* Why the deployment clock is what it is (agp_shm_clock_published.source); 0: not said (2.0). */
enum agp_clock_source {
	AGP_CLOCK_SOURCE_UNSAID = 0,
	AGP_CLOCK_SOURCE_TSC = 1,              /* the kernel's clocksource is tsc: calibrated TSC */
	AGP_CLOCK_SOURCE_FORCED_MONOTONIC = 2, /* AGENTPERF_CLOCK=monotonic at creation */
	AGP_CLOCK_SOURCE_KERNEL_NOT_TSC = 3,   /* the kernel uses another clocksource */
	AGP_CLOCK_SOURCE_KERNEL_UNKNOWN = 4,   /* the kernel's clocksource could not be read */
	AGP_CLOCK_SOURCE_NO_TSC = 5,           /* no usable TSC (not x86, or no invariant TSC) */
	AGP_CLOCK_SOURCE_CALIBRATION_FAILED = 6,
};

/* One TSC conversion: ns = base_ns + ((tsc - base_tsc) * mult >> shift), signed delta. */
struct agp_clock_conversion {
	_Atomic uint64_t base_tsc;
	_Atomic uint64_t base_ns;
	_Atomic uint64_t mult;
};

/*
 * The conversion every process of a deployment reads (ABI 2.1), re-anchored
 * by the collector (shm/clock.h), double-buffered under a sequence count:
 * conversion[sequence & 1] is the current one, and a publish writes the
 * other one and then bumps the count, so a writer that dies half-way
 * leaves the current conversion whole. One cache line.
 */
struct agp_shm_clock_published {
	_Atomic uint32_t
	    sequence;   /* publishes so far, never 0 once made; 0: absent (a 2.0 segment) */
	uint32_t shift; /* of every conversion; fixed at creation */
	struct agp_clock_conversion conversion[2];
	uint32_t source; /* enum agp_clock_source, fixed at creation */
	uint32_t reserved_clock;
};

#define AGP_CLOCK_SOURCE_NAME_MAX 31

struct agp_shm_header {
	_Atomic uint64_t magic; /* stored last, with release, by the creator */
	uint16_t abi_major;
	uint16_t abi_minor;
	uint32_t endian_check;
	uint64_t total_size;
	uint32_t header_size;
	uint32_t record_size;
	uint32_t slot_count;
	uint32_t ring_capacity;
	uint64_t slot_stride;
	uint64_t slots_offset;
	uint64_t registry_offset;
	uint32_t registry_capacity;
	uint32_t registry_entry_size;
	uint64_t created_ns; /* CLOCK_MONOTONIC when the segment was made */
	struct agp_shm_clock clock;
	/*
	 * Pid of the collector that serves this segment, 0 when none, as its
	 * own pid namespace sees it: for messages only. Whether a collector
	 * serves the segment is its lock on this field's first byte (slot.c).
	 */
	_Atomic int32_t collector_pid;
	uint32_t slot_size; /* sizeof(struct agp_slot) */
	char deployment[AGP_DEPLOYMENT_NAME_MAX + 1];
	uint8_t pad_deployment[7];
	struct agp_shm_clock_published clock_published; /* 2.1 */
	/* 2.1: the kernel's clocksource when the segment was made ("" if unreadable). */
	char clock_source_name[AGP_CLOCK_SOURCE_NAME_MAX + 1];
	uint8_t reserved[AGP_SHM_HEADER_SIZE - 288]; /* zero; for fields of later minor versions */
} __attribute__((aligned(AGP_CACHELINE)));

_Static_assert(sizeof(struct agp_shm_header) == AGP_SHM_HEADER_SIZE, "header size is the ABI's");
_Static_assert(offsetof(struct agp_shm_header, abi_major) == 8, "header layout");
_Static_assert(offsetof(struct agp_shm_header, total_size) == 16, "header layout");
_Static_assert(offsetof(struct agp_shm_header, header_size) == 24, "header layout");
_Static_assert(offsetof(struct agp_shm_header, slot_count) == 32, "header layout");
_Static_assert(offsetof(struct agp_shm_header, slot_stride) == 40, "header layout");
_Static_assert(offsetof(struct agp_shm_header, slots_offset) == 48, "header layout");
_Static_assert(offsetof(struct agp_shm_header, registry_offset) == 56, "header layout");
_Static_assert(offsetof(struct agp_shm_header, registry_capacity) == 64, "header layout");
_Static_assert(offsetof(struct agp_shm_header, created_ns) == 72, "header layout");
_Static_assert(offsetof(struct agp_shm_header, clock) == 80, "header layout");
_Static_assert(sizeof(struct agp_shm_clock) == 32, "clock layout");
_Static_assert(offsetof(struct agp_shm_header, collector_pid) == 112, "header layout");
_Static_assert(offsetof(struct agp_shm_header, slot_size) == 116, "header layout");
_Static_assert(offsetof(struct agp_shm_header, deployment) == 120, "header layout");
_Static_assert(offsetof(struct agp_shm_header, clock_published) == 192, "2.1 in reserved space");
_Static_assert(sizeof(struct agp_shm_clock_published) == AGP_CACHELINE, "published clock: a line");
_Static_assert(offsetof(struct agp_shm_clock_published, conversion) == 8, "clock layout");
_Static_assert(offsetof(struct agp_shm_clock_published, source) == 56, "clock layout");
_Static_assert(offsetof(struct agp_shm_header, clock_source_name) == 256, "header layout");
_Static_assert(offsetof(struct agp_shm_header, reserved) == 288, "header reserved space");

/* Metric registry entry states. */
enum agp_metric_state {
	AGP_METRIC_FREE = 0,
	AGP_METRIC_WRITING = 1, /* claimed by a registrar that is filling in the name */
	AGP_METRIC_READY = 2,
};

struct agp_metric_entry {
	_Atomic uint32_t state; /* enum agp_metric_state */
	uint32_t unit;          /* enum agp_unit */
	uint64_t expected_interval_ns;
	char name[AGP_METRIC_NAME_MAX + 1];
	uint8_t reserved[AGP_SHM_METRIC_ENTRY_SIZE - 64]; /* zero; for later minor versions */
} __attribute__((aligned(AGP_CACHELINE)));

_Static_assert(AGP_METRIC_NAME_MAX + 1 == 48, "a metric name fills the entry's first line");
_Static_assert(sizeof(struct agp_metric_entry) == AGP_SHM_METRIC_ENTRY_SIZE, "entry size");
_Static_assert(offsetof(struct agp_metric_entry, expected_interval_ns) == 8, "entry layout");
_Static_assert(offsetof(struct agp_metric_entry, name) == 16, "entry layout");
_Static_assert(offsetof(struct agp_metric_entry, reserved) == 64, "entry reserved space");

/* Slot states; only the transitions documented in slot.c are legal. */
enum agp_slot_state {
	AGP_SLOT_FREE = 0,
	AGP_SLOT_CLAIMING = 1, /* an agent is initialising it; the collector skips it */
	AGP_SLOT_LIVE = 2,     /* owned by a running agent */
	AGP_SLOT_CLOSED = 3,   /* the agent closed it; to be drained, then freed */
};

/*
 * One agent's slot. Four cache lines so that the producer's hot index and
 * the consumer's index never share a line (no false sharing on the hot path)
 * and the rarely written identity (two lines) stays apart from both.
 */
struct agp_slot {
	/* Cold lines: identity, written while CLAIMING, read by everyone. */
	_Atomic uint32_t state;      /* enum agp_slot_state */
	_Atomic uint32_t generation; /* bumped at every claim: tells occupants apart */
	int32_t pid; /* as the agent's own pid namespace sees it: for display only */
	/*
	 * Since 2.1: records of the previous occupant still in the ring when this
	 * occupant's claim reclaimed the slot (no collector served it), at most
	 * the ring's capacity; 0 for a free slot or an older writer.
	 */
	uint32_t reclaimed_pending;
	char name[AGP_AGENT_NAME_MAX + 1];
	char type[AGP_AGENT_TYPE_MAX + 1];
	uint8_t reserved_cold[AGP_CACHELINE * 2 - 16 - (AGP_AGENT_NAME_MAX + 1) -
	                      (AGP_AGENT_TYPE_MAX + 1)]; /* zero; for later minor versions */

	/* Producer line: written only by the agent. */
	_Atomic uint64_t tail_hot;    /* records published so far (position of the next write) */
	_Atomic uint64_t dropped_hot; /* samples refused because the ring was full */
	uint8_t reserved_producer[AGP_CACHELINE - 16];

	/* Consumer line: written only by the collector. */
	_Atomic uint64_t head; /* records consumed so far: the producer's licence to overwrite */
	uint8_t reserved_consumer[AGP_CACHELINE - 8];
} __attribute__((aligned(AGP_CACHELINE)));

_Static_assert(sizeof(struct agp_slot) == AGP_SHM_SLOT_SIZE, "slot control block is four lines");
_Static_assert(offsetof(struct agp_slot, pid) == 8, "slot layout");
_Static_assert(offsetof(struct agp_slot, name) == 16, "slot layout");
_Static_assert(offsetof(struct agp_slot, type) == 48, "slot layout");
_Static_assert(offsetof(struct agp_slot, reserved_cold) == 80, "slot reserved space");
_Static_assert(offsetof(struct agp_slot, tail_hot) == 2 * AGP_CACHELINE, "producer line aligned");
_Static_assert(offsetof(struct agp_slot, dropped_hot) == 2 * AGP_CACHELINE + 8, "slot layout");
_Static_assert(offsetof(struct agp_slot, head) == 3 * AGP_CACHELINE, "consumer line aligned");

static inline struct agp_record *agp_slot_records(struct agp_slot *slot)
{
	return (struct agp_record *)(slot + 1);
}

/*
 * Every atomic shared across processes (here, in the Task API's region and
 * in the registry) must be lock-free: a lock-based atomic keeps its lock in
 * the process's own memory, so two processes would not exclude each other,
 * and a lock-free one is also what a signal handler may touch.
 */
_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "_Atomic uint32_t/int32_t in shared memory: lock-free");
_Static_assert(ATOMIC_LONG_LOCK_FREE == 2 && ATOMIC_LLONG_LOCK_FREE == 2,
               "_Atomic uint64_t in shared memory: lock-free");
_Static_assert(ATOMIC_BOOL_LOCK_FREE == 2 && ATOMIC_POINTER_LOCK_FREE == 2,
               "the remaining atomic kinds that shared and signal-handler state use: lock-free");

#endif
