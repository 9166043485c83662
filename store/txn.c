/* txn.c: store_apply, the write path. Follows Apache ZooKeeper 3.8's PrepRequestProcessor
 * (validation, in its order of checks) and DataTree (the changes and the watches triggered).
 *
 * All or nothing: every op first validates (a ZooKeeper error changes nothing), then reserves
 * all it will need (node, data copy, ACL, hash room, undo slot, event paths), then mutates with
 * operations that cannot fail and records how to undo them. A multi whose op k fails, or any
 * -ENOMEM, undoes ops k-1..0 in reverse order. Events are queued and fired only once the whole
 * txn has succeeded; what a committed txn replaced (old data, deleted nodes, old ACL refs) is
 * freed then.
 *
 * Behaviours checked side by side against Apache ZooKeeper 3.8.0 (kazoo on 127.0.0.1:21880):
 *  - The sequential suffix is "%010d" of the parent's count of child *creates* (the internal
 *    cversion): deletes do not advance it although the reported cversion counts them
 *    (reported = 2 * creates - numChildren). Failed creates (NoNode, NodeExists) and every op of
 *    a failed multi consume nothing; each create of a successful multi consumes one number,
 *    sequential or not.
 *  - A sequential name that already exists is NodeExists and does not move the counter.
 *  - A failed multi answers ZK_OP_ERROR for every op: 0 (kazoo's RolledBackError) before the
 *    failing op, its error, then RuntimeInconsistency after it; nothing changes.
 *  - Create: NoNode (parent) before NodeExists before NoChildrenForEphemerals; children of
 *    containers and TTL nodes are allowed; containers and TTL nodes report ephemeralOwner 0.
 *  - New nodes have pzxid = czxid = mzxid; a child create sets the parent's pzxid, a child
 *    delete too; setData sets mzxid/mtime and version+1; setACL only aversion+1.
 *  - Events: a multi fires each op's events in op order (NodeCreated, NodeChildrenChanged on
 *    the parent, NodeDataChanged, ...); a session close deletes newest ephemeral first, each
 *    NodeDeleted followed by its parent's NodeChildrenChanged; close-session deletes do not
 *    move the parent's suffix either.
 *  - delete of "/", /zookeeper, /zookeeper/quota, /zookeeper/config is BadArguments; other
 *    nodes under /zookeeper can be created, set and deleted; setData of /zookeeper/config is
 *    NoAuth (its ACL is world:anyone READ, aversion -1); "/" takes setData.
 *  - create("/") is NodeExists; a sequential create of "/" makes "/NNNNNNNNNN".
 *  - ACLs: world:bob and unknown schemes are InvalidACL, perms 0 and 63 are stored as given.
 *  - Null data (-1) reads back as null with dataLength 0. Version -1 is "any"; -2 BadVersion.
 *  - Data larger than jute.maxbuffer never reaches ZooKeeper's tree: the server drops the
 *    connection (a 1048575-byte setData did). The store answers BadArguments as a last guard.
 *  - Expiry (ZooKeeper run with znode.container.checkIntervalMs=500): a container that had a
 *    child and has none is deleted, one that never had a child stays; create/create2 with the
 *    CONTAINER flag make a plain node (never deleted); a TTL node without children goes once
 *    now - mtime > ttl, and setData (new mtime) postpones it; a TTL node with a child stays.
 *  - createTTL with a non-TTL mode makes ZooKeeper 3.8 exit (uncaught IllegalArgumentException
 *    in PrepRequestProcessor); here it is BadArguments.
 * From ZooKeeper's source, not reproducible side by side: when the internal cversion reaches
 * INT32_MAX the next create wraps newCversion negative, DataTree then keeps cversion and pzxid,
 * so the suffix stays "2147483647" (further sequential creates get NodeExists). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/zk_alloc.h"
#include "store/store_int.h"

/* ZooKeeper's special paths (ZKDatabase.isSpecialPath): delete answers BadArguments. */
static const char *const special_paths[] = {"/", "/zookeeper", "/zookeeper/quota",
					    "/zookeeper/config"};

enum undo_kind { UNDO_CREATE, UNDO_DELETE, UNDO_SET_DATA, UNDO_SET_ACL, UNDO_CLOSE_SESSION };

struct undo {
	enum undo_kind kind;
	struct znode *node;	      /* The node created, deleted or changed. */
	struct store_session *sess;   /* Ephemeral's session; or the closed session. */
	int64_t pzxid;		      /* Parent's pzxid before (create, delete). */
	int32_t cversion;	      /* Parent's cversion before (create). */
	uint8_t *data;		      /* setData: old data (freed at commit). */
	int32_t data_len, version;    /* setData: old; setACL: old aversion in version. */
	int64_t mzxid, mtime;	      /* setData: old. */
	uint32_t acl;		      /* setACL: old ACL index (unref at commit). */
};

