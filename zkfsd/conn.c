/* conn: one client connection: accept limits, framing, the per-connection FIFO of requests and
 * the output buffer (ZooKeeper's NIOServerCnxn).
 *
 * Framing follows NIOServerCnxn: the first 4 bytes of a new connection are either a
 * four-letter word (answered, then the connection is closed) or the length of the
 * ConnectRequest; a length that is negative or above jute.maxbuffer closes the connection
 * ("Len error"), with a log line and a hex sample. Requests the client pipelines behind its
 * ConnectRequest (setWatches, auth) queue behind the handshake, as in ZooKeeper.
 *
 * Flow control: a connection stops reading while it has max_outstanding_per_conn requests in
 * its FIFO or the server has globalOutstandingLimit in flight; it resumes (and frames what is
 * already buffered) when requests finish. See zkfsd_int.h for the state diagram and
 * invariants. */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "common/zk_alloc.h"
#include "common/zk_log.h"
#include "zkfsd/zkfsd_int.h"

/* Read buffer growth step, and slack above the largest frame. */
#define CONN_READ_CHUNK 65536
/* Replies and events waiting for a client beyond which it is not read from any more (until it
 * reads what it has): a client that never reads cannot make the server buffer without bound. */
#define CONN_OUT_LIMIT (4u << 20)

/* Request bytes handed to repl and not back yet, over all connections: past this, writes
 * wait in their FIFO. libraft 0.15 grows its buffer of entries waiting for the disk one 4 KiB
 * block at a time, copying it whole each time: the cost is quadratic in what is pending (1,500
 * pipelined creates of 4 KB paths blocked the loop 5-7 s). At 256 KiB a batch costs ~8 MB of
 * copying, and one fsync still carries 64 writes of 4 KB. */
#define CONN_SUBMIT_BYTES (256u << 10)

/* Events are not throttled (they come from other clients' writes): past this much unread
 * output the client is dropped instead. */
#define CONN_OUT_HARD_LIMIT (64u << 20)

/* An output buffer at most this big is kept for the next replies once written; a bigger one
 * (a large getData) is freed, so idle connections hold little. */
#define CONN_OUT_KEEP 16384

static void conn_resume(struct conn *conn);

static void conn_on_close(uv_handle_t *h)
{
	conn_unref(h->data);
}

void conn_unref(struct conn *conn)
{
	if (--conn->refs > 0)
		return;
	free(conn->rbuf);
	zk_buf_close(&conn->out);
	zk_tls_destroy(conn->tls);
	saslauth_conn_free(conn);
	free(conn);
}

static void conn_free_auth(struct conn *conn)
{
	while (conn->auth != NULL) {
		struct conn_auth *a = conn->auth;

		conn->auth = a->next;
		free(a->scheme);
		free(a->user);
		free(a->id);
		free(a);
	}
}

/* Drop queued requests; submitted ones stay alive (holding a ref) until repl answers. */
static void conn_drop_requests(struct conn *conn)
{
	struct request *req = conn->head, *next;

	conn->head = conn->tail = NULL;
	for (; req != NULL; req = next) {
		next = req->next;
		req->next = NULL;
		conn->outstanding--;
		conn->srv->outstanding--;
		request_release(req);
	}
}

void conn_close(struct conn *conn, const char *why)
{
	struct zkfsd *srv = conn->srv;

	if (conn->state == CONN_CLOSING)
		return;
	if (why != NULL)
		zk_log_info("closing connection from %s:%d: %s", conn->ip, conn->port, why);
	conn->state = CONN_CLOSING;
	if (conn->paused) {
		conn->paused = false;
		srv->n_paused--;
	}
	if (conn->prev != NULL)
		conn->prev->next = conn->next;
	else
		srv->conns = conn->next;
	if (conn->next != NULL)
		conn->next->prev = conn->prev;
	srv->n_conns--;
	if (conn->session != NULL) {
		conn->session->conn = NULL;
		conn->session = NULL;
	}
	watch_drop_conn(srv, conn);
	conn_drop_requests(conn);
	conn_free_auth(conn);
	uv_close((uv_handle_t *)&conn->tcp, conn_on_close);
	server_resume_paused(srv);
}

