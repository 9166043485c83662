/* store_int.h: the private structures shared by the files of store/.
 *
 * Memory layout (a 100-byte znode costs ~169 bytes: tests/unit/bench_store_memory.c):
 *  - a znode is one allocation: 44 bytes of fixed fields (parent, hnext, czxid, ctime, version,
 *    data_len, and the ACL index sharing a word with the flags), then (ephemeral, container and
 *    TTL nodes only) its owner and its index in the session's ephemeral array, its own
 *    NUL-terminated name (not its path), and the "data room": the data it was created with,
 *    at least a pointer's size;
 *  - what most nodes never need lives apart, behind a pointer that takes the place of the
 *    creation data in the room: a node whose data was ever changed (or whose mzxid, mtime or
 *    aversion are not the implicit czxid, ctime and 0) has a `struct znode_ext` (mzxid, mtime,
 *    aversion and the current data; ZNODE_EXT), and a node that has (or had) children has a
 *    `struct znode_kids` (pzxid, cversion, numChildren, the children's hash table, and the
 *    node's znode_ext if any; ZNODE_KIDS; without it pzxid = czxid and both counters are 0).
 *    A first child therefore moves a parent's creation data into a znode_ext (none when it has
 *    no data), and setACL gives a node a znode_ext holding a copy of its data: both are
 *    invisible to readers and never undone, and the room keeps its stale copy (such a node
 *    costs its creation data twice; leaves and parents created without data are the common
 *    case);
 *  - each parent hashes its children by name into its own chained table (no global table, no
 *    sibling list), so a lookup costs one probe per path component and getChildren walks the
 *    parent's buckets;
 *  - ACL lists live once in an interned, reference-counted table (nodes keep a 24-bit index,
 *    so at most STORE_ACL_MAX distinct lists): nearly every node shares world:anyone;
 *  - each session keeps an array of its ephemerals; a node remembers its index in it.
 *
 * Counters follow ZooKeeper's internal (persisted) stat: `cversion` counts child *creates* only
 * and is also the next sequential suffix; the cversion a client sees is 2 * cversion -
 * numChildren (DataNode.copyStat), i.e. creates + deletes. `owner` is ZooKeeper's internal
 * ephemeralOwner: a session id, STORE_OWNER_CONTAINER, or STORE_OWNER_TTL_BITS | ttl; clients
 * see 0 for containers and TTL nodes. */
#ifndef STORE_INT_H
#define STORE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <protobuf-c/protobuf-c.h>

#include "store/store.h"

#define STORE_OWNER_CONTAINER INT64_MIN
#define STORE_OWNER_TTL_BITS ((int64_t)0xff00000000000000ULL)
#define STORE_OWNER_TTL_MASK ((int64_t)0x000000ffffffffffLL)

/* Kinds of node by internal owner (ZooKeeper's EphemeralType). */
enum store_kind { STORE_KIND_PERSISTENT, STORE_KIND_EPHEMERAL, STORE_KIND_CONTAINER, STORE_KIND_TTL };

/* A node that has (or had) children: a chained hash table by name, the counters only parents
 * need, and the node's data block (which the data room would otherwise hold). */
struct znode_kids {
	struct znode_ext *ext;	 /* Owned; NULL: mzxid, mtime, aversion implicit, no data. */
	int64_t pzxid;
	int32_t cversion;	 /* Child creates (internal); sequence counter. */
	int32_t num_children;
	uint32_t mask;		 /* Buckets - 1 (a power of two minus one). */
	struct znode *bucket[];
};

/* A node whose data was set after its creation, whose mzxid/mtime differ from czxid/ctime, or
 * whose aversion is not 0 (setACL). */
struct znode_ext {
	int64_t mzxid, mtime;
	int32_t aversion;
	uint8_t data[];		 /* data_len bytes (the node's data_len). */
};

#define ZNODE_OWNED 0x01	 /* The tail starts with owner (int64) and eph_idx (uint32). */
#define ZNODE_EXT 0x02		 /* The data room holds a struct znode_ext pointer (owned). */
#define ZNODE_KIDS 0x04		 /* The data room holds a struct znode_kids pointer (owned). */

