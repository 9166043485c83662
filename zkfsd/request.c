/* request: decode client requests and answer them (ZooKeeper 3.8's PrepRequestProcessor and
 * FinalRequestProcessor, collapsed).
 *
 * This file: arrival (decode, auth, bad requests), the handshake, submission and the answers to
 * writes. Reads are answered by read.c when they reach their turn in the connection's FIFO;
 * txn.c turns writes into store transactions (session id, xid and the leader's clock fixed
 * there), which are handed to repl here; the
 * reply is built in the applied callback, after the store fired the watches, so an event
 * always precedes the reply showing its change. sync is a repl barrier.
 *
 * ZooKeeper's answers to odd input, kept here: an unknown opcode gets Unimplemented and the
 * connection is closed (UnimplementedRequestProcessor); a request body that does not parse gets
 * MarshallingError; a bad path in a write gets ZooKeeper's code (txn.c); the ReplyHeader zxid of a read is
 * the last applied zxid, that of a write its own zxid. One difference: ZooKeeper logs a
 * rejected write (bad path) as an error txn that consumes a zxid; zkfsd answers it without one.
 * Auth packets are answered at once (ZooKeeper does not queue them either). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/random.h>

#include <openssl/crypto.h>

#include "common/zk_alloc.h"
#include "common/zk_log.h"
#include "zkfsd/zkfsd_int.h"

/* ---- Small helpers ------------------------------------------------------------------------ */

int64_t request_wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t request_last_zxid(const struct conn *conn)
{
	return store_last_zxid(conn->srv->store);
}

bool request_is_read(int32_t type)
{
	switch (type) {
	case ZK_OP_CREATE:
	case ZK_OP_CREATE2:
	case ZK_OP_CREATE_CONTAINER:
	case ZK_OP_CREATE_TTL:
	case ZK_OP_DELETE:
	case ZK_OP_SET_DATA:
	case ZK_OP_SET_ACL:
	case ZK_OP_CHECK:
	case ZK_OP_MULTI:
	case ZK_OP_SYNC:
	case ZK_OP_CLOSE_SESSION:
	case ZK_OP_CREATE_SESSION:
	case ZK_OP_RECONFIG:
		return false;
	default:
		return true;
	}
}

void request_free(struct request *req)
{
	jute_request_free(&req->jr);
	reconfig_job_free(req->reconfig);
	free(req->body);
	zk_buf_close(&req->reply);
	conn_unref(req->conn);
	free(req);
}

void request_release(struct request *req)
{
	if (req->in_repl)
		req->released = true;
	else
		request_free(req);
}

/* Start a reply frame in req->reply with its header. Returns the frame offset or
 * JUTE_FRAME_NOMEM. */
size_t request_begin(struct request *req, int32_t xid, int64_t zxid, int32_t err)
{
	size_t start = jute_frame_begin(&req->reply);

	if (start == JUTE_FRAME_NOMEM || conn_reply_header(&req->reply, xid, zxid, err) != 0)
		return JUTE_FRAME_NOMEM;
	req->conn->last_zxid = zxid;
	return start;
}

/* The reply is encoded (@rv 0) or not: finish, or close the connection when out of memory. */
void request_end(struct request *req, size_t start, int rv)
{
	if (start == JUTE_FRAME_NOMEM || rv != 0) {
		zk_buf_reset(&req->reply);
		req->close_after = true;
		zk_log_error("out of memory answering xid %d from %s", req->xid, req->conn->ip);
	} else {
		jute_frame_end(&req->reply, start);
	}
	req->state = REQ_DONE;
}

void request_finish_err(struct request *req, int32_t err, int64_t zxid)
{
	request_end(req, request_begin(req, req->xid, zxid, err), 0);
}

/* A NUL-terminated copy of a path, or NULL (out of memory). Paths with an embedded NUL are
 * refused by the callers first. */
char *request_path(const struct jute_str *s)
{
	return jute_str_dup(s);
}

bool request_has_nul(const struct jute_str *s)
{
	return s->len > 0 && memchr(s->p, '\0', (size_t)s->len) != NULL;
}

