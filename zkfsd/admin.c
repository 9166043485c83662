/* admin: ZooKeeper's AdminServer commands (org.apache.zookeeper.server.admin.Commands in 3.8)
 * over http.c. Field names were compared with Debian's ZooKeeper 3.8 AdminServer run side by
 * side (tests/integration/test_admin.py keeps comparing them); leader and voting_view only
 * against its documentation (the comparison runs a standalone ZooKeeper, where both answer
 * "server is not initialized" / an empty view).
 *
 * The figures come from the same producers as the four-letter words (fourlw_mntr,
 * fourlw_conf, fourlw_envi, watch_describe, parsed back from their "key<sep>value" text), so
 * mntr and monitor, conf and configuration can never disagree. */
#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/zk_alloc.h"
#include "common/zk_log.h"
#include "zkfsd/admin.h"
#include "zkfsd/backup.h"
#include "zkfsd/http.h"
#include "zkfsd/json.h"
#include "zkfsd/metrics.h"
#include "zkfsd/zkfsd_int.h"

/* zkfsd/status.html, made into a C string by zkfsd/local.mk. */
extern const char status_html[];

struct admin {
	struct zkfsd *srv;	  /* Borrowed. */
	struct http_server *http; /* Owned. */
	char url[80];		  /* commandURL + "/". */
	bool backup_running;	  /* backup.c's one-at-a-time flag. */
};

/* ---- Parsing the four-letter words' text back ---------------------------------------------- */

/* Lines "key<sep>value" of @text; the value of @key or NULL. @text is NUL-terminated. */
static const char *admin_value(const char *text, char sep, const char *key, char *val,
			       size_t len)
{
	size_t klen = strlen(key);

	for (const char *l = text; l != NULL && *l != '\0'; l = strchr(l, '\n'), l = l ? l + 1 : l) {
		const char *end = strchr(l, '\n');
		size_t n;

		if (strncmp(l, key, klen) != 0 || l[klen] != sep)
			continue;
		l += klen + 1;
		n = end ? (size_t)(end - l) : strlen(l);
		if (n >= len)
			n = len - 1;
		memcpy(val, l, n);
		val[n] = '\0';
		return val;
	}
	return NULL;
}

/* A number, or a string when it does not read as one. */
static void admin_scalar(struct json *j, const char *v)
{
	char *end;
	double d = strtod(v, &end);

	if (*v != '\0' && *end == '\0' && strchr(v, '.') != NULL)
		json_double(j, d);
	else if (*v != '\0' && *end == '\0')
		json_i64(j, strtoll(v, NULL, 10));
	else
		json_str(j, v);
}

/* "key" : value from @text, or nothing when @text lacks @key. */
static void admin_field(struct json *j, const char *text, char sep, const char *key,
			const char *name)
{
	char v[256];

	if (admin_value(text, sep, key, v, sizeof(v)) == NULL)
		return;
	json_key(j, name);
	admin_scalar(j, v);
}

/* The NUL-terminated text of a producer. */
typedef void (*admin_producer)(struct zkfsd *srv, struct zk_buf *out);

static char *admin_text(struct zkfsd *srv, admin_producer fn, struct zk_buf *b)
{
	zk_buf_init(b);
	fn(srv, b);
	if (zk_buf_append_u8(b, 0) != 0)
		return NULL;
	return (char *)b->data;
}

/* ---- Commands ------------------------------------------------------------------------------- */

static int admin_ruok(struct zkfsd *srv, struct json *j)
{
	(void)srv;
	(void)j;
	return 0;
}

/* monitor: every mntr key without "zk_". */
static int admin_monitor(struct zkfsd *srv, struct json *j)
{
	struct zk_buf b;
	char *text = admin_text(srv, fourlw_mntr, &b);

	for (char *l = text, *end; l != NULL && *l != '\0'; l = end ? end + 1 : NULL) {
		char *tab = strchr(l, '\t');

		end = strchr(l, '\n');
		if (end != NULL)
			*end = '\0';
		if (tab == NULL || strncmp(l, "zk_", 3) != 0)
			continue;
		*tab = '\0';
		json_key(j, l + 3);
		admin_scalar(j, tab + 1);
	}
	zk_buf_close(&b);
	return text != NULL ? 0 : -ENOMEM;
}

