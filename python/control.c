/*
 * The collector's answers as Python objects: the same verbs of the control
 * protocol the command line sends (docs/cli.md), through the same client
 * (tools/cli_client.c), so statistics(), validate(), ... hold exactly what
 * `agentperf ... --json` prints.
 *
 * One connection per process, opened on the first request and kept, used
 * by one thread at a time (a mutex; the GIL is released while a request
 * waits). A forked child closes its copy of the parent's connection and
 * opens its own.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/atomic_file.h"
#include "common/json_u64.h"
#include "python/module.h"
#include "tools/cli.h"

static pthread_mutex_t connection_lock = PTHREAD_MUTEX_INITIALIZER;
static struct cli connection = {.fd = -1};

void agp_py_control_after_fork(void)
{
	/* The forking thread is the child's only one: no other holder of the lock to wait for. */
	pthread_mutex_init(&connection_lock, NULL);
	cli_disconnect(&connection);
	connection = (struct cli){.fd = -1};
}

PyObject *agp_py_request(const char *verb, PyObject *args)
{
	if (agp_py_ensure_collector())
		return NULL;
	json_t *json_args = NULL;
	if (args && args != Py_None) {
		if (!PyDict_Check(args)) {
			PyErr_Format(PyExc_TypeError, "request %s: arguments are a dict, not %s",
			             verb, Py_TYPE(args)->tp_name);
			return NULL;
		}
		if (!(json_args = agp_py_to_json(args)))
			return NULL;
	}
	json_t *result = NULL;
	int code = 0, status;
	char message[512] = "";
	char path[sizeof(connection.path)];
	PyThreadState *thread_state = PyEval_SaveThread(); /* other threads run meanwhile */
	pthread_mutex_lock(&connection_lock);
	connection.name = agp_py_deployment_option();
	/* Probing: a failed connection is this function's exception, not a line on stderr. */
	connection.probing = true;
	status = cli_request_quiet(&connection, verb, json_args, &result, &code, message,
	                           sizeof(message));
	memcpy(path, connection.path, sizeof(path));
	pthread_mutex_unlock(&connection_lock);
	PyEval_RestoreThread(thread_state);
	json_decref(json_args);
	if (status == CLI_UNREACHABLE) {
		PyErr_Format(
		    agp_py_collector_unreachable,
		    "%s: no collector answers for deployment '%s' on %s%s%s (start agentperfd "
		    "--name %s, or leave configure(private_daemon=True))",
		    verb, agp_py_deployment(), path[0] ? path : "its socket",
		    message[0] ? ": " : "", message, agp_py_deployment());
		return NULL;
	}
	if (status != CLI_OK) {
		PyObject *error =
		    Py_BuildValue("(si)", message[0] ? message : "request failed", code);
		if (error) {
			PyErr_SetObject(agp_py_collector_error, error);
			Py_DECREF(error);
		}
		return NULL;
	}
	PyObject *object = agp_py_from_json(result);
	json_decref(result);
	return object;
}

/* The keyword arguments given (None left out) as the request's arguments. */
static PyObject *given(PyObject *kwargs)
{
	PyObject *args = PyDict_New();
	PyObject *key, *value;
	Py_ssize_t position = 0;
	while (args && kwargs && PyDict_Next(kwargs, &position, &key, &value))
		if (value != Py_None && PyDict_SetItem(args, key, value)) {
			Py_CLEAR(args);
			break;
		}
	return args;
}

/* A verb whose keyword arguments are exactly the names in allowed. */
static PyObject *verb_with(const char *function, const char *verb, const char *const *allowed,
                           PyObject *args, PyObject *kwargs)
{
	if (args && PyTuple_GET_SIZE(args)) {
		PyErr_Format(PyExc_TypeError, "%s() takes keyword arguments only", function);
		return NULL;
	}
	PyObject *key, *value;
	Py_ssize_t position = 0;
	while (kwargs && PyDict_Next(kwargs, &position, &key, &value)) {
		bool known = false;
		for (size_t i = 0; allowed[i] && !known; i++)
			known = PyUnicode_CompareWithASCIIString(key, allowed[i]) == 0;
		if (!known) {
			PyErr_Format(PyExc_TypeError,
			             "%s() got an unexpected keyword argument '%U'", function, key);
			return NULL;
		}
	}
	PyObject *request_args = given(kwargs);
	if (!request_args)
		return NULL;
	PyObject *result = agp_py_request(verb, request_args);
	Py_DECREF(request_args);
	return result;
}

static PyObject *py_request(PyObject *self, PyObject *args)
{
	const char *verb;
	PyObject *request_args = NULL;
	if (!PyArg_ParseTuple(args, "s|O:request", &verb, &request_args))
		return NULL;
	return agp_py_request(verb, request_args);
}

static PyObject *py_status(PyObject *self, PyObject *unused)
{
	return agp_py_request("status", NULL);
}

static PyObject *py_agents(PyObject *self, PyObject *unused)
{
	return agp_py_request("agents", NULL);
}

static PyObject *py_statistics(PyObject *self, PyObject *args, PyObject *kwargs)
{
	static const char *const allowed[] = {"metric",   "agent_type", "agent",
	                                      "window_s", "corrected",  NULL};
	return verb_with("statistics", "stats", allowed, args, kwargs);
}

static PyObject *py_percentiles(PyObject *self, PyObject *args, PyObject *kwargs)
{
	static const char *const allowed[] = {"metric",    "agent_type", "agent", "window_s",
	                                      "corrected", "ticks",      NULL};
	return verb_with("percentiles", "percentiles", allowed, args, kwargs);
}

