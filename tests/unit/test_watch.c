/* Unit tests of zkfsd/watch.c: ZooKeeper's trigger rules for one-shot, persistent and
 * recursive watches, suppression of duplicate events on delete, removal, and setWatches with a
 * relative zxid. The connection's event sink and the store's exists() are replaced here by
 * recorders, so only watch.c is under test. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "zkfsd/zkfsd_int.h"

/* ---- Fakes ---------------------------------------------------------------------------------- */

struct event {
	struct conn *conn; /* Receiver. */
	int type;	   /* ZK_EVENT_*. */
	char path[64];	   /* Node. */
};

static struct event events[64];
static int n_events;

void conn_send_event(struct conn *conn, int type, const char *path, int64_t zxid)
{
	(void)zxid;
	assert_true(n_events < 64);
	events[n_events].conn = conn;
	events[n_events].type = type;
	snprintf(events[n_events].path, sizeof(events[n_events].path), "%s", path);
	n_events++;
}

/* A tiny fake tree for setWatches: path -> stat. */
static struct {
	const char *path;
	struct zk_stat st;
} nodes[8];
static int n_nodes;

int store_exists(const struct store *s, const char *path, struct zk_stat *stat)
{
	(void)s;
	for (int i = 0; i < n_nodes; i++)
		if (strcmp(nodes[i].path, path) == 0) {
			*stat = nodes[i].st;
			return ZK_ERR_OK;
		}
	return ZK_ERR_NONODE;
}

int64_t store_last_zxid(const struct store *s)
{
	(void)s;
	return 100;
}

/* Refusals (server.c): counted only. */
static int n_refused;

void server_refuse(struct zkfsd *srv, enum zkfsd_refusal r, const char *fmt, ...)
{
	(void)srv;
	(void)fmt;
	assert_int_equal(r, ZKFSD_REFUSED_WATCHES);
	n_refused++;
}

/* ---- Fixture -------------------------------------------------------------------------------- */

struct fixture {
	struct zkfsd srv;  /* Only the watch tables and conns list are used. */
	struct conn a, b;  /* Two clients. */
	struct config cfg; /* Only the watch limits are used. */
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_int_equal(watch_table_init(&f->srv.data_watches), 0);
	assert_int_equal(watch_table_init(&f->srv.child_watches), 0);
	f->a.next = &f->b;
	f->srv.conns = &f->a;
	f->cfg.max_watches = 1000000;
	f->cfg.max_watch_bytes = 1 << 30;
	f->srv.cfg = &f->cfg;
	n_events = 0;
	n_refused = 0;
	n_nodes = 0;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	watch_drop_conn(&f->srv, &f->a);
	watch_drop_conn(&f->srv, &f->b);
	assert_int_equal(f->srv.data_watches.count + f->srv.child_watches.count, 0);
	watch_table_close(&f->srv.data_watches);
	watch_table_close(&f->srv.child_watches);
	free(f);
	return 0;
}

static void assert_event(int i, struct conn *conn, int type, const char *path)
{
	assert_true(i < n_events);
	assert_ptr_equal(events[i].conn, conn);
	assert_int_equal(events[i].type, type);
	assert_string_equal(events[i].path, path);
}

#define DATA(f) (&(f)->srv.data_watches)
#define CHILD(f) (&(f)->srv.child_watches)

/* ---- Tests ---------------------------------------------------------------------------------- */

/* A one-shot data watch fires once, then is gone. */
static void test_one_shot(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(watch_add(&f->srv, DATA(f), &f->a, "/x", WATCH_STANDARD), 0);
	watch_on_event(&f->srv, ZK_EVENT_NODE_DATA_CHANGED, "/x", 5);
	watch_on_event(&f->srv, ZK_EVENT_NODE_DATA_CHANGED, "/x", 6);
	assert_int_equal(n_events, 1);
	assert_event(0, &f->a, ZK_EVENT_NODE_DATA_CHANGED, "/x");
	assert_int_equal(DATA(f)->count, 0);
}

