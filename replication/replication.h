/* replication: consensus for zkfsd on libraft 0.15 (libuv backend).
 *
 * One code path for one server and many: a standalone server is a one-voter Raft cluster. The
 * Raft log holds store transactions (store_txn_encode bytes); the zxid of a transaction is the
 * Raft index of its entry, so zxids grow but have gaps (configuration and barrier entries take
 * indexes too). Every server applies committed entries to its struct store in log order and
 * reports each one through the repl_applied_cb given at repl_create; snapshots of the store are
 * taken at libraft's threshold and restored on start or when a lagging follower is sent one.
 *
 * Threads: everything here runs on the loop thread of the uv_loop_t given to repl_create; no
 * function may be called from another thread. Callbacks never fire inside the call that started
 * the work (libuv's rule), and never after an error return of that call. An ensemble server
 * writes to TCP sockets (libraft's transport, the peer port): the process must ignore SIGPIPE.
 *
 * Errors: functions return 0 or a negative errno. Request statuses (repl_req_cb) are
 *   0             applied (the applied_cb for the entry has already run on this server)
 *   -ENOTCONN     this server is not the leader and no leader is reachable, or leadership
 *                 was lost before the entry committed: the outcome is unknown (the entry may
 *                 still commit later, and then its applied_cb fires as usual)
 *   -ECANCELED    repl_close was called while the request was in flight
 *   -ENOSPC       the data dir (of this server or of the leader) is nearly full
 *   -EBADMSG      the committed entry did not decode as a txn (skipped on every replica)
 *   -ENOMEM, -EIO, -EMSGSIZE (entry too big), -EINVAL/-EBUSY (repl_reconfig)
 *
 * Durability: a request completes with 0 only after its entry was written and fsync'ed by a
 * quorum (on one node: by this server) and applied (see replication/raft.c for what was checked
 * in libraft's source). Snapshots are written by a forked child (replication/snapshot_fork.h):
 * the loop thread stops only for fork() (page tables: ~10-60 ms at 1M znodes here), and the
 * process is a second one while the child runs (pages written meanwhile are copied).
 */
#ifndef REPLICATION_H
#define REPLICATION_H

#include <stdbool.h>
#include <stdint.h>

#include <raft.h>
#include <uv.h>

#include "store/store.h"

struct repl;
struct zk_buf;
struct repl_change_auth;
struct repl_req;

/* Defaults of struct repl_config (repl_config_init). */
#define REPL_DEFAULT_ELECTION_TIMEOUT_MS 600
#define REPL_DEFAULT_HEARTBEAT_TIMEOUT_MS 100
#define REPL_DEFAULT_SNAPSHOT_THRESHOLD 32768
#define REPL_DEFAULT_SNAPSHOT_TRAILING 4096
#define REPL_DEFAULT_SNAPSHOT_LOG_BYTES ((size_t)64 << 20)
#define REPL_DEFAULT_INSTALL_SNAPSHOT_TIMEOUT_MS 10000
#define REPL_DEFAULT_MAX_CLIENT_FRAME 0xfffff

/* One server of the ensemble, as a zoo.cfg line
 * server.N=host:raft_port:peer_port[:observer][;client_address:client_port].
 *
 * The membership carries each member's client address: libraft's configuration stores one
 * address string per server, and repl's is "host:raft_port:peer_port" followed by
 * ";client_address:client_port" when the client part is known (libraft's transport is given
 * only the part before ';'). So the client address of a server added at run time is replicated,
 * kept in the log and in snapshots, and dropped with the server. */
struct repl_server {
	uint64_t id;	    /* N of server.N (myid); > 0. */
	char *host;	    /* IPv4 address, or a name resolved once by repl_create (libraft
			       0.15 takes IPv4 literals only); copied. */
	uint16_t raft_port; /* libraft's TCP transport listens here. */
	uint16_t peer_port; /* Forwarded writes, session touches (proto/peer.proto). */
	bool observer;	    /* Non-voting member (a Raft standby). */
	char *client_address; /* Where it serves clients, as written in the server line (a
				 name, an IPv4 or a [IPv6] literal; never resolved); NULL when
				 unknown. Copied; no ';' and no whitespace. */
	uint16_t client_port; /* 0 when unknown. */
};