void conn_close_all(struct zkfsd *srv)
{
	while (srv->conns != NULL)
		conn_close(srv->conns, NULL);
}

void conn_mark_dirty(struct conn *conn)
{
	struct zkfsd *srv = conn->srv;

	if (conn->dirty || conn->state == CONN_CLOSING)
		return;
	conn->dirty = true;
	conn->refs++; /* The dirty list holds a ref until the flush step. */
	conn->dirty_next = srv->dirty;
	srv->dirty = conn;
	server_wake_flush(srv);
}

/* ---- Output ------------------------------------------------------------------------------ */

struct conn_write {
	uv_write_t w;	  /* The request. */
	struct conn *conn; /* Holds a ref. */
	uint8_t *data;	  /* Owned (zk_free). */
	size_t len;	  /* Bytes. */
};

/* The bytes handed to uv_write and not written yet, per connection and over the server. */
static void conn_writing_add(struct conn *conn, ssize_t delta)
{
	conn->writing = (size_t)((ssize_t)conn->writing + delta);
	conn->srv->writing = (size_t)((ssize_t)conn->srv->writing + delta);
}

/* Over zkfsd.maxOutputBytes: connections that still have output unwritten (slow or never
 * reading clients) stop being read until the total falls (conn_over_limit). */
static bool conn_output_over_budget(const struct zkfsd *srv)
{
	return srv->writing + srv->unflushed >= srv->cfg->max_output_bytes;
}

static void conn_check_close_after(struct conn *conn)
{
	if (conn->close_after_flush && conn->out.len == 0 && conn->writing == 0 &&
	    conn->state != CONN_CLOSING)
		conn_close(conn, NULL);
}

/* Output written: reads held back by the connection's output limit may run again. */
static void conn_release_reads(struct conn *conn)
{
	if (!conn->reads_held || conn->out.len + conn->writing >= CONN_OUT_LIMIT)
		return;
	conn->reads_held = false;
	conn_mark_dirty(conn);
}

static void conn_on_write(uv_write_t *w, int status)
{
	struct conn_write *cw = w->data;
	struct conn *conn = cw->conn;

	bool over = conn_output_over_budget(conn->srv);

	conn_writing_add(conn, -(ssize_t)cw->len);
	zk_free(cw->data);
	free(cw);
	if (status < 0 && conn->state != CONN_CLOSING)
		conn_close(conn, uv_strerror(status));
	else
		conn_check_close_after(conn);
	if (conn->paused)
		conn_resume(conn);
	if (conn->state != CONN_CLOSING)
		conn_release_reads(conn);
	if (over && !conn_output_over_budget(conn->srv))
		server_resume_paused(conn->srv); /* Slow readers held everyone's output back. */
	conn_unref(conn);
}

/* Try to write conn->out at once (the socket almost always has room): no request, no
 * callback and no poller change for the common case. Returns the bytes written (all of them
 * leaves conn->out empty, its memory kept unless large), or a negative libuv error other
 * than EAGAIN (conn->out untouched). */
static ssize_t conn_try_write(struct conn *conn)
{
	uv_buf_t buf = uv_buf_init((char *)conn->out.data, (unsigned)conn->out.len);
	int rv = uv_try_write((uv_stream_t *)&conn->tcp, &buf, 1);

	if (rv == UV_EAGAIN)
		return 0;
	if (rv < 0 || (size_t)rv < conn->out.len)
		return rv;
	if (conn->out.cap > CONN_OUT_KEEP)
		zk_buf_close(&conn->out);
	else
		zk_buf_reset(&conn->out);
	return rv;
}

