/*
 * The module-level helpers, agentperf.record() and agentperf.timer(), and
 * the agent they record on: one per process, named "<type>-<pid>" (the
 * type from configure(agent_type=...), default "python"), opened on first
 * use. Threads share it (the GIL serialises their records, module.h); a
 * forked child forgets its parent's (os.register_at_fork, module.c) and
 * opens its own on its first record, so no sample of the child ever goes
 * through the parent's slot.
 */
#include <stdio.h>
#include <unistd.h>

#include "python/module.h"

static agp_py_agent *default_agent; /* a strong reference, NULL until first use */

agp_py_agent *agp_py_default_agent(void)
{
	if (default_agent && default_agent->pid == agp_py_pid)
		return default_agent;
	if (default_agent && default_agent->pid != -1) {
		/* Inherited without the fork hook (a fork outside os.fork): not ours either. */
		Py_CLEAR(default_agent);
	}
	if (default_agent)
		return default_agent; /* closed at exit: stays a no-op */
	char name[AGP_AGENT_NAME_MAX + 1];
	snprintf(name, sizeof(name), "%.20s-%d", agp_py_settings.agent_type, (int)agp_py_pid);
	default_agent = (agp_py_agent *)agp_py_agent_new(name, agp_py_settings.agent_type, false);
	return default_agent;
}

void agp_py_default_agent_forget(void)
{
	Py_CLEAR(default_agent);
}

void agp_py_default_agent_close(void)
{
	if (default_agent && default_agent->pid == agp_py_pid) {
		agp_agent_close(default_agent->agent);
		default_agent->pid = -1;
	}
}

PyObject *agp_py_record(PyObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
	agp_py_agent *agent = agp_py_default_agent();
	if (!agent)
		return NULL;
	return agp_py_agent_record(agent, args, nargs, kwnames);
}

PyObject *agp_py_timer(PyObject *self, PyObject *args, PyObject *kwargs)
{
	static char *keywords[] = {"metric", "task_id", NULL};
	PyObject *metric, *task = NULL;
	if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O|O:timer", keywords, &metric, &task))
		return NULL;
	uint64_t task_id = 0;
	if (!PyLong_Check(metric) && !PyUnicode_Check(metric)) {
		PyErr_Format(PyExc_TypeError,
		             "metric: expected a name (str) or an id (int), not %s",
		             Py_TYPE(metric)->tp_name);
		return NULL;
	}
	if (task && agp_py_task_id(task, &task_id))
		return NULL;
	/* Bound when it first runs: a decorator applied at import opens no agent yet. */
	return agp_py_timer_new(NULL, metric, 0, task_id, false);
}

PyObject *agp_py_default_agent_function(PyObject *self, PyObject *unused)
{
	agp_py_agent *agent = agp_py_default_agent();
	Py_XINCREF(agent);
	return (PyObject *)agent;
}
