/*
 * GET /hlog on agentperfd's HTTP listener: the interval histograms of the (agent type, metric)
 * series, read-only, as the .hlog text of `agentperf hlog` (hlog_export.h: format 1.3,
 * Tag=<agent_type>/<metric>, every retained window that starts at or after `since`, the open
 * one included). It is what `agentperf fleet stats --from URL...` merges across hosts.
 *
 * Query parameters (each at most once; any other is refused):
 *   since   30s, 15m, 2h, 1d (before now) or Unix seconds; absent: the whole retention
 *   metric  one metric's series (a built-in, configured or recorded name); absent: all
 *
 * The same listener, hence the same access rules as /metrics (the bound address, the
 * connection limits). Bounded: an answer holds at most AGP_HTTP_HLOG_MAX_BYTES (a larger one
 * is refused, 400, never cut short), and at most AGP_HTTP_HLOG_RENDERS answers are built at
 * once (more: 503, to be tried again), so that requests cannot take the daemon's memory.
 * Bad parameters are answered 400 with a sentence naming the parameter and the value.
 */
#ifndef AGP_COLLECTOR_HTTP_HLOG_H
#define AGP_COLLECTOR_HTTP_HLOG_H

#include <stddef.h>

#include <microhttpd.h>

#include "collector/collector.h"

#define AGP_HTTP_HLOG_MAX_BYTES (32u << 20)
#define AGP_HTTP_HLOG_RENDERS   4

struct agp_http_answer {
	unsigned status;
	const char *content_type;
	char *body; /* malloc'ed, the caller frees it */
	size_t length;
};

/*
 * Answers GET /hlog of connection from the collector's newest snapshot. 0 with *answer filled
 * (a 200, 400 or 503 with its body), or -ENOMEM.
 */
int agp_http_hlog_answer(struct MHD_Connection *connection, struct agp_collector *collector,
                         struct agp_http_answer *answer);

#endif
