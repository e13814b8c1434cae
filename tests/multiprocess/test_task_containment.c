/*
 * Tasks stay inside their limits: what an agent lacks the capability for is
 * refused by the kernel (no file written, no connection made, no program
 * started), a task's processes do not outlive it, and a prompt or output
 * that does not fit an argument or UTF-8 still gets through.
 *
 * The witnesses are the kernel's: the file system (stat), a listening socket
 * this test owns, /proc (a marker in a process's environment), and cksum run
 * by the test itself on the same bytes.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <jansson.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <agentperf/task.h>

#include "tests/support/task_test_util.h"

/* Static: a failed assertion leaves the test early, and tt_teardown stops it then. */
static struct tt t;
static char folder[64]; /* a folder of this test that runners are asked to change */

static double now_s(void)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)now.tv_sec + now.tv_nsec / 1e9;
}

static bool exists(const char *name)
{
	char path[128];
	snprintf(path, sizeof(path), "%s/%s", folder, name);
	struct stat info;
	return lstat(path, &info) == 0;
}

static int make_folder(void **state)
{
	(void)state;
	snprintf(folder, sizeof(folder), "/tmp/agp-contain-%d-XXXXXX", (int)getpid());
	assert_non_null(mkdtemp(folder));
	char path[128];
	snprintf(path, sizeof(path), "%s/canary", folder);
	FILE *canary = fopen(path, "w");
	assert_non_null(canary);
	fputs("keep me\n", canary);
	fclose(canary);
	return 0;
}

static int remove_folder(void **state)
{
	char command[128];
	snprintf(command, sizeof(command), "rm -rf %s", folder);
	assert_int_equal(system(command), 0);
	unsetenv("AGENTPERF_TASK_ASSUME_MISSING");
	unsetenv("AGENTPERF_AGENTS_DIR");
	return tt_teardown(state);
}

/* Processes whose environment holds marker (the kernel's view: /proc/PID/environ). */
static int count_marked(const char *marker)
{
	DIR *proc = opendir("/proc");
	assert_non_null(proc);
	int count = 0;
	size_t marker_length = strlen(marker);
	for (struct dirent *entry; (entry = readdir(proc));) {
		int pid = atoi(entry->d_name);
		if (pid <= 0 || pid == getpid())
			continue;
		char path[64], text[16384];
		snprintf(path, sizeof(path), "/proc/%d/environ", pid);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		ssize_t length = read(fd, text, sizeof(text));
		close(fd);
		for (ssize_t i = 0; length > 0 && i + (ssize_t)marker_length <= length; i++)
			if (memcmp(text + i, marker, marker_length) == 0) {
				count++;
				break;
			}
	}
	closedir(proc);
	return count;
}

static bool wait_unmarked(const char *marker, double seconds)
{
	double until = now_s() + seconds;
	while (count_marked(marker) > 0)
		if (now_s() > until)
			return false;
		else
			usleep(10000);
	return true;
}

static void run(const char *type, const char *prompt, struct agp_task_result *result)
{
	agp_task(type, prompt, "", result);
	printf("# %s '%.60s': %s; error: %.300s\n", type, prompt,
	       agp_task_status_name(result->metadata.status), result->error);
}

