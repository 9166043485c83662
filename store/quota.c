/* quota.c: ZooKeeper 3.8's quota bookkeeping (DataTree: pTrie, updateQuotaStat,
 * updateQuotaForPath, setupQuota; StatsTrack's text form). Limits are not enforced (3.8's
 * default, enforceQuota=false); only the zookeeper_stats nodes are kept up to date.
 *
 * The quota'd paths (ZooKeeper's PathTrie: a set of paths, each a list of components with the
 * blank ones dropped) live in struct store, so a tree without quotas costs nothing per znode and
 * a write under no quota costs one test of n_quotas. Every change goes through the undo records
 * of txn.c, so a failed multi or an -ENOMEM leaves the set and the stats nodes as they were.
 *
 * Behaviours checked side by side against Apache ZooKeeper 3.8.0 (Debian 3.8.0-11, kazoo):
 *  - creating zookeeper_limits under /zookeeper/quota<P> adds P to the set; creating
 *    zookeeper_stats there replaces its data by the count and bytes of P's subtree (P included;
 *    extra keys of the data the client gave are dropped);
 *  - a create, delete or setData whose path has a quota'd prefix updates the nearest one's stats
 *    (count +1/-1, bytes by the data length difference); other keys of the stats data are kept,
 *    written "count=C,bytes=B=;k1=v1;k2=v2" (sorted keys), as StatsTrack.toString;
 *  - the stats node's data changes in place: version, mzxid and mtime stay (dataLength follows);
 *  - StatsTrack's parser: pairs split on runs of ',' or ';', each on '=' (Java's split: trailing
 *    empty parts dropped), a missing or empty value is -1: "count==4,bytes=10=" reads count -1,
 *    bytes 10. Data it cannot parse ("x=", "garbage", a bad number, null) makes ZooKeeper 3.8's
 *    apply thread throw and the server exit (seen: ArrayIndexOutOfBoundsException, "Exiting JVM");
 *    here the stats node is left unchanged instead.
 * From ZooKeeper's source: deleting a zookeeper_limits node whose parent path starts with
 * /zookeeper removes parent.substring(16) from the set (Quotas.trimQuotaPath); a snapshot load
 * rebuilds the set from the leaves named zookeeper_limits under /zookeeper/quota (the real path
 * ends at the first "/zookeeper_limits") and recomputes their stats (setupQuota); "/" is never a
 * quota'd prefix (getMaxPrefixWithQuota). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/zk_alloc.h"
#include "common/zk_buf.h"
#include "common/zk_log.h"
#include "store/store_int.h"

#define QUOTA_ROOT "/zookeeper/quota"
#define QUOTA_ROOT_LEN (sizeof(QUOTA_ROOT) - 1)
#define QUOTA_LIMIT_NODE "zookeeper_limits"
#define QUOTA_STAT_NODE "zookeeper_stats"

/* ---- StatsTrack's text form -------------------------------------------------------------- */

struct stats_kv {
	const char *key; /* Borrowed from the parsed text. */
	size_t key_len;
	int64_t val;
	size_t order;	 /* Position in the text (a repeated key: the later one wins). */
};

/* Most pairs a stats node may hold to be kept up to date. StatsTrack has four keys; a client
 * can write a megabyte of them, and every write under the quota path re-parses the node:
 * past this the node is left unchanged (a warning), on every replica alike. */
#define QUOTA_STATS_MAX_PAIRS 1024

struct stats_track {
	struct stats_kv *kv; /* Owned. */
	size_t n;
};

/* Long.parseLong: an optional sign, then decimal digits, within int64. */
static bool parse_long(const char *p, size_t len, int64_t *out)
{
	bool neg = len > 0 && p[0] == '-';
	uint64_t v = 0, max = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	size_t i = len > 0 && (p[0] == '-' || p[0] == '+') ? 1 : 0;

	if (i == len)
		return false;
	for (; i < len; i++) {
		if (p[i] < '0' || p[i] > '9' || v > (max - (uint64_t)(p[i] - '0')) / 10)
			return false;
		v = v * 10 + (uint64_t)(p[i] - '0');
	}
	*out = neg ? (int64_t)(0 - v) : (int64_t)v;
	return true;
}

/* A pair in text order (the parse keeps every one; stats_dedup then keeps the later value of
 * a repeated key, as HashMap.put). */
