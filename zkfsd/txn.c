/* txn: turn a client write request into a store transaction (ZooKeeper's
 * PrepRequestProcessor checks that come before the tree: path, ACL ids, and the order in which
 * ZooKeeper reports them). What depends on the tree (NodeExists, BadVersion, ...) is decided by
 * store_apply, deterministically on every replica. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/zk_alloc.h"
#include "common/zk_hash.h"
#include "common/zk_log.h"
#include "zkfsd/zkfsd_int.h"


static void *txn_mem_keep(struct txn_mem *m, void *p)
{
	if (p == NULL)
		return NULL;
	if (m->n == m->cap) {
		int cap = m->cap ? m->cap * 2 : 16;
		void **np = realloc(m->ptrs, sizeof(*np) * (size_t)cap);

		if (np == NULL) {
			zk_free(p);
			return NULL;
		}
		m->ptrs = np;
		m->cap = cap;
	}
	m->ptrs[m->n++] = p;
	return p;
}

void txn_mem_free(struct txn_mem *m)
{
	for (int i = 0; i < m->n; i++)
		zk_free(m->ptrs[i]);
	free(m->ptrs);
}

/* A validated NUL-terminated path, or an error code (BADARGUMENTS, SYSTEMERROR). */
static int txn_path(struct txn_mem *m, const struct jute_str *s, bool sequential,
		    const char **out)
{
	if (s->len < 0)
		return ZK_ERR_MARSHALLINGERROR; /* Null: ZooKeeper fails on it the same way. */
	if (jute_path_validate(s->p, (size_t)s->len, sequential) != 0)
		return ZK_ERR_BADARGUMENTS;
	*out = txn_mem_keep(m, jute_str_dup(s));
	return *out != NULL ? ZK_ERR_OK : ZK_ERR_SYSTEMERROR;
}

/* ZooKeeper's first check of create and delete (getParentPathAndValidate): a '/' somewhere
 * and no NUL, else BadArguments. */
static bool txn_path_plausible(const struct jute_str *s)
{
	return s->len < 0 || (s->len > 0 && memchr(s->p, '/', (size_t)s->len) != NULL &&
			      memchr(s->p, '\0', (size_t)s->len) == NULL);
}

/* The error ZooKeeper gives an invalid path in a create: it looks the parent up before it
 * validates the whole path, so a missing parent says NoNode, an existing one BadArguments. */
static int txn_create_bad_path(struct zkfsd *srv, const struct jute_str *s)
{
	const char *slash = s->p + s->len;
	size_t plen;
	char *parent;
	int rc;

	while (*--slash != '/')
		;
	plen = (size_t)(slash - s->p);
	if (plen == 0)
		return ZK_ERR_BADARGUMENTS; /* The parent is the root, which exists. */
	if (jute_path_validate(s->p, plen, false) != 0)
		return ZK_ERR_NONODE; /* An invalid parent cannot exist. */
	parent = strndup(s->p, plen);
	if (parent == NULL)
		return ZK_ERR_SYSTEMERROR;
	rc = store_exists(srv->store, parent, NULL);
	free(parent);
	return rc == ZK_ERR_OK ? ZK_ERR_BADARGUMENTS : ZK_ERR_NONODE;
}

/* The ACL being built, with a hash set over its entries: ZooKeeper drops duplicates, and a
 * list of n entries must cost O(n), not a scan of the list per entry. */
struct txn_acl_set {
	struct store_acl *acl;	/* Entries (becomes op->acl). */
	int32_t n, room;	/* Used / allocated entries. */
	int32_t *slot;		/* Open addressing over acl: index + 1, 0 = empty. */
	uint32_t mask;		/* Slots - 1 (a power of two, at least 2 * room). */
};

static uint64_t txn_acl_hash(const struct store_acl *a)
{
	struct zk_hash h;

	zk_hash_init(&h, zk_hash_process_key());
	store_acl_hash_update(&h, a);
	return zk_hash_final(&h);
}

