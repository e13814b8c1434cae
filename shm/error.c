#include "error.h"

#include <agentperf/agent.h>

#include <stdarg.h>
#include <stdio.h>

static _Thread_local char last_error[512];

int agp__error(int error, const char *format, ...)
{
	va_list args;
	va_start(args, format);
	vsnprintf(last_error, sizeof(last_error), format, args);
	va_end(args);
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