struct repl_config {
	const char *data_dir;	/* Raft log + snapshots; created (mode 0700) if missing. */
	uint64_t id;		/* This server's id; ignored (1) when n_servers is 0. */
	const struct repl_server *servers; /* The ensemble, this server included; copied. */
	int n_servers;		/* 0 = standalone: one voter, no network listener. */
	bool join;		/* New server: start with an empty log and wait to be added
				   by repl_reconfig on the leader (no bootstrap). */
	unsigned election_timeout_ms;	/* 0 = REPL_DEFAULT_ELECTION_TIMEOUT_MS. */
	unsigned heartbeat_timeout_ms;	/* 0 = REPL_DEFAULT_HEARTBEAT_TIMEOUT_MS. */
	unsigned snapshot_threshold;	/* Entries between snapshots; 0 = default. */
	unsigned snapshot_trailing;	/* Entries kept after a snapshot; 0 = default. */
	size_t snapshot_log_bytes;	/* Also snapshot once this many bytes of entries piled
					   up in memory (libraft keeps the log since the last
					   snapshot in RAM), or the last snapshot's size if
					   larger; trailing entries cut to fit; 0 = default. */
	unsigned install_snapshot_timeout_ms; /* Leader resends a snapshot to a follower
					   that did not answer within this (libraft's
					   default is 30 s); 0 = default. */
	uint32_t max_client_frame;	/* The largest client frame (jute.maxbuffer): the peer
					   port refuses frames beyond it plus a little; 0 =
					   REPL_DEFAULT_MAX_CLIENT_FRAME. */
	const char *tls_keystore;	/* sslQuorum: PEM key and certificate chain of this
					   server (ssl.quorum.keyStore.location); NULL: quorum
					   traffic in clear. Borrowed for the repl's life. */
	const char *tls_truststore;	/* PEM CA bundle the members' certificates are checked
					   against (ssl.quorum.trustStore.location). Borrowed. */
	bool tls_no_hostname_verification; /* ssl.quorum.hostnameVerification=false: any
					   certificate of the CA may claim any member. */
};

/* Zero @cfg and set the default timeouts and snapshot figures. */
void repl_config_init(struct repl_config *cfg);

/* Called for every committed transaction, on every server, in log order, on the loop thread,
 * right after store_apply: @zxid is the entry's Raft index, @txn and @res are borrowed for the
 * duration of the call. Not called for entries restored from a snapshot (see repl_hooks). */
typedef void (*repl_applied_cb)(void *ctx, int64_t zxid, const struct store_txn *txn,
				const struct store_result *res);

/* Create the replication layer over @store (borrowed; must outlive the repl; repl is the only
 * writer of it). Validates @cfg (copied) and creates the data dir; does no Raft I/O yet.
 * @cb/@ctx: the applied sink. Returns 0 and *@out (owned; release with repl_close), -EINVAL
 * (bad config: logged), -ENOMEM, or another negative errno from mkdir. */
int repl_create(uv_loop_t *loop, const struct repl_config *cfg, struct store *store,
		repl_applied_cb cb, void *ctx, struct repl **out);

/* Open the log, restore the last snapshot and replay the entries after it (applied_cb fires for
 * each replayed entry, as it did before the restart), bootstrap a fresh data dir with the
 * configured membership, start the Raft timers and listeners. A standalone server becomes
 * leader at once. Returns 0, or a negative errno with a clear log line (e.g. -EBADMSG for a
 * corrupt log: the server must not serve). After an error only repl_close may be called. */
int repl_start(struct repl *r);

typedef void (*repl_req_cb)(struct repl_req *req, int status);

/* A write or barrier in flight; embedded by the caller, who keeps it alive until cb fires. */
struct repl_req {
	void *data;	    /* The caller's. */
	/* Private to replication/. */
	struct repl *repl;
	repl_req_cb cb;
	int kind;
	int status;
	uint64_t fwd_id;    /* Forwarded: id in the peer protocol. */
	int64_t index;	    /* Forwarded: index the leader reported. */
	/* Results of repl_forward, valid when cb fires with status 0: */
	int32_t zk_err;	    /* Refused by the leader before the log (nothing applied): the
			       ZooKeeper code to answer with; 0 when the entry was applied. */
	int32_t failed_op;  /* With zk_err: the failing op of a multi. */
	int64_t session_id; /* A new session: the id the leader gave it. */
	struct repl_req *next, *prev; /* Pending list (forwarded and waiting requests). */
	struct store_txn *own_txn; /* Leader: the submitted txn (store_txn_copy), applied
				      instead of decoding its entry; NULL otherwise. */
	const void *own_entry;	    /* With own_txn: the entry's buffer given to libraft. */
	struct repl_req *own_next;  /* With own_txn: the fsm's list (fsm.c repl_fsm_own_add). */
	union {
		struct raft_apply apply;
		struct raft_barrier barrier;
		struct raft_change change;
	} raft;
};

