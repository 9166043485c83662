/* test_repl_util.h: shared fixture of the replication tests: a loop, a store, a repl on a
 * data dir, helpers that drive the loop to a deadline (never a sleep), and a record of the
 * store digest after every applied zxid (to check that a recovered store is a true prefix). */
#ifndef TEST_REPL_UTIL_H
#define TEST_REPL_UTIL_H

#include <dirent.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/zk_alloc.h"
#include "common/zk_buf.h"
#include "replication/replication.h"
#include "store/store.h"

#define TR_MAX_ZXID 20000

struct tr_node {
	uv_loop_t *loop;
	struct repl_config cfg;
	struct store *store;
	struct repl *repl;
	int64_t last_zxid_seen;	    /* applied_cb: last zxid (checks log order). */
	uint64_t n_applied;
	uint64_t *digest_at;	    /* digest_at[zxid] after applying zxid (0 = not seen). */
	bool *seen_xid;		    /* applied_cb saw the txn with this xid. */
	int early_done;		    /* Requests completed before their applied_cb (must stay 0). */
	int op_errors;		    /* Applied txns whose result was a ZooKeeper error. */
	bool closed;
};

static inline void tr_applied(void *ctx, int64_t zxid, const struct store_txn *txn,
			      const struct store_result *res)
{
	struct tr_node *n = ctx;

	n->op_errors += res->err != 0;
	if (txn->xid >= 0 && txn->xid < TR_MAX_ZXID)
		n->seen_xid[txn->xid] = true;
	assert_true(zxid > n->last_zxid_seen);
	n->last_zxid_seen = zxid;
	n->n_applied++;
	if (zxid < TR_MAX_ZXID)
		n->digest_at[zxid] = store_digest(n->store);
}

static inline void tr_tick(uv_timer_t *t)
{
	(void)t;
}

static inline void tr_handle_closed(uv_handle_t *h)
{
	*(bool *)h->data = true;
}

/* Close @h (its data pointer is overwritten) and run @loop until it is closed. */
static inline void tr_close_handle(uv_loop_t *loop, uv_handle_t *h)
{
	bool closed = false;

	h->data = &closed;
	uv_close(h, tr_handle_closed);
	while (!closed)
		uv_run(loop, UV_RUN_ONCE);
}

/* Run @loop until *@flag is true or @ms elapse; returns *@flag. */
static inline bool tr_run_until(uv_loop_t *loop, const bool *flag, unsigned ms)
{
	uint64_t deadline = uv_hrtime() + (uint64_t)ms * 1000000;
	uv_timer_t t;

	/* A timer keeps uv_run from blocking forever when nothing else is pending. */
	uv_timer_init(loop, &t);
	uv_timer_start(&t, tr_tick, 10, 10);
	while (!*flag && uv_hrtime() < deadline)
		uv_run(loop, UV_RUN_ONCE);
	tr_close_handle(loop, (uv_handle_t *)&t);
	return *flag;
}

/* Run @loop until @pred(@arg) or @ms elapse; returns pred(arg). */
static inline bool tr_run_until_pred(uv_loop_t *loop, bool (*pred)(void *arg), void *arg,
				     unsigned ms)
{
	uint64_t deadline = uv_hrtime() + (uint64_t)ms * 1000000;
	uv_timer_t t;

	uv_timer_init(loop, &t);
	uv_timer_start(&t, tr_tick, 10, 10);
	while (!pred(arg) && uv_hrtime() < deadline)
		uv_run(loop, UV_RUN_ONCE);
	tr_close_handle(loop, (uv_handle_t *)&t);
	return pred(arg);
}

static inline void tr_node_init(struct tr_node *n, uv_loop_t *loop, const char *dir)
{
	memset(n, 0, sizeof(*n));
	n->loop = loop;
	repl_config_init(&n->cfg);
	n->cfg.data_dir = dir;
	n->digest_at = calloc(TR_MAX_ZXID, sizeof(uint64_t));
	n->seen_xid = calloc(TR_MAX_ZXID, sizeof(bool));
	assert_non_null(n->digest_at);
	assert_non_null(n->seen_xid);
}

/* Create the store and the repl and start it; returns repl_start's code. */
static inline int tr_node_open(struct tr_node *n)
{
	int rv;

	n->last_zxid_seen = 0;
	n->closed = false;
	assert_int_equal(store_create(NULL, NULL, NULL, &n->store), 0);
	rv = repl_create(n->loop, &n->cfg, n->store, tr_applied, n, &n->repl);
	if (rv != 0)
		return rv;
	return repl_start(n->repl);
}

/* The node being closed (tests close one node at a time). */
static struct tr_node *tr_closing;