struct event {
	int type;
	char *path; /* Owned. */
};

struct apply {
	struct store *s;
	int64_t zxid;
	const struct store_txn *txn;
	struct undo *undo;
	uint32_t n_undo, cap_undo;
	struct event *ev;
	uint32_t n_ev, cap_ev;
};

void store_result_init(struct store_result *res)
{
	memset(res, 0, sizeof(*res));
}

void store_result_free(struct store_result *res)
{
	int32_t i;

	zk_free(res->path);
	for (i = 0; i < res->n_ops; i++)
		zk_free(res->ops[i].path);
	zk_free(res->ops);
	store_result_init(res);
}

/* ---- reservations ------------------------------------------------------------------------ */

static int grow(void **arr, uint32_t *cap, uint32_t need, size_t size)
{
	uint32_t ncap = *cap ? *cap : 4;
	void *p;

	if (need <= *cap)
		return 0;
	while (ncap < need)
		ncap *= 2;
	p = zk_realloc(*arr, ncap * size);
	if (p == NULL)
		return -ENOMEM;
	*arr = p;
	*cap = ncap;
	return 0;
}

/* Room for @n_undo more undo records and @n_ev more events. */
static int apply_reserve(struct apply *a, uint32_t n_undo, uint32_t n_ev)
{
	int rc = grow((void **)&a->undo, &a->cap_undo, a->n_undo + n_undo, sizeof(*a->undo));

	if (rc == 0)
		rc = grow((void **)&a->ev, &a->cap_ev, a->n_ev + n_ev, sizeof(*a->ev));
	return rc;
}

/* Queue an event on the first @len bytes of @path ("/" when @len is 0); room is reserved. */
static int event_add(struct apply *a, int type, const char *path, size_t len)
{
	char *copy = len == 0 ? zk_strdup("/") : zk_strndup(path, len);

	if (copy == NULL)
		return -ENOMEM;
	a->ev[a->n_ev].type = type;
	a->ev[a->n_ev].path = copy;
	a->n_ev++;
	return 0;
}

/* Queue an event on @path and NodeChildrenChanged on its parent (DataTree's order). */
static int event_add_pair(struct apply *a, int type, const char *path)
{
	size_t parent_len = (size_t)(strrchr(path, '/') - path);
	int rc = event_add(a, type, path, strlen(path));

	if (rc == 0)
		rc = event_add(a, ZK_EVENT_NODE_CHILDREN_CHANGED, path, parent_len);
	return rc;
}

static struct undo *undo_push(struct apply *a, enum undo_kind kind, struct znode *node)
{
	struct undo *u = &a->undo[a->n_undo++];

	memset(u, 0, sizeof(*u));
	u->kind = kind;
	u->node = node;
	return u;
}

/* ---- commit and rollback ----------------------------------------------------------------- */

static void undo_one(struct store *s, struct undo *u)
{
	struct znode *n = u->node;

	switch (u->kind) {
	case UNDO_CREATE:
		store_digest_node(s, n->parent, -1, false);
		store_digest_node(s, n, -1, true);
		n->parent->cversion = u->cversion;
		n->parent->pzxid = u->pzxid;
		znode_unlink(s, n);
		store_digest_node(s, n->parent, 1, false);
		if (u->sess != NULL)
			store_sess_eph_del(u->sess, n);
		store_acl_unref(s, n->acl);
		znode_free(n);
		break;
	case UNDO_DELETE:
		store_digest_node(s, n->parent, -1, false);
		znode_link(s, n->parent, n);
		n->parent->pzxid = u->pzxid;
		if (u->sess != NULL)
			store_sess_eph_add(u->sess, n);
		store_digest_node(s, n->parent, 1, false);
		store_digest_node(s, n, 1, true);
		break;
	case UNDO_SET_DATA:
		store_digest_node(s, n, -1, true);
		zk_free(n->data);
		n->data = u->data;
		n->data_len = u->data_len;
		n->version = u->version;
		n->mzxid = u->mzxid;
		n->mtime = u->mtime;
		store_digest_node(s, n, 1, true);
		break;
	case UNDO_SET_ACL:
		store_digest_node(s, n, -1, false);
		store_acl_unref(s, n->acl);
		n->acl = u->acl;
		n->aversion = u->version;
		store_digest_node(s, n, 1, false);
		break;
	case UNDO_CLOSE_SESSION:
		store_sess_insert(s, u->sess);
		store_digest_session(s, u->sess, 1);
		break;
	}
}

