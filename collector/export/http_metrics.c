#include "collector/export/http_metrics.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <microhttpd.h>

#include "collector/export/http_hlog.h"
#include "common/error.h"

/* Snapshots refused as stale (another reader saw a newer one first) before giving up. */
#define STALE_RETRIES 8
/* Connections served at once, and at most half of them from one address. */
#define HTTP_CONNECTION_LIMIT 512
/* A connection that sends nothing for this long is closed. */
#define HTTP_IDLE_TIMEOUT_S 5

struct agp_http_metrics {
	struct MHD_Daemon *daemon;
	struct agp_collector *collector;
	struct agp_prom_exporter *exporter;
	pthread_mutex_t baseline_lock; /* guards baseline against set_baseline */
	struct agp_baseline *baseline;
	unsigned port;
	pthread_mutex_t log_lock;    /* guards the two below, for libmicrohttpd's threads */
	int64_t logged_ms;           /* when the last message was printed */
	unsigned long long unlogged; /* messages not printed since */
};

int agp_http_parse_listen(const char *listen, struct sockaddr_storage *address,
                          socklen_t *address_len, char *err, size_t errlen)
{
	char host[256] = "127.0.0.1";
	const char *port_text = listen;
	const char *colon = strrchr(listen, ':');
	if (listen[0] == '[') {
		const char *close = strchr(listen, ']');
		if (!close || close[1] != ':' || (size_t)(close - listen - 1) >= sizeof(host)) {
			snprintf(err, errlen, "listen address '%s': expected [IPv6]:port", listen);
			return -EINVAL;
		}
		memcpy(host, listen + 1, (size_t)(close - listen - 1));
		host[close - listen - 1] = '\0';
		port_text = close + 2;
	} else if (colon) {
		size_t length = (size_t)(colon - listen);
		if (length == 0 || length >= sizeof(host)) {
			snprintf(err, errlen, "listen address '%s': expected host:port", listen);
			return -EINVAL;
		}
		memcpy(host, listen, length);
		host[length] = '\0';
		if (strcmp(host, "*") == 0)
			strcpy(host, "0.0.0.0");
		port_text = colon + 1;
	}
	char *end;
	errno = 0;
	long port = strtol(port_text, &end, 10);
	if (!*port_text || *end || errno || port < 0 || port > 65535) {
		snprintf(err, errlen, "listen address '%s': port '%s' is not a number 0..65535",
		         listen, port_text);
		return -EINVAL;
	}
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
	struct addrinfo *found = NULL;
	int result = getaddrinfo(host, NULL, &hints, &found);
	if (result || !found) {
		snprintf(err, errlen, "listen address '%s': host '%s': %s", listen, host,
		         gai_strerror(result));
		return -EINVAL;
	}
	memset(address, 0, sizeof(*address));
	memcpy(address, found->ai_addr, found->ai_addrlen);
	*address_len = found->ai_addrlen;
	if (address->ss_family == AF_INET6)
		((struct sockaddr_in6 *)address)->sin6_port = htons((uint16_t)port);
	else
		((struct sockaddr_in *)address)->sin_port = htons((uint16_t)port);
	freeaddrinfo(found);
	return 0;
}

