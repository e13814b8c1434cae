/*
 * The command line's side of the control protocol: one connection per
 * invocation, opened on the first request and reused, every wait bounded.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "tools/cli.h"
#include "common/control_path.h"
#include "common/protocol.h"
#include <agentperf/agent.h>

#include "common/error.h"

int cli_resolve_path(struct cli *cli)
{
	if (cli->path[0])
		return 0;
	if (cli->socket_path) {
		if (strlen(cli->socket_path) >= sizeof(cli->path)) {
			fprintf(stderr, "agentperf: socket path %s is too long\n",
			        cli->socket_path);
			return CLI_USAGE;
		}
		strcpy(cli->path, cli->socket_path);
		return 0;
	}
	if (agp_control_socket_path(cli->name, cli->path, sizeof(cli->path))) {
		fprintf(stderr, "agentperf: %s\n", agp_last_error());
		cli->path[0] = '\0';
		return CLI_USAGE;
	}
	return 0;
}

/* A connected socket to path, or -1 with errno. */
static int connect_to(const char *path)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	struct sockaddr_un address = {.sun_family = AF_UNIX};
	memcpy(address.sun_path, path, strlen(path) + 1);
	if (connect(fd, (struct sockaddr *)&address, sizeof(address)) == 0)
		return fd;
	int saved = errno;
	close(fd);
	errno = saved;
	return -1;
}

/*
 * Nothing at our own default: the system service's socket, when there is one
 * to try (control_path.h). The path tried first stays in cli->path otherwise.
 */
static int connect_system_service(struct cli *cli)
{
	char system_path[sizeof(cli->path)];
	if (cli->socket_path ||
	    agp_control_system_socket_path(cli->name, system_path, sizeof(system_path)))
		return -1;
	int fd = connect_to(system_path);
	if (fd >= 0)
		strcpy(cli->path, system_path);
	return fd;
}

static int connect_daemon(struct cli *cli)
{
	int status = cli_resolve_path(cli);
	if (status)
		return status;
	int fd = connect_to(cli->path);
	if (fd < 0 && (errno == ENOENT || errno == ECONNREFUSED)) {
		int saved = errno;
		fd = connect_system_service(cli);
		if (fd < 0)
			errno = saved;
	}
	if (fd < 0) {
		if (cli->probing)
			return CLI_UNREACHABLE;
		fprintf(stderr,
		        "agentperf: collector unreachable: cannot connect to %s: %s\n"
		        "  (is agentperfd running for deployment '%s'? start it with `agentperfd "
		        "--name NAME`)\n",
		        cli->path, strerror(errno),
		        cli->name                  ? cli->name
		        : getenv("AGENTPERF_NAME") ? getenv("AGENTPERF_NAME")
		                                   : "default");
		return CLI_UNREACHABLE;
	}
	cli->fd = fd;
	return 0;
}

void cli_disconnect(struct cli *cli)
{
	if (cli->fd >= 0)
		close(cli->fd);
	cli->fd = -1;
}

static int64_t now_ms(void)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

/*
 * Moves length bytes in direction (write when out != NULL); 0 or -errno:
 * -ETIMEDOUT, -ENOTCONN when the peer closed before the first byte came in,
 * -ECONNRESET when it closed after.
 */
static int transfer(int fd, const char *out, char *in, size_t length, int64_t deadline)
{
	size_t done = 0;
	while (done < length) {
		int64_t left = deadline - now_ms();
		if (left <= 0)
			return -ETIMEDOUT;
		struct pollfd p = {.fd = fd, .events = out ? POLLOUT : POLLIN};
		int ready = poll(&p, 1, (int)left);
		if (ready < 0 && errno != EINTR)
			return -errno;
		if (ready <= 0)
			continue;
		ssize_t n = out ? send(fd, out + done, length - done, MSG_NOSIGNAL)
		                : recv(fd, in + done, length - done, 0);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return done ? -ECONNRESET : -ENOTCONN;
		done += (size_t)n;
	}
	return 0;
}

/* Reads one reply frame's payload (malloc'ed) before deadline; 0 or -errno. */
static int read_reply(int fd, int64_t deadline, char **payload, uint32_t *length)
{
	unsigned char header[AGP_PROTOCOL_FRAME_HEADER];
	int error = transfer(fd, NULL, (char *)header, sizeof(header), deadline);
	if (error)
		return error;
	*length = agp_frame_length(header);
	if (*length == 0 || *length > AGP_PROTOCOL_REPLY_MAX)
		return -EPROTO;
	if (!(*payload = malloc(*length)))
		return -ENOMEM;
	error = transfer(fd, NULL, *payload, *length, deadline);
	if (error) {
		free(*payload);
		*payload = NULL;
	}
	return error;
}

/* Sends the request frame and reads the reply's payload; 0 or -errno. */
static int exchange(struct cli *cli, const msgpack_sbuffer *frame, char **payload, uint32_t *length)
{
	int64_t deadline = now_ms() + (cli->timeout_ms > 0 ? cli->timeout_ms : 30000);
	int error = transfer(cli->fd, frame->data, NULL, frame->size, deadline);
	/*
	 * A refused client: the daemon wrote why and closed before the request went
	 * out, so sending fails, but its reply is still there to be read.
	 */
	if (error && error != -EPIPE && error != -ECONNRESET)
		return error;
	int read_error = read_reply(cli->fd, deadline, payload, length);
	if (read_error == -ENOTCONN)
		return -ENOTCONN; /* closed without a word, whether or not the request went out */
	return read_error && error ? error : read_error;
}