static PyObject *py_baseline_establish(PyObject *self, PyObject *args, PyObject *kwargs)
{
	static const char *const allowed[] = {"hours", "min_samples", "confidence", NULL};
	return verb_with("baseline_establish", "baseline.establish", allowed, args, kwargs);
}

static PyObject *py_baseline_show(PyObject *self, PyObject *unused)
{
	return agp_py_request("baseline.show", NULL);
}

static PyObject *py_validate(PyObject *self, PyObject *unused)
{
	return agp_py_request("validate", NULL);
}

static PyObject *py_report(PyObject *self, PyObject *unused)
{
	return agp_py_request("report", NULL);
}

static PyObject *py_config(PyObject *self, PyObject *unused)
{
	return agp_py_request("config.show", NULL);
}

static PyObject *py_alerts(PyObject *self, PyObject *args, PyObject *kwargs)
{
	static const char *const allowed[] = {"since", NULL};
	return verb_with("alerts", "alerts", allowed, args, kwargs);
}

/*
 * export_ci(file=None, write=True): the CI export, written as `agentperf
 * export --ci FILE` writes it (file, else $CODEX_CI_EXPORT_FILE, else the
 * collector's monitoring.ci_export_file; replaced atomically). Returns the
 * collector's answer: {export, meets_requirements, ci_export_file,
 * ci_fail_on_threshold_violation, ci_export_enabled}, with written_to.
 */
static PyObject *py_export_ci(PyObject *self, PyObject *args, PyObject *kwargs)
{
	static char *keywords[] = {"file", "write", NULL};
	const char *file = NULL;
	int write = 1;
	if (!PyArg_ParseTupleAndKeywords(args, kwargs, "|z$p:export_ci", keywords, &file, &write))
		return NULL;
	PyObject *answer = agp_py_request("export.ci", NULL);
	if (!answer || !write)
		return answer;
	const char *path = file;
	if (!path || !path[0])
		path = getenv("CODEX_CI_EXPORT_FILE");
	PyObject *configured = PyDict_GetItemString(answer, "ci_export_file");
	if ((!path || !path[0]) && configured && PyUnicode_Check(configured))
		path = PyUnicode_AsUTF8(configured);
	PyObject *export = PyDict_GetItemString(answer, "export");
	json_t *json = export ? agp_py_to_json(export) : NULL;
	char *text = json ? agp_json_dumps(json, JSON_INDENT(2) | JSON_REAL_PRECISION(17)) : NULL;
	json_decref(json);
	if (!path || !path[0] || !text) {
		free(text);
		if (!PyErr_Occurred())
			PyErr_SetString(agp_py_error,
			                "export_ci: no file to write the CI export to "
			                "(and no monitoring.ci_export_file)");
		Py_DECREF(answer);
		return NULL;
	}
	char err[512] = "";
	int error;
	size_t length = strlen(text);
	PyThreadState *thread_state = PyEval_SaveThread(); /* other threads run meanwhile */
	error = agp_atomic_write_file(path, text, length, err, sizeof(err));
	PyEval_RestoreThread(thread_state);
	free(text);
	if (error) {
		errno = -error;
		PyErr_Format(PyExc_OSError, "export_ci: cannot write %s: %s", path,
		             err[0] ? err : strerror(-error));
		Py_DECREF(answer);
		return NULL;
	}
	PyObject *written = PyUnicode_DecodeFSDefault(path);
	if (!written || PyDict_SetItemString(answer, "written_to", written)) {
		Py_XDECREF(written);
		Py_DECREF(answer);
		return NULL;
	}
	Py_DECREF(written);
	return answer;
}

PyMethodDef agp_py_control_methods[] = {
    {"request", py_request, METH_VARARGS,
     "request(verb, args=None): any verb of the control protocol (docs/cli.md), its result."},
    {"status", py_status, METH_NOARGS, "The collector's status (`agentperf status --json`)."},
    {"agents", py_agents, METH_NOARGS, "The agents the collector knows (`agentperf agents`)."},
    {"statistics", (PyCFunction)(void (*)(void))py_statistics, METH_VARARGS | METH_KEYWORDS,
     "statistics(*, metric=None, agent_type=None, agent=None, window_s=None, corrected=None): "
     "{series: [...], window_s} as `agentperf stats --json` (values in the metric's unit)."},
    {"percentiles", (PyCFunction)(void (*)(void))py_percentiles, METH_VARARGS | METH_KEYWORDS,
     "percentiles(*, metric, agent_type=None, agent=None, window_s=None, corrected=None, "
     "ticks=None): the HdrHistogram percentile iteration of the merged series."},
    {"baseline_establish", (PyCFunction)(void (*)(void))py_baseline_establish,
     METH_VARARGS | METH_KEYWORDS,
     "baseline_establish(*, hours=None, min_samples=None, confidence=None): establishes and "
     "saves the baseline; CollectorError (code ENODATA) when there are too few samples."},
    {"baseline_show", py_baseline_show, METH_NOARGS,
     "The current baseline; CollectorError (code ENOENT) when there is none."},
    {"validate", py_validate, METH_NOARGS, "The seed's validation object."},
    {"export_ci", (PyCFunction)(void (*)(void))py_export_ci, METH_VARARGS | METH_KEYWORDS,
     "export_ci(file=None, *, write=True): the CI export, written to file (default "
     "$CODEX_CI_EXPORT_FILE, then monitoring.ci_export_file)."},
    {"report", py_report, METH_NOARGS, "The seed's report object."},
    {"config", py_config, METH_NOARGS, "The running collector's configuration."},
    {"alerts", (PyCFunction)(void (*)(void))py_alerts, METH_VARARGS | METH_KEYWORDS,
     "alerts(*, since=None): {alerts: [...], newest, missed}."},
    {NULL, NULL, 0, NULL},
};
