/* transport.c: the raft_uv_transport (raft/uv.h) handed to libraft's uv io. For an ensemble:
 * libraft's own TCP transport listens and reads the handshakes, this file refuses connections
 * that do not come from the claimed member's address and makes the outgoing connections itself
 * (from this server's address); for a standalone server nothing at all (a one-voter cluster
 * never sends a message, so it listens on nothing and refuses every connect); in both cases a
 * delayed close.
 *
 * Why the delay: libraft 0.15 does not track the close of an open segment's writer; when that
 * close completes after everything else, its callback runs uvMaybeFireCloseCb() again on an
 * io that already fired its close callback and was freed (use-after-free, then a second
 * raft close callback: crashes seen in tests/unit/test_replication under gdb; fixed upstream
 * in cowsql/raft PR 45 "Don't call uvMaybeFireCloseCb in uvAliveSegmentWriterCloseCb"). The
 * io waits for its transport to close, so closing the transport a little later (a timer, after
 * libuv has run the pending close callbacks of the segment writers) makes the transport's close
 * the last event, and the io closes once.
 *
 * Every Raft TCP socket, accepted or connected, gets TCP_USER_TIMEOUT (two election timeouts)
 * and a fast keepalive. Why: through a partition libraft's connections stay open, unsent
 * messages sit in TCP's retransmission back-off (minutes by default), and after the heal a
 * server waited up to ~25 s before libraft noticed and reconnected. With the timeout the
 * kernel fails such a connection soon after the peer stops acknowledging, libraft drops it
 * and its next send opens a fresh one. A connect gets the same bound: a SYN sent into the
 * partition is retried by the kernel with back-off (1, 3, 7, 15 s...) and libraft has no
 * timeout of its own, so after the bound libraft is told the connect failed (it retries with a
 * fresh socket a second later) and the late outcome of the old one is discarded.
 *
 * Addresses: a member address also carries the client address after a ';' (membership.c);
 * libraft's TCP transport is given only the part before it ("host:raft_port:peer_port", of
 * which it reads host and raft port), in a copy that lives as long as it may be read (libraft
 * keeps the pointer given to init). So its handshake and buffers see what they saw before the
 * client part existed. */
#include <assert.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/zk_alloc.h"
#include "common/zk_log.h"
#include "replication/quorum_tls.h"
#include "replication/replication_int.h"

/* Long enough for the segment writers' handle closes (next loop iterations). */
#define REPL_TRANSPORT_CLOSE_DELAY_MS 20
/* Keepalive on an idle Raft connection: first probe after 1 s, then every 1 s. */
#define REPL_TRANSPORT_KEEPALIVE_S 1

struct repl_transport {
	uv_timer_t timer;		     /* Delays the close callback. */
	uv_loop_t *loop;
	struct raft_uv_transport *outer;     /* The one libraft's io uses. */
	struct raft_uv_transport inner;	     /* libraft's TCP transport (ensemble only). */
	bool tcp;
	raft_uv_accept_cb accept_cb;	     /* The io's, called with @outer. */
	raft_uv_transport_close_cb close_cb;
	unsigned user_timeout_ms;	     /* TCP_USER_TIMEOUT of every Raft socket. */
	raft_id id;			     /* This server's id (handshakes). */
	struct repl_transport_connect *connects; /* Connects in flight. */
	struct repl_qtls *qtls;		     /* sslQuorum (quorum_tls.h), or NULL. */
	uv_tcp_t listener;		     /* sslQuorum: the Raft port (else libraft's). */
	bool listening;			     /* listener was initialised. */
	int closing;			     /* Closes still to complete before the delay. */
	char address[REPL_ADDRESS_MAX];	     /* This server's address without client part. */
};

/* A connect in flight (see "Outgoing connections" above t_connect). Freed when its timer's
 * handle is closed, after the stream was handed to libraft or closed. */
struct repl_transport_connect {
	struct raft_uv_connect *outer;	/* libraft's; NULL once answered. */
	raft_uv_connect_cb cb;		/* libraft's. */
	struct repl_transport *rt;
	uv_stream_t *stream;		/* raft_malloc'ed: libraft frees it once handed over. A
					   uv_tcp_t; with sslQuorum a uv_pipe_t once the link is
					   ready (NULL before). */
	struct repl_qtls_link *link;	/* sslQuorum: the link being set up, or NULL. */
	uv_connect_t connect;
	uv_write_t write;
	uv_timer_t timer;		/* The connect's bound; data = this. */
	bool finished;			/* Answered (stream handed over or being closed). */
	struct repl_transport_connect *next, *prev; /* rt->connects while not finished. */
	uint8_t handshake[24 + REPL_ADDRESS_MAX + 8]; /* libraft's handshake, see t_handshake. */
	size_t handshake_len;
};

