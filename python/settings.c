/*
 * configure(): what the module does on behalf of the process, set once
 * before it is used. A setting that can no longer take effect (the
 * deployment once an agent, the collector or the Task API used it; the task
 * options once the Task API runs) is refused, never silently ignored.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/deployment.h"
#include "python/module.h"

struct agp_py_settings agp_py_settings;

int agp_py_settings_init(void)
{
	memset(&agp_py_settings, 0, sizeof(agp_py_settings));
	agp_py_settings.private_daemon = true;
	strcpy(agp_py_settings.agent_type, "python");
	const char *text = getenv("AGENTPERF_PRIVATE_DAEMON");
	if (!text || !text[0])
		return 0;
	if (!strcmp(text, "1") || !strcasecmp(text, "true") || !strcasecmp(text, "on")) {
		agp_py_settings.private_daemon = true;
	} else if (!strcmp(text, "0") || !strcasecmp(text, "false") || !strcasecmp(text, "off")) {
		agp_py_settings.private_daemon = false;
	} else {
		PyErr_Format(PyExc_ValueError,
		             "AGENTPERF_PRIVATE_DAEMON='%s': expected 1/true/on or 0/false/off",
		             text);
		return -1;
	}
	return 0;
}

const char *agp_py_deployment(void)
{
	if (agp_py_settings.deployment[0])
		return agp_py_settings.deployment;
	const char *name = getenv("AGENTPERF_NAME");
	return name && name[0] ? name : "default";
}

void agp_py_use_deployment(void)
{
	/* Pinned: a later change of $AGENTPERF_NAME cannot split the process over two deployments.
	 */
	if (!agp_py_settings.deployment[0])
		snprintf(agp_py_settings.deployment, sizeof(agp_py_settings.deployment), "%s",
		         agp_py_deployment());
	agp_py_settings.deployment_in_use = true;
}

const char *agp_py_deployment_option(void)
{
	return agp_py_settings.deployment[0] ? agp_py_settings.deployment : NULL;
}

/* Copies a str argument into out; -1 with an exception when it does not fit. */
static int copy_text(const char *key, PyObject *value, char *out, size_t size)
{
	if (!PyUnicode_Check(value)) {
		PyErr_Format(PyExc_TypeError, "configure(%s=...): expected a str, not %s", key,
		             Py_TYPE(value)->tp_name);
		return -1;
	}
	Py_ssize_t length;
	const char *text = PyUnicode_AsUTF8AndSize(value, &length);
	if (!text)
		return -1;
	if ((size_t)length >= size || strlen(text) != (size_t)length) {
		PyErr_Format(PyExc_ValueError,
		             "configure(%s='%.60s'): longer than %zu bytes or holds a NUL", key,
		             text, size - 1);
		return -1;
	}
	memcpy(out, text, (size_t)length + 1);
	return 0;
}

PyObject *agp_py_configure(PyObject *self, PyObject *args, PyObject *kwargs)
{
	static char *keywords[] = {"deployment",      "private_daemon", "daemon_config",
	                           "daemon_log",      "agent_type",     "agents_dir",
	                           "max_concurrency", "eager_workers",  NULL};
	PyObject *deployment = NULL, *private_daemon = NULL, *daemon_config = NULL,
	         *daemon_log = NULL, *agent_type = NULL, *agents_dir = NULL,
	         *max_concurrency = NULL, *eager_workers = NULL;
	if (!PyArg_ParseTupleAndKeywords(args, kwargs, "|$OOOOOOOO:configure", keywords,
	                                 &deployment, &private_daemon, &daemon_config, &daemon_log,
	                                 &agent_type, &agents_dir, &max_concurrency,
	                                 &eager_workers))
		return NULL;
	/* Checked first, applied after: a refused call changes nothing. */
	struct agp_py_settings next = agp_py_settings;
	if (deployment && deployment != Py_None) {
		if (copy_text("deployment", deployment, next.deployment, sizeof(next.deployment)))
			return NULL;
		char resolved[AGP_DEPLOYMENT_NAME_MAX + 1];
		if (agp_deployment_resolve(next.deployment, resolved) != 0) {
			PyErr_Format(PyExc_ValueError, "configure(deployment='%s'): %s",
			             next.deployment, agp_last_error());
			return NULL;
		}
		if (agp_py_settings.deployment_in_use &&
		    strcmp(next.deployment, agp_py_deployment())) {
			PyErr_Format(
			    agp_py_error,
			    "configure(deployment='%s'): this process already uses deployment "
			    "'%s' (an agent, the collector or the Task API); set it before "
			    "the first use",
			    next.deployment, agp_py_deployment());
			return NULL;
		}
	}
	if (private_daemon && private_daemon != Py_None) {
		int on = PyObject_IsTrue(private_daemon);
		if (on < 0)
			return NULL;
		next.private_daemon = on;
	}
	if (daemon_config && daemon_config != Py_None &&
	    copy_text("daemon_config", daemon_config, next.daemon_config,
	              sizeof(next.daemon_config)))
		return NULL;
	if (daemon_log && daemon_log != Py_None &&
	    copy_text("daemon_log", daemon_log, next.daemon_log, sizeof(next.daemon_log)))
		return NULL;
	if (agent_type && agent_type != Py_None) {
		if (copy_text("agent_type", agent_type, next.agent_type, sizeof(next.agent_type)))
			return NULL;
		if (!next.agent_type[0]) {
			PyErr_SetString(PyExc_ValueError, "configure(agent_type=''): empty");
			return NULL;
		}
	}
	bool task_option = false;
	if (agents_dir && agents_dir != Py_None) {
		if (copy_text("agents_dir", agents_dir, next.agents_dir, sizeof(next.agents_dir)))
			return NULL;
		task_option = true;
	}
	if (max_concurrency && max_concurrency != Py_None) {
		long cap = PyLong_AsLong(max_concurrency);
		if (cap == -1 && PyErr_Occurred())
			return NULL;
		if (cap < 1 || cap > 4096) {
			PyErr_Format(
			    PyExc_ValueError,
			    "configure(max_concurrency=%ld): expected 1..4096 tasks at once", cap);
			return NULL;
		}
		next.max_concurrency = (unsigned)cap;
		task_option = true;
	}
	if (eager_workers && eager_workers != Py_None) {
		int eager = PyObject_IsTrue(eager_workers);
		if (eager < 0)
			return NULL;
		next.eager_workers = eager;
		task_option = true;
	}
	if (task_option && agp_py_settings.tasks_started) {
		PyErr_SetString(
		    agp_py_error,
		    "configure(agents_dir/max_concurrency/eager_workers): the Task API runs "
		    "already; "
		    "call agentperf.task_shutdown() first, or configure before the first "
		    "task");
		return NULL;
	}
	agp_py_settings = next;
	return agp_py_settings_dict(self, NULL);
}

PyObject *agp_py_settings_dict(PyObject *self, PyObject *unused)
{
	return Py_BuildValue(
	    "{s:s, s:O, s:s, s:s, s:s, s:s, s:I, s:O}", "deployment", agp_py_deployment(),
	    "private_daemon", agp_py_settings.private_daemon ? Py_True : Py_False, "daemon_config",
	    agp_py_settings.daemon_config, "daemon_log", agp_py_settings.daemon_log, "agent_type",
	    agp_py_settings.agent_type, "agents_dir", agp_py_settings.agents_dir, "max_concurrency",
	    agp_py_settings.max_concurrency, "eager_workers",
	    agp_py_settings.eager_workers ? Py_True : Py_False);
}
