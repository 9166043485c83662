/* membership.c: the Raft configuration of the ensemble: the bootstrap configuration from
 * zoo.cfg's server.N lines, run-time changes (repl_reconfig: ZooKeeper's incremental reconfig
 * on raft_add/raft_assign/raft_remove) and the member list.
 *
 * A member's Raft address is "host:raft_port:peer_port[;client_address:client_port]", zoo.cfg's
 * own spelling, so every server learns the peer port of a leader it was never configured with,
 * and the client address of every member (/zookeeper/config on any server), through the log
 * and snapshots like the rest of the configuration. libraft's TCP transport is handed only the
 * part before ';' (transport.c), as before the client part existed: it reads "host:port" of it
 * (src/uv_ip.c: strtok on ':' then atoi, into a 256-byte buffer) and needs an IPv4 literal for
 * host. libraft refuses a duplicate address string only, so a second member whose part before
 * ';' is taken is refused here. Observers are Raft standbys: they replicate the log but never
 * vote. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/zk_alloc.h"
#include "common/zk_log.h"
#include "replication/replication_int.h"


const struct repl_server *repl_server_find(const struct repl *r, uint64_t id)
{
	int i;

	for (i = 0; i < r->cfg.n_servers; i++)
		if (r->cfg.servers[i].id == id)
			return &r->cfg.servers[i];
	return NULL;
}

int repl_server_address(const struct repl_server *srv, char *buf, size_t len)
{
	int n;

	if (srv->client_port == 0)
		n = snprintf(buf, len, "%s:%u:%u", srv->host, srv->raft_port, srv->peer_port);
	else if (srv->client_address == NULL || srv->client_address[0] == '\0' ||
		 strpbrk(srv->client_address, "; \t\n") != NULL)
		return -EINVAL;
	else
		n = snprintf(buf, len, "%s:%u:%u;%s:%u", srv->host, srv->raft_port,
			     srv->peer_port, srv->client_address, srv->client_port);
	return n < 0 || (size_t)n >= len ? -EINVAL : 0;
}

/* "addr:port" (split at the last ':', so "[::1]:2181" works) into @srv's client fields. */
static int parse_client(char *client, struct repl_server *srv)
{
	char *colon = strrchr(client, ':');

	if (colon == NULL || colon == client)
		return -EINVAL;
	*colon = '\0';
	srv->client_address = client;
	srv->client_port = (uint16_t)atoi(colon + 1);
	return srv->client_port != 0 ? 0 : -EINVAL;
}

int repl_address_parse(const char *address, char *buf, size_t len, struct repl_server *srv)
{
	char *raft_port, *peer_port, *client;

	if (strlen(address) >= len)
		return -EINVAL;
	strcpy(buf, address);
	srv->client_address = NULL;
	srv->client_port = 0;
	client = strchr(buf, ';');
	if (client != NULL) {
		*client++ = '\0';
		if (parse_client(client, srv) != 0)
			return -EINVAL;
	}
	raft_port = strchr(buf, ':');
	if (raft_port == NULL)
		return -EINVAL;
	*raft_port++ = '\0';
	peer_port = strchr(raft_port, ':');
	srv->host = buf;
	srv->raft_port = (uint16_t)atoi(raft_port);
	srv->peer_port = peer_port != NULL ? (uint16_t)atoi(peer_port + 1) : 0;
	return 0;
}

size_t repl_address_raft_len(const char *address)
{
	return strcspn(address, ";");
}

bool repl_member_match(const struct repl *r, uint64_t id, bool (*match)(void *arg,
		       const char *host), void *arg)
{
	const struct raft_configuration *c = &r->raft.configuration;
	struct repl_server srv;
	char buf[REPL_ADDRESS_MAX];
	unsigned i;
	int j;

	for (i = 0; i < c->n; i++)
		if ((id == 0 || c->servers[i].id == id) &&
		    repl_address_parse(c->servers[i].address, buf, sizeof(buf), &srv) == 0 &&
		    (match == NULL || match(arg, srv.host)))
			return true;
	for (j = 0; j < r->cfg.n_servers; j++)
		if ((id == 0 || r->cfg.servers[j].id == id) &&
		    (match == NULL || match(arg, r->cfg.servers[j].host)))
			return true;
	return false;
}

static bool member_host_is(void *ip, const char *host)
{
	return strcmp(host, ip) == 0;
}

