/* session.c: one ZooKeeper session on a libuv loop (the state machine of client_int.h): open and
 * close, the own-loop thread, host rotation, the ConnectRequest/ConnectResponse handshake
 * (zookeeper.jute ConnectRequest/ConnectResponse), pings and the receive deadline (the Java
 * client's readTimeout = 2/3 of the negotiated timeout, a ping after 1/3 idle), the flush step
 * and the dispatch of every received frame by xid. */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "client/client_int.h"
#include "common/zk_alloc.h"
#include "common/zk_log.h"

/* Pause after a whole round of hosts failed, so a dead ensemble is not hammered: 100 ms after
 * the first round, doubling with each round that fails again, at most 1 s (and so at most one
 * log line per host a second while nothing answers). */
#define ZKCLIENT_BACKOFF_MS 100
#define ZKCLIENT_BACKOFF_MAX_MS 1000

/* How long close waits for the closeSession reply. */
#define ZKCLIENT_CLOSE_MS 1000

static uint64_t session_now(struct zkclient *c)
{
	return uv_now(c->loop);
}

void zkclient_queue_push(struct zkclient_queue *q, struct zkclient_req *req)
{
	req->next = NULL;
	if (q->tail != NULL)
		q->tail->next = req;
	else
		q->head = req;
	q->tail = req;
}

struct zkclient_req *zkclient_queue_pop(struct zkclient_queue *q)
{
	struct zkclient_req *req = q->head;

	if (req == NULL)
		return NULL;
	q->head = req->next;
	if (q->head == NULL)
		q->tail = NULL;
	return req;
}

void zkclient_req_free(struct zkclient_req *req)
{
	zk_free(req->frame);
	zk_free(req->wpath);
	zk_free(req);
}

void zkclient_session_event(struct zkclient *c, int state)
{
	pthread_mutex_lock(&c->mu);
	pthread_cond_broadcast(&c->connected_cv);
	pthread_mutex_unlock(&c->mu);
	if (c->watch_cb != NULL)
		c->watch_cb(c->watch_ctx, ZK_EVENT_NONE, state, NULL);
}

static void session_on_flush(uv_prepare_t *p);

void zkclient_session_kick(struct zkclient *c)
{
	if (c->state != ZKCLIENT_CLOSED)
		uv_prepare_start(&c->flush, session_on_flush);
}

void zkclient_session_fail(struct zkclient *c, struct zkclient_req *req, int err)
{
	req->err = err;
	zkclient_queue_push(&c->done, req);
	zkclient_session_kick(c);
}

/* Complete a request locally (no reply body). */
static void session_complete(struct zkclient *c, struct zkclient_req *req, int err)
{
	struct zkclient_result r = {.err = err, .op = req->op};

	if (req->frame == NULL && req->remove != 0 && err == ZK_ERR_OK)
		zkclient_watch_remove(c, req->remove, req->wpath);
	if (req->cb != NULL)
		req->cb(req->ctx, &r);
	zkclient_req_free(req);
}

/* Move every request of @q to `done` with @err. */
static void session_fail_queue(struct zkclient *c, struct zkclient_queue *q, int err)
{
	struct zkclient_req *req;

	while ((req = zkclient_queue_pop(q)) != NULL)
		zkclient_session_fail(c, req, err);
}

/* Complete the addauth callbacks waiting for a reply with @err. */
static void session_fail_auths(struct zkclient *c, int err)
{
	struct zkclient_auth_wait *w;

	while ((w = c->auth_waits) != NULL) {
		struct zkclient_result r = {.err = err, .op = ZK_OP_AUTH};

		c->auth_waits = w->next;
		if (w->cb != NULL)
			w->cb(w->ctx, &r);
		zk_free(w);
	}
	c->auth_waits_tail = &c->auth_waits;
}

