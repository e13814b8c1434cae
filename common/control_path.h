/*
 * Where a deployment's control socket lives, so that agentperfd and the
 * agentperf command line agree without being told:
 *   $XDG_RUNTIME_DIR/agentperf/<name>.sock   when XDG_RUNTIME_DIR is set,
 *   /run/agentperf/<name>.sock               when running as root,
 *   /tmp/agentperf-<uid>/<name>.sock         otherwise (a private 0700 folder).
 * $AGENTPERF_SOCKET_DIR, when set, replaces the folder (containers, tests).
 * The system service (contrib/systemd) runs as its own user with
 * --socket /run/agentperf/<name>.sock; a client that finds no socket at its
 * own default tries that one too.
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

/*
 * The system service's socket of deployment, /run/agentperf/<name>.sock, when
 * a client should try it after its own default: not when AGENTPERF_SOCKET_DIR
 * chose the folder, nor when it is the default already. 0, -ENOENT when there
 * is none to try, or as agp_control_socket_path.
 */
int agp_control_system_socket_path(const char *deployment, char *out, size_t size);

#endif
