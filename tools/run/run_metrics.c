/*
 * The command's figures as metrics of the deployment: `run` opens an agent
 * of its own ("run-PID", type "run") and records each run's figures, so the
 * collector's stats, hlog, report and /metrics show them beside what the
 * command itself recorded, each in its unit.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "tools/run/run.h"

const struct run_figure_info run_figures[RUN_FIGURE_COUNT] = {
    [RUN_WALL_TIME] = {"wall_time", "run_wall_time", "wall time", AGP_UNIT_NANOSECONDS},
    [RUN_USER_CPU] = {"user_cpu", "run_user_cpu", "user CPU", AGP_UNIT_NANOSECONDS},
    [RUN_SYSTEM_CPU] = {"system_cpu", "run_system_cpu", "system CPU", AGP_UNIT_NANOSECONDS},
    [RUN_PEAK_RSS] = {"peak_rss", "run_peak_rss", "peak RSS", AGP_UNIT_BYTES},
    [RUN_EXIT_STATUS] = {"exit_status", "run_exit_status", "exit status", AGP_UNIT_COUNT},
    [RUN_START_DELAY] = {"start_delay", "run_start_delay", "start delay", AGP_UNIT_NANOSECONDS},
    [RUN_RESPONSE_TIME] = {"response_time", "run_response_time", "response time",
                           AGP_UNIT_NANOSECONDS},
};

int run_recorder_open(struct run_recorder *recorder, const char *deployment, bool rate,
                      uint64_t expected_interval_ns)
{
	memset(recorder, 0, sizeof(*recorder));
	snprintf(recorder->agent_name, sizeof(recorder->agent_name), "run-%d", (int)getpid());
	struct agp_agent_options options = {.deployment = deployment};
	int error = agp_agent_open(recorder->agent_name, "run", &options, &recorder->agent);
	if (error)
		return error;
	for (int f = 0; f < RUN_FIGURE_COUNT; f++) {
		if (!rate && (f == RUN_START_DELAY || f == RUN_RESPONSE_TIME))
			continue;
		uint64_t interval = f == RUN_WALL_TIME ? expected_interval_ns : 0;
		error = agp_metric_register(recorder->agent, run_figures[f].metric,
		                            run_figures[f].unit, interval, &recorder->ids[f]);
		if (error) {
			run_recorder_close(recorder);
			return error;
		}
		recorder->registered[f] = true;
	}
	return 0;
}

void run_recorder_record(struct run_recorder *recorder, enum run_figure figure, uint64_t value,
                         uint64_t task_id)
{
	if (recorder->agent && recorder->registered[figure])
		(void)agp_record(recorder->agent, recorder->ids[figure], (int64_t)value, task_id);
}

void run_recorder_close(struct run_recorder *recorder)
{
	agp_agent_close(recorder->agent);
	recorder->agent = NULL;
}
