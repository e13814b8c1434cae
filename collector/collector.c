#include "collector/collector.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <urcu-bp.h>

#include "collector/clock_service.h"
#include "collector/drain/drain.h"
#include "collector/drain/segment_guard.h"
#include "shm/clock.h"
#include "shm/ownership.h"
#include "common/error.h"
#include "collector/tsan.h"

void agp_collector_options_default(struct agp_collector_options *options)
{
	memset(options, 0, sizeof(*options));
	agp_segment_layout_default(&options->layout);
	options->histogram_significant_figures = 3;
	options->histogram_lowest = 1;
	options->histogram_highest = 3600ll * 1000 * 1000 * 1000;
	options->publish_interval_ns = 250ull * 1000 * 1000;
}

int agp_collector_open(struct agp_collector *collector, const struct agp_collector_options *options,
                       const struct agp_config *config)
{
	memset(collector, 0, sizeof(*collector));
	collector->options = *options;
	collector->config = *config;
	/*
	 * An existing segment is adopted only from our own uid (or the
	 * configured group) with the mode we would give it: anyone can create
	 * a name in /dev/shm first, and would then read and forge what we
	 * serve.
	 */
	uid_t uid = geteuid();
	gid_t group = options->layout.group;
	int error = agp_segment_adopt(options->deployment, uid, group, &collector->segment);
	if (error == -ENOENT) {
		error =
		    agp_segment_create(options->deployment, &options->layout, &collector->segment);
		collector->created_segment = error == 0;
		if (error == -EEXIST) /* an agent made it meanwhile */
			error =
			    agp_segment_adopt(options->deployment, uid, group, &collector->segment);
	}
	if (error)
		return error;
	/*
	 * The kernel keeps our presence (ownership.h): a lock that a dead,
	 * zombie or pid-reused predecessor no longer holds, whatever the
	 * segment's collector_pid says.
	 */
	error = agp_collector_presence_take(&collector->segment);
	if (error)
		goto fail_detach;
	collector->segment_guard =
	    agp_segment_guard_watch(collector->segment.base, collector->segment.size);
	if (collector->segment_guard < 0) {
		error = collector->segment_guard;
		goto fail_release;
	}
	error = agp_clock_service_open(&collector->segment, collector->segment_guard,
	                               &collector->clock);
	if (error)
		goto fail_unwatch;
	collector->started_ns = agp_clock_read(&collector->segment.clock);
	error = agp_drain_create(collector, &collector->drain);
	if (error) {
		agp__error(error, "setting up the drain of deployment '%s': out of memory",
		           collector->segment.deployment);
		goto fail_clock;
	}
	return 0;

fail_clock:
	agp_clock_freeze(&collector->segment.clock); /* it read the service's copy */
	agp_clock_service_close(collector->clock);
fail_unwatch:
	agp_segment_guard_unwatch(collector->segment_guard);
fail_release:
	agp_collector_presence_drop(&collector->segment);
fail_detach:
	agp_segment_detach(&collector->segment);
	return error;
}

struct retired_snapshot {
	struct rcu_head rcu;
	struct agp_snapshot *snapshot;
};

static void free_retired_snapshot(struct rcu_head *head)
{
	struct retired_snapshot *retired = caa_container_of(head, struct retired_snapshot, rcu);
	AGP_TSAN_ACQUIRE(retired);           /* handed over through liburcu's queue: see tsan.h */
	AGP_TSAN_ACQUIRE(retired->snapshot); /* every reader's section has ended: see tsan.h */
	agp_snapshot_free(retired->snapshot);
	free(retired);
}

void agp_collector_publish(struct agp_collector *collector, struct agp_snapshot *snapshot)
{
	/* Release: a reader that loads the pointer (acquire) sees the snapshot fully built. */
	struct agp_snapshot *old =
	    atomic_exchange_explicit(&collector->snapshot, snapshot, memory_order_release);
	if (!old)
		return;
	struct retired_snapshot *retired = malloc(sizeof(*retired));
	if (!retired) {
		/* No memory to defer: wait for the readers instead (never happens on the hot path).
		 */
		synchronize_rcu();
		AGP_TSAN_ACQUIRE(old);
		agp_snapshot_free(old);
		return;
	}
	retired->snapshot = old;
	AGP_TSAN_RELEASE(retired);
	call_rcu(&retired->rcu, free_retired_snapshot);
}

int agp_collector_start(struct agp_collector *collector)
{
	int error = agp_clock_service_start(collector->clock);
	if (error)
		return error;
	error = agp_drain_publish(collector, collector->drain,
	                          agp_clock_read(&collector->segment.clock));
	if (error)
		return agp__error(error, "publishing the first snapshot: out of memory");
	error = pthread_create(&collector->drain_thread, NULL, agp_drain_thread, collector);
	if (error)
		return agp__error(-error, "starting the drain thread: %s", strerror(error));
	/* Relaxed: only tells refresh callers whether waiting can succeed; no data hangs on it. */
	atomic_store_explicit(&collector->drain_running, true, memory_order_relaxed);
	return 0;
}