/* Give the frame of @req its xid and put it in `out` and `sent`. */
static void session_send(struct zkclient *c, struct zkclient_req *req)
{
	if (req->xid == 0) {
		req->xid = c->next_xid++;
		if (c->next_xid <= 0)
			c->next_xid = 1;
		req->frame[4] = (uint8_t)((uint32_t)req->xid >> 24);
		req->frame[5] = (uint8_t)((uint32_t)req->xid >> 16);
		req->frame[6] = (uint8_t)((uint32_t)req->xid >> 8);
		req->frame[7] = (uint8_t)req->xid;
	}
	if (zk_buf_append(&c->out, req->frame, req->len) != 0) {
		zkclient_session_fail(c, req, ZK_ERR_SYSTEMERROR);
		return;
	}
	zkclient_queue_push(&c->sent, req);
	zkclient_session_kick(c);
}

/* addauth: remembered for every later connection, sent now when connected; its reply (xid -4)
 * completes the first waiting callback. */
static void session_auth_add(struct zkclient *c, struct zkclient_req *req)
{
	struct zkclient_auth *a = zk_calloc(1, sizeof(*a));
	struct zkclient_auth_wait *w = zk_calloc(1, sizeof(*w));
	struct zkclient_auth **pp;

	if (a == NULL || w == NULL) {
		zk_free(a);
		zk_free(w);
		zkclient_session_fail(c, req, ZK_ERR_SYSTEMERROR);
		return;
	}
	a->frame = req->frame;
	a->len = req->len;
	req->frame = NULL;
	pp = &c->auths;
	while (*pp != NULL)
		pp = &(*pp)->next;
	*pp = a;
	*w = (struct zkclient_auth_wait){.auth = a, .cb = req->cb, .ctx = req->ctx};
	*c->auth_waits_tail = w;
	c->auth_waits_tail = &w->next;
	zkclient_req_free(req);
	if (c->state == ZKCLIENT_CONNECTED && zk_buf_append(&c->out, a->frame, a->len) == 0)
		zkclient_session_kick(c);
}

void zkclient_session_submit(struct zkclient *c, struct zkclient_req *req)
{
	if (c->state == ZKCLIENT_EXPIRED || c->state >= ZKCLIENT_CLOSING) {
		zkclient_session_fail(c, req, c->state == ZKCLIENT_EXPIRED
						      ? ZK_ERR_SESSIONEXPIRED
						      : ZK_ERR_CONNECTIONLOSS);
		return;
	}
	if (req->frame == NULL) { /* removeWatches, local only: done in the flush step. */
		zkclient_session_fail(c, req, ZK_ERR_OK);
		return;
	}
	if (req->op == ZK_OP_AUTH) {
		session_auth_add(c, req);
		return;
	}
	switch (c->state) {
	case ZKCLIENT_CONNECTED:
		session_send(c, req);
		return;
	case ZKCLIENT_EXPIRED:
		zkclient_session_fail(c, req, ZK_ERR_SESSIONEXPIRED);
		return;
	case ZKCLIENT_CLOSING:
	case ZKCLIENT_CLOSED:
		zkclient_session_fail(c, req, ZK_ERR_CONNECTIONLOSS);
		return;
	default:
		zkclient_queue_push(&c->pending, req);
	}
}

/* ---- Attempts --------------------------------------------------------------------------- */

static void session_on_timer(uv_timer_t *t);

static void session_timer(struct zkclient *c, uint64_t ms, uint64_t repeat)
{
	uv_timer_start(&c->timer, session_on_timer, ms, repeat);
}

/* Wait before the next round of hosts. */
static void session_backoff(struct zkclient *c)
{
	uint64_t ms = ZKCLIENT_BACKOFF_MS;

	for (int i = 0; i < c->failed_rounds && ms < ZKCLIENT_BACKOFF_MAX_MS; i++)
		ms *= 2;
	c->failed_rounds++;
	c->failed_round = 0;
	c->state = ZKCLIENT_BACKOFF;
	session_timer(c, ms < ZKCLIENT_BACKOFF_MAX_MS ? ms : ZKCLIENT_BACKOFF_MAX_MS, 0);
}

