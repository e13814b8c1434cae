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
#include <string.h>

#include "common/group.h"

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
	int error = agp_group_lookup(name, &value);
	if (error == -ERANGE) {
		agp__error_into(err, errlen, 0,
		                "%s: monitoring.group: found \"%s\", expected a gid below %llu",
		                source, name, AGP_GID_LIMIT);
		return error;
	}
	if (error == -ENOENT) {
		agp__error_into(err, errlen, 0,
		                "%s: monitoring.group: found \"%s\", expected a group "
		                "this machine knows (no group has that name)",
		                source, name);
		return error;
	}
	if (error) {
		agp__error_into(err, errlen, 0, "%s: monitoring.group: looking up group \"%s\": %s",
		                source, name, strerror(-error));
		return error;
	}
	*has_group = true;
	*gid = value;
	return 0;
}
