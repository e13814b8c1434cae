/* The storage folder and the files in it (see storage_dir.h). */
#include "common/storage_dir.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/atomic_file.h"
#include "common/error.h"
#include "common/group.h"

static mode_t folder_mode(gid_t group)
{
	return group == AGP_STORAGE_NO_GROUP ? 0700 : 0750;
}

mode_t agp_storage_file_mode(const struct agp_storage_dir *dir)
{
	return dir->group == AGP_STORAGE_NO_GROUP ? 0600 : 0640;
}

/* Refuses a folder the daemon does not own alone (or with its configured group). */
static int check_folder(int fd, const char *path, gid_t group)
{
	struct stat st;
	if (fstat(fd, &st) != 0)
		return agp__error(-errno, "storage folder %s: fstat: %s", path, strerror(errno));
	mode_t mode = st.st_mode & 07777;
	uid_t self = geteuid();
	if (st.st_uid != self)
		return agp__error(-EPERM,
		                  "storage folder %s is owned by uid %u (mode %04o), not by the "
		                  "daemon's uid %u: refusing to use it",
		                  path, (unsigned)st.st_uid, (unsigned)mode, (unsigned)self);
	if (mode & S_IWOTH)
		return agp__error(-EPERM,
		                  "storage folder %s (owner uid %u, mode %04o) is writable by "
		                  "others: refusing to use it (chmod o-w, or remove it and "
		                  "agentperfd creates it %04o)",
		                  path, (unsigned)st.st_uid, (unsigned)mode,
		                  (unsigned)folder_mode(group));
	if ((mode & S_IWGRP) && (group == AGP_STORAGE_NO_GROUP || st.st_gid != group))
		return agp__error(-EPERM,
		                  "storage folder %s (owner uid %u, group %u, mode %04o) is "
		                  "writable by a group that is not monitoring.group: refusing to "
		                  "use it (chmod g-w)",
		                  path, (unsigned)st.st_uid, (unsigned)st.st_gid, (unsigned)mode);
	return 0;
}

/*
 * Opens name in parent_fd as a folder without following a link, creating it (exactly mode,
 * whatever the umask, and given to group) when missing, then checks it.
 */
