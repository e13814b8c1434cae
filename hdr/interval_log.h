/*
 * HdrHistogram interval logs (.hlog, log format version 1.3), as written by Java's
 * HistogramLogWriter and read by HistogramLogReader / HistogramLogProcessor and
 * hdr-histogram-js:
 *
 *   #[Histogram log format version 1.3]
 *   #[StartTime: 1764463130.000 (seconds since epoch), Mon Nov 30 00:38:50 UTC 2026]
 *   #[BaseTime: 1764463130.000 (seconds since epoch)]
 *   "StartTimestamp","Interval_Length","Interval_Max","Interval_Compressed_Histogram"
 *   Tag=<tag>,<start>,<length>,<max>,<base64 of the V2 compressed histogram>
 *
 * Java semantics: StartTimestamp and Interval_Length are seconds with 3 decimals, the start
 * relative to BaseTime; Interval_Max is the histogram's max in the reference convention
 * (highest equivalent value) divided by a max-value unit ratio. We record nanoseconds and,
 * like Java's outputIntervalHistogram() default of 1,000,000 (its "msec : nsec ratio"),
 * use AGP_HLOG_NS_TO_MS so Interval_Max reads in milliseconds. The histogram itself keeps
 * the recorded unit (ns). A tag may not contain commas, white space or control characters
 * (Java's writer refuses commas, spaces and line breaks; the reader splits on commas).
 */
#ifndef AGP_COLLECTOR_HDR_LOG_H
#define AGP_COLLECTOR_HDR_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "hdr/histogram.h"

#define AGP_HLOG_NS_TO_MS 1000000.0
#define AGP_HLOG_TAG_MAX  256
/* agentperf's tag of a coordinated-omission corrected series ends with this; a raw one's not. */
#define AGP_HLOG_CORRECTED_SUFFIX ":corrected"

/*
 * Writes the version line, an optional "#<comment>" line (NULL for none), StartTime
 * (start_time_ms since the epoch, with a UTC date), BaseTime (base_time_ms) and the legend.
 * 0 or -EIO.
 */
int agp_hlog_write_header(FILE *out, const char *comment, int64_t start_time_ms,
                          int64_t base_time_ms);

/*
 * Writes one interval line. start_s is relative to the log's BaseTime; tag may be NULL.
 * 0, -EINVAL (bad tag or divisor), -ENOMEM or -EIO.
 */
int agp_hlog_write_interval(FILE *out, const char *tag, double start_s, double length_s,
                            const struct agp_hdr *h, double max_value_divisor);

/* One interval read back; h belongs to the caller (agp_hdr_destroy()). */
struct agp_hlog_entry {
	bool has_tag;
	char tag[AGP_HLOG_TAG_MAX];
	double start_s; /* as written, relative to BaseTime */
	double length_s;
	double max; /* Interval_Max column as written */
	struct agp_hdr *h;
};

struct agp_hlog_reader {
	FILE *in;
	size_t max_memory; /* per decoded histogram; 0 = codec default */
	size_t line_number;
	char *line;
	size_t line_cap;
	bool has_start_time, has_base_time;
	double start_time_s, base_time_s; /* from the #[StartTime / #[BaseTime lines */
	char error[320];
};

void agp_hlog_reader_init(struct agp_hlog_reader *r, FILE *in, size_t max_memory);
void agp_hlog_reader_destroy(struct agp_hlog_reader *r);

/*
 * Reads up to the next interval line. Returns 1 with *entry filled, 0 at the end of the
 * input, or a negative errno (-EBADMSG for a malformed line, codec errors for a bad
 * histogram) with r->error naming the line number and what was wrong.
 */
int agp_hlog_reader_next(struct agp_hlog_reader *r, struct agp_hlog_entry *entry);

/*
 * Absolute start of an entry in seconds since the epoch, as Java's reader computes it:
 * BaseTime + start when a BaseTime was seen; otherwise StartTime + start when the start looks
 * relative (more than a year before StartTime); otherwise start itself.
 */
double agp_hlog_absolute_start(const struct agp_hlog_reader *r, const struct agp_hlog_entry *e);

#endif
