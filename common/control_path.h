/*
 * Where a deployment's control socket lives, so that agentperfd and the
 * agentperf command line agree without being told:
 *   $XDG_RUNTIME_DIR/agentperf/<name>.sock   when XDG_RUNTIME_DIR is set,
 *   /run/agentperf/<name>.sock               when running as root,
 *   /tmp/agentperf-<uid>/<name>.sock         otherwise (a private 0700 folder).
 * $AGENTPERF_SOCKET_DIR, when set, replaces the folder (containers, tests).
 */
#ifndef AGP_COLLECTOR_CONTROL_PATH_H
#define AGP_COLLECTOR_CONTROL_PATH_H

#include <stddef.h>

/*
 * The socket path of deployment (NULL: $AGENTPERF_NAME, then "default").
 * 0, -EINVAL for a bad deployment name (message via agp_last_error()),
 * -ENAMETOOLONG when the path does not fit a socket address or size.
 */
int agp_control_socket_path(const char *deployment, char *out, size_t size);

#endif