static void stats_put(struct stats_track *st, const char *key, size_t len, int64_t val)
{
	st->kv[st->n].key = key;
	st->kv[st->n].key_len = len;
	st->kv[st->n].val = val;
	st->kv[st->n].order = st->n;
	st->n++;
}

/* One "key=value" pair, split as Java's String.split("="): trailing empty parts are dropped,
 * fewer than two parts left is what ZooKeeper fails on. */
static bool stats_pair(struct stats_track *st, const char *p, size_t len)
{
	const char *eq, *val, *end;
	size_t vlen;
	int64_t v = -1;

	while (len > 0 && p[len - 1] == '=')
		len--; /* Trailing empty parts. */
	eq = memchr(p, '=', len);
	if (eq == NULL)
		return false;
	val = eq + 1;
	end = memchr(val, '=', len - (size_t)(val - p));
	vlen = end != NULL ? (size_t)(end - val) : len - (size_t)(val - p);
	if (vlen > 0 && !parse_long(val, vlen, &v))
		return false;
	stats_put(st, p, (size_t)(eq - p), v);
	return true;
}

/* By key, then by position in the text. */
static int kv_cmp(const void *a, const void *b)
{
	const struct stats_kv *x = a, *y = b;
	size_t n = x->key_len < y->key_len ? x->key_len : y->key_len;
	int c = memcmp(x->key, y->key, n);

	if (c != 0)
		return c;
	if (x->key_len != y->key_len)
		return (x->key_len > y->key_len) - (x->key_len < y->key_len);
	return (x->order > y->order) - (x->order < y->order);
}

/* Sort by key and keep the last pair of each key: O(n log n), not a scan per pair. */
static void stats_dedup(struct stats_track *st)
{
	size_t i, n = 0;

	if (st->n > 1)
		qsort(st->kv, st->n, sizeof(*st->kv), kv_cmp);
	for (i = 0; i < st->n; i++) {
		if (i + 1 < st->n && st->kv[i + 1].key_len == st->kv[i].key_len &&
		    memcmp(st->kv[i + 1].key, st->kv[i].key, st->kv[i].key_len) == 0)
			continue; /* A later value of the same key follows. */
		st->kv[n++] = st->kv[i];
	}
	st->n = n;
}

/* StatsTrack(String): @st gets each key once, sorted. Returns 0, -EINVAL (ZooKeeper would
 * throw), -E2BIG (over QUOTA_STATS_MAX_PAIRS) or -ENOMEM. */
static int stats_parse(struct stats_track *st, const uint8_t *data, int32_t len)
{
	const char *p = (const char *)data, *end, *q;
	size_t pairs = 1;

	st->kv = NULL;
	st->n = 0;
	if (len < 0)
		return -EINVAL; /* Null data: new String(null) throws. */
	if (len == 0)
		return 0;
	end = p + len;
	while (end > p && (end[-1] == ',' || end[-1] == ';'))
		end--; /* Pattern.split drops trailing empty strings. */
	for (q = p; q < end; q++)
		pairs += *q == ',' || *q == ';';
	if (pairs > QUOTA_STATS_MAX_PAIRS)
		return -E2BIG; /* Runs of separators count too: a bound, not the exact number. */
	st->kv = zk_calloc(pairs, sizeof(*st->kv));
	if (st->kv == NULL)
		return -ENOMEM;
	while (p < end) {
		for (q = p; q < end && *q != ',' && *q != ';'; q++)
			;
		if (!stats_pair(st, p, (size_t)(q - p)))
			return -EINVAL;
		while (q < end && (*q == ',' || *q == ';'))
			q++;
		p = q;
	}
	stats_dedup(st);
	return 0;
}

static int64_t *stats_get(struct stats_track *st, const char *key)
{
	size_t i, len = strlen(key);

	for (i = 0; i < st->n; i++)
		if (st->kv[i].key_len == len && memcmp(st->kv[i].key, key, len) == 0)
			return &st->kv[i].val;
	return NULL;
}

static bool key_is(const struct stats_kv *kv, const char *key)
{
	return kv->key_len == strlen(key) && memcmp(kv->key, key, kv->key_len) == 0;
}

