/* test_store_snapshot.c: cmocka tests of store_snapshot_write/load: round trip (same digest,
 * zxid, sessions, stats, ACLs, counters), every byte flipped and every truncation of a small
 * snapshot rejected with -EBADMSG (or, never a crash, loading to an equal digest), the store
 * left as it was after a failed load, and allocation failures on both sides; the compressed
 * envelope (a damaged file refused by its CRC before decompressing, a crafted frame refused by
 * libzstd) and the bare image older zkfsd wrote, which still loads. */
#define ZSTD_STATIC_LINKING_ONLY /* ZSTD_decompressBound. */
#include <zstd.h>

#include "tests/unit/test_store_util.h"

#include "store/store_int.h"

/* A small tree with every kind of node, a session, a custom ACL, data and counters. */
static void t_build(struct fixture *f)
{
	struct store_acl acl[] = {{ZK_PERM_READ | ZK_PERM_WRITE, "digest", "u:h"}};
	struct store_op op;

	t_session_open(f, 0x42);
	f->session = 0x42;
	assert_int_equal(t_create(f, "/a", ZK_MODE_PERSISTENT, "data-a"), 0);
	assert_int_equal(t_create(f, "/a/s-", ZK_MODE_PERSISTENT_SEQUENTIAL, NULL), 0);
	assert_int_equal(t_create(f, "/a/s-", ZK_MODE_PERSISTENT_SEQUENTIAL, ""), 0);
	assert_int_equal(t_delete(f, "/a/s-0000000000", -1), 0);
	assert_int_equal(t_create(f, "/a/e", ZK_MODE_EPHEMERAL, "eph"), 0);
	op = t_op(ZK_OP_CREATE_CONTAINER, "/c");
	op.mode = ZK_MODE_CONTAINER;
	assert_int_equal(t_apply_op(f, &op), 0);
	op = t_op(ZK_OP_CREATE_TTL, "/c/t");
	op.mode = ZK_MODE_PERSISTENT_WITH_TTL;
	op.ttl = 999;
	op.acl = acl;
	assert_int_equal(t_apply_op(f, &op), 0);
	assert_int_equal(t_set(f, "/a", "data-a2", 0), 0);
	/* Children counters with no child left (pzxid and cversion kept apart from the node). */
	assert_int_equal(t_create(f, "/d", ZK_MODE_PERSISTENT, NULL), 0);
	assert_int_equal(t_create(f, "/d/x", ZK_MODE_PERSISTENT, "x"), 0);
	assert_int_equal(t_delete(f, "/d/x", -1), 0);
}

static void t_write(const struct store *s, struct zk_buf *b)
{
	zk_buf_init(b);
	assert_int_equal(store_snapshot_write(s, b), 0);
}

/* Envelope (snapshot_zstd.c): magic, u64 raw length, zstd frame, CRC32C. */
#define T_HEAD 16

/* The bare image inside a written snapshot, decompressed here with libzstd directly: byte for
 * byte what zkfsd wrote before snapshots were compressed (format 1, "ZKFSSNP1"). */
static void t_write_bare(const struct store *s, struct zk_buf *raw)
{
	struct zk_buf b;
	size_t n;

	t_write(s, &b);
	assert_memory_equal(b.data, "ZKFSSNZ1", 8);
	n = (size_t)ZSTD_getFrameContentSize(b.data + T_HEAD, b.len - T_HEAD - 4);
	if (n == (size_t)ZSTD_CONTENTSIZE_UNKNOWN)
		n = (size_t)ZSTD_decompressBound(b.data + T_HEAD, b.len - T_HEAD - 4);
	zk_buf_init(raw);
	assert_int_equal(zk_buf_reserve(raw, n), 0);
	raw->len = ZSTD_decompress(raw->data, n, b.data + T_HEAD, b.len - T_HEAD - 4);
	assert_false(ZSTD_isError(raw->len));
	assert_memory_equal(raw->data, "ZKFSSNP1", 8);
	zk_buf_close(&b);
}

/* Recompute the envelope's CRC after a test changed its bytes on purpose. */
static void t_fix_crc(struct zk_buf *b)
{
	zk_buf_put_be32(b, b->len - 4, store_crc32c(0, b->data, b->len - 4));
}

/* A snapshot loads into a fresh store with the same digest, zxid, stats and sessions, and the
 * loaded store keeps working (sequence numbers continue, the session's ephemerals go). */
