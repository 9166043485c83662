/* zkfsd_int: the daemon's private types, shared by its files (server, conn, tracker, request,
 * read, txn, watch, acl, reconfig, fourlw). Everything here lives on the loop thread.
 *
 * Connection lifecycle (conn.c):
 *
 *   NEW --ConnectRequest--> HANDSHAKE --session created/reattached--> READY
 *    |  \--4-letter word--> answer, CLOSING                              |
 *    \-------------- any error, EOF, closeSession, expiry ---------> CLOSING -> freed
 *
 * Invariants:
 *  1. A connection's requests form one FIFO (conn->head..tail) in arrival order; replies leave
 *     in that order (ZooKeeper's per-session FIFO). A read executes only when every request
 *     before it is done, so it sees every earlier write of its own session.
 *  2. Watch events are appended to conn->out as soon as the store reports them (during apply),
 *     so they precede the reply of the write that caused them, and of any later read.
 *  3. A struct conn is freed only when its refs drop to 0: the TCP handle holds one, each
 *     request holds one, and so do the dirty list, a pending write and a shutdown. A request
 *     handed to repl (in_repl) is freed only after repl's callback, even when the connection
 *     is gone (released).
 *  4. A session points at the connection currently holding it (or NULL); the connection
 *     points back. Closing the connection clears both.
 *  5. Reads run in the applied callback of the write before them (or when nothing is ahead),
 *     so writes after a waiting read may be submitted; sync, createSession and reconfig end
 *     outside the applied callback, so nothing behind them is submitted until they are done.
 *  6. Flow control: a connection stops reading at max_outstanding_per_conn requests, at
 *     globalOutstandingLimit over all, or at 4 MiB of unsent output; it resumes when that
 *     drains. A connection is never closed from inside the watch tables' iteration (drop). */
#ifndef ZKFSD_INT_H
#define ZKFSD_INT_H

#include <stdbool.h>
#include <stdint.h>

#include <sasl/sasl.h>
#include <uv.h>

#include "common/zk_buf.h"
#include "proto/jute.h"
#include "replication/replication.h"
#include "store/store.h"
#include "zkfsd/config.h"
#include "zkfsd/tls.h"

struct conn;
struct reconfig_job;
struct request;
struct session;
struct watch;

/* ---- Watches (watch.c) ---------------------------------------------------------------------- */

enum watch_kind {
	WATCH_STANDARD = 1,   /* One-shot: fires once, then goes away. */
	WATCH_PERSISTENT = 2, /* addWatch PERSISTENT: fires on this path, stays. */
	WATCH_RECURSIVE = 4,  /* addWatch PERSISTENT_RECURSIVE: this path and below, stays. */
};

/* A hash table path -> watches (ZooKeeper's WatchManager: one for data+exist, one for child). */
struct watch_table {
	struct watch **buckets; /* Owned. */
	size_t n_buckets;	/* Power of two. */
	size_t count;		/* Watches in the table. */
	size_t n_recursive;	/* Of which WATCH_RECURSIVE: only then walk up the path. */
};

/* ---- Sessions (tracker.c) ------------------------------------------------------------------ */

struct session {
	int64_t id;		/* Session id. */
	int32_t timeout_ms;	/* Negotiated timeout. */
	uint64_t deadline_ms;	/* uv_now after which it expires. */
	struct conn *conn;	/* Connection holding it, or NULL. */
	bool closing;		/* closeSession submitted (expiry or request). */
	bool expiry_refused;	/* Its closeSession could not be submitted (full disk, no
				 * quorum): retried every period, logged once. */
	struct session *hnext;	/* Hash chain. */
};

struct session_table {
	struct session **buckets; /* Owned. */
	size_t n_buckets;	  /* Power of two. */
	size_t count;		  /* Sessions. */
};

/* ---- Server (server.c) ---------------------------------------------------------------------- */

/* The limits against hostile or careless clients: each refusal answers a clear error, logs a
 * rate-limited line and counts in mntr as zk_refused_<name> (server_refuse). */
#define ZKFSD_REFUSALS(X)                                                                    \
	X(ACL_ENTRIES, "acl_entries")                                                        \
	X(REPLY_BYTES, "reply_bytes")                                                        \
	X(WATCHES, "watches")                                                                \
	X(SLOW_READERS, "slow_readers")