/* Copy member address @address without its client part into @out (REPL_ADDRESS_MAX bytes). */
static void t_raft_address(const char *address, char *out)
{
	size_t n = repl_address_raft_len(address);

	if (n >= REPL_ADDRESS_MAX)
		n = REPL_ADDRESS_MAX - 1;
	memcpy(out, address, n);
	out[n] = '\0';
}

/* Make a dead quorum connection fail fast (see the top). Best effort: a socket that refuses
 * an option still works, only slower to notice a partition, so a failure is only logged. */
void repl_tcp_tune(struct repl *r, uv_stream_t *stream)
{
	unsigned timeout = 2 * r->cfg.election_timeout_ms;
	int one = 1, idle = REPL_TRANSPORT_KEEPALIVE_S, cnt = 2;
	uv_os_fd_t fd;

	if (stream == NULL || stream->type != UV_TCP || uv_fileno((uv_handle_t *)stream, &fd) != 0)
		return;
	if (setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &timeout, sizeof(timeout)) != 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one)) != 0 ||
	    setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle)) != 0 ||
	    setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &idle, sizeof(idle)) != 0 ||
	    setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt)) != 0)
		zk_log_warn("replication: cannot set TCP timeouts on a quorum connection: %s",
			    strerror(errno));
}

static struct repl *t_repl(struct repl_transport *rt)
{
	return REPL_CONTAINER(rt->outer, struct repl, transport);
}

static int t_init(struct raft_uv_transport *t, raft_id id, const char *address)
{
	struct repl_transport *rt = t->impl;

	t_raft_address(address, rt->address);
	rt->id = id;
	return rt->tcp ? rt->inner.init(&rt->inner, id, rt->address) : 0;
}

static void t_stream_freed(uv_handle_t *h);

/* Without quorum TLS the Raft port trusts addresses: a connection is handed to libraft only
 * when it comes from the configured host of the server id its handshake claims. Anything else
 * (a non-member, or a member's address claiming another id: a forged RequestVote with the
 * disrupt flag would depose the leader) is closed and logged. */
static bool t_allowed(struct repl_transport *rt, raft_id id, struct uv_stream_s *stream)
{
	struct repl *r = t_repl(rt);
	char ip[64] = "?";

	if (repl_peer_ip(stream, ip, sizeof(ip)) == 0 && repl_member_at(r, id, ip))
		return true;
	repl_refused(r, ip, "replication: Raft connection from %s claiming server id %llu "
		     "refused: not that member's configured address", ip, (unsigned long long)id);
	return false;
}

static void t_accepted(struct raft_uv_transport *inner, raft_id id, const char *address,
		       struct uv_stream_s *stream)
{
	struct repl_transport *rt = inner->data;

	if (!t_allowed(rt, id, stream)) {
		uv_close((uv_handle_t *)stream, t_stream_freed);
		return;
	}
	repl_tcp_tune(t_repl(rt), stream);
	rt->accept_cb(rt->outer, id, address, stream);
}

/* sslQuorum, accepting: libraft's handshake (see t_handshake) is the claim; it is taken out
 * of the stream, as libraft's own listener would have read it. */
static uint64_t t_get64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static int t_claim(const uint8_t *p, size_t n, uint64_t *id, size_t *consumed)
{
	uint64_t len;

	if (n < 24)
		return -EAGAIN;
	len = t_get64(p + 16);
	if (t_get64(p) != 1 || len == 0 || len > REPL_ADDRESS_MAX || len % 8 != 0)
		return -EBADMSG;
	if (n < 24 + len)
		return -EAGAIN;
	*id = t_get64(p + 8);
	*consumed = 24 + (size_t)len;
	return 0;
}

static void t_stream_freed(uv_handle_t *h);

/* sslQuorum: the link of a proven member is ready; hand its plain end to libraft. */
static void t_tls_accepted(void *data, int fd, uint64_t id, const uint8_t *claim,
			   size_t claim_len, const char *ip)
{
	struct repl_transport *rt = data;
	uv_pipe_t *pipe = raft_malloc(sizeof(*pipe));
	char address[REPL_ADDRESS_MAX + 1];
	size_t n = claim_len - 24;

	(void)ip;
	memcpy(address, claim + 24, n);
	address[n] = '\0';
	if (pipe == NULL) {
		close(fd);
		return;
	}
	uv_pipe_init(rt->loop, pipe, 0);
	if (uv_pipe_open(pipe, fd) != 0) {
		close(fd);
		uv_close((uv_handle_t *)pipe, t_stream_freed);
		return;
	}
	rt->accept_cb(rt->outer, id, address, (uv_stream_t *)pipe);
}

