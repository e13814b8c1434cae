/*
 * Agent definitions: what an agent type is called, what it may do and how
 * its workers run a task. Loaded from JSON files, or the five seed agents
 * when the folder has none.
 */
#ifndef AGP_AGENTS_TASK_DEFS_H
#define AGP_AGENTS_TASK_DEFS_H

#include <stdbool.h>
#include <stddef.h>

#include <agentperf/task.h>

enum agp__capability {
	AGP__CAP_READ_FILES = 1u << 0,
	AGP__CAP_WRITE_FILES = 1u << 1,
	AGP__CAP_EXECUTE_COMMANDS = 1u << 2,
	AGP__CAP_NETWORK_ACCESS = 1u << 3,
};

enum agp__runner_kind {
	AGP__RUNNER_BUILTIN = 0,
	AGP__RUNNER_EXEC = 1,
	AGP__RUNNER_PLUGIN = 2,
};

#define AGP__ARGV_MAX 64

struct agp__agent_def {
	char *id;
	char *name;
	char *description;
	unsigned capabilities; /* enum agp__capability bits */
	char *capability_list; /* every capability named, known or not, comma-separated */
	enum agp__runner_kind kind;
	char *builtin;     /* builtin runner name */
	char *builtin_arg; /* its argument, may be NULL */
	char **argv;       /* exec template, NULL-terminated */
	char *plugin_path;
	char *plugin_symbol;
	char *runner_text; /* "builtin:echo" etc., for listings */
	unsigned workers;
	double timeout_s;
	unsigned memory_limit_mb;
	char *source;
};

struct agp__agent_defs {
	struct agp__agent_def *defs;
	size_t count;
	char *messages; /* skipped files, one line each; never NULL after load */
};

/*
 * Loads every *.json of dir (in name order); with none found, the seed
 * defaults. A file that does not parse or has a bad key is skipped with a
 * message naming the file and the key. Errors: -ENOMEM, or the errno of
 * reading the folder when it exists but cannot be read.
 */
int agp__agent_defs_load(const char *dir, struct agp__agent_defs *defs);

/* The five seed agents alone. */
int agp__agent_defs_defaults(struct agp__agent_defs *defs);

void agp__agent_defs_free(struct agp__agent_defs *defs);

const struct agp__agent_def *agp__agent_defs_find(const struct agp__agent_defs *defs,
                                                  const char *id);

/* True when the builtin runner name exists. */
bool agp__builtin_known(const char *name);

/*
 * The capability gate of the seed: 0 when the agent may do what the task
 * text asks; otherwise the missing capability's bit, with a sentence in
 * why that names it and the word that asked for it.
 */
unsigned agp__capability_gate(unsigned capabilities, const char *prompt, const char *description,
                              char *why, size_t why_len);

const char *agp__capability_name(unsigned capability);

#endif
