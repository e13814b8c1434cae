/*
 * Deployment names. A deployment is one shared segment and one control
 * socket; every program of the project resolves the name the same way.
 */
#ifndef AGP_COMMON_DEPLOYMENT_H
#define AGP_COMMON_DEPLOYMENT_H

#define AGP_DEPLOYMENT_NAME_MAX 64

/*
 * Resolves a deployment name: NULL means $AGENTPERF_NAME, then "default" when that is
 * unset. Valid names are 1..64 characters of [A-Za-z0-9._-], not starting with '.'; an
 * empty name, given or in AGENTPERF_NAME, is refused (-EINVAL, naming which).
 */
int agp_deployment_resolve(const char *requested, char out[AGP_DEPLOYMENT_NAME_MAX + 1]);

#endif