/* The ACL index shares a word with the flags: at most this many distinct ACL lists. */
#define STORE_ACL_MAX (1U << 24)

struct znode {
	struct znode *parent;	 /* NULL for "/". */
	struct znode *hnext;	 /* Next in the parent's bucket. */
	int64_t czxid, ctime;
	int32_t version;
	int32_t data_len;	 /* -1 = null data. */
	uint32_t acl : 24;	 /* Index into the ACL table (< STORE_ACL_MAX). */
	uint32_t flags : 8;	 /* ZNODE_OWNED, ZNODE_EXT, ZNODE_KIDS (EXT and KIDS exclusive). */
	char tail[];		 /* [owner, eph_idx] name NUL data room; unaligned. */
};

/* What a data change replaces, so an undo can put it back: znode_ext_swap, znode_ext_restore,
 * znode_ext_release. */
struct znode_saved {
	struct znode_ext *ext;	 /* The data block replaced; NULL: the data was implicit. */
	uint8_t head[sizeof(struct znode_ext *)]; /* Without ext and kids: the room's head. */
	bool kids;		 /* The node had its children's table then. */
};

/* One interned ACL list. */
struct store_acl_entry {
	struct store_acl *acl; /* Owned (strings too); NULL for a free slot. */
	int32_t n;
	uint32_t refs;	       /* Nodes using it (+ pins held by an in-flight txn). */
	uint64_t hash;
};

struct store_session {
	int64_t id;
	int32_t timeout_ms;
	uint8_t passwd[ZK_SESSION_PASSWD_LEN];
	struct store_session *hnext;
	struct znode **eph;    /* Owned array of the session's ephemerals. */
	uint32_t n_eph, cap_eph;
};

struct store {
	struct store_config cfg;
	store_event_cb cb;
	void *cb_ctx;
	struct znode *root;
	uint64_t n_nodes;
	uint64_t n_expirable;		/* Containers and TTL nodes (store_collect_expired). */
	uint64_t digest_sum;		/* Sum of node and session hashes (digest.c). */
	struct store_acl_entry *acls; /* ACL table, indexed by znode.acl. */
	uint32_t n_acls, cap_acls;
	struct store_session **sbuckets; /* Session hash table (power of two). */
	uint32_t n_sbuckets, n_sessions;
	int64_t last_zxid;
	char **quotas;			/* Quota'd paths (quota.c), normalised, owned. */
	uint32_t n_quotas, cap_quotas;
	uint64_t quota_stats_refused;	/* Stats nodes left unchanged (quota.c, for its log). */
};

/* store.c */
int store_init_tree(struct store *s);

/* znode.c: lookups, linking, stats, paths and walks (contracts above each definition). */
uint64_t store_mix64(uint64_t x);
struct znode *znode_lookup_child(const struct znode *parent, const char *name, size_t len);
struct znode *znode_lookup_child2(const struct znode *parent, const char *a, size_t alen,
				  const char *b, size_t blen);
struct znode *znode_lookup(const struct store *s, const char *path);
struct znode *znode_lookup_parent(const struct store *s, const char *path, const char **name);
struct znode *znode_new(const char *name, size_t len, int64_t owner, const uint8_t *data,
			int32_t data_len);
void znode_free(struct znode *n);
struct znode_ext *znode_ext_new(int64_t mzxid, int64_t mtime, int32_t aversion,
				const uint8_t *data, int32_t len);
