/*
 * `agentperf hlog` and `agentperf stats --hgrm`: HdrHistogram's interval log and percentile
 * table of the (agent type, metric) series.
 *
 * Both ask the running agentperfd (control verb `hlog`, agp_hlog_export()), which covers every
 * retained window, the open one included, so what they show agrees with `agentperf stats` at
 * that moment. With --files (or --storage DIR) they read the interval logs the collector wrote
 * instead (<storage_dir>/hlog/agentperf.hlog and its rotated predecessors): closed windows only,
 * but they work after the daemon has stopped, for offline analysis. There is no silent fallback
 * from one to the other: an unreachable daemon is exit status 3, as for every subcommand.
 *
 * Either source is read with agentperf's own .hlog reader, so one path selects (--agent-type,
 * --since, --corrected), re-bases (hlog) or merges (stats --hgrm) the intervals.
 *
 * Raw or corrected: every series has its raw histogram (Tag=<agent type>/<metric>), and a
 * metric with an expected interval also its coordinated-omission corrected one
 * (Tag=<agent type>/<metric>:corrected, hlog_export.h). Without --corrected both commands
 * select the raw series, with it the corrected ones, and each says in its output which.
 *
 * One series selected (--metric and --agent-type both given) makes `hlog` write untagged
 * interval lines, which HdrHistogram's HistogramLogProcessor reads without -tag.
 */
#include <errno.h>
#include <glob.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tools/cli.h"
#include "tools/cli_options.h"
#include "collector/config/config.h"
#include "hdr/interval_log.h"
#include "hdr/hgrm.h"

#define HLOG_FOLDER "hlog"
#define HLOG_FILE   "agentperf.hlog"

static const char hlog_help[] =
    "Usage: agentperf hlog [--metric M] [--agent-type T] [--corrected] [--since T]\n"
    "                      [--files [--storage DIR]]\n"
    "Writes an HdrHistogram interval log (.hlog, format 1.3, Tag=<agent type>/<metric>,\n"
    "values in ns, bytes for memory) of the selected series to standard output. With\n"
    "both --metric and --agent-type (one series) the lines are untagged, so that\n"
    "HdrHistogram's HistogramLogProcessor reads them without -tag.\n"
    "  --metric M       one metric (default: all)\n"
    "  --agent-type T   one agent type (default: all)\n"
    "  --corrected      the coordinated-omission corrected histograms (metrics with an\n"
    "                   expected interval; Tag=<agent type>/<metric>:corrected) instead\n"
    "                   of the raw ones\n"
    "  --since T        intervals from T on: 30s, 15m, 2h, 1d before now, or Unix seconds\n"
    "  --files          read the interval logs the collector wrote (closed windows; works\n"
    "                   without a daemon) instead of asking the running agentperfd (every\n"
    "                   retained window, the open one included)\n"
    "  --storage DIR    the storage folder of --files (implies it; default:\n"
    "                   monitoring.storage_dir of ./.codexplus/performance/config.json)\n"
    "  --json           accepted; the output is the .hlog text either way\n"
    "Exit status: 0 ok, 1 no matching interval or a collector error, 2 usage error (from\n"
    "the daemon: a metric or agent type it does not know; the known names are printed),\n"
    "3 collector unreachable.\n";

static const char hgrm_help[] =
    "Usage: agentperf stats --hgrm --metric M [--agent-type T] [--corrected]\n"
    "                             [--since T | --window D] [--files [--storage DIR]]\n"
    "Prints the classic HdrHistogram percentile distribution (.hgrm, as HdrHistogram_c's\n"
    "hdr_percentiles_print and the plotters read it) of metric M merged over the selected\n"
    "series and intervals: durations in milliseconds, bytes as bytes. A first comment line\n"
    "says which histogram it is: raw, or with --corrected the coordinated-omission\n"
    "corrected one (metrics with an expected interval). Percentiles follow\n"
    "HdrHistogram_c (docs/hdr.md). --window D is the last D (30s, 5m, 2h); the other options\n"
    "are those of `agentperf hlog`; --json is accepted, the output is the table either way.\n"
    "Exit status: 0 ok, 1 no matching interval or a collector error, 2 usage error (from\n"
    "the daemon: a metric or agent type it does not know; the known names are printed),\n"
    "3 collector unreachable.\n";

