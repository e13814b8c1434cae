/*
 * `agentperf fleet`: figures over many hosts' agentperfd, merged exactly from their HDR
 * interval histograms (GET /hlog, collector/export/http_hlog.h, or .hlog files).
 */
#ifndef AGP_TOOLS_CLI_FLEET_H
#define AGP_TOOLS_CLI_FLEET_H

#include <stddef.h>

/*
 * GET url's path (default /hlog when url has none) with query appended ("a=b&c=d", NULL for
 * none) over plain HTTP/1.0, for at most timeout_ms. Returns 0 with *body (malloc'ed,
 * NUL-terminated) and *length for a 200; otherwise *body stays NULL and err says what went
 * wrong, naming the url: -EINVAL a url that is not http://HOST:PORT[/PATH], -EHOSTUNREACH
 * (resolution, connection, time-out: the host is not answering), -EBADMSG an answer that is not
 * a 200 (*status holds its code, err its first line of text), -EFBIG one larger than max_bytes.
 */
int cli_fleet_http_get(const char *url, const char *query, size_t max_bytes, int timeout_ms,
                       unsigned *status, char **body, size_t *length, char *err, size_t errlen);

#endif
