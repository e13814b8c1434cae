/*
 * A private agentperfd, as `agentperf run` starts one: the first time the
 * process needs a collector (an agent opens, a task runs, a question is
 * asked), the module probes the deployment's control socket; when nothing
 * answers and configure(private_daemon=...) / $AGENTPERF_PRIVATE_DAEMON
 * allow it (the default), it starts agentperfd for the deployment as its
 * child, waits until it answers, and stops exactly that process (SIGTERM by
 * its pid, SIGKILL after 10 s) when the interpreter exits, in the process
 * that started it only (never in a forked child). Its segment goes with
 * it (--unlink-on-exit). Started from the main thread, it also gets
 * PR_SET_PDEATHSIG, so a process killed outright does not leave it behind.
 *
 * The binary: $AGENTPERFD; else, for the module in the build tree, the
 * build's collector/agentperfd; for an installed module, the agentperfd
 * installed with it (the same prefix's sbin/); else agentperfd on PATH.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "python/module.h"
#include "tools/cli.h"

static pthread_mutex_t ensure_lock = PTHREAD_MUTEX_INITIALIZER;
/*
 * The process whose collector was made sure of (0 before): read first without the lock, by
 * every call that may need a collector, so it is atomic. Acquire pairs with the release store
 * made once the probe (and any start) is over: a thread that sees its pid sees daemon_pid too.
 */
static _Atomic pid_t ensured_in;
/* Under ensure_lock: the private agentperfd (0 when there is none) and the process that started
 * it, which alone stops it. */
static pid_t daemon_pid;
static pid_t daemon_owner;
/* Set at exit: a need after the exit hook (another atexit function) starts no new daemon. */
static bool exiting;

static void sleep_ms(long ms)
{
	struct timespec pause = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&pause, NULL);
}

static bool executable(const char *path)
{
	struct stat info;
	return stat(path, &info) == 0 && S_ISREG(info.st_mode) && access(path, X_OK) == 0;
}

/* The agentperfd this module uses (see the top of the file); false when none is found. */
static bool find_daemon(char *out, size_t size)
{
	const char *given = getenv("AGENTPERFD");
	if (given && given[0]) {
		snprintf(out, size, "%s", given);
		return true;
	}
	Dl_info info;
	if (dladdr((void *)&agp_py_ensure_collector, &info) && info.dli_fname) {
		char folder[PATH_MAX];
		if (realpath(info.dli_fname, folder)) {
			char *slash = strrchr(folder, '/');
			if (slash)
				*slash = '\0';
			char build[PATH_MAX];
			if (realpath(AGP_PY_BUILD_DIR, build) && !strcmp(build, folder)) {
				snprintf(out, size, "%s", AGP_PY_BUILD_DAEMON);
				return true;
			}
			snprintf(out, size, "%s/%s", folder, AGP_PY_DAEMON_FROM_MODULE);
			if (executable(out))
				return true;
		}
	}
	const char *path = getenv("PATH");
	while (path && *path) {
		const char *end = strchr(path, ':');
		size_t length = end ? (size_t)(end - path) : strlen(path);
		snprintf(out, size, "%.*s/agentperfd", (int)length, length ? path : ".");
		if (executable(out))
			return true;
		path = end ? end + 1 : NULL;
	}
	return false;
}

/*
 * Starts agentperfd and waits until it answers on probe's socket. 0, or -1
 * with the reason in err. Called without the GIL, under ensure_lock.
 */