static void request_done_cb(struct repl_req *rreq, int status);

/* A write refused because the data dir is full (-ENOSPC from repl: nothing was appended, here
 * or on the leader). Its outcome is known, so the client gets an error on a connection that
 * stays up (its reads and session go on) rather than a connection loss. ZooKeeper itself stops
 * on a full disk (its SyncThread dies, clients see a connection loss); SystemError is the code
 * its C client documents as "a system (OS) error occurred" (kazoo: SystemZookeeperError). */
static void request_refuse_disk_full(struct request *req)
{
	struct zkfsd *srv = req->conn->srv;
	bool here = repl_role(srv->repl) == REPL_LEADER;

	zk_log_warn("%s (xid %d) from %s:%d refused: the data dir %s%s is full (SystemError; "
		    "writes are accepted again once space is freed)", jute_op_name(req->type),
		    req->xid, req->conn->ip, req->conn->port, here ? srv->cfg->data_dir : "of the",
		    here ? "" : " leader");
	if (req->type == ZK_OP_MULTI)
		txn_multi_fail(req, 0, ZK_ERR_SYSTEMERROR);
	else
		request_finish_err(req, ZK_ERR_SYSTEMERROR, request_last_zxid(req->conn));
}

static void request_submit_failed(struct request *req, int rv)
{
	/* A ConnectResponse has no error code: a refused createSession closes the connection. */
	if (rv == -ENOSPC && req->type != ZK_OP_CREATE_SESSION) {
		request_refuse_disk_full(req);
		return;
	}
	zk_log_warn("cannot replicate %s from %s:%d: %s", jute_op_name(req->type), req->conn->ip,
		    req->conn->port, strerror(-rv));
	/* As a ZooKeeper server that lost its quorum: drop the connection, the client
	 * reconnects (possibly elsewhere) and learns the outcome from the tree. */
	req->state = REQ_DONE;
	req->close_after = true;
}

/* The ids a txn is judged by, on the leader: the client's, and "super" under skipACL (the
 * leader's setting decides). Returns the count (@out has room for ACL_MAX_IDS + 1). */
static int32_t request_leader_ids(struct zkfsd *srv, const struct store_acl *ids, int32_t n,
				  struct store_acl *out)
{
	int32_t k = 0;

	if (srv->cfg->skip_acl)
		out[k++] = (struct store_acl){0, "super", ""};
	for (int32_t i = 0; i < n && k <= ACL_MAX_IDS; i++)
		out[k++] = ids[i];
	return k;
}

/* Leader: the txn of a client write (@src's ids completed with the leader's skipACL). Returns
 * ZK_ERR_OK and *@txn, or the code to answer with (*@failed: the op of a multi). */
static int request_build_txn(const struct txn_src *src, struct txn_mem *m,
			     struct store_acl *ids, struct store_txn *txn, int32_t *failed)
{
	struct txn_src s = *src;

	s.n_ids = request_leader_ids(src->srv, src->ids, src->n_ids, ids);
	s.ids = ids;
	return txn_build(&s, m, txn, failed);
}

/* A new session's txn (leader): the id and the password are minted here. */
static int request_session_txn(struct zkfsd *srv, int32_t timeout, struct store_txn *txn)
{
	*txn = (struct store_txn){.type = ZK_OP_CREATE_SESSION, .xid = 0};
	txn->session_id = tracker_next_id(srv);
	txn->time_ms = request_wall_ms();
	txn->session_timeout_ms = tracker_negotiate(srv->cfg, timeout);
	if (getrandom(txn->passwd, sizeof(txn->passwd), 0) != (ssize_t)sizeof(txn->passwd))
		return -EIO;
	return 0;
}

/* Leader, repl_hooks.build: a client request a follower forwarded. The leader decodes it and
 * builds the txn as for its own clients; anything but a write is refused. */
int request_build_forwarded(void *ctx, const struct repl_client_req *in, struct zk_buf *out,
			    struct repl_req *res)
{
	struct zkfsd *srv = ctx;
	struct jute_request jr = {0};
	struct store_acl ids[ACL_MAX_IDS + 1];
	struct store_txn txn = {0};
	struct txn_mem m = {0};
	int rv;