/* Hand what uv_try_write left (conn->out from byte @done on) to uv_write. */
static void conn_write_rest(struct conn *conn, size_t done)
{
	struct conn_write *cw = calloc(1, sizeof(*cw));
	uv_buf_t buf;
	size_t len;
	int rv;

	if (cw == NULL) {
		conn_close(conn, "out of memory");
		return;
	}
	cw->data = zk_buf_steal(&conn->out, &len);
	cw->len = len - done;
	cw->conn = conn;
	cw->w.data = cw;
	buf = uv_buf_init((char *)cw->data + done, (unsigned)cw->len);
	conn->refs++;
	conn_writing_add(conn, (ssize_t)cw->len);
	rv = uv_write(&cw->w, (uv_stream_t *)&conn->tcp, &buf, 1, conn_on_write);
	if (rv != 0) {
		conn_writing_add(conn, -(ssize_t)cw->len);
		zk_free(cw->data);
		free(cw);
		conn->refs--;
		conn_close(conn, uv_strerror(rv));
	}
}

static void conn_flush(struct conn *conn)
{
	ssize_t done;

	if (conn->tls != NULL && conn->state != CONN_CLOSING &&
	    zk_tls_encrypt(conn->tls, &conn->out) != 0) {
		conn_close(conn, "TLS: cannot encrypt the output");
		return;
	}
	if (conn->state == CONN_CLOSING || conn->out.len == 0) {
		conn_check_close_after(conn);
		return;
	}
	done = conn_try_write(conn);
	if (done < 0) {
		conn_close(conn, uv_strerror((int)done));
		return;
	}
	if (conn->out.len > 0) {
		conn_write_rest(conn, (size_t)done);
		return;
	}
	conn_check_close_after(conn);
	if (conn->paused)
		conn_resume(conn); /* Under CONN_OUT_LIMIT again. */
	conn_release_reads(conn);
}

void conn_flush_all(struct zkfsd *srv)
{
	while (srv->dirty != NULL) {
		struct conn *conn = srv->dirty;

		srv->dirty = conn->dirty_next;
		if (conn->drop)
			conn_close(conn, NULL);
		if (conn->state != CONN_CLOSING && conn->paused)
			conn_resume(conn); /* E.g. the handshake just completed. */
		if (conn->state != CONN_CLOSING)
			conn_pump(conn, true); /* Still marked dirty: no re-queueing. */
		conn->dirty = false;
		if (conn->state != CONN_CLOSING)
			conn_flush(conn);
		conn_unref(conn);
	}
	srv->unflushed = 0; /* Written, or counted in srv->writing. */
}

int conn_reply_header(struct zk_buf *out, int32_t xid, int64_t zxid, int32_t err)
{
	struct jute_reply_header h = {.xid = xid, .zxid = zxid, .err = err};

	return jute_encode_reply_header(out, &h);
}

void conn_send_event(struct conn *conn, int type, const char *path, int64_t zxid)
{
	struct jute_watcher_event ev = {.type = type, .state = ZK_STATE_SYNC_CONNECTED,
					.path = {.p = path, .len = (int32_t)strlen(path)}};
	size_t start, mark = conn->out.len;

	(void)zxid; /* ZooKeeper 3.8 sends -1 as the notification's zxid. */
	if (conn->state == CONN_CLOSING)
		return;
	if (conn->drop)
		return;
	if (conn->out.len + conn->writing > CONN_OUT_HARD_LIMIT ||
	    (conn->out.len + conn->writing > CONN_OUT_LIMIT && conn_output_over_budget(conn->srv))) {
		/* Closed in the flush step: we may be inside the watch tables' iteration. Past
		 * the output budget a connection gets 4 MiB, not 64 MiB: N slow readers of events
		 * cannot hold N x 64 MiB. */
		server_refuse(conn->srv, ZKFSD_REFUSED_SLOW_READERS,
			      "client %s:%d does not read its watch events (%zu bytes waiting, %zu "
			      "over all connections): closing", conn->ip, conn->port,
			      conn->out.len + conn->writing, conn->srv->writing + conn->srv->unflushed);
		conn->drop = true;
		conn_mark_dirty(conn);
		return;
	}
	start = jute_frame_begin(&conn->out);
	if (start == JUTE_FRAME_NOMEM || conn_reply_header(&conn->out, ZK_XID_WATCH_EVENT, -1, 0) ||
	    jute_encode_watcher_event(&conn->out, &ev)) {
		conn->out.len = mark;
		zk_log_error("out of memory for a watch event to %s:%d: closing", conn->ip,
			     conn->port);
		conn->drop = true;
		conn_mark_dirty(conn);
		return;
	}
	jute_frame_end(&conn->out, start);
	conn->srv->unflushed += conn->out.len - mark;
	conn->sent++;
	conn->srv->stats.packets_sent++;
	conn_mark_dirty(conn);
}

