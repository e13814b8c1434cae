/*
 * The agentperf extension module: recording (Agent, Timer, the module-level
 * record() and timer()), the Task API and the collector's answers, over
 * libagentperf and the command line's control client. What each part does
 * is in module.h; docs/python.md is the user's guide.
 *
 * Fork: os.register_at_fork(after_in_child=...) makes a child forget its
 * parent's default agent, control connection and Task API, so that
 * nothing of the child goes through the parent's slot or socket (the
 * inherited Agent objects are closed ones in the child: libagentperf's own
 * fork handler disowns their slots). Exit: an atexit function stops the
 * Task API, closes the default agent and then stops the private daemon, so
 * that its last drain finds every sample.
 */
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "python/module.h"

pid_t agp_py_pid;

static void remember_pid(void)
{
	agp_py_pid = getpid(); /* in every child of any fork, os.fork() or not */
}

PyObject *agp_py_error;
PyObject *agp_py_collector_error;
PyObject *agp_py_collector_unreachable;

static PyObject *after_fork_in_child(PyObject *self, PyObject *unused)
{
	agp_py_default_agent_forget();
	agp_py_control_after_fork();
	agp_py_private_daemon_after_fork();
	agp_py_tasks_after_fork();
	Py_RETURN_NONE;
}

static PyObject *at_exit(PyObject *self, PyObject *unused)
{
	agp_py_tasks_shutdown();
	agp_py_default_agent_close();
	agp_py_private_daemon_stop();
	Py_RETURN_NONE;
}

static PyMethodDef module_methods[] = {
    {"configure", (PyCFunction)(void (*)(void))agp_py_configure, METH_VARARGS | METH_KEYWORDS,
     "configure(*, deployment=None, private_daemon=None, daemon_config=None, daemon_log=None, "
     "agent_type=None, agents_dir=None, max_concurrency=None, eager_workers=None) -> dict\n\nSets "
     "what the module "
     "does for this process (None keeps a setting); returns every setting. The deployment is "
     "fixed once an agent, a task or a request used it; the task options once the Task API "
     "runs."},
    {"settings", agp_py_settings_dict, METH_NOARGS, "The module's settings (see configure)."},
    {"record", (PyCFunction)(void (*)(void))agp_py_record, METH_FASTCALL | METH_KEYWORDS,
     "record(metric, value, task_id=0) -> bool\n\nAgent.record on the process's default "
     "agent."},
    {"timer", (PyCFunction)(void (*)(void))agp_py_timer, METH_VARARGS | METH_KEYWORDS,
     "timer(metric, task_id=0) -> Timer\n\nAgent.timer on the default agent of the process "
     "the timer runs in."},
    {"default_agent", agp_py_default_agent_function, METH_NOARGS,
     "The process's default agent (opened on first use; a forked child gets its own)."},
    {"private_daemon_pid", agp_py_private_daemon_pid, METH_NOARGS,
     "The pid of the agentperfd this process started, or None."},
    {"stop_private_daemon", agp_py_stop_private_daemon, METH_NOARGS,
     "Stops the private agentperfd now (it is stopped at exit anyway)."},
    {"_after_fork_in_child", after_fork_in_child, METH_NOARGS, NULL},
    {"_at_exit", at_exit, METH_NOARGS, NULL},
    {NULL, NULL, 0, NULL},
};

static const char exceptions[] =
    "class Error(Exception):\n"
    "    '''What agentperf refuses or cannot do.'''\n"
    "class CollectorError(Error):\n"
    "    '''The collector answered with an error; .code is its errno (ENOENT: no baseline, '\n"
    "    ENODATA: too few samples, EINVAL: a bad argument).'''\n"
    "    def __init__(self, message, code=0):\n"
    "        super().__init__(message, code)\n"
    "        self.message = message\n"
    "        self.code = code\n"
    "    def __str__(self):\n"
    "        import errno\n"
    "        return '%s (%s)' % (self.message, errno.errorcode.get(self.code, self.code))\n"
    "class CollectorUnreachable(Error, ConnectionError):\n"
    "    '''No collector answers for the deployment (and none could be started).'''\n";

static int add_types(PyObject *module)
{
	PyTypeObject *types[] = {&agp_py_agent_type, &agp_py_timer_type,
	                         &agp_py_timed_function_type, &agp_py_task_handle_type};
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		if (PyType_Ready(types[i]))
			return -1;
		const char *dot = strrchr(types[i]->tp_name, '.');
		Py_INCREF(types[i]);
		if (PyModule_AddObject(module, dot + 1, (PyObject *)types[i])) {
			Py_DECREF(types[i]);
			return -1;
		}
	}
	return 0;
}

