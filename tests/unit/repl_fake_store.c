/* repl_fake_store.c: a test double of store/store.h for the replication tests and benchmark.
 *
 * It implements only what replication/ calls (txn codec, apply, snapshot write/load, digest,
 * last zxid, node count) with a trivial model: the store is a running 64-bit digest of every
 * applied (zxid, type, session, xid, path, data) plus counters. That is enough to check that
 * replicas and restarts reach the same state, and it keeps the measured cost of replication
 * apart from the cost of the real tree (tests/unit/test_repl_store.c uses the real store).
 * Snapshot image: magic, last zxid, count, digest, then a 64-bit check of those. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/zk_alloc.h"
#include "store/store.h"

#define FAKE_MAGIC 0x7a6b66736e617031ULL /* "zkfsnap1" */

struct store {
	int64_t last_zxid;
	uint64_t count;
	uint64_t digest;
	store_event_cb cb;
	void *ctx;
	long fail_apply; /* Tests: store_apply returns -ENOMEM this many times. */
};

static uint64_t mix(uint64_t h, const void *p, size_t len)
{
	const uint8_t *b = p;
	size_t i;

	for (i = 0; i < len; i++)
		h = (h ^ b[i]) * 0x100000001b3ULL;
	return h;
}

int store_create(const struct store_config *cfg, store_event_cb cb, void *ctx, struct store **out)
{
	struct store *s = zk_calloc(1, sizeof(*s));

	(void)cfg;
	if (s == NULL)
		return -ENOMEM;
	s->digest = 0xcbf29ce484222325ULL;
	s->count = 4;
	s->cb = cb;
	s->ctx = ctx;
	*out = s;
	return 0;
}

void store_destroy(struct store *s)
{
	zk_free(s);
}

void store_result_init(struct store_result *res)
{
	memset(res, 0, sizeof(*res));
}

void store_result_free(struct store_result *res)
{
	zk_free(res->path);
	memset(res, 0, sizeof(*res));
}

static void put(struct zk_buf *b, const void *p, size_t n, int *rv)
{
	if (*rv == 0)
		*rv = zk_buf_append(b, p, n);
}

int store_txn_encode(const struct store_txn *txn, struct zk_buf *out)
{
	size_t start = out->len;
	uint32_t plen = txn->op.path != NULL ? (uint32_t)strlen(txn->op.path) : 0;
	int32_t dlen = txn->op.data_len;
	int rv = 0;

	put(out, &txn->type, sizeof(txn->type), &rv);
	put(out, &txn->session_id, sizeof(txn->session_id), &rv);
	put(out, &txn->xid, sizeof(txn->xid), &rv);
	put(out, &txn->time_ms, sizeof(txn->time_ms), &rv);
	put(out, &plen, sizeof(plen), &rv);
	put(out, txn->op.path, plen, &rv);
	put(out, &dlen, sizeof(dlen), &rv);
	if (dlen > 0)
		put(out, txn->op.data, (size_t)dlen, &rv);
	if (rv != 0)
		out->len = start;
	return rv;
}

struct reader {
	const uint8_t *p;
	size_t len, pos;
};

static int get(struct reader *r, void *out, size_t n)
{
	if (r->len - r->pos < n)
		return -EBADMSG;
	memcpy(out, r->p + r->pos, n);
	r->pos += n;
	return 0;
}