static bool txn_acl_equal(const struct store_acl *x, const struct store_acl *y)
{
	return x->perms == y->perms && strcmp(x->scheme, y->scheme) == 0 &&
	       strcmp(x->id, y->id) == 0;
}

/* Append (perms, scheme, id) unless already there. @scheme and @id must stay valid until the
 * txn is encoded. Returns ZK_ERR_OK or ZK_ERR_INVALIDACL (no room left). */
static int txn_acl_push(struct txn_acl_set *set, int32_t perms, char *scheme, char *id)
{
	struct store_acl a = {perms, scheme, id};
	uint32_t i = (uint32_t)txn_acl_hash(&a) & set->mask;

	for (; set->slot[i] != 0; i = (i + 1) & set->mask)
		if (txn_acl_equal(&set->acl[set->slot[i] - 1], &a))
			return ZK_ERR_OK;
	if (set->n == set->room)
		return ZK_ERR_INVALIDACL;
	set->acl[set->n++] = a;
	set->slot[i] = set->n;
	return ZK_ERR_OK;
}

/* ZooKeeper's isAuthenticated(): ids that prove who the client is (digest, x509, sasl), not
 * its address ("ip") nor the super marker. */
static bool txn_id_authenticated(const struct store_acl *id)
{
	return strcmp(id->scheme, "ip") != 0 && strcmp(id->scheme, "super") != 0;
}

/* "auth": every authenticated id of the client; the id of the "auth" entry itself is ignored
 * (kazoo's CREATOR_ALL_ACL sends an empty one). None: InvalidACL. */
static int txn_acl_auth(const struct txn_src *src, struct txn_acl_set *set, int32_t perms)
{
	int found = 0, rc;

	for (int32_t i = 0; i < src->n_ids; i++) {
		if (!txn_id_authenticated(&src->ids[i]))
			continue;
		rc = txn_acl_push(set, perms, src->ids[i].scheme, src->ids[i].id);
		if (rc != ZK_ERR_OK)
			return rc;
		found++;
	}
	return found ? ZK_ERR_OK : ZK_ERR_INVALIDACL;
}

/* Entries the fixed-up ACL may need: each entry, "auth" ones once per id of the client. */
static int32_t txn_acl_room(const struct txn_src *src, const struct jute_acl_vec *v)
{
	int32_t room = v->count;

	for (int32_t i = 0; i < v->count; i++)
		if (jute_str_eq(&v->acls[i].id.scheme, "auth"))
			room += src->n_ids;
	return room;
}

/* Room for @room entries and the hash set. */
static int txn_acl_set_init(struct txn_mem *m, struct txn_acl_set *set, int32_t room)
{
	uint32_t slots = 16;

	set->room = room;
	while (slots < 2 * (uint32_t)set->room)
		slots *= 2;
	set->n = 0;
	set->mask = slots - 1;
	set->acl = txn_mem_keep(m, zk_calloc((size_t)set->room, sizeof(*set->acl)));
	set->slot = txn_mem_keep(m, zk_calloc(slots, sizeof(*set->slot)));
	return set->acl != NULL && set->slot != NULL ? ZK_ERR_OK : ZK_ERR_SYSTEMERROR;
}

/* ZooKeeper's fixupACL: a non-empty list of valid ids, "auth" expanded, duplicates gone. A
 * list longer than zkfsd.maxAclEntries is refused (ZooKeeper has no cap). */
static int txn_acl(struct txn_mem *m, const struct txn_src *src, const struct jute_acl_vec *v,
		   struct store_op *op)
{
	struct zkfsd *srv = src->srv;
	struct txn_acl_set set;
	int rc;

