/* names.c: what a client prints and parses (event, state and error names as the Java client
 * prints them) and the four-letter words, which are plain TCP outside any session: the word is
 * sent on a fresh connection and the server answers and closes (ZooKeeper's NIOServerCnxn). */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "client/zkclient.h"

const char *zkclient_event_name(int type)
{
	static const char *const names[] = {
		[ZK_EVENT_NODE_CREATED] = "NodeCreated",
		[ZK_EVENT_NODE_DELETED] = "NodeDeleted",
		[ZK_EVENT_NODE_DATA_CHANGED] = "NodeDataChanged",
		[ZK_EVENT_NODE_CHILDREN_CHANGED] = "NodeChildrenChanged",
		[ZK_EVENT_DATA_WATCH_REMOVED] = "DataWatchRemoved",
		[ZK_EVENT_CHILD_WATCH_REMOVED] = "ChildWatchRemoved",
		[ZK_EVENT_PERSISTENT_WATCH_REMOVED] = "PersistentWatchRemoved",
	};

	if (type >= ZK_EVENT_NODE_CREATED && type <= ZK_EVENT_PERSISTENT_WATCH_REMOVED)
		return names[type];
	return "None";
}

const char *zkclient_state_name(int state)
{
	switch (state) {
	case ZK_STATE_DISCONNECTED:
		return "Disconnected";
	case ZK_STATE_SYNC_CONNECTED:
		return "SyncConnected";
	case ZK_STATE_AUTH_FAILED:
		return "AuthFailed";
	case ZK_STATE_CONNECTED_READ_ONLY:
		return "ConnectedReadOnly";
	case ZK_STATE_SASL_AUTHENTICATED:
		return "SaslAuthenticated";
	case ZK_STATE_CLOSED:
		return "Closed";
	case ZK_STATE_EXPIRED:
		return "Expired";
	}
	return "Unknown";
}

int zkclient_err_parse(const char *name, int *code)
{
	/* ZooKeeper's codes run from 0 down to -127. */
	for (int c = 0; c >= -127; c--) {
		const char *n = zk_err_name(c);

		if (strcmp(n, "Unknown") != 0 && strcasecmp(n, name) == 0) {
			*code = c;
			return 0;
		}
	}
	return -1;
}

/* Non-blocking connect bounded by @deadline_ms; returns the (blocking again) socket or -1. */
static int names_tcp_try(const struct addrinfo *ai, int deadline_ms)
{
	struct pollfd pfd;
	int fd, err = 0;
	socklen_t elen = sizeof(err);

	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
	if (fd < 0)
		return -1;
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
		if (errno != EINPROGRESS)
			goto err_after_socket;
		pfd.fd = fd;
		pfd.events = POLLOUT;
		if (poll(&pfd, 1, deadline_ms) != 1) {
			errno = ETIMEDOUT;
			goto err_after_socket;
		}
		getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen);
		if (err != 0) {
			errno = err;
			goto err_after_socket;
		}
	}
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) != 0)
		goto err_after_socket;
	return fd;

err_after_socket:
	err = errno;
	close(fd);
	errno = err;
	return -1;
}

int zkclient_tcp_connect(const char *hosts, int deadline_ms)
{
	struct zkclient_host h[16];
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res, *ai;
	int n = zkclient_hosts_parse(hosts, h, 16, NULL), fd = -1;

	if (n < 0) {
		errno = EINVAL;
		return -1;
	}
	errno = ECONNREFUSED;
	for (int i = 0; i < n && fd < 0; i++) {
		if (getaddrinfo(h[i].name, h[i].port, &hints, &res) != 0)
			continue;
		for (ai = res; ai != NULL && fd < 0; ai = ai->ai_next)
			fd = names_tcp_try(ai, deadline_ms);
		freeaddrinfo(res);
	}
	return fd;
}

/* Read until EOF into a growing buffer, each read bounded by @deadline_ms. */
static int names_read_all(int fd, int deadline_ms, char **out, size_t *len)
{
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap);
	struct pollfd pfd = {.fd = fd, .events = POLLIN};

	if (buf == NULL)
		return -ENOMEM;
	for (;;) {
		ssize_t r;

		if (n + 1 == cap) {
			char *bigger = realloc(buf, cap * 2);

			if (bigger == NULL) {
				free(buf);
				return -ENOMEM;
			}
			buf = bigger;
			cap *= 2;
		}
		if (poll(&pfd, 1, deadline_ms) != 1) {
			free(buf);
			return -ETIMEDOUT;
		}
		r = read(fd, buf + n, cap - n - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;

			free(buf);
			return -e;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return 0;
}

int zkclient_fourlw(const char *hosts, const char *word, int deadline_ms, char **out, size_t *len)
{
	int fd = zkclient_tcp_connect(hosts, deadline_ms), rc;
	size_t wlen = strlen(word);

	if (fd < 0)
		return -errno;
	if (write(fd, word, wlen) != (ssize_t)wlen) {
		rc = -errno;
		close(fd);
		return rc != 0 ? rc : -EIO;
	}
	rc = names_read_all(fd, deadline_ms, out, len);
	close(fd);
	return rc;
}
