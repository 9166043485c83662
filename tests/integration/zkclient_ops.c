/* zkclient_ops: every operation of client/ against one server, printed in a form that does
 * not depend on the server (no zxids, times or session ids), so that test_zkclient.sh can
 * compare zkfsd with Apache ZooKeeper line by line. Watch events are printed as they arrive,
 * before the line of the reply that follows them (the protocol's order).
 *   [ZKCLIENT_OPS_CONNECT_MS=N] zkclient_ops HOST:PORT [--tls CA CERT KEY]
 * Exit 0 when the script ran (the output is the verdict), 1 when a session could not open. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/zkclient.h"
#include "common/zk_log.h"

static struct zkclient_config cfg;

static int cmp_str(const void *a, const void *b)
{
	const struct jute_str *x = a, *y = b;
	int n = memcmp(x->p, y->p, (size_t)(x->len < y->len ? x->len : y->len));

	return n != 0 ? n : x->len - y->len;
}

/* Names in order: servers list children in their own (hash) order. */
static void print_names(struct jute_str_vec *v)
{
	if (v->count > 1)
		qsort(v->items, (size_t)v->count, sizeof(*v->items), cmp_str);
	for (int32_t i = 0; i < v->count; i++)
		printf(" %.*s", v->items[i].len, v->items[i].p);
}

static int cmp_who(const void *a, const void *b)
{
	const struct jute_client_info *x = a, *y = b;
	int n = cmp_str(&x->auth_scheme, &y->auth_scheme);

	return n != 0 ? n : cmp_str(&x->user, &y->user);
}

/* whoAmI's identities by scheme: over TLS Apache ZooKeeper lists x509 first, zkfsd last (a
 * difference of order only, left to the server side). */
static void print_who(const struct zkclient_result *r)
{
	struct jute_client_info *items = (struct jute_client_info *)r->who.items;

	if (r->who.count > 1)
		qsort(items, (size_t)r->who.count, sizeof(*items), cmp_who);
	for (int32_t i = 0; i < r->who.count; i++)
		printf(" who=%.*s:%.*s", items[i].auth_scheme.len, items[i].auth_scheme.p,
		       items[i].user.len, items[i].user.p);
}

/* Print one result (on the loop thread, before the waiter wakes). */
static void print_result(void *ctx, const struct zkclient_result *r)
{
	const char *what = ctx;

	printf("%s: %s", what, zk_err_name(r->err));
	if (r->path.len > 0)
		printf(" path=%.*s", r->path.len, r->path.p);
	if (r->data.len >= 0 && r->data.p != NULL)
		printf(" data='%.*s'", r->data.len, (const char *)r->data.p);
	if (r->has_stat)
		printf(" version=%d cversion=%d aversion=%d len=%d children=%d eph=%s",
		       r->stat.version, r->stat.cversion, r->stat.aversion, r->stat.data_length,
		       r->stat.num_children, r->stat.ephemeral_owner != 0 ? "yes" : "no");
	if (r->op == ZK_OP_GET_ALL_CHILDREN_NUMBER && r->err == 0)
		printf(" number=%d", r->number);
	print_names((struct jute_str_vec *)&r->names);
	for (int32_t i = 0; i < r->acl.count; i++)
		printf(" acl=%.*s:%.*s:%d", r->acl.acls[i].id.scheme.len, r->acl.acls[i].id.scheme.p,
		       r->acl.acls[i].id.id.len, r->acl.acls[i].id.id.p, r->acl.acls[i].perms);
	for (int32_t i = 0; i < r->n_results; i++) {
		const struct jute_multi_result *m = &r->results[i];

		printf(" [%s %s", jute_op_name(m->type), m->type == ZK_OP_ERROR ? zk_err_name(m->err)
									    : "");
		if (m->path.len > 0)
			printf(" %.*s", m->path.len, m->path.p);
		if (m->data.len >= 0 && m->data.p != NULL)
			printf(" '%.*s'", m->data.len, (const char *)m->data.p);
		print_names((struct jute_str_vec *)&m->children);
		printf("]");
	}
	print_who(r);
	printf("\n");
	fflush(stdout);
}

static void print_event(void *ctx, int type, int state, const char *path)
{
	(void)ctx;
	if (type == ZK_EVENT_NONE && state != ZK_STATE_EXPIRED && state != ZK_STATE_AUTH_FAILED)
		return;
	printf("event %s %s %s\n", zkclient_event_name(type), zkclient_state_name(state),
	       path != NULL ? path : "");
	fflush(stdout);
}

/* Run one call: @submit is the return of the zkclient_* call made with wait_cb/&w. */
#define RUN(what, call)                                                                       \
	do {                                                                                  \
		struct zkclient_wait w;                                                       \
		zkclient_wait_init(&w, print_result, (void *)(what));                         \
		if ((call) != 0)                                                              \
			printf("%s: refused by the client\n", what);                           \
		else                                                                          \
			zkclient_wait(&w);                                                    \
	} while (0)
#define CB zkclient_wait_cb, &w

static struct zkclient *open_session(const char *hosts)
{
	struct zkclient *c;

