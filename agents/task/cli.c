/*
 * The Task API's part of the command line, callable from tools/agentperf:
 *
 *   agentperf task TYPE PROMPT|- [--prompt-file F] [--description D] [--json]
 *
 * "-" reads the prompt from standard input, --prompt-file from a file (at
 * most AGP_TASK_PROMPT_MAX bytes, no NUL). In --json, an output or error
 * that is not valid UTF-8 is kept: with U+FFFD for each invalid byte, and
 * exactly in output_base64 / error_base64.
 *   agentperf agents [--available] [--json]
 *
 * Exit status: 0 when the task completed (or the listing printed), 1 when
 * it failed or timed out, 2 for a usage error.
 */
#include <agentperf/agent.h>
#include <agentperf/task.h>

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/json_u64.h"

static int usage(void)
{
	fprintf(stderr, "usage: agentperf task TYPE PROMPT|- [--prompt-file F] [--description D] "
	                "[--json]\n"
	                "       agentperf agents [--available] [--json]\n");
	return 2;
}

/*
 * Reads a prompt of at most AGP_TASK_PROMPT_MAX bytes from fd into a new
 * string; NULL with a message on stderr naming where (what) and why.
 */
static char *read_prompt(int fd, const char *what)
{
	size_t capacity = 64u << 10, length = 0;
	char *text = malloc(capacity + 1);
	if (!text) {
		fprintf(stderr, "agentperf: out of memory reading the prompt from %s\n", what);
		return NULL;
	}
	for (;;) {
		if (length == capacity) {
			if (capacity > AGP_TASK_PROMPT_MAX)
				break;
			capacity *= 2;
			char *bigger = realloc(text, capacity + 1);
			if (!bigger) {
				fprintf(stderr,
				        "agentperf: out of memory reading the prompt from %s\n",
				        what);
				goto fail;
			}
			text = bigger;
		}
		ssize_t got = read(fd, text + length, capacity - length);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			fprintf(stderr, "agentperf: cannot read the prompt from %s: %s\n", what,
			        strerror(errno));
			goto fail;
		}
		if (got == 0)
			break;
		length += (size_t)got;
	}
	if (length > AGP_TASK_PROMPT_MAX) {
		fprintf(
		    stderr,
		    "agentperf: the prompt from %s is longer than the limit of %u bytes (1 MiB)\n",
		    what, AGP_TASK_PROMPT_MAX);
		goto fail;
	}
	const char *nul = memchr(text, '\0', length);
	if (nul) {
		fprintf(stderr,
		        "agentperf: the prompt from %s has a NUL byte at offset %zu; a prompt is "
		        "text\n",
		        what, (size_t)(nul - text));
		goto fail;
	}
	text[length] = '\0';
	return text;
fail:
	free(text);
	return NULL;
}

/* Length of the valid UTF-8 sequence at text (1..4), or 0 when it is not one. */
static size_t utf8_sequence(const unsigned char *text, size_t left)
{
	unsigned char lead = text[0];
	if (lead < 0x80)
		return 1;
	size_t length = lead >= 0xc2 && lead <= 0xdf   ? 2
	                : lead >= 0xe0 && lead <= 0xef ? 3
	                : lead >= 0xf0 && lead <= 0xf4 ? 4
	                                               : 0;
	if (!length || length > left)
		return 0;
	for (size_t i = 1; i < length; i++)
		if ((text[i] & 0xc0) != 0x80)
			return 0;
	/* No overlong forms, no surrogates, nothing past U+10FFFF. */
	if ((lead == 0xe0 && text[1] < 0xa0) || (lead == 0xed && text[1] > 0x9f) ||
	    (lead == 0xf0 && text[1] < 0x90) || (lead == 0xf4 && text[1] > 0x8f))
		return 0;
	return length;
}

