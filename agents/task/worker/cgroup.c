/*
 * The worker's cgroup leaves (cgroup.h).
 */
#include "agents/task/worker/cgroup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/error.h"

/* Where leaves for one controller are made: the folder of our own cgroup in its hierarchy. */
#define BASE_MAX 400
struct hierarchy {
	const char *controller;
	char base[BASE_MAX];
	bool v2;
	char where[BASE_MAX + 96];
};

static struct hierarchy pids_tree = {.controller = "pids", .where = "none"};
static struct hierarchy memory_tree = {.controller = "memory", .where = "none"};
static pthread_once_t trees_once = PTHREAD_ONCE_INIT;
/* The caller whose workers' leaves these are (agp__cgroup_prepare); inherited by the workers. */
static pid_t owner;
/* Our cgroup's path in the v2 hierarchy (controllers "") or the v1 one that lists `controller`. */
static bool own_path(const char *controller, char *path, size_t path_len)
{
	FILE *file = fopen("/proc/self/cgroup", "re");
	if (!file)
		return false;
	char line[1024];
	bool found = false;
	while (!found && fgets(line, sizeof(line), file)) {
		line[strcspn(line, "\n")] = '\0';
		char *first = strchr(line, ':'), *second = first ? strchr(first + 1, ':') : NULL;
		if (!second)
			continue;
		*second = '\0';
		const char *controllers = first + 1;
		if (*controller == '\0') {
			found = *controllers == '\0';
		} else {
			char copy[256];
			snprintf(copy, sizeof(copy), "%s", controllers);
			for (char *save, *word = strtok_r(copy, ",", &save); word && !found;
			     word = strtok_r(NULL, ",", &save))
				found = strcmp(word, controller) == 0;
		}
		if (found)
			snprintf(path, path_len, "%s", second + 1);
	}
	fclose(file);
	return found;
}

/* The mount point of a cgroup2 file system (v2) or of the cgroup v1 mount with `controller`. */
static bool mount_point(bool v2, const char *controller, char *point, size_t point_len)
{
	FILE *file = fopen("/proc/self/mountinfo", "re");
	if (!file)
		return false;
	char line[2048];
	bool found = false;
	while (!found && fgets(line, sizeof(line), file)) {
		char root[512], mount[512], type[64], options[512];
		char *dash = strstr(line, " - ");
		if (!dash || sscanf(line, "%*s %*s %*s %511s %511s", root, mount) != 2 ||
		    sscanf(dash + 3, "%63s %*s %511s", type, options) != 2 ||
		    strcmp(root, "/") != 0)
			continue;
		if (v2) {
			found = strcmp(type, "cgroup2") == 0;
		} else if (strcmp(type, "cgroup") == 0) {
			for (char *save, *word = strtok_r(options, ",", &save); word && !found;
			     word = strtok_r(NULL, ",", &save))
				found = strcmp(word, controller) == 0;
		}
		if (found)
			snprintf(point, point_len, "%s", mount);
	}
	fclose(file);
	return found;
}

static bool file_has_word(const char *path, const char *word)
{
	FILE *file = fopen(path, "re");
	if (!file)
		return false;
	char text[512];
	bool found = false;
	if (fgets(text, sizeof(text), file))
		for (char *save, *w = strtok_r(text, " \n", &save); w && !found;
		     w = strtok_r(NULL, " \n", &save))
			found = strcmp(w, word) == 0;
	fclose(file);
	return found;
}

static void find_tree(struct hierarchy *tree)
{
	char point[512], path[512], folder[1100];
	if (mount_point(true, "", point, sizeof(point)) && own_path("", path, sizeof(path))) {
		snprintf(folder, sizeof(folder), "%s%s", point, strcmp(path, "/") ? path : "");
		char control[1200];
		snprintf(control, sizeof(control), "%s/cgroup.subtree_control", folder);
		if (file_has_word(control, tree->controller) && access(folder, W_OK) == 0 &&
		    strlen(folder) < sizeof(tree->base)) {
			snprintf(tree->base, sizeof(tree->base), "%s", folder);
			tree->v2 = true;
			snprintf(tree->where, sizeof(tree->where), "cgroup v2 %s (%s)",
			         tree->controller, tree->base);
			return;
		}
	}
	if (mount_point(false, tree->controller, point, sizeof(point)) &&
	    own_path(tree->controller, path, sizeof(path))) {
		snprintf(folder, sizeof(folder), "%s%s", point, strcmp(path, "/") ? path : "");
		if (access(folder, W_OK) == 0 && strlen(folder) < sizeof(tree->base)) {
			snprintf(tree->base, sizeof(tree->base), "%s", folder);
			snprintf(tree->where, sizeof(tree->where), "cgroup v1 %s (%s)",
			         tree->controller, tree->base);
			return;
		}
		snprintf(tree->where, sizeof(tree->where),
		         "none (the %s cgroup %s is not writable)", tree->controller, folder);
		return;
	}
	snprintf(tree->where, sizeof(tree->where),
	         "none (no writable cgroup with the %s controller)", tree->controller);
}

