/* read: requests answered from the local store without a transaction (ZooKeeper's
 * FinalRequestProcessor for exists, getData, getChildren[2], getACL, getEphemerals,
 * getAllChildrenNumber, multiRead, ping, setWatches[2], addWatch, removeWatches,
 * checkWatches, whoAmI; an opcode with no path here is Unimplemented and closes the
 * connection; SASL is answered at arrival, in saslauth.c; reconfig is a write, in reconfig.c).
 * read_run is called when the request reaches the point of its connection's FIFO where every
 * earlier request is done (conn.c), so a read sees its session's earlier writes. Watches are
 * registered here, as ZooKeeper does while it answers. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "common/zk_alloc.h"
#include "common/zk_log.h"
#include "zkfsd/zkfsd_int.h"

struct name_list {
	struct jute_str *items; /* Borrowed names (store memory, valid until the next apply). */
	int32_t n, cap;		/* Used / allocated. */
	bool nomem;		/* An append failed. */
	uint64_t bytes;		/* Their size in a reply (4 + length each). */
	uint64_t limit;		/* Past this many bytes names are dropped and over set
				   (0: no limit). */
	bool over;		/* The list passed limit: the reply would be too large. */
};

/* The largest reply a read builds: zkfsd.maxReplyBytes, by default jute.maxbuffer (no client
 * reads a bigger frame: the Java client drops the connection and reconnects, for ever). */
static uint64_t read_reply_cap(const struct zkfsd *srv)
{
	return srv->cfg->max_reply_bytes ? srv->cfg->max_reply_bytes : srv->cfg->jute_maxbuffer;
}

static void name_list_add(void *ctx, const char *name)
{
	struct name_list *l = ctx;
	size_t len = strlen(name);

	if (l->over)
		return;
	l->bytes += 4 + len;
	if (l->limit != 0 && l->bytes > l->limit) {
		l->over = true;
		return;
	}
	if (l->n == l->cap) {
		int32_t cap = l->cap ? l->cap * 2 : 16;
		struct jute_str *p = realloc(l->items, sizeof(*p) * (size_t)cap);

		if (p == NULL) {
			l->nomem = true;
			return;
		}
		l->items = p;
		l->cap = cap;
	}
	l->items[l->n].p = name;
	l->items[l->n].len = (int32_t)len;
	l->n++;
}

/* A list of names that passed the reply cap: MarshallingError, as for a multiRead too large
 * (ZooKeeper has no answer: it sends the frame, which its clients refuse), and a log line. */
static int name_list_refused(struct request *req, const struct name_list *l, const char *what,
			     const char *path)
{
	struct zkfsd *srv = req->conn->srv;

	server_refuse(srv, ZKFSD_REFUSED_REPLY_BYTES,
		      "%s:%d: %s of %s refused: its reply passes %" PRIu64
		      " bytes (zkfsd.maxReplyBytes) after %d names", req->conn->ip,
		      req->conn->port, what, path, l->limit, l->n);
	return ZK_ERR_MARSHALLINGERROR;
}

/* Owned copies for getEphemerals (its callback's paths may be temporary). */
static void name_list_add_copy(void *ctx, const char *name)
{
	struct name_list *l = ctx;
	int32_t n = l->n;
	char *copy = l->over ? NULL : strdup(name);

	if (copy == NULL) {
		l->nomem = l->nomem || !l->over;
		return;
	}
	name_list_add(ctx, copy);
	if (l->n == n)
		free(copy); /* Not taken: past the limit, or no memory. */
}

static void request_exists(struct request *req, const char *path, bool watch)
{
	struct zkfsd *srv = req->conn->srv;
	struct jute_exists_response rsp;
	int rc = store_exists(srv->store, path, &rsp.stat), rv;
	size_t start;

	if (watch && (rv = watch_add(srv, &srv->data_watches, req->conn, path, WATCH_STANDARD)))
		rc = watch_error(rv);
	start = request_begin(req, req->xid, request_last_zxid(req->conn), rc);
	request_end(req, start, rc == ZK_ERR_OK ? jute_encode_exists_response(&req->reply, &rsp) : 0);
}