/*
 * The exchange on the open connection, or on a new one. A connection kept
 * from an earlier request that the daemon closed in the meantime (idle, or
 * to make room: it only ever closes an idle connection without a reply)
 * gets one new connection and one more try: the request never reached it.
 */
static int exchange_connected(struct cli *cli, const msgpack_sbuffer *frame, char **payload,
                              uint32_t *length, int *status)
{
	bool reused = cli->fd >= 0;
	if (!reused && (*status = connect_daemon(cli)))
		return 0;
	int error = exchange(cli, frame, payload, length);
	if (error == -ENOTCONN && reused) {
		cli_disconnect(cli);
		if ((*status = connect_daemon(cli)))
			return 0;
		error = exchange(cli, frame, payload, length);
	}
	return error;
}

/*
 * How long a client refused for want of room keeps trying: the daemon makes
 * room by closing idle clients and clients stalled for 250 ms, so a table
 * full of those lets us in well within this; one full of busy clients does
 * not, and we say so.
 */
#define BUSY_RETRY_MS 1500

/* A refusal of the connection itself (credentials, or no room), sent before the request was read.
 */
static bool refused(const struct agp_reply *reply)
{
	return !reply->ok && (reply->code == EACCES || reply->code == EBUSY) &&
	       strncmp(reply->error, "refused: ", 9) == 0;
}

/* One request and its decoded reply; 0, or the CLI exit status to return (told on stderr). */
static int request_once(struct cli *cli, const char *verb, const msgpack_sbuffer *frame,
                        struct agp_reply *reply)
{
	char *payload = NULL;
	uint32_t length = 0;
	int status = 0;
	int error = exchange_connected(cli, frame, &payload, &length, &status);
	if (status)
		return status;
	if (error) {
		cli_disconnect(cli);
		fprintf(stderr, "agentperf: collector unreachable: request %s on %s: %s\n", verb,
		        cli->path,
		        error == -ENOTCONN ? "the collector closed the connection without a reply"
		                           : strerror(-error));
		return CLI_UNREACHABLE;
	}
	char message[512];
	error = agp_protocol_decode_reply(payload, length, reply, message, sizeof(message));
	free(payload);
	if (error) {
		cli_disconnect(cli);
		fprintf(stderr, "agentperf: bad reply from %s: %s\n", cli->path, message);
		return CLI_UNREACHABLE;
	}
	return 0;
}

int cli_request_quiet(struct cli *cli, const char *verb, json_t *args, json_t **result, int *code,
                      char *err, size_t errlen)
{
	msgpack_sbuffer frame;
	msgpack_sbuffer_init(&frame);
	int error = agp_protocol_encode_request(&frame, verb, args);
	if (error) {
		msgpack_sbuffer_destroy(&frame);
		snprintf(err, errlen, "cannot encode request %s: %s", verb, strerror(-error));
		return CLI_USAGE;
	}
	struct agp_reply reply;
	int64_t give_up = now_ms() + BUSY_RETRY_MS;
	int status;
	for (int pause_ms = 25;; pause_ms *= 2) {
		status = request_once(cli, verb, &frame, &reply);
		/* Refused for room: nothing of the request was read, so trying again is safe. */
		if (status || !refused(&reply) || reply.code != EBUSY ||
		    now_ms() + pause_ms > give_up)
			break;
		cli_disconnect(cli);
		struct timespec pause = {0, (long)pause_ms * 1000000L};
		nanosleep(&pause, NULL);
	}
	msgpack_sbuffer_destroy(&frame);
	if (status)
		return status;
	if (!reply.ok) {
		if (code)
			*code = reply.code;
		snprintf(err, errlen, "%s", reply.error);
		/* Refused: as good as unreachable, and the user is told why. */
		if (refused(&reply)) {
			cli_disconnect(cli);
			fprintf(stderr, "agentperf: the collector on %s %s\n", cli->path,
			        reply.error);
			return CLI_UNREACHABLE;
		}
		return CLI_VIOLATED;
	}
	*result = reply.result;
	return CLI_OK;
}

bool cli_probe(struct cli *cli)
{
	json_t *result = NULL;
	char message[256];
	cli->probing = true;
	int status =
	    cli_request_quiet(cli, "status", NULL, &result, NULL, message, sizeof(message));
	cli->probing = false;
	json_decref(result);
	return status == CLI_OK;
}

int cli_request(struct cli *cli, const char *verb, json_t *args, json_t **result, int *code)
{
	char message[512] = "";
	int status = cli_request_quiet(cli, verb, args, result, code, message, sizeof(message));
	if (status == CLI_VIOLATED || (status == CLI_USAGE && message[0]))
		fprintf(stderr, "agentperf: %s: %s\n", verb, message);
	return status;
}
