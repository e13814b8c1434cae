/*
 * The kernel's confinement of a task runner: Landlock for writes, a network
 * namespace for the network, seccomp for starting programs (sandbox.h).
 */
#include "agents/task/worker/sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/landlock.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <sched.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/error.h"

#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14)
#endif

/* Landlock ABI 3 is the first that also stops truncate(2) of a file outside the scratch. */
#define LANDLOCK_ABI_NEEDED 3

#if defined(__x86_64__)
#define AGP_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define AGP_AUDIT_ARCH AUDIT_ARCH_AARCH64
#endif

/* Every right that changes the file system: what a runner without WRITE_FILES lacks. */
static const __u64 write_rights =
    LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_REMOVE_DIR | LANDLOCK_ACCESS_FS_REMOVE_FILE |
    LANDLOCK_ACCESS_FS_MAKE_CHAR | LANDLOCK_ACCESS_FS_MAKE_DIR | LANDLOCK_ACCESS_FS_MAKE_REG |
    LANDLOCK_ACCESS_FS_MAKE_SOCK | LANDLOCK_ACCESS_FS_MAKE_FIFO | LANDLOCK_ACCESS_FS_MAKE_BLOCK |
    LANDLOCK_ACCESS_FS_MAKE_SYM | LANDLOCK_ACCESS_FS_REFER | LANDLOCK_ACCESS_FS_TRUNCATE;
/* The rights a rule on a single file (not a folder) may carry. */
static const __u64 file_write_rights = LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_TRUNCATE;

#ifdef AGP_AUDIT_ARCH
/*
 * execve and execveat get `action`; a system call of another ABI (i386 or x32
 * on x86-64) fails with EPERM, so that no other numbering reaches execve.
 */
#define EXEC_FILTER(action)                                                                        \
	{                                                                                          \
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),           \
		    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AGP_AUDIT_ARCH, 1, 0),                     \
		    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),                          \
		    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),         \
		    BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 0x40000000u, 3, 0),                        \
		    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_execve, 2, 0),                        \
		    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_execveat, 1, 0),                      \
		    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),                                  \
		    BPF_STMT(BPF_RET | BPF_K, (action)),                                           \
	}
static struct sock_filter deny_exec_filter[] = EXEC_FILTER(SECCOMP_RET_ERRNO | EPERM);
static struct sock_filter notify_exec_filter[] = EXEC_FILTER(SECCOMP_RET_USER_NOTIF);
#endif

/*
 * The caller's folder of scratch folders (agp__sandbox_prepare), inherited by
 * the workers it forks: a confined worker cannot remove its own scratch
 * folder (that is a change to the folder above it), so the caller does.
 */
static char scratch_base[400];
static char scratch_base_why[480] = "agp__sandbox_prepare was not called";

static struct agp__sandbox_support support;
/* In a worker with a scratch folder: an inotify descriptor watching it, or -1. */
static int scratch_watch = -1;
/* Set in a worker that made its own user namespace (enter_network_namespace). */
static bool in_user_namespace;

bool agp__sandbox_in_user_namespace(void)
{
	return in_user_namespace;
}

bool agp__sandbox_will_enter_user_namespace(const struct agp__agent_def *def)
{
	return !(def->capabilities & AGP__CAP_NETWORK_ACCESS) && geteuid() != 0;
}
static pthread_once_t support_once = PTHREAD_ONCE_INIT;

/* The child of the probe: can it have a network namespace of its own? */
static int try_network_namespace(void)
{
	if (unshare(CLONE_NEWNET) == 0)
		return 0;
	if (unshare(CLONE_NEWUSER | CLONE_NEWNET) == 0)
		return 0;
	return errno;
}

