/*
 * Writing a task's outcome into struct agp__run: the output text, cut and
 * flagged at its bound, and the error sentence with its status. Compiled
 * into libagentperf (the builtins, plugins) and into the runners module,
 * which cannot call into the library's hidden symbols.
 */
#include "agents/task/worker/runner.h"

#include <stdio.h>

void agp__run_printf(struct agp__run *run, const char *format, ...)
{
	size_t room = run->output_max - 1 - run->output_length;
	va_list args;
	va_start(args, format);
	int wanted = vsnprintf(run->output + run->output_length, room + 1, format, args);
	va_end(args);
	if (wanted < 0)
		return;
	if ((size_t)wanted > room) {
		run->output_length += room;
		run->output_truncated = true;
	} else
		run->output_length += (size_t)wanted;
}

void agp__run_fail(struct agp__run *run, enum agp_task_status status, const char *format, ...)
{
	va_list args;
	va_start(args, format);
	int length = vsnprintf(run->error, run->error_max, format, args);
	va_end(args);
	run->error_length = length < 0                         ? 0
	                    : (size_t)length >= run->error_max ? run->error_max - 1
	                                                       : (size_t)length;
	run->status = status;
}
