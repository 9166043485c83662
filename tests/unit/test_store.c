/* test_store.c: cmocka tests of store/ — every write op and error, Stat rules, sequential
 * numbering as Apache ZooKeeper 3.8 numbers it (traces recorded side by side with kazoo against
 * a real ZooKeeper, see store/txn.c), multi results and rollback, sessions and ephemerals,
 * containers and TTL nodes, the txn codec, random op sequences checked by store_check, and
 * allocation failures. */
#include "tests/unit/test_store_util.h"

#include "store/store_int.h"

/* ---- initial tree ----------------------------------------------------------------------- */

/* A new store holds ZooKeeper's initial tree, with its stats as ZooKeeper reports them. */
static void test_initial_tree(void **state)
{
	struct fixture *f = *state;
	const struct store_acl *acl;
	struct zk_stat st;
	int32_t n, count;

	assert_int_equal(store_node_count(f->s), 4);
	st = t_stat(f, "/");
	assert_int_equal(st.num_children, 1);
	assert_int_equal(st.cversion, -1); /* 2 * 0 creates - 1 child, as ZooKeeper shows. */
	assert_int_equal(st.czxid, 0);
	st = t_stat(f, "/zookeeper");
	assert_int_equal(st.cversion, -2);
	assert_int_equal(store_get_acl(f->s, "/zookeeper/config", &acl, &n, &st), ZK_ERR_OK);
	assert_int_equal(n, 1);
	assert_int_equal(acl[0].perms, ZK_PERM_READ);
	assert_int_equal(st.aversion, -1);
	assert_int_equal(store_exists(f->s, "/zookeeper/quota", NULL), ZK_ERR_OK);
	assert_int_equal(store_count_all_children(f->s, "/", &count), ZK_ERR_OK);
	assert_int_equal(count, 3);
	assert_int_equal(store_exists(f->s, "/nope", NULL), ZK_ERR_NONODE);
	assert_int_equal(store_exists(f->s, "/zookeeper/", NULL), ZK_ERR_NONODE);
}

/* ---- create ----------------------------------------------------------------------------- */

/* A create sets the new node's stat from the txn and bumps the parent's cversion and pzxid;
 * it fires NodeCreated then NodeChildrenChanged on the parent. */
static void test_create_stat_and_events(void **state)
{
	struct fixture *f = *state;
	struct zk_stat st, pst;
	const uint8_t *data;
	int32_t len;

	assert_int_equal(t_create(f, "/a", ZK_MODE_PERSISTENT, "hello"), ZK_ERR_OK);
	assert_string_equal(f->path, "/a");
	st = t_stat(f, "/a");
	assert_int_equal(st.czxid, f->zxid);
	assert_int_equal(st.mzxid, f->zxid);
	assert_int_equal(st.pzxid, f->zxid);
	assert_int_equal(st.ctime, 1000 * f->zxid);
	assert_int_equal(st.mtime, 1000 * f->zxid);
	assert_int_equal(st.version, 0);
	assert_int_equal(st.cversion, 0);
	assert_int_equal(st.aversion, 0);
	assert_int_equal(st.ephemeral_owner, 0);
	assert_int_equal(st.data_length, 5);
	assert_int_equal(st.num_children, 0);
	pst = t_stat(f, "/");
	assert_int_equal(pst.cversion, 0); /* -1 + 1 */
	assert_int_equal(pst.pzxid, f->zxid);
	assert_int_equal(pst.num_children, 2);
	assert_int_equal(store_get_data(f->s, "/a", &data, &len, NULL), ZK_ERR_OK);
	assert_int_equal(len, 5);
	assert_memory_equal(data, "hello", 5);
	assert_int_equal(f->n_ev, 2);
	t_expect_event(f, 0, ZK_EVENT_NODE_CREATED, "/a");
	t_expect_event(f, 1, ZK_EVENT_NODE_CHILDREN_CHANGED, "/");
	assert_int_equal(f->ev[0].zxid, f->zxid);
	assert_int_equal(t_create(f, "/a/b", ZK_MODE_PERSISTENT, NULL), ZK_ERR_OK);
	t_expect_event(f, 3, ZK_EVENT_NODE_CHILDREN_CHANGED, "/a");
	/* Null data reads back as null (length -1) with dataLength 0. */
	assert_int_equal(store_get_data(f->s, "/a/b", &data, &len, &st), ZK_ERR_OK);
	assert_int_equal(len, -1);
	assert_int_equal(st.data_length, 0);
}

/* Create errors, in ZooKeeper's order of checks; a failed create changes nothing and fires no
 * event but still takes its zxid. */
static void test_create_errors(void **state)
{
	struct fixture *f = *state;
	struct store_op op = t_op(ZK_OP_CREATE, "/x");
	uint64_t digest;

	assert_int_equal(t_create(f, "/e", ZK_MODE_EPHEMERAL, NULL), ZK_ERR_SESSIONEXPIRED);
	f->session = 7;
	assert_int_equal(t_create(f, "/e", ZK_MODE_EPHEMERAL, NULL), ZK_ERR_SESSIONEXPIRED);
	t_session_open(f, 7);
	assert_int_equal(t_create(f, "/e", ZK_MODE_EPHEMERAL, NULL), ZK_ERR_OK);
	digest = store_digest(f->s);
	f->n_ev = 0;
	assert_int_equal(t_create(f, "/no/x", ZK_MODE_PERSISTENT, NULL), ZK_ERR_NONODE);
	assert_int_equal(t_create(f, "/e", ZK_MODE_PERSISTENT, NULL), ZK_ERR_NODEEXISTS);
	assert_int_equal(t_create(f, "/", ZK_MODE_PERSISTENT, NULL), ZK_ERR_NODEEXISTS);
	assert_int_equal(t_create(f, "/e/c", ZK_MODE_PERSISTENT, NULL),
			 ZK_ERR_NOCHILDRENFOREPHEMERALS);
	assert_int_equal(t_create(f, "/e/c-", ZK_MODE_PERSISTENT_SEQUENTIAL, NULL),
			 ZK_ERR_NOCHILDRENFOREPHEMERALS);
	assert_int_equal(t_create(f, "/x", 7, NULL), ZK_ERR_BADARGUMENTS);
	assert_int_equal(t_create(f, "/x", -1, NULL), ZK_ERR_BADARGUMENTS);
	/* A TTL mode needs the createTTL opcode (ZooKeeper: BadArguments). */
	assert_int_equal(t_create(f, "/x", ZK_MODE_PERSISTENT_WITH_TTL, NULL), ZK_ERR_BADARGUMENTS);
	op.n_acl = 0; /* fixupACL comes before the parent lookup: InvalidACL even without parent. */
	assert_int_equal(t_apply_op(f, &op), ZK_ERR_INVALIDACL);
	op.path = "/no/x";
	assert_int_equal(t_apply_op(f, &op), ZK_ERR_INVALIDACL);
	assert_int_equal(f->n_ev, 0);
	assert_int_equal(store_digest(f->s), digest);
}

/* Data over max_data_len is refused (BadArguments; zkfsd closes such a connection first, as
 * ZooKeeper does when a frame exceeds jute.maxbuffer). */
static void test_create_data_limit(void **state)
{
	struct fixture *f = *state;
	struct store_config cfg;
	struct store *s;
	struct store_op op = t_op(ZK_OP_CREATE, "/big");
	struct store_txn txn = {.type = ZK_OP_CREATE, .op = op};
	struct store_result res;
	uint8_t buf[11] = "0123456789";

	store_config_init(&cfg);
	assert_int_equal(cfg.max_data_len, 0xfffff);
	cfg.max_data_len = 10;
	assert_int_equal(store_create(&cfg, NULL, NULL, &s), 0);
	txn.op.data = buf;
	txn.op.data_len = 11;
	assert_int_equal(store_apply(s, 1, &txn, &res), 0);
	assert_int_equal(res.err, ZK_ERR_BADARGUMENTS);
	txn.op.data_len = 10;
	assert_int_equal(store_apply(s, 2, &txn, &res), 0);
	assert_int_equal(res.err, ZK_ERR_OK);
	store_result_free(&res);
	store_destroy(s);
	(void)f;
}

/* ACL checks as ZooKeeper's fixupACL and default providers answer them (verified with kazoo:
 * world:bob and foo:bob are InvalidACL, perms 0 and 63 are stored as given). */
