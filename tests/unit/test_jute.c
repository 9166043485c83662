/* Unit tests of proto/jute: primitives, byte-exact encodings of records whose ZooKeeper bytes
 * are known, round trips of every record and every request type, every malformed case
 * (truncation at each byte, bad lengths, hostile counts, trailing bytes, unknown opcodes,
 * bad multi ops), allocation failures, framing and ZooKeeper's path rules. */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "common/zk_alloc.h"
#include "common/zk_buf.h"
#include "common/zk_log.h"
#include "proto/jute.h"

struct fixture {
	struct zk_buf buf;  /* Encoder output. */
	struct zk_buf buf2; /* Re-encoding of the decoded value. */
};

static int setup(void **state)
{
	struct fixture *f = test_malloc(sizeof(*f));

	zk_buf_init(&f->buf);
	zk_buf_init(&f->buf2);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	zk_alloc_fault_set(0, 0);
	zk_buf_close(&f->buf);
	zk_buf_close(&f->buf2);
	test_free(f);
	return 0;
}

#define STR(s) ((struct jute_str){(s), (int32_t)sizeof(s) - 1})
#define BYTES(s) ((struct jute_bytes){(const uint8_t *)(s), (int32_t)sizeof(s) - 1})
#define NULL_STR ((struct jute_str){NULL, -1})

static void assert_buf_eq(const struct zk_buf *b, const uint8_t *exp, size_t len)
{
	assert_int_equal(b->len, len);
	assert_memory_equal(b->data, exp, len);
}

static void assert_str_eq(struct jute_str s, const char *c)
{
	assert_true(jute_str_eq(&s, c));
}

static const struct zk_stat sample_stat = {
	.czxid = 0x100000001LL, .mzxid = 0x100000002LL, .ctime = 1700000000000LL,
	.mtime = 1700000000123LL, .version = 3, .cversion = 4, .aversion = 5,
	.ephemeral_owner = 0x1234567890abcdefLL, .data_length = 6, .num_children = 7,
	.pzxid = 0x100000003LL,
};

/* ---- Primitives ---------------------------------------------------------------------------- */

/* Ints and longs are big-endian, a bool is one byte and any non-zero byte reads as true. */
static void test_read_primitives(void **state)
{
	static const uint8_t in_bytes[] = {0xff, 0xff, 0xff, 0x9b, 0x01, 0x02, 0x03, 0x04,
					   0x05, 0x06, 0x07, 0x08, 0x02, 0x00};
	struct jute_in in;
	int32_t i;
	int64_t l;
	bool b;

	(void)state;
	jute_in_init(&in, in_bytes, sizeof(in_bytes));
	assert_int_equal(jute_read_int(&in, &i), 0);
	assert_int_equal(i, -101);
	assert_int_equal(jute_read_long(&in, &l), 0);
	assert_true(l == 0x0102030405060708LL);
	assert_int_equal(jute_read_bool(&in, &b), 0);
	assert_true(b);
	assert_int_equal(jute_read_bool(&in, &b), 0);
	assert_false(b);
	assert_int_equal(jute_in_remaining(&in), 0);
	assert_int_equal(jute_read_bool(&in, &b), -EBADMSG);
}

/* Reading a field that runs past the end fails without moving past the end. */
static void test_read_past_end(void **state)
{
	static const uint8_t seven[7] = {0};
	struct jute_in in;
	int32_t i;
	int64_t l;
	struct jute_str s;

	(void)state;
	jute_in_init(&in, seven, 3);
	assert_int_equal(jute_read_int(&in, &i), -EBADMSG);
	jute_in_init(&in, seven, 7);
	assert_int_equal(jute_read_long(&in, &l), -EBADMSG);
	jute_in_init(&in, seven, 0);
	assert_int_equal(jute_read_string(&in, &s), -EBADMSG);
	assert_int_equal(jute_in_remaining(&in), 0);
}

/* A string or buffer length of -1 is null, 0 is empty (p usable), -2 and lengths beyond the
 * frame are refused. */
static void test_string_lengths(void **state)
{
	static const uint8_t null_s[] = {0xff, 0xff, 0xff, 0xff};
	static const uint8_t empty[] = {0, 0, 0, 0};
	static const uint8_t minus2[] = {0xff, 0xff, 0xff, 0xfe};
	static const uint8_t past[] = {0, 0, 0, 3, 'a', 'b'};
	static const uint8_t huge[] = {0x7f, 0xff, 0xff, 0xff, 'a'};
	struct jute_in in;
	struct jute_str s;
	struct jute_bytes b;

	(void)state;
	jute_in_init(&in, null_s, sizeof(null_s));
	assert_int_equal(jute_read_string(&in, &s), 0);
	assert_int_equal(s.len, -1);
	assert_null(s.p);
	jute_in_init(&in, empty, sizeof(empty));
	assert_int_equal(jute_read_buffer(&in, &b), 0);
	assert_int_equal(b.len, 0);
	assert_non_null(b.p);
	jute_in_init(&in, minus2, sizeof(minus2));
	assert_int_equal(jute_read_string(&in, &s), -EBADMSG);
	jute_in_init(&in, past, sizeof(past));
	assert_int_equal(jute_read_string(&in, &s), -EBADMSG);
	jute_in_init(&in, huge, sizeof(huge));
	assert_int_equal(jute_read_buffer(&in, &b), -EBADMSG);
}

/* Writers append big-endian fields; a negative length writes a null. */
static void test_write_primitives(void **state)
{
	static const uint8_t exp[] = {0xff, 0xff, 0xff, 0x9b, 0, 0, 0, 1, 0, 0, 0, 2, 1,
				      0,    0,    0,    2,    '/', 'a', 0xff, 0xff, 0xff, 0xff};
	struct fixture *f = *state;

	assert_int_equal(jute_write_int(&f->buf, -101), 0);
	assert_int_equal(jute_write_long(&f->buf, 0x100000002LL), 0);
	assert_int_equal(jute_write_bool(&f->buf, true), 0);
	assert_int_equal(jute_write_string(&f->buf, "/a", 2), 0);
	assert_int_equal(jute_write_buffer(&f->buf, NULL, -1), 0);
	assert_buf_eq(&f->buf, exp, sizeof(exp));
}

/* jute_str_dup NUL-terminates (NULL for a null string); jute_str_eq compares exactly. */
static void test_str_helpers(void **state)
{
	struct jute_str s = {"abcdef", 3};
	struct jute_str n = NULL_STR;
	char *c;

	(void)state;
	c = jute_str_dup(&s);
	assert_string_equal(c, "abc");
	zk_free(c);
	assert_null(jute_str_dup(&n));
	assert_true(jute_str_eq(&s, "abc"));
	assert_false(jute_str_eq(&s, "abcd"));
	assert_false(jute_str_eq(&s, "ab"));
	assert_false(jute_str_eq(&n, ""));
	assert_string_equal(jute_op_name(ZK_OP_GET_CHILDREN2), "getChildren2");
	assert_string_equal(jute_op_name(12345), "unknown");
}

