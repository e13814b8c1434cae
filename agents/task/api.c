/*
 * The Task API: the process-wide manager, the synchronous call, the queue
 * behind agp_task_submit with its concurrency cap, and the caller side's
 * own metrics agent ("task-api").
 *
 * Concurrency: every task in flight, synchronous or queued, holds one unit
 * of the cap (max_concurrency) from dispatch until its result is copied
 * out. Queued tasks are run by max_concurrency dispatcher threads, started
 * at the first submission; a synchronous call runs on its caller's thread.
 * Neither path involves a socket or pipe: the trip itself is the pool's
 * shared slot and futex.
 */
#include <agentperf/task.h>

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <agentperf/agent.h>
#include <agentperf/metrics.h>
#include <agentperf/record.h>

#include "shm/clock.h"
#include "common/error.h"
#include "agents/task/worker/cgroup.h"
#include "agents/task/worker/pool.h"
#include "agents/task/worker/sandbox.h"
#include "agents/task/defs.h"

#define DEFAULT_CONCURRENCY 10u
#define MAX_CONCURRENCY     1024u

struct agp_task_handle {
	struct agp_task_handle *next;
	char *type;
	char *prompt;
	char *description;
	uint64_t call_ns;
	bool done;
	struct agp_task_result result;
};

struct manager {
	struct agp__agent_defs defs;
	struct agp__pool *pools;
	struct agp_agent_info *infos;
	char (*confinements)[AGP__CONFINEMENT_TEXT_MAX]; /* one per definition, for the listing */
	struct agp__supervisor *supervisor;
	char deployment[80];
	char agents_dir[4096];

	pthread_mutex_t record_lock; /* the caller agent's ring has one producer at a time */
	agp_agent *caller_agent;
	uint16_t skew_metric; /* "clock_skew_negative"; 0 when it could not be registered */

	pthread_mutex_t lock; /* the cap, the queue and the dispatchers */
	pthread_cond_t cap_free;
	pthread_cond_t queue_changed;
	pthread_cond_t handle_done;
	unsigned max_concurrency;
	unsigned in_flight;
	unsigned peak;
	struct agp_task_handle *queue_head, *queue_tail;
	pthread_t *dispatchers;
	unsigned dispatcher_count;
	bool stopping;

	_Atomic uint64_t next_task;
	pid_t pid; /* task ids start with it */
};

/*
 * The manager of this process. Written under global_lock; read without it by
 * the hot paths (acquire pairs with the release that published it). Using a
 * handle after agp_task_shutdown() is the caller's bug, as with free().
 */
static pthread_mutex_t global_lock = PTHREAD_MUTEX_INITIALIZER;
static _Atomic(struct manager *) global_manager;

static struct manager *current(void)
{
	return atomic_load_explicit(&global_manager, memory_order_acquire);
}

static void publish(struct manager *manager)
{
	atomic_store_explicit(&global_manager, manager, memory_order_release);
}

void agp__manager_forget(void)
{
	/*
	 * In a freshly forked worker: the manager copied with the memory is the
	 * caller's, with none of its threads. A runner that calls the Task API in
	 * the worker starts a manager of its own instead of using that copy.
	 */
	publish(NULL);
}

/* ---- caller-side recording ---- */

uint64_t agp__caller_now(void)
{
	struct manager *manager = current();
	return agp_clock_now_ns(manager ? manager->caller_agent : NULL);
}

void agp__caller_record(uint16_t metric, int64_t value, uint64_t task_id, uint16_t flags)
{
	struct manager *manager = current();
	if (!manager || !manager->caller_agent)
		return;
	pthread_mutex_lock(&manager->record_lock);
	agp_record_at(manager->caller_agent, metric, value, task_id,
	              agp_clock_now_ns(manager->caller_agent), flags);
	pthread_mutex_unlock(&manager->record_lock);
}

uint64_t agp__caller_difference(uint64_t later, uint64_t earlier, uint64_t task_id)
{
	if (later >= earlier)
		return later - earlier;
	struct manager *manager = current();
	if (manager && manager->skew_metric)
		agp__caller_record(manager->skew_metric, (int64_t)(earlier - later), task_id, 0);
	return 0;
}

/* ---- results ---- */

