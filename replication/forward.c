/* forward.c: the peer port of an ensemble server (proto/peer.proto over TCP). libraft 0.15
 * has no forwarding, so followers and observers send writes and barriers to the leader here.
 *
 * Wire: each message is a 4-byte big-endian length, then one PeerMsg (at most FWD_MAX_FRAME).
 *
 * Follower side (one outgoing connection, to the leader known to libraft):
 *  1. repl_submit/repl_barrier on a follower: the request gets an id, goes on the sent list
 *     and its PeerForward/PeerBarrier is written (or kept in the outbox while connecting).
 *  2. PeerResult{id, status, index}: an error completes the request; success parks it in
 *     raft.c's waiting list until this server has applied @index (read-your-writes: the
 *     client's answer never precedes the local state that shows its write).
 *  3. The leader changes or the connection drops: every sent request fails with -ENOTCONN
 *     (outcome unknown; the entry may still commit and then shows up in applied_cb).
 * Leader side (any number of incoming connections): each PeerForward becomes a local
 * raft_apply (time_ms restamped with the leader's clock), each PeerBarrier a raft_barrier;
 * the PeerResult goes back when it completes, if the connection is still there, and the
 * follower is sent the commit index at once (see "Commit notices" below).
 * Session touches are batched on the follower and flushed every tick. */
#include <arpa/inet.h>
#include <string.h>
#include <time.h>

#include "common/zk_alloc.h"
#include "common/zk_buf.h"
#include "common/zk_log.h"
#include "proto/peer.pb-c.h"
#include "replication/replication_int.h"

#define FWD_MAX_FRAME (64u << 20)

struct fwd_op;

struct fwd_conn {
	uv_tcp_t tcp;
	struct repl_fwd *f;
	uv_connect_t connect_req; /* Outgoing connection only. */
	struct zk_buf in;	 /* Received bytes not parsed yet. */
	struct fwd_op *ops;	 /* Leader side: requests of this peer in flight. */
	uint64_t peer_id;	 /* Leader side: the follower's server id (its PeerHello), or 0. */
	uint64_t notice_index;	 /* Leader side: index whose commit it waits to learn, or 0. */
	struct fwd_conn *next;	 /* Incoming list. */
	bool connected;
};

/* Leader side: one request of a follower being applied. */
struct fwd_op {
	struct repl_req req;
	struct fwd_conn *conn;	 /* NULL once the connection closed. */
	uint64_t id;
	struct fwd_op *next, *prev;
};

struct fwd_write {
	uv_write_t w;
	uint8_t *data;
};

struct repl_fwd {
	struct repl *r;
	uv_tcp_t listener;
	struct fwd_conn *incoming;
	struct fwd_conn *leader;  /* Outgoing connection, or NULL. */
	uint64_t leader_id;	  /* Server leader points to. */
	uint64_t warned_leader;	  /* Last leader whose peer port was reported unreachable. */
	struct zk_buf outbox;	  /* Frames written once connected. */
	struct repl_req *sent;	  /* Requests waiting for a PeerResult. */
	uint64_t next_id;
	int64_t *touches;
	size_t n_touches, cap_touches;
	uv_check_t notice;	  /* Leader side: runs while a follower waits for a commit notice. */
	raft_io_tick_cb tick;	  /* libraft's tick callback (captured from io->start), or NULL. */
	int (*io_start)(struct raft_io *io, unsigned msecs, raft_io_tick_cb tick,
			raft_io_recv_cb recv); /* The uv io's own start. */
	int open_handles;
	bool closing;
	void (*done)(struct repl *r);
};

static void conn_closed(uv_handle_t *h);

static int64_t wall_clock_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Append one length-prefixed PeerMsg to @out. */
static int frame_msg(struct zk_buf *out, const PeerMsg *msg)
{
	size_t len = peer_msg__get_packed_size(msg);
	int rv;

	rv = zk_buf_reserve(out, len + 4);
	if (rv != 0)
		return rv;
	zk_buf_append_be32(out, (uint32_t)len);
	peer_msg__pack(msg, out->data + out->len);
	out->len += len;
	return 0;
}