static void commit_one(struct store *s, struct undo *u)
{
	switch (u->kind) {
	case UNDO_CREATE:
		break;
	case UNDO_DELETE:
		store_acl_unref(s, u->node->acl);
		znode_free(u->node);
		break;
	case UNDO_SET_DATA:
		zk_free(u->data);
		break;
	case UNDO_SET_ACL:
		store_acl_unref(s, u->acl);
		break;
	case UNDO_CLOSE_SESSION:
		store_sess_free(u->sess);
		break;
	}
}

static void events_free(struct apply *a)
{
	uint32_t i;

	for (i = 0; i < a->n_ev; i++)
		zk_free(a->ev[i].path);
	zk_free(a->ev);
	a->ev = NULL;
	a->n_ev = a->cap_ev = 0;
}

static void apply_rollback(struct apply *a)
{
	while (a->n_undo > 0)
		undo_one(a->s, &a->undo[--a->n_undo]);
	events_free(a);
}

static void apply_commit(struct apply *a)
{
	uint32_t i;

	for (i = 0; i < a->n_ev; i++)
		if (a->s->cb != NULL)
			a->s->cb(a->s->cb_ctx, a->ev[i].type, a->ev[i].path, a->zxid);
	for (i = 0; i < a->n_undo; i++)
		commit_one(a->s, &a->undo[i]);
	a->n_undo = 0;
	events_free(a);
}

/* ---- validation helpers ------------------------------------------------------------------ */

/* PrepRequestProcessor.checkAndIncVersion: -1 matches any version; the new version wraps as a
 * Java int does. */
static int check_version(int32_t current, int32_t expected, int32_t *next)
{
	if (expected != -1 && expected != current)
		return ZK_ERR_BADVERSION;
	if (next != NULL)
		*next = (int32_t)((uint32_t)current + 1U);
	return ZK_ERR_OK;
}

/* A write needs a live session (SessionTracker.checkSession); server-made txns use 0. */
static int check_session(const struct apply *a)
{
	if (a->txn->session_id != 0 && store_sess_find(a->s, a->txn->session_id) == NULL)
		return ZK_ERR_SESSIONEXPIRED;
	return ZK_ERR_OK;
}

/* Java's id.split(":").length == 2: trailing empty parts do not count, so "u:h", ":h" and
 * "u:h:" pass, "u", "u:" and "a:b:c" do not. */
static bool digest_id_valid(const char *id)
{
	size_t len = strlen(id), i, colons = 0;

	while (len > 0 && id[len - 1] == ':')
		len--;
	for (i = 0; i < len; i++)
		colons += id[i] == ':';
	return colons == 1;
}

/* The id checks of ZooKeeper's default authentication providers (AuthenticationProvider
 * .isValid): digest wants exactly "user:hash", ip an address with an optional mask. */
static bool acl_id_valid(const char *scheme, const char *id)
{
	char addr[64];
	unsigned char bin[16];
	const char *slash = strchr(id, '/');
	size_t len = slash != NULL ? (size_t)(slash - id) : strlen(id);

	if (strcmp(scheme, "world") == 0)
		return strcmp(id, "anyone") == 0;
	if (strcmp(scheme, "digest") == 0)
		return digest_id_valid(id);
	if (strcmp(scheme, "ip") == 0 && len < sizeof(addr)) {
		memcpy(addr, id, len);
		addr[len] = '\0';
		return inet_pton(AF_INET, addr, bin) == 1 || inet_pton(AF_INET6, addr, bin) == 1;
	}
	return false;
}

/* PrepRequestProcessor.fixupACL, minus authentication (the security issue's): an empty list, an
 * unknown scheme, an id its provider refuses, or "auth" (no authenticated ids in a txn yet) is
 * InvalidACL. Permission bits are not checked (ZooKeeper stores 63 as given). */
static int check_acl(const struct store_acl *acl, int32_t n)
{
	int32_t i;

	if (acl == NULL || n <= 0)
		return ZK_ERR_INVALIDACL;
	for (i = 0; i < n; i++)
		if (acl[i].scheme == NULL || acl[i].id == NULL ||
		    !acl_id_valid(acl[i].scheme, acl[i].id))
			return ZK_ERR_INVALIDACL;
	return ZK_ERR_OK;
}

/* PrepRequestProcessor's checkACL for the permission @perm on @n. Only world:anyone entries
 * can be judged from a txn (authentication is the security issue's and not in the txn yet):
 * an ACL made only of world entries that grant no @perm answers NoAuth, as ZooKeeper does for
 * setData on /zookeeper/config (world:anyone READ); any other ACL lets the op through. */
static int check_perm(const struct store *s, const struct znode *n, int32_t perm)
{
	const struct store_acl_entry *e = &s->acls[n->acl];
	int32_t i, granted = 0;

	for (i = 0; i < e->n; i++) {
		if (strcmp(e->acl[i].scheme, "world") != 0)
			return ZK_ERR_OK;
		granted |= e->acl[i].perms;
	}
	return (granted & perm) != 0 ? ZK_ERR_OK : ZK_ERR_NOAUTH;
}