static void admin_server_stats_body(struct zkfsd *srv, struct json *j, const char *mntr,
				    const char *conf)
{
	admin_field(j, mntr, '\t', "zk_version", "version");
	json_key(j, "read_only");
	json_bool(j, false);
	json_key(j, "server_stats");
	json_open(j, '{');
	admin_field(j, mntr, '\t', "zk_packets_sent", "packets_sent");
	admin_field(j, mntr, '\t', "zk_packets_received", "packets_received");
	admin_field(j, conf, '=', "dataDirSize", "data_dir_size");
	admin_field(j, conf, '=', "dataLogSize", "log_dir_size");
	admin_field(j, mntr, '\t', "zk_server_state", "server_state");
	admin_field(j, mntr, '\t', "zk_last_zxid", "last_processed_zxid");
	admin_field(j, mntr, '\t', "zk_outstanding_requests", "outstanding_requests");
	admin_field(j, mntr, '\t', "zk_avg_latency", "avg_latency");
	admin_field(j, mntr, '\t', "zk_max_latency", "max_latency");
	admin_field(j, mntr, '\t', "zk_min_latency", "min_latency");
	admin_field(j, mntr, '\t', "zk_num_alive_connections", "num_alive_client_connections");
	json_key(j, "provider_null");
	json_bool(j, srv->metrics == NULL);
	admin_field(j, mntr, '\t', "zk_uptime", "uptime");
	json_close(j, '{');
	admin_field(j, mntr, '\t', "zk_znode_count", "node_count");
}

/* One connection; @brief: only the counters (stat's form, as ZooKeeper's `stats`). */
static void admin_connection(struct zkfsd *srv, struct conn *c, struct json *j, bool brief)
{
	char addr[64];

	snprintf(addr, sizeof(addr), "%s:%d", c->ip, c->port);
	json_open(j, '{');
	json_key(j, "remote_socket_address");
	json_str(j, addr);
	json_key(j, "outstanding_requests");
	json_i64(j, c->outstanding);
	json_key(j, "packets_received");
	json_u64(j, c->received);
	json_key(j, "packets_sent");
	json_u64(j, c->sent);
	if (brief) {
		json_close(j, '{');
		return;
	}
	if (c->session != NULL) {
		json_key(j, "session_id");
		json_i64(j, c->session->id);
		json_key(j, "last_operation");
		json_str(j, c->lat_count ? fourlw_last_op(c->last_op) : "NA");
		json_key(j, "established");
		json_i64(j, request_wall_ms() - (int64_t)(uv_now(srv->loop) - c->established_ms));
		json_key(j, "session_timeout");
		json_i64(j, c->session->timeout_ms);
		json_key(j, "last_cxid");
		json_i64(j, c->last_xid);
		json_key(j, "last_zxid");
		json_i64(j, c->last_zxid);
	}
	json_key(j, "min_latency");
	json_u64(j, c->lat_count ? c->lat_min : 0);
	json_key(j, "avg_latency");
	json_u64(j, c->lat_count ? c->lat_total / c->lat_count : 0);
	json_key(j, "max_latency");
	json_u64(j, c->lat_max);
	json_close(j, '{');
}

static void admin_connections_body(struct zkfsd *srv, struct json *j, bool brief)
{
	json_key(j, "connections");
	json_open(j, '[');
	for (struct conn *c = srv->conns; c != NULL; c = c->next)
		admin_connection(srv, c, j, brief);
	json_close(j, '[');
	json_key(j, "secure_connections");
	json_open(j, '[');
	json_close(j, '[');
}

static int admin_stats_common(struct zkfsd *srv, struct json *j, bool with_conns)
{
	struct zk_buf mb, cb;
	char *mntr = admin_text(srv, fourlw_mntr, &mb), *conf = admin_text(srv, fourlw_conf, &cb);
	int rv = mntr != NULL && conf != NULL ? 0 : -ENOMEM;

	if (rv == 0)
		admin_server_stats_body(srv, j, mntr, conf);
	if (rv == 0 && with_conns)
		admin_connections_body(srv, j, true);
	zk_buf_close(&mb);
	zk_buf_close(&cb);
	return rv;
}