static void test_acl_validation(void **state)
{
	struct fixture *f = *state;
	static const struct {
		const char *scheme, *id;
		int err;
	} cases[] = {
		{"world", "anyone", ZK_ERR_OK},	  {"world", "bob", ZK_ERR_INVALIDACL},
		{"foo", "bob", ZK_ERR_INVALIDACL}, {"auth", "", ZK_ERR_INVALIDACL},
		{"digest", "u:h", ZK_ERR_OK},	  {"digest", ":h", ZK_ERR_OK},
		{"digest", "u:h:", ZK_ERR_OK},	  {"digest", "u", ZK_ERR_INVALIDACL},
		{"digest", "u:", ZK_ERR_INVALIDACL}, {"digest", "a:b:c", ZK_ERR_INVALIDACL},
		{"ip", "10.0.0.1", ZK_ERR_OK},	  {"ip", "10.0.0.0/8", ZK_ERR_OK},
		{"ip", "::1", ZK_ERR_OK},	  {"ip", "host", ZK_ERR_INVALIDACL},
	};
	struct store_acl acl;
	struct store_op op;
	char path[32];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(path, sizeof(path), "/acl%zu", i);
		acl = (struct store_acl){ZK_PERM_ALL, (char *)cases[i].scheme, (char *)cases[i].id};
		op = t_op(ZK_OP_CREATE, path);
		op.acl = &acl;
		assert_int_equal(t_apply_op(f, &op), cases[i].err);
	}
	acl = (struct store_acl){63, "world", "anyone"};
	op = t_op(ZK_OP_CREATE, "/p63");
	op.acl = &acl;
	assert_int_equal(t_apply_op(f, &op), ZK_ERR_OK);
	acl.perms = 0;
	op.path = "/p0";
	assert_int_equal(t_apply_op(f, &op), ZK_ERR_OK);
	assert_int_equal(t_set(f, "/p0", "x", -1), ZK_ERR_NOAUTH);
}

/* create("/") is NodeExists, but a sequential create of "/" makes "/NNNNNNNNNN" under the root
 * (as ZooKeeper 3.8 does: it answered "/0000000003"). */
static void test_create_root_sequential(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(t_create(f, "/", ZK_MODE_PERSISTENT, NULL), ZK_ERR_NODEEXISTS);
	assert_int_equal(t_create(f, "/", ZK_MODE_PERSISTENT_SEQUENTIAL, NULL), ZK_ERR_OK);
	assert_string_equal(f->path, "/0000000000");
	assert_int_equal(store_exists(f->s, "/0000000000", NULL), ZK_ERR_OK);
}

/* Paths that are structurally invalid are BadArguments for every op (zkfsd validates paths
 * fully before making a txn; the store keeps a bad txn from creating "" or "." names). */
static void test_bad_paths(void **state)
{
	struct fixture *f = *state;
	static const char *const bad[] = {"", "a", "/a/", "//a", "/a//b", "/.", "/a/..", "/a/./b"};

	assert_int_equal(t_create(f, "/a", ZK_MODE_PERSISTENT, NULL), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(t_create(f, bad[i], ZK_MODE_PERSISTENT, NULL), ZK_ERR_BADARGUMENTS);
		assert_int_equal(t_set(f, bad[i], "x", -1), ZK_ERR_BADARGUMENTS);
		assert_int_equal(t_delete(f, bad[i], -1), ZK_ERR_BADARGUMENTS);
	}
	/* With a sequential create, a trailing '/' is fine: the counter becomes the name. */
	assert_int_equal(t_create(f, "/a/", ZK_MODE_PERSISTENT_SEQUENTIAL, NULL), 0);
	assert_string_equal(f->path, "/a/0000000000");
	assert_int_equal(t_create(f, "/a/.", ZK_MODE_PERSISTENT_SEQUENTIAL, NULL), 0);
	assert_string_equal(f->path, "/a/.0000000001");
}

/* ---- sequential numbering ---------------------------------------------------------------- */

static void t_expect_cversion(const struct fixture *f, const char *path, int32_t cversion)
{
	assert_int_equal(t_stat(f, path).cversion, cversion);
}

/* The trace recorded against Apache ZooKeeper 3.8 (kazoo): the suffix counts child creates
 * only; deletes bump the reported cversion but not the suffix; failed creates consume nothing;
 * plain creates consume a number too. */
static void test_sequential_numbering(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(t_create(f, "/t", ZK_MODE_PERSISTENT, NULL), 0);
	assert_int_equal(t_create(f, "/t/s-", ZK_MODE_PERSISTENT_SEQUENTIAL, NULL), 0);
	assert_string_equal(f->path, "/t/s-0000000000");
	t_expect_cversion(f, "/t", 1);
	assert_int_equal(t_create(f, "/t/s-", ZK_MODE_PERSISTENT_SEQUENTIAL, NULL), 0);
	assert_string_equal(f->path, "/t/s-0000000001");
	assert_int_equal(t_delete(f, "/t/s-0000000001", -1), 0);
	t_expect_cversion(f, "/t", 3);
	assert_int_equal(t_create(f, "/t/s-", ZK_MODE_PERSISTENT_SEQUENTIAL, NULL), 0);
	assert_string_equal(f->path, "/t/s-0000000002");
	t_expect_cversion(f, "/t", 4);
	assert_int_equal(t_create(f, "/t/x/y", ZK_MODE_PERSISTENT, NULL), ZK_ERR_NONODE);
	assert_int_equal(t_create(f, "/t/s-0000000002", ZK_MODE_PERSISTENT, NULL),
			 ZK_ERR_NODEEXISTS);
	t_expect_cversion(f, "/t", 4);
	assert_int_equal(t_create(f, "/t/s-", ZK_MODE_PERSISTENT_SEQUENTIAL, NULL), 0);
	assert_string_equal(f->path, "/t/s-0000000003");
	assert_int_equal(t_create(f, "/t/p", ZK_MODE_PERSISTENT, NULL), 0);
	t_expect_cversion(f, "/t", 6);
	assert_int_equal(t_set(f, "/t/p", "x", -1), 0);
	assert_int_equal(t_delete(f, "/t/p", -1), 0);
	t_expect_cversion(f, "/t", 7);
	assert_int_equal(t_create(f, "/t/s-", ZK_MODE_PERSISTENT_SEQUENTIAL, NULL), 0);
	assert_string_equal(f->path, "/t/s-0000000005");
	t_expect_cversion(f, "/t", 8);
	assert_int_equal(t_stat(f, "/t").num_children, 4);
}

/* A sequential name that already exists is NodeExists and does not advance the counter, so
 * retries fail until another create moves it (ZooKeeper 3.8, side by side). */
static void test_sequential_collision(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(t_create(f, "/q", ZK_MODE_PERSISTENT, NULL), 0);
	assert_int_equal(t_create(f, "/q/s-0000000001", ZK_MODE_PERSISTENT, NULL), 0);
	assert_int_equal(t_create(f, "/q/s-", ZK_MODE_PERSISTENT_SEQUENTIAL, NULL),
			 ZK_ERR_NODEEXISTS);
	assert_int_equal(t_create(f, "/q/s-", ZK_MODE_PERSISTENT_SEQUENTIAL, NULL),
			 ZK_ERR_NODEEXISTS);
	assert_int_equal(t_create(f, "/q/t-", ZK_MODE_PERSISTENT_SEQUENTIAL, NULL), 0);
	assert_string_equal(f->path, "/q/t-0000000001");
	assert_int_equal(t_create(f, "/q/s-", ZK_MODE_PERSISTENT_SEQUENTIAL, NULL), 0);
	assert_string_equal(f->path, "/q/s-0000000002");
}

/* The sequential suffix inside multis: each create of a committed multi takes a number, a
 * failed multi takes none (same ZooKeeper trace, continued). */
static void test_sequential_in_multi(void **state)
{
	struct fixture *f = *state;
	struct store_op ops[4];
	struct store_txn txn = t_txn(f, ZK_OP_MULTI);
	struct store_result res;

	test_sequential_numbering(state);
	ops[0] = t_op(ZK_OP_CREATE, "/t/m-");
	ops[0].mode = ZK_MODE_PERSISTENT_SEQUENTIAL;
	ops[1] = ops[0];
	ops[2] = t_op(ZK_OP_DELETE, "/t/s-0000000005");
	ops[3] = ops[0];
	txn.ops = ops;
	txn.n_ops = 4;
	t_apply_res(f, &txn, &res);
	assert_int_equal(res.err, 0);
	assert_string_equal(res.ops[0].path, "/t/m-0000000006");
	assert_string_equal(res.ops[1].path, "/t/m-0000000007");
	assert_string_equal(res.ops[3].path, "/t/m-0000000008");
	store_result_free(&res);
	t_expect_cversion(f, "/t", 12);
	ops[0] = t_op(ZK_OP_CREATE, "/t/f-");
	ops[0].mode = ZK_MODE_PERSISTENT_SEQUENTIAL;
	ops[1] = t_op(ZK_OP_CREATE, "/t/nonexist/x");
	ops[2] = t_op(ZK_OP_CREATE, "/t/g");
	txn.n_ops = 3;
	t_apply_res(f, &txn, &res);
	assert_int_equal(res.err, ZK_ERR_NONODE);
	store_result_free(&res);
	t_expect_cversion(f, "/t", 12);
	assert_int_equal(t_create(f, "/t/s-", ZK_MODE_PERSISTENT_SEQUENTIAL, NULL), 0);
	assert_string_equal(f->path, "/t/s-0000000009");
	t_expect_cversion(f, "/t", 13);
}