/* ---- The FIFO ----------------------------------------------------------------------------- */

static void conn_account_latency(struct conn *conn, const struct request *req)
{
	struct zkfsd_stats *st = &conn->srv->stats;
	uint64_t ms = uv_now(conn->srv->loop) - req->start_ms;

	conn->last_xid = req->xid;
	conn->last_op = req->type;
	conn->lat_total += ms;
	conn->lat_count++;
	conn->lat_min = ms < conn->lat_min ? ms : conn->lat_min;
	conn->lat_max = ms > conn->lat_max ? ms : conn->lat_max;
	st->latency_total_ms += ms;
	st->latency_count++;
	st->latency_min_ms = ms < st->latency_min_ms ? ms : st->latency_min_ms;
	st->latency_max_ms = ms > st->latency_max_ms ? ms : st->latency_max_ms;
}

/* Move finished requests at the head into the output, in order. */
static void conn_pop_done(struct conn *conn)
{
	struct request *req;

	if (conn->head == NULL || conn->head->state != REQ_DONE)
		return;
	conn_mark_dirty(conn);
	while ((req = conn->head) != NULL && req->state == REQ_DONE) {
		conn->head = req->next;
		if (conn->head == NULL)
			conn->tail = NULL;
		conn->outstanding--;
		conn->srv->outstanding--;
		if (conn->out.len == 0) {
			/* Moved, not copied: a big reply is not held twice. */
			struct zk_buf empty = conn->out;

			conn->out = req->reply;
			req->reply = empty;
		} else if (zk_buf_append(&conn->out, req->reply.data, req->reply.len) != 0) {
			request_release(req);
			conn_close(conn, "out of memory for a reply");
			return;
		}
		if (req->reply.len > 0) {
			conn->sent++;
			conn->srv->stats.packets_sent++;
		}
		conn_account_latency(conn, req);
		if (req->close_after) {
			conn->close_after_flush = true;
			request_release(req);
			conn_drop_requests(conn);
			break;
		}
		request_release(req);
	}
}

/* Is @req answered from repl's applied callback (so reads behind it can be evaluated right
 * there, before the next entry applies)? sync and createSession complete from repl's request
 * callback instead, which on a follower may come after later entries applied; reconfig from
 * its own. */
static bool conn_answered_at_apply(const struct request *req)
{
	return req->type != ZK_OP_SYNC && req->type != ZK_OP_CREATE_SESSION &&
	       req->type != ZK_OP_RECONFIG;
}

void conn_submit_done(struct request *req)
{
	struct zkfsd *srv = req->conn->srv;

	assert(srv->submit_bytes >= req->submit_bytes);
	srv->submit_bytes -= req->submit_bytes;
	req->submit_bytes = 0;
	if (!srv->submit_blocked || srv->submit_bytes >= CONN_SUBMIT_BYTES)
		return;
	srv->submit_blocked = false;
	for (struct conn *c = srv->conns; c != NULL; c = c->next)
		conn_mark_dirty(c);
}

