/* test_store_quota.c: cmocka tests of the quota bookkeeping of store/quota.c: the zookeeper_stats
 * node of the nearest quota'd prefix follows creates, deletes, setData and session-close deletes;
 * its data changes in place; StatsTrack's text form (the sequence of the side-by-side run against
 * ZooKeeper 3.8.0 listed in quota.c); a failed multi and -ENOMEM change nothing; a snapshot load
 * recomputes the stats and rebuilds the quota set. */
#include <errno.h>

#include "tests/unit/test_store_util.h"

#define T_STATS "/zookeeper/quota/q/zookeeper_stats"
#define T_LIMITS "/zookeeper/quota/q/zookeeper_limits"

/* The data of @path as a string (the store's data is not NUL-terminated). */
static const char *t_data(const struct fixture *f, const char *path)
{
	static char buf[256];
	const uint8_t *data;
	int32_t len;

	assert_int_equal(store_get_data(f->s, path, &data, &len, NULL), ZK_ERR_OK);
	if (len < 0)
		return "<null>";
	assert_true(len < (int32_t)sizeof(buf));
	memcpy(buf, data, (size_t)len);
	buf[len] = '\0';
	return buf;
}

/* What zkCli's setquota makes: /zookeeper/quota<path>, its limits, then its stats. */
static void t_setquota(struct fixture *f, const char *path, const char *limits)
{
	char p[128];

	snprintf(p, sizeof(p), "/zookeeper/quota%s", path);
	assert_int_equal(t_create(f, p, ZK_MODE_PERSISTENT, NULL), 0);
	snprintf(p, sizeof(p), "/zookeeper/quota%s/zookeeper_limits", path);
	assert_int_equal(t_create(f, p, ZK_MODE_PERSISTENT, limits), 0);
	snprintf(p, sizeof(p), "/zookeeper/quota%s/zookeeper_stats", path);
	assert_int_equal(t_create(f, p, ZK_MODE_PERSISTENT, "count=0,bytes=0"), 0);
}

/* The sequence run side by side against ZooKeeper 3.8.0 (same data, same outputs). */
static void test_quota_sequence(void **state)
{
	struct fixture *f = *state;
	struct zk_stat st0, st;

	assert_int_equal(t_create(f, "/q", ZK_MODE_PERSISTENT, "q"), 0);
	assert_int_equal(t_create(f, "/q/pre", ZK_MODE_PERSISTENT, "pp"), 0);
	assert_int_equal(t_create(f, "/zookeeper/quota/q", ZK_MODE_PERSISTENT, ""), 0);
	assert_int_equal(t_create(f, T_LIMITS, ZK_MODE_PERSISTENT, "count=3,bytes=-1"), 0);
	assert_int_equal(t_create(f, T_STATS, ZK_MODE_PERSISTENT, "count=0,bytes=0;zz=5"), 0);
	/* Recomputed at its create: /q and /q/pre, 3 bytes; the extra key is gone. */
	assert_string_equal(t_data(f, T_STATS), "count=2,bytes=3");
	st0 = t_stat(f, T_STATS);
	assert_int_equal(st0.data_length, 15);
	assert_int_equal(t_create(f, "/q/a", ZK_MODE_PERSISTENT, "a"), 0);
	assert_string_equal(t_data(f, T_STATS), "count=3,bytes=4");
	assert_int_equal(t_set(f, "/q/a", "abcd", -1), 0);
	assert_string_equal(t_data(f, T_STATS), "count=3,bytes=7");
	/* In place: version, mzxid and mtime stay. */
	st = t_stat(f, T_STATS);
	assert_int_equal(st.version, 0);
	assert_int_equal(st.mzxid, st0.mzxid);
	assert_int_equal(st.mtime, st0.mtime);
	assert_int_equal(t_set(f, T_STATS, "count=10,bytes=10;zz=5;aa=1", -1), 0);
	assert_int_equal(t_create(f, "/q/b", ZK_MODE_PERSISTENT, ""), 0);
	assert_string_equal(t_data(f, T_STATS), "count=11,bytes=10=;aa=1;zz=5");
	assert_int_equal(t_stat(f, T_STATS).data_length, 28);
	assert_int_equal(t_delete(f, "/q/b", -1), 0);
	assert_string_equal(t_data(f, T_STATS), "count=10,bytes=10=;aa=1;zz=5");
	assert_int_equal(t_set(f, T_STATS, "count==4,bytes=10=", -1), 0);
	assert_int_equal(t_create(f, "/q/c", ZK_MODE_PERSISTENT, "c"), 0);
	assert_string_equal(t_data(f, T_STATS), "count=0,bytes=11");
	assert_int_equal(t_stat(f, T_STATS).version, 2);
	assert_int_equal(store_check(f->s), 0);
}