static int admin_server_stats(struct zkfsd *srv, struct json *j)
{
	return admin_stats_common(srv, j, false);
}

static int admin_stats(struct zkfsd *srv, struct json *j)
{
	return admin_stats_common(srv, j, true);
}

static int admin_connections(struct zkfsd *srv, struct json *j)
{
	admin_connections_body(srv, j, false);
	return 0;
}

/* conf's keys and ZooKeeper's ConfigurationCommand names. */
static const char *const admin_conf_names[][2] = {
	{"clientPort", "client_port"},
	{"secureClientPort", "secure_client_port"},
	{"dataDir", "data_dir"},
	{"dataLogDir", "data_log_dir"},
	{"tickTime", "tick_time"},
	{"maxClientCnxns", "max_client_cnxns"},
	{"minSessionTimeout", "min_session_timeout"},
	{"maxSessionTimeout", "max_session_timeout"},
	{"serverId", "server_id"},
	{"clientPortListenBacklog", "client_port_listen_backlog"},
};

static int admin_configuration(struct zkfsd *srv, struct json *j)
{
	struct zk_buf b;
	char *conf = admin_text(srv, fourlw_conf, &b);

	for (size_t i = 0; conf != NULL && i < sizeof(admin_conf_names) / sizeof(*admin_conf_names);
	     i++) {
		if (strcmp(admin_conf_names[i][0], "secureClientPort") == 0)
			continue; /* ZooKeeper shows it only when one is configured. */
		admin_field(j, conf, '=', admin_conf_names[i][0], admin_conf_names[i][1]);
	}
	zk_buf_close(&b);
	return conf != NULL ? 0 : -ENOMEM;
}

static int admin_dirs(struct zkfsd *srv, struct json *j)
{
	struct zk_buf b;
	char *conf = admin_text(srv, fourlw_conf, &b);

	if (conf != NULL) {
		admin_field(j, conf, '=', "dataDirSize", "datadir_size");
		admin_field(j, conf, '=', "dataLogSize", "logdir_size");
	}
	zk_buf_close(&b);
	return conf != NULL ? 0 : -ENOMEM;
}

static int admin_environment(struct zkfsd *srv, struct json *j)
{
	struct zk_buf b;
	char *text = admin_text(srv, fourlw_envi, &b);

	for (char *l = text, *end; l != NULL && *l != '\0'; l = end ? end + 1 : NULL) {
		char *eq;

		end = strchr(l, '\n');
		if (end != NULL)
			*end = '\0';
		eq = strchr(l, '=');
		if (eq == NULL)
			continue; /* The "Environment:" heading. */
		*eq = '\0';
		json_key(j, l);
		json_str(j, eq + 1);
	}
	zk_buf_close(&b);
	return text != NULL ? 0 : -ENOMEM;
}

static void admin_dump_paths(void *ctx, const char *path)
{
	json_str(ctx, path);
}

struct admin_dump {
	struct zkfsd *srv;
	struct json *j;
};

static void admin_dump_session(void *ctx, int64_t id, int32_t timeout_ms)
{
	struct admin_dump *d = ctx;
	char key[24];

	(void)timeout_ms;
	snprintf(key, sizeof(key), "%" PRId64, id);
	json_key(d->j, key);
	json_open(d->j, '[');
	store_get_ephemerals(d->srv->store, id, NULL, admin_dump_paths, d->j);
	json_close(d->j, '[');
}

/* dump: each session under its expiry time (epoch ms, ZooKeeper groups them by expiry
 * bucket), and each session's ephemerals. */
static int admin_dump(struct zkfsd *srv, struct json *j)
{
	struct admin_dump d = {srv, j};
	int64_t skew = request_wall_ms() - (int64_t)uv_now(srv->loop);
	char key[24];

	json_key(j, "expiry_time_to_session_ids");
	json_open(j, '{');
	for (size_t i = 0; i < srv->sessions.n_buckets; i++)
		for (struct session *s = srv->sessions.buckets[i]; s != NULL; s = s->hnext) {
			snprintf(key, sizeof(key), "%" PRId64, (int64_t)s->deadline_ms + skew);
			json_key(j, key);
			json_open(j, '[');
			json_i64(j, s->id);
			json_close(j, '[');
		}
	json_close(j, '{');
	json_key(j, "session_id_to_ephemeral_paths");
	json_open(j, '{');
	store_session_foreach(srv->store, admin_dump_session, &d);
	json_close(j, '{');
	return 0;
}

