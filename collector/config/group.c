/*
 * monitoring.group on this machine: the gid that the segment and the control
 * socket are shared with. Resolved when the configuration is loaded, by the
 * daemon before it creates anything and by `agentperf config check`, so that
 * a group this machine does not know is a configuration error, not a failure
 * halfway through starting.
 */
#include "collector/config/config.h"

#include "collector/config/problems.h"

#include <errno.h>
#include <grp.h>
#include <stdlib.h>
#include <string.h>

/* gid_t is 32 bits; (gid_t)-1 means "no change" to chown and is nobody's group. */
#define GID_LIMIT 4294967295ull

static int parse_gid(const char *text, gid_t *gid)
{
	unsigned long long value = 0;
	for (const char *c = text; *c; c++) {
		if (*c < '0' || *c > '9')
			return -EINVAL;
		value = value * 10 + (unsigned long long)(*c - '0');
		if (value >= GID_LIMIT)
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

int agp_config_resolve_group(const struct agp_config *cfg, const char *source, bool *has_group,
                             gid_t *gid, char *err, size_t errlen)
{
	const char *name = cfg->additions.group;
	if (!source)
		source = "config";
	if (!name[0]) {
		*has_group = false;
		return 0;
	}
	gid_t value = 0;
	int error = parse_gid(name, &value);
	if (error == -ERANGE) {
		agp__error_into(err, errlen, 0,
		                "%s: monitoring.group: found \"%s\", expected a gid below %llu",
		                source, name, GID_LIMIT);
		return error;
	}
	if (error == -EINVAL) {
		error = lookup_group(name, &value);
		if (error == -ENOENT) {
			agp__error_into(err, errlen, 0,
			                "%s: monitoring.group: found \"%s\", expected a group "
			                "this machine knows (no group has that name)",
			                source, name);
			return error;
		}
		if (error) {
			agp__error_into(err, errlen, 0,
			                "%s: monitoring.group: looking up group \"%s\": %s", source,
			                name, strerror(-error));
			return error;
		}
	}
	*has_group = true;
	*gid = value;
	return 0;
}
