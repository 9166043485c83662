/* ops.c: one function per operation of the client protocol (zookeeper.jute requests): each fills
 * a struct jute_request with the chroot prepended to its paths, encodes it into a frame (the
 * xid is given when the frame is sent) and queues it. */
#include <stdlib.h>
#include <string.h>

#include "client/client_int.h"
#include "common/zk_alloc.h"

/* world:anyone with every permission (ZooKeeper's OPEN_ACL_UNSAFE). */
static const struct jute_acl ops_open_acl = {ZK_PERM_ALL, {{"world", 5}, {"anyone", 6}}};
const struct jute_acl_vec zkclient_acl_open = {1, (struct jute_acl *)&ops_open_acl};

struct zkclient_req *zkclient_req_build(const struct jute_request *jr, zkclient_cb cb, void *ctx)
{
	struct zkclient_req *req = zk_calloc(1, sizeof(*req));
	struct zk_buf b;
	size_t start;

	if (req == NULL)
		return NULL;
	zk_buf_init(&b);
	start = jute_frame_begin(&b);
	if (start == JUTE_FRAME_NOMEM || jute_encode_request(&b, jr) != 0) {
		zk_buf_close(&b);
		zk_free(req);
		return NULL;
	}
	jute_frame_end(&b, start);
	req->frame = zk_buf_steal(&b, &req->len);
	req->op = jr->hdr.type;
	req->cb = cb;
	req->ctx = ctx;
	req->watch = ZKCLIENT_W_NONE;
	return req;
}

/* The server's form of @path (chroot prepended) into @out; *@owned is what to free. Returns 0,
 * -EINVAL (not a valid path: ZooKeeper's clients check with PathUtils.validatePath before
 * sending; @sequential: a create that appends a counter) or -ENOMEM. */
static int ops_path(const struct zkclient *c, const char *path, bool sequential,
			struct jute_str *out, char **owned)
{
	size_t len;

	*owned = NULL;
	if (path == NULL)
		return -EINVAL;
	len = strlen(path);
	if (jute_path_validate(path, len, sequential) != 0)
		return -EINVAL;
	if (c->chroot == NULL) {
		*out = (struct jute_str){path, (int32_t)len};
		return 0;
	}
	if (strcmp(path, "/") == 0)
		len = 0;
	*owned = zk_malloc(c->chroot_len + len + 1);
	if (*owned == NULL)
		return -ENOMEM;
	memcpy(*owned, c->chroot, c->chroot_len);
	memcpy(*owned + c->chroot_len, path, len);
	(*owned)[c->chroot_len + len] = '\0';
	*out = (struct jute_str){*owned, (int32_t)(c->chroot_len + len)};
	return 0;
}

/* Encode and queue @jr; on success a watch of @watch (or a removal of @remove) on @wpath is
 * recorded when the reply says so. */
static int ops_queue(struct zkclient *c, const struct jute_request *jr, int watch, int remove,
		     const char *wpath, zkclient_cb cb, void *ctx)
{
	struct zkclient_req *req = zkclient_req_build(jr, cb, ctx);

	if (req == NULL)
		return -ENOMEM;
	req->watch = (int8_t)watch;
	req->remove = (int8_t)remove;
	if (watch != ZKCLIENT_W_NONE || remove != 0) {
		req->wpath = zk_strdup(wpath);
		if (req->wpath == NULL) {
			zkclient_req_free(req);
			return -ENOMEM;
		}
	}
	return zkclient_req_queue(c, req);
}

static bool ops_sequential(const struct jute_request *jr)
{
	int32_t flags = jr->hdr.type == ZK_OP_CREATE_TTL ? jr->u.create_ttl.flags
							 : jr->u.create.flags;

	if (jr->hdr.type != ZK_OP_CREATE && jr->hdr.type != ZK_OP_CREATE2 &&
	    jr->hdr.type != ZK_OP_CREATE_TTL)
		return false;
	return flags == ZK_MODE_PERSISTENT_SEQUENTIAL || flags == ZK_MODE_EPHEMERAL_SEQUENTIAL ||
	       flags == ZK_MODE_PERSISTENT_SEQUENTIAL_WITH_TTL;
}

/* The common case: one path field at @field of jr->u, set from @path. */
static int ops_path_op(struct zkclient *c, struct jute_request *jr, struct jute_str *field,
		       const char *path, int watch, int remove, zkclient_cb cb, void *ctx)
{
	char *owned;
	int rc = ops_path(c, path, ops_sequential(jr), field, &owned);

	if (rc != 0)
		return rc;
	rc = ops_queue(c, jr, watch, remove, path, cb, ctx);
	zk_free(owned);
	return rc;
}