	cfg.hosts = hosts;
	const char *deadline = getenv("ZKCLIENT_OPS_CONNECT_MS"); /* Shorter for failures. */

	if (zkclient_open(&cfg, &c) != 0 ||
	    zkclient_wait_connected(c, deadline != NULL ? atoi(deadline) : 10000) != ZK_ERR_OK) {
		fprintf(stderr, "zkclient_ops: cannot open a session to %s\n", hosts);
		exit(1);
	}
	return c;
}

static void nodes(struct zkclient *c)
{
	RUN("create", zkclient_create(c, "/t", "a", 1, NULL, ZK_MODE_PERSISTENT, 0, false, CB));
	RUN("create exists", zkclient_create(c, "/t", "a", 1, NULL, 0, 0, false, CB));
	RUN("create no parent", zkclient_create(c, "/no/x", NULL, -1, NULL, 0, 0, false, CB));
	RUN("create bad path", zkclient_create(c, "/t/", NULL, -1, NULL, 0, 0, false, CB));
	RUN("create2 seq", zkclient_create(c, "/t/s-", "", 0, NULL, ZK_MODE_PERSISTENT_SEQUENTIAL,
					   0, true, CB));
	RUN("create eph", zkclient_create(c, "/t/e", "x", 1, NULL, ZK_MODE_EPHEMERAL, 0, true, CB));
	RUN("create eph seq", zkclient_create(c, "/t/es-", NULL, -1, NULL,
					      ZK_MODE_EPHEMERAL_SEQUENTIAL, 0, false, CB));
	RUN("create under eph", zkclient_create(c, "/t/e/x", NULL, -1, NULL, 0, 0, false, CB));
	RUN("create container", zkclient_create(c, "/c", NULL, -1, NULL, ZK_MODE_CONTAINER, 0,
						true, CB));
	RUN("create ttl", zkclient_create(c, "/ttl", "v", 1, NULL, ZK_MODE_PERSISTENT_WITH_TTL,
					  60000, true, CB));
	RUN("create ttl seq", zkclient_create(c, "/ttl-", "v", 1, NULL,
					      ZK_MODE_PERSISTENT_SEQUENTIAL_WITH_TTL, 60000, false,
					      CB));
	RUN("exists watch", zkclient_exists(c, "/t", true, CB));
	RUN("exists missing watch", zkclient_exists(c, "/later", true, CB));
	RUN("get watch", zkclient_get_data(c, "/t", true, CB));
	RUN("children watch", zkclient_get_children(c, "/t", true, false, CB));
	RUN("children2", zkclient_get_children(c, "/t", false, true, CB));
	RUN("set v0", zkclient_set_data(c, "/t", "bb", 2, 0, CB));
	RUN("set stale", zkclient_set_data(c, "/t", "cc", 2, 0, CB));
	RUN("create later", zkclient_create(c, "/later", NULL, -1, NULL, 0, 0, false, CB));
	RUN("create child", zkclient_create(c, "/t/k", NULL, -1, NULL, 0, 0, false, CB));
	RUN("all children", zkclient_get_all_children_number(c, "/t", CB));
	RUN("ephemerals", zkclient_get_ephemerals(c, "/t", CB));
	RUN("sync", zkclient_sync(c, "/t", CB));
	RUN("delete not empty", zkclient_delete(c, "/t", -1, CB));
	RUN("delete bad version", zkclient_delete(c, "/t/k", 5, CB));
	RUN("delete", zkclient_delete(c, "/t/k", 0, CB));
	RUN("delete missing", zkclient_delete(c, "/t/k", -1, CB));
}

static void acls(struct zkclient *c)
{
	struct jute_acl a[2] = {
		{ZK_PERM_READ | ZK_PERM_ADMIN, {{"world", 5}, {"anyone", 6}}},
		{ZK_PERM_ALL, {{"auth", 4}, {"", 0}}},
	};
	struct jute_acl_vec v = {2, a};

	RUN("getACL", zkclient_get_acl(c, "/t", CB));
	RUN("setACL auth without auth", zkclient_set_acl(c, "/t", &v, -1, CB));
	RUN("addauth", zkclient_add_auth(c, "digest", "u:p", 3, CB));
	RUN("whoAmI", zkclient_who_am_i(c, CB));
	RUN("setACL v0", zkclient_set_acl(c, "/t", &v, 0, CB));
	RUN("setACL stale", zkclient_set_acl(c, "/t", &v, 0, CB));
	RUN("getACL after", zkclient_get_acl(c, "/t", CB));
}