/* StatsTrack.toString into @out: count and bytes first, then '=' and ";key=value" for the
 * other keys in sorted order (@st is sorted: stats_parse). Returns 0 or -ENOMEM. */
static int stats_format(struct stats_track *st, int64_t count, int64_t bytes, struct zk_buf *out)
{
	char num[64];
	size_t i;
	bool extra = false;
	int rc;

	snprintf(num, sizeof(num), "count=%" PRId64 ",bytes=%" PRId64, count, bytes);
	rc = zk_buf_append(out, num, strlen(num));
	for (i = 0; rc == 0 && i < st->n; i++) {
		if (key_is(&st->kv[i], "count") || key_is(&st->kv[i], "bytes"))
			continue;
		if (!extra)
			rc = zk_buf_append(out, "=", 1);
		extra = true;
		snprintf(num, sizeof(num), "=%" PRId64, st->kv[i].val);
		if (rc == 0)
			rc = zk_buf_append(out, ";", 1);
		if (rc == 0)
			rc = zk_buf_append(out, st->kv[i].key, st->kv[i].key_len);
		if (rc == 0)
			rc = zk_buf_append(out, num, strlen(num));
	}
	return rc;
}

/* ---- the stats node ---------------------------------------------------------------------- */

/* Replace @n's data by @text in place (stat unchanged, as DataTree does), with an undo record
 * when @a is not NULL (a snapshot load has none). Returns 0 or -ENOMEM (nothing changed). */
static int stats_store(struct store *s, struct apply *a, struct znode *n, const struct zk_buf *text)
{
	struct znode_ext *ext;
	struct znode_saved was;
	struct undo *u;

	if (n->data_len == (int32_t)text->len &&
	    (text->len == 0 || memcmp(znode_data(n), text->data, text->len) == 0))
		return 0;
	ext = znode_ext_new(znode_mzxid(n), znode_mtime(n), znode_aversion(n), text->data,
			    (int32_t)text->len);
	if (ext == NULL)
		return -ENOMEM;
	if (a != NULL && store_txn_reserve(a, 1, 0) != 0) {
		zk_free(ext);
		return -ENOMEM;
	}
	store_digest_node(s, n, -1, true);
	if (a != NULL) {
		u = store_txn_undo_push(a, UNDO_QUOTA_DATA, n);
		u->data_len = n->data_len;
		znode_ext_swap(n, ext, &u->was);
	} else {
		znode_ext_swap(n, ext, &was);
		znode_ext_release(&was);
	}
	n->data_len = (int32_t)text->len;
	store_digest_node(s, n, 1, true);
	return 0;
}

/* A stats node left unchanged: logged the 1st, 2nd, 4th, 8th... time (a rate limit that is
 * the same on every replica and needs no clock). */
static void stats_refused(struct store *s, const struct znode *n, int rc)
{
	s->quota_stats_refused++;
	if ((s->quota_stats_refused & (s->quota_stats_refused - 1)) != 0)
		return;
	zk_log_write(ZK_LOG_LEVEL_WARN, __FILE__, __LINE__,
		     "quota stats node %s: %s, left unchanged (%" PRIu64 " time(s) so far)",
		     znode_name(n),
		     rc == -E2BIG ? "more than 1024 key=value pairs" : "data not in StatsTrack form",
		     s->quota_stats_refused);
}

uint64_t store_quota_stats_refused(const struct store *s)
{
	return s->quota_stats_refused;
}

/* @n's data as StatsTrack, with count and bytes set by @set (the new values) or moved by the
 * deltas: DataTree.updateQuotaStat (@set false) or updateQuotaForPath (@set true). */
static int stats_update(struct store *s, struct apply *a, struct znode *n, bool set,
			int64_t count, int64_t bytes)
{
	struct stats_track st = {0};
	struct zk_buf text;
	int64_t *c, *b;
	int rc = set ? 0 : stats_parse(&st, znode_data(n), n->data_len);

	if (rc == -EINVAL || rc == -E2BIG) {
		stats_refused(s, n, rc);
		zk_free(st.kv);
		return 0;
	}
	if (rc != 0) {
		zk_free(st.kv);
		return rc;
	}
	c = stats_get(&st, "count");
	b = stats_get(&st, "bytes");
	if (!set) {
		count = (int64_t)((uint64_t)(c != NULL ? *c : -1) + (uint64_t)count);
		bytes = (int64_t)((uint64_t)(b != NULL ? *b : -1) + (uint64_t)bytes);
	}
	zk_buf_init(&text);
	rc = stats_format(&st, count, bytes, &text);
	if (rc == 0)
		rc = stats_store(s, a, n, &text);
	zk_buf_close(&text);
	zk_free(st.kv);
	return rc;
}