static int check_data(const struct apply *a, const struct store_op *op)
{
	if (op->data_len > 0 && (uint32_t)op->data_len > a->s->cfg.max_data_len)
		return ZK_ERR_BADARGUMENTS;
	if (op->data_len > 0 && op->data == NULL)
		return ZK_ERR_BADARGUMENTS;
	return ZK_ERR_OK;
}

static int copy_data(const struct store_op *op, uint8_t **out)
{
	*out = NULL;
	if (op->data_len <= 0)
		return 0;
	*out = zk_malloc((size_t)op->data_len);
	if (*out == NULL)
		return -ENOMEM;
	memcpy(*out, op->data, (size_t)op->data_len);
	return 0;
}

/* ---- create ------------------------------------------------------------------------------ */

/* CreateMode.fromFlag and EphemeralType.validateTTL: an unknown mode, a TTL mode without a TTL
 * in (0, max], or a TTL with another mode, is BadArguments. Sets the internal owner. */
static int create_mode(const struct apply *a, const struct store_op *op, int64_t *owner)
{
	bool ttl_mode = op->mode == ZK_MODE_PERSISTENT_WITH_TTL ||
			op->mode == ZK_MODE_PERSISTENT_SEQUENTIAL_WITH_TTL;
	int64_t ttl = op->type == ZK_OP_CREATE_TTL ? op->ttl : -1;

	if (op->mode < ZK_MODE_PERSISTENT || op->mode > ZK_MODE_PERSISTENT_SEQUENTIAL_WITH_TTL)
		return ZK_ERR_BADARGUMENTS;
	if (ttl_mode && (ttl <= 0 || ttl > a->s->cfg.max_ttl_ms))
		return ZK_ERR_BADARGUMENTS;
	/* createTTL with another mode: ZooKeeper 3.8 lets it through validateTTL when ttl < 0 and
	 * then dies on an uncaught IllegalArgumentException (seen side by side: the server exits);
	 * answering BadArguments is the only sane reading. */
	if (!ttl_mode && (ttl >= 0 || op->type == ZK_OP_CREATE_TTL))
		return ZK_ERR_BADARGUMENTS;
	*owner = 0;
	/* The node's kind follows the opcode (PrepRequestProcessor.pRequest2TxnCreate): only
	 * createContainer makes a container, only createTTL a TTL node. */
	if (op->type == ZK_OP_CREATE_CONTAINER)
		*owner = STORE_OWNER_CONTAINER;
	else if (op->type == ZK_OP_CREATE_TTL)
		*owner = STORE_OWNER_TTL_BITS | ttl;
	else if (op->mode == ZK_MODE_EPHEMERAL || op->mode == ZK_MODE_EPHEMERAL_SEQUENTIAL)
		*owner = a->txn->session_id;
	if ((op->mode == ZK_MODE_EPHEMERAL || op->mode == ZK_MODE_EPHEMERAL_SEQUENTIAL) &&
	    a->txn->session_id == 0)
		return ZK_ERR_SESSIONEXPIRED;
	return ZK_ERR_OK;
}

static bool mode_sequential(int32_t mode)
{
	return mode == ZK_MODE_PERSISTENT_SEQUENTIAL || mode == ZK_MODE_EPHEMERAL_SEQUENTIAL ||
	       mode == ZK_MODE_PERSISTENT_SEQUENTIAL_WITH_TTL;
}

/* The final path: @op->path plus, for sequential modes, the parent's counter. Owned. */
static char *create_path(const struct store_op *op, const struct znode *parent)
{
	size_t len = strlen(op->path);
	char *path = zk_malloc(len + 12);

	if (path == NULL)
		return NULL;
	memcpy(path, op->path, len + 1);
	if (mode_sequential(op->mode))
		snprintf(path + len, 12, "%010d", parent->cversion);
	return path;
}

/* Everything a create allocates, so that nothing can fail once the tree changes. */
struct create_res {
	char *path;
	struct znode *node;
	uint8_t *data;
	uint32_t acl;
	bool acl_held;
};

static void create_res_free(struct store *s, struct create_res *cr)
{
	zk_free(cr->path);
	znode_free(cr->node);
	zk_free(cr->data);
	if (cr->acl_held)
		store_acl_unref(s, cr->acl);
}

static int create_reserve(struct apply *a, const struct store_op *op, const struct znode *parent,
			  struct store_session *sess, struct create_res *cr)
{
	const char *name;