static void multis(struct zkclient *c)
{
	struct jute_multi_op ok[3] = {
		{.type = ZK_OP_CREATE,
		 .u.create = {{"/m", 2}, {(const uint8_t *)"1", 1}, zkclient_acl_open, 0}},
		{.type = ZK_OP_SET_DATA, .u.set_data = {{"/m", 2}, {(const uint8_t *)"2", 1}, 0}},
		{.type = ZK_OP_CHECK, .u.check_version = {{"/m", 2}, 1}},
	};
	struct jute_multi_op bad[2] = {
		{.type = ZK_OP_CREATE,
		 .u.create = {{"/m2", 3}, {NULL, -1}, zkclient_acl_open, 0}},
		{.type = ZK_OP_DELETE, .u.delete = {{"/m", 2}, 7}},
	};
	struct jute_multi_op reads[3] = {
		{.type = ZK_OP_GET_DATA, .u.get_data = {{"/m", 2}, false}},
		{.type = ZK_OP_GET_CHILDREN, .u.get_children = {{"/", 1}, false}},
		{.type = ZK_OP_GET_DATA, .u.get_data = {{"/none", 5}, false}},
	};

	RUN("multi", zkclient_multi(c, ok, 3, false, CB));
	RUN("multi failing", zkclient_multi(c, bad, 2, false, CB));
	RUN("multiRead", zkclient_multi(c, reads, 3, true, CB));
}

static void watches(struct zkclient *c)
{
	RUN("create w", zkclient_create(c, "/w", NULL, -1, NULL, 0, 0, false, CB));
	RUN("addWatch recursive", zkclient_add_watch(c, "/w", ZK_ADD_WATCH_PERSISTENT_RECURSIVE,
						     CB));
	RUN("addWatch persistent", zkclient_add_watch(c, "/m", ZK_ADD_WATCH_PERSISTENT, CB));
	RUN("create w/x", zkclient_create(c, "/w/x", NULL, -1, NULL, 0, 0, false, CB));
	RUN("create w/x/y", zkclient_create(c, "/w/x/y", "1", 1, NULL, 0, 0, false, CB));
	RUN("set w/x/y", zkclient_set_data(c, "/w/x/y", "2", 1, -1, CB));
	RUN("set m", zkclient_set_data(c, "/m", "3", 1, -1, CB));
	RUN("set m again", zkclient_set_data(c, "/m", "4", 1, -1, CB));
	RUN("delete w/x/y", zkclient_delete(c, "/w/x/y", -1, CB));
	RUN("checkWatches none", zkclient_check_watches(c, "/t", ZK_WATCHER_DATA, CB));
	RUN("get watch again", zkclient_get_data(c, "/later", true, CB));
	RUN("checkWatches data", zkclient_check_watches(c, "/later", ZK_WATCHER_DATA, CB));
	RUN("removeWatches data", zkclient_remove_watches(c, "/later", ZK_WATCHER_DATA, false,
							  CB));
	RUN("removeWatches persistent", zkclient_remove_watches(c, "/m", ZK_WATCHER_ANY, false,
								CB));
	RUN("set m after remove", zkclient_set_data(c, "/m", "5", 1, -1, CB));
	RUN("removeWatches local", zkclient_remove_watches(c, "/w", ZK_WATCHER_ANY, true, CB));
}

static void config(struct zkclient *c)
{
	struct zkclient_wait w;
	int err;

	/* Only the outcome: the text differs between servers. */
	zkclient_wait_init(&w, NULL, NULL);
	err = zkclient_get_config(c, false, CB) == 0 ? zkclient_wait(&w) : -1;
	printf("getConfig: %s\n", zk_err_name(err));
}

static void chroot_session(const char *hosts)
{
	char with[512];
	struct zkclient *c;

	snprintf(with, sizeof(with), "%s/w", hosts);
	c = open_session(with);
	RUN("chroot create", zkclient_create(c, "/cr", NULL, -1, NULL, ZK_MODE_EPHEMERAL, 0, false,
					     CB));
	RUN("chroot children", zkclient_get_children(c, "/", false, false, CB));
	RUN("chroot ephemerals", zkclient_get_ephemerals(c, "/", CB));
	RUN("chroot multi", zkclient_multi(c, (struct jute_multi_op[]){{.type = ZK_OP_CREATE,
				.u.create = {{"/cm-", 4}, {NULL, -1}, zkclient_acl_open,
					     ZK_MODE_PERSISTENT_SEQUENTIAL}}}, 1, false, CB));
	zkclient_close(c);
}

int main(int argc, char **argv)
{
	struct zkclient *c;
	char *answer = NULL;
	size_t len;

	if (argc != 2 && argc != 6) {
		fprintf(stderr, "usage: zkclient_ops HOST:PORT [--tls CA CERT KEY]\n");
		return 2;
	}
	/* Warnings (a refused certificate) go to stderr; stdout is the verdict. */
	zk_log_open(NULL, ZK_LOG_LEVEL_WARN);
	zkclient_config_init(&cfg);
	cfg.session_ms = 10000;
	cfg.watch_cb = print_event;
	if (argc == 6) {
		cfg.tls = true;
		cfg.tls_ca = argv[3];
		cfg.tls_cert = argv[4];
		cfg.tls_key = argv[5];
	}
	c = open_session(argv[1]);
	nodes(c);
	acls(c);
	multis(c);
	watches(c);
	config(c);
	zkclient_close(c);
	chroot_session(argv[1]);
	if (!cfg.tls && zkclient_fourlw(argv[1], "ruok", 5000, &answer, &len) == 0)
		printf("ruok: %s\n", answer);
	free(answer);
	return 0;
}
