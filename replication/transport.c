/* transport.c: the raft_uv_transport (raft/uv.h) handed to libraft's uv io: libraft's own TCP
 * transport for an ensemble, nothing at all for a standalone server (a one-voter cluster never
 * sends a message, so it listens on nothing and refuses every connect), and in both cases a
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
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>

#include "common/zk_alloc.h"
#include "common/zk_log.h"
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
	char address[REPL_ADDRESS_MAX];	     /* This server's address without client part. */
};

/* A connect in flight: libraft's request and callback, behind our own request to the inner
 * transport so that the connected stream passes through t_connected first. Freed when its
 * timer's handle is closed, after the inner transport called back. */
struct repl_transport_connect {
	struct raft_uv_connect req;	/* Given to the inner transport; data = this. */
	struct raft_uv_connect *outer;	/* libraft's; NULL once answered. */
	raft_uv_connect_cb cb;		/* libraft's. */
	struct repl_transport *rt;
	uv_timer_t timer;		/* The connect's bound; data = this. */
	char address[REPL_ADDRESS_MAX];	/* The peer's address without client part. */
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

/* Make a dead Raft connection fail fast (see the top). Best effort: a socket that refuses an
 * option still works, only slower to notice a partition, so a failure is only logged. */
static void t_tune(struct repl_transport *rt, struct uv_stream_s *stream)
{
	unsigned timeout = rt->user_timeout_ms;
	int one = 1, idle = REPL_TRANSPORT_KEEPALIVE_S, cnt = 2;
	uv_os_fd_t fd;

	if (stream == NULL || stream->type != UV_TCP || uv_fileno((uv_handle_t *)stream, &fd) != 0)
		return;
	if (setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &timeout, sizeof(timeout)) != 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one)) != 0 ||
	    setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle)) != 0 ||
	    setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &idle, sizeof(idle)) != 0 ||
	    setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt)) != 0)
		zk_log_warn("replication: cannot set TCP timeouts on a Raft connection: %s",
			    strerror(errno));
}

static int t_init(struct raft_uv_transport *t, raft_id id, const char *address)
{
	struct repl_transport *rt = t->impl;

	t_raft_address(address, rt->address);
	return rt->tcp ? rt->inner.init(&rt->inner, id, rt->address) : 0;
}

static void t_accepted(struct raft_uv_transport *inner, raft_id id, const char *address,
		       struct uv_stream_s *stream)
{
	struct repl_transport *rt = inner->data;

	t_tune(rt, stream);
	rt->accept_cb(rt->outer, id, address, stream);
}

static int t_listen(struct raft_uv_transport *t, raft_uv_accept_cb cb)
{
	struct repl_transport *rt = t->impl;

	rt->accept_cb = cb;
	return rt->tcp ? rt->inner.listen(&rt->inner, t_accepted) : 0;
}

static void t_connect_freed(uv_handle_t *h)
{
	zk_free(h->data);
}

static void t_stream_freed(uv_handle_t *h)
{
	raft_free(h); /* Allocated by libraft's TCP transport. */
}

/* Give libraft the outcome of its connect, once. */
static void t_answer(struct repl_transport_connect *c, struct uv_stream_s *stream, int status)
{
	struct raft_uv_connect *outer = c->outer;

	c->outer = NULL;
	c->cb(outer, stream, status);
}

static void t_connect_timeout(uv_timer_t *timer)
{
	struct repl_transport_connect *c = timer->data;

	if (c->outer != NULL)
		t_answer(c, NULL, RAFT_NOCONNECTION);
}

/* The inner transport finished a connect (status 0: @stream is ours to hand on; otherwise
 * failed or canceled at close). After the bound libraft was already answered: a late stream
 * is closed. libraft's callback may close the transport; the request is freed a loop
 * iteration later (its timer's close). */
static void t_connected(struct raft_uv_connect *req, struct uv_stream_s *stream, int status)
{
	struct repl_transport_connect *c = req->data;

	uv_close((uv_handle_t *)&c->timer, t_connect_freed);
	if (c->outer == NULL) {
		if (status == 0)
			uv_close((uv_handle_t *)stream, t_stream_freed);
		return;
	}
	if (status == 0)
		t_tune(c->rt, stream);
	t_answer(c, stream, status);
}

static int t_connect(struct raft_uv_transport *t, struct raft_uv_connect *req, raft_id id,
		     const char *address, raft_uv_connect_cb cb)
{
	struct repl_transport *rt = t->impl;
	struct repl_transport_connect *c;
	int rv;

	if (rt->tcp) {
		c = zk_calloc(1, sizeof(*c));
		if (c == NULL)
			return RAFT_NOMEM;
		*c = (struct repl_transport_connect){.req.data = c, .outer = req, .cb = cb, .rt = rt};
		uv_timer_init(rt->loop, &c->timer);
		c->timer.data = c;
		t_raft_address(address, c->address);
		rv = rt->inner.connect(&rt->inner, &c->req, id, c->address, t_connected);
		if (rv != 0) /* The inner transport calls back only after a 0. */
			uv_close((uv_handle_t *)&c->timer, t_connect_freed);
		else
			uv_timer_start(&c->timer, t_connect_timeout, rt->user_timeout_ms, 0);
		return rv;
	}
	snprintf(t->errmsg, sizeof(t->errmsg), "standalone server: no connection to %llu (%s)",
		 (unsigned long long)id, address);
	return RAFT_NOCONNECTION;
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

static void t_inner_closed(struct raft_uv_transport *inner)
{
	struct repl_transport *rt = inner->data;

	uv_timer_start(&rt->timer, t_delay_done, REPL_TRANSPORT_CLOSE_DELAY_MS, 0);
}

static void t_close(struct raft_uv_transport *t, raft_uv_transport_close_cb cb)
{
	struct repl_transport *rt = t->impl;

	rt->close_cb = cb;
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
