/* store: the znode tree of zkfsd, its sessions table, its transactions and snapshots.
 *
 * Pure C: no I/O, no globals, no threads; one struct store is used by one thread at a time.
 * Every allocation goes through common/zk_alloc.h; every function that allocates returns -ENOMEM
 * on failure and then leaves the store exactly as it was (same tree, counters, digest).
 *
 * Writes happen only through store_apply() of a transaction (struct store_txn): a client write
 * request plus what the leader fixed (session id, xid, wall-clock time). Validation happens at
 * apply time, deterministically, so every replica that applies the same log reaches the same tree
 * and the same per-request result. Semantics follow Apache ZooKeeper 3.8 (PrepRequestProcessor +
 * DataTree); the behaviours checked side by side against a real ZooKeeper are listed in
 * store/txn.c and tested in tests/unit/test_store*.c.
 *
 * Rules a caller must know:
 *  - store_config_init() fills the defaults; struct store_config has max_ttl_ms.
 *  - STORE_TTL_MAX, store_result_init(), store_node_count() counts every node including "/".
 *  - Read calls take `const struct store *`; store_get_data gives len -1 for null data.
 *  - store_collect_expired and store_check may return -ENOMEM.
 *  - Every write op of a session that is not in the sessions table (never created, or closed)
 *    is ZK_ERR_SESSIONEXPIRED (SessionTracker.checkSession); session_id 0 marks server-made
 *    txns and may not create ephemerals.
 *  - Ops a multi cannot carry (SET_ACL, DELETE_CONTAINER, reads) are ZK_ERR_BADARGUMENTS.
 *  - ACLs are validated as ZooKeeper's providers do and judged at apply against the ids the
 *    txn carries (store_acl_permits): NoAuth, as ZooKeeper's PrepRequestProcessor.
 *  - Quotas (store/quota.c): the server-side part of ZooKeeper 3.8's quotas. A zookeeper_limits
 *    node under /zookeeper/quota<P> (made by clients, e.g. zkCli's setquota) makes P quota'd;
 *    every write under P updates /zookeeper/quota<P>/zookeeper_stats in place ("count=..,
 *    bytes=.."; its stat does not change). Limits are not enforced (3.8's default).
 */
#ifndef STORE_H
#define STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/zk_buf.h"
#include "proto/zk_const.h"

struct store;

/* ZooKeeper's jute.maxbuffer default (0xfffff): the largest znode data accepted. */
#define STORE_DEFAULT_MAX_DATA_LEN 0xfffff
/* The largest TTL ZooKeeper accepts (EphemeralType.TTL: 40 bits of milliseconds). */
#define STORE_TTL_MAX 0xffffffffffLL

struct store_config {
	uint32_t max_data_len; /* Data longer than this is refused (ZK_ERR_BADARGUMENTS). */
	int64_t max_ttl_ms;    /* Largest TTL accepted; STORE_TTL_MAX by default. */
};

/* Fill @cfg with ZooKeeper's defaults. */
void store_config_init(struct store_config *cfg);

/* Called during store_apply() for each watch event ZooKeeper would trigger, in ZooKeeper's
 * order, once the whole txn has been applied (reads from the callback would see its result;
 * it must still not write). A failed txn fires nothing. @event_type is a ZK_EVENT_*; @path is
 * borrowed (valid during the call only); @zxid is the zxid of the transaction. */
typedef void (*store_event_cb)(void *ctx, int event_type, const char *path, int64_t zxid);

/* Create an empty store holding "/", "/zookeeper", "/zookeeper/config", "/zookeeper/quota"
 * (ZooKeeper's initial tree), zxid 0, no sessions.
 * @cfg: copied (NULL = defaults). @cb/@ctx: event sink, may be NULL.
 * Returns 0 and *@out (owned by the caller, free with store_destroy), or -ENOMEM. */
int store_create(const struct store_config *cfg, store_event_cb cb, void *ctx, struct store **out);

/* Free the store and everything in it. NULL is allowed. */
void store_destroy(struct store *s);

/* One ACL entry. In a txn the strings are borrowed from the caller; from store_get_acl() they
 * are borrowed from the store. */
struct store_acl {
	int32_t perms; /* ZK_PERM_* bits. */
	char *scheme;  /* "world", "digest", "ip", ... */
	char *id;      /* "anyone", "user:hash", ... */
};

