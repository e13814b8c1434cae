/* fopencookie, vasprintf: _GNU_SOURCE, which the build defines for every file. */
#include "collector/export/http_hlog.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <agentperf/metrics.h>

#include "collector/export/hlog_export.h"
#include "hdr/interval_log.h"

#define TEXT_PLAIN "text/plain; charset=utf-8"

/* Answers being built now, across libmicrohttpd's threads. */
static atomic_uint renders_in_flight;

static int answer_text(struct agp_http_answer *answer, unsigned status, const char *format, ...)
    __attribute__((format(printf, 3, 4)));
static int answer_text(struct agp_http_answer *answer, unsigned status, const char *format, ...)
{
	va_list args;
	va_start(args, format);
	char *body = NULL;
	int length = vasprintf(&body, format, args);
	va_end(args);
	if (length < 0)
		return -ENOMEM;
	*answer = (struct agp_http_answer){status, TEXT_PLAIN, body, (size_t)length};
	return 0;
}

/* ---- the query ------------------------------------------------------------------------- */

struct query {
	const char *since;
	const char *metric;
	char problem[320]; /* the first thing wrong with the query, "" when none */
};

static enum MHD_Result take_parameter(void *context, enum MHD_ValueKind kind, const char *key,
                                      const char *value)
{
	(void)kind;
	struct query *query = context;
	if (query->problem[0])
		return MHD_NO;
	const char **slot = strcmp(key, "since") == 0    ? &query->since
	                    : strcmp(key, "metric") == 0 ? &query->metric
	                                                 : NULL;
	if (!slot)
		snprintf(query->problem, sizeof(query->problem),
		         "/hlog: unknown parameter '%.64s' (it takes since and metric)\n", key);
	else if (*slot)
		snprintf(query->problem, sizeof(query->problem),
		         "/hlog: parameter '%s' is given twice\n", key);
	else if (!value || !value[0])
		snprintf(query->problem, sizeof(query->problem), "/hlog: parameter '%s' is empty\n",
		         key);
	else
		*slot = value;
	return query->problem[0] ? MHD_NO : MHD_YES;
}

/*
 * since on the deployment clock: "30s", "15m", "2h", "1d" before the snapshot was taken, or
 * Unix seconds converted by the snapshot's clock pair. 0, or -EINVAL.
 */
static int parse_since(const char *text, const struct agp_snapshot *snapshot, uint64_t *since_ns)
{
	char *end;
	errno = 0;
	double value = strtod(text, &end);
	if (errno || end == text || !(value >= 0) || !isfinite(value))
		return -EINVAL;
	double before_s;
	switch (*end) {
	case '\0':
		before_s = (double)snapshot->taken_wall_ms / 1e3 - value;
		break;
	case 's':
		before_s = value;
		break;
	case 'm':
		before_s = value * 60;
		break;
	case 'h':
		before_s = value * 3600;
		break;
	case 'd':
		before_s = value * 86400;
		break;
	default:
		return -EINVAL;
	}
	if (*end && end[1])
		return -EINVAL;
	double since = (double)snapshot->taken_ns - before_s * 1e9;
	/* A since after now selects nothing; one before the clock's start, everything. */
	*since_ns = since <= 0 ? 0 : since >= 1.8e19 ? UINT64_MAX : (uint64_t)since;
	return 0;
}

static bool metric_known(const struct agp_collector *collector, const struct agp_snapshot *snapshot,
                         const char *metric)
{
	for (unsigned id = 0; id < AGP_METRIC_FIRST_CUSTOM; id++) {
		const char *name = agp_builtin_metric_name(id);
		if (name && strcmp(name, metric) == 0)
			return true;
	}
	for (size_t m = 0; m < collector->config.metric_count; m++)
		if (strcmp(collector->config.metrics[m].name, metric) == 0)
			return true;
	for (size_t s = 0; s < snapshot->series_count; s++)
		if (strcmp(snapshot->series[s].metric, metric) == 0)
			return true;
	return false;
}

