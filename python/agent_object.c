/*
 * agentperf.Agent: one libagentperf agent (one slot and its SPSC ring in
 * the deployment's segment) as a Python object.
 *
 * record() is the hot path: a fast-call method that parses its three
 * arguments by hand and calls agp_record() with the GIL held. Holding the
 * GIL is what makes one Agent safe to share between threads: the ring
 * needs a single producer, and the GIL already lets only one thread at a
 * time into the method, so no lock is added (module.h).
 *
 * An Agent that failed to open, was closed, or was inherited by a forked
 * child (libagentperf closes every inherited handle in the child) records
 * nothing: record() returns False, as agp_record() does.
 */
#include <errno.h>
#include <math.h>
#include <string.h>
#include <unistd.h>

#include "python/module.h"

#include <structmember.h>

static PyObject *builtin_metrics; /* dict: seed name -> id, built once */

static int builtin_metrics_init(void)
{
	if (builtin_metrics)
		return 0;
	builtin_metrics = PyDict_New();
	if (!builtin_metrics)
		return -1;
	for (unsigned id = 0; id < AGP_METRIC_FIRST_CUSTOM; id++) {
		PyObject *value = PyLong_FromUnsignedLong(id);
		int error = !value || PyDict_SetItemString(builtin_metrics,
		                                           agp_builtin_metric_name(id), value);
		Py_XDECREF(value);
		if (error)
			return -1;
	}
	return 0;
}

int agp_py_value(PyObject *value, int64_t *out)
{
	if (PyLong_Check(value)) {
		long long number = PyLong_AsLongLong(value);
		if (number == -1 && PyErr_Occurred())
			return -1;
		*out = number;
		return 0;
	}
	if (PyFloat_Check(value)) {
		double number = PyFloat_AS_DOUBLE(value);
		if (!isfinite(number) || number >= 9.2e18 || number <= -9.2e18) {
			PyErr_Format(PyExc_ValueError, "value %R is not a finite 64-bit number",
			             value);
			return -1;
		}
		*out = llround(number);
		return 0;
	}
	PyErr_Format(PyExc_TypeError, "value: expected an int or a float, not %s",
	             Py_TYPE(value)->tp_name);
	return -1;
}

int agp_py_task_id(PyObject *task_id, uint64_t *out)
{
	if (!PyLong_Check(task_id)) {
		PyErr_Format(PyExc_TypeError, "task_id: expected an int, not %s",
		             Py_TYPE(task_id)->tp_name);
		return -1;
	}
	unsigned long long number = PyLong_AsUnsignedLongLong(task_id);
	if (number == (unsigned long long)-1 && PyErr_Occurred()) {
		PyErr_Format(PyExc_ValueError, "task_id %R: expected 0..2**64-1", task_id);
		return -1;
	}
	*out = number;
	return 0;
}

static bool agent_usable(const agp_py_agent *agent)
{
	return agent->agent && agent->pid == agp_py_pid;
}

static const char *unit_name(enum agp_unit unit)
{
	return agp_unit_name(unit);
}

int agp_py_agent_metric(agp_py_agent *agent, PyObject *metric, enum agp_unit unit, uint16_t *id,
                        bool *skip)
{
	*skip = false;
	if (PyLong_Check(metric)) {
		long number = PyLong_AsLong(metric);
		if (number == -1 && PyErr_Occurred())
			return -1;
		if (number < 0 || number > UINT16_MAX) {
			PyErr_Format(PyExc_ValueError, "metric id %ld: expected 0..65535", number);
			return -1;
		}
		*id = (uint16_t)number;
		return 0;
	}
	if (!PyUnicode_Check(metric)) {
		PyErr_Format(PyExc_TypeError,
		             "metric: expected a name (str) or an id (int), not %s",
		             Py_TYPE(metric)->tp_name);
		return -1;
	}
	PyObject *known = PyDict_GetItemWithError(builtin_metrics, metric);
	if (!known && !PyErr_Occurred())
		known = PyDict_GetItemWithError(agent->custom_metrics, metric);
	if (known) {
		*id = (uint16_t)PyLong_AsUnsignedLong(known);
		return 0;
	}
	if (PyErr_Occurred())
		return -1;
	const char *name = PyUnicode_AsUTF8(metric);
	if (!name)
		return -1;
	if (!agp_metric_name_valid(name)) {
		PyErr_Format(
		    PyExc_ValueError,
		    "metric name '%s': expected 1..%d letters, digits and '_', not starting "
		    "with a digit",
		    name, AGP_METRIC_NAME_MAX);
		return -1;
	}
	if (!agent_usable(agent)) {
		*skip = true; /* a closed or failed agent: the record is a no-op */
		return 0;
	}
	uint16_t registered;
	int error = agp_metric_register(agent->agent, name, unit, 0, &registered);
	if (error == -ENOTCONN) {
		*skip = true;
		return 0;
	}
	if (error) {
		PyErr_Format(agp_py_error, "metric '%s' (%s): %s", name, unit_name(unit),
		             agp_py_library_error());
		return -1;
	}
	PyObject *value = PyLong_FromUnsignedLong(registered);
	if (!value || PyDict_SetItem(agent->custom_metrics, metric, value)) {
		Py_XDECREF(value);
		return -1;
	}
	Py_DECREF(value);
	*id = registered;
	return 0;
}

