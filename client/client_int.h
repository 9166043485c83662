/* client_int.h: the private types of client/ (see zkclient.h for the contract).
 *
 * Session states and the functions behind each transition:
 *
 *   CONNECTING ──TCP up [conn.c conn_on_connect] (TLS: handshake done [tls.c])──> HANDSHAKE
 *   HANDSHAKE ──ConnectResponse, timeout > 0 [session.c session_connected]──> CONNECTED
 *   HANDSHAKE ──ConnectResponse, timeout 0 [session_expired]──> EXPIRED (final)
 *   CONNECTING/HANDSHAKE/CONNECTED ──error, EOF, bad frame, timer [session_lost]──> next host
 *       (CONNECTING again; after a whole round of failed hosts, BACKOFF first: 100 ms, doubling
 *       per failed round up to 1 s)
 *   any ──zkclient_close [session_close_start]──> CLOSING ──closeSession answered, lost or
 *       1 s [session_close_finish]──> CLOSED (handles closing; freed when all are closed)
 *
 * Invariants:
 *  1. Only the loop thread touches anything but inbox/inbox_tail/close_requested (under mu) and
 *     the atomics session_id/timeout.
 *  2. Every request in `sent` has its frame in `out` or already written, in xid order; replies
 *     must come back in that order, anything else is a protocol error (connection loss).
 *  3. `pending` holds requests accepted while not CONNECTED; they are sent after the handshake
 *     or failed with the attempt that fails.
 *  4. `done` holds requests completed without a reply (errors decided locally); they complete
 *     in the next flush step, so no callback fires inside the call that queued it.
 *  5. At most one connection (struct zkclient_conn) is current; a replaced one is only waiting
 *     for uv_close and ignores its callbacks (conn->c->conn != conn). */
#ifndef CLIENT_INT_H
#define CLIENT_INT_H

#include <openssl/ssl.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/socket.h>

#include "client/zkclient.h"
#include "common/zk_buf.h"

/* Largest frame accepted from a server. */
#define ZKCLIENT_MAX_FRAME (64u << 20)

enum zkclient_state {
	ZKCLIENT_CONNECTING,
	ZKCLIENT_HANDSHAKE,
	ZKCLIENT_CONNECTED,
	ZKCLIENT_BACKOFF,
	ZKCLIENT_EXPIRED,
	ZKCLIENT_CLOSING,
	ZKCLIENT_CLOSED,
};

/* Kinds of watches the client keeps to re-set them after a reconnect (setWatches2 order). */
enum zkclient_watch_kind {
	ZKCLIENT_W_NONE = -1,
	ZKCLIENT_W_DATA = 0,
	ZKCLIENT_W_EXIST,
	ZKCLIENT_W_CHILD,
	ZKCLIENT_W_PERSISTENT,
	ZKCLIENT_W_RECURSIVE,
	ZKCLIENT_W_KINDS,
};

struct zkclient_req {
	struct zkclient_req *next;
	int32_t xid;		/* Assigned when queued for sending. */
	int32_t op;		/* ZK_OP_*. */
	zkclient_cb cb;		/* NULL for internal requests. */
	void *ctx;
	uint8_t *frame;		/* Owned: 4-byte length, RequestHeader, body. */
	size_t len;
	int err;		/* Local outcome when in `done`. */
	int8_t watch;		/* zkclient_watch_kind set on success, or W_NONE. */
	int8_t remove;		/* removeWatches: ZK_WATCHER_* to drop locally on success, 0. */
	char *wpath;		/* Owned: the path as the user gave it (watches), or NULL. */
};

struct zkclient_queue {
	struct zkclient_req *head, *tail;
};

/* One TCP connection (and its TLS state). Freed in its uv_close callback. */
struct zkclient_conn {
	uv_tcp_t tcp;
	uv_connect_t connect;
	struct zkclient *c;	/* NULL once replaced (invariant 5). */
	SSL *ssl;		/* NULL without TLS. */
	BIO *rbio, *wbio;	/* Memory BIOs: network -> SSL, SSL -> network (owned by ssl). */
	bool tls_up;		/* Handshake finished. */
	uint8_t scratch[16384]; /* TLS: ciphertext read buffer. */
};

struct zkclient_auth {
	struct zkclient_auth *next;
	uint8_t *frame;		/* The auth packet frame (xid -4), re-sent at each connect. */
	size_t len;
};

