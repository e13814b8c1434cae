/*
 * No lock-out: a real agentperfd (its own deployment, socket folder and
 * /metrics port) while the test holds hundreds of idle connections.
 *
 * - control socket: 200 idle connections held, then `agentperf status` must
 *   answer within 1 s, and the daemon must close the idle ones itself (the
 *   test's read returns 0) down to at most half of its 64-client table;
 * - a full table of clients each in the middle of a request: the CLI is
 *   refused and prints the daemon's reason ("too many clients"), not
 *   "Broken pipe", with exit status 3;
 * - as root, the CLI run as uid 65534 (the socket's modes widened so that it
 *   reaches the daemon's SO_PEERCRED check) prints the uid refusal;
 * - /metrics: a scrape answers within 1 s while 200 idle TCP connections are
 *   open; with 520 from 127.0.0.1, one address gets at most half the room, a
 *   scrape from 127.0.0.2 still answers within 1 s, every idle connection is
 *   closed by the daemon after its idle timeout, and the log says so in a
 *   few lines, not one per connection.
 *
 * Paths of the programs come from CMake: AGP_DAEMON, AGP_CLI.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "tests/support/cli_test_util.h"

#include "common/protocol.h"

#define CONTROL_IDLE     200
#define CONTROL_MAX      64 /* the daemon's default max_clients */
#define HTTP_IDLE        200
#define HTTP_FLOOD       520 /* above the daemon's 512 connections */
#define HTTP_PER_ADDRESS 256 /* half of them */

static char folder[64];
static char name[48];
static char socket_path[160];
static int http_port;
static pid_t daemon_pid = -1;

static double now_s(void)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)now.tv_sec + (double)now.tv_nsec / 1e9;
}

/* A port that was free a moment ago on 127.0.0.1. */
static int free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in address = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001)};
	socklen_t length = sizeof(address);
	assert_int_equal(bind(fd, (struct sockaddr *)&address, sizeof(address)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&address, &length), 0);
	close(fd);
	return ntohs(address.sin_port);
}

static int start(void **state)
{
	(void)state;
	snprintf(folder, sizeof(folder), "/tmp/agp-lockout-XXXXXX");
	if (!mkdtemp(folder) || chdir(folder))
		return -1;
	snprintf(name, sizeof(name), "lockout-%d", (int)getpid());
	char socket_folder[96], config_path[128], log[128], listen[32];
	snprintf(socket_folder, sizeof(socket_folder), "%s/sock", folder);
	setenv("AGENTPERF_SOCKET_DIR", socket_folder, 1);
	snprintf(socket_path, sizeof(socket_path), "%s/%s.sock", socket_folder, name);
	snprintf(config_path, sizeof(config_path), "%s/config.json", folder);
	FILE *config = fopen(config_path, "w");
	fprintf(config, "{\"monitoring\": {\"storage_dir\": \"%s/storage\"}}\n", folder);
	fclose(config);
	http_port = free_port();
	snprintf(listen, sizeof(listen), "127.0.0.1:%d", http_port);
	snprintf(log, sizeof(log), "%s/daemon.log", folder);
	daemon_pid = fork();
	if (daemon_pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
		dup2(fd, 1);
		dup2(fd, 2);
		execl(AGP_DAEMON, AGP_DAEMON, "--name", name, "--config", config_path, "--http",
		      listen, "--unlink-on-exit", (char *)NULL);
		_exit(127);
	}
	for (int waited = 0; waited < 5000; waited += 20) {
		if (ct_cli(folder, name, NULL, "status") == 0)
			return 0;
		ct_sleep_ms(20);
	}
	return -1;
}

static int stop(void **state)
{
	(void)state;
	return ct_daemon_stop(daemon_pid, folder);
}

/*
 * A non-blocking connection to the control socket, retried while the
 * listen queue is full, for at most until deadline: -1 when it never got in.
 */
static int connect_control(double deadline)
{
	struct sockaddr_un address = {.sun_family = AF_UNIX};
	assert_true(strlen(socket_path) < sizeof(address.sun_path));
	memcpy(address.sun_path, socket_path, strlen(socket_path) + 1);
	do {
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		assert_true(fd >= 0);
		if (connect(fd, (struct sockaddr *)&address, sizeof(address)) == 0)
			return fd;
		int error = errno;
		close(fd);
		if (error != EAGAIN)
			fail_msg("connecting to %s: %s", socket_path, strerror(error));
		poll(NULL, 0, 1); /* the queue drains as the daemon accepts */
	} while (now_s() < deadline);
	return -1;
}