static void probe(void)
{
	long abi = syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
	if (abi < 0)
		snprintf(support.landlock_why, sizeof(support.landlock_why),
		         "Landlock is not available (%s)", strerror(errno));
	else if (abi < LANDLOCK_ABI_NEEDED)
		snprintf(support.landlock_why, sizeof(support.landlock_why),
		         "Landlock ABI %ld is older than %d (it cannot stop truncate)", abi,
		         LANDLOCK_ABI_NEEDED);
	support.landlock_abi = abi > 0 ? (int)abi : 0;

	pid_t child = fork();
	if (child == 0)
		_exit(try_network_namespace());
	int status = 0;
	if (child < 0)
		snprintf(support.network_why, sizeof(support.network_why),
		         "cannot fork to try a network namespace (%s)", strerror(errno));
	else if (waitpid(child, &status, 0) == child && WIFEXITED(status) &&
	         WEXITSTATUS(status) == 0)
		support.network_namespace = true;
	else
		snprintf(support.network_why, sizeof(support.network_why),
		         "network namespaces are not available (unshare: %s)",
		         WIFEXITED(status) ? strerror(WEXITSTATUS(status)) : "the probe died");

#ifdef AGP_AUDIT_ARCH
	if (prctl(PR_GET_SECCOMP, 0, 0, 0, 0) < 0) {
		snprintf(support.seccomp_why, sizeof(support.seccomp_why),
		         "seccomp is not available (%s)", strerror(errno));
	} else {
		support.seccomp_filter = true;
		struct seccomp_notif_sizes sizes;
		if (syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sizes) == 0 &&
		    sizes.seccomp_notif >= sizeof(struct seccomp_notif))
			support.seccomp_notify = true;
		else
			snprintf(support.seccomp_why, sizeof(support.seccomp_why),
			         "seccomp user notification is not available (%s)",
			         strerror(errno));
	}
#else
	snprintf(support.seccomp_why, sizeof(support.seccomp_why),
	         "no seccomp filter is written for this CPU architecture");
#endif
}

const struct agp__sandbox_support *agp__sandbox_support(void)
{
	pthread_once(&support_once, probe);
	return &support;
}

/*
 * AGENTPERF_TASK_ASSUME_MISSING=landlock,netns,seccomp: behave as on a machine
 * without those (what would be refused there), read at every check. Fills
 * assumed from the real support; -EINVAL with a sentence in why for a word
 * it does not know.
 */
static int assume_missing(struct agp__sandbox_support *assumed, char *why, size_t why_len)
{
	*assumed = *agp__sandbox_support();
	const char *value = getenv("AGENTPERF_TASK_ASSUME_MISSING");
	if (!value || !*value)
		return 0;
	char copy[128];
	snprintf(copy, sizeof(copy), "%s", value);
	for (char *save, *word = strtok_r(copy, ", ", &save); word;
	     word = strtok_r(NULL, ", ", &save)) {
		static const char said[] = "AGENTPERF_TASK_ASSUME_MISSING says so";
		if (strcmp(word, "landlock") == 0) {
			assumed->landlock_abi = 0;
			snprintf(assumed->landlock_why, sizeof(assumed->landlock_why), "%s", said);
		} else if (strcmp(word, "netns") == 0) {
			assumed->network_namespace = false;
			snprintf(assumed->network_why, sizeof(assumed->network_why), "%s", said);
		} else if (strcmp(word, "seccomp") == 0) {
			assumed->seccomp_filter = assumed->seccomp_notify = false;
			snprintf(assumed->seccomp_why, sizeof(assumed->seccomp_why), "%s", said);
		} else {
			snprintf(
			    why, why_len,
			    "AGENTPERF_TASK_ASSUME_MISSING has '%.40s'; it takes landlock, netns "
			    "and seccomp, separated by commas",
			    word);
			return -EINVAL;
		}
	}
	return 0;
}

int agp__sandbox_check(const struct agp__agent_def *def, char *why, size_t why_len)
{
	struct agp__sandbox_support assumed;
	int error = assume_missing(&assumed, why, why_len);
	if (error)
		return error;
	const struct agp__sandbox_support *s = &assumed;
	unsigned caps = def->capabilities;
	if (!(caps & AGP__CAP_WRITE_FILES) && s->landlock_abi < LANDLOCK_ABI_NEEDED) {
		snprintf(
		    why, why_len,
		    "this machine cannot enforce 'no writes outside the scratch folder', which "
		    "the agent's lack of WRITE_FILES requires: %s",
		    s->landlock_why);
		return -ENOTSUP;
	}
	if (!(caps & AGP__CAP_NETWORK_ACCESS) && !s->network_namespace) {
		snprintf(why, why_len,
		         "this machine cannot enforce 'no network', which the agent's lack of "
		         "NETWORK_ACCESS requires: %s",
		         s->network_why);
		return -ENOTSUP;
	}
	bool needs_notify = def->kind == AGP__RUNNER_EXEC;
	if (!(caps & AGP__CAP_EXECUTE_COMMANDS) &&
	    !(needs_notify ? s->seccomp_notify : s->seccomp_filter)) {
		snprintf(
		    why, why_len,
		    "this machine cannot enforce 'no program started beyond the one the "
		    "definition names', which the agent's lack of EXECUTE_COMMANDS requires: %s",
		    s->seccomp_why);
		return -ENOTSUP;
	}
	return 0;
}

