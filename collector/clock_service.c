#include "collector/clock_service.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "collector/drain/segment_guard.h"
#include "common/error.h"
#include "shm/clock.h"

struct agp_clock_service {
	struct agp_segment *segment;
	int guard;             /* segment_guard.h id, -1 for none */
	bool header_abandoned; /* the thread's: a truncation was absorbed, the header is left alone
	                        */
	_Atomic bool header_abandoned_shown; /* the same for the status; relaxed, shown alone */
	/* What the collector's clock reads; written by the thread, read by the drain thread. */
	struct agp_shm_clock_published own;
	struct agp_clock_discipline discipline; /* the thread's (open's before it starts) */
	bool disciplined;
	bool recalibrated;
	enum agp_clock_source source;
	char kernel_clocksource[AGP_CLOCK_SOURCE_NAME_MAX + 1];

	pthread_t thread;
	bool running;
	pthread_mutex_t lock; /* with wake: lets stop end the thread's sleep at once */
	pthread_cond_t wake;
	bool stop; /* under lock */

	/*
	 * The status, written by the thread and read by the control thread:
	 * relaxed, because each figure is shown on its own and none guards
	 * other data.
	 */
	_Atomic uint64_t reanchors;
	_Atomic uint64_t steps;
	_Atomic uint64_t reanchored_ns; /* CLOCK_MONOTONIC of the last; 0: none */
	_Atomic int64_t last_correction_ns;
	_Atomic int64_t worst_correction_ns;
};

static int64_t magnitude(int64_t value)
{
	return value < 0 ? -value : value;
}

/* Publishes line to our copy and to the header, ours first: the collector's clock leads. */
static void publish(struct agp_clock_service *service, const struct agp_clock_line *line)
{
	agp_clock_publish(&service->own, line);
	/*
	 * The guard's count is an acquire load that pairs with the handler's
	 * release after it mapped zeros over the segment: once it moved, the
	 * drain thread replaces the mapping under us, so we keep out of it.
	 */
	if (!service->header_abandoned && agp_segment_guard_faults(service->guard, NULL) != 0) {
		service->header_abandoned = true;
		atomic_store_explicit(&service->header_abandoned_shown, true, memory_order_relaxed);
	}
	if (!service->header_abandoned)
		agp_clock_publish(&agp_segment_header(service->segment)->clock_published, line);
}

int agp_clock_service_open(struct agp_segment *segment, int guard, struct agp_clock_service **out)
{
	struct agp_clock_service *service = calloc(1, sizeof(*service));
	if (!service)
		return agp__error(-ENOMEM, "the clock service: out of memory");
	service->segment = segment;
	service->guard = guard;
	pthread_mutex_init(&service->lock, NULL);
	pthread_condattr_t attributes;
	pthread_condattr_init(&attributes);
	pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC);
	pthread_cond_init(&service->wake, &attributes);
	pthread_condattr_destroy(&attributes);

	const struct agp_shm_header *header = agp_segment_header(segment);
	service->source = segment->clock.published
	                      ? (enum agp_clock_source)header->clock_published.source
	                      : AGP_CLOCK_SOURCE_UNSAID;
	/* Agent-writable: at most the field, and our copy stays NUL-terminated (calloc). */
	memcpy(service->kernel_clocksource, header->clock_source_name,
	       sizeof(service->kernel_clocksource) - 1);
	service->disciplined = segment->clock.use_tsc && segment->clock.published;
	if (service->disciplined) {
		struct agp_clock_line line = agp_clock_published_line(segment->clock.published);
		uint64_t tsc, mono;
		agp_clock_paired_reading(&tsc, &mono);
		int64_t offset =
		    (int64_t)(agp_clock_line_convert(&line, AGP_CLOCK_SHIFT, tsc) - mono);
		if (magnitude(offset) > AGP_CLOCK_ADOPT_MAX_OFFSET_NS &&
		    agp_clock_calibrate_line(&line))
			service->recalibrated = true;
		service->own.shift = AGP_CLOCK_SHIFT;
		/* Relaxed: nobody reads our copy before open returns. */
		atomic_store_explicit(&service->own.sequence, 1, memory_order_relaxed);
		agp_clock_publish(&service->own, &line);
		if (service->recalibrated)
			agp_clock_publish(&agp_segment_header(segment)->clock_published, &line);
		agp_clock_discipline_init(&service->discipline, AGP_CLOCK_SHIFT, &line,
		                          AGP_CLOCK_REANCHOR_PERIOD_NS);
		segment->clock.published = &service->own;
	}
	*out = service;
	return 0;
}