struct selection {
	const char *command; /* "hlog" or "stats", for messages */
	const char *metric;
	const char *agent_type;
	double since_s; /* absolute Unix seconds; 0 = everything */
	bool corrected; /* the series' corrected histograms instead of the raw ones */
	bool files;
	char storage_dir[AGP_CONFIG_PATH_MAX + 1];
};

static double now_s(void)
{
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	return (double)now.tv_sec + (double)now.tv_nsec / 1e9;
}

/* "30s", "15m", "2h", "1d": that long before now; a plain number: Unix seconds. */
static int parse_since(const char *text, double *since_s)
{
	char *end;
	errno = 0;
	double value = strtod(text, &end);
	if (errno || end == text || !(value >= 0) || !isfinite(value))
		return -EINVAL;
	static const struct {
		char suffix;
		double scale;
	} units[] = {{'s', 1}, {'m', 60}, {'h', 3600}, {'d', 86400}};
	if (*end == '\0') {
		*since_s = value;
		return 0;
	}
	for (size_t u = 0; u < sizeof(units) / sizeof(units[0]); u++)
		if (*end == units[u].suffix && end[1] == '\0') {
			*since_s = now_s() - value * units[u].scale;
			return 0;
		}
	return -EINVAL;
}

static void default_storage(char *out, size_t len)
{
	struct agp_config config;
	char error[256];
	agp_config_defaults(&config);
	/* A missing or broken config leaves the default folder; the log tells the rest. */
	agp_config_load_file(AGP_CONFIG_DEFAULT_PATH, &config, error, sizeof(error));
	snprintf(out, len, "%s", config.monitoring.storage_dir);
}

static const char *parse_since_option(const char *value, void *since_s)
{
	return parse_since(value, since_s) ? "is not 30s, 15m, 2h, 1d (before now) or Unix seconds"
	                                   : NULL;
}

/* stats --hgrm's --window D: the intervals from D before now on. */
static const char *parse_window_option(const char *value, void *since_s)
{
	double seconds;
	if (cli_parse_duration(value, &seconds))
		return "is not a duration (30s, 5m, 2h)";
	*(double *)since_s = now_s() - seconds;
	return NULL;
}

/* Parses the options of either command; returns CLI_PARSED to go on, else an exit status. */
static int parse_selection(struct cli *cli, const char *command, const char *help, int argc,
                           char **argv, struct selection *sel)
{
	memset(sel, 0, sizeof(*sel));
	sel->command = command;
	const char *storage = NULL;
	bool hgrm = false; /* stats --hgrm: what chose this parser; nothing more to do */
	struct cli_option options[] = {
	    {"metric", 0, CLI_OPTION_TEXT, &sel->metric, NULL},
	    {"agent-type", 0, CLI_OPTION_TEXT, &sel->agent_type, NULL},
	    {"since", 0, CLI_OPTION_VALUE, &sel->since_s, parse_since_option},
	    {"files", 0, CLI_OPTION_FLAG, &sel->files, NULL},
	    {"storage", 0, CLI_OPTION_TEXT, &storage, NULL},
	    {"corrected", 0, CLI_OPTION_FLAG, &sel->corrected, NULL},
	    /* The output is the HdrHistogram text format either way. */
	    CLI_OPTION_JSON_ENTRY,
	    /* From here on, stats --hgrm's alone: hlog's table ends here. */
	    {"window", 0, CLI_OPTION_VALUE, &sel->since_s, parse_window_option},
	    {"hgrm", 0, CLI_OPTION_FLAG, &hgrm, NULL},
	    CLI_OPTION_END,
	};
	if (strcmp(command, "stats") != 0)
		options[7] = (struct cli_option)CLI_OPTION_END;
	const struct cli_options spec = {command, help, options, 0, false};
	int status = cli_parse_options(cli, &spec, argc, argv, NULL);
	if (status != CLI_PARSED)
		return status;
	if (storage) {
		snprintf(sel->storage_dir, sizeof(sel->storage_dir), "%s", storage);
		sel->files = true; /* a storage folder means the files */
	}
	if (sel->files && !sel->storage_dir[0])
		default_storage(sel->storage_dir, sizeof(sel->storage_dir));
	return CLI_PARSED;
}