void conn_pump(struct conn *conn, bool submit)
{
	bool blocked = false, hard = false;
	size_t held;

	if (conn->state == CONN_CLOSING)
		return;
	conn_pop_done(conn);
	/* The output this connection holds, finished replies not moved yet included: reads
	 * stop past CONN_OUT_LIMIT (a run of reads freed by one write could build hundreds of
	 * MB at once), so one reply at most (zkfsd.maxReplyBytes) overshoots it. */
	held = conn->out.len + conn->writing;
	for (struct request *req = conn->head; req != NULL && conn->state != CONN_CLOSING;
	     req = req->next) {
		if (req->state == REQ_SUBMITTED) {
			blocked = true;
			hard = hard || !conn_answered_at_apply(req);
			continue;
		}
		if (req->state == REQ_DONE) {
			held += req->reply.len;
			continue;
		}
		if (request_is_read(req->type)) {
			/* A read waits for the writes before it. Writes after it may still go:
			 * the read runs in the applied callback of the write just before it,
			 * before any later entry is applied. */
			if (blocked && hard)
				break;
			if (!blocked && held >= CONN_OUT_LIMIT) {
				/* Nothing behind it goes either: the FIFO keeps its order. */
				conn->reads_held = true;
				break;
			}
			if (!blocked) {
				read_run(req);
				held += req->reply.len;
			}
			continue;
		}
		if (!submit || hard)
			break;
		if (conn->srv->submit_bytes >= CONN_SUBMIT_BYTES) {
			conn->srv->submit_blocked = true;
			break;
		}
		request_submit(req);
		if (req->in_repl) {
			req->submit_bytes = req->len;
			conn->srv->submit_bytes += req->len;
		}
		if (req->state == REQ_QUEUED)
			break; /* Held until a leader is known (request_submit). */
		if (req->state != REQ_DONE) {
			blocked = true;
			hard = hard || !conn_answered_at_apply(req);
		}
	}
	if (conn->state != CONN_CLOSING)
		conn_pop_done(conn);
	server_resume_paused(conn->srv);
}

/* ---- Input -------------------------------------------------------------------------------- */

static bool conn_over_limit(const struct conn *conn)
{
	const struct config *cfg = conn->srv->cfg;

	/* ZooKeeper stops reading a connection between its ConnectRequest and the session's
	 * creation (disableRecv): pipelined auth packets, answered at once, must not overtake
	 * the ConnectResponse. */
	return conn->state == CONN_HANDSHAKE ||
	       conn->outstanding >= cfg->max_outstanding_per_conn ||
	       conn->srv->outstanding >= cfg->global_outstanding_limit ||
	       conn->out.len + conn->writing >= CONN_OUT_LIMIT ||
	       (conn->out.len + conn->writing > 0 && conn_output_over_budget(conn->srv));
}

/* A connection with nothing buffered reads into the server's shared buffer (no allocation
 * per read); conn_keep_rest copies what a read leaves unframed into the connection's own. */
static void conn_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct conn *conn = h->data;
	struct zkfsd *srv = conn->srv;
	size_t want = (conn->draining ? 0 : conn->rlen) + CONN_READ_CHUNK;

	(void)suggested;
	if (!conn->draining && (conn->rlen == 0 || conn->tls != NULL)) {
		/* TLS: ciphertext, decrypted into rbuf within the read callback (conn_tls_read). */
		if (srv->read_buf == NULL)
			srv->read_buf = malloc(CONN_READ_CHUNK);
		*buf = uv_buf_init((char *)srv->read_buf, srv->read_buf ? CONN_READ_CHUNK : 0);
		return;
	}
	if (conn->rcap < want) {
		uint8_t *p = realloc(conn->rbuf, want);

		if (p == NULL) {
			*buf = uv_buf_init(NULL, 0);
			return;
		}
		conn->rbuf = p;
		conn->rcap = want;
	}
	if (conn->draining)
		*buf = uv_buf_init((char *)conn->rbuf, (unsigned)conn->rcap);
	else
		*buf = uv_buf_init((char *)conn->rbuf + conn->rlen,
				   (unsigned)(conn->rcap - conn->rlen));
}

/* How long, and how many bytes, a refused client may keep sending before we close. */
#define CONN_DRAIN_MS 2000
#define CONN_DRAIN_BYTES (64u << 20)

static void conn_on_shutdown(uv_shutdown_t *req, int status)
{
	(void)status;
	conn_unref(req->data);
}

/* Refuse the rest of the input: send FIN and discard what still comes until the peer closes
 * (or the grace period ends). Closing at once with unread bytes would make the kernel answer
 * the client's pending send with a reset instead of letting it see an orderly close. */
static void conn_drain(struct conn *conn)
{
	conn->draining = true;
	conn->drain_since_ms = uv_now(conn->srv->loop);
	conn->rlen = 0;
	conn->shutdown.data = conn;
	conn->refs++;
	if (uv_shutdown(&conn->shutdown, (uv_stream_t *)&conn->tcp, conn_on_shutdown) != 0) {
		conn->refs--;
		conn_close(conn, NULL);
	}
}

