/* txn_codec.c: struct store_txn <-> protobuf-c StoreTxn (proto/store.proto), the bytes of one
 * Raft log entry. Decoding keeps the unpacked message and points the txn into it (protobuf-c
 * strings are NUL-terminated), so a decoded txn is two allocations plus the message. */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "common/zk_alloc.h"
#include "common/zk_log.h"
#include "proto/store.pb-c.h"
#include "store/store_int.h"

static void *pb_alloc(void *data, size_t size)
{
	void *p = zk_malloc(size);

	if (p == NULL)
		((struct store_pb_allocator *)data)->failed = true;
	return p;
}

static void pb_free(void *data, void *p)
{
	(void)data;
	zk_free(p);
}

/* protobuf-c's unpack answers NULL both for bad bytes and for a failed allocation: this
 * allocator remembers which. */
ProtobufCAllocator *store_pb_allocator_init(struct store_pb_allocator *pa)
{
	pa->a.alloc = pb_alloc;
	pa->a.free = pb_free;
	pa->a.allocator_data = pa;
	pa->failed = false;
	return &pa->a;
}

/* ---- encode ------------------------------------------------------------------------------ */

/* The protobuf view of one op; ACL messages and pointers come from @acl_msgs/@acl_ptrs. */
static void op_to_msg(const struct store_op *op, StoreOp *m, StoreAcl *acl_msgs,
		      StoreAcl **acl_ptrs)
{
	int32_t i;

	store_op__init(m);
	m->type = op->type;
	m->path = (char *)(op->path != NULL ? op->path : "");
	m->data_null = op->data_len < 0;
	m->data.len = op->data_len > 0 ? (size_t)op->data_len : 0;
	m->data.data = (uint8_t *)op->data;
	m->version = op->version;
	m->mode = op->mode;
	m->ttl = op->ttl;
	for (i = 0; op->acl != NULL && i < op->n_acl; i++) {
		store_acl__init(&acl_msgs[i]);
		acl_msgs[i].perms = op->acl[i].perms;
		acl_msgs[i].scheme = op->acl[i].scheme;
		acl_msgs[i].id = op->acl[i].id;
		acl_ptrs[i] = &acl_msgs[i];
	}
	m->n_acl = op->acl != NULL && op->n_acl > 0 ? (size_t)op->n_acl : 0;
	m->acl = acl_ptrs;
}

/* The txn's authenticated ids, as ACL messages (perms 0) from @msgs/@ptrs. */
static void ids_to_msg(const struct store_txn *txn, StoreTxn *m, StoreAcl *msgs, StoreAcl **ptrs)
{
	int32_t i;

	m->authed = txn->authed;
	for (i = 0; i < txn->n_ids; i++) {
		store_acl__init(&msgs[i]);
		msgs[i].scheme = txn->ids[i].scheme;
		msgs[i].id = txn->ids[i].id;
		ptrs[i] = &msgs[i];
	}
	m->n_auth = txn->n_ids > 0 ? (size_t)txn->n_ids : 0;
	m->auth = ptrs;
}

static bool txn_type_known(int32_t type)
{
	switch (type) {
	case ZK_OP_CREATE:
	case ZK_OP_CREATE2:
	case ZK_OP_CREATE_CONTAINER:
	case ZK_OP_CREATE_TTL:
	case ZK_OP_DELETE:
	case ZK_OP_DELETE_CONTAINER:
	case ZK_OP_SET_DATA:
	case ZK_OP_SET_ACL:
	case ZK_OP_CHECK:
	case ZK_OP_MULTI:
	case ZK_OP_CREATE_SESSION:
	case ZK_OP_CLOSE_SESSION:
		return true;
	}
	return false;
}

static bool txn_encodable(const struct store_txn *txn)
{
	return txn_type_known(txn->type) && txn->n_ops >= 0 &&
	       !(txn->type == ZK_OP_MULTI && txn->n_ops > 0 && txn->ops == NULL);
}

/* The txn carries txn->op (not a multi, not a session txn). */
static bool txn_single(int32_t type)
{
	return type != ZK_OP_MULTI && type != ZK_OP_CREATE_SESSION && type != ZK_OP_CLOSE_SESSION;
}

/* Scratch space for the protobuf view of a txn: one block holding the op messages, their
 * pointers, and every ACL message and pointer. */
struct encode_scratch {
	StoreOp *ops;
	StoreOp **op_ptrs;
	StoreAcl *acls;
	StoreAcl **acl_ptrs;
	void *block;
};

