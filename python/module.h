/*
 * The agentperf extension module's parts, and what they share.
 *
 * One file per concept: agent_object.c (Agent), timer_object.c (Timer and
 * the timed function a Timer decorates), default_agent.c (the module-level
 * helpers and their per-process agent), settings.c (configure(): the
 * deployment, the private daemon switch, the task options), control.c (the
 * collector's answers over the control client of tools/cli_client.c),
 * json_objects.c (jansson values to Python objects and back),
 * private_daemon.c (an agentperfd for the process when none serves the
 * deployment), tasks.c (the Task API), config_file.c (the configuration
 * file, through collector/config/), library_error.c (libagentperf's last
 * error message), module.c (the module itself, fork and exit hooks).
 *
 * Threads: every function of the module runs with the GIL held, and no
 * recording call releases it, so the GIL serialises the records of all
 * threads on one Agent: the single producer its ring needs, at no cost
 * beyond what every Python call already pays. Calls that wait (tasks,
 * requests to the collector, starting a daemon) release the GIL and take
 * their own locks instead.
 */
#ifndef AGP_PYTHON_MODULE_H
#define AGP_PYTHON_MODULE_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include <agentperf/agent.h>

#ifdef Py_GIL_DISABLED
#error                                                                                             \
    "agentperf relies on the GIL to serialise the records of one Agent; free-threaded CPython is not supported"
#endif

/* ---- module state (module.c) ---- */

/*
 * This process's pid, kept by a pthread_atfork child handler: getpid() is a
 * system call, and the timers compare pids on every use.
 */
extern pid_t agp_py_pid;

/* The module's exceptions: agentperf.Error, its CollectorError and CollectorUnreachable. */
extern PyObject *agp_py_error;
extern PyObject *agp_py_collector_error;
extern PyObject *agp_py_collector_unreachable;

/* ---- settings (settings.c) ---- */

struct agp_py_settings {
	char deployment[65];      /* "" : $AGENTPERF_NAME, then "default" */
	bool private_daemon;      /* start an agentperfd when none serves the deployment */
	char daemon_config[4096]; /* --config for the private daemon, "" for its default */
	char daemon_log[4096];    /* its stdout and stderr, "" for the process's own */
	char agent_type[32];      /* the default agent's type */
	char agents_dir[4096];    /* Task API: "" : $AGENTPERF_AGENTS_DIR, then .codexplus/agents */
	unsigned max_concurrency; /* Task API: 0 : $AGENTPERF_TASK_CONCURRENCY, then 10 */
	bool eager_workers;       /* Task API: fork every agent's workers when it starts */
	bool deployment_in_use;   /* an agent, the collector or the Task API used the deployment */
	bool tasks_started;       /* the Task API runs with the task options above */
};
extern struct agp_py_settings agp_py_settings;

/* Reads $AGENTPERF_PRIVATE_DAEMON; -1 with ValueError naming it when it is neither 0/1 nor
 * false/true. */
int agp_py_settings_init(void);
/* The deployment in effect (settings, $AGENTPERF_NAME, "default"). */
const char *agp_py_deployment(void);
/* Marks the deployment used (an agent, the collector, the Task API) and pins its name. */
void agp_py_use_deployment(void);
/* options->deployment for libagentperf: NULL when the settings name none. */
const char *agp_py_deployment_option(void);
PyObject *agp_py_configure(PyObject *self, PyObject *args, PyObject *kwargs);
PyObject *agp_py_settings_dict(PyObject *self, PyObject *unused);

/* ---- Agent (agent_object.c) ---- */

typedef struct {
	PyObject ob_base;
	agp_agent *agent; /* NULL when opening failed: recording is a no-op */
	pid_t pid;        /* the process that opened it */
	PyObject *name;
	PyObject *type;
	PyObject *custom_metrics; /* dict: name -> id (int), for metrics given by name */
	PyObject *open_error;     /* str, or NULL when it opened */
} agp_py_agent;

extern PyTypeObject agp_py_agent_type;

/*
 * Opens an Agent object (failures are kept in open_error, not raised, unless
 * strict). A new reference, or NULL with an exception set.
 */
PyObject *agp_py_agent_new(const char *name, const char *type, bool strict);

