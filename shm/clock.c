#include "shm/clock.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/error.h"

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
#else
static bool cpu_has_invariant_tsc(void)
{
	return false;
}
#endif

void agp_clock_paired_reading(uint64_t *tsc, uint64_t *mono_ns)
{
	uint64_t best_window = UINT64_MAX;
	for (int attempt = 0; attempt < 16; attempt++) {
		uint64_t before = agp_tsc_read();
		uint64_t mono = agp_monotonic_ns();
		uint64_t after = agp_tsc_read();
		if (after - before < best_window) {
			best_window = after - before;
			*tsc = before + (after - before) / 2;
			*mono_ns = mono;
		}
	}
}

/* ------------------------------------------------------------ publishing */

struct agp_clock_line agp_clock_published_line(const struct agp_shm_clock_published *published)
{
	for (;;) {
		/* Acquire, acquire, relaxed: as agp_clock_read (clock.h) says. */
		uint32_t sequence =
		    atomic_load_explicit(&published->sequence, memory_order_acquire);
		const struct agp_clock_conversion *shared = &published->conversion[sequence & 1];
		struct agp_clock_line line = {
		    atomic_load_explicit(&shared->base_tsc, memory_order_acquire),
		    atomic_load_explicit(&shared->base_ns, memory_order_acquire),
		    atomic_load_explicit(&shared->mult, memory_order_acquire)};
		if (atomic_load_explicit(&published->sequence, memory_order_relaxed) == sequence)
			return line;
	}
}

void agp_clock_publish(struct agp_shm_clock_published *published, const struct agp_clock_line *line)
{
	/* Relaxed: we are the only writer, so this is our own last store. */
	uint32_t sequence = atomic_load_explicit(&published->sequence, memory_order_relaxed);
	uint32_t next = sequence + 1;
	if (next == 0)
		next = 2; /* 0 means "absent"; 2 names the same conversion as 0 would */
	struct agp_clock_conversion *shared = &published->conversion[next & 1];
	/*
	 * Release (plain stores on x86): a reader that still reads this
	 * conversion under the previous count and loads one of these values
	 * (acquire) synchronises with it, so it then sees our previous count
	 * store, not its older one, and retries.
	 */
	atomic_store_explicit(&shared->base_tsc, line->base_tsc, memory_order_release);
	atomic_store_explicit(&shared->base_ns, line->base_ns, memory_order_release);
	atomic_store_explicit(&shared->mult, line->mult, memory_order_release);
	/* Release: a reader that loads this count (acquire) sees the conversion it names whole. */
	atomic_store_explicit(&published->sequence, next, memory_order_release);
}

/* ---------------------------------------------------------- which clock */

enum agp_clock_source agp_clock_choose_source(const char *clocksource_path, bool forced_monotonic,
                                              bool cpu_has_tsc, char *name_out)
{
	name_out[0] = '\0';
	FILE *file = fopen(clocksource_path, "re");
	if (file) {
		char line[64];
		if (fgets(line, sizeof(line), file)) {
			line[strcspn(line, " \t\r\n")] = '\0';
			snprintf(name_out, AGP_CLOCK_SOURCE_NAME_MAX + 1, "%.31s", line);
		}
		fclose(file);
	}
	if (forced_monotonic)
		return AGP_CLOCK_SOURCE_FORCED_MONOTONIC;
	if (!cpu_has_tsc)
		return AGP_CLOCK_SOURCE_NO_TSC;
	if (!name_out[0])
		return AGP_CLOCK_SOURCE_KERNEL_UNKNOWN;
	if (strcmp(name_out, "tsc") != 0)
		return AGP_CLOCK_SOURCE_KERNEL_NOT_TSC;
	return AGP_CLOCK_SOURCE_TSC;
}