static void find_trees(void)
{
	find_tree(&pids_tree);
	find_tree(&memory_tree);
}

const char *agp__cgroup_where(void)
{
	pthread_once(&trees_once, find_trees);
	return pids_tree.where;
}

const char *agp__cgroup_memory_where(void)
{
	pthread_once(&trees_once, find_trees);
	return memory_tree.where;
}

/* True when one folder serves both controllers (a v2 cgroup with both enabled). */
static bool shared_folder(void)
{
	return pids_tree.base[0] && strcmp(pids_tree.base, memory_tree.base) == 0;
}

static int write_file(const char *folder, const char *name, const char *text)
{
	char path[600];
	snprintf(path, sizeof(path), "%s/%s", folder, name);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t put = write(fd, text, strlen(text));
	int error = put < 0 ? -errno : 0;
	close(fd);
	return error;
}

static int open_in(const char *folder, const char *name, int flags)
{
	char path[600];
	snprintf(path, sizeof(path), "%s/%s", folder, name);
	int fd = open(path, flags | O_CLOEXEC);
	if (fd < 0)
		return agp__error(-errno, "cannot open %s: %s", path, strerror(errno));
	return fd;
}

/* Names the leaf `<base>/agentperf-<caller>-<worker><suffix>` and makes its folder. */
static int make_folder(const struct hierarchy *tree, pid_t caller, pid_t worker, const char *suffix,
                       char *path, size_t path_len)
{
	snprintf(path, path_len, "%s/agentperf-%d-%d%s", tree->base, (int)caller, (int)worker,
	         suffix);
	if (mkdir(path, 0755) != 0 && errno != EEXIST) {
		int error =
		    agp__error(-errno, "cannot make the cgroup %s: %s", path, strerror(errno));
		path[0] = '\0';
		return error;
	}
	return 0;
}

/*
 * Holds the folder's processes together to limit_mb, swap included, and opens
 * the file that counts the kernel's kills for it.
 */
static int limit_memory(const char *folder, bool v2, unsigned limit_mb, int *events_fd)
{
	char bytes[32];
	snprintf(bytes, sizeof(bytes), "%" PRIu64 "\n", (uint64_t)limit_mb << 20);
	const char *limit_file = v2 ? "memory.max" : "memory.limit_in_bytes";
	int error = write_file(folder, limit_file, bytes);
	if (error)
		return agp__error(error, "cannot write %s/%s: %s", folder, limit_file,
		                  strerror(-error));
	/* Without swap accounting these files are missing: there is then no swap to escape to. */
	if (v2)
		(void)write_file(folder, "memory.swap.max", "0\n");
	else
		(void)write_file(folder, "memory.memsw.limit_in_bytes", bytes);
	*events_fd = open_in(folder, v2 ? "memory.events" : "memory.oom_control", O_RDONLY);
	return *events_fd < 0 ? *events_fd : 0;
}

static void remove_folder(const char *folder);

static void clear(struct agp__cgroup *leaf)
{
	leaf->path[0] = '\0';
	leaf->memory_path[0] = '\0';
	leaf->procs_fd = -1;
	leaf->memory_procs_fd = -1;
	leaf->memory_events_fd = -1;
}

/* The memory part of a leaf: in its own folder, or in the pids part's folder (v2). */
static int make_memory_part(struct agp__cgroup *leaf, pid_t caller, const char *suffix,
                            unsigned limit_mb)
{
	bool own_folder = !(leaf->path[0] && shared_folder());
	if (own_folder) {
		int error = make_folder(&memory_tree, caller, getpid(), suffix, leaf->memory_path,
		                        sizeof(leaf->memory_path));
		if (error)
			return error;
	} else {
		snprintf(leaf->memory_path, sizeof(leaf->memory_path), "%s", leaf->path);
	}
	int error =
	    limit_memory(leaf->memory_path, memory_tree.v2, limit_mb, &leaf->memory_events_fd);
	if (!error && own_folder) {
		leaf->memory_procs_fd = open_in(leaf->memory_path, "cgroup.procs", O_WRONLY);
		error = leaf->memory_procs_fd < 0 ? leaf->memory_procs_fd : 0;
	}
	if (!error)
		return 0;
	if (leaf->memory_events_fd >= 0)
		close(leaf->memory_events_fd);
	leaf->memory_events_fd = -1;
	if (own_folder)
		remove_folder(leaf->memory_path);
	leaf->memory_path[0] = '\0';
	return error;
}

