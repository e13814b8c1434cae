/*
 * The collector's HdrHistogram interval log: as windows close, one interval line per
 * (agent type, metric) goes to <storage_dir>/hlog/agentperf.hlog (format 1.3, see
 * hlog_export.h), and one more of its corrected histogram where the metric has an expected
 * interval (Tag=<agent type>/<metric>:corrected). When the file reaches max_bytes it is renamed to
 * agentperf.hlog.1 (older ones shift to .2 ... .<keep>, the oldest is removed) and a new file with
 * its own header starts, so the folder never holds more than (keep + 1) * max_bytes.
 *
 * Every window is written once: windows close at the same instants in every series, so one
 * watermark (the end of the last window written) says what is new.
 *
 * Runs on the services thread; reads snapshots only.
 */
#ifndef AGP_COLLECTOR_HLOG_SERVICE_H
#define AGP_COLLECTOR_HLOG_SERVICE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "hdr/histogram.h"
#include "collector/drain/snapshot.h"
#include "common/storage_dir.h"

#define AGP_HLOG_FILE_NAME         "agentperf.hlog"
#define AGP_HLOG_DEFAULT_MAX_BYTES (64u << 20)
#define AGP_HLOG_DEFAULT_KEEP      4

struct agp_hlog_service {
	struct agp_storage_dir folder; /* <storage_dir>/hlog */
	char path[1200];               /* of the current file, for messages */
	uint64_t max_bytes;
	unsigned keep;
	bool open;
	int fd;            /* the current file (O_APPEND), -1 after a rotation */
	bool needs_header; /* the header block is written with the first lines */
	off_t repair_to;   /* -1, or the size a partly written block must be cut back to */
	uint64_t base_ns;  /* BaseTime of the current file, on the deployment clock */
	uint64_t pending_base_ns;
	uint64_t written_until_ns;
	struct agp_hdr *scratch;
};

/*
 * Opens (creating it) <storage>/hlog with the storage folder's checks and the log in it for
 * appending, never through a link (storage_dir.h); a new file gets a header, an existing one
 * is continued after a fresh header block, which readers accept. max_bytes 0 and keep 0 take
 * the defaults. 0 or a negative errno with agp_last_error().
 */
int agp_hlog_service_open(struct agp_hlog_service *service, const struct agp_storage_dir *storage,
                          uint64_t max_bytes, unsigned keep, int64_t lowest, int64_t highest,
                          int significant_figures);

/*
 * Writes the windows closed since the last call, and with final also the open window (the
 * last, partial interval when the collector stops). A write the disk refuses (full, read-only)
 * is cut back out of the file and logged once per outage (write_losses.h), and the same
 * windows are written at a later tick, so the log resumes by itself when space returns;
 * windows that left the retention before then are counted as lost (lost_writes.hlog) and
 * logged. 0, or a negative errno (agp_last_error()) when a full file could not be rotated.
 */
int agp_hlog_service_tick(struct agp_hlog_service *service, const struct agp_snapshot *snapshot,
                          bool final);

void agp_hlog_service_close(struct agp_hlog_service *service);

#endif