static int admin_watch_summary(struct zkfsd *srv, struct json *j)
{
	struct zk_buf b;
	unsigned long conns = 0, paths = 0, total = 0;
	int n = 0;

	zk_buf_init(&b);
	watch_describe(srv, &b, 's');
	if (zk_buf_append_u8(&b, 0) == 0)
		n = sscanf((char *)b.data, "%lu connections watching %lu paths\nTotal watches:%lu",
			   &conns, &paths, &total);
	zk_buf_close(&b);
	if (n != 3)
		return -ENOMEM;
	json_key(j, "num_connections");
	json_u64(j, conns);
	json_key(j, "num_paths");
	json_u64(j, paths);
	json_key(j, "num_total_watches");
	json_u64(j, total);
	return 0;
}

static int admin_is_read_only(struct zkfsd *srv, struct json *j)
{
	(void)srv;
	json_key(j, "read_only");
	json_bool(j, false);
	return 0;
}

struct admin_leader {
	uint64_t id;	 /* The leader's id. */
	char host[256];	 /* Its host, when found among the members. */
};

static void admin_find_leader(void *ctx, const struct repl_server *s)
{
	struct admin_leader *l = ctx;

	if (s->id == l->id)
		snprintf(l->host, sizeof(l->host), "%s", s->host);
}

static int admin_leader(struct zkfsd *srv, struct json *j)
{
	struct admin_leader l = {0};

	if (srv->cfg->n_servers == 0 || srv->repl == NULL || !srv->repl_open)
		return -ENOTCONN; /* ZooKeeper: "server is not initialized". */
	l.id = repl_leader_id(srv->repl);
	repl_members(srv->repl, admin_find_leader, &l);
	json_key(j, "is_leader");
	json_bool(j, repl_role(srv->repl) == REPL_LEADER);
	json_key(j, "leader_id");
	json_u64(j, l.id);
	json_key(j, "leader_ip");
	json_str(j, l.id != 0 ? l.host : NULL);
	return 0;
}

static void admin_member(void *ctx, const struct repl_server *s)
{
	struct json *j = ctx;
	char key[24], val[320];

	snprintf(key, sizeof(key), "%" PRIu64, s->id);
	if (s->client_port != 0)
		snprintf(val, sizeof(val), "%s:%u:%u:%s;%s:%u", s->host, s->raft_port, s->peer_port,
			 s->observer ? "observer" : "participant",
			 s->client_address ? s->client_address : "", s->client_port);
	else
		snprintf(val, sizeof(val), "%s:%u:%u:%s", s->host, s->raft_port, s->peer_port,
			 s->observer ? "observer" : "participant");
	json_key(j, key);
	json_str(j, val);
}

/* voting_view: id -> "host:raft_port:peer_port:role;client_address:client_port". */
static int admin_voting_view(struct zkfsd *srv, struct json *j)
{
	json_key(j, "current_config");
	json_open(j, '{');
	if (srv->cfg->n_servers > 0 && srv->repl != NULL && srv->repl_open)
		repl_members(srv->repl, admin_member, j);
	json_close(j, '{');
	return 0;
}

/* libraft names its snapshots snapshot-<term>-<index>-<epoch ms>: the newest one. */
static int admin_last_snapshot(struct zkfsd *srv, struct json *j)
{
	DIR *d = opendir(srv->cfg->data_dir);
	struct dirent *e;
	unsigned long long term, index, best = 0, ms, best_ms = 0;
	char zxid[24];

	while (d != NULL && (e = readdir(d)) != NULL)
		if (sscanf(e->d_name, "snapshot-%llu-%llu-%llu", &term, &index, &ms) == 3 &&
		    strstr(e->d_name, ".meta") == NULL && index >= best) {
			best = index;
			best_ms = ms;
		}
	if (d != NULL)
		closedir(d);
	snprintf(zxid, sizeof(zxid), "%llx", best);
	json_key(j, "zxid");
	json_str(j, zxid);
	json_key(j, "timestamp");
	json_u64(j, best_ms / 1000);
	return 0;
}