/* The i-th name a client may ask for: the built-in metrics, then those of the series. */
static const char *candidate_metric(const struct agp_snapshot *snapshot, size_t i)
{
	return i < AGP_METRIC_FIRST_CUSTOM ? agp_builtin_metric_name((unsigned)i)
	                                   : snapshot->series[i - AGP_METRIC_FIRST_CUSTOM].metric;
}

/* The names a client may ask for, once each (quadratic, but only on a refusal). */
static void known_metrics(const struct agp_snapshot *snapshot, char *out, size_t len)
{
	size_t used = 0;
	out[0] = '\0';
	size_t count = AGP_METRIC_FIRST_CUSTOM + snapshot->series_count;
	for (size_t i = 0; i < count; i++) {
		const char *name = candidate_metric(snapshot, i);
		bool seen = !name || !name[0];
		for (size_t j = 0; j < i && !seen; j++)
			seen = candidate_metric(snapshot, j) &&
			       strcmp(candidate_metric(snapshot, j), name) == 0;
		if (seen)
			continue;
		int wrote = snprintf(out + used, len - used, "%s%s", used ? ", " : "", name);
		if (wrote < 0 || (size_t)wrote >= len - used) {
			snprintf(out + (used + 6 < len ? used : len - 6), 6, ", ...");
			return;
		}
		used += (size_t)wrote;
	}
}

/* ---- a memory stream that refuses to grow past its bound ------------------------------- */

struct bounded_buffer {
	char *data;
	size_t length, capacity, bound;
	bool over; /* a write went past the bound */
};

static ssize_t bounded_write(void *cookie, const char *bytes, size_t size)
{
	struct bounded_buffer *buffer = cookie;
	if (size > buffer->bound - buffer->length) {
		buffer->over = true;
		errno = EFBIG;
		return -1;
	}
	if (buffer->length + size + 1 > buffer->capacity) {
		size_t capacity = buffer->capacity ? buffer->capacity : 65536;
		while (capacity < buffer->length + size + 1)
			capacity *= 2;
		char *grown = realloc(buffer->data, capacity);
		if (!grown) {
			errno = ENOMEM;
			return -1;
		}
		buffer->data = grown;
		buffer->capacity = capacity;
	}
	memcpy(buffer->data + buffer->length, bytes, size);
	buffer->length += size;
	buffer->data[buffer->length] = '\0';
	return (ssize_t)size;
}

/*
 * The .hlog text of metric (NULL: all) since since_ns into buffer, as agp_hlog_export_layout()
 * writes it, but stopping at the buffer's bound. 0, -EFBIG (over the bound) or -errno.
 */
static int render_log(const struct agp_snapshot *snapshot, const char *metric, uint64_t since_ns,
                      struct bounded_buffer *buffer)
{
	struct agp_hdr *scratch = NULL;
	int error = agp_snapshot_histogram_create(snapshot, &scratch);
	if (error)
		return error;
	FILE *out = fopencookie(buffer, "w", (cookie_io_functions_t){.write = bounded_write});
	if (!out) {
		error = -ENOMEM;
		goto destroy_scratch;
	}
	/* BaseTime: the start of the oldest window shown, so start times read as offsets. */
	uint64_t base_ns = snapshot->taken_ns;
	for (size_t s = 0; s < snapshot->series_count; s++)
		for (size_t w = 0; w < snapshot->series[s].window_count; w++) {
			uint64_t start = snapshot->series[s].windows[w].start_ns;
			if (start >= since_ns && start < base_ns)
				base_ns = start;
		}
	int64_t base_ms = agp_hlog_wall_ms(snapshot, base_ns);
	char comment[160];
	snprintf(comment, sizeof(comment), "agentperf deployment %s, metric %s",
	         snapshot->deployment, metric ? metric : "(all)");
	error = agp_hlog_write_header(out, comment, base_ms, base_ms);
	if (!error) {
		int lines = agp_hlog_write_windows(out, snapshot, metric, since_ns, true, base_ns,
		                                   scratch, NULL);
		error = lines < 0 ? lines : 0;
	}
	if (fclose(out) != 0 && !error)
		error = -EIO;
	if (buffer->over)
		error = -EFBIG;
destroy_scratch:
	agp_hdr_destroy(scratch);
	return error;
}