/* One write operation: the body of a single-op txn, or one op of a multi. All pointers are
 * borrowed by store_apply() (not kept after it returns). */
struct store_op {
	int32_t type;		      /* ZK_OP_CREATE, _CREATE2, _CREATE_CONTAINER, _CREATE_TTL,
					 _DELETE, _DELETE_CONTAINER, _SET_DATA, _SET_ACL, _CHECK */
	const char *path;	      /* NUL-terminated; already validated by jute_path_validate. */
	const uint8_t *data;	      /* Create/setData data; NULL when data_len <= 0. */
	int32_t data_len;	      /* -1 = null data (kept as null: reads give -1). */
	int32_t version;	      /* Expected version, -1 = any (delete, setData, setACL, check). */
	int32_t mode;		      /* ZK_MODE_* for creates. */
	int64_t ttl;		      /* ms, for TTL modes (ZK_OP_CREATE_TTL); -1 otherwise. */
	const struct store_acl *acl;  /* Create and setACL. */
	int32_t n_acl;		      /* Entries in acl; 0 is refused (ZK_ERR_INVALIDACL). */
};

/* A transaction: what goes into the Raft log (store_txn_encode) and into store_apply. */
struct store_txn {
	int32_t type;		    /* A store_op type, ZK_OP_MULTI, ZK_OP_CREATE_SESSION,
				       ZK_OP_CLOSE_SESSION (also used for expiry). */
	int64_t session_id;	    /* Session the request came from / is created or closed
				       (0 for server-made txns such as DELETE_CONTAINER). */
	int32_t xid;		    /* Client's xid, so the server holding the session can answer. */
	int64_t time_ms;	    /* Leader's wall clock: ctime/mtime, and TTL expiry decisions. */
	struct store_op op;	    /* Single-op txns (op.type must equal type, else
				       the txn fails with ZK_ERR_BADARGUMENTS). */
	struct store_op *ops;	    /* Multi: the ops, in order. */
	int32_t n_ops;		    /* Multi: number of ops (0 is a valid, empty multi). */
	int32_t session_timeout_ms; /* Create session. */
	uint8_t passwd[ZK_SESSION_PASSWD_LEN]; /* Create session. */
	const struct store_acl *ids;  /* The client's authenticated ids (perms unused), judged
					 against each node's ACL at apply (ZooKeeper's checkACL:
					 "super" passes everything, "ip" ids match addresses and
					 CIDR expressions, other schemes by equality). */
	int32_t n_ids;		      /* Entries in ids. */
	bool authed;		      /* ids are given; false only for log entries written
					 before they were: then only world entries are judged. */
};

/* Result of one op of a multi, as ZooKeeper's MultiResponse carries it:
 *  - success: type = ZK_OP_CREATE (path only: for CREATE and CREATE2 ops, as ZooKeeper 3.8
 *    answers both) or ZK_OP_CREATE2 (path + stat: CREATE_CONTAINER and CREATE_TTL ops),
 *    ZK_OP_DELETE, ZK_OP_SET_DATA (stat), ZK_OP_CHECK; stat is filled for every create;
 *  - failed multi: every op has type ZK_OP_ERROR; ops before the failing one have err 0
 *    (ZK_ERR_OK, which kazoo reports as RolledBackError), the failing op its error, the ops
 *    after it ZK_ERR_RUNTIMEINCONSISTENCY. */
struct store_op_result {
	int32_t type;	     /* See above. */
	int32_t err;	     /* 0 or ZK_ERR_*. */
	char *path;	     /* Owned: created path (creates only), else NULL. */
	struct zk_stat stat; /* CREATE2 and SET_DATA results. */
};

struct store_result {
	int32_t err;			/* 0 or ZK_ERR_*; a multi: the failing op's error
					   (ZooKeeper's reply header still says 0 for a
					   multi: the per-op results carry the failure). */
	char *path;			/* Owned: created path (with sequence suffix), or NULL. */
	struct zk_stat stat;		/* Stat after the op (create, setData, setACL). */
	struct store_op_result *ops;	/* Owned; multi only: one per op. */
	int32_t n_ops;			/* Entries in ops. */
};

/* Zero @res (store_apply does it too). */
void store_result_init(struct store_result *res);

