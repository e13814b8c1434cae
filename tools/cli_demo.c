/*
 * `agentperf demo`: the main job with embedded defaults, start to finish.
 *
 * It starts a private agentperfd (its own deployment, config and storage in
 * the demo folder, stopped by its pid at the end), forks the workers of the
 * five default agents through the Task API, and runs a parallel workload of
 * real tasks on them: batches of `concurrency` tasks, round-robin over the
 * agents, each batch waited for with agp_task_wait_all so that its
 * parallel_coordination is recorded too. Then it asks the collector for a
 * baseline, prints the statistics per metric, validates the requirements,
 * writes the CI JSON and the HTML report (the same code as `agentperf run`)
 * and prints where everything went.
 *
 * Exit status: 0 when every task completed and the requirements hold, 1 when
 * a task failed or a requirement is violated (as `run`), 2 usage error, 3 the
 * collector could not be started.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <agentperf/agent.h>
#include <agentperf/task.h>

#include "tools/cli.h"
#include "tools/cli_options.h"
#include "common/json_dump.h"

static const char help[] =
    "Usage: agentperf demo [--tasks N] [--concurrency C] [--dir DIR] [--json]\n"
    "Runs the main job with embedded defaults: starts a private agentperfd, runs N\n"
    "tasks (default 200) over the five default agents (code-reviewer, test-runner,\n"
    "doc-writer, debugger, refactor-agent; two worker processes each), C at a time\n"
    "(default 10), then establishes the baseline, prints the statistics per metric,\n"
    "the validation verdict and the paths of the CI JSON and the HTML report it\n"
    "wrote into DIR (default ./agentperf-demo), and stops the collector.\n"
    "--json prints one JSON object at the end (progress goes to standard error).\n"
    "Exit status: 0 ok, 1 a task failed or a requirement is violated, 2 usage\n"
    "error, 3 the collector could not be started.\n";

static const char *const agents[] = {"code-reviewer", "test-runner", "doc-writer", "debugger",
                                     "refactor-agent"};
#define AGENT_COUNT (sizeof(agents) / sizeof(agents[0]))

struct demo {
	unsigned tasks;
	unsigned concurrency;
	char dir[PATH_MAX];
	char name[64];
	FILE *out; /* human output: stdout, or stderr when the result is JSON */
	/* Outcome of the workload. */
	unsigned done, completed, failed, timed_out;
	char first_failure[512];
	double seconds;
};

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int parse_count(const char *text, unsigned max, unsigned *out)
{
	char *end;
	errno = 0;
	unsigned long value = strtoul(text, &end, 10);
	if (errno || end == text || *end || value < 1 || value > max || text[0] == '-')
		return -EINVAL;
	*out = (unsigned)value;
	return 0;
}

static const char *parse_tasks(const char *value, void *tasks)
{
	return parse_count(value, 10000000, tasks) ? "is not 1..10000000" : NULL;
}

static const char *parse_concurrency(const char *value, void *concurrency)
{
	return parse_count(value, 1000, concurrency) ? "is not 1..1000" : NULL;
}

/* mkdir -p: every missing folder of path, 0700 (the storage of a deployment). */
static int make_folders(const char *path)
{
	char copy[PATH_MAX];
	if (snprintf(copy, sizeof(copy), "%s", path) >= (int)sizeof(copy))
		return -ENAMETOOLONG;
	for (char *slash = copy + 1;; slash++) {
		if (*slash != '/' && *slash != '\0')
			continue;
		char saved = *slash;
		*slash = '\0';
		if (mkdir(copy, 0700) != 0 && errno != EEXIST)
			return -errno;
		*slash = saved;
		if (!saved)
			return 0;
	}
}

