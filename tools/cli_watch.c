/* cli_watch: watches in zkfs-cli.
 *
 * `watch [-R] path` needs ZooKeeper 3.6's addWatch (persistent, optionally recursive), which
 * the Debian 3.8 C client does not offer. So it speaks the client protocol itself on one TCP
 * connection (zookeeper.jute: ConnectRequest, AddWatchRequest {path, mode}, WatcherEvent
 * notifications with xid -1, pings with xid -2 every third of the session timeout) and prints
 * each event until SIGINT/SIGTERM, then closes the session.
 *
 * The -w flag of ls/get/stat uses the C client's one-shot watches: the event thread fills
 * struct cli_wait and the main thread waits for it (one-shot mode) or the event is printed at
 * once, as zkCli does (interactive mode). */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/zk_buf.h"
#include "proto/zk_const.h"
#include "tools/cli.h"
#include "client/zkclient.h"
#include "tools/zkc.h"

void cli_wait_init(struct cli_wait *w)
{
	pthread_condattr_t attr;

	memset(w, 0, sizeof(*w));
	pthread_mutex_init(&w->mu, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&w->cv, &attr);
	pthread_condattr_destroy(&attr);
}

void cli_wait_destroy(struct cli_wait *w)
{
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
}

void cli_wait_watcher(zhandle_t *zh, int type, int state, const char *path, void *ctx)
{
	struct cli_wait *w = ctx;

	/* The C client also tells every watcher about connection changes; only an expiry ends
	 * the wait (the watch is gone with the session). */
	if (type == ZOO_SESSION_EVENT && state != ZOO_EXPIRED_SESSION_STATE)
		return;
	pthread_mutex_lock(&w->mu);
	if (w->print_now) {
		printf("\nWATCHER::\n\n");
		cli_print_event(type, state, path);
	}
	w->fired = true;
	w->type = type;
	w->state = state;
	snprintf(w->path, sizeof(w->path), "%s", path != NULL ? path : "");
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

int cli_wait_event(struct cli *c)
{
	struct cli_wait *w = &c->wait;
	struct timespec until;
	int rc = CLI_EXIT_OK;

	if (c->interactive)
		return CLI_EXIT_OK;
	/* What the command printed must be out before a possibly long wait. */
	fflush(stdout);
	pthread_mutex_lock(&w->mu);
	/* Wake every 100 ms to notice SIGINT (the event thread may not be the one it hit). */
	while (!w->fired && !cli_interrupted) {
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_nsec += 100000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&w->cv, &w->mu, &until);
	}
	if (!w->fired)
		rc = CLI_EXIT_INTERRUPTED;
	else if (w->type == ZOO_SESSION_EVENT)
		rc = cli_fail(ZSESSIONEXPIRED, "watch", NULL);
	else
		cli_print_event(w->type, w->state, w->path);
	w->fired = false;
	pthread_mutex_unlock(&w->mu);
	return rc;
}

/* One raw protocol connection for `watch`. */
struct cli_raw {
	int fd;
	int timeout_ms;	   /* Negotiated session timeout. */
	const char *chroot; /* Prefix of server paths, or NULL. */
	size_t chroot_len;
};

static int cli_raw_read_full(int fd, void *p, size_t len)
{
	size_t got = 0;
	ssize_t n;

	while (got < len) {
		n = read(fd, (char *)p + got, len - got);
		if (n == 0)
			return -ECONNRESET;
		if (n < 0 && errno != EINTR)
			return -errno;
		if (n > 0)
			got += (size_t)n;
	}
	return 0;
}

/* Send @b (a frame built from offset 0) and reset it. */
static int cli_raw_send(struct cli_raw *r, struct zk_buf *b)
{
	size_t off = 0;
	ssize_t n;

	zk_buf_put_be32(b, 0, (uint32_t)(b->len - 4));
	while (off < b->len) {
		n = write(r->fd, b->data + off, b->len - off);
		if (n < 0 && errno != EINTR)
			return -errno;
		if (n > 0)
			off += (size_t)n;
	}
	zk_buf_reset(b);
	return 0;
}