/* Tag "<agent_type>/<metric>" (raw) or "<agent_type>/<metric>:corrected" against the selection. */
static bool selected(const struct selection *sel, const struct agp_hlog_entry *entry,
                     double absolute_start)
{
	if (!entry->has_tag)
		return false;
	const char *slash = strchr(entry->tag, '/');
	if (!slash)
		return false;
	const char *metric = slash + 1;
	size_t metric_length = strlen(metric);
	size_t suffix_length = strlen(AGP_HLOG_CORRECTED_SUFFIX);
	bool corrected =
	    metric_length > suffix_length &&
	    strcmp(metric + metric_length - suffix_length, AGP_HLOG_CORRECTED_SUFFIX) == 0;
	if (corrected != sel->corrected)
		return false;
	if (corrected)
		metric_length -= suffix_length;
	if (sel->metric &&
	    (strlen(sel->metric) != metric_length || strncmp(metric, sel->metric, metric_length)))
		return false;
	size_t type_length = (size_t)(slash - entry->tag);
	if (sel->agent_type && (strlen(sel->agent_type) != type_length ||
	                        strncmp(entry->tag, sel->agent_type, type_length)))
		return false;
	/* An interval counts when any part of it lies after --since. */
	return absolute_start + entry->length_s > sel->since_s;
}

typedef int (*entry_fn)(void *context, const struct agp_hlog_entry *entry, double absolute_start);

/* Calls fn for every selected interval of one log; label names it in messages. */
static int read_log(FILE *in, const char *label, const struct selection *sel, entry_fn fn,
                    void *context)
{
	struct agp_hlog_reader reader;
	agp_hlog_reader_init(&reader, in, 0);
	struct agp_hlog_entry entry;
	int result, error = 0;
	while ((result = agp_hlog_reader_next(&reader, &entry)) == 1) {
		double start = agp_hlog_absolute_start(&reader, &entry);
		if (selected(sel, &entry, start))
			error = fn(context, &entry, start);
		agp_hdr_destroy(entry.h);
		if (error)
			break;
	}
	if (result < 0) {
		fprintf(stderr, "agentperf: %s: %s\n", label, reader.error);
		error = result;
	}
	agp_hlog_reader_destroy(&reader);
	return error;
}

static int rotation_number(const char *path)
{
	const char *dot = strrchr(path, '.');
	return dot ? atoi(dot + 1) : 0;
}

static int compare_rotated(const void *a, const void *b)
{
	return rotation_number(*(char *const *)b) - rotation_number(*(char *const *)a);
}

