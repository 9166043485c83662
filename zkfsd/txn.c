/* txn: turn a client write request into a store transaction (ZooKeeper's
 * PrepRequestProcessor checks that come before the tree: path, ACL ids, and the order in which
 * ZooKeeper reports them). What depends on the tree (NodeExists, BadVersion, ...) is decided by
 * store_apply, deterministically on every replica. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/zk_alloc.h"
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
static int txn_create_bad_path(struct conn *conn, const struct jute_str *s)
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
	rc = store_exists(conn->srv->store, parent, NULL);
	free(parent);
	return rc == ZK_ERR_OK ? ZK_ERR_BADARGUMENTS : ZK_ERR_NONODE;
}

static bool txn_acl_dup(const struct store_acl *acl, int32_t n, const struct store_acl *a)
{
	for (int32_t i = 0; i < n; i++)
		if (acl[i].perms == a->perms && strcmp(acl[i].scheme, a->scheme) == 0 &&
		    strcmp(acl[i].id, a->id) == 0)
			return true;
	return false;
}

/* Append (perms, scheme, id) to @op's ACL unless already there (ZooKeeper removes
 * duplicates). @scheme and @id must stay valid until the txn is encoded. */
static void txn_acl_push(struct store_op *op, struct store_acl *acl, int32_t perms, char *scheme,
			 char *id)
{
	struct store_acl a = {perms, scheme, id};

	if (!txn_acl_dup(acl, op->n_acl, &a))
		acl[op->n_acl++] = a;
}

/* "auth": every digest id the connection authenticated with. */
static int txn_acl_auth(struct conn *conn, struct store_op *op, struct store_acl *acl,
			int32_t perms, int32_t room)
{
	int found = 0;

	for (struct conn_auth *a = conn->auth; a != NULL; a = a->next, found++) {
		if (op->n_acl == room)
			return ZK_ERR_INVALIDACL;
		txn_acl_push(op, acl, perms, a->scheme, a->id);
	}
	return found ? ZK_ERR_OK : ZK_ERR_INVALIDACL;
}

/* ZooKeeper's fixupACL: a non-empty list of valid ids, "auth" expanded, duplicates gone. */
static int txn_acl(struct txn_mem *m, struct conn *conn, const struct jute_acl_vec *v,
		   struct store_op *op)
{
	int32_t room = v->count > 0 ? v->count * 8 : 0;
	struct store_acl *acl;

	if (room == 0)
		return ZK_ERR_INVALIDACL;
	acl = txn_mem_keep(m, zk_calloc((size_t)room, sizeof(*acl)));
	if (acl == NULL)
		return ZK_ERR_SYSTEMERROR;
	op->acl = acl;
	op->n_acl = 0;
	for (int32_t i = 0; i < v->count; i++) {
		char *scheme = txn_mem_keep(m, jute_str_dup(&v->acls[i].id.scheme));
		char *id = txn_mem_keep(m, jute_str_dup(&v->acls[i].id.id));
		int rc;

		if (scheme == NULL || id == NULL)
			return ZK_ERR_INVALIDACL;
		if (strcmp(scheme, "auth") == 0) {
			rc = txn_acl_auth(conn, op, acl, v->acls[i].perms, room);
			if (rc != ZK_ERR_OK)
				return rc;
		} else if (!store_acl_id_valid(scheme, id) || op->n_acl == room) {
			return ZK_ERR_INVALIDACL;
		} else {
			txn_acl_push(op, acl, v->acls[i].perms, scheme, id);
		}
	}
	return ZK_ERR_OK;
}

static bool txn_mode_sequential(int32_t mode)
{
	return mode == ZK_MODE_PERSISTENT_SEQUENTIAL || mode == ZK_MODE_EPHEMERAL_SEQUENTIAL ||
	       mode == ZK_MODE_PERSISTENT_SEQUENTIAL_WITH_TTL;
}

static int txn_create(struct txn_mem *m, struct conn *conn, int32_t type,
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
	rc = txn_acl(m, conn, &c->acl, op);
	if (rc != ZK_ERR_OK)
		return rc;
	rc = txn_path(m, &c->path, seq, &op->path);
	return rc == ZK_ERR_BADARGUMENTS ? txn_create_bad_path(conn, &c->path) : rc;
}

/* One write op (of a single request or a multi) into @op. */
static int txn_op(struct txn_mem *m, struct conn *conn, int32_t type, const void *rec,
		  struct store_op *op)
{
	memset(op, 0, sizeof(*op));
	op->ttl = -1;
	switch (type) {
	case ZK_OP_CREATE:
	case ZK_OP_CREATE2:
	case ZK_OP_CREATE_CONTAINER:
		return txn_create(m, conn, type, rec, -1, op);
	case ZK_OP_CREATE_TTL: {
		const struct jute_create_ttl_request *t = rec;
		struct jute_create_request c = {t->path, t->data, t->acl, t->flags};

		return txn_create(m, conn, type, &c, t->ttl, op);
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
		return rc != ZK_ERR_OK ? rc : txn_acl(m, conn, &s->acl, op);
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

/* Fill @txn for a write request; on a local error answer @req and return it. */
int txn_build(struct request *req, struct txn_mem *m, struct store_txn *txn)
{
	const struct jute_request *jr = &req->jr;
	int rc;

	txn->type = req->type;
	txn->session_id = req->conn->session ? req->conn->session->id : 0;
	txn->xid = req->xid;
	txn->time_ms = request_wall_ms();
	if (req->type == ZK_OP_CLOSE_SESSION)
		return ZK_ERR_OK;
	if (req->type != ZK_OP_MULTI) {
		rc = txn_op(m, req->conn, req->type, txn_single_rec(jr), &txn->op);
		if (rc != ZK_ERR_OK)
			request_finish_err(req, rc, request_last_zxid(req->conn));
		return rc;
	}
	txn->n_ops = jr->n_ops;
	txn->ops = txn_mem_keep(m, zk_calloc((size_t)jr->n_ops + 1, sizeof(*txn->ops)));
	if (txn->ops == NULL) {
		request_finish_err(req, ZK_ERR_SYSTEMERROR, request_last_zxid(req->conn));
		return ZK_ERR_SYSTEMERROR;
	}
	for (int32_t i = 0; i < jr->n_ops; i++) {
		rc = txn_op(m, req->conn, jr->ops[i].type, txn_multi_rec(&jr->ops[i]),
			    &txn->ops[i]);
		if (rc != ZK_ERR_OK) {
			txn_multi_fail(req, i, rc);
			return rc;
		}
	}
	return ZK_ERR_OK;
}
