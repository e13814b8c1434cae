/*
 * The smallest HTTP client `agentperf fleet` needs: one GET over HTTP/1.0 (so the answer is
 * never chunked and ends when the server closes), a time limit on the whole exchange, and a
 * bound on what is read. It talks to agentperfd's /hlog only; no TLS, no redirects.
 */
#include "tools/cli_fleet.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* The head of an answer (status line and headers) may take this much. */
#define HEAD_MAX 16384

struct url_parts {
	char host[256];
	char port[8];
	char path[1024];
};

/* "http://HOST:PORT[/PATH]" or "HOST:PORT[/PATH]"; HOST may be "[v6]". 0 or -EINVAL. */
static int parse_url(const char *url, struct url_parts *parts)
{
	const char *rest = url;
	if (strncmp(rest, "http://", 7) == 0)
		rest += 7;
	else if (strstr(rest, "://"))
		return -EINVAL; /* https and the rest: not served by agentperfd */
	const char *host_end;
	const char *host = rest;
	if (*rest == '[') {
		host = rest + 1;
		host_end = strchr(host, ']');
		if (!host_end || host_end[1] != ':')
			return -EINVAL;
		rest = host_end + 2;
	} else {
		host_end = strchr(rest, ':');
		if (!host_end)
			return -EINVAL;
		rest = host_end + 1;
	}
	size_t host_length = (size_t)(host_end - host);
	size_t port_length = strspn(rest, "0123456789");
	if (host_length == 0 || host_length >= sizeof(parts->host) || port_length == 0 ||
	    port_length >= sizeof(parts->port) || (rest[port_length] && rest[port_length] != '/'))
		return -EINVAL;
	memcpy(parts->host, host, host_length);
	parts->host[host_length] = '\0';
	memcpy(parts->port, rest, port_length);
	parts->port[port_length] = '\0';
	const char *path = rest + port_length;
	if (!*path || strcmp(path, "/") == 0)
		path = "/hlog";
	if (strlen(path) >= sizeof(parts->path) || strpbrk(path, " \r\n?#"))
		return -EINVAL;
	snprintf(parts->path, sizeof(parts->path), "%s", path);
	return 0;
}

static long long now_ms(void)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

/* Waits until fd is ready for events or the deadline passes. 0, or -ETIMEDOUT / -errno. */
static int wait_ready(int fd, short events, long long deadline_ms)
{
	for (;;) {
		long long left = deadline_ms - now_ms();
		if (left <= 0)
			return -ETIMEDOUT;
		struct pollfd poll_fd = {.fd = fd, .events = events};
		int ready = poll(&poll_fd, 1, (int)left);
		if (ready > 0)
			return 0;
		if (ready < 0 && errno != EINTR)
			return -errno;
	}
}

/* A connected stream socket to parts, by the deadline. fd, or -errno. */
static int connect_to(const struct url_parts *parts, long long deadline_ms)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
	struct addrinfo *found = NULL;
	if (getaddrinfo(parts->host, parts->port, &hints, &found) || !found)
		return -EHOSTUNREACH;
	int fd = -1, error = -EHOSTUNREACH;
	for (struct addrinfo *a = found; a; a = a->ai_next) {
		fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
		            a->ai_protocol);
		if (fd < 0) {
			error = -errno;
			continue;
		}
		if (connect(fd, a->ai_addr, a->ai_addrlen) == 0)
			break;
		error = errno == EINPROGRESS ? wait_ready(fd, POLLOUT, deadline_ms) : -errno;
		if (!error) {
			int so_error = 0;
			socklen_t so_length = sizeof(so_error);
			getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &so_length);
			error = -so_error;
		}
		if (!error)
			break;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(found);
	return fd >= 0 ? fd : error;
}

static int send_all(int fd, const char *bytes, size_t length, long long deadline_ms)
{
	while (length) {
		ssize_t sent = send(fd, bytes, length, MSG_NOSIGNAL);
		if (sent < 0 && errno != EAGAIN && errno != EINTR)
			return -errno;
		if (sent < 0) {
			int error = wait_ready(fd, POLLOUT, deadline_ms);
			if (error)
				return error;
			continue;
		}
		bytes += sent;
		length -= (size_t)sent;
	}
	return 0;
}