	cr->path = create_path(op, parent);
	if (cr->path == NULL)
		return -ENOMEM;
	name = strrchr(cr->path, '/') + 1;
	cr->node = znode_new(name, strlen(name));
	if (cr->node == NULL || copy_data(op, &cr->data) != 0 || apply_reserve(a, 1, 2) != 0 ||
	    znode_reserve(a->s, 1) != 0 || (sess != NULL && store_sess_eph_reserve(sess) != 0) ||
	    event_add_pair(a, ZK_EVENT_NODE_CREATED, cr->path) != 0)
		return -ENOMEM;
	if (store_acl_intern(a->s, op->acl, op->n_acl, &cr->acl) != 0)
		return -ENOMEM;
	cr->acl_held = true;
	return 0;
}

static int create_validate(const struct apply *a, const struct store_op *op, int64_t *owner,
			   struct znode **parent)
{
	const char *name;
	char suffix[12] = "";
	struct znode *child;
	int err = check_session(a);

	if (err == ZK_ERR_OK)
		err = create_mode(a, op, owner);
	if (err == ZK_ERR_OK)
		err = check_data(a, op);
	if (err == ZK_ERR_OK)
		err = check_acl(op->acl, op->n_acl);
	if (err != ZK_ERR_OK)
		return err;
	*parent = znode_lookup_parent(a->s, op->path, &name);
	if (*parent == NULL)
		return ZK_ERR_NONODE;
	err = check_perm(a->s, *parent, ZK_PERM_CREATE);
	if (err != ZK_ERR_OK)
		return err;
	if (mode_sequential(op->mode))
		snprintf(suffix, sizeof(suffix), "%010d", (*parent)->cversion);
	if (*name == '\0' && *suffix == '\0')
		return ZK_ERR_NODEEXISTS; /* create("/"): the root exists. */
	child = znode_lookup_child2(a->s, *parent, name, strlen(name), suffix, strlen(suffix));
	if (child != NULL)
		return ZK_ERR_NODEEXISTS;
	if (znode_kind(*parent) == STORE_KIND_EPHEMERAL)
		return ZK_ERR_NOCHILDRENFOREPHEMERALS;
	return ZK_ERR_OK;
}

static int op_create(struct apply *a, const struct store_op *op, struct store_op_result *r)
{
	struct znode *parent = NULL, *n;
	struct store_session *sess = NULL;
	struct create_res cr = {0};
	struct undo *u;
	int64_t owner = 0;
	int32_t next_cv;

	r->err = create_validate(a, op, &owner, &parent);
	if (r->err != ZK_ERR_OK)
		return 0;
	if (znode_kind_of_owner(owner) == STORE_KIND_EPHEMERAL)
		sess = store_sess_find(a->s, owner);
	if (create_reserve(a, op, parent, sess, &cr) != 0) {
		create_res_free(a->s, &cr);
		return -ENOMEM;
	}
	n = cr.node;
	n->czxid = n->mzxid = n->pzxid = a->zxid;
	n->ctime = n->mtime = a->txn->time_ms;
	n->owner = owner;
	n->data = cr.data;
	n->data_len = op->data_len < 0 ? -1 : op->data_len;
	n->acl = cr.acl;
	u = undo_push(a, UNDO_CREATE, n);
	u->pzxid = parent->pzxid;
	u->cversion = parent->cversion;
	u->sess = sess;
	store_digest_node(a->s, parent, -1, false);
	znode_link(a->s, parent, n);
	if (sess != NULL)
		store_sess_eph_add(sess, n);
	/* DataTree.createNode: the parent takes the new cversion (and pzxid) only if it grew. */
	next_cv = (int32_t)((uint32_t)parent->cversion + 1U);
	if (next_cv > parent->cversion) {
		parent->cversion = next_cv;
		parent->pzxid = a->zxid;
	}
	store_digest_node(a->s, parent, 1, false);
	store_digest_node(a->s, n, 1, true);
	r->type = op->type == ZK_OP_CREATE ? ZK_OP_CREATE : ZK_OP_CREATE2;
	r->path = cr.path;
	znode_stat(n, &r->stat);
	return 0;
}

/* ---- delete ------------------------------------------------------------------------------ */

static bool path_special(const char *path)
{
	size_t i;

	for (i = 0; i < sizeof(special_paths) / sizeof(special_paths[0]); i++)
		if (strcmp(path, special_paths[i]) == 0)
			return true;
	return false;
}

/* PrepRequestProcessor's delete (parent NoNode, node NoNode, BadVersion, NotEmpty) and
 * deleteContainer (NoNode, NotEmpty, BadVersion when not a container or TTL node). For a TTL
 * node the txn's clock must also still find it expired (mtime + ttl < time_ms): the leader
 * decided on its own clock, and every replica re-checks with the same time. */