static void write_done(uv_write_t *w, int status)
{
	struct fwd_write *fw = REPL_CONTAINER(w, struct fwd_write, w);

	(void)status; /* A failed write shows up as a read error and closes the conn. */
	zk_free(fw->data);
	zk_free(fw);
}

/* Write the bytes of @b on @c; @b is emptied (its memory moves to the write request). */
static int conn_write(struct fwd_conn *c, struct zk_buf *b)
{
	struct fwd_write *fw;
	uv_buf_t buf;
	size_t len;
	int rv;

	fw = zk_malloc(sizeof(*fw));
	if (fw == NULL)
		return -ENOMEM;
	fw->data = zk_buf_steal(b, &len);
	buf = uv_buf_init((char *)fw->data, (unsigned)len);
	rv = uv_write(&fw->w, (uv_stream_t *)&c->tcp, &buf, 1, write_done);
	if (rv != 0) {
		zk_free(fw->data);
		zk_free(fw);
	}
	return rv;
}

static int send_msg(struct fwd_conn *c, const PeerMsg *msg)
{
	struct zk_buf b;
	int rv;

	zk_buf_init(&b);
	rv = frame_msg(&b, msg);
	if (rv == 0)
		rv = conn_write(c, &b);
	zk_buf_close(&b);
	return rv;
}

/* Follower side. */

static void fail_sent(struct repl_fwd *f, int status)
{
	while (f->sent != NULL) {
		struct repl_req *req = f->sent;
		f->sent = req->next;
		req->next = req->prev = NULL;
		repl_req_done(req, status);
	}
	zk_buf_reset(&f->outbox);
}

static void conn_close(struct fwd_conn *c)
{
	struct repl_fwd *f = c->f;
	struct fwd_op *op;

	if (f->leader == c) {
		f->leader = NULL;
		f->leader_id = 0;
		fail_sent(f, -ENOTCONN);
	} else {
		struct fwd_conn **p = &f->incoming;
		while (*p != NULL && *p != c)
			p = &(*p)->next;
		if (*p == c)
			*p = c->next;
	}
	for (op = c->ops; op != NULL; op = op->next)
		op->conn = NULL;
	c->ops = NULL;
	uv_close((uv_handle_t *)&c->tcp, conn_closed);
}

static void on_result(struct repl_fwd *f, const PeerResult *res)
{
	struct repl_req *req = f->sent;

	while (req != NULL && req->fwd_id != res->id)
		req = req->next;
	if (req == NULL)
		return;
	if (req->prev != NULL)
		req->prev->next = req->next;
	else
		f->sent = req->next;
	if (req->next != NULL)
		req->next->prev = req->prev;
	req->next = req->prev = NULL;
	if (res->status != 0)
		repl_req_done(req, res->status);
	else
		repl_wait_applied(f->r, req, (int64_t)res->index);
}

/* Commit notices (leader side). A libraft 0.15 follower learns the commit index only from an
 * AppendEntries, which the leader sends on its own only with new entries or at the next
 * heartbeat (heartbeat_timeout later when idle), and from one that carries entries the follower
 * commits only once it has written them to disk. A follower answering a forwarded write thus
 * waited for a heartbeat, or, with a barrier entry appended as a nudge (the previous way), for
 * a second disk write of its own after the commit: one fsync more than ZooKeeper, whose COMMIT
 * needs no disk. Instead, once the entry is committed and the follower that forwarded it has
 * stored it (its match index in libraft's progress), that follower is marked due for a
 * heartbeat (its progress' last_send, which libraft reads for nothing else, set to 0) and
 * libraft's tick runs once: it sends the follower an empty AppendEntries with the commit
 * index, and the follower applies at once. Followers not marked are treated as at any tick
 * (a follower catching up is not sent more than usual). libraft has no call that sends a
 * heartbeat, hence the tick captured from io->start; a tick is time-driven, so an extra one
 * changes nothing else. The check handle runs it after the poll phase, outside libraft's
 * callbacks (a tick inside them could step the leader down under its own apply loop), once
 * for all the requests completed in that loop turn. Regular heartbeats still deliver the
 * commit if a notice is dropped (leadership lost, follower unknown). */