/* Set a node's internal counter directly (keeping the running digest right). */
static void t_poke_cversion(struct fixture *f, struct znode *n, int32_t cversion)
{
	assert_int_equal(znode_reserve(n), 0);
	store_digest_node(f->s, n, -1, false);
	znode_kids(n)->cversion = cversion;
	store_digest_node(f->s, n, 1, false);
}

/* At INT32_MAX creates ZooKeeper's newCversion wraps negative and DataTree keeps the old
 * cversion: the suffix stays 2147483647, so the next sequential create finds NodeExists. */
static void test_sequential_overflow(void **state)
{
	struct fixture *f = *state;
	struct znode *t;
	int64_t pzxid;

	assert_int_equal(t_create(f, "/t", ZK_MODE_PERSISTENT, NULL), 0);
	t = znode_lookup(f->s, "/t");
	t_poke_cversion(f, t, INT32_MAX - 1);
	assert_int_equal(t_create(f, "/t/s-", ZK_MODE_PERSISTENT_SEQUENTIAL, NULL), 0);
	assert_string_equal(f->path, "/t/s-2147483646");
	assert_int_equal(znode_cversion(t), INT32_MAX);
	assert_int_equal(t_create(f, "/t/s-", ZK_MODE_PERSISTENT_SEQUENTIAL, NULL), 0);
	assert_string_equal(f->path, "/t/s-2147483647");
	assert_int_equal(znode_cversion(t), INT32_MAX);
	pzxid = znode_pzxid(t);
	assert_int_equal(t_create(f, "/t/s-", ZK_MODE_PERSISTENT_SEQUENTIAL, NULL),
			 ZK_ERR_NODEEXISTS);
	assert_int_equal(t_create(f, "/t/plain", ZK_MODE_PERSISTENT, NULL), 0);
	assert_int_equal(znode_pzxid(t), pzxid); /* Not updated once the counter is stuck. */
	t_poke_cversion(f, t, -5); /* A negative counter prints as Java's %010d does. */
	assert_int_equal(t_create(f, "/t/n-", ZK_MODE_PERSISTENT_SEQUENTIAL, NULL), 0);
	assert_string_equal(f->path, "/t/n--000000005");
}

/* ---- delete ----------------------------------------------------------------------------- */

/* Delete checks parent, node, version, children in that order; the special paths are
 * BadArguments; a delete bumps the parent's reported cversion and pzxid and fires NodeDeleted
 * then NodeChildrenChanged. */
static void test_delete(void **state)
{
	struct fixture *f = *state;
	struct zk_stat st;

	assert_int_equal(t_create(f, "/a", ZK_MODE_PERSISTENT, NULL), 0);
	assert_int_equal(t_create(f, "/a/b", ZK_MODE_PERSISTENT, NULL), 0);
	assert_int_equal(t_delete(f, "/a", -1), ZK_ERR_NOTEMPTY);
	assert_int_equal(t_delete(f, "/a/b", 3), ZK_ERR_BADVERSION);
	assert_int_equal(t_delete(f, "/a/c", -1), ZK_ERR_NONODE);
	assert_int_equal(t_delete(f, "/z/c", -1), ZK_ERR_NONODE);
	assert_int_equal(t_delete(f, "/", -1), ZK_ERR_BADARGUMENTS);
	assert_int_equal(t_delete(f, "/zookeeper", -1), ZK_ERR_BADARGUMENTS);
	assert_int_equal(t_delete(f, "/zookeeper/quota", -1), ZK_ERR_BADARGUMENTS);
	assert_int_equal(t_delete(f, "/zookeeper/config", -1), ZK_ERR_BADARGUMENTS);
	f->n_ev = 0;
	assert_int_equal(t_delete(f, "/a/b", 0), ZK_ERR_OK);
	st = t_stat(f, "/a");
	assert_int_equal(st.cversion, 2);
	assert_int_equal(st.pzxid, f->zxid);
	assert_int_equal(st.num_children, 0);
	assert_int_equal(f->n_ev, 2);
	t_expect_event(f, 0, ZK_EVENT_NODE_DELETED, "/a/b");
	t_expect_event(f, 1, ZK_EVENT_NODE_CHILDREN_CHANGED, "/a");
	assert_int_equal(store_exists(f->s, "/a/b", NULL), ZK_ERR_NONODE);
	/* Under /zookeeper, ordinary nodes can be created and deleted (ZooKeeper allows it). */
	assert_int_equal(t_create(f, "/zookeeper/foo", ZK_MODE_PERSISTENT, NULL), 0);
	assert_int_equal(t_stat(f, "/zookeeper").cversion, -1);
	assert_int_equal(t_delete(f, "/zookeeper/foo", -1), 0);
}

/* ---- setData, setACL, check ------------------------------------------------------------- */

/* setData: version check, version+1, mzxid/mtime, NodeDataChanged; parent untouched. */
static void test_set_data(void **state)
{
	struct fixture *f = *state;
	struct zk_stat st, pst;
	int64_t czxid;

	assert_int_equal(t_create(f, "/a", ZK_MODE_PERSISTENT, "v0"), 0);
	czxid = f->zxid;
	pst = t_stat(f, "/");
	f->n_ev = 0;
	assert_int_equal(t_set(f, "/a", "v1", 1), ZK_ERR_BADVERSION);
	assert_int_equal(t_set(f, "/b", "v1", -1), ZK_ERR_NONODE);
	assert_int_equal(f->n_ev, 0);
	assert_int_equal(t_set(f, "/a", "value1", 0), ZK_ERR_OK);
	st = t_stat(f, "/a");
	assert_int_equal(st.version, 1);
	assert_int_equal(st.mzxid, f->zxid);
	assert_int_equal(st.mtime, 1000 * f->zxid);
	assert_int_equal(st.czxid, czxid);
	assert_int_equal(st.pzxid, czxid);
	assert_int_equal(st.data_length, 6);
	assert_memory_equal(&pst, &(struct zk_stat){0}, 0);
	assert_int_equal(t_stat(f, "/").pzxid, pst.pzxid);
	assert_int_equal(f->n_ev, 1);
	t_expect_event(f, 0, ZK_EVENT_NODE_DATA_CHANGED, "/a");
	assert_int_equal(t_set(f, "/a", NULL, -1), ZK_ERR_OK);
	assert_int_equal(t_stat(f, "/a").data_length, 0);
	assert_int_equal(t_stat(f, "/a").version, 2);
	/* The root's data can be set, as in ZooKeeper. */
	assert_int_equal(t_set(f, "/", "rootdata", -1), ZK_ERR_OK);
	assert_int_equal(t_stat(f, "/").version, 1);
	/* /zookeeper/config is world:anyone READ: setData is NoAuth, as in ZooKeeper. */
	assert_int_equal(t_set(f, "/zookeeper/config", "x", -1), ZK_ERR_NOAUTH);
	assert_int_equal(t_set(f, "/zookeeper/quota", "x", -1), ZK_ERR_OK);
}

/* setACL: aversion check and bump, nothing else changes, no event; the ACL reads back. */
static void test_set_acl(void **state)
{
	struct fixture *f = *state;
	struct store_acl acl[2] = {{ZK_PERM_READ, "world", "anyone"},
				   {ZK_PERM_ALL, "digest", "bob:hash"}};
	struct store_op op = t_op(ZK_OP_SET_ACL, "/a");
	const struct store_acl *got;
	struct zk_stat st;
	int32_t n;

	assert_int_equal(t_create(f, "/a", ZK_MODE_PERSISTENT, "x"), 0);
	op.acl = acl;
	op.n_acl = 2;
	op.version = 1;
	f->n_ev = 0;
	assert_int_equal(t_apply_op(f, &op), ZK_ERR_BADVERSION);
	op.version = 0;
	assert_int_equal(t_apply_op(f, &op), ZK_ERR_OK);
	assert_int_equal(store_get_acl(f->s, "/a", &got, &n, &st), ZK_ERR_OK);
	assert_int_equal(n, 2);
	assert_string_equal(got[1].scheme, "digest");
	assert_string_equal(got[1].id, "bob:hash");
	assert_int_equal(st.aversion, 1);
	assert_int_equal(st.version, 0);
	assert_int_equal(st.mzxid, st.czxid);
	assert_int_equal(f->n_ev, 0);
	op.n_acl = 0;
	assert_int_equal(t_apply_op(f, &op), ZK_ERR_INVALIDACL);
	op.n_acl = 1;
	op.path = "/none";
	assert_int_equal(t_apply_op(f, &op), ZK_ERR_NONODE);
	/* World READ only: writes are NoAuth, reads and check go through. */
	op.path = "/a";
	op.version = -1;
	assert_int_equal(t_apply_op(f, &op), ZK_ERR_OK);
	assert_int_equal(t_set(f, "/a", "y", -1), ZK_ERR_NOAUTH);
	assert_int_equal(t_create(f, "/a/c", ZK_MODE_PERSISTENT, NULL), ZK_ERR_NOAUTH);
	assert_int_equal(t_apply_op(f, &op), ZK_ERR_NOAUTH); /* ADMIN missing too. */
}