	if (v->count <= 0)
		return ZK_ERR_INVALIDACL;
	if (v->count > srv->cfg->max_acl_entries) {
		server_refuse(srv, ZKFSD_REFUSED_ACL_ENTRIES,
			      "session 0x%llx: an ACL of %d entries refused (zkfsd.maxAclEntries=%d)",
			      (unsigned long long)src->session_id, v->count,
			      srv->cfg->max_acl_entries);
		return ZK_ERR_INVALIDACL;
	}
	rc = txn_acl_set_init(m, &set, txn_acl_room(src, v));
	if (rc != ZK_ERR_OK)
		return rc;
	op->acl = set.acl;
	for (int32_t i = 0; i < v->count && rc == ZK_ERR_OK; i++) {
		char *scheme = txn_mem_keep(m, jute_str_dup(&v->acls[i].id.scheme));
		char *id = NULL;

		if (scheme != NULL && strcmp(scheme, "auth") == 0) {
			rc = txn_acl_auth(src, &set, v->acls[i].perms);
			continue;
		}
		id = txn_mem_keep(m, jute_str_dup(&v->acls[i].id.id));
		if (scheme == NULL || id == NULL)
			rc = ZK_ERR_INVALIDACL;
		else if (!store_acl_id_valid(scheme, id))
			rc = ZK_ERR_INVALIDACL;
		else
			rc = txn_acl_push(&set, v->acls[i].perms, scheme, id);
	}
	op->n_acl = set.n;
	return rc;
}

static bool txn_mode_sequential(int32_t mode)
{
	return mode == ZK_MODE_PERSISTENT_SEQUENTIAL || mode == ZK_MODE_EPHEMERAL_SEQUENTIAL ||
	       mode == ZK_MODE_PERSISTENT_SEQUENTIAL_WITH_TTL;
}

static int txn_create(struct txn_mem *m, const struct txn_src *src, int32_t type,
		      const struct jute_create_request *c, int64_t ttl, struct store_op *op)
{
	bool seq = txn_mode_sequential(c->flags);
	int rc;

	op->type = type;
	op->data = c->data.p;
	op->data_len = c->data.len;
	op->version = -1;
	op->mode = c->flags;
	op->ttl = ttl;
	/* ZooKeeper's order: plausible path, ACL, parent, whole path. */
	if (!txn_path_plausible(&c->path))
		return ZK_ERR_BADARGUMENTS;
	rc = txn_acl(m, src, &c->acl, op);
	if (rc != ZK_ERR_OK)
		return rc;
	rc = txn_path(m, &c->path, seq, &op->path);
	return rc == ZK_ERR_BADARGUMENTS ? txn_create_bad_path(src->srv, &c->path) : rc;
}

/* One write op (of a single request or a multi) into @op. */
static int txn_op(struct txn_mem *m, const struct txn_src *src, int32_t type, const void *rec,
		  struct store_op *op)
{
	memset(op, 0, sizeof(*op));
	op->ttl = -1;
	switch (type) {
	case ZK_OP_CREATE:
	case ZK_OP_CREATE2:
	case ZK_OP_CREATE_CONTAINER:
		return txn_create(m, src, type, rec, -1, op);
	case ZK_OP_CREATE_TTL: {
		const struct jute_create_ttl_request *t = rec;
		struct jute_create_request c = {t->path, t->data, t->acl, t->flags};

		return txn_create(m, src, type, &c, t->ttl, op);
	}
	case ZK_OP_DELETE: {
		const struct jute_delete_request *d = rec;

		int rc;

		op->type = type;
		op->version = d->version;
		if (!txn_path_plausible(&d->path))
			return ZK_ERR_BADARGUMENTS;
		/* ZooKeeper looks an invalid path up (it never exists) rather than refusing it. */
		rc = txn_path(m, &d->path, false, &op->path);
		return rc == ZK_ERR_BADARGUMENTS ? ZK_ERR_NONODE : rc;
	}
	case ZK_OP_SET_DATA: {
		const struct jute_set_data_request *s = rec;

		op->type = type;
		op->data = s->data.p;
		op->data_len = s->data.len;
		op->version = s->version;
		return txn_path(m, &s->path, false, &op->path);
	}
	case ZK_OP_CHECK: {
		const struct jute_check_version_request *c = rec;

		op->type = type;
		op->version = c->version;
		return txn_path(m, &c->path, false, &op->path);
	}
	default: {
		const struct jute_set_acl_request *s = rec;
		int rc;

		op->type = ZK_OP_SET_ACL;
		op->version = s->version;
		rc = txn_path(m, &s->path, false, &op->path);
		return rc != ZK_ERR_OK ? rc : txn_acl(m, src, &s->acl, op);
	}
	}
}

