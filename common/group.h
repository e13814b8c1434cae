/*
 * Groups by name or number, as monitoring.group gives them: the one lookup
 * that the configuration check, the control socket and the storage folder
 * share.
 */
#ifndef AGP_COMMON_GROUP_H
#define AGP_COMMON_GROUP_H

#include <sys/types.h>

/* gid_t is 32 bits; (gid_t)-1 means "no change" to chown and is nobody's group. */
#define AGP_GID_LIMIT 4294967295ull

/*
 * A numeric gid (decimal digits, below AGP_GID_LIMIT) or a group name looked
 * up in the group database, into *gid. 0, -ERANGE for a number out of range,
 * -ENOENT when no group has that name, -ENOMEM, or the lookup's errno.
 */
int agp_group_lookup(const char *name, gid_t *gid);

/* The same, leaving a message that names monitoring.group and the name (common/error.h). */
int agp_group_resolve(const char *name, gid_t *gid);

#endif
