/*
 * The control socket's transport: the socket, its access checks, the client
 * table and the thread that serves it. The verbs' answers come from verbs.c.
 *
 * One poll() loop owns the listening socket, a wake pipe (for stop) and up
 * to max_clients connections. Every client socket is non-blocking. A client
 * is in one of three phases: reading a frame (header, then payload into a
 * buffer sized by the header, never above AGP_PROTOCOL_REQUEST_MAX),
 * writing a reply (the loop stops reading from it until the reply is out, so
 * a client that never reads can pin at most one reply), or idle between
 * requests. Each phase has a deadline; a client past it is closed, and in a
 * full table an idle client, or one that stalled in a request or reply for
 * STALLED_MS, makes room for a new one. Nothing a client does can block the
 * loop, so one client never delays another beyond the time the loop spends
 * answering a request.
 */
#include "collector/control/server.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "collector/control/server_state.h"
#include "collector/control/verbs.h"
#include "common/control_path.h"
#include "common/error.h"
#include "common/group.h"
#include "common/protocol.h"

/* Connections accepted per turn of the loop; see accept_clients. */
#define ACCEPT_BATCH 16

struct client {
	int fd;
	pid_t pid;
	uid_t uid;
	gid_t gid;
	int64_t deadline_ms; /* of the phase it is in */
	int64_t active_ms;   /* when it connected, last sent a byte, or last took a whole reply */
	unsigned char header[AGP_PROTOCOL_FRAME_HEADER];
	size_t header_got;
	unsigned char *payload; /* NULL until the header is complete */
	uint32_t payload_length;
	uint32_t payload_got;
	msgpack_sbuffer reply;
	size_t reply_sent;
	bool close_after_reply;
};

void agp_control_options_default(struct agp_control_options *options)
{
	memset(options, 0, sizeof(*options));
	options->request_timeout_ms = 5000;
	options->idle_timeout_ms = 60000;
	options->max_clients = 64;
	options->pressure_idle_timeout_ms = 2000;
}

const char *agp_control_server_path(const struct agp_control_server *server)
{
	return server->path;
}

static int64_t now_ms(void)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

/* ---------------------------------------------------------------- access */

static int resolve_group(struct agp_control_server *server)
{
	const char *name = server->collector->config.additions.group;
	if (!name[0])
		return 0;
	int error = agp_group_resolve(name, &server->group);
	if (error)
		return error;
	server->has_group = true;
	snprintf(server->group_name, sizeof(server->group_name), "%s", name);
	return 0;
}

/* Whether uid (primary group gid) belongs to the configured group. */
static bool in_group(const struct agp_control_server *server, uid_t uid, gid_t gid)
{
	if (!server->has_group)
		return false;
	if (gid == server->group)
		return true;
	struct passwd *user = getpwuid(uid);
	if (!user)
		return false;
	gid_t groups[256];
	int count = 256;
	if (getgrouplist(user->pw_name, gid, groups, &count) < 0)
		return false;
	for (int i = 0; i < count; i++)
		if (groups[i] == server->group)
			return true;
	return false;
}

/* Makes the socket's folder private (or group-traversable), refusing a folder someone else owns. */
static int prepare_folder(struct agp_control_server *server)
{
	char folder[sizeof(server->path)];
	snprintf(folder, sizeof(folder), "%s", server->path);
	char *slash = strrchr(folder, '/');
	if (!slash || slash == folder)
		return agp__error(-EINVAL, "socket path %s has no folder", server->path);
	*slash = '\0';
	mode_t mode = server->has_group ? 0710 : 0700;
	if (mkdir(folder, mode) && errno != EEXIST)
		return agp__error(-errno, "creating socket folder %s: %s", folder, strerror(errno));
	struct stat info;
	if (lstat(folder, &info))
		return agp__error(-errno, "socket folder %s: %s", folder, strerror(errno));
	if (!S_ISDIR(info.st_mode) || info.st_uid != geteuid())
		return agp__error(-EPERM,
		                  "socket folder %s is not a folder owned by uid %u: refusing it",
		                  folder, (unsigned)geteuid());
	if (server->has_group && chown(folder, (uid_t)-1, server->group))
		return agp__error(-errno, "giving socket folder %s to group %s: %s", folder,
		                  server->group_name, strerror(errno));
	if (chmod(folder, mode))
		return agp__error(-errno, "chmod of socket folder %s: %s", folder, strerror(errno));
	return 0;
}