/* check: NoNode, BadVersion, OK. */
static void test_check(void **state)
{
	struct fixture *f = *state;
	struct store_op op = t_op(ZK_OP_CHECK, "/a");

	assert_int_equal(t_apply_op(f, &op), ZK_ERR_NONODE);
	assert_int_equal(t_create(f, "/a", ZK_MODE_PERSISTENT, "x"), 0);
	op.version = 2;
	assert_int_equal(t_apply_op(f, &op), ZK_ERR_BADVERSION);
	op.version = 0;
	assert_int_equal(t_apply_op(f, &op), ZK_ERR_OK);
}

/* ---- multi ------------------------------------------------------------------------------ */

/* A committed multi answers per op with ZooKeeper's result types and fires the events of each
 * op in order. */
static void test_multi_success(void **state)
{
	struct fixture *f = *state;
	struct store_op ops[5];
	struct store_txn txn;
	struct store_result res;

	assert_int_equal(t_create(f, "/d", ZK_MODE_PERSISTENT, NULL), 0);
	f->n_ev = 0;
	ops[0] = t_op(ZK_OP_CREATE, "/a");
	ops[1] = t_op(ZK_OP_CREATE2, "/a/b");
	ops[2] = t_op(ZK_OP_SET_DATA, "/a");
	ops[2].data = (const uint8_t *)"x";
	ops[2].data_len = 1;
	ops[3] = t_op(ZK_OP_CHECK, "/a");
	ops[3].version = 1;
	ops[4] = t_op(ZK_OP_DELETE, "/d");
	txn = t_txn(f, ZK_OP_MULTI);
	txn.ops = ops;
	txn.n_ops = 5;
	t_apply_res(f, &txn, &res);
	assert_int_equal(res.err, 0);
	assert_int_equal(res.n_ops, 5);
	assert_int_equal(res.ops[0].type, ZK_OP_CREATE);
	assert_string_equal(res.ops[0].path, "/a");
	assert_int_equal(res.ops[1].type, ZK_OP_CREATE); /* ZooKeeper 3.8: create2 in a multi. */
	assert_int_equal(res.ops[1].stat.czxid, f->zxid);
	assert_int_equal(res.ops[2].type, ZK_OP_SET_DATA);
	assert_int_equal(res.ops[2].stat.version, 1);
	assert_int_equal(res.ops[3].type, ZK_OP_CHECK);
	assert_int_equal(res.ops[4].type, ZK_OP_DELETE);
	store_result_free(&res);
	assert_int_equal(f->n_ev, 7);
	t_expect_event(f, 0, ZK_EVENT_NODE_CREATED, "/a");
	t_expect_event(f, 1, ZK_EVENT_NODE_CHILDREN_CHANGED, "/");
	t_expect_event(f, 2, ZK_EVENT_NODE_CREATED, "/a/b");
	t_expect_event(f, 3, ZK_EVENT_NODE_CHILDREN_CHANGED, "/a");
	t_expect_event(f, 4, ZK_EVENT_NODE_DATA_CHANGED, "/a");
	t_expect_event(f, 5, ZK_EVENT_NODE_DELETED, "/d");
	t_expect_event(f, 6, ZK_EVENT_NODE_CHILDREN_CHANGED, "/");
	/* Nodes of one multi share a czxid. */
	assert_int_equal(t_stat(f, "/a").czxid, t_stat(f, "/a/b").czxid);
	/* An empty multi succeeds with no results. */
	txn.n_ops = 0;
	t_apply_res(f, &txn, &res);
	assert_int_equal(res.err, 0);
	assert_int_equal(res.n_ops, 0);
	store_result_free(&res);
}

/* Result types of creates in a multi, as Apache ZooKeeper 3.8 sent them (raw multi through
 * kazoo): create and create2 -> create (path), createContainer and createTTL -> create2. */
static void test_multi_create_result_types(void **state)
{
	struct fixture *f = *state;
	struct store_op ops[4] = {t_op(ZK_OP_CREATE, "/a"), t_op(ZK_OP_CREATE2, "/b"),
				  t_op(ZK_OP_CREATE_CONTAINER, "/c"), t_op(ZK_OP_CREATE_TTL, "/t")};
	struct store_txn txn = t_txn(f, ZK_OP_MULTI);
	struct store_result res;

	ops[2].mode = ZK_MODE_CONTAINER;
	ops[3].mode = ZK_MODE_PERSISTENT_WITH_TTL;
	ops[3].ttl = 1000;
	txn.ops = ops;
	txn.n_ops = 4;
	t_apply_res(f, &txn, &res);
	assert_int_equal(res.err, 0);
	assert_int_equal(res.ops[0].type, ZK_OP_CREATE);
	assert_int_equal(res.ops[1].type, ZK_OP_CREATE);
	assert_int_equal(res.ops[2].type, ZK_OP_CREATE2);
	assert_int_equal(res.ops[3].type, ZK_OP_CREATE2);
	assert_string_equal(res.ops[3].path, "/t");
	assert_int_equal(res.ops[3].stat.czxid, f->zxid);
	store_result_free(&res);
}

/* A failing multi changes nothing (tree, counters, sessions) and fires nothing; results are
 * all ZK_OP_ERROR: OK before the failure, its code, RuntimeInconsistency after. */
static void test_multi_rollback(void **state)
{
	struct fixture *f = *state;
	struct store_op ops[6];
	struct store_txn txn;
	struct store_result res;
	uint64_t digest, count;

	f->session = 9;
	t_session_open(f, 9);
	assert_int_equal(t_create(f, "/d", ZK_MODE_PERSISTENT, "v"), 0);
	assert_int_equal(t_create(f, "/d/e", ZK_MODE_EPHEMERAL, NULL), 0);
	digest = store_digest(f->s);
	count = store_node_count(f->s);
	f->n_ev = 0;
	ops[0] = t_op(ZK_OP_CREATE, "/a");
	ops[0].mode = ZK_MODE_PERSISTENT_SEQUENTIAL;
	ops[1] = t_op(ZK_OP_SET_DATA, "/d");
	ops[2] = t_op(ZK_OP_DELETE, "/d/e");
	ops[3] = t_op(ZK_OP_CREATE, "/a0000000001/x");
	ops[4] = t_op(ZK_OP_CHECK, "/d");
	ops[4].version = 7;
	ops[5] = t_op(ZK_OP_DELETE, "/d");
	txn = t_txn(f, ZK_OP_MULTI);
	txn.ops = ops;
	txn.n_ops = 6;
	t_apply_res(f, &txn, &res);
	assert_int_equal(res.err, ZK_ERR_BADVERSION);
	assert_int_equal(res.n_ops, 6);
	for (int i = 0; i < 6; i++) {
		assert_int_equal(res.ops[i].type, ZK_OP_ERROR);
		assert_null(res.ops[i].path);
		assert_int_equal(res.ops[i].err, i < 4	  ? ZK_ERR_OK
						 : i == 4 ? ZK_ERR_BADVERSION
							  : ZK_ERR_RUNTIMEINCONSISTENCY);
	}
	store_result_free(&res);
	assert_int_equal(store_digest(f->s), digest);
	assert_int_equal(store_node_count(f->s), count);
	assert_int_equal(f->n_ev, 0);
	assert_int_equal(store_check(f->s), 0);
	/* Ops a multi cannot carry: BadArguments. */
	ops[0] = t_op(ZK_OP_SET_ACL, "/d");
	txn.n_ops = 1;
	t_apply_res(f, &txn, &res);
	assert_int_equal(res.err, ZK_ERR_BADARGUMENTS);
	store_result_free(&res);
}

/* ---- sessions and ephemerals ------------------------------------------------------------ */

struct t_paths {
	int n;
	char p[8][64];
};