/* The task text of task i for agent type k: real input each default runner works on. */
static void task_text(unsigned i, size_t k, char *prompt, size_t size, char *description,
                      size_t description_size)
{
	switch (k) {
	case 0:
		snprintf(prompt, size,
		         "Review this function (demo task %u):\n"
		         "static int clamp_%u(int v, int lo, int hi)\n{\n"
		         "\tif (v < lo)\n\t\treturn lo; /* TODO: check lo <= hi */\n"
		         "\treturn v > hi ? hi : v;\n}\n",
		         i, i);
		break;
	case 1:
		snprintf(prompt, size,
		         "Check that the suite passes (demo task %u):\n"
		         "$ echo 'test_%u passed'\n",
		         i, i);
		break;
	case 2:
		snprintf(prompt, size,
		         "The collector drains every ring. It turns samples into histograms.\n\n"
		         "Each agent_%u owns one ring and calls agp_record() on its hot path.\n",
		         i);
		break;
	case 3:
		snprintf(prompt, size,
		         "In file included from src/main.c:1:\n"
		         "src/ring_%u.c:%u:9: error: 'head' undeclared (first use in this "
		         "function)\n",
		         i % 7, 10 + i % 90);
		break;
	default:
		snprintf(prompt, size,
		         "int sum_%u(const int *v, int n)\n{\n\tint s = 0;   \n\n\n"
		         "\tfor (int i = 0; i < n; i++)\n\t\ts += v[i];\n\treturn s;\n}\n\n",
		         i);
		break;
	}
	snprintf(description, description_size, "Demo task %u", i);
}

/* A progress bar on a terminal, else a line per 10 %. */
static void progress(const struct demo *demo, unsigned *last_tenth, double started)
{
	double elapsed = now_s() - started;
	if (isatty(fileno(demo->out))) {
		char bar[31];
		unsigned filled = (unsigned)(30ull * demo->done / demo->tasks);
		for (unsigned i = 0; i < 30; i++)
			bar[i] = i < filled ? '#' : '.';
		bar[30] = '\0';
		fprintf(demo->out, "\r  [%s] %u/%u tasks  %.1f s", bar, demo->done, demo->tasks,
		        elapsed);
		if (demo->done == demo->tasks)
			fputc('\n', demo->out);
	} else {
		unsigned tenth = (unsigned)(10ull * demo->done / demo->tasks);
		if (tenth == *last_tenth)
			return;
		*last_tenth = tenth;
		fprintf(demo->out, "  %3u%%  %u/%u tasks  %.1f s\n", tenth * 10, demo->done,
		        demo->tasks, elapsed);
	}
	fflush(demo->out);
}

/* Runs the workload; 0, or CLI_UNREACHABLE when the Task API could not start. */
static int run_workload(struct demo *demo)
{
	char agents_dir[PATH_MAX + 16];
	/* A folder the demo never fills: the Task API defines the five default agents. */
	snprintf(agents_dir, sizeof(agents_dir), "%s/agents", demo->dir);
	struct agp_task_options options = {
	    .agents_dir = agents_dir,
	    .deployment = demo->name,
	    .max_concurrency = demo->concurrency,
	    .eager = true, /* pre-forked: the first tasks do not pay for the fork */
	};
	int error = agp_task_init(&options);
	if (error) {
		fprintf(stderr, "agentperf demo: the Task API did not start: %s\n",
		        agp_last_error());
		return CLI_UNREACHABLE;
	}
	agp_task_handle **handles = calloc(demo->concurrency, sizeof(*handles));
	struct agp_task_result *results = calloc(demo->concurrency, sizeof(*results));
	if (!handles || !results) {
		free(handles);
		free(results);
		agp_task_shutdown();
		fprintf(stderr, "agentperf demo: out of memory\n");
		return CLI_VIOLATED;
	}
	char prompt[1024], description[64];
	unsigned last_tenth = 0;
	double started = now_s();
	while (demo->done < demo->tasks) {
		unsigned batch = demo->tasks - demo->done;
		if (batch > demo->concurrency)
			batch = demo->concurrency;
		for (unsigned b = 0; b < batch; b++) {
			unsigned i = demo->done + b;
			size_t k = i % AGENT_COUNT;
			task_text(i, k, prompt, sizeof(prompt), description, sizeof(description));
			handles[b] = agp_task_submit(agents[k], prompt, description);
		}
		agp_task_wait_all(handles, batch, results);
		for (unsigned b = 0; b < batch; b++) {
			struct agp_task_result *result = &results[b];
			if (result->success) {
				demo->completed++;
			} else {
				if (result->metadata.status == AGP_TASK_TIMEOUT)
					demo->timed_out++;
				else
					demo->failed++;
				if (!demo->first_failure[0])
					snprintf(demo->first_failure, sizeof(demo->first_failure),
					         "%s: %s", result->metadata.agent_id,
					         result->error);
			}
			agp_task_result_free(result);
		}
		demo->done += batch;
		progress(demo, &last_tenth, started);
	}
	demo->seconds = now_s() - started;
	free(handles);
	free(results);
	/* The workers close their agents: everything they recorded reaches the collector. */
	agp_task_shutdown();
	return 0;
}