enum zkfsd_refusal {
#define ZKFSD_REFUSAL_ENUM(id, name) ZKFSD_REFUSED_##id,
	ZKFSD_REFUSALS(ZKFSD_REFUSAL_ENUM)
#undef ZKFSD_REFUSAL_ENUM
	ZKFSD_REFUSED_N
};

/* Loop stall accounting (server.c): a check step after every poll phase measures how long the
 * turn worked (wall time minus the time blocked in the poll), and the longest piece of work
 * timed in it names the cause. */
struct server_stall {
	uv_check_t check;	/* After each poll phase. */
	uint64_t turn_ns;	/* uv_hrtime at the last check step. */
	uint64_t idle_ns;	/* uv_metrics_idle_time then. */
	uint64_t cpu_ns;	/* The loop thread's CPU time then (the line shows both). */
	uint64_t unclaimed_ms;	/* Stalled time not yet given back to sessions (tracker.c). */
	uint64_t cause_ns;	/* Longest piece of work timed this turn. */
	uint64_t pieces;	/* Pieces of work timed this turn. */
	char cause[120];	/* What it was ("" if none was timed). */
	uint64_t logged_ns;	/* Last stall line (one a second at most). */
	uint64_t unlogged;	/* Stalls not logged since. */
	uint64_t refusal_logged_ns[ZKFSD_REFUSED_N]; /* Last line per refusal kind. */
	uint64_t refusal_unlogged[ZKFSD_REFUSED_N];  /* Refusals not logged since. */
};

/* Replay of the own log after a start (server.c, server_serving). */
struct server_replay {
	uint64_t target;	/* Serve once the applied index reaches it: the last log index
				   found at start (0: serving). */
	uint64_t snapshot;	/* Index of the snapshot the start restored (0: none). */
	uint64_t start_ns;	/* uv_hrtime before repl_start. */
	bool barrier_pending;	/* barrier is with repl (a replaying leader's, see server.c). */
	struct repl_req barrier; /* Embedded barrier of the current term. */
};

struct zkfsd_stats {
	uint64_t packets_received; /* Frames read from clients. */
	uint64_t packets_sent;	   /* Frames written to clients. */
	uint64_t latency_total_ms; /* Sum of request latencies. */
	uint64_t latency_count;	   /* Requests timed. */
	uint64_t latency_min_ms;   /* UINT64_MAX until the first. */
	uint64_t latency_max_ms;   /* Highest. */
	uint64_t refused_conns;	   /* Connections refused (limits). */
	uint64_t bad_frames;	   /* Malformed or oversized frames. */
	uint64_t loop_stalls;	   /* Loop turns busier than SERVER_STALL_MS (server.c). */
	uint64_t loop_stall_max_ms; /* The longest. */
	uint64_t refused[ZKFSD_REFUSED_N]; /* Requests refused by a limit, per limit. */
};

