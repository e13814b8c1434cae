/*
 * The Task API from Python: task(), submit() and TaskHandle.wait(),
 * wait_all(), list_agents(). Results are plain dicts with the seed's keys
 * (success, output, error, metadata {agent_id, task_id, status,
 * execution_time} and agentperf's additions); a task that cannot run (an
 * empty type or prompt, an unknown agent, a capability the agent lacks, a
 * crashed worker, a timeout) is a failed result, never an exception. The
 * GIL is released while a task runs; the cap on tasks in flight is the
 * Task API's own (configure(max_concurrency=N), else
 * $AGENTPERF_TASK_CONCURRENCY, else 10).
 *
 * Fork: the Task API's workers and threads belong to the process that
 * started it; a forked child's tasks fail with a result that says so.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <agentperf/task.h>

#include "python/module.h"

static pid_t started_in;    /* the process whose Task API runs, 0 when none */
static Py_ssize_t unwaited; /* TaskHandles not yet waited for (shutdown must wait for them) */

typedef struct {
	PyObject ob_base;
	agp_task_handle *handle; /* NULL once waited for */
	PyObject *result;        /* the result dict once waited for */
	pid_t pid;
} agp_py_task_handle;

static PyObject *text_of(const char *text)
{
	return PyUnicode_DecodeUTF8(text ? text : "", (Py_ssize_t)strlen(text ? text : ""),
	                            "surrogateescape");
}

static PyObject *result_dict(const struct agp_task_result *result)
{
	const struct agp_task_metadata *meta = &result->metadata;
	PyObject *output = text_of(result->output), *error = text_of(result->error);
	PyObject *agent_id = text_of(meta->agent_id);
	PyObject *dict = NULL;
	if (output && error && agent_id)
		dict = Py_BuildValue(
		    "{s:O, s:O, s:O, s:{s:O, s:K, s:s, s:d, s:d, s:i, s:O, s:K, s:K}}", "success",
		    result->success ? Py_True : Py_False, "output", output, "error", error,
		    "metadata", "agent_id", agent_id, "task_id", (unsigned long long)meta->task_id,
		    "status", agp_task_status_name(meta->status), "execution_time",
		    meta->execution_time, "coordination_overhead", meta->coordination_overhead,
		    "worker_pid", (int)meta->worker_pid, "output_truncated",
		    meta->output_truncated ? Py_True : Py_False, "begin_ns",
		    (unsigned long long)meta->begin_ns, "end_ns", (unsigned long long)meta->end_ns);
	Py_XDECREF(output);
	Py_XDECREF(error);
	Py_XDECREF(agent_id);
	return dict;
}

/* A failed result made here, for a task that never reached the Task API. */
static PyObject *failed_dict(const char *agent_type, const char *reason)
{
	struct agp_task_result result = {.success = false, .output = "", .error = (char *)reason};
	result.metadata.status = AGP_TASK_FAILED;
	snprintf(result.metadata.agent_id, sizeof(result.metadata.agent_id), "%s",
	         agent_type ? agent_type : "");
	return result_dict(&result);
}

/* Starts the Task API with the module's settings; NULL, or why it cannot run tasks here. */
static const char *tasks_ready(char *err, size_t errlen)
{
	if (started_in == agp_py_pid)
		return NULL;
	if (started_in) {
		return "the Task API belongs to the parent process (its workers and threads are "
		       "not "
		       "in this forked child)";
	}
	if (agp_py_ensure_collector()) {
		/* Telemetry is best effort: the tasks run, their samples wait in the rings. */
		PyObject *type, *value, *traceback;
		PyErr_Fetch(&type, &value, &traceback);
		PyObject *text = value ? PyObject_Str(value) : NULL;
		PyErr_WarnFormat(PyExc_RuntimeWarning, 1,
		                 "agentperf: tasks run without a collector: %S",
		                 text ? text : Py_None);
		Py_XDECREF(text);
		Py_XDECREF(type);
		Py_XDECREF(value);
		Py_XDECREF(traceback);
	}
	agp_py_use_deployment();
	struct agp_task_options options = {
	    .agents_dir = agp_py_settings.agents_dir[0] ? agp_py_settings.agents_dir : NULL,
	    .deployment = agp_py_deployment_option(),
	    .max_concurrency = agp_py_settings.max_concurrency,
	    .eager = agp_py_settings.eager_workers,
	};
	int error;
	PyThreadState *thread_state = PyEval_SaveThread(); /* forking workers takes a while */
	error = agp_task_init(&options);
	PyEval_RestoreThread(thread_state);
	if (error && error != -EALREADY) {
		/* The same thread: libagentperf's message of this call is still there. */
		snprintf(err, errlen, "the Task API could not start: %s", agp_py_library_error());
		return err;
	}
	started_in = agp_py_pid;
	agp_py_settings.tasks_started = true;
	return NULL;
}