/* Registering the same watch twice still fires once (ZooKeeper keeps a set). */
static void test_duplicate_registration(void **state)
{
	struct fixture *f = *state;

	watch_add(&f->srv, DATA(f), &f->a, "/x", WATCH_STANDARD);
	watch_add(&f->srv, DATA(f), &f->a, "/x", WATCH_STANDARD);
	watch_on_event(&f->srv, ZK_EVENT_NODE_CREATED, "/x", 5);
	assert_int_equal(n_events, 1);
}

/* Deleting a node fires NodeDeleted once per connection even when it has both a data and a
 * child watch on it; the parent's child watch gets NodeChildrenChanged. */
static void test_delete_suppresses_duplicates(void **state)
{
	struct fixture *f = *state;

	watch_add(&f->srv, DATA(f), &f->a, "/p/c", WATCH_STANDARD);
	watch_add(&f->srv, CHILD(f), &f->a, "/p/c", WATCH_STANDARD);
	watch_add(&f->srv, CHILD(f), &f->b, "/p/c", WATCH_STANDARD);
	watch_add(&f->srv, CHILD(f), &f->b, "/p", WATCH_STANDARD);
	watch_on_event(&f->srv, ZK_EVENT_NODE_DELETED, "/p/c", 7);
	watch_on_event(&f->srv, ZK_EVENT_NODE_CHILDREN_CHANGED, "/p", 7);
	assert_int_equal(n_events, 3);
	assert_event(0, &f->a, ZK_EVENT_NODE_DELETED, "/p/c");
	assert_event(1, &f->b, ZK_EVENT_NODE_DELETED, "/p/c");
	assert_event(2, &f->b, ZK_EVENT_NODE_CHILDREN_CHANGED, "/p");
	assert_int_equal(DATA(f)->count + CHILD(f)->count, 0);
}

/* The one-event-per-connection rule holds for any number of connections. */
static void test_delete_many_connections(void **state)
{
	struct fixture *f = *state;
	struct conn *c = calloc(40, sizeof(*c));

	assert_non_null(c);
	for (int i = 0; i < 40; i++) {
		watch_add(&f->srv, DATA(f), &c[i], "/x", WATCH_STANDARD);
		watch_add(&f->srv, CHILD(f), &c[i], "/x", WATCH_PERSISTENT);
	}
	watch_on_event(&f->srv, ZK_EVENT_NODE_DELETED, "/x", 5);
	for (int i = 0; i < 40; i++) {
		int got = 0;

		for (int e = 0; e < n_events; e++)
			got += events[e].conn == &c[i];
		watch_drop_conn(&f->srv, &c[i]);
		assert_int_equal(got, 1);
	}
	assert_int_equal(n_events, 40);
	free(c);
}

/* Data events do not reach child watches, child events do not reach data watches. */
static void test_tables_are_separate(void **state)
{
	struct fixture *f = *state;

	watch_add(&f->srv, CHILD(f), &f->a, "/x", WATCH_STANDARD);
	watch_add(&f->srv, DATA(f), &f->b, "/x", WATCH_STANDARD);
	watch_on_event(&f->srv, ZK_EVENT_NODE_DATA_CHANGED, "/x", 5);
	watch_on_event(&f->srv, ZK_EVENT_NODE_CHILDREN_CHANGED, "/x", 6);
	assert_int_equal(n_events, 2);
	assert_event(0, &f->b, ZK_EVENT_NODE_DATA_CHANGED, "/x");
	assert_event(1, &f->a, ZK_EVENT_NODE_CHILDREN_CHANGED, "/x");
}

/* A persistent watch fires every time, on its own path only. */
static void test_persistent(void **state)
{
	struct fixture *f = *state;

	watch_add(&f->srv, DATA(f), &f->a, "/x", WATCH_PERSISTENT);
	watch_add(&f->srv, CHILD(f), &f->a, "/x", WATCH_PERSISTENT);
	watch_on_event(&f->srv, ZK_EVENT_NODE_DATA_CHANGED, "/x", 5);
	watch_on_event(&f->srv, ZK_EVENT_NODE_DATA_CHANGED, "/x", 6);
	watch_on_event(&f->srv, ZK_EVENT_NODE_CHILDREN_CHANGED, "/x", 7);
	watch_on_event(&f->srv, ZK_EVENT_NODE_CREATED, "/x/y", 8);
	assert_int_equal(n_events, 3);
	assert_event(2, &f->a, ZK_EVENT_NODE_CHILDREN_CHANGED, "/x");
}