/* Append @txn (borrowed; encoded before return) to the log. Leader only: txns are built by the
 * leader and never travel between servers (a follower forwards the client's request instead:
 * repl_forward). @req: embedded by the caller, must stay valid until @cb(req, status) (see the
 * status list at the top). Returns 0 (cb will fire), -ENOTCONN (not the leader), -ECANCELED
 * (closing), -ENOSPC (the data dir is nearly full: writes are refused until space is freed,
 * checked every heartbeat), -EINVAL (txn not encodable) or -ENOMEM; on an error return cb
 * never fires. */
int repl_submit(struct repl *r, struct repl_req *req, const struct store_txn *txn,
		repl_req_cb cb);

/* A client's write as a follower received it, for the leader to build into a txn. */
struct repl_client_req {
	int64_t session_id;	     /* The client's session; 0 for a new session. */
	const uint8_t *body;	     /* Borrowed: the client's frame body (RequestHeader +
					record); NULL for a new session. */
	size_t len;		     /* Bytes at body. */
	int32_t timeout_ms;	     /* New session: the timeout the client asked for. */
	const struct store_acl *ids; /* Borrowed: the client's ids (perms unused). */
	int32_t n_ids;		     /* Entries in ids. */
};

/* The leader's side of a forwarded request (repl_hooks.build): the txn bytes for the log
 * (store_txn_encode) appended to @txn, or @res->zk_err set (no entry); @res->session_id for a
 * new session. */
typedef int (*repl_build_cb)(void *ctx, const struct repl_client_req *in, struct zk_buf *txn,
			     struct repl_req *res);

/* Follower or observer: send @in (copied before return) to the leader, which builds and appends
 * the txn (repl_hooks.build); completes once this server has applied the entry, or at once
 * with req->zk_err when the leader refused it. Returns as repl_submit (-ENOTCONN: no leader
 * other than this server). */
int repl_forward(struct repl *r, struct repl_req *req, const struct repl_client_req *in,
		 repl_req_cb cb);

/* Complete @req once this server has applied everything the leader had committed when the
 * barrier was issued (ZooKeeper's sync). Same return values and statuses as repl_submit. */
int repl_barrier(struct repl *r, struct repl_req *req, repl_req_cb cb);

enum repl_role { REPL_LEADER, REPL_FOLLOWER, REPL_CANDIDATE, REPL_OBSERVER, REPL_UNAVAILABLE };

/* This server's current role (UNAVAILABLE before repl_start succeeded and once closing). */
enum repl_role repl_role(struct repl *r);

/* Id of the leader this server knows of, 0 when none. */
uint64_t repl_leader_id(struct repl *r);

/* Index of the last entry applied to the store (0 before any). */
int64_t repl_applied_zxid(struct repl *r);

/* Index of the last entry in this server's Raft log, appended but maybe not committed or
 * applied yet: after a restart the entries after the last snapshot are applied only once a
 * leader tells the commit index, so this is what a restarted server holds. 1 right after a
 * bootstrap (its configuration entry), 0 for an empty log and before repl_start. */
uint64_t repl_last_index(struct repl *r);

/* Figures for /metrics and the AdminServer (stats.c). */
#define REPL_STATS_MAX_PEERS 16
struct repl_peer_stats {
	uint64_t id;		/* Member id. */
	uint64_t match_index;	/* Last index it acknowledged (the leader's view). */
	bool voter;		/* A voter (else an observer). */
	bool recent;		/* Heard from within an election timeout. */
};
struct repl_stats {
	uint64_t term;		     /* Current term. */
	uint64_t commit_index;	     /* Highest index known committed. */
	uint64_t applied_index;	     /* Highest index applied to the store. */
	uint64_t last_index;	     /* Last index in the log. */
	uint64_t snapshot_index;     /* Index of the last snapshot (0: none). */
	uint64_t n_snapshots;	     /* Snapshots taken since the start. */
	uint64_t last_snapshot_bytes; /* Size of the last snapshot taken. */
	double last_snapshot_ms;     /* Time its child took to write it (0: in-process). */
	bool disk_low;		     /* Free space under the reserve: writes refused. */
	unsigned n_voters;	     /* Voters in the configuration. */
	unsigned n_members;	     /* Members (voters and observers). */
	unsigned n_peers;	     /* Entries in peers: the other members, leader only. */
	struct repl_peer_stats peers[REPL_STATS_MAX_PEERS];
};

/* Fill @out. Loop thread, after repl_start. */
void repl_stats(struct repl *r, struct repl_stats *out);