static int scratch_alloc(const struct store_txn *txn, struct encode_scratch *sc)
{
	size_t n_ops = (size_t)(txn->type == ZK_OP_MULTI ? txn->n_ops : 0) + 1, n_acl = 0, i;
	char *p;

	n_acl += txn->op.n_acl > 0 ? (size_t)txn->op.n_acl : 0;
	n_acl += txn->n_ids > 0 ? (size_t)txn->n_ids : 0;
	for (i = 0; i + 1 < n_ops; i++)
		n_acl += txn->ops[i].n_acl > 0 ? (size_t)txn->ops[i].n_acl : 0;
	p = zk_malloc(n_ops * (sizeof(StoreOp) + sizeof(StoreOp *)) +
		      n_acl * (sizeof(StoreAcl) + sizeof(StoreAcl *)) + 1);
	if (p == NULL)
		return -ENOMEM;
	sc->block = p;
	sc->ops = (StoreOp *)p;
	sc->acls = (StoreAcl *)(p + n_ops * sizeof(StoreOp));
	sc->op_ptrs = (StoreOp **)(p + n_ops * sizeof(StoreOp) + n_acl * sizeof(StoreAcl));
	sc->acl_ptrs = (StoreAcl **)((char *)sc->op_ptrs + n_ops * sizeof(StoreOp *));
	return 0;
}

int store_txn_encode(const struct store_txn *txn, struct zk_buf *out)
{
	StoreTxn m = STORE_TXN__INIT;
	struct encode_scratch sc;
	size_t acl_at = 0, size;
	int32_t i;
	int rc;

	if (!txn_encodable(txn))
		return -EINVAL;
	rc = scratch_alloc(txn, &sc);
	if (rc != 0)
		return rc;
	m.type = txn->type;
	m.session_id = txn->session_id;
	m.xid = txn->xid;
	m.time_ms = txn->time_ms;
	m.session_timeout_ms = txn->session_timeout_ms;
	if (txn->type == ZK_OP_CREATE_SESSION) {
		m.passwd.len = ZK_SESSION_PASSWD_LEN;
		m.passwd.data = (uint8_t *)txn->passwd;
	}
	if (txn_single(txn->type)) {
		op_to_msg(&txn->op, &sc.ops[0], sc.acls, sc.acl_ptrs);
		acl_at += sc.ops[0].n_acl;
		m.op = &sc.ops[0];
	}
	for (i = 0; txn->type == ZK_OP_MULTI && i < txn->n_ops; i++) {
		op_to_msg(&txn->ops[i], &sc.ops[i + 1], sc.acls + acl_at, sc.acl_ptrs + acl_at);
		acl_at += sc.ops[i + 1].n_acl;
		sc.op_ptrs[i] = &sc.ops[i + 1];
	}
	if (txn->type == ZK_OP_MULTI) {
		m.n_ops = (size_t)txn->n_ops;
		m.ops = sc.op_ptrs;
	}
	ids_to_msg(txn, &m, sc.acls + acl_at, sc.acl_ptrs + acl_at);
	size = store_txn__get_packed_size(&m);
	rc = zk_buf_reserve(out, size);
	if (rc == 0) {
		store_txn__pack(&m, out->data + out->len);
		out->len += size;
	}
	zk_free(sc.block);
	return rc;
}

/* ---- decode ------------------------------------------------------------------------------ */

/* A decoded txn: the public struct, the protobuf message it points into, its arrays. */
struct decoded_txn {
	struct store_txn txn;
	StoreTxn *msg;
	struct store_op *ops;
	struct store_acl *acls;
};

static size_t msg_acl_count(const StoreTxn *m)
{
	size_t n = (m->op != NULL ? m->op->n_acl : 0) + m->n_auth, i;

	for (i = 0; i < m->n_ops; i++)
		n += m->ops[i]->n_acl;
	return n;
}

/* The op of a txn that carries none, as decoding leaves it (the rest of *@op is zero). */
static void op_absent(struct store_op *op, int32_t type)
{
	op->type = type;
	op->path = "";
	op->version = -1;
	op->ttl = -1;
}

/* Fill @op from @m; the ACL entries go to @acls. -EBADMSG when a length does not fit. */
static int op_from_msg(const StoreOp *m, struct store_op *op, struct store_acl *acls)
{
	size_t i;

	if (m->data.len > INT32_MAX || m->n_acl > INT32_MAX || (m->data_null && m->data.len > 0))
		return ZK_CORRUPT();
	op->type = m->type;
	op->path = m->path;
	op->data = m->data.len > 0 ? m->data.data : NULL;
	op->data_len = m->data_null ? -1 : (int32_t)m->data.len;
	op->version = m->version;
	op->mode = m->mode;
	op->ttl = m->ttl;
	for (i = 0; i < m->n_acl; i++) {
		acls[i].perms = m->acl[i]->perms;
		acls[i].scheme = m->acl[i]->scheme;
		acls[i].id = m->acl[i]->id;
	}
	op->acl = acls;
	op->n_acl = (int32_t)m->n_acl;
	return 0;
}

