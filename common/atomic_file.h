/*
 * Atomic replacement of a file, for everything the collector writes
 * (config, baseline.json, reports, exports): a reader sees the old contents
 * or the new, never a mixture, and after a crash the file is one or the
 * other.
 */
#ifndef AGP_COLLECTOR_ATOMIC_FILE_H
#define AGP_COLLECTOR_ATOMIC_FILE_H

#include <stddef.h>
#include <sys/types.h>

/* Mode argument of agp_atomic_write_at: keep the replaced file's mode (a new file gets 0644). */
#define AGP_ATOMIC_KEEP_MODE ((mode_t)-1)

/*
 * Writes len bytes of data to path: a temporary file "<path>.tmp.XXXXXX" in
 * the same folder, fsync, rename over path, fsync of the folder. Missing
 * parent folders are created with mode 0700. The mode of a file being
 * replaced is kept; a new file gets 0644. Returns 0 or a negative errno with
 * a message naming the path and the failed step in err; on failure path is
 * unchanged and no temporary file is left behind.
 */
int agp_atomic_write_file(const char *path, const void *data, size_t len, char *err, size_t errlen);

/*
 * The same relative to the folder dir_fd (dir_path names it in messages): a temporary
 * "<name>.tmp.XXXXXX" created there with O_EXCL (so never through a link), fsync, renameat over
 * name, fsync of dir_fd. A symbolic link at name is replaced, not followed. The new file gets
 * mode exactly (whatever the umask) and group unless group is (gid_t)-1; with
 * AGP_ATOMIC_KEEP_MODE it keeps the mode of the regular file it replaces, else 0644.
 */
int agp_atomic_write_at(int dir_fd, const char *dir_path, const char *name, const void *data,
                        size_t len, mode_t mode, gid_t group, char *err, size_t errlen);

/* Creates path and every missing parent folder (mode 0700). 0 or a negative errno. */
int agp_make_dirs(const char *path);

#endif