/* The next address of the current host, else the first of the next host. */
static void session_next_address(struct zkclient *c)
{
	if (c->addr_i + 1 < c->n_addrs) {
		c->addr_i++;
		return;
	}
	c->addr_i = 0;
	c->host_i = (c->host_i + 1) % c->n_hosts;
}

void zkclient_session_next(struct zkclient *c)
{
	assert(c->conn == NULL);
	for (int tries = 0; tries < c->n_hosts; tries++) {
		session_next_address(c);
		c->state = ZKCLIENT_CONNECTING;
		session_timer(c, (uint64_t)(c->session_ms / c->n_hosts), 0);
		if (zkclient_conn_start(c) == 0)
			return;
		c->failed_round++;
	}
	session_fail_queue(c, &c->pending, ZK_ERR_CONNECTIONLOSS);
	session_backoff(c);
}

void zkclient_session_lost(struct zkclient *c, const char *why)
{
	bool was_connected = c->state == ZKCLIENT_CONNECTED;
	struct zkclient_host *h = &c->hosts[c->host_i];

	assert(c->state == ZKCLIENT_CONNECTING || c->state == ZKCLIENT_HANDSHAKE ||
	       was_connected || c->state == ZKCLIENT_CLOSING);
	zk_log_info("zkclient: connection to %s:%s lost: %s", h->name, h->port, why);
	zkclient_conn_drop(c);
	zk_buf_reset(&c->in);
	zk_buf_reset(&c->out);
	session_fail_queue(c, &c->sent, ZK_ERR_CONNECTIONLOSS);
	session_fail_queue(c, &c->pending, ZK_ERR_CONNECTIONLOSS);
	session_fail_auths(c, ZK_ERR_CONNECTIONLOSS);
	if (c->state == ZKCLIENT_CLOSING)
		return;
	if (was_connected) {
		c->failed_round = 0;
		zkclient_session_event(c, ZK_STATE_DISCONNECTED);
	} else {
		c->failed_round++;
	}
	if (c->failed_round >= c->n_hosts && c->addr_i + 1 >= c->n_addrs) {
		session_backoff(c);
		return;
	}
	zkclient_session_next(c);
}

/* TCP (and TLS) is up: send the ConnectRequest. Called by conn.c. */
void zkclient_session_handshake(struct zkclient *c)
{
	struct jute_connect_request cr = {
		.last_zxid_seen = c->last_zxid,
		.timeout = c->session_ms,
		.session_id = c->session_id,
		.passwd = {c->passwd, ZK_SESSION_PASSWD_LEN},
		.has_read_only = true,
	};
	struct zk_buf b;
	size_t start;

	zk_buf_init(&b);
	start = jute_frame_begin(&b);
	if (start == JUTE_FRAME_NOMEM || jute_encode_connect_request(&b, &cr) != 0) {
		zk_buf_close(&b);
		zkclient_session_lost(c, "out of memory");
		return;
	}
	jute_frame_end(&b, start);
	c->state = ZKCLIENT_HANDSHAKE;
	if (zkclient_conn_write(c, b.data, b.len) != 0)
		zkclient_session_lost(c, "write failed");
	zk_buf_close(&b);
}

static void session_expired(struct zkclient *c)
{
	zk_log_warn("zkclient: session 0x%llx expired", (unsigned long long)c->session_id);
	zkclient_conn_drop(c);
	c->state = ZKCLIENT_EXPIRED;
	uv_timer_stop(&c->timer);
	session_fail_queue(c, &c->sent, ZK_ERR_SESSIONEXPIRED);
	session_fail_queue(c, &c->pending, ZK_ERR_SESSIONEXPIRED);
	session_fail_auths(c, ZK_ERR_SESSIONEXPIRED);
	zkclient_session_event(c, ZK_STATE_EXPIRED);
}