	if (in->body == NULL) {
		rv = request_session_txn(srv, in->timeout_ms, &txn);
		res->session_id = txn.session_id;
		return rv != 0 ? rv : store_txn_encode(&txn, out);
	}
	if (in->n_ids > ACL_MAX_IDS || jute_decode_request(in->body, in->len, &jr) != 0 ||
	    request_is_read(jr.hdr.type) || jr.hdr.type == ZK_OP_SYNC ||
	    jr.hdr.type == ZK_OP_RECONFIG || jr.hdr.type == ZK_OP_CREATE_SESSION) {
		zk_log_warn("a forwarded request that is no client write was refused");
		jute_request_free(&jr);
		return -EINVAL;
	}
	res->zk_err = request_build_txn(&(struct txn_src){srv, jr.hdr.type, jr.hdr.xid,
							  in->session_id, &jr, in->ids, in->n_ids},
					&m, ids, &txn, &res->failed_op);
	rv = res->zk_err == ZK_ERR_OK ? store_txn_encode(&txn, out) : 0;
	txn_mem_free(&m);
	jute_request_free(&jr);
	return rv;
}

/* Follower: send @req to the leader as the client sent it, with the client's ids (or, for a
 * new session, the timeout asked for). */
static void request_forward(struct request *req, bool new_session)
{
	struct conn *conn = req->conn;
	struct store_acl ids[ACL_MAX_IDS];
	struct repl_client_req in = {
		.session_id = conn->session != NULL ? conn->session->id : 0,
		.body = new_session ? NULL : req->body,
		.len = req->len,
		.timeout_ms = req->connect.timeout,
		.ids = ids,
		.n_ids = acl_conn_ids(conn, ids, ACL_MAX_IDS),
	};
	int rv;

	req->rreq.data = req;
	req->state = REQ_SUBMITTED;
	req->session_id = in.session_id;
	rv = repl_forward(conn->srv->repl, &req->rreq, &in, request_done_cb);
	if (rv != 0)
		request_submit_failed(req, rv);
	else
		req->in_repl = true;
}

static void request_submit_write(struct request *req)
{
	struct conn *conn = req->conn;
	struct store_acl conn_ids[ACL_MAX_IDS], ids[ACL_MAX_IDS + 1];
	struct txn_src src = {conn->srv, req->type, req->xid,
			      conn->session ? conn->session->id : 0, &req->jr, conn_ids, 0};
	struct store_txn txn = {0};
	struct txn_mem m = {0};
	int32_t failed;
	int rv;

	if (repl_role(conn->srv->repl) != REPL_LEADER) {
		request_forward(req, false);
		return;
	}
	src.n_ids = acl_conn_ids(conn, conn_ids, ACL_MAX_IDS);
	rv = request_build_txn(&src, &m, ids, &txn, &failed);
	if (rv != ZK_ERR_OK) {
		zk_log_info("%s (xid %d) from %s:%d refused before replication: %s",
			    jute_op_name(req->type), req->xid, conn->ip, conn->port,
			    zk_err_name(rv));
		txn_refused(req, rv, failed);
		txn_mem_free(&m);
		return;
	}
	req->rreq.data = req;
	req->state = REQ_SUBMITTED;
	req->session_id = txn.session_id;
	rv = repl_submit(conn->srv->repl, &req->rreq, &txn, request_done_cb);
	txn_mem_free(&m);
	if (rv != 0)
		request_submit_failed(req, rv);
	else
		req->in_repl = true;
}

/* ---- Handshake ---------------------------------------------------------------------------- */

static void request_connect_reply(struct request *req, int32_t timeout, int64_t id,
				  const uint8_t *passwd)
{
	static const uint8_t zero[ZK_SESSION_PASSWD_LEN];
	struct jute_connect_response rsp = {
		.timeout = timeout,
		.session_id = id,
		.passwd = {passwd ? passwd : zero, ZK_SESSION_PASSWD_LEN},
		.omit_read_only = req->conn->omit_read_only,
	};
	size_t start = jute_frame_begin(&req->reply);

	request_end(req, start,
		    start == JUTE_FRAME_NOMEM ? -ENOMEM
					      : jute_encode_connect_response(&req->reply, &rsp));
}

