#include <agentperf/metrics.h>

#include <stddef.h>
#include <string.h>

static const char *const builtin_names[AGP_METRIC_FIRST_CUSTOM] = {
    "coordination_overhead", "task_execution_time", "agent_initialization", "result_processing",
    "parallel_coordination", "memory_usage",        "error_recovery_time",
};

const char *agp_builtin_metric_name(unsigned id)
{
	return id < AGP_METRIC_FIRST_CUSTOM ? builtin_names[id] : NULL;
}

enum agp_unit agp_builtin_metric_unit(unsigned id)
{
	if (id == AGP_METRIC_MEMORY_USAGE)
		return AGP_UNIT_BYTES;
	return id < AGP_METRIC_FIRST_CUSTOM ? AGP_UNIT_NANOSECONDS : AGP_UNIT_COUNT;
}

const char *agp_unit_name(enum agp_unit unit)
{
	switch (unit) {
	case AGP_UNIT_NANOSECONDS:
		return "nanoseconds";
	case AGP_UNIT_BYTES:
		return "bytes";
	case AGP_UNIT_COUNT:
		return "count";
	}
	return "unknown";
}

bool agp_metric_name_valid(const char *name)
{
	size_t length = strlen(name);
	if (length == 0 || length > AGP_METRIC_NAME_MAX)
		return false;
	for (size_t i = 0; i < length; i++) {
		char c = name[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
		          (i > 0 && c >= '0' && c <= '9');
		if (!ok)
			return false;
	}
	return true;
}