/* ---- Byte-exact records -------------------------------------------------------------------- */

/* ReplyHeader {xid 5, zxid 0x0102030405060708, NoNode}: 16 bytes as ZooKeeper writes them. */
static void test_reply_header_bytes(void **state)
{
	static const uint8_t exp[] = {0, 0, 0, 5, 1, 2, 3, 4, 5, 6, 7, 8, 0xff, 0xff, 0xff, 0x9b};
	struct jute_reply_header h = {5, 0x0102030405060708LL, ZK_ERR_NONODE};
	struct jute_reply_header back;
	struct jute_in in;
	struct fixture *f = *state;

	assert_int_equal(jute_encode_reply_header(&f->buf, &h), 0);
	assert_buf_eq(&f->buf, exp, sizeof(exp));
	jute_in_init(&in, exp, sizeof(exp));
	assert_int_equal(jute_decode_reply_header(&in, &back), 0);
	assert_int_equal(back.xid, 5);
	assert_true(back.zxid == h.zxid);
	assert_int_equal(back.err, -101);
}

/* ConnectResponse {0, 30000 ms, session 0x1122334455667788, 16-byte password, readOnly
 * false}: 37 bytes; without readOnly (old client) 36. */
static void test_connect_response_bytes(void **state)
{
	static const uint8_t pw[16] = {0xa0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 0xaf};
	uint8_t exp[37] = {0, 0, 0, 0, 0, 0, 0x75, 0x30, 0x11, 0x22, 0x33, 0x44, 0x55,
			   0x66, 0x77, 0x88, 0, 0, 0, 16};
	struct jute_connect_response r = {0, 30000, 0x1122334455667788LL, {pw, 16}, false, false};
	struct jute_connect_response back;
	struct jute_in in;
	struct fixture *f = *state;

	memcpy(exp + 20, pw, 16);
	exp[36] = 0;
	assert_int_equal(jute_encode_connect_response(&f->buf, &r), 0);
	assert_buf_eq(&f->buf, exp, 37);
	jute_in_init(&in, exp, 37);
	assert_int_equal(jute_decode_connect_response(&in, &back), 0);
	assert_int_equal(back.timeout, 30000);
	assert_false(back.omit_read_only);
	assert_memory_equal(back.passwd.p, pw, 16);
	r.omit_read_only = true;
	assert_int_equal(jute_encode_connect_response(&f->buf2, &r), 0);
	assert_buf_eq(&f->buf2, exp, 36);
}

/* A watch notification: WatcherEvent {NodeDataChanged, SyncConnected, "/a"}. */
static void test_watcher_event_bytes(void **state)
{
	static const uint8_t exp[] = {0, 0, 0, 3, 0, 0, 0, 3, 0, 0, 0, 2, '/', 'a'};
	struct jute_watcher_event e = {ZK_EVENT_NODE_DATA_CHANGED, ZK_STATE_SYNC_CONNECTED,
				       STR("/a")};
	struct fixture *f = *state;

	assert_int_equal(jute_encode_watcher_event(&f->buf, &e), 0);
	assert_buf_eq(&f->buf, exp, sizeof(exp));
}

/* The Stat record is 68 bytes, fields in zookeeper.jute order. */
static void test_stat_bytes(void **state)
{
	struct fixture *f = *state;
	struct zk_stat back;
	struct jute_in in;

	assert_int_equal(jute_write_stat(&f->buf, &sample_stat), 0);
	assert_int_equal(f->buf.len, 68);
	assert_int_equal(f->buf.data[35], 3);	  /* version, after 4 longs */
	assert_int_equal(f->buf.data[55], 6);	  /* dataLength, after ephemeralOwner */
	jute_in_init(&in, f->buf.data, f->buf.len);
	assert_int_equal(jute_read_stat(&in, &back), 0);
	assert_memory_equal(&back, &sample_stat, sizeof(back));
}

/* ConnectRequest of 44 bytes (no readOnly) and 45 (readOnly); more is refused, less too. */
static void test_connect_request(void **state)
{
	static const uint8_t pw[16] = {0};
	struct jute_connect_request r = {0, 0x55, 30000, 0, {pw, 16}, true, true};
	struct jute_connect_request back;
	struct fixture *f = *state;

	assert_int_equal(jute_encode_connect_request(&f->buf, &r), 0);
	assert_int_equal(f->buf.len, 45);
	assert_int_equal(jute_decode_connect(f->buf.data, 45, &back), 0);
	assert_true(back.has_read_only && back.read_only);
	assert_true(back.last_zxid_seen == 0x55);
	assert_int_equal(jute_decode_connect(f->buf.data, 44, &back), 0);
	assert_false(back.has_read_only);
	for (size_t len = 0; len < 44; len++)
		assert_int_equal(jute_decode_connect(f->buf.data, len, &back), -EBADMSG);
	assert_int_equal(jute_write_bool(&f->buf, false), 0);
	assert_int_equal(jute_decode_connect(f->buf.data, 46, &back), -EBADMSG);
}

/* ---- Records: round trips ------------------------------------------------------------------ */

/* Encode @rec, decode it (all bytes consumed), re-encode: same bytes; then every strict
 * prefix fails to decode with -EBADMSG. */
