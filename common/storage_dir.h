/*
 * The collector's storage folder (monitoring.storage_dir), opened once as a directory fd that
 * every file the daemon writes is then opened from (openat), so that no path of the storage
 * is resolved twice and no symbolic link planted in it is followed.
 *
 * Trust: the folder itself must not be a symbolic link, must belong to the daemon's uid and
 * must not be writable by others, nor by its group unless that group is the configured one
 * (monitoring.group). Its parents are the operator's and are resolved as usual. A missing
 * folder (and its missing parents) is created 0700, or 0750 owned by the configured group.
 *
 * Files opened through agp_storage_open_file are created 0600 (0640 with a group) whatever
 * the umask, never through a symbolic link, and an existing one must be a regular file of
 * the daemon's uid with a single link (a hard link to another file would make it that file).
 */
#ifndef AGP_COMMON_STORAGE_DIR_H
#define AGP_COMMON_STORAGE_DIR_H

#include <stddef.h>
#include <sys/types.h>

#define AGP_STORAGE_NO_GROUP ((gid_t)-1)

struct agp_storage_dir {
	int fd;      /* O_DIRECTORY, -1 when closed */
	gid_t group; /* AGP_STORAGE_NO_GROUP: owner only */
	char path[1100];
};

/*
 * Opens (creating it when missing) the folder at path. 0, or a negative errno with a message
 * naming the folder (and for a refused one its owner and mode) in agp_last_error(): -ELOOP
 * for a symbolic link, -EPERM for a foreign owner or a mode that lets others write.
 */
int agp_storage_dir_open(struct agp_storage_dir *dir, const char *path, gid_t group);

/* Opens (creating it when missing) the sub-folder name of parent with the same checks. */
int agp_storage_dir_open_sub(const struct agp_storage_dir *parent, const char *name,
                             struct agp_storage_dir *sub);

void agp_storage_dir_close(struct agp_storage_dir *dir);

/* The mode files are created with: 0600, or 0640 with a group. */
mode_t agp_storage_file_mode(const struct agp_storage_dir *dir);

/*
 * Opens name in dir for writing (flags: O_APPEND and/or O_TRUNC may be added), creating it
 * with agp_storage_file_mode(). Returns the fd (O_CLOEXEC), or a negative errno with a message
 * naming the file: -ELOOP for a symbolic link, -EPERM for a file that is not a regular file of
 * the daemon's uid with one link.
 */
int agp_storage_open_file(const struct agp_storage_dir *dir, const char *name, int flags);

/*
 * Replaces name in dir atomically (agp_atomic_write_at) with a file of agp_storage_file_mode()
 * and the folder's group; a symbolic link planted at name is replaced, never followed.
 */
int agp_storage_write_file(const struct agp_storage_dir *dir, const char *name, const void *data,
                           size_t len, char *err, size_t errlen);

/*
 * The same checks for a file outside the storage folder (the pidfile): path's last component
 * is never followed; the file gets 0600, or 0640 owned by group unless that is
 * AGP_STORAGE_NO_GROUP. The fd or a negative errno (message).
 */
int agp_open_owned_file(const char *path, int flags, gid_t group);

/*
 * A group name (letters, digits, `_ - .`) or a numeric gid as a gid; "" gives
 * AGP_STORAGE_NO_GROUP. 0 or -ENOENT for an unknown group (message names it).
 */
int agp_storage_resolve_group(const char *name, gid_t *group);

#endif
