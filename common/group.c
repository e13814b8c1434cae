#include "common/group.h"

#include <errno.h>
#include <grp.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"

static int parse_gid(const char *text, gid_t *gid)
{
	unsigned long long value = 0;
	for (const char *c = text; *c; c++) {
		if (*c < '0' || *c > '9')
			return -EINVAL;
		value = value * 10 + (unsigned long long)(*c - '0');
		if (value >= AGP_GID_LIMIT)
			return -ERANGE;
	}
	*gid = (gid_t)value;
	return 0;
}

/* getgrnam_r with a buffer that grows until the entry fits. */
static int lookup_group(const char *name, gid_t *gid)
{
	size_t size = 4096;
	for (;;) {
		char *buffer = malloc(size);
		if (!buffer)
			return -ENOMEM;
		struct group entry, *found = NULL;
		int error = getgrnam_r(name, &entry, buffer, size, &found);
		if (found)
			*gid = found->gr_gid;
		free(buffer);
		if (error == ERANGE && size < (1u << 24)) {
			size *= 2;
			continue;
		}
		if (error)
			return -error;
		return found ? 0 : -ENOENT;
	}
}

int agp_group_lookup(const char *name, gid_t *gid)
{
	int error = parse_gid(name, gid);
	return error == -EINVAL ? lookup_group(name, gid) : error;
}

int agp_group_resolve(const char *name, gid_t *gid)
{
	int error = agp_group_lookup(name, gid);
	if (error)
		return agp__error(error, "monitoring.group '%s': %s", name,
		                  error == -ENOENT   ? "no group has that name"
		                  : error == -ERANGE ? "a gid out of range"
		                                     : strerror(-error));
	return 0;
}
