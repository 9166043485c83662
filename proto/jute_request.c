/* jute requests: a whole client request frame (RequestHeader + the record its opcode names,
 * as ZooKeeper's FinalRequestProcessor/PrepRequestProcessor read them), multi and multiRead
 * (MultiOperationRecord: a MultiHeader before each op, {-1, true, -1} after the last) and the
 * multi response (MultiResponse). */
#include <errno.h>
#include <string.h>

#include "common/zk_alloc.h"
#include "common/zk_log.h"
#include "proto/jute.h"
#include "proto/jute_int.h"

/* What each opcode carries. client: a client may send it (else decode says -ENOTSUP). */
struct jute_op_desc {
	int32_t type;
	const char *name;		/* As ZooKeeper's Request.op2String. */
	bool client;
	const struct jute_type *body;	/* NULL: no body (or multi, handled apart). */
};

static const struct jute_op_desc jute_ops[] = {
	{ZK_OP_NOTIFICATION, "notification", false, NULL},
	{ZK_OP_CREATE, "create", true, &jute_type_create_request},
	{ZK_OP_DELETE, "delete", true, &jute_type_delete_request},
	{ZK_OP_EXISTS, "exists", true, &jute_type_exists_request},
	{ZK_OP_GET_DATA, "getData", true, &jute_type_get_data_request},
	{ZK_OP_SET_DATA, "setData", true, &jute_type_set_data_request},
	{ZK_OP_GET_ACL, "getACL", true, &jute_type_get_acl_request},
	{ZK_OP_SET_ACL, "setACL", true, &jute_type_set_acl_request},
	{ZK_OP_GET_CHILDREN, "getChildren", true, &jute_type_get_children_request},
	{ZK_OP_SYNC, "sync", true, &jute_type_sync_request},
	{ZK_OP_PING, "ping", true, NULL},
	{ZK_OP_GET_CHILDREN2, "getChildren2", true, &jute_type_get_children2_request},
	{ZK_OP_CHECK, "check", true, &jute_type_check_version_request},
	{ZK_OP_MULTI, "multi", true, NULL},
	{ZK_OP_CREATE2, "create2", true, &jute_type_create_request},
	{ZK_OP_RECONFIG, "reconfig", true, &jute_type_reconfig_request},
	{ZK_OP_CHECK_WATCHES, "checkWatches", true, &jute_type_check_watches_request},
	{ZK_OP_REMOVE_WATCHES, "removeWatches", true, &jute_type_remove_watches_request},
	{ZK_OP_CREATE_CONTAINER, "createContainer", true, &jute_type_create_request},
	{ZK_OP_DELETE_CONTAINER, "deleteContainer", false, NULL},
	{ZK_OP_CREATE_TTL, "createTtl", true, &jute_type_create_ttl_request},
	{ZK_OP_MULTI_READ, "multiRead", true, NULL},
	{ZK_OP_AUTH, "auth", true, &jute_type_auth_packet},
	{ZK_OP_SET_WATCHES, "setWatches", true, &jute_type_set_watches},
	{ZK_OP_SASL, "sasl", true, &jute_type_get_sasl_request},
	{ZK_OP_GET_EPHEMERALS, "getEphemerals", true, &jute_type_get_ephemerals_request},
	{ZK_OP_GET_ALL_CHILDREN_NUMBER, "getAllChildrenNumber", true,
	 &jute_type_get_all_children_number_request},
	{ZK_OP_SET_WATCHES2, "setWatches2", true, &jute_type_set_watches2},
	{ZK_OP_ADD_WATCH, "addWatch", true, &jute_type_add_watch_request},
	{ZK_OP_WHO_AM_I, "whoAmI", true, NULL},
	{ZK_OP_CREATE_SESSION, "createSession", false, NULL},
	{ZK_OP_CLOSE_SESSION, "closeSession", true, NULL},
	{ZK_OP_ERROR, "error", false, NULL},
};

static const struct jute_op_desc *jute_op_find(int32_t type)
{
	for (size_t i = 0; i < sizeof(jute_ops) / sizeof(jute_ops[0]); i++)
		if (jute_ops[i].type == type)
			return &jute_ops[i];
	return NULL;
}

const char *jute_op_name(int32_t type)
{
	const struct jute_op_desc *d = jute_op_find(type);

	return d != NULL ? d->name : "unknown";
}

