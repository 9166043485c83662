/* zkc: see zkc.h. Session start-up follows the C client's contract (zookeeper.h): the global
 * watcher sees ZOO_SESSION_EVENT with ZOO_CONNECTED_STATE once the handshake completes, and
 * ZOO_EXPIRED_SESSION_STATE / ZOO_AUTH_FAILED_STATE when the session can never be used. */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "proto/zk_const.h"
#include "tools/zkc.h"

/* Attached to each handle as its context: the connect wait and the user's watcher. */
struct zkc_session {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int state;	     /* Last session state seen (ZOO_*_STATE). */
	watcher_fn watcher;  /* User watcher for node events, or NULL. */
	void *watcher_ctx;   /* Borrowed. */
};

void zkc_log_setup(int verbose)
{
	static FILE *devnull;

	if (verbose <= 0) {
		/* The library writes its own lines (connection retries, ...) to the stream; scripts
		 * read our stderr for the error name only. */
		if (devnull == NULL)
			devnull = fopen("/dev/null", "w");
		if (devnull != NULL)
			zoo_set_log_stream(devnull);
		zoo_set_debug_level(ZOO_LOG_LEVEL_ERROR);
		return;
	}
	zoo_set_log_stream(stderr);
	zoo_set_debug_level(verbose == 1 ? ZOO_LOG_LEVEL_WARN : ZOO_LOG_LEVEL_DEBUG);
}

static void zkc_watcher(zhandle_t *zh, int type, int state, const char *path, void *ctx)
{
	struct zkc_session *s = ctx;

	if (type == ZOO_SESSION_EVENT) {
		pthread_mutex_lock(&s->mu);
		s->state = state;
		pthread_cond_broadcast(&s->cv);
		pthread_mutex_unlock(&s->mu);
		return;
	}
	if (s->watcher != NULL)
		s->watcher(zh, type, state, path, s->watcher_ctx);
}

static struct zkc_session *zkc_session_new(watcher_fn watcher, void *watcher_ctx)
{
	struct zkc_session *s = calloc(1, sizeof(*s));
	pthread_condattr_t attr;

	if (s == NULL)
		return NULL;
	pthread_mutex_init(&s->mu, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&s->cv, &attr);
	pthread_condattr_destroy(&attr);
	s->watcher = watcher;
	s->watcher_ctx = watcher_ctx;
	return s;
}