/* The session is ours: bind it to this connection (closing a previous one). */
/* Close the connection that holds @s, unless it is @conn (logged with @why): a session lives
 * on one connection at a time (invariant 4). */
static void request_take_session(struct session *s, struct conn *conn, const char *why)
{
	struct conn *old = s->conn;

	if (old == NULL || old == conn)
		return;
	old->session = NULL;
	s->conn = NULL;
	conn_close(old, why);
}

/* A refused handshake: ZooKeeper answers timeout 0 / session 0, then closes. */
static void request_connect_refuse(struct request *req, const char *why)
{
	zk_log_info("refused session 0x%llx from %s:%d: %s",
		    (unsigned long long)req->connect.session_id, req->conn->ip, req->conn->port,
		    why);
	request_connect_reply(req, 0, 0, NULL);
	req->close_after = true;
}

static void request_attach(struct request *req, struct session *s, int32_t timeout)
{
	struct conn *conn = req->conn;
	uint8_t passwd[ZK_SESSION_PASSWD_LEN];

	/* The tracker follows the store, so this holds; if it ever did not, refusing beats
	 * sending an uninitialised password. */
	if (store_session_get(conn->srv->store, s->id, NULL, passwd) != ZK_ERR_OK) {
		request_connect_refuse(req, "session not in the store");
		return;
	}
	request_take_session(s, conn, "session moved to a new connection");
	s->conn = conn;
	s->timeout_ms = timeout;
	conn->session = s;
	conn->state = CONN_READY;
	tracker_touch(conn->srv, s);
	request_connect_reply(req, timeout, s->id, passwd);
	zk_log_debug("session 0x%llx on %s:%d, timeout %d", (unsigned long long)s->id, conn->ip,
		     conn->port, timeout);
}

/* Is @given (the ConnectRequest's) the session's password @want? Constant time: how long the
 * comparison takes says nothing about how many bytes matched. */
static bool request_passwd_ok(const struct jute_bytes *given, const uint8_t *want)
{
	return given->len == ZK_SESSION_PASSWD_LEN &&
	       CRYPTO_memcmp(given->p, want, ZK_SESSION_PASSWD_LEN) == 0;
}

/* A ConnectRequest naming session @id: the password is checked before anything happens to the
 * connection that holds the session now, so a wrong guess cannot cut the owner off. */
static void request_reattach(struct request *req, int32_t timeout)
{
	struct zkfsd *srv = req->conn->srv;
	uint8_t passwd[ZK_SESSION_PASSWD_LEN];
	struct session *s = tracker_find(srv, req->connect.session_id);

	if (s == NULL || s->closing ||
	    store_session_get(srv->store, s->id, NULL, passwd) != ZK_ERR_OK) {
		request_connect_refuse(req, "session expired");
		return;
	}
	if (!request_passwd_ok(&req->connect.passwd, passwd)) {
		zk_log_warn("wrong password for session 0x%llx from %s:%d: refused (the session "
			    "keeps its connection)", (unsigned long long)s->id, req->conn->ip,
			    req->conn->port);
		request_connect_refuse(req, "wrong password");
		return;
	}
	request_attach(req, s, timeout);
}

static void request_create_session(struct request *req, int32_t timeout)
{
	struct zkfsd *srv = req->conn->srv;
	struct store_txn txn;
	int rv;

	if (repl_role(srv->repl) != REPL_LEADER) {
		request_forward(req, true);
		return;
	}
	rv = request_session_txn(srv, timeout, &txn);
	if (rv != 0) {
		request_submit_failed(req, rv);
		return;
	}
	req->connect.session_id = txn.session_id;
	req->rreq.data = req;
	req->state = REQ_SUBMITTED;
	rv = repl_submit(srv->repl, &req->rreq, &txn, request_done_cb);
	if (rv != 0)
		request_submit_failed(req, rv);
	else
		req->in_repl = true;
}

