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

/*
 * What a timer records on: an Agent's timer is bound once, when it is made;
 * a module-level one (follow) binds to the default agent of the process it
 * first runs in, and again in a forked child, so that a decorator applied
 * at import opens nothing until it runs and a child never records through
 * its parent's slot.
 */
struct binding {
	agp_py_agent *agent; /* NULL until a module-level timer first runs */
	PyObject *metric;    /* a module-level timer's metric (name or id), resolved when bound */
	uint64_t task_id;
	uint16_t metric_id;
	bool skip;   /* a closed or failed agent: nothing is recorded */
	bool follow; /* made by agentperf.timer() */
};

typedef struct {
	PyObject ob_base;
	struct binding to;
	uint64_t start_ns;
	bool running; /* between __enter__ and __exit__ */
} timer_object;

typedef struct {
	PyObject ob_base;
	struct binding to;
	PyObject *function;
	PyObject *dict; /* __wrapped__, __name__, ... (functools.update_wrapper) */
} timed_function_object;

/* Binds a module-level timer to this process's default agent. 0, or -1 with an exception. */
static int bind(struct binding *to)
{
	if (!to->follow || (to->agent && to->agent->pid == agp_py_pid))
		return 0;
	agp_py_agent *current = agp_py_default_agent();
	if (!current)
		return -1;
	uint16_t id;
	bool skip;
	if (agp_py_agent_metric(current, to->metric, AGP_UNIT_NANOSECONDS, &id, &skip))
		return -1;
	Py_INCREF(current);
	Py_XSETREF(to->agent, current);
	to->metric_id = id;
	to->skip = skip;
	return 0;
}

static bool usable(const struct binding *to)
{
	return !to->skip && to->agent && to->agent->agent && to->agent->pid == agp_py_pid;
}

static void binding_copy(struct binding *to, const struct binding *from)
{
	*to = *from;
	Py_XINCREF(to->agent);
	Py_XINCREF(to->metric);
}

static void binding_clear(struct binding *to)
{
	Py_CLEAR(to->agent);
	Py_CLEAR(to->metric);
}

/* Records the span that began at start_ns and ends now. */
static void record_span(const struct binding *to, uint64_t start_ns, bool failed)
{
	uint64_t end_ns = agp_clock_now_ns(to->agent->agent);
	/* With the GIL held: the single producer of the agent's ring (module.h). */
	agp_record_at(to->agent->agent, to->metric_id, (int64_t)(end_ns - start_ns), to->task_id,
	              end_ns, failed ? AGP_RECORD_FAILED : 0);
}

PyObject *agp_py_timer_new(agp_py_agent *agent, PyObject *metric, uint16_t metric_id,
                           uint64_t task_id, bool skip)
{
	timer_object *self = PyObject_New(timer_object, &agp_py_timer_type);
	if (!self)
		return NULL;
	Py_XINCREF(agent);
	Py_XINCREF(metric);
	self->to = (struct binding){.agent = agent,
	                            .metric = metric,
	                            .task_id = task_id,
	                            .metric_id = metric_id,
	                            .skip = skip,
	                            .follow = agent == NULL};
	self->running = false;
	self->start_ns = 0;
	return (PyObject *)self;
}

static void timer_dealloc(timer_object *self)
{
	binding_clear(&self->to);
	PyObject_Free(self);
}

static PyObject *timer_enter(timer_object *self, PyObject *unused)
{
	if (self->running) {
		PyErr_SetString(agp_py_error, "this Timer is running already: one `with` at a time "
		                              "per Timer (make another with agent.timer(...))");
		return NULL;
	}
	if (bind(&self->to))
		return NULL;
	self->running = true;
	self->start_ns = agp_clock_now_ns(self->to.agent->agent);
	Py_INCREF(self);
	return (PyObject *)self;
}

static PyObject *timer_exit(timer_object *self, PyObject *const *args, Py_ssize_t nargs)
{
	if (self->running && usable(&self->to))
		record_span(&self->to, self->start_ns, nargs > 0 && args[0] != Py_None);
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
	binding_copy(&timed->to, &self->to);
	Py_INCREF(function);
	timed->function = function;
	timed->dict = NULL;
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
	if (!self->to.agent)
		return PyUnicode_FromFormat("<agentperf.Timer of %R on the default agent>",
		                            self->to.metric);
	return PyUnicode_FromFormat("<agentperf.Timer metric %u of %R%s>",
	                            (unsigned)self->to.metric_id, self->to.agent->name,
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
	if (bind(&self->to))
		return NULL;
	bool record = usable(&self->to);
	uint64_t start_ns = record ? agp_clock_now_ns(self->to.agent->agent) : 0;
	PyObject *result = PyObject_Call(self->function, args, kwargs);
	if (record)
		record_span(&self->to, start_ns, result == NULL);
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
	Py_VISIT(self->to.agent);
	Py_VISIT(self->to.metric);
	Py_VISIT(self->function);
	Py_VISIT(self->dict);
	return 0;
}

static int timed_clear(timed_function_object *self)
{
	binding_clear(&self->to);
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