void agp_clock_source_reason(enum agp_clock_source source, const char *kernel_name, char *out,
                             size_t size)
{
	const char *kernel = kernel_name && kernel_name[0] ? kernel_name : "unknown";
	switch (source) {
	case AGP_CLOCK_SOURCE_TSC:
		snprintf(out, size, "kernel clocksource tsc");
		break;
	case AGP_CLOCK_SOURCE_FORCED_MONOTONIC:
		snprintf(out, size, "AGENTPERF_CLOCK=monotonic at segment creation");
		break;
	case AGP_CLOCK_SOURCE_KERNEL_NOT_TSC:
		snprintf(out, size, "kernel clocksource %s, not tsc", kernel);
		break;
	case AGP_CLOCK_SOURCE_KERNEL_UNKNOWN:
		snprintf(out, size, "kernel clocksource unreadable (%s)",
		         AGP_KERNEL_CLOCKSOURCE_PATH);
		break;
	case AGP_CLOCK_SOURCE_NO_TSC:
		snprintf(out, size, "no invariant TSC on this CPU");
		break;
	case AGP_CLOCK_SOURCE_CALIBRATION_FAILED:
		snprintf(out, size, "TSC calibration failed");
		break;
	default:
		snprintf(out, size, "chosen by an ABI 2.0 creator, not re-anchored");
		break;
	}
}

/* ------------------------------------------------------------- creation */

bool agp_clock_calibrate_line(struct agp_clock_line *line)
{
	uint64_t tsc0 = 0, ns0 = 0, tsc1 = 0, ns1 = 0;
	agp_clock_paired_reading(&tsc0, &ns0);
	struct timespec pause = {0, 20 * 1000 * 1000};
	nanosleep(&pause, NULL);
	agp_clock_paired_reading(&tsc1, &ns1);
	if (tsc1 <= tsc0 || ns1 <= ns0)
		return false;
	/*
	 * ns = tsc_delta * mult >> shift. A shift of 32 keeps the rounding
	 * error of mult below 1 ns per 4 s of TSC ticks at any frequency above
	 * 1 GHz; the 128-bit product cannot overflow for centuries of uptime.
	 */
	line->mult =
	    (uint64_t)(((unsigned __int128)(ns1 - ns0) << AGP_CLOCK_SHIFT) / (tsc1 - tsc0));
	line->base_tsc = tsc1;
	line->base_ns = ns1;
	return line->mult != 0;
}

int agp_clock_create(struct agp_shm_header *header)
{
	const char *wanted = getenv("AGENTPERF_CLOCK");
	bool forced = false;
	if (wanted && wanted[0]) {
		forced = strcasecmp(wanted, "monotonic") == 0;
		if (!forced && strcasecmp(wanted, "auto") != 0)
			return agp__error(
			    -EINVAL,
			    "AGENTPERF_CLOCK is '%.64s': expected 'monotonic' (always "
			    "CLOCK_MONOTONIC) or 'auto' (the TSC where the kernel's "
			    "clocksource is tsc)",
			    wanted);
	}
	enum agp_clock_source source =
	    agp_clock_choose_source(AGP_KERNEL_CLOCKSOURCE_PATH, forced, cpu_has_invariant_tsc(),
	                            header->clock_source_name);
	struct agp_clock_line line = {0, agp_monotonic_ns(), 0};
	if (source == AGP_CLOCK_SOURCE_TSC && !agp_clock_calibrate_line(&line)) {
		source = AGP_CLOCK_SOURCE_CALIBRATION_FAILED;
		line = (struct agp_clock_line){0, agp_monotonic_ns(), 0};
	}
	bool use_tsc = source == AGP_CLOCK_SOURCE_TSC;
	header->clock = (struct agp_shm_clock){.use_tsc = use_tsc,
	                                       .shift = use_tsc ? AGP_CLOCK_SHIFT : 0,
	                                       .mult = line.mult,
	                                       .base_tsc = line.base_tsc,
	                                       .base_ns = line.base_ns};
	struct agp_shm_clock_published *published = &header->clock_published;
	published->shift = header->clock.shift;
	published->source = (uint32_t)source;
	/* Relaxed: nobody reads the segment before its magic is stored (release, segment.c). */
	atomic_store_explicit(&published->sequence, 1, memory_order_relaxed);
	agp_clock_publish(published, &line); /* sequence 2, conversion[0] */
	return 0;
}