/* During an election (no leader known, not yet out of quorum: server.c) a write would fail
 * at once and cost the client its connection; it waits instead, still QUEUED, and the quorum
 * timer pumps the connection once a leader is known (or closes it). Not submitted means no
 * outcome to lose. */
static bool request_hold(struct request *req)
{
	struct zkfsd *srv = req->conn->srv;

	if (srv->cfg->n_servers == 0 || repl_leader_id(srv->repl) != 0 ||
	    (req->type == ZK_OP_CREATE_SESSION && req->connect.session_id != 0))
		return false;
	srv->held = true;
	return true;
}

void request_submit(struct request *req)
{
	struct conn *conn = req->conn;
	int32_t timeout = tracker_negotiate(conn->srv->cfg, req->connect.timeout);
	int rv;

	if (request_hold(req))
		return;

	switch (req->type) {
	case ZK_OP_CREATE_SESSION:
		if (req->connect.session_id != 0)
			request_reattach(req, timeout);
		else
			request_create_session(req, timeout);
		return;
	case ZK_OP_RECONFIG:
		reconfig_start(req);
		return;
	case ZK_OP_SYNC:
		req->rreq.data = req;
		req->state = REQ_SUBMITTED;
		rv = repl_barrier(conn->srv->repl, &req->rreq, request_done_cb);
		if (rv != 0)
			request_submit_failed(req, rv);
		else
			req->in_repl = true;
		return;
	default:
		request_submit_write(req);
	}
}

bool request_back_from_repl(struct request *req)
{
	req->in_repl = false;
	conn_submit_done(req);
	if (!req->released)
		return false;
	request_free(req);
	return true;
}

/* repl finished a request of ours (after applied_cb when @status is 0). */
static void request_done_cb(struct repl_req *rreq, int status)
{
	struct request *req = rreq->data;
	struct conn *conn = req->conn;

	if (request_back_from_repl(req))
		return;
	if (req->state == REQ_SUBMITTED) {
		if (status == 0 && rreq->session_id != 0)
			req->connect.session_id = rreq->session_id; /* Minted by the leader. */
		if (status != 0) {
			request_submit_failed(req, status);
		} else if (rreq->zk_err != 0) {
			txn_refused(req, rreq->zk_err, rreq->failed_op);
		} else if (req->type == ZK_OP_SYNC) {
			struct jute_sync_response rsp = {.path = req->jr.u.sync.path};
			size_t start =
				request_begin(req, req->xid, request_last_zxid(conn), ZK_ERR_OK);

			request_end(req, start, jute_encode_sync_response(&req->reply, &rsp));
		} else if (req->type == ZK_OP_CREATE_SESSION) {
			struct session *s = tracker_find(conn->srv, req->connect.session_id);

			if (s == NULL)
				request_connect_refuse(req, "session vanished at creation");
			else
				request_attach(req, s, s->timeout_ms);
		} else {
			/* Applied, but its applied callback never came: a snapshot from the
			 * leader replaced the store past its entry. Its result is unknown here,
			 * so the client gets what ZooKeeper's followers give on a resync: a
			 * connection loss, after which it reads the outcome from the tree. */
			zk_log_warn("%s xid %d of session 0x%llx on %s:%d was applied within a "
				    "snapshot (no result here): closing the connection",
				    jute_op_name(req->type), req->xid,
				    (unsigned long long)req->session_id, conn->ip, conn->port);
			req->state = REQ_DONE;
			req->close_after = true;
		}
	}
	conn_pump(conn, false);
	conn_mark_dirty(conn);
}

/* ---- Applied transactions ------------------------------------------------------------------ */

static struct request *request_find_on(struct conn *conn, int64_t id, int32_t xid)
{
	for (struct request *r = conn->head; r != NULL; r = r->next)
		if (r->state == REQ_SUBMITTED && r->session_id == id && r->xid == xid &&
		    r->type != ZK_OP_CREATE_SESSION && r->type != ZK_OP_SYNC &&
		    r->type != ZK_OP_RECONFIG)
			return r;
	return NULL;
}

/* The submitted write of session @id with @xid: on the connection holding the session, or,
 * when the session already left that connection (its closeSession applied first: an expiry
 * racing the write), on any connection still open. */