const char *agp_task_status_name(enum agp_task_status status)
{
	switch (status) {
	case AGP_TASK_COMPLETED:
		return "completed";
	case AGP_TASK_FAILED:
		return "failed";
	case AGP_TASK_TIMEOUT:
		return "timeout";
	}
	return "failed";
}

void agp_task_result_free(struct agp_task_result *result)
{
	if (!result)
		return;
	free(result->output);
	free(result->error);
	result->output = NULL;
	result->error = NULL;
}

/* A failed result that never reached a worker. Static strings would not survive free(). */
static void refuse(struct agp_task_result *result, const char *agent_type, uint64_t task_id,
                   const char *format, ...) __attribute__((format(printf, 4, 5)));
static void refuse(struct agp_task_result *result, const char *agent_type, uint64_t task_id,
                   const char *format, ...)
{
	memset(result, 0, sizeof(*result));
	char message[512];
	va_list args;
	va_start(args, format);
	vsnprintf(message, sizeof(message), format, args);
	va_end(args);
	result->success = false;
	result->output = strdup("");
	result->error = strdup(message);
	result->metadata.status = AGP_TASK_FAILED;
	result->metadata.task_id = task_id;
	snprintf(result->metadata.agent_id, sizeof(result->metadata.agent_id), "%s",
	         agent_type ? agent_type : "");
}

/* ---- the manager ---- */

static void *dispatcher_main(void *argument);

static unsigned concurrency_from(const struct agp_task_options *options)
{
	if (options && options->max_concurrency)
		return options->max_concurrency < MAX_CONCURRENCY ? options->max_concurrency
		                                                  : MAX_CONCURRENCY;
	const char *text = getenv("AGENTPERF_TASK_CONCURRENCY");
	if (text && *text) {
		char *end;
		unsigned long value = strtoul(text, &end, 10);
		if (!*end && value > 0 && value <= MAX_CONCURRENCY)
			return (unsigned)value;
		fprintf(stderr,
		        "agentperf: AGENTPERF_TASK_CONCURRENCY='%s' is not 1..%u; using %u\n", text,
		        MAX_CONCURRENCY, DEFAULT_CONCURRENCY);
	}
	return DEFAULT_CONCURRENCY;
}

static int build_infos(struct manager *manager)
{
	manager->infos =
	    calloc(manager->defs.count ? manager->defs.count : 1, sizeof(*manager->infos));
	if (!manager->infos)
		return -ENOMEM;
	manager->confinements =
	    calloc(manager->defs.count ? manager->defs.count : 1, sizeof(*manager->confinements));
	if (!manager->confinements)
		return -ENOMEM;
	for (size_t i = 0; i < manager->defs.count; i++) {
		const struct agp__agent_def *def = &manager->defs.defs[i];
		/* What the kernel enforces for this agent, and where fork storms are bounded. */
		char *confinement = manager->confinements[i];
		agp__sandbox_describe(def, confinement, AGP__CONFINEMENT_TEXT_MAX);
		size_t used = strlen(confinement);
		const char *where = agp__cgroup_where();
		bool no_leaf = strncmp(where, "none", 4) == 0;
		const char *memory_where = agp__cgroup_memory_where();
		bool memory_leaf = strncmp(memory_where, "none", 4) != 0;
		snprintf(confinement + used, AGP__CONFINEMENT_TEXT_MAX - used,
		         "; processes: %s%s; memory: %s%s", where,
		         no_leaf && agp__sandbox_will_enter_user_namespace(def)
		             ? ", RLIMIT_NPROC 128 in the worker's user namespace"
		             : "",
		         !def->memory_limit_mb ? "no limit"
		         : memory_leaf         ? "held to the limit by the kernel in "
		                       : "resident size polled every 10 ms; memory cgroup: ",
		         !def->memory_limit_mb ? "" : memory_where);
		manager->infos[i] = (struct agp_agent_info){
		    .id = def->id,
		    .name = def->name,
		    .description = def->description,
		    .capabilities = def->capability_list,
		    .runner = def->runner_text,
		    .workers = def->workers,
		    .timeout_s = def->timeout_s,
		    .memory_limit_mb = def->memory_limit_mb,
		    .source = def->source,
		    .confinement = confinement,
		};
	}
	return 0;
}

