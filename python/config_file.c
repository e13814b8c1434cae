/*
 * The configuration file the collector reads (.codexplus/performance/
 * config.json, or configure(daemon_config=...)), read and edited with the
 * collector's own configuration library (collector/config/), so that a file
 * written here is one agentperfd accepts and every key is checked as it
 * checks it. A present but broken file is never replaced: editing it is an
 * error that names the file and every problem.
 *
 * The running collector reads its file when it starts: an edit takes effect
 * at the next start of agentperfd (the private one included, which starts
 * after the edit when the edit comes first). config() in control.c is what
 * the running collector uses.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "collector/config/config.h"
#include "common/atomic_file.h"
#include "python/module.h"

static const char *config_path(void)
{
	return agp_py_settings.daemon_config[0] ? agp_py_settings.daemon_config
	                                        : AGP_CONFIG_DEFAULT_PATH;
}

/* Loads the file over the defaults (a missing file: the defaults). 0, or -1 with an exception. */
static int load(const char *path, struct agp_config *config, bool *exists)
{
	char err[4096] = "";
	agp_config_defaults(config);
	int error = agp_config_load_file(path, config, err, sizeof(err));
	*exists = error != -ENOENT;
	if (error && error != -ENOENT) {
		PyErr_Format(agp_py_error, "configuration file %s: %s", path, err);
		return -1;
	}
	return 0;
}

static PyObject *config_object(const struct agp_config *config)
{
	json_t *json = agp_config_to_json(config, AGP_CONFIG_JSON_ALL);
	if (!json)
		return PyErr_NoMemory();
	PyObject *object = agp_py_from_json(json);
	json_decref(json);
	return object;
}

/* config_file(*, environment=True): the file's configuration (with the CODEX_* variables). */
static PyObject *py_config_file(PyObject *self, PyObject *args, PyObject *kwargs)
{
	static char *keywords[] = {"environment", NULL};
	int environment = 1;
	if (!PyArg_ParseTupleAndKeywords(args, kwargs, "|$p:config_file", keywords, &environment))
		return NULL;
	struct agp_config *config = PyMem_Malloc(sizeof(*config));
	if (!config)
		return PyErr_NoMemory();
	bool exists;
	PyObject *result = NULL;
	char err[4096] = "";
	if (load(config_path(), config, &exists))
		goto out;
	if (environment && agp_config_apply_env(config, err, sizeof(err))) {
		PyErr_Format(agp_py_error, "environment: %s", err);
		goto out;
	}
	result = config_object(config);
out:
	PyMem_Free(config);
	return result;
}

/*
 * Writes what an edit made as text into a temporary file beside path, then
 * loads that over the defaults (the collector's checks), and only then
 * replaces path with it. 0, or -1 with an exception.
 */
static int check_and_write(const char *path, json_t *edited, struct agp_config *config)
{
	char *text = json_dumps(edited, JSON_INDENT(2));
	if (!text) {
		PyErr_NoMemory();
		return -1;
	}
	char temporary[4200];
	snprintf(temporary, sizeof(temporary), "%s.check.XXXXXX", path);
	char *slash = strrchr(path, '/');
	char folder[4096];
	snprintf(folder, sizeof(folder), "%.*s", slash ? (int)(slash - path) : 1,
	         slash ? path : ".");
	int made = agp_make_dirs(folder);
	if (made) {
		free(text);
		PyErr_Format(PyExc_OSError,
		             "configuration file %s: cannot create its folder %s: %s", path, folder,
		             strerror(-made));
		return -1;
	}
	int fd = mkstemp(temporary);
	size_t length = strlen(text);
	bool written = fd >= 0 && write(fd, text, length) == (ssize_t)length;
	if (fd >= 0)
		close(fd);
	free(text);
	char err[4096] = "";
	int error = -EIO;
	if (written) {
		agp_config_defaults(config);
		error = agp_config_load_file(temporary, config, err, sizeof(err));
	}
	if (fd >= 0)
		unlink(temporary);
	if (!written) {
		PyErr_Format(PyExc_OSError,
		             "configuration file %s: cannot write a temporary file "
		             "beside it",
		             path);
		return -1;
	}
	if (error) {
		PyErr_Format(PyExc_ValueError, "configuration file %s: the edit is refused: %s",
		             path, err);
		return -1;
	}
	if (agp_config_check(config, path, err, sizeof(err))) {
		PyErr_Format(PyExc_ValueError, "the edit is refused: %s", err);
		return -1;
	}
	if (agp_config_write_file(path, config, err, sizeof(err))) {
		PyErr_Format(PyExc_OSError, "configuration file %s: %s", path, err);
		return -1;
	}
	return 0;
}

