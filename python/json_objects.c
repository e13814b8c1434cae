/*
 * The collector's answers arrive as jansson values (common/protocol.c);
 * these turn them into plain Python objects (dict, list, str, int, float,
 * bool, None) and request arguments back. Counts above INT64_MAX, which
 * jansson carries in a marked string (common/json_u64.h), become exact
 * Python ints.
 */
#include <math.h>

#include "common/json_u64.h"
#include "python/module.h"

PyObject *agp_py_from_json(const json_t *value)
{
	uint64_t count;
	switch (json_typeof(value)) {
	case JSON_OBJECT: {
		PyObject *dict = PyDict_New();
		const char *key;
		json_t *member;
		json_object_foreach((json_t *)value, key, member)
		{
			PyObject *item = agp_py_from_json(member);
			if (!dict || !item || PyDict_SetItemString(dict, key, item)) {
				Py_XDECREF(item);
				Py_XDECREF(dict);
				return NULL;
			}
			Py_DECREF(item);
		}
		return dict;
	}
	case JSON_ARRAY: {
		PyObject *list = PyList_New((Py_ssize_t)json_array_size(value));
		if (!list)
			return NULL;
		size_t index;
		json_t *member;
		json_array_foreach(value, index, member)
		{
			PyObject *item = agp_py_from_json(member);
			if (!item) {
				Py_DECREF(list);
				return NULL;
			}
			PyList_SET_ITEM(list, (Py_ssize_t)index, item);
		}
		return list;
	}
	case JSON_STRING:
		if (agp_json_u64_carrier(value, &count))
			return PyLong_FromUnsignedLongLong(count);
		return PyUnicode_DecodeUTF8(json_string_value(value),
		                            (Py_ssize_t)json_string_length(value),
		                            "surrogateescape");
	case JSON_INTEGER:
		return PyLong_FromLongLong(json_integer_value(value));
	case JSON_REAL:
		return PyFloat_FromDouble(json_real_value(value));
	case JSON_TRUE:
		Py_RETURN_TRUE;
	case JSON_FALSE:
		Py_RETURN_FALSE;
	case JSON_NULL:
	default:
		Py_RETURN_NONE;
	}
}

json_t *agp_py_to_json(PyObject *object)
{
	if (object == Py_None)
		return json_null();
	if (PyBool_Check(object))
		return json_boolean(object == Py_True);
	if (PyLong_Check(object)) {
		long long number = PyLong_AsLongLong(object);
		if (number == -1 && PyErr_Occurred())
			return NULL;
		return json_integer(number);
	}
	if (PyFloat_Check(object)) {
		double number = PyFloat_AS_DOUBLE(object);
		if (!isfinite(number)) {
			PyErr_Format(PyExc_ValueError, "%R cannot be sent to the collector",
			             object);
			return NULL;
		}
		return json_real(number);
	}
	if (PyUnicode_Check(object)) {
		Py_ssize_t length;
		const char *text = PyUnicode_AsUTF8AndSize(object, &length);
		return text ? json_stringn(text, (size_t)length) : NULL;
	}
	if (PyDict_Check(object)) {
		json_t *result = json_object();
		PyObject *key, *member;
		Py_ssize_t position = 0;
		while (result && PyDict_Next(object, &position, &key, &member)) {
			if (!PyUnicode_Check(key)) {
				PyErr_Format(PyExc_TypeError, "argument keys are str, not %s",
				             Py_TYPE(key)->tp_name);
				json_decref(result);
				return NULL;
			}
			const char *name = PyUnicode_AsUTF8(key);
			json_t *value = name ? agp_py_to_json(member) : NULL;
			/* json_object_set_new takes value even when it fails. */
			if (!value || json_object_set_new(result, name, value)) {
				json_decref(result);
				return NULL;
			}
		}
		return result;
	}
	if (PyList_Check(object) || PyTuple_Check(object)) {
		json_t *result = json_array();
		Py_ssize_t size = PySequence_Fast_GET_SIZE(object);
		for (Py_ssize_t i = 0; result && i < size; i++) {
			json_t *value = agp_py_to_json(PySequence_Fast_GET_ITEM(object, i));
			if (!value || json_array_append_new(result, value)) {
				json_decref(result);
				return NULL;
			}
		}
		return result;
	}
	PyErr_Format(PyExc_TypeError, "a %s cannot be sent to the collector",
	             Py_TYPE(object)->tp_name);
	return NULL;
}