/* One re-anchor: a fresh reading, the discipline, the publish. */
static void reanchor(struct agp_clock_service *service)
{
	struct agp_clock_discipline *discipline = &service->discipline;
	for (int attempt = 0;; attempt++) {
		struct agp_clock_discipline before = *discipline;
		uint64_t tsc, mono;
		agp_clock_paired_reading(&tsc, &mono);
		agp_clock_discipline_anchor(discipline, tsc, mono);
		/* Held up for a millisecond between reading and publishing: read again. */
		if (attempt < 3 &&
		    !agp_clock_discipline_publishable(discipline, &before.line, agp_tsc_read())) {
			*discipline = before;
			continue;
		}
		publish(service, &discipline->line);
		break;
	}
	uint64_t count = atomic_load_explicit(&service->reanchors, memory_order_relaxed) + 1;
	/* Relaxed: status figures, each on its own (see the struct). */
	if (count > 1 &&
	    magnitude(discipline->last_offset_ns) >
	        atomic_load_explicit(&service->worst_correction_ns, memory_order_relaxed))
		atomic_store_explicit(&service->worst_correction_ns,
		                      magnitude(discipline->last_offset_ns), memory_order_relaxed);
	atomic_store_explicit(&service->last_correction_ns, discipline->last_offset_ns,
	                      memory_order_relaxed);
	atomic_store_explicit(&service->steps, discipline->steps, memory_order_relaxed);
	atomic_store_explicit(&service->reanchored_ns, discipline->last_anchor_ns,
	                      memory_order_relaxed);
	atomic_store_explicit(&service->reanchors, count, memory_order_relaxed);
}

static void *clock_thread(void *argument)
{
	struct agp_clock_service *service = argument;
	struct timespec deadline;
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	pthread_mutex_lock(&service->lock);
	while (!service->stop) {
		pthread_mutex_unlock(&service->lock);
		reanchor(service);
		/* Absolute deadlines: the period does not stretch by the re-anchor's own time. */
		deadline.tv_nsec += (long)AGP_CLOCK_REANCHOR_PERIOD_NS;
		while (deadline.tv_nsec >= 1000000000l) {
			deadline.tv_nsec -= 1000000000l;
			deadline.tv_sec++;
		}
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec >
		    deadline.tv_sec + 1) /* held up for long: no burst of catching up */
			deadline = now;
		pthread_mutex_lock(&service->lock);
		while (!service->stop && pthread_cond_timedwait(&service->wake, &service->lock,
		                                                &deadline) != ETIMEDOUT)
			;
	}
	pthread_mutex_unlock(&service->lock);
	return NULL;
}

int agp_clock_service_start(struct agp_clock_service *service)
{
	if (!service->disciplined || service->running)
		return 0;
	service->stop = false;
	int error = pthread_create(&service->thread, NULL, clock_thread, service);
	if (error)
		return agp__error(-error, "starting the clock thread: %s", strerror(error));
	service->running = true;
	return 0;
}

void agp_clock_service_stop(struct agp_clock_service *service)
{
	if (!service || !service->running)
		return;
	pthread_mutex_lock(&service->lock);
	service->stop = true;
	pthread_cond_signal(&service->wake);
	pthread_mutex_unlock(&service->lock);
	pthread_join(service->thread, NULL);
	service->running = false;
}

void agp_clock_service_close(struct agp_clock_service *service)
{
	if (!service)
		return;
	agp_clock_service_stop(service);
	pthread_cond_destroy(&service->wake);
	pthread_mutex_destroy(&service->lock);
	free(service);
}

void agp_clock_service_status(const struct agp_clock_service *service, struct agp_clock_status *out)
{
	memset(out, 0, sizeof(*out));
	bool tsc = service->segment->clock.use_tsc;
	out->clock = tsc ? "tsc" : "monotonic";
	if (tsc && service->source == AGP_CLOCK_SOURCE_UNSAID)
		snprintf(out->reason, sizeof(out->reason),
		         "calibrated once by an ABI 2.0 creator, not re-anchored");
	else
		agp_clock_source_reason(service->source, service->kernel_clocksource, out->reason,
		                        sizeof(out->reason));
	snprintf(out->kernel_clocksource, sizeof(out->kernel_clocksource), "%s",
	         service->kernel_clocksource);
	out->disciplined = service->disciplined;
	out->recalibrated = service->recalibrated;
	out->header_abandoned =
	    atomic_load_explicit(&service->header_abandoned_shown, memory_order_relaxed);
	/* Relaxed: see the struct. */
	out->reanchors = atomic_load_explicit(&service->reanchors, memory_order_relaxed);
	out->steps = atomic_load_explicit(&service->steps, memory_order_relaxed);
	uint64_t at = atomic_load_explicit(&service->reanchored_ns, memory_order_relaxed);
	out->since_reanchor_ns = at ? (int64_t)(agp_monotonic_ns() - at) : -1;
	out->last_correction_ns =
	    atomic_load_explicit(&service->last_correction_ns, memory_order_relaxed);
	out->worst_correction_ns =
	    atomic_load_explicit(&service->worst_correction_ns, memory_order_relaxed);
}
