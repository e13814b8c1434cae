/*
 * The deployment clock. Timestamps must compare across processes, so every
 * process converts with the conversion published in the segment header.
 *
 * Which clock: the TSC only where the kernel itself keeps time with it
 * (its current clocksource is "tsc"), so that a reading costs one rdtsc
 * and a 128-bit multiply instead of a vDSO clock_gettime; CLOCK_MONOTONIC
 * otherwise, or when AGENTPERF_CLOCK=monotonic at segment creation. The
 * choice is made once, by the segment's creator, and said in the header
 * (agp_shm_clock_published.source) for `agentperf status`.
 *
 * The TSC conversion is calibrated against CLOCK_MONOTONIC for 20 ms at
 * creation, then re-anchored by the collector every
 * AGP_CLOCK_REANCHOR_PERIOD_NS (collector/clock_service.c) with the
 * discipline below, so that it follows CLOCK_MONOTONIC while the kernel
 * slews that (NTP). Agents of a segment whose collector is gone keep the
 * last published conversion.
 *
 * Publishing: the collector is the only writer. The header holds two
 * conversions and a sequence count; conversion[sequence & 1] is current.
 * A publish writes the other one and then bumps the count (release); a
 * reader loads the count (acquire), the conversion it names (acquire)
 * and the TSC, and retries if the count changed meanwhile (the writer may
 * have been rewriting that very conversion). A writer that dies half-way leaves the
 * current conversion whole, so readers never wait for a writer.
 */
#ifndef AGP_SHM_CLOCK_H
#define AGP_SHM_CLOCK_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "shm/abi.h"

static inline uint64_t agp_monotonic_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
static inline uint64_t agp_tsc_read(void)
{
	return __rdtsc();
}
#define AGP_HAVE_TSC 1
#else
static inline uint64_t agp_tsc_read(void)
{
	return 0;
}
#define AGP_HAVE_TSC 0
#endif

#define AGP_CLOCK_SHIFT              32 /* of every conversion a 2.1 creator publishes */
#define AGP_CLOCK_REANCHOR_PERIOD_NS (25ull * 1000 * 1000)

/* One conversion as plain values (agp_clock_conversion is its shared, atomic form). */
struct agp_clock_line {
	uint64_t base_tsc;
	uint64_t base_ns;
	uint64_t mult;
};

static inline uint64_t agp_clock_line_convert(const struct agp_clock_line *line, uint32_t shift,
                                              uint64_t tsc)
{
	/*
	 * Signed: a CPU whose TSC lags the anchoring CPU's by a few ticks, or
	 * a reading just before an anchor placed ahead (agp_clock_discipline),
	 * must give a time a little earlier, not one centuries ahead.
	 */
	int64_t delta = (int64_t)(tsc - line->base_tsc);
	return line->base_ns +
	       (uint64_t)(int64_t)(((__int128)delta * (__int128)line->mult) >> shift);
}

/*
 * A process's handle on its deployment's clock: what agp_clock_read
 * reads. published is the header's block; for a segment made by an ABI 2.0
 * creator (no block) it is NULL and fixed holds that segment's creation
 * calibration as conversion[0] with sequence 0, never re-anchored. The
 * collector points published at its own copy (clock_service.c), which it
 * writes beside the header's: what an agent could scribble there must not
 * move the collector's clock.
 */
struct agp_clock {
	uint32_t use_tsc; /* 0: CLOCK_MONOTONIC; else every conversion's shift is AGP_CLOCK_SHIFT */
	const struct agp_shm_clock_published *published;
	struct agp_shm_clock_published fixed;
};

static inline uint64_t agp_clock_read(const struct agp_clock *clock)
{
	if (!clock->use_tsc)
		return agp_monotonic_ns();
	const struct agp_shm_clock_published *published =
	    clock->published ? clock->published : &clock->fixed;
	for (;;) {
		/* Acquire: pairs with the publish's release; the conversion it names is whole. */
		uint32_t sequence =
		    atomic_load_explicit(&published->sequence, memory_order_acquire);
		const struct agp_clock_conversion *shared = &published->conversion[sequence & 1];
		/*
		 * Acquire (plain loads on x86): if one of these reads a value of a
		 * later publish, which rewrote this conversion, it synchronises
		 * with that release store, so the count load below sees at least
		 * the count stored before it: the count moved on, and we retry.
		 * Also keeps the count load below after these loads.
		 */
		struct agp_clock_line line = {
		    atomic_load_explicit(&shared->base_tsc, memory_order_acquire),
		    atomic_load_explicit(&shared->base_ns, memory_order_acquire),
		    atomic_load_explicit(&shared->mult, memory_order_acquire)};
		uint64_t tsc = agp_tsc_read();
		/* Relaxed: ordered after the loads above by their acquire. */
		if (atomic_load_explicit(&published->sequence, memory_order_relaxed) == sequence)
			return agp_clock_line_convert(&line, AGP_CLOCK_SHIFT,
			                              tsc); /* a constant: one shrd */
	}
}

/* The current conversion of a published block (a consistent set, read as agp_clock_read does). */
struct agp_clock_line agp_clock_published_line(const struct agp_shm_clock_published *published);

/*
 * Makes line the current conversion of published. One writer per block
 * (the collector); readers in any process. Sequence 0 is skipped when the
 * count wraps, since it means "absent".
 */
void agp_clock_publish(struct agp_shm_clock_published *published,
                       const struct agp_clock_line *line);