static int open_folder_at(int parent_fd, const char *name, const char *path, gid_t group)
{
	bool created = false;
	if (mkdirat(parent_fd, name, folder_mode(group)) == 0)
		created = true;
	else if (errno != EEXIST)
		return agp__error(-errno, "creating storage folder %s: %s", path, strerror(errno));
	int fd = openat(parent_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		int error = -errno;
		if (error == -ELOOP || error == -ENOTDIR) {
			struct stat st;
			bool link = fstatat(parent_fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
			            S_ISLNK(st.st_mode);
			return agp__error(link ? -ELOOP : -ENOTDIR,
			                  "storage folder %s is %s: refusing to use it", path,
			                  link ? "a symbolic link" : "not a folder");
		}
		return agp__error(error, "opening storage folder %s: %s", path, strerror(-error));
	}
	if (created && ((group != AGP_STORAGE_NO_GROUP && fchown(fd, (uid_t)-1, group) != 0) ||
	                fchmod(fd, folder_mode(group)) != 0)) {
		int error = agp__error(-errno, "giving storage folder %s its mode %04o: %s", path,
		                       (unsigned)folder_mode(group), strerror(errno));
		close(fd);
		return error;
	}
	int error = check_folder(fd, path, group);
	if (error) {
		close(fd);
		return error;
	}
	return fd;
}

int agp_storage_dir_open(struct agp_storage_dir *dir, const char *path, gid_t group)
{
	dir->fd = -1;
	dir->group = group;
	size_t length = strlen(path);
	while (length > 1 && path[length - 1] == '/')
		length--;
	if (length == 0)
		return agp__error(-EINVAL, "monitoring.storage_dir is empty");
	if (length >= sizeof(dir->path))
		return agp__error(-ENAMETOOLONG, "storage folder %s: the path is too long", path);
	memcpy(dir->path, path, length);
	dir->path[length] = '\0';

	/* The parent: created when missing (0700), resolved as usual (it is the operator's). */
	char parent[sizeof(dir->path)];
	const char *name;
	char *slash = strrchr(dir->path, '/');
	if (!slash) {
		snprintf(parent, sizeof(parent), ".");
		name = dir->path;
	} else if (slash == dir->path) {
		snprintf(parent, sizeof(parent), "/");
		name = slash[1] ? slash + 1 : ".";
	} else {
		snprintf(parent, sizeof(parent), "%.*s", (int)(slash - dir->path), dir->path);
		name = slash + 1;
	}
	int error = agp_make_dirs(parent);
	if (error)
		return agp__error(error, "creating the parent %s of storage folder %s: %s", parent,
		                  dir->path, strerror(-error));
	int parent_fd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (parent_fd < 0)
		return agp__error(-errno, "opening %s, the parent of storage folder %s: %s", parent,
		                  dir->path, strerror(errno));
	int fd = open_folder_at(parent_fd, name, dir->path, group);
	close(parent_fd);
	if (fd < 0)
		return fd;
	dir->fd = fd;
	return 0;
}

int agp_storage_dir_open_sub(const struct agp_storage_dir *parent, const char *name,
                             struct agp_storage_dir *sub)
{
	sub->fd = -1;
	sub->group = parent->group;
	int length = snprintf(sub->path, sizeof(sub->path), "%s/%s", parent->path, name);
	if (length < 0 || (size_t)length >= sizeof(sub->path))
		return agp__error(-ENAMETOOLONG, "storage folder %s/%s: the path is too long",
		                  parent->path, name);
	int fd = open_folder_at(parent->fd, name, sub->path, parent->group);
	if (fd < 0)
		return fd;
	sub->fd = fd;
	return 0;
}

void agp_storage_dir_close(struct agp_storage_dir *dir)
{
	if (dir->fd >= 0)
		close(dir->fd);
	dir->fd = -1;
}

/*
 * Checks a freshly opened fd: a regular file of the daemon's uid with one link; gives it mode
 * and group, truncates it when asked, and makes it blocking again. Closes fd on failure.
 */
static int adopt_file(int fd, const char *path, mode_t mode, gid_t group, bool truncate)
{
	struct stat st;
	int error = 0;
	if (fstat(fd, &st) != 0) {
		error = agp__error(-errno, "%s: fstat: %s", path, strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode) || st.st_uid != geteuid() || st.st_nlink != 1) {
		error = agp__error(
		    -EPERM,
		    "%s (%s, owner uid %u, mode %04o, %u links) is not a regular file "
		    "of the daemon's uid %u with a single link: refusing to write to it",
		    path, S_ISREG(st.st_mode) ? "a file" : "not a file", (unsigned)st.st_uid,
		    (unsigned)(st.st_mode & 07777), (unsigned)st.st_nlink, (unsigned)geteuid());
		goto fail;
	}
	if (group != AGP_STORAGE_NO_GROUP && st.st_gid != group &&
	    fchown(fd, (uid_t)-1, group) != 0) {
		error = agp__error(-errno, "%s: giving it to group %u: %s", path, (unsigned)group,
		                   strerror(errno));
		goto fail;
	}
	if ((st.st_mode & 07777) != mode && fchmod(fd, mode) != 0) {
		error = agp__error(-errno, "%s: setting its mode %04o: %s", path, (unsigned)mode,
		                   strerror(errno));
		goto fail;
	}
	if (truncate && ftruncate(fd, 0) != 0) {
		error = agp__error(-errno, "%s: truncating it: %s", path, strerror(errno));
		goto fail;
	}
	int flags = fcntl(fd, F_GETFL);
	if (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) != 0) {
		error = agp__error(-errno, "%s: fcntl: %s", path, strerror(errno));
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return error;
}

/*
 * The open flags: never through a link, never blocking on a FIFO planted in place of the file,
 * and never truncating before the checks (O_TRUNC is applied by adopt_file).
 */
static int open_flags(int flags)
{
	return (flags & O_APPEND) | O_WRONLY | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC;
}

static int open_error(int error, const char *path)
{
	if (error == -ELOOP)
		return agp__error(error, "%s is a symbolic link: refusing to follow it", path);
	return agp__error(error, "opening %s: %s", path, strerror(-error));
}

int agp_storage_open_file(const struct agp_storage_dir *dir, const char *name, int flags)
{
	char path[sizeof(dir->path) + 256];
	snprintf(path, sizeof(path), "%s/%s", dir->path, name);
	mode_t mode = agp_storage_file_mode(dir);
	int fd = openat(dir->fd, name, open_flags(flags), mode);
	if (fd < 0)
		return open_error(-errno, path);
	return adopt_file(fd, path, mode, dir->group, (flags & O_TRUNC) != 0);
}

int agp_open_owned_file(const char *path, int flags, gid_t group)
{
	mode_t mode = group == AGP_STORAGE_NO_GROUP ? 0600 : 0640;
	int fd = open(path, open_flags(flags), mode);
	if (fd < 0)
		return open_error(-errno, path);
	return adopt_file(fd, path, mode, group, (flags & O_TRUNC) != 0);
}

int agp_storage_resolve_group(const char *name, gid_t *group)
{
	*group = AGP_STORAGE_NO_GROUP;
	if (!name[0])
		return 0;
	return agp_group_resolve(name, group);
}

int agp_storage_write_file(const struct agp_storage_dir *dir, const char *name, const void *data,
                           size_t len, char *err, size_t errlen)
{
	return agp_atomic_write_at(dir->fd, dir->path, name, data, len, agp_storage_file_mode(dir),
	                           dir->group, err, errlen);
}