/* The record of a multi op, as txn_op wants it. */
static const void *txn_multi_rec(const struct jute_multi_op *op)
{
	switch (op->type) {
	case ZK_OP_CREATE_TTL:
		return &op->u.create_ttl;
	case ZK_OP_DELETE:
		return &op->u.delete;
	case ZK_OP_SET_DATA:
		return &op->u.set_data;
	case ZK_OP_CHECK:
		return &op->u.check_version;
	default:
		return &op->u.create;
	}
}

/* The record of a single write request. */
static const void *txn_single_rec(const struct jute_request *jr)
{
	switch (jr->hdr.type) {
	case ZK_OP_CREATE_TTL:
		return &jr->u.create_ttl;
	case ZK_OP_DELETE:
		return &jr->u.delete;
	case ZK_OP_SET_DATA:
		return &jr->u.set_data;
	case ZK_OP_SET_ACL:
		return &jr->u.set_acl;
	case ZK_OP_CHECK:
		return &jr->u.check_version;
	default:
		return &jr->u.create;
	}
}

/* A multi whose op @failed could not be built or whose txn could not be logged. */
void txn_multi_fail(struct request *req, int32_t failed, int rc)
{
	int32_t n = req->jr.n_ops;
	struct jute_multi_result *res = calloc((size_t)n + 1, sizeof(*res));
	size_t start = request_begin(req, req->xid, request_last_zxid(req->conn), ZK_ERR_OK);

	for (int32_t i = 0; res != NULL && i < n; i++) {
		res[i].type = ZK_OP_ERROR;
		res[i].err = i < failed ? ZK_ERR_OK
				       : (i == failed ? rc : ZK_ERR_RUNTIMEINCONSISTENCY);
	}
	request_end(req, start, res ? jute_encode_multi_response(&req->reply, res, n) : -ENOMEM);
	free(res);
}

/* Answer write @req refused before the log with @rc (op @failed of a multi). */
void txn_refused(struct request *req, int rc, int32_t failed)
{
	if (req->type == ZK_OP_MULTI)
		txn_multi_fail(req, failed, rc);
	else
		request_finish_err(req, rc, request_last_zxid(req->conn));
}

int txn_build(const struct txn_src *src, struct txn_mem *m, struct store_txn *txn,
	      int32_t *failed)
{
	const struct jute_request *jr = src->jr;
	int rc;

	*failed = 0;
	txn->type = src->type;
	txn->session_id = src->session_id;
	txn->xid = src->xid;
	txn->time_ms = request_wall_ms();
	txn->ids = src->ids;
	txn->n_ids = src->n_ids;
	txn->authed = true;
	if (src->type == ZK_OP_CLOSE_SESSION)
		return ZK_ERR_OK;
	if (src->type != ZK_OP_MULTI)
		return txn_op(m, src, src->type, txn_single_rec(jr), &txn->op);
	txn->n_ops = jr->n_ops;
	txn->ops = txn_mem_keep(m, zk_calloc((size_t)jr->n_ops + 1, sizeof(*txn->ops)));
	if (txn->ops == NULL)
		return ZK_ERR_SYSTEMERROR;
	for (int32_t i = 0; i < jr->n_ops; i++) {
		*failed = i;
		rc = txn_op(m, src, jr->ops[i].type, txn_multi_rec(&jr->ops[i]), &txn->ops[i]);
		if (rc != ZK_ERR_OK)
			return rc;
	}
	return ZK_ERR_OK;
}