static bool jute_is_multi(int32_t type)
{
	return type == ZK_OP_MULTI || type == ZK_OP_MULTI_READ;
}

/* The record of one op inside a multi (@multi_type ZK_OP_MULTI) or multiRead, or NULL when
 * that op may not appear there. */
static const struct jute_type *jute_multi_op_type(int32_t multi_type, int32_t op)
{
	if (multi_type == ZK_OP_MULTI_READ)
		return op == ZK_OP_GET_CHILDREN ? &jute_type_get_children_request
		       : op == ZK_OP_GET_DATA	? &jute_type_get_data_request
						: NULL;
	switch (op) {
	case ZK_OP_CREATE:
	case ZK_OP_CREATE2:
	case ZK_OP_CREATE_CONTAINER:
		return &jute_type_create_request;
	case ZK_OP_CREATE_TTL:
		return &jute_type_create_ttl_request;
	case ZK_OP_DELETE:
		return &jute_type_delete_request;
	case ZK_OP_SET_DATA:
		return &jute_type_set_data_request;
	case ZK_OP_CHECK:
		return &jute_type_check_version_request;
	}
	return NULL;
}

/* Grow *arr (of *cap elements of @size bytes) so that index @n fits. */
static int jute_grow(void **arr, int32_t *cap, int32_t n, size_t size)
{
	int32_t new_cap;
	void *p;

	if (n < *cap)
		return 0;
	if (*cap > INT32_MAX / 2)
		return -ENOMEM;
	new_cap = *cap > 0 ? *cap * 2 : 4;
	p = zk_realloc(*arr, (size_t)new_cap * size);
	if (p == NULL)
		return -ENOMEM;
	memset((uint8_t *)p + (size_t)*cap * size, 0, (size_t)(new_cap - *cap) * size);
	*arr = p;
	*cap = new_cap;
	return 0;
}

static void jute_ops_free(struct jute_multi_op *ops, int32_t n, int32_t multi_type)
{
	for (int32_t i = 0; i < n; i++) {
		const struct jute_type *t = jute_multi_op_type(multi_type, ops[i].type);
		if (t != NULL)
			jute_rec_free(t, &ops[i].u);
	}
	zk_free(ops);
}

/* Ops until the MultiHeader with done set (ZooKeeper stops there whatever its type). The
 * array grows as ops arrive; each op takes at least 13 bytes, so the frame bounds it. */
static int jute_multi_decode(struct jute_in *in, struct jute_request *out)
{
	struct jute_multi_header h;
	const struct jute_type *t;
	int32_t cap = 0;
	int rc;

	for (;;) {
		rc = jute_decode_multi_header(in, &h);
		if (rc != 0 || h.done)
			break;
		t = jute_multi_op_type(out->hdr.type, h.type);
		if (t == NULL) {
			zk_log_warn("jute: op %d (%s) not allowed in %s", h.type,
				    jute_op_name(h.type), jute_op_name(out->hdr.type));
			rc = ZK_CORRUPT();
			break;
		}
		rc = jute_grow((void **)&out->ops, &cap, out->n_ops, sizeof(*out->ops));
		if (rc != 0)
			break;
		out->ops[out->n_ops].type = h.type;
		rc = jute_rec_decode(in, t, &out->ops[out->n_ops].u);
		if (rc != 0)
			break;
		out->n_ops++;
	}
	return rc;
}

void jute_request_free(struct jute_request *req)
{
	const struct jute_op_desc *d = jute_op_find(req->hdr.type);

	if (jute_is_multi(req->hdr.type))
		jute_ops_free(req->ops, req->n_ops, req->hdr.type);
	else if (d != NULL && d->body != NULL)
		jute_rec_free(d->body, &req->u);
	req->ops = NULL;
	req->n_ops = 0;
}

static int jute_body_decode(struct jute_in *in, const struct jute_op_desc *d,
			    struct jute_request *out)
{
	if (jute_is_multi(d->type))
		return jute_multi_decode(in, out);
	if (d->body != NULL)
		return jute_rec_decode(in, d->body, &out->u);
	return 0;
}