static struct request *request_find(struct zkfsd *srv, int64_t id, int32_t xid)
{
	struct session *s = tracker_find(srv, id);
	struct request *r;

	if (s != NULL && s->conn != NULL)
		return request_find_on(s->conn, id, xid);
	for (struct conn *c = srv->conns; c != NULL; c = c->next)
		if (c->session == NULL && (r = request_find_on(c, id, xid)) != NULL)
			return r;
	return NULL;
}

/* ZooKeeper 3.8 answers a create2 inside a multi like a plain create (its multi turns create2
 * into a CreateTxn of type create); container and TTL creates keep their stat. */
static int32_t request_multi_result_type(const struct request *req, int32_t i, int32_t type)
{
	if (type == ZK_OP_CREATE2 && i < req->jr.n_ops && req->jr.ops[i].type == ZK_OP_CREATE2)
		return ZK_OP_CREATE;
	return type;
}

static int request_encode_multi(struct request *req, const struct store_result *res)
{
	struct jute_multi_result *mr = calloc((size_t)res->n_ops + 1, sizeof(*mr));
	int rv;

	if (mr == NULL)
		return -ENOMEM;
	for (int32_t i = 0; i < res->n_ops; i++) {
		const struct store_op_result *o = &res->ops[i];

		mr[i].type = request_multi_result_type(req, i, o->type);
		mr[i].err = o->err;
		mr[i].stat = o->stat;
		if (o->path != NULL) {
			mr[i].path.p = o->path;
			mr[i].path.len = (int32_t)strlen(o->path);
		}
	}
	rv = jute_encode_multi_response(&req->reply, mr, res->n_ops);
	free(mr);
	return rv;
}

/* The body of a successful single write's reply. */
static int request_encode_write(struct request *req, const struct store_result *res)
{
	struct jute_str path = {res->path, res->path ? (int32_t)strlen(res->path) : -1};

	switch (req->type) {
	case ZK_OP_CREATE: {
		struct jute_create_response r = {.path = path};
		return jute_encode_create_response(&req->reply, &r);
	}
	case ZK_OP_CREATE2:
	case ZK_OP_CREATE_CONTAINER:
	case ZK_OP_CREATE_TTL: {
		struct jute_create2_response r = {.path = path, .stat = res->stat};
		return jute_encode_create2_response(&req->reply, &r);
	}
	case ZK_OP_SET_DATA:
	case ZK_OP_SET_ACL: {
		struct jute_set_data_response r = {.stat = res->stat};
		return jute_encode_set_data_response(&req->reply, &r);
	}
	default:
		return 0;
	}
}

static void request_answer_write(struct request *req, int64_t zxid,
				 const struct store_result *res)
{
	bool multi = req->type == ZK_OP_MULTI;
	int32_t err = multi ? ZK_ERR_OK : res->err;
	size_t start = request_begin(req, req->xid, zxid, err);
	int rv = 0;

	if (start != JUTE_FRAME_NOMEM && multi)
		rv = request_encode_multi(req, res);
	else if (start != JUTE_FRAME_NOMEM && err == ZK_ERR_OK)
		rv = request_encode_write(req, res);
	request_end(req, start, rv);
	if (req->type == ZK_OP_CLOSE_SESSION)
		req->close_after = true;
}

void request_applied(struct zkfsd *srv, int64_t zxid, const struct store_txn *txn,
		     const struct store_result *res)
{
	struct request *req = NULL;

	if (txn->type == ZK_OP_CREATE_SESSION) {
		if (res->err == ZK_ERR_OK && tracker_add(srv, txn->session_id,
							 txn->session_timeout_ms) == NULL)
			zk_log_error("out of memory tracking session 0x%llx",
				     (unsigned long long)txn->session_id);
		return;
	}
	if (txn->session_id != 0)
		req = request_find(srv, txn->session_id, txn->xid);
	if (req != NULL) {
		request_answer_write(req, zxid, res);
		if (txn->type == ZK_OP_CLOSE_SESSION && req->conn->session != NULL) {
			req->conn->session->conn = NULL;
			req->conn->session = NULL;
		}
		conn_pump(req->conn, false);
	}
	if (txn->type == ZK_OP_CLOSE_SESSION)
		tracker_remove(srv, txn->session_id);
}