int znode_ext_ensure(struct znode *n);
void znode_ext_swap(struct znode *n, struct znode_ext *e, struct znode_saved *old);
void znode_ext_restore(struct znode *n, const struct znode_saved *old);
void znode_ext_release(const struct znode_saved *old);
int znode_reserve(struct znode *parent);
void znode_link(struct store *s, struct znode *parent, struct znode *n);
void znode_unlink(struct store *s, struct znode *n);
void znode_stat(const struct znode *n, struct zk_stat *st);
enum store_kind znode_kind(const struct znode *n);
enum store_kind znode_kind_of_owner(int64_t owner);
bool znode_ttl_expired(const struct znode *n, int64_t now_ms);
int znode_path(const struct znode *n, struct zk_buf *out);
void znode_free_tree(struct store *s);
const struct znode *znode_first_child(const struct znode *n);
const struct znode *znode_next_sibling(const struct znode *c);
const struct znode *znode_next_preorder(const struct znode *n, const struct znode *top);
int znode_foreach_preorder(const struct store *s, int (*cb)(void *ctx, const struct znode *n),
			   void *ctx);
uint32_t znode_name_bucket(const struct znode_kids *k, const char *name);

/* Field accessors: what the layout above keeps outside struct znode or leaves implicit. */
static inline int64_t znode_owner(const struct znode *n)
{
	int64_t owner = 0;

	if (n->flags & ZNODE_OWNED)
		memcpy(&owner, n->tail, sizeof(owner));
	return owner;
}

static inline uint32_t znode_eph_idx(const struct znode *n)
{
	uint32_t idx;

	memcpy(&idx, n->tail + sizeof(int64_t), sizeof(idx));
	return idx;
}

static inline void znode_set_eph_idx(struct znode *n, uint32_t idx)
{
	memcpy(n->tail + sizeof(int64_t), &idx, sizeof(idx));
}

static inline const char *znode_name(const struct znode *n)
{
	return n->tail + (n->flags & ZNODE_OWNED ? sizeof(int64_t) + sizeof(uint32_t) : 0);
}

/* The room after the name: the creation data, or a struct znode_ext pointer (ZNODE_EXT), or a
 * struct znode_kids pointer (ZNODE_KIDS). */
static inline uint8_t *znode_room(const struct znode *n)
{
	const char *name = znode_name(n);

	return (uint8_t *)name + strlen(name) + 1;
}

/* The children's table; NULL while the node never had a child. */
static inline struct znode_kids *znode_kids(const struct znode *n)
{
	struct znode_kids *k = NULL;

	if (n->flags & ZNODE_KIDS)
		memcpy(&k, znode_room(n), sizeof(k));
	return k;
}

/* The data block; NULL when the data is the creation data (or none) and mzxid, mtime and
 * aversion are implicit. */
static inline struct znode_ext *znode_ext(const struct znode *n)
{
	struct znode_ext *e = NULL;

	if (n->flags & ZNODE_KIDS)
		return znode_kids(n)->ext;
	if (n->flags & ZNODE_EXT)
		memcpy(&e, znode_room(n), sizeof(e));
	return e;
}

/* The current data; NULL when data_len <= 0. */
static inline const uint8_t *znode_data(const struct znode *n)
{
	const struct znode_ext *e;

	if (n->data_len <= 0)
		return NULL;
	e = znode_ext(n);
	return e != NULL ? e->data : znode_room(n);
}

/* The fields the layout keeps in the data block or the children's table, or leaves implicit
 * without them: the one place that says what they are then. znode_rare_get finds each block
 * once (each lookup measures the name), so znode_stat, the digest and snapshots read a node's
 * fields through it; the single-field accessors below are for code that needs one. */
struct znode_rare {
	int64_t mzxid, mtime, pzxid;
	int32_t aversion, cversion, num_children;
};

static inline void znode_rare_get(const struct znode *n, struct znode_rare *r)
{
	const struct znode_ext *e = znode_ext(n);
	const struct znode_kids *k = znode_kids(n);

	r->mzxid = e != NULL ? e->mzxid : n->czxid;
	r->mtime = e != NULL ? e->mtime : n->ctime;
	r->aversion = e != NULL ? e->aversion : 0;
	r->pzxid = k != NULL ? k->pzxid : n->czxid;
	r->cversion = k != NULL ? k->cversion : 0;
	r->num_children = k != NULL ? k->num_children : 0;
}