int agp_clock_attach(const struct agp_shm_header *header, const char *shm_name,
                     struct agp_clock *clock_out)
{
	struct agp_shm_clock fixed = header->clock;
	if (fixed.use_tsc > 1)
		return agp__error(-EPROTO,
		                  "segment %s: header field clock.use_tsc is %u, expected 0 or 1",
		                  shm_name, fixed.use_tsc);
	if (fixed.use_tsc && (fixed.shift > 63 || fixed.mult == 0))
		return agp__error(-EPROTO,
		                  "segment %s: header fields clock.shift/clock.mult are %u/%llu, "
		                  "expected a shift of 0..63 and a non-zero mult",
		                  shm_name, fixed.shift, (unsigned long long)fixed.mult);
	struct agp_clock clock;
	memset(&clock, 0, sizeof(clock));
	clock.use_tsc = fixed.use_tsc;
	const struct agp_shm_clock_published *published = &header->clock_published;
	/* Acquire: pairs with the publish's release; see agp_clock_read. */
	if (header->abi_minor >= 1 &&
	    atomic_load_explicit(&published->sequence, memory_order_acquire) != 0) {
		if (published->source > AGP_CLOCK_SOURCE_CALIBRATION_FAILED ||
		    (published->source == AGP_CLOCK_SOURCE_TSC) != (fixed.use_tsc == 1))
			return agp__error(-EPROTO,
			                  "segment %s: header field clock_published.source is %u, "
			                  "expected %s with clock.use_tsc %u",
			                  shm_name, published->source,
			                  fixed.use_tsc ? "1 (tsc)" : "2..6 (a monotonic reason)",
			                  fixed.use_tsc);
		if (fixed.use_tsc &&
		    (published->shift != AGP_CLOCK_SHIFT || fixed.shift != AGP_CLOCK_SHIFT))
			return agp__error(
			    -EPROTO,
			    "segment %s: header fields clock_published.shift/clock.shift are "
			    "%u/%u, expected %u",
			    shm_name, published->shift, fixed.shift, AGP_CLOCK_SHIFT);
		if (fixed.use_tsc && agp_clock_published_line(published).mult == 0)
			return agp__error(
			    -EPROTO,
			    "segment %s: header field clock_published.conversion.mult "
			    "is 0, expected a non-zero mult",
			    shm_name);
		clock.published = published;
	} else {
		/*
		 * An ABI 2.0 creator: its calibration, as conversion[0] of a block
		 * nobody writes, its mult rescaled to our constant shift (2.0
		 * creators used it too, but their readers read the field).
		 */
		uint64_t mult = fixed.mult;
		if (fixed.use_tsc && fixed.shift > AGP_CLOCK_SHIFT)
			mult >>= fixed.shift - AGP_CLOCK_SHIFT;
		if (fixed.use_tsc && fixed.shift < AGP_CLOCK_SHIFT) {
			if (mult >> (64 - (AGP_CLOCK_SHIFT - fixed.shift)))
				return agp__error(
				    -EPROTO,
				    "segment %s: header fields clock.shift/clock.mult are "
				    "%u/%llu, too large a rate for a shift of %u",
				    shm_name, fixed.shift, (unsigned long long)fixed.mult,
				    AGP_CLOCK_SHIFT);
			mult <<= AGP_CLOCK_SHIFT - fixed.shift;
		}
		if (fixed.use_tsc && mult == 0)
			return agp__error(
			    -EPROTO,
			    "segment %s: header fields clock.shift/clock.mult are %u/%llu, "
			    "too slow a rate for a shift of %u",
			    shm_name, fixed.shift, (unsigned long long)fixed.mult, AGP_CLOCK_SHIFT);
		atomic_init(&clock.fixed.conversion[0].base_tsc, fixed.base_tsc);
		atomic_init(&clock.fixed.conversion[0].base_ns, fixed.base_ns);
		atomic_init(&clock.fixed.conversion[0].mult, mult);
		clock.fixed.shift = AGP_CLOCK_SHIFT;
	}
	*clock_out = clock;
	return 0;
}

void agp_clock_freeze(struct agp_clock *clock)
{
	if (!clock->published)
		return;
	struct agp_clock_line line = agp_clock_published_line(clock->published);
	memset(&clock->fixed, 0, sizeof(clock->fixed));
	atomic_init(&clock->fixed.conversion[0].base_tsc, line.base_tsc);
	atomic_init(&clock->fixed.conversion[0].base_ns, line.base_ns);
	atomic_init(&clock->fixed.conversion[0].mult, line.mult);
	clock->fixed.shift = AGP_CLOCK_SHIFT;
	clock->published = NULL;
}