static void manager_free(struct manager *manager)
{
	agp__supervisor_stop(manager->supervisor);
	manager->supervisor = NULL;
	if (manager->pools) {
		for (size_t i = 0; i < manager->defs.count; i++) {
			agp__pool_stop(&manager->pools[i]);
			pthread_mutex_destroy(&manager->pools[i].lock);
			pthread_cond_destroy(&manager->pools[i].changed);
		}
		free(manager->pools);
	}
	/* Every worker is reaped: their scratch folders and cgroup leaves can go. */
	agp__sandbox_release();
	agp__cgroup_release();
	free(manager->infos);
	free(manager->confinements);
	agp__agent_defs_free(&manager->defs);
	agp_agent_close(manager->caller_agent);
	pthread_mutex_destroy(&manager->record_lock);
	pthread_mutex_destroy(&manager->lock);
	pthread_cond_destroy(&manager->cap_free);
	pthread_cond_destroy(&manager->queue_changed);
	pthread_cond_destroy(&manager->handle_done);
	free(manager->dispatchers);
	free(manager);
}

static int manager_create(const struct agp_task_options *options, struct manager **out)
{
	struct manager *manager = calloc(1, sizeof(*manager));
	if (!manager)
		return agp__error(-ENOMEM, "allocating the task manager");
	pthread_mutex_init(&manager->record_lock, NULL);
	pthread_mutex_init(&manager->lock, NULL);
	pthread_cond_init(&manager->cap_free, NULL);
	pthread_cond_init(&manager->queue_changed, NULL);
	pthread_cond_init(&manager->handle_done, NULL);
	manager->max_concurrency = concurrency_from(options);
	atomic_init(&manager->next_task, 1);
	manager->pid = getpid();

	const char *dir =
	    options && options->agents_dir ? options->agents_dir : getenv("AGENTPERF_AGENTS_DIR");
	snprintf(manager->agents_dir, sizeof(manager->agents_dir), "%s",
	         dir && *dir ? dir : ".codexplus/agents");
	if (options && options->deployment)
		snprintf(manager->deployment, sizeof(manager->deployment), "%s",
		         options->deployment);

	int error = agp__agent_defs_load(manager->agents_dir, &manager->defs);
	if (error) {
		manager->defs = (struct agp__agent_defs){0};
		goto fail;
	}
	if ((error = build_infos(manager)))
		goto fail;
	/* Best effort: a worker that then cannot be confined refuses its tasks with the reason. */
	agp__sandbox_prepare();
	agp__cgroup_prepare();
	manager->pools =
	    calloc(manager->defs.count ? manager->defs.count : 1, sizeof(*manager->pools));
	if (!manager->pools) {
		error = agp__error(-ENOMEM, "allocating the agent pools");
		goto fail;
	}
	for (size_t i = 0; i < manager->defs.count; i++) {
		manager->pools[i].def = &manager->defs.defs[i];
		pthread_mutex_init(&manager->pools[i].lock, NULL);
		pthread_cond_init(&manager->pools[i].changed, NULL);
	}

	/* Telemetry is best effort: tasks run even when the segment cannot be opened. */
	char name[AGP_AGENT_NAME_MAX + 1];
	snprintf(name, sizeof(name), "task-api-%d", (int)getpid());
	struct agp_agent_options agent_options = {manager->deployment[0] ? manager->deployment
	                                                                 : NULL};
	if (agp_agent_open(name, "task-api", &agent_options, &manager->caller_agent) != 0)
		manager->caller_agent = NULL;
	/* Negative cross-process differences, counted (agp__caller_difference); best effort too. */
	if (manager->caller_agent &&
	    agp_metric_register(manager->caller_agent, AGP_TASK_CLOCK_SKEW_METRIC,
	                        AGP_UNIT_NANOSECONDS, 0, &manager->skew_metric) != 0)
		manager->skew_metric = 0;

	if ((error =
	         agp__supervisor_start(&manager->supervisor, manager->pools, manager->defs.count)))
		goto fail;
	*out = manager;
	return 0;
fail:
	manager_free(manager);
	return error;
}

static int pool_ready(struct manager *manager, struct agp__pool *pool)
{
	pthread_mutex_lock(&pool->lock);
	int error = 0;
	if (!pool->started)
		error = agp__pool_start(pool, pool->def,
		                        manager->deployment[0] ? manager->deployment : NULL);
	pthread_mutex_unlock(&pool->lock);
	return error;
}