/* Re-send the credentials, the watches, then what waited for the connection. */
static void session_connected(struct zkclient *c, const struct jute_connect_response *cr)
{
	struct zkclient_req *req;
	uint64_t period;

	c->state = ZKCLIENT_CONNECTED;
	c->failed_round = c->failed_rounds = 0;
	atomic_store(&c->timeout, cr->timeout);
	atomic_store(&c->session_id, cr->session_id);
	if (cr->passwd.len == ZK_SESSION_PASSWD_LEN)
		memcpy(c->passwd, cr->passwd.p, ZK_SESSION_PASSWD_LEN);
	for (struct zkclient_auth *a = c->auths; a != NULL; a = a->next)
		if (zk_buf_append(&c->out, a->frame, a->len) != 0)
			break;
	if (c->ever_connected && zkclient_watch_resend(c) != 0)
		zk_log_warn("zkclient: out of memory re-setting watches");
	c->ever_connected = true;
	while ((req = zkclient_queue_pop(&c->pending)) != NULL)
		session_send(c, req);
	c->last_recv_ms = c->last_send_ms = session_now(c);
	period = (uint64_t)cr->timeout / 6;
	session_timer(c, period > 0 ? period : 1, period > 0 ? period : 1);
	zkclient_session_kick(c);
	zkclient_session_event(c, ZK_STATE_SYNC_CONNECTED);
}

static int session_connect_response(struct zkclient *c, const uint8_t *body, size_t len)
{
	struct jute_connect_response cr;
	struct jute_in in;

	jute_in_init(&in, body, len);
	if (jute_decode_connect_response(&in, &cr) != 0)
		return -EBADMSG;
	if (cr.timeout <= 0) {
		session_expired(c);
		return 0;
	}
	if (c->session_id != 0 && cr.session_id != c->session_id)
		zk_log_warn("zkclient: server gave session 0x%llx instead of 0x%llx",
			    (unsigned long long)cr.session_id, (unsigned long long)c->session_id);
	session_connected(c, &cr);
	return 0;
}

/* ---- Replies ----------------------------------------------------------------------------- */

static void session_event_frame(struct zkclient *c, struct jute_in *in)
{
	struct jute_watcher_event ev;
	struct jute_str path;
	char *p;

	if (jute_decode_watcher_event(in, &ev) != 0 || ev.path.len < 0) {
		zk_log_warn("zkclient: malformed watch event ignored");
		return;
	}
	path = zkclient_unchroot(c, ev.path);
	p = zk_strndup(path.p, (size_t)path.len);
	if (p == NULL) {
		zk_log_error("zkclient: out of memory: watch event on %.*s lost", path.len, path.p);
		return;
	}
	zkclient_watch_fired(c, ev.type, p);
	if (c->watch_cb != NULL)
		c->watch_cb(c->watch_ctx, ev.type, ev.state, p);
	zk_free(p);
}

static void session_auth_reply(struct zkclient *c, int err)
{
	struct zkclient_auth_wait *w = c->auth_waits;
	struct zkclient_result r = {.err = err, .op = ZK_OP_AUTH};

	if (err != ZK_ERR_OK) {
		zk_log_warn("zkclient: addauth refused: %s", zk_err_name(err));
		zkclient_session_event(c, ZK_STATE_AUTH_FAILED);
	}
	if (w == NULL)
		return; /* A re-sent credential. */
	c->auth_waits = w->next;
	if (c->auth_waits == NULL)
		c->auth_waits_tail = &c->auth_waits;
	if (err != ZK_ERR_OK) {
		/* Forget it so that reconnects do not send it again. */
		for (struct zkclient_auth **pp = &c->auths; *pp != NULL; pp = &(*pp)->next) {
			if (*pp == w->auth) {
				*pp = w->auth->next;
				zk_free(w->auth->frame);
				zk_free(w->auth);
				break;
			}
		}
	}
	if (w->cb != NULL)
		w->cb(w->ctx, &r);
	zk_free(w);
}