PyObject *agp_py_agent_new(const char *name, const char *type, bool strict)
{
	if (builtin_metrics_init())
		return NULL;
	agp_py_agent *self = PyObject_New(agp_py_agent, &agp_py_agent_type);
	if (!self)
		return NULL;
	self->agent = NULL;
	self->pid = agp_py_pid;
	self->name = PyUnicode_FromString(name);
	self->type = PyUnicode_FromString(type);
	self->custom_metrics = PyDict_New();
	self->open_error = NULL;
	if (!self->name || !self->type || !self->custom_metrics) {
		Py_DECREF(self);
		return NULL;
	}
	if (agp_py_ensure_collector()) {
		Py_DECREF(self);
		return NULL;
	}
	agp_py_use_deployment();
	struct agp_agent_options options = {agp_py_deployment_option()};
	agp_agent *agent = NULL;
	int error;
	PyThreadState *thread_state = PyEval_SaveThread(); /* other threads run meanwhile */
	error = agp_agent_open(name, type, &options, &agent);
	PyEval_RestoreThread(thread_state);
	if (error) {
		PyObject *message = PyUnicode_FromFormat("agent '%s' of type '%s': %s", name, type,
		                                         agp_py_library_error());
		if (strict) {
			if (message)
				PyErr_SetObject(agp_py_error, message);
			Py_XDECREF(message);
			Py_DECREF(self);
			return NULL;
		}
		self->open_error = message;
		if (!message) {
			Py_DECREF(self);
			return NULL;
		}
		return (PyObject *)self;
	}
	self->agent = agent;
	return (PyObject *)self;
}

static PyObject *agent_tp_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
	static char *keywords[] = {"name", "type", "strict", NULL};
	const char *name, *agent_type = NULL;
	int strict = 0;
	if (!PyArg_ParseTupleAndKeywords(args, kwargs, "s|z$p:Agent", keywords, &name, &agent_type,
	                                 &strict))
		return NULL;
	return agp_py_agent_new(name, agent_type ? agent_type : agp_py_settings.agent_type, strict);
}

static void agent_dealloc(agp_py_agent *self)
{
	/* libagentperf never frees a handle (a racing record stays safe); closing releases the
	 * slot. */
	if (self->agent && self->pid == agp_py_pid)
		agp_agent_close(self->agent);
	Py_XDECREF(self->name);
	Py_XDECREF(self->type);
	Py_XDECREF(self->custom_metrics);
	Py_XDECREF(self->open_error);
	PyObject_Free(self);
}

/* record(metric, value, task_id=0): the hot path, parsed by hand. */
PyObject *agp_py_agent_record(agp_py_agent *self, PyObject *const *args, Py_ssize_t nargs,
                              PyObject *kwnames)
{
	PyObject *metric = nargs > 0 ? args[0] : NULL;
	PyObject *value = nargs > 1 ? args[1] : NULL;
	PyObject *task = nargs > 2 ? args[2] : NULL;
	if (nargs > 3) {
		PyErr_Format(PyExc_TypeError, "record() takes at most 3 arguments (%zd given)",
		             nargs);
		return NULL;
	}
	Py_ssize_t keywords = kwnames ? PyTuple_GET_SIZE(kwnames) : 0;
	for (Py_ssize_t i = 0; i < keywords; i++) {
		PyObject *key = PyTuple_GET_ITEM(kwnames, i);
		PyObject **slot = NULL;
		if (PyUnicode_CompareWithASCIIString(key, "metric") == 0)
			slot = &metric;
		else if (PyUnicode_CompareWithASCIIString(key, "value") == 0)
			slot = &value;
		else if (PyUnicode_CompareWithASCIIString(key, "task_id") == 0)
			slot = &task;
		if (!slot || *slot) {
			PyErr_Format(PyExc_TypeError, "record() got %s keyword argument '%U'",
			             slot ? "a repeated" : "an unexpected", key);
			return NULL;
		}
		*slot = args[nargs + i];
	}
	if (!metric || !value) {
		PyErr_SetString(PyExc_TypeError, "record() needs metric and value");
		return NULL;
	}
	uint16_t id;
	bool skip;
	int64_t number;
	uint64_t task_id = 0;
	if (agp_py_agent_metric(self, metric, AGP_UNIT_COUNT, &id, &skip) ||
	    agp_py_value(value, &number) || (task && agp_py_task_id(task, &task_id)))
		return NULL;
	if (skip)
		Py_RETURN_FALSE;
	/* With the GIL held: the single producer of this agent's ring (see the top of the file). */
	if (agp_record(self->agent, id, number, task_id))
		Py_RETURN_TRUE;
	Py_RETURN_FALSE;
}