int store_txn_decode(const void *p, size_t len, struct store_txn **out)
{
	struct reader r = {p, len, 0};
	struct store_txn *t = zk_calloc(1, sizeof(*t));
	uint32_t plen;
	char *path = NULL;
	uint8_t *data = NULL;

	if (t == NULL)
		return -ENOMEM;
	if (get(&r, &t->type, 4) || get(&r, &t->session_id, 8) || get(&r, &t->xid, 4) ||
	    get(&r, &t->time_ms, 8) || get(&r, &plen, 4) || len - r.pos < plen)
		goto bad;
	path = zk_strndup((const char *)p + r.pos, plen);
	r.pos += plen;
	if (path == NULL || get(&r, &t->op.data_len, 4))
		goto bad;
	if (t->op.data_len > 0) {
		if (len - r.pos < (size_t)t->op.data_len)
			goto bad;
		data = zk_malloc((size_t)t->op.data_len);
		if (data == NULL)
			goto bad;
		memcpy(data, (const uint8_t *)p + r.pos, (size_t)t->op.data_len);
		r.pos += (size_t)t->op.data_len;
	}
	if (r.pos != len)
		goto bad;
	t->op.path = path;
	t->op.data = data;
	t->op.type = t->type;
	*out = t;
	return 0;
bad:
	zk_free(data);
	zk_free(path);
	zk_free(t);
	return -EBADMSG;
}

/* What decoding the encoded txn gives, by definition. */
int store_txn_copy(const struct store_txn *txn, struct store_txn **out)
{
	struct zk_buf b;
	int rv;

	zk_buf_init(&b);
	rv = store_txn_encode(txn, &b);
	if (rv == 0)
		rv = store_txn_decode(b.data, b.len, out);
	zk_buf_close(&b);
	return rv;
}

void store_txn_free(struct store_txn *txn)
{
	if (txn == NULL)
		return;
	zk_free((void *)txn->op.path);
	zk_free((void *)txn->op.data);
	zk_free(txn);
}

int store_apply(struct store *s, int64_t zxid, const struct store_txn *txn,
		struct store_result *res)
{
	store_result_init(res);
	if (zxid <= s->last_zxid)
		abort(); /* replication must never apply twice or out of order */
	if (s->fail_apply > 0) {
		s->fail_apply--;
		return -ENOMEM;
	}
	s->digest = mix(s->digest, &zxid, sizeof(zxid));
	s->digest = mix(s->digest, &txn->type, sizeof(txn->type));
	s->digest = mix(s->digest, &txn->session_id, sizeof(txn->session_id));
	s->digest = mix(s->digest, &txn->xid, sizeof(txn->xid));
	if (txn->op.path != NULL)
		s->digest = mix(s->digest, txn->op.path, strlen(txn->op.path));
	if (txn->op.data_len > 0)
		s->digest = mix(s->digest, txn->op.data, (size_t)txn->op.data_len);
	s->last_zxid = zxid;
	s->count++;
	if (s->cb != NULL && txn->op.path != NULL)
		s->cb(s->ctx, ZK_EVENT_NODE_CREATED, txn->op.path, zxid);
	return 0;
}

int64_t store_last_zxid(const struct store *s)
{
	return s->last_zxid;
}

uint64_t store_digest(const struct store *s)
{
	return s->digest;
}

uint64_t store_node_count(const struct store *s)
{
	return s->count;
}

int store_snapshot_write(const struct store *s, struct zk_buf *out)
{
	uint64_t img[5] = {FAKE_MAGIC, (uint64_t)s->last_zxid, s->count, s->digest, 0};

	img[4] = mix(0x84222325ULL, img, 4 * sizeof(uint64_t));
	return zk_buf_append(out, img, sizeof(img));
}

int store_snapshot_load(struct store *s, const void *p, size_t len)
{
	uint64_t img[5];

	if (len != sizeof(img))
		return -EBADMSG;
	memcpy(img, p, sizeof(img));
	if (img[0] != FAKE_MAGIC || img[4] != mix(0x84222325ULL, img, 4 * sizeof(uint64_t)))
		return -EBADMSG;
	s->last_zxid = (int64_t)img[1];
	s->count = img[2];
	s->digest = img[3];
	return 0;
}

int store_check(const struct store *s)
{
	return s->last_zxid >= 0 ? 0 : -EBADMSG;
}

/* Tests: make the next @n store_apply calls fail with -ENOMEM. */
void repl_fake_store_fail_apply(struct store *s, long n)
{
	s->fail_apply = n;
}