struct zkfsd {
	uv_loop_t *loop;		/* Borrowed. */
	const struct config *cfg;	/* Borrowed. */
	struct store *store;		/* Owned. */
	struct repl *repl;		/* Owned until repl_close completes. */
	uv_tcp_t listener;		/* Client port. */
	uv_tcp_t secure_listener;	/* secureClientPort (TLS), when configured. */
	bool secure_listening;		/* secure_listener is open. */
	SSL_CTX *tls_ctx;		/* Owned: the TLS context of secure_listener, or NULL. */
	sasl_callback_t sasl_cbs[3];	/* Cyrus SASL options from zoo.cfg, proxy policy
					   (saslauth.c). */
	char sasl_service[64];		/* SASL service name ("zookeeper"). */
	char sasl_host[256];		/* SASL server name: realm of DIGEST-MD5, host of GSSAPI. */
	char sasl_realm[256];		/* GSSAPI: zkfsd.saslPrincipal's realm, or "". */
	uv_timer_t session_timer;	/* Expiry check, every tick/2. */
	uv_timer_t container_timer;	/* Container/TTL collection. */
	uv_prepare_t flush;		/* Writes dirty connections once per loop turn. */
	uv_signal_t sig_term, sig_int;	/* Clean stop. */
	struct conn *conns;		/* All connections (doubly linked). */
	int n_conns;			/* Entries in conns. */
	struct conn *dirty;		/* Connections with output or work to pump. */
	struct session_table sessions;	/* Live sessions. */
	struct watch_table data_watches;  /* getData/exists watches, persistent, recursive. */
	struct watch_table child_watches; /* getChildren watches, persistent. */
	int outstanding;		/* Requests in flight over all connections. */
	int n_paused;			/* Connections that stopped reading (limits). */
	bool resuming;			/* server_resume_paused is running. */
	struct zkfsd_stats stats;	/* For the 4lw. */
	int64_t next_session_id;	/* ZooKeeper's layout: myid << 56 | time-based counter. */
	uint64_t start_ms;		/* uv_now at start. */
	int64_t container_interval_ms;	/* Container collection period. */
	bool stopping;			/* A signal arrived. */
	bool was_leader;		/* Role at the last expiry check. */
	uv_timer_t quorum_timer;	/* Ensemble: polls the leader (server.c). */
	uint64_t leaderless_since_ms;	/* uv_now when no leader was first seen (0: known). */
	unsigned election_timeout_ms;	/* repl's: how long without a leader means out of quorum. */
	bool no_quorum;			/* Ensemble without a leader for an election timeout (or
					   none yet since the start): clients are closed and
					   handshakes refused, as a ZooKeeper server outside a
					   quorum. */
	bool held;			/* Some write waits (QUEUED) for a leader to be known. */
	struct server_replay replay;	/* No session is answered before the log is replayed. */
	uint64_t leader_seen;		/* Leader id at the last quorum poll (0: none). */
	uint64_t trigger_gen;		/* Store events seen by the watch manager. */
	uint64_t data_size;		/* mntr's zk_approximate_data_size, cached. */
	uint64_t data_size_at_ms;	/* uv_hrtime in ms when it was computed (0: never). */
	uint8_t *read_buf;		/* Owned: the read buffer of connections with nothing
					   buffered (conn.c), allocated at the first read. */
	bool listening;			/* Listener is open. */
	bool repl_open;			/* repl_close not called yet. */
	struct server_stall stall;	/* Loop stalls (server.c). */
	size_t submit_bytes;		/* Bytes of requests with repl (conn.c, CONN_SUBMIT_BYTES). */
	size_t writing;			/* Sum of the connections' writing (zkfsd.maxOutputBytes). */
	size_t unflushed;		/* Output the frames of this turn added (conn.c), until the
					   flush step hands it to uv_write. */
	bool submit_blocked;		/* A connection waits for submit_bytes to fall. */
	struct metrics *metrics;	/* Owned (metrics.c); NULL when not started. */
	struct admin *admin;		/* Owned (admin.c); NULL when not enabled. */
};

/* ---- Connections (conn.c) ------------------------------------------------------------------- */

enum conn_state { CONN_NEW, CONN_HANDSHAKE, CONN_READY, CONN_CLOSING };

struct conn_auth {
	char *scheme;		/* Owned. "digest". */
	char *user;		/* Owned. The user name (whoAmI). */
	char *id;		/* Owned. The ACL id: "user:base64(sha1(user:password))". */
	struct conn_auth *next; /* List. */
};

struct conn {
	struct zkfsd *srv;		/* Borrowed. */
	uv_tcp_t tcp;			/* The socket. */
	struct conn *next, *prev;	/* srv->conns. */
	struct conn *dirty_next;	/* srv->dirty when dirty. */
	bool dirty;			/* On srv->dirty. */
	enum conn_state state;		/* See the diagram. */
	int refs;			/* Invariant 3. */
	char ip[46];			/* Peer address, for limits and logs. */
	int port;			/* Peer port. */
	uint8_t *rbuf;			/* Owned: bytes read, not yet framed. */
	size_t rlen, rcap;		/* Used / allocated. */
	struct zk_buf out;		/* Replies and events not yet handed to uv_write. */
	size_t writing;			/* Bytes in uv_write requests not yet completed. */
	struct request *head, *tail;	/* FIFO (invariant 1). */
	int outstanding;		/* Requests in head..tail. */
	bool paused;			/* uv_read_stop because of limits. */
	bool reads_held;		/* Reads wait for the output to fall under the connection's
					   limit (conn_pump). */
	bool close_after_flush;		/* Close once out is written (4lw, refused). */
	bool draining;			/* Refused frame: FIN sent, input discarded until EOF. */
	bool drop;			/* Close at the next flush step (cannot close now). */
	size_t drained;			/* Bytes discarded while draining. */
	uint64_t drain_since_ms;	/* uv_now when draining started. */
	uv_shutdown_t shutdown;		/* The FIN of a draining connection. */
	bool omit_read_only;		/* Client sent no readOnly byte in its ConnectRequest. */
	struct session *session;	/* Invariant 4. */
	struct watch *watches;		/* This connection's watches (watch.c). */
	size_t n_watches;		/* Entries in watches (zkfsd.maxWatchesPerSession). */
	size_t watch_bytes;		/* Their path bytes (zkfsd.maxWatchBytesPerSession). */
	uint64_t notified_gen;		/* Last store event that notified it (watch.c). */
	struct conn_auth *auth;		/* Auth ids added by auth packets. */
	struct zk_tls *tls;		/* Owned: TLS state (secure client port), or NULL. */
	struct sasl_conn *sasl;		/* Owned: a SASL exchange (saslauth.c), or NULL. */
	int64_t last_zxid;		/* Last zxid sent (cons). */
	int32_t last_xid;		/* Last xid answered. */
	int32_t last_op;		/* Last opcode answered. */
	uint64_t received, sent;	/* Packets (cons). */
	uint64_t established_ms;	/* uv_now at accept. */
	uint64_t lat_min, lat_max, lat_total, lat_count; /* Latency (cons). */
};