static void t_tls_connection(uv_stream_t *listener, int status)
{
	struct repl_transport *rt = listener->data;

	if (status == 0)
		repl_qtls_accept(rt->qtls, listener, t_claim, t_tls_accepted, rt);
}

static int t_tls_listen(struct repl_transport *rt)
{
	struct repl_server self;
	char buf[REPL_ADDRESS_MAX];
	struct sockaddr_in sa;
	int rv;

	if (repl_address_parse(rt->address, buf, sizeof(buf), &self) != 0 ||
	    uv_ip4_addr(self.host, self.raft_port, &sa) != 0)
		return RAFT_INVALID;
	uv_tcp_init(rt->loop, &rt->listener);
	rt->listener.data = rt;
	rt->listening = true;
	rv = uv_tcp_bind(&rt->listener, (const struct sockaddr *)&sa, 0);
	if (rv == 0)
		rv = uv_listen((uv_stream_t *)&rt->listener, 64, t_tls_connection);
	if (rv != 0) {
		snprintf(rt->outer->errmsg, sizeof(rt->outer->errmsg), "listen on %s:%u: %s",
			 self.host, self.raft_port, uv_strerror(rv));
		return RAFT_IOERR;
	}
	return 0;
}

static int t_listen(struct raft_uv_transport *t, raft_uv_accept_cb cb)
{
	struct repl_transport *rt = t->impl;

	rt->accept_cb = cb;
	if (rt->qtls != NULL)
		return t_tls_listen(rt);
	return rt->tcp ? rt->inner.listen(&rt->inner, t_accepted) : 0;
}

static void t_connect_freed(uv_handle_t *h)
{
	zk_free(h->data);
}

static void t_stream_freed(uv_handle_t *h)
{
	raft_free(h); /* libraft's allocator: libraft frees the streams it is handed. */
}

/* Outgoing connections are made here rather than by libraft's TCP transport so that they
 * leave from this server's own configured address (bound before the connect): without quorum
 * TLS the other members accept a Raft connection only from the claimed member's address, and
 * the kernel would otherwise pick the source (on a multi-homed host or with members on
 * 127.0.0.x, not the configured one). What follows the TCP connect is libraft's handshake
 * (src/uv_tcp_connect.c of libraft 0.15): protocol version 1, the server id and the size of
 * the address buffer as little-endian 64-bit words, then the NUL-terminated address padded to
 * 8 bytes; libraft's listener on the other side reads exactly that. */
static void t_put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void t_handshake(struct repl_transport_connect *c)
{
	size_t len = strlen(c->rt->address) + 1, padded = (len + 7) / 8 * 8;

	memset(c->handshake, 0, sizeof(c->handshake));
	t_put64(c->handshake, 1);
	t_put64(c->handshake + 8, c->rt->id);
	t_put64(c->handshake + 16, padded);
	memcpy(c->handshake + 24, c->rt->address, len);
	c->handshake_len = 24 + padded;
}

static void t_connect_stream_closed(uv_handle_t *h)
{
	struct repl_transport_connect *c = h->data;

	raft_free(h);
	uv_close((uv_handle_t *)&c->timer, t_connect_freed);
}

/* The connect ends with @status (0: the stream goes to libraft). Once only. */
static void t_connect_finish(struct repl_transport_connect *c, int status)
{
	struct raft_uv_connect *outer = c->outer;

	if (c->finished)
		return;
	c->finished = true;
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		c->rt->connects = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	c->outer = NULL;
	if (c->link != NULL)
		repl_qtls_cancel(c->link);
	c->link = NULL;
	if (status == 0) {
		repl_tcp_tune(t_repl(c->rt), c->stream);
		c->cb(outer, (struct uv_stream_s *)c->stream, 0);
		uv_close((uv_handle_t *)&c->timer, t_connect_freed);
		return;
	}
	c->cb(outer, NULL, status);
	if (c->stream == NULL) {
		uv_close((uv_handle_t *)&c->timer, t_connect_freed);
		return;
	}
	c->stream->data = c;
	uv_close((uv_handle_t *)c->stream, t_connect_stream_closed);
}