static int txn_from_msg(struct decoded_txn *d)
{
	const StoreTxn *m = d->msg;
	struct store_txn *txn = &d->txn;
	size_t i, acl_at = 0;
	int rc = 0;

	bool single = txn_single(m->type);

	if (!txn_type_known(m->type) || m->n_ops > INT32_MAX ||
	    (m->passwd.len != 0 && m->passwd.len != ZK_SESSION_PASSWD_LEN) ||
	    single != (m->op != NULL) || (m->type != ZK_OP_MULTI && m->n_ops != 0))
		return ZK_CORRUPT();
	txn->type = m->type;
	txn->session_id = m->session_id;
	txn->xid = m->xid;
	txn->time_ms = m->time_ms;
	txn->session_timeout_ms = m->session_timeout_ms;
	if (m->passwd.len == ZK_SESSION_PASSWD_LEN)
		memcpy(txn->passwd, m->passwd.data, ZK_SESSION_PASSWD_LEN);
	if (m->op != NULL) {
		rc = op_from_msg(m->op, &txn->op, d->acls);
		acl_at = m->op->n_acl;
	} else {
		op_absent(&txn->op, m->type);
	}
	for (i = 0; i < m->n_ops && rc == 0; i++) {
		rc = op_from_msg(m->ops[i], &d->ops[i], d->acls + acl_at);
		acl_at += m->ops[i]->n_acl;
	}
	txn->ops = d->ops;
	txn->n_ops = (int32_t)m->n_ops;
	if (m->n_auth > INT32_MAX)
		return ZK_CORRUPT();
	for (i = 0; i < m->n_auth; i++) {
		d->acls[acl_at + i].scheme = m->auth[i]->scheme;
		d->acls[acl_at + i].id = m->auth[i]->id;
	}
	txn->ids = d->acls + acl_at;
	txn->n_ids = (int32_t)m->n_auth;
	txn->authed = m->authed;
	return rc;
}

int store_txn_decode(const void *p, size_t len, struct store_txn **out)
{
	struct decoded_txn *d = zk_calloc(1, sizeof(*d));
	struct store_pb_allocator pa;
	size_t n_acl;
	int rc;

	if (d == NULL)
		return -ENOMEM;
	d->msg = store_txn__unpack(store_pb_allocator_init(&pa), len, p);
	if (d->msg == NULL) {
		rc = pa.failed ? -ENOMEM : ZK_CORRUPT();
		goto err_after_alloc;
	}
	n_acl = msg_acl_count(d->msg);
	d->ops = zk_calloc(d->msg->n_ops + 1, sizeof(*d->ops));
	d->acls = zk_calloc(n_acl + 1, sizeof(*d->acls));
	if (d->ops == NULL || d->acls == NULL) {
		rc = -ENOMEM;
		goto err_after_unpack;
	}
	rc = txn_from_msg(d);
	if (rc != 0)
		goto err_after_unpack;
	*out = &d->txn;
	return 0;

err_after_unpack:
	store_txn_free(&d->txn);
	return rc;
err_after_alloc:
	zk_free(d);
	return rc;
}

/* ---- copy -------------------------------------------------------------------------------- */

/* What a string field decodes to: protobuf-c gives "" for an absent (NULL) one. */
static const char *str_or_empty(const char *s)
{
	return s != NULL ? s : "";
}

/* Entries of @op's ACL that travel (as op_to_msg counts them). */
static size_t op_acl_count(const struct store_op *op)
{
	return op->acl != NULL && op->n_acl > 0 ? (size_t)op->n_acl : 0;
}

/* Bytes of @op's strings (NULs included) and data in a copy; its ACL entries added to @n_acl. */
static size_t op_copy_bytes(const struct store_op *op, size_t *n_acl)
{
	size_t b = strlen(str_or_empty(op->path)) + 1, i, n = op_acl_count(op);

	b += op->data_len > 0 ? (size_t)op->data_len : 0;
	for (i = 0; i < n; i++)
		b += strlen(str_or_empty(op->acl[i].scheme)) + strlen(str_or_empty(op->acl[i].id)) + 2;
	*n_acl += n;
	return b;
}

/* Append @len bytes at *@at; returns where they went. */
static void *copy_put(char **at, const void *p, size_t len)
{
	void *dst = *at;

	memcpy(dst, p, len);
	*at += len;
	return dst;
}