static int delete_validate(const struct apply *a, const struct store_op *op, struct znode **node)
{
	const char *name;
	struct znode *parent;
	int err = op->type == ZK_OP_DELETE_CONTAINER ? ZK_ERR_OK : check_session(a);

	if (err != ZK_ERR_OK)
		return err;
	if (path_special(op->path))
		return ZK_ERR_BADARGUMENTS;
	parent = znode_lookup_parent(a->s, op->path, &name);
	if (parent == NULL)
		return ZK_ERR_NONODE;
	if (op->type != ZK_OP_DELETE_CONTAINER) {
		err = check_perm(a->s, parent, ZK_PERM_DELETE);
		if (err != ZK_ERR_OK)
			return err;
	}
	*node = znode_lookup_child(a->s, parent, name, strlen(name));
	if (*node == NULL)
		return ZK_ERR_NONODE;
	if (op->type == ZK_OP_DELETE_CONTAINER) {
		enum store_kind kind = znode_kind(*node);

		if ((*node)->num_children > 0)
			return ZK_ERR_NOTEMPTY;
		if (kind == STORE_KIND_TTL &&
		    (*node)->mtime + ((*node)->owner & STORE_OWNER_TTL_MASK) < a->txn->time_ms)
			return ZK_ERR_OK;
		return kind == STORE_KIND_CONTAINER ? ZK_ERR_OK : ZK_ERR_BADVERSION;
	}
	err = check_version((*node)->version, op->version, NULL);
	if (err != ZK_ERR_OK)
		return err;
	return (*node)->num_children > 0 ? ZK_ERR_NOTEMPTY : ZK_ERR_OK;
}

/* Unlink @n (validated, a leaf), queue its events, record the undo. */
static int delete_node(struct apply *a, struct znode *n, const char *path)
{
	struct store_session *sess = NULL;
	struct undo *u;

	if (apply_reserve(a, 1, 2) != 0 || event_add_pair(a, ZK_EVENT_NODE_DELETED, path) != 0)
		return -ENOMEM;
	if (znode_kind(n) == STORE_KIND_EPHEMERAL)
		sess = store_sess_find(a->s, n->owner);
	u = undo_push(a, UNDO_DELETE, n);
	u->pzxid = n->parent->pzxid;
	u->sess = sess;
	store_digest_node(a->s, n->parent, -1, false);
	store_digest_node(a->s, n, -1, true);
	znode_unlink(a->s, n);
	if (sess != NULL)
		store_sess_eph_del(sess, n);
	if (a->zxid > n->parent->pzxid)
		n->parent->pzxid = a->zxid;
	store_digest_node(a->s, n->parent, 1, false);
	return 0;
}

static int op_delete(struct apply *a, const struct store_op *op, struct store_op_result *r)
{
	struct znode *n = NULL;

	r->err = delete_validate(a, op, &n);
	if (r->err != ZK_ERR_OK)
		return 0;
	r->type = ZK_OP_DELETE;
	return delete_node(a, n, op->path);
}

/* ---- setData, setACL, check -------------------------------------------------------------- */

static int op_set_data(struct apply *a, const struct store_op *op, struct store_op_result *r)
{
	struct znode *n;
	struct undo *u;
	uint8_t *data;
	int32_t version;

	r->err = check_session(a);
	if (r->err == ZK_ERR_OK)
		r->err = check_data(a, op);
	if (r->err != ZK_ERR_OK)
		return 0;
	n = znode_lookup(a->s, op->path);
	r->err = n == NULL ? ZK_ERR_NONODE : check_perm(a->s, n, ZK_PERM_WRITE);
	if (r->err == ZK_ERR_OK)
		r->err = check_version(n->version, op->version, &version);
	if (r->err != ZK_ERR_OK)
		return 0;
	if (copy_data(op, &data) != 0)
		return -ENOMEM;
	if (apply_reserve(a, 1, 1) != 0 ||
	    event_add(a, ZK_EVENT_NODE_DATA_CHANGED, op->path, strlen(op->path)) != 0) {
		zk_free(data);
		return -ENOMEM;
	}
	u = undo_push(a, UNDO_SET_DATA, n);
	u->data = n->data;
	u->data_len = n->data_len;
	u->version = n->version;
	u->mzxid = n->mzxid;
	u->mtime = n->mtime;
	store_digest_node(a->s, n, -1, true);
	n->data = data;
	n->data_len = op->data_len < 0 ? -1 : op->data_len;
	n->version = version;
	n->mzxid = a->zxid;
	n->mtime = a->txn->time_ms;
	store_digest_node(a->s, n, 1, true);
	r->type = ZK_OP_SET_DATA;
	znode_stat(n, &r->stat);
	return 0;
}