void agp__sandbox_describe(const struct agp__agent_def *def, char *text, size_t text_len)
{
	char why[384];
	if (agp__sandbox_check(def, why, sizeof(why)) != 0) {
		snprintf(text, text_len, "REFUSED: %s", why);
		return;
	}
	unsigned caps = def->capabilities;
	snprintf(text, text_len, "writes:%s network:%s exec:%s",
	         caps & AGP__CAP_WRITE_FILES ? "allowed" : "scratch-only(landlock)",
	         caps & AGP__CAP_NETWORK_ACCESS ? "allowed" : "none(netns)",
	         caps & AGP__CAP_EXECUTE_COMMANDS ? "allowed"
	         : def->kind == AGP__RUNNER_EXEC  ? "named-program-only(seccomp)"
	                                          : "none(seccomp)");
}

static int write_text(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t put = write(fd, text, strlen(text));
	int error = put == (ssize_t)strlen(text) ? 0 : (put < 0 ? -errno : -EIO);
	close(fd);
	return error;
}

/* A namespace with only a loopback, which is down: no route to anything. */
static int enter_network_namespace(void)
{
	if (unshare(CLONE_NEWNET) == 0)
		return 0;
	int first = errno;
	/* Not privileged: a user namespace first, mapping only our own ids. */
	in_user_namespace = true;
	uid_t uid = geteuid();
	gid_t gid = getegid();
	if (unshare(CLONE_NEWUSER | CLONE_NEWNET) != 0)
		return agp__error(-first,
		                  "cannot enter a network namespace: %s (and with a user "
		                  "namespace: %s)",
		                  strerror(first), strerror(errno));
	char map[64];
	snprintf(map, sizeof(map), "%u %u 1\n", (unsigned)uid, (unsigned)uid);
	int error = write_text("/proc/self/uid_map", map);
	if (!error)
		error = write_text("/proc/self/setgroups", "deny\n");
	snprintf(map, sizeof(map), "%u %u 1\n", (unsigned)gid, (unsigned)gid);
	if (!error)
		error = write_text("/proc/self/gid_map", map);
	if (error)
		return agp__error(error, "cannot map ids in the worker's user namespace: %s",
		                  strerror(-error));
	return 0;
}

static int landlock_allow(int ruleset, const char *path, __u64 rights)
{
	int fd = open(path, O_PATH | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	struct landlock_path_beneath_attr rule = {.allowed_access = rights, .parent_fd = fd};
	int rc = (int)syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &rule, 0);
	int error = rc < 0 ? -errno : 0;
	close(fd);
	return error;
}

/* Writes only beneath scratch, and to /dev/null; reading and executing stay as they were. */
static int restrict_writes(const char *scratch)
{
	struct landlock_ruleset_attr attr = {.handled_access_fs = write_rights};
	int ruleset =
	    (int)syscall(SYS_landlock_create_ruleset, &attr, sizeof(attr), 0 /* no flags */);
	if (ruleset < 0)
		return agp__error(-errno, "cannot create a Landlock ruleset: %s", strerror(errno));
	int error = landlock_allow(ruleset, scratch, write_rights);
	if (error) {
		agp__error(error, "cannot allow writes beneath the scratch folder %s: %s", scratch,
		           strerror(-error));
		goto out;
	}
	error = landlock_allow(ruleset, "/dev/null", file_write_rights);
	if (error && error != -ENOENT) {
		agp__error(error, "cannot allow writes to /dev/null: %s", strerror(-error));
		goto out;
	}
	error = 0;
	if (syscall(SYS_landlock_restrict_self, ruleset, 0) != 0)
		error = agp__error(-errno, "cannot restrict the worker with Landlock: %s",
		                   strerror(errno));
out:
	close(ruleset);
	return error;
}

#ifdef AGP_AUDIT_ARCH
static int install_filter(struct sock_filter *filter, unsigned short length, unsigned flags)
{
	struct sock_fprog program = {.len = length, .filter = filter};
	return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &program);
}
#endif

