/* Atomic file replacement (see atomic_file.h). */
#include "common/atomic_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

__attribute__((format(printf, 3, 4))) static void set_err(char *err, size_t errlen, const char *fmt,
                                                          ...)
{
	if (!err || !errlen)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

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

static int write_all(int fd, const char *data, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, data, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

int agp_atomic_write_file(const char *path, const void *data, size_t len, char *err, size_t errlen)
{
	int rc = 0;
	int fd = -1;
	size_t path_len = strlen(path);
	if (path_len == 0 || path[path_len - 1] == '/') {
		set_err(err, errlen, "\"%s\": expected a file path", path);
		return -EINVAL;
	}
	char *dir = malloc(path_len + 2);
	char *tmp = malloc(path_len + 16);
	if (!dir || !tmp) {
		rc = -ENOMEM;
		set_err(err, errlen, "%s: out of memory", path);
		goto out;
	}
	tmp[0] = '\0';
	const char *slash = strrchr(path, '/');
	if (slash == path)
		snprintf(dir, path_len + 2, "/");
	else if (slash)
		snprintf(dir, path_len + 2, "%.*s", (int)(slash - path), path);
	else
		snprintf(dir, path_len + 2, ".");

	rc = make_dirs(dir);
	if (rc != 0) {
		set_err(err, errlen, "%s: cannot create the folder %s: %s", path, dir,
		        strerror(-rc));
		goto out;
	}
	/* The temporary file sits in the same folder, so rename() replaces path atomically. */
	snprintf(tmp, path_len + 16, "%s.tmp.XXXXXX", path);
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		set_err(err, errlen, "%s: cannot create a temporary file in %s: %s", path, dir,
		        strerror(-rc));
		tmp[0] = '\0';
		goto out;
	}
	/* Keep the mode of the file we replace; a new file gets the usual 0644. */
	struct stat st;
	mode_t mode = stat(path, &st) == 0 ? (st.st_mode & 07777) : 0644;
	if (fchmod(fd, mode) != 0 || (rc = write_all(fd, data, len)) != 0 || fsync(fd) != 0) {
		rc = rc ? rc : -errno;
		set_err(err, errlen, "%s: cannot write %s: %s", path, tmp, strerror(-rc));
		goto out;
	}
	int closing = fd;
	fd = -1;
	if (close(closing) != 0) {
		rc = -errno;
		set_err(err, errlen, "%s: cannot close %s: %s", path, tmp, strerror(-rc));
		goto out;
	}
	if (rename(tmp, path) != 0) {
		rc = -errno;
		set_err(err, errlen, "%s: cannot rename %s over it: %s", path, tmp, strerror(-rc));
		goto out;
	}
	tmp[0] = '\0'; /* renamed: nothing left to remove */
	/* The rename is an entry of the folder; fsync it so that a crash cannot undo it. */
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || fsync(dfd) != 0) {
		rc = -errno;
		set_err(err, errlen, "%s: written, but cannot fsync the folder %s: %s", path, dir,
		        strerror(-rc));
	}
	if (dfd >= 0)
		close(dfd);
out:
	if (fd >= 0)
		close(fd);
	if (tmp && tmp[0] != '\0')
		unlink(tmp);
	free(tmp);
	free(dir);
	return rc;
}
