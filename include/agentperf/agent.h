/*
 * The recording side: an agent process opens itself into a deployment's
 * shared segment, then records samples without a syscall, a lock or an
 * allocation.
 *
 * Error convention: functions return 0 or a negative errno value and leave
 * their out-parameters untouched on failure; agp_last_error() then holds a
 * sentence that names what was wrong. Recording into a NULL, closed or
 * failed agent is a cheap no-op, so a program whose telemetry could not
 * start keeps running.
 *
 * Threads, signals and fork: the contract of agp_record()/agp_record_at().
 *  - One thread at a time per handle: a handle is one single-producer ring.
 *    Threads that record each take their own handle; agp_thread_agent()
 *    gives every thread one, opened on first use and closed at thread exit.
 *    Opening, closing and registering metrics are thread-safe.
 *  - Async-signal-safe, with one proviso: a signal handler may record on its
 *    own handle, or on the handle of the thread it interrupted. If it
 *    interrupted a record on that same handle, its sample is refused
 *    (false) and counted by agp_agent_nested_refused(), never written over
 *    the interrupted one. Refused samples are not in agp_agent_dropped():
 *    like samples given to a NULL agent, they never reached the ring.
 *    agp_agent_open/close and agp_thread_agent's first call are not
 *    async-signal-safe.
 *  - Fork: in the child every handle the parent had open becomes a closed
 *    one (recording is a no-op that returns false; agp_agent_recorded()
 *    keeps the count at the fork); the parent's slots are untouched and get
 *    none of the child's samples. A child that wants telemetry opens its own
 *    agent; agp_thread_agent() in the child does so by itself.
 */
#ifndef AGENTPERF_AGENT_H
#define AGENTPERF_AGENT_H

#include <stdbool.h>
#include <stdint.h>

#include <agentperf/metrics.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct agp_agent agp_agent;

/* Longest agent name and agent type, without the terminating NUL. */
#define AGP_AGENT_NAME_MAX 31
#define AGP_AGENT_TYPE_MAX 31

struct agp_agent_options {
	/* Deployment name; NULL means $AGENTPERF_NAME, then "default". */
	const char *deployment;
};

/*
 * Claims a slot in the deployment's segment, creating the segment with the
 * default layout when no collector has made it yet. Errors: -EINVAL (bad
 * name or type), -EPROTO (segment of another ABI or layout), -ENOSPC (all
 * slots taken), or the errno of the failed system call.
 */
int agp_agent_open(const char *name, const char *type, const struct agp_agent_options *options,
                   agp_agent **agent_out);

/*
 * Releases the slot; samples already recorded are still drained. NULL is
 * fine. The handle itself stays valid (it is not freed): recording into a
 * closed agent is a cheap no-op that returns false and counts a drop, and
 * closing it again does nothing.
 */
void agp_agent_close(agp_agent *agent);

/* Records one sample stamped now. False when it was dropped (ring full) or the agent is NULL. */
bool agp_record(agp_agent *agent, uint16_t metric_id, int64_t value, uint64_t task_id);

/* Records one sample with a timestamp the caller already read from agp_clock_now_ns(). */
bool agp_record_at(agp_agent *agent, uint16_t metric_id, int64_t value, uint64_t task_id,
                   uint64_t timestamp_ns, uint16_t flags);

/*
 * Nanoseconds on the deployment's clock: CLOCK_MONOTONIC, or the invariant
 * TSC calibrated against it once per segment, so readings of different
 * processes of one deployment compare. NULL agent: CLOCK_MONOTONIC.
 */
uint64_t agp_clock_now_ns(const agp_agent *agent);

/*
 * Registers a custom metric by name, or finds it when any process of the
 * deployment registered it before; the same name always gives the same id.
 * expected_interval_ns > 0 asks the collector for a histogram corrected for
 * coordinated omission beside the raw one. Errors: -EINVAL (bad name, or the
 * name exists with another unit), -ENOSPC (registry full), -ENOTCONN
 * (agent not open).
 */
int agp_metric_register(agp_agent *agent, const char *name, enum agp_unit unit,
                        uint64_t expected_interval_ns, uint16_t *id_out);

/* Samples this agent recorded and dropped so far (written = recorded + dropped). */
uint64_t agp_agent_recorded(const agp_agent *agent);
uint64_t agp_agent_dropped(const agp_agent *agent);

/* Samples refused because a signal handler recorded during a record on the same handle. */
uint64_t agp_agent_nested_refused(const agp_agent *agent);

/*
 * The calling thread's own agent, opened on the thread's first call with
 * the name "<type>-<thread id>" (cut to AGP_AGENT_NAME_MAX) and closed when
 * the thread exits (the main thread's at process exit: the collector sees
 * the process end). Later calls return the same handle (their arguments are
 * ignored). NULL when it could not be opened, for the rest of the thread's
 * life (agp_last_error() says why; recording into NULL is a no-op).
 */
agp_agent *agp_thread_agent(const char *type, const struct agp_agent_options *options);

/* The last error message of this thread, or "" when there was none. */
const char *agp_last_error(void);

#ifdef __cplusplus
}
#endif
#endif