/* znode_mzxid, znode_mtime, znode_pzxid, znode_aversion, znode_cversion, znode_num_children. */
#define ZNODE_RARE_ACCESSOR(type, field)                           \
	static inline type znode_##field(const struct znode *n)    \
	{                                                          \
		struct znode_rare r;                               \
								   \
		znode_rare_get(n, &r);                             \
		return r.field;                                    \
	}
ZNODE_RARE_ACCESSOR(int64_t, mzxid)
ZNODE_RARE_ACCESSOR(int64_t, mtime)
ZNODE_RARE_ACCESSOR(int64_t, pzxid)
ZNODE_RARE_ACCESSOR(int32_t, aversion)
ZNODE_RARE_ACCESSOR(int32_t, cversion)
ZNODE_RARE_ACCESSOR(int32_t, num_children)
#undef ZNODE_RARE_ACCESSOR

/* znode.c: the interned ACL table; a node holds an index, each index is reference-counted. */
int store_acl_intern(struct store *s, const struct store_acl *acl, int32_t n, uint32_t *idx);
void store_acl_ref(struct store *s, uint32_t idx);
void store_acl_unref(struct store *s, uint32_t idx);
void store_acl_free_all(struct store *s);

/* check.c: store_check, optionally without recomputing the digest (a snapshot load has just
 * computed it from scratch). */
int store_check_invariants(const struct store *s, bool digest);

/* snapshot_zstd.c: the compressed envelope around snapshot.c's image (format at the top of
 * snapshot_zstd.c). Writing: store_snapz_begin appends the header to @out, store_snapz_feed
 * compresses the image piece by piece (@last on the final piece, which also fills in the raw
 * length and appends the CRC32C), store_snapz_end frees the compressor (always, after a
 * successful begin). Each returns 0 or -ENOMEM; the caller cuts @out back on failure. */
struct store_snapz {
	void *cctx;	     /* ZSTD_CCtx, owned. */
	struct zk_buf *out;  /* Borrowed: where the envelope goes. */
	size_t start;	     /* Offset of the envelope in @out. */
	uint64_t raw_len;    /* Image bytes fed so far. */
};
int store_snapz_begin(struct store_snapz *z, struct zk_buf *out);
int store_snapz_feed(struct store_snapz *z, const void *p, size_t len, bool last);
void store_snapz_end(struct store_snapz *z);
/* Does @p start with the compressed envelope's magic? */
bool store_snapz_is(const void *p, size_t len);
/* Check the envelope's CRC32C, then decompress: *@raw (owned by the caller, zk_free) holds
 * *@raw_len bytes of the image. Returns 0, -EBADMSG (logged: bad CRC, a frame that does not
 * decode to the announced length) or -ENOMEM. */
int store_snapz_open(const void *p, size_t len, uint8_t **raw, size_t *raw_len);

/* digest.c (store_crc32c is in store.h) */
/* Add (@sign > 0) or remove @n's hash (metadata, plus data when @with_data) from the running
 * digest: every change to a node is bracketed by a remove before and an add after. */
void store_digest_node(struct store *s, const struct znode *n, int sign, bool with_data);
void store_digest_session(struct store *s, const struct store_session *ss, int sign);
uint64_t store_digest_sum(const struct store *s);

/* txn_codec.c */
struct store_pb_allocator {
	ProtobufCAllocator a;
	bool failed; /* An allocation failed (so a NULL unpack is -ENOMEM, not corruption). */
};
ProtobufCAllocator *store_pb_allocator_init(struct store_pb_allocator *pa);

/* txn.c: the apply machinery (reservations, undo, events), shared with txn_ops.c. */
enum undo_kind {
	UNDO_CREATE,
	UNDO_DELETE,
	UNDO_SET_DATA,
	UNDO_SET_ACL,
	UNDO_CLOSE_SESSION,
	UNDO_QUOTA_DATA, /* A zookeeper_stats node's data replaced in place (was, data_len). */
	UNDO_QUOTA_ADD,	 /* qpath added to the quota set (owned by the set). */
	UNDO_QUOTA_DEL,	 /* qpath removed from the quota set (owned here until commit). */
};