int zkclient_create(struct zkclient *c, const char *path, const void *data, int32_t len,
		    const struct jute_acl_vec *acl, int mode, int64_t ttl_ms, bool want_stat,
		    zkclient_cb cb, void *ctx)
{
	struct jute_request jr = {.hdr = {.type = want_stat ? ZK_OP_CREATE2 : ZK_OP_CREATE}};
	struct jute_create_ttl_request *t = &jr.u.create_ttl;

	if (mode == ZK_MODE_CONTAINER)
		jr.hdr.type = ZK_OP_CREATE_CONTAINER;
	if (mode == ZK_MODE_PERSISTENT_WITH_TTL || mode == ZK_MODE_PERSISTENT_SEQUENTIAL_WITH_TTL)
		jr.hdr.type = ZK_OP_CREATE_TTL;
	if (jr.hdr.type == ZK_OP_CREATE_TTL) {
		*t = (struct jute_create_ttl_request){
			.data = {data, data != NULL ? len : -1},
			.acl = acl != NULL ? *acl : zkclient_acl_open,
			.flags = mode,
			.ttl = ttl_ms,
		};
		return ops_path_op(c, &jr, &t->path, path, ZKCLIENT_W_NONE, 0, cb, ctx);
	}
	jr.u.create = (struct jute_create_request){
		.data = {data, data != NULL ? len : -1},
		.acl = acl != NULL ? *acl : zkclient_acl_open,
		.flags = mode,
	};
	return ops_path_op(c, &jr, &jr.u.create.path, path, ZKCLIENT_W_NONE, 0, cb, ctx);
}

int zkclient_delete(struct zkclient *c, const char *path, int32_t version, zkclient_cb cb,
		    void *ctx)
{
	struct jute_request jr = {.hdr = {.type = ZK_OP_DELETE}};

	jr.u.delete.version = version;
	return ops_path_op(c, &jr, &jr.u.delete.path, path, ZKCLIENT_W_NONE, 0, cb, ctx);
}

int zkclient_exists(struct zkclient *c, const char *path, bool watch, zkclient_cb cb, void *ctx)
{
	struct jute_request jr = {.hdr = {.type = ZK_OP_EXISTS}};

	jr.u.exists.watch = watch;
	return ops_path_op(c, &jr, &jr.u.exists.path, path, watch ? ZKCLIENT_W_EXIST : -1, 0,
			   cb, ctx);
}

int zkclient_get_data(struct zkclient *c, const char *path, bool watch, zkclient_cb cb, void *ctx)
{
	struct jute_request jr = {.hdr = {.type = ZK_OP_GET_DATA}};

	jr.u.get_data.watch = watch;
	return ops_path_op(c, &jr, &jr.u.get_data.path, path, watch ? ZKCLIENT_W_DATA : -1, 0,
			   cb, ctx);
}

int zkclient_set_data(struct zkclient *c, const char *path, const void *data, int32_t len,
		      int32_t version, zkclient_cb cb, void *ctx)
{
	struct jute_request jr = {.hdr = {.type = ZK_OP_SET_DATA}};

	jr.u.set_data.data = (struct jute_bytes){data, data != NULL ? len : -1};
	jr.u.set_data.version = version;
	return ops_path_op(c, &jr, &jr.u.set_data.path, path, ZKCLIENT_W_NONE, 0, cb, ctx);
}

int zkclient_get_children(struct zkclient *c, const char *path, bool watch, bool want_stat,
			  zkclient_cb cb, void *ctx)
{
	struct jute_request jr = {
		.hdr = {.type = want_stat ? ZK_OP_GET_CHILDREN2 : ZK_OP_GET_CHILDREN}};

	/* GetChildrenRequest and GetChildren2Request have the same fields. */
	jr.u.get_children.watch = watch;
	return ops_path_op(c, &jr, &jr.u.get_children.path, path,
			   watch ? ZKCLIENT_W_CHILD : -1, 0, cb, ctx);
}

int zkclient_get_all_children_number(struct zkclient *c, const char *path, zkclient_cb cb,
				     void *ctx)
{
	struct jute_request jr = {.hdr = {.type = ZK_OP_GET_ALL_CHILDREN_NUMBER}};

	return ops_path_op(c, &jr, &jr.u.get_all_children_number.path, path, ZKCLIENT_W_NONE, 0,
			   cb, ctx);
}

