/* Where the control socket of a deployment lives (collector/control_path.c). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/control_path.h"

static int clean_environment(void **state)
{
	(void)state;
	unsetenv("AGENTPERF_SOCKET_DIR");
	unsetenv("XDG_RUNTIME_DIR");
	unsetenv("AGENTPERF_NAME");
	return 0;
}

static void follows_the_environment(void **state)
{
	(void)state;
	char path[108], expected[108];
	assert_int_equal(agp_control_socket_path("bench-1", path, sizeof(path)), 0);
	if (geteuid() == 0)
		assert_string_equal(path, "/run/agentperf/bench-1.sock");
	else {
		snprintf(expected, sizeof(expected), "/tmp/agentperf-%u/bench-1.sock",
		         (unsigned)geteuid());
		assert_string_equal(path, expected);
	}
	setenv("XDG_RUNTIME_DIR", "/run/user/1000", 1);
	assert_int_equal(agp_control_socket_path("bench-1", path, sizeof(path)), 0);
	assert_string_equal(path, "/run/user/1000/agentperf/bench-1.sock");
	setenv("XDG_RUNTIME_DIR", "relative/dir", 1); /* not absolute: ignored */
	assert_int_equal(agp_control_socket_path("bench-1", path, sizeof(path)), 0);
	assert_null(strstr(path, "relative"));
	setenv("AGENTPERF_SOCKET_DIR", "/srv/sockets", 1); /* wins over everything */
	assert_int_equal(agp_control_socket_path("bench-1", path, sizeof(path)), 0);
	assert_string_equal(path, "/srv/sockets/bench-1.sock");
	/* No name: $AGENTPERF_NAME, then "default". */
	assert_int_equal(agp_control_socket_path(NULL, path, sizeof(path)), 0);
	assert_string_equal(path, "/srv/sockets/default.sock");
	setenv("AGENTPERF_NAME", "from-env", 1);
	assert_int_equal(agp_control_socket_path(NULL, path, sizeof(path)), 0);
	assert_string_equal(path, "/srv/sockets/from-env.sock");
	clean_environment(NULL);
}

static void refuses_bad_names_and_long_paths(void **state)
{
	(void)state;
	char path[108] = "untouched";
	assert_int_equal(agp_control_socket_path("../etc", path, sizeof(path)), -EINVAL);
	assert_int_equal(agp_control_socket_path(".hidden", path, sizeof(path)), -EINVAL);
	assert_string_equal(path, "untouched");
	char folder[200];
	memset(folder, 'a', sizeof(folder) - 1);
	folder[0] = '/';
	folder[sizeof(folder) - 1] = '\0';
	setenv("AGENTPERF_SOCKET_DIR", folder, 1);
	assert_int_equal(agp_control_socket_path("x", path, sizeof(path)), -ENAMETOOLONG);
	unsetenv("AGENTPERF_SOCKET_DIR");
	char small[8];
	assert_int_equal(agp_control_socket_path("x", small, sizeof(small)), -ENAMETOOLONG);
	assert_string_equal(path, "untouched");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(follows_the_environment, clean_environment),
	    cmocka_unit_test_setup(refuses_bad_names_and_long_paths, clean_environment),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
