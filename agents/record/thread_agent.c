/*
 * One agent per thread, for programs whose threads record.
 *
 * agp_record() is single-producer per handle: two threads recording on one
 * handle at once would write the same ring position. Instead of a
 * multi-producer ring (a compare-and-swap per sample, and a collector that
 * must then trust a record's commit flag), each thread gets its own handle
 * and slot, opened on first use and closed by a pthread key destructor when
 * the thread exits. The cost is a slot per recording thread, the hot path
 * stays a thread-local load plus the SPSC push.
 *
 * Fork: the child's copy of the forking thread's handle is disowned by
 * agent.c's fork handler; this file forgets it too, so the child's first
 * call opens the child's own agent.
 */
#include <agentperf/agent.h>

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

static pthread_key_t thread_agent_key;
static pthread_once_t thread_agent_once = PTHREAD_ONCE_INIT;
static _Thread_local agp_agent *thread_agent;
static _Thread_local bool thread_agent_failed;

static void close_at_thread_exit(void *agent)
{
	agp_agent_close(agent);
}

static void forget_after_fork(void)
{
	/* The child runs this on the thread that forked: the only one it has. */
	thread_agent = NULL;
	thread_agent_failed = false;
	pthread_setspecific(thread_agent_key, NULL);
}

static void create_key(void)
{
	pthread_key_create(&thread_agent_key, close_at_thread_exit);
	pthread_atfork(NULL, NULL, forget_after_fork);
}

agp_agent *agp_thread_agent(const char *type, const struct agp_agent_options *options)
{
	if (__builtin_expect(thread_agent != NULL || thread_agent_failed, 1))
		return thread_agent;
	pthread_once(&thread_agent_once, create_key);
	char name[AGP_AGENT_NAME_MAX + 1];
	snprintf(name, sizeof(name), "%s-%ld", type ? type : "thread", (long)syscall(SYS_gettid));
	agp_agent *agent = NULL;
	if (agp_agent_open(name, type, options, &agent) != 0) {
		thread_agent_failed = true; /* agp_last_error() says why; recording stays a no-op */
		return NULL;
	}
	thread_agent = agent;
	pthread_setspecific(thread_agent_key, agent);
	return agent;
}
