/* txn_ops.c: the write ops of store_apply (create in every mode, delete, deleteContainer,
 * setData, setACL, check), each validated in PrepRequestProcessor's order of checks and applied
 * as DataTree does, through the reservation/undo machinery of txn.c.
 *
 * Behaviours checked side by side against Apache ZooKeeper 3.8.0 (Debian 3.8.0-11, kazoo):
 *  - The sequential suffix is "%010d" of the parent's count of child *creates* (the internal
 *    cversion): deletes do not advance it although the reported cversion counts them
 *    (reported = 2 * creates - numChildren). Failed creates (NoNode, NodeExists) and every op of
 *    a failed multi consume nothing; each create of a successful multi consumes one number,
 *    sequential or not.
 *  - A sequential name that already exists is NodeExists and does not move the counter.
 *  - In a multi, create and create2 ops both answer type create (path only); createContainer
 *    and createTTL ops answer type create2 (path + stat).
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
#include <stdlib.h>
#include <string.h>

#include "common/zk_alloc.h"
#include "store/store_int.h"

/* ZooKeeper's special paths (ZKDatabase.isSpecialPath): delete answers BadArguments. */
static const char *const special_paths[] = {"/", "/zookeeper", "/zookeeper/quota",
					    "/zookeeper/config"};

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

/* The first @len bytes of @s as an IPv4 or IPv6 address into @bin; *@width its bits (32 or
 * 128). False when it is neither. */
static bool ip_parse(const char *s, size_t len, unsigned char bin[16], int *width)
{
	char addr[64];

	if (len == 0 || len >= sizeof(addr))
		return false;
	memcpy(addr, s, len);
	addr[len] = '\0';
	if (inet_pton(AF_INET, addr, bin) == 1)
		*width = 32;
	else if (inet_pton(AF_INET6, addr, bin) == 1)
		*width = 128;
	else
		return false;
	return true;
}

/* "addr[/bits]" into the address and its prefix length (the whole width without "/bits"). */
static bool ip_expr_parse(const char *id, unsigned char bin[16], int *width, long *bits)
{
	const char *slash = strchr(id, '/');
	size_t len = slash != NULL ? (size_t)(slash - id) : strlen(id);
	char *end;

	if (!ip_parse(id, len, bin, width))
		return false;
	if (slash == NULL) {
		*bits = *width;
		return true;
	}
	*bits = strtol(slash + 1, &end, 10);
	return slash[1] != '\0' && *end == '\0' && *bits >= 0 && *bits <= *width;
}

/* An IPv4 or IPv6 address, optionally "/bits" with bits within the address's width. */
static bool ip_id_valid(const char *id)
{
	unsigned char bin[16];
	int width;
	long bits;

	return ip_expr_parse(id, bin, &width, &bits);
}

/* IPAuthenticationProvider.matches: the client address @addr lies inside "net[/bits]". */
static bool ip_matches(const char *addr, const char *expr)
{
	unsigned char a[16], net[16];
	int wa, wn;
	long bits, i;

	if (!ip_parse(addr, strlen(addr), a, &wa) || !ip_expr_parse(expr, net, &wn, &bits) ||
	    wa != wn)
		return false;
	for (i = 0; i < bits; i++) {
		unsigned char mask = (unsigned char)(0x80u >> (i % 8));

		if ((a[i / 8] & mask) != (net[i / 8] & mask))
			return false;
	}
	return true;
}

static bool id_matches(const struct store_acl *id, const struct store_acl *entry)
{
	if (strcmp(id->scheme, entry->scheme) != 0)
		return false;
	if (strcmp(entry->scheme, "ip") == 0)
		return ip_matches(id->id, entry->id);
	return strcmp(id->id, entry->id) == 0;
}

bool store_acl_permits(const struct store_acl *acl, int32_t n, const struct store_acl *ids,
		       int32_t n_ids, int32_t perm)
{
	int32_t i, j;

	if (n <= 0)
		return true;
	for (j = 0; j < n_ids; j++)
		if (strcmp(ids[j].scheme, "super") == 0)
			return true;
	for (i = 0; i < n; i++) {
		if ((acl[i].perms & perm) == 0)
			continue;
		if (strcmp(acl[i].scheme, "world") == 0 && strcmp(acl[i].id, "anyone") == 0)
			return true;
		for (j = 0; j < n_ids; j++)
			if (id_matches(&ids[j], &acl[i]))
				return true;
	}
	return false;
}

bool store_acl_id_valid(const char *scheme, const char *id)
{
	if (strcmp(scheme, "world") == 0)
		return strcmp(id, "anyone") == 0;
	if (strcmp(scheme, "digest") == 0)
		return digest_id_valid(id);
	if (strcmp(scheme, "ip") == 0)
		return ip_id_valid(id);
	if (strcmp(scheme, "x509") == 0 || strcmp(scheme, "sasl") == 0)
		return id[0] != '\0'; /* A subject DN, a SASL user name: any name. */
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
		    !store_acl_id_valid(acl[i].scheme, acl[i].id))
			return ZK_ERR_INVALIDACL;
	return ZK_ERR_OK;
}

