/* Atomic file replacement: contents, modes, folders, and no leftovers on success or failure. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/atomic_file.h"

static char dir[64];
static char err[512];

static unsigned count_entries(const char *folder)
{
	DIR *d = opendir(folder);
	assert_non_null(d);
	unsigned n = 0;
	struct dirent *e;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

static size_t read_back(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	size_t n = fread(buf, 1, len, f);
	fclose(f);
	return n;
}

static void test_write_replace_and_mode(void **state)
{
	(void)state;
	char path[128], buf[64];
	snprintf(path, sizeof(path), "%s/file.json", dir);
	/* Binary contents with a NUL: written byte for byte. */
	const char data[] = {'a', '\0', 'b', '\n'};
	assert_int_equal(agp_atomic_write_file(path, data, sizeof(data), err, sizeof(err)), 0);
	assert_int_equal(read_back(path, buf, sizeof(buf)), sizeof(data));
	assert_memory_equal(buf, data, sizeof(data));
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644);

	chmod(path, 0600);
	assert_int_equal(agp_atomic_write_file(path, "xyz", 3, err, sizeof(err)), 0);
	assert_int_equal(read_back(path, buf, sizeof(buf)), 3);
	assert_memory_equal(buf, "xyz", 3);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);

	assert_int_equal(agp_atomic_write_file(path, "", 0, err, sizeof(err)), 0);
	assert_int_equal(read_back(path, buf, sizeof(buf)), 0);
	assert_int_equal(count_entries(dir), 1);
	unlink(path);
}

static void test_creates_folders(void **state)
{
	(void)state;
	char path[128], sub[128];
	snprintf(path, sizeof(path), "%s/x/y/z.json", dir);
	assert_int_equal(agp_atomic_write_file(path, "1", 1, err, sizeof(err)), 0);
	snprintf(sub, sizeof(sub), "%s/x/y", dir);
	struct stat st;
	assert_int_equal(stat(sub, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	assert_int_equal(count_entries(sub), 1);
	unlink(path);
	rmdir(sub);
	snprintf(sub, sizeof(sub), "%s/x", dir);
	rmdir(sub);
}

static void test_failures_leave_nothing(void **state)
{
	(void)state;
	char path[128];
	/* A folder in the way of the rename. */
	snprintf(path, sizeof(path), "%s/taken", dir);
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(agp_atomic_write_file(path, "1", 1, err, sizeof(err)), -EISDIR);
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, "rename"));
	assert_int_equal(count_entries(dir), 1);
	rmdir(path);
	/* A file where a parent folder should be. */
	snprintf(path, sizeof(path), "%s/plain", dir);
	assert_int_equal(agp_atomic_write_file(path, "1", 1, err, sizeof(err)), 0);
	snprintf(path, sizeof(path), "%s/plain/child.json", dir);
	assert_int_equal(agp_atomic_write_file(path, "1", 1, err, sizeof(err)), -ENOTDIR);
	assert_non_null(strstr(err, path));
	assert_int_equal(agp_atomic_write_file("", "1", 1, err, sizeof(err)), -EINVAL);
	snprintf(path, sizeof(path), "%s/", dir);
	assert_int_equal(agp_atomic_write_file(path, "1", 1, err, sizeof(err)), -EINVAL);
	snprintf(path, sizeof(path), "%s/plain", dir);
	unlink(path);
	assert_int_equal(count_entries(dir), 0);
}

/* Relative to a folder fd: a link at the name is replaced (its target untouched), the mode exact.
 */
static void test_at_replaces_link_with_exact_mode(void **state)
{
	(void)state;
	char target[128], link[128], buf[64];
	snprintf(target, sizeof(target), "%s/target", dir);
	snprintf(link, sizeof(link), "%s/state.json", dir);
	assert_int_equal(agp_atomic_write_file(target, "keep", 4, err, sizeof(err)), 0);
	assert_int_equal(symlink(target, link), 0);
	int dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(dir_fd >= 0);
	mode_t old_umask = umask(0077);
	assert_int_equal(agp_atomic_write_at(dir_fd, dir, "state.json", "new", 3, 0640, (gid_t)-1,
	                                     err, sizeof(err)),
	                 0);
	umask(old_umask);
	struct stat st;
	assert_int_equal(lstat(link, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0640);
	assert_int_equal(read_back(link, buf, sizeof(buf)), 3);
	assert_memory_equal(buf, "new", 3);
	assert_int_equal(read_back(target, buf, sizeof(buf)), 4);
	assert_memory_equal(buf, "keep", 4);
	/* A name with a slash is not a name in the folder. */
	assert_int_equal(
	    agp_atomic_write_at(dir_fd, dir, "a/b", "1", 1, 0600, (gid_t)-1, err, sizeof(err)),
	    -EINVAL);
	assert_int_equal(count_entries(dir), 2);
	close(dir_fd);
	unlink(link);
	unlink(target);
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/agp_test_atomic.XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	return rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_write_replace_and_mode),
	    cmocka_unit_test(test_creates_folders),
	    cmocka_unit_test(test_failures_leave_nothing),
	    cmocka_unit_test(test_at_replaces_link_with_exact_mode),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
