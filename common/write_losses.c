/* Lost writes, per destination (see write_losses.h). */
#include "common/write_losses.h"
#include "common/json_u64.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static const char *const names[AGP_WRITE_DESTINATIONS] = {
    [AGP_WRITE_ALERTS] = "alerts",
    [AGP_WRITE_HLOG] = "hlog",
    [AGP_WRITE_BASELINE] = "baseline",
    [AGP_WRITE_CI_EXPORT] = "ci_export",
};

static _Atomic uint64_t lost[AGP_WRITE_DESTINATIONS];
/* Losses of the current outage: nonzero while the destination is failing. */
static _Atomic uint64_t outage[AGP_WRITE_DESTINATIONS];

const char *agp_write_destination_name(enum agp_write_destination destination)
{
	return destination < AGP_WRITE_DESTINATIONS ? names[destination] : "?";
}

/* Counts one failed write of the current outage; the first one of an outage is logged. */
static void count_failure(enum agp_write_destination destination, const char *file, int error,
                          const char *what_follows)
{
	/*
	 * Relaxed: the counter itself decides which thread logs (only the one that moves it
	 * from 0), and the log line carries no data another thread reads.
	 */
	if (atomic_fetch_add_explicit(&outage[destination], 1, memory_order_relaxed) == 0)
		fprintf(stderr, "agentperfd: WARNING - cannot write %s: %s; %s\n", file,
		        strerror(error < 0 ? -error : error), what_follows);
}

void agp_write_lost(enum agp_write_destination destination, const char *file, int error)
{
	if (destination >= AGP_WRITE_DESTINATIONS)
		return;
	/* Relaxed: a statistic; no other memory is published with it. */
	atomic_fetch_add_explicit(&lost[destination], 1, memory_order_relaxed);
	char what_follows[160];
	snprintf(what_follows, sizeof(what_follows),
	         "until a write succeeds, further losses are counted (agentperf status: "
	         "lost_writes.%s), not logged",
	         names[destination]);
	count_failure(destination, file, error, what_follows);
}

void agp_write_failed(enum agp_write_destination destination, const char *file, int error)
{
	if (destination >= AGP_WRITE_DESTINATIONS)
		return;
	count_failure(destination, file, error,
	              "retried at every tick until it succeeds (not logged again until then)");
}

void agp_write_count_lost(enum agp_write_destination destination, uint64_t count)
{
	if (destination >= AGP_WRITE_DESTINATIONS)
		return;
	/* Relaxed: a statistic; no other memory is published with it. */
	atomic_fetch_add_explicit(&lost[destination], count, memory_order_relaxed);
}

void agp_write_succeeded(enum agp_write_destination destination, const char *file)
{
	if (destination >= AGP_WRITE_DESTINATIONS)
		return;
	/* Relaxed: see count_failure; the exchange makes exactly one thread report the end. */
	uint64_t count = atomic_exchange_explicit(&outage[destination], 0, memory_order_relaxed);
	if (count)
		fprintf(stderr, "agentperfd: writing %s again after %llu failed writes\n", file,
		        (unsigned long long)count);
}

uint64_t agp_write_losses(enum agp_write_destination destination)
{
	if (destination >= AGP_WRITE_DESTINATIONS)
		return 0;
	/* Relaxed: a statistic read on its own. */
	return atomic_load_explicit(&lost[destination], memory_order_relaxed);
}

json_t *agp_write_losses_json(void)
{
	json_t *object = json_object();
	for (int d = 0; object && d < AGP_WRITE_DESTINATIONS; d++)
		json_object_set_new(object, names[d],
		                    agp_json_u64(agp_write_losses((enum agp_write_destination)d)));
	return object;
}