int agp_task_init(const struct agp_task_options *options)
{
	pthread_mutex_lock(&global_lock);
	if (current()) {
		pthread_mutex_unlock(&global_lock);
		return agp__error(-EALREADY, "the task manager runs already");
	}
	struct manager *manager = NULL;
	int error = manager_create(options, &manager);
	if (!error) {
		publish(manager);
		if (options && options->eager)
			for (size_t i = 0; i < manager->defs.count && !error; i++)
				error = pool_ready(manager, &manager->pools[i]);
		if (error) {
			publish(NULL);
			manager_free(manager);
		}
	}
	pthread_mutex_unlock(&global_lock);
	return error;
}

static struct manager *manager_get(int *error)
{
	struct manager *manager = current();
	if (manager)
		return manager;
	*error = agp_task_init(NULL);
	if (*error == -EALREADY)
		*error = 0;
	return current();
}

void agp_task_shutdown(void)
{
	pthread_mutex_lock(&global_lock);
	struct manager *manager = current();
	if (!manager) {
		pthread_mutex_unlock(&global_lock);
		return;
	}
	pthread_mutex_lock(&manager->lock);
	manager->stopping = true;
	pthread_cond_broadcast(&manager->queue_changed);
	pthread_mutex_unlock(&manager->lock);
	for (unsigned i = 0; i < manager->dispatcher_count; i++)
		pthread_join(manager->dispatchers[i], NULL);
	/* Tasks still queued were never run: fail them so their waiters return. */
	pthread_mutex_lock(&manager->lock);
	for (struct agp_task_handle *handle = manager->queue_head; handle; handle = handle->next) {
		refuse(&handle->result, handle->type, 0, "the task manager shut down first");
		handle->done = true;
	}
	manager->queue_head = manager->queue_tail = NULL;
	pthread_cond_broadcast(&manager->handle_done);
	pthread_mutex_unlock(&manager->lock);
	/* Unpublished before it is freed: the supervisor's last records see NULL or a live one. */
	agp__supervisor_stop(manager->supervisor);
	manager->supervisor = NULL;
	publish(NULL);
	manager_free(manager);
	pthread_mutex_unlock(&global_lock);
}

/* ---- one task ---- */

static void cap_acquire(struct manager *manager)
{
	pthread_mutex_lock(&manager->lock);
	while (manager->in_flight >= manager->max_concurrency)
		pthread_cond_wait(&manager->cap_free, &manager->lock);
	manager->in_flight++;
	if (manager->in_flight > manager->peak)
		manager->peak = manager->in_flight;
	pthread_mutex_unlock(&manager->lock);
}

static void cap_release(struct manager *manager)
{
	pthread_mutex_lock(&manager->lock);
	manager->in_flight--;
	pthread_cond_signal(&manager->cap_free);
	pthread_cond_signal(&manager->queue_changed);
	pthread_mutex_unlock(&manager->lock);
}

/* Checks what can be checked without a worker; 0, or the refusal is in result. */
static int check_task(struct manager *manager, const char *agent_type, const char *prompt,
                      const char *description, struct agp__pool **pool_out,
                      struct agp_task_result *result)
{
	if (!agent_type || !*agent_type) {
		refuse(result, "", 0, "agent type is empty");
		return -EINVAL;
	}
	if (!prompt || !*prompt) {
		refuse(result, agent_type, 0, "prompt is empty");
		return -EINVAL;
	}
	size_t prompt_length = strlen(prompt);
	if (prompt_length > AGP_TASK_PROMPT_MAX) {
		refuse(result, agent_type, 0, "prompt is %zu bytes; at most %u", prompt_length,
		       AGP_TASK_PROMPT_MAX);
		return -E2BIG;
	}
	if (description && strlen(description) > AGP__DESCRIPTION_MAX) {
		refuse(result, agent_type, 0, "description is %zu bytes; at most %u",
		       strlen(description), AGP__DESCRIPTION_MAX);
		return -E2BIG;
	}
	const struct agp__agent_def *def = agp__agent_defs_find(&manager->defs, agent_type);
	if (!def) {
		refuse(result, agent_type, 0,
		       "unknown agent '%.64s' (agentperf agents --available "
		       "lists them)",
		       agent_type);
		return -ENOENT;
	}
	char why[512];
	if (agp__capability_gate(def->capabilities, prompt, description, why, sizeof(why))) {
		refuse(result, agent_type, 0, "agent '%s' refused the task: %s", agent_type, why);
		return -EPERM;
	}
	/* Never unguarded: a lacking capability the kernel here cannot enforce refuses the task. */
	if (agp__sandbox_check(def, why, sizeof(why)) != 0) {
		refuse(result, agent_type, 0, "agent '%s' refused the task: %s", agent_type, why);
		return -ENOTSUP;
	}
	*pool_out = &manager->pools[def - manager->defs.defs];
	return 0;
}

