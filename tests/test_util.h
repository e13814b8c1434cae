/*
 * Small helpers shared by the tests: unique deployment names (tests of
 * several builds may run at once on one machine) and a cmocka-friendly
 * check that an error message names what it should.
 */
#ifndef AGP_TEST_UTIL_H
#define AGP_TEST_UTIL_H

#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* "t<pid>-<what>": unique per test process, valid as a deployment name. */
static inline void agp_test_name(char *out, size_t size, const char *what)
{
	snprintf(out, size, "t%ld-%s", (long)getpid(), what);
}

/* Fails the test, printing the message, unless message contains needle. */
#define assert_message_contains(message, needle)                                                   \
	do {                                                                                       \
		const char *agp__m = (message);                                                    \
		if (!strstr(agp__m, (needle)))                                                     \
			fail_msg("message '%s' does not contain '%s'", agp__m, (needle));          \
	} while (0)

#endif