bool repl_member_at(const struct repl *r, uint64_t id, const char *ip)
{
	return repl_member_match(r, id, member_host_is, (void *)ip);
}

int repl_peer_ip(uv_stream_t *stream, char *ip, size_t len)
{
	struct sockaddr_storage ss;
	int n = sizeof(ss);
	int rv = uv_tcp_getpeername((uv_tcp_t *)stream, (struct sockaddr *)&ss, &n);

	if (rv != 0)
		return rv;
	if (ss.ss_family == AF_INET6)
		return uv_ip6_name((struct sockaddr_in6 *)&ss, ip, len);
	return uv_ip4_name((struct sockaddr_in *)&ss, ip, len);
}

int repl_membership_bootstrap(struct repl *r)
{
	struct raft_configuration conf;
	char address[REPL_ADDRESS_MAX];
	int i, rv = 0;

	if (r->cfg.join)
		return 0;
	raft_configuration_init(&conf);
	if (r->cfg.n_servers == 0)
		rv = raft_configuration_add(&conf, r->cfg.id, r->address, RAFT_VOTER);
	for (i = 0; rv == 0 && i < r->cfg.n_servers; i++) {
		const struct repl_server *s = &r->cfg.servers[i];
		rv = repl_server_address(s, address, sizeof(address));
		if (rv == 0)
			rv = raft_configuration_add(&conf, s->id, address,
						    s->observer ? RAFT_STANDBY : RAFT_VOTER);
	}
	if (rv == 0)
		rv = raft_bootstrap(&r->raft, &conf);
	raft_configuration_close(&conf);
	if (rv == RAFT_CANTBOOTSTRAP)
		return 0; /* Not a fresh data dir: the log has the configuration. */
	if (rv != 0) {
		REPL_ERROR(r, "cannot bootstrap %s: %s", r->data_dir, raft_errmsg(&r->raft));
		return rv < 0 ? rv : repl_errno(rv);
	}
	zk_log_info("replication: bootstrapped %s with %d server(s)", r->data_dir,
		    r->cfg.n_servers == 0 ? 1 : r->cfg.n_servers);
	return 0;
}

void repl_membership_check(struct repl *r)
{
	const struct raft_configuration *c = &r->raft.configuration;
	char address[REPL_ADDRESS_MAX];
	int i, differ = 0;
	unsigned j;

	if (r->cfg.n_servers == 0 || r->cfg.join)
		return;
	for (i = 0; i < r->cfg.n_servers; i++) {
		const struct repl_server *s = &r->cfg.servers[i];
		bool found = false;
		if (repl_server_address(s, address, sizeof(address)) != 0)
			continue;
		for (j = 0; j < c->n; j++)
			found |= c->servers[j].id == s->id &&
				 strcmp(c->servers[j].address, address) == 0 &&
				 (c->servers[j].role == RAFT_VOTER) == !s->observer;
		differ += !found;
	}
	if (differ != 0 || c->n != (unsigned)r->cfg.n_servers)
		zk_log_warn("replication: the membership in the log (%u servers) differs from the "
			    "configured server lines (%d): the log wins; change it with reconfig",
			    c->n, r->cfg.n_servers);
}

void repl_members(struct repl *r, void (*cb)(void *ctx, const struct repl_server *srv),
		  void *ctx)
{
	const struct raft_configuration *c = &r->raft.configuration;
	char buf[REPL_ADDRESS_MAX];
	unsigned i;

	if (!r->raft_ready)
		return;
	for (i = 0; i < c->n; i++) {
		struct repl_server srv = {.id = c->servers[i].id};
		if (repl_address_parse(c->servers[i].address, buf, sizeof(buf), &srv) != 0)
			continue;
		srv.observer = c->servers[i].role != RAFT_VOTER;
		cb(ctx, &srv);
	}
}

uint64_t repl_config_index(struct repl *r)
{
	if (!r->raft_ready)
		return 0;
	return r->raft.configuration_uncommitted_index != 0 ? r->raft.configuration_uncommitted_index
							     : r->raft.configuration_index;
}

static const struct raft_server *member(struct repl *r, uint64_t id)
{
	unsigned i;

	for (i = 0; i < r->raft.configuration.n; i++)
		if (r->raft.configuration.servers[i].id == id)
			return &r->raft.configuration.servers[i];
	return NULL;
}