/* Completion callbacks of the addauth packets in flight, in order. */
struct zkclient_auth_wait {
	struct zkclient_auth_wait *next;
	struct zkclient_auth *auth;
	zkclient_cb cb;
	void *ctx;
};

struct zkclient {
	uv_loop_t *loop;
	struct zkclient_thread *thread;	/* The loop's thread, or NULL on a caller's loop. */
	bool own_thread;		/* thread was created for this client alone. */
	uv_async_t async;		/* Wakes the loop for the inbox. */
	pthread_mutex_t mu;		/* Guards inbox, connected_cv. */
	pthread_cond_t connected_cv;	/* Broadcast on every session state change. */
	struct zkclient_queue inbox;	/* Requests from other threads. */
	struct zkclient_close_wait *close_wait; /* Thread mode: the closer waiting. */

	struct zkclient_host *hosts;	/* Shuffled. */
	int n_hosts;
	int host_i;			/* Host of the current/last attempt. */
	int addr_i;			/* Its address tried (getaddrinfo's order). */
	int n_addrs;			/* Addresses it resolved to at that attempt. */
	int failed_round;		/* Attempts failed in a row in this round of hosts. */
	int failed_rounds;		/* Whole rounds failed since the last connect. */
	char *chroot;			/* "/app" or NULL. */
	size_t chroot_len;

	enum zkclient_state state;
	atomic_int timeout;		/* Negotiated, ms (0 before the first connect). */
	int session_ms;			/* Requested. */
	atomic_llong session_id;
	uint8_t passwd[ZK_SESSION_PASSWD_LEN];
	int64_t last_zxid;
	int32_t next_xid;
	bool ever_connected;

	struct zkclient_conn *conn;
	uv_timer_t timer;		/* Connect deadline, ping/receive check, backoff, close. */
	uv_prepare_t flush;		/* Flush step: writes `out`, completes `done`. */
	int open_handles;		/* Handles not yet closed (CLOSED frees at 0). */
	struct zk_buf in;		/* Plaintext received, not yet consumed. */
	struct zk_buf out;		/* Plaintext frames to write. */
	uint64_t last_recv_ms, last_send_ms;

	struct zkclient_queue pending;	/* Invariant 3. */
	struct zkclient_queue sent;	/* Invariant 2. */
	struct zkclient_queue done;	/* Invariant 4. */
	struct zkclient_auth *auths;	/* Credentials to re-send. */
	struct zkclient_auth_wait *auth_waits, **auth_waits_tail;

	void *watches[ZKCLIENT_W_KINDS]; /* tsearch trees of owned paths (user's form). */

	SSL_CTX *ssl_ctx;		/* NULL without TLS. */
	bool tls_verify_host;

	zkclient_watch_cb watch_cb;
	void *watch_ctx;
};

/* session.c */
/* The connection is gone (@why for the log): fail what is in flight, tell the watcher, try the
 * next host. Loop thread. */
void zkclient_session_lost(struct zkclient *c, const char *why);
/* Start an attempt on the next host. */
void zkclient_session_next(struct zkclient *c);
/* Fire the watch callback with a session event. */
void zkclient_session_event(struct zkclient *c, int state);
/* Schedule the flush step. */
void zkclient_session_kick(struct zkclient *c);
/* Process every whole frame of c->in. Returns 0 or -EBADMSG (the caller drops the connection). */
int zkclient_session_input(struct zkclient *c);
/* Queue @req to be sent (now when connected, else in `pending`). Loop thread; takes @req. */
void zkclient_session_submit(struct zkclient *c, struct zkclient_req *req);
/* Complete @req with @err in the next flush step (invariant 4). */
void zkclient_session_fail(struct zkclient *c, struct zkclient_req *req, int err);
void zkclient_req_free(struct zkclient_req *req);
/* TCP (and TLS) is up: send the ConnectRequest. */
void zkclient_session_handshake(struct zkclient *c);
/* Init the timer and flush handles (the async one is counted too). */
void zkclient_session_init_handles(struct zkclient *c);
/* Start closing (client_int.h's CLOSING). Loop thread. */
void zkclient_session_close(struct zkclient *c);

/* client.c */
/* Every handle is closed: free the client (caller's loop) or wake the closer (thread mode). */
void zkclient_closed(struct zkclient *c);