static void t_connect_timeout(uv_timer_t *timer)
{
	t_connect_finish(timer->data, RAFT_NOCONNECTION);
}

static void t_handshake_written(uv_write_t *w, int status)
{
	struct repl_transport_connect *c = w->data;

	t_connect_finish(c, status == 0 ? 0 : RAFT_NOCONNECTION);
}

static void t_tcp_connected(uv_connect_t *req, int status)
{
	struct repl_transport_connect *c = req->data;
	uv_buf_t buf = uv_buf_init((char *)c->handshake, (unsigned)c->handshake_len);

	if (c->finished)
		return;
	if (status == 0)
		status = uv_write(&c->write, (uv_stream_t *)c->stream, &buf, 1,
				  t_handshake_written);
	if (status != 0)
		t_connect_finish(c, RAFT_NOCONNECTION);
}

/* Start the TCP connect of @c to member address @address, from our own host. */
static int t_connect_start(struct repl_transport_connect *c, const char *address)
{
	struct repl_server peer, self;
	char pbuf[REPL_ADDRESS_MAX], sbuf[REPL_ADDRESS_MAX];
	struct sockaddr_in to, from;
	int rv;

	if (repl_address_parse(address, pbuf, sizeof(pbuf), &peer) != 0 ||
	    repl_address_parse(c->rt->address, sbuf, sizeof(sbuf), &self) != 0 ||
	    uv_ip4_addr(peer.host, peer.raft_port, &to) != 0 ||
	    uv_ip4_addr(self.host, 0, &from) != 0)
		return RAFT_NOCONNECTION;
	rv = uv_tcp_init(c->rt->loop, (uv_tcp_t *)c->stream);
	if (rv != 0)
		return RAFT_NOCONNECTION;
	c->stream->data = c;
	c->connect.data = c;
	c->write.data = c;
	rv = uv_tcp_bind((uv_tcp_t *)c->stream, (const struct sockaddr *)&from, 0);
	if (rv == 0)
		rv = uv_tcp_connect(&c->connect, (uv_tcp_t *)c->stream, (const struct sockaddr *)&to,
				    t_tcp_connected);
	if (rv != 0) {
		uv_close((uv_handle_t *)c->stream, t_stream_freed);
		return RAFT_NOCONNECTION;
	}
	return 0;
}

/* sslQuorum: the link to the member is up (or failed: @fd < 0); libraft gets its plain end. */
static void t_tls_connected(void *data, int fd, uint64_t id, const uint8_t *claim,
			    size_t claim_len, const char *ip)
{
	struct repl_transport_connect *c = data;
	uv_pipe_t *pipe;

	(void)id, (void)claim, (void)claim_len, (void)ip;
	c->link = NULL;
	if (fd < 0) {
		t_connect_finish(c, RAFT_NOCONNECTION);
		return;
	}
	pipe = raft_malloc(sizeof(*pipe));
	if (pipe == NULL) {
		close(fd);
		t_connect_finish(c, RAFT_NOCONNECTION);
		return;
	}
	uv_pipe_init(c->rt->loop, pipe, 0);
	c->stream = (uv_stream_t *)pipe;
	if (uv_pipe_open(pipe, fd) != 0) {
		close(fd);
		t_connect_finish(c, RAFT_NOCONNECTION);
		return;
	}
	t_connect_finish(c, 0);
}

/* sslQuorum: start the link of @c to member @id at @address, from our own host. */
static int t_tls_connect_start(struct repl_transport_connect *c, raft_id id,
			       const char *address)
{
	struct repl_server peer, self;
	char pbuf[REPL_ADDRESS_MAX], sbuf[REPL_ADDRESS_MAX];

	if (repl_address_parse(address, pbuf, sizeof(pbuf), &peer) != 0 ||
	    repl_address_parse(c->rt->address, sbuf, sizeof(sbuf), &self) != 0)
		return RAFT_NOCONNECTION;
	c->link = repl_qtls_connect(c->rt->qtls, self.host, peer.host, peer.raft_port, id,
				    c->handshake, c->handshake_len, t_tls_connected, c);
	return c->link != NULL ? 0 : RAFT_NOCONNECTION;
}