static int add_constants(PyObject *module)
{
	static const char *const names[] = {"COORDINATION_OVERHEAD", "TASK_EXECUTION_TIME",
	                                    "AGENT_INITIALIZATION",  "RESULT_PROCESSING",
	                                    "PARALLEL_COORDINATION", "MEMORY_USAGE",
	                                    "ERROR_RECOVERY_TIME"};
	for (unsigned id = 0; id < AGP_METRIC_FIRST_CUSTOM; id++)
		if (PyModule_AddIntConstant(module, names[id], (long)id))
			return -1;
	PyObject *metrics = PyTuple_New(AGP_METRIC_FIRST_CUSTOM);
	for (unsigned id = 0; metrics && id < AGP_METRIC_FIRST_CUSTOM; id++) {
		PyObject *name = PyUnicode_FromString(agp_builtin_metric_name(id));
		if (!name) {
			Py_CLEAR(metrics);
			break;
		}
		PyTuple_SET_ITEM(metrics, id, name);
	}
	if (!metrics || PyModule_AddObject(module, "METRICS", metrics)) {
		Py_XDECREF(metrics);
		return -1;
	}
	return 0;
}

static int add_exceptions(PyObject *module)
{
	PyObject *globals = PyModule_GetDict(module);
	if (PyDict_SetItemString(globals, "__builtins__", PyEval_GetBuiltins()))
		return -1;
	PyObject *done = PyRun_String(exceptions, Py_file_input, globals, globals);
	if (!done)
		return -1;
	Py_DECREF(done);
	agp_py_error = PyDict_GetItemString(globals, "Error");
	agp_py_collector_error = PyDict_GetItemString(globals, "CollectorError");
	agp_py_collector_unreachable = PyDict_GetItemString(globals, "CollectorUnreachable");
	if (!agp_py_error || !agp_py_collector_error || !agp_py_collector_unreachable)
		return -1;
	Py_INCREF(agp_py_error);
	Py_INCREF(agp_py_collector_error);
	Py_INCREF(agp_py_collector_unreachable);
	return 0;
}

/* os.register_at_fork(after_in_child=...) and atexit.register(...). */
static int register_hooks(PyObject *module)
{
	PyObject *child = PyObject_GetAttrString(module, "_after_fork_in_child");
	PyObject *exit_function = PyObject_GetAttrString(module, "_at_exit");
	PyObject *os = PyImport_ImportModule("os");
	PyObject *atexit = PyImport_ImportModule("atexit");
	PyObject *register_at_fork = os ? PyObject_GetAttrString(os, "register_at_fork") : NULL;
	PyObject *keywords = child ? Py_BuildValue("{s:O}", "after_in_child", child) : NULL;
	PyObject *empty = PyTuple_New(0);
	PyObject *forked = register_at_fork && keywords && empty
	                       ? PyObject_Call(register_at_fork, empty, keywords)
	                       : NULL;
	PyObject *exited = forked && atexit && exit_function
	                       ? PyObject_CallMethod(atexit, "register", "O", exit_function)
	                       : NULL;
	int error = exited ? 0 : -1;
	Py_XDECREF(exited);
	Py_XDECREF(forked);
	Py_XDECREF(empty);
	Py_XDECREF(keywords);
	Py_XDECREF(register_at_fork);
	Py_XDECREF(atexit);
	Py_XDECREF(os);
	Py_XDECREF(exit_function);
	Py_XDECREF(child);
	return error;
}

static struct PyModuleDef module_definition = {
    PyModuleDef_HEAD_INIT,
    .m_name = "agentperf",
    .m_doc = "agentperf: record samples into the deployment's shared rings, run tasks on "
             "agent workers, and read the collector's statistics, baselines, validation, CI "
             "export and report (docs/python.md).",
    .m_size = -1,
    .m_methods = module_methods,
};

PyMODINIT_FUNC PyInit_agentperf(void); /* the one name the module exports */
PyMODINIT_FUNC PyInit_agentperf(void)
{
	if (agp_py_settings_init())
		return NULL;
	remember_pid();
	pthread_atfork(NULL, NULL, remember_pid);
	PyObject *module = PyModule_Create(&module_definition);
	if (!module)
		return NULL;
	if (PyModule_AddFunctions(module, agp_py_control_methods) ||
	    PyModule_AddFunctions(module, agp_py_task_methods) ||
	    PyModule_AddFunctions(module, agp_py_config_file_methods) || add_types(module) ||
	    add_constants(module) || add_exceptions(module) || register_hooks(module) ||
	    PyModule_AddStringConstant(module, "__version__", AGP_PY_VERSION)) {
		Py_DECREF(module);
		return NULL;
	}
	return module;
}
