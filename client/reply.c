/* reply.c: the body of a reply, after its ReplyHeader, by the opcode of the request it answers
 * (zookeeper.jute's *Response records; ZooKeeper sends no body with an error, except for multi
 * whose MultiResponse carries every op's result). Also what the chroot changes in replies. */
#include <string.h>

#include "client/client_int.h"
#include "common/zk_log.h"

/* The record of each reply, decoded into @r. Returns 0, -EBADMSG or -ENOMEM. */
static int reply_record(int op, struct jute_in *in, struct zkclient_result *r)
{
	union {
		struct jute_create_response create;
		struct jute_create2_response create2;
		struct jute_get_data_response get_data;
		struct jute_get_acl_response get_acl;
		struct jute_get_children2_response get_children2;
		struct jute_get_children_response get_children;
		struct jute_get_all_children_number_response number;
		struct jute_get_ephemerals_response ephemerals;
		struct jute_sync_response sync;
	} u;
	int rc;

	memset(&u, 0, sizeof(u));
	switch (op) {
	case ZK_OP_CREATE:
		rc = jute_decode_create_response(in, &u.create);
		r->path = u.create.path;
		return rc;
	case ZK_OP_CREATE2:
	case ZK_OP_CREATE_CONTAINER:
	case ZK_OP_CREATE_TTL:
		rc = jute_decode_create2_response(in, &u.create2);
		r->path = u.create2.path;
		r->stat = u.create2.stat;
		r->has_stat = rc == 0;
		return rc;
	case ZK_OP_EXISTS:
	case ZK_OP_SET_DATA:
	case ZK_OP_SET_ACL:
		/* ExistsResponse, SetDataResponse and SetACLResponse are a bare Stat. */
		rc = jute_read_stat(in, &r->stat);
		r->has_stat = rc == 0;
		return rc;
	case ZK_OP_GET_DATA:
	case ZK_OP_RECONFIG:
		rc = jute_decode_get_data_response(in, &u.get_data);
		r->data = u.get_data.data;
		r->stat = u.get_data.stat;
		r->has_stat = rc == 0;
		return rc;
	case ZK_OP_GET_ACL:
		rc = jute_decode_get_acl_response(in, &u.get_acl);
		r->acl = u.get_acl.acl;
		r->stat = u.get_acl.stat;
		r->has_stat = rc == 0;
		return rc;
	case ZK_OP_GET_CHILDREN:
		rc = jute_decode_get_children_response(in, &u.get_children);
		r->names = u.get_children.children;
		return rc;
	case ZK_OP_GET_CHILDREN2:
		rc = jute_decode_get_children2_response(in, &u.get_children2);
		r->names = u.get_children2.children;
		r->stat = u.get_children2.stat;
		r->has_stat = rc == 0;
		return rc;
	case ZK_OP_GET_ALL_CHILDREN_NUMBER:
		rc = jute_decode_get_all_children_number_response(in, &u.number);
		r->number = u.number.total_number;
		return rc;
	case ZK_OP_GET_EPHEMERALS:
		rc = jute_decode_get_ephemerals_response(in, &u.ephemerals);
		r->names = u.ephemerals.ephemerals;
		return rc;
	case ZK_OP_SYNC:
		rc = jute_decode_sync_response(in, &u.sync);
		r->path = u.sync.path;
		return rc;
	case ZK_OP_WHO_AM_I: {
		struct jute_who_am_i_response w = {{0, NULL}};

		rc = jute_decode_who_am_i_response(in, &w);
		r->who = w.client_info;
		return rc;
	}
	case ZK_OP_MULTI:
	case ZK_OP_MULTI_READ:
		return jute_decode_multi_response(in, &r->results, &r->n_results);
	case ZK_OP_ADD_WATCH: {
		/* ZooKeeper answers addWatch with an ErrorResponse (its code again). */
		struct jute_error_response e;

		return jute_decode_error_response(in, &e);
	}
	default:
		/* delete, check/remove watches, closeSession: no body. */
		return 0;
	}
}

/* A failed multi's code: the first result that is neither OK nor RuntimeInconsistency. */
static int reply_multi_err(const struct zkclient_result *r)
{
	for (int32_t i = 0; i < r->n_results; i++) {
		const struct jute_multi_result *m = &r->results[i];

		if (m->type == ZK_OP_ERROR && m->err != ZK_ERR_OK &&
		    m->err != ZK_ERR_RUNTIMEINCONSISTENCY)
			return m->err;
	}
	return ZK_ERR_OK;
}

int zkclient_reply_decode(int op, const uint8_t *body, size_t len, struct zkclient_result *r)
{
	struct jute_in in;
	int rc;

	memset(r, 0, sizeof(*r));
	r->op = op;
	/* An error reply has no body (ZooKeeper 3.8 sends none but for multi). */
	if (len == 0)
		return 0;
	jute_in_init(&in, body, len);
	rc = reply_record(op, &in, r);
	if (rc == 0 && jute_in_remaining(&in) != 0) {
		zk_log_warn("zkclient: %zu bytes after the %s reply", jute_in_remaining(&in),
			    jute_op_name(op));
		zkclient_result_free(r);
		rc = -EBADMSG;
	}
	if (rc != 0) {
		/* A failed decoder owns nothing (jute.h); trailing bytes' vectors are freed. */
		memset(r, 0, sizeof(*r));
		r->op = op;
		return rc;
	}
	if (op == ZK_OP_MULTI)
		r->err = reply_multi_err(r);
	return 0;
}

void zkclient_result_free(struct zkclient_result *r)
{
	switch (r->op) {
	case ZK_OP_GET_ACL:
		jute_acl_vec_free(&r->acl);
		break;
	case ZK_OP_GET_CHILDREN:
	case ZK_OP_GET_CHILDREN2:
	case ZK_OP_GET_EPHEMERALS:
		jute_str_vec_free(&r->names);
		break;
	case ZK_OP_WHO_AM_I: {
		struct jute_who_am_i_response w = {.client_info = r->who};

		jute_who_am_i_response_free(&w);
		r->who.items = NULL;
		r->who.count = 0;
		break;
	}
	case ZK_OP_MULTI:
	case ZK_OP_MULTI_READ:
		jute_multi_response_free(r->results, r->n_results);
		r->results = NULL;
		r->n_results = 0;
		break;
	}
}

struct jute_str zkclient_unchroot(const struct zkclient *c, struct jute_str path)
{
	static const struct jute_str root = {"/", 1};

	if (c->chroot == NULL || path.len < (int32_t)c->chroot_len ||
	    memcmp(path.p, c->chroot, c->chroot_len) != 0)
		return path;
	if (path.len == (int32_t)c->chroot_len)
		return root;
	if (path.p[c->chroot_len] != '/')
		return path;
	path.p += c->chroot_len;
	path.len -= (int32_t)c->chroot_len;
	return path;
}

void zkclient_reply_unchroot(const struct zkclient *c, struct zkclient_result *r)
{
	if (c->chroot == NULL)
		return;
	if (r->path.len > 0)
		r->path = zkclient_unchroot(c, r->path);
	if (r->op == ZK_OP_GET_EPHEMERALS)
		for (int32_t i = 0; i < r->names.count; i++)
			r->names.items[i] = zkclient_unchroot(c, r->names.items[i]);
	for (int32_t i = 0; i < r->n_results; i++)
		if (r->results[i].path.len > 0)
			r->results[i].path = zkclient_unchroot(c, r->results[i].path);
}
