/*
 * The configuration's checks: every key's range and rule, the `metrics`
 * entries, and the cross-key rules (warning <= critical, window within the
 * retention). Each problem reads "<source>: <key path>: found V, expected E".
 */
#ifndef AGP_COLLECTOR_CONFIG_CHECK_H
#define AGP_COLLECTOR_CONFIG_CHECK_H

#include "collector/config/config.h"
#include "collector/config/problems.h"
#include "collector/config/schema.h"

/* Checks one key's value alone. */
void agp__config_check_key(struct agp__config_problems *p, const char *source,
                           const struct agp_config *cfg, const struct agp__config_key *k);

/* Checks the whole config; 0, or -EINVAL when p holds a problem (new or earlier). */
int agp__config_check_into(struct agp__config_problems *p, const struct agp_config *cfg,
                           const char *source);

#endif