/* The reply to the head of `sent`: decode, register watches, complete. */
static int session_reply(struct zkclient *c, const struct jute_reply_header *h, struct jute_in *in)
{
	struct zkclient_req *req = zkclient_queue_pop(&c->sent);
	struct zkclient_result r;
	int rc;

	if (h->zxid > 0)
		c->last_zxid = h->zxid;
	rc = zkclient_reply_decode(req->op, in->p + in->pos, in->len - in->pos, &r);
	if (rc != 0) {
		zkclient_session_fail(c, req, rc == -ENOMEM ? ZK_ERR_SYSTEMERROR
							    : ZK_ERR_MARSHALLINGERROR);
		return rc == -ENOMEM ? 0 : rc;
	}
	r.err = r.err != ZK_ERR_OK ? r.err : h->err;
	r.zxid = h->zxid;
	zkclient_reply_unchroot(c, &r);
	if (req->watch != ZKCLIENT_W_NONE &&
	    (r.err == ZK_ERR_OK || (r.err == ZK_ERR_NONODE && req->watch == ZKCLIENT_W_EXIST)))
		zkclient_watch_add(c, req->watch, req->wpath);
	if (req->remove != 0 && r.err == ZK_ERR_OK)
		zkclient_watch_remove(c, req->remove, req->wpath);
	if (req->cb != NULL)
		req->cb(req->ctx, &r);
	zkclient_result_free(&r);
	zkclient_req_free(req);
	return 0;
}

/* One whole frame of a connected session. Returns 0 or -EBADMSG. */
static int session_frame(struct zkclient *c, const uint8_t *body, size_t len)
{
	struct jute_reply_header h;
	struct jute_in in;

	jute_in_init(&in, body, len);
	if (jute_decode_reply_header(&in, &h) != 0)
		return -EBADMSG;
	switch (h.xid) {
	case ZK_XID_PING:
		return 0;
	case ZK_XID_WATCH_EVENT:
		session_event_frame(c, &in);
		return 0;
	case ZK_XID_AUTH:
		session_auth_reply(c, h.err);
		return 0;
	case ZK_XID_SET_WATCHES:
		if (h.err != ZK_ERR_OK)
			zk_log_warn("zkclient: setWatches2 refused: %s", zk_err_name(h.err));
		return 0;
	}
	if (c->sent.head == NULL || c->sent.head->xid != h.xid) {
		zk_log_warn("zkclient: reply xid %d does not match the request in flight (%d)",
			    h.xid, c->sent.head != NULL ? c->sent.head->xid : 0);
		return -EBADMSG;
	}
	return session_reply(c, &h, &in);
}

int zkclient_session_input(struct zkclient *c)
{
	size_t pos = 0, body;
	int rc = 0;

	c->last_recv_ms = session_now(c);
	while (c->conn != NULL && rc == 0) {
		rc = jute_frame_peek(c->in.data + pos, c->in.len - pos, ZKCLIENT_MAX_FRAME, &body);
		if (rc == -EAGAIN) {
			rc = 0;
			break;
		}
		if (rc != 0)
			break;
		if (c->state == ZKCLIENT_HANDSHAKE)
			rc = session_connect_response(c, c->in.data + pos + 4, body);
		else
			rc = session_frame(c, c->in.data + pos + 4, body);
		pos += 4 + body;
	}
	if (rc != 0 || c->conn == NULL)
		return rc != 0 ? -EBADMSG : 0;
	if (pos > 0) {
		memmove(c->in.data, c->in.data + pos, c->in.len - pos);
		c->in.len -= pos;
	}
	return 0;
}

/* ---- Timer, flush, close ----------------------------------------------------------------- */

static void session_close_finish(struct zkclient *c);