/* ---- Arrival ------------------------------------------------------------------------------ */

static struct request *request_new(struct conn *conn, const uint8_t *body, size_t len)
{
	struct request *req = calloc(1, sizeof(*req));

	if (req == NULL)
		return NULL;
	req->body = malloc(len + 1);
	if (req->body == NULL) {
		free(req);
		return NULL;
	}
	memcpy(req->body, body, len);
	req->len = len;
	req->conn = conn;
	req->start_ms = uv_now(conn->srv->loop);
	zk_buf_init(&req->reply);
	conn->refs++;
	return req;
}

static void request_enqueue(struct conn *conn, struct request *req)
{
	if (conn->tail != NULL)
		conn->tail->next = req;
	else
		conn->head = req;
	conn->tail = req;
	conn->outstanding++;
	conn->srv->outstanding++;
}

void request_connect(struct conn *conn, const uint8_t *body, size_t len)
{
	struct zkfsd *srv = conn->srv;
	struct jute_connect_request cr;
	struct request *req;

	if (jute_decode_connect(body, len, &cr) != 0) {
		/* No hex sample: the body may hold a session password. */
		zk_log_warn("no valid ConnectRequest (request before the handshake?) from %s:%d "
			    "(%zu bytes), closing", conn->ip, conn->port, len);
		srv->stats.bad_frames++;
		conn_close(conn, NULL);
		return;
	}
	if (srv->no_quorum) {
		/* ZooKeeper's server outside a quorum is not running: it closes the connection
		 * without an answer and the client tries its next server. */
		zk_log_debug("refused connection from %s:%d: no leader known", conn->ip,
			     conn->port);
		conn_close(conn, NULL);
		return;
	}
	if (!server_serving(srv)) {
		/* Still replaying the log written before the restart: its store is older than
		 * what was acknowledged then. Refused as above (ZooKeeper serves once loaded). */
		zk_log_debug("refused connection from %s:%d: log not replayed yet", conn->ip,
			     conn->port);
		conn_close(conn, NULL);
		return;
	}
	if (cr.last_zxid_seen > store_last_zxid(srv->store)) {
		zk_log_warn("refused connection from %s:%d: client has seen zxid 0x%llx, our last "
			    "zxid is 0x%llx", conn->ip, conn->port,
			    (unsigned long long)cr.last_zxid_seen,
			    (unsigned long long)store_last_zxid(srv->store));
		conn_close(conn, NULL);
		return;
	}
	req = request_new(conn, body, len);
	if (req == NULL) {
		conn_close(conn, "out of memory");
		return;
	}
	/* Re-decode from the owned copy so the borrowed password points into it. */
	jute_decode_connect(req->body, len, &req->connect);
	req->type = ZK_OP_CREATE_SESSION;
	conn->omit_read_only = !cr.has_read_only;
	conn->state = CONN_HANDSHAKE;
	request_enqueue(conn, req);
	conn_mark_dirty(conn);
}

/* auth packets: answered at once, as ZooKeeper does (acl.c decides; AuthFailed closes). */
static void request_auth(struct conn *conn, const struct jute_request *jr)
{
	int rc = acl_auth(conn, &jr->u.auth);
	size_t start = jute_frame_begin(&conn->out);

	if (start != JUTE_FRAME_NOMEM &&
	    conn_reply_header(&conn->out, ZK_XID_AUTH, 0, rc) == 0) {
		jute_frame_end(&conn->out, start);
	} else {
		/* No reply: drop the reserved length too, and the client with it. */
		if (start != JUTE_FRAME_NOMEM)
			conn->out.len = start;
		rc = ZK_ERR_AUTHFAILED;
	}
	conn->sent++;
	conn->srv->stats.packets_sent++;
	if (rc != ZK_ERR_OK)
		conn->close_after_flush = true;
	conn_mark_dirty(conn);
}

