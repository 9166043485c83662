/* forward.c: the peer port of an ensemble server (proto/peer.proto over TCP). libraft 0.15
 * has no forwarding, so followers and observers send writes and barriers to the leader here.
 *
 * Wire: each message is a 4-byte big-endian length, then one PeerMsg (at most FWD_MAX_FRAME).
 *
 * Follower side (one outgoing connection, to the leader known to libraft):
 *  1. repl_forward/repl_barrier on a follower: the request gets an id, goes on the sent list
 *     and its PeerRequest/PeerBarrier is written (or kept in the outbox while connecting).
 *  2. PeerResult{id, status, index, zk_err}: an error or a refusal (zk_err) completes the
 *     request; success parks it in raft.c's waiting list until this server has applied @index
 *     (read-your-writes: the client's answer never precedes the local state that shows its
 *     write; for a reconfig, the configuration entry).
 *  3. The leader changes or the connection drops: every sent request fails with -ENOTCONN
 *     (outcome unknown; the entry may still commit and then shows up in applied_cb).
 * Leader side: each PeerRequest (a client's request as the client sent it, with its ids) is
 * built into a txn by zkfsd (repl_hooks.build: session ids, passwords, checks, ACL ids), then
 * appended; a PeerBarrier becomes a raft_barrier, a PeerReconfig a change if
 * repl_hooks.reconfig_allowed agrees. The PeerResult goes back when it completes, if the
 * connection is still there; every follower is sent the commit index as soon as it moves (see
 * "Commit notices" below). No message carries a finished txn: no connection can inject one.
 * Session touches are batched on the follower and flushed every tick.
 *
 * Without quorum TLS, who may talk here is decided by address: an incoming connection is
 * accepted only from the host of a member, and its PeerHello must name a member at that host
 * before any other message; at most FWD_MAX_INCOMING connections, each closed after
 * FWD_IDLE_MS without a message; frames at most the client frame limit plus FWD_FRAME_SLACK.
 * With sslQuorum (quorum_tls.h) the address does not matter: connections come through a TLS
 * link whose certificate proved the member id of their PeerHello. Each refusal is logged
 * (repl_refused: rate-limited per source). */
#include <arpa/inet.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/zk_alloc.h"
#include "common/zk_buf.h"
#include "common/zk_log.h"
#include "proto/peer.pb-c.h"
#include "replication/quorum_tls.h"
#include "replication/replication_int.h"

/* Room beyond the largest client frame (jute.maxbuffer) for the ids and framing. */
#define FWD_FRAME_SLACK (64u << 10)
/* Incoming peer connections at a time: two per member is plenty (one per follower, plus one
 * being replaced). */
#define FWD_MAX_INCOMING 64
/* An incoming connection silent this long is closed (followers touch sessions every tick, and
 * reconnect on demand). */
#define FWD_IDLE_MS 60000
/* An incoming connection must say who it is (PeerHello) this soon. */
#define FWD_HELLO_MS 10000

struct fwd_op;

struct fwd_conn {
	uv_tcp_t tcp;
	struct repl_fwd *f;
	uv_connect_t connect_req; /* Outgoing connection only. */
	struct zk_buf in;	 /* Received bytes not parsed yet. */
	struct fwd_op *ops;	 /* Leader side: requests of this peer in flight. */
	uint64_t peer_id;	 /* Leader side: the follower's server id (its PeerHello), or 0. */
	uint64_t tls_id;	 /* sslQuorum, leader side: the id its certificate proved. */
	struct repl_qtls_link *link; /* sslQuorum, follower side: the link being set up. */
	char ip[64];		 /* Leader side: the peer's address. */
	uint64_t since_ms;	 /* Leader side: uv_now at accept. */
	uint64_t active_ms;	 /* Leader side: uv_now at the last message. */
	struct fwd_conn *next;	 /* Incoming list. */
	bool connected;
};

/* Leader side: one request of a follower being applied. */
struct fwd_op {
	struct repl_req req;
	struct fwd_conn *conn;	 /* NULL once the connection closed. */
	uint64_t id;
	int64_t session_id;	 /* A new session's id (PeerResult.session_id). */
	struct fwd_op *next, *prev;
};

/* The commit index a follower was last noticed of (leader side). */
struct fwd_notice {
	uint64_t id;	 /* The server in this configuration slot; another id resets @sent. */
	raft_index sent; /* Commit index it was sent a notice for. */
};