/* Apply @txn as transaction @zxid (the Raft index; the caller applies in log order, the store
 * records it as the last zxid and uses it for czxid/mzxid/pzxid).
 * Fires the txn's events through the store's callback (only when the txn succeeded).
 * A failed op still advances the last zxid, as ZooKeeper's error txn does.
 * @res: filled (owned by the caller; free with store_result_free even on error returns).
 * Returns 0 (res->err carries ZooKeeper's outcome) or -ENOMEM (store unchanged, no event fired,
 * res empty). */
int store_apply(struct store *s, int64_t zxid, const struct store_txn *txn,
		struct store_result *res);

/* Free what @res owns and zero it. */
void store_result_free(struct store_result *res);

/* Append the protobuf-c encoding of @txn (proto/store.proto StoreTxn) to @out.
 * Returns 0, -EINVAL (txn type unknown) or -ENOMEM (@out keeps what it had). */
int store_txn_encode(const struct store_txn *txn, struct zk_buf *out);

/* Decode @len bytes into a new txn (*@out owned by the caller: store_txn_free). Everything the
 * txn points to is owned by it and NUL-terminated. Returns 0, -EBADMSG (malformed) or -ENOMEM. */
int store_txn_decode(const void *p, size_t len, struct store_txn **out);

/* A new txn equal field for field to what decoding store_txn_encode's bytes of @txn gives (the
 * leader applies its own txns through it instead of decoding the entry it just encoded), in one
 * allocation (store_txn_free). Returns 0, -EINVAL (as store_txn_encode) or -ENOMEM. */
int store_txn_copy(const struct store_txn *txn, struct store_txn **out);

/* Free a txn from store_txn_decode or store_txn_copy. NULL is allowed. */
void store_txn_free(struct store_txn *txn);

/* Reads. Each returns ZK_ERR_OK or a ZooKeeper error code (ZK_ERR_NONODE). Pointers handed out
 * are borrowed until the next store_apply, store_snapshot_load or store_destroy. */

/* @stat may be NULL. */
int store_exists(const struct store *s, const char *path, struct zk_stat *stat);

/* *@len is -1 for null data (created or set with data_len -1), else the data length; *@data is
 * NULL when *@len <= 0. The Stat's dataLength is 0 for null data, as ZooKeeper's. */
int store_get_data(const struct store *s, const char *path, const uint8_t **data, int32_t *len,
		   struct zk_stat *stat);

/* Calls @cb for each child name (unordered, as ZooKeeper). @stat may be NULL. */
int store_get_children(const struct store *s, const char *path,
		       void (*cb)(void *ctx, const char *name), void *ctx, struct zk_stat *stat);

/* Would ZooKeeper's default provider for @scheme accept the ACL id @id (both NUL-terminated,
 * borrowed)? world: only "anyone"; digest: "user:hash" (Java's split, so "u:h:" passes); ip:
 * an IPv4/IPv6 address with an optional "/bits" in range. Any other scheme: false. Pure; any
 * thread. Used at apply (create, setACL) and by zkfsd before it submits a txn. */
bool store_acl_id_valid(const char *scheme, const char *id); /* x509, sasl: any name. */

struct zk_hash;
/* Feed ACL entry @a (perms, scheme, id) to keyed hash @h (common/zk_hash.h). */
void store_acl_hash_update(struct zk_hash *h, const struct store_acl *a);

/* ZooKeeper's checkACL: may a client holding @ids (perms unused) do @perm (ZK_PERM_* bits: any
 * one of them suffices) on a node whose ACL is @acl (@n entries)? An empty ACL and an id of
 * scheme "super" allow everything; world:anyone matches everyone; an "ip" ACL id (address or
 * address/bits) matches an "ip" id holding an address inside it; other schemes match by
 * equality. Pure; any thread. */
bool store_acl_permits(const struct store_acl *acl, int32_t n, const struct store_acl *ids,
		       int32_t n_ids, int32_t perm);

/* *@acl points at *@n entries. @stat may be NULL. */
int store_get_acl(const struct store *s, const char *path, const struct store_acl **acl,
		  int32_t *n, struct zk_stat *stat);

/* Calls @cb with the full path of each ephemeral of @session_id whose path starts with
 * @prefix (NULL, "" or "/" = all; ZooKeeper's getEphemerals uses startsWith). Returns ZK_ERR_OK
 * (also for an unknown session) or -ENOMEM (building a path failed; @cb may have run for
 * some paths). */