static int t_connect(struct raft_uv_transport *t, struct raft_uv_connect *req, raft_id id,
		     const char *address, raft_uv_connect_cb cb)
{
	struct repl_transport *rt = t->impl;
	struct repl_transport_connect *c;
	int rv;

	if (!rt->tcp) {
		snprintf(t->errmsg, sizeof(t->errmsg),
			 "standalone server: no connection to %llu (%s)", (unsigned long long)id,
			 address);
		return RAFT_NOCONNECTION;
	}
	c = zk_calloc(1, sizeof(*c));
	if (c == NULL)
		return RAFT_NOMEM;
	*c = (struct repl_transport_connect){.outer = req, .cb = cb, .rt = rt};
	if (rt->qtls == NULL) {
		c->stream = raft_malloc(sizeof(uv_tcp_t));
		if (c->stream == NULL) {
			zk_free(c);
			return RAFT_NOMEM;
		}
	}
	t_handshake(c);
	rv = rt->qtls != NULL ? t_tls_connect_start(c, id, address) : t_connect_start(c, address);
	if (rv != 0) {
		zk_free(c);
		return rv;
	}
	uv_timer_init(rt->loop, &c->timer);
	c->timer.data = c;
	uv_timer_start(&c->timer, t_connect_timeout, rt->user_timeout_ms, 0);
	c->next = rt->connects;
	if (rt->connects != NULL)
		rt->connects->prev = c;
	rt->connects = c;
	return 0;
}

static void t_handle_closed(uv_handle_t *h)
{
	struct repl_transport *rt = h->data;
	struct raft_uv_transport *t = rt->outer;
	raft_uv_transport_close_cb cb = rt->close_cb;

	if (rt->tcp)
		raft_uv_tcp_close(&rt->inner);
	zk_free(rt);
	t->impl = NULL;
	if (cb != NULL)
		cb(t);
}

static void t_delay_done(uv_timer_t *timer)
{
	uv_close((uv_handle_t *)timer, t_handle_closed);
}

/* One of the closes t_close started is complete; the delay starts after the last. */
static void t_closed_one(void *arg)
{
	struct repl_transport *rt = arg;

	assert(rt->closing > 0);
	if (--rt->closing == 0)
		uv_timer_start(&rt->timer, t_delay_done, REPL_TRANSPORT_CLOSE_DELAY_MS, 0);
}

static void t_inner_closed(struct raft_uv_transport *inner)
{
	t_closed_one(inner->data);
}

static void t_listener_closed(uv_handle_t *h)
{
	t_closed_one(h->data);
}

static void t_close(struct raft_uv_transport *t, raft_uv_transport_close_cb cb)
{
	struct repl_transport *rt = t->impl;
	struct repl *r = t_repl(rt);

	rt->close_cb = cb;
	rt->closing = 1;
	while (rt->connects != NULL)
		t_connect_finish(rt->connects, RAFT_CANCELED);
	if (rt->listening) {
		rt->closing++;
		uv_close((uv_handle_t *)&rt->listener, t_listener_closed);
	}
	if (rt->qtls != NULL) {
		rt->closing++;
		r->qtls = NULL;
		repl_qtls_close(rt->qtls, t_closed_one, rt);
		rt->qtls = NULL;
	}
	if (repl_refusals_close(r, t_closed_one, rt))
		rt->closing++;
	if (rt->tcp)
		rt->inner.close(&rt->inner, t_inner_closed);
	else
		t_inner_closed(&rt->inner);
}

int repl_transport_init(struct raft_uv_transport *t, uv_loop_t *loop, bool tcp)
{
	struct repl_transport *rt;
	int rv;

	rt = zk_calloc(1, sizeof(*rt));
	if (rt == NULL)
		return -ENOMEM;
	if (tcp) {
		rv = raft_uv_tcp_init(&rt->inner, loop);
		if (rv != 0) {
			zk_free(rt);
			return repl_errno(rv);
		}
	}
	rt->tcp = tcp;
	rt->loop = loop;
	/* @t is always a repl's transport member (init_io), whose cfg has its defaults filled. */
	rt->user_timeout_ms = 2 * REPL_CONTAINER(t, struct repl, transport)->cfg.election_timeout_ms;
	rt->inner.data = rt;
	rt->outer = t;
	if (tcp) {
		rv = repl_qtls_create(REPL_CONTAINER(t, struct repl, transport), &rt->qtls);
		if (rv != 0) {
			raft_uv_tcp_close(&rt->inner);
			zk_free(rt);
			return rv;
		}
		REPL_CONTAINER(t, struct repl, transport)->qtls = rt->qtls;
	}
	uv_timer_init(loop, &rt->timer);
	rt->timer.data = rt;
	memset(t, 0, sizeof(*t));
	t->impl = rt;
	t->init = t_init;
	t->listen = t_listen;
	t->connect = t_connect;
	t->close = t_close;
	return 0;
}