struct fwd_write {
	uv_write_t w;
	uint8_t *data;
};

struct repl_fwd {
	struct repl *r;
	uv_tcp_t listener;
	struct fwd_conn *incoming;
	int n_incoming;		  /* Entries in incoming. */
	struct fwd_conn *leader;  /* Outgoing connection, or NULL. */
	uint64_t leader_id;	  /* Server leader points to. */
	uint64_t warned_leader;	  /* Last leader whose peer port was reported unreachable. */
	struct zk_buf outbox;	  /* Frames written once connected. */
	struct repl_req *sent;	  /* Requests waiting for a PeerResult. */
	uint64_t next_id;
	int64_t *touches;
	size_t n_touches, cap_touches;
	uv_check_t notice;	  /* Sends commit notices (leader side); runs every loop turn. */
	struct fwd_notice *notices; /* Leader side: per configuration slot, what was sent. */
	unsigned n_notices;
	raft_io_tick_cb tick;	  /* libraft's tick callback (captured from io->start), or NULL. */
	int (*io_start)(struct raft_io *io, unsigned msecs, raft_io_tick_cb tick,
			raft_io_recv_cb recv); /* The uv io's own start. */
	int open_handles;
	bool closing;
	void (*done)(struct repl *r);
};

static void conn_closed(uv_handle_t *h);

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
		if (*p == c) {
			*p = c->next;
			f->n_incoming--;
		}
	}
	for (op = c->ops; op != NULL; op = op->next)
		op->conn = NULL;
	c->ops = NULL;
	if (c->link != NULL)
		repl_qtls_cancel(c->link);
	c->link = NULL;
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
	req->zk_err = res->zk_err;
	req->failed_op = res->failed_op;
	req->session_id = res->session_id;
	if (res->status != 0 || res->zk_err != 0)
		repl_req_done(req, res->status);
	else
		repl_wait_applied(f->r, req, (int64_t)res->index);
}

/* Commit notices (leader side). A libraft 0.15 follower learns the commit index only from an
 * AppendEntries, which the leader sends on its own only with new entries or at the next
 * heartbeat (heartbeat_timeout later when idle), and from one that carries entries the follower
 * commits only once it has written them to disk. A follower thus applied a write a heartbeat
 * (or one fsync of the next entries) after the leader answered it: a node created through one
 * follower was missing on another right after its creator's session closed (1-2% of tries;
 * ZooKeeper, which sends COMMIT to every follower at once, 0). Instead, each loop turn, every
 * follower that has stored entries up to an index the leader has committed but not yet told
 * it (its match index in libraft's progress, against the commit index) is marked due for a
 * heartbeat (its progress' last_send, which libraft reads for nothing else, set to 0) and
 * libraft's tick runs once: it sends those followers an empty AppendEntries with the commit
 * index, and they apply at once, without a disk write. A follower that acknowledges after the
 * commit is noticed on the turn its ack arrives. Followers not marked are treated as at any
 * tick (a follower catching up is not sent more than usual). libraft has no call that sends a
 * heartbeat, hence the tick captured from io->start; a tick is time-driven, so an extra one
 * changes nothing else. The check handle runs it after the poll phase, outside libraft's
 * callbacks (a tick inside them could step the leader down under its own apply loop), once
 * for all the commits of that loop turn. Regular heartbeats still deliver the commit if a
 * notice is lost (leadership lost, no memory for the table). */

/* Room for one fwd_notice per configuration slot; new slots start empty. */
static int notices_fit(struct repl_fwd *f, unsigned n)
{
	struct fwd_notice *p;

	if (n <= f->n_notices)
		return 0;
	p = zk_realloc(f->notices, n * sizeof(*p));
	if (p == NULL)
		return -ENOMEM;
	memset(p + f->n_notices, 0, (n - f->n_notices) * sizeof(*p));
	f->notices = p;
	f->n_notices = n;
	return 0;
}

/* Does follower @s (slot @n, progress @p) need a notice of the commit index? Marks it due. */
static bool notice_due(struct raft *raft, struct fwd_notice *n, const struct raft_server *s,
		       struct raft_progress *p)
{
	raft_index target = p->match_index < raft->commit_index ? p->match_index
							       : raft->commit_index;

	if (s->id == raft->id)
		return false;
	if (n->id != s->id) {
		n->id = s->id;
		n->sent = 0;
	}
	if (target <= n->sent)
		return false;
	n->sent = target;
	p->last_send = 0;
	return true;
}

