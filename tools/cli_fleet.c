/*
 * `agentperf fleet stats`: exact fleet-wide figures from the HDR interval histograms of many
 * hosts. Each source is one host: an agentperfd's GET /hlog (--from URL...) or an .hlog file
 * (--files F...). Every selected interval of a metric is merged, counts bucket by bucket, into
 * one histogram per metric, so the fleet's count, mean, percentiles and max are those one
 * collector would give had it received every sample (same layout, same rank rounding); averaging
 * per-host percentiles, or Prometheus's classic buckets, cannot give that.
 *
 * "Which host contributes the tail": the samples at or above the fleet's p99 (its bucket's
 * lowest value) are counted per source; the source with the most is named beside its share.
 *
 * Memory: one dense histogram per metric for the fleet and one for the source being read; a
 * finished source's histograms are kept in the sparse form (hdr/sparse.h), a few bytes per
 * occupied bucket, so a hundred hosts cost little more than one.
 */
#include "tools/cli_fleet.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tools/cli.h"
#include "tools/cli_options.h"
#include "hdr/interval_log.h"
#include "hdr/sparse.h"

/* agentperfd's /hlog answers hold at most 32 MiB (collector/export/http_hlog.h). */
#define ANSWER_MAX_BYTES (32u << 20)
#define HTTP_TIMEOUT_MS  10000
#define METRICS_MAX      64

static const char fleet_help[] =
    "Usage: agentperf fleet stats --from URL... | --files FILE...\n"
    "                             [--metric M] [--agent-type T] [--window W] [--json]\n"
    "Merges the HDR interval histograms of many hosts exactly and prints, per metric,\n"
    "the fleet-wide count, mean, p50, p95, p99, p99.9 and max, and the host with the most\n"
    "samples at or above the fleet's p99 (the tail).\n"
    "  --from URL...    agentperfd's HTTP listeners (http://HOST:PORT, GET /hlog on each)\n"
    "  --files FILE...  interval logs instead (.hlog, as `agentperf hlog` or /hlog write\n"
    "                   them, or <storage_dir>/hlog/agentperf.hlog), one host each\n"
    "  --metric M       one metric (default: every metric, one row each)\n"
    "  --agent-type T   only the series of agent type T\n"
    "  --window W       the windows that start within the last W (30s, 5m, 2h; default:\n"
    "                   everything the collectors retain, or the files hold)\n"
    "  --json           machine-readable output (values in ns, bytes or counts)\n"
    "Exit status: 0 ok, 1 no matching interval or a bad answer, 2 usage error (or a host\n"
    "refused the request as bad: the host's sentence is printed), 3 a host did not answer\n"
    "(the figures of the others are printed).\n";

enum unit_kind { UNIT_NANOSECONDS, UNIT_BYTES, UNIT_COUNT };

struct fleet_metric {
	char name[AGP_HLOG_TAG_MAX];
	enum unit_kind unit;
	struct agp_hdr *fleet;              /* every source's samples */
	struct agp_hdr *source;             /* the source being read */
	struct agp_sparse_hist **by_source; /* [source]: NULL where it had none */
};

struct fleet {
	const char *metric, *agent_type;
	double since_s; /* absolute Unix seconds; 0: everything */
	size_t source_count;
	char *const *sources;
	size_t current; /* the source being read */
	bool *answered; /* [source] */
	size_t intervals;
	size_t metric_count;
	struct fleet_metric metrics[METRICS_MAX];
};

static double now_s(void)
{
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	return (double)now.tv_sec + (double)now.tv_nsec / 1e9;
}

/*
 * The unit of an interval: a nanosecond metric's Interval_Max is written in milliseconds
 * (hlog_export.h), so it is the histogram's max over 10^6; memory_usage is in bytes.
 */
static enum unit_kind unit_of(const char *metric, const struct agp_hlog_entry *entry)
{
	double highest = (double)agp_hdr_max_equivalent(entry->h);
	if (entry->max > 0 && fabs(highest / 1e6 - entry->max) <= 1e-3 * highest / 1e6 + 1e-3)
		return UNIT_NANOSECONDS;
	return strcmp(metric, "memory_usage") == 0 ? UNIT_BYTES : UNIT_COUNT;
}

static const char *unit_name(enum unit_kind unit)
{
	return unit == UNIT_NANOSECONDS ? "nanoseconds" : unit == UNIT_BYTES ? "bytes" : "count";
}

