#include "shm/clock.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#if AGP_HAVE_TSC
#include <cpuid.h>

/* CPUID 0x80000007 EDX bit 8: the TSC ticks at a constant rate in every P/C-state. */
static bool cpu_has_invariant_tsc(void)
{
	unsigned eax, ebx, ecx, edx;
	if (!__get_cpuid(0x80000000u, &eax, &ebx, &ecx, &edx) || eax < 0x80000007u)
		return false;
	__get_cpuid(0x80000007u, &eax, &ebx, &ecx, &edx);
	return (edx & (1u << 8)) != 0;
}

/* One (tsc, ns) pair read as close together as the two clocks allow. */
static void paired_reading(uint64_t *tsc, uint64_t *ns)
{
	uint64_t best_window = UINT64_MAX;
	for (int attempt = 0; attempt < 16; attempt++) {
		uint64_t before = agp_tsc_read();
		uint64_t mono = agp_monotonic_ns();
		uint64_t after = agp_tsc_read();
		if (after - before < best_window) {
			best_window = after - before;
			*tsc = before + (after - before) / 2;
			*ns = mono;
		}
	}
}
#endif

void agp_clock_calibrate(struct agp_shm_clock *clock)
{
	memset(clock, 0, sizeof(*clock));
	clock->base_ns = agp_monotonic_ns();
#if AGP_HAVE_TSC
	const char *wanted = getenv("AGENTPERF_CLOCK");
	if ((wanted && strcasecmp(wanted, "monotonic") == 0) || !cpu_has_invariant_tsc())
		return;

	uint64_t tsc0 = 0, ns0 = 0, tsc1 = 0, ns1 = 0;
	paired_reading(&tsc0, &ns0);
	struct timespec pause = {0, 20 * 1000 * 1000};
	nanosleep(&pause, NULL);
	paired_reading(&tsc1, &ns1);
	if (tsc1 <= tsc0 || ns1 <= ns0)
		return;

	/*
	 * ns = tsc_delta * mult >> shift. A shift of 32 keeps the rounding
	 * error of mult below 1 ns per 4 s of TSC ticks at any frequency above
	 * 1 GHz; the 128-bit product cannot overflow for centuries of uptime.
	 */
	clock->shift = 32;
	clock->mult = (uint64_t)(((unsigned __int128)(ns1 - ns0) << clock->shift) / (tsc1 - tsc0));
	clock->base_tsc = tsc1;
	clock->base_ns = ns1;
	clock->use_tsc = 1;
#endif
}