/* timer(metric, task_id=0), parsed by hand: a `with agent.timer(m):` makes one every time. */
static PyObject *agent_timer(agp_py_agent *self, PyObject *const *args, Py_ssize_t nargs,
                             PyObject *kwnames)
{
	PyObject *metric = nargs > 0 ? args[0] : NULL;
	PyObject *task = nargs > 1 ? args[1] : NULL;
	Py_ssize_t keywords = kwnames ? PyTuple_GET_SIZE(kwnames) : 0;
	if (nargs > 2) {
		PyErr_Format(PyExc_TypeError, "timer() takes at most 2 arguments (%zd given)",
		             nargs);
		return NULL;
	}
	for (Py_ssize_t i = 0; i < keywords; i++) {
		PyObject *key = PyTuple_GET_ITEM(kwnames, i);
		PyObject **slot = NULL;
		if (PyUnicode_CompareWithASCIIString(key, "metric") == 0)
			slot = &metric;
		else if (PyUnicode_CompareWithASCIIString(key, "task_id") == 0)
			slot = &task;
		if (!slot || *slot) {
			PyErr_Format(PyExc_TypeError, "timer() got %s keyword argument '%U'",
			             slot ? "a repeated" : "an unexpected", key);
			return NULL;
		}
		*slot = args[nargs + i];
	}
	if (!metric) {
		PyErr_SetString(PyExc_TypeError, "timer() needs a metric");
		return NULL;
	}
	uint16_t id;
	bool skip;
	uint64_t task_id = 0;
	if (agp_py_agent_metric(self, metric, AGP_UNIT_NANOSECONDS, &id, &skip) ||
	    (task && agp_py_task_id(task, &task_id)))
		return NULL;
	return agp_py_timer_new(self, NULL, id, task_id, skip);
}

static PyObject *agent_metric(agp_py_agent *self, PyObject *args, PyObject *kwargs)
{
	static char *keywords[] = {"name", "unit", "expected_interval_ns", NULL};
	const char *name, *unit_text = "nanoseconds";
	unsigned long long interval = 0;
	if (!PyArg_ParseTupleAndKeywords(args, kwargs, "s|sK:metric", keywords, &name, &unit_text,
	                                 &interval))
		return NULL;
	enum agp_unit unit;
	if (!strcmp(unit_text, "nanoseconds"))
		unit = AGP_UNIT_NANOSECONDS;
	else if (!strcmp(unit_text, "bytes"))
		unit = AGP_UNIT_BYTES;
	else if (!strcmp(unit_text, "count"))
		unit = AGP_UNIT_COUNT;
	else {
		PyErr_Format(PyExc_ValueError,
		             "metric '%s': unit '%s': expected nanoseconds, bytes or count", name,
		             unit_text);
		return NULL;
	}
	if (!agent_usable(self)) {
		PyErr_Format(agp_py_error, "metric '%s': agent %U is not open%s%U", name,
		             self->name, self->open_error ? ": " : "",
		             self->open_error ? self->open_error : self->name);
		return NULL;
	}
	uint16_t id;
	int error = agp_metric_register(self->agent, name, unit, interval, &id);
	if (error) {
		PyErr_Format(agp_py_error, "metric '%s' (%s): %s", name, unit_text,
		             agp_py_library_error());
		return NULL;
	}
	PyObject *value = PyLong_FromUnsignedLong(id);
	PyObject *key = PyUnicode_FromString(name);
	if (!value || !key || PyDict_SetItem(self->custom_metrics, key, value)) {
		Py_XDECREF(value);
		Py_XDECREF(key);
		return NULL;
	}
	Py_DECREF(key);
	return value;
}

static PyObject *agent_close(agp_py_agent *self, PyObject *unused)
{
	if (self->agent && self->pid == agp_py_pid)
		agp_agent_close(self->agent);
	/* Kept (libagentperf never frees it), but marked: recording is now a no-op. */
	self->pid = -1;
	Py_RETURN_NONE;
}

