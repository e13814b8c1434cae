/*
 * The per-worker pids cgroup leaf (cgroup.h).
 */
#include "agents/task/worker/cgroup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/error.h"

/* Where leaves are made: the folder of our own cgroup in the hierarchy with pids. */
static char base[400];
static bool base_v2;
static char where[sizeof(base) + 96] = "none";
static pthread_once_t base_once = PTHREAD_ONCE_INIT;
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

static void find_base(void)
{
	char point[512], path[512], folder[1100];
	if (mount_point(true, "", point, sizeof(point)) && own_path("", path, sizeof(path))) {
		snprintf(folder, sizeof(folder), "%s%s", point, strcmp(path, "/") ? path : "");
		char control[1200];
		snprintf(control, sizeof(control), "%s/cgroup.subtree_control", folder);
		if (file_has_word(control, "pids") && access(folder, W_OK) == 0 &&
		    strlen(folder) < sizeof(base)) {
			snprintf(base, sizeof(base), "%s", folder);
			base_v2 = true;
			snprintf(where, sizeof(where), "cgroup v2 pids (%s)", base);
			return;
		}
	}
	if (mount_point(false, "pids", point, sizeof(point)) &&
	    own_path("pids", path, sizeof(path))) {
		snprintf(folder, sizeof(folder), "%s%s", point, strcmp(path, "/") ? path : "");
		if (access(folder, W_OK) == 0 && strlen(folder) < sizeof(base)) {
			snprintf(base, sizeof(base), "%s", folder);
			snprintf(where, sizeof(where), "cgroup v1 pids (%s)", base);
			return;
		}
		snprintf(where, sizeof(where), "none (the pids cgroup %s is not writable)", folder);
		return;
	}
	snprintf(where, sizeof(where), "none (no writable cgroup with the pids controller)");
}

const char *agp__cgroup_where(void)
{
	pthread_once(&base_once, find_base);
	return where;
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

int agp__cgroup_create(struct agp__cgroup *leaf)
{
	leaf->path[0] = '\0';
	leaf->procs_fd = -1;
	pthread_once(&base_once, find_base);
	if (!base[0])
		return agp__error(-ENOTSUP, "no pids cgroup: %s", where);
	snprintf(leaf->path, sizeof(leaf->path), "%s/agentperf-%d-%d", base,
	         (int)(owner ? owner : getppid()), (int)getpid());
	leaf->v2 = base_v2;
	if (mkdir(leaf->path, 0755) != 0 && errno != EEXIST) {
		int error = agp__error(-errno, "cannot make the cgroup %s: %s", leaf->path,
		                       strerror(errno));
		leaf->path[0] = '\0';
		return error;
	}
	char limit[32];
	snprintf(limit, sizeof(limit), "%d\n", AGP__TASK_PROCESS_MAX);
	int error = write_file(leaf->path, "pids.max", limit);
	if (error) {
		agp__error(error, "cannot write %s/pids.max: %s", leaf->path, strerror(-error));
		goto fail_leaf;
	}
	char procs[600];
	snprintf(procs, sizeof(procs), "%s/cgroup.procs", leaf->path);
	leaf->procs_fd = open(procs, O_WRONLY | O_CLOEXEC);
	if (leaf->procs_fd < 0) {
		error = agp__error(-errno, "cannot open %s: %s", procs, strerror(errno));
		goto fail_leaf;
	}
	return 0;

fail_leaf:
	rmdir(leaf->path);
	leaf->path[0] = '\0';
	return error;
}

void agp__cgroup_join(const struct agp__cgroup *leaf)
{
	if (leaf && leaf->procs_fd >= 0)
		(void)!write(leaf->procs_fd, "0", 1);
}

/* Signals every process listed in the leaf; returns how many were listed. */
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

void agp__cgroup_kill_all(const struct agp__cgroup *leaf)
{
	if (leaf && leaf->path[0])
		kill_folder(leaf->path);
}

void agp__cgroup_remove(pid_t worker)
{
	pthread_once(&base_once, find_base);
	if (!base[0])
		return;
	char folder[600];
	snprintf(folder, sizeof(folder), "%s/agentperf-%d-%d", base,
	         (int)(owner ? owner : getpid()), (int)worker);
	struct stat info;
	if (stat(folder, &info) != 0)
		return;
	kill_folder(folder);
	rmdir(folder);
}

void agp__cgroup_prepare(void)
{
	owner = getpid();
	pthread_once(&base_once, find_base);
}

void agp__cgroup_release(void)
{
	pthread_once(&base_once, find_base);
	if (!base[0])
		return;
	char prefix[64];
	snprintf(prefix, sizeof(prefix), "agentperf-%d-", (int)(owner ? owner : getpid()));
	DIR *folder = opendir(base);
	if (!folder)
		return;
	for (struct dirent *entry; (entry = readdir(folder));) {
		if (strncmp(entry->d_name, prefix, strlen(prefix)) != 0)
			continue;
		char leaf[sizeof(base) + sizeof(entry->d_name) + 2];
		snprintf(leaf, sizeof(leaf), "%s/%s", base, entry->d_name);
		kill_folder(leaf);
		rmdir(leaf);
	}
	closedir(folder);
}