static void request_get_data(struct request *req, const char *path, bool watch)
{
	struct zkfsd *srv = req->conn->srv;
	struct jute_get_data_response rsp;
	struct zk_buf text = {0};
	int32_t len = 0;
	const uint8_t *data = NULL;
	int rc = acl_check(req->conn, path, ZK_PERM_READ), rv;
	size_t start;

	if (rc == ZK_ERR_OK)
		rc = store_get_data(srv->store, path, &data, &len, &rsp.stat);
	if (rc == ZK_ERR_OK && watch &&
	    (rv = watch_add(srv, &srv->data_watches, req->conn, path, WATCH_STANDARD)))
		rc = watch_error(rv);
	rsp.data.p = data;
	rsp.data.len = len;
	if (rc == ZK_ERR_OK && srv->cfg->n_servers > 0 && strcmp(path, "/zookeeper/config") == 0) {
		/* The ensemble's membership, as ZooKeeper keeps this node (reconfig.c). */
		zk_buf_init(&text);
		if (reconfig_config_text(srv, &text) != 0)
			rc = ZK_ERR_SYSTEMERROR;
		rsp.data.p = text.data;
		rsp.data.len = (int32_t)text.len;
		rsp.stat.data_length = (int32_t)text.len;
	}
	start = request_begin(req, req->xid, request_last_zxid(req->conn), rc);
	request_end(req, start,
		    rc == ZK_ERR_OK ? jute_encode_get_data_response(&req->reply, &rsp) : 0);
	zk_buf_close(&text);
}

static void request_get_children(struct request *req, const char *path, bool watch, bool two)
{
	struct zkfsd *srv = req->conn->srv;
	struct name_list names = {.limit = read_reply_cap(srv)};
	struct zk_stat st;
	int rc = acl_check(req->conn, path, ZK_PERM_READ);
	size_t start;
	int rv = 0;

	if (rc == ZK_ERR_OK)
		rc = store_get_children(srv->store, path, name_list_add, &names, &st);

	if (names.nomem)
		rc = ZK_ERR_SYSTEMERROR;
	else if (rc == ZK_ERR_OK && names.over)
		rc = name_list_refused(req, &names, two ? "getChildren2" : "getChildren", path);
	if (rc == ZK_ERR_OK && watch &&
	    (rv = watch_add(srv, &srv->child_watches, req->conn, path, WATCH_STANDARD)))
		rc = watch_error(rv);
	rv = 0;
	start = request_begin(req, req->xid, request_last_zxid(req->conn), rc);
	if (rc == ZK_ERR_OK && two) {
		struct jute_get_children2_response r2 = {.children = {names.n, names.items},
							 .stat = st};
		rv = jute_encode_get_children2_response(&req->reply, &r2);
	} else if (rc == ZK_ERR_OK) {
		struct jute_get_children_response r1 = {.children = {names.n, names.items}};
		rv = jute_encode_get_children_response(&req->reply, &r1);
	}
	free(names.items);
	request_end(req, start, rv);
}

/* The entries of @acl into @out (room for @n); with @mask the digest ids read "user:x", written
 * into @scratch (room for the ids' lengths + 2 per entry). */
static void read_acl_entries(const struct store_acl *acl, int32_t n, bool mask, char *scratch,
			     struct jute_acl *out)
{
	for (int32_t i = 0; i < n; i++) {
		const char *id = acl[i].id;
		size_t len = strlen(id);
		const char *colon = strchr(id, ':');

		out[i].perms = acl[i].perms;
		out[i].id.scheme.p = acl[i].scheme;
		out[i].id.scheme.len = (int32_t)strlen(acl[i].scheme);
		if (mask && colon != NULL && strcmp(acl[i].scheme, "digest") == 0) {
			len = (size_t)(colon - id);
			memcpy(scratch, id, len);
			memcpy(scratch + len, ":x", 2);
			id = scratch;
			len += 2;
			scratch += len;
		}
		out[i].id.id.p = id;
		out[i].id.id.len = (int32_t)len;
	}
}