/* A request in a connection's FIFO. */
enum request_state { REQ_QUEUED, REQ_SUBMITTED, REQ_DONE };

struct request {
	struct conn *conn;		/* Holds a ref. */
	struct request *next;		/* FIFO. */
	enum request_state state;
	int32_t xid, type;		/* From the RequestHeader (type ZK_OP_CREATE_SESSION for the
					   handshake). */
	uint8_t *body;			/* Owned copy of the frame body (jr points into it). */
	size_t len;			/* Its length. */
	struct jute_request jr;		/* Decoded (not for the handshake). */
	struct jute_connect_request connect; /* Handshake only. */
	struct repl_req rreq;		/* Submit / barrier in flight. */
	struct zk_buf reply;		/* The reply frame, once done. */
	bool close_after;		/* Close the connection after this reply. */
	bool in_repl;			/* rreq is with repl: free only after its callback. */
	struct reconfig_job *reconfig;	/* Owned: the changes of a reconfig request. */
	bool released;			/* Left the FIFO while in_repl: the callback frees it. */
	int64_t session_id;		/* A submitted write's session (request_find). */
	size_t submit_bytes;		/* Counted in srv->submit_bytes while with repl (conn.c). */
	uint64_t start_ms;		/* uv_now at arrival (latency). */
};

/* server.c. Lifecycle, in this order, on the loop thread (main.c):
 *   server_init -> server_start_repl -> server_listen -> uv_run ... -> server_close.
 * server_stop (also run by SIGTERM/SIGINT) may come after any step, even a failed one; it
 * closes the listener, every connection, the timers and repl, so uv_run returns; then
 * server_close frees what is left. Each start step returns 0 or a negative errno (logged). */

/* Set up @srv (zeroed by the caller) on @loop: handles, the store, the tables. @loop and @cfg
 * are borrowed and must outlive @srv. */
int server_init(struct zkfsd *srv, uv_loop_t *loop, const struct config *cfg);
/* Open the client port (cfg clientPortAddress, which must be an IP address, and clientPort). */
int server_listen(struct zkfsd *srv);
/* Create and start replication in dataDir: restores snapshot + log, rebuilds the sessions. */
int server_start_repl(struct zkfsd *srv);
/* Fill @rc from @cfg (ensemble, data dir, snapCount); returns the servers array @rc points
 * at (the caller frees it; its strings are @cfg's), or NULL (no memory). */
struct repl_server *server_repl_config(const struct config *cfg, struct repl_config *rc);
/* Begin the clean stop (idempotent). */
void server_stop(struct zkfsd *srv);
/* After uv_run returned: close the flush step and free the store and tables. */
void server_close(struct zkfsd *srv);
/* Make sure the flush step runs at the end of this loop turn. */
void server_wake_flush(struct zkfsd *srv);
/* Requests finished: resume connections paused by the limits. */
void server_resume_paused(struct zkfsd *srv);

/* Whether the log found at start has been applied (logs once when it first is): until then no
 * session is answered (request_connect), as a ZooKeeper server loading its log serves none. */
