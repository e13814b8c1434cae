/*
 * HdrHistogram interval logs (.hlog 1.3) from a snapshot's windows: one interval line per
 * window and (agent type, metric) series, Tag=<agent_type>/<metric>, in start-time order;
 * a series whose metric has an expected interval also gets a line of its coordinated-omission
 * corrected histogram (HdrHistogram's record-with-expected-interval rule), tagged
 * <agent_type>/<metric>:corrected, right after the raw line of the same window.
 * Used by the collector's log service (closed windows, appended as they close) and by the
 * control protocol's hlog verb (any windows, open one included, as one text).
 *
 * Times: windows are on the deployment's monotonic clock; lines carry wall-clock seconds,
 * converted with the snapshot's pair (taken_ns, taken_wall_ms), relative to the log's
 * BaseTime as Java's HistogramLogWriter writes them. Values stay in the recorded unit
 * (nanoseconds, bytes); Interval_Max of a nanosecond metric is in milliseconds (Java's
 * default max-value ratio of 10^6), of any other metric in its own unit.
 */
#ifndef AGP_COLLECTOR_HLOG_EXPORT_H
#define AGP_COLLECTOR_HLOG_EXPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "hdr/histogram.h"
#include "collector/drain/snapshot.h"

/* The header comment that says which tag is which histogram. */
#define AGP_HLOG_TAGS_COMMENT                                                                      \
	"Tag=<agent type>/<metric> is the raw histogram (as recorded), "                           \
	"<agent type>/<metric>:corrected the coordinated-omission corrected one"

/* The tag of a raw series: "<agent_type>/<metric>". */
int agp_hlog_tag(const char *agent_type, const char *metric, char *out, size_t len);

/* The tag of a series' raw or corrected histogram ("<agent_type>/<metric>:corrected"). */
int agp_hlog_series_tag(const char *agent_type, const char *metric, bool corrected, char *out,
                        size_t len);

/* Wall-clock milliseconds of a deployment-clock instant, by the snapshot's clock pair. */
int64_t agp_hlog_wall_ms(const struct agp_snapshot *snapshot, uint64_t time_ns);

/*
 * Writes the interval lines (raw, and corrected where the metric has an expected interval) of
 * the (agent type, metric) series of snapshot: metric NULL or ""
 * for every metric, windows that start at or after since_ns, the open window only when
 * include_open. scratch has the collector's histogram layout (it is reset and reused).
 * Start times are relative to base_ns (deployment clock), exactly. *last_end_ns (may be NULL)
 * receives the end of the latest window written, and stays as it was when none was. Returns the
 * number of lines written, or a negative errno (-EIO when writing failed, -ENOMEM).
 */
int agp_hlog_write_windows(FILE *out, const struct agp_snapshot *snapshot, const char *metric,
                           uint64_t since_ns, bool include_open, uint64_t base_ns,
                           struct agp_hdr *scratch, uint64_t *last_end_ns);

/*
 * The whole .hlog text (header and interval lines, open window included) for metric (NULL:
 * all) since since_ns on the deployment clock (0: the whole retention), with the collector's
 * default histogram layout (1 ns .. 1 h, 3 digits). malloc'ed, NUL-terminated; *len without
 * the NUL. NULL on failure (agp_last_error() says why).
 */
char *agp_hlog_export(const struct agp_snapshot *snapshot, const char *metric, uint64_t since_ns,
                      size_t *len);

/* The same with an explicit histogram layout (the collector's agp_collector_options). */
char *agp_hlog_export_layout(const struct agp_snapshot *snapshot, const char *metric,
                             uint64_t since_ns, int64_t lowest, int64_t highest,
                             int significant_figures, size_t *len);

#endif