/* libraft's replication state of follower @id, or NULL when @id is not in the configuration.
 * Leader only (the progress array follows the configuration's order). */
static struct raft_progress *follower_progress(struct raft *raft, uint64_t id)
{
	unsigned i;

	for (i = 0; i < raft->configuration.n; i++)
		if (raft->configuration.servers[i].id == id)
			return &raft->leader_state.progress[i];
	return NULL;
}

static void notice_cb(uv_check_t *h)
{
	struct repl_fwd *f = h->data;
	struct raft *raft = &f->r->raft;
	bool leader = raft_state(raft) == RAFT_LEADER && !f->r->closing;
	bool due = false, waiting = false;
	struct raft_progress *p;
	struct fwd_conn *c;

	for (c = f->incoming; c != NULL; c = c->next) {
		if (c->notice_index == 0)
			continue;
		p = leader ? follower_progress(raft, c->peer_id) : NULL;
		if (p != NULL && p->match_index < c->notice_index) {
			waiting = true; /* Its ack is on the way: looked at again next turn. */
			continue;
		}
		if (p != NULL) {
			p->last_send = 0;
			due = true;
		}
		c->notice_index = 0;
	}
	if (!waiting)
		uv_check_stop(h);
	if (due && f->tick != NULL)
		f->tick(&f->r->io);
}

/* The follower of @c waits to learn that @index is committed (its request completed). */
static void notice_request(struct fwd_conn *c, uint64_t index)
{
	if (index > c->notice_index)
		c->notice_index = index;
	uv_check_start(&c->f->notice, notice_cb);
}

/* io->start of the uv io, wrapped to keep libraft's tick callback (notice_cb). */
static int io_start(struct raft_io *io, unsigned msecs, raft_io_tick_cb tick,
		    raft_io_recv_cb recv)
{
	struct repl *r = REPL_CONTAINER(io, struct repl, io);

	r->fwd->tick = tick;
	return r->fwd->io_start(io, msecs, tick, recv);
}

/* Leader side. */

static void op_done(struct repl_req *req, int status)
{
	struct fwd_op *op = REPL_CONTAINER(req, struct fwd_op, req);
	PeerResult res = PEER_RESULT__INIT;
	PeerMsg msg = PEER_MSG__INIT;

	if (op->conn != NULL) {
		res.id = op->id;
		res.status = status;
		/* A barrier entry is not applied through the fsm, so the follower waits for the
		 * entry before it (what the leader had when the barrier was issued). */
		if (req->kind == REPL_REQ_BARRIER)
			res.index = req->raft.barrier.index - 1;
		else if (req->kind == REPL_REQ_APPLY)
			res.index = req->raft.apply.index;
		msg.body_case = PEER_MSG__BODY_RESULT;
		msg.result = &res;
		send_msg(op->conn, &msg);
		if (status == 0 && req->kind != REPL_REQ_CHANGE && req->kind != REPL_REQ_ADD)
			notice_request(op->conn, res.index);
		if (op->prev != NULL)
			op->prev->next = op->next;
		else
			op->conn->ops = op->next;
		if (op->next != NULL)
			op->next->prev = op->prev;
	}
	zk_free(op);
}

static void reply_error(struct fwd_conn *c, uint64_t id, int status)
{
	PeerResult res = PEER_RESULT__INIT;
	PeerMsg msg = PEER_MSG__INIT;

	res.id = id;
	res.status = status;
	msg.body_case = PEER_MSG__BODY_RESULT;
	msg.result = &res;
	send_msg(c, &msg);
}

/* Re-encode a forwarded txn with the leader's clock: ctime/mtime and TTL decisions use one
 * clock, the leader's, as in ZooKeeper. */
