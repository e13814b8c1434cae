/*
 * Samples go to the window of their own timestamp, driven through the drain
 * with chosen timestamps (agp_record_at) and an injected clock (the now_ns
 * given to agp_drain_pass): the open window's boundaries, a closed window
 * the collector never had open (inserted, as after a restart), the oldest
 * retained window, late samples (older than the retention: counted, not
 * aggregated), samples at or after the open window's end (held, ring not
 * drained further, counted as pending until the rotation), a sample from
 * beyond the future bound (invalid), and the accounting identity at every
 * step. The witness is the list of timestamps this test chose.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <agentperf/agentperf.h>

#include "collector/collector.h"
#include "collector/drain/drain.h"
#include "collector/drain/snapshot.h"
#include "hdr/sparse.h"
#include "tests/support/test_util.h"

#define WINDOW_NS  (500ull * 1000 * 1000) /* 0.5 s */
#define RETAINED   5                      /* closed windows kept: 2.5 s */
#define METRIC     AGP_METRIC_TASK_EXECUTION_TIME
#define MAX_WINDOW 64

struct fixture {
	char deployment[64];
	char storage[128];
	struct agp_config config;
	struct agp_collector collector;
	agp_agent *agent;
	uint64_t start; /* the open window's start when the collector opened */
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	agp_test_name(f->deployment, sizeof(f->deployment), "windows");
	snprintf(f->storage, sizeof(f->storage), "/tmp/agp-test-%s", f->deployment);
	agp_config_defaults(&f->config);
	snprintf(f->config.monitoring.storage_dir, sizeof(f->config.monitoring.storage_dir), "%s",
	         f->storage);
	f->config.additions.aggregation_window_seconds = (double)WINDOW_NS / 1e9;
	f->config.monitoring.metric_retention_hours = RETAINED * (double)WINDOW_NS / 3600e9;
	struct agp_collector_options options;
	agp_collector_options_default(&options);
	options.deployment = f->deployment;
	options.layout.slot_count = 4;
	if (agp_collector_open(&f->collector, &options, &f->config) != 0) {
		fprintf(stderr, "collector: %s\n", agp_last_error());
		return -1;
	}
	struct agp_agent_options agent_options = {f->deployment};
	if (agp_agent_open("w1", "worker", &agent_options, &f->agent) != 0) {
		fprintf(stderr, "agent: %s\n", agp_last_error());
		return -1;
	}
	f->start = f->collector.started_ns - f->collector.started_ns % WINDOW_NS;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	agp_agent_close(f->agent);
	agp_collector_close(&f->collector, true);
	char command[256];
	snprintf(command, sizeof(command), "rm -rf %s", f->storage);
	int status = system(command);
	free(f);
	agp_test_cleanup(NULL);
	return status == 0 ? 0 : -1;
}

/* What the agent's series and the agent's counters show in a fresh snapshot. */
struct seen {
	uint64_t window_start[MAX_WINDOW];
	uint64_t window_count[MAX_WINDOW];
	size_t windows; /* with samples; the open one last if it has any */
	uint64_t open_start;
	uint64_t written, aggregated, invalid, late, pending;
};

static void look(struct fixture *f, uint64_t now_ns, struct seen *seen)
{
	memset(seen, 0, sizeof(*seen));
	assert_int_equal(agp_drain_publish(&f->collector, f->collector.drain, now_ns), 0);
	const struct agp_snapshot *snapshot = agp_snapshot_read_begin(&f->collector);
	const struct agp_snapshot_series *series =
	    agp_snapshot_find_series(snapshot, "worker", "w1", agp_builtin_metric_name(METRIC));
	for (size_t w = 0; series && w < series->window_count; w++) {
		const struct agp_snapshot_window *window = &series->windows[w];
		struct agp_sparse_summary summary;
		if (w + 1 == series->window_count)
			seen->open_start = window->start_ns;
		if (agp_snapshot_window_summary(window, &summary) != 0)
			continue;
		assert_true(seen->windows < MAX_WINDOW);
		assert_int_equal(window->end_ns - window->start_ns, w + 1 == series->window_count
		                                                        ? now_ns - window->start_ns
		                                                        : WINDOW_NS);
		seen->window_start[seen->windows] = window->start_ns;
		seen->window_count[seen->windows++] = (uint64_t)summary.total_count;
	}
	assert_int_equal(snapshot->agent_count, 1);
	const struct agp_snapshot_agent *agent = &snapshot->agents[0];
	seen->written = agent->written;
	seen->aggregated = agent->aggregated;
	seen->invalid = agent->invalid;
	seen->late = agent->late;
	seen->pending = agent->pending;
	/* The identity, and the totals say the same. */
	assert_int_equal(agent->written, agent->aggregated + agent->invalid + agent->discarded +
	                                     agent->late + agent->dropped + agent->pending +
	                                     agent->earlier);
	assert_int_equal(snapshot->totals.late, agent->late);
	assert_int_equal(snapshot->totals.pending, agent->pending);
	agp_snapshot_read_end(snapshot);
}

