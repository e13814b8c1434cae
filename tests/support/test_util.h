/*
 * Small helpers shared by the tests: unique deployment names (tests of
 * several builds may run at once on one machine) and a cmocka-friendly
 * check that an error message names what it should.
 *
 * Tests read shared indices and counters with plain atomic_load/atomic_store
 * (seq_cst) where the writer has already exited, been joined or is this
 * thread: the order is then irrelevant and the shortest form reads best.
 * Where a test races with a writer, it spells out the order and says why.
 */
#ifndef AGP_TEST_UTIL_H
#define AGP_TEST_UTIL_H

#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* "t<pid>-<what>": unique per test process, valid as a deployment name. */
static inline void agp_test_name(char *out, size_t size, const char *what)
{
	snprintf(out, size, "t%ld-%s", (long)getpid(), what);
}

/*
 * A cmocka group teardown: removes every segment this test process named
 * with agp_test_name(), including those a failed test left behind.
 */
static inline int agp_test_cleanup(void **state)
{
	(void)state;
	char prefix[64];
	snprintf(prefix, sizeof(prefix), "agentperf.t%ld-", (long)getpid());
	DIR *dir = opendir("/dev/shm");
	if (!dir)
		return 0;
	struct dirent *entry;
	while ((entry = readdir(dir)) != NULL) {
		if (strncmp(entry->d_name, prefix, strlen(prefix)) == 0) {
			char name[300];
			snprintf(name, sizeof(name), "/%s", entry->d_name);
			shm_unlink(name);
		}
	}
	closedir(dir);
	return 0;
}

/* Fails the test, printing the message, unless message contains needle. */
#define assert_message_contains(message, needle)                                                   \
	do {                                                                                       \
		const char *agp__m = (message);                                                    \
		if (!strstr(agp__m, (needle)))                                                     \
			fail_msg("message '%s' does not contain '%s'", agp__m, (needle));          \
	} while (0)

#endif