static int restamp(const ProtobufCBinaryData *in, struct zk_buf *out)
{
	struct store_txn *txn;
	int rv;

	rv = store_txn_decode(in->data, in->len, &txn);
	if (rv != 0)
		return rv;
	txn->time_ms = wall_clock_ms();
	rv = store_txn_encode(txn, out);
	store_txn_free(txn);
	return rv;
}

/* Start the leader-side work of a forwarded request into @op. */
static int start_op(struct repl *r, struct fwd_op *op, const PeerMsg *msg)
{
	struct zk_buf b;
	int rv;

	switch (msg->body_case) {
	case PEER_MSG__BODY_FORWARD:
		op->req.kind = REPL_REQ_APPLY;
		zk_buf_init(&b);
		rv = restamp(&msg->forward->txn, &b);
		if (rv == 0)
			rv = repl_append_local(r, &op->req, b.data, b.len);
		zk_buf_close(&b);
		return rv;
	case PEER_MSG__BODY_BARRIER:
		op->req.kind = REPL_REQ_BARRIER;
		return repl_barrier_local(r, &op->req);
	default: {
		const PeerReconfig *rc = msg->reconfig;
		struct repl_server srv = {rc->server_id, rc->host, (uint16_t)rc->raft_port,
					  (uint16_t)rc->peer_port, rc->observer,
					  rc->client_port != 0 ? rc->client_address : NULL,
					  (uint16_t)rc->client_port};
		return repl_reconfig(r, &op->req, (enum repl_change_op)rc->op, &srv, op_done);
	}
	}
}

static uint64_t request_id(const PeerMsg *msg)
{
	switch (msg->body_case) {
	case PEER_MSG__BODY_FORWARD:
		return msg->forward->id;
	case PEER_MSG__BODY_BARRIER:
		return msg->barrier->id;
	default:
		return msg->reconfig->id;
	}
}

static void on_request(struct fwd_conn *c, const PeerMsg *msg)
{
	struct repl *r = c->f->r;
	uint64_t id = request_id(msg);
	struct fwd_op *op;
	int rv;

	if (raft_state(&r->raft) != RAFT_LEADER || r->closing) {
		reply_error(c, id, -ENOTCONN);
		return;
	}
	op = zk_calloc(1, sizeof(*op));
	if (op == NULL) {
		reply_error(c, id, -ENOMEM);
		return;
	}
	op->id = id;
	op->req.repl = r;
	op->req.cb = op_done;
	rv = start_op(r, op, msg);
	if (rv != 0) {
		zk_free(op);
		reply_error(c, id, rv);
		return;
	}
	op->conn = c;
	op->next = c->ops;
	if (c->ops != NULL)
		c->ops->prev = op;
	c->ops = op;
}

static void on_touch(struct fwd_conn *c, const PeerTouch *t)
{
	struct repl *r = c->f->r;
	size_t i;

	if (r->hooks.session_touched == NULL)
		return;
	for (i = 0; i < t->n_session_ids; i++)
		r->hooks.session_touched(r->fsm_state.ctx, t->session_ids[i]);
}

static void dispatch(struct fwd_conn *c, const PeerMsg *msg)
{
	switch (msg->body_case) {
	case PEER_MSG__BODY_FORWARD:
	case PEER_MSG__BODY_BARRIER:
	case PEER_MSG__BODY_RECONFIG:
		on_request(c, msg);
		break;
	case PEER_MSG__BODY_RESULT:
		if (c == c->f->leader)
			on_result(c->f, msg->result);
		break;
	case PEER_MSG__BODY_TOUCH:
		on_touch(c, msg->touch);
		break;
	case PEER_MSG__BODY_HELLO:
		c->peer_id = msg->hello->server_id;
		break;
	default:
		break;
	}
}