/* ---- the set of quota'd paths ------------------------------------------------------------ */

/* The next component of @p not made only of chars <= ' ' (PathTrie.split's filter on
 * String.trim().isEmpty()); *@len its length; NULL at the end. */
static const char *comp_next(const char *p, const char *end, size_t *len)
{
	const char *q, *c;

	while (p < end) {
		while (p < end && *p == '/')
			p++;
		for (q = p; q < end && *q != '/'; q++)
			;
		for (c = p; c < q && (unsigned char)*c <= ' '; c++)
			;
		if (c < q) {
			*len = (size_t)(q - p);
			return p;
		}
		p = q;
	}
	return NULL;
}

/* *@out = "/c1/c2" from @p's components, blank ones dropped (owned), or NULL when there are
 * none. Returns 0 or -ENOMEM. */
static int quota_normalise(const char *p, size_t plen, char **out)
{
	const char *end = p + plen, *c;
	struct zk_buf b;
	size_t len;
	int rc = 0;

	*out = NULL;
	zk_buf_init(&b);
	for (c = comp_next(p, end, &len); c != NULL && rc == 0; c = comp_next(c + len, end, &len)) {
		rc = zk_buf_append(&b, "/", 1);
		if (rc == 0)
			rc = zk_buf_append(&b, c, len);
	}
	if (rc == 0 && b.len > 0) {
		*out = zk_strndup((const char *)b.data, b.len);
		rc = *out == NULL ? -ENOMEM : 0;
	}
	zk_buf_close(&b);
	return rc;
}

/* Whether the components of @q (normalised) are the first ones of @path. */
static bool quota_prefix_of(const char *q, const char *path)
{
	const char *qend = q + strlen(q), *pend = path + strlen(path), *qc, *pc;
	size_t qlen, plen;

	pc = comp_next(path, pend, &plen);
	for (qc = comp_next(q, qend, &qlen); qc != NULL; qc = comp_next(qc + qlen, qend, &qlen)) {
		if (pc == NULL || plen != qlen || memcmp(pc, qc, qlen) != 0)
			return false;
		pc = comp_next(pc + plen, pend, &plen);
	}
	return true;
}

static int32_t quota_find(const struct store *s, const char *q)
{
	uint32_t i;

	for (i = 0; i < s->n_quotas; i++)
		if (strcmp(s->quotas[i], q) == 0)
			return (int32_t)i;
	return -1;
}

/* DataTree.getMaxPrefixWithQuota: the longest quota'd prefix of @path, or NULL. */
static const char *quota_max_prefix(const struct store *s, const char *path)
{
	const char *best = NULL;
	uint32_t i;

	for (i = 0; i < s->n_quotas; i++)
		if (quota_prefix_of(s->quotas[i], path) &&
		    (best == NULL || strlen(s->quotas[i]) > strlen(best)))
			best = s->quotas[i];
	return best;
}

/* Add @q (owned, normalised) to the set; takes it in any case. Records the undo when @a. */
static int quota_add(struct store *s, struct apply *a, char *q)
{
	char **arr;

	if (quota_find(s, q) >= 0) {
		zk_free(q);
		return 0;
	}
	if (s->n_quotas == s->cap_quotas) {
		arr = zk_realloc(s->quotas, (s->cap_quotas ? s->cap_quotas * 2 : 4) * sizeof(*arr));
		if (arr == NULL) {
			zk_free(q);
			return -ENOMEM;
		}
		s->quotas = arr;
		s->cap_quotas = s->cap_quotas ? s->cap_quotas * 2 : 4;
	}
	if (a != NULL && store_txn_reserve(a, 1, 0) != 0) {
		zk_free(q);
		return -ENOMEM;
	}
	s->quotas[s->n_quotas++] = q;
	if (a != NULL)
		store_txn_undo_push(a, UNDO_QUOTA_ADD, NULL)->qpath = q;
	return 0;
}