/* A connection that sent no ConnectRequest is closed after this long (ZooKeeper's NIO
 * factory: zookeeper.nio.sessionlessCnxnTimeout, 10 s). */
#define CONN_HANDSHAKE_MS 10000

void conn_reap(struct zkfsd *srv)
{
	uint64_t now = uv_now(srv->loop);
	struct conn *conn, *next;

	for (conn = srv->conns; conn != NULL; conn = next) {
		next = conn->next;
		if (conn->draining && now - conn->drain_since_ms > CONN_DRAIN_MS)
			conn_close(conn, "refused client kept its connection open");
		else if (conn->state == CONN_NEW && !conn->close_after_flush &&
			 now - conn->established_ms > CONN_HANDSHAKE_MS)
			conn_close(conn, "no handshake within 10 s");
	}
}

static void conn_bad_frame(struct conn *conn, const char *why)
{
	conn->srv->stats.bad_frames++;
	/* Only the length and RequestHeader: what follows may be a password (auth, connect). */
	zk_log_hex(ZK_LOG_LEVEL_WARN, __FILE__, __LINE__, conn->rbuf,
		   conn->rlen < 12 ? conn->rlen : 12, "%s from %s:%d, closing; first bytes:", why,
		   conn->ip, conn->port);
	conn_drain(conn);
}

/* The connection's first 4 bytes are a four-letter word. */
static void conn_four_letter(struct conn *conn)
{
	char word[5];
	uint64_t t0 = uv_hrtime();

	memcpy(word, conn->rbuf, 4);
	word[4] = '\0';
	fourlw_answer(conn->srv, conn, word, &conn->out);
	server_work_done(conn->srv, t0, "four-letter word %s from %s:%d", word, conn->ip,
			 conn->port);
	conn->close_after_flush = true;
	uv_read_stop((uv_stream_t *)&conn->tcp);
	conn_mark_dirty(conn);
}

/* Handle one whole frame of @body_len bytes at rbuf + @off + 4. */
static void conn_frame(struct conn *conn, size_t off, size_t body_len)
{
	const uint8_t *body = conn->rbuf + off + 4;
	/* For the stall log: the request header's type (ConnectRequest has none: -1). */
	int32_t op = conn->state != CONN_NEW && body_len >= 8
			     ? (int32_t)((uint32_t)body[4] << 24 | (uint32_t)body[5] << 16 |
					 (uint32_t)body[6] << 8 | body[7])
			     : -1;
	int64_t session = conn->session != NULL ? conn->session->id : 0;
	uint64_t t0 = uv_hrtime();

	conn->received++;
	conn->srv->stats.packets_received++;
	if (conn->state == CONN_NEW)
		request_connect(conn, body, body_len);
	else
		request_received(conn, body, body_len);
	server_work_done(conn->srv, t0,
			 "request type %d (%zu bytes) of session 0x%" PRIx64 " from %s:%d", op,
			 body_len, (uint64_t)session, conn->ip, conn->port);
}

/* Frame and dispatch what is buffered, as far as the limits allow. */
static void conn_process_input(struct conn *conn)
{
	size_t off = 0, body_len, out_before;
	uint32_t max = conn->srv->cfg->jute_maxbuffer;
	int rv;

	while (conn->state != CONN_CLOSING && !conn->close_after_flush && !conn->draining &&
	       !conn_over_limit(conn)) {
		if (conn->rlen - off < 4)
			break; /* Not even a length (and rbuf may be NULL when idle). */
		if (conn->state == CONN_NEW && fourlw_is_word(conn->rbuf + off)) {
			conn_four_letter(conn);
			return;
		}
		rv = jute_frame_peek(conn->rbuf + off, conn->rlen - off, max, &body_len);
		if (rv == -EAGAIN)
			break;
		if (rv != 0) {
			conn_bad_frame(conn, "frame length over jute.maxbuffer or negative");
			return;
		}
		out_before = conn->out.len;
		conn_frame(conn, off, body_len);
		if (conn->out.len > out_before) /* For the output budget until the flush step. */
			conn->srv->unflushed += conn->out.len - out_before;
		off += 4 + body_len;
	}
	if (conn->state == CONN_CLOSING || conn->draining)
		return;
	if (off > 0) {
		memmove(conn->rbuf, conn->rbuf + off, conn->rlen - off);
		conn->rlen -= off;
	}
	if (conn->rlen == 0 && conn->rbuf != conn->srv->read_buf) {
		/* An idle connection holds no read buffer (thousands of clients may be idle). */
		free(conn->rbuf);
		conn->rbuf = NULL;
		conn->rcap = 0;
	}
	if (conn_over_limit(conn) && !conn->paused) {
		conn->paused = true;
		conn->srv->n_paused++;
		uv_read_stop((uv_stream_t *)&conn->tcp);
		zk_log_debug("throttling %s:%d: %d requests in flight", conn->ip, conn->port,
			     conn->outstanding);
	}
}

