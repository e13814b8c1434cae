/*
 * Loading agent definitions: every .json file of .codexplus/agents/.
 *
 * Every file is checked key by key before anything of it is kept, so a
 * broken file never leaves half an agent behind: it is skipped with one
 * message that names the file and the key, and the other files still load.
 */
#include "agents/task/defs.h"

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <agentperf/agent.h>

#include "common/error.h"

#define DEFAULT_WORKERS   2u
#define DEFAULT_TIMEOUT_S 300.0
#define MAX_WORKERS       64u

static const struct {
	const char *id, *name, *description, *builtin;
	unsigned capabilities;
} seed_agents[] = {
    {"code-reviewer", "Code Reviewer",
     "Reviews code: counts lines, long lines, TODO/FIXME markers and trailing whitespace of the "
     "text, or of a file the prompt names",
     "code-review", AGP__CAP_READ_FILES},
    {"test-runner", "Test Runner",
     "Runs the test command the prompt names (after '$ ' or in backquotes), without a shell, "
     "and reports its exit status and pass/fail lines",
     "test-run", AGP__CAP_READ_FILES | AGP__CAP_EXECUTE_COMMANDS},
    {"doc-writer", "Documentation Writer",
     "Writes a markdown outline of the prompt: a title, one section per paragraph and the "
     "identifiers it mentions",
     "doc-outline", AGP__CAP_READ_FILES | AGP__CAP_WRITE_FILES},
    {"debugger", "Debugger",
     "Parses an error text (compiler, sanitizer, Python traceback) and reports each file:line "
     "with its message",
     "debug-trace", AGP__CAP_READ_FILES | AGP__CAP_EXECUTE_COMMANDS},
    {"refactor-agent", "Refactoring Agent",
     "Normalises the whitespace of the given text: tabs to 4 spaces in indentation, no trailing "
     "blanks, at most one empty line in a row, one final newline",
     "refactor", AGP__CAP_READ_FILES | AGP__CAP_WRITE_FILES},
};

static const struct {
	const char *name;
	unsigned bit;
} capability_names[] = {
    {"READ_FILES", AGP__CAP_READ_FILES},
    {"WRITE_FILES", AGP__CAP_WRITE_FILES},
    {"EXECUTE_COMMANDS", AGP__CAP_EXECUTE_COMMANDS},
    {"NETWORK_ACCESS", AGP__CAP_NETWORK_ACCESS},
};

const char *agp__capability_name(unsigned capability)
{
	for (size_t i = 0; i < sizeof(capability_names) / sizeof(capability_names[0]); i++)
		if (capability_names[i].bit == capability)
			return capability_names[i].name;
	return "UNKNOWN";
}

/* Appends one formatted line to a growing message buffer; out of memory loses the line only. */
__attribute__((format(printf, 2, 3))) static void append_message(char **messages,
                                                                 const char *format, ...)
{
	char line[768];
	va_list args;
	va_start(args, format);
	vsnprintf(line, sizeof(line), format, args);
	va_end(args);
	size_t old = *messages ? strlen(*messages) : 0;
	char *grown = realloc(*messages, old + strlen(line) + 2);
	if (!grown)
		return;
	memcpy(grown + old, line, strlen(line));
	grown[old + strlen(line)] = '\n';
	grown[old + strlen(line) + 1] = '\0';
	*messages = grown;
}

static void def_free(struct agp__agent_def *def)
{
	free(def->id);
	free(def->name);
	free(def->description);
	free(def->capability_list);
	free(def->builtin);
	free(def->builtin_arg);
	if (def->argv)
		for (char **arg = def->argv; *arg; arg++)
			free(*arg);
	free(def->argv);
	free(def->plugin_path);
	free(def->plugin_symbol);
	free(def->runner_text);
	free(def->source);
	memset(def, 0, sizeof(*def));
}

void agp__agent_defs_free(struct agp__agent_defs *defs)
{
	for (size_t i = 0; i < defs->count; i++)
		def_free(&defs->defs[i]);
	free(defs->defs);
	free(defs->messages);
	memset(defs, 0, sizeof(*defs));
}

static int runner_text(struct agp__agent_def *def)
{
	char text[512];
	switch (def->kind) {
	case AGP__RUNNER_BUILTIN:
		snprintf(text, sizeof(text), "builtin:%s%s%s", def->builtin,
		         def->builtin_arg ? ":" : "", def->builtin_arg ? def->builtin_arg : "");
		break;
	case AGP__RUNNER_EXEC:
		snprintf(text, sizeof(text), "exec:%s", def->argv[0]);
		break;
	case AGP__RUNNER_PLUGIN:
		snprintf(text, sizeof(text), "plugin:%s:%s", def->plugin_path, def->plugin_symbol);
		break;
	}
	def->runner_text = strdup(text);
	return def->runner_text ? 0 : -ENOMEM;
}