/* A TCP connection to /metrics from source address source (host order). */
static int connect_http(uint32_t source)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	struct sockaddr_in from = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(source)};
	assert_int_equal(bind(fd, (struct sockaddr *)&from, sizeof(from)), 0);
	struct sockaddr_in to = {.sin_family = AF_INET,
	                         .sin_port = htons((uint16_t)http_port),
	                         .sin_addr.s_addr = htonl(0x7f000001)};
	if (connect(fd, (struct sockaddr *)&to, sizeof(to)))
		fail_msg("connecting to 127.0.0.1:%d: %s", http_port, strerror(errno));
	return fd;
}

/* Whether the peer has closed fd: a read returns 0 (or the connection was reset). */
static bool closed_by_peer(int fd)
{
	char byte;
	ssize_t got = recv(fd, &byte, 1, MSG_DONTWAIT);
	return got == 0 || (got < 0 && errno == ECONNRESET);
}

/*
 * Waits until at least want of the count connections in fds are closed by
 * the daemon, for at most seconds; returns how many are.
 */
static int wait_closed(const int *fds, int count, int want, double seconds)
{
	double deadline = now_s() + seconds;
	int closed;
	for (;;) {
		closed = 0;
		for (int i = 0; i < count; i++)
			closed += closed_by_peer(fds[i]);
		if (closed >= want || now_s() >= deadline)
			return closed;
		poll(NULL, 0, 20);
	}
}

