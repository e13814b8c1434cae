/*
 * agentperf.Timer, the Python form of the original's performance_timer:
 * `with agent.timer(metric):` records the block's duration as one sample,
 * and `@agent.timer(metric)` makes a TimedFunction that records the
 * duration of every call. Both read the deployment's clock at the start and
 * at the end and record with agp_record_at(), as AGP_TIMER_SCOPE does; a
 * block or call that raised gives a sample flagged AGP_RECORD_FAILED (still
 * aggregated), and the exception goes on.
 *
 * A Timer holds one start time: one `with` at a time per Timer object (the
 * usual `with agent.timer(m):` makes a new one each time). A TimedFunction
 * keeps each call's start on the C stack, so it is reentrant and shared by
 * threads like the agent itself (the GIL serialises their records).
 */
#include <stddef.h>
#include <unistd.h>

#include "python/module.h"

#include <agentperf/record.h>

typedef struct {
	PyObject_HEAD agp_py_agent *agent;
	uint64_t task_id;
	uint64_t start_ns;
	uint16_t metric_id;
	bool skip;    /* a closed or failed agent: nothing is recorded */
	bool running; /* between __enter__ and __exit__ */
	bool follow;  /* made by agentperf.timer(): the default agent of the process it runs in */
} timer_object;

typedef struct {
	PyObject_HEAD agp_py_agent *agent;
	PyObject *function;
	PyObject *dict; /* __wrapped__, __name__, ... (functools.update_wrapper) */
	uint64_t task_id;
	uint16_t metric_id;
	bool skip;
	bool follow;
} timed_function_object;

static bool usable(const agp_py_agent *agent, bool skip)
{
	return !skip && agent->agent && agent->pid == getpid();
}

/*
 * A module-level timer in a forked child: the agent it holds is the
 * parent's default one (closed in the child), so it moves to the child's.
 * 0, or -1 with an exception when the child's default agent cannot be made.
 */
static int follow_default(bool follow, agp_py_agent **agent)
{
	if (!follow || (*agent)->pid == getpid())
		return 0;
	agp_py_agent *current = agp_py_default_agent();
	if (!current)
		return -1;
	Py_INCREF(current);
	Py_SETREF(*agent, current);
	return 0;
}

/* Records the span that began at start_ns and ends now. */
static void record_span(agp_py_agent *agent, uint16_t metric_id, uint64_t task_id,
                        uint64_t start_ns, bool failed)
{
	uint64_t end_ns = agp_clock_now_ns(agent->agent);
	/* With the GIL held: the single producer of the agent's ring (module.h). */
	agp_record_at(agent->agent, metric_id, (int64_t)(end_ns - start_ns), task_id, end_ns,
	              failed ? AGP_RECORD_FAILED : 0);
}

PyObject *agp_py_timer_new(agp_py_agent *agent, uint16_t metric_id, uint64_t task_id, bool skip,
                           bool follow)
{
	timer_object *self = PyObject_New(timer_object, &agp_py_timer_type);
	if (!self)
		return NULL;
	Py_INCREF(agent);
	self->agent = agent;
	self->metric_id = metric_id;
	self->task_id = task_id;
	self->skip = skip;
	self->running = false;
	self->follow = follow;
	self->start_ns = 0;
	return (PyObject *)self;
}

static void timer_dealloc(timer_object *self)
{
	Py_XDECREF(self->agent);
	PyObject_Free(self);
}

static PyObject *timer_enter(timer_object *self, PyObject *unused)
{
	if (self->running) {
		PyErr_SetString(agp_py_error, "this Timer is running already: one `with` at a time "
		                              "per Timer (make another with agent.timer(...))");
		return NULL;
	}
	if (follow_default(self->follow, &self->agent))
		return NULL;
	self->running = true;
	self->start_ns = agp_clock_now_ns(self->agent->agent);
	Py_INCREF(self);
	return (PyObject *)self;
}

static PyObject *timer_exit(timer_object *self, PyObject *const *args, Py_ssize_t nargs)
{
	if (self->running && usable(self->agent, self->skip))
		record_span(self->agent, self->metric_id, self->task_id, self->start_ns,
		            nargs > 0 && args[0] != Py_None);
	self->running = false;
	Py_RETURN_FALSE;
}

