/*
 * A fake agentperfd for tests of the CLI's side of the control protocol: a
 * child process on a Unix socket that answers every request with the same
 * handcrafted reply payload, and reports each connection it accepts by
 * writing one byte to a pipe (the test's witness of what the CLI did).
 */
#ifndef AGP_FAKE_DAEMON_H
#define AGP_FAKE_DAEMON_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/protocol.h"

static inline bool fake_read_exactly(int fd, void *buffer, size_t length)
{
	for (size_t done = 0; done < length;) {
		ssize_t got = read(fd, (char *)buffer + done, length - done);
		if (got <= 0)
			return false;
		done += (size_t)got;
	}
	return true;
}

/* The child's loop: never returns. */
static inline void fake_daemon_serve(int listen_fd, const unsigned char *reply, uint32_t length,
                                     bool close_after_reply, int report_fd)
{
	for (;;) {
		int fd = accept(listen_fd, NULL, NULL);
		if (fd < 0)
			_exit(errno == EINTR ? 0 : 1);
		if (report_fd >= 0 && write(report_fd, "c", 1) != 1)
			_exit(1);
		unsigned char header[AGP_PROTOCOL_FRAME_HEADER];
		static unsigned char payload[AGP_PROTOCOL_REQUEST_MAX];
		while (fake_read_exactly(fd, header, sizeof(header))) {
			uint32_t request = agp_frame_length(header);
			if (request > sizeof(payload) || !fake_read_exactly(fd, payload, request))
				break;
			unsigned char frame[AGP_PROTOCOL_FRAME_HEADER] = {
			    (unsigned char)(length >> 24), (unsigned char)(length >> 16),
			    (unsigned char)(length >> 8), (unsigned char)length};
			if (write(fd, frame, sizeof(frame)) != sizeof(frame) ||
			    write(fd, reply, length) != (ssize_t)length || close_after_reply)
				break;
		}
		close(fd);
	}
}

/* Binds path and forks the fake daemon; its pid, or -1. */
static inline pid_t fake_daemon_start(const char *path, const unsigned char *reply, uint32_t length,
                                      bool close_after_reply, int report_fd)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un address = {.sun_family = AF_UNIX};
	if (fd < 0 || strlen(path) >= sizeof(address.sun_path))
		return -1;
	memcpy(address.sun_path, path, strlen(path) + 1);
	if (bind(fd, (struct sockaddr *)&address, sizeof(address)) || listen(fd, 8)) {
		close(fd);
		return -1;
	}
	pid_t pid = fork();
	if (pid == 0)
		fake_daemon_serve(fd, reply, length, close_after_reply, report_fd);
	close(fd);
	return pid;
}

#endif