static void test_round_trip(void **state)
{
	struct fixture *f = *state;
	struct store *s2;
	struct zk_buf b;
	struct zk_stat a = {0}, c = {0}; /* Zeroed padding: compared with memcmp. */
	const struct store_acl *acl;
	int32_t n;

	t_build(f);
	t_write(f->s, &b);
	assert_int_equal(store_create(NULL, NULL, NULL, &s2), 0);
	assert_int_equal(store_snapshot_load(s2, b.data, b.len), 0);
	assert_int_equal(store_digest(s2), store_digest(f->s));
	assert_int_equal(store_last_zxid(s2), store_last_zxid(f->s));
	assert_int_equal(store_node_count(s2), store_node_count(f->s));
	assert_int_equal(store_check(s2), 0);
	assert_int_equal(store_exists(f->s, "/a", &a), 0);
	assert_int_equal(store_exists(s2, "/a", &c), 0);
	assert_memory_equal(&a, &c, sizeof(a));
	assert_int_equal(store_get_acl(s2, "/c/t", &acl, &n, NULL), 0);
	assert_string_equal(acl[0].scheme, "digest");
	assert_int_equal(store_get_acl(s2, "/zookeeper/config", &acl, &n, &c), 0);
	assert_int_equal(c.aversion, -1);
	assert_int_equal(store_session_get(s2, 0x42, &n, NULL), ZK_ERR_OK);
	/* The loaded store goes on as the original would. */
	store_destroy(f->s);
	f->s = s2;
	assert_int_equal(t_create(f, "/a/s-", ZK_MODE_PERSISTENT_SEQUENTIAL, NULL), 0);
	assert_string_equal(f->path, "/a/s-0000000003");
	t_session_close(f, 0x42);
	assert_int_equal(store_exists(f->s, "/a/e", NULL), ZK_ERR_NONODE);
	/* A second snapshot of a loaded store is byte-identical to one of the original? Not
	 * required (sibling order may differ) but its digest is equal. */
	zk_buf_close(&b);
}

/* Flip bit patterns of every byte of @b, then cut it anywhere: each load is refused with
 * -EBADMSG and leaves a fresh store as it was (or, should a change ever slip past every check,
 * loads @f's very tree: never a crash, never another tree). */
static void t_flip_all(struct fixture *f, struct zk_buf *b)
{
	struct store *s2;
	uint64_t before;
	size_t i;
	int rc;

	assert_int_equal(store_create(NULL, NULL, NULL, &s2), 0);
	before = store_digest(s2);
	for (i = 0; i < b->len; i++) {
		static const uint8_t flips[] = {0x01, 0x80, 0xff};

		for (size_t k = 0; k < sizeof(flips); k++) {
			b->data[i] ^= flips[k];
			rc = store_snapshot_load(s2, b->data, b->len);
			b->data[i] ^= flips[k];
			if (rc == 0) {
				assert_int_equal(store_digest(s2), store_digest(f->s));
				assert_int_equal(store_snapshot_load(s2, "", 0), -EBADMSG);
				continue;
			}
			assert_int_equal(rc, -EBADMSG);
			assert_int_equal(store_digest(s2), before);
		}
	}
	for (i = 0; i < b->len; i++)
		assert_int_equal(store_snapshot_load(s2, b->data, i), -EBADMSG);
	assert_int_equal(store_digest(s2), before);
	assert_int_equal(store_snapshot_load(s2, b->data, b->len), 0);
	store_destroy(s2);
}

/* Flipping any bit pattern of any byte, or cutting the snapshot anywhere, is refused with
 * -EBADMSG (the CRC and the structure checks) and leaves the target store untouched: the
 * compressed snapshot as written, and the bare image inside it. */
static void test_corruption(void **state)
{
	struct fixture *f = *state;
	struct zk_buf b;

	t_build(f);
	t_write(f->s, &b);
	t_flip_all(f, &b);
	zk_buf_close(&b);
	t_write_bare(f->s, &b);
	t_flip_all(f, &b);
	zk_buf_close(&b);
}

/* A snapshot written before compression (the bare image of format 1) loads to the same tree:
 * data dirs of older zkfsd keep working. */
static void test_bare_image_loads(void **state)
{
	struct fixture *f = *state;
	struct store *s2;
	struct zk_buf raw, z;

	t_build(f);
	t_write_bare(f->s, &raw);
	t_write(f->s, &z);
	assert_true(z.len < raw.len + T_HEAD + 4 + 64); /* Tiny trees barely shrink. */
	assert_int_equal(store_create(NULL, NULL, NULL, &s2), 0);
	assert_int_equal(store_snapshot_load(s2, raw.data, raw.len), 0);
	assert_int_equal(store_digest(s2), store_digest(f->s));
	assert_int_equal(store_last_zxid(s2), store_last_zxid(f->s));
	assert_int_equal(store_check(s2), 0);
	store_destroy(s2);
	zk_buf_close(&raw);
	zk_buf_close(&z);
}

