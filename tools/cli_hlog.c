#include "cli_hlog.h"

#include <errno.h>
#include <getopt.h>
#include <glob.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "collector/config.h"
#include "collector/hdr_log.h"
#include "collector/hdr_print.h"

#define HLOG_FOLDER "hlog"
#define HLOG_FILE   "agentperf.hlog"

struct selection {
	const char *metric;
	const char *agent_type;
	double since_s; /* absolute Unix seconds; 0 = everything */
	char storage_dir[AGP_CONFIG_PATH_MAX + 1];
};

static int usage_error(const char *command, const char *message, const char *value)
{
	fprintf(stderr, "agentperf %s: %s%s%s\n", command, message, value ? " " : "",
	        value ? value : "");
	fprintf(stderr,
	        "usage: agentperf %s [--metric M] [--agent-type T] [--since T] "
	        "[--storage DIR]\n",
	        command);
	return 2;
}

/* "30s", "15m", "2h", "1d": that long before now; a plain number: Unix seconds. */
static int parse_since(const char *text, double *since_s)
{
	char *end;
	errno = 0;
	double value = strtod(text, &end);
	if (errno || end == text || !(value >= 0) || !isfinite(value))
		return -EINVAL;
	double scale;
	switch (*end) {
	case '\0':
		*since_s = value;
		return 0;
	case 's':
		scale = 1;
		break;
	case 'm':
		scale = 60;
		break;
	case 'h':
		scale = 3600;
		break;
	case 'd':
		scale = 86400;
		break;
	default:
		return -EINVAL;
	}
	if (end[1])
		return -EINVAL;
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	*since_s = (double)now.tv_sec + (double)now.tv_nsec / 1e9 - value * scale;
	return 0;
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

static int parse_selection(const char *command, int argc, char **argv, struct selection *sel)
{
	enum { OPT_METRIC = 256, OPT_TYPE, OPT_SINCE, OPT_STORAGE, OPT_HGRM };
	static const struct option longs[] = {
	    {"metric", required_argument, NULL, OPT_METRIC},
	    {"agent-type", required_argument, NULL, OPT_TYPE},
	    {"since", required_argument, NULL, OPT_SINCE},
	    {"storage", required_argument, NULL, OPT_STORAGE},
	    {"hgrm", no_argument, NULL, OPT_HGRM},
	    {NULL, 0, NULL, 0},
	};
	memset(sel, 0, sizeof(*sel));
	default_storage(sel->storage_dir, sizeof(sel->storage_dir));
	optind = 1;
	opterr = 0;
	int option;
	while ((option = getopt_long(argc, argv, "", longs, NULL)) != -1) {
		switch (option) {
		case OPT_METRIC:
			sel->metric = optarg;
			break;
		case OPT_TYPE:
			sel->agent_type = optarg;
			break;
		case OPT_SINCE:
			if (parse_since(optarg, &sel->since_s))
				return usage_error(
				    command, "--since wants 30s, 15m, 2h, 1d or Unix seconds, not",
				    optarg);
			break;
		case OPT_STORAGE:
			snprintf(sel->storage_dir, sizeof(sel->storage_dir), "%s", optarg);
			break;
		case OPT_HGRM:
			break;
		default:
			return usage_error(command, "unknown option", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return usage_error(command, "unexpected argument", argv[optind]);
	return 0;
}

/* Tag "<agent_type>/<metric>" against the selection. */
static bool selected(const struct selection *sel, const struct agp_hlog_entry *entry,
                     double absolute_start)
{
	if (!entry->has_tag)
		return false;
	const char *slash = strchr(entry->tag, '/');
	if (!slash)
		return false;
	if (sel->metric && strcmp(slash + 1, sel->metric) != 0)
		return false;
	if (sel->agent_type && (strlen(sel->agent_type) != (size_t)(slash - entry->tag) ||
	                        strncmp(entry->tag, sel->agent_type, (size_t)(slash - entry->tag))))
		return false;
	/* An interval counts when any part of it lies after --since. */
	return absolute_start + entry->length_s > sel->since_s;
}

/* Rotated files oldest first (highest number first), then the current file. */
static int log_files(const struct selection *sel, glob_t *files, char *current, size_t len)
{
	char pattern[AGP_CONFIG_PATH_MAX + 64];
	snprintf(pattern, sizeof(pattern), "%s/%s/%s.*", sel->storage_dir, HLOG_FOLDER, HLOG_FILE);
	snprintf(current, len, "%s/%s/%s", sel->storage_dir, HLOG_FOLDER, HLOG_FILE);
	int result = glob(pattern, 0, NULL, files);
	if (result != 0 && result != GLOB_NOMATCH)
		return -EIO;
	return 0;
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

typedef int (*entry_fn)(void *context, const struct agp_hlog_entry *entry, double absolute_start);

/* Calls fn for every selected interval of every log file, oldest first. */
static int for_each_interval(const struct selection *sel, entry_fn fn, void *context,
                             size_t *files_read)
{
	glob_t files = {0};
	char current[AGP_CONFIG_PATH_MAX + 64];
	if (log_files(sel, &files, current, sizeof(current)))
		return -EIO;
	if (files.gl_pathc > 0) /* gl_pathv is NULL when nothing matched */
		qsort(files.gl_pathv, files.gl_pathc, sizeof(char *), compare_rotated);
	int error = 0;
	*files_read = 0;
	for (size_t f = 0; f <= files.gl_pathc && !error; f++) {
		const char *path = f < files.gl_pathc ? files.gl_pathv[f] : current;
		FILE *in = fopen(path, "r");
		if (!in)
			continue;
		(*files_read)++;
		struct agp_hlog_reader reader;
		agp_hlog_reader_init(&reader, in, 0);
		struct agp_hlog_entry entry;
		int result;
		while ((result = agp_hlog_reader_next(&reader, &entry)) == 1) {
			double start = agp_hlog_absolute_start(&reader, &entry);
			if (selected(sel, &entry, start))
				error = fn(context, &entry, start);
			agp_hdr_destroy(entry.h);
			if (error)
				break;
		}
		if (result < 0) {
			fprintf(stderr, "agentperf: %s: %s\n", path, reader.error);
			error = result;
		}
		agp_hlog_reader_destroy(&reader);
		fclose(in);
	}
	globfree(&files);
	return error;
}

/* ---- agentperf hlog ---------------------------------------------------------------------- */

struct copy_context {
	FILE *out;
	bool header_written;
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
		if (agp_hlog_write_header(copy->out, "agentperf hlog export", base_ms, base_ms))
			return -EIO;
		copy->header_written = true;
	}
	/* Interval_Max was written in ms for nanosecond metrics: keep whichever ratio it used. */
	double highest = (double)agp_hdr_max_equivalent(entry->h);
	double divisor = 1.0;
	if (entry->max > 0 && fabs(highest / 1e6 - entry->max) <= 1e-3 * highest / 1e6 + 1e-3)
		divisor = 1e6;
	copy->intervals++;
	return agp_hlog_write_interval(copy->out, entry->tag, absolute_start - copy->base_s,
	                               entry->length_s, entry->h, divisor);
}

int agp_cli_hlog(int argc, char **argv)
{
	struct selection sel;
	int status = parse_selection("hlog", argc, argv, &sel);
	if (status)
		return status;
	struct copy_context copy = {.out = stdout};
	size_t files = 0;
	int error = for_each_interval(&sel, copy_interval, &copy, &files);
	if (error)
		return 1;
	if (files == 0) {
		fprintf(stderr,
		        "agentperf hlog: no interval log under %s/%s (is "
		        "monitoring.export_metrics_to_file on?)\n",
		        sel.storage_dir, HLOG_FOLDER);
		return 1;
	}
	if (copy.intervals == 0) {
		fprintf(stderr, "agentperf hlog: no interval matches\n");
		return 1;
	}
	return fflush(stdout) == 0 ? 0 : 1;
}

/* ---- agentperf stats --hgrm -------------------------------------------------------------- */

struct merge_context {
	struct agp_hdr *merged;
	bool nanoseconds;
	size_t intervals;
	int error;
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
		double highest = (double)agp_hdr_max_equivalent(entry->h);
		merge->nanoseconds = entry->max > 0 && fabs(highest / 1e6 - entry->max) <=
		                                           1e-3 * highest / 1e6 + 1e-3;
	}
	merge->intervals++;
	return agp_hdr_merge(merge->merged, entry->h);
}

int agp_cli_print_hgrm(FILE *out, const struct agp_hdr *h, bool nanoseconds)
{
	return agp_hdr_print_percentiles(h, out, 5, nanoseconds ? 1e6 : 1.0);
}

int agp_cli_stats_hgrm(int argc, char **argv)
{
	struct selection sel;
	int status = parse_selection("stats", argc, argv, &sel);
	if (status)
		return status;
	if (!sel.metric)
		return usage_error("stats", "--hgrm needs --metric M (one unit per table)", NULL);
	struct merge_context merge = {0};
	size_t files = 0;
	int error = for_each_interval(&sel, merge_interval, &merge, &files);
	if (!error && !merge.merged) {
		fprintf(stderr, "agentperf stats --hgrm: no interval of %s under %s/%s\n",
		        sel.metric, sel.storage_dir, HLOG_FOLDER);
		error = -ENOENT;
	}
	if (!error)
		error = agp_cli_print_hgrm(stdout, merge.merged, merge.nanoseconds);
	agp_hdr_destroy(merge.merged);
	return error ? 1 : 0;
}