/*
 * The metric id of metric (an int id, a built-in name, or a custom name,
 * registered on first use with unit when the agent is open). -1 with an
 * exception set for a bad argument; *skip set when the agent cannot
 * register it (closed or failed: the record is a no-op).
 */
int agp_py_agent_metric(agp_py_agent *agent, PyObject *metric, enum agp_unit unit, uint16_t *id,
                        bool *skip);

/* Agent.record(metric, value, task_id=0), also behind agentperf.record(). */
PyObject *agp_py_agent_record(agp_py_agent *self, PyObject *const *args, Py_ssize_t nargs,
                              PyObject *kwnames);

/* Parses a value (int, or float rounded to the nearest integer). -1 with an exception. */
int agp_py_value(PyObject *value, int64_t *out);
/* Parses a task id (a non-negative int). -1 with an exception. */
int agp_py_task_id(PyObject *task_id, uint64_t *out);

/* ---- Timer (timer_object.c) ---- */

extern PyTypeObject agp_py_timer_type;
extern PyTypeObject agp_py_timed_function_type;
/*
 * A Timer recording metric_id on agent (a new reference to it is taken);
 * agent NULL: a module-level timer of metric (a name or an id), bound to
 * the default agent of the process it runs in when it first runs there.
 */
PyObject *agp_py_timer_new(agp_py_agent *agent, PyObject *metric, uint16_t metric_id,
                           uint64_t task_id, bool skip);

/* ---- the default agent (default_agent.c) ---- */

/* The process's default agent (a borrowed reference), opened on first use. NULL with an exception.
 */
agp_py_agent *agp_py_default_agent(void);
/* Forgets the default agent in a forked child (it is the parent's: a closed handle there). */
void agp_py_default_agent_forget(void);
/* Closes it at exit. */
void agp_py_default_agent_close(void);
PyObject *agp_py_record(PyObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames);
PyObject *agp_py_timer(PyObject *self, PyObject *args, PyObject *kwargs);
PyObject *agp_py_default_agent_function(PyObject *self, PyObject *unused);

/* ---- the collector's answers (control.c) ---- */

/*
 * Sends verb with args (a dict or NULL) and returns the result as Python
 * objects; NULL with CollectorError (the daemon's message, .code its errno)
 * or CollectorUnreachable set.
 */
PyObject *agp_py_request(const char *verb, PyObject *args);
/* In a forked child: the parent's connection is not ours (closes our copy of it). */
void agp_py_control_after_fork(void);
extern PyMethodDef agp_py_control_methods[];

/* ---- the configuration file (config_file.c) ---- */

extern PyMethodDef agp_py_config_file_methods[];

/* ---- JSON values (json_objects.c) ---- */

/* A Python object of a jansson value (counts above INT64_MAX included). NULL with an exception. */
PyObject *agp_py_from_json(const json_t *value);
/* A jansson value of dict/list/str/int/float/bool/None. NULL with TypeError or ValueError. */
json_t *agp_py_to_json(PyObject *object);

/* ---- the private daemon (private_daemon.c) ---- */

/*
 * Makes sure a collector serves the deployment: probes it once per process
 * and, when none answers and the settings allow, starts a private
 * agentperfd. Called with the GIL held (it releases it while waiting).
 * 0, or -1 with an exception set when starting one failed; no daemon and
 * no private one allowed is not an error (recording waits in the rings).
 */
int agp_py_ensure_collector(void);
/* Stops the private daemon (only in the process that started it). */
void agp_py_private_daemon_stop(void);
void agp_py_private_daemon_after_fork(void);
PyObject *agp_py_private_daemon_pid(PyObject *self, PyObject *unused);
PyObject *agp_py_stop_private_daemon(PyObject *self, PyObject *unused);

/* ---- the Task API (tasks.c) ---- */

extern PyTypeObject agp_py_task_handle_type;
extern PyMethodDef agp_py_task_methods[];
void agp_py_tasks_after_fork(void);
void agp_py_tasks_shutdown(void);

/* ---- libagentperf's error message (library_error.c) ---- */

/*
 * agp_last_error() of libagentperf.so itself: the extension links the
 * control client's copy of common/error.c too, whose message buffer is
 * another one.
 */
const char *agp_py_library_error(void);

#endif
