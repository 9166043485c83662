/* test_store_layout.c: cmocka tests of the compact node layout (store_int.h) through the public
 * calls: a node's data room holds its creation data, a data block pointer or its children's
 * table pointer, and the aversion lives in the data block. Each test checks what a client sees
 * (data, stat), the digest, store_check and a snapshot round trip across the transitions:
 * first child, setData, setACL, and a multi rolled back after any of them. */
#include "tests/unit/test_store_util.h"

#define T_LONG "creation data longer than a pointer"

static void t_expect_data(const struct fixture *f, const char *path, const char *want)
{
	const uint8_t *data;
	int32_t len;
	struct zk_stat st;

	assert_int_equal(store_get_data(f->s, path, &data, &len, &st), ZK_ERR_OK);
	if (want == NULL) {
		assert_int_equal(len, -1);
		return;
	}
	assert_int_equal(len, (int32_t)strlen(want));
	assert_memory_equal(data, want, strlen(want));
}

/* The snapshot of @f loads into a fresh store with the same digest and the same stat of @path. */
static void t_round_trip(const struct fixture *f, const char *path)
{
	struct store *s2;
	struct zk_buf b;
	struct zk_stat a = {0}, c = {0};

	zk_buf_init(&b);
	assert_int_equal(store_snapshot_write(f->s, &b), 0);
	assert_int_equal(store_create(NULL, NULL, NULL, &s2), 0);
	assert_int_equal(store_snapshot_load(s2, b.data, b.len), 0);
	assert_int_equal(store_digest(s2), store_digest(f->s));
	assert_int_equal(store_exists(f->s, path, &a), ZK_ERR_OK);
	assert_int_equal(store_exists(s2, path, &c), ZK_ERR_OK);
	assert_memory_equal(&a, &c, sizeof(a));
	assert_int_equal(store_check(s2), 0);
	store_destroy(s2);
	zk_buf_close(&b);
}

static void t_expect_same_stat(const struct zk_stat *a, const struct zk_stat *b)
{
	assert_int_equal(a->czxid, b->czxid);
	assert_int_equal(a->mzxid, b->mzxid);
	assert_int_equal(a->pzxid, b->pzxid);
	assert_int_equal(a->ctime, b->ctime);
	assert_int_equal(a->mtime, b->mtime);
	assert_int_equal(a->version, b->version);
	assert_int_equal(a->cversion, b->cversion);
	assert_int_equal(a->aversion, b->aversion);
	assert_int_equal(a->data_length, b->data_length);
	assert_int_equal(a->num_children, b->num_children);
}

/* Apply @ops as one multi; returns its error. */
static int t_multi(struct fixture *f, struct store_op *ops, int n_ops)
{
	struct store_txn txn = t_txn(f, ZK_OP_MULTI);
	struct store_result res;
	int err;

	txn.ops = ops;
	txn.n_ops = n_ops;
	t_apply_res(f, &txn, &res);
	err = res.err;
	store_result_free(&res);
	return err;
}

static int t_set_acl(struct fixture *f, const char *path, int32_t version)
{
	static const struct store_acl acl[] = {{ZK_PERM_ALL, "digest", "u:p"}};
	struct store_op op = t_op(ZK_OP_SET_ACL, path);

	op.acl = acl;
	op.version = version;
	return t_apply_op(f, &op);
}

/* A first child moves the creation data into a data block: the parent's data, mzxid, mtime
 * and version read as before, and go on doing so once the child is gone. */