/* A recursive watch sees creates, changes and deletes below it with their own paths, but no
 * NodeChildrenChanged (ZooKeeper keeps recursive watches in the data table only). */
static void test_recursive(void **state)
{
	struct fixture *f = *state;

	watch_add(&f->srv, DATA(f), &f->a, "/r", WATCH_RECURSIVE);
	watch_on_event(&f->srv, ZK_EVENT_NODE_CREATED, "/r/a/b", 5);
	watch_on_event(&f->srv, ZK_EVENT_NODE_CHILDREN_CHANGED, "/r/a", 5);
	watch_on_event(&f->srv, ZK_EVENT_NODE_DATA_CHANGED, "/r", 6);
	watch_on_event(&f->srv, ZK_EVENT_NODE_DELETED, "/r/a/b", 7);
	watch_on_event(&f->srv, ZK_EVENT_NODE_CREATED, "/rx", 8);
	assert_int_equal(n_events, 3);
	assert_event(0, &f->a, ZK_EVENT_NODE_CREATED, "/r/a/b");
	assert_event(1, &f->a, ZK_EVENT_NODE_DATA_CHANGED, "/r");
	assert_event(2, &f->a, ZK_EVENT_NODE_DELETED, "/r/a/b");
}

/* A recursive watch on "/" sees everything. */
static void test_recursive_root(void **state)
{
	struct fixture *f = *state;

	watch_add(&f->srv, DATA(f), &f->a, "/", WATCH_RECURSIVE);
	watch_on_event(&f->srv, ZK_EVENT_NODE_CREATED, "/a", 5);
	watch_on_event(&f->srv, ZK_EVENT_NODE_CREATED, "/a/b/c", 6);
	assert_int_equal(n_events, 2);
}

/* removeWatches/checkWatches by type; NoWatcher is reported as false. */
static void test_remove(void **state)
{
	struct fixture *f = *state;

	watch_add(&f->srv, DATA(f), &f->a, "/x", WATCH_STANDARD);
	watch_add(&f->srv, CHILD(f), &f->a, "/x", WATCH_STANDARD);
	assert_true(watch_remove(&f->srv, &f->a, "/x", ZK_WATCHER_DATA, true));
	assert_false(watch_remove(&f->srv, &f->b, "/x", ZK_WATCHER_ANY, true));
	assert_true(watch_remove(&f->srv, &f->a, "/x", ZK_WATCHER_CHILDREN, false));
	assert_false(watch_remove(&f->srv, &f->a, "/x", ZK_WATCHER_CHILDREN, false));
	assert_true(watch_remove(&f->srv, &f->a, "/x", ZK_WATCHER_ANY, false));
	assert_int_equal(DATA(f)->count + CHILD(f)->count, 0);
	watch_on_event(&f->srv, ZK_EVENT_NODE_DATA_CHANGED, "/x", 5);
	assert_int_equal(n_events, 0);
}

/* setWatches fires what was missed since relative_zxid (DataTree.setWatches) and registers the
 * rest. */