/* Asserts the windows with samples: pairs of (start, count), oldest first. */
static void expect_windows(const struct seen *seen, size_t n, const uint64_t *start,
                           const uint64_t *count)
{
	for (size_t i = 0; i < n && i < seen->windows; i++)
		if (seen->window_start[i] != start[i] || seen->window_count[i] != count[i])
			fail_msg(
			    "window %zu: start %llu count %llu, expected start %llu count %llu", i,
			    (unsigned long long)seen->window_start[i],
			    (unsigned long long)seen->window_count[i], (unsigned long long)start[i],
			    (unsigned long long)count[i]);
	assert_int_equal(seen->windows, n);
}

static void record_at(struct fixture *f, uint64_t timestamp_ns)
{
	assert_true(agp_record_at(f->agent, METRIC, 1000, 0, timestamp_ns, 0));
}

static void samples_land_in_the_window_of_their_timestamp(void **state)
{
	struct fixture *f = *state;
	const uint64_t W = WINDOW_NS, S = f->start;
	assert_true(S > 200 * W); /* the deployment clock counts from boot: room for the past */
	struct seen seen;
	record_at(f, S);                    /* the open window's first instant */
	record_at(f, S + W - 1);            /* its last */
	record_at(f, S - 1);                /* the closed window before: never open here */
	record_at(f, S - 3 * W + 5);        /* a retained window further back */
	record_at(f, S - RETAINED * W);     /* the oldest retained window's first instant */
	record_at(f, S - RETAINED * W - 1); /* one nanosecond older: late */
	record_at(f, S - 100 * W);          /* late */
	record_at(f, S + W);                /* the open window's end: held */
	record_at(f, S + W + 1000);         /* held */
	record_at(f, S + 10);               /* after a held one in the ring: held with it */
	uint64_t now = f->collector.started_ns;
	assert_int_equal(agp_drain_pass(&f->collector, f->collector.drain, now), 10);
	look(f, now, &seen);
	assert_int_equal(seen.open_start, S); /* aligned to a multiple of the window length */
	{
		const uint64_t start[] = {S - RETAINED * W, S - 3 * W, S - W, S};
		const uint64_t count[] = {1, 1, 1, 2};
		expect_windows(&seen, 4, start, count);
	}
	assert_int_equal(seen.written, 10);
	assert_int_equal(seen.aggregated, 5);
	assert_int_equal(seen.late, 2);
	assert_int_equal(seen.pending, 3); /* the held records */

	/* While it holds records, the agent's ring is not drained. */
	record_at(f, S + 20);
	assert_int_equal(agp_drain_pass(&f->collector, f->collector.drain, now), 0);
	look(f, now, &seen);
	assert_int_equal(seen.pending, 4);

	/* The clock passes the window's end: the pass closes it, then places the held ones. */
	now = S + W + 2000;
	agp_drain_pass(&f->collector, f->collector.drain, now);
	look(f, now, &seen);
	assert_int_equal(seen.open_start, S + W);
	{
		const uint64_t start[] = {S - RETAINED * W, S - 3 * W, S - W, S, S + W};
		const uint64_t count[] = {1, 1, 1, 3, 2};
		expect_windows(&seen, 5, start, count);
	}
	assert_int_equal(seen.pending, 1);
	assert_int_equal(agp_drain_pass(&f->collector, f->collector.drain, now), 1);
	look(f, now, &seen);
	{
		/* S + 20 went into the closed window [S, S + W). */
		const uint64_t start[] = {S - RETAINED * W, S - 3 * W, S - W, S, S + W};
		const uint64_t count[] = {1, 1, 1, 4, 2};
		expect_windows(&seen, 5, start, count);
	}
	assert_int_equal(seen.aggregated, 9);
	assert_int_equal(seen.pending, 0);
	assert_int_equal(seen.late, 2);

	/* Beyond the future bound (1 s after the collector's clock): invalid, not held. */
	record_at(f, agp_clock_now_ns(f->agent) + 3000ull * 1000 * 1000);
	assert_int_equal(agp_drain_pass(&f->collector, f->collector.drain, now), 1);
	look(f, now, &seen);
	assert_int_equal(seen.invalid, 1);
	assert_int_equal(seen.pending, 0);

	/*
	 * Later (timestamps stay within the future bound of the real clock, the
	 * injected one runs ahead): the retention is the RETAINED window lengths
	 * before the open window, [S + W, S + 6 W) now. [S, S + W) is still in
	 * the ring, but a sample of it is late; one of [S + W, S + 2 W) is not.
	 */
	now = S + 6 * W + 1;
	agp_drain_pass(&f->collector, f->collector.drain, now);
	record_at(f, S + 30);
	record_at(f, S + W + 5);
	assert_int_equal(agp_drain_pass(&f->collector, f->collector.drain, now), 2);
	look(f, now, &seen);
	assert_int_equal(seen.open_start, S + 6 * W);
	{
		const uint64_t start[] = {S - RETAINED * W, S - 3 * W, S - W, S, S + W};
		const uint64_t count[] = {1, 1, 1, 4, 3};
		expect_windows(&seen, 5, start, count);
	}
	assert_int_equal(seen.late, 3);
	assert_int_equal(seen.aggregated, 10);
	assert_int_equal(seen.invalid, 1);
	assert_int_equal(seen.written, 14);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(samples_land_in_the_window_of_their_timestamp, setup,
	                                    teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
