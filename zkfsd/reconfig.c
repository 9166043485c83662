/* reconfig: ZooKeeper's incremental reconfig (joiningServers / leavingServers) on top of
 * repl_reconfig, and the text of /zookeeper/config.
 *
 * A reconfig request becomes a list of membership changes (a joining server that is not a
 * member is added, as voter or observer per its role; a member whose role differs is switched;
 * a leaving id is removed), run one at a time through repl_reconfig, each starting when the
 * previous one committed. The answer is /zookeeper/config's data and stat, as ZooKeeper's,
 * given once this server holds the new configuration (through a follower too).
 * A standalone server refuses with ReconfigDisabled (ZooKeeper's answer with its default
 * reconfigEnabled=false); so does a server configured with reconfigEnabled=false. The
 * non-incremental form (newMembers) is not supported: Unimplemented.
 *
 * Who may (ZooKeeper 3.8's PrepRequestProcessor): WRITE on /zookeeper/config, whose ACL is
 * world:anyone READ, so only the super user or skipACL=yes; then the expected configuration
 * version (fromConfig, -1 any) must be the current one, else BadVersion. Judged by
 * reconfig_allowed on the leader for every change, with the client's ids that travel with a
 * forwarded change, and first on the server the client is connected to (so a request that
 * changes nothing is refused alike).
 *
 * /zookeeper/config: in an ensemble its data is made from the current Raft configuration
 * (repl_members) whenever it is read, one "server.N=host:raft_port:peer_port:role[;addr:port]"
 * line per member, sorted by id. The client address comes from the membership (the joining
 * spec's client part travels in the configuration entry, so every server lists it, also after
 * a restart or a snapshot install); a member whose entry predates that (a log written before
 * the client part was replicated) gets the one of our zoo.cfg's line, if any. The last line is
 * ZooKeeper's "version=<hex zxid of the configuration>": the Raft index of the configuration
 * entry (repl_config_index), no newline after it. The node's stat is the store's. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "common/zk_log.h"
#include "zkfsd/zkfsd_int.h"

struct reconfig_change {
	enum repl_change_op op;	  /* What repl_reconfig does. */
	struct config_server srv; /* Owned strings. */
};

struct reconfig_job {
	struct reconfig_change *ch; /* Owned. */
	int n, next;		    /* Changes / the one in flight or next. */
};

void reconfig_job_free(struct reconfig_job *job)
{
	if (job == NULL)
		return;
	for (int i = 0; i < job->n; i++)
		config_server_close(&job->ch[i].srv);
	free(job->ch);
	free(job);
}

/* ---- /zookeeper/config ------------------------------------------------------------------- */

struct reconfig_members {
	struct repl_server *v; /* Copies (host and client_address owned). */
	int n, cap;
};

static void reconfig_member(void *ctx, const struct repl_server *srv)
{
	struct reconfig_members *m = ctx;
	struct repl_server *copy;

	if (m->n == m->cap) {
		int cap = m->cap ? m->cap * 2 : 8;
		struct repl_server *v = realloc(m->v, sizeof(*v) * (size_t)cap);

		if (v == NULL)
			return;
		m->v = v;
		m->cap = cap;
	}
	copy = &m->v[m->n];
	*copy = *srv;
	copy->host = strdup(srv->host);
	copy->client_address = srv->client_port != 0 ? strdup(srv->client_address) : NULL;
	if (copy->host != NULL && (srv->client_port == 0 || copy->client_address != NULL)) {
		m->n++;
		return;
	}
	free(copy->host);
	free(copy->client_address);
}

