/*
 * Writer and reader of HdrHistogram interval logs (format in hdr_log.h).
 */
#include "hdr/interval_log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#include "hdr/codec.h"

static const char legend[] =
    "\"StartTimestamp\",\"Interval_Length\",\"Interval_Max\",\"Interval_Compressed_Histogram\"";

int agp_hlog_write_header(FILE *out, const char *comment, int64_t start_time_ms,
                          int64_t base_time_ms)
{
	char date[64] = "";
	time_t seconds = (time_t)(start_time_ms / 1000);
	struct tm tm;

	/* Java prints Date.toString(): "EEE MMM dd HH:mm:ss zzz yyyy"; we print it in UTC. */
	if (gmtime_r(&seconds, &tm))
		strftime(date, sizeof(date), "%a %b %d %H:%M:%S UTC %Y", &tm);
	if (fprintf(out, "#[Histogram log format version 1.3]\n") < 0)
		return -EIO;
	if (comment && fprintf(out, "#%s\n", comment) < 0)
		return -EIO;
	if (fprintf(out, "#[StartTime: %.3f (seconds since epoch), %s]\n",
	            (double)start_time_ms / 1000.0, date) < 0 ||
	    fprintf(out, "#[BaseTime: %.3f (seconds since epoch)]\n",
	            (double)base_time_ms / 1000.0) < 0 ||
	    fprintf(out, "%s\n", legend) < 0)
		return -EIO;
	return 0;
}

static bool tag_ok(const char *tag)
{
	size_t n = strlen(tag);

	if (n == 0 || n >= AGP_HLOG_TAG_MAX)
		return false;
	for (const unsigned char *p = (const unsigned char *)tag; *p; p++)
		if (*p == ',' || *p <= ' ' || *p == 0x7f)
			return false;
	return true;
}

int agp_hlog_write_interval(FILE *out, const char *tag, double start_s, double length_s,
                            const struct agp_hdr *h, double max_value_divisor)
{
	char *text;
	int rc;

	if ((tag && !tag_ok(tag)) || !(max_value_divisor > 0.0))
		return -EINVAL;
	/* Java's log writer deflates at BEST_COMPRESSION. */
	rc = agp_hdr_encode_base64(h, Z_BEST_COMPRESSION, &text);
	if (rc)
		return rc;
	if ((tag && fprintf(out, "Tag=%s,", tag) < 0) ||
	    fprintf(out, "%.3f,%.3f,%.3f,%s\n", start_s, length_s,
	            (double)agp_hdr_max_equivalent(h) / max_value_divisor, text) < 0)
		rc = -EIO;
	free(text);
	return rc;
}

void agp_hlog_reader_init(struct agp_hlog_reader *r, FILE *in, size_t max_memory)
{
	memset(r, 0, sizeof(*r));
	r->in = in;
	r->max_memory = max_memory;
}

void agp_hlog_reader_destroy(struct agp_hlog_reader *r)
{
	free(r->line);
	r->line = NULL;
}

static int line_error(struct agp_hlog_reader *r, int rc, const char *what)
{
	snprintf(r->error, sizeof(r->error), "line %zu: %s", r->line_number, what);
	return rc;
}

/* Parses a number that must be followed by a comma; advances *p past the comma. */
static bool number_field(char **p, double *out)
{
	char *end;

	errno = 0;
	*out = strtod(*p, &end);
	if (end == *p || *end != ',' || errno == ERANGE)
		return false;
	*p = end + 1;
	return true;
}

static bool header_number(const char *line, const char *prefix, double *out)
{
	size_t n = strlen(prefix);
	char *end;

	if (strncmp(line, prefix, n) != 0)
		return false;
	*out = strtod(line + n, &end);
	return end != line + n;
}

int agp_hlog_reader_next(struct agp_hlog_reader *r, struct agp_hlog_entry *entry)
{
	ssize_t len;

	while ((len = getline(&r->line, &r->line_cap, r->in)) >= 0) {
		struct agp_hlog_entry e;
		char *p = r->line;
		char codec_error[256] = "";
		int rc;

		r->line_number++;
		while (len > 0 && (p[len - 1] == '\n' || p[len - 1] == '\r'))
			p[--len] = '\0';
		if ((size_t)len != strlen(p))
			return line_error(r, -EBADMSG, "contains a NUL byte");
		if (len == 0)
			continue;
		if (p[0] == '#') {
			double v;

			if (header_number(p, "#[StartTime: ", &v)) {
				r->start_time_s = v;
				r->has_start_time = true;
			} else if (header_number(p, "#[BaseTime: ", &v)) {
				r->base_time_s = v;
				r->has_base_time = true;
			}
			continue;
		}
		if (p[0] == '"' || strncmp(p, "StartTimestamp", 14) == 0)
			continue; /* the legend */

		memset(&e, 0, sizeof(e));
		if (strncmp(p, "Tag=", 4) == 0) {
			char *comma = strchr(p + 4, ',');
			size_t n;

			if (!comma)
				return line_error(r, -EBADMSG, "Tag= without a comma after it");
			n = (size_t)(comma - (p + 4));
			if (n == 0 || n >= sizeof(e.tag))
				return line_error(r, -EBADMSG, "tag is empty or too long");
			memcpy(e.tag, p + 4, n);
			e.tag[n] = '\0';
			/* The writer's rule too: what is read can be written back. */
			if (!tag_ok(e.tag))
				return line_error(r, -EBADMSG,
				                  "tag has a blank or a control character");
			e.has_tag = true;
			p = comma + 1;
		}
		if (!number_field(&p, &e.start_s))
			return line_error(r, -EBADMSG,
			                  "StartTimestamp is not a number followed by ','");
		if (!number_field(&p, &e.length_s))
			return line_error(r, -EBADMSG,
			                  "Interval_Length is not a number followed by ','");
		if (!number_field(&p, &e.max))
			return line_error(r, -EBADMSG,
			                  "Interval_Max is not a number followed by ','");
		rc = agp_hdr_decode_base64(p, strlen(p), r->max_memory, &e.h, codec_error,
		                           sizeof(codec_error));
		if (rc) {
			snprintf(r->error, sizeof(r->error), "line %zu: histogram: %s",
			         r->line_number, codec_error);
			return rc;
		}
		*entry = e;
		return 1;
	}
	if (ferror(r->in))
		return line_error(r, -EIO, "read error");
	return 0;
}

double agp_hlog_absolute_start(const struct agp_hlog_reader *r, const struct agp_hlog_entry *e)
{
	const double year_s = 365.0 * 24 * 3600;

	if (r->has_base_time)
		return r->base_time_s + e->start_s;
	if (r->has_start_time && e->start_s < r->start_time_s - year_s)
		return r->start_time_s + e->start_s;
	return e->start_s;
}
