#include "common/deployment.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"

int agp_deployment_resolve(const char *requested, char out[AGP_DEPLOYMENT_NAME_MAX + 1])
{
	const char *name = requested;
	const char *source = "deployment name";
	if (!name) {
		name = getenv("AGENTPERF_NAME");
		source = "AGENTPERF_NAME";
	}
	/*
	 * Only an absent name means the default: an empty one is a mistake (a variable that
	 * expanded to nothing), and taking it for "default" would send samples where nobody
	 * looks.
	 */
	if (name && !*name)
		return agp__error(-EINVAL,
		                  requested
		                      ? "the deployment name is empty; give one (1..%d of "
		                        "[A-Za-z0-9._-]) or leave the option out for "
		                        "$AGENTPERF_NAME, then 'default'"
		                      : "AGENTPERF_NAME is set but empty; unset it for "
		                        "'default' or set it to a name (1..%d of [A-Za-z0-9._-])",
		                  AGP_DEPLOYMENT_NAME_MAX);
	if (!name)
		name = "default";
	size_t length = strlen(name);
	if (length > AGP_DEPLOYMENT_NAME_MAX)
		return agp__error(-EINVAL,
		                  "%s '%.80s' is %zu characters long; at most %d are allowed",
		                  source, name, length, AGP_DEPLOYMENT_NAME_MAX);
	if (name[0] == '.')
		return agp__error(-EINVAL, "%s '%s' must not start with '.'", source, name);
	for (size_t i = 0; i < length; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return agp__error(-EINVAL,
			                  "%s '%s' has '%c' at position %zu; only letters, digits, "
			                  "'.', '_' and '-' are allowed",
			                  source, name, c, i);
	}
	memcpy(out, name, length + 1);
	return 0;
}