static void close_all(int *fds, int count)
{
	for (int i = 0; i < count; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

/* Runs the CLI's status; returns its exit status and the seconds it took. */
static int timed_status(double *seconds)
{
	double before = now_s();
	int status = ct_cli(folder, name, NULL, "status");
	*seconds = now_s() - before;
	return status;
}

static void control_socket_idle_flood(void **state)
{
	(void)state;
	int fds[CONTROL_IDLE];
	double deadline = now_s() + 5;
	for (int i = 0; i < CONTROL_IDLE; i++) {
		fds[i] = connect_control(deadline);
		if (fds[i] < 0)
			fail_msg("only %d of %d idle connections got in within 5 s: the daemon "
			         "stopped accepting",
			         i, CONTROL_IDLE);
	}
	double seconds;
	int status = timed_status(&seconds);
	if (status != 0 || seconds >= 1.0)
		fail_msg("agentperf status with %d idle connections held: exit %d after %.3f s "
		         "(wanted 0 within 1 s)",
		         CONTROL_IDLE, status, seconds);
	/* The daemon closes idle connections itself, down to half of its table at most. */
	print_message("agentperf status with %d idle connections held: %.3f s\n", CONTROL_IDLE,
	              seconds);
	int want = CONTROL_IDLE - CONTROL_MAX / 2;
	double before = now_s();
	int closed = wait_closed(fds, CONTROL_IDLE, want, 10);
	print_message("%d of %d idle connections closed by the daemon after %.3f s\n", closed,
	              CONTROL_IDLE, now_s() - before);
	close_all(fds, CONTROL_IDLE);
	if (closed < want)
		fail_msg("the daemon closed %d of %d idle connections within 10 s (wanted %d)",
		         closed, CONTROL_IDLE, want);
	assert_int_equal(kill(daemon_pid, 0), 0);
}

/* The CLI's standard error of its last runs (FOLDER/cli.err), emptied afterwards. */
static char *take_cli_errors(void)
{
	char path[128];
	snprintf(path, sizeof(path), "%s/cli.err", folder);
	FILE *file = fopen(path, "r");
	static char text[8192];
	size_t length = file ? fread(text, 1, sizeof(text) - 1, file) : 0;
	text[length] = '\0';
	if (file)
		fclose(file);
	truncate(path, 0);
	return text;
}

/* Sends one more byte of a request's payload on each of fds. */
static void trickle(const int *fds, int count)
{
	for (int i = 0; i < count; i++)
		(void)!send(fds[i], "\0", 1, MSG_NOSIGNAL | MSG_DONTWAIT);
}

static bool any_refused(const int *fds, int count)
{
	for (int i = 0; i < count; i++) {
		unsigned char header[AGP_PROTOCOL_FRAME_HEADER + 8];
		if (recv(fds[i], header, sizeof(header), MSG_DONTWAIT) > AGP_PROTOCOL_FRAME_HEADER)
			return true;
	}
	return false;
}

static void stalled_requests_make_room(void **state)
{
	(void)state;
	/*
	 * A full table of clients that each sent one byte of a request and then
	 * nothing: stalled, they are closed to make room like idle ones, so the
	 * CLI gets in within 1 s.
	 */
	int fds[CONTROL_IDLE];
	double deadline = now_s() + 5;
	for (int i = 0; i < CONTROL_IDLE; i++) {
		fds[i] = connect_control(deadline);
		assert_true(fds[i] >= 0);
		(void)!send(fds[i], "\0", 1, MSG_NOSIGNAL);
	}
	double seconds;
	int status = timed_status(&seconds);
	print_message("agentperf status with %d half-sent requests held: %.3f s\n", CONTROL_IDLE,
	              seconds);
	close_all(fds, CONTROL_IDLE);
	if (status != 0 || seconds >= 1.0)
		fail_msg("agentperf status with %d stalled half-sent requests held: exit %d after "
		         "%.3f s (wanted 0 within 1 s)",
		         CONTROL_IDLE, status, seconds);
}

static void too_many_clients_refused_with_reason(void **state)
{
	(void)state;
	/*
	 * Clients each in the middle of a request that keep sending it (a byte
	 * every 50 ms: never stalled) cannot be evicted; once a new connection
	 * is refused with EBUSY, every slot stays busy until the request timeout
	 * (5 s), so the CLI is refused too. A child keeps the trickle going
	 * while the CLI runs.
	 */
	int fds[CONTROL_MAX * 3];
	int count = 0;
	bool refused = false;
	double deadline = now_s() + 3, trickled = now_s();
	while (!refused && count < CONTROL_MAX * 3 && now_s() < deadline) {
		int fd = connect_control(deadline);
		assert_true(fd >= 0);
		fds[count++] = fd;
		/* A header for 64 KiB (big-endian), whose payload then comes a byte at a time. */
		(void)!send(fd, "\0\1\0\0", 4,
		            MSG_NOSIGNAL); /* fails once refused: checked below */
		if (now_s() - trickled >= 0.05) {
			trickle(fds, count);
			trickled = now_s();
		}
		refused = any_refused(fds, count);
	}
	if (!refused)
		fail_msg("%d busy half-sent requests, and no connection was refused", count);
	pid_t trickler = fork();
	assert_true(trickler >= 0);
	if (trickler == 0) {
		for (;;) {
			trickle(fds, count);
			usleep(50000);
		}
	}
	take_cli_errors();
	int status = ct_cli(folder, name, NULL, "status");
	char *errors = take_cli_errors();
	kill(trickler, SIGKILL);
	waitpid(trickler, NULL, 0);
	close_all(fds, count);
	if (status != 3 || !strstr(errors, "refused: too many clients") ||
	    strstr(errors, "Broken pipe"))
		fail_msg("agentperf status in a full table: exit %d (wanted 3), stderr:\n%s",
		         status, errors);
	/* Served again once the slow clients are gone. */
	double seconds;
	for (deadline = now_s() + 3; timed_status(&seconds) != 0; ct_sleep_ms(20))
		if (now_s() > deadline)
			fail_msg("agentperf status fails after the slow clients left");
}

static void other_uid_refused_with_reason(void **state)
{
	(void)state;
	if (geteuid() != 0 || access("/usr/bin/setpriv", X_OK)) {
		skip(); /* needs root and setpriv to run the CLI as uid 65534 */
		return;
	}
	/* Widened modes: the connection reaches SO_PEERCRED, which must refuse it. */
	char socket_folder[96], command[600];
	snprintf(socket_folder, sizeof(socket_folder), "%s/sock", folder);
	chmod(folder, 0711);
	chmod(socket_folder, 0711);
	chmod(socket_path, 0666);
	snprintf(command, sizeof(command),
	         "setpriv --reuid=65534 --regid=65534 --clear-groups %s --socket %s status "
	         "2>&1",
	         AGP_CLI, socket_path);
	char *text;
	int status = ct_run(&text, command);
	chmod(socket_path, 0600);
	chmod(socket_folder, 0700);
	chmod(folder, 0700);
	if (status != 3 || !strstr(text, "refused: uid 65534") || strstr(text, "Broken pipe"))
		fail_msg("agentperf status as uid 65534: exit %d (wanted 3), output:\n%s", status,
		         text);
	free(text);
}

/* GET /metrics from source address source; returns the seconds it took, fails past 3 s. */
static double timed_scrape(uint32_t source)
{
	double before = now_s();
	int fd = connect_http(source);
	static const char request[] = "GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
	assert_int_equal(send(fd, request, sizeof(request) - 1, MSG_NOSIGNAL),
	                 (ssize_t)sizeof(request) - 1);
	static char reply[1 << 20];
	size_t length = 0;
	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int left_ms = (int)((before + 3 - now_s()) * 1000);
		if (left_ms <= 0 || poll(&p, 1, left_ms) <= 0)
			fail_msg("no whole /metrics reply within 3 s (%zu bytes so far)", length);
		ssize_t got = recv(fd, reply + length, sizeof(reply) - 1 - length, 0);
		assert_true(got >= 0);
		if (got == 0)
			break;
		length += (size_t)got;
	}
	close(fd);
	reply[length] = '\0';
	if (strncmp(reply, "HTTP/1.", 7) || strncmp(reply + 8, " 200", 4) ||
	    !strstr(reply, "agentperf_"))
		fail_msg("/metrics reply is not a 200 with agentperf metrics:\n%.300s", reply);
	return now_s() - before;
}

static void metrics_idle_flood(void **state)
{
	(void)state;
	static int fds[HTTP_FLOOD];
	for (int i = 0; i < HTTP_IDLE; i++)
		fds[i] = connect_http(0x7f000001);
	double seconds = timed_scrape(0x7f000001);
	if (seconds >= 1.0)
		fail_msg("a scrape with %d idle connections open took %.3f s", HTTP_IDLE, seconds);
	print_message("scrape with %d idle TCP connections open: %.3f s\n", HTTP_IDLE, seconds);
	/* One address may hold at most half of the room: another still gets in. */
	for (int i = HTTP_IDLE; i < HTTP_FLOOD; i++)
		fds[i] = connect_http(0x7f000001);
	int want = HTTP_FLOOD - HTTP_PER_ADDRESS;
	int closed = wait_closed(fds, HTTP_FLOOD, want, 2);
	if (closed < want)
		fail_msg(
		    "%d connections from 127.0.0.1 open: the daemon closed %d (wanted at least "
		    "%d beyond its per-address limit)",
		    HTTP_FLOOD, closed, want);
	seconds = timed_scrape(0x7f000002);
	if (seconds >= 1.0)
		fail_msg("a scrape from 127.0.0.2 with %d idle connections open took %.3f s",
		         HTTP_FLOOD, seconds);
	print_message("scrape from 127.0.0.2 after %d connections from 127.0.0.1: %.3f s\n",
	              HTTP_FLOOD, seconds);
	/* And the idle ones are closed after the idle timeout (5 s). */
	closed = wait_closed(fds, HTTP_FLOOD, HTTP_FLOOD, 10);
	close_all(fds, HTTP_FLOOD);
	if (closed < HTTP_FLOOD)
		fail_msg("the daemon closed %d of %d idle HTTP connections within 10 s", closed,
		         HTTP_FLOOD);
	/* libmicrohttpd's line per closed connection is limited to one a second. */
	char command[200], *lines;
	snprintf(command, sizeof(command), "grep -ci 'connection limit' %s/daemon.log", folder);
	ct_run(&lines, command);
	int count = atoi(lines);
	if (count < 1 || count > 15)
		fail_msg("%d lines about the connection limit in the daemon's log for one flood "
		         "(wanted 1 to 15)",
		         count);
	free(lines);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(control_socket_idle_flood),
	    cmocka_unit_test(stalled_requests_make_room),
	    cmocka_unit_test(too_many_clients_refused_with_reason),
	    cmocka_unit_test(other_uid_refused_with_reason),
	    cmocka_unit_test(metrics_idle_flood),
	};
	return cmocka_run_group_tests(tests, start, stop);
}