/* Read one frame into a malloc'd body. */
static int cli_raw_recv(struct cli_raw *r, uint8_t **body, uint32_t *len)
{
	uint8_t hdr[4];
	int rc = cli_raw_read_full(r->fd, hdr, 4);

	if (rc != 0)
		return rc;
	*len = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 | (uint32_t)hdr[2] << 8 | hdr[3];
	if (*len > (1u << 24))
		return -EBADMSG;
	*body = malloc(*len + 1);
	if (*body == NULL)
		return -ENOMEM;
	rc = cli_raw_read_full(r->fd, *body, *len);
	if (rc != 0)
		free(*body);
	return rc;
}

static uint32_t cli_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* A request: frame length placeholder, then RequestHeader {xid, type}. */
static int cli_raw_header(struct zk_buf *b, int32_t xid, int32_t type)
{
	int rc = zk_buf_append_be32(b, 0);

	if (rc == 0)
		rc = zk_buf_append_be32(b, (uint32_t)xid);
	return rc != 0 ? rc : zk_buf_append_be32(b, (uint32_t)type);
}

/* ConnectRequest {protocolVersion 0, lastZxidSeen 0, timeOut, sessionId 0, passwd[16] 0,
 * readOnly false}; ConnectResponse {protocolVersion, timeOut, sessionId, passwd, readOnly}. */
static int cli_raw_handshake(struct cli_raw *r, struct zk_buf *b, int timeout_ms)
{
	static const uint8_t passwd[ZK_SESSION_PASSWD_LEN];
	uint8_t *body;
	uint32_t len;
	int rc = zk_buf_append_be32(b, 0);

	rc = rc ?: zk_buf_append_be32(b, 0);
	rc = rc ?: zk_buf_append_be64(b, 0);
	rc = rc ?: zk_buf_append_be32(b, (uint32_t)timeout_ms);
	rc = rc ?: zk_buf_append_be64(b, 0);
	rc = rc ?: zk_buf_append_be32(b, ZK_SESSION_PASSWD_LEN);
	rc = rc ?: zk_buf_append(b, passwd, sizeof(passwd));
	rc = rc ?: zk_buf_append_u8(b, 0);
	rc = rc ?: cli_raw_send(r, b);
	rc = rc ?: cli_raw_recv(r, &body, &len);
	if (rc != 0)
		return rc;
	r->timeout_ms = len >= 8 ? (int32_t)cli_be32(body + 4) : 0;
	free(body);
	return r->timeout_ms > 0 ? 0 : -ECONNREFUSED;
}

/* AddWatchRequest {path, mode}; its reply carries the ZooKeeper error. */
static int cli_raw_add_watch(struct cli_raw *r, struct zk_buf *b, const char *path, int mode)
{
	size_t plen = strcmp(path, "/") == 0 && r->chroot != NULL ? 0 : strlen(path);
	int rc = cli_raw_header(b, 1, ZK_OP_ADD_WATCH);

	rc = rc ?: zk_buf_append_be32(b, (uint32_t)(r->chroot_len + plen));
	rc = rc ?: zk_buf_append(b, r->chroot != NULL ? r->chroot : "", r->chroot_len);
	rc = rc ?: zk_buf_append(b, path, plen);
	rc = rc ?: zk_buf_append_be32(b, (uint32_t)mode);
	return rc ?: cli_raw_send(r, b);
}

/* Handle one server frame: a reply to addWatch (xid 1), a ping reply, or an event. Returns
 * 0, a negative errno, or a positive ZooKeeper error (negated code) of the addWatch reply. */
