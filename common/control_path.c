#include "common/control_path.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/error.h"
#include "common/deployment.h"

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
		length = snprintf(folder, sizeof(folder), "/run/agentperf");
	else
		length = snprintf(folder, sizeof(folder), "/tmp/agentperf-%u", (unsigned)geteuid());
	if (length < 0 || (size_t)length >= sizeof(folder))
		return agp__error(-ENAMETOOLONG, "socket folder for deployment '%s' is too long",
		                  name);
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	length = snprintf(path, sizeof(path), "%s/%s.sock", folder, name);
	if (length < 0 || (size_t)length >= sizeof(path) || (size_t)length >= size)
		return agp__error(
		    -ENAMETOOLONG,
		    "socket path %s/%s.sock is longer than a Unix socket address allows", folder,
		    name);
	snprintf(out, size, "%s", path);
	return 0;
}