/* The log files, rotated ones oldest first (highest number first), then the current one. */
static int read_files(const struct selection *sel, entry_fn fn, void *context)
{
	char pattern[AGP_CONFIG_PATH_MAX + 64], current[AGP_CONFIG_PATH_MAX + 64];
	snprintf(pattern, sizeof(pattern), "%s/%s/%s.*", sel->storage_dir, HLOG_FOLDER, HLOG_FILE);
	snprintf(current, sizeof(current), "%s/%s/%s", sel->storage_dir, HLOG_FOLDER, HLOG_FILE);
	glob_t files = {0};
	int result = glob(pattern, 0, NULL, &files);
	if (result != 0 && result != GLOB_NOMATCH)
		return -EIO;
	if (files.gl_pathc > 0) /* gl_pathv is NULL when nothing matched */
		qsort(files.gl_pathv, files.gl_pathc, sizeof(char *), compare_rotated);
	int error = 0;
	size_t read = 0;
	for (size_t f = 0; f <= files.gl_pathc && !error; f++) {
		const char *path = f < files.gl_pathc ? files.gl_pathv[f] : current;
		FILE *in = fopen(path, "r");
		if (!in)
			continue;
		read++;
		error = read_log(in, path, sel, fn, context);
		fclose(in);
	}
	globfree(&files);
	if (!error && read == 0) {
		fprintf(stderr,
		        "agentperf: no interval log under %s/%s (is "
		        "monitoring.export_metrics_to_file on?)\n",
		        sel->storage_dir, HLOG_FOLDER);
		return -ENOENT;
	}
	return error;
}

/* The daemon's export (verb hlog) of the selection. Returns an exit status. */
static int read_daemon(struct cli *cli, const struct selection *sel, entry_fn fn, void *context)
{
	json_t *args = json_object();
	if (sel->metric)
		json_object_set_new(args, "metric", json_string(sel->metric));
	if (sel->agent_type) /* only checked by the daemon: an unknown one is status 2 */
		json_object_set_new(args, "agent_type", json_string(sel->agent_type));
	if (sel->since_s > 0)
		json_object_set_new(args, "window_s", json_real(now_s() - sel->since_s));
	json_t *result = NULL;
	int status = cli_request_selection(cli, sel->command, "hlog", args, &result);
	json_decref(args);
	if (status != CLI_OK)
		return status;
	json_t *text = json_object_get(result, "hlog");
	if (!json_is_string(text)) {
		fprintf(stderr, "agentperf: the collector's hlog reply has no text\n");
		json_decref(result);
		return CLI_VIOLATED;
	}
	FILE *in = fmemopen((void *)json_string_value(text), json_string_length(text), "r");
	int error = in ? read_log(in, "the collector's export", sel, fn, context) : -ENOMEM;
	if (in)
		fclose(in);
	json_decref(result);
	return error ? CLI_VIOLATED : CLI_OK;
}

static int read_selection(struct cli *cli, const struct selection *sel, entry_fn fn, void *context)
{
	/* --since in the future selects nothing; the daemon's window_s cannot say so. */
	if (sel->since_s > now_s())
		return CLI_OK;
	if (sel->files)
		return read_files(sel, fn, context) ? CLI_VIOLATED : CLI_OK;
	return read_daemon(cli, sel, fn, context);
}

/* A nanosecond metric's Interval_Max is in ms (hlog_export.h): tell it by the ratio used. */
static bool is_nanoseconds(const struct agp_hlog_entry *entry)
{
	double highest = (double)agp_hdr_max_equivalent(entry->h);
	return entry->max > 0 && fabs(highest / 1e6 - entry->max) <= 1e-3 * highest / 1e6 + 1e-3;
}

/* Which histogram of which series, in words: the first line of every output says it. */
static void describe_selection(const struct selection *sel, char *out, size_t len)
{
	snprintf(out, len, "%s of %s%s: %s", sel->metric ? sel->metric : "every metric",
	         sel->agent_type ? "agent type " : "every agent type",
	         sel->agent_type ? sel->agent_type : "",
	         sel->corrected ? "coordinated-omission corrected histogram (HdrHistogram's "
	                          "expected-interval rule; Tag suffix " AGP_HLOG_CORRECTED_SUFFIX
	                          ")"
	                        : "raw histogram (as recorded, not corrected for coordinated "
	                          "omission)");
}

/* ---- agentperf hlog ---------------------------------------------------------------------- */

struct copy_context {
	FILE *out;
	bool header_written;
	bool untagged; /* one series selected: lines without Tag=, read without -tag */
	const struct selection *sel;
	double base_s;
	size_t intervals;
};

