/*
 * The deployment clock. Timestamps must compare across processes, so every
 * process converts with the calibration stored in the segment header, fixed
 * once when the segment is created.
 *
 * Where the CPU has an invariant TSC, a reading costs one rdtsc and a
 * 128-bit multiply instead of a vDSO clock_gettime; the conversion is
 * calibrated against CLOCK_MONOTONIC, so both paths give nanoseconds on
 * the same scale. Elsewhere (or with AGENTPERF_CLOCK=monotonic at segment
 * creation) every reading is clock_gettime(CLOCK_MONOTONIC).
 */
#ifndef AGP_SHM_CLOCK_H
#define AGP_SHM_CLOCK_H

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

static inline uint64_t agp_clock_read(const struct agp_shm_clock *clock)
{
	if (clock->use_tsc) {
		/*
		 * Signed: a CPU whose TSC lags the calibrating CPU's by a few
		 * ticks reads just below base_tsc right after calibration; that
		 * must give a time a few ns earlier, not one centuries ahead.
		 */
		int64_t delta = (int64_t)(agp_tsc_read() - clock->base_tsc);
		return clock->base_ns +
		       (uint64_t)(int64_t)(((__int128)delta * (__int128)clock->mult) >>
		                           clock->shift);
	}
	return agp_monotonic_ns();
}

/*
 * Fills clock with a TSC calibration when the CPU reports an invariant TSC
 * and AGENTPERF_CLOCK is not "monotonic"; with the CLOCK_MONOTONIC fallback
 * otherwise. Takes about 20 ms when it calibrates.
 */
void agp_clock_calibrate(struct agp_shm_clock *clock);

#endif
