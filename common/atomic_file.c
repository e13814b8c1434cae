/* Atomic file replacement (see atomic_file.h). */
#include "common/atomic_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/append.h"
#include "common/error.h"

/* Creates every missing folder of dir (mode 0700: the collector's storage is owner-only). */
static int make_dirs(char *dir)
{
	if (dir[0] == '\0' || strcmp(dir, ".") == 0 || strcmp(dir, "/") == 0)
		return 0;
	struct stat st;
	if (stat(dir, &st) == 0)
		return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
	char *slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		int rc = make_dirs(dir);
		*slash = '/';
		if (rc != 0)
			return rc;
	}
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return -errno;
	return 0;
}

int agp_make_dirs(const char *path)
{
	char *copy = strdup(path);
	if (!copy)
		return -ENOMEM;
	int rc = make_dirs(copy);
	free(copy);
	return rc;
}

/* Creates "<name>.tmp.XXXXXX" in dir_fd exclusively (O_EXCL: a planted name or link fails). */
static int create_temporary(int dir_fd, const char *name, char *tmp, size_t size)
{
	static const char letters[] =
	    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
	for (int attempt = 0; attempt < 100; attempt++) {
		unsigned char random[6];
		if (getrandom(random, sizeof(random), 0) != (ssize_t)sizeof(random))
			return -errno;
		char suffix[sizeof(random) + 1];
		for (size_t i = 0; i < sizeof(random); i++)
			suffix[i] = letters[random[i] % (sizeof(letters) - 1)];
		suffix[sizeof(random)] = '\0';
		if (snprintf(tmp, size, "%s.tmp.%s", name, suffix) >= (int)size)
			return -ENAMETOOLONG;
		int fd =
		    openat(dir_fd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd >= 0 || errno != EEXIST)
			return fd >= 0 ? fd : -errno;
	}
	return -EEXIST;
}

int agp_atomic_write_at(int dir_fd, const char *dir_path, const char *name, const void *data,
                        size_t len, mode_t mode, gid_t group, char *err, size_t errlen)
{
	int rc = 0;
	size_t name_len = strlen(name);
	if (name_len == 0 || strchr(name, '/')) {
		agp__error_into(err, errlen, 0, "%s/%s: expected a file name", dir_path, name);
		return -EINVAL;
	}
	size_t tmp_size = name_len + 16;
	char *tmp = malloc(tmp_size);
	if (!tmp) {
		agp__error_into(err, errlen, 0, "%s/%s: out of memory", dir_path, name);
		return -ENOMEM;
	}
	/* The temporary file sits in the same folder, so renameat() replaces name atomically. */
	int fd = create_temporary(dir_fd, name, tmp, tmp_size);
	if (fd < 0) {
		rc = fd;
		agp__error_into(err, errlen, 0, "%s/%s: cannot create a temporary file in %s: %s",
		                dir_path, name, dir_path, strerror(-rc));
		tmp[0] = '\0';
		goto out;
	}
	if (mode == AGP_ATOMIC_KEEP_MODE) {
		/* Keep the mode of the regular file we replace (never a link's target's). */
		struct stat st;
		mode = fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode)
		           ? (st.st_mode & 07777)
		           : 0644;
	}
	if ((group != (gid_t)-1 && fchown(fd, (uid_t)-1, group) != 0) || fchmod(fd, mode) != 0 ||
	    (rc = agp_write_all(fd, data, len)) != 0 || fsync(fd) != 0) {
		rc = rc ? rc : -errno;
		agp__error_into(err, errlen, 0, "%s/%s: cannot write %s: %s", dir_path, name, tmp,
		                strerror(-rc));
		goto out;
	}
	int closing = fd;
	fd = -1;
	if (close(closing) != 0) {
		rc = -errno;
		agp__error_into(err, errlen, 0, "%s/%s: cannot close %s: %s", dir_path, name, tmp,
		                strerror(-rc));
		goto out;
	}
	if (renameat(dir_fd, tmp, dir_fd, name) != 0) {
		rc = -errno;
		agp__error_into(err, errlen, 0, "%s/%s: cannot rename %s over it: %s", dir_path,
		                name, tmp, strerror(-rc));
		goto out;
	}
	tmp[0] = '\0'; /* renamed: nothing left to remove */
	/* The rename is an entry of the folder; fsync it so that a crash cannot undo it. */
	if (fsync(dir_fd) != 0) {
		rc = -errno;
		agp__error_into(err, errlen, 0,
		                "%s/%s: written, but cannot fsync the folder %s: %s", dir_path,
		                name, dir_path, strerror(-rc));
	}
out:
	if (fd >= 0)
		close(fd);
	if (tmp[0] != '\0')
		unlinkat(dir_fd, tmp, 0);
	free(tmp);
	return rc;
}

int agp_atomic_write_file(const char *path, const void *data, size_t len, char *err, size_t errlen)
{
	size_t path_len = strlen(path);
	if (path_len == 0 || path[path_len - 1] == '/') {
		agp__error_into(err, errlen, 0, "\"%s\": expected a file path", path);
		return -EINVAL;
	}
	char *dir = malloc(path_len + 2);
	if (!dir) {
		agp__error_into(err, errlen, 0, "%s: out of memory", path);
		return -ENOMEM;
	}
	const char *slash = strrchr(path, '/');
	const char *name = slash ? slash + 1 : path;
	if (slash == path)
		snprintf(dir, path_len + 2, "/");
	else if (slash)
		snprintf(dir, path_len + 2, "%.*s", (int)(slash - path), path);
	else
		snprintf(dir, path_len + 2, ".");
	int rc = make_dirs(dir);
	if (rc != 0) {
		agp__error_into(err, errlen, 0, "%s: cannot create the folder %s: %s", path, dir,
		                strerror(-rc));
		goto out;
	}
	int dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir_fd < 0) {
		rc = -errno;
		agp__error_into(err, errlen, 0, "%s: cannot open the folder %s: %s", path, dir,
		                strerror(-rc));
		goto out;
	}
	rc = agp_atomic_write_at(dir_fd, dir, name, data, len, AGP_ATOMIC_KEEP_MODE, (gid_t)-1, err,
	                         errlen);
	/* The messages name the path as given, not "<dir>/<name>" with "." for a bare name. */
	if (rc != 0 && !slash && err && errlen) {
		char detail[512];
		snprintf(detail, sizeof(detail), "%s", err);
		const char *rest = strncmp(detail, "./", 2) == 0 ? detail + 2 : detail;
		agp__error_into(err, errlen, 0, "%s", rest);
	}
	close(dir_fd);
out:
	free(dir);
	return rc;
}
