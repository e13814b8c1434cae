/*
 * Atomic replacement of a file, for everything the collector writes
 * (config, baseline.json, reports, exports): a reader sees the old contents
 * or the new, never a mixture, and after a crash the file is one or the
 * other.
 */
#ifndef AGP_COLLECTOR_ATOMIC_FILE_H
#define AGP_COLLECTOR_ATOMIC_FILE_H

#include <stddef.h>

/*
 * Writes len bytes of data to path: a temporary file "<path>.tmp.XXXXXX" in
 * the same folder, fsync, rename over path, fsync of the folder. Missing
 * parent folders are created with mode 0700. The mode of a file being
 * replaced is kept; a new file gets 0644. Returns 0 or a negative errno with
 * a message naming the path and the failed step in err; on failure path is
 * unchanged and no temporary file is left behind.
 */
int agp_atomic_write_file(const char *path, const void *data, size_t len, char *err, size_t errlen);

/* Creates path and every missing parent folder (mode 0700). 0 or a negative errno. */
int agp_make_dirs(const char *path);

#endif
