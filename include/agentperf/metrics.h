/*
 * Metric identities shared by agents, the collector and every export.
 *
 * The seven metric types of the original system keep fixed ids for the life
 * of the ABI, so that an id read from an old file or segment still means the
 * same thing. Custom metrics are registered by name at run time and receive
 * ids from AGP_METRIC_FIRST_CUSTOM on.
 */
#ifndef AGENTPERF_METRICS_H
#define AGENTPERF_METRICS_H

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum agp_metric_id {
	AGP_METRIC_COORDINATION_OVERHEAD = 0,
	AGP_METRIC_TASK_EXECUTION_TIME = 1,
	AGP_METRIC_AGENT_INITIALIZATION = 2,
	AGP_METRIC_RESULT_PROCESSING = 3,
	AGP_METRIC_PARALLEL_COORDINATION = 4,
	AGP_METRIC_MEMORY_USAGE = 5,
	AGP_METRIC_ERROR_RECOVERY_TIME = 6,
	AGP_METRIC_FIRST_CUSTOM = 7,
};

/* Units on the wire: durations in nanoseconds, memory in bytes. */
enum agp_unit {
	AGP_UNIT_NANOSECONDS = 0,
	AGP_UNIT_BYTES = 1,
	AGP_UNIT_COUNT = 2,
};

/* Longest metric name, without the terminating NUL. */
#define AGP_METRIC_NAME_MAX 47

/*
 * True for a valid metric name: 1..AGP_METRIC_NAME_MAX letters, digits and
 * '_', not starting with a digit (it becomes a Prometheus label value and a
 * config key).
 */
bool agp_metric_name_valid(const char *name);

/* The seed name of a built-in metric ("coordination_overhead"), or NULL. */
const char *agp_builtin_metric_name(unsigned id);
/* The unit of a built-in metric; AGP_UNIT_COUNT for any other id. */
enum agp_unit agp_builtin_metric_unit(unsigned id);
/* The lower-case name of a unit ("nanoseconds", "bytes", "count"). */
const char *agp_unit_name(enum agp_unit unit);

#ifdef __cplusplus
}
#endif
#endif