/* getACL needs READ or ADMIN; without ADMIN the digest ids are shown as "user:x" (ZooKeeper
 * 3.8's FinalRequestProcessor), so their hashes cannot be attacked offline. */
static void request_get_acl(struct request *req, const char *path)
{
	struct jute_get_acl_response rsp = {0};
	const struct store_acl *acl = NULL;
	int32_t n = 0;
	int rc = acl_check(req->conn, path, ZK_PERM_READ | ZK_PERM_ADMIN);
	size_t start, room = 0;
	char *scratch = NULL;
	int rv = 0;

	if (rc == ZK_ERR_OK)
		rc = store_get_acl(req->conn->srv->store, path, &acl, &n, &rsp.stat);
	for (int32_t i = 0; rc == ZK_ERR_OK && i < n; i++)
		room += strlen(acl[i].id) + 2;
	start = request_begin(req, req->xid, request_last_zxid(req->conn), rc);
	if (rc == ZK_ERR_OK) {
		rsp.acl.count = n;
		rsp.acl.acls = calloc((size_t)n + 1, sizeof(*rsp.acl.acls));
		scratch = malloc(room + 1);
		rv = rsp.acl.acls == NULL || scratch == NULL ? -ENOMEM : 0;
		if (rv == 0) {
			read_acl_entries(acl, n, !acl_permits(req->conn, acl, n, ZK_PERM_ADMIN),
					 scratch, rsp.acl.acls);
			rv = jute_encode_get_acl_response(&req->reply, &rsp);
		}
		free(rsp.acl.acls);
		free(scratch);
	}
	request_end(req, start, rv);
}

static void request_get_ephemerals(struct request *req, const char *prefix)
{
	struct conn *conn = req->conn;
	struct name_list names = {.limit = read_reply_cap(conn->srv)};
	int64_t sid = conn->session ? conn->session->id : 0;
	size_t start;
	int rc = ZK_ERR_OK, rv;

	store_get_ephemerals(conn->srv->store, sid, prefix, name_list_add_copy, &names);
	if (names.nomem)
		rc = ZK_ERR_SYSTEMERROR;
	else if (names.over)
		rc = name_list_refused(req, &names, "getEphemerals", prefix);
	start = request_begin(req, req->xid, request_last_zxid(conn), rc);
	if (rc != ZK_ERR_OK) {
		rv = 0;
	} else {
		struct jute_get_ephemerals_response rsp = {.ephemerals = {names.n, names.items}};
		rv = jute_encode_get_ephemerals_response(&req->reply, &rsp);
	}
	for (int32_t i = 0; i < names.n; i++)
		free((char *)names.items[i].p);
	free(names.items);
	request_end(req, start, rv);
}

static void request_count_children(struct request *req, const char *path)
{
	struct jute_get_all_children_number_response rsp = {0};
	int rc = acl_check(req->conn, path, ZK_PERM_READ);
	size_t start;

	if (rc == ZK_ERR_OK)
		rc = store_count_all_children(req->conn->srv->store, path, &rsp.total_number);
	start = request_begin(req, req->xid, request_last_zxid(req->conn), rc);

	request_end(req, start,
		    rc == ZK_ERR_OK
			    ? jute_encode_get_all_children_number_response(&req->reply, &rsp)
			    : 0);
}

/* whoAmI: the connection's ids as ZooKeeper lists them: ("ip", address) and one per auth. */
static void request_who_am_i(struct request *req)
{
	struct conn *conn = req->conn;
	struct jute_client_info items[32];
	struct jute_who_am_i_response rsp = {.client_info = {0, items}};
	size_t start;

	items[rsp.client_info.count++] = (struct jute_client_info){
		.auth_scheme = {"ip", 2}, .user = {conn->ip, (int32_t)strlen(conn->ip)}};
	for (struct conn_auth *a = conn->auth; a != NULL && rsp.client_info.count < 32; a = a->next)
		items[rsp.client_info.count++] = (struct jute_client_info){
			.auth_scheme = {a->scheme, (int32_t)strlen(a->scheme)},
			.user = {a->user, (int32_t)strlen(a->user)}};
	start = request_begin(req, req->xid, request_last_zxid(conn), ZK_ERR_OK);
	request_end(req, start, jute_encode_who_am_i_response(&req->reply, &rsp));
}