/* Remove the set's entry at @i; the caller owns the string. The array never shrinks, so an
 * undo can put it back without allocating. */
static char *quota_take(struct store *s, uint32_t i)
{
	char *q = s->quotas[i];

	s->quotas[i] = s->quotas[--s->n_quotas];
	return q;
}

void store_quota_undo(struct store *s, const struct undo *u)
{
	int32_t i;

	if (u->kind == UNDO_QUOTA_ADD) {
		i = quota_find(s, u->qpath);
		if (i >= 0)
			zk_free(quota_take(s, (uint32_t)i));
	} else {
		s->quotas[s->n_quotas++] = u->qpath;
	}
}

void store_quota_free_all(struct store *s)
{
	while (s->n_quotas > 0)
		zk_free(s->quotas[--s->n_quotas]);
	zk_free(s->quotas);
	s->quotas = NULL;
	s->cap_quotas = 0;
}

/* ---- counts and the hooks of the write ops ----------------------------------------------- */

/* DataTree.getCounts: @n and its descendants, their data bytes. */
static void quota_count(const struct znode *n, int64_t *count, int64_t *bytes)
{
	const struct znode *top = n;

	*count = *bytes = 0;
	for (; n != NULL; n = znode_next_preorder(n, top)) {
		*count += 1;
		*bytes += n->data_len > 0 ? n->data_len : 0;
	}
}

/* *@out = the node at "/zookeeper/quota" + @q + "/zookeeper_stats" (@q as given, not
 * normalised), NULL when there is none. Returns 0 or -ENOMEM. */
static int quota_stats_node(const struct store *s, const char *q, size_t qlen, struct znode **out)
{
	struct zk_buf b;
	int rc;

	*out = NULL;
	zk_buf_init(&b);
	rc = zk_buf_append(&b, QUOTA_ROOT, QUOTA_ROOT_LEN);
	if (rc == 0)
		rc = zk_buf_append(&b, q, qlen);
	if (rc == 0)
		rc = zk_buf_append(&b, "/" QUOTA_STAT_NODE, sizeof("/" QUOTA_STAT_NODE));
	if (rc == 0)
		*out = znode_lookup(s, (const char *)b.data);
	zk_buf_close(&b);
	return rc;
}

/* DataTree.updateQuotaForPath(@real): the stats node of @real gets @real's subtree counts.
 * @real is ZooKeeper's key: "" is the root, a path without '/' names no node. */
static int quota_recount(struct store *s, struct apply *a, const char *real, size_t len)
{
	struct znode *stats, *n;
	char *path = zk_strndup(real, len);
	int64_t count = 0, bytes = 0;

	if (path == NULL || quota_stats_node(s, real, len, &stats) != 0) {
		zk_free(path);
		return -ENOMEM;
	}
	n = len == 0 ? s->root : znode_lookup(s, path);
	zk_free(path);
	if (n != NULL)
		quota_count(n, &count, &bytes);
	return stats != NULL ? stats_update(s, a, stats, true, count, bytes) : 0;
}

/* DataTree.updateQuotaStat for a change at @path. */
static int quota_account(struct store *s, struct apply *a, const char *path, int64_t count,
			 int64_t bytes)
{
	const char *q = s->n_quotas > 0 ? quota_max_prefix(s, path) : NULL;
	struct znode *stats;

	if (q == NULL)
		return 0;
	if (quota_stats_node(s, q, strlen(q), &stats) != 0)
		return -ENOMEM;
	return stats != NULL ? stats_update(s, a, stats, false, count, bytes) : 0;
}

static size_t parent_len(const char *path)
{
	return (size_t)(strrchr(path, '/') - path);
}

int store_quota_created(struct apply *a, const char *path, const struct znode *n)
{
	size_t plen = parent_len(path);
	bool under = plen >= QUOTA_ROOT_LEN && memcmp(path, QUOTA_ROOT, QUOTA_ROOT_LEN) == 0;
	int64_t bytes = n->data_len > 0 ? n->data_len : 0; /* Before a recount changes it. */
	char *q;
	int rc = 0;

	if (under && strcmp(znode_name(n), QUOTA_LIMIT_NODE) == 0) {
		rc = quota_normalise(path + QUOTA_ROOT_LEN, plen - QUOTA_ROOT_LEN, &q);
		/* An empty path makes ZooKeeper's PathTrie.addPath throw; "/" is never a prefix. */
		if (rc == 0 && q != NULL)
			rc = quota_add(a->s, a, q);
	}
	if (rc == 0 && under && strcmp(znode_name(n), QUOTA_STAT_NODE) == 0)
		rc = quota_recount(a->s, a, path + QUOTA_ROOT_LEN, plen - QUOTA_ROOT_LEN);
	return rc == 0 ? quota_account(a->s, a, path, 1, bytes) : rc;
}