static int admin_digest(struct zkfsd *srv, struct json *j)
{
	char hex[24];

	snprintf(hex, sizeof(hex), "%016" PRIx64, store_digest(srv->store));
	json_key(j, "last_zxid");
	json_i64(j, store_last_zxid(srv->store));
	json_key(j, "digest");
	json_str(j, hex);
	return 0;
}

struct admin_members {
	struct zkfsd *srv;
	struct json *j;
	uint64_t leader;	/* Leader id (0: none known). */
	struct repl_stats st;	/* Peers' progress when this server leads. */
};

static void admin_members_one(void *ctx, const struct repl_server *s)
{
	struct admin_members *m = ctx;
	char addr[320];

	snprintf(addr, sizeof(addr), "%s:%u", s->client_address ? s->client_address : s->host,
		 s->client_port);
	json_open(m->j, '{');
	json_key(m->j, "id");
	json_u64(m->j, s->id);
	json_key(m->j, "address");
	json_str(m->j, addr);
	json_key(m->j, "role");
	json_str(m->j, s->id == m->leader ? "leader" : s->observer ? "observer" : "follower");
	for (unsigned i = 0; i < m->st.n_peers; i++) {
		if (m->st.peers[i].id != s->id)
			continue;
		json_key(m->j, "lag_entries");
		json_u64(m->j, m->st.last_index - m->st.peers[i].match_index);
		json_key(m->j, "lag_ms");
		json_u64(m->j, metrics_follower_lag_ms(m->srv, m->st.peers[i].match_index));
	}
	json_close(m->j, '{');
}

/* members (zkfsd's own, for the status page): each member with its role as this server sees
 * it, and on the leader each follower's lag in entries and ms. */
static int admin_members(struct zkfsd *srv, struct json *j)
{
	struct admin_members m = {.srv = srv, .j = j};

	json_key(j, "members");
	json_open(j, '[');
	if (srv->cfg->n_servers > 0 && srv->repl != NULL && srv->repl_open) {
		m.leader = repl_leader_id(srv->repl);
		repl_stats(srv->repl, &m.st);
		repl_members(srv->repl, admin_members_one, &m);
	}
	json_close(j, '[');
	return 0;
}

/* GET /: status.html with its command URL filled in. */
static int admin_status_page(struct admin *a, struct http_reply *reply)
{
	const char *mark = strstr(status_html, "@COMMAND_URL@");

	assert(mark != NULL);
	int rv;

	reply->content_type = "text/html; charset=utf-8";
	rv = zk_buf_append(&reply->body, status_html, (size_t)(mark - status_html));
	return rv != 0 ? rv
		       : zk_buf_printf(&reply->body, "%s%s", a->url,
				       mark + strlen("@COMMAND_URL@"));
}

/* ---- The table ------------------------------------------------------------------------------ */

struct admin_command {
	const char *name;  /* ZooKeeper's primary name (the "command" field). */
	const char *alias; /* Its four-letter alias, or NULL. */
	const char *word;  /* The whitelist word that allows it. */
	int (*fn)(struct zkfsd *srv, struct json *j);
};

static const struct admin_command admin_commands[] = {
	{"configuration", "conf", "conf", admin_configuration},
	{"connections", "cons", "cons", admin_connections},
	{"digest", "dgst", "dgst", admin_digest},
	{"dirs", NULL, "dirs", admin_dirs},
	{"dump", NULL, "dump", admin_dump},
	{"environment", "envi", "envi", admin_environment},
	{"is_read_only", "isro", "isro", admin_is_read_only},
	{"last_snapshot", "lsnp", "srvr", admin_last_snapshot},
	{"members", NULL, "conf", admin_members},
	{"leader", "lead", "srvr", admin_leader},
	{"monitor", "mntr", "mntr", admin_monitor},
	{"ruok", NULL, "ruok", admin_ruok},
	{"server_stats", "srvr", "srvr", admin_server_stats},
	{"snapshot", "snap", "snap", NULL}, /* backup_stream. */
	{"stats", "stat", "stat", admin_stats},
	{"voting_view", NULL, "conf", admin_voting_view},
	{"watch_summary", "wchs", "wchs", admin_watch_summary},
};