static void test_first_child_keeps_data(void **state)
{
	struct fixture *f = *state;
	struct zk_stat before, after;

	assert_int_equal(t_create(f, "/p", ZK_MODE_PERSISTENT, T_LONG), 0);
	assert_int_equal(t_create(f, "/q", ZK_MODE_PERSISTENT, NULL), 0);
	before = t_stat(f, "/p");
	assert_int_equal(t_create(f, "/p/c", ZK_MODE_PERSISTENT, "x"), 0);
	assert_int_equal(t_create(f, "/q/c", ZK_MODE_PERSISTENT, "x"), 0);
	t_expect_data(f, "/p", T_LONG);
	t_expect_data(f, "/q", NULL);
	after = t_stat(f, "/p");
	assert_int_equal(after.mzxid, before.czxid);
	assert_int_equal(after.mtime, before.ctime);
	assert_int_equal(after.version, 0);
	assert_int_equal(after.aversion, 0);
	assert_int_equal(after.num_children, 1);
	assert_int_equal(after.pzxid, f->zxid - 1);
	assert_int_equal(t_delete(f, "/p/c", -1), 0);
	t_expect_data(f, "/p", T_LONG);
	assert_int_equal(t_set(f, "/q", "now some data", 0), 0);
	t_expect_data(f, "/q", "now some data");
	assert_int_equal(store_check(f->s), 0);
	t_round_trip(f, "/p");
	t_round_trip(f, "/q");
}

/* setACL keeps its aversion through setData (a new data block), a first child, a rolled back
 * multi and a snapshot; a node without data gets one too. */
static void test_aversion_follows_data(void **state)
{
	struct fixture *f = *state;
	struct store_op ops[2];
	uint64_t digest;

	assert_int_equal(t_create(f, "/a", ZK_MODE_PERSISTENT, T_LONG), 0);
	assert_int_equal(t_set_acl(f, "/a", 0), 0);
	assert_int_equal(t_stat(f, "/a").aversion, 1);
	assert_int_equal(t_stat(f, "/a").mzxid, t_stat(f, "/a").czxid);
	t_expect_data(f, "/a", T_LONG);
	assert_int_equal(t_set(f, "/a", "v1", 0), 0);
	assert_int_equal(t_stat(f, "/a").aversion, 1);
	digest = store_digest(f->s);
	ops[0] = t_op(ZK_OP_SET_DATA, "/a");
	ops[0].data = (const uint8_t *)"v2";
	ops[0].data_len = 2;
	ops[1] = t_op(ZK_OP_CHECK, "/a");
	ops[1].version = 7;
	assert_int_equal(t_multi(f, ops, 2), ZK_ERR_BADVERSION);
	assert_int_equal(store_digest(f->s), digest);
	t_expect_data(f, "/a", "v1");
	assert_int_equal(t_stat(f, "/a").aversion, 1);
	assert_int_equal(t_create(f, "/a/k", ZK_MODE_PERSISTENT, NULL), 0);
	assert_int_equal(t_set_acl(f, "/a", 0), ZK_ERR_BADVERSION);
	assert_int_equal(t_set_acl(f, "/a", 1), 0);
	assert_int_equal(t_stat(f, "/a").aversion, 2);
	t_expect_data(f, "/a", "v1");
	/* A parent without data, and a leaf with null data. */
	assert_int_equal(t_set_acl(f, "/a/k", -1), 0);
	assert_int_equal(t_set_acl(f, "/zookeeper", -1), 0);
	assert_int_equal(t_stat(f, "/zookeeper").aversion, 1);
	assert_int_equal(t_stat(f, "/a/k").aversion, 1);
	t_expect_data(f, "/a/k", NULL);
	assert_int_equal(t_stat(f, "/zookeeper/config").aversion, -1);
	assert_int_equal(store_check(f->s), 0);
	t_round_trip(f, "/a");
	t_round_trip(f, "/a/k");
}

/* Make /p in state @kind: 0 creation data, 1 null data, 2 data set since, 3 setACL since,
 * 4 has a child already, 5 had a child (deleted). */
static void t_make_parent(struct fixture *f, int kind)
{
	assert_int_equal(t_create(f, "/p", ZK_MODE_PERSISTENT, kind == 1 ? NULL : T_LONG), 0);
	if (kind == 2)
		assert_int_equal(t_set(f, "/p", T_LONG " set", -1), 0);
	if (kind == 3)
		assert_int_equal(t_set_acl(f, "/p", -1), 0);
	if (kind >= 4)
		assert_int_equal(t_create(f, "/p/old", ZK_MODE_PERSISTENT, NULL), 0);
	if (kind == 5)
		assert_int_equal(t_delete(f, "/p/old", -1), 0);
}