static void zkc_session_free(struct zkc_session *s)
{
	pthread_cond_destroy(&s->cv);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

/* Wait until the session is connected or can never be; returns ZOK or ZCONNECTIONLOSS. */
static int zkc_session_wait(struct zkc_session *s, int deadline_ms)
{
	struct timespec until;
	int rc = ZOK;

	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += deadline_ms / 1000;
	until.tv_nsec += (long)(deadline_ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&s->mu);
	while (s->state != ZOO_CONNECTED_STATE && s->state != ZOO_READONLY_STATE) {
		if (s->state == ZOO_EXPIRED_SESSION_STATE || s->state == ZOO_AUTH_FAILED_STATE ||
		    pthread_cond_timedwait(&s->cv, &s->mu, &until) == ETIMEDOUT) {
			rc = ZCONNECTIONLOSS;
			break;
		}
	}
	pthread_mutex_unlock(&s->mu);
	return rc;
}

int zkc_connect(const char *hosts, int session_ms, int deadline_ms, watcher_fn watcher,
		void *watcher_ctx, zhandle_t **out)
{
	struct zkc_session *s = zkc_session_new(watcher, watcher_ctx);
	zhandle_t *zh;
	int rc;

	if (s == NULL)
		return ZSYSTEMERROR;
	zh = zookeeper_init(hosts, zkc_watcher, session_ms, NULL, s, 0);
	if (zh == NULL) {
		rc = errno == EINVAL ? ZBADARGUMENTS : ZCONNECTIONLOSS;
		goto err_after_session;
	}
	rc = zkc_session_wait(s, deadline_ms);
	if (rc != ZOK)
		goto err_after_init;
	*out = zh;
	return ZOK;

err_after_init:
	zookeeper_close(zh);
err_after_session:
	zkc_session_free(s);
	return rc;
}

void zkc_close(zhandle_t *zh)
{
	struct zkc_session *s = (struct zkc_session *)zoo_get_context(zh);

	zookeeper_close(zh);
	zkc_session_free(s);
}

/* Codes only the C client returns (not in ZooKeeper's KeeperException table). */
static const struct {
	int rc;
	const char *name;
} client_errors[] = {
	{ZINVALIDSTATE, "InvalidState"},
	{ZSSLCONNECTIONERROR, "SSLConnectionError"},
	{ZCLOSING, "Closing"},
	{ZNOTHING, "Nothing"},
};

#define N_CLIENT_ERRORS (sizeof(client_errors) / sizeof(client_errors[0]))

const char *zkc_err_name(int rc)
{
	for (size_t i = 0; i < N_CLIENT_ERRORS; i++) {
		if (client_errors[i].rc == rc)
			return client_errors[i].name;
	}
	return zk_err_name(rc);
}

int zkc_err_parse(const char *name, int *rc)
{
	/* ZooKeeper's codes run from 0 down to -127 and the client's extras sit in that range. */
	for (int code = 0; code >= -127; code--) {
		const char *n = zkc_err_name(code);

		if (strcmp(n, "Unknown") != 0 && strcasecmp(n, name) == 0) {
			*rc = code;
			return 0;
		}
	}
	return -1;
}

const char *zkc_event_name(int type)
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

const char *zkc_state_name(int state)
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

/* Parse one "host[:port]" or "[v6]:port" of @len bytes into @h. Returns 0 or -1. */
static int zkc_host_parse(const char *p, size_t len, struct zkc_host *h)
{
	const char *end = p + len, *colon;
	size_t nlen;

	if (len > 0 && p[0] == '[') {
		const char *close = memchr(p, ']', len);

		if (close == NULL)
			return -1;
		nlen = (size_t)(close - p - 1);
		p++;
		colon = close + 1 < end && close[1] == ':' ? close + 1 : NULL;
	} else {
		colon = memrchr(p, ':', len);
		nlen = colon != NULL ? (size_t)(colon - p) : len;
	}
	if (nlen == 0 || nlen >= sizeof(h->name))
		return -1;
	memcpy(h->name, p, nlen);
	h->name[nlen] = '\0';
	if (colon == NULL) {
		strcpy(h->port, "2181");
		return 0;
	}
	len = (size_t)(end - colon - 1);
	if (len == 0 || len >= sizeof(h->port) || strspn(colon + 1, "0123456789") < len)
		return -1;
	memcpy(h->port, colon + 1, len);
	h->port[len] = '\0';
	return 0;
}

int zkc_hosts_parse(const char *hosts, struct zkc_host *out, int max, const char **chroot)
{
	const char *slash = strchr(hosts, '/'), *p = hosts;
	const char *end = slash != NULL ? slash : hosts + strlen(hosts);
	int n = 0;

	if (chroot != NULL)
		*chroot = slash;
	while (p < end) {
		const char *comma = memchr(p, ',', (size_t)(end - p));
		const char *stop = comma != NULL ? comma : end;

		if (n == max || zkc_host_parse(p, (size_t)(stop - p), &out[n]) != 0)
			return -1;
		n++;
		p = comma != NULL ? comma + 1 : end;
	}
	return n > 0 ? n : -1;
}

/* Non-blocking connect bounded by @deadline_ms; returns the (blocking again) socket or -1. */
static int zkc_tcp_try(const struct addrinfo *ai, int deadline_ms)
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

int zkc_tcp_connect(const char *hosts, int deadline_ms)
{
	struct zkc_host h[16];
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res, *ai;
	int n = zkc_hosts_parse(hosts, h, 16, NULL), fd = -1;

	if (n < 0) {
		errno = EINVAL;
		return -1;
	}
	errno = ECONNREFUSED;
	for (int i = 0; i < n && fd < 0; i++) {
		if (getaddrinfo(h[i].name, h[i].port, &hints, &res) != 0)
			continue;
		for (ai = res; ai != NULL && fd < 0; ai = ai->ai_next)
			fd = zkc_tcp_try(ai, deadline_ms);
		freeaddrinfo(res);
	}
	return fd;
}
