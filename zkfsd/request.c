/* request: decode client requests and answer them (ZooKeeper 3.8's PrepRequestProcessor and
 * FinalRequestProcessor, collapsed).
 *
 * Reads (exists, getData, getChildren[2], getACL, getEphemerals, getAllChildrenNumber,
 * multiRead, ping, setWatches[2], addWatch, removeWatches, checkWatches, whoAmI) are answered
 * from the local store when they reach the head of their connection's FIFO. Writes become
 * store transactions (session id, xid and the leader's clock fixed here) handed to repl; the
 * reply is built in the applied callback, after the store fired the watches, so an event
 * always precedes the reply showing its change. sync is a repl barrier.
 *
 * ZooKeeper's answers to odd input, kept here: an unknown opcode gets Unimplemented and the
 * connection is closed (UnimplementedRequestProcessor); a request body that does not parse gets
 * MarshallingError; a bad path in a write gets BadArguments; the ReplyHeader zxid of a read is
 * the last applied zxid, that of a write its own zxid. One difference: ZooKeeper logs a
 * rejected write (bad path) as an error txn that consumes a zxid; zkfsd answers it without one.
 * Auth packets are answered at once (ZooKeeper does not queue them either). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/random.h>

#include "common/zk_alloc.h"
#include "common/zk_log.h"
#include "zkfsd/zkfsd_int.h"

/* ---- Small helpers ------------------------------------------------------------------------ */

static int64_t request_wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t request_last_zxid(const struct conn *conn)
{
	return store_last_zxid(conn->srv->store);
}

bool request_is_read(int32_t type)
{
	switch (type) {
	case ZK_OP_CREATE:
	case ZK_OP_CREATE2:
	case ZK_OP_CREATE_CONTAINER:
	case ZK_OP_CREATE_TTL:
	case ZK_OP_DELETE:
	case ZK_OP_SET_DATA:
	case ZK_OP_SET_ACL:
	case ZK_OP_CHECK:
	case ZK_OP_MULTI:
	case ZK_OP_SYNC:
	case ZK_OP_CLOSE_SESSION:
	case ZK_OP_CREATE_SESSION:
		return false;
	default:
		return true;
	}
}

void request_free(struct request *req)
{
	jute_request_free(&req->jr);
	free(req->body);
	zk_buf_close(&req->reply);
	conn_unref(req->conn);
	free(req);
}

void request_release(struct request *req)
{
	if (req->in_repl)
		req->released = true;
	else
		request_free(req);
}

/* Start a reply frame in req->reply with its header. Returns the frame offset or
 * JUTE_FRAME_NOMEM. */
static size_t request_begin(struct request *req, int32_t xid, int64_t zxid, int32_t err)
{
	size_t start = jute_frame_begin(&req->reply);

	if (start == JUTE_FRAME_NOMEM || conn_reply_header(&req->reply, xid, zxid, err) != 0)
		return JUTE_FRAME_NOMEM;
	req->conn->last_zxid = zxid;
	return start;
}

/* The reply is encoded (@rv 0) or not: finish, or close the connection when out of memory. */
static void request_end(struct request *req, size_t start, int rv)
{
	if (start == JUTE_FRAME_NOMEM || rv != 0) {
		zk_buf_reset(&req->reply);
		req->close_after = true;
		zk_log_error("out of memory answering xid %d from %s", req->xid, req->conn->ip);
	} else {
		jute_frame_end(&req->reply, start);
	}
	req->state = REQ_DONE;
}

void request_finish_err(struct request *req, int32_t err, int64_t zxid)
{
	request_end(req, request_begin(req, req->xid, zxid, err), 0);
}

/* A NUL-terminated copy of a path, or NULL (out of memory). Paths with an embedded NUL are
 * refused by the callers first. */
static char *request_path(const struct jute_str *s)
{
	return jute_str_dup(s);
}

static bool request_has_nul(const struct jute_str *s)
{
	return s->len > 0 && memchr(s->p, '\0', (size_t)s->len) != NULL;
}

/* ---- Reads ------------------------------------------------------------------------------- */