static enum MHD_Result respond(struct MHD_Connection *connection, unsigned status,
                               const char *content_type, char *body, size_t length,
                               enum MHD_ResponseMemoryMode mode)
{
	struct MHD_Response *response = MHD_create_response_from_buffer(length, body, mode);
	if (!response) {
		if (mode == MHD_RESPMEM_MUST_FREE)
			free(body);
		return MHD_NO;
	}
	MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(response, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	enum MHD_Result result = MHD_queue_response(connection, status, response);
	MHD_destroy_response(response);
	return result;
}

static int64_t now_ms(void)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

/*
 * libmicrohttpd's messages ("Server reached connection limit ..." for every
 * connection it closes), at most one a second, with the count of the others:
 * a flood of connections must not flood the log.
 */
static void log_limited(void *context, const char *format, va_list args)
    __attribute__((format(printf, 2, 0)));
static void log_limited(void *context, const char *format, va_list args)
{
	struct agp_http_metrics *http = context;
	int64_t now = now_ms();
	pthread_mutex_lock(&http->log_lock);
	bool print = now - http->logged_ms >= 1000 || http->logged_ms == 0;
	unsigned long long unlogged = http->unlogged;
	if (print) {
		http->logged_ms = now;
		http->unlogged = 0;
	} else {
		http->unlogged++;
	}
	pthread_mutex_unlock(&http->log_lock);
	if (!print)
		return;
	char message[256];
	vsnprintf(message, sizeof(message), format, args);
	message[strcspn(message, "\n")] = '\0';
	if (unlogged)
		fprintf(stderr, "agentperfd: http: %s (%llu more messages not shown)\n", message,
		        unlogged);
	else
		fprintf(stderr, "agentperfd: http: %s\n", message);
}

static int render_current(struct agp_http_metrics *http, char **text, size_t *length)
{
	/*
	 * The newest published snapshot, at most one publish interval (250 ms) old: a scrape
	 * does not ask the drain thread for a fresher one, so scrapes cost the drain nothing
	 * and the server needs nothing of the collector but its snapshots.
	 */
	int error = -ESTALE;
	for (int attempt = 0; attempt < STALE_RETRIES && error == -ESTALE; attempt++) {
		pthread_mutex_lock(&http->baseline_lock);
		const struct agp_snapshot *snapshot = agp_snapshot_read_begin(http->collector);
		if (snapshot)
			error =
			    agp_prom_render(http->exporter, snapshot, http->baseline, text, length);
		else
			error = -EAGAIN;
		agp_snapshot_read_end(snapshot);
		pthread_mutex_unlock(&http->baseline_lock);
	}
	return error;
}

static enum MHD_Result handle(void *context, struct MHD_Connection *connection, const char *url,
                              const char *method, const char *version, const char *upload_data,
                              size_t *upload_data_size, void **request_context)
{
	(void)version;
	(void)upload_data;
	(void)upload_data_size;
	(void)request_context;
	struct agp_http_metrics *http = context;
	static char not_allowed[] = "only GET and HEAD are served\n";
	static char not_found[] = "not found: agentperfd serves /metrics and /hlog\n";
	static char index[] =
	    "agentperfd: Prometheus metrics at /metrics, interval logs at /hlog\n";
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
		return respond(connection, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain", not_allowed,
		               strlen(not_allowed), MHD_RESPMEM_PERSISTENT);
	if (strcmp(url, "/") == 0)
		return respond(connection, MHD_HTTP_OK, "text/plain", index, strlen(index),
		               MHD_RESPMEM_PERSISTENT);
	if (strcmp(url, "/hlog") == 0) { /* the interval histograms (http_hlog.h) */
		struct agp_http_answer answer;
		if (agp_http_hlog_answer(connection, http->collector, &answer))
			return MHD_NO;
		return respond(connection, answer.status, answer.content_type, answer.body,
		               answer.length, MHD_RESPMEM_MUST_FREE);
	}
	if (strcmp(url, "/metrics") != 0)
		return respond(connection, MHD_HTTP_NOT_FOUND, "text/plain", not_found,
		               strlen(not_found), MHD_RESPMEM_PERSISTENT);
	char *text = NULL;
	size_t length = 0;
	int error = render_current(http, &text, &length);
	if (error) {
		static char failed[] = "agentperfd: could not render the metrics\n";
		return respond(connection, MHD_HTTP_INTERNAL_SERVER_ERROR, "text/plain", failed,
		               strlen(failed), MHD_RESPMEM_PERSISTENT);
	}
	return respond(connection, MHD_HTTP_OK, AGP_PROM_CONTENT_TYPE, text, length,
	               MHD_RESPMEM_MUST_FREE);
}

int agp_http_metrics_start(const char *listen, struct agp_collector *collector,
                           struct agp_prom_exporter *exporter, struct agp_http_metrics **out)
{
	char error_text[512];
	struct sockaddr_storage address;
	socklen_t address_len;
	if (agp_http_parse_listen(listen, &address, &address_len, error_text, sizeof(error_text)))
		return agp__error(-EINVAL, "%s", error_text);
	struct agp_http_metrics *http = calloc(1, sizeof(*http));
	if (!http)
		return -ENOMEM;
	http->collector = collector;
	http->exporter = exporter;
	pthread_mutex_init(&http->baseline_lock, NULL);
	pthread_mutex_init(&http->log_lock, NULL);
	/* epoll (poll elsewhere): select() would cap the connections at FD_SETSIZE. */
	unsigned flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG;
	if (address.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	/*
	 * No lock-out by idle connections: room for HTTP_CONNECTION_LIMIT of them, at most
	 * half from one address (so that a scraper from another address always finds room),
	 * each closed after HTTP_IDLE_TIMEOUT_S without a byte (Prometheus reconnects when
	 * its scrape interval is longer).
	 */
	http->daemon = MHD_start_daemon(
	    flags, 0, NULL, NULL, handle, http, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&address,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned)HTTP_CONNECTION_LIMIT,
	    MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)(HTTP_CONNECTION_LIMIT / 2),
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)HTTP_IDLE_TIMEOUT_S,
	    MHD_OPTION_EXTERNAL_LOGGER, log_limited, http, MHD_OPTION_END);
	if (!http->daemon) {
		pthread_mutex_destroy(&http->log_lock);
		pthread_mutex_destroy(&http->baseline_lock);
		free(http);
		return agp__error(-EADDRNOTAVAIL,
		                  "cannot serve /metrics on '%s' (address in use or not local?)",
		                  listen);
	}
	const union MHD_DaemonInfo *info =
	    MHD_get_daemon_info(http->daemon, MHD_DAEMON_INFO_BIND_PORT);
	http->port = info ? info->port : 0;
	*out = http;
	return 0;
}

unsigned agp_http_metrics_port(const struct agp_http_metrics *http)
{
	return http->port;
}

int agp_http_metrics_set_baseline(struct agp_http_metrics *http,
                                  const struct agp_baseline *baseline)
{
	struct agp_baseline *copy = NULL;
	if (baseline) {
		copy = malloc(sizeof(*copy));
		if (!copy)
			return -ENOMEM;
		*copy = *baseline;
	}
	pthread_mutex_lock(&http->baseline_lock);
	struct agp_baseline *old = http->baseline;
	http->baseline = copy;
	pthread_mutex_unlock(&http->baseline_lock);
	free(old);
	return 0;
}

void agp_http_metrics_stop(struct agp_http_metrics *http)
{
	if (!http)
		return;
	MHD_stop_daemon(http->daemon);
	pthread_mutex_destroy(&http->log_lock);
	pthread_mutex_destroy(&http->baseline_lock);
	free(http->baseline);
	free(http);
}