/* After a read into the shared buffer: give the connection its own copy of the bytes not
 * framed yet (a partial frame, or input held back by the limits). */
static void conn_keep_rest(struct conn *conn)
{
	uint8_t *shared = conn->srv->read_buf, *p;
	bool keep = conn->rlen > 0 && conn->state != CONN_CLOSING && !conn->draining &&
		    !conn->close_after_flush;

	if (conn->rbuf != shared)
		return;
	conn->rbuf = NULL;
	conn->rcap = 0;
	if (!keep) {
		conn->rlen = 0;
		return;
	}
	p = malloc(conn->rlen + CONN_READ_CHUNK);
	if (p == NULL) {
		conn->rlen = 0;
		conn_close(conn, "out of memory for the read buffer");
		return;
	}
	memcpy(p, shared, conn->rlen);
	conn->rbuf = p;
	conn->rcap = conn->rlen + CONN_READ_CHUNK;
}

/* TLS (secure client port): decrypt @n bytes into the connection's own rbuf, then frame as
 * usual; handshake records go out at the next flush. */
static void conn_tls_read(struct conn *conn, const char *in, size_t n)
{
	struct zk_buf plain;
	const char *why = NULL;
	uint8_t *p;

	zk_buf_init(&plain);
	if (zk_tls_decrypt(conn->tls, in, n, &plain, &why) != 0) {
		zk_buf_close(&plain);
		zk_log_warn("TLS from %s:%d refused: %s", conn->ip, conn->port, why);
		conn_close(conn, NULL);
		return;
	}
	if (zk_tls_just_established(conn->tls) && acl_auth_x509(conn) != 0) {
		zk_buf_close(&plain);
		conn_close(conn, "out of memory for the client certificate's id");
		return;
	}
	conn_mark_dirty(conn);
	if (plain.len > 0 && conn->rcap < conn->rlen + plain.len) {
		p = realloc(conn->rbuf, conn->rlen + plain.len + CONN_READ_CHUNK);
		if (p == NULL) {
			zk_buf_close(&plain);
			conn_close(conn, "out of memory for the read buffer");
			return;
		}
		conn->rbuf = p;
		conn->rcap = conn->rlen + plain.len + CONN_READ_CHUNK;
	}
	if (plain.len > 0)
		memcpy(conn->rbuf + conn->rlen, plain.data, plain.len);
	conn->rlen += plain.len;
	zk_buf_close(&plain);
	conn_process_input(conn);
}

static void conn_on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct conn *conn = s->data;

	if (nread == 0)
		return;
	if (nread < 0) {
		if (nread == UV_ENOBUFS)
			conn_close(conn, "out of memory for the read buffer");
		else
			conn_close(conn, nread == UV_EOF ? NULL : uv_strerror((int)nread));
		return;
	}
	if (conn->draining) {
		conn->drained += (size_t)nread;
		if (conn->drained > CONN_DRAIN_BYTES)
			conn_close(conn, "refused client kept sending");
		return;
	}
	if (conn->tls != NULL) {
		conn_tls_read(conn, buf->base, (size_t)nread);
		return;
	}
	if (buf->base == (char *)conn->srv->read_buf) {
		conn->rbuf = conn->srv->read_buf;
		conn->rcap = CONN_READ_CHUNK;
	}
	conn->rlen += (size_t)nread;
	conn_process_input(conn);
	conn_keep_rest(conn);
}