static const struct admin_command *admin_find(const char *name)
{
	for (size_t i = 0; i < sizeof(admin_commands) / sizeof(*admin_commands); i++) {
		const struct admin_command *c = &admin_commands[i];

		if (strcmp(name, c->name) == 0 || (c->alias && strcmp(name, c->alias) == 0))
			return c;
	}
	return NULL;
}

/* GET <commandURL>: links to every command, as ZooKeeper's CommandListServlet. */
static int admin_list(struct admin *a, struct http_reply *reply)
{
	reply->content_type = "text/html; charset=utf-8";
	for (size_t i = 0; i < sizeof(admin_commands) / sizeof(*admin_commands); i++)
		zk_buf_printf(&reply->body, "<a href=\"%s%s\">%s</a>\n<br/>\n", a->url,
			      admin_commands[i].name, admin_commands[i].name);
	return zk_buf_reserve(&reply->body, 1);
}

/* A command's JSON: its fields, then "command" and "error" (ZooKeeper's CommandResponse). */
static int admin_run(struct admin *a, const struct admin_command *c, const char *asked,
		     struct http_reply *reply)
{
	struct json j;
	char why[128];
	int rv = 0;

	reply->content_type = "application/json";
	json_begin(&j, &reply->body);
	if (c == NULL) {
		snprintf(why, sizeof(why), "Unknown command: %s", asked); /* 200, as ZooKeeper. */
	} else if (!config_4lw_allowed(a->srv->cfg, c->word)) {
		zk_log_info("admin command %s refused: %.4s not in the whitelist", c->name, c->word);
		snprintf(why, sizeof(why), "%s is not executed because it is not in the whitelist.",
			 c->name);
		reply->status = 403;
	} else {
		rv = c->fn(a->srv, &j);
		snprintf(why, sizeof(why), "%s", rv == -ENOTCONN ? "server is not initialized"
								 : strerror(-rv));
	}
	json_key(&j, "command");
	json_str(&j, c != NULL ? c->name : asked);
	json_key(&j, "error");
	json_str(&j, c != NULL && reply->status == 200 && rv == 0 ? NULL : why);
	if (rv != 0 && rv != -ENOTCONN)
		return rv;
	return json_end(&j);
}

static int admin_on_get(void *ctx, struct http_request *req, const char *url,
			struct http_reply *reply)
{
	struct admin *a = ctx;
	size_t n = strlen(a->url);
	const struct admin_command *c;

	if (strcmp(url, "/") == 0)
		return admin_status_page(a, reply);
	if (strncmp(url, a->url, n - 1) == 0 && (url[n - 1] == '\0' || strcmp(url + n - 1, "/") == 0))
		return admin_list(a, reply);
	if (strncmp(url, a->url, n) != 0) {
		reply->status = 404;
		return zk_buf_printf(&reply->body, "not found\n");
	}
	c = admin_find(url + n);
	if (c != NULL && c->fn == NULL && config_4lw_allowed(a->srv->cfg, c->word))
		return backup_stream(a->srv, req, reply, &a->backup_running);
	return admin_run(a, c, url + n, reply);
}

int admin_start(struct zkfsd *srv)
{
	const struct config_http *h = &srv->cfg->admin;
	struct admin *a;
	int rv;

	if (!h->enabled)
		return 0;
	a = zk_calloc(1, sizeof(*a));
	if (a == NULL)
		return -ENOMEM;
	a->srv = srv;
	snprintf(a->url, sizeof(a->url), "%s/", h->url);
	/* HTTPS with the client port's key and certificates when they are configured. */
	rv = http_start(srv->loop, "admin", h->host, h->port, srv->cfg->ssl_keystore, admin_on_get,
			a, &a->http);
	if (rv != 0) {
		zk_free(a);
		return rv;
	}
	srv->admin = a;
	return 0;
}

void admin_stop(struct zkfsd *srv)
{
	struct admin *a = srv->admin;

	if (a == NULL)
		return;
	srv->admin = NULL;
	http_stop(a->http);
	zk_free(a);
}