static char *base64(const unsigned char *bytes, size_t length)
{
	static const char digits[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char *text = malloc((length + 2) / 3 * 4 + 1), *out = text;
	if (!text)
		return NULL;
	for (size_t i = 0; i < length; i += 3) {
		unsigned value = (unsigned)bytes[i] << 16;
		if (i + 1 < length)
			value |= (unsigned)bytes[i + 1] << 8;
		if (i + 2 < length)
			value |= bytes[i + 2];
		*out++ = digits[value >> 18 & 63];
		*out++ = digits[value >> 12 & 63];
		*out++ = i + 1 < length ? digits[value >> 6 & 63] : '=';
		*out++ = i + 2 < length ? digits[value & 63] : '=';
	}
	*out = '\0';
	return text;
}

/*
 * Sets key to text. Text that is not valid UTF-8 is never dropped: key gets
 * it with every invalid byte replaced by U+FFFD, and key_base64 the exact bytes.
 */
static void set_text(json_t *object, const char *key, const char *text)
{
	const unsigned char *bytes = (const unsigned char *)(text ? text : "");
	size_t length = strlen((const char *)bytes), valid = 0;
	while (valid < length) {
		size_t step = utf8_sequence(bytes + valid, length - valid);
		if (!step)
			break;
		valid += step;
	}
	if (valid == length) {
		json_object_set_new(object, key, json_stringn((const char *)bytes, length));
		return;
	}
	char *lossy = malloc(length * 3 + 1), *out = lossy;
	char *exact = base64(bytes, length);
	if (lossy) {
		for (size_t i = 0; i < length;) {
			size_t step = utf8_sequence(bytes + i, length - i);
			if (step) {
				memcpy(out, bytes + i, step);
				out += step;
				i += step;
			} else {
				memcpy(out, "\xef\xbf\xbd", 3);
				out += 3;
				i++;
			}
		}
		json_object_set_new(object, key, json_stringn(lossy, (size_t)(out - lossy)));
	}
	if (exact) {
		char name[64];
		snprintf(name, sizeof(name), "%s_base64", key);
		json_object_set_new(object, name, json_string(exact));
	}
	free(lossy);
	free(exact);
}

static void print_json(json_t *value)
{
	char *text = agp_json_dumps(value, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	if (text) {
		puts(text);
		free(text);
	}
	json_decref(value);
}

/* The task's result as the seed's dict: success, output, error, metadata{...}. */
static json_t *result_json(const struct agp_task_result *result)
{
	json_t *root = json_object();
	json_object_set_new(root, "success", json_boolean(result->success));
	set_text(root, "output", result->output);
	set_text(root, "error", result->error);
	json_t *metadata = json_object();
	json_object_set_new(metadata, "agent_id", json_string(result->metadata.agent_id));
	json_object_set_new(metadata, "task_id", agp_json_u64_id(result->metadata.task_id));
	json_object_set_new(metadata, "status",
	                    json_string(agp_task_status_name(result->metadata.status)));
	json_object_set_new(metadata, "execution_time", json_real(result->metadata.execution_time));
	json_object_set_new(metadata, "coordination_overhead_ms",
	                    json_real(result->metadata.coordination_overhead * 1e3));
	json_object_set_new(metadata, "worker_pid", json_integer(result->metadata.worker_pid));
	json_object_set_new(metadata, "output_truncated",
	                    json_boolean(result->metadata.output_truncated));
	json_object_set_new(root, "metadata", metadata);
	return root;
}

/* The output on stdout, a failure and the figures on stderr. */
static void print_result(const struct agp_task_result *result)
{
	if (result->output && *result->output)
		fputs(result->output, stdout);
	if (result->output && *result->output && result->output[strlen(result->output) - 1] != '\n')
		putchar('\n');
	if (!result->success)
		fprintf(stderr, "agentperf: task %s: %s\n",
		        agp_task_status_name(result->metadata.status), result->error);
	fprintf(stderr, "[%s task %llu %s in %.3f ms, coordination %.3f ms]\n",
	        result->metadata.agent_id, (unsigned long long)result->metadata.task_id,
	        agp_task_status_name(result->metadata.status),
	        result->metadata.execution_time * 1e3,
	        result->metadata.coordination_overhead * 1e3);
}

/*
 * The prompt of a file or of standard input ('-'), into *read_text (the
 * caller frees); 0, or 2 (a usage error) with the message printed.
 */
static int read_prompt_source(const char *prompt, const char *prompt_file, char **read_text)
{
	*read_text = NULL;
	if (prompt_file) {
		int fd = open(prompt_file, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			fprintf(stderr, "agentperf: cannot open the prompt file %s: %s\n",
			        prompt_file, strerror(errno));
			return 2;
		}
		*read_text = read_prompt(fd, prompt_file);
		close(fd);
	} else if (strcmp(prompt, "-") == 0) {
		*read_text = read_prompt(0, "standard input");
	}
	if ((prompt_file || strcmp(prompt, "-") == 0) && !*read_text)
		return 2;
	return 0;
}

static int task_command(int argc, char **argv)
{
	const char *type = NULL, *prompt = NULL, *description = "", *prompt_file = NULL;
	bool as_json = false;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			as_json = true;
		else if (strcmp(argv[i], "--description") == 0 && i + 1 < argc)
			description = argv[++i];
		else if (strcmp(argv[i], "--prompt-file") == 0 && i + 1 < argc)
			prompt_file = argv[++i];
		else if (strncmp(argv[i], "--", 2) == 0)
			return usage();
		else if (!type)
			type = argv[i];
		else if (!prompt)
			prompt = argv[i];
		else
			return usage();
	}
	if (!type || !prompt == !prompt_file) {
		if (prompt && prompt_file)
			fprintf(stderr, "agentperf: give the prompt once: as an argument, '-' for "
			                "standard input, or --prompt-file\n");
		return usage();
	}
	char *read_text;
	if (read_prompt_source(prompt, prompt_file, &read_text) != 0)
		return 2;
	struct agp_task_result result;
	agp_task(type, read_text ? read_text : prompt, description, &result);
	free(read_text);
	if (as_json)
		print_json(result_json(&result));
	else
		print_result(&result);
	int status = result.success ? 0 : 1;
	agp_task_result_free(&result);
	agp_task_shutdown();
	return status;
}

static int agents_command(int argc, char **argv)
{
	bool as_json = false;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			as_json = true;
		else if (strcmp(argv[i], "--available") != 0)
			return usage();
	}
	const struct agp_agent_info *agents;
	int count = agp_list_agents(&agents);
	if (count < 0) {
		fprintf(stderr, "agentperf: cannot list agents: %s\n", agp_last_error());
		return 1;
	}
	const char *messages = agp_task_load_messages();
	if (*messages)
		fprintf(stderr, "%s", messages);
	if (as_json) {
		json_t *list = json_array();
		for (int i = 0; i < count; i++) {
			json_t *agent = json_object();
			json_object_set_new(agent, "id", json_string(agents[i].id));
			json_object_set_new(agent, "name", json_string(agents[i].name));
			json_object_set_new(agent, "description",
			                    json_string(agents[i].description));
			json_t *capabilities = json_array();
			char copy[512];
			snprintf(copy, sizeof(copy), "%s", agents[i].capabilities);
			for (char *save, *word = strtok_r(copy, ",", &save); word;
			     word = strtok_r(NULL, ",", &save))
				json_array_append_new(capabilities, json_string(word));
			json_object_set_new(agent, "capabilities", capabilities);
			json_object_set_new(agent, "runner", json_string(agents[i].runner));
			json_object_set_new(agent, "workers", json_integer(agents[i].workers));
			json_object_set_new(agent, "timeout_s", json_real(agents[i].timeout_s));
			json_object_set_new(agent, "memory_limit_mb",
			                    json_integer(agents[i].memory_limit_mb));
			json_object_set_new(agent, "source", json_string(agents[i].source));
			json_object_set_new(agent, "confinement",
			                    json_string(agents[i].confinement));
			json_array_append_new(list, agent);
		}
		print_json(list);
	} else {
		printf("%-18s %-7s %-8s %-34s %s\n", "AGENT", "WORKERS", "TIMEOUT", "CAPABILITIES",
		       "RUNNER");
		for (int i = 0; i < count; i++)
			printf("%-18s %-7u %-8g %-34s %s\n  confinement: %s\n", agents[i].id,
			       agents[i].workers, agents[i].timeout_s,
			       *agents[i].capabilities ? agents[i].capabilities : "-",
			       agents[i].runner, agents[i].confinement);
	}
	agp_task_shutdown();
	return 0;
}

int agp_task_cli(int argc, char **argv)
{
	if (argc < 1)
		return usage();
	if (strcmp(argv[0], "task") == 0)
		return task_command(argc, argv);
	if (strcmp(argv[0], "agents") == 0)
		return agents_command(argc, argv);
	return usage();
}