static inline void tr_closed_cb(struct repl *r)
{
	(void)r;
	tr_closing->closed = true;
}

static inline void tr_node_close(struct tr_node *n)
{
	if (n->repl == NULL) {
		store_destroy(n->store);
		n->store = NULL;
		return;
	}
	tr_closing = n;
	n->closed = false;
	repl_close(n->repl, tr_closed_cb);
	n->repl = NULL;
	/* repl_close completes on later iterations (other nodes may share the loop). */
	assert_true(tr_run_until(n->loop, &n->closed, 10000));
	store_destroy(n->store);
	n->store = NULL;
}

static inline void tr_node_fini(struct tr_node *n)
{
	tr_node_close(n);
	free(n->digest_at);
	free(n->seen_xid);
}

/* Data of the creates tr_txn makes: "data" unless a test sets tr_data_len (at most 64 KiB). */
static uint8_t tr_data[1 << 16] = "data";
static int32_t tr_data_len = 4;

static inline void tr_txn(struct store_txn *txn, const char *path, int32_t xid)
{
	static const struct store_acl world = {31, "world", "anyone"};

	memset(txn, 0, sizeof(*txn));
	txn->type = ZK_OP_CREATE;
	txn->session_id = 0; /* no session: the real store refuses unknown ones */
	txn->xid = xid;
	txn->time_ms = 1700000000000LL + xid;
	txn->op.type = ZK_OP_CREATE;
	txn->op.path = path;
	txn->op.data = tr_data;
	txn->op.data_len = tr_data_len;
	txn->op.version = -1;
	txn->op.ttl = -1;
	txn->op.acl = &world;
	txn->op.n_acl = 1;
}

struct tr_batch {
	struct tr_node *node;
	int first, n, done, failed;
	bool all_done;
	struct repl_req *reqs;
};

static inline void tr_batch_cb(struct repl_req *req, int status)
{
	struct tr_batch *b = req->data;

	long i = req - b->reqs;

	b->done++;
	b->failed += status != 0;
	if (status == 0 && !b->node->seen_xid[b->first + i])
		b->node->early_done++;
	b->all_done = b->done == b->n;
}

/* repl_hooks.build of the tests: a forwarded "request" is the encoded txn itself (zkfsd's hook
 * decodes a client request instead). */
static inline int tr_build(void *ctx, const struct repl_client_req *in, struct zk_buf *txn,
			   struct repl_req *res)
{
	(void)ctx;
	(void)res;
	return zk_buf_append(txn, in->body, in->len);
}

/* Hand @txn to @node's repl: appended on the leader, forwarded as a request elsewhere. */
static inline int tr_submit(struct tr_node *node, struct repl_req *req,
			    const struct store_txn *txn, repl_req_cb cb)
{
	struct zk_buf b;
	struct repl_client_req in = {0};
	int rv;

	if (repl_role(node->repl) == REPL_LEADER)
		return repl_submit(node->repl, req, txn, cb);
	zk_buf_init(&b);
	assert_int_equal(store_txn_encode(txn, &b), 0);
	in.body = b.data;
	in.len = b.len;
	in.session_id = txn->session_id;
	rv = repl_forward(node->repl, req, &in, cb);
	zk_buf_close(&b);
	return rv;
}

/* Submit @n creates of /prefix-i (xids @first...) at once and wait for all; returns the
 * number that failed. */
static inline int tr_submit_n(struct tr_node *node, const char *prefix, int first, int n,
			      unsigned ms)
{
	struct tr_batch b = {.node = node, .first = first, .n = n};
	char path[64];
	int i;

	b.reqs = calloc((size_t)n, sizeof(*b.reqs));
	assert_non_null(b.reqs);
	for (i = 0; i < n; i++) {
		struct store_txn txn;
		snprintf(path, sizeof(path), "/%s-%d", prefix, i);
		tr_txn(&txn, path, first + i);
		b.reqs[i].data = &b;
		assert_int_equal(tr_submit(node, &b.reqs[i], &txn, tr_batch_cb), 0);
	}
	assert_true(tr_run_until(node->loop, &b.all_done, ms));
	free(b.reqs);
	return b.failed;
}

/* Make a fresh temporary directory; returns a malloc'ed path. */
static inline char *tr_tmpdir(const char *tag)
{
	char tmpl[256];
	char *p;

	snprintf(tmpl, sizeof(tmpl), "/tmp/zkfs-%s-XXXXXX", tag);
	p = mkdtemp(tmpl);
	assert_non_null(p);
	return strdup(p);
}

static inline void tr_rmdir(const char *dir)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

#endif