static char *copy_str(char **at, const char *s)
{
	s = str_or_empty(s);
	return copy_put(at, s, strlen(s) + 1);
}

/* @src as op_from_msg decodes op_to_msg's message of it; its ACL goes to @acls, its bytes to
 * *@at. Returns the ACL entries used. */
static size_t op_copy(const struct store_op *src, struct store_op *dst, struct store_acl *acls,
		      char **at)
{
	size_t i, n = op_acl_count(src);

	dst->type = src->type;
	dst->path = copy_str(at, src->path);
	dst->data = src->data_len > 0 ? copy_put(at, src->data, (size_t)src->data_len) : NULL;
	dst->data_len = src->data_len < 0 ? -1 : src->data_len;
	dst->version = src->version;
	dst->mode = src->mode;
	dst->ttl = src->ttl;
	for (i = 0; i < n; i++) {
		acls[i].perms = src->acl[i].perms;
		acls[i].scheme = copy_str(at, src->acl[i].scheme);
		acls[i].id = copy_str(at, src->acl[i].id);
	}
	dst->acl = acls;
	dst->n_acl = (int32_t)n;
	return n;
}

/* The ops that travel: txn->op for a single-op txn, txn->ops for a multi. */
static void copy_ops(const struct store_txn *txn, const struct store_op **ops, size_t *n)
{
	*ops = txn_single(txn->type) ? &txn->op : txn->ops;
	*n = txn_single(txn->type) ? 1 : txn->type == ZK_OP_MULTI ? (size_t)txn->n_ops : 0;
}

int store_txn_copy(const struct store_txn *txn, struct store_txn **out)
{
	const struct store_op *ops;
	struct decoded_txn *d;
	struct store_op *dst_ops;
	struct store_acl *acls;
	size_t n_ops, n_ids, n_acl = 0, bytes = 0, i, acl_at = 0;
	char *at;

	if (!txn_encodable(txn))
		return -EINVAL;
	copy_ops(txn, &ops, &n_ops);
	for (i = 0; i < n_ops; i++)
		bytes += op_copy_bytes(&ops[i], &n_acl);
	n_ids = txn->n_ids > 0 ? (size_t)txn->n_ids : 0;
	for (i = 0; i < n_ids; i++)
		bytes += strlen(str_or_empty(txn->ids[i].scheme)) +
			 strlen(str_or_empty(txn->ids[i].id)) + 2;
	d = zk_calloc(1, sizeof(*d) + (n_ops + 1) * sizeof(*dst_ops) +
				 (n_acl + n_ids + 1) * sizeof(*acls) + bytes);
	if (d == NULL)
		return -ENOMEM;
	/* d->msg, d->ops and d->acls stay NULL: store_txn_free frees only d. */
	dst_ops = (struct store_op *)(d + 1);
	acls = (struct store_acl *)(dst_ops + n_ops + 1);
	at = (char *)(acls + n_acl + n_ids + 1);
	d->txn.type = txn->type;
	d->txn.session_id = txn->session_id;
	d->txn.xid = txn->xid;
	d->txn.time_ms = txn->time_ms;
	d->txn.session_timeout_ms = txn->session_timeout_ms;
	if (txn->type == ZK_OP_CREATE_SESSION)
		memcpy(d->txn.passwd, txn->passwd, ZK_SESSION_PASSWD_LEN);
	if (txn_single(txn->type))
		acl_at = op_copy(&txn->op, &d->txn.op, acls, &at);
	else
		op_absent(&d->txn.op, txn->type);
	for (i = 0; txn->type == ZK_OP_MULTI && i < n_ops; i++)
		acl_at += op_copy(&ops[i], &dst_ops[i], acls + acl_at, &at);
	d->txn.ops = dst_ops;
	d->txn.n_ops = txn->type == ZK_OP_MULTI ? txn->n_ops : 0;
	for (i = 0; i < n_ids; i++) {
		acls[acl_at + i].scheme = copy_str(&at, txn->ids[i].scheme);
		acls[acl_at + i].id = copy_str(&at, txn->ids[i].id);
	}
	d->txn.ids = acls + acl_at;
	d->txn.n_ids = (int32_t)n_ids;
	d->txn.authed = txn->authed;
	*out = &d->txn;
	return 0;
}

void store_txn_free(struct store_txn *txn)
{
	struct decoded_txn *d;

	if (txn == NULL)
		return;
	d = (struct decoded_txn *)((char *)txn - offsetof(struct decoded_txn, txn));
	if (d->msg != NULL)
		store_txn__free_unpacked(d->msg, zk_alloc_protobuf());
	zk_free(d->ops);
	zk_free(d->acls);
	zk_free(d);
}