/* -EADDRINUSE when a daemon answers on path; otherwise removes a stale socket. */
static int clear_stale_socket(const char *path, const struct sockaddr_un *address)
{
	struct stat info;
	if (lstat(path, &info))
		return 0;
	if (!S_ISSOCK(info.st_mode))
		return agp__error(-EEXIST, "%s exists and is not a socket: refusing to replace it",
		                  path);
	int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (probe < 0)
		return -errno;
	int answered = connect(probe, (const struct sockaddr *)address, sizeof(*address)) == 0;
	close(probe);
	if (answered)
		return agp__error(-EADDRINUSE, "another agentperfd serves control socket %s", path);
	unlink(path);
	return 0;
}

/* ---------------------------------------------------------------- clients */

static void client_close(struct agp_control_server *server, unsigned index)
{
	struct client *client = &server->clients[index];
	close(client->fd);
	free(client->payload);
	msgpack_sbuffer_destroy(&client->reply);
	server->clients[index] = server->clients[--server->client_count];
}

static void client_reset_request(struct client *client)
{
	free(client->payload);
	client->payload = NULL;
	client->header_got = 0;
	client->payload_length = client->payload_got = 0;
}

/* Queues an error reply, after which the connection closes. */
static void client_fail(struct agp_control_server *server, struct client *client, int code,
                        const char *message)
{
	fprintf(stderr, "agentperfd: control: client pid %d uid %u: %s\n", (int)client->pid,
	        (unsigned)client->uid, message);
	(void)server;
	agp_protocol_encode_error(&client->reply, code, message);
	client->close_after_reply = true;
	client_reset_request(client);
}

static void client_handle_payload(struct agp_control_server *server, struct client *client)
{
	char message[512];
	struct agp_request request;
	int error = agp_protocol_decode_request(client->payload, client->payload_length, &request,
	                                        message, sizeof(message));
	client_reset_request(client);
	if (error) {
		client_fail(server, client, error, message);
		return;
	}
	agp_control_reply(server, &request, &client->reply);
	json_decref(request.args);
}

/* Reads what is there; false when the client is to be closed now. */
static bool client_read(struct agp_control_server *server, struct client *client)
{
	for (;;) {
		ssize_t got;
		if (client->header_got < AGP_PROTOCOL_FRAME_HEADER)
			got = read(client->fd, client->header + client->header_got,
			           AGP_PROTOCOL_FRAME_HEADER - client->header_got);
		else
			got = read(client->fd, client->payload + client->payload_got,
			           client->payload_length - client->payload_got);
		if (got < 0)
			return errno == EAGAIN || errno == EINTR;
		if (got == 0) {
			if (client->header_got)
				fprintf(
				    stderr,
				    "agentperfd: control: client pid %d closed in the middle of a "
				    "request (truncated)\n",
				    (int)client->pid);
			return false;
		}
		client->active_ms = now_ms();
		if (client->header_got == 0 && client->payload == NULL)
			client->deadline_ms =
			    client->active_ms + server->options.request_timeout_ms;
		if (client->header_got < AGP_PROTOCOL_FRAME_HEADER) {
			client->header_got += (size_t)got;
			if (client->header_got < AGP_PROTOCOL_FRAME_HEADER)
				continue;
			uint32_t length = agp_frame_length(client->header);
			if (length == 0 || length > AGP_PROTOCOL_REQUEST_MAX) {
				char message[128];
				snprintf(message, sizeof(message),
				         "request of %u bytes refused (1 to %u bytes allowed)",
				         length, AGP_PROTOCOL_REQUEST_MAX);
				client_fail(server, client, length ? -EMSGSIZE : -EPROTO, message);
				return true;
			}
			client->payload = malloc(length);
			if (!client->payload) {
				client_fail(server, client, -ENOMEM, "out of memory");
				return true;
			}
			client->payload_length = length;
			continue;
		}
		client->payload_got += (uint32_t)got;
		if (client->payload_got == client->payload_length) {
			client_handle_payload(server, client);
			client->deadline_ms = now_ms() + server->options.request_timeout_ms;
			return true; /* the reply goes out before anything more is read */
		}
	}
}

