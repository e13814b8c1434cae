/*
 * `agentperf run`, the benchmark harness: what its parts share. run.c
 * parses the options and drives a run; measure.c starts one command and
 * reads its figures from wait4; schedule.c is the open-loop start schedule
 * of --rate; figures.c summarises repeated values; run_metrics.c records
 * the figures into the deployment; run_baseline.c establishes and compares
 * against the stored run baseline; run_output.c prints the result.
 */
#ifndef AGP_TOOLS_RUN_RUN_H
#define AGP_TOOLS_RUN_RUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include <agentperf/agent.h>

#include "tools/cli.h"

/* run's exit status when CMD (or --prepare) failed: a run exited non-zero or was killed. */
#define RUN_COMMAND_FAILED 6

/* ---- one run of the command (measure.c) ---- */

struct run_measurement {
	uint64_t wall_ns;   /* from just before the spawn to the return of wait4 */
	uint64_t user_ns;   /* the child's user CPU (wait4's rusage: it and its reaped children) */
	uint64_t system_ns; /* and its system CPU */
	uint64_t peak_rss_bytes; /* ru_maxrss (KiB) * 1024 */
	int exit_status;         /* as a shell reports it: the status, or 128 + the signal */
	uint64_t started_ns;     /* CLOCK_MONOTONIC just before the spawn */
};

/*
 * Runs argv (execvp) with AGENTPERF_NAME=deployment; its standard output goes to standard
 * error when stdout_to_stderr (so that run --json keeps stdout for its JSON). 0, or
 * -ENOMEM; a command that cannot be started counts as one that exited 127.
 */
int run_measure(char **argv, const char *deployment, bool stdout_to_stderr,
                struct run_measurement *out);

/* Runs `sh -c command` the same way; 0 or a negative errno, its exit status in *status. */
int run_shell(const char *command, const char *deployment, bool stdout_to_stderr, int *status);

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t run_now_ns(void);

/* ---- the open-loop schedule of --rate (schedule.c) ---- */

struct run_schedule {
	uint64_t origin_ns;   /* the planned start of run 0 (CLOCK_MONOTONIC) */
	uint64_t interval_ns; /* 1 / rate */
};

/* A schedule of rate starts a second from now. */
void run_schedule_begin(struct run_schedule *schedule, double rate);
/* The planned start of run index. */
uint64_t run_schedule_planned(const struct run_schedule *schedule, unsigned index);
/* Sleeps until the planned start of run index (returns at once when that has passed). */
void run_schedule_wait(const struct run_schedule *schedule, unsigned index);

/* ---- summaries of repeated values (figures.c) ---- */

struct run_summary {
	size_t count;
	double min, median, max, mean;
	double stddev;          /* sample standard deviation (n - 1); 0 for one value */
	double relative_spread; /* stddev / mean; 0 when the mean is 0 */
};

void run_summarize(const double *values, size_t count, struct run_summary *out);
/* {count, min, median, max, mean, stddev, relative_spread, unit, values: [...]}. */
json_t *run_summary_json(const struct run_summary *summary, const char *unit, const double *values);

/* ---- the figures as metrics of the deployment (run_metrics.c) ---- */

enum run_figure {
	RUN_WALL_TIME,
	RUN_USER_CPU,
	RUN_SYSTEM_CPU,
	RUN_PEAK_RSS,
	RUN_EXIT_STATUS,
	RUN_START_DELAY,   /* --rate: the start's delay past its planned time */
	RUN_RESPONSE_TIME, /* --rate: from the planned start to the end (delay + wall time) */
	RUN_FIGURE_COUNT,
};

struct run_figure_info {
	const char *key;    /* in the JSON: "wall_time" */
	const char *metric; /* in the deployment: "run_wall_time" */
	const char *label;  /* in the table: "wall time" */
	enum agp_unit unit;
};
extern const struct run_figure_info run_figures[RUN_FIGURE_COUNT];

struct run_recorder {
	agp_agent *agent; /* NULL when it could not open (the figures are still printed) */
	char agent_name[AGP_AGENT_NAME_MAX + 1];
	uint16_t ids[RUN_FIGURE_COUNT];
	bool registered[RUN_FIGURE_COUNT];
};

/*
 * Opens the agent "run-PID" of type "run" in deployment and registers the figures' metrics
 * (run_wall_time with expected_interval_ns, so that the collector keeps a histogram of it
 * corrected for coordinated omission; 0: none). 0 or a negative errno with a message.
 */
int run_recorder_open(struct run_recorder *recorder, const char *deployment, bool rate,
                      uint64_t expected_interval_ns);
void run_recorder_record(struct run_recorder *recorder, enum run_figure figure, uint64_t value,
                         uint64_t task_id);
void run_recorder_close(struct run_recorder *recorder);

/* ---- the stored run baseline (run_baseline.c) ---- */

/*
 * Writes path: the command, the confidence and, per figure, the collector's count and p95
 * (the bucket's highest value, as the regression test wants it) of this run's samples.
 * 0 or CLI_WRITE_FAILED after printing why (message also in err).
 */
int run_baseline_save(const char *path, char **command, const json_t *collector_series,
                      double confidence, char *err, size_t errlen);

/*
 * The regression test of this run's wall times (agent agent_name) against the baseline
 * in path, counting as slower only runs beyond its p95 + threshold_percent %, by the collector's
 * `compare` verb. *verdict: a new object {verdict: "no regression" | "regression" | "not tested",
 * reason, baseline, test, same_command (whether the baseline was established for command, word for
 * word)}. Returns CLI_OK (0 no regression), CLI_VIOLATED (regression), CLI_NO_DATA (not tested: no
 * baseline file or figure, or too few runs), CLI_UNREACHABLE; a message in err for the last two.
 */
int run_baseline_compare(struct cli *cli, const char *path, char **command, const char *agent_name,
                         double threshold_percent, json_t **verdict, char *err, size_t errlen);

#endif
