/*
 * The control socket of agentperfd: one thread that serves the control
 * protocol (protocol.h) to the agentperf command line over a Unix socket
 * at agp_control_socket_path() of the deployment.
 *
 * Access: the socket's folder and the socket are owner-only (0700/0600), or
 * group-accessible (0710/0660) when monitoring.group names a group; on top of
 * the file modes every connection's SO_PEERCRED is checked: the daemon's uid,
 * or a member of that group. Anyone else gets an error reply, a log line and
 * a closed connection.
 *
 * Isolation: the thread polls non-blocking clients with per-client deadlines
 * and bounded buffers, so a slow, stuck or malicious client costs only its
 * own connection. Idle connections cannot lock others out: under pressure
 * they time out early, and a full table makes room by closing the idle one
 * quiet the longest. It reads RCU snapshots only; the drain thread never waits
 * for it. A malformed, truncated (at the deadline), oversized or unknown
 * request gets an error reply, then the connection is closed.
 */
#ifndef AGP_COLLECTOR_CONTROL_SERVER_H
#define AGP_COLLECTOR_CONTROL_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "collector/analysis/baseline.h"
#include "collector/collector.h"

/*
 * How the server reaches the daemon's baseline. When establish is NULL the
 * server keeps the baseline itself: it loads <storage_dir>/baseline.json and
 * saves what baseline.establish computes there.
 */
struct agp_control_baseline_ops {
	void *context;
	int (*establish)(void *context, double hours, int64_t min_samples, double confidence,
	                 struct agp_baseline *out, char *err, size_t errlen);
	/* 0 with out filled, -ENOENT when there is none yet. */
	int (*get)(void *context, struct agp_baseline *out);
};

struct agp_control_options {
	const char *socket_path; /* NULL: agp_control_socket_path() of the deployment */
	int request_timeout_ms;  /* a started request or reply must move on within; 5000 */
	int idle_timeout_ms;     /* an idle connection is closed after; 60000 */
	/* ... or after this, while more than half of max_clients are connected; 2000
	 * (longer than the 1 s between the requests of `top` and `alerts --follow`) */
	int pressure_idle_timeout_ms;
	/* A new client in a full table replaces the idle one quiet the longest; when none
	 * is idle, it is refused with a reply saying so. 64 */
	unsigned max_clients;
	struct agp_control_baseline_ops baseline;
};

void agp_control_options_default(struct agp_control_options *options);

struct agp_control_server;

/*
 * Creates the socket (refusing, -EADDRINUSE, when another daemon answers on
 * it) and starts the thread. Messages through agp_last_error().
 */
int agp_control_server_start(struct agp_collector *collector,
                             const struct agp_control_options *options,
                             struct agp_control_server **out);

/* The path the server listens on. */
const char *agp_control_server_path(const struct agp_control_server *server);

/* Stops the thread, closes every client and removes the socket. NULL is fine. */
void agp_control_server_stop(struct agp_control_server *server);

#endif