static void t_collect_path(void *ctx, const char *path)
{
	struct t_paths *tp = ctx;

	assert_true(tp->n < 8);
	snprintf(tp->p[tp->n++], sizeof(tp->p[0]), "%s", path);
}

static void t_count_session(void *ctx, int64_t id, int32_t timeout_ms)
{
	(*(int *)ctx)++;
	assert_int_equal(timeout_ms, 6000);
	(void)id;
}

/* Sessions are logged state; a session's ephemerals carry its id and are deleted, with their
 * events, when the session closes; writes from a closed session are SessionExpired. */
static void test_sessions_and_ephemerals(void **state)
{
	struct fixture *f = *state;
	struct t_paths tp = {0};
	uint8_t pw[ZK_SESSION_PASSWD_LEN];
	int32_t timeout;
	int n = 0;

	t_session_open(f, 0x100);
	t_session_open(f, 0x200);
	assert_int_equal(store_session_get(f->s, 0x100, &timeout, pw), ZK_ERR_OK);
	assert_int_equal(timeout, 6000);
	assert_int_equal(pw[0], 0x5a);
	store_session_foreach(f->s, t_count_session, &n);
	assert_int_equal(n, 2);
	assert_int_equal(t_create(f, "/p", ZK_MODE_PERSISTENT, NULL), 0);
	f->session = 0x100;
	assert_int_equal(t_create(f, "/p/e1", ZK_MODE_EPHEMERAL, NULL), 0);
	assert_int_equal(t_create(f, "/p/e-", ZK_MODE_EPHEMERAL_SEQUENTIAL, NULL), 0);
	assert_string_equal(f->path, "/p/e-0000000001");
	assert_int_equal(t_create(f, "/top", ZK_MODE_EPHEMERAL, NULL), 0);
	assert_int_equal(t_stat(f, "/p/e1").ephemeral_owner, 0x100);
	f->session = 0x200;
	assert_int_equal(t_create(f, "/p/other", ZK_MODE_EPHEMERAL, NULL), 0);
	assert_int_equal(store_get_ephemerals(f->s, 0x100, "/p", t_collect_path, &tp), ZK_ERR_OK);
	assert_int_equal(tp.n, 2);
	tp.n = 0;
	assert_int_equal(store_get_ephemerals(f->s, 0x100, NULL, t_collect_path, &tp), ZK_ERR_OK);
	assert_int_equal(tp.n, 3);
	f->n_ev = 0;
	t_session_close(f, 0x100);
	/* Newest first, each NodeDeleted then its parent's NodeChildrenChanged: the order Apache
	 * ZooKeeper 3.8 delivered them in (kazoo, three ephemerals on two parents). */
	assert_int_equal(f->n_ev, 6);
	t_expect_event(f, 0, ZK_EVENT_NODE_DELETED, "/top");
	t_expect_event(f, 1, ZK_EVENT_NODE_CHILDREN_CHANGED, "/");
	t_expect_event(f, 2, ZK_EVENT_NODE_DELETED, "/p/e-0000000001");
	t_expect_event(f, 3, ZK_EVENT_NODE_CHILDREN_CHANGED, "/p");
	t_expect_event(f, 4, ZK_EVENT_NODE_DELETED, "/p/e1");
	t_expect_event(f, 5, ZK_EVENT_NODE_CHILDREN_CHANGED, "/p");
	assert_int_equal(store_exists(f->s, "/p/e1", NULL), ZK_ERR_NONODE);
	assert_int_equal(store_exists(f->s, "/top", NULL), ZK_ERR_NONODE);
	assert_int_equal(store_exists(f->s, "/p/other", NULL), ZK_ERR_OK);
	assert_int_equal(t_stat(f, "/p").pzxid, f->zxid);
	assert_int_equal(store_session_get(f->s, 0x100, NULL, NULL), ZK_ERR_SESSIONEXPIRED);
	/* Deletes by session close do not move the suffix: 3 creates so far under /p. */
	f->session = 0;
	assert_int_equal(t_create(f, "/p/s-", ZK_MODE_PERSISTENT_SEQUENTIAL, NULL), 0);
	assert_string_equal(f->path, "/p/s-0000000003");
	f->session = 0x100;
	assert_int_equal(t_create(f, "/p/late", ZK_MODE_PERSISTENT, NULL), ZK_ERR_SESSIONEXPIRED);
	assert_int_equal(t_set(f, "/p", "x", -1), ZK_ERR_SESSIONEXPIRED);
	/* Closing an unknown session is harmless. */
	t_session_close(f, 0x999);
}

/* getEphemerals filters with startsWith ("/g" also lists "/gx") and getAllChildrenNumber
 * counts all descendants, as ZooKeeper 3.8 answered side by side. */
static void test_ephemerals_prefix_and_counts(void **state)
{
	struct fixture *f = *state;
	struct t_paths tp = {0};
	int32_t count;

	t_session_open(f, 3);
	assert_int_equal(t_create(f, "/g", ZK_MODE_PERSISTENT, NULL), 0);
	assert_int_equal(t_create(f, "/g/a", ZK_MODE_PERSISTENT, NULL), 0);
	assert_int_equal(t_create(f, "/g/a/b", ZK_MODE_PERSISTENT, NULL), 0);
	assert_int_equal(t_create(f, "/g/ab", ZK_MODE_PERSISTENT, NULL), 0);
	f->session = 3;
	assert_int_equal(t_create(f, "/g/e1", ZK_MODE_EPHEMERAL, NULL), 0);
	assert_int_equal(t_create(f, "/g/a/e2", ZK_MODE_EPHEMERAL, NULL), 0);
	assert_int_equal(t_create(f, "/gx", ZK_MODE_EPHEMERAL, NULL), 0);
	assert_int_equal(store_get_ephemerals(f->s, 3, "/g", t_collect_path, &tp), ZK_ERR_OK);
	assert_int_equal(tp.n, 3);
	tp.n = 0;
	assert_int_equal(store_get_ephemerals(f->s, 3, "/g/a", t_collect_path, &tp), ZK_ERR_OK);
	assert_int_equal(tp.n, 1);
	assert_string_equal(tp.p[0], "/g/a/e2");
	tp.n = 0;
	assert_int_equal(store_get_ephemerals(f->s, 3, "", t_collect_path, &tp), ZK_ERR_OK);
	assert_int_equal(tp.n, 3);
	tp.n = 0;
	assert_int_equal(store_get_ephemerals(f->s, 3, "/nope", t_collect_path, &tp), ZK_ERR_OK);
	assert_int_equal(store_get_ephemerals(f->s, 99, NULL, t_collect_path, &tp), ZK_ERR_OK);
	assert_int_equal(tp.n, 0);
	assert_int_equal(store_count_all_children(f->s, "/g", &count), ZK_ERR_OK);
	assert_int_equal(count, 5);
	assert_int_equal(store_count_all_children(f->s, "/g/a", &count), ZK_ERR_OK);
	assert_int_equal(count, 2);
	assert_int_equal(store_count_all_children(f->s, "/", &count), ZK_ERR_OK);
	assert_int_equal(count, (int32_t)store_node_count(f->s) - 1);
	assert_int_equal(store_count_all_children(f->s, "/nope", &count), ZK_ERR_NONODE);
}

/* ---- containers and TTL ----------------------------------------------------------------- */

struct t_expired {
	int n;
	char path[64];
};

static void t_on_expired(void *ctx, const char *path, int32_t op)
{
	struct t_expired *e = ctx;

	assert_int_equal(op, ZK_OP_DELETE_CONTAINER);
	e->n++;
	snprintf(e->path, sizeof(e->path), "%s", path);
}

static int t_delete_container(struct fixture *f, const char *path, int64_t time_ms)
{
	struct store_txn txn = {.type = ZK_OP_DELETE_CONTAINER, .time_ms = time_ms};
	struct store_result res;
	int err;

	txn.op = t_op(ZK_OP_DELETE_CONTAINER, path);
	f->zxid++;
	assert_int_equal(store_apply(f->s, f->zxid, &txn, &res), 0);
	err = res.err;
	store_result_free(&res);
	return err;
}

/* A container is collected once it had children and has none; DELETE_CONTAINER deletes it
 * only while it is still an empty container. */