/* One op of a multiRead into @res (children/data borrowed from the store until encoded). */
static void request_multi_read_op(struct zkfsd *srv, struct conn *conn,
				  const struct jute_multi_op *op, struct jute_multi_result *res,
				  struct name_list *names)
{
	const struct jute_str *p = op->type == ZK_OP_GET_DATA ? &op->u.get_data.path
							       : &op->u.get_children.path;
	bool watch = op->type == ZK_OP_GET_DATA ? op->u.get_data.watch : op->u.get_children.watch;
	char *path = request_has_nul(p) ? NULL : request_path(p);
	int rc;

	memset(res, 0, sizeof(*res));
	if (path == NULL) {
		res->type = ZK_OP_ERROR;
		res->err = ZK_ERR_BADARGUMENTS;
		return;
	}
	rc = acl_check(conn, path, ZK_PERM_READ);
	if (rc != ZK_ERR_OK) {
		/* NoNode or NoAuth: an error result for this op. */
	} else if (op->type == ZK_OP_GET_DATA) {
		rc = store_get_data(srv->store, path, &res->data.p, &res->data.len, &res->stat);
		if (rc == ZK_ERR_OK && watch)
			watch_add(srv, &srv->data_watches, conn, path, WATCH_STANDARD);
	} else {
		rc = store_get_children(srv->store, path, name_list_add, names, NULL);
		res->children.count = names->n;
		res->children.items = names->items;
		if (rc == ZK_ERR_OK && watch)
			watch_add(srv, &srv->child_watches, conn, path, WATCH_STANDARD);
	}
	res->type = rc == ZK_ERR_OK ? op->type : ZK_OP_ERROR;
	res->err = rc;
	zk_free(path);
}

/* Bytes @res adds to a multiRead reply (MultiHeader, then the result record). */
static uint64_t request_multi_result_size(const struct jute_multi_result *res)
{
	uint64_t size = 9 + 4; /* MultiHeader; an ErrorResult's err. */

	if (res->type == ZK_OP_GET_DATA)
		size += 4 + (uint64_t)(res->data.len > 0 ? res->data.len : 0) + 68; /* + Stat. */
	for (int32_t i = 0; res->type == ZK_OP_GET_CHILDREN && i < res->children.count; i++)
		size += 4 + (uint64_t)res->children.items[i].len;
	return size;
}

/* The ops of a multiRead into @res until the reply would pass zkfsd.maxReplyBytes (by default
 * jute.maxbuffer: no client reads a bigger frame). Returns ZK_ERR_OK or MARSHALLINGERROR. */
static int request_multi_read_ops(struct request *req, struct jute_multi_result *res,
				  struct name_list *names)
{
	struct zkfsd *srv = req->conn->srv;
	uint64_t size = 0, cap = read_reply_cap(srv);

	for (int32_t i = 0; i < req->jr.n_ops; i++) {
		request_multi_read_op(srv, req->conn, &req->jr.ops[i], &res[i], &names[i]);
		size += request_multi_result_size(&res[i]);
		if (size > cap) {
			server_refuse(srv, ZKFSD_REFUSED_REPLY_BYTES,
				      "%s:%d: multiRead of %d ops refused: its reply passes %" PRIu64
				      " bytes at op %d (zkfsd.maxReplyBytes)",
				      req->conn->ip, req->conn->port, req->jr.n_ops, cap, i);
			return ZK_ERR_MARSHALLINGERROR;
		}
	}
	return ZK_ERR_OK;
}