int zkclient_get_ephemerals(struct zkclient *c, const char *prefix, zkclient_cb cb, void *ctx)
{
	struct jute_request jr = {.hdr = {.type = ZK_OP_GET_EPHEMERALS}};

	return ops_path_op(c, &jr, &jr.u.get_ephemerals.prefix_path, prefix, ZKCLIENT_W_NONE, 0,
			   cb, ctx);
}

int zkclient_sync(struct zkclient *c, const char *path, zkclient_cb cb, void *ctx)
{
	struct jute_request jr = {.hdr = {.type = ZK_OP_SYNC}};

	return ops_path_op(c, &jr, &jr.u.sync.path, path, ZKCLIENT_W_NONE, 0, cb, ctx);
}

int zkclient_get_acl(struct zkclient *c, const char *path, zkclient_cb cb, void *ctx)
{
	struct jute_request jr = {.hdr = {.type = ZK_OP_GET_ACL}};

	return ops_path_op(c, &jr, &jr.u.get_acl.path, path, ZKCLIENT_W_NONE, 0, cb, ctx);
}

int zkclient_set_acl(struct zkclient *c, const char *path, const struct jute_acl_vec *acl,
		     int32_t version, zkclient_cb cb, void *ctx)
{
	struct jute_request jr = {.hdr = {.type = ZK_OP_SET_ACL}};

	jr.u.set_acl.acl = acl != NULL ? *acl : zkclient_acl_open;
	jr.u.set_acl.version = version;
	return ops_path_op(c, &jr, &jr.u.set_acl.path, path, ZKCLIENT_W_NONE, 0, cb, ctx);
}

/* The path field of one multi op. */
static struct jute_str *ops_multi_path(struct jute_multi_op *op)
{
	switch (op->type) {
	case ZK_OP_CREATE_TTL:
		return &op->u.create_ttl.path;
	case ZK_OP_DELETE:
		return &op->u.delete.path;
	case ZK_OP_SET_DATA:
		return &op->u.set_data.path;
	case ZK_OP_CHECK:
		return &op->u.check_version.path;
	case ZK_OP_GET_CHILDREN:
		return &op->u.get_children.path;
	case ZK_OP_GET_DATA:
		return &op->u.get_data.path;
	default:
		return &op->u.create.path;
	}
}

/* Check every path of @ops (a copy) and prepend the chroot; *@owned collects what to free. */
static int ops_multi_paths(const struct zkclient *c, struct jute_multi_op *ops, int32_t n,
			   char **owned)
{
	for (int32_t i = 0; i < n; i++) {
		struct jute_request one = {.hdr = {.type = ops[i].type}};
		struct jute_str *p = ops_multi_path(&ops[i]), orig = *p;
		char *user = jute_str_dup(p);
		int rc;

		if (user == NULL)
			return p->p == NULL ? -EINVAL : -ENOMEM;
		if (ops[i].type == ZK_OP_CREATE_TTL)
			one.u.create_ttl = ops[i].u.create_ttl;
		else
			one.u.create = ops[i].u.create;
		rc = ops_path(c, user, ops_sequential(&one), p, &owned[i]);
		/* Without a chroot the path is sent as the caller gave it (@user is freed). */
		if (owned[i] == NULL)
			*p = orig;
		zk_free(user);
		if (rc != 0)
			return rc;
	}
	return 0;
}

int zkclient_multi(struct zkclient *c, const struct jute_multi_op *ops, int32_t n, bool read,
		   zkclient_cb cb, void *ctx)
{
	struct jute_request jr = {.hdr = {.type = read ? ZK_OP_MULTI_READ : ZK_OP_MULTI}};
	struct jute_multi_op *copy;
	char **owned;
	int rc;

	if (n < 0)
		return -EINVAL;
	copy = zk_malloc(sizeof(*copy) * (size_t)(n > 0 ? n : 1));
	owned = zk_calloc((size_t)(n > 0 ? n : 1), sizeof(*owned));
	if (copy == NULL || owned == NULL) {
		zk_free(copy);
		zk_free(owned);
		return -ENOMEM;
	}
	if (n > 0)
		memcpy(copy, ops, sizeof(*copy) * (size_t)n);
	rc = ops_multi_paths(c, copy, n, owned);
	if (rc == 0) {
		jr.ops = copy;
		jr.n_ops = n;
		rc = ops_queue(c, &jr, ZKCLIENT_W_NONE, 0, NULL, cb, ctx);
	}
	for (int32_t i = 0; i < n; i++)
		zk_free(owned[i]);
	zk_free(owned);
	zk_free(copy);
	return rc;
}