struct undo {
	enum undo_kind kind;
	struct znode *node;	      /* The node created, deleted or changed. */
	struct store_session *sess;   /* Ephemeral's session; or the closed session. */
	int64_t pzxid;		      /* Parent's pzxid before (create, delete). */
	int32_t cversion;	      /* Parent's cversion before (create). */
	struct znode_saved was;	      /* setData, quota data: old data (released at commit). */
	int32_t data_len, version;    /* setData: old; setACL: old aversion in version. */
	uint32_t acl;		      /* setACL: old ACL index (unref at commit). */
	char *qpath;		      /* UNDO_QUOTA_ADD/DEL: the quota'd path. */
};

struct event {
	int type;
	char *path; /* Owned. */
};

/* One store_apply in progress (txn.c): undo records and queued events. */
struct apply {
	struct store *s;
	int64_t zxid;
	const struct store_txn *txn;
	struct undo *undo;
	uint32_t n_undo, cap_undo;
	struct event *ev;
	uint32_t n_ev, cap_ev;
};

/* Room for @n_undo more undo records and @n_ev more events. 0 or -ENOMEM. */
int store_txn_reserve(struct apply *a, uint32_t n_undo, uint32_t n_ev);
/* Queue an event on the first @len bytes of @path ("/" when @len is 0); room reserved. */
int store_txn_event_add(struct apply *a, int type, const char *path, size_t len);
/* Queue an event on @path and NodeChildrenChanged on its parent (DataTree's order). */
int store_txn_event_add_pair(struct apply *a, int type, const char *path);
/* Take the next (reserved) undo record, zeroed, of @kind on @node. */
struct undo *store_txn_undo_push(struct apply *a, enum undo_kind kind, struct znode *node);

/* txn_ops.c */
/* Apply one op; @in_multi limits it to the ops a MultiOperationRecord can carry. Returns 0
 * (r->err says how it went; r->type is ZK_OP_ERROR on failure) or -ENOMEM. */
int store_txn_op_apply(struct apply *a, const struct store_op *op, bool in_multi,
		       struct store_op_result *r);
/* Delete the validated leaf @n at @path: unlink, parent pzxid, events, undo record. */
int store_txn_delete_node(struct apply *a, struct znode *n, const char *path);

/* quota.c: ZooKeeper's quota bookkeeping (contract at the top of quota.c). The hooks run after
 * the op changed the tree, record their undo, and return 0 or -ENOMEM. */
int store_quota_created(struct apply *a, const char *path, const struct znode *n);
int store_quota_deleted(struct apply *a, const char *path, const struct znode *n);
int store_quota_data_changed(struct apply *a, const char *path, int32_t old_len, int32_t new_len);
/* Undo an UNDO_QUOTA_ADD or UNDO_QUOTA_DEL record (cannot fail). */
void store_quota_undo(struct store *s, const struct undo *u);
/* Rebuild the quota set and recompute the stats nodes after a snapshot load (setupQuota);
 * no undo. 0 or -ENOMEM. */
int store_quota_rebuild(struct store *s);
/* The quota set is made of distinct normalised paths. 0, -EBADMSG or -ENOMEM. */
int store_quota_check(const struct store *s);
void store_quota_free_all(struct store *s);

/* session.c: the sessions hash table and each session's ephemerals; the _reserve calls make
 * the following insert/add unable to fail (contracts above each definition). */
struct store_session *store_sess_find(const struct store *s, int64_t id);
int store_sess_reserve(struct store *s);
struct store_session *store_sess_new(int64_t id);
void store_sess_insert(struct store *s, struct store_session *ss);
void store_sess_remove(struct store *s, struct store_session *ss);
void store_sess_free(struct store_session *ss);
int store_sess_eph_reserve(struct store_session *ss);
void store_sess_eph_add(struct store_session *ss, struct znode *n);
void store_sess_eph_del(struct store_session *ss, struct znode *n);
void store_sess_free_all(struct store *s);

#endif