static void request_multi_read(struct request *req)
{
	int32_t n = req->jr.n_ops;
	struct jute_multi_result *res = calloc((size_t)n + 1, sizeof(*res));
	struct name_list *names = calloc((size_t)n + 1, sizeof(*names));
	size_t start;
	int rv = -ENOMEM, rc = ZK_ERR_OK;

	if (res != NULL && names != NULL)
		rc = request_multi_read_ops(req, res, names);
	start = request_begin(req, req->xid, request_last_zxid(req->conn), rc);
	if (res != NULL && names != NULL)
		rv = rc == ZK_ERR_OK ? jute_encode_multi_response(&req->reply, res, n) : 0;
	for (int32_t i = 0; names != NULL && i < n; i++)
		free(names[i].items);
	free(names);
	free(res);
	request_end(req, start, rv);
}

static void request_set_watches(struct request *req)
{
	const struct jute_request *jr = &req->jr;
	struct jute_set_watches2 sw = {0};
	int rc = ZK_ERR_OK, rv;
	size_t start;

	if (jr->hdr.type == ZK_OP_SET_WATCHES) {
		sw.relative_zxid = jr->u.set_watches.relative_zxid;
		sw.data_watches = jr->u.set_watches.data_watches;
		sw.exist_watches = jr->u.set_watches.exist_watches;
		sw.child_watches = jr->u.set_watches.child_watches;
	} else {
		sw = jr->u.set_watches2;
	}
	/* Events for missed changes are appended to conn->out now: before this reply. */
	rv = watch_set(req->conn->srv, req->conn, &sw);
	if (rv != 0)
		rc = watch_error(rv);
	start = request_begin(req, req->xid, request_last_zxid(req->conn), rc);
	request_end(req, start, 0);
}

/* addWatch: ZooKeeper puts both modes in both tables (a recursive watch is skipped for
 * NodeChildrenChanged, but checkWatches/removeWatches of type Children find it). A bad mode
 * fails inside ZooKeeper as an IllegalArgumentException: MarshallingError. Success carries
 * an ErrorResponse body {err 0} (FinalRequestProcessor): the Java client reads one and drops
 * the connection when it is missing. */
static void request_add_watch(struct request *req, const char *path)
{
	struct zkfsd *srv = req->conn->srv;
	int32_t mode = req->jr.u.add_watch.mode;
	int kind = mode == ZK_ADD_WATCH_PERSISTENT ? WATCH_PERSISTENT : WATCH_RECURSIVE;
	struct jute_error_response rsp = {.err = ZK_ERR_OK};
	int rc = ZK_ERR_OK, rv;
	size_t start;

	if (mode != ZK_ADD_WATCH_PERSISTENT && mode != ZK_ADD_WATCH_PERSISTENT_RECURSIVE)
		rc = ZK_ERR_MARSHALLINGERROR;
	else if ((rv = watch_add(srv, &srv->data_watches, req->conn, path, kind)) != 0 ||
		 (rv = watch_add(srv, &srv->child_watches, req->conn, path, kind)) != 0)
		rc = watch_error(rv);
	if (rc != ZK_ERR_OK) {
		request_finish_err(req, rc, request_last_zxid(req->conn));
		return;
	}
	start = request_begin(req, req->xid, request_last_zxid(req->conn), ZK_ERR_OK);
	request_end(req, start,
		    start == JUTE_FRAME_NOMEM ? -ENOMEM
					      : jute_encode_error_response(&req->reply, &rsp));
}

static void request_watches(struct request *req, const char *path, bool dry_run)
{
	int32_t type = dry_run ? req->jr.u.check_watches.type : req->jr.u.remove_watches.type;
	bool found = watch_remove(req->conn->srv, req->conn, path, type, dry_run);

	request_finish_err(req, found ? ZK_ERR_OK : ZK_ERR_NOWATCHER,
			   request_last_zxid(req->conn));
}