bool server_serving(struct zkfsd *srv);

/* Loop stalls: a turn that worked longer than this is logged with its cause. */
#define SERVER_STALL_MS 100

/* A piece of loop work that started at uv_hrtime() @t0 just ended: if it is the longest of
 * this turn, @fmt names it in the stall line. Cheap when short (no formatting). */
void server_work_done(struct zkfsd *srv, uint64_t t0, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Milliseconds the loop stalled since the last call (a stall in the turn under way included):
 * the session clocks did not run meanwhile. */
uint64_t server_stall_claim(struct zkfsd *srv);

/* A request refused by limit @r: count it, and log @fmt at most once a second per limit. */
void server_refuse(struct zkfsd *srv, enum zkfsd_refusal r, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* conn.c */
/* Accept a connection on @listener; @tls: its TLS context (secureClientPort), or NULL. */
void conn_accept(struct zkfsd *srv, uv_tcp_t *listener, SSL_CTX *tls);
/* Queue @conn for the flush step (output to write, queued work to pump). */
void conn_mark_dirty(struct conn *conn);
/* Run what can run at the head of the FIFO; @submit: also hand queued writes to repl (not
 * allowed inside repl's applied callback). */
void conn_pump(struct conn *conn, bool submit);
void conn_flush_all(struct zkfsd *srv);
/* Close now (output not yet written is dropped). @why is logged at info when not NULL. */
void conn_close(struct conn *conn, const char *why);
void conn_close_all(struct zkfsd *srv);
/* Periodic: close draining connections whose peer did not finish within the grace period, and
 * connections that sent no handshake in time. */
void conn_reap(struct zkfsd *srv);
void conn_unref(struct conn *conn);
/* Append a watch event frame to conn->out. */
void conn_send_event(struct conn *conn, int type, const char *path, int64_t zxid);
/* Append a reply frame with a header only. Returns 0 or -ENOMEM. */
int conn_reply_header(struct zk_buf *out, int32_t xid, int64_t zxid, int32_t err);

/* tracker.c (the session tracker) */
int tracker_table_init(struct session_table *t);
void tracker_table_close(struct session_table *t);
struct session *tracker_find(struct zkfsd *srv, int64_t id);
/* A new id (leader): myid in the top byte, as ZooKeeper. */
int64_t tracker_next_id(struct zkfsd *srv);
/* Applied createSession (@id, @timeout_ms): add or refresh. Returns NULL on ENOMEM. */
struct session *tracker_add(struct zkfsd *srv, int64_t id, int32_t timeout_ms);
/* Applied closeSession: drop it and close its connection. */
void tracker_remove(struct zkfsd *srv, int64_t id);
void tracker_touch(struct zkfsd *srv, struct session *s);
/* Periodic: submit closeSession for expired sessions (leader only). */
void tracker_check_expiry(struct zkfsd *srv);
/* After repl_start: every session in the store, each with a fresh full timeout. */
void tracker_rebuild(struct zkfsd *srv);
/* The store was replaced by a snapshot (repl hook): make the table match it. */
void tracker_resync(struct zkfsd *srv);
/* Leader: a follower saw traffic of session @id (repl hook). */
void tracker_touched(struct zkfsd *srv, int64_t id);
/* Clamp a requested timeout into [minSessionTimeout, maxSessionTimeout]. */
int32_t tracker_negotiate(const struct config *cfg, int32_t requested);

/* request.c: helpers shared with read.c and txn.c */
int64_t request_wall_ms(void);
int64_t request_last_zxid(const struct conn *conn);
/* Start a reply frame with its header in req->reply; the frame offset or JUTE_FRAME_NOMEM. */
size_t request_begin(struct request *req, int32_t xid, int64_t zxid, int32_t err);
/* Close the frame (or, when @start or @rv failed, drop it and close the connection); DONE. */
void request_end(struct request *req, size_t start, int rv);
/* A NUL-terminated zk_malloc'ed copy of @s, or NULL. */
char *request_path(const struct jute_str *s);
bool request_has_nul(const struct jute_str *s);

/* read.c */
/* Execute a queued read (or ping, setWatches...) now; fills req->reply, state DONE. */
void read_run(struct request *req);

/* txn.c */
/* Memory a txn under construction borrows (freed after repl_submit encoded it). */
struct txn_mem {
	void **ptrs;	/* Owned pointers (zk_free). */
	int n, cap;	/* Used / allocated. */
};
void txn_mem_free(struct txn_mem *m);
/* A client write as the leader receives it (from its own client or forwarded by a follower). */
struct txn_src {
	struct zkfsd *srv;		/* The leader building the txn. */
	int32_t type, xid;		/* The RequestHeader. */
	int64_t session_id;		/* The client's session. */
	const struct jute_request *jr;	/* Borrowed: the decoded request. */
	const struct store_acl *ids;	/* Borrowed: the client's ids (acl.c), "super" added
					   by the leader under skipACL; judged at apply. */
	int32_t n_ids;			/* Entries in ids. */
};
/* Fill @txn (pointing into @m, @src and its request) for a client write: ZooKeeper's checks
 * before the tree. Returns ZK_ERR_OK or the code to answer with (*@failed: the failing op of a
 * multi). */
int txn_build(const struct txn_src *src, struct txn_mem *m, struct store_txn *txn,
	      int32_t *failed);
/* Answer write @req, refused before the log with @rc (op @failed of a multi). */
void txn_refused(struct request *req, int rc, int32_t failed);
/* Answer multi @req with ZooKeeper's per-op results for a multi whose op @failed got code @rc
 * (OK before it, RuntimeInconsistency after it); no transaction. */
void txn_multi_fail(struct request *req, int32_t failed, int rc);

/* request.c */
/* A whole frame arrived on a READY connection: decode and queue it (or answer/close). */
void request_received(struct conn *conn, const uint8_t *body, size_t len);
/* A ConnectRequest arrived on a NEW connection. */
void request_connect(struct conn *conn, const uint8_t *body, size_t len);
/* repl_hooks.build (@ctx: the server, the leader): a request a follower forwarded, built into
 * txn bytes in @out, or res->zk_err set. Returns 0 or a negative errno. */
int request_build_forwarded(void *ctx, const struct repl_client_req *in, struct zk_buf *out,
			    struct repl_req *res);
/* Submit a queued write/sync/closeSession/createSession to repl. */
void request_submit(struct request *req);
/* repl's applied callback (server.c forwards it). */
void request_applied(struct zkfsd *srv, int64_t zxid, const struct store_txn *txn,
		     const struct store_result *res);
void request_free(struct request *req);
/* repl called back about @req: if the FIFO already let it go, free it and return true. */
bool request_back_from_repl(struct request *req);
/* conn.c: @req is back from repl: its bytes leave srv->submit_bytes. */
void conn_submit_done(struct request *req);
/* The FIFO is done with @req: free it now, or when repl's callback comes if it is in flight. */
void request_release(struct request *req);
/* Is this opcode executed without a transaction? */
bool request_is_read(int32_t type);
/* The error a request answers when watch_add/watch_set returned @rv (not 0). */
int watch_error(int rv);
/* Finish @req with a header-only reply carrying @err. */
void request_finish_err(struct request *req, int32_t err, int64_t zxid);

/* watch.c */
int watch_table_init(struct watch_table *t);
void watch_table_close(struct watch_table *t);
/* Register (idempotent) a watch of @kind for @conn on @path in @t. Returns 0, -ENOMEM, or
 * -EDQUOT when @conn holds its limit of watches or path bytes (refusal counted and logged). */
int watch_add(struct zkfsd *srv, struct watch_table *t, struct conn *conn, const char *path,
	      int kind);
/* The store's event sink: fire watches for (@type, @path). */
void watch_on_event(void *ctx, int type, const char *path, int64_t zxid);
/* Remove @conn's watches on @path of watcher type @type (ZK_WATCHER_*); @dry_run only checks.
 * Returns true when at least one matched. */
bool watch_remove(struct zkfsd *srv, struct conn *conn, const char *path, int type,
		  bool dry_run);
/* Drop every watch of @conn (connection closing). */
void watch_drop_conn(struct zkfsd *srv, struct conn *conn);
/* setWatches/setWatches2 (ZooKeeper's DataTree.setWatches). */
int watch_set(struct zkfsd *srv, struct conn *conn, const struct jute_set_watches2 *sw);
/* Counts for 4lw: watches of @conn. */
size_t watch_count_conn(const struct conn *conn);
/* wchs / wchc / wchp listings. */
void watch_describe(struct zkfsd *srv, struct zk_buf *out, char mode);

/* acl.c */
/* The most ids a check may see: ip, super (skipACL), and the connection's auth ids. */
#define ACL_MAX_IDS 40
/* "user:base64(sha1(@auth))" for the digest auth data "user:password" (malloc'ed), or NULL. */
char *acl_digest_id(const uint8_t *auth, size_t len);
/* Add the id (@scheme, @user) to @conn (sasl, x509: the id is the name). 0 or -ENOMEM. */
int acl_auth_id(struct conn *conn, const char *scheme, const char *user);
/* TLS handshake done on @conn: its verified client certificate's subject DN becomes an "x509"
 * id (X509AuthenticationProvider). 0 or -ENOMEM. */
int acl_auth_x509(struct conn *conn);
/* An auth packet on @conn: add its ids (digest; "ip" adds none). Returns ZK_ERR_OK or
 * ZK_ERR_AUTHFAILED (unknown scheme, over the caps, out of memory: logged, never with the auth
 * data); the caller answers and closes. */
int acl_auth(struct conn *conn, const struct jute_auth_packet *a);
/* Fill @out (room for @max >= ACL_MAX_IDS; strings borrowed from @conn) with the ids @conn is
 * judged by; returns how many. */
int acl_conn_ids(const struct conn *conn, struct store_acl *out, int max);
/* May @conn do @perm (any of the bits) on a node with @acl (@n entries)? */
bool acl_permits(const struct conn *conn, const struct store_acl *acl, int32_t n, int32_t perm);
/* ZooKeeper's checkACL of a read on @path in the local tree: ZK_ERR_OK, ZK_ERR_NONODE or
 * ZK_ERR_NOAUTH. */
int acl_check(const struct conn *conn, const char *path, int32_t perm);

/* saslauth.c */
/* Set up Cyrus SASL when zkfsd.saslDb is given (once, before the listeners). 0 or -EINVAL. */
int saslauth_init(struct zkfsd *srv);
/* A "sasl" request (xid @xid) on @conn: one step, answered at once (AuthFailed closes). */
void saslauth_packet(struct conn *conn, int32_t xid, const struct jute_get_sasl_request *r);
/* @conn is freed: drop its SASL state. */
void saslauth_conn_free(struct conn *conn);

/* join.c */
/* Sets *@join: true for an ensemble server with no Raft log in dataDir when an ensemble
 * already exists (asked with srvr, mntr and conf on the client ports of the server.N lines):
 * join it instead of bootstrapping the configured membership; false for a restart (a log) or
 * the first start of the ensemble. An ensemble without a leader is waited for (bounded back-off, logged;
 * rule in join.c). Must be called after server_init, before the loop runs; it runs the loop
 * between rounds. Returns 0, or -ECANCELED when a stop signal arrived while waiting (the server
 * is stopping). */
int join_decide(struct zkfsd *srv, bool *join);

/* reconfig.c */
/* Run a reconfig request (ZooKeeper's incremental form) through repl_reconfig; answers it. */
void reconfig_start(struct request *req);
void reconfig_job_free(struct reconfig_job *job);
/* repl_hooks.reconfig_allowed (@ctx: the server): reconfigEnabled (-EPERM), the super user or
 * skipACL (-EACCES), the expected configuration version (-ESTALE); 0 when allowed. */
int reconfig_allowed(void *ctx, const struct repl_change_auth *auth);
/* /zookeeper/config's data for an ensemble, from the current membership. 0 or -ENOMEM. */
int reconfig_config_text(struct zkfsd *srv, struct zk_buf *out);

/* fourlw.c */
/* Is this 4-byte prefix a four-letter word we know? */
bool fourlw_is_word(const uint8_t *p);
/* Answer @word into @out. */
void fourlw_answer(struct zkfsd *srv, struct conn *conn, const char *word, struct zk_buf *out);
/* The producers behind mntr, conf and envi (their text, "key\tvalue" or "key=value" lines),
 * shared with metrics.c and admin.c so every interface shows the same figures; and cons'
 * lastOp word of opcode @op. */
void fourlw_mntr(struct zkfsd *srv, struct zk_buf *out);
void fourlw_conf(struct zkfsd *srv, struct zk_buf *out);
void fourlw_envi(struct zkfsd *srv, struct zk_buf *out);
const char *fourlw_last_op(int32_t op);

#endif