/* Does a member already use the part of @address before ';'? */
static bool raft_address_taken(struct repl *r, const char *address)
{
	size_t n = repl_address_raft_len(address);
	unsigned i;

	for (i = 0; i < r->raft.configuration.n; i++) {
		const char *other = r->raft.configuration.servers[i].address;
		if (repl_address_raft_len(other) == n && strncmp(other, address, n) == 0)
			return true;
	}
	return false;
}

static void change_cb(struct raft_change *c, int status);

/* REPL_ADD is two libraft changes: raft_add (the server joins as a spare), then raft_assign
 * to its role (a voter is promoted only once it has caught up with the log). */
static int assign_after_add(struct repl_req *req)
{
	struct repl *r = req->repl;
	int role = req->index == 1 ? RAFT_STANDBY : RAFT_VOTER;

	req->kind = REPL_REQ_CHANGE;
	return repl_errno(raft_assign(&r->raft, &req->raft.change, req->fwd_id, role, change_cb));
}

static void change_cb(struct raft_change *c, int status)
{
	struct repl_req *req = REPL_CONTAINER(c, struct repl_req, raft.change);
	int rv;

	if (status == 0 && req->kind == REPL_REQ_ADD) {
		rv = assign_after_add(req);
		if (rv == 0)
			return;
		repl_req_done(req, rv);
		return;
	}
	if (status != 0)
		zk_log_warn("replication: membership change failed: %s", raft_strerror(status));
	repl_req_done(req, repl_errno(status));
}

static int start_change(struct repl *r, struct repl_req *req, enum repl_change_op op,
			const struct repl_server *srv)
{
	char address[REPL_ADDRESS_MAX];
	const struct raft_server *m = member(r, srv->id);
	int rv;

	switch (op) {
	case REPL_ADD:
		if (m != NULL || srv->host == NULL || srv->raft_port == 0)
			return -EINVAL;
		rv = repl_server_address(srv, address, sizeof(address));
		if (rv != 0)
			return rv;
		if (raft_address_taken(r, address)) {
			zk_log_warn("replication: cannot add server %llu: a member already uses %.*s",
				    (unsigned long long)srv->id, (int)repl_address_raft_len(address),
				    address);
			return -EINVAL;
		}
		/* The two-step add keeps the id in fwd_id and the role in index (1 = observer). */
		req->kind = REPL_REQ_ADD;
		req->index = srv->observer ? 1 : 0;
		req->fwd_id = srv->id;
		return repl_errno(raft_add(&r->raft, &req->raft.change, srv->id, address,
					   change_cb));
	case REPL_REMOVE:
		if (m == NULL)
			return -EINVAL;
		return repl_errno(raft_remove(&r->raft, &req->raft.change, srv->id, change_cb));
	case REPL_MAKE_VOTER:
	case REPL_MAKE_OBSERVER:
		if (m == NULL)
			return -EINVAL;
		return repl_errno(raft_assign(&r->raft, &req->raft.change, srv->id,
					      op == REPL_MAKE_VOTER ? RAFT_VOTER : RAFT_STANDBY,
					      change_cb));
	}
	return -EINVAL;
}

int repl_reconfig(struct repl *r, struct repl_req *req, enum repl_change_op op,
		  const struct repl_server *srv, const struct repl_change_auth *auth,
		  repl_req_cb cb)
{
	int rv;

	if (r->closing)
		return -ECANCELED;
	if (!r->started)
		return -ENOTCONN;
	req->repl = r;
	req->cb = cb;
	req->status = 0;
	req->index = 0;
	req->next = req->prev = NULL;
	req->kind = REPL_REQ_CHANGE;
	if (raft_state(&r->raft) != RAFT_LEADER)
		return r->fwd != NULL ? repl_fwd_reconfig(r->fwd, req, op, srv, auth) : -ENOTCONN;
	/* Judged here, on the leader, for local and forwarded requests alike. */
	rv = auth != NULL && r->hooks.reconfig_allowed != NULL
		     ? r->hooks.reconfig_allowed(r->fsm_state.ctx, auth)
		     : 0;
	if (rv != 0)
		return rv;
	if (r->raft.configuration_uncommitted_index != 0 || r->raft.leader_state.change != NULL)
		return -EBUSY;
	return start_change(r, req, op, srv);
}