static PyObject *timer_call(timer_object *self, PyObject *args, PyObject *kwargs)
{
	PyObject *function;
	if (kwargs && PyDict_GET_SIZE(kwargs)) {
		PyErr_SetString(PyExc_TypeError, "a Timer decorates a function: Timer(function)");
		return NULL;
	}
	if (!PyArg_ParseTuple(args, "O:Timer", &function))
		return NULL;
	if (!PyCallable_Check(function)) {
		PyErr_Format(PyExc_TypeError, "a Timer decorates a callable, not %s",
		             Py_TYPE(function)->tp_name);
		return NULL;
	}
	timed_function_object *timed =
	    PyObject_GC_New(timed_function_object, &agp_py_timed_function_type);
	if (!timed)
		return NULL;
	Py_INCREF(self->agent);
	timed->agent = self->agent;
	Py_INCREF(function);
	timed->function = function;
	timed->dict = NULL;
	timed->metric_id = self->metric_id;
	timed->task_id = self->task_id;
	timed->skip = self->skip;
	timed->follow = self->follow;
	PyObject_GC_Track(timed);
	/* __name__, __doc__, __wrapped__, ... as any decorator built with functools.wraps. */
	PyObject *functools = PyImport_ImportModule("functools");
	PyObject *updated = functools ? PyObject_CallMethod(functools, "update_wrapper", "OO",
	                                                    (PyObject *)timed, function)
	                              : NULL;
	Py_XDECREF(functools);
	if (!updated) {
		Py_DECREF(timed);
		return NULL;
	}
	Py_DECREF(updated);
	return (PyObject *)timed;
}

static PyObject *timer_repr(timer_object *self)
{
	return PyUnicode_FromFormat("<agentperf.Timer metric %u of %R%s>",
	                            (unsigned)self->metric_id, self->agent->name,
	                            self->running ? " (running)" : "");
}

static PyMethodDef timer_methods[] = {
    {"__enter__", (PyCFunction)timer_enter, METH_NOARGS, NULL},
    {"__exit__", (PyCFunction)(void (*)(void))timer_exit, METH_FASTCALL, NULL},
    {NULL, NULL, 0, NULL},
};

PyTypeObject agp_py_timer_type = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "agentperf.Timer",
    .tp_basicsize = sizeof(timer_object),
    .tp_dealloc = (destructor)timer_dealloc,
    .tp_repr = (reprfunc)timer_repr,
    .tp_call = (ternaryfunc)timer_call,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "A timer of one metric: a context manager (one sample per block) and a "
              "decorator (one sample per call). Made by Agent.timer() and agentperf.timer().",
    .tp_methods = timer_methods,
};

static PyObject *timed_call(timed_function_object *self, PyObject *args, PyObject *kwargs)
{
	if (follow_default(self->follow, &self->agent))
		return NULL;
	bool record = usable(self->agent, self->skip);
	uint64_t start_ns = record ? agp_clock_now_ns(self->agent->agent) : 0;
	PyObject *result = PyObject_Call(self->function, args, kwargs);
	if (record)
		record_span(self->agent, self->metric_id, self->task_id, start_ns, result == NULL);
	return result;
}

/* A TimedFunction in a class binds like the function it wraps. */
static PyObject *timed_get(PyObject *self, PyObject *instance, PyObject *owner)
{
	if (!instance || instance == Py_None) {
		Py_INCREF(self);
		return self;
	}
	return PyMethod_New(self, instance);
}

static int timed_traverse(timed_function_object *self, visitproc visit, void *arg)
{
	Py_VISIT(self->agent);
	Py_VISIT(self->function);
	Py_VISIT(self->dict);
	return 0;
}

static int timed_clear(timed_function_object *self)
{
	Py_CLEAR(self->agent);
	Py_CLEAR(self->function);
	Py_CLEAR(self->dict);
	return 0;
}

static void timed_dealloc(timed_function_object *self)
{
	PyObject_GC_UnTrack(self);
	timed_clear(self);
	PyObject_GC_Del(self);
}

static PyObject *timed_repr(timed_function_object *self)
{
	return PyUnicode_FromFormat("<agentperf timed %R>", self->function);
}

static PyGetSetDef timed_getset[] = {
    {"__dict__", PyObject_GenericGetDict, PyObject_GenericSetDict, NULL, NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

PyTypeObject agp_py_timed_function_type = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "agentperf.TimedFunction",
    .tp_basicsize = sizeof(timed_function_object),
    .tp_dealloc = (destructor)timed_dealloc,
    .tp_repr = (reprfunc)timed_repr,
    .tp_call = (ternaryfunc)timed_call,
    .tp_descr_get = timed_get,
    .tp_dictoffset = offsetof(timed_function_object, dict),
    .tp_getset = timed_getset,
    .tp_getattro = PyObject_GenericGetAttr,
    .tp_setattro = PyObject_GenericSetAttr,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "A function whose every call's duration is recorded (made by @timer).",
    .tp_traverse = (traverseproc)timed_traverse,
    .tp_clear = (inquiry)timed_clear,
};
