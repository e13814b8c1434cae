/* The umbrella header of libagentperf. */
#ifndef AGENTPERF_AGENTPERF_H
#define AGENTPERF_AGENTPERF_H

#include <agentperf/metrics.h>
#include <agentperf/record.h>
#include <agentperf/agent.h>
#include <agentperf/timer.h>
#include <agentperf/task.h>

#define AGENTPERF_VERSION_MAJOR 0
#define AGENTPERF_VERSION_MINOR 1

#endif
