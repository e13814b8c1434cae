/*
 * The Task API's part of the command line, callable from tools/agentperf:
 *
 *   agentperf task TYPE PROMPT [--description D] [--json]
 *   agentperf agents [--available] [--json]
 *
 * Exit status: 0 when the task completed (or the listing printed), 1 when
 * it failed or timed out, 2 for a usage error.
 */
#include <agentperf/agent.h>
#include <agentperf/task.h>

#include <jansson.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

static int usage(void)
{
	fprintf(stderr, "usage: agentperf task TYPE PROMPT [--description D] [--json]\n"
	                "       agentperf agents [--available] [--json]\n");
	return 2;
}

static void print_json(json_t *value)
{
	char *text = json_dumps(value, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	if (text) {
		puts(text);
		free(text);
	}
	json_decref(value);
}

static int task_command(int argc, char **argv)
{
	const char *type = NULL, *prompt = NULL, *description = "";
	bool as_json = false;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			as_json = true;
		else if (strcmp(argv[i], "--description") == 0 && i + 1 < argc)
			description = argv[++i];
		else if (strncmp(argv[i], "--", 2) == 0)
			return usage();
		else if (!type)
			type = argv[i];
		else if (!prompt)
			prompt = argv[i];
		else
			return usage();
	}
	if (!type || !prompt)
		return usage();
	struct agp_task_result result;
	agp_task(type, prompt, description, &result);
	if (as_json) {
		json_t *root = json_object();
		json_object_set_new(root, "success", json_boolean(result.success));
		json_object_set_new(root, "output",
		                    json_string(result.output ? result.output : ""));
		json_object_set_new(root, "error", json_string(result.error ? result.error : ""));
		json_t *metadata = json_object();
		json_object_set_new(metadata, "agent_id", json_string(result.metadata.agent_id));
		char task_id[32];
		snprintf(task_id, sizeof(task_id), "%llu",
		         (unsigned long long)result.metadata.task_id);
		json_object_set_new(metadata, "task_id", json_string(task_id));
		json_object_set_new(metadata, "status",
		                    json_string(agp_task_status_name(result.metadata.status)));
		json_object_set_new(metadata, "execution_time",
		                    json_real(result.metadata.execution_time));
		json_object_set_new(metadata, "coordination_overhead_ms",
		                    json_real(result.metadata.coordination_overhead * 1e3));
		json_object_set_new(metadata, "worker_pid",
		                    json_integer(result.metadata.worker_pid));
		json_object_set_new(metadata, "output_truncated",
		                    json_boolean(result.metadata.output_truncated));
		json_object_set_new(root, "metadata", metadata);
		print_json(root);
	} else {
		if (result.output && *result.output)
			fputs(result.output, stdout);
		if (result.output && *result.output &&
		    result.output[strlen(result.output) - 1] != '\n')
			putchar('\n');
		if (!result.success)
			fprintf(stderr, "agentperf: task %s: %s\n",
			        agp_task_status_name(result.metadata.status), result.error);
		fprintf(stderr, "[%s task %llu %s in %.3f ms, coordination %.3f ms]\n",
		        result.metadata.agent_id, (unsigned long long)result.metadata.task_id,
		        agp_task_status_name(result.metadata.status),
		        result.metadata.execution_time * 1e3,
		        result.metadata.coordination_overhead * 1e3);
	}
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
			json_array_append_new(list, agent);
		}
		print_json(list);
	} else {
		printf("%-18s %-7s %-8s %-34s %s\n", "AGENT", "WORKERS", "TIMEOUT", "CAPABILITIES",
		       "RUNNER");
		for (int i = 0; i < count; i++)
			printf("%-18s %-7u %-8g %-34s %s\n", agents[i].id, agents[i].workers,
			       agents[i].timeout_s,
			       *agents[i].capabilities ? agents[i].capabilities : "-",
			       agents[i].runner);
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