/* A frame damaged behind a correct CRC (a writer bug or a crafted file) is refused by the
 * decoder, at once: every byte of the frame flipped, the raw length changed to more than the
 * frame can hold (refused before any allocation) and to one byte less or more. A flipped byte
 * may also leave a frame that still decodes to the very same image (a match's offset moved to
 * an identical earlier run: CI saw one such byte in about one run of fifteen, as the tree's
 * times vary); that is no damage, so such a load must give exactly the tree that was written,
 * and it may happen for a few bytes only. */
static void test_damaged_frame(void **state)
{
	struct fixture *f = *state;
	struct store *s2;
	struct zk_buf b;
	uint64_t before;
	size_t same_image = 0;
	int rc;

	t_build(f);
	t_write(f->s, &b);
	assert_int_equal(store_create(NULL, NULL, NULL, &s2), 0);
	before = store_digest(s2);
	for (size_t i = T_HEAD; i < b.len - 4; i++) {
		b.data[i] ^= 0xff;
		t_fix_crc(&b);
		rc = store_snapshot_load(s2, b.data, b.len);
		b.data[i] ^= 0xff;
		if (rc == 0) {
			assert_int_equal(store_digest(s2), store_digest(f->s));
			assert_int_equal(store_check(s2), 0);
			same_image++;
			store_destroy(s2);
			assert_int_equal(store_create(NULL, NULL, NULL, &s2), 0);
			continue;
		}
		assert_int_equal(rc, -EBADMSG);
		assert_int_equal(store_digest(s2), before);
	}
	assert_true(same_image <= 4);
	t_fix_crc(&b);
	for (int k = 0; k < 3; k++) {
		static const uint32_t lens[] = {0xffffffffU, 0, 0};
		uint32_t lo = (uint32_t)(b.data[12] << 24 | b.data[13] << 16 | b.data[14] << 8 |
					 b.data[15]);

		zk_buf_put_be32(&b, 8, lens[k]);
		zk_buf_put_be32(&b, 12, k == 0 ? 0 : lo + (k == 1 ? 1U : -1U));
		t_fix_crc(&b);
		assert_int_equal(store_snapshot_load(s2, b.data, b.len), -EBADMSG);
		zk_buf_put_be32(&b, 8, 0);
		zk_buf_put_be32(&b, 12, lo);
	}
	t_fix_crc(&b);
	assert_int_equal(store_snapshot_load(s2, b.data, b.len), 0);
	assert_int_equal(store_digest(s2), store_digest(f->s));
	store_destroy(s2);
	zk_buf_close(&b);
}

/* A well-formed snapshot (right CRC) whose records contradict each other is refused too. */
static void test_inconsistent_records(void **state)
{
	struct fixture *f = *state;
	struct zk_buf b, bad;
	uint32_t crc;

	t_build(f);
	t_write_bare(f->s, &b);
	/* Same bytes with the last record duplicated: the header's node count no longer matches,
	 * and the CRC is recomputed so only the structure checks can catch it. */
	zk_buf_init(&bad);
	assert_int_equal(zk_buf_append(&bad, b.data, b.len - 4), 0);
	assert_int_equal(zk_buf_append(&bad, "\0\0\0\0", 4), 0); /* An empty trailing record. */
	crc = store_crc32c(0, bad.data, bad.len);
	assert_int_equal(zk_buf_append_be32(&bad, crc), 0);
	assert_int_equal(store_snapshot_load(f->s, bad.data, bad.len), -EBADMSG);
	zk_buf_close(&bad);
	zk_buf_close(&b);
}