/* Parse every whole frame in c->in. Returns 0, or -EBADMSG (the caller closes). */
static int parse_frames(struct fwd_conn *c)
{
	size_t pos = 0;

	while (c->in.len - pos >= 4) {
		const uint8_t *p = c->in.data + pos;
		uint32_t len = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
			       p[3];
		PeerMsg *msg;

		if (len > FWD_MAX_FRAME)
			return ZK_CORRUPT();
		if (c->in.len - pos - 4 < len)
			break;
		msg = peer_msg__unpack(zk_alloc_protobuf(), len, p + 4);
		if (msg == NULL)
			return ZK_CORRUPT();
		dispatch(c, msg);
		peer_msg__free_unpacked(msg, zk_alloc_protobuf());
		pos += 4 + len;
	}
	memmove(c->in.data, c->in.data + pos, c->in.len - pos);
	c->in.len -= pos;
	return 0;
}

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct fwd_conn *c = h->data;

	(void)suggested;
	if (zk_buf_reserve(&c->in, 65536) != 0) {
		*buf = uv_buf_init(NULL, 0);
		return;
	}
	*buf = uv_buf_init((char *)c->in.data + c->in.len, (unsigned)(c->in.cap - c->in.len));
}

static void read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	struct fwd_conn *c = s->data;

	(void)buf;
	if (n == 0)
		return;
	if (n < 0) {
		if (n != UV_EOF)
			zk_log_info("replication: peer connection: %s", uv_strerror((int)n));
		conn_close(c);
		return;
	}
	c->in.len += (size_t)n;
	if (parse_frames(c) != 0) {
		zk_log_warn("replication: malformed message on the peer port: connection closed");
		conn_close(c);
	}
}

static struct fwd_conn *conn_new(struct repl_fwd *f)
{
	struct fwd_conn *c = zk_calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	c->f = f;
	zk_buf_init(&c->in);
	uv_tcp_init(f->r->loop, &c->tcp);
	uv_tcp_nodelay(&c->tcp, 1);
	c->tcp.data = c;
	f->open_handles++;
	return c;
}

static void handle_released(struct repl_fwd *f)
{
	void (*done)(struct repl *r) = f->done;
	struct repl *r = f->r;

	if (--f->open_handles > 0 || !f->closing)
		return;
	zk_buf_close(&f->outbox);
	zk_free(f->touches);
	zk_free(f);
	done(r);
}

static void conn_closed(uv_handle_t *h)
{
	struct fwd_conn *c = h->data;
	struct repl_fwd *f = c->f;

	zk_buf_close(&c->in);
	zk_free(c);
	handle_released(f);
}

static void fwd_handle_closed(uv_handle_t *h)
{
	handle_released(h->data);
}

static void accept_cb(uv_stream_t *server, int status)
{
	struct repl_fwd *f = server->data;
	struct fwd_conn *c;

	if (status != 0 || f->closing)
		return;
	c = conn_new(f);
	if (c == NULL)
		return;
	if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0 ||
	    uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, read_cb) != 0) {
		uv_close((uv_handle_t *)&c->tcp, conn_closed);
		return;
	}
	c->connected = true;
	c->next = f->incoming;
	f->incoming = c;
}

static void connect_cb(uv_connect_t *req, int status)
{
	struct fwd_conn *c = req->handle->data;
	struct repl_fwd *f = c->f;
	PeerHello hello = PEER_HELLO__INIT;
	PeerMsg msg = PEER_MSG__INIT;

	if (f->leader != c)
		return; /* Already closed (leader changed, or closing). */
	if (status == 0)
		status = uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, read_cb);
	if (status != 0) {
		/* Retried every tick: one warning per leader, then debug lines. */
		if (f->warned_leader != f->leader_id)
			zk_log_warn("replication: cannot reach leader %llu on its peer port: %s",
				    (unsigned long long)f->leader_id, uv_strerror(status));
		else
			zk_log_debug("replication: leader %llu peer port: %s",
				     (unsigned long long)f->leader_id, uv_strerror(status));
		f->warned_leader = f->leader_id;
		conn_close(c);
		return;
	}
	c->connected = true;
	hello.server_id = f->r->cfg.id;
	msg.body_case = PEER_MSG__BODY_HELLO;
	msg.hello = &hello;
	if (send_msg(c, &msg) != 0 || (f->outbox.len > 0 && conn_write(c, &f->outbox) != 0))
		conn_close(c);
}