int jute_decode_request(const void *body, size_t len, struct jute_request *out)
{
	const struct jute_op_desc *d;
	struct jute_in in;
	int rc;

	memset(out, 0, sizeof(*out));
	jute_in_init(&in, body, len);
	rc = jute_decode_request_header(&in, &out->hdr);
	if (rc != 0)
		return rc;
	d = jute_op_find(out->hdr.type);
	if (d == NULL || !d->client) {
		zk_log_warn("jute: unsupported opcode %d (%s), xid %d", out->hdr.type,
			    jute_op_name(out->hdr.type), out->hdr.xid);
		return -ENOTSUP;
	}
	rc = jute_body_decode(&in, d, out);
	if (rc == 0 && jute_in_remaining(&in) != 0) {
		zk_log_hex(ZK_LOG_LEVEL_WARN, __FILE__, __LINE__, body, len,
			   "jute: %zu bytes after %s request:", jute_in_remaining(&in), d->name);
		rc = ZK_CORRUPT();
	}
	if (rc != 0)
		jute_request_free(out);
	return rc;
}

/* ---- Encoding ---------------------------------------------------------------------------- */

#define JUTE_MULTI_HEADER_SIZE 9

static void jute_put_multi_header(struct zk_buf *out, int32_t type, bool done, int32_t err)
{
	jute_put_int(out, type);
	jute_put_bool(out, done);
	jute_put_int(out, err);
}

static int jute_multi_size(const struct jute_request *req, size_t *size)
{
	size_t n = JUTE_MULTI_HEADER_SIZE;

	for (int32_t i = 0; i < req->n_ops; i++) {
		const struct jute_type *t = jute_multi_op_type(req->hdr.type, req->ops[i].type);
		if (t == NULL)
			return -ENOTSUP;
		n += JUTE_MULTI_HEADER_SIZE + jute_rec_size(t, &req->ops[i].u);
	}
	*size = n;
	return 0;
}

static void jute_multi_put(struct zk_buf *out, const struct jute_request *req)
{
	for (int32_t i = 0; i < req->n_ops; i++) {
		const struct jute_multi_op *op = &req->ops[i];
		jute_put_multi_header(out, op->type, false, -1);
		jute_rec_put(out, jute_multi_op_type(req->hdr.type, op->type), &op->u);
	}
	jute_put_multi_header(out, -1, true, -1);
}

int jute_encode_request(struct zk_buf *out, const struct jute_request *req)
{
	const struct jute_op_desc *d = jute_op_find(req->hdr.type);
	size_t size = 8;
	int rc;

	if (d == NULL || !d->client)
		return -ENOTSUP;
	if (jute_is_multi(d->type)) {
		rc = jute_multi_size(req, &size);
		if (rc != 0)
			return rc;
		size += 8;
	} else if (d->body != NULL) {
		size += jute_rec_size(d->body, &req->u);
	}
	rc = zk_buf_reserve(out, size);
	if (rc != 0)
		return rc;
	jute_put_int(out, req->hdr.xid);
	jute_put_int(out, req->hdr.type);
	if (jute_is_multi(d->type))
		jute_multi_put(out, req);
	else if (d->body != NULL)
		jute_rec_put(out, d->body, &req->u);
	return 0;
}

/* ---- Multi responses --------------------------------------------------------------------- */

/* The record following a result's MultiHeader, or NULL when nothing follows (delete, check)
 * or the type is invalid (*ok false). MultiResponse knows no createTTL/createContainer
 * result: ZooKeeper answers those ops with a create2 result (a Java client throws on the
 * others), so they are refused here. */
static const struct jute_type *jute_result_type(int32_t type, bool *ok)
{
	*ok = true;
	switch (type) {
	case ZK_OP_CREATE:
		return &jute_type_create_response;
	case ZK_OP_CREATE2:
		return &jute_type_create2_response;
	case ZK_OP_SET_DATA:
		return &jute_type_set_data_response;
	case ZK_OP_GET_CHILDREN:
		return &jute_type_get_children_response;
	case ZK_OP_GET_DATA:
		return &jute_type_get_data_response;
	case ZK_OP_ERROR:
		return &jute_type_error_response;
	case ZK_OP_DELETE:
	case ZK_OP_CHECK:
		return NULL;
	}
	*ok = false;
	return NULL;
}

/* The response records are laid out differently from struct jute_multi_result: copy the
 * fields one way or the other. */
union jute_result_rec {
	struct jute_create_response create;
	struct jute_create2_response create2;
	struct jute_set_data_response set_data;
	struct jute_get_children_response get_children;
	struct jute_get_data_response get_data;
	struct jute_error_response error;
};