int agp__sandbox_enter(const struct agp__agent_def *def, char *scratch, size_t scratch_len)
{
	unsigned caps = def->capabilities;
	scratch[0] = '\0';
	int error = agp__sandbox_check(def, scratch, scratch_len);
	if (error) {
		error = agp__error(error, "%s", scratch);
		scratch[0] = '\0';
		return error;
	}
	if (!(caps & AGP__CAP_WRITE_FILES)) {
		if (!scratch_base[0])
			return agp__error(-ENOENT, "no scratch folder: %s", scratch_base_why);
		snprintf(scratch, scratch_len, "%s/%d", scratch_base, (int)getpid());
		if (mkdir(scratch, 0700) != 0) {
			error = agp__error(-errno, "cannot make the scratch folder %s: %s", scratch,
			                   strerror(errno));
			scratch[0] = '\0';
			return error;
		}
		/* The runner's temporary files go where it may write. */
		setenv("TMPDIR", scratch, 1);
		/* Anything a task leaves starts with an entry made in the folder itself. */
		scratch_watch = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
		if (scratch_watch >= 0 &&
		    inotify_add_watch(scratch_watch, scratch, IN_CREATE | IN_MOVED_TO) < 0) {
			close(scratch_watch);
			scratch_watch = -1;
		}
	}
	if (!(caps & AGP__CAP_NETWORK_ACCESS) && (error = enter_network_namespace()) != 0)
		return error;
	/* Landlock and an unprivileged seccomp filter need it; no runner gains privileges. */
	if ((caps & (AGP__CAP_WRITE_FILES | AGP__CAP_EXECUTE_COMMANDS)) !=
	        (AGP__CAP_WRITE_FILES | AGP__CAP_EXECUTE_COMMANDS) &&
	    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		return agp__error(-errno, "cannot set no_new_privs: %s", strerror(errno));
	if (!(caps & AGP__CAP_WRITE_FILES) && (error = restrict_writes(scratch)) != 0)
		return error;
#ifdef AGP_AUDIT_ARCH
	if (!(caps & AGP__CAP_EXECUTE_COMMANDS) && def->kind != AGP__RUNNER_EXEC &&
	    install_filter(deny_exec_filter, sizeof(deny_exec_filter) / sizeof(deny_exec_filter[0]),
	                   0) != 0)
		return agp__error(-errno, "cannot install the seccomp filter on execve: %s",
		                  strerror(errno));
#endif
	return 0;
}

static int remove_entry(const char *path, const struct stat *info, int type, struct FTW *ftw)
{
	(void)info;
	(void)type;
	if (ftw->level > 0)
		remove(path);
	return 0;
}

void agp__sandbox_clean_scratch(const char *scratch, bool remove_folder)
{
	if (!scratch || !*scratch)
		return;
	nftw(scratch, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	if (remove_folder)
		rmdir(scratch);
}

void agp__sandbox_clean_scratch_if_used(const char *scratch)
{
	if (!scratch || !*scratch)
		return;
	if (scratch_watch >= 0) {
		/* One read that finds nothing (EAGAIN) is the common case: nothing to clean. */
		char events[4096];
		ssize_t got = read(scratch_watch, events, sizeof(events));
		if (got <= 0)
			return;
		while (read(scratch_watch, events, sizeof(events)) > 0)
			continue;
	}
	agp__sandbox_clean_scratch(scratch, false);
}

int agp__sandbox_prepare(void)
{
	if (scratch_base[0])
		return 0;
	const char *tmp = getenv("TMPDIR");
	snprintf(scratch_base, sizeof(scratch_base), "%s/agentperf-scratch.%d.XXXXXX",
	         tmp && *tmp == '/' && strlen(tmp) < 300 ? tmp : "/tmp", (int)getpid());
	if (!mkdtemp(scratch_base)) {
		int error = errno;
		snprintf(scratch_base_why, sizeof(scratch_base_why), "cannot make %s: %s",
		         scratch_base, strerror(error));
		scratch_base[0] = '\0';
		return agp__error(-error, "%s", scratch_base_why);
	}
	return 0;
}

void agp__sandbox_forget_worker(pid_t worker)
{
	if (!scratch_base[0])
		return;
	char folder[sizeof(scratch_base) + 16];
	snprintf(folder, sizeof(folder), "%s/%d", scratch_base, (int)worker);
	agp__sandbox_clean_scratch(folder, true);
}

void agp__sandbox_release(void)
{
	if (!scratch_base[0])
		return;
	agp__sandbox_clean_scratch(scratch_base, true);
	scratch_base[0] = '\0';
}

int agp__single_exec_arm(int socket_fd)
{
#ifdef AGP_AUDIT_ARCH
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		return -errno;
	int listener = install_filter(notify_exec_filter,
	                              sizeof(notify_exec_filter) / sizeof(notify_exec_filter[0]),
	                              SECCOMP_FILTER_FLAG_NEW_LISTENER);
	if (listener < 0)
		return -errno;
	char control[CMSG_SPACE(sizeof(int))];
	memset(control, 0, sizeof(control));
	char byte = 'L';
	struct iovec iov = {&byte, 1};
	struct msghdr message = {.msg_iov = &iov,
	                         .msg_iovlen = 1,
	                         .msg_control = control,
	                         .msg_controllen = sizeof(control)};
	struct cmsghdr *header = CMSG_FIRSTHDR(&message);
	header->cmsg_level = SOL_SOCKET;
	header->cmsg_type = SCM_RIGHTS;
	header->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(header), &listener, sizeof(int));
	if (sendmsg(socket_fd, &message, MSG_NOSIGNAL) != 1)
		return -errno;
	return 0; /* the listener is close-on-exec: only the worker keeps it */
#else
	(void)socket_fd;
	return -ENOTSUP;
#endif
}

int agp__single_exec_receive(int socket_fd)
{
	char control[CMSG_SPACE(sizeof(int))];
	char byte;
	struct iovec iov = {&byte, 1};
	struct msghdr message = {.msg_iov = &iov,
	                         .msg_iovlen = 1,
	                         .msg_control = control,
	                         .msg_controllen = sizeof(control)};
	ssize_t got;
	do
		got = recvmsg(socket_fd, &message, MSG_CMSG_CLOEXEC);
	while (got < 0 && errno == EINTR);
	if (got != 1)
		return got < 0 ? -errno : -ECHILD;
	struct cmsghdr *header = CMSG_FIRSTHDR(&message);
	if (!header || header->cmsg_type != SCM_RIGHTS)
		return -EPROTO;
	int listener;
	memcpy(&listener, CMSG_DATA(header), sizeof(int));
	return listener;
}

/* The path a refused execve named, read from the caller's memory while it waits. */
static void read_path(pid_t pid, unsigned long long address, char *text, size_t text_len)
{
	size_t page_left = 4096 - (size_t)(address & 4095u);
	size_t want = text_len - 1 < page_left ? text_len - 1 : page_left;
	struct iovec local = {text, want}, remote = {(void *)(uintptr_t)address, want};
	ssize_t got = process_vm_readv(pid, &local, 1, &remote, 1, 0);
	if (got <= 0) {
		snprintf(text, text_len, "?");
		return;
	}
	text[got] = '\0';
}

int agp__single_exec_answer(int listener, pid_t runner, bool *first_allowed, char *refused,
                            size_t refused_len)
{
#ifdef AGP_AUDIT_ARCH
	struct seccomp_notif request;
	memset(&request, 0, sizeof(request)); /* the kernel refuses a request that is not zero */
	if (ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, &request) != 0)
		return errno == ENOENT || errno == EINTR ? 0 : -errno;
	struct seccomp_notif_resp response = {.id = request.id};
	int refusal = 0;
	if (!*first_allowed && (pid_t)request.pid == runner) {
		/* The runner's own exec of the program its definition names. */
		response.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
		*first_allowed = true;
	} else {
		response.error = -EPERM;
		refusal = 1;
		char path[256];
		unsigned long long address =
		    request.data.nr == __NR_execveat ? request.data.args[1] : request.data.args[0];
		read_path((pid_t)request.pid, address, path, sizeof(path));
		size_t used = strlen(refused);
		if (used + 8 < refused_len)
			snprintf(refused + used, refused_len - used, "%s%s", used ? ", " : "",
			         path);
	}
	if (ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, &response) != 0 && errno != ENOENT)
		return -errno;
	return refusal;
#else
	(void)listener;
	(void)runner;
	(void)first_allowed;
	(void)refused;
	(void)refused_len;
	return -ENOTSUP;
#endif
}