/* PrepRequestProcessor's checkACL for the permission @perm on @n, with the ids the txn carries.
 * A txn logged before ids travelled (authed false) is judged as it was then: only an ACL made
 * of world entries that grant no @perm answers NoAuth. */
static int check_perm(const struct apply *a, const struct znode *n, int32_t perm)
{
	const struct store_acl_entry *e = &a->s->acls[n->acl];
	int32_t i, granted = 0;

	if (a->txn->authed)
		return store_acl_permits(e->acl, e->n, a->txn->ids, a->txn->n_ids, perm)
			       ? ZK_ERR_OK
			       : ZK_ERR_NOAUTH;
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
		snprintf(path + len, 12, "%010d", znode_cversion(parent));
	return path;
}

/* Everything a create allocates, so that nothing can fail once the tree changes. */
struct create_res {
	char *path;
	struct znode *node;
	uint32_t acl;
	bool acl_held;
};

static void create_res_free(struct store *s, struct create_res *cr)
{
	zk_free(cr->path);
	znode_free(cr->node);
	if (cr->acl_held)
		store_acl_unref(s, cr->acl);
}

static int create_reserve(struct apply *a, const struct store_op *op, struct znode *parent,
			  int64_t owner, struct store_session *sess, struct create_res *cr)
{
	const char *name;

	cr->path = create_path(op, parent);
	if (cr->path == NULL)
		return -ENOMEM;
	name = strrchr(cr->path, '/') + 1;
	cr->node = znode_new(name, strlen(name), owner, op->data, op->data_len);
	if (cr->node == NULL || store_txn_reserve(a, 1, 2) != 0 || znode_reserve(parent) != 0 ||
	    (sess != NULL && store_sess_eph_reserve(sess) != 0) ||
	    store_txn_event_add_pair(a, ZK_EVENT_NODE_CREATED, cr->path) != 0)
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
	err = check_perm(a, *parent, ZK_PERM_CREATE);
	if (err != ZK_ERR_OK)
		return err;
	if (mode_sequential(op->mode))
		snprintf(suffix, sizeof(suffix), "%010d", znode_cversion(*parent));
	if (*name == '\0' && *suffix == '\0')
		return ZK_ERR_NODEEXISTS; /* create("/"): the root exists. */
	child = znode_lookup_child2(*parent, name, strlen(name), suffix, strlen(suffix));
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
	struct znode_kids *k;
	struct undo *u;
	int64_t owner = 0;
	int32_t next_cv;

	r->err = create_validate(a, op, &owner, &parent);
	if (r->err != ZK_ERR_OK)
		return 0;
	if (znode_kind_of_owner(owner) == STORE_KIND_EPHEMERAL)
		sess = store_sess_find(a->s, owner);
	if (create_reserve(a, op, parent, owner, sess, &cr) != 0) {
		create_res_free(a->s, &cr);
		return -ENOMEM;
	}
	n = cr.node;
	n->czxid = a->zxid;
	n->ctime = a->txn->time_ms;
	n->acl = cr.acl;
	u = store_txn_undo_push(a, UNDO_CREATE, n);
	k = znode_kids(parent);
	u->pzxid = k->pzxid;
	u->cversion = k->cversion;
	u->sess = sess;
	store_digest_node(a->s, parent, -1, false);
	znode_link(a->s, parent, n);
	if (sess != NULL)
		store_sess_eph_add(sess, n);
	/* DataTree.createNode: the parent takes the new cversion (and pzxid) only if it grew. */
	next_cv = (int32_t)((uint32_t)k->cversion + 1U);
	if (next_cv > k->cversion) {
		k->cversion = next_cv;
		k->pzxid = a->zxid;
	}
	store_digest_node(a->s, parent, 1, false);
	store_digest_node(a->s, n, 1, true);
	/* DataTree.createNode copies the stat before its quota updates. */
	znode_stat(n, &r->stat);
	if (store_quota_created(a, cr.path, n) != 0) {
		zk_free(cr.path);
		return -ENOMEM;
	}
	/* ZooKeeper 3.8's multi answers create and create2 ops with a CreateResult of type create
	 * (path only) and container/TTL creates with type create2 (path and stat): seen side by
	 * side. The stat is filled in any case (a single create2 answers it). */
	r->type = op->type == ZK_OP_CREATE || op->type == ZK_OP_CREATE2 ? ZK_OP_CREATE
									 : ZK_OP_CREATE2;
	r->path = cr.path;
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
		err = check_perm(a, parent, ZK_PERM_DELETE);
		if (err != ZK_ERR_OK)
			return err;
	}
	*node = znode_lookup_child(parent, name, strlen(name));
	if (*node == NULL)
		return ZK_ERR_NONODE;
	if (op->type == ZK_OP_DELETE_CONTAINER) {
		enum store_kind kind = znode_kind(*node);

		if (znode_num_children(*node) > 0)
			return ZK_ERR_NOTEMPTY;
		if (kind == STORE_KIND_TTL && znode_ttl_expired(*node, a->txn->time_ms))
			return ZK_ERR_OK;
		return kind == STORE_KIND_CONTAINER ? ZK_ERR_OK : ZK_ERR_BADVERSION;
	}
	err = check_version((*node)->version, op->version, NULL);
	if (err != ZK_ERR_OK)
		return err;
	return znode_num_children(*node) > 0 ? ZK_ERR_NOTEMPTY : ZK_ERR_OK;
}