static void test_set_watches(void **state)
{
	struct fixture *f = *state;
	struct jute_str d[] = {{"/old", 4}, {"/new", 4}, {"/gone", 5}};
	struct jute_str e[] = {{"/new", 4}, {"/none", 5}};
	struct jute_str c[] = {{"/old", 4}, {"/new", 4}};
	struct jute_set_watches2 sw = {.relative_zxid = 10,
				       .data_watches = {3, d},
				       .exist_watches = {2, e},
				       .child_watches = {2, c},
				       .persistent_watches = {0, NULL},
				       .persistent_recursive_watches = {0, NULL}};

	nodes[n_nodes++] = (typeof(nodes[0])){"/old", {.mzxid = 5, .pzxid = 5}};
	nodes[n_nodes++] = (typeof(nodes[0])){"/new", {.mzxid = 20, .pzxid = 20}};
	assert_int_equal(watch_set(&f->srv, &f->a, &sw), 0);
	assert_int_equal(n_events, 4);
	assert_event(0, &f->a, ZK_EVENT_NODE_DATA_CHANGED, "/new");
	assert_event(1, &f->a, ZK_EVENT_NODE_DELETED, "/gone");
	assert_event(2, &f->a, ZK_EVENT_NODE_CREATED, "/new");
	assert_event(3, &f->a, ZK_EVENT_NODE_CHILDREN_CHANGED, "/new");
	/* Registered: data /old, exist /none, child /old. */
	assert_int_equal(DATA(f)->count, 2);
	assert_int_equal(CHILD(f)->count, 1);
	watch_on_event(&f->srv, ZK_EVENT_NODE_CREATED, "/none", 30);
	assert_event(4, &f->a, ZK_EVENT_NODE_CREATED, "/none");
}

/* Many watches (table growth) all fire and all go away. */
static void test_many(void **state)
{
	struct fixture *f = *state;
	char path[32];

	for (int i = 0; i < 2000; i++) {
		snprintf(path, sizeof(path), "/n%d", i);
		assert_int_equal(watch_add(&f->srv, DATA(f), &f->a, path, WATCH_STANDARD), 0);
	}
	assert_int_equal(watch_count_conn(&f->a), 2000);
	watch_on_event(&f->srv, ZK_EVENT_NODE_DATA_CHANGED, "/n1999", 5);
	assert_int_equal(n_events, 1);
	assert_int_equal(DATA(f)->count, 1999);
}

/* A connection holding its limit of watches, or of their path bytes, gets -EDQUOT for a new
 * one (counted as a refusal); re-registering a watch it holds is no new watch; dropping one
 * makes room again. */
static void test_limits(void **state)
{
	struct fixture *f = *state;

	f->cfg.max_watches = 2;
	f->cfg.max_watch_bytes = 8;
	assert_int_equal(watch_add(&f->srv, DATA(f), &f->a, "/a", WATCH_STANDARD), 0);
	assert_int_equal(watch_add(&f->srv, DATA(f), &f->a, "/b", WATCH_STANDARD), 0);
	assert_int_equal(watch_add(&f->srv, DATA(f), &f->a, "/c", WATCH_STANDARD), -EDQUOT);
	assert_int_equal(watch_add(&f->srv, DATA(f), &f->a, "/a", WATCH_PERSISTENT), 0);
	assert_int_equal(n_refused, 1);
	assert_int_equal(watch_error(-EDQUOT), ZK_ERR_QUOTAEXCEEDED);
	watch_on_event(&f->srv, ZK_EVENT_NODE_DATA_CHANGED, "/b", 5);
	assert_int_equal(watch_count_conn(&f->a), 1);
	assert_int_equal(f->a.watch_bytes, 2);
	assert_int_equal(watch_add(&f->srv, DATA(f), &f->a, "/long-path", WATCH_STANDARD), -EDQUOT);
	assert_int_equal(watch_add(&f->srv, DATA(f), &f->a, "/c", WATCH_STANDARD), 0);
	assert_int_equal(watch_add(&f->srv, DATA(f), &f->b, "/c", WATCH_STANDARD), 0);
	assert_int_equal(n_refused, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_one_shot, setup, teardown),
		cmocka_unit_test_setup_teardown(test_duplicate_registration, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delete_suppresses_duplicates, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delete_many_connections, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tables_are_separate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_persistent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_recursive, setup, teardown),
		cmocka_unit_test_setup_teardown(test_recursive_root, setup, teardown),
		cmocka_unit_test_setup_teardown(test_remove, setup, teardown),
		cmocka_unit_test_setup_teardown(test_set_watches, setup, teardown),
		cmocka_unit_test_setup_teardown(test_many, setup, teardown),
		cmocka_unit_test_setup_teardown(test_limits, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