static int copy_interval(void *context, const struct agp_hlog_entry *entry, double absolute_start)
{
	struct copy_context *copy = context;
	if (!copy->header_written) {
		/* The first selected interval is the base; every start is relative to it. */
		copy->base_s = absolute_start;
		int64_t base_ms = (int64_t)llround(absolute_start * 1e3);
		char what[400], comment[512];
		describe_selection(copy->sel, what, sizeof(what));
		snprintf(comment, sizeof(comment), "agentperf hlog export, %s%s", what,
		         copy->untagged ? "; one series: untagged lines" : "");
		if (agp_hlog_write_header(copy->out, comment, base_ms, base_ms))
			return -EIO;
		copy->header_written = true;
	}
	copy->intervals++;
	return agp_hlog_write_interval(copy->out, copy->untagged ? NULL : entry->tag,
	                               absolute_start - copy->base_s, entry->length_s, entry->h,
	                               is_nanoseconds(entry) ? AGP_HLOG_NS_TO_MS : 1.0);
}

int cli_hlog(struct cli *cli, int argc, char **argv)
{
	struct selection sel;
	int status = parse_selection(cli, "hlog", hlog_help, argc, argv, &sel);
	if (status != CLI_PARSED)
		return status;
	struct copy_context copy = {
	    .out = stdout, .untagged = sel.metric && sel.agent_type, .sel = &sel};
	status = read_selection(cli, &sel, copy_interval, &copy);
	if (status != CLI_OK)
		return status;
	if (copy.intervals == 0) {
		fprintf(stderr, "agentperf hlog: no interval matches%s\n",
		        sel.corrected ? " (corrected histograms exist for metrics with an expected "
		                        "interval only)"
		                      : "");
		return CLI_VIOLATED;
	}
	return fflush(stdout) == 0 ? CLI_OK : CLI_VIOLATED;
}

/* ---- agentperf stats --hgrm -------------------------------------------------------------- */

struct merge_context {
	struct agp_hdr *merged;
	bool nanoseconds;
};

static int merge_interval(void *context, const struct agp_hlog_entry *entry, double absolute_start)
{
	(void)absolute_start;
	struct merge_context *merge = context;
	if (!merge->merged) {
		const struct agp_hdr_config *cfg = &entry->h->cfg;
		int error =
		    agp_hdr_create(cfg->lowest_discernible_value, cfg->highest_trackable_value,
		                   cfg->significant_figures, &merge->merged);
		if (error)
			return error;
		merge->nanoseconds = is_nanoseconds(entry);
	}
	return agp_hdr_merge(merge->merged, entry->h);
}

int cli_stats_hgrm(struct cli *cli, int argc, char **argv)
{
	struct selection sel;
	int status = parse_selection(cli, "stats", hgrm_help, argc, argv, &sel);
	if (status != CLI_PARSED)
		return status;
	if (!sel.metric)
		return cli_usage_error("stats", "--hgrm needs --metric M (one unit per table)");
	struct merge_context merge = {0};
	status = read_selection(cli, &sel, merge_interval, &merge);
	if (status == CLI_OK && !merge.merged) {
		fprintf(stderr, "agentperf stats --hgrm: no interval of %s matches%s\n", sel.metric,
		        sel.corrected ? " (corrected histograms exist for metrics with an expected "
		                        "interval only)"
		                      : "");
		status = CLI_VIOLATED;
	}
	/* A comment line first: the plotters and HdrHistogram's readers skip it. */
	char what[400];
	describe_selection(&sel, what, sizeof(what));
	if (status == CLI_OK && printf("# %s\n", what) < 0)
		status = CLI_VIOLATED;
	/* HdrHistogram's plotters read durations in ms: its default output ratio of 10^6. */
	if (status == CLI_OK &&
	    agp_hdr_print_percentiles(merge.merged, stdout, 5, merge.nanoseconds ? 1e6 : 1.0))
		status = CLI_VIOLATED;
	agp_hdr_destroy(merge.merged);
	return status;
}