static int op_set_acl(struct apply *a, const struct store_op *op, struct store_op_result *r)
{
	struct znode *n;
	struct undo *u;
	uint32_t acl;
	int32_t aversion;

	r->err = check_session(a);
	if (r->err == ZK_ERR_OK)
		r->err = check_acl(op->acl, op->n_acl);
	if (r->err != ZK_ERR_OK)
		return 0;
	n = znode_lookup(a->s, op->path);
	r->err = n == NULL ? ZK_ERR_NONODE : check_perm(a->s, n, ZK_PERM_ADMIN);
	if (r->err == ZK_ERR_OK)
		r->err = check_version(n->aversion, op->version, &aversion);
	if (r->err != ZK_ERR_OK)
		return 0;
	if (apply_reserve(a, 1, 0) != 0 || store_acl_intern(a->s, op->acl, op->n_acl, &acl) != 0)
		return -ENOMEM;
	u = undo_push(a, UNDO_SET_ACL, n);
	u->acl = n->acl;
	u->version = n->aversion;
	store_digest_node(a->s, n, -1, false);
	n->acl = acl;
	n->aversion = aversion;
	store_digest_node(a->s, n, 1, false);
	r->type = ZK_OP_SET_ACL;
	znode_stat(n, &r->stat);
	return 0;
}

static int op_check(struct apply *a, const struct store_op *op, struct store_op_result *r)
{
	struct znode *n;

	r->err = check_session(a);
	if (r->err != ZK_ERR_OK)
		return 0;
	n = znode_lookup(a->s, op->path);
	r->err = n == NULL ? ZK_ERR_NONODE : check_perm(a->s, n, ZK_PERM_READ);
	if (r->err == ZK_ERR_OK)
		r->err = check_version(n->version, op->version, NULL);
	if (r->err == ZK_ERR_OK) {
		r->type = ZK_OP_CHECK;
		znode_stat(n, &r->stat);
	}
	return 0;
}

/* The structural part of PathUtils.validatePath (zkfsd checks the whole rule, characters
 * included, with jute_path_validate before a txn is made; this keeps a txn from the log from
 * naming "" components): a leading '/', no empty, "." or ".." component, no trailing '/' except
 * for "/" itself or a sequential create (whose name gets the counter). */
static bool path_ok(const char *path, bool sequential)
{
	const char *p = path, *end;
	size_t len;

	if (path == NULL || path[0] != '/')
		return false;
	if (path[1] == '\0')
		return true;
	for (p = path + 1;; p = end + 1) {
		end = strchr(p, '/');
		len = end != NULL ? (size_t)(end - p) : strlen(p);
		if (end == NULL && len == 0)
			return sequential;
		if (len == 0 || (len == 1 && p[0] == '.') || (len == 2 && p[0] == '.' && p[1] == '.'))
			return end == NULL && sequential;
		if (end == NULL)
			return true;
	}
}

static bool op_sequential(const struct store_op *op)
{
	return (op->type == ZK_OP_CREATE || op->type == ZK_OP_CREATE2 ||
		op->type == ZK_OP_CREATE_CONTAINER || op->type == ZK_OP_CREATE_TTL) &&
	       mode_sequential(op->mode);
}

/* One op. @in_multi: the ops a MultiOperationRecord can carry. Returns 0 (r->err says how it
 * went) or -ENOMEM. */
static int op_apply(struct apply *a, const struct store_op *op, bool in_multi,
		    struct store_op_result *r)
{
	memset(r, 0, sizeof(*r));
	r->type = ZK_OP_ERROR;
	if (!path_ok(op->path, op_sequential(op))) {
		r->err = ZK_ERR_BADARGUMENTS;
		return 0;
	}
	switch (op->type) {
	case ZK_OP_CREATE:
	case ZK_OP_CREATE2:
	case ZK_OP_CREATE_CONTAINER:
	case ZK_OP_CREATE_TTL:
		return op_create(a, op, r);
	case ZK_OP_DELETE:
		return op_delete(a, op, r);
	case ZK_OP_DELETE_CONTAINER:
		if (in_multi)
			break;
		return op_delete(a, op, r);
	case ZK_OP_SET_DATA:
		return op_set_data(a, op, r);
	case ZK_OP_SET_ACL:
		if (in_multi)
			break;
		return op_set_acl(a, op, r);
	case ZK_OP_CHECK:
		return op_check(a, op, r);
	}
	r->err = ZK_ERR_BADARGUMENTS;
	return 0;
}

/* ---- multi ------------------------------------------------------------------------------- */

/* DataTree.processTxn(multi) as seen by the client after a failure at op @failed: every op
 * becomes an error result, 0 before it, its code, RuntimeInconsistency after it. */