/* Resume a connection that stopped reading, once it is under its limits again. */
static void conn_resume(struct conn *conn)
{
	if (!conn->paused || conn_over_limit(conn) || conn->state == CONN_CLOSING)
		return;
	conn->paused = false;
	conn->srv->n_paused--;
	conn_process_input(conn);
	if (!conn->paused && conn->state != CONN_CLOSING && !conn->close_after_flush &&
	    uv_read_start((uv_stream_t *)&conn->tcp, conn_alloc, conn_on_read) != 0)
		conn_close(conn, "cannot resume reading");
}

void server_resume_paused(struct zkfsd *srv)
{
	struct conn *conn, *next;

	/* Not re-entered: resuming one connection runs its requests, which call us again. */
	if (srv->resuming || srv->n_paused == 0 ||
	    srv->outstanding >= srv->cfg->global_outstanding_limit)
		return;
	srv->resuming = true;
	for (conn = srv->conns; conn != NULL; conn = next) {
		next = conn->next;
		if (conn->paused)
			conn_resume(conn);
	}
	srv->resuming = false;
}

/* ---- Accept ------------------------------------------------------------------------------- */

static void conn_peer(struct conn *conn)
{
	struct sockaddr_storage ss;
	int len = sizeof(ss);

	strcpy(conn->ip, "?");
	if (uv_tcp_getpeername(&conn->tcp, (struct sockaddr *)&ss, &len) != 0)
		return;
	if (ss.ss_family == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)&ss;

		uv_ip4_name(in, conn->ip, sizeof(conn->ip));
		conn->port = ntohs(in->sin_port);
	} else if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;

		uv_ip6_name(in6, conn->ip, sizeof(conn->ip));
		conn->port = ntohs(in6->sin6_port);
	}
}

static int conn_count_ip(const struct zkfsd *srv, const char *ip)
{
	int n = 0;

	for (const struct conn *c = srv->conns; c != NULL; c = c->next)
		if (strcmp(c->ip, ip) == 0)
			n++;
	return n;
}

static void conn_link(struct zkfsd *srv, struct conn *conn)
{
	conn->next = srv->conns;
	if (srv->conns != NULL)
		srv->conns->prev = conn;
	srv->conns = conn;
	srv->n_conns++;
}

void conn_accept(struct zkfsd *srv, uv_tcp_t *listener, SSL_CTX *tls)
{
	struct conn *conn = calloc(1, sizeof(*conn));
	int max = srv->cfg->max_client_cnxns;

	if (conn == NULL) {
		zk_log_error("out of memory accepting a connection");
		return;
	}
	conn->srv = srv;
	conn->refs = 1;
	conn->tcp.data = conn;
	conn->established_ms = uv_now(srv->loop);
	conn->lat_min = UINT64_MAX;
	zk_buf_init(&conn->out);
	if (uv_tcp_init(srv->loop, &conn->tcp) != 0) {
		free(conn);
		return;
	}
	conn_link(srv, conn);
	if (uv_accept((uv_stream_t *)listener, (uv_stream_t *)&conn->tcp) != 0) {
		conn_close(conn, "accept failed");
		return;
	}
	conn_peer(conn);
	if (max > 0 && conn_count_ip(srv, conn->ip) > max) {
		srv->stats.refused_conns++;
		zk_log_warn("refused connection from %s:%d: too many connections from %s - max is %d",
			    conn->ip, conn->port, conn->ip, max);
		conn_close(conn, NULL);
		return;
	}
	uv_tcp_nodelay(&conn->tcp, 1);
	if (tls != NULL && (conn->tls = zk_tls_create(tls, true)) == NULL) {
		conn_close(conn, "out of memory for TLS");
		return;
	}
	if (uv_read_start((uv_stream_t *)&conn->tcp, conn_alloc, conn_on_read) != 0)
		conn_close(conn, "cannot start reading");
}