void agp_collector_stop(struct agp_collector *collector)
{
	agp_clock_service_stop(collector->clock); /* agents keep the last conversion published */
	if (!atomic_load_explicit(&collector->drain_running, memory_order_relaxed))
		return;
	/* Release: pairs with the drain thread's acquire of the flag. */
	atomic_store_explicit(&collector->stop_requested, true, memory_order_release);
	pthread_join(collector->drain_thread, NULL);
	atomic_store_explicit(&collector->drain_running, false, memory_order_relaxed);
}

void agp_collector_close(struct agp_collector *collector, bool unlink_segment)
{
	agp_collector_stop(collector);
	/* Acquire: we free what the drain thread built; see all of it. */
	struct agp_snapshot *last =
	    atomic_exchange_explicit(&collector->snapshot, NULL, memory_order_acquire);
	struct agp_regression_limits *limits =
	    atomic_exchange_explicit(&collector->regression, NULL, memory_order_acquire);
	synchronize_rcu();
	rcu_barrier(); /* every deferred snapshot free has run */
	AGP_TSAN_ACQUIRE(last);
	AGP_TSAN_ACQUIRE(limits);
	agp_snapshot_free(last);
	free(limits);
	agp_drain_destroy(collector->drain);
	collector->drain = NULL;
	agp_segment_guard_unwatch(collector->segment_guard);
	agp_collector_presence_drop(&collector->segment);
	agp_segment_detach(&collector->segment); /* freezes the clock read from the service */
	agp_clock_service_close(collector->clock);
	collector->clock = NULL;
	if (unlink_segment)
		agp_segment_unlink(collector->segment.deployment);
}

int agp_collector_refresh(struct agp_collector *collector, int timeout_ms)
{
	/* Release: orders our request after whatever the caller did before (e.g. samples it
	 * recorded). */
	uint64_t ticket =
	    atomic_fetch_add_explicit(&collector->refresh_requested, 1, memory_order_release) + 1;
	/* Relaxed: the futex word only ends the drain thread's idle sleep early; the request is
	 * above. */
	atomic_fetch_add_explicit(&collector->drain_wake, 1, memory_order_relaxed);
	syscall(SYS_futex, &collector->drain_wake, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
	uint64_t deadline = agp_monotonic_ns() + (uint64_t)timeout_ms * 1000000ull;
	/* Acquire: pairs with the drain thread's release after publishing. */
	while (atomic_load_explicit(&collector->refresh_served, memory_order_acquire) < ticket) {
		/* Relaxed: see agp_collector_start. */
		if (!atomic_load_explicit(&collector->drain_running, memory_order_relaxed) ||
		    agp_monotonic_ns() > deadline)
			return -ETIMEDOUT;
		struct timespec pause = {0, 100 * 1000};
		nanosleep(&pause, NULL);
	}
	return 0;
}

const struct agp_snapshot *agp_snapshot_read_begin(struct agp_collector *collector)
{
	rcu_read_lock();
	/* Acquire: pairs with agp_collector_publish's release exchange. */
	return atomic_load_explicit(&collector->snapshot, memory_order_acquire);
}

void agp_snapshot_read_end(const struct agp_snapshot *snapshot)
{
	AGP_TSAN_RELEASE(snapshot); /* our reads happen before the deferred free: see tsan.h */
	rcu_read_unlock();
}

const struct agp_regression_limits *agp_regression_read_begin(struct agp_collector *collector)
{
	rcu_read_lock();
	/* Acquire: pairs with agp_collector_set_regression_limits's release exchange. */
	return atomic_load_explicit(&collector->regression, memory_order_acquire);
}

void agp_regression_read_end(const struct agp_regression_limits *limits)
{
	AGP_TSAN_RELEASE(limits);
	rcu_read_unlock();
}

static void free_limits(struct rcu_head *head)
{
	struct agp_regression_limits *limits =
	    caa_container_of(head, struct agp_regression_limits, rcu);
	AGP_TSAN_ACQUIRE(limits);
	free(limits);
}

void agp_collector_set_regression_limits(struct agp_collector *collector,
                                         struct agp_regression_limits *limits)
{
	/* Release: the drain thread's acquire load sees the limits fully written. */
	struct agp_regression_limits *old =
	    atomic_exchange_explicit(&collector->regression, limits, memory_order_release);
	if (old) {
		AGP_TSAN_RELEASE(old);
		call_rcu(&old->rcu, free_limits);
	}
}