static int make_pids_part(struct agp__cgroup *leaf, pid_t caller)
{
	int error = make_folder(&pids_tree, caller, getpid(), "", leaf->path, sizeof(leaf->path));
	if (error)
		return error;
	char limit[32];
	snprintf(limit, sizeof(limit), "%d\n", AGP__TASK_PROCESS_MAX);
	error = write_file(leaf->path, "pids.max", limit);
	if (error) {
		agp__error(error, "cannot write %s/pids.max: %s", leaf->path, strerror(-error));
		goto fail_folder;
	}
	leaf->procs_fd = open_in(leaf->path, "cgroup.procs", O_WRONLY);
	if (leaf->procs_fd < 0) {
		error = leaf->procs_fd;
		goto fail_folder;
	}
	return 0;

fail_folder:
	remove_folder(leaf->path);
	leaf->path[0] = '\0';
	return error;
}

int agp__cgroup_create(struct agp__cgroup *leaf, unsigned memory_limit_mb)
{
	clear(leaf);
	pthread_once(&trees_once, find_trees);
	pid_t caller = owner ? owner : getppid();
	int pids_error = pids_tree.base[0]
	                     ? make_pids_part(leaf, caller)
	                     : agp__error(-ENOTSUP, "no pids cgroup: %s", pids_tree.where);
	int memory_error = 0;
	if (memory_limit_mb && memory_tree.base[0])
		memory_error = make_memory_part(leaf, caller, "", memory_limit_mb);
	if (pids_error && (memory_error || !leaf->memory_path[0]))
		return memory_error ? memory_error : pids_error;
	return 0;
}

int agp__cgroup_enter_worker_leaf(struct agp__cgroup *leaf, unsigned memory_limit_mb)
{
	clear(leaf);
	pthread_once(&trees_once, find_trees);
	if (!memory_limit_mb)
		return 0;
	if (!memory_tree.base[0])
		return agp__error(-ENOTSUP, "no memory cgroup: %s", memory_tree.where);
	/* Never the runner leaf's folder: killing the runners must not kill the worker. */
	int error = make_folder(&memory_tree, owner ? owner : getppid(), getpid(), "-worker",
	                        leaf->memory_path, sizeof(leaf->memory_path));
	if (error)
		return error;
	error = limit_memory(leaf->memory_path, memory_tree.v2, memory_limit_mb,
	                     &leaf->memory_events_fd);
	if (!error) {
		error = write_file(leaf->memory_path, "cgroup.procs", "0");
		if (error)
			agp__error(error, "cannot move the worker into %s: %s", leaf->memory_path,
			           strerror(-error));
	}
	if (!error)
		return 0;
	if (leaf->memory_events_fd >= 0)
		close(leaf->memory_events_fd);
	remove_folder(leaf->memory_path);
	clear(leaf);
	return error;
}

void agp__cgroup_join(const struct agp__cgroup *leaf)
{
	if (!leaf)
		return;
	if (leaf->procs_fd >= 0)
		(void)!write(leaf->procs_fd, "0", 1);
	if (leaf->memory_procs_fd >= 0)
		(void)!write(leaf->memory_procs_fd, "0", 1);
}

bool agp__cgroup_limits_memory(const struct agp__cgroup *leaf)
{
	return leaf && leaf->memory_events_fd >= 0;
}

/* The number after "oom_kill " in memory.events or memory.oom_control text. */
static uint64_t oom_kills_in(const char *text)
{
	for (const char *line = text; line && *line; line = strchr(line, '\n')) {
		line += *line == '\n';
		if (strncmp(line, "oom_kill ", 9) == 0)
			return strtoull(line + 9, NULL, 10);
	}
	return 0;
}

uint64_t agp__cgroup_memory_kills(const struct agp__cgroup *leaf)
{
	if (!agp__cgroup_limits_memory(leaf))
		return 0;
	char text[512];
	ssize_t got = pread(leaf->memory_events_fd, text, sizeof(text) - 1, 0);
	if (got <= 0)
		return 0;
	text[got] = '\0';
	return oom_kills_in(text);
}