/* The text of a str argument (None: ""); NULL with TypeError for other types. */
static const char *argument_text(const char *what, PyObject *value, bool *has_nul)
{
	*has_nul = false;
	if (value == Py_None)
		return "";
	if (!PyUnicode_Check(value)) {
		PyErr_Format(PyExc_TypeError, "%s: expected a str, not %s", what,
		             Py_TYPE(value)->tp_name);
		return NULL;
	}
	Py_ssize_t length;
	const char *text = PyUnicode_AsUTF8AndSize(value, &length);
	if (text && strlen(text) != (size_t)length)
		*has_nul = true;
	return text;
}

struct task_arguments {
	const char *type, *prompt, *description;
	const char *refusal; /* set: the task fails at once with this error */
};

static int parse_task(PyObject *args, PyObject *kwargs, const char *function,
                      struct task_arguments *out)
{
	static char *keywords[] = {"agent_type", "prompt", "description", NULL};
	PyObject *type, *prompt, *description = Py_None;
	char format[32];
	snprintf(format, sizeof(format), "OO|O:%s", function);
	if (!PyArg_ParseTupleAndKeywords(args, kwargs, format, keywords, &type, &prompt,
	                                 &description))
		return -1;
	bool nul[3];
	out->type = argument_text("agent_type", type, &nul[0]);
	out->prompt = out->type ? argument_text("prompt", prompt, &nul[1]) : NULL;
	out->description = out->prompt ? argument_text("description", description, &nul[2]) : NULL;
	if (!out->description)
		return -1;
	out->refusal = nul[0]   ? "the agent type holds a NUL character"
	               : nul[1] ? "the prompt holds a NUL character"
	               : nul[2] ? "the description holds a NUL character"
	                        : NULL;
	return 0;
}

static PyObject *py_task(PyObject *self, PyObject *args, PyObject *kwargs)
{
	struct task_arguments task;
	if (parse_task(args, kwargs, "task", &task))
		return NULL;
	char err[600];
	const char *refusal = task.refusal ? task.refusal : tasks_ready(err, sizeof(err));
	if (refusal)
		return failed_dict(task.type, refusal);
	struct agp_task_result result;
	PyThreadState *thread_state = PyEval_SaveThread(); /* other threads run meanwhile */
	agp_task(task.type, task.prompt, task.description, &result);
	PyEval_RestoreThread(thread_state);
	PyObject *dict = result_dict(&result);
	agp_task_result_free(&result);
	return dict;
}

static PyObject *handle_wait(agp_py_task_handle *self, PyObject *unused)
{
	if (self->result) {
		Py_INCREF(self->result);
		return self->result;
	}
	if (!self->handle)
		return failed_dict("", "this task was never submitted");
	struct agp_task_result result;
	agp_task_handle *handle = self->handle;
	self->handle = NULL;
	PyThreadState *thread_state = PyEval_SaveThread(); /* other threads run meanwhile */
	agp_task_wait(handle, &result);
	PyEval_RestoreThread(thread_state);
	unwaited--;
	self->result = result_dict(&result);
	agp_task_result_free(&result);
	Py_XINCREF(self->result);
	return self->result;
}

static PyObject *py_submit(PyObject *self, PyObject *args, PyObject *kwargs)
{
	struct task_arguments task;
	if (parse_task(args, kwargs, "submit", &task))
		return NULL;
	agp_py_task_handle *handle = PyObject_New(agp_py_task_handle, &agp_py_task_handle_type);
	if (!handle)
		return NULL;
	handle->handle = NULL;
	handle->result = NULL;
	handle->pid = agp_py_pid;
	char err[600];
	const char *refusal = task.refusal ? task.refusal : tasks_ready(err, sizeof(err));
	if (refusal) {
		handle->result = failed_dict(task.type, refusal);
		if (!handle->result) {
			Py_DECREF(handle);
			return NULL;
		}
		return (PyObject *)handle;
	}
	/* Queued: it may wait for a free place under the cap, but only in the Task API's queue. */
	PyThreadState *thread_state = PyEval_SaveThread(); /* other threads run meanwhile */
	handle->handle = agp_task_submit(task.type, task.prompt, task.description);
	PyEval_RestoreThread(thread_state);
	if (!handle->handle) {
		Py_DECREF(handle);
		return PyErr_NoMemory();
	}
	unwaited++;
	return (PyObject *)handle;
}