/* A closer waiting in zkclient_close (thread mode). */
struct zkclient_close_wait {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool done;
};

/* thread.c */
bool zkclient_thread_is_self(struct zkclient_thread *t);
/* Run @fn(@arg) on @t's loop thread and return once it has run (directly when called there). */
void zkclient_thread_call(struct zkclient_thread *t, void (*fn)(void *arg), void *arg);
void zkclient_queue_push(struct zkclient_queue *q, struct zkclient_req *req);
struct zkclient_req *zkclient_queue_pop(struct zkclient_queue *q);

/* conn.c: the TCP connection of the current attempt. */
/* Connect to c->hosts[c->host_i]. Returns 0 or a negative errno (attempt failed). */
int zkclient_conn_start(struct zkclient *c);
/* Close and forget the current connection (its callbacks are ignored from now on). */
void zkclient_conn_drop(struct zkclient *c);
/* Write @len plaintext bytes (TLS: encrypted first). Returns 0 or a negative errno. */
int zkclient_conn_write(struct zkclient *c, const uint8_t *p, size_t len);

/* tls.c */
/* Build the SSL_CTX of @cfg into c->ssl_ctx. Returns 0 or -EINVAL (logged). */
int zkclient_tls_setup(struct zkclient *c, const struct zkclient_config *cfg);
/* Start the TLS client state of @conn towards @host. Returns 0 or -ENOMEM. */
int zkclient_tls_start(struct zkclient *c, struct zkclient_conn *conn, const char *host);
/* Ciphertext arrived: feed it, advance the handshake, append plaintext to c->in. Returns 1 when
 * the handshake finished during this call, 0, or -EPROTO (logged). */
int zkclient_tls_input(struct zkclient *c, struct zkclient_conn *conn, const uint8_t *p,
		       size_t len);
/* Encrypt @len bytes and write them. Returns 0 or a negative errno. */
int zkclient_tls_write(struct zkclient *c, struct zkclient_conn *conn, const uint8_t *p,
		       size_t len);
/* Write whatever the SSL engine produced (handshake records). Returns 0 or a negative errno. */
int zkclient_tls_flush(struct zkclient_conn *conn);
/* Write @len bytes on the socket (copied). Returns 0 or a negative errno. */
int zkclient_conn_send_raw(struct zkclient_conn *conn, const uint8_t *p, size_t len);

/* reply.c */
/* Decode the body after the ReplyHeader of a reply to @op into @r (borrowed from @body; free
 * with zkclient_result_free). Returns 0, -EBADMSG or -ENOMEM; @r owns nothing after an error. */
int zkclient_reply_decode(int op, const uint8_t *body, size_t len, struct zkclient_result *r);
void zkclient_result_free(struct zkclient_result *r);
/* Remove the chroot from the paths of @r (create, sync, getEphemerals, multi creates). */
void zkclient_reply_unchroot(const struct zkclient *c, struct zkclient_result *r);
/* @path without the chroot (borrowed: points into @path or at "/"). */
struct jute_str zkclient_unchroot(const struct zkclient *c, struct jute_str path);

/* ops.c */
/* A request for @jr (paths already chrooted by the caller). Returns NULL when out of memory. */
struct zkclient_req *zkclient_req_build(const struct jute_request *jr, zkclient_cb cb, void *ctx);
/* Queue @req from any thread (invariant 1). Returns 0. */
int zkclient_req_queue(struct zkclient *c, struct zkclient_req *req);

/* watches.c */
/* Remember a watch of @kind on @path (user's form). Returns 0 or -ENOMEM. */
int zkclient_watch_add(struct zkclient *c, int kind, const char *path);
/* Drop what removeWatches with @type removed on @path and fire a *WatchRemoved event for each
 * kind that was there. */
void zkclient_watch_remove(struct zkclient *c, int type, const char *path);
/* An event arrived for @path: drop the one-shot watches it consumed. */
void zkclient_watch_fired(struct zkclient *c, int type, const char *path);
/* Append the setWatches2 frame(s) re-setting every watch with relative zxid c->last_zxid to
 * c->out. Returns 0 or -ENOMEM. */
int zkclient_watch_resend(struct zkclient *c);
void zkclient_watch_free_all(struct zkclient *c);

#endif
