#include "storage.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int agp_storage_make_dir(const char *path)
{
	char buffer[4096];
	size_t length = strlen(path);
	if (length == 0 || length >= sizeof(buffer))
		return -ENAMETOOLONG;
	memcpy(buffer, path, length + 1);
	for (char *slash = buffer + 1; *slash; slash++) {
		if (*slash != '/')
			continue;
		*slash = '\0';
		if (mkdir(buffer, 0700) != 0 && errno != EEXIST)
			return -errno;
		*slash = '/';
	}
	if (mkdir(buffer, 0700) != 0 && errno != EEXIST)
		return -errno;
	return 0;
}

int agp_storage_write_atomic(const char *path, const void *data, size_t length)
{
	char temporary[4096], folder[4096];
	if (snprintf(temporary, sizeof(temporary), "%s.tmp.%d", path, (int)getpid()) >=
	    (int)sizeof(temporary))
		return -ENAMETOOLONG;
	snprintf(folder, sizeof(folder), "%s", path);
	int fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	int error = 0;
	const char *cursor = data;
	while (length > 0) {
		ssize_t written = write(fd, cursor, length);
		if (written < 0) {
			if (errno == EINTR)
				continue;
			error = -errno;
			goto fail_unlink;
		}
		cursor += written;
		length -= (size_t)written;
	}
	if (fsync(fd) != 0) {
		error = -errno;
		goto fail_unlink;
	}
	close(fd);
	if (rename(temporary, path) != 0) {
		error = -errno;
		unlink(temporary);
		return error;
	}
	int folder_fd = open(dirname(folder), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (folder_fd >= 0) {
		fsync(folder_fd); /* makes the rename itself durable */
		close(folder_fd);
	}
	return 0;

fail_unlink:
	close(fd);
	unlink(temporary);
	return error;
}