/* ----------------------------------------------------------- discipline */

void agp_clock_discipline_init(struct agp_clock_discipline *discipline, uint32_t shift,
                               const struct agp_clock_line *line, uint64_t period_ns)
{
	memset(discipline, 0, sizeof(*discipline));
	discipline->shift = shift;
	discipline->period_ns = period_ns;
	discipline->line = *line;
	discipline->rate_mult = line->mult;
}

/* Ticks in ns nanoseconds at mult (never 0 ticks for ns > 0 at any sane rate). */
static uint64_t ticks_in(uint64_t ns, uint64_t mult, uint32_t shift)
{
	return (uint64_t)(((unsigned __int128)ns << shift) / (mult ? mult : 1));
}

void agp_clock_discipline_anchor(struct agp_clock_discipline *discipline, uint64_t tsc,
                                 uint64_t mono_ns)
{
	const struct agp_clock_line old = discipline->line;
	const uint32_t shift = discipline->shift;
	uint64_t converted = agp_clock_line_convert(&old, shift, tsc);
	int64_t offset = (int64_t)(converted - mono_ns);
	discipline->last_offset_ns = offset;
	discipline->last_anchor_ns = mono_ns;
	discipline->anchors++;

	/* The rate, from raw readings only. */
	if (discipline->rate_tsc == 0 || tsc <= discipline->rate_tsc ||
	    mono_ns < discipline->rate_ns) {
		/* The first reading, or a TSC that went back (another machine after migration). */
		discipline->rate_tsc = tsc;
		discipline->rate_ns = mono_ns;
	} else if (mono_ns - discipline->rate_ns >= AGP_CLOCK_RATE_BASELINE_MIN_NS) {
		uint64_t measured =
		    (uint64_t)(((unsigned __int128)(mono_ns - discipline->rate_ns) << shift) /
		               (tsc - discipline->rate_tsc));
		if (measured)
			discipline->rate_mult = measured;
		discipline->rate_tsc = tsc;
		discipline->rate_ns = mono_ns;
	}

	/* Far behind: step forward to CLOCK_MONOTONIC (forward only, so no reader goes back). */
	uint64_t step = 0;
	if (offset < -AGP_CLOCK_STEP_MIN_NS) {
		step = (uint64_t)-offset;
		offset = 0;
		discipline->steps++;
	}

	/* Steer half the offset out over the next period, within the slew bound. */
	const int64_t max_ppb = AGP_CLOCK_SLEW_MAX_PPM * 1000ll;
	__int128 correction_ppb =
	    -(__int128)offset * 1000000000 / (__int128)(2 * discipline->period_ns);
	if (correction_ppb > max_ppb)
		correction_ppb = max_ppb;
	if (correction_ppb < -max_ppb)
		correction_ppb = -max_ppb;
	uint64_t rate = discipline->rate_mult;
	uint64_t mult = (uint64_t)((__int128)rate + (__int128)rate * correction_ppb / 1000000000);
	if (mult == 0)
		mult = 1;

	/* Continuity: meet the old line where readers switch over, a little above it. */
	uint64_t anchor_tsc = tsc;
	if (mult < old.mult)
		anchor_tsc = tsc + ticks_in(AGP_CLOCK_SLOW_LEAD_NS, old.mult, shift);
	discipline->line =
	    (struct agp_clock_line){.base_tsc = anchor_tsc,
	                            .base_ns = agp_clock_line_convert(&old, shift, anchor_tsc) +
	                                       step + AGP_CLOCK_CONTINUITY_NS,
	                            .mult = mult};
}

bool agp_clock_discipline_publishable(const struct agp_clock_discipline *discipline,
                                      const struct agp_clock_line *replaced, uint64_t tsc_now)
{
	if (discipline->line.mult >= replaced->mult)
		return true;
	/* Signed: the anchor is ahead of tsc_now, or no longer. */
	return (int64_t)(discipline->line.base_tsc - tsc_now) > 0;
}