/*
 * edit_config_file(*, preset=None, set=None): applies a preset
 * ("development", "production") and then the values of set ({"monitoring":
 * {"enabled": False}}, sections of the seed's schema) over the file (or the
 * defaults when there is none), checks the result as agentperfd would and
 * replaces the file atomically. Returns the configuration written.
 */
static PyObject *py_edit_config_file(PyObject *self, PyObject *args, PyObject *kwargs)
{
	static char *keywords[] = {"preset", "set", NULL};
	const char *preset = NULL;
	PyObject *values = NULL;
	if (!PyArg_ParseTupleAndKeywords(args, kwargs, "|$zO:edit_config_file", keywords, &preset,
	                                 &values))
		return NULL;
	if (values && values != Py_None && !PyDict_Check(values)) {
		PyErr_SetString(PyExc_TypeError,
		                "edit_config_file(set=...): expected a dict of "
		                "sections, e.g. {'monitoring': {'enabled': False}}");
		return NULL;
	}
	const char *path = config_path();
	struct agp_config *config = PyMem_Malloc(sizeof(*config));
	if (!config)
		return PyErr_NoMemory();
	PyObject *result = NULL;
	json_t *edited = NULL, *changes = NULL;
	bool exists;
	char err[512] = "";
	if (load(path, config, &exists))
		goto out;
	if (preset && agp_config_preset(config, preset, err, sizeof(err))) {
		PyErr_Format(PyExc_ValueError, "edit_config_file(preset='%s'): %s", preset, err);
		goto out;
	}
	if (!(edited = agp_config_to_json(config, 0))) {
		PyErr_NoMemory();
		goto out;
	}
	if (values && values != Py_None) {
		if (!(changes = agp_py_to_json(values)))
			goto out;
		const char *section;
		json_t *keys;
		json_object_foreach(changes, section, keys)
		{
			json_t *target = json_object_get(edited, section);
			if (!json_is_object(keys) || !target) {
				PyErr_Format(
				    PyExc_ValueError,
				    "edit_config_file(set=...): '%s' is not a section of the "
				    "configuration (thresholds, baseline, monitoring, metrics) "
				    "given as a dict",
				    section);
				goto out;
			}
			json_object_update(target, keys);
		}
	}
	if (check_and_write(path, edited, config))
		goto out;
	result = config_object(config);
out:
	json_decref(changes);
	json_decref(edited);
	PyMem_Free(config);
	return result;
}

static PyObject *py_config_file_path(PyObject *self, PyObject *unused)
{
	return PyUnicode_DecodeFSDefault(config_path());
}

PyMethodDef agp_py_config_file_methods[] = {
    {"config_file", (PyCFunction)(void (*)(void))py_config_file, METH_VARARGS | METH_KEYWORDS,
     "config_file(*, environment=True) -> dict\n\nThe configuration in the file agentperfd "
     "reads (config_file_path()), over the defaults, with the CODEX_* variables applied "
     "unless environment=False: what a collector starting now would use."},
    {"edit_config_file", (PyCFunction)(void (*)(void))py_edit_config_file,
     METH_VARARGS | METH_KEYWORDS,
     "edit_config_file(*, preset=None, set=None) -> dict\n\nApplies a preset and values over "
     "the file, checked as agentperfd checks it, and replaces the file atomically. A broken "
     "file is an error, never replaced. Takes effect when agentperfd next starts."},
    {"config_file_path", py_config_file_path, METH_NOARGS,
     "The configuration file: configure(daemon_config=...), else "
     ".codexplus/performance/config.json."},
    {NULL, NULL, 0, NULL},
};