static void test_container(void **state)
{
	struct fixture *f = *state;
	struct store_op op = t_op(ZK_OP_CREATE_CONTAINER, "/c");
	struct t_expired e = {0};

	op.mode = ZK_MODE_CONTAINER;
	assert_int_equal(t_apply_op(f, &op), 0);
	assert_int_equal(t_stat(f, "/c").ephemeral_owner, 0);
	assert_int_equal(store_collect_expired(f->s, 1 << 30, t_on_expired, &e), 0);
	assert_int_equal(e.n, 0); /* Never had a child. */
	assert_int_equal(t_create(f, "/c/x", ZK_MODE_PERSISTENT, NULL), 0);
	assert_int_equal(t_delete_container(f, "/c", 0), ZK_ERR_NOTEMPTY);
	assert_int_equal(t_delete(f, "/c/x", -1), 0);
	assert_int_equal(store_collect_expired(f->s, 0, t_on_expired, &e), 0);
	assert_int_equal(e.n, 1);
	assert_string_equal(e.path, "/c");
	assert_int_equal(t_create(f, "/plain", ZK_MODE_PERSISTENT, NULL), 0);
	assert_int_equal(t_delete_container(f, "/plain", 0), ZK_ERR_BADVERSION);
	assert_int_equal(t_delete_container(f, "/none", 0), ZK_ERR_NONODE);
	f->n_ev = 0;
	assert_int_equal(t_delete_container(f, "/c", 0), ZK_ERR_OK);
	assert_int_equal(store_exists(f->s, "/c", NULL), ZK_ERR_NONODE);
	t_expect_event(f, 0, ZK_EVENT_NODE_DELETED, "/c");
	t_expect_event(f, 1, ZK_EVENT_NODE_CHILDREN_CHANGED, "/");
	/* The container opcode makes the container; the mode flag alone does not. */
	op = t_op(ZK_OP_CREATE, "/m");
	op.mode = ZK_MODE_CONTAINER;
	assert_int_equal(t_apply_op(f, &op), 0);
	assert_int_equal(t_delete_container(f, "/m", 0), ZK_ERR_BADVERSION);
}

/* TTL: (0, max] only with a TTL mode and the createTTL opcode; collected and deleted only when
 * empty and mtime + ttl < now (the txn's time decides on every replica). */
static void test_ttl(void **state)
{
	struct fixture *f = *state;
	struct store_op op = t_op(ZK_OP_CREATE_TTL, "/t");
	struct t_expired e = {0};
	int64_t mtime;

	op.mode = ZK_MODE_PERSISTENT_WITH_TTL;
	op.ttl = 0;
	assert_int_equal(t_apply_op(f, &op), ZK_ERR_BADARGUMENTS);
	op.ttl = -1;
	assert_int_equal(t_apply_op(f, &op), ZK_ERR_BADARGUMENTS);
	op.ttl = STORE_TTL_MAX + 1;
	assert_int_equal(t_apply_op(f, &op), ZK_ERR_BADARGUMENTS);
	op.mode = ZK_MODE_PERSISTENT; /* A TTL with another mode (ZooKeeper 3.8 crashes here). */
	op.ttl = 5;
	assert_int_equal(t_apply_op(f, &op), ZK_ERR_BADARGUMENTS);
	op.ttl = -1;
	assert_int_equal(t_apply_op(f, &op), ZK_ERR_BADARGUMENTS);
	op.mode = ZK_MODE_PERSISTENT_WITH_TTL;
	op.ttl = STORE_TTL_MAX;
	op.path = "/tmax";
	assert_int_equal(t_apply_op(f, &op), 0);
	op.ttl = 5000;
	op.path = "/t";
	assert_int_equal(t_apply_op(f, &op), 0);
	assert_int_equal(t_stat(f, "/t").ephemeral_owner, 0);
	mtime = t_stat(f, "/t").mtime;
	op.mode = ZK_MODE_PERSISTENT_SEQUENTIAL_WITH_TTL;
	op.path = "/t/s-";
	assert_int_equal(t_apply_op(f, &op), 0);
	assert_string_equal(f->path, "/t/s-0000000000");
	assert_int_equal(store_collect_expired(f->s, mtime + 5001, t_on_expired, &e), 0);
	assert_int_equal(e.n, 0); /* The TTL child's own mtime is later than now - 5000. */
	assert_int_equal(t_delete(f, "/t/s-0000000000", -1), 0);
	assert_int_equal(store_collect_expired(f->s, mtime + 5000, t_on_expired, &e), 0);
	assert_int_equal(e.n, 0);
	assert_int_equal(store_collect_expired(f->s, mtime + 5001, t_on_expired, &e), 0);
	assert_int_equal(e.n, 1);
	assert_string_equal(e.path, "/t");
	assert_int_equal(t_delete_container(f, "/t", mtime + 5000), ZK_ERR_BADVERSION);
	/* Extreme clocks neither overflow nor expire wrongly. */
	assert_int_equal(t_delete_container(f, "/t", INT64_MIN), ZK_ERR_BADVERSION);
	e.n = 0;
	assert_int_equal(store_collect_expired(f->s, INT64_MIN, t_on_expired, &e), 0);
	assert_int_equal(e.n, 0);
	assert_int_equal(store_collect_expired(f->s, INT64_MAX, t_on_expired, &e), 0);
	assert_int_equal(e.n, 2); /* /t and /tmax (whose ttl is 2^40 - 1 ms). */
	assert_int_equal(t_delete_container(f, "/t", mtime + 5001), ZK_ERR_OK);
	/* setData refreshes mtime and so postpones expiry. */
	op.path = "/u";
	op.mode = ZK_MODE_PERSISTENT_WITH_TTL;
	assert_int_equal(t_apply_op(f, &op), 0);
	mtime = t_stat(f, "/u").mtime;
	assert_int_equal(t_set(f, "/u", "x", -1), 0);
	assert_int_equal(t_delete_container(f, "/u", mtime + 5001), ZK_ERR_BADVERSION);
}

/* ---- txn codec -------------------------------------------------------------------------- */

static void t_expect_op_equal(const struct store_op *a, const struct store_op *b)
{
	assert_int_equal(a->type, b->type);
	assert_string_equal(a->path, b->path);
	assert_int_equal(a->data_len, b->data_len);
	if (a->data_len > 0)
		assert_memory_equal(a->data, b->data, (size_t)a->data_len);
	assert_int_equal(a->version, b->version);
	assert_int_equal(a->mode, b->mode);
	assert_int_equal(a->ttl, b->ttl);
	assert_int_equal(a->n_acl, b->n_acl);
	for (int i = 0; i < a->n_acl; i++) {
		assert_int_equal(a->acl[i].perms, b->acl[i].perms);
		assert_string_equal(a->acl[i].scheme, b->acl[i].scheme);
		assert_string_equal(a->acl[i].id, b->acl[i].id);
	}
}

/* Every txn kind survives encode + decode field for field; bad bytes are -EBADMSG. */
static void test_txn_codec(void **state)
{
	struct store_op ops[2] = {t_op(ZK_OP_CREATE_TTL, "/a"), t_op(ZK_OP_CHECK, "/b")};
	struct store_txn in = {.type = ZK_OP_MULTI, .session_id = -5, .xid = -3, .time_ms = 77,
			       .ops = ops, .n_ops = 2};
	struct store_txn *out;
	struct zk_buf b;
	uint8_t junk[] = {0xff, 0xff, 0xff};

	(void)state;
	ops[0].data = (const uint8_t *)"abc";
	ops[0].data_len = 3;
	ops[0].ttl = 1234;
	ops[0].mode = ZK_MODE_PERSISTENT_WITH_TTL;
	ops[1].version = 42;
	ops[1].data_len = 0;
	zk_buf_init(&b);
	assert_int_equal(store_txn_encode(&in, &b), 0);
	assert_int_equal(store_txn_decode(b.data, b.len, &out), 0);
	assert_int_equal(out->type, ZK_OP_MULTI);
	assert_int_equal(out->session_id, -5);
	assert_int_equal(out->xid, -3);
	assert_int_equal(out->time_ms, 77);
	assert_int_equal(out->n_ops, 2);
	t_expect_op_equal(&ops[0], &out->ops[0]);
	t_expect_op_equal(&ops[1], &out->ops[1]);
	store_txn_free(out);

	in = (struct store_txn){.type = ZK_OP_SET_DATA, .op = t_op(ZK_OP_SET_DATA, "/x")};
	zk_buf_reset(&b);
	assert_int_equal(store_txn_encode(&in, &b), 0);
	assert_int_equal(store_txn_decode(b.data, b.len, &out), 0);
	t_expect_op_equal(&in.op, &out->op);
	assert_int_equal(out->op.data_len, -1);
	store_txn_free(out);

	in = (struct store_txn){.type = ZK_OP_CREATE_SESSION, .session_id = 99,
				.session_timeout_ms = 4000};
	memset(in.passwd, 7, sizeof(in.passwd));
	zk_buf_reset(&b);
	assert_int_equal(store_txn_encode(&in, &b), 0);
	assert_int_equal(store_txn_decode(b.data, b.len, &out), 0);
	assert_int_equal(out->session_timeout_ms, 4000);
	assert_memory_equal(out->passwd, in.passwd, sizeof(in.passwd));
	store_txn_free(out);

	in.type = 12345;
	assert_int_equal(store_txn_encode(&in, &b), -EINVAL);
	assert_int_equal(store_txn_decode(junk, sizeof(junk), &out), -EBADMSG);
	zk_buf_close(&b);
}