static int cli_raw_frame(struct cli_raw *r, uint8_t *body, uint32_t len)
{
	int32_t xid, err, type, state, plen;
	const char *path;

	if (len < 16)
		return -EBADMSG;
	xid = (int32_t)cli_be32(body);
	err = (int32_t)cli_be32(body + 12);
	if (xid == 1)
		return -err;
	if (xid != ZK_XID_WATCH_EVENT)
		return 0;
	if (len < 28)
		return -EBADMSG;
	type = (int32_t)cli_be32(body + 16);
	state = (int32_t)cli_be32(body + 20);
	plen = (int32_t)cli_be32(body + 24);
	if (plen < 0 || (uint32_t)plen > len - 28)
		return -EBADMSG;
	path = (const char *)body + 28;
	body[28 + plen] = 0;
	if (r->chroot != NULL && strncmp(path, r->chroot, r->chroot_len) == 0)
		path = path[r->chroot_len] != '\0' ? path + r->chroot_len : "/";
	cli_print_event(type, state, path);
	return 0;
}

/* Events until interrupted; pings keep the session alive. Returns a CLI_EXIT_*. */
static int cli_raw_loop(struct cli_raw *r, struct zk_buf *b, const char *path)
{
	struct pollfd pfd = {.fd = r->fd, .events = POLLIN};
	uint8_t *body;
	uint32_t len;
	int rc;

	while (!cli_interrupted) {
		rc = poll(&pfd, 1, r->timeout_ms / 3);
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc == 0) {
			rc = cli_raw_header(b, ZK_XID_PING, ZK_OP_PING);
			rc = rc ?: cli_raw_send(r, b);
		} else {
			rc = cli_raw_recv(r, &body, &len);
			if (rc == 0) {
				rc = cli_raw_frame(r, body, len);
				free(body);
			}
		}
		if (rc > 0)
			return cli_fail(-rc, "watch", path);
		if (rc < 0) {
			fprintf(stderr, "zkfs-cli: watch %s: ConnectionLoss (%s)\n", path,
				strerror(-rc));
			return CLI_EXIT_CONNECTION;
		}
	}
	if (cli_raw_header(b, 2, ZK_OP_CLOSE_SESSION) == 0)
		cli_raw_send(r, b);
	return CLI_EXIT_OK;
}

int cli_cmd_watch(struct cli *c, int argc, char **argv)
{
	struct cli_raw r = {.fd = -1};
	struct zkclient_host hosts[16];
	struct zk_buf b;
	int opt, mode = ZK_ADD_WATCH_PERSISTENT, rc;

	optind = 0;
	opterr = 0;
	while ((opt = getopt(argc, argv, "+R")) != -1) {
		if (opt != 'R') {
			fprintf(stderr, "zkfs-cli: watch: unknown option -%c\n", optopt);
			return CLI_EXIT_USAGE;
		}
		mode = ZK_ADD_WATCH_PERSISTENT_RECURSIVE;
	}
	if (argc - optind != 1 || argv[optind][0] != '/') {
		fprintf(stderr, "zkfs-cli: watch: needs one absolute path\n");
		return CLI_EXIT_USAGE;
	}
	if (zkclient_hosts_parse(c->hosts, hosts, 16, &r.chroot) < 0)
		return cli_fail(ZBADARGUMENTS, "watch", c->hosts);
	r.chroot_len = r.chroot != NULL ? strlen(r.chroot) : 0;
	r.fd = zkclient_tcp_connect(c->hosts, c->connect_ms);
	if (r.fd < 0)
		return cli_fail(ZCONNECTIONLOSS, "watch", argv[optind]);
	zk_buf_init(&b);
	rc = cli_raw_handshake(&r, &b, c->session_ms);
	rc = rc ?: cli_raw_add_watch(&r, &b, argv[optind], mode);
	rc = rc != 0 ? cli_fail(ZCONNECTIONLOSS, "watch", argv[optind])
		     : cli_raw_loop(&r, &b, argv[optind]);
	zk_buf_close(&b);
	close(r.fd);
	return rc;
}