/* Data ZooKeeper's StatsTrack cannot parse (its server exits): the stats stay as they are and
 * the write itself succeeds. */
static void test_quota_unparsable(void **state)
{
	static const char *const bad[] = {"x=", "garbage", "count=1,bytes=z", ",count=1", "===",
					  "count=99999999999999999999", NULL};
	struct fixture *f = *state;
	int i;

	assert_int_equal(t_create(f, "/q", ZK_MODE_PERSISTENT, NULL), 0);
	t_setquota(f, "/q", "count=3,bytes=-1");
	for (i = 0; i < 7; i++) {
		assert_int_equal(t_set(f, T_STATS, bad[i], -1), 0);
		assert_int_equal(t_create(f, "/q/n", ZK_MODE_PERSISTENT, "n"), 0);
		assert_int_equal(t_delete(f, "/q/n", -1), 0);
		assert_string_equal(t_data(f, T_STATS), bad[i] != NULL ? bad[i] : "<null>");
	}
	/* Empty data and separators only: no keys, so count and bytes start from -1. */
	assert_int_equal(t_set(f, T_STATS, ",;", -1), 0);
	assert_int_equal(t_create(f, "/q/n", ZK_MODE_PERSISTENT, "nn"), 0);
	assert_string_equal(t_data(f, T_STATS), "count=0,bytes=1");
	assert_int_equal(t_set(f, T_STATS, "=5;count=1,bytes=2,count=7", -1), 0);
	assert_int_equal(t_delete(f, "/q/n", -1), 0);
	assert_string_equal(t_data(f, T_STATS), "count=6,bytes=0=;=5");
}

/* Only the nearest quota'd prefix is updated; "/q" is not a prefix of "/qq"; the quota'd node
 * itself counts; deleting the limits stops the bookkeeping. */
static void test_quota_nearest_prefix(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(t_create(f, "/q", ZK_MODE_PERSISTENT, NULL), 0);
	assert_int_equal(t_create(f, "/q/in", ZK_MODE_PERSISTENT, NULL), 0);
	assert_int_equal(t_create(f, "/qq", ZK_MODE_PERSISTENT, NULL), 0);
	t_setquota(f, "/q", "count=10,bytes=-1");
	t_setquota(f, "/q/in", "count=10,bytes=-1");
	assert_string_equal(t_data(f, T_STATS), "count=2,bytes=0");
	assert_int_equal(t_create(f, "/q/in/x", ZK_MODE_PERSISTENT, "xyz"), 0);
	assert_int_equal(t_create(f, "/q/y", ZK_MODE_PERSISTENT, "y"), 0);
	assert_int_equal(t_create(f, "/qq/z", ZK_MODE_PERSISTENT, "z"), 0);
	assert_string_equal(t_data(f, T_STATS), "count=3,bytes=1");
	assert_string_equal(t_data(f, "/zookeeper/quota/q/in/zookeeper_stats"), "count=2,bytes=3");
	/* Deleting the quota'd node itself counts too. */
	assert_int_equal(t_delete(f, "/q/in/x", -1), 0);
	assert_int_equal(t_delete(f, "/q/in", -1), 0);
	assert_string_equal(t_data(f, "/zookeeper/quota/q/in/zookeeper_stats"), "count=0,bytes=0");
	/* delquota: once the limits are gone, /q's stats stop moving. */
	assert_int_equal(t_delete(f, T_LIMITS, -1), 0);
	assert_int_equal(t_create(f, "/q/w", ZK_MODE_PERSISTENT, "w"), 0);
	assert_string_equal(t_data(f, T_STATS), "count=3,bytes=1");
}

/* Creating the stats before the limits recomputes them, but nothing is tracked until the limits
 * exist; stats created under no quota'd path count nothing. */
static void test_quota_order(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(t_create(f, "/q", ZK_MODE_PERSISTENT, "12"), 0);
	assert_int_equal(t_create(f, "/zookeeper/quota/q", ZK_MODE_PERSISTENT, NULL), 0);
	assert_int_equal(t_create(f, T_STATS, ZK_MODE_PERSISTENT, "x"), 0);
	assert_string_equal(t_data(f, T_STATS), "count=1,bytes=2");
	assert_int_equal(t_create(f, "/q/a", ZK_MODE_PERSISTENT, NULL), 0);
	assert_string_equal(t_data(f, T_STATS), "count=1,bytes=2");
	assert_int_equal(t_create(f, T_LIMITS, ZK_MODE_PERSISTENT, NULL), 0);
	assert_int_equal(t_create(f, "/q/b", ZK_MODE_PERSISTENT, NULL), 0);
	assert_string_equal(t_data(f, T_STATS), "count=2,bytes=2");
	assert_int_equal(t_create(f, "/zookeeper/quota/none", ZK_MODE_PERSISTENT, NULL), 0);
	assert_int_equal(t_create(f, "/zookeeper/quota/none/zookeeper_stats", ZK_MODE_PERSISTENT,
				  NULL),
			 0);
	assert_string_equal(t_data(f, "/zookeeper/quota/none/zookeeper_stats"), "count=0,bytes=0");
}