/* Connect to the peer port of leader @id (its Raft address carries the peer port). */
static int connect_leader(struct repl_fwd *f, uint64_t id)
{
	struct repl_server srv = {0};
	struct sockaddr_in addr;
	const char *address = NULL;
	raft_id leader = 0;
	char host[REPL_ADDRESS_MAX];
	struct fwd_conn *c;
	int rv;

	raft_leader(&f->r->raft, &leader, &address);
	if (leader != id || address == NULL)
		return -ENOTCONN;
	rv = repl_address_parse(address, host, sizeof(host), &srv);
	if (rv != 0 || srv.peer_port == 0)
		return -ENOTCONN;
	rv = uv_ip4_addr(srv.host, srv.peer_port, &addr);
	if (rv != 0)
		return -ENOTCONN;
	c = conn_new(f);
	if (c == NULL)
		return -ENOMEM;
	rv = uv_tcp_connect(&c->connect_req, &c->tcp, (const struct sockaddr *)&addr, connect_cb);
	if (rv != 0) {
		uv_close((uv_handle_t *)&c->tcp, conn_closed);
		return -ENOTCONN;
	}
	f->leader = c;
	f->leader_id = id;
	return 0;
}

/* Make f->leader point at the current leader: drop a connection to a former leader (its
 * requests fail with -ENOTCONN), open one to a new leader. */
static int follow_leader(struct repl_fwd *f)
{
	uint64_t id = repl_leader_id(f->r);

	if (f->leader != NULL && f->leader_id == id)
		return 0;
	if (f->leader != NULL)
		conn_close(f->leader);
	if (id == 0 || id == f->r->cfg.id)
		return -ENOTCONN;
	return connect_leader(f, id);
}

static int flush_touches(struct repl_fwd *f)
{
	PeerTouch t = PEER_TOUCH__INIT;
	PeerMsg msg = PEER_MSG__INIT;
	int rv;

	if (f->n_touches == 0)
		return 0;
	if (f->leader == NULL) {
		/* No leader to tell: drop them (bounded memory); a new leader starts every
		 * session with a fresh timeout anyway. */
		f->n_touches = 0;
		return 0;
	}
	if (!f->leader->connected)
		return 0; /* Connecting: sent at the next tick. */
	t.session_ids = f->touches;
	t.n_session_ids = f->n_touches;
	msg.body_case = PEER_MSG__BODY_TOUCH;
	msg.touch = &t;
	rv = send_msg(f->leader, &msg);
	f->n_touches = 0;
	return rv;
}

void repl_fwd_tick(struct repl_fwd *f)
{
	if (f->closing)
		return;
	follow_leader(f);
	flush_touches(f);
}

/* Send @msg for @req to the leader (now, or once connected) and track it by id. */
static int send_request(struct repl_fwd *f, struct repl_req *req, PeerMsg *msg)
{
	int rv;

	rv = follow_leader(f);
	if (rv != 0)
		return rv;
	if (f->leader->connected) {
		rv = send_msg(f->leader, msg);
	} else {
		rv = frame_msg(&f->outbox, msg);
	}
	if (rv != 0)
		return rv;
	req->prev = NULL;
	req->next = f->sent;
	if (f->sent != NULL)
		f->sent->prev = req;
	f->sent = req;
	return 0;
}

int repl_fwd_submit(struct repl_fwd *f, struct repl_req *req, uv_buf_t txn)
{
	PeerForward fw = PEER_FORWARD__INIT;
	PeerMsg msg = PEER_MSG__INIT;

	req->fwd_id = ++f->next_id;
	fw.id = req->fwd_id;
	fw.txn.data = (uint8_t *)txn.base;
	fw.txn.len = txn.len;
	msg.body_case = PEER_MSG__BODY_FORWARD;
	msg.forward = &fw;
	return send_request(f, req, &msg);
}