static struct fleet_metric *metric_for(struct fleet *fleet, const char *name,
                                       const struct agp_hlog_entry *entry, int *error)
{
	for (size_t m = 0; m < fleet->metric_count; m++)
		if (strcmp(fleet->metrics[m].name, name) == 0)
			return &fleet->metrics[m];
	if (fleet->metric_count == METRICS_MAX) {
		*error = -E2BIG;
		fprintf(stderr, "agentperf fleet: more than %d metrics\n", METRICS_MAX);
		return NULL;
	}
	struct fleet_metric *metric = &fleet->metrics[fleet->metric_count];
	memset(metric, 0, sizeof(*metric));
	snprintf(metric->name, sizeof(metric->name), "%s", name);
	metric->unit = unit_of(name, entry);
	const struct agp_hdr_config *cfg = &entry->h->cfg;
	metric->by_source = calloc(fleet->source_count, sizeof(*metric->by_source));
	if (!metric->by_source ||
	    (*error = agp_hdr_create(cfg->lowest_discernible_value, cfg->highest_trackable_value,
	                             cfg->significant_figures, &metric->fleet)) ||
	    (*error = agp_hdr_create(cfg->lowest_discernible_value, cfg->highest_trackable_value,
	                             cfg->significant_figures, &metric->source))) {
		agp_hdr_destroy(metric->fleet);
		free(metric->by_source);
		*error = *error ? *error : -ENOMEM;
		return NULL;
	}
	fleet->metric_count++;
	return metric;
}

/* One interval of the current source: into its metric's histogram of the source. */
static int take_interval(struct fleet *fleet, const struct agp_hlog_entry *entry, double start_s)
{
	if (!entry->has_tag)
		return 0;
	const char *slash = strchr(entry->tag, '/');
	if (!slash)
		return 0;
	const char *name = slash + 1;
	size_t type_length = (size_t)(slash - entry->tag);
	if ((fleet->metric && strcmp(name, fleet->metric)) ||
	    (fleet->agent_type && (strlen(fleet->agent_type) != type_length ||
	                           strncmp(entry->tag, fleet->agent_type, type_length))))
		return 0;
	/* The windows that start at or after since, as /hlog?since= selects them. */
	if (fleet->since_s > 0 && start_s + 5e-4 < fleet->since_s)
		return 0;
	int error = 0;
	struct fleet_metric *metric = metric_for(fleet, name, entry, &error);
	if (!metric)
		return error;
	if ((error = agp_hdr_merge(metric->source, entry->h))) {
		fprintf(stderr, "agentperf fleet: %s: merging %s: %s\n",
		        fleet->sources[fleet->current], entry->tag, strerror(-error));
		return error;
	}
	fleet->intervals++;
	return 0;
}

/* Reads one source's .hlog text; label names it in messages. 0 or a negative errno. */
static int read_source(struct fleet *fleet, FILE *in, const char *label)
{
	struct agp_hlog_reader reader;
	agp_hlog_reader_init(&reader, in, 0);
	struct agp_hlog_entry entry;
	int result, error = 0;
	while ((result = agp_hlog_reader_next(&reader, &entry)) == 1) {
		error = take_interval(fleet, &entry, agp_hlog_absolute_start(&reader, &entry));
		agp_hdr_destroy(entry.h);
		if (error)
			break;
	}
	if (result < 0) {
		fprintf(stderr, "agentperf fleet: %s: %s\n", label, reader.error);
		error = result;
	}
	agp_hlog_reader_destroy(&reader);
	return error;
}

/*
 * The current source was read whole: its histograms join the fleet's and are kept in the
 * sparse form. A source that failed half-way is dropped instead (ok false), so that the
 * figures are those of whole hosts.
 */
static int finish_source(struct fleet *fleet, bool ok)
{
	int error = 0;
	for (size_t m = 0; m < fleet->metric_count; m++) {
		struct fleet_metric *metric = &fleet->metrics[m];
		if (ok && !error && agp_hdr_count(metric->source) > 0 &&
		    (error = agp_sparse_hist_encode(metric->source,
		                                    &metric->by_source[fleet->current])) == 0)
			error = agp_hdr_merge(metric->fleet, metric->source);
		agp_hdr_reset(metric->source);
	}
	return error;
}