static void run_checked(struct manager *manager, struct agp__pool *pool, const char *prompt,
                        const char *description, uint64_t call_ns, struct agp_task_result *result)
{
	int error = pool_ready(manager, pool);
	if (error) {
		refuse(result, pool->def->id, 0, "cannot start the workers of agent '%s': %s",
		       pool->def->id, agp__error_message());
		return;
	}
	/* Unique across the processes of a deployment: the caller's pid above a counter. */
	uint64_t sequence = atomic_fetch_add_explicit(&manager->next_task, 1, memory_order_relaxed);
	struct agp__trip trip = {
	    .task_id = ((uint64_t)manager->pid << 32) | (sequence & 0xffffffffu),
	    .call_ns = call_ns,
	    .prompt = prompt,
	    .prompt_length = strlen(prompt),
	    .description = description ? description : "",
	    .description_length = description ? strlen(description) : 0,
	};
	memset(result, 0, sizeof(*result));
	agp__pool_run(pool, &trip, result);
}

void agp_task(const char *agent_type, const char *prompt, const char *description,
              struct agp_task_result *result)
{
	if (!result)
		return;
	int error = 0;
	struct manager *manager = manager_get(&error);
	uint64_t call_ns = agp__caller_now();
	if (!manager) {
		refuse(result, agent_type, 0, "the task manager could not start: %s",
		       agp__error_message());
		return;
	}
	struct agp__pool *pool;
	if (check_task(manager, agent_type, prompt, description, &pool, result))
		return;
	cap_acquire(manager);
	run_checked(manager, pool, prompt, description, call_ns, result);
	cap_release(manager);
}

/* ---- the queue ---- */

static void *dispatcher_main(void *argument)
{
	struct manager *manager = argument;
	pthread_mutex_lock(&manager->lock);
	for (;;) {
		while (!manager->stopping &&
		       (!manager->queue_head || manager->in_flight >= manager->max_concurrency))
			pthread_cond_wait(&manager->queue_changed, &manager->lock);
		if (manager->stopping)
			break;
		struct agp_task_handle *handle = manager->queue_head;
		manager->queue_head = handle->next;
		if (!manager->queue_head)
			manager->queue_tail = NULL;
		manager->in_flight++;
		if (manager->in_flight > manager->peak)
			manager->peak = manager->in_flight;
		pthread_mutex_unlock(&manager->lock);

		struct agp__pool *pool = NULL;
		struct agp_task_result result;
		if (check_task(manager, handle->type, handle->prompt, handle->description, &pool,
		               &result) == 0)
			run_checked(manager, pool, handle->prompt, handle->description,
			            handle->call_ns, &result);

		pthread_mutex_lock(&manager->lock);
		manager->in_flight--;
		handle->result = result;
		handle->done = true;
		pthread_cond_broadcast(&manager->handle_done);
		pthread_cond_signal(&manager->cap_free);
		pthread_cond_signal(&manager->queue_changed);
	}
	pthread_mutex_unlock(&manager->lock);
	return NULL;
}

/* Starts the dispatcher threads once; the caller holds manager->lock. */
static int start_dispatchers(struct manager *manager)
{
	if (manager->dispatchers)
		return 0;
	manager->dispatchers = calloc(manager->max_concurrency, sizeof(pthread_t));
	if (!manager->dispatchers)
		return -ENOMEM;
	for (unsigned i = 0; i < manager->max_concurrency; i++) {
		if (pthread_create(&manager->dispatchers[i], NULL, dispatcher_main, manager) != 0)
			break;
		manager->dispatcher_count++;
	}
	return manager->dispatcher_count ? 0 : -EAGAIN;
}

