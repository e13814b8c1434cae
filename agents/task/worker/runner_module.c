/*
 * Finding and loading the runners module (agents/task/runners/module.h),
 * once per process, when the first definition needs one of its runners.
 *
 * Where: $AGENTPERF_RUNNERS_MODULE when set; else agentperf/agentperf-runners.so
 * in the folder of the libagentperf that runs this code (dladdr), which is
 * where the build tree puts it beside build/agents/libagentperf.so and where
 * `cmake --install` puts it under ${CMAKE_INSTALL_LIBDIR}.
 *
 * Loaded by the pool before it forks its workers, as plugins are: they
 * inherit the mapped code, and a child of a threaded process should not take
 * the dynamic loader's locks. The module stays loaded until the process
 * ends, since workers forked later still run its code.
 */
#include "agents/task/worker/runner.h"

#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agents/task/runners/module.h"
#include "common/error.h"

#define PATH_VARIABLE "AGENTPERF_RUNNERS_MODULE"

/* The builtin names the module provides, known without loading it (definitions name them). */
static const char *const module_builtin_names[] = {"code-review", "test-run", "doc-outline",
                                                   "debug-trace", "refactor"};

static const struct agp__runners_host host = {
    .abi = AGP__RUNNERS_MODULE_ABI,
    .exec_run = agp__exec_run,
    .describe_wait_status = agp__describe_wait_status,
};

/* Guards the two below: pools of different agent types start from different threads. */
static pthread_mutex_t module_lock = PTHREAD_MUTEX_INITIALIZER;
static void *module_handle;
static const struct agp__runners_table *module_table;

bool agp__module_runner_known(const char *name)
{
	for (size_t i = 0; i < sizeof(module_builtin_names) / sizeof(module_builtin_names[0]); i++)
		if (strcmp(name, module_builtin_names[i]) == 0)
			return true;
	return false;
}

/* The path to try: the variable's, or the one beside this libagentperf. */
static int module_path(char *path, size_t path_max)
{
	const char *chosen = getenv(PATH_VARIABLE);
	if (chosen) {
		if (!strchr(chosen, '/'))
			return agp__error(-ELIBACC,
			                  "%s='%s': expected a path to %s (with a '/'), not a name "
			                  "for the loader to search",
			                  PATH_VARIABLE, chosen, AGP__RUNNERS_MODULE_FILE);
		if (strlen(chosen) >= path_max)
			return agp__error(-ENAMETOOLONG, "%s is longer than %zu bytes",
			                  PATH_VARIABLE, path_max - 1);
		snprintf(path, path_max, "%s", chosen);
		return 0;
	}
	Dl_info self;
	if (!dladdr((const void *)&module_lock, &self) || !self.dli_fname)
		return agp__error(-ELIBACC,
		                  "cannot tell where libagentperf was loaded from (dladdr); set %s",
		                  PATH_VARIABLE);
	const char *slash = strrchr(self.dli_fname, '/');
	int folder_length = slash ? (int)(slash - self.dli_fname) : 1;
	const char *folder = slash ? self.dli_fname : ".";
	int length = snprintf(path, path_max, "%.*s/%s/%s", folder_length, folder,
	                      AGP__RUNNERS_MODULE_FOLDER, AGP__RUNNERS_MODULE_FILE);
	if (length < 0 || (size_t)length >= path_max)
		return agp__error(-ENAMETOOLONG, "the path of %s beside '%s' is too long",
		                  AGP__RUNNERS_MODULE_FILE, self.dli_fname);
	return 0;
}

/* Opens the module at path and takes its table; the caller holds module_lock. */
static int load_module(const char *path)
{
	const char *how = getenv(PATH_VARIABLE) ? "from " PATH_VARIABLE : "beside libagentperf";
	dlerror();
	void *handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!handle)
		return agp__error(-ELIBACC, "cannot load the runners module '%s' (%s): %s", path,
		                  how, dlerror());
	agp__runners_module_fn entry;
	/* POSIX allows converting dlsym's object pointer to a function pointer. */
	*(void **)&entry = dlsym(handle, AGP__RUNNERS_MODULE_ENTRY);
	const struct agp__runners_table *table = entry ? entry(&host) : NULL;
	if (!table || table->abi != AGP__RUNNERS_MODULE_ABI ||
	    table->run_size != sizeof(struct agp__run) ||
	    table->def_size != sizeof(struct agp__agent_def)) {
		dlclose(handle);
		return agp__error(
		    -ELIBACC,
		    "the runners module '%s' (%s) is not of this libagentperf's "
		    "build (%s; runners ABI %u)",
		    path, how, entry ? "its table does not match" : "no " AGP__RUNNERS_MODULE_ENTRY,
		    AGP__RUNNERS_MODULE_ABI);
	}
	module_handle = handle;
	module_table = table;
	return 0;
}

int agp__module_runner_resolve(const struct agp__agent_def *def, agp__module_runner_fn *out)
{
	*out = NULL;
	const char *name =
	    def->kind == AGP__RUNNER_EXEC ? AGP__RUNNERS_MODULE_EXEC
	    : def->kind == AGP__RUNNER_BUILTIN && agp__module_runner_known(def->builtin)
	        ? def->builtin
	        : NULL;
	if (!name)
		return 0;
	char path[PATH_MAX];
	int error = 0;
	pthread_mutex_lock(&module_lock);
	if (!module_table && !(error = module_path(path, sizeof(path))))
		error = load_module(path);
	if (error) {
		pthread_mutex_unlock(&module_lock);
		return agp__error(error, "agent '%s' needs the runner '%s': %s", def->id, name,
		                  agp__error_message());
	}
	for (size_t i = 0; i < module_table->count; i++)
		if (strcmp(module_table->entries[i].name, name) == 0)
			*out = module_table->entries[i].run;
	pthread_mutex_unlock(&module_lock);
	if (!*out)
		return agp__error(-ELIBACC, "agent '%s': the runners module has no runner '%s'",
		                  def->id, name);
	return 0;
}