/* Allocation failures while writing and while loading: -ENOMEM, output/store unchanged. */
static void test_alloc_faults(void **state)
{
	struct fixture *f = *state;
	struct store *s2;
	struct zk_buf b, ref;
	uint64_t before;
	int n, rc;

	t_build(f);
	t_write(f->s, &ref);
	zk_buf_init(&b);
	for (n = 1;; n++) {
		zk_alloc_fault_set(n, 0);
		rc = store_snapshot_write(f->s, &b);
		zk_alloc_fault_set(0, 0);
		if (rc == 0)
			break;
		assert_int_equal(rc, -ENOMEM);
		assert_int_equal(b.len, 0);
	}
	assert_int_equal(b.len, ref.len);
	assert_memory_equal(b.data, ref.data, b.len);
	assert_int_equal(store_create(NULL, NULL, NULL, &s2), 0);
	before = store_digest(s2);
	for (n = 1;; n++) {
		zk_alloc_fault_set(n, 0);
		rc = store_snapshot_load(s2, b.data, b.len);
		zk_alloc_fault_set(0, 0);
		if (rc == 0)
			break;
		assert_int_equal(rc, -ENOMEM);
		assert_int_equal(store_digest(s2), before);
		assert_int_equal(store_check(s2), 0);
	}
	assert_int_equal(store_digest(s2), store_digest(f->s));
	store_destroy(s2);
	zk_buf_close(&b);
	zk_buf_close(&ref);
}

/* A deep chain (3000 levels) round-trips: paths are built without recursion. */
static void test_deep_tree(void **state)
{
	struct fixture *f = *state;
	struct store *s2;
	struct zk_buf b;
	char *path = malloc(2 * 3000 + 2);
	size_t len = 0;

	assert_non_null(path);
	for (int i = 0; i < 3000; i++) {
		path[len++] = '/';
		path[len++] = 'd';
		path[len] = '\0';
		f->n_ev = 0;
		assert_int_equal(t_create(f, path, ZK_MODE_PERSISTENT, NULL), 0);
	}
	assert_int_equal(store_exists(f->s, path, NULL), ZK_ERR_OK);
	t_write(f->s, &b);
	assert_int_equal(store_create(NULL, NULL, NULL, &s2), 0);
	assert_int_equal(store_snapshot_load(s2, b.data, b.len), 0);
	assert_int_equal(store_digest(s2), store_digest(f->s));
	assert_int_equal(store_exists(s2, path, NULL), ZK_ERR_OK);
	store_destroy(s2);
	zk_buf_close(&b);
	free(path);
}

/* The digest depends on content only (two stores that went through the same txns agree,
 * whatever the sibling order in memory) and on every field. */
static void test_digest(void **state)
{
	struct fixture *f = *state;
	struct fixture g = {0};
	uint64_t d;

	assert_int_equal(store_create(NULL, NULL, NULL, &g.s), 0);
	assert_int_equal(t_create(f, "/x", ZK_MODE_PERSISTENT, NULL), 0);
	assert_int_equal(t_create(f, "/y", ZK_MODE_PERSISTENT, NULL), 0);
	assert_int_equal(t_create(&g, "/x", ZK_MODE_PERSISTENT, NULL), 0);
	assert_int_equal(t_create(&g, "/y", ZK_MODE_PERSISTENT, NULL), 0);
	assert_int_equal(store_digest(g.s), store_digest(f->s));
	d = store_digest(f->s);
	assert_int_equal(t_set(f, "/y", "a", -1), 0);
	assert_int_not_equal(store_digest(f->s), d);
	assert_int_equal(t_set(&g, "/y", "b", -1), 0);
	assert_int_not_equal(store_digest(g.s), store_digest(f->s));
	store_destroy(g.s);
}

/* CRC32C bit by bit from the polynomial: the reference for store_crc32c, whichever way
 * (table or CPU instruction) it computes. */
static uint32_t t_crc32c_bitwise(uint32_t crc, const uint8_t *p, size_t len)
{
	crc = ~crc;
	for (size_t i = 0; i < len; i++) {
		crc ^= p[i];
		for (int k = 0; k < 8; k++)
			crc = crc & 1 ? (crc >> 1) ^ 0x82f63b78U : crc >> 1;
	}
	return ~crc;
}

/* The check value of the standard, then every length and alignment up to 64 bytes and a
 * CRC continued over two pieces. */
static void test_crc32c(void **state)
{
	uint8_t buf[80];

	(void)state;
	assert_int_equal(store_crc32c(0, "123456789", 9), 0xe3069283U);
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 131 + 7);
	for (size_t off = 0; off < 8; off++)
		for (size_t len = 0; len <= 64; len++)
			assert_int_equal(store_crc32c(0, buf + off, len),
					 t_crc32c_bitwise(0, buf + off, len));
	assert_int_equal(store_crc32c(store_crc32c(0, buf, 13), buf + 13, 50),
			 store_crc32c(0, buf, 63));
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, t_setup, t_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_round_trip),
		T(test_corruption),
		T(test_bare_image_loads),
		T(test_damaged_frame),
		T(test_inconsistent_records),
		T(test_alloc_faults),
		T(test_deep_tree),
		T(test_digest),
		T(test_crc32c),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