struct name_list {
	struct jute_str *items; /* Borrowed names (store memory, valid until the next apply). */
	int32_t n, cap;		/* Used / allocated. */
	bool nomem;		/* An append failed. */
};

static void name_list_add(void *ctx, const char *name)
{
	struct name_list *l = ctx;

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
	l->items[l->n].len = (int32_t)strlen(name);
	l->n++;
}

/* Owned copies for getEphemerals (its callback's paths may be temporary). */
static void name_list_add_copy(void *ctx, const char *name)
{
	struct name_list *l = ctx;
	char *copy = strdup(name);

	if (copy == NULL) {
		l->nomem = true;
		return;
	}
	name_list_add(ctx, copy);
}

static void request_exists(struct request *req, const char *path, bool watch)
{
	struct zkfsd *srv = req->conn->srv;
	struct jute_exists_response rsp;
	int rc = store_exists(srv->store, path, &rsp.stat);
	size_t start;

	if (watch && watch_add(srv, &srv->data_watches, req->conn, path, WATCH_STANDARD) != 0)
		rc = ZK_ERR_SYSTEMERROR;
	start = request_begin(req, req->xid, request_last_zxid(req->conn), rc);
	request_end(req, start, rc == ZK_ERR_OK ? jute_encode_exists_response(&req->reply, &rsp) : 0);
}

static void request_get_data(struct request *req, const char *path, bool watch)
{
	struct zkfsd *srv = req->conn->srv;
	struct jute_get_data_response rsp;
	int32_t len;
	const uint8_t *data;
	int rc = store_get_data(srv->store, path, &data, &len, &rsp.stat);
	size_t start;

	if (rc == ZK_ERR_OK && watch &&
	    watch_add(srv, &srv->data_watches, req->conn, path, WATCH_STANDARD) != 0)
		rc = ZK_ERR_SYSTEMERROR;
	rsp.data.p = data;
	rsp.data.len = len;
	start = request_begin(req, req->xid, request_last_zxid(req->conn), rc);
	request_end(req, start,
		    rc == ZK_ERR_OK ? jute_encode_get_data_response(&req->reply, &rsp) : 0);
}