/* Equal field for field, NULL-ness of every pointer included. */
static void t_expect_op_same(const struct store_op *a, const struct store_op *b)
{
	t_expect_op_equal(a, b);
	assert_int_equal(a->data == NULL, b->data == NULL);
	assert_int_equal(a->acl == NULL, b->acl == NULL);
}

static void t_expect_txn_same(const struct store_txn *a, const struct store_txn *b)
{
	assert_int_equal(a->type, b->type);
	assert_int_equal(a->session_id, b->session_id);
	assert_int_equal(a->xid, b->xid);
	assert_int_equal(a->time_ms, b->time_ms);
	assert_int_equal(a->session_timeout_ms, b->session_timeout_ms);
	assert_memory_equal(a->passwd, b->passwd, sizeof(a->passwd));
	t_expect_op_same(&a->op, &b->op);
	assert_int_equal(a->n_ops, b->n_ops);
	assert_int_equal(a->ops == NULL, b->ops == NULL);
	for (int i = 0; i < a->n_ops; i++)
		t_expect_op_same(&a->ops[i], &b->ops[i]);
	assert_int_equal(a->n_ids, b->n_ids);
	assert_int_equal(a->ids == NULL, b->ids == NULL);
	for (int i = 0; i < a->n_ids; i++) {
		assert_int_equal(a->ids[i].perms, b->ids[i].perms);
		assert_string_equal(a->ids[i].scheme, b->ids[i].scheme);
		assert_string_equal(a->ids[i].id, b->ids[i].id);
	}
	assert_int_equal(a->authed, b->authed);
}

static void t_random_op(struct fixture *f, unsigned *seed, struct store_op *op);

/* store_txn_copy gives what decoding the encoded txn gives (the leader applies the copy, the
 * followers the decoded entry: any difference would split the replicas), for random txns of
 * every kind, absent paths and ACLs, ids, garbage in the fields a kind does not carry. */
static void test_txn_copy(void **state)
{
	static const int kinds[] = {ZK_OP_MULTI, ZK_OP_CREATE_SESSION, ZK_OP_CLOSE_SESSION, 0};
	static const struct store_acl ids[] = {{ZK_PERM_ALL, "ip", "127.0.0.1"},
					       {3, "digest", "u:h"}, {0, NULL, NULL}};
	struct fixture *f = *state;
	unsigned seed = 777;
	struct store_op ops[4];
	struct store_txn txn, *dec, *cp;
	struct zk_buf b;

	zk_buf_init(&b);
	for (int i = 0; i < 2000; i++) {
		memset(&txn, 0, sizeof(txn));
		txn.type = kinds[rand_r(&seed) % 4];
		for (int j = 0; j < 4; j++)
			t_random_op(f, &seed, &ops[j]);
		if (rand_r(&seed) % 8 == 0)
			ops[0].path = NULL;
		if (rand_r(&seed) % 8 == 0)
			ops[1].acl = NULL;
		txn.op = ops[0];
		if (txn.type == 0)
			txn.type = txn.op.type;
		txn.ops = ops;
		txn.n_ops = rand_r(&seed) % 5;
		txn.session_id = rand_r(&seed);
		txn.xid = rand_r(&seed) - RAND_MAX / 2;
		txn.time_ms = rand_r(&seed);
		txn.session_timeout_ms = rand_r(&seed) % 40000;
		memset(txn.passwd, rand_r(&seed), sizeof(txn.passwd));
		txn.ids = ids;
		txn.n_ids = rand_r(&seed) % 5 - 1;
		txn.authed = rand_r(&seed) % 2;
		zk_buf_reset(&b);
		assert_int_equal(store_txn_encode(&txn, &b), 0);
		assert_int_equal(store_txn_decode(b.data, b.len, &dec), 0);
		assert_int_equal(store_txn_copy(&txn, &cp), 0);
		t_expect_txn_same(dec, cp);
		store_txn_free(dec);
		store_txn_free(cp);
	}
	txn.type = 12345;
	assert_int_equal(store_txn_copy(&txn, &cp), -EINVAL);
	zk_buf_close(&b);
}

/* The digest is a persistent format: snapshots record it and replicas compare theirs, so its
 * value for a fixed history is pinned here (computed by the byte-at-a-time hashing of session
 * 4). Names and values of every length 0-20 and 100 bytes cover the hash's word and tail
 * steps; a session and a digest ACL cover the other inputs. */
static void test_digest_pinned(void **state)
{
	static const struct store_acl acl[] = {{ZK_PERM_READ, "digest", "user:hash0123456789"}};
	static const char chars[] = "0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmn"
				    "opqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz0123";
	struct fixture *f = *state;
	struct store_op op;
	char path[64], data[128];
	int len;

	t_session_open(f, 7);
	assert_int_equal(t_create(f, "/p", ZK_MODE_PERSISTENT, NULL), ZK_ERR_OK);
	for (len = 0; len <= 21; len++) {
		int n = len == 21 ? 100 : len;

		snprintf(path, sizeof(path), "/p/%c%.*s", len < 21 ? 'n' : 'm', len < 21 ? len : 20,
			 chars);
		memcpy(data, chars, (size_t)n);
		op = t_op(ZK_OP_CREATE, path);
		op.data = (const uint8_t *)data;
		op.data_len = n;
		if (len % 3 == 0)
			op.acl = acl;
		assert_int_equal(t_apply_op(f, &op), ZK_ERR_OK);
	}
	f->session = 7;
	assert_int_equal(t_create(f, "/p/eph", ZK_MODE_EPHEMERAL, "e"), ZK_ERR_OK);
	assert_int_equal(t_set(f, "/p/n", "changed", 0), ZK_ERR_OK);
	assert_int_equal(store_check(f->s), 0);
	assert_int_equal(store_digest(f->s), 0x538edca99ba55956ULL);
}

/* ---- random sequences ------------------------------------------------------------------- */

static const char *const t_random_paths[] = {"/a", "/a/b", "/a/b/c", "/a/d", "/e", "/e/f",
					     "/a/s-", "/e/s-"};

/* A random op on one of a few paths, in a random mode. */
static void t_random_op(struct fixture *f, unsigned *seed, struct store_op *op)
{
	static const int types[] = {ZK_OP_CREATE, ZK_OP_CREATE2, ZK_OP_CREATE_CONTAINER,
				    ZK_OP_DELETE, ZK_OP_SET_DATA, ZK_OP_CHECK, ZK_OP_SET_ACL,
				    ZK_OP_CREATE_TTL, ZK_OP_DELETE_CONTAINER};
	static const struct store_acl acl2[] = {{ZK_PERM_ALL, "digest", "u:p"}};

	*op = t_op(types[rand_r(seed) % 9], t_random_paths[rand_r(seed) % 8]);
	op->mode = rand_r(seed) % 7;
	op->ttl = op->type == ZK_OP_CREATE_TTL ? 1 + rand_r(seed) % 100 : -1;
	op->version = rand_r(seed) % 3 - 1;
	op->data = (const uint8_t *)"data";
	op->data_len = rand_r(seed) % 5 - 1;
	if (rand_r(seed) % 4 == 0)
		op->acl = acl2;
	(void)f;
}

/* Thousands of random txns (single ops, multis, sessions): store_check holds after each, a
 * failed op or multi leaves the digest as it was, and the end state survives a snapshot round
 * trip. */
static void test_random_ops(void **state)
{
	struct fixture *f = *state;
	unsigned seed = 12345;
	struct store_op ops[4];
	struct store_txn txn;
	struct store_result res;
	struct zk_buf snap;
	struct store *copy;
	uint64_t before;

	for (int i = 0; i < 3000; i++) {
		int kind = rand_r(&seed) % 10;

		f->session = rand_r(&seed) % 3;
		before = store_digest(f->s);
		if (kind == 0) {
			t_session_open(f, 1 + rand_r(&seed) % 2);
			continue;
		}
		if (kind == 1) {
			t_session_close(f, 1 + rand_r(&seed) % 2);
			continue;
		}
		if (kind < 5) {
			txn = t_txn(f, ZK_OP_MULTI);
			txn.n_ops = rand_r(&seed) % 4;
			for (int j = 0; j < txn.n_ops; j++)
				t_random_op(f, &seed, &ops[j]);
			txn.ops = ops;
		} else {
			t_random_op(f, &seed, &ops[0]);
			txn = t_txn(f, ops[0].type);
			txn.op = ops[0];
		}
		t_apply_res(f, &txn, &res);
		if (res.err != ZK_ERR_OK)
			assert_int_equal(store_digest(f->s), before);
		store_result_free(&res);
		f->n_ev = 0;
		assert_int_equal(store_check(f->s), 0);
	}
	zk_buf_init(&snap);
	assert_int_equal(store_snapshot_write(f->s, &snap), 0);
	assert_int_equal(store_create(NULL, NULL, NULL, &copy), 0);
	assert_int_equal(store_snapshot_load(copy, snap.data, snap.len), 0);
	assert_int_equal(store_digest(copy), store_digest(f->s));
	assert_true(store_node_count(copy) > 4);
	store_destroy(copy);
	zk_buf_close(&snap);
}