/* A request that did not decode: MarshallingError (or Unimplemented + close). */
static void request_bad(struct request *req, int rv, const uint8_t *body, size_t len)
{
	struct conn *conn = req->conn;

	if (rv == -ENOTSUP && req->type == ZK_OP_CREATE_SESSION && conn->session != NULL) {
		/* ZooKeeper runs a createSession sent after the handshake through its pipeline and
		 * answers with a ConnectResponse, keeping the connection; we answer with the
		 * current session's (no new session is made). */
		uint8_t passwd[ZK_SESSION_PASSWD_LEN] = {0};

		zk_log_warn("createSession after the handshake from %s:%d: answered with the "
			    "current session", conn->ip, conn->port);
		store_session_get(conn->srv->store, conn->session->id, NULL, passwd);
		request_connect_reply(req, conn->session->timeout_ms, conn->session->id, passwd);
		return;
	}
	if (rv == -ENOTSUP) {
		zk_log_warn("unknown opcode %d (xid %d) from %s:%d: Unimplemented, closing",
			    req->type, req->xid, conn->ip, conn->port);
		request_finish_err(req, ZK_ERR_UNIMPLEMENTED, -1);
		req->close_after = true;
		return;
	}
	conn->srv->stats.bad_frames++;
	if (req->type == ZK_OP_AUTH || req->type == ZK_OP_SASL)
		/* No hex sample: the body holds a password or a SASL token. */
		zk_log_warn("malformed %s request (xid %d) from %s:%d (%zu bytes): "
			    "MarshallingError", jute_op_name(req->type), req->xid, conn->ip,
			    conn->port, len);
	else
		zk_log_hex(ZK_LOG_LEVEL_WARN, __FILE__, __LINE__, body, len,
			   "malformed %s request (xid %d) from %s:%d: MarshallingError; body:",
			   jute_op_name(req->type), req->xid, conn->ip, conn->port);
	if (req->type == ZK_OP_MULTI_READ) {
		/* ZooKeeper still sends an (empty) MultiResponse after the header of a multiRead
		 * (answered by FinalRequestProcessor; a bad multi fails earlier, without one). */
		size_t start = request_begin(req, req->xid, request_last_zxid(conn),
					     ZK_ERR_MARSHALLINGERROR);

		request_end(req, start, start == JUTE_FRAME_NOMEM
						? -ENOMEM
						: jute_encode_multi_response(&req->reply, NULL, 0));
		return;
	}
	request_finish_err(req, rv == -ENOMEM ? ZK_ERR_SYSTEMERROR : ZK_ERR_MARSHALLINGERROR,
			   request_last_zxid(conn));
}

void request_received(struct conn *conn, const uint8_t *body, size_t len)
{
	struct jute_request_header hdr;
	struct jute_in in;
	struct request *req;
	int rv;

	jute_in_init(&in, body, len);
	if (jute_decode_request_header(&in, &hdr) != 0) {
		conn->srv->stats.bad_frames++;
		zk_log_hex(ZK_LOG_LEVEL_WARN, __FILE__, __LINE__, body, len,
			   "frame without a RequestHeader from %s:%d, closing; body:", conn->ip,
			   conn->port);
		conn_close(conn, NULL);
		return;
	}
	if (conn->session != NULL) {
		tracker_touch(conn->srv, conn->session);
		repl_session_touch(conn->srv->repl, conn->session->id);
	}
	req = request_new(conn, body, len);
	if (req == NULL) {
		conn_close(conn, "out of memory");
		return;
	}
	req->xid = hdr.xid;
	req->type = hdr.type;
	rv = jute_decode_request(req->body, len, &req->jr);
	if (rv == 0 && hdr.type == ZK_OP_AUTH) {
		request_auth(conn, &req->jr);
		request_free(req);
		return;
	}
	if (rv == 0 && hdr.type == ZK_OP_SASL) {
		saslauth_packet(conn, req->xid, &req->jr.u.sasl);
		request_free(req);
		return;
	}
	request_enqueue(conn, req);
	if (rv != 0)
		request_bad(req, rv, body, len);
	conn_pump(conn, true);
}