int store_get_ephemerals(const struct store *s, int64_t session_id, const char *prefix,
			 void (*cb)(void *ctx, const char *path), void *ctx);

/* Number of descendants of @path (not counting @path itself), as getAllChildrenNumber. */
int store_count_all_children(const struct store *s, const char *path, int32_t *count);

/* A session's timeout and password. Returns ZK_ERR_OK or ZK_ERR_SESSIONEXPIRED (unknown id).
 * @passwd may be NULL. */
int store_session_get(const struct store *s, int64_t id, int32_t *timeout_ms,
		      uint8_t passwd[ZK_SESSION_PASSWD_LEN]);

/* Calls @cb for each open session (unordered). */
void store_session_foreach(const struct store *s,
			   void (*cb)(void *ctx, int64_t id, int32_t timeout_ms), void *ctx);

/* Calls @cb(path, ZK_OP_DELETE_CONTAINER) for each node the leader should delete at @now_ms:
 * containers that had children (cversion > 0) and have none, and TTL nodes without children
 * whose mtime + ttl < @now_ms. Returns 0 or -ENOMEM (nothing changes; @cb must not modify the
 * store). */
int store_collect_expired(const struct store *s, int64_t now_ms,
			  void (*cb)(void *ctx, const char *path, int32_t op), void *ctx);

int64_t store_last_zxid(const struct store *s);

/* Deterministic 64-bit hash of the whole tree (every node's path, data, ACL and every stat
 * field, internal counters included) and of the sessions: equal trees give equal digests
 * whatever the order of inserts. The last zxid is not part of it (a failed txn advances the
 * zxid but changes no node); compare store_last_zxid() alongside. O(1): kept up to date by every
 * change (store_check verifies it against a full recomputation). */
uint64_t store_digest(const struct store *s);

/* Number of znodes, "/" and the /zookeeper nodes included. */
uint64_t store_node_count(const struct store *s);

/* How many times a quota stats node was left unchanged (over 1024 pairs or not StatsTrack
 * text) since the store was created: mntr's zk_refused_quota_stats. */
uint64_t store_quota_stats_refused(const struct store *s);

/* ZooKeeper's DataTree.approximateDataSize into *@out: the sum over the nodes of their path
 * length ("/" for the root) and data length. One walk over the nodes, linear in the tree
 * whatever its depth. Returns 0 or -ENOMEM. */
int store_approximate_data_size(const struct store *s, uint64_t *out);

/* Append a snapshot of the whole store (nodes with stat, data, ACL; sessions; counters; last
 * zxid) to @out: protobuf-c records (proto/store.proto) framed by length, ended by a CRC32C,
 * compressed with zstd into an envelope that has its own CRC32C (store/snapshot_zstd.c).
 * Returns 0 or -ENOMEM (@out keeps what it had). */
int store_snapshot_write(const struct store *s, struct zk_buf *out);

/* Replace the store's content by the snapshot in @p/@len. All or nothing: on error the store is
 * unchanged. Fires no events. Both the compressed envelope and the bare image older zkfsd
 * wrote are accepted; the envelope's CRC is checked before anything is decompressed. As
 * ZooKeeper's DataTree.deserialize (setupQuota), the quota'd paths are found again and their
 * zookeeper_stats recounted: where ZooKeeper's bookkeeping had drifted from a recount (nested
 * quotas, a client's setData on a stats node) the loaded store, and so its digest, differs
 * from the one that wrote the snapshot, as ZooKeeper's own replicas do. Returns 0, -EBADMSG
 * (corrupt: bad CRC, truncated, inconsistent, a zstd frame that does not decode) or -ENOMEM. */
int store_snapshot_load(struct store *s, const void *p, size_t len);

/* Verify the invariants listed in store/check.c (lookups, numChildren and the children tables,
 * node count, ACL reference counts, ephemeral lists, zxid ordering). Returns 0, -EBADMSG
 * (the broken invariant is logged with its line) or -ENOMEM. */
int store_check(const struct store *s);

/* CRC32C (Castagnoli) of @len bytes at @p, continuing @crc (0 to start): the snapshots'
 * checksum, also used by zkfsd's backup files. Pure, any thread. */
uint32_t store_crc32c(uint32_t crc, const void *p, size_t len);

#endif