/* Make the empty data dir @cfg->data_dir start from a store image (restore.c, zkfsd
 * restore): libraft's metadata (term 1) and a snapshot at index @index holding the @len bytes
 * at @image, whose configuration is this server alone (@cfg->id with its server line, or the
 * standalone voter): an ensemble is restored on one server, which starts alone and takes the
 * others in with reconfig. The next entry gets index @index + 1, so zxids go on growing.
 * Runs its own loop: call before any repl_create, no thread constraint. Returns 0, or a
 * negative errno with @err filled. */
int repl_restore(const struct repl_config *cfg, const void *image, size_t len, uint64_t index,
		 char *err, size_t err_len);

/* Last error message of libraft (for log lines and 4lw); never NULL. */
const char *repl_errmsg(struct repl *r);

/* Optional callbacks, all with the ctx of repl_create. */
struct repl_hooks {
	/* On the leader: a follower saw traffic from session @session_id (see repl_session_touch).
	 * May be NULL. */
	void (*session_touched)(void *ctx, int64_t session_id);
	/* The store was replaced by a snapshot up to @zxid (a follower that fell behind): the
	 * sessions, watches and caches built from applied_cb must be rebuilt from the store.
	 * Not called for the snapshot loaded by repl_start. May be NULL. */
	void (*store_replaced)(void *ctx, int64_t zxid);
	/* On the leader: turn a request forwarded by a follower into a txn. NULL: every
	 * forwarded request is refused with -ENOTSUP. */
	repl_build_cb build;
	/* On the leader: may a reconfig asked by @auth go ahead? 0, -EACCES (not the super
	 * user) or -ESTALE (@auth->from_config is not the current version). NULL: allowed. */
	int (*reconfig_allowed)(void *ctx, const struct repl_change_auth *auth);
};

/* Install @hooks (copied). May be called any time after repl_create. */
void repl_set_hooks(struct repl *r, const struct repl_hooks *hooks);

/* Note that a client of session @session_id is alive on this server. On a follower or observer
 * the ids are batched and sent to the leader every heartbeat, where session_touched fires for
 * each; on the leader this does nothing (zkfsd tracks its own clients). Returns 0 or -ENOMEM. */
int repl_session_touch(struct repl *r, int64_t session_id);

/* Membership change, one at a time (ZooKeeper's incremental reconfig); on a follower it is
 * forwarded to the leader. @srv: the server (borrowed); @op: REPL_ADD (as voter, or observer
 * when srv->observer; the new server must run with cfg.join), REPL_REMOVE, REPL_MAKE_VOTER,
 * REPL_MAKE_OBSERVER. Completes @req when the new configuration is committed (status -EBUSY:
 * another change is pending; -EINVAL: unknown server, duplicate id/address, bad op).
 * Returns 0, -ENOTCONN (no leader), -EBUSY or -EINVAL (checked at once on the leader),
 * -ENOMEM. */
enum repl_change_op { REPL_ADD, REPL_REMOVE, REPL_MAKE_VOTER, REPL_MAKE_OBSERVER };
/* Who asked for a change, for the leader to judge (repl_hooks.reconfig_allowed). */
struct repl_change_auth {
	const struct store_acl *ids; /* Borrowed: the client's ids (perms unused). */
	int32_t n_ids;		     /* Entries in ids. */
	int64_t from_config;	     /* The configuration version the client expects, -1: any. */
};
/* @auth: NULL for a change the server itself makes (no check); otherwise the leader asks
 * repl_hooks.reconfig_allowed first (-EACCES: not allowed, -ESTALE: other version). */
int repl_reconfig(struct repl *r, struct repl_req *req, enum repl_change_op op,
		  const struct repl_server *srv, const struct repl_change_auth *auth,
		  repl_req_cb cb);

/* Call @cb for each member of the current (last appended) configuration; @srv and its strings
 * are borrowed for the call. Used for /zookeeper/config and the conf 4lw. */
void repl_members(struct repl *r, void (*cb)(void *ctx, const struct repl_server *srv),
		  void *ctx);

/* The Raft index of the configuration repl_members lists: the last appended configuration
 * entry, committed or not (ZooKeeper's "version=" of /zookeeper/config, as a zxid). 0 before
 * repl_start succeeded. */
uint64_t repl_config_index(struct repl *r);

/* Stop: hands leadership to another voter when there is one (bounded wait), fails requests
 * still in flight with -ECANCELED, closes libraft, its transport and the peer listener, then
 * calls @cb(r) (may be NULL) on a later loop iteration; the repl is freed right after @cb
 * returns. The store is not touched after cb. Must be called once, also after a failed
 * repl_start. */
void repl_close(struct repl *r, void (*cb)(struct repl *r));

#endif