uint64_t agp__cgroup_worker_memory_kills(pid_t worker)
{
	pthread_once(&trees_once, find_trees);
	if (!memory_tree.base[0])
		return 0;
	char path[600];
	snprintf(path, sizeof(path), "%s/agentperf-%d-%d-worker/%s", memory_tree.base,
	         (int)(owner ? owner : getpid()), (int)worker,
	         memory_tree.v2 ? "memory.events" : "memory.oom_control");
	FILE *file = fopen(path, "re");
	if (!file)
		return 0;
	char text[512];
	size_t got = fread(text, 1, sizeof(text) - 1, file);
	fclose(file);
	text[got] = '\0';
	return oom_kills_in(text);
}

/* Signals every process listed in the folder; returns how many were listed. */
static int kill_listed(const char *folder)
{
	char path[600];
	snprintf(path, sizeof(path), "%s/cgroup.procs", folder);
	FILE *file = fopen(path, "re");
	if (!file)
		return 0;
	int count = 0, pid;
	while (fscanf(file, "%d", &pid) == 1) {
		kill(pid, SIGKILL);
		count++;
	}
	fclose(file);
	return count;
}

static void kill_folder(const char *folder)
{
	const struct timespec pause = {0, 1000000};
	for (int round = 0; round < 2000; round++) {
		if (kill_listed(folder) == 0)
			return;
		nanosleep(&pause, NULL);
	}
}

static void remove_folder(const char *folder)
{
	struct stat info;
	if (stat(folder, &info) != 0)
		return;
	kill_folder(folder);
	rmdir(folder);
}

void agp__cgroup_kill_all(const struct agp__cgroup *leaf)
{
	if (!leaf)
		return;
	if (leaf->path[0])
		kill_folder(leaf->path);
	if (leaf->memory_path[0] && strcmp(leaf->memory_path, leaf->path) != 0)
		kill_folder(leaf->memory_path);
}

void agp__cgroup_close(struct agp__cgroup *leaf)
{
	if (leaf->procs_fd >= 0)
		close(leaf->procs_fd);
	if (leaf->memory_procs_fd >= 0)
		close(leaf->memory_procs_fd);
	if (leaf->memory_events_fd >= 0)
		close(leaf->memory_events_fd);
	clear(leaf);
}

/* The hierarchies with a folder of their own (one when v2 serves both from one folder). */
static size_t distinct_trees(const struct hierarchy **trees)
{
	size_t count = 0;
	if (pids_tree.base[0])
		trees[count++] = &pids_tree;
	if (memory_tree.base[0] && !shared_folder())
		trees[count++] = &memory_tree;
	return count;
}

void agp__cgroup_remove(pid_t worker)
{
	pthread_once(&trees_once, find_trees);
	const struct hierarchy *trees[2];
	size_t count = distinct_trees(trees);
	for (size_t t = 0; t < count; t++) {
		char folder[600];
		snprintf(folder, sizeof(folder), "%s/agentperf-%d-%d", trees[t]->base,
		         (int)(owner ? owner : getpid()), (int)worker);
		remove_folder(folder);
		if (trees[t] == &memory_tree || shared_folder()) {
			snprintf(folder, sizeof(folder), "%s/agentperf-%d-%d-worker",
			         trees[t]->base, (int)(owner ? owner : getpid()), (int)worker);
			remove_folder(folder);
		}
	}
}

void agp__cgroup_prepare(void)
{
	owner = getpid();
	pthread_once(&trees_once, find_trees);
}

void agp__cgroup_release(void)
{
	pthread_once(&trees_once, find_trees);
	const struct hierarchy *trees[2];
	size_t count = distinct_trees(trees);
	char prefix[64];
	snprintf(prefix, sizeof(prefix), "agentperf-%d-", (int)(owner ? owner : getpid()));
	for (size_t t = 0; t < count; t++) {
		DIR *folder = opendir(trees[t]->base);
		if (!folder)
			continue;
		for (struct dirent *entry; (entry = readdir(folder));) {
			if (strncmp(entry->d_name, prefix, strlen(prefix)) != 0)
				continue;
			char leaf[sizeof(trees[t]->base) + sizeof(entry->d_name) + 2];
			snprintf(leaf, sizeof(leaf), "%s/%s", trees[t]->base, entry->d_name);
			kill_folder(leaf);
			rmdir(leaf);
		}
		closedir(folder);
	}
}