static void test_runner_cannot_write_or_connect(void **state)
{
	(void)state;
	assert_int_equal(tt_start(&t, NULL, 0, 0), 0); /* the seed agents */
	char prompt[512];
	struct agp_task_result result;

	snprintf(prompt, sizeof(prompt), "$ touch %s/touched", folder);
	run("test-runner", prompt, &result);
	assert_false(result.success);
	assert_non_null(strstr(result.error, "Permission denied"));
	assert_false(exists("touched"));
	agp_task_result_free(&result);

	snprintf(prompt, sizeof(prompt), "$ rm -f %s/canary", folder);
	run("test-runner", prompt, &result);
	assert_false(result.success);
	assert_non_null(strstr(result.error, "Permission denied"));
	assert_true(exists("canary"));
	agp_task_result_free(&result);

	snprintf(prompt, sizeof(prompt), "$ sh -c \"echo x > %s/redirected\"", folder);
	run("test-runner", prompt, &result);
	assert_false(result.success);
	assert_non_null(strstr(result.error, "Permission denied"));
	assert_false(exists("redirected"));
	agp_task_result_free(&result);

	/* A listener of ours on loopback: the runner must not reach it. */
	int listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(listener >= 0);
	struct sockaddr_in address = {.sin_family = AF_INET,
	                              .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	assert_int_equal(bind(listener, (struct sockaddr *)&address, sizeof(address)), 0);
	assert_int_equal(listen(listener, 8), 0);
	socklen_t address_length = sizeof(address);
	assert_int_equal(getsockname(listener, (struct sockaddr *)&address, &address_length), 0);
	snprintf(prompt, sizeof(prompt), "$ bash -c \"echo hello > /dev/tcp/127.0.0.1/%u\"",
	         (unsigned)ntohs(address.sin_port));
	run("test-runner", prompt, &result);
	assert_false(result.success);
	assert_non_null(strstr(result.error, "unreachable"));
	agp_task_result_free(&result);
	struct pollfd waiting = {listener, POLLIN, 0};
	assert_int_equal(poll(&waiting, 1, 200), 0); /* nobody connected */
	close(listener);

	/* What it may do still works: its scratch folder is $TMPDIR. */
	run("test-runner", "$ sh -c \"echo scratch-ok > $TMPDIR/x && cat $TMPDIR/x\"", &result);
	assert_true(result.success);
	assert_non_null(strstr(result.output, "scratch-ok"));
	agp_task_result_free(&result);

	/* The listing says what is enforced. */
	const struct agp_agent_info *agents;
	int count = agp_list_agents(&agents);
	bool seen = false;
	for (int i = 0; i < count; i++)
		if (strcmp(agents[i].id, "test-runner") == 0) {
			seen = true;
			assert_non_null(
			    strstr(agents[i].confinement, "writes:scratch-only(landlock)"));
			assert_non_null(strstr(agents[i].confinement, "network:none(netns)"));
			assert_non_null(strstr(agents[i].confinement, "exec:allowed"));
		}
	assert_true(seen);
	tt_stop(&t);
}

static void unenforceable_capability_is_refused(void **state)
{
	(void)state;
	/* As on a machine without Landlock: whoever lacks WRITE_FILES is refused, not unguarded. */
	setenv("AGENTPERF_TASK_ASSUME_MISSING", "landlock", 1);
	assert_int_equal(tt_start(&t, NULL, 0, 0), 0);
	const struct agp_agent_info *agents;
	int count = agp_list_agents(&agents);
	assert_int_equal(count, 5);
	for (int i = 0; i < count; i++) {
		bool writes = strstr(agents[i].capabilities, "WRITE_FILES") != NULL;
		printf("# %s: %.120s\n", agents[i].id, agents[i].confinement);
		assert_int_equal(strncmp(agents[i].confinement, "REFUSED: ", 9) == 0, !writes);
	}
	struct agp_task_result result;
	run("code-reviewer", "int x;", &result);
	assert_false(result.success);
	assert_non_null(strstr(result.error, "cannot enforce 'no writes outside the scratch "
	                                     "folder'"));
	assert_non_null(strstr(result.error, "WRITE_FILES"));
	assert_int_equal(result.metadata.worker_pid, 0); /* no worker ever saw it */
	agp_task_result_free(&result);
	run("doc-writer", "A title. Some text.", &result);
	assert_true(result.success);
	agp_task_result_free(&result);

	setenv("AGENTPERF_TASK_ASSUME_MISSING", "landlok", 1);
	run("doc-writer", "A title. Some text.", &result);
	assert_false(result.success);
	assert_non_null(strstr(result.error, "AGENTPERF_TASK_ASSUME_MISSING has 'landlok'"));
	agp_task_result_free(&result);
	unsetenv("AGENTPERF_TASK_ASSUME_MISSING");
	tt_stop(&t);
}

static void scratch_is_emptied_between_tasks(void **state)
{
	(void)state;
	const struct tt_file files[] = {
	    {"one.json", "{\"id\": \"one\", \"capabilities\": [\"READ_FILES\", "
	                 "\"EXECUTE_COMMANDS\"], \"runner\": {\"kind\": \"builtin\", \"name\": "
	                 "\"test-run\"}, \"workers\": 1}"},
	};
	assert_int_equal(tt_start(&t, files, 1, 0), 0);
	struct agp_task_result result;
	run("one", "$ sh -c \"mkdir $TMPDIR/d && echo a > $TMPDIR/d/left && ls -R $TMPDIR\"",
	    &result);
	assert_true(result.success);
	assert_non_null(strstr(result.output, "left"));
	int worker = result.metadata.worker_pid;
	agp_task_result_free(&result);
	run("one", "$ sh -c \"ls -A $TMPDIR; echo end\"", &result);
	assert_true(result.success);
	assert_int_equal(result.metadata.worker_pid, worker); /* the same worker and folder */
	assert_non_null(strstr(result.output, "--- output ---\nend\n"));
	agp_task_result_free(&result);
	tt_stop(&t);
}

static void exec_agent_starts_only_its_program(void **state)
{
	(void)state;
	/* Everything but EXECUTE_COMMANDS, and none at all: sh may run, nothing it starts. */
	const struct tt_file files[] = {
	    {"noexec.json",
	     "{\"id\": \"noexec\", \"capabilities\": [\"READ_FILES\", \"WRITE_FILES\", "
	     "\"NETWORK_ACCESS\"], \"runner\": {\"kind\": \"exec\", \"argv\": [\"sh\", \"-c\", "
	     "\"{prompt}\"]}, \"workers\": 1}"},
	    {"nothing.json", "{\"id\": \"nothing\", \"runner\": {\"kind\": \"exec\", \"argv\": "
	                     "[\"/bin/sh\", \"-c\", \"{prompt}\"]}, \"workers\": 1}"},
	};
	assert_int_equal(tt_start(&t, files, 2, 0), 0);
	char prompt[512];
	struct agp_task_result result;

	run("noexec", "echo builtin-only", &result);
	assert_true(result.success);
	assert_string_equal(result.output, "builtin-only\n");
	agp_task_result_free(&result);

	snprintf(prompt, sizeof(prompt), "touch %s/by-touch", folder);
	run("noexec", prompt, &result);
	assert_false(result.success);
	assert_non_null(strstr(result.error, "refused to start"));
	assert_non_null(strstr(result.error, "touch"));
	assert_non_null(strstr(result.error, "EXECUTE_COMMANDS"));
	assert_false(exists("by-touch"));
	agp_task_result_free(&result);

	/* It may write (WRITE_FILES) with the shell's own redirection: the witness that only exec
	 * was stopped above. */
	snprintf(prompt, sizeof(prompt), "echo x > %s/redir-ok", folder);
	run("noexec", prompt, &result);
	assert_true(result.success);
	assert_true(exists("redir-ok"));
	agp_task_result_free(&result);

	snprintf(prompt, sizeof(prompt), "/bin/sh -c 'echo x > %s/nested'; rm -f %s/canary", folder,
	         folder);
	run("nothing", prompt, &result);
	assert_false(result.success);
	assert_non_null(strstr(result.error, "refused to start /bin/sh"));
	assert_false(exists("nested"));
	assert_true(exists("canary"));
	agp_task_result_free(&result);

	snprintf(prompt, sizeof(prompt), "echo x > %s/redirected", folder);
	run("nothing", prompt, &result);
	assert_false(result.success);
	assert_non_null(strstr(result.error, "Permission denied"));
	assert_false(exists("redirected"));
	agp_task_result_free(&result);
	tt_stop(&t);
}

static void setsid_grandchildren_die_at_timeout(void **state)
{
	(void)state;
	char marker[64], json[1024];
	snprintf(marker, sizeof(marker), "AGP_CONTAIN_MARK=s%d", (int)getpid());
	/* A setsid grandchild and a double fork (the middle process exits at once). */
	snprintf(
	    json, sizeof(json),
	    "{\"id\": \"escape\", \"capabilities\": [\"EXECUTE_COMMANDS\"], \"runner\": "
	    "{\"kind\": \"exec\", \"argv\": [\"/bin/sh\", \"-c\", \"export %s; setsid sleep 30 "
	    "& setsid sh -c 'sleep 30 &'; sleep 30\"]}, \"workers\": 1, \"timeout_s\": 1}",
	    marker);
	const struct tt_file files[] = {{"escape.json", json}};
	assert_int_equal(tt_start(&t, files, 1, 0), 0);
	agp_task_handle *handle = agp_task_submit("escape", "go", "");
	assert_non_null(handle);
	/* Until all three are seen (a lazy worker start under a sanitizer may take a while). */
	double until = now_s() + 5.0;
	int most = 0;
	while (now_s() < until && most < 3) {
		int count = count_marked(marker);
		most = count > most ? count : most;
		usleep(5000);
	}
	assert_true(most >= 3); /* the shell's sleep and both escapees ran */
	struct agp_task_result result;
	agp_task_wait(handle, &result);
	assert_int_equal(result.metadata.status, AGP_TASK_TIMEOUT);
	agp_task_result_free(&result);
	assert_true(wait_unmarked(marker, 2.0));
	tt_stop(&t);
}

static void fork_storm_is_bounded_and_ends(void **state)
{
	(void)state;
	char marker[64], json[1024];
	snprintf(marker, sizeof(marker), "AGP_CONTAIN_MARK=f%d", (int)getpid());
	/* env puts the marker where /proc shows it to every process the storm forks. */
	snprintf(json, sizeof(json),
	         "{\"id\": \"storm\", \"capabilities\": [\"EXECUTE_COMMANDS\"], \"runner\": "
	         "{\"kind\": \"exec\", \"argv\": [\"env\", \"%s\", \"%s\", \"--storm\"]}, "
	         "\"workers\": 1, \"timeout_s\": 1}",
	         marker, tt_self());
	const struct tt_file files[] = {{"storm.json", json}};
	assert_int_equal(tt_start(&t, files, 1, 0), 0);
	const struct agp_agent_info *agents;
	assert_int_equal(agp_list_agents(&agents), 1);
	bool bounded = strstr(agents[0].confinement, "processes: cgroup") != NULL ||
	               strstr(agents[0].confinement, "RLIMIT_NPROC 128") != NULL;
	printf("# %s\n", agents[0].confinement);
	agp_task_handle *handle = agp_task_submit("storm", "go", "");
	assert_non_null(handle);
	/* Sample the whole storm: from before it starts until it is over (or 5 s). */
	double until = now_s() + 5.0;
	int most = 0;
	while (now_s() < until) {
		int count = count_marked(marker);
		most = count > most ? count : most;
		if (most > 16 && count == 0)
			break;
		usleep(20000);
	}
	struct agp_task_result result;
	agp_task_wait(handle, &result);
	assert_int_equal(result.metadata.status, AGP_TASK_TIMEOUT);
	agp_task_result_free(&result);
	printf("# at most %d processes of the storm seen at once (bounded: %s)\n", most,
	       bounded ? "yes" : "no");
	assert_true(most > 16); /* it did storm */
	if (bounded)
		assert_true(most <= 128); /* AGP__TASK_PROCESS_MAX: the runner's whole leaf */
	assert_true(wait_unmarked(marker, 3.0));
	/* Where the leaves are: "processes: cgroup v1 pids (/sys/fs/cgroup/pids)". */
	char base[256] = "";
	const char *open_paren = strstr(agents[0].confinement, "pids (");
	if (open_paren)
		sscanf(open_paren + 6, "%255[^)]", base);
	tt_stop(&t);

	/* Nothing of the workers stays: no scratch folder, no cgroup leaf (the caller removed
	 * them). */
	char pattern[320];
	const char *tmp = getenv("TMPDIR");
	snprintf(pattern, sizeof(pattern), "%s/agentperf-scratch.%d.*", tmp ? tmp : "/tmp",
	         (int)getpid());
	glob_t found;
	assert_int_equal(glob(pattern, 0, NULL, &found), GLOB_NOMATCH);
	if (base[0]) {
		snprintf(pattern, sizeof(pattern), "%s/agentperf-%d-*", base, (int)getpid());
		assert_int_equal(glob(pattern, 0, NULL, &found), GLOB_NOMATCH);
	}
}

/* Runs the CLI with standard output and error in files; returns its exit status. */
static int run_cli(int argc, char **argv, int input_fd, char *out, char *err, size_t max)
{
	char out_path[] = "/tmp/agp-contain-out-XXXXXX", err_path[] = "/tmp/agp-contain-err-XXXXXX";
	int out_fd = mkstemp(out_path), err_fd = mkstemp(err_path);
	assert_true(out_fd >= 0 && err_fd >= 0);
	fflush(stdout);
	fflush(stderr);
	int saved_in = dup(0), saved_out = dup(1), saved_err = dup(2);
	if (input_fd >= 0)
		dup2(input_fd, 0);
	dup2(out_fd, 1);
	dup2(err_fd, 2);
	int status = agp_task_cli(argc, argv);
	fflush(stdout);
	fflush(stderr);
	fflush(stderr);
	dup2(saved_in, 0);
	dup2(saved_out, 1);
	dup2(saved_err, 2);
	close(saved_in);
	close(saved_out);
	close(saved_err);
	ssize_t length = pread(out_fd, out, max - 1, 0);
	out[length > 0 ? length : 0] = '\0';
	length = pread(err_fd, err, max - 1, 0);
	err[length > 0 ? length : 0] = '\0';
	close(out_fd);
	close(err_fd);
	unlink(out_path);
	unlink(err_path);
	printf("# %s %s: exit %d; stderr: %.300s\n", argv[0], argv[1], status, err);
	return status;
}

/* A prompt file of size bytes of printable text that is not all the same. */
static void write_prompt(const char *path, size_t size)
{
	FILE *file = fopen(path, "w");
	assert_non_null(file);
	for (size_t i = 0; i < size; i++)
		fputc(i % 61 == 60 ? '\n' : 'a' + (int)(i * 7 % 26), file);
	fclose(file);
}

static void witness_cksum(const char *path, char *text, size_t text_max)
{
	char command[256];
	snprintf(command, sizeof(command), "cksum < %s", path);
	FILE *pipe = popen(command, "r");
	assert_non_null(pipe);
	assert_non_null(fgets(text, (int)text_max, pipe));
	assert_int_equal(pclose(pipe), 0);
}

static void large_prompts_by_file_and_stdin(void **state)
{
	(void)state;
	const struct tt_file files[] = {
	    {"sum.json", "{\"id\": \"sum\", \"runner\": {\"kind\": \"exec\", \"argv\": "
	                 "[\"cksum\"]}, \"workers\": 1}"},
	};
	assert_int_equal(tt_start(&t, files, 1, 0), 0);
	setenv("AGENTPERF_AGENTS_DIR", t.dir, 1); /* for the CLI's own start after each command */
	char path[128], big[128], expected[128], out[8192], err[8192];
	snprintf(path, sizeof(path), "%s/prompt", folder);
	snprintf(big, sizeof(big), "%s/too-big", folder);
	write_prompt(path, 900u << 10);
	write_prompt(big, 1536u << 10);
	witness_cksum(path, expected, sizeof(expected));
	assert_non_null(strstr(expected, " 921600"));

	char *by_file[] = {"task", "sum", "--prompt-file", path};
	assert_int_equal(run_cli(4, by_file, -1, out, err, sizeof(out)), 0);
	assert_string_equal(out, expected);

	int input = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(input >= 0);
	char *by_stdin[] = {"task", "sum", "-"};
	assert_int_equal(run_cli(3, by_stdin, input, out, err, sizeof(out)), 0);
	close(input);
	assert_string_equal(out, expected);

	char *too_big[] = {"task", "sum", "--prompt-file", big};
	assert_int_equal(run_cli(4, too_big, -1, out, err, sizeof(out)), 2);
	assert_non_null(strstr(err, "longer than the limit of 1048576 bytes"));
	assert_non_null(strstr(err, big));
	input = open(big, O_RDONLY | O_CLOEXEC);
	assert_int_equal(run_cli(3, by_stdin, input, out, err, sizeof(out)), 2);
	close(input);
	assert_non_null(strstr(err, "standard input is longer than the limit"));
	unsetenv("AGENTPERF_AGENTS_DIR");
	tt_stop(&t);
}

static void invalid_utf8_stays_in_json(void **state)
{
	(void)state;
	const struct tt_file files[] = {
	    {"bytes.json", "{\"id\": \"bytes\", \"runner\": {\"kind\": \"exec\", \"argv\": "
	                   "[\"printf\", \"a\\\\377b\"]}, \"workers\": 1}"},
	    {"badfail.json", "{\"id\": \"badfail\", \"runner\": {\"kind\": \"exec\", \"argv\": "
	                     "[\"/bin/sh\", \"-c\", "
	                     "\"printf 'bad\\\\376' >&2; exit 3\"]}, \"workers\": 1}"},
	};
	assert_int_equal(tt_start(&t, files, 2, 0), 0);
	setenv("AGENTPERF_AGENTS_DIR", t.dir, 1); /* for the CLI's own start after each command */
	char out[8192], err[8192];
	char *bytes[] = {"task", "bytes", "go", "--json"};
	assert_int_equal(run_cli(4, bytes, -1, out, err, sizeof(out)), 0);
	json_error_t error;
	json_t *root = json_loads(out, 0, &error);
	assert_non_null(root);
	assert_string_equal(json_string_value(json_object_get(root, "output")), "a\xef\xbf\xbd"
	                                                                        "b");
	assert_string_equal(json_string_value(json_object_get(root, "output_base64")), "Yf9i");
	json_decref(root);

	char *badfail[] = {"task", "badfail", "go", "--json"};
	assert_int_equal(run_cli(4, badfail, -1, out, err, sizeof(out)), 1);
	root = json_loads(out, 0, &error);
	assert_non_null(root);
	const char *text = json_string_value(json_object_get(root, "error"));
	assert_non_null(text);
	assert_non_null(strstr(text, "bad\xef\xbf\xbd"));
	assert_non_null(json_object_get(root, "error_base64"));
	json_decref(root);
	unsetenv("AGENTPERF_AGENTS_DIR");
	tt_stop(&t);
}

/* Re-entered as an exec runner: fork setsid children that wait forever, as fast as allowed. */
static __attribute__((noreturn)) void storm(void)
{
	for (;;) {
		pid_t child = fork();
		if (child == 0) {
			setsid();
			for (;;)
				pause();
		}
		if (child < 0)
			usleep(1000); /* at the bound: try again, never give up */
	}
}

int main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "--storm") == 0)
		storm();
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_runner_cannot_write_or_connect, make_folder,
	                                    remove_folder),
	    cmocka_unit_test_setup_teardown(unenforceable_capability_is_refused, make_folder,
	                                    remove_folder),
	    cmocka_unit_test_setup_teardown(scratch_is_emptied_between_tasks, make_folder,
	                                    remove_folder),
	    cmocka_unit_test_setup_teardown(exec_agent_starts_only_its_program, make_folder,
	                                    remove_folder),
	    cmocka_unit_test_setup_teardown(setsid_grandchildren_die_at_timeout, make_folder,
	                                    remove_folder),
	    cmocka_unit_test_setup_teardown(fork_storm_is_bounded_and_ends, make_folder,
	                                    remove_folder),
	    cmocka_unit_test_setup_teardown(large_prompts_by_file_and_stdin, make_folder,
	                                    remove_folder),
	    cmocka_unit_test_setup_teardown(invalid_utf8_stays_in_json, make_folder, remove_folder),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