/* The baseline's all-types entries: the collector's statistics of each metric. */
static void print_statistics(FILE *out, const json_t *baseline)
{
	static const char *const header[] = {"METRIC", "COUNT", "MEAN", "P50", "P95", "P99", "MAX"};
	struct cli_table *table = cli_table_new(7, header);
	size_t index;
	json_t *metric;
	json_array_foreach(json_object_get(baseline, "metrics"), index, metric)
	{
		if (!json_is_null(json_object_get(metric, "agent_type")))
			continue;
		const char *unit = cli_str(metric, "unit");
		static const char *const keys[] = {"mean", "p50", "p95", "p99", "max"};
		char cells[6][CLI_CELL_MAX];
		cli_statistic_cells(metric, unit, keys, 5, cells);
		const char *row[] = {cli_str(metric, "metric"),
		                     cells[0],
		                     cells[1],
		                     cells[2],
		                     cells[3],
		                     cells[4],
		                     cells[5]};
		cli_table_add(table, row);
	}
	cli_table_print(table, out);
	cli_table_free(table);
}

/* Baseline, statistics, validation, CI JSON and report; returns the exit status. */
static int analyse(struct cli *cli, struct demo *demo, json_t *summary)
{
	FILE *out = demo->out;
	json_t *status_result;
	int status = cli_request(cli, "status", NULL, &status_result, NULL);
	if (status)
		return status;
	fprintf(out, "\ncollector: %.0f samples aggregated, %.0f dropped, %.0f invalid\n",
	        cli_num(status_result, "aggregated"), cli_num(status_result, "dropped"),
	        cli_num(status_result, "invalid"));
	json_object_set_new(summary, "collector", status_result);

	/* Every completed or failed trip left a coordination_overhead sample. */
	unsigned min_samples = demo->tasks < 100 ? demo->tasks : 100;
	json_t *args = json_pack("{s:i}", "min_samples", (json_int_t)min_samples);
	json_t *baseline = NULL;
	int baseline_status = cli_request(cli, "baseline.establish", args, &baseline, NULL);
	json_decref(args);
	if (baseline_status == CLI_UNREACHABLE)
		return baseline_status;
	if (baseline) {
		fprintf(out, "\nstatistics per metric, all agents (agentperfd, raw histograms):\n");
		print_statistics(out, baseline);
		fprintf(out,
		        "\nbaseline: %.0f samples, established %s\n"
		        "  coordination overhead %.3f ms, task execution %.3f ms, agent init "
		        "%.3f ms,\n  result processing %.3f ms, parallel overhead %.3f ms, "
		        "memory %.1f MB\n",
		        cli_num(baseline, "samples_count"), cli_str(baseline, "established_at"),
		        cli_num(baseline, "coordination_overhead_ms"),
		        cli_num(baseline, "task_execution_ms"), cli_num(baseline, "agent_init_ms"),
		        cli_num(baseline, "result_processing_ms"),
		        cli_num(baseline, "parallel_overhead_ms"),
		        cli_num(baseline, "memory_usage_mb"));
		json_object_set_new(summary, "baseline", baseline);
	}

	char ci_file[PATH_MAX + 32], html_file[PATH_MAX + 32];
	snprintf(ci_file, sizeof(ci_file), "%s/performance_metrics.json", demo->dir);
	snprintf(html_file, sizeof(html_file), "%s/performance_report.html", demo->dir);
	fprintf(out, "\nvalidation:\n");
	fflush(out);
	/*
	 * The validation's text, and the report with --json, go to stdout: keep them
	 * off a JSON result, which carries the validation object instead.
	 */
	bool json = cli->json;
	cli->json = false;
	status = cli_validate_and_export(cli, ci_file, html_file, json);
	cli->json = json;
	if (status == CLI_UNREACHABLE || status == CLI_USAGE)
		return status;
	json_t *validation;
	if (cli->json && cli_request(cli, "validate", NULL, &validation, NULL) == CLI_OK)
		json_object_set_new(summary, "validation", validation);
	fprintf(out, "\nwritten:\n  CI JSON        %s\n  HTML report    %s\n", ci_file, html_file);
	if (baseline)
		fprintf(out, "  baseline       %s/baseline.json\n", demo->dir);
	fprintf(out, "  collector log  %s/agentperfd.log\n", demo->dir);
	json_object_set_new(summary, "ci_export_file", json_string(ci_file));
	json_object_set_new(summary, "html_report", json_string(html_file));
	return baseline_status ? baseline_status : status;
}

