/* The concurrency cap under 50 parallel submissions, checked from the workers' own timestamps. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <agentperf/metrics.h>
#include <agentperf/task.h>

#include "tests/support/task_test_util.h"

/* Static: a failed assertion leaves the test early, and tt_teardown stops it then. */
static struct tt t;

struct event {
	uint64_t at;
	int delta;
};

static int by_time(const void *a, const void *b)
{
	const struct event *x = a, *y = b;
	if (x->at != y->at)
		return x->at < y->at ? -1 : 1;
	return x->delta - y->delta; /* an end before a start at the same instant */
}

static unsigned max_overlap(const struct agp_task_result *results, size_t count)
{
	struct event *events = calloc(2 * count, sizeof(*events));
	for (size_t i = 0; i < count; i++) {
		events[2 * i] = (struct event){results[i].metadata.begin_ns, +1};
		events[2 * i + 1] = (struct event){results[i].metadata.end_ns, -1};
	}
	qsort(events, 2 * count, sizeof(*events), by_time);
	int running = 0, peak = 0;
	for (size_t i = 0; i < 2 * count; i++) {
		running += events[i].delta;
		if (running > peak)
			peak = running;
	}
	free(events);
	return (unsigned)peak;
}

static void run_batch(unsigned cap, unsigned expected_cap)
{
	/* More workers than the cap, so only the cap can hold the tasks back. */
	const struct tt_file files[] = {
	    {"nap.json", "{\"id\": \"nap\", \"runner\": {\"kind\": \"builtin\", \"name\": "
	                 "\"sleep\", \"arg\": 25}, \"workers\": 14}"},
	};
	assert_int_equal(tt_start(&t, files, 1, cap), 0);
	agp_task_handle *handles[50];
	struct agp_task_result results[50];
	for (int i = 0; i < 50; i++)
		assert_non_null(handles[i] = agp_task_submit("nap", "25", "cap"));
	agp_task_wait_all(handles, 50, results);
	for (int i = 0; i < 50; i++)
		assert_true(results[i].success);
	unsigned overlap = max_overlap(results, 50);
	assert_true(overlap <= expected_cap);
	assert_true(overlap >= 2); /* it does run in parallel */
	assert_true(agp_task_peak_concurrency() <= expected_cap);
	for (int i = 0; i < 50; i++)
		agp_task_result_free(&results[i]);
	tt_stop(&t);
	assert_int_equal(t.count[AGP_METRIC_PARALLEL_COORDINATION], 1);
}

static void default_cap_of_ten(void **state)
{
	run_batch(0, 10);
}

static void cap_of_three(void **state)
{
	run_batch(3, 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(default_cap_of_ten, tt_teardown),
	    cmocka_unit_test_teardown(cap_of_three, tt_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