/* ---- allocation failures ---------------------------------------------------------------- */

/* Fail allocation 1, 2, ... of @fn until it succeeds: every failure is -ENOMEM with the digest,
 * node count and last zxid unchanged and no event fired (ASan reports any leak). */
static void t_fault_loop(struct fixture *f, struct store_txn *txn)
{
	uint64_t digest = store_digest(f->s);
	int64_t zxid = store_last_zxid(f->s);
	struct store_result res;
	int rc, n;

	for (n = 1;; n++) {
		f->n_ev = 0;
		zk_alloc_fault_set(n, 0);
		rc = store_apply(f->s, f->zxid + 1, txn, &res);
		zk_alloc_fault_set(0, 0);
		if (rc == 0)
			break;
		assert_int_equal(rc, -ENOMEM);
		assert_int_equal(store_digest(f->s), digest);
		assert_int_equal(store_last_zxid(f->s), zxid);
		assert_int_equal(f->n_ev, 0);
		assert_null(res.ops);
		assert_int_equal(store_check(f->s), 0);
	}
	f->zxid++;
	assert_int_equal(res.err, 0);
	store_result_free(&res);
	assert_true(n > 1);
}

/* Creates, multis, setData, setACL, session create and close under allocation failures. */
static void test_alloc_faults(void **state)
{
	struct fixture *f = *state;
	struct store_acl acl[] = {{ZK_PERM_READ, "digest", "new:acl"}};
	struct store_op ops[4];
	struct store_txn txn;

	t_session_open(f, 5);
	f->session = 5;
	txn = t_txn(f, ZK_OP_CREATE_SESSION);
	txn.session_id = 6;
	t_fault_loop(f, &txn);
	txn = t_txn(f, ZK_OP_CREATE);
	txn.op = t_op(ZK_OP_CREATE, "/a");
	txn.op.data = (const uint8_t *)"abc";
	txn.op.data_len = 3;
	t_fault_loop(f, &txn);
	for (int i = 0; i < 32; i++) { /* /a's children table (32 buckets) grows in the loop. */
		char path[32];

		snprintf(path, sizeof(path), "/a/n%d", i);
		assert_int_equal(t_create(f, path, ZK_MODE_EPHEMERAL, "x"), 0);
	}
	ops[0] = t_op(ZK_OP_CREATE, "/a/s-");
	ops[0].mode = ZK_MODE_EPHEMERAL_SEQUENTIAL;
	ops[0].acl = acl;
	ops[1] = t_op(ZK_OP_SET_DATA, "/a");
	ops[1].data = (const uint8_t *)"new";
	ops[1].data_len = 3;
	ops[2] = t_op(ZK_OP_DELETE, "/a/n3");
	ops[3] = t_op(ZK_OP_CREATE2, "/b");
	txn = t_txn(f, ZK_OP_MULTI);
	txn.ops = ops;
	txn.n_ops = 4;
	t_fault_loop(f, &txn);
	txn = t_txn(f, ZK_OP_SET_ACL);
	txn.op = t_op(ZK_OP_SET_ACL, "/b");
	txn.op.acl = acl;
	t_fault_loop(f, &txn);
	txn = t_txn(f, ZK_OP_CREATE);
	txn.op = t_op(ZK_OP_CREATE, "/b/first"); /* /b's children table is made here. */
	t_fault_loop(f, &txn);
	txn = t_txn(f, ZK_OP_SET_DATA);
	txn.op = t_op(ZK_OP_SET_DATA, "/a"); /* Replaces the data block of the multi's setData. */
	txn.op.data = (const uint8_t *)"again";
	txn.op.data_len = 5;
	t_fault_loop(f, &txn);
	txn = t_txn(f, ZK_OP_CLOSE_SESSION);
	t_fault_loop(f, &txn);
	assert_int_equal(store_count_all_children(f->s, "/a", &(int32_t){0}), ZK_ERR_OK);
	assert_int_equal(t_stat(f, "/a").num_children, 0);
}

/* store_create and txn decoding fail cleanly too. */
static void test_alloc_faults_create_decode(void **state)
{
	struct store *s;
	struct store_txn in = {.type = ZK_OP_CREATE, .op = t_op(ZK_OP_CREATE, "/a")};
	struct store_txn *out;
	struct zk_buf b;
	int n, rc;

	(void)state;
	for (n = 1;; n++) {
		zk_alloc_fault_set(n, 0);
		rc = store_create(NULL, NULL, NULL, &s);
		zk_alloc_fault_set(0, 0);
		if (rc == 0)
			break;
		assert_int_equal(rc, -ENOMEM);
	}
	store_destroy(s);
	zk_buf_init(&b);
	assert_int_equal(store_txn_encode(&in, &b), 0);
	for (n = 1;; n++) {
		zk_alloc_fault_set(n, 0);
		rc = store_txn_decode(b.data, b.len, &out);
		zk_alloc_fault_set(0, 0);
		if (rc == 0)
			break;
		assert_int_equal(rc, -ENOMEM);
	}
	store_txn_free(out);
	zk_buf_close(&b);
}

static void t_ignore_path(void *ctx, const char *path)
{
	(*(int *)ctx)++;
	(void)path;
}

static void t_ignore_expired(void *ctx, const char *path, int32_t op)
{
	(*(int *)ctx)++;
	(void)path;
	(void)op;
}

/* The reads that build paths and txn encoding report -ENOMEM and succeed once memory is back. */
static void test_alloc_faults_reads_encode(void **state)
{
	struct fixture *f = *state;
	struct store_op op = t_op(ZK_OP_CREATE_CONTAINER, "/c");
	struct store_txn txn = {.type = ZK_OP_CREATE, .op = t_op(ZK_OP_CREATE, "/a")};
	struct zk_buf b;
	int n = 0;

	t_session_open(f, 4);
	f->session = 4;
	assert_int_equal(t_create(f, "/e", ZK_MODE_EPHEMERAL, NULL), 0);
	assert_int_equal(t_apply_op(f, &op), 0);
	assert_int_equal(t_create(f, "/c/x", ZK_MODE_PERSISTENT, NULL), 0);
	assert_int_equal(t_delete(f, "/c/x", -1), 0);
	zk_alloc_fault_set(1, -1);
	assert_int_equal(store_get_ephemerals(f->s, 4, NULL, t_ignore_path, &n), -ENOMEM);
	assert_int_equal(store_collect_expired(f->s, 0, t_ignore_expired, &n), -ENOMEM);
	assert_int_equal(store_check(f->s), -ENOMEM);
	zk_buf_init(&b);
	assert_int_equal(store_txn_encode(&txn, &b), -ENOMEM);
	assert_int_equal(b.len, 0);
	zk_alloc_fault_set(0, 0);
	assert_int_equal(n, 0);
	assert_int_equal(store_get_ephemerals(f->s, 4, NULL, t_ignore_path, &n), ZK_ERR_OK);
	assert_int_equal(store_collect_expired(f->s, 0, t_ignore_expired, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(store_txn_encode(&txn, &b), 0);
	zk_buf_close(&b);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, t_setup, t_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_initial_tree),
		T(test_create_stat_and_events),
		T(test_create_errors),
		T(test_create_data_limit),
		T(test_acl_validation),
		T(test_create_root_sequential),
		T(test_bad_paths),
		T(test_sequential_numbering),
		T(test_sequential_collision),
		T(test_sequential_in_multi),
		T(test_sequential_overflow),
		T(test_delete),
		T(test_set_data),
		T(test_set_acl),
		T(test_check),
		T(test_multi_success),
		T(test_multi_create_result_types),
		T(test_multi_rollback),
		T(test_sessions_and_ephemerals),
		T(test_ephemerals_prefix_and_counts),
		T(test_container),
		T(test_ttl),
		T(test_txn_codec),
		T(test_txn_copy),
		T(test_random_ops),
		T(test_digest_pinned),
		T(test_alloc_faults),
		T(test_alloc_faults_create_decode),
		T(test_alloc_faults_reads_encode),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
