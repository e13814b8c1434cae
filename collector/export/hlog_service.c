#include "collector/export/hlog_service.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hdr/interval_log.h"
#include "collector/export/hlog_export.h"
#include "common/append.h"
#include "common/error.h"
#include "common/write_losses.h"

/*
 * The earliest start among the windows still to be written, so that no interval of the
 * new file starts before its BaseTime; UINT64_MAX when there is none yet.
 */
static uint64_t first_pending_start(const struct agp_hlog_service *service,
                                    const struct agp_snapshot *snapshot)
{
	uint64_t first = UINT64_MAX;
	for (size_t s = 0; s < snapshot->series_count; s++)
		for (size_t w = 0; w < snapshot->series[s].window_count; w++) {
			uint64_t start = snapshot->series[s].windows[w].start_ns;
			if (start >= service->written_until_ns && start < first)
				first = start;
		}
	return first;
}

/* Moves the full file aside; the next tick starts a new one. */
static int rotate(struct agp_hlog_service *service)
{
	close(service->fd);
	service->fd = -1;
	char from[300], to[300];
	for (unsigned i = service->keep; i >= 1; i--) {
		if (i == 1)
			snprintf(from, sizeof(from), "%s", AGP_HLOG_FILE_NAME);
		else
			snprintf(from, sizeof(from), "%s.%u", AGP_HLOG_FILE_NAME, i - 1);
		snprintf(to, sizeof(to), "%s.%u", AGP_HLOG_FILE_NAME, i);
		if (renameat(service->folder.fd, from, service->folder.fd, to) != 0 &&
		    errno != ENOENT)
			return agp__error(-errno, "hlog: cannot rotate %s/%s to %s: %s",
			                  service->folder.path, from, to, strerror(errno));
	}
	return 0;
}

static int open_log(struct agp_hlog_service *service)
{
	int fd = agp_storage_open_file(&service->folder, AGP_HLOG_FILE_NAME, O_APPEND);
	if (fd < 0)
		return fd;
	service->fd = fd;
	service->needs_header = true; /* a new, rotated or continued file gets a header block */
	service->repair_to = -1;
	return 0;
}

int agp_hlog_service_open(struct agp_hlog_service *service, const struct agp_storage_dir *storage,
                          uint64_t max_bytes, unsigned keep, int64_t lowest, int64_t highest,
                          int significant_figures)
{
	memset(service, 0, sizeof(*service));
	service->fd = -1;
	service->folder.fd = -1;
	service->max_bytes = max_bytes ? max_bytes : AGP_HLOG_DEFAULT_MAX_BYTES;
	service->keep = keep ? keep : AGP_HLOG_DEFAULT_KEEP;
	int length = snprintf(service->path, sizeof(service->path), "%s/hlog/%s", storage->path,
	                      AGP_HLOG_FILE_NAME);
	if (length < 0 || (size_t)length >= sizeof(service->path))
		return agp__error(-ENAMETOOLONG, "hlog: storage_dir '%s' is too long",
		                  storage->path);
	int error = agp_storage_dir_open_sub(storage, "hlog", &service->folder);
	if (error)
		return agp__error(error, "hlog: %s", agp__error_message());
	error = agp_hdr_create(lowest, highest, significant_figures, &service->scratch);
	if (error) {
		error = agp__error(error, "hlog: invalid histogram layout");
		goto close_folder;
	}
	/* Fail now rather than at the first window when the file cannot be opened. */
	error = open_log(service);
	if (error) {
		error = agp__error(error, "hlog: %s", agp__error_message());
		goto destroy_scratch;
	}
	service->open = true;
	return 0;

destroy_scratch:
	agp_hdr_destroy(service->scratch);
	service->scratch = NULL;
close_folder:
	agp_storage_dir_close(&service->folder);
	return error;
}

