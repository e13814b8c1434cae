#include "common/control_path.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/error.h"
#include "common/deployment.h"

#define SYSTEM_FOLDER "/run/agentperf"

/* folder/<name>.sock into out. */
static int path_in(const char *folder, const char *name, char *out, size_t size)
{
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int length = snprintf(path, sizeof(path), "%s/%s.sock", folder, name);
	if (length < 0 || (size_t)length >= sizeof(path) || (size_t)length >= size)
		return agp__error(
		    -ENAMETOOLONG,
		    "socket path %s/%s.sock is longer than a Unix socket address allows", folder,
		    name);
	snprintf(out, size, "%s", path);
	return 0;
}

int agp_control_socket_path(const char *deployment, char *out, size_t size)
{
	char name[AGP_DEPLOYMENT_NAME_MAX + 1];
	int error = agp_deployment_resolve(deployment, name);
	if (error)
		return error;
	char folder[256];
	const char *override = getenv("AGENTPERF_SOCKET_DIR");
	const char *runtime = getenv("XDG_RUNTIME_DIR");
	int length;
	if (override && override[0])
		length = snprintf(folder, sizeof(folder), "%s", override);
	else if (runtime && runtime[0] == '/')
		length = snprintf(folder, sizeof(folder), "%s/agentperf", runtime);
	else if (geteuid() == 0)
		length = snprintf(folder, sizeof(folder), SYSTEM_FOLDER);
	else
		length = snprintf(folder, sizeof(folder), "/tmp/agentperf-%u", (unsigned)geteuid());
	if (length < 0 || (size_t)length >= sizeof(folder))
		return agp__error(-ENAMETOOLONG, "socket folder for deployment '%s' is too long",
		                  name);
	return path_in(folder, name, out, size);
}

int agp_control_system_socket_path(const char *deployment, char *out, size_t size)
{
	const char *override = getenv("AGENTPERF_SOCKET_DIR");
	if (override && override[0])
		return -ENOENT;
	char name[AGP_DEPLOYMENT_NAME_MAX + 1], own[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int error = agp_deployment_resolve(deployment, name);
	if (!error)
		error = agp_control_socket_path(deployment, own, sizeof(own));
	if (!error)
		error = path_in(SYSTEM_FOLDER, name, out, size);
	if (!error && strcmp(own, out) == 0)
		error = -ENOENT;
	return error;
}