static PyObject *py_wait_all(PyObject *self, PyObject *arg)
{
	PyObject *sequence = PySequence_Fast(arg, "wait_all(handles): expected a sequence");
	if (!sequence)
		return NULL;
	Py_ssize_t count = PySequence_Fast_GET_SIZE(sequence);
	agp_task_handle **handles = PyMem_Calloc((size_t)count + 1, sizeof(*handles));
	struct agp_task_result *results = PyMem_Calloc((size_t)count + 1, sizeof(*results));
	PyObject *list = PyList_New(count);
	size_t pending = 0;
	if (!handles || !results || !list)
		goto fail;
	for (Py_ssize_t i = 0; i < count; i++) {
		PyObject *item = PySequence_Fast_GET_ITEM(sequence, i);
		if (!PyObject_TypeCheck(item, &agp_py_task_handle_type)) {
			PyErr_Format(PyExc_TypeError,
			             "wait_all(handles): item %zd is a %s, not a "
			             "TaskHandle from submit()",
			             i, Py_TYPE(item)->tp_name);
			goto fail;
		}
		for (Py_ssize_t j = 0; j < i; j++)
			if (PySequence_Fast_GET_ITEM(sequence, j) == item) {
				PyErr_Format(PyExc_ValueError,
				             "wait_all(handles): item %zd is item %zd "
				             "again",
				             i, j);
				goto fail;
			}
	}
	/* The batch's handles that are still running, waited for together (parallel_coordination).
	 */
	for (Py_ssize_t i = 0; i < count; i++) {
		agp_py_task_handle *item =
		    (agp_py_task_handle *)PySequence_Fast_GET_ITEM(sequence, i);
		if (item->handle) {
			handles[pending++] = item->handle;
			item->handle = NULL;
		}
	}
	PyThreadState *thread_state = PyEval_SaveThread(); /* other threads run meanwhile */
	agp_task_wait_all(handles, pending, results);
	PyEval_RestoreThread(thread_state);
	unwaited -= (Py_ssize_t)pending;
	size_t next = 0;
	for (Py_ssize_t i = 0; i < count; i++) {
		agp_py_task_handle *item =
		    (agp_py_task_handle *)PySequence_Fast_GET_ITEM(sequence, i);
		if (!item->result) {
			item->result = result_dict(&results[next]);
			agp_task_result_free(&results[next]);
			next++;
		}
		if (!item->result)
			goto fail_after_wait;
		Py_INCREF(item->result);
		PyList_SET_ITEM(list, i, item->result);
	}
	PyMem_Free(handles);
	PyMem_Free(results);
	Py_DECREF(sequence);
	return list;
fail_after_wait:
	while (next < pending)
		agp_task_result_free(&results[next++]);
fail:
	PyMem_Free(handles);
	PyMem_Free(results);
	Py_XDECREF(list);
	Py_DECREF(sequence);
	return NULL;
}

static PyObject *capability_list(const char *text)
{
	PyObject *list = PyList_New(0);
	const char *start = text ? text : "";
	while (list && *start) {
		const char *end = strchr(start, ',');
		size_t length = end ? (size_t)(end - start) : strlen(start);
		PyObject *item = PyUnicode_FromStringAndSize(start, (Py_ssize_t)length);
		if (!item || PyList_Append(list, item))
			Py_CLEAR(list);
		Py_XDECREF(item);
		start = end ? end + 1 : start + length;
	}
	return list;
}

static PyObject *py_list_agents(PyObject *self, PyObject *unused)
{
	char err[600];
	const char *refusal = tasks_ready(err, sizeof(err));
	if (refusal) {
		PyErr_SetString(agp_py_error, refusal);
		return NULL;
	}
	const struct agp_agent_info *agents;
	int count;
	PyThreadState *thread_state = PyEval_SaveThread(); /* other threads run meanwhile */
	count = agp_list_agents(&agents);
	PyEval_RestoreThread(thread_state);
	if (count < 0) {
		PyErr_Format(agp_py_error, "list_agents: %s", agp_py_library_error());
		return NULL;
	}
	PyObject *list = PyList_New(0);
	for (int i = 0; list && i < count; i++) {
		const struct agp_agent_info *agent = &agents[i];
		PyObject *capabilities = capability_list(agent->capabilities);
		PyObject *item =
		    capabilities
		        ? Py_BuildValue("{s:s, s:s, s:s, s:O, s:s, s:I, s:d, s:I, s:s, s:s}", "id",
		                        agent->id, "name", agent->name, "description",
		                        agent->description, "capabilities", capabilities, "runner",
		                        agent->runner, "workers", agent->workers, "timeout_s",
		                        agent->timeout_s, "memory_limit_mb", agent->memory_limit_mb,
		                        "source", agent->source, "confinement", agent->confinement)
		        : NULL;
		Py_XDECREF(capabilities);
		if (!item || PyList_Append(list, item))
			Py_CLEAR(list);
		Py_XDECREF(item);
	}
	return list;
}