/* ---- the request ----------------------------------------------------------------------- */

static int answer_snapshot(const struct query *query, struct agp_collector *collector,
                           const struct agp_snapshot *snapshot, struct agp_http_answer *answer)
{
	uint64_t since_ns = 0;
	if (query->since && parse_since(query->since, snapshot, &since_ns))
		return answer_text(answer, MHD_HTTP_BAD_REQUEST,
		                   "/hlog: since '%.64s' is not 30s, 15m, 2h, 1d (before now) or "
		                   "Unix seconds\n",
		                   query->since);
	if (query->metric && !metric_known(collector, snapshot, query->metric)) {
		char known[400];
		known_metrics(snapshot, known, sizeof(known));
		return answer_text(answer, MHD_HTTP_BAD_REQUEST,
		                   "/hlog: no metric '%.64s'; known: %s\n", query->metric, known);
	}
	struct bounded_buffer buffer = {.bound = AGP_HTTP_HLOG_MAX_BYTES};
	int error = render_log(snapshot, query->metric, since_ns, &buffer);
	if (error == -EFBIG) {
		free(buffer.data);
		return answer_text(answer, MHD_HTTP_BAD_REQUEST,
		                   "/hlog: the log of metric %s since %s is larger than the %u MiB "
		                   "an answer may hold; ask for a later since or one metric\n",
		                   query->metric ? query->metric : "(all)",
		                   query->since ? query->since : "(the whole retention)",
		                   AGP_HTTP_HLOG_MAX_BYTES >> 20);
	}
	if (error) {
		free(buffer.data);
		return answer_text(answer, MHD_HTTP_INTERNAL_SERVER_ERROR,
		                   "/hlog: writing the log failed (%s)\n", strerror(-error));
	}
	*answer = (struct agp_http_answer){MHD_HTTP_OK, TEXT_PLAIN, buffer.data, buffer.length};
	return 0;
}

int agp_http_hlog_answer(struct MHD_Connection *connection, struct agp_collector *collector,
                         struct agp_http_answer *answer)
{
	struct query query = {0};
	MHD_get_connection_values(connection, MHD_GET_ARGUMENT_KIND, take_parameter, &query);
	if (query.problem[0])
		return answer_text(answer, MHD_HTTP_BAD_REQUEST, "%s", query.problem);
	/*
	 * relaxed: the counter only bounds how many answers are built at once; it orders
	 * nothing else (each answer reads its own RCU snapshot).
	 */
	unsigned before = atomic_fetch_add_explicit(&renders_in_flight, 1, memory_order_relaxed);
	int error;
	if (before >= AGP_HTTP_HLOG_RENDERS) {
		error = answer_text(answer, MHD_HTTP_SERVICE_UNAVAILABLE,
		                    "/hlog: %u answers are being built already; try again\n",
		                    AGP_HTTP_HLOG_RENDERS);
		goto leave;
	}
	/* The newest published snapshot, as /metrics reads it: the drain is never asked. */
	const struct agp_snapshot *snapshot = agp_snapshot_read_begin(collector);
	if (snapshot)
		error = answer_snapshot(&query, collector, snapshot, answer);
	else
		error = answer_text(answer, MHD_HTTP_SERVICE_UNAVAILABLE,
		                    "/hlog: the collector has published nothing yet\n");
	agp_snapshot_read_end(snapshot);
leave:
	/* relaxed: see the increment. */
	atomic_fetch_sub_explicit(&renders_in_flight, 1, memory_order_relaxed);
	return error;
}