/* Everything the server sends until it closes, at most limit bytes. 0, -EFBIG or -errno. */
static int receive_all(int fd, size_t limit, long long deadline_ms, char **out, size_t *out_length)
{
	size_t capacity = 65536, length = 0;
	char *data = malloc(capacity);
	if (!data)
		return -ENOMEM;
	for (;;) {
		if (length + 1 == capacity) {
			char *grown = capacity > limit ? NULL : realloc(data, capacity * 2);
			if (!grown) {
				free(data);
				return capacity > limit ? -EFBIG : -ENOMEM;
			}
			data = grown;
			capacity *= 2;
		}
		ssize_t got = recv(fd, data + length, capacity - length - 1, 0);
		if (got == 0)
			break;
		if (got < 0 && errno != EAGAIN && errno != EINTR) {
			int error = -errno;
			free(data);
			return error;
		}
		if (got < 0) {
			int error = wait_ready(fd, POLLIN, deadline_ms);
			if (error) {
				free(data);
				return error;
			}
			continue;
		}
		length += (size_t)got;
		if (length > limit) {
			free(data);
			return -EFBIG;
		}
	}
	data[length] = '\0';
	*out = data;
	*out_length = length;
	return 0;
}

int cli_fleet_http_get(const char *url, const char *query, size_t max_bytes, int timeout_ms,
                       unsigned *status, char **body, size_t *length, char *err, size_t errlen)
{
	*body = NULL;
	*status = 0;
	struct url_parts parts;
	if (parse_url(url, &parts)) {
		snprintf(err, errlen, "'%s' is not http://HOST:PORT[/PATH]", url);
		return -EINVAL;
	}
	long long deadline = now_ms() + timeout_ms;
	int fd = connect_to(&parts, deadline);
	if (fd < 0) {
		snprintf(err, errlen, "%s: cannot connect to %s port %s: %s", url, parts.host,
		         parts.port, strerror(-fd));
		return -EHOSTUNREACH;
	}
	char *request = NULL;
	bool v6 = strchr(parts.host, ':') != NULL;
	int request_length = asprintf(
	    &request,
	    "GET %s%s%s HTTP/1.0\r\nHost: %s%s%s:%s\r\nUser-Agent: agentperf-fleet\r\n\r\n",
	    parts.path, query ? "?" : "", query ? query : "", v6 ? "[" : "", parts.host,
	    v6 ? "]" : "", parts.port);
	if (request_length < 0) {
		close(fd);
		snprintf(err, errlen, "%s: out of memory", url);
		return -ENOMEM;
	}
	char *answer = NULL;
	size_t answer_length = 0;
	int error = send_all(fd, request, (size_t)request_length, deadline);
	if (!error)
		error = receive_all(fd, max_bytes + HEAD_MAX, deadline, &answer, &answer_length);
	free(request);
	close(fd);
	if (error == -EFBIG) {
		snprintf(err, errlen, "%s: the answer is larger than %zu bytes", url, max_bytes);
		return -EFBIG;
	}
	if (error) {
		snprintf(err, errlen, "%s: %s", url, strerror(-error));
		return error == -ENOMEM ? -ENOMEM : -EHOSTUNREACH;
	}
	unsigned code = 0;
	char *head_end = strstr(answer, "\r\n\r\n");
	if (sscanf(answer, "HTTP/1.%*[01] %3u", &code) != 1 || !head_end) {
		snprintf(err, errlen, "%s: the answer is not HTTP", url);
		free(answer);
		return -EBADMSG;
	}
	*status = code;
	char *text = head_end + 4;
	size_t text_length = answer_length - (size_t)(text - answer);
	if (code != 200) {
		snprintf(err, errlen, "%s: HTTP %u: %.*s", url, code, (int)strcspn(text, "\r\n"),
		         text);
		free(answer);
		return -EBADMSG;
	}
	memmove(answer, text, text_length + 1);
	*body = answer;
	*length = text_length;
	return 0;
}