/* A multi that sets /p's data, gives it children, then fails, leaves /p exactly as it was
 * (data, stat, digest), whichever state /p started in; the same multi without the failing
 * check commits. */
static void test_rollback_after_first_child(void **state)
{
	struct fixture *f = *state;
	struct store_op ops[5];
	struct zk_stat before, after;
	const uint8_t *data;
	int32_t len;
	uint64_t digest;

	for (int kind = 0; kind < 6; kind++) {
		t_make_parent(f, kind);
		before = t_stat(f, "/p");
		digest = store_digest(f->s);
		ops[0] = t_op(ZK_OP_SET_DATA, "/p");
		ops[0].data = (const uint8_t *)"new data, longer than the old head";
		ops[0].data_len = 34;
		ops[1] = t_op(ZK_OP_CREATE, "/p/c");
		ops[2] = t_op(ZK_OP_CREATE, "/p/c/d");
		ops[3] = t_op(ZK_OP_SET_DATA, "/p");
		ops[4] = t_op(ZK_OP_CHECK, "/p");
		ops[4].version = 99;
		assert_int_equal(t_multi(f, ops, 5), ZK_ERR_BADVERSION);
		assert_int_equal(store_digest(f->s), digest);
		after = t_stat(f, "/p");
		t_expect_same_stat(&before, &after);
		t_expect_data(f, "/p", kind == 1 ? NULL : kind == 2 ? T_LONG " set" : T_LONG);
		assert_int_equal(store_check(f->s), 0);
		assert_int_equal(t_multi(f, ops, 4), ZK_ERR_OK);
		assert_int_equal(store_get_data(f->s, "/p", &data, &len, NULL), ZK_ERR_OK);
		assert_int_equal(len, -1);
		assert_int_equal(t_stat(f, "/p").aversion, kind == 3 ? 1 : 0);
		t_round_trip(f, "/p");
		assert_int_equal(t_delete(f, "/p/c/d", -1), 0);
		assert_int_equal(t_delete(f, "/p/c", -1), 0);
		if (kind == 4)
			assert_int_equal(t_delete(f, "/p/old", -1), 0);
		assert_int_equal(t_delete(f, "/p", -1), 0);
	}
}

/* Many children created and deleted under one parent with data, in multis that commit or
 * fail, the table growing meanwhile: store_check and the parent's data hold throughout. */
static void test_churn_under_data_parent(void **state)
{
	struct fixture *f = *state;
	struct store_op ops[3];
	char a[32], b[32];
	unsigned seed = 7;

	assert_int_equal(t_create(f, "/p", ZK_MODE_PERSISTENT, T_LONG), 0);
	for (int i = 0; i < 400; i++) {
		snprintf(a, sizeof(a), "/p/n%d", rand_r(&seed) % 300);
		snprintf(b, sizeof(b), "/p/n%d", rand_r(&seed) % 300);
		ops[0] = t_op(rand_r(&seed) % 3 ? ZK_OP_CREATE : ZK_OP_DELETE, a);
		ops[1] = t_op(ZK_OP_CREATE, b);
		ops[2] = t_op(ZK_OP_SET_DATA, "/p");
		ops[2].data = (const uint8_t *)(i % 2 ? T_LONG : "short");
		ops[2].data_len = (int32_t)strlen((const char *)ops[2].data);
		t_multi(f, ops, 3);
		f->n_ev = 0;
		assert_int_equal(store_check(f->s), 0);
	}
	assert_true(t_stat(f, "/p").num_children > 100);
	t_round_trip(f, "/p");
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, t_setup, t_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_first_child_keeps_data),
		T(test_aversion_follows_data),
		T(test_rollback_after_first_child),
		T(test_churn_under_data_parent),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