/* Writes what the socket takes; false when the client is to be closed now. */
static bool client_write(struct agp_control_server *server, struct client *client)
{
	while (client->reply_sent < client->reply.size) {
		ssize_t sent = send(client->fd, client->reply.data + client->reply_sent,
		                    client->reply.size - client->reply_sent, MSG_NOSIGNAL);
		if (sent < 0)
			return errno == EAGAIN || errno == EINTR;
		client->reply_sent += (size_t)sent;
		client->active_ms = now_ms(); /* taking the reply: not stalled */
	}
	client->reply.size = 0;
	client->reply_sent = 0;
	client->active_ms = now_ms();
	client->deadline_ms = client->active_ms + server->options.idle_timeout_ms;
	return !client->close_after_reply;
}

/* Between requests, with nothing half read and no reply pending. */
static bool client_idle(const struct client *client)
{
	return client->header_got == 0 && !client->payload && client->reply.size == 0;
}

/*
 * A client in the middle of a request or a reply that sent or took nothing
 * for this long. A real client writes a request in one go and reads its reply
 * as it comes; one that stops half way holds a slot like an idle one, and in
 * a full table it is closed like one.
 */
#define STALLED_MS 250

static bool client_quiet(const struct client *client, int64_t now)
{
	return client_idle(client) || now - client->active_ms >= STALLED_MS;
}

/* More than half of the table is taken: idle connections get the short timeout. */
static bool under_pressure(const struct agp_control_server *server)
{
	return server->client_count > server->options.max_clients / 2;
}

/* When the client is to be closed: its phase's deadline, earlier when idle under pressure. */
static int64_t client_deadline(const struct agp_control_server *server, const struct client *client)
{
	if (!client_idle(client) || !under_pressure(server))
		return client->deadline_ms;
	int64_t early = client->active_ms + server->options.pressure_idle_timeout_ms;
	return early < client->deadline_ms ? early : client->deadline_ms;
}

/*
 * Makes room in a full table by closing the client quiet the longest (idle,
 * or stalled in a request or reply). False when every client is busy: a
 * request or reply that moved within STALLED_MS, or a request waiting.
 */
static unsigned oldest_quiet(const struct agp_control_server *server, int64_t now)
{
	unsigned oldest = server->client_count;
	for (unsigned i = 0; i < server->client_count; i++)
		if (client_quiet(&server->clients[i], now) &&
		    (oldest == server->client_count ||
		     server->clients[i].active_ms < server->clients[oldest].active_ms))
			oldest = i;
	return oldest; /* client_count when none is quiet */
}

/* Whether a request has arrived that the loop has not read yet. */
static bool input_waiting(const struct client *client)
{
	char byte;
	return recv(client->fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT) > 0;
}

static bool evict_oldest_quiet(struct agp_control_server *server, int64_t now)
{
	/*
	 * A client whose request (or the rest of it) is waiting is not quiet: it
	 * is served in the next turn. Marked active, it is passed over; each
	 * client is looked at once.
	 */
	unsigned oldest = oldest_quiet(server, now);
	for (unsigned looked = 0; oldest < server->client_count; looked++) {
		if (looked == server->client_count)
			return false; /* every quiet client has input waiting */
		/* Input behind an unread reply is not progress: that client is not read now. */
		if (server->clients[oldest].reply.size || !input_waiting(&server->clients[oldest]))
			break;
		server->clients[oldest].active_ms = now;
		oldest = oldest_quiet(server, now);
	}
	if (oldest == server->client_count)
		return false;
	/* One log line a second at most: a flood of connections must not flood the log. */
	const struct client *victim = &server->clients[oldest];
	server->evictions_unlogged++;
	if (now - server->eviction_logged_ms >= 1000) {
		fprintf(stderr,
		        "agentperfd: control: table full (%u clients): closed %llu idle or stalled "
		        "client(s) to make room, the last pid %d, quiet for %lld ms\n",
		        server->client_count, (unsigned long long)server->evictions_unlogged,
		        (int)victim->pid, (long long)(now - victim->active_ms));
		server->evictions_unlogged = 0;
		server->eviction_logged_ms = now;
	}
	client_close(server, oldest);
	return true;
}

