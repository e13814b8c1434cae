/*
 * The exec runner: the definition's argv template with {prompt}, {task_id}
 * and {description} substituted, each template element staying exactly one
 * argument whatever the substituted text holds (spaces, quotes, ";" or
 * "$(...)" mean nothing here: no shell sees them unless the template itself
 * names one). The prompt also goes to standard input.
 */
#include "agents/task/runners/module.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

/*
 * Expands one template element with every placeholder replaced by its value;
 * writes to out when it is not NULL. Returns the expanded length either way,
 * so that one pass measures and the next one writes.
 */
static size_t expand(const char *element, const char *const values[3], char *out)
{
	static const char *const keys[] = {"{prompt}", "{task_id}", "{description}"};
	size_t length = 0;
	for (const char *cursor = element; *cursor;) {
		size_t k;
		for (k = 0; k < 3; k++)
			if (strncmp(cursor, keys[k], strlen(keys[k])) == 0)
				break;
		const char *piece = k < 3 ? values[k] : cursor;
		size_t piece_length = k < 3 ? strlen(values[k]) : 1;
		if (out)
			memcpy(out + length, piece, piece_length);
		length += piece_length;
		cursor += k < 3 ? strlen(keys[k]) : 1;
	}
	if (out)
		out[length] = '\0';
	return length;
}

/* One template element with every placeholder replaced; NULL when out of memory. */
static char *substitute(const char *element, const struct agp__run *run, const char *task_id)
{
	const char *const values[] = {run->prompt, task_id,
	                              run->description ? run->description : ""};
	char *result = malloc(expand(element, values, NULL) + 1);
	if (result)
		expand(element, values, result);
	return result;
}

void agp__runner_exec_template(struct agp__run *run)
{
	char task_id[32];
	snprintf(task_id, sizeof(task_id), "%" PRIu64, run->task_id);
	size_t count = 0;
	while (run->def->argv[count])
		count++;
	char **argv = calloc(count + 1, sizeof(char *));
	if (!argv) {
		agp__run_fail(run, AGP_TASK_FAILED, "exec: out of memory building argv");
		return;
	}
	for (size_t i = 0; i < count; i++)
		if (!(argv[i] = substitute(run->def->argv[i], run, task_id))) {
			agp__run_fail(run, AGP_TASK_FAILED, "exec: out of memory building argv");
			goto out;
		}
	struct agp__exec_request request = {
	    .argv = argv,
	    .input = run->prompt,
	    .input_length = run->prompt_length,
	    .deadline_ns = run->deadline_ns,
	    .memory_limit_mb = run->def->memory_limit_mb,
	    .pgid_out = run->runner_pgid,
	};
	struct agp__exec_outcome outcome;
	size_t error_length = 0;
	if (agp__exec_run(&request, run->output, run->output_max, &run->output_length, run->error,
	                  run->error_max, &error_length, &outcome) != 0) {
		run->error_length = strlen(run->error);
		run->status = AGP_TASK_FAILED;
		goto out;
	}
	run->output_truncated = outcome.output_truncated;
	if (outcome.kill_ns)
		run->recovery_ns = outcome.kill_ns;
	char how[96];
	agp__describe_wait_status(outcome.wait_status, how, sizeof(how));
	/* The captured standard error goes after a sentence that says what happened. */
	char *stderr_text = strndup(run->error, error_length);
	if (outcome.timed_out)
		agp__run_fail(run, AGP_TASK_TIMEOUT,
		              "timed out after %g s; its process group was killed; stderr: %s",
		              run->def->timeout_s, stderr_text ? stderr_text : "");
	else if (outcome.memory_exceeded && outcome.memory_kills)
		agp__run_fail(
		    run, AGP_TASK_FAILED,
		    "memory limit exceeded: the kernel held the task's processes to "
		    "memory_limit_mb %u (a memory cgroup) and killed %llu of them; process "
		    "group killed; stderr: %s",
		    run->def->memory_limit_mb, (unsigned long long)outcome.memory_kills,
		    stderr_text ? stderr_text : "");
	else if (outcome.memory_exceeded)
		agp__run_fail(
		    run, AGP_TASK_FAILED,
		    "memory limit exceeded: resident %.1f MB > memory_limit_mb %u; process "
		    "group killed; stderr: %s",
		    outcome.resident_peak / 1048576.0, run->def->memory_limit_mb,
		    stderr_text ? stderr_text : "");
	else if (!WIFEXITED(outcome.wait_status) || WEXITSTATUS(outcome.wait_status) != 0)
		agp__run_fail(run, AGP_TASK_FAILED, "%s failed (%s): %s", argv[0], how,
		              stderr_text ? stderr_text : "");
	else {
		/* Success: standard error is not an error; keep it out of the error field. */
		run->error[0] = '\0';
		run->error_length = 0;
	}
	free(stderr_text);
out:
	for (size_t i = 0; i < count; i++)
		free(argv[i]);
	free(argv);
}