/* The path field of a read request, or NULL when the request has none. */
static const struct jute_str *request_read_path(const struct jute_request *jr)
{
	switch (jr->hdr.type) {
	case ZK_OP_EXISTS:
		return &jr->u.exists.path;
	case ZK_OP_GET_DATA:
		return &jr->u.get_data.path;
	case ZK_OP_GET_CHILDREN:
		return &jr->u.get_children.path;
	case ZK_OP_GET_CHILDREN2:
		return &jr->u.get_children2.path;
	case ZK_OP_GET_ACL:
		return &jr->u.get_acl.path;
	case ZK_OP_GET_EPHEMERALS:
		return &jr->u.get_ephemerals.prefix_path;
	case ZK_OP_GET_ALL_CHILDREN_NUMBER:
		return &jr->u.get_all_children_number.path;
	case ZK_OP_ADD_WATCH:
		return &jr->u.add_watch.path;
	case ZK_OP_REMOVE_WATCHES:
		return &jr->u.remove_watches.path;
	case ZK_OP_CHECK_WATCHES:
		return &jr->u.check_watches.path;
	default:
		return NULL;
	}
}

/* Reads that name a path. */
static void request_run_path_read(struct request *req, const char *path)
{
	const struct jute_request *jr = &req->jr;

	switch (jr->hdr.type) {
	case ZK_OP_EXISTS:
		request_exists(req, path, jr->u.exists.watch);
		break;
	case ZK_OP_GET_DATA:
		request_get_data(req, path, jr->u.get_data.watch);
		break;
	case ZK_OP_GET_CHILDREN:
		request_get_children(req, path, jr->u.get_children.watch, false);
		break;
	case ZK_OP_GET_CHILDREN2:
		request_get_children(req, path, jr->u.get_children2.watch, true);
		break;
	case ZK_OP_GET_ACL:
		request_get_acl(req, path);
		break;
	case ZK_OP_GET_EPHEMERALS:
		request_get_ephemerals(req, path);
		break;
	case ZK_OP_GET_ALL_CHILDREN_NUMBER:
		request_count_children(req, path);
		break;
	case ZK_OP_ADD_WATCH:
		request_add_watch(req, path);
		break;
	case ZK_OP_REMOVE_WATCHES:
		request_watches(req, path, false);
		break;
	default:
		request_watches(req, path, true);
	}
}

void read_run(struct request *req)
{
	const struct jute_str *p = request_read_path(&req->jr);
	int64_t zxid = request_last_zxid(req->conn);
	char *path;

	switch (req->type) {
	case ZK_OP_PING:
		request_finish_err(req, ZK_ERR_OK, zxid);
		return;
	case ZK_OP_WHO_AM_I:
		request_who_am_i(req);
		return;
	case ZK_OP_MULTI_READ:
		request_multi_read(req);
		return;
	case ZK_OP_SET_WATCHES:
	case ZK_OP_SET_WATCHES2:
		request_set_watches(req);
		return;
	}
	if (p == NULL) {
		request_finish_err(req, ZK_ERR_UNIMPLEMENTED, zxid);
		req->close_after = true;
		return;
	}
	if (p->len < 0) {
		/* A null path: ZooKeeper fails on it inside the processor (MarshallingError). */
		zk_log_warn("null path in %s (xid %d) from %s:%d: MarshallingError",
			    jute_op_name(req->type), req->xid, req->conn->ip, req->conn->port);
		request_finish_err(req, ZK_ERR_MARSHALLINGERROR, zxid);
		return;
	}
	/* ZooKeeper refuses a NUL in exists' path only; for other reads such a path just does
	 * not exist. "" is the root (DataTree keeps the root under "" too). */
	if (request_has_nul(p)) {
		request_finish_err(req, req->type == ZK_OP_EXISTS ? ZK_ERR_BADARGUMENTS
								 : ZK_ERR_NONODE, zxid);
		return;
	}
	path = p->len == 0 ? jute_str_dup(&(struct jute_str){"/", 1}) : request_path(p);
	if (path == NULL) {
		request_finish_err(req, ZK_ERR_SYSTEMERROR, zxid);
		return;
	}
	request_run_path_read(req, path);
	zk_free(path);
}