/*
 * Why a new connection is refused, in message (empty when it is not): the
 * peer's uid (-EACCES), or a full table that no idle or stalled client can
 * leave (-EBUSY).
 */
static int refusal(struct agp_control_server *server, const struct ucred *peer, char *message,
                   size_t size)
{
	/* Root reads and writes the segment and the storage anyway: refusing it protects nothing.
	 */
	if (peer->uid != geteuid() && peer->uid != 0 && !in_group(server, peer->uid, peer->gid)) {
		snprintf(message, size,
		         "refused: uid %u is neither the daemon's uid %u nor in %s%s",
		         (unsigned)peer->uid, (unsigned)geteuid(),
		         server->has_group ? "group " : "a configured group",
		         server->has_group ? server->group_name : "");
		return -EACCES;
	}
	if (server->client_count >= server->options.max_clients &&
	    !evict_oldest_quiet(server, now_ms())) {
		snprintf(
		    message, size,
		    "refused: too many clients (%u connected, each in the middle of a request or "
		    "sending one); try again in a few seconds",
		    server->client_count);
		return -EBUSY;
	}
	return 0;
}

/* Tells a refused peer why, in one reply frame sent without waiting, and closes it. */
static void refuse(int fd, const struct ucred *peer, int code, const char *message)
{
	fprintf(stderr, "agentperfd: control: client pid %d uid %u gid %u %s\n", (int)peer->pid,
	        (unsigned)peer->uid, (unsigned)peer->gid, message);
	msgpack_sbuffer reply;
	msgpack_sbuffer_init(&reply);
	if (!agp_protocol_encode_error(&reply, code, message))
		(void)!send(fd, reply.data, reply.size, MSG_NOSIGNAL | MSG_DONTWAIT);
	msgpack_sbuffer_destroy(&reply);
	close(fd);
}

/*
 * Accepts at most a batch of waiting connections per turn of the loop, so
 * that a flood of connections cannot evict a client before the loop has read
 * the request it sent right after connecting.
 */
static void accept_clients(struct agp_control_server *server)
{
	for (unsigned batch = 0; batch < ACCEPT_BATCH; batch++) {
		int fd = accept4(server->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		struct ucred peer;
		socklen_t length = sizeof(peer);
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &peer, &length)) {
			close(fd);
			continue;
		}
		char message[256] = "";
		int code = refusal(server, &peer, message, sizeof(message));
		if (code) {
			refuse(fd, &peer, code, message);
			continue;
		}
		struct client *client = &server->clients[server->client_count++];
		memset(client, 0, sizeof(*client));
		client->fd = fd;
		client->pid = peer.pid;
		client->uid = peer.uid;
		client->gid = peer.gid;
		client->active_ms = now_ms();
		client->deadline_ms = client->active_ms + server->options.idle_timeout_ms;
		msgpack_sbuffer_init(&client->reply);
	}
}

static void *server_thread(void *argument)
{
	struct agp_control_server *server = argument;
	struct pollfd *fds = calloc(server->options.max_clients + 2, sizeof(*fds));
	if (!fds) {
		fprintf(stderr, "agentperfd: control: out of memory; control socket disabled\n");
		return NULL;
	}
	for (;;) {
		fds[0] = (struct pollfd){.fd = server->wake[0], .events = POLLIN};
		fds[1] = (struct pollfd){.fd = server->listen_fd, .events = POLLIN};
		int64_t now = now_ms();
		int64_t next_deadline = now + 1000;
		for (unsigned i = 0; i < server->client_count; i++) {
			struct client *client = &server->clients[i];
			bool writing = client->reply.size > 0;
			fds[i + 2] =
			    (struct pollfd){.fd = client->fd, .events = writing ? POLLOUT : POLLIN};
			int64_t deadline = client_deadline(server, client);
			if (deadline < next_deadline)
				next_deadline = deadline;
		}
		int timeout = next_deadline > now ? (int)(next_deadline - now) : 0;
		unsigned polled = server->client_count;
		if (poll(fds, polled + 2, timeout) < 0 && errno != EINTR)
			break;
		if (fds[0].revents)
			break;
		/* Walk backwards: client_close moves the last client into the freed place. */
		now = now_ms();
		for (unsigned i = polled; i-- > 0;) {
			struct client *client = &server->clients[i];
			short revents = fds[i + 2].revents;
			bool keep = true;
			if (revents & (POLLERR | POLLNVAL)) {
				keep = false;
			} else if (client->reply.size > 0) {
				if (revents & (POLLOUT | POLLHUP))
					keep = client_write(server, client);
			} else if (revents & (POLLIN | POLLHUP)) {
				keep = client_read(server, client);
				if (keep && client->reply.size > 0)
					keep = client_write(server, client);
			}
			if (keep && now >= client_deadline(server, client)) {
				fprintf(
				    stderr,
				    "agentperfd: control: client pid %d timed out (%s); closing "
				    "it\n",
				    (int)client->pid,
				    client->reply.size   ? "not reading its reply"
				    : client->header_got ? "request incomplete"
				                         : "idle");
				keep = false;
			}
			if (!keep)
				client_close(server, i);
		}
		if (fds[1].revents & POLLIN)
			accept_clients(server);
	}
	while (server->client_count)
		client_close(server, server->client_count - 1);
	free(fds);
	return NULL;
}

