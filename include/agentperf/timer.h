/*
 * A scoped timer, the C form of the original's performance_timer context
 * manager: the duration from the declaration to the end of the enclosing
 * block is recorded as one sample.
 *
 *     {
 *             AGP_TIMER_SCOPE(agent, AGP_METRIC_COORDINATION_OVERHEAD, task_id);
 *             do_the_work();
 *     }
 *
 * agp_timer_begin()/agp_timer_end() are the same without the scope, for
 * spans that do not follow a block. The end records with agp_record_at(),
 * so the threads, signals and fork contract of agent.h applies.
 */
#ifndef AGENTPERF_TIMER_H
#define AGENTPERF_TIMER_H

#include <agentperf/agent.h>

#ifdef __cplusplus
extern "C" {
#endif

struct agp_timer {
	agp_agent *agent;
	uint64_t start_ns;
	uint64_t task_id;
	uint16_t metric_id;
};

static inline struct agp_timer agp_timer_begin(agp_agent *agent, uint16_t metric_id,
                                               uint64_t task_id)
{
	struct agp_timer timer = {agent, agp_clock_now_ns(agent), task_id, metric_id};
	return timer;
}

/* Records the elapsed time; returns false when the sample was dropped. */
static inline bool agp_timer_end(struct agp_timer *timer)
{
	uint64_t end_ns = agp_clock_now_ns(timer->agent);
	return agp_record_at(timer->agent, timer->metric_id, (int64_t)(end_ns - timer->start_ns),
	                     timer->task_id, end_ns, 0);
}

static inline void agp__timer_cleanup(struct agp_timer *timer)
{
	(void)agp_timer_end(timer);
}

#define AGP__CONCAT2(a, b) a##b
#define AGP__CONCAT(a, b)  AGP__CONCAT2(a, b)
/* unused: the variable is only read by its cleanup, which clang's -Wunused-variable ignores. */
#define AGP_TIMER_SCOPE(agent, metric_id, task_id)                                                 \
	struct agp_timer AGP__CONCAT(agp__timer_, __LINE__)                                        \
	    __attribute__((cleanup(agp__timer_cleanup), unused)) =                                 \
	        agp_timer_begin((agent), (metric_id), (task_id))

#ifdef __cplusplus
}
#endif
#endif