static void notice_cb(uv_check_t *h)
{
	struct repl_fwd *f = h->data;
	struct raft *raft = &f->r->raft;
	bool due = false;
	unsigned i;

	if (raft_state(raft) != RAFT_LEADER || f->r->closing ||
	    notices_fit(f, raft->configuration.n) != 0)
		return;
	for (i = 0; i < raft->configuration.n; i++)
		due |= notice_due(raft, &f->notices[i], &raft->configuration.servers[i],
				  &raft->leader_state.progress[i]);
	if (due && f->tick != NULL)
		f->tick(&f->r->io);
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
		else if (status == 0)
			/* A membership change: the follower answers once it holds the new
			 * configuration, so the client reads the membership it made. */
			res.index = repl_config_index(op->req.repl);
		res.session_id = op->session_id;
		msg.body_case = PEER_MSG__BODY_RESULT;
		msg.result = &res;
		send_msg(op->conn, &msg);
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

/* A refusal of zkfsd's build: PeerResult with status 0 and the ZooKeeper code. */
static void reply_refused(struct fwd_conn *c, uint64_t id, const struct repl_req *res)
{
	PeerResult out = PEER_RESULT__INIT;
	PeerMsg msg = PEER_MSG__INIT;

	out.id = id;
	out.zk_err = res->zk_err;
	out.failed_op = res->failed_op;
	msg.body_case = PEER_MSG__BODY_RESULT;
	msg.result = &out;
	send_msg(c, &msg);
}

/* The ids of a message, as store_acl entries (@out has room for @n). */
static void ids_from_msg(PeerId **ids, size_t n, struct store_acl *out)
{
	for (size_t i = 0; i < n; i++)
		out[i] = (struct store_acl){0, ids[i]->scheme, ids[i]->id};
}

/* A forwarded client request: zkfsd builds the txn (repl_hooks.build), then it is appended.
 * Returns 0 (appended, or refused and answered: *@answered), or a negative errno. */
static int start_request(struct repl *r, struct fwd_op *op, const PeerRequest *pr,
			 bool *answered)
{
	struct store_acl ids[64];
	struct repl_client_req in = {
		.session_id = pr->session_id,
		.body = pr->create_session ? NULL : pr->request.data,
		.len = pr->request.len,
		.timeout_ms = pr->timeout_ms,
		.ids = ids,
		.n_ids = (int32_t)pr->n_ids,
	};
	struct zk_buf b;
	int rv;

	if (r->hooks.build == NULL)
		return -ENOTSUP;
	if (pr->n_ids > sizeof(ids) / sizeof(ids[0]))
		return -EINVAL;
	ids_from_msg(pr->ids, pr->n_ids, ids);
	op->req.kind = REPL_REQ_APPLY;
	op->req.zk_err = 0;
	zk_buf_init(&b);
	rv = r->hooks.build(r->fsm_state.ctx, &in, &b, &op->req);
	op->session_id = op->req.session_id;
	if (rv == 0 && op->req.zk_err != 0) {
		reply_refused(op->conn, op->id, &op->req);
		*answered = true;
	} else if (rv == 0) {
		rv = repl_append_local(r, &op->req, b.data, b.len, NULL);
	}
	zk_buf_close(&b);
	return rv;
}

/* A forwarded reconfig: judged by the leader (repl_reconfig runs reconfig_allowed). */
static int start_reconfig(struct repl *r, struct fwd_op *op, const PeerReconfig *rc)
{
	struct store_acl ids[64];
	struct repl_change_auth auth = {ids, (int32_t)rc->n_ids, rc->from_config};
	struct repl_server srv = {rc->server_id, rc->host, (uint16_t)rc->raft_port,
				  (uint16_t)rc->peer_port, rc->observer,
				  rc->client_port != 0 ? rc->client_address : NULL,
				  (uint16_t)rc->client_port};

	if (rc->n_ids > sizeof(ids) / sizeof(ids[0]))
		return -EINVAL;
	ids_from_msg(rc->ids, rc->n_ids, ids);
	return repl_reconfig(r, &op->req, (enum repl_change_op)rc->op, &srv, &auth, op_done);
}

/* Start the leader-side work of a forwarded request into @op (*@answered: already answered). */
static int start_op(struct repl *r, struct fwd_op *op, const PeerMsg *msg, bool *answered)
{
	switch (msg->body_case) {
	case PEER_MSG__BODY_REQUEST:
		return start_request(r, op, msg->request, answered);
	case PEER_MSG__BODY_BARRIER:
		op->req.kind = REPL_REQ_BARRIER;
		return repl_barrier_local(r, &op->req);
	default:
		return start_reconfig(r, op, msg->reconfig);
	}
}

static uint64_t request_id(const PeerMsg *msg)
{
	switch (msg->body_case) {
	case PEER_MSG__BODY_REQUEST:
		return msg->request->id;
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
	bool answered = false;
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
	op->conn = c;
	op->req.repl = r;
	op->req.cb = op_done;
	rv = start_op(r, op, msg, &answered);
	if (rv != 0 || answered) {
		zk_free(op);
		if (rv != 0)
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

/* Incoming side: the first message must be a PeerHello naming a member (not this server) whose
 * configured host is the connection's address. Returns false (logged) when it is not. */
static bool hello_check(struct fwd_conn *c, const PeerMsg *msg)
{
	uint64_t id = msg->body_case == PEER_MSG__BODY_HELLO ? msg->hello->server_id : 0;
	bool proven = c->f->r->qtls != NULL ? id == c->tls_id : repl_member_at(c->f->r, id, c->ip);

	if (id != 0 && id != c->f->r->cfg.id && proven) {
		c->peer_id = id;
		return true;
	}
	if (id == 0)
		repl_refused(c->f->r, c->ip, "replication: peer connection from %s refused: no "
			     "PeerHello first", c->ip);
	else
		repl_refused(c->f->r, c->ip, "replication: peer connection from %s refused: claims "
			     "server id %llu, whose configured address it is not", c->ip,
			     (unsigned long long)id);
	return false;
}

/* One message. Returns false when the connection must be closed. */
static bool dispatch(struct fwd_conn *c, const PeerMsg *msg)
{
	bool incoming = c != c->f->leader;

	if (incoming && c->peer_id == 0)
		return hello_check(c, msg);
	switch (msg->body_case) {
	case PEER_MSG__BODY_REQUEST:
	case PEER_MSG__BODY_BARRIER:
	case PEER_MSG__BODY_RECONFIG:
		if (incoming)
			on_request(c, msg);
		break;
	case PEER_MSG__BODY_RESULT:
		if (!incoming)
			on_result(c->f, msg->result);
		break;
	case PEER_MSG__BODY_TOUCH:
		if (incoming)
			on_touch(c, msg->touch);
		break;
	case PEER_MSG__BODY_HELLO:
		break;
	default:
		/* A message this version does not know (PeerForward of a version before the leader
		 * built every txn): closing fails the sender's requests at once (its clients
		 * retry) instead of leaving them unanswered. */
		zk_log_warn("replication: unknown message on the peer port from %s (a server of "
			    "another version?): connection closed", c->ip);
		return false;
	}
	return true;
}

/* The largest frame accepted: a client frame and its ids. */
static uint32_t max_frame(const struct repl_fwd *f)
{
	return (f->r->cfg.max_client_frame != 0 ? f->r->cfg.max_client_frame
						: REPL_DEFAULT_MAX_CLIENT_FRAME) +
	       FWD_FRAME_SLACK;
}

/* Parse every whole frame in c->in. Returns 0, -EBADMSG or -EPERM (refused: logged); the
 * caller closes. */
static int parse_frames(struct fwd_conn *c)
{
	size_t pos = 0;

	while (c->in.len - pos >= 4) {
		const uint8_t *p = c->in.data + pos;
		uint32_t len = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
			       p[3];
		PeerMsg *msg;
		bool ok;

		if (len > max_frame(c->f)) {
			zk_log_warn("replication: a %u-byte frame from %s on the peer port is over "
				    "the limit of %u", len, c->ip, max_frame(c->f));
			return -EPERM;
		}
		if (c->in.len - pos - 4 < len)
			break;
		msg = peer_msg__unpack(zk_alloc_protobuf(), len, p + 4);
		if (msg == NULL)
			return ZK_CORRUPT();
		c->active_ms = uv_now(c->f->r->loop);
		ok = dispatch(c, msg);
		peer_msg__free_unpacked(msg, zk_alloc_protobuf());
		if (!ok)
			return -EPERM;
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
	int rv;

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
	rv = parse_frames(c);
	if (rv == -EBADMSG)
		zk_log_warn("replication: malformed message on the peer port from %s: connection "
			    "closed", c->ip);
	if (rv != 0)
		conn_close(c);
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
	zk_free(f->notices);
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

/* Without quorum TLS only a member's address may open a peer connection, and only so many. */
static bool accept_allowed(struct repl_fwd *f, struct fwd_conn *c)
{
	if (repl_peer_ip((uv_stream_t *)&c->tcp, c->ip, sizeof(c->ip)) != 0)
		snprintf(c->ip, sizeof(c->ip), "?");
	if (f->r->qtls == NULL && !repl_member_at(f->r, 0, c->ip)) {
		repl_refused(f->r, c->ip, "replication: peer connection from %s refused: not a "
			     "member's address", c->ip);
		return false;
	}
	if (f->n_incoming >= FWD_MAX_INCOMING) {
		repl_refused(f->r, c->ip, "replication: peer connection from %s refused: %d peer "
			     "connections open already", c->ip, f->n_incoming);
		return false;
	}
	return true;
}

/* Close incoming connections that said nothing for FWD_IDLE_MS, or no PeerHello in time. */
static void reap_idle(struct repl_fwd *f)
{
	uint64_t now = uv_now(f->r->loop);
	struct fwd_conn *c, *next;

	for (c = f->incoming; c != NULL; c = next) {
		next = c->next;
		if (c->ops != NULL)
			continue; /* Its requests are in flight: it waits for their results. */
		if (now - c->active_ms > FWD_IDLE_MS ||
		    (c->peer_id == 0 && now - c->since_ms > FWD_HELLO_MS)) {
			zk_log_info("replication: peer connection from %s closed: idle", c->ip);
			conn_close(c);
		}
	}
}

/* sslQuorum: the first frame must be a PeerHello; its id is the claim the certificate must
 * prove (quorum_tls.h). The frame itself is passed on, to hello_check. */
static int tls_claim(const uint8_t *p, size_t n, uint64_t *id, size_t *consumed)
{
	uint32_t len;
	PeerMsg *msg;

	if (n < 4)
		return -EAGAIN;
	len = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
	if (len > 256)
		return -EBADMSG;
	if (n - 4 < len)
		return -EAGAIN;
	msg = peer_msg__unpack(zk_alloc_protobuf(), len, p + 4);
	if (msg == NULL)
		return -EBADMSG;
	*id = msg->body_case == PEER_MSG__BODY_HELLO ? msg->hello->server_id : 0;
	peer_msg__free_unpacked(msg, zk_alloc_protobuf());
	*consumed = 0;
	return *id != 0 ? 0 : -EBADMSG;
}

/* Open @c's handle on the plain end @fd of a quorum TLS link. */
static int tls_open(struct fwd_conn *c, int fd)
{
	/* Not a TCP socket: TCP_NODELAY would fail (the link's own socket has it). */
	uv_tcp_nodelay(&c->tcp, 0);
	if (uv_tcp_open(&c->tcp, fd) == 0)
		return 0;
	close(fd);
	return -EIO;
}

static void incoming_start(struct repl_fwd *f, struct fwd_conn *c);

static void tls_accepted(void *data, int fd, uint64_t id, const uint8_t *claim,
			 size_t claim_len, const char *ip)
{
	struct repl_fwd *f = data;
	struct fwd_conn *c = conn_new(f);

	(void)claim, (void)claim_len;
	if (c == NULL) {
		close(fd);
		return;
	}
	snprintf(c->ip, sizeof(c->ip), "%s", ip);
	c->tls_id = id;
	if (tls_open(c, fd) != 0 || !accept_allowed(f, c) ||
	    uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, read_cb) != 0) {
		uv_close((uv_handle_t *)&c->tcp, conn_closed);
		return;
	}
	incoming_start(f, c);
}

static void accept_cb(uv_stream_t *server, int status)
{
	struct repl_fwd *f = server->data;
	struct fwd_conn *c;

	if (status != 0 || f->closing)
		return;
	if (f->r->qtls != NULL) {
		repl_qtls_accept(f->r->qtls, server, tls_claim, tls_accepted, f);
		return;
	}
	c = conn_new(f);
	if (c == NULL)
		return;
	if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0 || !accept_allowed(f, c) ||
	    uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, read_cb) != 0) {
		uv_close((uv_handle_t *)&c->tcp, conn_closed);
		return;
	}
	incoming_start(f, c);
}

static void incoming_start(struct repl_fwd *f, struct fwd_conn *c)
{
	c->connected = true;
	c->since_ms = c->active_ms = uv_now(f->r->loop);
	c->next = f->incoming;
	f->incoming = c;
	f->n_incoming++;
}

/* The connection to the leader is open (@status 0) or failed. */
static void leader_connected(struct fwd_conn *c, int status)
{
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

static void connect_cb(uv_connect_t *req, int status)
{
	leader_connected(req->handle->data, status);
}

/* sslQuorum: the link to the leader is up (@fd: its plain end) or failed (@fd < 0). */
static void tls_connected(void *data, int fd, uint64_t id, const uint8_t *claim,
			  size_t claim_len, const char *ip)
{
	struct fwd_conn *c = data;

	(void)id, (void)claim, (void)claim_len, (void)ip;
	c->link = NULL;
	leader_connected(c, fd < 0 ? UV_ECONNREFUSED : tls_open(c, fd) != 0 ? UV_EIO : 0);
}

/* Connect to the peer port of leader @id (its Raft address carries the peer port). */
static int connect_leader(struct repl_fwd *f, uint64_t id)
{
	const struct repl_server *self = repl_server_find(f->r, f->r->cfg.id);
	struct repl_server srv = {0};
	struct sockaddr_in addr, from;
	const char *address = NULL;
	raft_id leader = 0;
	char host[REPL_ADDRESS_MAX];
	struct fwd_conn *c;
	int rv;

	raft_leader(&f->r->raft, &leader, &address);
	if (leader != id || address == NULL || self == NULL)
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
	snprintf(c->ip, sizeof(c->ip), "%s", srv.host);
	if (f->r->qtls != NULL) {
		c->link = repl_qtls_connect(f->r->qtls, self->host, srv.host, srv.peer_port, id,
					    NULL, 0, tls_connected, c);
		if (c->link == NULL) {
			uv_close((uv_handle_t *)&c->tcp, conn_closed);
			return -ENOTCONN;
		}
		f->leader = c;
		f->leader_id = id;
		return 0;
	}
	/* From our own configured address: the leader accepts only members' addresses. */
	rv = uv_ip4_addr(self->host, 0, &from);
	if (rv == 0)
		rv = uv_tcp_bind(&c->tcp, (const struct sockaddr *)&from, 0);
	if (rv == 0)
		rv = uv_tcp_connect(&c->connect_req, &c->tcp, (const struct sockaddr *)&addr,
				    connect_cb);
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
	reap_idle(f);
	follow_leader(f);
	flush_touches(f);
}

/* @n ids as PeerId messages in @ids, pointed at by @ptrs. */
static void ids_to_msg(const struct store_acl *in, int32_t n, PeerId *ids, PeerId **ptrs)
{
	for (int32_t i = 0; i < n; i++) {
		peer_id__init(&ids[i]);
		ids[i].scheme = in[i].scheme;
		ids[i].id = in[i].id;
		ptrs[i] = &ids[i];
	}
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

int repl_fwd_request(struct repl_fwd *f, struct repl_req *req, const struct repl_client_req *in)
{
	PeerRequest pr = PEER_REQUEST__INIT;
	PeerMsg msg = PEER_MSG__INIT;
	PeerId ids[64], *ptrs[64];

	if (in->n_ids > 64)
		return -EINVAL;
	req->fwd_id = ++f->next_id;
	pr.id = req->fwd_id;
	pr.session_id = in->session_id;
	pr.create_session = in->body == NULL;
	pr.timeout_ms = in->timeout_ms;
	pr.request.data = (uint8_t *)in->body;
	pr.request.len = in->body != NULL ? in->len : 0;
	ids_to_msg(in->ids, in->n_ids, ids, ptrs);
	pr.ids = ptrs;
	pr.n_ids = (size_t)in->n_ids;
	msg.body_case = PEER_MSG__BODY_REQUEST;
	msg.request = &pr;
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
		      const struct repl_server *srv, const struct repl_change_auth *auth)
{
	PeerReconfig rc = PEER_RECONFIG__INIT;
	PeerMsg msg = PEER_MSG__INIT;
	PeerId ids[64], *ptrs[64];

	if (auth != NULL && auth->n_ids > 64)
		return -EINVAL;
	rc.from_config = -1;
	if (auth != NULL) {
		ids_to_msg(auth->ids, auth->n_ids, ids, ptrs);
		rc.ids = ptrs;
		rc.n_ids = (size_t)auth->n_ids;
		rc.from_config = auth->from_config;
	}
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
	uv_check_start(&f->notice, notice_cb);
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