/* The demo folder, and a deployment of its own unless -n names one; 0, or an exit status. */
static int prepare_deployment(struct cli *cli, struct demo *demo, const char *dir)
{
	int error = make_folders(dir);
	if (error || !realpath(dir, demo->dir)) {
		fprintf(stderr, "agentperf demo: cannot make the folder %s: %s\n", dir,
		        strerror(error ? -error : errno));
		return CLI_USAGE;
	}
	/* No collector may serve it yet: the demo runs its own. */
	if (cli->name)
		snprintf(demo->name, sizeof(demo->name), "%s", cli->name);
	else
		snprintf(demo->name, sizeof(demo->name), "demo-%d", (int)getpid());
	cli->name = demo->name;
	int status = cli_resolve_path(cli);
	if (status)
		return status;
	if (cli_probe(cli)) {
		fprintf(stderr,
		        "agentperf demo: a collector already serves '%s'; the demo runs its own "
		        "(leave out --name)\n",
		        demo->name);
		return CLI_USAGE;
	}
	return CLI_OK;
}

/* The collector's config: storage and the CI export in the demo folder, the rest default. */
static int write_config(const struct demo *demo, const char *config_path)
{
	char ci_file[PATH_MAX + 32];
	snprintf(ci_file, sizeof(ci_file), "%s/performance_metrics.json", demo->dir);
	json_t *config = json_pack("{s:{s:s, s:s}}", "monitoring", "storage_dir", demo->dir,
	                           "ci_export_file", ci_file);
	char *config_text = config ? agp_json_dumps(config, JSON_INDENT(2)) : NULL;
	json_decref(config);
	int error = !config_text || cli_write_file(config_path, config_text, strlen(config_text));
	free(config_text);
	if (error) {
		fprintf(stderr, "agentperf demo: cannot write %s\n", config_path);
		return CLI_VIOLATED;
	}
	return CLI_OK;
}