static void jute_result_to_rec(const struct jute_multi_result *r, union jute_result_rec *u)
{
	switch (r->type) {
	case ZK_OP_CREATE:
		u->create.path = r->path;
		return;
	case ZK_OP_CREATE2:
		u->create2.path = r->path;
		u->create2.stat = r->stat;
		return;
	case ZK_OP_SET_DATA:
		u->set_data.stat = r->stat;
		return;
	case ZK_OP_GET_CHILDREN:
		u->get_children.children = r->children;
		return;
	case ZK_OP_GET_DATA:
		u->get_data.data = r->data;
		u->get_data.stat = r->stat;
		return;
	case ZK_OP_ERROR:
		u->error.err = r->err;
		return;
	}
}

static void jute_result_from_rec(struct jute_multi_result *r, const union jute_result_rec *u)
{
	switch (r->type) {
	case ZK_OP_CREATE:
		r->path = u->create.path;
		return;
	case ZK_OP_CREATE2:
		r->path = u->create2.path;
		r->stat = u->create2.stat;
		return;
	case ZK_OP_SET_DATA:
		r->stat = u->set_data.stat;
		return;
	case ZK_OP_GET_CHILDREN:
		r->children = u->get_children.children;
		return;
	case ZK_OP_GET_DATA:
		r->data = u->get_data.data;
		r->stat = u->get_data.stat;
		return;
	case ZK_OP_ERROR:
		r->err = u->error.err;
		return;
	}
}

int jute_encode_multi_response(struct zk_buf *out, const struct jute_multi_result *results,
			       int32_t n)
{
	size_t size = JUTE_MULTI_HEADER_SIZE;
	union jute_result_rec u;
	const struct jute_type *t;
	bool ok;
	int rc;

	for (int32_t i = 0; i < n; i++) {
		t = jute_result_type(results[i].type, &ok);
		if (!ok)
			return -EINVAL;
		jute_result_to_rec(&results[i], &u);
		size += JUTE_MULTI_HEADER_SIZE + (t != NULL ? jute_rec_size(t, &u) : 0);
	}
	rc = zk_buf_reserve(out, size);
	if (rc != 0)
		return rc;
	for (int32_t i = 0; i < n; i++) {
		const struct jute_multi_result *r = &results[i];
		t = jute_result_type(r->type, &ok);
		jute_result_to_rec(r, &u);
		jute_put_multi_header(out, r->type, false, r->type == ZK_OP_ERROR ? r->err : 0);
		if (t != NULL)
			jute_rec_put(out, t, &u);
	}
	jute_put_multi_header(out, -1, true, -1);
	return 0;
}

void jute_multi_response_free(struct jute_multi_result *results, int32_t n)
{
	for (int32_t i = 0; i < n && results != NULL; i++)
		jute_str_vec_free(&results[i].children);
	zk_free(results);
}

static int jute_result_decode(struct jute_in *in, const struct jute_multi_header *h,
			      struct jute_multi_result *r)
{
	union jute_result_rec u;
	const struct jute_type *t;
	bool ok;
	int rc;

	memset(r, 0, sizeof(*r));
	r->type = h->type;
	t = jute_result_type(h->type, &ok);
	if (!ok) {
		zk_log_warn("jute: multi result of type %d", h->type);
		return ZK_CORRUPT();
	}
	if (t == NULL)
		return 0;
	rc = jute_rec_decode(in, t, &u);
	if (rc == 0)
		jute_result_from_rec(r, &u);
	return rc;
}

int jute_decode_multi_response(struct jute_in *in, struct jute_multi_result **results,
			       int32_t *n)
{
	struct jute_multi_header h;
	struct jute_multi_result *arr = NULL;
	int32_t cap = 0;
	int32_t count = 0;
	int rc;

	for (;;) {
		rc = jute_decode_multi_header(in, &h);
		if (rc != 0 || h.done)
			break;
		rc = jute_grow((void **)&arr, &cap, count, sizeof(*arr));
		if (rc != 0)
			break;
		rc = jute_result_decode(in, &h, &arr[count]);
		if (rc != 0)
			break;
		count++;
	}
	if (rc == 0 && jute_in_remaining(in) != 0) {
		zk_log_warn("jute: %zu bytes after a multi response", jute_in_remaining(in));
		rc = ZK_CORRUPT();
	}
	if (rc != 0) {
		jute_multi_response_free(arr, count);
		return rc;
	}
	*results = count > 0 ? arr : NULL;
	if (count == 0)
		zk_free(arr);
	*n = count;
	return 0;
}
