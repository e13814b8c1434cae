#include "common/error.h"

#include <agentperf/agent.h>

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static _Thread_local char last_error[512];

int agp__error(int error, const char *format, ...)
{
	/*
	 * Format into a local buffer first: a caller may wrap the previous
	 * message ("segment X: %s", agp__error_message()), and vsnprintf from
	 * a buffer into itself is undefined.
	 */
	char message[sizeof(last_error)];
	va_list args;
	va_start(args, format);
	vsnprintf(message, sizeof(message), format, args);
	va_end(args);
	memcpy(last_error, message, sizeof(last_error));
	return error;
}

int agp__error_into(char *err, size_t errlen, int error, const char *format, ...)
{
	if (err && errlen) {
		va_list args;
		va_start(args, format);
		vsnprintf(err, errlen, format, args);
		va_end(args);
	}
	return error;
}

const char *agp__error_message(void)
{
	return last_error;
}

const char *agp_last_error(void)
{
	return last_error;
}
