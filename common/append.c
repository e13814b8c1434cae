#include "common/append.h"

#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

int agp_write_all(int fd, const void *data, size_t length)
{
	const char *bytes = data;
	while (length > 0) {
		ssize_t written = write(fd, bytes, length);
		if (written < 0 && errno == EINTR)
			continue;
		if (written < 0)
			return -errno;
		bytes += written;
		length -= (size_t)written;
	}
	return 0;
}

int agp_append_whole(int fd, off_t *repair_to, const void *data, size_t length, off_t *size_after)
{
	if (*repair_to >= 0) {
		if (ftruncate(fd, *repair_to) != 0)
			return -errno;
		*repair_to = -1;
	}
	struct stat before;
	if (fstat(fd, &before) != 0)
		return -errno;
	int error = agp_write_all(fd, data, length);
	if (error) {
		struct stat after;
		if (fstat(fd, &after) == 0 && after.st_size != before.st_size &&
		    ftruncate(fd, before.st_size) != 0)
			*repair_to = before.st_size;
		return error;
	}
	if (size_after)
		*size_after = before.st_size + (off_t)length;
	return 0;
}
