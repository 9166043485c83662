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
 * The ops themselves (validation in ZooKeeper's order, the changes, the events they queue)
 * are in txn_ops.c. */
#include <errno.h>
#include <string.h>

#include "common/zk_alloc.h"
#include "store/store_int.h"

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
int store_txn_reserve(struct apply *a, uint32_t n_undo, uint32_t n_ev)
{
	int rc = grow((void **)&a->undo, &a->cap_undo, a->n_undo + n_undo, sizeof(*a->undo));

	if (rc == 0)
		rc = grow((void **)&a->ev, &a->cap_ev, a->n_ev + n_ev, sizeof(*a->ev));
	return rc;
}

/* Queue an event on the first @len bytes of @path ("/" when @len is 0); room is reserved. */
int store_txn_event_add(struct apply *a, int type, const char *path, size_t len)
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
int store_txn_event_add_pair(struct apply *a, int type, const char *path)
{
	size_t parent_len = (size_t)(strrchr(path, '/') - path);
	int rc = store_txn_event_add(a, type, path, strlen(path));

	if (rc == 0)
		rc = store_txn_event_add(a, ZK_EVENT_NODE_CHILDREN_CHANGED, path, parent_len);
	return rc;
}

struct undo *store_txn_undo_push(struct apply *a, enum undo_kind kind, struct znode *node)
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
		znode_kids(n->parent)->cversion = u->cversion;
		znode_kids(n->parent)->pzxid = u->pzxid;
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
		znode_kids(n->parent)->pzxid = u->pzxid;
		if (u->sess != NULL)
			store_sess_eph_add(u->sess, n);
		store_digest_node(s, n->parent, 1, false);
		store_digest_node(s, n, 1, true);
		break;
	case UNDO_SET_DATA:
		store_digest_node(s, n, -1, true);
		znode_ext_restore(n, &u->was);
		n->data_len = u->data_len;
		n->version = u->version;
		store_digest_node(s, n, 1, true);
		break;
	case UNDO_SET_ACL:
		store_digest_node(s, n, -1, false);
		store_acl_unref(s, n->acl);
		n->acl = u->acl;
		znode_ext(n)->aversion = u->version;
		store_digest_node(s, n, 1, false);
		break;
	case UNDO_CLOSE_SESSION:
		store_sess_insert(s, u->sess);
		store_digest_session(s, u->sess, 1);
		break;
	case UNDO_QUOTA_DATA:
		store_digest_node(s, n, -1, true);
		znode_ext_restore(n, &u->was);
		n->data_len = u->data_len;
		store_digest_node(s, n, 1, true);
		break;
	case UNDO_QUOTA_ADD:
	case UNDO_QUOTA_DEL:
		store_quota_undo(s, u);
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
	case UNDO_QUOTA_DATA:
		znode_ext_release(&u->was);
		break;
	case UNDO_QUOTA_ADD:
		break;
	case UNDO_QUOTA_DEL:
		zk_free(u->qpath);
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
		rc = store_txn_op_apply(a, &txn->ops[i], true, &res->ops[i]);
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
			rc = store_txn_delete_node(a, n, (const char *)path.data);
	}
	zk_buf_close(&path);
	if (rc == 0)
		rc = store_txn_reserve(a, 1, 0);
	if (rc != 0)
		return rc;
	store_sess_remove(a->s, ss);
	store_digest_session(a->s, ss, -1);
	u = store_txn_undo_push(a, UNDO_CLOSE_SESSION, NULL);
	u->sess = ss;
	(void)res;
	return 0;
}

/* ---- store_apply ------------------------------------------------------------------------- */

static int apply_single(struct apply *a, struct store_result *res)
{
	struct store_op_result r;
	int rc = store_txn_op_apply(a, &a->txn->op, false, &r);

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