static int push_def(struct agp__agent_defs *defs, struct agp__agent_def *def)
{
	struct agp__agent_def *grown = realloc(defs->defs, (defs->count + 1) * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	defs->defs = grown;
	defs->defs[defs->count++] = *def;
	return 0;
}

static int seed_def(size_t i, const char *source, struct agp__agent_def *def)
{
	memset(def, 0, sizeof(*def));
	def->id = strdup(seed_agents[i].id);
	def->name = strdup(seed_agents[i].name);
	def->description = strdup(seed_agents[i].description);
	def->capabilities = seed_agents[i].capabilities;
	char list[128] = "";
	for (size_t c = 0; c < sizeof(capability_names) / sizeof(capability_names[0]); c++)
		if (def->capabilities & capability_names[c].bit) {
			if (*list)
				strcat(list, ",");
			strcat(list, capability_names[c].name);
		}
	def->capability_list = strdup(list);
	def->kind = AGP__RUNNER_BUILTIN;
	def->builtin = strdup(seed_agents[i].builtin);
	def->workers = DEFAULT_WORKERS;
	def->timeout_s = DEFAULT_TIMEOUT_S;
	def->source = strdup(source);
	if (!def->id || !def->name || !def->description || !def->capability_list || !def->builtin ||
	    !def->source || runner_text(def)) {
		def_free(def);
		return -ENOMEM;
	}
	return 0;
}

int agp__agent_defs_defaults(struct agp__agent_defs *defs)
{
	struct agp__agent_defs loaded = {0};
	for (size_t i = 0; i < sizeof(seed_agents) / sizeof(seed_agents[0]); i++) {
		struct agp__agent_def def;
		if (seed_def(i, "(default)", &def) || push_def(&loaded, &def)) {
			agp__agent_defs_free(&loaded);
			return agp__error(-ENOMEM, "allocating the default agent definitions");
		}
	}
	loaded.messages = strdup("");
	if (!loaded.messages) {
		agp__agent_defs_free(&loaded);
		return agp__error(-ENOMEM, "allocating the default agent definitions");
	}
	*defs = loaded;
	return 0;
}

const struct agp__agent_def *agp__agent_defs_find(const struct agp__agent_defs *defs,
                                                  const char *id)
{
	for (size_t i = 0; i < defs->count; i++)
		if (strcmp(defs->defs[i].id, id) == 0)
			return &defs->defs[i];
	return NULL;
}

/* The parse of one file: fills def or writes one sentence naming the key into why. */
struct parse {
	const char *file;
	char why[512];
};

__attribute__((format(printf, 3, 4))) static int bad(struct parse *parse, const char *key,
                                                     const char *format, ...)
{
	char detail[400];
	va_list args;
	va_start(args, format);
	vsnprintf(detail, sizeof(detail), format, args);
	va_end(args);
	snprintf(parse->why, sizeof(parse->why), "%s: key '%s': %s", parse->file, key, detail);
	return -EINVAL;
}

static int get_string(struct parse *parse, json_t *object, const char *key, const char *path,
                      bool required, char **out)
{
	json_t *value = json_object_get(object, key);
	if (!value) {
		if (required)
			return bad(parse, path, "missing (expected a string)");
		return 0;
	}
	if (!json_is_string(value))
		return bad(parse, path, "expected a string");
	*out = strdup(json_string_value(value));
	return *out ? 0 : -ENOMEM;
}

static int valid_id(const char *id)
{
	size_t length = strlen(id);
	if (length == 0 || length > AGP_AGENT_TYPE_MAX)
		return 0;
	for (size_t i = 0; i < length; i++) {
		char c = id[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_' || c == '.'))
			return 0;
	}
	return 1;
}

static int parse_capabilities(struct parse *parse, json_t *root, struct agp__agent_def *def)
{
	json_t *list = json_object_get(root, "capabilities");
	def->capability_list = strdup("");
	if (!def->capability_list)
		return -ENOMEM;
	if (!list)
		return 0;
	if (!json_is_array(list))
		return bad(parse, "capabilities", "expected an array of strings");
	size_t index;
	json_t *item;
	json_array_foreach(list, index, item)
	{
		if (!json_is_string(item))
			return bad(parse, "capabilities", "element %zu is not a string", index);
		const char *name = json_string_value(item);
		for (size_t c = 0; c < sizeof(capability_names) / sizeof(capability_names[0]); c++)
			if (strcmp(name, capability_names[c].name) == 0)
				def->capabilities |= capability_names[c].bit;
		size_t old = strlen(def->capability_list);
		char *grown = realloc(def->capability_list, old + strlen(name) + 2);
		if (!grown)
			return -ENOMEM;
		def->capability_list = grown;
		sprintf(grown + old, "%s%s", old ? "," : "", name);
	}
	return 0;
}

static int parse_builtin_runner(struct parse *parse, json_t *runner, struct agp__agent_def *def)
{
	def->kind = AGP__RUNNER_BUILTIN;
	int error = get_string(parse, runner, "name", "runner.name", true, &def->builtin);
	if (error)
		return error;
	if (!agp__builtin_known(def->builtin))
		return bad(parse, "runner.name", "no builtin runner named \"%s\"", def->builtin);
	json_t *arg = json_object_get(runner, "arg");
	if (!arg)
		return 0;
	char number[64];
	if (json_is_string(arg))
		def->builtin_arg = strdup(json_string_value(arg));
	else if (json_is_integer(arg) || json_is_real(arg)) {
		snprintf(number, sizeof(number), "%.17g", json_number_value(arg));
		def->builtin_arg = strdup(number);
	} else
		return bad(parse, "runner.arg", "expected a string or a number");
	return def->builtin_arg ? 0 : -ENOMEM;
}

static int parse_exec_runner(struct parse *parse, json_t *runner, struct agp__agent_def *def)
{
	def->kind = AGP__RUNNER_EXEC;
	json_t *argv = json_object_get(runner, "argv");
	if (!json_is_array(argv) || json_array_size(argv) == 0)
		return bad(parse, "runner.argv", "expected a non-empty array of strings");
	if (json_array_size(argv) > AGP__ARGV_MAX)
		return bad(parse, "runner.argv", "%zu arguments; at most %d", json_array_size(argv),
		           AGP__ARGV_MAX);
	def->argv = calloc(json_array_size(argv) + 1, sizeof(char *));
	if (!def->argv)
		return -ENOMEM;
	size_t index;
	json_t *item;
	json_array_foreach(argv, index, item)
	{
		if (!json_is_string(item))
			return bad(parse, "runner.argv", "element %zu is not a string", index);
		def->argv[index] = strdup(json_string_value(item));
		if (!def->argv[index])
			return -ENOMEM;
	}
	if (!*def->argv[0])
		return bad(parse, "runner.argv", "element 0 (the program) is empty");
	return 0;
}

static int parse_plugin_runner(struct parse *parse, json_t *runner, struct agp__agent_def *def)
{
	def->kind = AGP__RUNNER_PLUGIN;
	int error = get_string(parse, runner, "path", "runner.path", true, &def->plugin_path);
	if (error)
		return error;
	error = get_string(parse, runner, "symbol", "runner.symbol", false, &def->plugin_symbol);
	if (error)
		return error;
	if (!def->plugin_symbol && !(def->plugin_symbol = strdup("agp_task_plugin")))
		return -ENOMEM;
	return 0;
}

static int parse_runner(struct parse *parse, json_t *root, struct agp__agent_def *def)
{
	json_t *runner = json_object_get(root, "runner");
	if (!runner) {
		/* A seed-schema file without a runner keeps the seed agent's own runner. */
		for (size_t i = 0; i < sizeof(seed_agents) / sizeof(seed_agents[0]); i++)
			if (strcmp(def->id, seed_agents[i].id) == 0) {
				def->kind = AGP__RUNNER_BUILTIN;
				def->builtin = strdup(seed_agents[i].builtin);
				return def->builtin ? 0 : -ENOMEM;
			}
		return bad(parse, "runner",
		           "missing (expected {\"kind\": \"exec\"|\"plugin\"|\"builtin\", ...})");
	}
	if (!json_is_object(runner))
		return bad(parse, "runner", "expected an object");
	json_t *kind = json_object_get(runner, "kind");
	if (!json_is_string(kind))
		return bad(parse, "runner.kind", "expected \"exec\", \"plugin\" or \"builtin\"");
	const char *kind_text = json_string_value(kind);
	if (strcmp(kind_text, "builtin") == 0)
		return parse_builtin_runner(parse, runner, def);
	if (strcmp(kind_text, "exec") == 0)
		return parse_exec_runner(parse, runner, def);
	if (strcmp(kind_text, "plugin") == 0)
		return parse_plugin_runner(parse, runner, def);
	return bad(parse, "runner.kind", "expected \"exec\", \"plugin\" or \"builtin\", got \"%s\"",
	           kind_text);
}

static int parse_number(struct parse *parse, json_t *root, const char *key, double min, double max,
                        bool integer, double *out)
{
	json_t *value = json_object_get(root, key);
	if (!value)
		return 0;
	if (!json_is_number(value) || (integer && !json_is_integer(value)))
		return bad(parse, key, "expected %s", integer ? "an integer" : "a number");
	double number = json_number_value(value);
	if (number < min || number > max)
		return bad(parse, key, "%g is outside %g..%g", number, min, max);
	*out = number;
	return 0;
}

static int parse_def(struct parse *parse, json_t *root, struct agp__agent_def *def)
{
	if (!json_is_object(root))
		return bad(parse, "(top level)", "expected an object");
	int error = get_string(parse, root, "id", "id", true, &def->id);
	if (error)
		return error;
	if (!valid_id(def->id))
		return bad(parse, "id", "\"%s\" is not 1..%d characters of [A-Za-z0-9._-]", def->id,
		           AGP_AGENT_TYPE_MAX);
	if ((error = get_string(parse, root, "name", "name", false, &def->name)) ||
	    (error =
	         get_string(parse, root, "description", "description", false, &def->description)))
		return error;
	if (!def->name && !(def->name = strdup(def->id)))
		return -ENOMEM;
	if (!def->description && !(def->description = strdup("")))
		return -ENOMEM;
	json_t *config = json_object_get(root, "config");
	if (config && !json_is_object(config))
		return bad(parse, "config", "expected an object");
	if ((error = parse_capabilities(parse, root, def)) ||
	    (error = parse_runner(parse, root, def)))
		return error;
	double workers = DEFAULT_WORKERS, timeout = DEFAULT_TIMEOUT_S, memory = 0;
	if ((error = parse_number(parse, root, "workers", 1, MAX_WORKERS, true, &workers)) ||
	    (error = parse_number(parse, root, "timeout_s", 0.001, 86400.0 * 7, false, &timeout)) ||
	    (error = parse_number(parse, root, "memory_limit_mb", 0, 1 << 20, true, &memory)))
		return error;
	def->workers = (unsigned)workers;
	def->timeout_s = timeout;
	def->memory_limit_mb = (unsigned)memory;
	def->source = strdup(parse->file);
	if (!def->source)
		return -ENOMEM;
	return runner_text(def);
}

static int compare_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool is_json_file(const char *name)
{
	size_t length = strlen(name);
	return name[0] != '.' && length > 5 && strcmp(name + length - 5, ".json") == 0;
}

int agp__agent_defs_load(const char *dir, struct agp__agent_defs *defs)
{
	DIR *folder = opendir(dir);
	if (!folder) {
		if (errno == ENOENT)
			return agp__agent_defs_defaults(defs);
		return agp__error(-errno, "opening the agents folder '%s': %s", dir,
		                  strerror(errno));
	}
	char **names = NULL;
	size_t name_count = 0;
	int error = 0;
	struct dirent *entry;
	while ((entry = readdir(folder))) {
		if (!is_json_file(entry->d_name))
			continue;
		char **grown = realloc(names, (name_count + 1) * sizeof(*grown));
		if (!grown || !(grown[name_count] = strdup(entry->d_name))) {
			names = grown ? grown : names;
			error = agp__error(-ENOMEM, "listing the agents folder '%s'", dir);
			goto out;
		}
		names = grown;
		name_count++;
	}
	if (name_count == 0) {
		error = agp__agent_defs_defaults(defs);
		goto out;
	}
	qsort(names, name_count, sizeof(*names), compare_names);

	struct agp__agent_defs loaded = {0};
	for (size_t i = 0; i < name_count; i++) {
		struct parse parse = {0};
		char path[4096];
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		parse.file = path;
		json_error_t json_error;
		json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &json_error);
		if (!root) {
			append_message(&loaded.messages, "%s:%d:%d: not valid JSON: %s (skipped)",
			               path, json_error.line, json_error.column, json_error.text);
			continue;
		}
		struct agp__agent_def def = {0};
		error = parse_def(&parse, root, &def);
		json_decref(root);
		if (!error && agp__agent_defs_find(&loaded, def.id))
			error =
			    bad(&parse, "id", "\"%s\" is defined by an earlier file too", def.id);
		if (error == -ENOMEM) {
			def_free(&def);
			goto fail;
		}
		if (error) {
			append_message(&loaded.messages, "%s (skipped)", parse.why);
			def_free(&def);
			error = 0;
			continue;
		}
		if (push_def(&loaded, &def)) {
			def_free(&def);
			error = -ENOMEM;
			goto fail;
		}
	}
	if (!loaded.messages && !(loaded.messages = strdup("")))
		goto fail;
	*defs = loaded;
	goto out;
fail:
	agp__agent_defs_free(&loaded);
	error = agp__error(-ENOMEM, "loading the agent definitions of '%s'", dir);
out:
	for (size_t i = 0; i < name_count; i++)
		free(names[i]);
	free(names);
	closedir(folder);
	return error;
}
