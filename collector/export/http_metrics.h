/*
 * The Prometheus endpoint: GET /metrics over HTTP (libmicrohttpd, its own
 * polling thread). Every request reads the newest RCU snapshot; nothing the
 * server does can make the drain thread wait.
 *
 * Listen address: "port" alone binds 127.0.0.1:port (loopback by default, so a
 * host exposes nothing until its operator names an address); "host:port",
 * "[v6]:port", "*:port" (every IPv4 interface) and "[::]:port" name one.
 */
#ifndef AGP_COLLECTOR_HTTP_METRICS_H
#define AGP_COLLECTOR_HTTP_METRICS_H

#include <stddef.h>
#include <sys/socket.h>

#include "collector/analysis/baseline.h"
#include "collector/collector.h"
#include "collector/export/prometheus.h"

struct agp_http_metrics;

/*
 * Parses a listen address into *address. 0, or -EINVAL with err naming the text
 * and what was wrong (outputs untouched).
 */
int agp_http_parse_listen(const char *listen, struct sockaddr_storage *address,
                          socklen_t *address_len, char *err, size_t errlen);

/*
 * Starts serving. The exporter and collector must outlive the server. 0 and *out, or a
 * negative errno with the message in agp_last_error() (bad address, port in use, ...).
 */
int agp_http_metrics_start(const char *listen, struct agp_collector *collector,
                           struct agp_prom_exporter *exporter, struct agp_http_metrics **out);

/* The port actually bound (useful with port 0). */
unsigned agp_http_metrics_port(const struct agp_http_metrics *http);

/* Replaces the baseline the gauges show (copied; NULL: none). 0 or -ENOMEM. */
int agp_http_metrics_set_baseline(struct agp_http_metrics *http,
                                  const struct agp_baseline *baseline);

/* Stops the server (waits for requests in flight) and frees it. NULL is fine. */
void agp_http_metrics_stop(struct agp_http_metrics *http);

#endif