static PyObject *agent_enter(agp_py_agent *self, PyObject *unused)
{
	Py_INCREF(self);
	return (PyObject *)self;
}

static PyObject *agent_exit(agp_py_agent *self, PyObject *args)
{
	PyObject *result = agent_close(self, NULL);
	Py_XDECREF(result);
	Py_RETURN_FALSE;
}

static PyObject *agent_now_ns(agp_py_agent *self, PyObject *unused)
{
	return PyLong_FromUnsignedLongLong(agp_clock_now_ns(self->agent));
}

static PyObject *agent_get_recorded(agp_py_agent *self, void *closure)
{
	return PyLong_FromUnsignedLongLong(agp_agent_recorded(self->agent));
}

static PyObject *agent_get_dropped(agp_py_agent *self, void *closure)
{
	return PyLong_FromUnsignedLongLong(agp_agent_dropped(self->agent));
}

static PyObject *agent_get_closed(agp_py_agent *self, void *closure)
{
	return PyBool_FromLong(!agent_usable(self));
}

static PyObject *agent_get_error(agp_py_agent *self, void *closure)
{
	if (!self->open_error)
		Py_RETURN_NONE;
	Py_INCREF(self->open_error);
	return self->open_error;
}

static PyObject *agent_repr(agp_py_agent *self)
{
	return PyUnicode_FromFormat("<agentperf.Agent %R type %R%s>", self->name, self->type,
	                            agent_usable(self) ? "" : " (closed)");
}

static PyMethodDef agent_methods[] = {
    {"record", (PyCFunction)(void (*)(void))agp_py_agent_record, METH_FASTCALL | METH_KEYWORDS,
     "record(metric, value, task_id=0) -> bool\n\nRecords one sample stamped now: metric is a "
     "built-in name, a custom name (registered on first use with unit 'count') or an id; value "
     "an int (nanoseconds, bytes or a count) or a float (rounded). False when the ring was full "
     "(the drop is counted) or the agent is closed or failed."},
    {"timer", (PyCFunction)(void (*)(void))agent_timer, METH_FASTCALL | METH_KEYWORDS,
     "timer(metric, task_id=0) -> Timer\n\nA timer of metric (a custom name is registered in "
     "nanoseconds): `with agent.timer(m):` records the block's duration, `@agent.timer(m)` "
     "every call's."},
    {"metric", (PyCFunction)(void (*)(void))agent_metric, METH_VARARGS | METH_KEYWORDS,
     "metric(name, unit='nanoseconds', expected_interval_ns=0) -> int\n\nRegisters a custom "
     "metric (or finds it) and returns its id."},
    {"close", (PyCFunction)agent_close, METH_NOARGS,
     "Releases the slot; what was recorded is still drained. Recording is a no-op afterwards."},
    {"now_ns", (PyCFunction)agent_now_ns, METH_NOARGS,
     "Nanoseconds on the deployment's clock (the timestamps of the samples)."},
    {"__enter__", (PyCFunction)agent_enter, METH_NOARGS, NULL},
    {"__exit__", (PyCFunction)agent_exit, METH_VARARGS, NULL},
    {NULL, NULL, 0, NULL},
};

static PyMemberDef agent_members[] = {
    {"name", T_OBJECT_EX, offsetof(agp_py_agent, name), READONLY, "the agent's name"},
    {"type", T_OBJECT_EX, offsetof(agp_py_agent, type), READONLY, "the agent's type"},
    {NULL, 0, 0, 0, NULL},
};

static PyGetSetDef agent_getset[] = {
    {"recorded", (getter)agent_get_recorded, NULL, "samples written into the ring", NULL},
    {"dropped", (getter)agent_get_dropped, NULL, "samples dropped because the ring was full", NULL},
    {"closed", (getter)agent_get_closed, NULL,
     "True when recording is a no-op: closed, failed to open, or inherited by a forked child",
     NULL},
    {"error", (getter)agent_get_error, NULL, "why the agent could not open, or None", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

PyTypeObject agp_py_agent_type = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "agentperf.Agent",
    .tp_basicsize = sizeof(agp_py_agent),
    .tp_dealloc = (destructor)agent_dealloc,
    .tp_repr = (reprfunc)agent_repr,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Agent(name, type=None, *, strict=False)\n\nAn agent of the deployment "
              "(configure(deployment=...), else $AGENTPERF_NAME, else 'default'). When it "
              "cannot open, recording is a no-op and .error says why; strict=True raises "
              "agentperf.Error instead.",
    .tp_methods = agent_methods,
    .tp_members = agent_members,
    .tp_getset = agent_getset,
    .tp_new = agent_tp_new,
};