int repl_fwd_barrier(struct repl_fwd *f, struct repl_req *req)
{
	PeerBarrier b = PEER_BARRIER__INIT;
	PeerMsg msg = PEER_MSG__INIT;

	req->fwd_id = ++f->next_id;
	b.id = req->fwd_id;
	msg.body_case = PEER_MSG__BODY_BARRIER;
	msg.barrier = &b;
	return send_request(f, req, &msg);
}

int repl_fwd_reconfig(struct repl_fwd *f, struct repl_req *req, enum repl_change_op op,
		      const struct repl_server *srv)
{
	PeerReconfig rc = PEER_RECONFIG__INIT;
	PeerMsg msg = PEER_MSG__INIT;

	req->fwd_id = ++f->next_id;
	rc.id = req->fwd_id;
	rc.op = (int32_t)op;
	rc.server_id = srv->id;
	rc.host = srv->host != NULL ? srv->host : "";
	rc.raft_port = srv->raft_port;
	rc.peer_port = srv->peer_port;
	rc.observer = srv->observer;
	rc.client_address = srv->client_address != NULL ? srv->client_address : "";
	rc.client_port = srv->client_port;
	msg.body_case = PEER_MSG__BODY_RECONFIG;
	msg.reconfig = &rc;
	return send_request(f, req, &msg);
}

int repl_fwd_touch(struct repl_fwd *f, int64_t session_id)
{
	if (f->n_touches == f->cap_touches) {
		size_t cap = f->cap_touches == 0 ? 64 : 2 * f->cap_touches;
		int64_t *p = zk_realloc(f->touches, cap * sizeof(*p));
		if (p == NULL)
			return -ENOMEM;
		f->touches = p;
		f->cap_touches = cap;
	}
	f->touches[f->n_touches++] = session_id;
	return 0;
}

int repl_fwd_create(struct repl *r, struct repl_fwd **out)
{
	const struct repl_server *self = repl_server_find(r, r->cfg.id);
	struct sockaddr_in addr;
	struct repl_fwd *f;
	int rv;

	if (self == NULL)
		return -EINVAL;
	rv = uv_ip4_addr(self->host, self->peer_port, &addr);
	if (rv != 0) {
		REPL_ERROR(r, "peer address %s:%u: %s", self->host, self->peer_port,
			   uv_strerror(rv));
		return -EINVAL;
	}
	f = zk_calloc(1, sizeof(*f));
	if (f == NULL)
		return -ENOMEM;
	f->r = r;
	zk_buf_init(&f->outbox);
	uv_tcp_init(r->loop, &f->listener);
	f->listener.data = f;
	uv_check_init(r->loop, &f->notice);
	f->notice.data = f;
	f->open_handles = 2;
	/* Before raft_start, which calls io->start. */
	f->io_start = r->io.start;
	r->io.start = io_start;
	rv = uv_tcp_bind(&f->listener, (const struct sockaddr *)&addr, 0);
	if (rv == 0)
		rv = uv_listen((uv_stream_t *)&f->listener, 64, accept_cb);
	if (rv != 0) {
		REPL_ERROR(r, "cannot listen on peer port %s:%u: %s", self->host, self->peer_port,
			   uv_strerror(rv));
		/* Handed to repl_close, which closes the listener. */
		*out = f;
		return rv == UV_EADDRINUSE ? -EADDRINUSE : -EIO;
	}
	*out = f;
	return 0;
}

void repl_fwd_close(struct repl_fwd *f, void (*done)(struct repl *r))
{
	f->closing = true;
	f->done = done;
	fail_sent(f, -ECANCELED);
	if (f->leader != NULL)
		conn_close(f->leader);
	while (f->incoming != NULL)
		conn_close(f->incoming);
	uv_close((uv_handle_t *)&f->notice, fwd_handle_closed);
	uv_close((uv_handle_t *)&f->listener, fwd_handle_closed);
}