static void multi_fail(struct store_result *res, int32_t failed, int err)
{
	int32_t i;

	for (i = 0; i < res->n_ops; i++) {
		zk_free(res->ops[i].path);
		memset(&res->ops[i], 0, sizeof(res->ops[i]));
		res->ops[i].type = ZK_OP_ERROR;
		res->ops[i].err = i < failed ? ZK_ERR_OK
				  : i == failed ? err
						: ZK_ERR_RUNTIMEINCONSISTENCY;
	}
	res->err = err;
}

static int apply_multi(struct apply *a, struct store_result *res)
{
	const struct store_txn *txn = a->txn;
	int32_t i;
	int rc;

	if (txn->n_ops < 0 || (txn->n_ops > 0 && txn->ops == NULL)) {
		res->err = ZK_ERR_BADARGUMENTS;
		return 0;
	}
	if (txn->n_ops > 0) {
		res->ops = zk_calloc((size_t)txn->n_ops, sizeof(*res->ops));
		if (res->ops == NULL)
			return -ENOMEM;
	}
	res->n_ops = txn->n_ops;
	for (i = 0; i < txn->n_ops; i++) {
		rc = op_apply(a, &txn->ops[i], true, &res->ops[i]);
		if (rc != 0)
			return rc;
		if (res->ops[i].err != ZK_ERR_OK) {
			apply_rollback(a);
			multi_fail(res, i, res->ops[i].err);
			return 0;
		}
	}
	return 0;
}

/* ---- sessions ---------------------------------------------------------------------------- */

/* SessionTracker.addSession as logged by a createSession txn: a known id only gets its new
 * timeout and password. */
static int apply_create_session(struct apply *a, struct store_result *res)
{
	const struct store_txn *txn = a->txn;
	struct store_session *ss = store_sess_find(a->s, txn->session_id);

	if (txn->session_id == 0) {
		res->err = ZK_ERR_BADARGUMENTS;
		return 0;
	}
	if (ss == NULL) {
		if (store_sess_reserve(a->s) != 0)
			return -ENOMEM;
		ss = store_sess_new(txn->session_id);
		if (ss == NULL)
			return -ENOMEM;
		store_sess_insert(a->s, ss);
	} else {
		store_digest_session(a->s, ss, -1);
	}
	ss->timeout_ms = txn->session_timeout_ms;
	memcpy(ss->passwd, txn->passwd, ZK_SESSION_PASSWD_LEN);
	store_digest_session(a->s, ss, 1);
	return 0;
}

/* DataTree.killSession: delete the session's ephemerals (NodeDeleted, then NodeChildrenChanged
 * on the parent, for each), then forget the session. An unknown session changes nothing. */
static int apply_close_session(struct apply *a, struct store_result *res)
{
	struct store_session *ss = store_sess_find(a->s, a->txn->session_id);
	struct zk_buf path;
	struct undo *u;
	int rc = 0;

	if (ss == NULL)
		return 0;
	zk_buf_init(&path);
	while (ss->n_eph > 0 && rc == 0) {
		struct znode *n = ss->eph[ss->n_eph - 1];

		zk_buf_reset(&path);
		rc = znode_path(n, &path);
		if (rc == 0)
			rc = delete_node(a, n, (const char *)path.data);
	}
	zk_buf_close(&path);
	if (rc == 0)
		rc = apply_reserve(a, 1, 0);
	if (rc != 0)
		return rc;
	store_sess_remove(a->s, ss);
	store_digest_session(a->s, ss, -1);
	u = undo_push(a, UNDO_CLOSE_SESSION, NULL);
	u->sess = ss;
	(void)res;
	return 0;
}

/* ---- store_apply ------------------------------------------------------------------------- */

static int apply_single(struct apply *a, struct store_result *res)
{
	struct store_op_result r;
	int rc = op_apply(a, &a->txn->op, false, &r);

	if (rc != 0)
		return rc;
	res->err = r.err;
	res->path = r.path;
	res->stat = r.stat;
	return 0;
}

int store_apply(struct store *s, int64_t zxid, const struct store_txn *txn,
		struct store_result *res)
{
	struct apply a = {.s = s, .zxid = zxid, .txn = txn};
	int rc;

	store_result_init(res);
	switch (txn->type) {
	case ZK_OP_MULTI:
		rc = apply_multi(&a, res);
		break;
	case ZK_OP_CREATE_SESSION:
		rc = apply_create_session(&a, res);
		break;
	case ZK_OP_CLOSE_SESSION:
		rc = apply_close_session(&a, res);
		break;
	default:
		if (txn->op.type != txn->type) {
			res->err = ZK_ERR_BADARGUMENTS;
			rc = 0;
			break;
		}
		rc = apply_single(&a, res);
		break;
	}
	if (rc != 0) {
		apply_rollback(&a);
		store_result_free(res);
	} else {
		apply_commit(&a);
		s->last_zxid = zxid;
	}
	zk_free(a.undo);
	return rc;
}