/* A failed multi puts back the stats data and the quota set; a successful one applies each op's
 * update in order. */
static void test_quota_multi(void **state)
{
	struct fixture *f = *state;
	struct store_op ops[5];
	struct store_txn txn = t_txn(f, ZK_OP_MULTI);
	struct store_result res;
	uint64_t digest;

	assert_int_equal(t_create(f, "/q", ZK_MODE_PERSISTENT, NULL), 0);
	assert_int_equal(t_create(f, "/r", ZK_MODE_PERSISTENT, NULL), 0);
	t_setquota(f, "/q", "count=10,bytes=-1");
	assert_int_equal(t_create(f, "/zookeeper/quota/r", ZK_MODE_PERSISTENT, NULL), 0);
	digest = store_digest(f->s);
	ops[0] = t_op(ZK_OP_CREATE, "/q/a");
	ops[0].data = (const uint8_t *)"abc";
	ops[0].data_len = 3;
	ops[1] = t_op(ZK_OP_SET_DATA, "/q");
	ops[1].data = (const uint8_t *)"12";
	ops[1].data_len = 2;
	ops[2] = t_op(ZK_OP_DELETE, T_LIMITS);
	ops[3] = t_op(ZK_OP_CREATE, "/zookeeper/quota/r/zookeeper_limits");
	ops[4] = t_op(ZK_OP_CHECK, "/q");
	ops[4].version = 5; /* Fails: everything rolls back. */
	txn.ops = ops;
	txn.n_ops = 5;
	t_apply_res(f, &txn, &res);
	assert_int_equal(res.err, ZK_ERR_BADVERSION);
	store_result_free(&res);
	assert_int_equal(store_digest(f->s), digest);
	assert_int_equal(store_check(f->s), 0);
	assert_string_equal(t_data(f, T_STATS), "count=1,bytes=0");
	/* The limits of /q are still there and /r got none: both shown by the next creates. */
	assert_int_equal(t_create(f, "/q/b", ZK_MODE_PERSISTENT, "b"), 0);
	assert_string_equal(t_data(f, T_STATS), "count=2,bytes=1");
	txn.n_ops = 4;
	t_apply_res(f, &txn, &res);
	assert_int_equal(res.err, ZK_ERR_OK);
	store_result_free(&res);
	/* create +1/+3, setData +2, then the limits go: later writes are not counted. */
	assert_string_equal(t_data(f, T_STATS), "count=3,bytes=6");
	assert_int_equal(t_create(f, "/q/c", ZK_MODE_PERSISTENT, "c"), 0);
	assert_string_equal(t_data(f, T_STATS), "count=3,bytes=6");
	assert_int_equal(store_check(f->s), 0);
}

/* The ephemerals deleted by a session close are counted out. */
static void test_quota_session_close(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(t_create(f, "/q", ZK_MODE_PERSISTENT, NULL), 0);
	t_setquota(f, "/q", "count=10,bytes=-1");
	t_session_open(f, 0x77);
	f->session = 0x77;
	assert_int_equal(t_create(f, "/q/e1", ZK_MODE_EPHEMERAL, "e1"), 0);
	assert_int_equal(t_create(f, "/q/e-", ZK_MODE_EPHEMERAL_SEQUENTIAL, "e22"), 0);
	f->session = 0;
	assert_string_equal(t_data(f, T_STATS), "count=3,bytes=5");
	t_session_close(f, 0x77);
	assert_string_equal(t_data(f, T_STATS), "count=1,bytes=0");
}

/* Every allocation failure of a create, setData and delete under a quota, and of a limits
 * create, leaves the store as it was. */