int store_quota_deleted(struct apply *a, const char *path, const struct znode *n)
{
	size_t plen = parent_len(path);
	char *q = NULL;
	int32_t i;

	/* DataTree.deleteNode tests startsWith("/zookeeper") and trims 16 characters (3.8.0's
	 * Quotas.trimQuotaPath; a shorter parent makes it throw). */
	if (plen >= QUOTA_ROOT_LEN && strncmp(path, "/zookeeper", 10) == 0 &&
	    strcmp(znode_name(n), QUOTA_LIMIT_NODE) == 0) {
		if (quota_normalise(path + QUOTA_ROOT_LEN, plen - QUOTA_ROOT_LEN, &q) != 0)
			return -ENOMEM;
		i = q != NULL ? quota_find(a->s, q) : -1;
		zk_free(q);
		if (i >= 0) {
			if (store_txn_reserve(a, 1, 0) != 0)
				return -ENOMEM;
			store_txn_undo_push(a, UNDO_QUOTA_DEL, NULL)->qpath =
				quota_take(a->s, (uint32_t)i);
		}
	}
	return quota_account(a->s, a, path, -1, -(int64_t)(n->data_len > 0 ? n->data_len : 0));
}

int store_quota_data_changed(struct apply *a, const char *path, int32_t old_len, int32_t new_len)
{
	return quota_account(a->s, a, path, 0,
			     (int64_t)(new_len > 0 ? new_len : 0) - (old_len > 0 ? old_len : 0));
}

/* ---- snapshot load and check ------------------------------------------------------------- */

struct rebuild_ctx {
	struct store *s;
	struct zk_buf path;
	int rc;
};

/* DataTree.traverseNode on one leaf named zookeeper_limits under /zookeeper/quota. */
static int rebuild_leaf(struct rebuild_ctx *rc, const struct znode *n)
{
	const char *p, *cut;
	char *q;
	int err;

	zk_buf_reset(&rc->path);
	err = znode_path(n, &rc->path);
	if (err != 0)
		return err;
	p = (const char *)rc->path.data;
	cut = strstr(p + QUOTA_ROOT_LEN, "/" QUOTA_LIMIT_NODE);
	err = quota_recount(rc->s, NULL, p + QUOTA_ROOT_LEN, (size_t)(cut - p) - QUOTA_ROOT_LEN);
	if (err != 0)
		return err;
	err = quota_normalise(p + QUOTA_ROOT_LEN, (size_t)(cut - p) - QUOTA_ROOT_LEN, &q);
	return err == 0 && q != NULL ? quota_add(rc->s, NULL, q) : err;
}

int store_quota_rebuild(struct store *s)
{
	const struct znode *top = znode_lookup(s, QUOTA_ROOT), *n;
	struct rebuild_ctx rc = {.s = s};
	int err = 0;

	store_quota_free_all(s);
	zk_buf_init(&rc.path);
	for (n = top; n != NULL && err == 0; n = znode_next_preorder(n, top))
		if (n != top && znode_num_children(n) == 0 &&
		    strcmp(znode_name(n), QUOTA_LIMIT_NODE) == 0)
			err = rebuild_leaf(&rc, n);
	zk_buf_close(&rc.path);
	return err;
}

int store_quota_check(const struct store *s)
{
	uint32_t i;
	char *q;
	bool ok;

	for (i = 0; i < s->n_quotas; i++) {
		if (quota_normalise(s->quotas[i], strlen(s->quotas[i]), &q) != 0)
			return -ENOMEM;
		if (q == NULL)
			return ZK_CORRUPT();
		ok = strcmp(q, s->quotas[i]) == 0 && quota_find(s, q) == (int32_t)i;
		zk_free(q);
		if (!ok)
			return ZK_CORRUPT();
	}
	return 0;
}
