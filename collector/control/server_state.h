/*
 * The control server's state, shared by its transport (transport.c), which
 * owns every field, and its verbs (verbs.c), which read the collector, the
 * options' baseline operations and the socket path, on the server's thread.
 */
#ifndef AGP_COLLECTOR_CONTROL_SERVER_STATE_H
#define AGP_COLLECTOR_CONTROL_SERVER_STATE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/un.h>

#include "collector/control/server.h"

struct client;

struct agp_control_server {
	struct agp_collector *collector;
	struct agp_control_options options;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int listen_fd;
	int wake[2];
	pthread_t thread;
	bool has_group;
	gid_t group;
	char group_name[AGP_CONFIG_GROUP_MAX + 1];
	unsigned client_count;
	struct client *clients;
	uint64_t evictions_unlogged; /* idle clients closed to make room since the last log line */
	int64_t eviction_logged_ms;
};

#endif