/* Unlink @n (validated, a leaf), queue its events, record the undo. */
int store_txn_delete_node(struct apply *a, struct znode *n, const char *path)
{
	struct store_session *sess = NULL;
	struct znode_kids *k;
	struct undo *u;

	if (store_txn_reserve(a, 1, 2) != 0 ||
	    store_txn_event_add_pair(a, ZK_EVENT_NODE_DELETED, path) != 0)
		return -ENOMEM;
	if (znode_kind(n) == STORE_KIND_EPHEMERAL)
		sess = store_sess_find(a->s, znode_owner(n));
	k = znode_kids(n->parent); /* It has a child: n. */
	u = store_txn_undo_push(a, UNDO_DELETE, n);
	u->pzxid = k->pzxid;
	u->sess = sess;
	store_digest_node(a->s, n->parent, -1, false);
	store_digest_node(a->s, n, -1, true);
	znode_unlink(a->s, n);
	if (sess != NULL)
		store_sess_eph_del(sess, n);
	if (a->zxid > k->pzxid)
		k->pzxid = a->zxid;
	store_digest_node(a->s, n->parent, 1, false);
	return store_quota_deleted(a, path, n);
}

static int op_delete(struct apply *a, const struct store_op *op, struct store_op_result *r)
{
	struct znode *n = NULL;

	r->err = delete_validate(a, op, &n);
	if (r->err != ZK_ERR_OK)
		return 0;
	r->type = ZK_OP_DELETE;
	return store_txn_delete_node(a, n, op->path);
}

/* ---- setData, setACL, check -------------------------------------------------------------- */

static int op_set_data(struct apply *a, const struct store_op *op, struct store_op_result *r)
{
	struct znode *n;
	struct undo *u;
	struct znode_ext *ext;
	int32_t version, old_len;

	r->err = check_session(a);
	if (r->err == ZK_ERR_OK)
		r->err = check_data(a, op);
	if (r->err != ZK_ERR_OK)
		return 0;
	n = znode_lookup(a->s, op->path);
	r->err = n == NULL ? ZK_ERR_NONODE : check_perm(a, n, ZK_PERM_WRITE);
	if (r->err == ZK_ERR_OK)
		r->err = check_version(n->version, op->version, &version);
	if (r->err != ZK_ERR_OK)
		return 0;
	ext = znode_ext_new(a->zxid, a->txn->time_ms, znode_aversion(n), op->data, op->data_len);
	if (ext == NULL)
		return -ENOMEM;
	if (store_txn_reserve(a, 1, 1) != 0 ||
	    store_txn_event_add(a, ZK_EVENT_NODE_DATA_CHANGED, op->path, strlen(op->path)) != 0) {
		zk_free(ext);
		return -ENOMEM;
	}
	u = store_txn_undo_push(a, UNDO_SET_DATA, n);
	u->data_len = n->data_len;
	u->version = n->version;
	old_len = n->data_len;
	store_digest_node(a->s, n, -1, true);
	znode_ext_swap(n, ext, &u->was);
	n->data_len = op->data_len < 0 ? -1 : op->data_len;
	n->version = version;
	store_digest_node(a->s, n, 1, true);
	r->type = ZK_OP_SET_DATA;
	znode_stat(n, &r->stat);
	return store_quota_data_changed(a, op->path, old_len, n->data_len);
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
	r->err = n == NULL ? ZK_ERR_NONODE : check_perm(a, n, ZK_PERM_ADMIN);
	if (r->err == ZK_ERR_OK)
		r->err = check_version(znode_aversion(n), op->version, &aversion);
	if (r->err != ZK_ERR_OK)
		return 0;
	/* The data block (made invisibly when missing) holds the aversion. */
	if (store_txn_reserve(a, 1, 0) != 0 || znode_ext_ensure(n) != 0 ||
	    store_acl_intern(a->s, op->acl, op->n_acl, &acl) != 0)
		return -ENOMEM;
	u = store_txn_undo_push(a, UNDO_SET_ACL, n);
	u->acl = n->acl;
	u->version = znode_aversion(n);
	store_digest_node(a->s, n, -1, false);
	n->acl = acl;
	znode_ext(n)->aversion = aversion;
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
	r->err = n == NULL ? ZK_ERR_NONODE : check_perm(a, n, ZK_PERM_READ);
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
int store_txn_op_apply(struct apply *a, const struct store_op *op, bool in_multi,
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