/*
 * Which clock a new segment gets: AGP_CLOCK_SOURCE_TSC when the CPU has a
 * usable TSC and the first line of the file at clocksource_path (the
 * kernel's current clocksource) is "tsc"; otherwise the reason for the
 * CLOCK_MONOTONIC fallback. forced_monotonic: AGENTPERF_CLOCK=monotonic.
 * name_out (AGP_CLOCK_SOURCE_NAME_MAX + 1 bytes) receives the kernel's
 * clocksource, "" when the file cannot be read.
 */
enum agp_clock_source agp_clock_choose_source(const char *clocksource_path, bool forced_monotonic,
                                              bool cpu_has_tsc, char *name_out);

#define AGP_KERNEL_CLOCKSOURCE_PATH                                                                \
	"/sys/devices/system/clocksource/clocksource0/current_clocksource"

/*
 * Decides and calibrates the clock of a segment being created: the 2.0
 * calibration (header->clock), the published block (sequence 2) and the
 * kernel's clocksource name. About 20 ms with the TSC. -EINVAL with a
 * message when AGENTPERF_CLOCK is set to something other than "monotonic"
 * or "auto".
 */
int agp_clock_create(struct agp_shm_header *header);

/*
 * The handle for an attached, otherwise validated header. -EPROTO with a
 * message naming the field when the clock fields are impossible.
 */
int agp_clock_attach(const struct agp_shm_header *header, const char *shm_name,
                     struct agp_clock *clock_out);

/*
 * Makes clock read the conversion now current for good, without the
 * header: what a handle must do before its segment is unmapped (a closed
 * agent's timer still reads the clock).
 */
void agp_clock_freeze(struct agp_clock *clock);

/* Why the deployment clock is what it is, as a phrase ("kernel clocksource tsc"). */
void agp_clock_source_reason(enum agp_clock_source source, const char *kernel_name, char *out,
                             size_t size);

/*
 * The discipline: from a paired reading (tsc, CLOCK_MONOTONIC ns) taken
 * every period_ns, the next conversion.
 *
 *   - Rate: CLOCK_MONOTONIC ns per tick measured between raw readings at
 *     least AGP_CLOCK_RATE_BASELINE_MIN_NS apart (not through our own
 *     conversion, so the steering below never feeds back into it).
 *   - Offset: the converted clock minus CLOCK_MONOTONIC at the reading.
 *     Steered out at half per period (the new rate is the measured rate
 *     corrected by -offset / (2 x period), at most AGP_CLOCK_SLEW_MAX_PPM),
 *     so that a late re-anchor overshoots little.
 *   - Continuity: the new line meets the old one where readers switch, so
 *     the clock never goes back: a faster line is anchored at the reading,
 *     a slower one AGP_CLOCK_SLOW_LEAD_NS ahead of it (before that point
 *     the slower line reads later than the old one, and the publish must
 *     come before it: agp_clock_discipline_publishable), each 2 ns above
 *     the old line, which covers the rounding of the two lines.
 *   - Step: a converted clock more than AGP_CLOCK_STEP_MIN_NS behind
 *     CLOCK_MONOTONIC (a segment nobody re-anchored for a long time) is
 *     stepped forward at once; one ahead can only be slewed.
 */
#define AGP_CLOCK_RATE_BASELINE_MIN_NS (10ull * 1000 * 1000)
#define AGP_CLOCK_SLEW_MAX_PPM         1000
#define AGP_CLOCK_STEP_MIN_NS          (1000ll * 1000)
#define AGP_CLOCK_CONTINUITY_NS        2
#define AGP_CLOCK_SLOW_LEAD_NS         (1000ull * 1000)

struct agp_clock_discipline {
	uint32_t shift;
	uint64_t period_ns;
	struct agp_clock_line line; /* the conversion in force */
	uint64_t rate_tsc, rate_ns; /* the raw reading the next rate is measured from; 0: none */
	uint64_t rate_mult;         /* measured CLOCK_MONOTONIC ns per tick << shift */
	/* What the last re-anchor found and did. */
	int64_t last_offset_ns; /* converted minus CLOCK_MONOTONIC before it */
	uint64_t last_anchor_ns;
	uint64_t anchors;
	uint64_t steps; /* forward steps */
};

void agp_clock_discipline_init(struct agp_clock_discipline *discipline, uint32_t shift,
                               const struct agp_clock_line *line, uint64_t period_ns);

/* One re-anchor at the paired reading (tsc, mono_ns): updates discipline->line (publish it next).
 */
void agp_clock_discipline_anchor(struct agp_clock_discipline *discipline, uint64_t tsc,
                                 uint64_t mono_ns);

/*
 * Whether discipline->line may still be published at TSC reading tsc_now:
 * false when it is slower than the line it replaces and its anchor (ahead
 * of the reading) has already passed, i.e. the writer was held up for
 * AGP_CLOCK_SLOW_LEAD_NS between reading and publishing; then anchor again from a fresh
 * reading (on the state saved before).
 */
bool agp_clock_discipline_publishable(const struct agp_clock_discipline *discipline,
                                      const struct agp_clock_line *replaced, uint64_t tsc_now);

/* A 20 ms calibration against CLOCK_MONOTONIC; false when the clocks did not both advance. */
bool agp_clock_calibrate_line(struct agp_clock_line *line);

/* One (tsc, CLOCK_MONOTONIC) pair read as close together as the two clocks allow. */
void agp_clock_paired_reading(uint64_t *tsc, uint64_t *mono_ns);

#endif