void agp_py_tasks_shutdown(void)
{
	if (started_in != agp_py_pid || unwaited > 0)
		return;
	PyThreadState *thread_state = PyEval_SaveThread(); /* other threads run meanwhile */
	agp_task_shutdown();
	PyEval_RestoreThread(thread_state);
	started_in = 0;
	agp_py_settings.tasks_started = false;
}

static PyObject *py_task_shutdown(PyObject *self, PyObject *unused)
{
	if (unwaited > 0) {
		PyErr_Format(agp_py_error,
		             "task_shutdown: %zd submitted tasks were not waited for; wait() for "
		             "them first",
		             unwaited);
		return NULL;
	}
	agp_py_tasks_shutdown();
	Py_RETURN_NONE;
}

static PyObject *py_peak_concurrency(PyObject *self, PyObject *unused)
{
	return PyLong_FromUnsignedLong(started_in == agp_py_pid ? agp_task_peak_concurrency() : 0);
}

void agp_py_tasks_after_fork(void)
{
	unwaited = 0; /* the parent's handles are the parent's to wait for */
	              /* started_in stays the parent's pid: tasks_ready() refuses them here. */
}

static void handle_dealloc(agp_py_task_handle *self)
{
	if (self->handle && self->pid == agp_py_pid) {
		/* Never waited for: wait now, so the Task API can free it (and shut down later). */
		struct agp_task_result result;
		agp_task_handle *handle = self->handle;
		PyThreadState *thread_state = PyEval_SaveThread(); /* other threads run meanwhile */
		agp_task_wait(handle, &result);
		PyEval_RestoreThread(thread_state);
		agp_task_result_free(&result);
		unwaited--;
	}
	Py_XDECREF(self->result);
	PyObject_Free(self);
}

static PyObject *handle_get_done(agp_py_task_handle *self, void *closure)
{
	return PyBool_FromLong(self->result != NULL);
}

static PyMethodDef handle_methods[] = {
    {"wait", (PyCFunction)handle_wait, METH_NOARGS,
     "Waits for the task and returns its result dict (the same dict on every call)."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef handle_getset[] = {
    {"done", (getter)handle_get_done, NULL, "True once wait() returned", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

PyTypeObject agp_py_task_handle_type = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "agentperf.TaskHandle",
    .tp_basicsize = sizeof(agp_py_task_handle),
    .tp_dealloc = (destructor)handle_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "A submitted task (agentperf.submit()); wait() gives its result.",
    .tp_methods = handle_methods,
    .tp_getset = handle_getset,
};

PyMethodDef agp_py_task_methods[] = {
    {"task", (PyCFunction)(void (*)(void))py_task, METH_VARARGS | METH_KEYWORDS,
     "task(agent_type, prompt, description='') -> dict\n\nRuns one task on a worker of the "
     "agent and waits for it. Never raises for a task that cannot run: the result says why "
     "(success False, error)."},
    {"submit", (PyCFunction)(void (*)(void))py_submit, METH_VARARGS | METH_KEYWORDS,
     "submit(agent_type, prompt, description='') -> TaskHandle\n\nQueues a task; at most "
     "configure(max_concurrency=N) run at once."},
    {"wait_all", py_wait_all, METH_O,
     "wait_all(handles) -> list of dicts\n\nWaits for a batch submitted together and records "
     "its parallel_coordination."},
    {"list_agents", py_list_agents, METH_NOARGS,
     "The available agents: dicts of id, name, description, capabilities, runner, workers, "
     "timeout_s, memory_limit_mb, source, confinement."},
    {"task_shutdown", py_task_shutdown, METH_NOARGS,
     "Stops the Task API's workers (also done at exit); the next task starts it again."},
    {"peak_concurrency", py_peak_concurrency, METH_NOARGS,
     "The most tasks that were in flight at once since the Task API started."},
    {NULL, NULL, 0, NULL},
};
