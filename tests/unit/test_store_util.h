/* test_store_util.h: fixture and step helpers shared by the store's cmocka tests. A fixture
 * owns a store whose events are recorded; each helper applies one txn at the next zxid (time =
 * 1000 * zxid) and returns the ZooKeeper error code. */
#ifndef TEST_STORE_UTIL_H
#define TEST_STORE_UTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/zk_alloc.h"
#include "store/store.h"

#define T_MAX_EVENTS 256

struct t_event {
	int type;
	char path[128];
	int64_t zxid;
};

struct fixture {
	struct store *s;
	struct t_event ev[T_MAX_EVENTS];
	int n_ev;
	int64_t zxid;
	int64_t session; /* Session of the txns the helpers make (0 = server-made). */
	char path[256];	 /* Last created path. */
};

static const struct store_acl t_acl_open[] = {{ZK_PERM_ALL, "world", "anyone"}};

static inline void t_on_event(void *ctx, int type, const char *path, int64_t zxid)
{
	struct fixture *f = ctx;

	assert_true(f->n_ev < T_MAX_EVENTS);
	f->ev[f->n_ev].type = type;
	snprintf(f->ev[f->n_ev].path, sizeof(f->ev[f->n_ev].path), "%s", path);
	f->ev[f->n_ev].zxid = zxid;
	f->n_ev++;
}

static inline int t_setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_int_equal(store_create(NULL, t_on_event, f, &f->s), 0);
	*state = f;
	return 0;
}

static inline int t_teardown(void **state)
{
	struct fixture *f = *state;

	zk_alloc_fault_set(0, 0);
	assert_int_equal(store_check(f->s), 0);
	store_destroy(f->s);
	free(f);
	return 0;
}

static inline struct store_op t_op(int type, const char *path)
{
	struct store_op op = {.type = type, .path = path, .data_len = -1, .version = -1,
			      .mode = ZK_MODE_PERSISTENT, .ttl = -1, .acl = t_acl_open, .n_acl = 1};
	return op;
}

static inline struct store_txn t_txn(const struct fixture *f, int type)
{
	struct store_txn txn = {.type = type, .session_id = f->session, .xid = 1};
	return txn;
}

/* Apply @txn at the next zxid; the result stays in @res (caller frees). */
static inline void t_apply_res(struct fixture *f, struct store_txn *txn, struct store_result *res)
{
	f->zxid++;
	txn->time_ms = 1000 * f->zxid;
	assert_int_equal(store_apply(f->s, f->zxid, txn, res), 0);
	assert_int_equal(store_last_zxid(f->s), f->zxid);
}

/* Apply a single-op txn; a created path is copied to f->path. */
static inline int t_apply_op(struct fixture *f, const struct store_op *op)
{
	struct store_txn txn = t_txn(f, op->type);
	struct store_result res;
	int err;

	txn.op = *op;
	t_apply_res(f, &txn, &res);
	err = res.err;
	if (res.path != NULL)
		snprintf(f->path, sizeof(f->path), "%s", res.path);
	store_result_free(&res);
	return err;
}

static inline int t_create(struct fixture *f, const char *path, int mode, const char *data)
{
	struct store_op op = t_op(ZK_OP_CREATE, path);

	op.mode = mode;
	op.data = (const uint8_t *)data;
	op.data_len = data != NULL ? (int32_t)strlen(data) : -1;
	return t_apply_op(f, &op);
}

static inline int t_delete(struct fixture *f, const char *path, int32_t version)
{
	struct store_op op = t_op(ZK_OP_DELETE, path);

	op.version = version;
	return t_apply_op(f, &op);
}

static inline int t_set(struct fixture *f, const char *path, const char *data, int32_t version)
{
	struct store_op op = t_op(ZK_OP_SET_DATA, path);

	op.data = (const uint8_t *)data;
	op.data_len = data != NULL ? (int32_t)strlen(data) : -1;
	op.version = version;
	return t_apply_op(f, &op);
}

static inline void t_session_open(struct fixture *f, int64_t id)
{
	struct store_txn txn = t_txn(f, ZK_OP_CREATE_SESSION);
	struct store_result res;

	txn.session_id = id;
	txn.session_timeout_ms = 6000;
	memset(txn.passwd, 0x5a, sizeof(txn.passwd));
	t_apply_res(f, &txn, &res);
	assert_int_equal(res.err, 0);
	store_result_free(&res);
}

static inline void t_session_close(struct fixture *f, int64_t id)
{
	struct store_txn txn = t_txn(f, ZK_OP_CLOSE_SESSION);
	struct store_result res;

	txn.session_id = id;
	t_apply_res(f, &txn, &res);
	assert_int_equal(res.err, 0);
	store_result_free(&res);
}

static inline struct zk_stat t_stat(const struct fixture *f, const char *path)
{
	struct zk_stat st;

	assert_int_equal(store_exists(f->s, path, &st), ZK_ERR_OK);
	return st;
}

static inline void t_expect_event(const struct fixture *f, int i, int type, const char *path)
{
	assert_true(i < f->n_ev);
	assert_int_equal(f->ev[i].type, type);
	assert_string_equal(f->ev[i].path, path);
}

#endif