/* One --from source. Returns an exit status for it (CLI_OK when it was read). */
static int fetch_source(struct fleet *fleet, const char *url)
{
	char query[600] = "";
	size_t used = 0;
	if (fleet->since_s > 0)
		used += (size_t)snprintf(query, sizeof(query), "since=%.3f", fleet->since_s);
	if (fleet->metric) /* metric names are [A-Za-z0-9_.-]: nothing to escape */
		snprintf(query + used, sizeof(query) - used, "%smetric=%s", used ? "&" : "",
		         fleet->metric);
	char *body = NULL, err[512];
	size_t length = 0;
	unsigned status = 0;
	int error = cli_fleet_http_get(url, query[0] ? query : NULL, ANSWER_MAX_BYTES,
	                               HTTP_TIMEOUT_MS, &status, &body, &length, err, sizeof(err));
	if (error) {
		fprintf(stderr, "agentperf fleet: %s\n", err);
		/* A bad url, or a request the host refused as bad (400): the user's to fix. */
		return error == -EHOSTUNREACH              ? CLI_UNREACHABLE
		       : error == -EINVAL || status == 400 ? CLI_USAGE
		                                           : CLI_VIOLATED;
	}
	FILE *in = fmemopen(body, length ? length : 1, "r");
	error = in ? read_source(fleet, in, url) : -ENOMEM;
	if (in)
		fclose(in);
	free(body);
	return error ? CLI_VIOLATED : CLI_OK;
}

static int read_file_source(struct fleet *fleet, const char *path)
{
	FILE *in = fopen(path, "r");
	if (!in) {
		fprintf(stderr, "agentperf fleet: cannot read %s: %s\n", path, strerror(errno));
		return CLI_VIOLATED;
	}
	int error = read_source(fleet, in, path);
	fclose(in);
	return error ? CLI_VIOLATED : CLI_OK;
}

/* ---- figures ----------------------------------------------------------------------------- */

struct source_figures {
	int64_t count, tail, p99, max;
};

/* A source's count, p99, max and samples at or above tail_from. */
static int source_figures(const struct fleet_metric *metric, size_t source, int64_t tail_from,
                          struct agp_hdr *scratch, struct source_figures *out)
{
	*out = (struct source_figures){0};
	if (!metric->by_source[source])
		return 0;
	agp_hdr_reset(scratch);
	int error = agp_sparse_hist_merge_into(metric->by_source[source], scratch);
	if (error)
		return error;
	out->count = agp_hdr_count(scratch);
	out->p99 = agp_hdr_value_at_percentile(scratch, 99.0);
	out->max = agp_hdr_max(scratch);
	struct agp_hdr_iter it;
	agp_hdr_iter_init(&it, scratch);
	while (agp_hdr_iter_next(&it))
		if (it.value >= tail_from)
			out->tail += it.count;
	return 0;
}

static const double percentiles[] = {50.0, 95.0, 99.0, 99.9};
static const char *const percentile_keys[] = {"p50", "p95", "p99", "p99_9"};
#define PERCENTILE_COUNT 4

/* The figures of one metric as JSON: fleet-wide, per source, and the tail. */
static json_t *metric_json(const struct fleet *fleet, const struct fleet_metric *metric,
                           struct agp_hdr *scratch, size_t *tail_source)
{
	const struct agp_hdr *h = metric->fleet;
	json_t *figures = json_pack("{s:s, s:s, s:I, s:f, s:I, s:I}", "metric", metric->name,
	                            "unit", unit_name(metric->unit), "count",
	                            (json_int_t)agp_hdr_count(h), "mean", agp_hdr_mean(h), "min",
	                            (json_int_t)agp_hdr_min(h), "max", (json_int_t)agp_hdr_max(h));
	if (!figures)
		return NULL;
	for (size_t p = 0; p < PERCENTILE_COUNT; p++)
		json_object_set_new(figures, percentile_keys[p],
		                    json_integer(agp_hdr_value_at_percentile(h, percentiles[p])));
	int64_t tail_from = agp_hdr_lowest_equivalent(h, agp_hdr_value_at_percentile(h, 99.0));
	json_t *hosts = json_array();
	int64_t tail_total = 0, tail_most = -1;
	*tail_source = SIZE_MAX;
	for (size_t s = 0; s < fleet->source_count; s++) {
		struct source_figures f;
		if (!fleet->answered[s] || !metric->by_source[s] ||
		    source_figures(metric, s, tail_from, scratch, &f))
			continue;
		json_array_append_new(
		    hosts, json_pack("{s:s, s:I, s:I, s:I, s:I}", "source", fleet->sources[s],
		                     "count", (json_int_t)f.count, "p99", (json_int_t)f.p99, "max",
		                     (json_int_t)f.max, "tail", (json_int_t)f.tail));
		tail_total += f.tail;
		if (f.tail > tail_most) {
			tail_most = f.tail;
			*tail_source = s;
		}
	}
	json_object_set_new(figures, "hosts", hosts);
	json_object_set_new(figures, "tail",
	                    json_pack("{s:I, s:I, s:o, s:I}", "from", (json_int_t)tail_from,
	                              "count", (json_int_t)tail_total, "source",
	                              *tail_source == SIZE_MAX
	                                  ? json_null()
	                                  : json_string(fleet->sources[*tail_source]),
	                              "source_count", (json_int_t)(tail_most > 0 ? tail_most : 0)));
	return figures;
}

