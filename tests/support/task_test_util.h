/*
 * Helpers of the Task API tests: a private deployment and agents folder per
 * test, and a stand-in for the collector that drains every agent ring of the
 * segment so the tests can check the metrics the Task API recorded.
 *
 * The helper sets the segment's collector_pid to the test process, so that
 * agents do not reclaim the slots of closed or crashed workers before the
 * test has drained them (exactly what a serving collector prevents).
 */
#ifndef AGP_TESTS_TASK_TEST_UTIL_H
#define AGP_TESTS_TASK_TEST_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <agentperf/record.h>
#include <agentperf/task.h>

#include "shm/ring_consumer.h"
#include "shm/segment.h"

#define TT_MAX_RECORDS 8192

struct tt {
	char deployment[64];
	char dir[256];
	bool attached;
	struct agp_segment segment;
	struct agp_metric_cache metrics;
	struct agp_ring_consumer *consumers;
	bool *following;
	/* Everything drained so far, with the type of the agent that recorded it. */
	struct agp_record records[TT_MAX_RECORDS];
	char record_type[TT_MAX_RECORDS][32];
	size_t record_count;
	size_t count[7];
};

/* One definition file: name inside the folder and its JSON text. */
struct tt_file {
	const char *name;
	const char *json;
};

/*
 * Makes a fresh deployment (AGENTPERF_NAME=t<pid>_<n>) and agents folder
 * with the files (none: the folder does not exist, so the defaults load),
 * then starts the manager with max_concurrency (0: default). Returns the
 * agp_task_init result.
 */
int tt_start(struct tt *t, const struct tt_file *files, size_t file_count,
             unsigned max_concurrency);

/* Drains every ring into t; returns how many records were new. */
size_t tt_drain(struct tt *t);

/* Records of metric drained so far (agent type filter NULL: any). */
size_t tt_count(const struct tt *t, unsigned metric, const char *type);

/* Shuts the manager down, drains what is left, unlinks the segment, removes the folder. */
void tt_stop(struct tt *t);

/* A cmocka teardown: stops the test's deployment if a failed assertion skipped tt_stop. */
int tt_teardown(void **state);

/* Path of the running test executable (for exec runners that re-enter it). */
const char *tt_self(void);

#endif