static void handle_free(struct agp_task_handle *handle)
{
	free(handle->type);
	free(handle->prompt);
	free(handle->description);
	free(handle);
}

agp_task_handle *agp_task_submit(const char *agent_type, const char *prompt,
                                 const char *description)
{
	struct agp_task_handle *handle = calloc(1, sizeof(*handle));
	if (!handle)
		return NULL;
	int error = 0;
	struct manager *manager = manager_get(&error);
	handle->call_ns = agp__caller_now();
	if (!manager) {
		refuse(&handle->result, agent_type, 0, "the task manager could not start: %s",
		       agp__error_message());
		handle->done = true;
		return handle;
	}
	struct agp__pool *pool;
	if (check_task(manager, agent_type, prompt, description, &pool, &handle->result)) {
		handle->done = true;
		return handle;
	}
	handle->type = strdup(agent_type);
	handle->prompt = strdup(prompt);
	handle->description = strdup(description ? description : "");
	if (!handle->type || !handle->prompt || !handle->description) {
		refuse(&handle->result, agent_type, 0, "out of memory queueing the task");
		handle->done = true;
		return handle;
	}
	pthread_mutex_lock(&manager->lock);
	if (start_dispatchers(manager) != 0) {
		pthread_mutex_unlock(&manager->lock);
		refuse(&handle->result, agent_type, 0, "cannot start the dispatcher threads");
		handle->done = true;
		return handle;
	}
	if (manager->queue_tail)
		manager->queue_tail->next = handle;
	else
		manager->queue_head = handle;
	manager->queue_tail = handle;
	pthread_cond_signal(&manager->queue_changed);
	pthread_mutex_unlock(&manager->lock);
	return handle;
}

static void wait_done(struct agp_task_handle *handle)
{
	struct manager *manager = current();
	if (!manager)
		return; /* a refused handle, made done before anyone else saw it */
	/* done is written by a dispatcher thread under the lock: read it under the lock too. */
	pthread_mutex_lock(&manager->lock);
	while (!handle->done)
		pthread_cond_wait(&manager->handle_done, &manager->lock);
	pthread_mutex_unlock(&manager->lock);
}

void agp_task_wait(agp_task_handle *handle, struct agp_task_result *result)
{
	if (!handle) {
		if (result)
			refuse(result, "", 0, "no task handle (submission ran out of memory)");
		return;
	}
	wait_done(handle);
	if (result)
		*result = handle->result;
	else
		agp_task_result_free(&handle->result);
	handle_free(handle);
}

void agp_task_wait_all(agp_task_handle **handles, size_t count, struct agp_task_result *results)
{
	uint64_t first_call = UINT64_MAX;
	double slowest = 0;
	size_t ran = 0;
	for (size_t i = 0; i < count; i++)
		if (handles[i] && handles[i]->call_ns < first_call)
			first_call = handles[i]->call_ns;
	for (size_t i = 0; i < count; i++) {
		agp_task_wait(handles[i], &results[i]);
		if (results[i].metadata.begin_ns) {
			ran++;
			if (results[i].metadata.execution_time > slowest)
				slowest = results[i].metadata.execution_time;
		}
	}
	if (ran == 0 || first_call == UINT64_MAX)
		return;
	uint64_t wall = agp__caller_now() - first_call;
	uint64_t slowest_ns = (uint64_t)(slowest * 1e9);
	agp__caller_record(AGP_METRIC_PARALLEL_COORDINATION,
	                   (int64_t)(wall > slowest_ns ? wall - slowest_ns : 0), 0, 0);
}

/* ---- listings ---- */

int agp_list_agents(const struct agp_agent_info **agents_out)
{
	int error = 0;
	struct manager *manager = manager_get(&error);
	if (!manager)
		return error ? error : -ENOMEM;
	*agents_out = manager->infos;
	return (int)manager->defs.count;
}

const char *agp_task_load_messages(void)
{
	struct manager *manager = current();
	return manager && manager->defs.messages ? manager->defs.messages : "";
}

unsigned agp_task_peak_concurrency(void)
{
	struct manager *manager = current();
	if (!manager)
		return 0;
	pthread_mutex_lock(&manager->lock);
	unsigned peak = manager->peak;
	pthread_mutex_unlock(&manager->lock);
	return peak;
}