static int reconfig_by_id(const void *a, const void *b)
{
	const struct repl_server *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

/* Member @m's client part, or our zoo.cfg's for a member whose entry has none. */
static void reconfig_client_of(struct zkfsd *srv, const struct repl_server *m,
			       const char **address, uint16_t *port)
{
	*address = m->client_address;
	*port = m->client_port;
	for (int i = 0; *port == 0 && i < srv->cfg->n_servers; i++)
		if (srv->cfg->servers[i].id == m->id) {
			*address = srv->cfg->servers[i].client_address;
			*port = srv->cfg->servers[i].client_port;
		}
}

int reconfig_config_text(struct zkfsd *srv, struct zk_buf *out)
{
	struct reconfig_members m = {0};
	int rv = 0;

	repl_members(srv->repl, reconfig_member, &m);
	qsort(m.v, (size_t)m.n, sizeof(*m.v), reconfig_by_id);
	for (int i = 0; i < m.n && rv == 0; i++) {
		const char *client;
		uint16_t client_port;

		reconfig_client_of(srv, &m.v[i], &client, &client_port);
		rv = zk_buf_printf(out, "server.%" PRIu64 "=%s:%u:%u:%s", m.v[i].id, m.v[i].host,
				   m.v[i].raft_port, m.v[i].peer_port,
				   m.v[i].observer ? "observer" : "participant");
		if (rv == 0 && client_port != 0)
			rv = zk_buf_printf(out, ";%s:%u", client, client_port);
		if (rv == 0)
			rv = zk_buf_append_u8(out, '\n');
	}
	if (rv == 0)
		rv = zk_buf_printf(out, "version=%" PRIx64, repl_config_index(srv->repl));
	for (int i = 0; i < m.n; i++) {
		free(m.v[i].host);
		free(m.v[i].client_address);
	}
	free(m.v);
	return rv;
}

/* ---- The request --------------------------------------------------------------------------- */

static int32_t reconfig_errno_to_zk(int rv)
{
	switch (rv) {
	case -EBUSY:
		return ZK_ERR_RECONFIGINPROGRESS;
	case -EINVAL:
		return ZK_ERR_BADARGUMENTS;
	case -ENOTCONN:
		return ZK_ERR_NEWCONFIGNOQUORUM;
	case -EACCES:
		return ZK_ERR_NOAUTH;
	case -ESTALE:
		return ZK_ERR_BADVERSION;
	case -EPERM:
		return ZK_ERR_RECONFIGDISABLED;
	default:
		return ZK_ERR_SYSTEMERROR;
	}
}

struct reconfig_role {
	uint64_t id;	/* Looked for. */
	int found;	/* 0 not a member, 1 voter, 2 observer. */
};

static void reconfig_role_of(void *ctx, const struct repl_server *srv)
{
	struct reconfig_role *r = ctx;

	if (srv->id == r->id)
		r->found = srv->observer ? 2 : 1;
}

static int reconfig_push(struct reconfig_job *job, enum repl_change_op op,
			 struct config_server *srv)
{
	struct reconfig_change *ch = realloc(job->ch, sizeof(*ch) * (size_t)(job->n + 1));

	if (ch == NULL)
		return -ENOMEM;
	job->ch = ch;
	job->ch[job->n].op = op;
	job->ch[job->n].srv = *srv;
	job->n++;
	memset(srv, 0, sizeof(*srv));
	return 0;
}

/* One joining spec "server.N=..." (a comma-separated list item). */
static int reconfig_joining(struct zkfsd *srv, struct reconfig_job *job, const char *spec)
{
	struct config_server c;
	struct reconfig_role role;
	char err[256];
	int rv;

	if (config_parse_server_line(spec, &c, err, sizeof(err)) != 0) {
		zk_log_warn("reconfig: %s", err);
		return -EINVAL;
	}
	role = (struct reconfig_role){.id = c.id};
	repl_members(srv->repl, reconfig_role_of, &role);
	if (role.found == 0)
		rv = reconfig_push(job, REPL_ADD, &c);
	else if (role.found == 1 && c.observer)
		rv = reconfig_push(job, REPL_MAKE_OBSERVER, &c);
	else if (role.found == 2 && !c.observer)
		rv = reconfig_push(job, REPL_MAKE_VOTER, &c);
	else
		rv = 0; /* Already so. */
	config_server_close(&c);
	return rv;
}

static int reconfig_leaving(struct reconfig_job *job, const char *id_text)
{
	struct config_server c = {0};
	char *end;
	unsigned long long id = strtoull(id_text, &end, 10);

	if (*id_text == '\0' || *end != '\0' || id == 0) {
		zk_log_warn("reconfig: leaving server id '%s' is not a number", id_text);
		return -EINVAL;
	}
	c.id = id;
	return reconfig_push(job, REPL_REMOVE, &c);
}

/* Split @s (a jute string) at ',' and call @fn on each trimmed item. */
static int reconfig_each(struct zkfsd *srv, struct reconfig_job *job, const struct jute_str *s,
			 bool joining)
{
	char *copy, *save = NULL;
	int rv = 0;

	if (s->len <= 0)
		return 0;
	copy = strndup(s->p, (size_t)s->len);
	if (copy == NULL)
		return -ENOMEM;
	for (char *item = strtok_r(copy, ",\n", &save); item != NULL && rv == 0;
	     item = strtok_r(NULL, ",\n", &save)) {
		while (*item == ' ')
			item++;
		if (*item != '\0')
			rv = joining ? reconfig_joining(srv, job, item) : reconfig_leaving(job, item);
	}
	free(copy);
	return rv;
}

/* Answer with /zookeeper/config's data and stat (GetDataResponse). */
static void reconfig_answer(struct request *req)
{
	struct zkfsd *srv = req->conn->srv;
	struct jute_get_data_response rsp = {0};
	struct zk_buf text;
	size_t start;
	int rv;

	zk_buf_init(&text);
	rv = reconfig_config_text(srv, &text);
	store_exists(srv->store, "/zookeeper/config", &rsp.stat);
	rsp.stat.data_length = (int32_t)text.len;
	rsp.data.p = text.data;
	rsp.data.len = (int32_t)text.len;
	start = request_begin(req, req->xid, request_last_zxid(req->conn), ZK_ERR_OK);
	request_end(req, start, rv != 0 ? rv : jute_encode_get_data_response(&req->reply, &rsp));
	zk_buf_close(&text);
}

static void reconfig_step(struct request *req);

int reconfig_allowed(void *ctx, const struct repl_change_auth *auth)
{
	struct zkfsd *srv = ctx;
	const struct store_acl *acl;
	int32_t n;

	if (srv->cfg->n_servers == 0 || !srv->cfg->reconfig_enabled)
		return -EPERM;
	if (!srv->cfg->skip_acl &&
	    (store_get_acl(srv->store, "/zookeeper/config", &acl, &n, NULL) != ZK_ERR_OK ||
	     !store_acl_permits(acl, n, auth->ids, auth->n_ids, ZK_PERM_WRITE)))
		return -EACCES;
	if (auth->from_config != -1 &&
	    auth->from_config != (int64_t)repl_config_index(srv->repl))
		return -ESTALE;
	return 0;
}

static void reconfig_cb(struct repl_req *rreq, int status)
{
	struct request *req = rreq->data;
	struct conn *conn = req->conn;

	if (request_back_from_repl(req))
		return;
	if (status != 0) {
		zk_log_warn("reconfig change %d of %d failed: %d", req->reconfig->next + 1,
			    req->reconfig->n, status);
		request_finish_err(req, reconfig_errno_to_zk(status), request_last_zxid(conn));
	} else {
		req->reconfig->next++;
		reconfig_step(req);
	}
	conn_pump(conn, false);
	conn_mark_dirty(conn);
}

/* Start the next change, or answer when all are committed. */
static void reconfig_step(struct request *req)
{
	struct reconfig_job *job = req->reconfig;
	struct store_acl ids[ACL_MAX_IDS];
	struct repl_change_auth auth = {ids, acl_conn_ids(req->conn, ids, ACL_MAX_IDS), -1};
	struct reconfig_change *ch;
	struct repl_server rs;
	int rv;

	if (job->next == job->n) {
		reconfig_answer(req);
		return;
	}
	ch = &job->ch[job->next];
	rs = (struct repl_server){ch->srv.id,	       ch->srv.host,
				  ch->srv.raft_port,   ch->srv.peer_port,
				  ch->srv.observer,    ch->srv.client_address,
				  ch->srv.client_port};
	zk_log_info("reconfig: change %d of %d on server %" PRIu64, job->next + 1, job->n,
		    ch->srv.id);
	req->rreq.data = req;
	req->state = REQ_SUBMITTED;
	/* The version is the one the client expected before the first change. */
	if (job->next == 0)
		auth.from_config = req->jr.u.reconfig.cur_config_id;
	rv = repl_reconfig(req->conn->srv->repl, &req->rreq, ch->op, &rs, &auth, reconfig_cb);
	if (rv != 0)
		request_finish_err(req, reconfig_errno_to_zk(rv), request_last_zxid(req->conn));
	else
		req->in_repl = true;
}

void reconfig_start(struct request *req)
{
	struct zkfsd *srv = req->conn->srv;
	const struct jute_reconfig_request *rc = &req->jr.u.reconfig;
	int64_t zxid = request_last_zxid(req->conn);
	struct store_acl ids[ACL_MAX_IDS];
	struct repl_change_auth auth = {ids, acl_conn_ids(req->conn, ids, ACL_MAX_IDS),
					rc->cur_config_id};
	int rv = reconfig_allowed(srv, &auth);

	if (rv != 0) {
		zk_log_warn("reconfig from %s:%d refused: %s", req->conn->ip, req->conn->port,
			    zk_err_name(reconfig_errno_to_zk(rv)));
		request_finish_err(req, reconfig_errno_to_zk(rv), zxid);
		return;
	}
	if (rc->new_members.len > 0) {
		zk_log_warn("reconfig with newMembers (non-incremental) from %s: Unimplemented",
			    req->conn->ip);
		request_finish_err(req, ZK_ERR_UNIMPLEMENTED, zxid);
		return;
	}
	req->reconfig = calloc(1, sizeof(*req->reconfig));
	if (req->reconfig == NULL) {
		request_finish_err(req, ZK_ERR_SYSTEMERROR, zxid);
		return;
	}
	rv = reconfig_each(srv, req->reconfig, &rc->joining_servers, true);
	if (rv == 0)
		rv = reconfig_each(srv, req->reconfig, &rc->leaving_servers, false);
	if (rv != 0) {
		request_finish_err(req, rv == -ENOMEM ? ZK_ERR_SYSTEMERROR : ZK_ERR_BADARGUMENTS,
				   zxid);
		return;
	}
	reconfig_step(req);
}