/* The workload on the running collector, its summary line, then the analysis. */
static int run_and_analyse(struct cli *cli, struct demo *demo, json_t *summary)
{
	int status = run_workload(demo);
	if (status != CLI_OK)
		return status;
	fprintf(demo->out,
	        "%u tasks in %.2f s (%.0f tasks/s): %u completed, %u failed, %u timed "
	        "out\n",
	        demo->done, demo->seconds, demo->seconds > 0 ? demo->done / demo->seconds : 0,
	        demo->completed, demo->failed, demo->timed_out);
	if (demo->first_failure[0])
		fprintf(demo->out, "  first failure: %s\n", demo->first_failure);
	json_object_set_new(
	    summary, "tasks",
	    json_pack("{s:i, s:i, s:i, s:i, s:i, s:f}", "submitted", (json_int_t)demo->done,
	              "completed", (json_int_t)demo->completed, "failed", (json_int_t)demo->failed,
	              "timeout", (json_int_t)demo->timed_out, "concurrency",
	              (json_int_t)demo->concurrency, "seconds", demo->seconds));
	return analyse(cli, demo, summary);
}

/* The closing sentence for the exit status. */
static void print_verdict(const struct demo *demo, int status)
{
	if (status == CLI_OK)
		fprintf(demo->out,
		        "\nagentperf demo: all tasks completed and the requirements hold\n");
	else if (demo->done && demo->completed != demo->tasks)
		fprintf(demo->out, "\nagentperf demo: %u of %u tasks did not complete\n",
		        demo->tasks - demo->completed, demo->tasks);
	else if (status == CLI_VIOLATED)
		fprintf(demo->out, "\nagentperf demo: a requirement is violated (see above)\n");
}

int cli_demo(struct cli *cli, int argc, char **argv)
{
	struct demo demo = {.tasks = 200, .concurrency = 10};
	const char *dir = "agentperf-demo";
	const struct cli_option options[] = {
	    {"tasks", 0, CLI_OPTION_VALUE, &demo.tasks, parse_tasks},
	    {"concurrency", 0, CLI_OPTION_VALUE, &demo.concurrency, parse_concurrency},
	    {"dir", 0, CLI_OPTION_TEXT, &dir, NULL},
	    CLI_OPTION_JSON_ENTRY,
	    CLI_OPTION_END,
	};
	const struct cli_options spec = {"demo", help, options, 0, false};
	int status = cli_parse_options(cli, &spec, argc, argv, NULL);
	if (status != CLI_PARSED)
		return status;
	demo.out = cli->json ? stderr : stdout;
	char config_path[PATH_MAX + 16], log_path[PATH_MAX + 16];
	if ((status = prepare_deployment(cli, &demo, dir)))
		return status;
	snprintf(config_path, sizeof(config_path), "%s/config.json", demo.dir);
	snprintf(log_path, sizeof(log_path), "%s/agentperfd.log", demo.dir);
	if ((status = write_config(&demo, config_path)))
		return status;

	fprintf(demo.out,
	        "agentperf demo: %u tasks over the five default agents, %u at a time\n"
	        "  folder %s\n",
	        demo.tasks, demo.concurrency, demo.dir);
	fflush(demo.out);
	struct cli_daemon_options daemon_options = {
	    .config = config_path, .log = log_path, .unlink_on_exit = true};
	pid_t daemon = cli_start_daemon(cli, demo.name, &daemon_options);
	if (daemon < 0) {
		fprintf(stderr, "agentperf demo: see %s\n", log_path);
		return CLI_UNREACHABLE;
	}
	fprintf(demo.out, "  collector agentperfd pid %d, deployment '%s'\n\nrunning:\n",
	        (int)daemon, demo.name);
	fflush(demo.out);

	json_t *summary = json_object();
	status = run_and_analyse(cli, &demo, summary);
	cli_disconnect(cli);
	cli_stop_daemon(daemon);
	if (status == CLI_OK && demo.completed != demo.tasks)
		status = CLI_VIOLATED;
	print_verdict(&demo, status);
	if (cli->json) {
		json_object_set_new(summary, "exit_status", json_integer(status));
		cli_print_json(summary);
	}
	json_decref(summary);
	return status;
}