static void print_table(const json_t *metrics)
{
	static const char *const header[] = {"metric", "count", "mean", "p50",          "p95",
	                                     "p99",    "p99.9", "max",  "tail (>= p99)"};
	struct cli_table *table = cli_table_new(9, header);
	size_t m;
	json_t *figures;
	json_array_foreach(metrics, m, figures)
	{
		const char *unit = cli_str(figures, "unit");
		char cells[9][CLI_CELL_MAX * 4];
		snprintf(cells[0], sizeof(cells[0]), "%s", cli_str(figures, "metric"));
		snprintf(cells[1], sizeof(cells[1]), "%.0f", cli_num(figures, "count"));
		cli_format_value(cli_num(figures, "mean"), unit, cells[2], sizeof(cells[2]));
		for (size_t p = 0; p < PERCENTILE_COUNT; p++)
			cli_format_value(cli_num(figures, percentile_keys[p]), unit, cells[3 + p],
			                 sizeof(cells[3 + p]));
		cli_format_value(cli_num(figures, "max"), unit, cells[7], sizeof(cells[7]));
		const json_t *tail = json_object_get(figures, "tail");
		double tail_count = cli_num(tail, "count"), most = cli_num(tail, "source_count");
		if (tail_count > 0)
			snprintf(cells[8], sizeof(cells[8]), "%s (%.0f of %.0f, %.0f%%)",
			         cli_str(tail, "source"), most, tail_count,
			         100.0 * most / tail_count);
		else
			snprintf(cells[8], sizeof(cells[8]), "-");
		const char *row[9];
		for (size_t c = 0; c < 9; c++)
			row[c] = cells[c];
		cli_table_add(table, row);
	}
	cli_table_print(table, stdout);
	cli_table_free(table);
}

static int report(struct cli *cli, const struct fleet *fleet, int status)
{
	json_t *metrics = json_array();
	struct agp_hdr *scratch = NULL;
	for (size_t m = 0; m < fleet->metric_count; m++) {
		const struct fleet_metric *metric = &fleet->metrics[m];
		if (agp_hdr_count(metric->fleet) == 0)
			continue;
		const struct agp_hdr_config *cfg = &metric->fleet->cfg;
		agp_hdr_destroy(scratch);
		scratch = NULL;
		size_t tail_source;
		json_t *figures = NULL;
		if (agp_hdr_create(cfg->lowest_discernible_value, cfg->highest_trackable_value,
		                   cfg->significant_figures, &scratch) == 0)
			figures = metric_json(fleet, metric, scratch, &tail_source);
		if (!figures) {
			fprintf(stderr, "agentperf fleet: out of memory\n");
			status = CLI_VIOLATED;
			break;
		}
		json_array_append_new(metrics, figures);
	}
	agp_hdr_destroy(scratch);
	size_t answered = 0;
	json_t *sources = json_array();
	for (size_t s = 0; s < fleet->source_count; s++) {
		answered += fleet->answered[s];
		json_array_append_new(sources, json_pack("{s:s, s:b}", "source", fleet->sources[s],
		                                         "answered", fleet->answered[s]));
	}
	if (json_array_size(metrics) == 0 && status == CLI_OK) {
		fprintf(stderr, "agentperf fleet stats: no interval%s%s matches\n",
		        fleet->metric ? " of " : "", fleet->metric ? fleet->metric : "");
		status = CLI_VIOLATED;
	}
	if (cli->json) {
		json_t *out =
		    json_pack("{s:o, s:I, s:I, s:o, s:o}", "sources", sources, "answered",
		              (json_int_t)answered, "intervals", (json_int_t)fleet->intervals,
		              "since", fleet->since_s > 0 ? json_real(fleet->since_s) : json_null(),
		              "metrics", metrics);
		cli_print_json(out);
		json_decref(out);
	} else {
		printf("fleet: %zu of %zu sources answered, %zu intervals merged\n", answered,
		       fleet->source_count, fleet->intervals);
		if (json_array_size(metrics))
			print_table(metrics);
		json_decref(metrics);
		json_decref(sources);
	}
	return status;
}