int zkclient_add_auth(struct zkclient *c, const char *scheme, const void *auth, int32_t len,
		      zkclient_cb cb, void *ctx)
{
	struct jute_request jr = {.hdr = {.xid = ZK_XID_AUTH, .type = ZK_OP_AUTH}};
	struct zkclient_req *req;

	jr.u.auth = (struct jute_auth_packet){
		.scheme = {scheme, (int32_t)strlen(scheme)},
		.auth = {auth, len},
	};
	req = zkclient_req_build(&jr, cb, ctx);
	if (req == NULL)
		return -ENOMEM;
	req->xid = ZK_XID_AUTH; /* Keeps its reserved xid when sent. */
	return zkclient_req_queue(c, req);
}

int zkclient_who_am_i(struct zkclient *c, zkclient_cb cb, void *ctx)
{
	struct jute_request jr = {.hdr = {.type = ZK_OP_WHO_AM_I}};

	return ops_queue(c, &jr, ZKCLIENT_W_NONE, 0, NULL, cb, ctx);
}

int zkclient_add_watch(struct zkclient *c, const char *path, int mode, zkclient_cb cb, void *ctx)
{
	struct jute_request jr = {.hdr = {.type = ZK_OP_ADD_WATCH}};

	jr.u.add_watch.mode = mode;
	return ops_path_op(c, &jr, &jr.u.add_watch.path, path,
			   mode == ZK_ADD_WATCH_PERSISTENT ? ZKCLIENT_W_PERSISTENT
							   : ZKCLIENT_W_RECURSIVE,
			   0, cb, ctx);
}

int zkclient_remove_watches(struct zkclient *c, const char *path, int type, bool local,
			    zkclient_cb cb, void *ctx)
{
	struct jute_request jr = {.hdr = {.type = ZK_OP_REMOVE_WATCHES}};
	struct zkclient_req *req;

	if (!local) {
		jr.u.remove_watches.type = type;
		return ops_path_op(c, &jr, &jr.u.remove_watches.path, path, ZKCLIENT_W_NONE,
				   type, cb, ctx);
	}
	/* Local only: nothing to send; complete in the next flush step. */
	if (path == NULL || path[0] != '/')
		return -EINVAL;
	req = zk_calloc(1, sizeof(*req));
	if (req == NULL)
		return -ENOMEM;
	req->op = ZK_OP_REMOVE_WATCHES;
	req->cb = cb;
	req->ctx = ctx;
	req->remove = (int8_t)type;
	req->wpath = zk_strdup(path);
	if (req->wpath == NULL) {
		zk_free(req);
		return -ENOMEM;
	}
	return zkclient_req_queue(c, req);
}

int zkclient_check_watches(struct zkclient *c, const char *path, int type, zkclient_cb cb,
			   void *ctx)
{
	struct jute_request jr = {.hdr = {.type = ZK_OP_CHECK_WATCHES}};

	jr.u.check_watches.type = type;
	return ops_path_op(c, &jr, &jr.u.check_watches.path, path, ZKCLIENT_W_NONE, 0, cb, ctx);
}

int zkclient_get_config(struct zkclient *c, bool watch, zkclient_cb cb, void *ctx)
{
	static const char config[] = "/zookeeper/config";
	struct jute_request jr = {.hdr = {.type = ZK_OP_GET_DATA}};

	/* Outside the chroot: the path is sent as is; a watch on it is recorded by that name,
	 * so without a chroot it is re-set after a reconnect. */
	jr.u.get_data.path = (struct jute_str){config, sizeof(config) - 1};
	jr.u.get_data.watch = watch;
	return ops_queue(c, &jr, watch && c->chroot == NULL ? ZKCLIENT_W_DATA : -1, 0, config,
			 cb, ctx);
}

static struct jute_str ops_opt_str(const char *s)
{
	return s != NULL ? (struct jute_str){s, (int32_t)strlen(s)} : (struct jute_str){NULL, -1};
}

int zkclient_reconfig(struct zkclient *c, const char *joining, const char *leaving,
		      const char *members, int64_t from_config, zkclient_cb cb, void *ctx)
{
	struct jute_request jr = {.hdr = {.type = ZK_OP_RECONFIG}};

	jr.u.reconfig = (struct jute_reconfig_request){
		.joining_servers = ops_opt_str(joining),
		.leaving_servers = ops_opt_str(leaving),
		.new_members = ops_opt_str(members),
		.cur_config_id = from_config,
	};
	return ops_queue(c, &jr, ZKCLIENT_W_NONE, 0, NULL, cb, ctx);
}