/* The text of this tick: a header block when the file needs one, then the new interval lines. */
static int compose(struct agp_hlog_service *service, const struct agp_snapshot *snapshot,
                   bool final, char **text, size_t *length, uint64_t *until)
{
	*text = NULL;
	*length = 0;
	FILE *out = open_memstream(text, length);
	if (!out)
		return -ENOMEM;
	int error = 0;
	uint64_t base_ns = service->base_ns;
	if (service->needs_header) {
		base_ns = first_pending_start(service, snapshot);
		if (base_ns == UINT64_MAX)
			goto close;
		int64_t base_time_ms = agp_hlog_wall_ms(snapshot, base_ns);
		error = agp_hlog_write_header(
		    out, "agentperf collector interval log; " AGP_HLOG_TAGS_COMMENT, base_time_ms,
		    base_time_ms);
		if (error)
			goto close;
	}
	*until = service->written_until_ns;
	int lines = agp_hlog_write_windows(out, snapshot, NULL, *until, final, base_ns,
	                                   service->scratch, until);
	if (lines < 0)
		error = lines;
	service->pending_base_ns = base_ns;
close:
	if (fclose(out) != 0 && !error)
		error = -ENOMEM;
	if (error) {
		free(*text);
		*text = NULL;
		*length = 0;
	}
	return error;
}

/*
 * Windows between the watermark and the oldest window any series still holds left the
 * retention before a write got them to disk (a long outage): they are counted as lost and
 * logged. Every series keeps the same span of windows, so the oldest one of all says it.
 */
static void count_expired(const struct agp_hlog_service *service,
                          const struct agp_snapshot *snapshot)
{
	if (service->written_until_ns == 0)
		return; /* nothing written yet: no gap to speak of */
	uint64_t oldest = UINT64_MAX, window_ns = 0;
	for (size_t s = 0; s < snapshot->series_count; s++) {
		const struct agp_snapshot_series *series = &snapshot->series[s];
		if (series->window_count && series->windows[0].start_ns < oldest) {
			oldest = series->windows[0].start_ns;
			window_ns = series->windows[0].end_ns - series->windows[0].start_ns;
		}
	}
	if (oldest == UINT64_MAX || oldest <= service->written_until_ns || window_ns == 0)
		return;
	uint64_t missing = (oldest - service->written_until_ns + window_ns - 1) / window_ns;
	agp_write_count_lost(AGP_WRITE_HLOG, missing);
	fprintf(stderr,
	        "agentperfd: WARNING - %s: %llu windows (%.3f s of every series) left the "
	        "retention before they could be written\n",
	        service->path, (unsigned long long)missing,
	        (double)(oldest - service->written_until_ns) / 1e9);
}

int agp_hlog_service_tick(struct agp_hlog_service *service, const struct agp_snapshot *snapshot,
                          bool final)
{
	if (!service->open)
		return 0;
	int error = service->fd < 0 ? open_log(service) : 0;
	char *text = NULL;
	size_t length = 0;
	uint64_t until = service->written_until_ns;
	if (!error)
		error = compose(service, snapshot, final, &text, &length, &until);
	if (!error && length == 0) {
		free(text); /* nothing new: the stream's empty buffer */
		return 0;
	}
	off_t size = 0;
	if (!error)
		/* Whole or not at all: the file never holds a partial line. */
		error = agp_append_whole(service->fd, &service->repair_to, text, length, &size);
	free(text);
	if (error) {
		/* Nothing moved: the same windows (and header) are written at a later tick. */
		agp_write_failed(AGP_WRITE_HLOG, service->path, error);
		return 0;
	}
	agp_write_succeeded(AGP_WRITE_HLOG, service->path);
	count_expired(service, snapshot);
	service->needs_header = false;
	service->base_ns = service->pending_base_ns;
	service->written_until_ns = until;
	if ((uint64_t)size >= service->max_bytes)
		return rotate(service);
	return 0;
}

void agp_hlog_service_close(struct agp_hlog_service *service)
{
	if (service->fd >= 0) {
		fsync(service->fd);
		close(service->fd);
	}
	service->fd = -1;
	service->open = false;
	agp_hdr_destroy(service->scratch);
	service->scratch = NULL;
	agp_storage_dir_close(&service->folder);
}