/* ---------------------------------------------------------------- life */

int agp_control_server_start(struct agp_collector *collector,
                             const struct agp_control_options *options,
                             struct agp_control_server **out)
{
	struct agp_control_server *server = calloc(1, sizeof(*server));
	if (!server)
		return -ENOMEM;
	server->collector = collector;
	server->listen_fd = server->wake[0] = server->wake[1] = -1;
	if (options)
		server->options = *options;
	else
		agp_control_options_default(&server->options);
	int error;
	server->clients = calloc(server->options.max_clients, sizeof(*server->clients));
	if (!server->clients) {
		error = -ENOMEM;
		goto free_server;
	}
	if (server->options.socket_path) {
		if (strlen(server->options.socket_path) >= sizeof(server->path)) {
			error = agp__error(-ENAMETOOLONG, "socket path %s is too long",
			                   server->options.socket_path);
			goto free_clients;
		}
		snprintf(server->path, sizeof(server->path), "%s", server->options.socket_path);
	} else if ((error = agp_control_socket_path(collector->segment.deployment, server->path,
	                                            sizeof(server->path)))) {
		goto free_clients;
	}
	if ((error = resolve_group(server)) || (error = prepare_folder(server)))
		goto free_clients;
	struct sockaddr_un address = {.sun_family = AF_UNIX};
	memcpy(address.sun_path, server->path, strlen(server->path) + 1);
	if ((error = clear_stale_socket(server->path, &address)))
		goto free_clients;
	server->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (server->listen_fd < 0) {
		error = agp__error(-errno, "socket(): %s", strerror(errno));
		goto free_clients;
	}
	/* The folder is private, so nobody reaches the socket before its mode is set. */
	if (bind(server->listen_fd, (struct sockaddr *)&address, sizeof(address))) {
		error = agp__error(-errno, "binding control socket %s: %s", server->path,
		                   strerror(errno));
		goto close_listen;
	}
	if (chmod(server->path, server->has_group ? 0660 : 0600) ||
	    (server->has_group && chown(server->path, (uid_t)-1, server->group)) ||
	    listen(server->listen_fd, 64)) {
		error = agp__error(-errno, "setting up control socket %s: %s", server->path,
		                   strerror(errno));
		goto unlink_socket;
	}
	if (pipe2(server->wake, O_CLOEXEC)) {
		error = agp__error(-errno, "pipe2(): %s", strerror(errno));
		goto unlink_socket;
	}
	error = -pthread_create(&server->thread, NULL, server_thread, server);
	if (error) {
		agp__error(error, "starting the control thread: %s", strerror(-error));
		goto close_pipe;
	}
	*out = server;
	return 0;
close_pipe:
	close(server->wake[0]);
	close(server->wake[1]);
unlink_socket:
	unlink(server->path);
close_listen:
	close(server->listen_fd);
free_clients:
	free(server->clients);
free_server:
	free(server);
	return error;
}

void agp_control_server_stop(struct agp_control_server *server)
{
	if (!server)
		return;
	(void)!write(server->wake[1], "x", 1);
	pthread_join(server->thread, NULL);
	close(server->wake[0]);
	close(server->wake[1]);
	close(server->listen_fd);
	unlink(server->path);
	free(server->clients);
	free(server);
}