static void request_get_children(struct request *req, const char *path, bool watch, bool two)
{
	struct zkfsd *srv = req->conn->srv;
	struct name_list names = {0};
	struct zk_stat st;
	int rc = store_get_children(srv->store, path, name_list_add, &names, &st);
	size_t start;
	int rv = 0;

	if (names.nomem)
		rc = ZK_ERR_SYSTEMERROR;
	if (rc == ZK_ERR_OK && watch &&
	    watch_add(srv, &srv->child_watches, req->conn, path, WATCH_STANDARD) != 0)
		rc = ZK_ERR_SYSTEMERROR;
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

static void request_get_acl(struct request *req, const char *path)
{
	struct jute_get_acl_response rsp = {0};
	const struct store_acl *acl;
	int32_t n = 0;
	int rc = store_get_acl(req->conn->srv->store, path, &acl, &n, &rsp.stat);
	size_t start;
	int rv = 0;

	start = request_begin(req, req->xid, request_last_zxid(req->conn), rc);
	if (rc == ZK_ERR_OK) {
		rsp.acl.count = n;
		rsp.acl.acls = calloc((size_t)n + 1, sizeof(*rsp.acl.acls));
		rv = rsp.acl.acls == NULL ? -ENOMEM : 0;
		for (int32_t i = 0; rv == 0 && i < n; i++) {
			rsp.acl.acls[i].perms = acl[i].perms;
			rsp.acl.acls[i].id.scheme.p = acl[i].scheme;
			rsp.acl.acls[i].id.scheme.len = (int32_t)strlen(acl[i].scheme);
			rsp.acl.acls[i].id.id.p = acl[i].id;
			rsp.acl.acls[i].id.id.len = (int32_t)strlen(acl[i].id);
		}
		if (rv == 0)
			rv = jute_encode_get_acl_response(&req->reply, &rsp);
		free(rsp.acl.acls);
	}
	request_end(req, start, rv);
}

static void request_get_ephemerals(struct request *req, const char *prefix)
{
	struct conn *conn = req->conn;
	struct name_list names = {0};
	int64_t sid = conn->session ? conn->session->id : 0;
	size_t start;
	int rv;

	store_get_ephemerals(conn->srv->store, sid, prefix, name_list_add_copy, &names);
	start = request_begin(req, req->xid, request_last_zxid(conn),
			      names.nomem ? ZK_ERR_SYSTEMERROR : ZK_ERR_OK);
	if (names.nomem) {
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
	int rc = store_count_all_children(req->conn->srv->store, path, &rsp.total_number);
	size_t start = request_begin(req, req->xid, request_last_zxid(req->conn), rc);

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
	if (op->type == ZK_OP_GET_DATA) {
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

static void request_multi_read(struct request *req)
{
	struct zkfsd *srv = req->conn->srv;
	int32_t n = req->jr.n_ops;
	struct jute_multi_result *res = calloc((size_t)n + 1, sizeof(*res));
	struct name_list *names = calloc((size_t)n + 1, sizeof(*names));
	size_t start;
	int rv = -ENOMEM;

	start = request_begin(req, req->xid, request_last_zxid(req->conn), ZK_ERR_OK);
	if (res != NULL && names != NULL) {
		for (int32_t i = 0; i < n; i++)
			request_multi_read_op(srv, req->conn, &req->jr.ops[i], &res[i], &names[i]);
		rv = jute_encode_multi_response(&req->reply, res, n);
	}
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
	int rc = ZK_ERR_OK;
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
	if (watch_set(req->conn->srv, req->conn, &sw) != 0)
		rc = ZK_ERR_SYSTEMERROR;
	start = request_begin(req, req->xid, request_last_zxid(req->conn), rc);
	request_end(req, start, 0);
}

/* addWatch: ZooKeeper puts both modes in both tables (a recursive watch is skipped for
 * NodeChildrenChanged, but checkWatches/removeWatches of type Children find it). A bad mode
 * fails inside ZooKeeper as an IllegalArgumentException: MarshallingError. */
static void request_add_watch(struct request *req, const char *path)
{
	struct zkfsd *srv = req->conn->srv;
	int32_t mode = req->jr.u.add_watch.mode;
	int kind = mode == ZK_ADD_WATCH_PERSISTENT ? WATCH_PERSISTENT : WATCH_RECURSIVE;
	int rc = ZK_ERR_OK;

	if (mode != ZK_ADD_WATCH_PERSISTENT && mode != ZK_ADD_WATCH_PERSISTENT_RECURSIVE)
		rc = ZK_ERR_MARSHALLINGERROR;
	else if (watch_add(srv, &srv->data_watches, req->conn, path, kind) != 0 ||
		 watch_add(srv, &srv->child_watches, req->conn, path, kind) != 0)
		rc = ZK_ERR_SYSTEMERROR;
	request_finish_err(req, rc, request_last_zxid(req->conn));
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

void request_run_read(struct request *req)
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
	case ZK_OP_RECONFIG:
		/* As Apache ZooKeeper with its default reconfigEnabled=false. */
		request_finish_err(req, ZK_ERR_RECONFIGDISABLED, zxid);
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

/* ---- Writes: building transactions -------------------------------------------------------- */

/* Memory a txn under construction borrows (freed after repl_submit encoded it). */
struct txn_mem {
	void **ptrs;	/* Owned pointers (zk_free). */
	int n, cap;	/* Used / allocated. */
};

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

static void txn_mem_free(struct txn_mem *m)
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
	if ( jute_path_validate(s->p, (size_t)s->len, sequential) != 0)
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
		} else if (!acl_valid(scheme, id) || op->n_acl == room) {
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

/* A multi whose op @failed could not even be built: ZooKeeper's per-op results (OK before,
 * the op's code, RuntimeInconsistency after), no transaction. */
static void request_multi_local_fail(struct request *req, int32_t failed, int rc)
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

static void request_done_cb(struct repl_req *rreq, int status);

/* Fill @txn for a write request; on a local error answer @req and return it. */
static int request_build_txn(struct request *req, struct txn_mem *m, struct store_txn *txn)
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
			request_multi_local_fail(req, i, rc);
			return rc;
		}
	}
	return ZK_ERR_OK;
}

/* The error code of a header-only reply already built in req->reply. */
static int32_t request_last_err(const struct request *req)
{
	struct jute_reply_header h = {0};
	struct jute_in in;

	if (req->reply.len < 4)
		return ZK_ERR_OK;
	jute_in_init(&in, req->reply.data + 4, req->reply.len - 4);
	jute_decode_reply_header(&in, &h);
	return h.err;
}

static void request_submit_failed(struct request *req, int rv)
{
	zk_log_warn("cannot replicate %s from %s:%d: %s", jute_op_name(req->type), req->conn->ip,
		    req->conn->port, strerror(-rv));
	/* As a ZooKeeper server that lost its quorum: drop the connection, the client
	 * reconnects (possibly elsewhere) and learns the outcome from the tree. */
	req->state = REQ_DONE;
	req->close_after = true;
}

static void request_submit_write(struct request *req)
{
	struct store_txn txn = {0};
	struct txn_mem m = {0};
	int rv;

	if (request_build_txn(req, &m, &txn) != ZK_ERR_OK) {
		zk_log_info("%s (xid %d) from %s:%d refused before replication: %s",
			    jute_op_name(req->type), req->xid, req->conn->ip, req->conn->port,
			    zk_err_name(request_last_err(req)));
		txn_mem_free(&m);
		return;
	}
	req->rreq.data = req;
	req->state = REQ_SUBMITTED;
	rv = repl_submit(req->conn->srv->repl, &req->rreq, &txn, request_done_cb);
	txn_mem_free(&m);
	if (rv != 0)
		request_submit_failed(req, rv);
	else
		req->in_repl = true;
}

/* ---- Handshake ---------------------------------------------------------------------------- */

static void request_connect_reply(struct request *req, int32_t timeout, int64_t id,
				  const uint8_t *passwd)
{
	static const uint8_t zero[ZK_SESSION_PASSWD_LEN];
	struct jute_connect_response rsp = {
		.timeout = timeout,
		.session_id = id,
		.passwd = {passwd ? passwd : zero, ZK_SESSION_PASSWD_LEN},
		.omit_read_only = req->conn->omit_read_only,
	};
	size_t start = jute_frame_begin(&req->reply);

	request_end(req, start,
		    start == JUTE_FRAME_NOMEM ? -ENOMEM
					      : jute_encode_connect_response(&req->reply, &rsp));
}

/* The session is ours: bind it to this connection (closing a previous one). */
static void request_attach(struct request *req, struct session *s, int32_t timeout)
{
	struct conn *conn = req->conn;
	uint8_t passwd[ZK_SESSION_PASSWD_LEN];

	if (s->conn != NULL && s->conn != conn) {
		struct conn *old = s->conn;

		old->session = NULL;
		s->conn = NULL;
		conn_close(old, "session moved to a new connection");
	}
	s->conn = conn;
	s->timeout_ms = timeout;
	conn->session = s;
	conn->state = CONN_READY;
	tracker_touch(conn->srv, s);
	store_session_get(conn->srv->store, s->id, NULL, passwd);
	request_connect_reply(req, timeout, s->id, passwd);
	zk_log_debug("session 0x%llx on %s:%d, timeout %d", (unsigned long long)s->id, conn->ip,
		     conn->port, timeout);
}

/* A refused handshake: ZooKeeper answers timeout 0 / session 0, then closes. */
static void request_connect_refuse(struct request *req, const char *why)
{
	zk_log_info("refused session 0x%llx from %s:%d: %s",
		    (unsigned long long)req->connect.session_id, req->conn->ip, req->conn->port,
		    why);
	request_connect_reply(req, 0, 0, NULL);
	req->close_after = true;
}

static void request_reattach(struct request *req, int32_t timeout)
{
	struct zkfsd *srv = req->conn->srv;
	uint8_t passwd[ZK_SESSION_PASSWD_LEN];
	struct session *s = tracker_find(srv, req->connect.session_id);

	/* ZooKeeper closes the session's current connection before it checks the password. */
	if (s != NULL && s->conn != NULL && s->conn != req->conn) {
		struct conn *old = s->conn;

		old->session = NULL;
		s->conn = NULL;
		conn_close(old, "the session reconnected on another connection");
	}
	if (s == NULL || s->closing ||
	    store_session_get(srv->store, s->id, NULL, passwd) != ZK_ERR_OK) {
		request_connect_refuse(req, "session expired");
		return;
	}
	if (req->connect.passwd.len != ZK_SESSION_PASSWD_LEN ||
	    memcmp(passwd, req->connect.passwd.p, ZK_SESSION_PASSWD_LEN) != 0) {
		request_connect_refuse(req, "wrong password");
		return;
	}
	request_attach(req, s, timeout);
}

static void request_create_session(struct request *req, int32_t timeout)
{
	struct zkfsd *srv = req->conn->srv;
	struct store_txn txn = {.type = ZK_OP_CREATE_SESSION, .xid = 0};
	int rv;

	txn.session_id = tracker_next_id(srv);
	txn.time_ms = request_wall_ms();
	txn.session_timeout_ms = timeout;
	if (getrandom(txn.passwd, sizeof(txn.passwd), 0) != (ssize_t)sizeof(txn.passwd)) {
		request_submit_failed(req, -EIO);
		return;
	}
	req->connect.session_id = txn.session_id;
	req->rreq.data = req;
	req->state = REQ_SUBMITTED;
	rv = repl_submit(srv->repl, &req->rreq, &txn, request_done_cb);
	if (rv != 0)
		request_submit_failed(req, rv);
	else
		req->in_repl = true;
}

void request_submit(struct request *req)
{
	struct conn *conn = req->conn;
	int32_t timeout = tracker_negotiate(conn->srv->cfg, req->connect.timeout);
	int rv;

	switch (req->type) {
	case ZK_OP_CREATE_SESSION:
		if (req->connect.session_id != 0)
			request_reattach(req, timeout);
		else
			request_create_session(req, timeout);
		return;
	case ZK_OP_SYNC:
		req->rreq.data = req;
		req->state = REQ_SUBMITTED;
		rv = repl_barrier(conn->srv->repl, &req->rreq, request_done_cb);
		if (rv != 0)
			request_submit_failed(req, rv);
		else
			req->in_repl = true;
		return;
	default:
		request_submit_write(req);
	}
}

/* repl finished a request of ours (after applied_cb when @status is 0). */
static void request_done_cb(struct repl_req *rreq, int status)
{
	struct request *req = rreq->data;
	struct conn *conn = req->conn;

	req->in_repl = false;
	if (req->released) {
		request_free(req);
		return;
	}
	if (req->state == REQ_SUBMITTED) {
		if (status != 0) {
			request_submit_failed(req, status);
		} else if (req->type == ZK_OP_SYNC) {
			struct jute_sync_response rsp = {.path = req->jr.u.sync.path};
			size_t start =
				request_begin(req, req->xid, request_last_zxid(conn), ZK_ERR_OK);

			request_end(req, start, jute_encode_sync_response(&req->reply, &rsp));
		} else if (req->type == ZK_OP_CREATE_SESSION) {
			struct session *s = tracker_find(conn->srv, req->connect.session_id);

			if (s == NULL)
				request_connect_refuse(req, "session vanished at creation");
			else
				request_attach(req, s, s->timeout_ms);
		} else {
			zk_log_error("write xid %d applied but not answered", req->xid);
			request_finish_err(req, ZK_ERR_SYSTEMERROR, request_last_zxid(conn));
		}
	}
	conn_pump(conn, false);
	conn_mark_dirty(conn);
}

/* ---- Applied transactions ------------------------------------------------------------------ */

/* The submitted request of session @id with @xid on the connection holding the session. */
static struct request *request_find(struct zkfsd *srv, int64_t id, int32_t xid)
{
	struct session *s = tracker_find(srv, id);

	if (s == NULL || s->conn == NULL)
		return NULL;
	for (struct request *r = s->conn->head; r != NULL; r = r->next)
		if (r->state == REQ_SUBMITTED && r->xid == xid && r->type != ZK_OP_CREATE_SESSION &&
		    r->type != ZK_OP_SYNC)
			return r;
	return NULL;
}

/* ZooKeeper 3.8 answers a create2 inside a multi like a plain create (its multi turns create2
 * into a CreateTxn of type create); container and TTL creates keep their stat. */
static int32_t request_multi_result_type(const struct request *req, int32_t i, int32_t type)
{
	if (type == ZK_OP_CREATE2 && i < req->jr.n_ops && req->jr.ops[i].type == ZK_OP_CREATE2)
		return ZK_OP_CREATE;
	return type;
}

static int request_encode_multi(struct request *req, const struct store_result *res)
{
	struct jute_multi_result *mr = calloc((size_t)res->n_ops + 1, sizeof(*mr));
	int rv;

	if (mr == NULL)
		return -ENOMEM;
	for (int32_t i = 0; i < res->n_ops; i++) {
		const struct store_op_result *o = &res->ops[i];

		mr[i].type = request_multi_result_type(req, i, o->type);
		mr[i].err = o->err;
		mr[i].stat = o->stat;
		if (o->path != NULL) {
			mr[i].path.p = o->path;
			mr[i].path.len = (int32_t)strlen(o->path);
		}
	}
	rv = jute_encode_multi_response(&req->reply, mr, res->n_ops);
	free(mr);
	return rv;
}

/* The body of a successful single write's reply. */
static int request_encode_write(struct request *req, const struct store_result *res)
{
	struct jute_str path = {res->path, res->path ? (int32_t)strlen(res->path) : -1};

	switch (req->type) {
	case ZK_OP_CREATE: {
		struct jute_create_response r = {.path = path};
		return jute_encode_create_response(&req->reply, &r);
	}
	case ZK_OP_CREATE2:
	case ZK_OP_CREATE_CONTAINER:
	case ZK_OP_CREATE_TTL: {
		struct jute_create2_response r = {.path = path, .stat = res->stat};
		return jute_encode_create2_response(&req->reply, &r);
	}
	case ZK_OP_SET_DATA:
	case ZK_OP_SET_ACL: {
		struct jute_set_data_response r = {.stat = res->stat};
		return jute_encode_set_data_response(&req->reply, &r);
	}
	default:
		return 0;
	}
}

static void request_answer_write(struct request *req, int64_t zxid,
				 const struct store_result *res)
{
	bool multi = req->type == ZK_OP_MULTI;
	int32_t err = multi ? ZK_ERR_OK : res->err;
	size_t start = request_begin(req, req->xid, zxid, err);
	int rv = 0;

	if (start != JUTE_FRAME_NOMEM && multi)
		rv = request_encode_multi(req, res);
	else if (start != JUTE_FRAME_NOMEM && err == ZK_ERR_OK)
		rv = request_encode_write(req, res);
	request_end(req, start, rv);
	if (req->type == ZK_OP_CLOSE_SESSION)
		req->close_after = true;
}

void request_applied(struct zkfsd *srv, int64_t zxid, const struct store_txn *txn,
		     const struct store_result *res)
{
	struct request *req = NULL;

	if (txn->type == ZK_OP_CREATE_SESSION) {
		if (res->err == ZK_ERR_OK && tracker_add(srv, txn->session_id,
							 txn->session_timeout_ms) == NULL)
			zk_log_error("out of memory tracking session 0x%llx",
				     (unsigned long long)txn->session_id);
		return;
	}
	if (txn->session_id != 0)
		req = request_find(srv, txn->session_id, txn->xid);
	if (req != NULL) {
		request_answer_write(req, zxid, res);
		if (txn->type == ZK_OP_CLOSE_SESSION && req->conn->session != NULL) {
			req->conn->session->conn = NULL;
			req->conn->session = NULL;
		}
		conn_pump(req->conn, false);
	}
	if (txn->type == ZK_OP_CLOSE_SESSION)
		tracker_remove(srv, txn->session_id);
}

/* ---- Arrival ------------------------------------------------------------------------------ */

static struct request *request_new(struct conn *conn, const uint8_t *body, size_t len)
{
	struct request *req = calloc(1, sizeof(*req));

	if (req == NULL)
		return NULL;
	req->body = malloc(len + 1);
	if (req->body == NULL) {
		free(req);
		return NULL;
	}
	memcpy(req->body, body, len);
	req->len = len;
	req->conn = conn;
	req->start_ms = uv_now(conn->srv->loop);
	zk_buf_init(&req->reply);
	conn->refs++;
	return req;
}

static void request_enqueue(struct conn *conn, struct request *req)
{
	if (conn->tail != NULL)
		conn->tail->next = req;
	else
		conn->head = req;
	conn->tail = req;
	conn->outstanding++;
	conn->srv->outstanding++;
}

void request_connect(struct conn *conn, const uint8_t *body, size_t len)
{
	struct zkfsd *srv = conn->srv;
	struct jute_connect_request cr;
	struct request *req;

	if (jute_decode_connect(body, len, &cr) != 0) {
		zk_log_hex(ZK_LOG_LEVEL_WARN, __FILE__, __LINE__, body, len,
			   "no valid ConnectRequest (request before the handshake?) from %s:%d, "
			   "closing; body:", conn->ip, conn->port);
		srv->stats.bad_frames++;
		conn_close(conn, NULL);
		return;
	}
	if (cr.last_zxid_seen > store_last_zxid(srv->store)) {
		zk_log_warn("refused connection from %s:%d: client has seen zxid 0x%llx, our last "
			    "zxid is 0x%llx", conn->ip, conn->port,
			    (unsigned long long)cr.last_zxid_seen,
			    (unsigned long long)store_last_zxid(srv->store));
		conn_close(conn, NULL);
		return;
	}
	req = request_new(conn, body, len);
	if (req == NULL) {
		conn_close(conn, "out of memory");
		return;
	}
	/* Re-decode from the owned copy so the borrowed password points into it. */
	jute_decode_connect(req->body, len, &req->connect);
	req->type = ZK_OP_CREATE_SESSION;
	conn->omit_read_only = !cr.has_read_only;
	conn->state = CONN_HANDSHAKE;
	request_enqueue(conn, req);
	conn_mark_dirty(conn);
}

/* auth packets: answered at once, as ZooKeeper does (digest and ip are its default schemes;
 * anything else is AuthFailed and a closed connection). ACLs are not enforced yet. */
static void request_auth(struct conn *conn, const struct jute_request *jr)
{
	const struct jute_auth_packet *a = &jr->u.auth;
	bool known = jute_str_eq(&a->scheme, "digest") || jute_str_eq(&a->scheme, "ip");
	struct conn_auth *ca = NULL;
	size_t start;

	if (known && jute_str_eq(&a->scheme, "digest") && a->auth.len > 0) {
		const char *colon = memchr(a->auth.p, ':', (size_t)a->auth.len);
		size_t ulen = colon ? (size_t)(colon - (const char *)a->auth.p) : (size_t)a->auth.len;

		ca = calloc(1, sizeof(*ca));
		if (ca != NULL) {
			ca->scheme = strdup("digest");
			ca->user = strndup((const char *)a->auth.p, ulen);
			ca->id = acl_digest_id(a->auth.p, (size_t)a->auth.len);
		}
		if (ca == NULL || ca->scheme == NULL || ca->user == NULL || ca->id == NULL) {
			known = false; /* Out of memory: refuse rather than half-record. */
			if (ca != NULL) {
				free(ca->scheme);
				free(ca->user);
				free(ca->id);
				free(ca);
			}
		} else {
			ca->next = conn->auth;
			conn->auth = ca;
		}
	}
	if (!known)
		zk_log_warn("auth with unknown scheme from %s:%d: AuthFailed, closing", conn->ip,
			    conn->port);
	start = jute_frame_begin(&conn->out);
	if (start != JUTE_FRAME_NOMEM &&
	    conn_reply_header(&conn->out, ZK_XID_AUTH, 0,
			      known ? ZK_ERR_OK : ZK_ERR_AUTHFAILED) == 0)
		jute_frame_end(&conn->out, start);
	conn->sent++;
	conn->srv->stats.packets_sent++;
	if (!known)
		conn->close_after_flush = true;
	conn_mark_dirty(conn);
}

/* A request that did not decode: MarshallingError (or Unimplemented + close). */
static void request_bad(struct request *req, int rv, const uint8_t *body, size_t len)
{
	struct conn *conn = req->conn;

	if (rv == -ENOTSUP && req->type == ZK_OP_CREATE_SESSION && conn->session != NULL) {
		/* ZooKeeper runs a createSession sent after the handshake through its pipeline and
		 * answers with a ConnectResponse, keeping the connection; we answer with the
		 * current session's (no new session is made). */
		uint8_t passwd[ZK_SESSION_PASSWD_LEN] = {0};

		zk_log_warn("createSession after the handshake from %s:%d: answered with the "
			    "current session", conn->ip, conn->port);
		store_session_get(conn->srv->store, conn->session->id, NULL, passwd);
		request_connect_reply(req, conn->session->timeout_ms, conn->session->id, passwd);
		return;
	}
	if (rv == -ENOTSUP) {
		zk_log_warn("unknown opcode %d (xid %d) from %s:%d: Unimplemented, closing",
			    req->type, req->xid, conn->ip, conn->port);
		request_finish_err(req, ZK_ERR_UNIMPLEMENTED, -1);
		req->close_after = true;
		return;
	}
	conn->srv->stats.bad_frames++;
	zk_log_hex(ZK_LOG_LEVEL_WARN, __FILE__, __LINE__, body, len,
		   "malformed %s request (xid %d) from %s:%d: MarshallingError; body:",
		   jute_op_name(req->type), req->xid, conn->ip, conn->port);
	if (req->type == ZK_OP_MULTI_READ) {
		/* ZooKeeper still sends an (empty) MultiResponse after the header of a multiRead
		 * (answered by FinalRequestProcessor; a bad multi fails earlier, without one). */
		size_t start = request_begin(req, req->xid, request_last_zxid(conn),
					     ZK_ERR_MARSHALLINGERROR);

		request_end(req, start, start == JUTE_FRAME_NOMEM
						? -ENOMEM
						: jute_encode_multi_response(&req->reply, NULL, 0));
		return;
	}
	request_finish_err(req, rv == -ENOMEM ? ZK_ERR_SYSTEMERROR : ZK_ERR_MARSHALLINGERROR,
			   request_last_zxid(conn));
}

void request_received(struct conn *conn, const uint8_t *body, size_t len)
{
	struct jute_request_header hdr;
	struct jute_in in;
	struct request *req;
	int rv;

	jute_in_init(&in, body, len);
	if (jute_decode_request_header(&in, &hdr) != 0) {
		conn->srv->stats.bad_frames++;
		zk_log_hex(ZK_LOG_LEVEL_WARN, __FILE__, __LINE__, body, len,
			   "frame without a RequestHeader from %s:%d, closing; body:", conn->ip,
			   conn->port);
		conn_close(conn, NULL);
		return;
	}
	if (conn->session != NULL) {
		tracker_touch(conn->srv, conn->session);
		repl_session_touch(conn->srv->repl, conn->session->id);
	}
	req = request_new(conn, body, len);
	if (req == NULL) {
		conn_close(conn, "out of memory");
		return;
	}
	req->xid = hdr.xid;
	req->type = hdr.type;
	rv = jute_decode_request(req->body, len, &req->jr);
	if (rv == 0 && hdr.type == ZK_OP_AUTH) {
		request_auth(conn, &req->jr);
		request_free(req);
		return;
	}
	request_enqueue(conn, req);
	if (rv != 0)
		request_bad(req, rv, body, len);
	conn_pump(conn, true);
}