#define ROUND_TRIP(f, name, rec, free_stmt)                                                 \
	do {                                                                                \
		struct jute_##name back_;                                                   \
		struct jute_in in_;                                                         \
		zk_buf_reset(&(f)->buf);                                                    \
		zk_buf_reset(&(f)->buf2);                                                   \
		assert_int_equal(jute_encode_##name(&(f)->buf, &(rec)), 0);                 \
		jute_in_init(&in_, (f)->buf.data, (f)->buf.len);                            \
		assert_int_equal(jute_decode_##name(&in_, &back_), 0);                      \
		assert_int_equal(jute_in_remaining(&in_), 0);                               \
		assert_int_equal(jute_encode_##name(&(f)->buf2, &back_), 0);                \
		assert_buf_eq(&(f)->buf2, (f)->buf.data, (f)->buf.len);                     \
		{                                                                           \
			struct jute_##name *p_ = &back_;                                    \
			(void)p_;                                                           \
			free_stmt;                                                          \
		}                                                                           \
		for (size_t len_ = 0; len_ < (f)->buf.len; len_++) {                        \
			jute_in_init(&in_, (f)->buf.data, len_);                            \
			assert_int_equal(jute_decode_##name(&in_, &back_), -EBADMSG);       \
		}                                                                           \
	} while (0)

static struct jute_acl sample_acls[] = {{ZK_PERM_ALL, {STR("world"), STR("anyone")}},
					{ZK_PERM_READ, {STR("digest"), STR("u:h=")}}};
static struct jute_str sample_names[] = {STR("a"), STR(""), STR("ccc")};
static struct jute_client_info sample_infos[] = {{STR("ip"), STR("127.0.0.1")},
						 {STR("digest"), NULL_STR}};

/* Every request record survives encode/decode/encode and refuses every truncation. */
static void test_request_records(void **state)
{
	struct fixture *f = *state;
	struct jute_acl_vec acl = {2, sample_acls};
	struct jute_str_vec names = {3, sample_names};
	struct jute_str_vec none = {-1, NULL};
	struct jute_create_request cr = {STR("/a"), BYTES("data"), acl, ZK_MODE_EPHEMERAL};
	struct jute_create_ttl_request ct = {STR("/t"), {NULL, -1}, acl, 5, 60000};
	struct jute_delete_request dr = {STR("/d"), -1};
	struct jute_exists_request er = {STR("/e"), true};
	struct jute_get_data_request gd = {STR("/g"), false};
	struct jute_set_data_request sd = {STR("/s"), BYTES(""), 7};
	struct jute_get_acl_request ga = {STR("/ga")};
	struct jute_set_acl_request sa = {STR("/sa"), acl, 2};
	struct jute_get_children_request gc = {STR("/gc"), true};
	struct jute_get_children2_request gc2 = {STR("/gc2"), true};
	struct jute_sync_request sy = {STR("/")};
	struct jute_check_version_request cv = {STR("/cv"), 9};
	struct jute_get_ephemerals_request ge = {STR("/pre")};
	struct jute_get_all_children_number_request gn = {STR("/n")};
	struct jute_set_watches sw = {0x42, names, none, names};
	struct jute_set_watches2 sw2 = {0x43, names, none, names, none, names};
	struct jute_add_watch_request aw = {STR("/aw"), ZK_ADD_WATCH_PERSISTENT_RECURSIVE};
	struct jute_remove_watches_request rw = {STR("/rw"), ZK_WATCHER_ANY};
	struct jute_check_watches_request cw = {STR("/cw"), ZK_WATCHER_DATA};
	struct jute_auth_packet ap = {0, STR("digest"), BYTES("user:pw")};
	struct jute_get_sasl_request gs = {BYTES("tok")};
	struct jute_reconfig_request rc = {STR("server.4=h:1:2"), NULL_STR, STR(""), -1};
	struct jute_request_header rh = {7, ZK_OP_PING};
	struct jute_multi_header mh = {ZK_OP_CHECK, false, -1};

	ROUND_TRIP(f, create_request, cr, jute_create_request_free(p_));
	ROUND_TRIP(f, create_ttl_request, ct, jute_create_ttl_request_free(p_));
	ROUND_TRIP(f, delete_request, dr, );
	ROUND_TRIP(f, exists_request, er, );
	ROUND_TRIP(f, get_data_request, gd, );
	ROUND_TRIP(f, set_data_request, sd, );
	ROUND_TRIP(f, get_acl_request, ga, );
	ROUND_TRIP(f, set_acl_request, sa, jute_set_acl_request_free(p_));
	ROUND_TRIP(f, get_children_request, gc, );
	ROUND_TRIP(f, get_children2_request, gc2, );
	ROUND_TRIP(f, sync_request, sy, );
	ROUND_TRIP(f, check_version_request, cv, );
	ROUND_TRIP(f, get_ephemerals_request, ge, );
	ROUND_TRIP(f, get_all_children_number_request, gn, );
	ROUND_TRIP(f, set_watches, sw, jute_set_watches_free(p_));
	ROUND_TRIP(f, set_watches2, sw2, jute_set_watches2_free(p_));
	ROUND_TRIP(f, add_watch_request, aw, );
	ROUND_TRIP(f, remove_watches_request, rw, );
	ROUND_TRIP(f, check_watches_request, cw, );
	ROUND_TRIP(f, auth_packet, ap, );
	ROUND_TRIP(f, get_sasl_request, gs, );
	ROUND_TRIP(f, reconfig_request, rc, );
	ROUND_TRIP(f, request_header, rh, );
	ROUND_TRIP(f, multi_header, mh, );
}

/* Every response record survives encode/decode/encode and refuses every truncation. */
static void test_response_records(void **state)
{
	struct fixture *f = *state;
	struct jute_acl_vec acl = {2, sample_acls};
	struct jute_str_vec names = {3, sample_names};
	struct jute_create_response cr = {STR("/a0000000001")};
	struct jute_create2_response cr2 = {STR("/b"), sample_stat};
	struct jute_exists_response ex = {sample_stat};
	struct jute_get_data_response gd = {BYTES("xyz"), sample_stat};
	struct jute_set_data_response sd = {sample_stat};
	struct jute_get_acl_response ga = {acl, sample_stat};
	struct jute_set_acl_response sa = {sample_stat};
	struct jute_get_children_response gc = {names};
	struct jute_get_children2_response gc2 = {names, sample_stat};
	struct jute_sync_response sy = {STR("/s")};
	struct jute_get_all_children_number_response gn = {12};
	struct jute_get_ephemerals_response ge = {names};
	struct jute_who_am_i_response wh = {{2, sample_infos}};
	struct jute_error_response err = {ZK_ERR_BADVERSION};
	struct jute_set_sasl_response ss = {{NULL, -1}};
	struct jute_reply_header rh = {-1, -1, 0};
	struct jute_watcher_event we = {ZK_EVENT_NONE, ZK_STATE_EXPIRED, NULL_STR};
	struct jute_id id = {STR("ip"), STR("10.0.0.1")};
	struct jute_acl one = sample_acls[1];
	struct jute_client_info ci = sample_infos[0];

	ROUND_TRIP(f, create_response, cr, );
	ROUND_TRIP(f, create2_response, cr2, );
	ROUND_TRIP(f, exists_response, ex, );
	ROUND_TRIP(f, get_data_response, gd, );
	ROUND_TRIP(f, set_data_response, sd, );
	ROUND_TRIP(f, get_acl_response, ga, jute_get_acl_response_free(p_));
	ROUND_TRIP(f, set_acl_response, sa, );
	ROUND_TRIP(f, get_children_response, gc, jute_get_children_response_free(p_));
	ROUND_TRIP(f, get_children2_response, gc2, jute_get_children2_response_free(p_));
	ROUND_TRIP(f, sync_response, sy, );
	ROUND_TRIP(f, get_all_children_number_response, gn, );
	ROUND_TRIP(f, get_ephemerals_response, ge, jute_get_ephemerals_response_free(p_));
	ROUND_TRIP(f, who_am_i_response, wh, jute_who_am_i_response_free(p_));
	ROUND_TRIP(f, error_response, err, );
	ROUND_TRIP(f, set_sasl_response, ss, );
	ROUND_TRIP(f, reply_header, rh, );
	ROUND_TRIP(f, watcher_event, we, );
	ROUND_TRIP(f, id, id, );
	ROUND_TRIP(f, acl, one, );
	ROUND_TRIP(f, client_info, ci, );
}

/* A decoded GetChildren2Response carries the names (borrowed) and the stat. */
static void test_children_decode_values(void **state)
{
	struct fixture *f = *state;
	struct jute_get_children2_response r = {{3, sample_names}, sample_stat};
	struct jute_get_children2_response back;
	struct jute_in in;

	assert_int_equal(jute_encode_get_children2_response(&f->buf, &r), 0);
	jute_in_init(&in, f->buf.data, f->buf.len);
	assert_int_equal(jute_decode_get_children2_response(&in, &back), 0);
	assert_int_equal(back.children.count, 3);
	assert_str_eq(back.children.items[0], "a");
	assert_str_eq(back.children.items[1], "");
	assert_str_eq(back.children.items[2], "ccc");
	assert_int_equal(back.stat.num_children, 7);
	jute_get_children2_response_free(&back);
	jute_get_children2_response_free(&back);
}

/* ---- Vectors: hostile counts --------------------------------------------------------------- */

/* A count that cannot fit in the bytes left is refused before allocating; -1 is a null vector;
 * -2 is an empty one, as ZooKeeper's own BinaryInputArchive reads it (its index is done at
 * once), and is written back as 0 (tests/fuzz/zk_differential found the difference). */
static void test_vector_counts(void **state)
{
	static const uint8_t huge[] = {0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 0};
	static const uint8_t fits_not[] = {0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0};
	static const uint8_t minus2[] = {0xff, 0xff, 0xff, 0xfe};
	static const uint8_t null_v[] = {0xff, 0xff, 0xff, 0xff};
	struct jute_get_children_response r;
	struct jute_in in;
	struct zk_buf out;

	(void)state;
	zk_buf_init(&out);
	jute_in_init(&in, huge, sizeof(huge));
	zk_alloc_fault_set(1, -1); /* Any allocation attempt would fail the test below. */
	assert_int_equal(jute_decode_get_children_response(&in, &r), -EBADMSG);
	assert_int_equal(zk_alloc_fault_fired(), 0);
	zk_alloc_fault_set(0, 0);
	jute_in_init(&in, fits_not, sizeof(fits_not));
	assert_int_equal(jute_decode_get_children_response(&in, &r), -EBADMSG);
	jute_in_init(&in, minus2, sizeof(minus2));
	assert_int_equal(jute_decode_get_children_response(&in, &r), 0);
	assert_int_equal(r.children.count, 0);
	assert_null(r.children.items);
	assert_int_equal(jute_encode_get_children_response(&out, &r), 0);
	assert_int_equal(out.len, 4);
	assert_memory_equal(out.data, "\0\0\0\0", 4);
	zk_buf_close(&out);
	jute_in_init(&in, null_v, sizeof(null_v));
	assert_int_equal(jute_decode_get_children_response(&in, &r), 0);
	assert_int_equal(r.children.count, -1);
	assert_null(r.children.items);
}

/* ---- Whole requests ------------------------------------------------------------------------ */

static struct jute_multi_op sample_write_ops[] = {
	{.type = ZK_OP_CREATE, .u.create = {STR("/m1"), BYTES("x"), {2, sample_acls}, 0}},
	{.type = ZK_OP_CREATE2, .u.create = {STR("/m2"), {NULL, -1}, {0, NULL}, 2}},
	{.type = ZK_OP_CREATE_CONTAINER, .u.create = {STR("/m3"), BYTES(""), {1, sample_acls}, 4}},
	{.type = ZK_OP_CREATE_TTL,
	 .u.create_ttl = {STR("/m4"), BYTES("t"), {1, sample_acls}, 5, 1000}},
	{.type = ZK_OP_DELETE, .u.delete = {STR("/m5"), 3}},
	{.type = ZK_OP_SET_DATA, .u.set_data = {STR("/m6"), BYTES("new"), -1}},
	{.type = ZK_OP_CHECK, .u.check_version = {STR("/m7"), 0}},
};
static struct jute_multi_op sample_read_ops[] = {
	{.type = ZK_OP_GET_CHILDREN, .u.get_children = {STR("/r1"), false}},
	{.type = ZK_OP_GET_DATA, .u.get_data = {STR("/r2"), false}},
};

/* One sample request per opcode a client sends. Returns the count. */
static size_t sample_requests(struct jute_request *r, size_t max)
{
	size_t n = 0;

#define ADD(op, ...)                                                                      \
	do {                                                                              \
		assert_true(n < max);                                                     \
		memset(&r[n], 0, sizeof(r[n]));                                          \
		r[n].hdr = (struct jute_request_header){(int32_t)n + 1, op};              \
		__VA_ARGS__;                                                              \
		n++;                                                                      \
	} while (0)
	ADD(ZK_OP_CREATE, r[n].u.create = sample_write_ops[0].u.create);
	ADD(ZK_OP_CREATE2, r[n].u.create = sample_write_ops[1].u.create);
	ADD(ZK_OP_CREATE_CONTAINER, r[n].u.create = sample_write_ops[2].u.create);
	ADD(ZK_OP_CREATE_TTL, r[n].u.create_ttl = sample_write_ops[3].u.create_ttl);
	ADD(ZK_OP_DELETE, r[n].u.delete = sample_write_ops[4].u.delete);
	ADD(ZK_OP_EXISTS, r[n].u.exists = (struct jute_exists_request){STR("/e"), true});
	ADD(ZK_OP_GET_DATA, r[n].u.get_data = sample_read_ops[1].u.get_data);
	ADD(ZK_OP_SET_DATA, r[n].u.set_data = sample_write_ops[5].u.set_data);
	ADD(ZK_OP_GET_ACL, r[n].u.get_acl = (struct jute_get_acl_request){STR("/ga")});
	ADD(ZK_OP_SET_ACL,
	    r[n].u.set_acl = (struct jute_set_acl_request){STR("/sa"), {2, sample_acls}, 1});
	ADD(ZK_OP_GET_CHILDREN, r[n].u.get_children = sample_read_ops[0].u.get_children);
	ADD(ZK_OP_GET_CHILDREN2,
	    r[n].u.get_children2 = (struct jute_get_children2_request){STR("/c2"), true});
	ADD(ZK_OP_SYNC, r[n].u.sync = (struct jute_sync_request){STR("/")});
	ADD(ZK_OP_PING, r[n].hdr.xid = ZK_XID_PING);
	ADD(ZK_OP_CHECK, r[n].u.check_version = sample_write_ops[6].u.check_version);
	ADD(ZK_OP_MULTI, r[n].ops = sample_write_ops; r[n].n_ops = 7);
	ADD(ZK_OP_MULTI, r[n].ops = NULL; r[n].n_ops = 0);
	ADD(ZK_OP_MULTI_READ, r[n].ops = sample_read_ops; r[n].n_ops = 2);
	ADD(ZK_OP_RECONFIG, r[n].u.reconfig = (struct jute_reconfig_request){
				    NULL_STR, STR("3"), NULL_STR, 0x100000000LL});
	ADD(ZK_OP_CHECK_WATCHES,
	    r[n].u.check_watches = (struct jute_check_watches_request){STR("/w"), 1});
	ADD(ZK_OP_REMOVE_WATCHES,
	    r[n].u.remove_watches = (struct jute_remove_watches_request){STR("/w"), 3});
	ADD(ZK_OP_AUTH, r[n].hdr.xid = ZK_XID_AUTH;
	    r[n].u.auth = (struct jute_auth_packet){0, STR("digest"), BYTES("u:p")});
	ADD(ZK_OP_SET_WATCHES, r[n].hdr.xid = ZK_XID_SET_WATCHES;
	    r[n].u.set_watches = (struct jute_set_watches){
		    5, {3, sample_names}, {0, NULL}, {1, sample_names}});
	ADD(ZK_OP_SASL, r[n].u.sasl = (struct jute_get_sasl_request){BYTES("tok")});
	ADD(ZK_OP_GET_EPHEMERALS,
	    r[n].u.get_ephemerals = (struct jute_get_ephemerals_request){STR("/")});
	ADD(ZK_OP_GET_ALL_CHILDREN_NUMBER,
	    r[n].u.get_all_children_number =
		    (struct jute_get_all_children_number_request){STR("/n")});
	ADD(ZK_OP_SET_WATCHES2, r[n].u.set_watches2 = (struct jute_set_watches2){
					6, {1, sample_names}, {1, sample_names}, {-1, NULL},
					{2, sample_names}, {3, sample_names}});
	ADD(ZK_OP_ADD_WATCH, r[n].u.add_watch = (struct jute_add_watch_request){STR("/aw"), 1});
	ADD(ZK_OP_WHO_AM_I, );
	ADD(ZK_OP_CLOSE_SESSION, );
#undef ADD
	return n;
}

/* Every client request type round-trips; each strict prefix is -EBADMSG and so is the
 * request with one byte more. */
static void test_requests_round_trip(void **state)
{
	struct fixture *f = *state;
	struct jute_request reqs[40];
	size_t n = sample_requests(reqs, 40);

	for (size_t i = 0; i < n; i++) {
		struct jute_request back;

		zk_buf_reset(&f->buf);
		zk_buf_reset(&f->buf2);
		assert_int_equal(jute_encode_request(&f->buf, &reqs[i]), 0);
		assert_int_equal(jute_decode_request(f->buf.data, f->buf.len, &back), 0);
		assert_int_equal(back.hdr.type, reqs[i].hdr.type);
		assert_int_equal(back.hdr.xid, reqs[i].hdr.xid);
		assert_int_equal(back.n_ops, reqs[i].n_ops);
		assert_int_equal(jute_encode_request(&f->buf2, &back), 0);
		assert_buf_eq(&f->buf2, f->buf.data, f->buf.len);
		jute_request_free(&back);
		for (size_t len = 0; len < f->buf.len; len++)
			assert_int_equal(jute_decode_request(f->buf.data, len, &back), -EBADMSG);
		assert_int_equal(jute_write_bool(&f->buf, false), 0);
		assert_int_equal(jute_decode_request(f->buf.data, f->buf.len, &back), -EBADMSG);
		assert_int_equal(back.hdr.type, reqs[i].hdr.type); /* for MarshallingError */
	}
}

/* A decoded create borrows its strings from the frame and owns its ACL array. */
static void test_request_values(void **state)
{
	struct fixture *f = *state;
	struct jute_request reqs[40];
	struct jute_request back;

	sample_requests(reqs, 40);
	assert_int_equal(jute_encode_request(&f->buf, &reqs[0]), 0);
	assert_int_equal(jute_decode_request(f->buf.data, f->buf.len, &back), 0);
	assert_str_eq(back.u.create.path, "/m1");
	assert_true(back.u.create.path.p > (const char *)f->buf.data &&
		    back.u.create.path.p < (const char *)f->buf.data + f->buf.len);
	assert_int_equal(back.u.create.data.len, 1);
	assert_int_equal(back.u.create.acl.count, 2);
	assert_str_eq(back.u.create.acl.acls[1].id.scheme, "digest");
	assert_int_equal(back.u.create.flags, ZK_MODE_PERSISTENT);
	jute_request_free(&back);
	jute_request_free(&back);
}

/* Opcodes clients do not send, or unknown ones: -ENOTSUP with the header filled. */
static void test_unknown_opcode(void **state)
{
	static const int32_t ops[] = {ZK_OP_NOTIFICATION, ZK_OP_DELETE_CONTAINER,
				      ZK_OP_CREATE_SESSION, ZK_OP_ERROR, 10, 23, 99, 108, 9999};
	struct fixture *f = *state;
	struct jute_request back;

	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		zk_buf_reset(&f->buf);
		assert_int_equal(jute_write_int(&f->buf, 77), 0);
		assert_int_equal(jute_write_int(&f->buf, ops[i]), 0);
		assert_int_equal(jute_write_string(&f->buf, "/x", 2), 0);
		assert_int_equal(jute_decode_request(f->buf.data, f->buf.len, &back), -ENOTSUP);
		assert_int_equal(back.hdr.xid, 77);
		assert_int_equal(back.hdr.type, ops[i]);
		assert_null(back.ops);
		jute_request_free(&back);
	}
}

/* Append a multi body: header, then (type, done, err) triples with an empty delete body
 * after each op that is not done. */
static void put_multi(struct zk_buf *b, int32_t multi_type, const int32_t *types, size_t n)
{
	assert_int_equal(jute_write_int(b, 1), 0);
	assert_int_equal(jute_write_int(b, multi_type), 0);
	for (size_t i = 0; i < n; i++) {
		struct jute_multi_header h = {types[i], false, -1};
		struct jute_get_data_request body = {STR("/p"), false};

		assert_int_equal(jute_encode_multi_header(b, &h), 0);
		assert_int_equal(jute_encode_get_data_request(b, &body), 0);
	}
}

/* Multi refuses read ops and multiRead write ops; both stop at any header with done set. */
static void test_multi_malformed(void **state)
{
	static const int32_t read_op[] = {ZK_OP_GET_DATA};
	static const int32_t bad_op[] = {ZK_OP_EXISTS};
	struct jute_multi_header end = {5, true, 0};
	struct fixture *f = *state;
	struct jute_request back;

	put_multi(&f->buf, ZK_OP_MULTI, read_op, 1);
	assert_int_equal(jute_encode_multi_header(&f->buf, &end), 0);
	assert_int_equal(jute_decode_request(f->buf.data, f->buf.len, &back), -EBADMSG);
	zk_buf_reset(&f->buf);
	put_multi(&f->buf, ZK_OP_MULTI_READ, read_op, 1);
	assert_int_equal(jute_encode_multi_header(&f->buf, &end), 0);
	assert_int_equal(jute_decode_request(f->buf.data, f->buf.len, &back), 0);
	assert_int_equal(back.n_ops, 1);
	jute_request_free(&back);
	zk_buf_reset(&f->buf);
	put_multi(&f->buf, ZK_OP_MULTI_READ, bad_op, 1);
	assert_int_equal(jute_encode_multi_header(&f->buf, &end), 0);
	assert_int_equal(jute_decode_request(f->buf.data, f->buf.len, &back), -EBADMSG);
}

/* Many ops grow the ops array without leaking; create flags are left to the server (3.8
 * answers BadArguments for that op), so flags 7 still decode. */
static void test_multi_many_ops(void **state)
{
	struct fixture *f = *state;
	struct jute_multi_op ops[40];
	struct jute_request req = {{1, ZK_OP_MULTI}, .ops = ops, .n_ops = 40};
	struct jute_request back;

	for (int i = 0; i < 40; i++)
		ops[i] = sample_write_ops[i % 7];
	ops[35].u.create.flags = 7;
	assert_int_equal(jute_encode_request(&f->buf, &req), 0);
	assert_int_equal(jute_decode_request(f->buf.data, f->buf.len, &back), 0);
	assert_int_equal(back.n_ops, 40);
	assert_int_equal(back.ops[35].type, ZK_OP_CREATE);
	assert_int_equal(back.ops[35].u.create.flags, 7);
	assert_str_eq(back.ops[39].u.delete.path, "/m5");
	jute_request_free(&back);
}

/* Allocation failures while decoding vectors and ops give -ENOMEM and leak nothing; an
 * encoder that cannot grow its buffer leaves it as it was. */
static void test_alloc_failures(void **state)
{
	struct fixture *f = *state;
	struct jute_request reqs[40];
	size_t n = sample_requests(reqs, 40);
	int fired = 0;

	for (size_t i = 0; i < n; i++) {
		struct jute_request back;
		int rc;

		zk_buf_reset(&f->buf);
		assert_int_equal(jute_encode_request(&f->buf, &reqs[i]), 0);
		for (int k = 1;; k++) {
			zk_alloc_fault_set(k, 0);
			rc = jute_decode_request(f->buf.data, f->buf.len, &back);
			zk_alloc_fault_set(0, 0);
			if (rc == 0)
				break;
			assert_int_equal(rc, -ENOMEM);
			fired++;
		}
		jute_request_free(&back);
		zk_buf_close(&f->buf2);
		zk_alloc_fault_set(1, 0);
		assert_int_equal(jute_encode_request(&f->buf2, &reqs[i]), -ENOMEM);
		assert_int_equal(f->buf2.len, 0);
		zk_alloc_fault_set(0, 0);
	}
	assert_true(fired > 10);
}

/* ---- Multi responses ----------------------------------------------------------------------- */

/* A multi response with every result type round-trips; the error result's header carries
 * its code; the terminator is {-1, true, -1}. */
static void test_multi_response(void **state)
{
	struct fixture *f = *state;
	struct jute_multi_result res[] = {
		{.type = ZK_OP_CREATE, .path = STR("/a")},
		{.type = ZK_OP_CREATE2, .path = STR("/b"), .stat = sample_stat},
		{.type = ZK_OP_DELETE},
		{.type = ZK_OP_SET_DATA, .stat = sample_stat},
		{.type = ZK_OP_CHECK},
		{.type = ZK_OP_GET_CHILDREN, .children = {3, sample_names}},
		{.type = ZK_OP_GET_DATA, .data = BYTES("d"), .stat = sample_stat},
		{.type = ZK_OP_ERROR, .err = ZK_ERR_NONODE},
	};
	/* {error, false, NoNode} ErrorResponse(NoNode) {-1, true, -1} */
	static const uint8_t tail[] = {0xff, 0xff, 0xff, 0xff, 0,    0xff, 0xff, 0xff,
				       0x9b, 0xff, 0xff, 0xff, 0x9b, 0xff, 0xff, 0xff,
				       0xff, 1,	   0xff, 0xff, 0xff, 0xff};
	struct jute_multi_result *back;
	struct jute_in in;
	int32_t n;

	assert_int_equal(jute_encode_multi_response(&f->buf, res, 8), 0);
	assert_memory_equal(f->buf.data + f->buf.len - sizeof(tail), tail, sizeof(tail));
	jute_in_init(&in, f->buf.data, f->buf.len);
	assert_int_equal(jute_decode_multi_response(&in, &back, &n), 0);
	assert_int_equal(n, 8);
	assert_str_eq(back[0].path, "/a");
	assert_int_equal(back[5].children.count, 3);
	assert_int_equal(back[7].err, ZK_ERR_NONODE);
	assert_int_equal(jute_encode_multi_response(&f->buf2, back, n), 0);
	assert_buf_eq(&f->buf2, f->buf.data, f->buf.len);
	jute_multi_response_free(back, n);
	for (size_t len = 0; len < f->buf.len; len++) {
		jute_in_init(&in, f->buf.data, len);
		assert_int_equal(jute_decode_multi_response(&in, &back, &n), -EBADMSG);
	}
}

/* createTTL/createContainer results do not exist in MultiResponse: refused, buffer intact. */
static void test_multi_response_bad_type(void **state)
{
	struct fixture *f = *state;
	struct jute_multi_result r = {.type = ZK_OP_CREATE_TTL, .path = STR("/t")};
	struct jute_multi_result *back;
	struct jute_in in;
	int32_t n;

	assert_int_equal(jute_encode_multi_response(&f->buf, &r, 1), -EINVAL);
	assert_int_equal(f->buf.len, 0);
	assert_int_equal(jute_encode_multi_response(&f->buf, NULL, 0), 0);
	assert_int_equal(f->buf.len, 9);
	jute_in_init(&in, f->buf.data, f->buf.len);
	assert_int_equal(jute_decode_multi_response(&in, &back, &n), 0);
	assert_int_equal(n, 0);
	assert_null(back);
}

/* ---- Framing ------------------------------------------------------------------------------- */

/* frame_begin/frame_end write the body length in front of the body. */
static void test_frame_write(void **state)
{
	static const uint8_t exp[] = {0, 0, 0, 8, 0, 0, 0, 1, 0, 0, 0, 11};
	struct jute_request_header h = {1, ZK_OP_PING};
	struct fixture *f = *state;
	size_t off = jute_frame_begin(&f->buf);

	assert_int_equal(off, 0);
	assert_int_equal(jute_encode_request_header(&f->buf, &h), 0);
	jute_frame_end(&f->buf, off);
	assert_buf_eq(&f->buf, exp, sizeof(exp));
	zk_buf_close(&f->buf2);
	zk_alloc_fault_set(1, 0);
	assert_true(jute_frame_begin(&f->buf2) == JUTE_FRAME_NOMEM);
}

/* frame_peek: -EAGAIN until the whole frame is there, -EMSGSIZE for negative or too long. */
static void test_frame_peek(void **state)
{
	static const uint8_t frame[] = {0, 0, 0, 3, 'a', 'b', 'c', 'n'};
	static const uint8_t neg[] = {0x80, 0, 0, 0};
	static const uint8_t big[] = {0, 0x10, 0, 1};
	static const uint8_t zero[] = {0, 0, 0, 0};
	size_t body = 99;

	(void)state;
	for (size_t len = 0; len < 7; len++)
		assert_int_equal(jute_frame_peek(frame, len, 100, &body), -EAGAIN);
	assert_int_equal(jute_frame_peek(frame, 8, 100, &body), 0);
	assert_int_equal(body, 3);
	assert_int_equal(jute_frame_peek(frame, 8, 2, &body), -EMSGSIZE);
	assert_int_equal(jute_frame_peek(neg, 4, 100, &body), -EMSGSIZE);
	assert_int_equal(jute_frame_peek(big, 4, 1 << 20, &body), -EMSGSIZE);
	assert_int_equal(jute_frame_peek(big, 4, (1 << 20) + 1, &body), -EAGAIN);
	assert_int_equal(jute_frame_peek(zero, 4, 100, &body), 0);
	assert_int_equal(body, 0);
}

/* ---- Paths --------------------------------------------------------------------------------- */

struct path_case {
	const char *path;
	size_t len; /* 0: strlen */
	bool sequential;
	int rc;
};

/* PathUtils.validatePath of ZooKeeper 3.8, case by case (inclusive character ranges). */
static void test_path_validate(void **state)
{
	static const struct path_case cases[] = {
		{"/", 0, false, 0},
		{"/a", 0, false, 0},
		{"/a/b/c", 0, false, 0},
		{"/zookeeper/quota", 0, false, 0},
		{"/a.b", 0, false, 0},
		{"/...", 0, false, 0},
		{"/.a/b.", 0, false, 0},
		{"/a b", 0, false, 0},
		{"/\xc3\xa9", 0, false, 0},	    /* U+00E9 */
		{"/\xc2\xa0", 0, false, 0},	    /* U+00A0, just above U+009F */
		{"/\xed\x9f\xbf", 0, false, 0},	    /* U+D7FF, just below U+D800 */
		{"/\xef\xa4\x80", 0, false, 0},	    /* U+F900, just above U+F8FF */
		{"/\xef\xbf\xaf", 0, false, 0},	    /* U+FFEF, just below U+FFF0 */
		{"", 0, false, -EINVAL},
		{"a", 0, false, -EINVAL},
		{"a/b", 0, false, -EINVAL},
		{"/a/", 0, false, -EINVAL},
		{"//", 0, false, -EINVAL},
		{"/a//b", 0, false, -EINVAL},
		{"/.", 0, false, -EINVAL},
		{"/..", 0, false, -EINVAL},
		{"/a/./b", 0, false, -EINVAL},
		{"/a/../b", 0, false, -EINVAL},
		{"/a/..", 0, false, -EINVAL},
		{"/a\0b", 4, false, -EINVAL},
		{"/\x01", 0, false, -EINVAL},
		{"/\x1f", 0, false, -EINVAL},
		{"/\x7f", 0, false, -EINVAL},
		{"/\xc2\x80", 0, false, -EINVAL},     /* U+0080 */
		{"/\xc2\x9f", 0, false, -EINVAL},     /* U+009F */
		{"/\xed\xa0\x80", 0, false, -EINVAL}, /* U+D800 (a lone surrogate) */
		{"/\xee\x80\x80", 0, false, -EINVAL}, /* U+E000 */
		{"/\xef\xa3\xbf", 0, false, -EINVAL}, /* U+F8FF */
		{"/\xef\xbf\xb0", 0, false, -EINVAL}, /* U+FFF0 */
		{"/\xef\xbf\xbd", 0, false, -EINVAL}, /* U+FFFD */
		{"/\xef\xbf\xbf", 0, false, -EINVAL}, /* U+FFFF */
		{"/\xf0\x9f\x98\x80", 0, false, -EINVAL}, /* U+1F600: a surrogate pair in Java */
		{"/\xc0\xaf", 0, false, -EINVAL},     /* overlong '/' */
		{"/\xe0\x80\xaf", 0, false, -EINVAL}, /* overlong '/' */
		{"/\x80", 0, false, -EINVAL},	      /* stray continuation byte */
		{"/\xe2\x82", 0, false, -EINVAL},     /* truncated sequence */
		{"/\xff", 0, false, -EINVAL},
		{"/", 0, true, 0},
		{"/a/", 0, true, 0},
		{"/a/b", 0, true, 0},
		{"/a/.", 0, true, 0},  /* "/a/.1" */
		{"/a/..", 0, true, 0}, /* "/a/..1" */
		{"", 0, true, -EINVAL},
		{"//", 0, true, -EINVAL},
		{"/a//", 0, true, -EINVAL},
		{"/./", 0, true, -EINVAL},
		{"/../x", 0, true, -EINVAL},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct path_case *c = &cases[i];
		size_t len = c->len ? c->len : strlen(c->path);
		int rc = jute_path_validate(c->path, len, c->sequential);

		if (rc != c->rc)
			fail_msg("path case %zu (\"%s\", seq %d): %d, want %d", i, c->path,
				 c->sequential, rc, c->rc);
	}
}

/* ---- Test vectors: the seed corpus ---------------------------------------------------------- */

/* Read a whole small file into @buf (cleared first). */
static void read_file(const char *path, struct zk_buf *buf)
{
	FILE *fp = fopen(path, "rb");
	uint8_t chunk[4096];
	size_t n;

	assert_non_null(fp);
	zk_buf_reset(buf);
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
		assert_int_equal(zk_buf_append(buf, chunk, n), 0);
	fclose(fp);
}

/* Decode each frame of @in as a request; a frame that decodes must re-encode to exactly
 * its bytes. Returns 0, the first decode error, or -EAGAIN for a cut-off last frame. */
/* Seeds ZooKeeper reads although they are not in the form it writes: their re-encoding is the
 * canonical form (a vector count below -1 is written back as 0), which must itself round-trip. */
static const char *const noncanonical_seeds[] = {"req_set_watches2_negative_count"};

static bool is_noncanonical(const char *name)
{
	for (size_t i = 0; i < sizeof(noncanonical_seeds) / sizeof(noncanonical_seeds[0]); i++)
		if (strcmp(name, noncanonical_seeds[i]) == 0)
			return true;
	return false;
}

/* Encodes @r, decoded from @body, again into @out: the result is @body itself, or for a
 * non-canonical seed a form of the same length that round-trips exactly. */
static void check_request_round_trip(const uint8_t *body, size_t len, struct jute_request *r,
				     bool canonical, struct zk_buf *out)
{
	struct jute_request again;
	struct zk_buf out2;

	zk_buf_reset(out);
	assert_int_equal(jute_encode_request(out, r), 0);
	if (canonical) {
		assert_buf_eq(out, body, len);
		return;
	}
	assert_int_equal(out->len, len);
	assert_int_equal(jute_decode_request(out->data, out->len, &again), 0);
	zk_buf_init(&out2);
	assert_int_equal(jute_encode_request(&out2, &again), 0);
	assert_buf_eq(&out2, out->data, out->len);
	zk_buf_close(&out2);
	jute_request_free(&again);
}

static int decode_request_frames(const struct zk_buf *in, struct zk_buf *out, bool canonical)
{
	size_t off = 0;
	size_t body;
	int rc;

	while (off < in->len) {
		struct jute_request r;

		rc = jute_frame_peek(in->data + off, in->len - off, 1 << 20, &body);
		if (rc != 0)
			return rc;
		rc = jute_decode_request(in->data + off + 4, body, &r);
		if (rc != 0)
			return rc;
		check_request_round_trip(in->data + off + 4, body, &r, canonical, out);
		jute_request_free(&r);
		off += 4 + body;
	}
	return 0;
}

static bool has_prefix(const char *name, const char *prefix)
{
	return strncmp(name, prefix, strlen(prefix)) == 0;
}

static void check_frame_vector(struct fixture *f, const char *name)
{
	struct jute_multi_result *res;
	struct jute_in in;
	int32_t n;
	int rc = decode_request_frames(&f->buf, &f->buf2, !is_noncanonical(name));

	if (has_prefix(name, "req_") && rc != 0)
		fail_msg("%s: %d", name, rc);
	if (has_prefix(name, "unsupported_") && rc != -ENOTSUP)
		fail_msg("%s: %d, want -ENOTSUP", name, rc);
	if (has_prefix(name, "bad_") && rc != -EBADMSG && rc != -EAGAIN)
		fail_msg("%s: %d, want a refusal", name, rc);
	if (has_prefix(name, "resp_multi")) {
		jute_in_init(&in, f->buf.data + 4, f->buf.len - 4);
		assert_int_equal(jute_decode_multi_response(&in, &res, &n), 0);
		zk_buf_reset(&f->buf2);
		assert_int_equal(jute_encode_multi_response(&f->buf2, res, n), 0);
		assert_buf_eq(&f->buf2, f->buf.data + 4, f->buf.len - 4);
		jute_multi_response_free(res, n);
	}
}

static void check_connect_vector(struct fixture *f, const char *name)
{
	struct jute_connect_request r;
	struct jute_connect_response cr;
	struct jute_in in;
	int rc = jute_decode_connect(f->buf.data, f->buf.len, &r);

	if (has_prefix(name, "req_")) {
		if (rc != 0)
			fail_msg("%s: %d", name, rc);
		zk_buf_reset(&f->buf2);
		assert_int_equal(jute_encode_connect_request(&f->buf2, &r), 0);
		assert_buf_eq(&f->buf2, f->buf.data, f->buf.len);
	}
	if (has_prefix(name, "bad_") && rc != -EBADMSG)
		fail_msg("%s: %d, want -EBADMSG", name, rc);
	if (has_prefix(name, "resp_")) {
		jute_in_init(&in, f->buf.data, f->buf.len);
		assert_int_equal(jute_decode_connect_response(&in, &cr), 0);
		assert_int_equal(jute_in_remaining(&in), 0);
	}
}

/* Every file of tests/fuzz/corpus/{frame,connect} (written by make_seeds.py with Python's
 * struct and with kazoo's serializers) decodes as its name says, and what decodes
 * re-encodes to the very same bytes. */
static void test_seed_vectors(void **state)
{
	static const char *const kinds[] = {"frame", "connect"};
	struct fixture *f = *state;
	int checked = 0;

	for (size_t k = 0; k < 2; k++) {
		char dir[4096];
		DIR *d;
		struct dirent *e;

		snprintf(dir, sizeof(dir), "%s/%s", JUTE_CORPUS_DIR, kinds[k]);
		d = opendir(dir);
		assert_non_null(d);
		while ((e = readdir(d)) != NULL) {
			char path[8192];
			if (e->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
			read_file(path, &f->buf);
			if (k == 0)
				check_frame_vector(f, e->d_name);
			else
				check_connect_vector(f, e->d_name);
			checked++;
		}
		closedir(d);
	}
	assert_true(checked >= 40);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
		T(test_read_primitives),
		T(test_read_past_end),
		T(test_string_lengths),
		T(test_write_primitives),
		T(test_str_helpers),
		T(test_reply_header_bytes),
		T(test_connect_response_bytes),
		T(test_watcher_event_bytes),
		T(test_stat_bytes),
		T(test_connect_request),
		T(test_request_records),
		T(test_response_records),
		T(test_children_decode_values),
		T(test_vector_counts),
		T(test_requests_round_trip),
		T(test_request_values),
		T(test_unknown_opcode),
		T(test_multi_malformed),
		T(test_multi_many_ops),
		T(test_alloc_failures),
		T(test_multi_response),
		T(test_multi_response_bad_type),
		T(test_frame_write),
		T(test_frame_peek),
		T(test_path_validate),
		T(test_seed_vectors),
#undef T
	};

	zk_log_open(NULL, ZK_LOG_LEVEL_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
