/*
 * The open-loop schedule of `run --rate R`: run i is planned at
 * origin + i / R, whatever the runs before it took. Runs are started one at
 * a time (the next waits for the previous to end), so a run or a --prepare
 * that takes longer than 1 / R delays every later start past its plan; the
 * delays are what a closed loop hides (coordinated omission) and what
 * run_start_delay and run_response_time record (docs/cli.md, "run").
 */
#include <errno.h>
#include <time.h>

#include "tools/run/run.h"

void run_schedule_begin(struct run_schedule *schedule, double rate)
{
	schedule->origin_ns = run_now_ns();
	double interval = 1e9 / rate;
	schedule->interval_ns = interval >= 1 ? (uint64_t)interval : 1;
}

uint64_t run_schedule_planned(const struct run_schedule *schedule, unsigned index)
{
	return schedule->origin_ns + (uint64_t)index * schedule->interval_ns;
}

void run_schedule_wait(const struct run_schedule *schedule, unsigned index)
{
	uint64_t planned = run_schedule_planned(schedule, index);
	struct timespec at = {(time_t)(planned / 1000000000u), (long)(planned % 1000000000u)};
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &at, NULL) == EINTR)
		;
}