static void test_quota_enomem(void **state)
{
	struct fixture *f = *state;
	struct store_op ops[4];
	struct store_txn txn = t_txn(f, ZK_OP_MULTI);
	struct store_result res;
	uint64_t digest;
	int n, rc;

	assert_int_equal(t_create(f, "/q", ZK_MODE_PERSISTENT, NULL), 0);
	assert_int_equal(t_create(f, "/q/old", ZK_MODE_PERSISTENT, "old"), 0);
	assert_int_equal(t_create(f, "/zookeeper/quota/r", ZK_MODE_PERSISTENT, NULL), 0);
	t_setquota(f, "/q", "count=10,bytes=-1");
	ops[0] = t_op(ZK_OP_CREATE, "/q/a");
	ops[0].data = (const uint8_t *)"abc";
	ops[0].data_len = 3;
	ops[1] = t_op(ZK_OP_DELETE, "/q/old");
	ops[2] = t_op(ZK_OP_CREATE, "/zookeeper/quota/r/zookeeper_limits");
	ops[3] = t_op(ZK_OP_SET_DATA, "/q");
	ops[3].data = (const uint8_t *)"zz";
	ops[3].data_len = 2;
	txn.ops = ops;
	txn.n_ops = 4;
	digest = store_digest(f->s);
	for (n = 1;; n++) {
		zk_alloc_fault_set(n, 0);
		rc = store_apply(f->s, f->zxid + 1, &txn, &res);
		zk_alloc_fault_set(0, 0);
		if (rc == 0)
			break;
		assert_int_equal(rc, -ENOMEM);
		assert_int_equal(store_digest(f->s), digest);
		assert_int_equal(store_check(f->s), 0);
		assert_string_equal(t_data(f, T_STATS), "count=2,bytes=3");
	}
	f->zxid++;
	assert_int_equal(res.err, 0);
	store_result_free(&res);
	assert_string_equal(t_data(f, T_STATS), "count=2,bytes=5");
	assert_int_equal(store_check(f->s), 0);
}

/* A snapshot load recomputes every quota'd path's stats (nested quotas drift until then) and
 * rebuilds the quota set, so the loaded store keeps counting. */
static void test_quota_snapshot(void **state)
{
	struct fixture *f = *state;
	struct store *s2;
	struct zk_buf b;

	assert_int_equal(t_create(f, "/q", ZK_MODE_PERSISTENT, NULL), 0);
	assert_int_equal(t_create(f, "/q/in", ZK_MODE_PERSISTENT, NULL), 0);
	t_setquota(f, "/q", "count=10,bytes=-1");
	t_setquota(f, "/q/in", "count=10,bytes=-1");
	assert_int_equal(t_create(f, "/q/in/x", ZK_MODE_PERSISTENT, "xyz"), 0);
	assert_string_equal(t_data(f, T_STATS), "count=2,bytes=0");
	zk_buf_init(&b);
	assert_int_equal(store_snapshot_write(f->s, &b), 0);
	assert_int_equal(store_create(NULL, NULL, NULL, &s2), 0);
	assert_int_equal(store_snapshot_load(s2, b.data, b.len), 0);
	store_destroy(f->s);
	f->s = s2;
	assert_int_equal(store_check(f->s), 0);
	assert_string_equal(t_data(f, T_STATS), "count=3,bytes=3");
	assert_int_equal(t_create(f, "/q/y", ZK_MODE_PERSISTENT, "y"), 0);
	assert_int_equal(t_create(f, "/q/in/z", ZK_MODE_PERSISTENT, "zz"), 0);
	assert_string_equal(t_data(f, T_STATS), "count=4,bytes=4");
	assert_string_equal(t_data(f, "/zookeeper/quota/q/in/zookeeper_stats"), "count=3,bytes=5");
	/* The same load into a store that had quotas of its own replaces them. */
	assert_int_equal(store_snapshot_load(f->s, b.data, b.len), 0);
	assert_int_equal(store_check(f->s), 0);
	assert_int_equal(t_create(f, "/q/w", ZK_MODE_PERSISTENT, NULL), 0);
	assert_string_equal(t_data(f, T_STATS), "count=4,bytes=3");
	zk_buf_close(&b);
}

/* The same txns on two stores give the same digest (stats included). */
static void test_quota_digest(void **state)
{
	struct fixture *f = *state, g = {0};
	struct fixture *two[] = {f, &g};
	int i;

	assert_int_equal(store_create(NULL, NULL, NULL, &g.s), 0);
	for (i = 0; i < 2; i++) {
		assert_int_equal(t_create(two[i], "/q", ZK_MODE_PERSISTENT, NULL), 0);
		t_setquota(two[i], "/q", "count=10,bytes=-1");
		assert_int_equal(t_create(two[i], "/q/a", ZK_MODE_PERSISTENT, "a"), 0);
		assert_int_equal(t_set(two[i], "/q/a", "aaa", -1), 0);
	}
	assert_int_equal(store_digest(f->s), store_digest(g.s));
	assert_int_equal(store_check(g.s), 0);
	store_destroy(g.s);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, t_setup, t_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_quota_sequence),	    T(test_quota_unparsable), T(test_quota_nearest_prefix),
		T(test_quota_order),	    T(test_quota_multi),      T(test_quota_session_close),
		T(test_quota_enomem),	    T(test_quota_snapshot),   T(test_quota_digest),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