static void session_ping(struct zkclient *c)
{
	static const uint8_t ping[12] = {0, 0, 0, 8, 0xff, 0xff, 0xff, 0xfe, 0, 0, 0, ZK_OP_PING};

	if (zk_buf_append(&c->out, ping, sizeof(ping)) == 0)
		zkclient_session_kick(c);
}

static void session_on_timer(uv_timer_t *t)
{
	struct zkclient *c = t->data;
	uint64_t now = session_now(c), timeout = (uint64_t)atomic_load(&c->timeout);

	switch (c->state) {
	case ZKCLIENT_CONNECTING:
	case ZKCLIENT_HANDSHAKE:
		zkclient_session_lost(c, "connect timeout");
		return;
	case ZKCLIENT_BACKOFF:
		zkclient_session_next(c);
		return;
	case ZKCLIENT_CONNECTED:
		if (now - c->last_recv_ms > timeout * 2 / 3) {
			zkclient_session_lost(c, "no answer within 2/3 of the session timeout");
			return;
		}
		if (now - c->last_send_ms >= timeout / 3)
			session_ping(c);
		return;
	case ZKCLIENT_CLOSING:
		session_close_finish(c);
		return;
	default:
		return;
	}
}

static void session_complete_done(struct zkclient *c)
{
	struct zkclient_req *req;

	while ((req = zkclient_queue_pop(&c->done)) != NULL)
		session_complete(c, req, req->err);
}

static void session_on_flush(uv_prepare_t *p)
{
	struct zkclient *c = p->data;

	uv_prepare_stop(p);
	if (c->out.len > 0 && c->conn != NULL && c->state != ZKCLIENT_HANDSHAKE &&
	    c->state != ZKCLIENT_CONNECTING) {
		int rc = zkclient_conn_write(c, c->out.data, c->out.len);

		zk_buf_reset(&c->out);
		c->last_send_ms = session_now(c);
		if (rc != 0)
			zkclient_session_lost(c, "write failed");
	}
	session_complete_done(c);
}

static void session_on_handle_closed(uv_handle_t *h)
{
	struct zkclient *c = h->data;

	if (--c->open_handles > 0)
		return;
	zkclient_closed(c);
}

static void session_close_finish(struct zkclient *c)
{
	if (c->state == ZKCLIENT_CLOSED)
		return;
	if (c->conn != NULL)
		zkclient_conn_drop(c);
	c->state = ZKCLIENT_CLOSED;
	session_fail_queue(c, &c->sent, ZK_ERR_CONNECTIONLOSS);
	session_fail_queue(c, &c->pending, ZK_ERR_CONNECTIONLOSS);
	session_fail_auths(c, ZK_ERR_CONNECTIONLOSS);
	session_complete_done(c);
	zkclient_session_event(c, ZK_STATE_CLOSED);
	uv_close((uv_handle_t *)&c->timer, session_on_handle_closed);
	uv_close((uv_handle_t *)&c->flush, session_on_handle_closed);
	uv_close((uv_handle_t *)&c->async, session_on_handle_closed);
}

void zkclient_session_init_handles(struct zkclient *c)
{
	uv_timer_init(c->loop, &c->timer);
	uv_prepare_init(c->loop, &c->flush);
	c->timer.data = c->flush.data = c;
	c->open_handles = 3;
}

static void session_on_close_reply(void *ctx, const struct zkclient_result *r)
{
	(void)r;
	session_close_finish(ctx);
}

void zkclient_session_close(struct zkclient *c)
{
	struct jute_request jr = {.hdr = {.type = ZK_OP_CLOSE_SESSION}};
	struct zkclient_req *req;

	if (c->state != ZKCLIENT_CONNECTED) {
		session_close_finish(c);
		return;
	}
	req = zkclient_req_build(&jr, session_on_close_reply, c);
	if (req == NULL) {
		session_close_finish(c);
		return;
	}
	session_send(c, req);
	c->state = ZKCLIENT_CLOSING;
	session_timer(c, ZKCLIENT_CLOSE_MS, 0);
}
