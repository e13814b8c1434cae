#include "collector/export/hlog_service.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hdr/interval_log.h"
#include "collector/export/hlog_export.h"
#include "common/error.h"

static int make_folder(const char *path)
{
	char partial[1100];
	size_t length = strlen(path);
	if (length >= sizeof(partial))
		return -ENAMETOOLONG;
	memcpy(partial, path, length + 1);
	for (char *slash = partial + 1; *slash; slash++) {
		if (*slash != '/')
			continue;
		*slash = '\0';
		if (mkdir(partial, 0700) != 0 && errno != EEXIST)
			return -errno;
		*slash = '/';
	}
	if (mkdir(partial, 0700) != 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* Opens the file with a header whose BaseTime is base_ns (deployment clock). */
static int open_file(struct agp_hlog_service *service, const struct agp_snapshot *snapshot,
                     uint64_t base_ns)
{
	service->file = fopen(service->path, "ae");
	if (!service->file)
		return agp__error(-errno, "hlog: cannot open %s: %s", service->path,
		                  strerror(errno));
	service->base_ns = base_ns;
	int64_t base_time_ms = agp_hlog_wall_ms(snapshot, base_ns);
	if (agp_hlog_write_header(service->file, "agentperf collector interval log", base_time_ms,
	                          base_time_ms) ||
	    fflush(service->file) != 0)
		return agp__error(-EIO, "hlog: cannot write %s", service->path);
	return 0;
}

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
	fclose(service->file);
	service->file = NULL;
	char from[1300], to[1300];
	for (unsigned i = service->keep; i >= 1; i--) {
		if (i == 1)
			snprintf(from, sizeof(from), "%s", service->path);
		else
			snprintf(from, sizeof(from), "%s.%u", service->path, i - 1);
		snprintf(to, sizeof(to), "%s.%u", service->path, i);
		if (rename(from, to) != 0 && errno != ENOENT)
			return agp__error(-errno, "hlog: cannot rotate %s to %s: %s", from, to,
			                  strerror(errno));
	}
	return 0;
}

int agp_hlog_service_open(struct agp_hlog_service *service, const char *storage_dir,
                          uint64_t max_bytes, unsigned keep, int64_t lowest, int64_t highest,
                          int significant_figures)
{
	memset(service, 0, sizeof(*service));
	service->max_bytes = max_bytes ? max_bytes : AGP_HLOG_DEFAULT_MAX_BYTES;
	service->keep = keep ? keep : AGP_HLOG_DEFAULT_KEEP;
	int length = snprintf(service->folder, sizeof(service->folder), "%s/hlog", storage_dir);
	if (length < 0 || (size_t)length >= sizeof(service->folder))
		return agp__error(-ENAMETOOLONG, "hlog: storage_dir '%s' is too long", storage_dir);
	snprintf(service->path, sizeof(service->path), "%s/%s", service->folder,
	         AGP_HLOG_FILE_NAME);
	int error = make_folder(service->folder);
	if (error)
		return agp__error(error, "hlog: cannot create %s: %s", service->folder,
		                  strerror(-error));
	error = agp_hdr_create(lowest, highest, significant_figures, &service->scratch);
	if (error)
		return agp__error(error, "hlog: invalid histogram layout");
	/* Fail now rather than at the first window when the file cannot be written. */
	FILE *probe = fopen(service->path, "ae");
	if (!probe) {
		error =
		    agp__error(-errno, "hlog: cannot open %s: %s", service->path, strerror(errno));
		agp_hdr_destroy(service->scratch);
		service->scratch = NULL;
		return error;
	}
	fclose(probe);
	service->open = true;
	return 0;
}

int agp_hlog_service_tick(struct agp_hlog_service *service, const struct agp_snapshot *snapshot,
                          bool final)
{
	if (!service->open)
		return 0;
	if (!service->file) {
		/* A file (new, rotated or continued) starts with a header block of its own. */
		uint64_t base_ns = first_pending_start(service, snapshot);
		if (base_ns == UINT64_MAX)
			return 0;
		int error = open_file(service, snapshot, base_ns);
		if (error)
			return error;
	}
	uint64_t until = service->written_until_ns;
	int lines = agp_hlog_write_windows(service->file, snapshot, NULL, until, final,
	                                   service->base_ns, service->scratch, &until);
	if (lines < 0)
		return agp__error(lines, "hlog: writing %s failed", service->path);
	if (lines == 0)
		return 0;
	service->written_until_ns = until;
	if (fflush(service->file) != 0)
		return agp__error(-EIO, "hlog: writing %s failed: %s", service->path,
		                  strerror(errno));
	long size = ftell(service->file);
	if (size >= 0 && (uint64_t)size >= service->max_bytes)
		return rotate(service);
	return 0;
}

void agp_hlog_service_close(struct agp_hlog_service *service)
{
	if (service->file)
		fclose(service->file);
	service->file = NULL;
	service->open = false;
	agp_hdr_destroy(service->scratch);
	service->scratch = NULL;
}