static void fleet_free(struct fleet *fleet)
{
	for (size_t m = 0; m < fleet->metric_count; m++) {
		struct fleet_metric *metric = &fleet->metrics[m];
		for (size_t s = 0; s < fleet->source_count; s++)
			if (metric->by_source[s])
				agp_sparse_hist_unref(metric->by_source[s]);
		free(metric->by_source);
		agp_hdr_destroy(metric->fleet);
		agp_hdr_destroy(metric->source);
	}
	free(fleet->answered);
}

/* --window D: the windows that start within the last D. */
static const char *parse_window(const char *value, void *since_s)
{
	double seconds;
	if (cli_parse_duration(value, &seconds) || !(seconds > 0))
		return "is not a duration (30s, 5m, 2h)";
	*(double *)since_s = now_s() - seconds;
	return NULL;
}

static int fleet_stats(struct cli *cli, int argc, char **argv)
{
	struct fleet fleet = {0};
	bool from = false, files = false;
	struct cli_option options[] = {
	    {"from", 0, CLI_OPTION_FLAG, &from, NULL},
	    {"files", 0, CLI_OPTION_FLAG, &files, NULL},
	    {"metric", 0, CLI_OPTION_TEXT, &fleet.metric, NULL},
	    {"agent-type", 0, CLI_OPTION_TEXT, &fleet.agent_type, NULL},
	    {"window", 0, CLI_OPTION_VALUE, &fleet.since_s, parse_window},
	    CLI_OPTION_JSON_ENTRY,
	    CLI_OPTION_END,
	};
	const struct cli_options spec = {"fleet stats", fleet_help, options, -1, false};
	int first = 0;
	int status = cli_parse_options(cli, &spec, argc, argv, &first);
	if (status != CLI_PARSED)
		return status;
	if (from == files)
		return cli_usage_error("fleet stats",
		                       "give either --from URL... or --files FILE...");
	if (first >= argc)
		return cli_usage_error("fleet stats", "%s needs at least one %s",
		                       from ? "--from" : "--files", from ? "URL" : "FILE");
	if (fleet.metric && strpbrk(fleet.metric, "&=?#% /"))
		return cli_usage_error("fleet stats", "--metric '%s' is not a metric name",
		                       fleet.metric);
	fleet.sources = argv + first;
	fleet.source_count = (size_t)(argc - first);
	fleet.answered = calloc(fleet.source_count, sizeof(*fleet.answered));
	if (!fleet.answered)
		return CLI_VIOLATED;
	status = CLI_OK;
	for (size_t s = 0; s < fleet.source_count; s++) {
		fleet.current = s;
		const char *source = fleet.sources[s];
		int source_status =
		    from ? fetch_source(&fleet, source) : read_file_source(&fleet, source);
		if (finish_source(&fleet, source_status == CLI_OK) == 0)
			fleet.answered[s] = source_status == CLI_OK;
		else
			source_status = CLI_VIOLATED;
		/* The worst reason wins: usage, then unreachable, then a bad answer. */
		if (source_status == CLI_USAGE ||
		    (source_status == CLI_UNREACHABLE && status != CLI_USAGE) ||
		    (source_status == CLI_VIOLATED && status == CLI_OK))
			status = source_status;
	}
	status = report(cli, &fleet, status);
	fleet_free(&fleet);
	return status;
}

int cli_fleet(struct cli *cli, int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "stats") == 0)
		return fleet_stats(cli, argc - 1, argv + 1);
	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		fputs(fleet_help, stdout);
		return CLI_OK;
	}
	return cli_usage_error("fleet", "expected 'stats' (agentperf fleet stats --help)");
}