static int start_daemon(struct cli *probe, char *err, size_t errlen)
{
	char binary[PATH_MAX + 64];
	if (!find_daemon(binary, sizeof(binary))) {
		snprintf(err, errlen,
		         "no agentperfd found ($AGENTPERFD, beside the module, PATH) to start a "
		         "private collector");
		return -1;
	}
	const char *name = agp_py_deployment();
	char *argv[8];
	int n = 0;
	argv[n++] = binary;
	argv[n++] = "--name";
	argv[n++] = (char *)name;
	argv[n++] = "--unlink-on-exit";
	if (agp_py_settings.daemon_config[0]) {
		argv[n++] = "--config";
		argv[n++] = agp_py_settings.daemon_config;
	}
	argv[n] = NULL;
	int log = -1;
	if (agp_py_settings.daemon_log[0]) {
		log = open(agp_py_settings.daemon_log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
		           0600);
		if (log < 0) {
			snprintf(err, errlen, "private agentperfd: cannot open its log %.300s: %s",
			         agp_py_settings.daemon_log, strerror(errno));
			return -1;
		}
	}
	bool main_thread = syscall(SYS_gettid) == agp_py_pid;
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid < 0) {
		snprintf(err, errlen, "private agentperfd: fork: %s", strerror(errno));
		if (log >= 0)
			close(log);
		return -1;
	}
	if (pid == 0) {
		/* Only async-signal-safe calls between fork and exec: the parent has threads. */
		if (main_thread && (prctl(PR_SET_PDEATHSIG, SIGTERM) || getppid() != parent))
			_exit(127);
		if (log >= 0 && (dup2(log, 1) < 0 || dup2(log, 2) < 0))
			_exit(127);
		execv(binary, argv);
		_exit(127);
	}
	if (log >= 0)
		close(log);
	for (int waited = 0; waited < 10000; waited += 20) {
		int status;
		if (waitpid(pid, &status, WNOHANG) == pid) {
			snprintf(err, errlen,
			         "the private agentperfd (%.300s --name %s) exited with status %d "
			         "before "
			         "it answered%s",
			         binary, name, WIFEXITED(status) ? WEXITSTATUS(status) : -1,
			         agp_py_settings.daemon_log[0] ? " (see its log)" : "");
			return -1;
		}
		if (cli_probe(probe)) {
			daemon_pid = pid;
			daemon_owner = agp_py_pid;
			return 0;
		}
		sleep_ms(20);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	snprintf(err, errlen, "the private agentperfd (%.300s) did not answer on %s within 10 s",
	         binary, probe->path);
	return -1;
}

int agp_py_ensure_collector(void)
{
	if (atomic_load_explicit(&ensured_in, memory_order_acquire) == agp_py_pid)
		return 0;
	agp_py_use_deployment();
	char err[768] = "";
	int error = 0;
	PyThreadState *thread_state = PyEval_SaveThread(); /* other threads run meanwhile */
	pthread_mutex_lock(&ensure_lock);
	if (atomic_load_explicit(&ensured_in, memory_order_relaxed) != agp_py_pid) {
		struct cli probe = {.fd = -1, .name = agp_py_deployment_option()};
		if (!cli_probe(&probe) && agp_py_settings.private_daemon && !exiting)
			error = start_daemon(&probe, err, sizeof(err));
		cli_disconnect(&probe);
		if (!error)
			/* Release: daemon_pid, written above, is there for whoever sees the pid. */
			atomic_store_explicit(&ensured_in, agp_py_pid, memory_order_release);
	}
	pthread_mutex_unlock(&ensure_lock);
	PyEval_RestoreThread(thread_state);
	if (error) {
		PyErr_SetString(agp_py_collector_unreachable, err);
		return -1;
	}
	return 0;
}

void agp_py_private_daemon_stop(void)
{
	/* The GIL may be held here: ensure_lock's holder never waits for it (it released it). */
	pthread_mutex_lock(&ensure_lock);
	exiting = true;
	pid_t pid = daemon_owner == agp_py_pid ? daemon_pid : 0;
	if (pid) {
		daemon_pid = 0;
		/* Relaxed: under the lock, which a later ensure takes before it looks again. */
		atomic_store_explicit(&ensured_in, 0, memory_order_relaxed);
	}
	pthread_mutex_unlock(&ensure_lock);
	if (!pid)
		return;
	PyThreadState *thread_state = PyEval_SaveThread(); /* other threads run meanwhile */
	kill(pid, SIGTERM);
	bool reaped = false;
	for (int waited = 0; waited < 10000 && !reaped; waited += 10) {
		reaped = waitpid(pid, NULL, WNOHANG) == pid;
		if (!reaped)
			sleep_ms(10);
	}
	if (!reaped) {
		fprintf(stderr,
		        "agentperf: the private agentperfd %d ignored SIGTERM; killing it\n",
		        (int)pid);
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	PyEval_RestoreThread(thread_state);
}

void agp_py_private_daemon_after_fork(void)
{
	pthread_mutex_init(&ensure_lock, NULL);
	/* daemon_owner stays the parent: the child never stops the parent's daemon. */
}

PyObject *agp_py_private_daemon_pid(PyObject *self, PyObject *unused)
{
	pthread_mutex_lock(&ensure_lock);
	pid_t pid = daemon_owner == agp_py_pid ? daemon_pid : 0;
	pthread_mutex_unlock(&ensure_lock);
	if (!pid)
		Py_RETURN_NONE;
	return PyLong_FromLong(pid);
}

PyObject *agp_py_stop_private_daemon(PyObject *self, PyObject *unused)
{
	agp_py_private_daemon_stop();
	pthread_mutex_lock(&ensure_lock);
	exiting = false; /* stopped by hand, not at exit: a later need may start another */
	pthread_mutex_unlock(&ensure_lock);
	Py_RETURN_NONE;
}
