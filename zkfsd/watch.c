/* watch: the watch manager (Apache ZooKeeper 3.8 WatchManager + DataTree's trigger rules).
 *
 * Two tables, as ZooKeeper: data_watches holds getData/exists watches, child_watches
 * getChildren watches; addWatch puts PERSISTENT and PERSISTENT_RECURSIVE ones in both (the
 * child table never fires a recursive one: ZooKeeper skips them for NodeChildrenChanged, but
 * checkWatches/removeWatches of type Children find them).
 * Events from the store map onto them as in DataTree:
 *   NodeCreated, NodeDataChanged -> data table on the path;
 *   NodeDeleted                  -> data table on the path, then child table on the path
 *                                   (connections already notified are skipped);
 *   NodeChildrenChanged          -> child table on the (parent) path.
 * A data-table trigger also walks up the path for RECURSIVE watches of ancestors (only when
 * such watches exist). A STANDARD watch fires once and is gone; a connection gets at most one
 * event per trigger. Watches belong to connections: they go away with them. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "common/zk_alloc.h"
#include "common/zk_hash.h"
#include "common/zk_log.h"
#include "zkfsd/zkfsd_int.h"

struct watch {
	char *path;			/* Owned. */
	uint64_t hash;			/* Of path. */
	struct conn *conn;		/* Borrowed (the connection drops its watches on close). */
	struct watch_table *table;	/* The table it is in. */
	int kinds;			/* WATCH_* bits. */
	struct watch *hnext;		/* Bucket chain. */
	struct watch *cnext, *cprev;	/* conn->watches. */
};

#define WATCH_INITIAL_BUCKETS 256

/* Keyed (common/zk_hash.h): watch paths are the client's choice. */
static uint64_t watch_hash(const char *path)
{
	return zk_hash_bytes(zk_hash_process_key(), path, strlen(path));
}

int watch_table_init(struct watch_table *t)
{
	memset(t, 0, sizeof(*t));
	t->buckets = calloc(WATCH_INITIAL_BUCKETS, sizeof(*t->buckets));
	if (t->buckets == NULL)
		return -ENOMEM;
	t->n_buckets = WATCH_INITIAL_BUCKETS;
	return 0;
}

void watch_table_close(struct watch_table *t)
{
	for (size_t i = 0; i < t->n_buckets; i++) {
		struct watch *w = t->buckets[i], *next;

		for (; w != NULL; w = next) {
			next = w->hnext;
			free(w->path);
			free(w);
		}
	}
	free(t->buckets);
	memset(t, 0, sizeof(*t));
}

static struct watch **watch_bucket(struct watch_table *t, uint64_t hash)
{
	return &t->buckets[hash & (t->n_buckets - 1)];
}

/* Double the buckets when the chains grow long; on ENOMEM keep the old ones. */
static void watch_table_grow(struct watch_table *t)
{
	size_t n = t->n_buckets * 2;
	struct watch **b = calloc(n, sizeof(*b));

	if (b == NULL)
		return;
	for (size_t i = 0; i < t->n_buckets; i++) {
		struct watch *w = t->buckets[i], *next;

		for (; w != NULL; w = next) {
			next = w->hnext;
			w->hnext = b[w->hash & (n - 1)];
			b[w->hash & (n - 1)] = w;
		}
	}
	free(t->buckets);
	t->buckets = b;
	t->n_buckets = n;
}

static struct watch *watch_find(struct watch_table *t, const char *path, uint64_t hash,
				const struct conn *conn)
{
	for (struct watch *w = *watch_bucket(t, hash); w != NULL; w = w->hnext)
		if (w->hash == hash && w->conn == conn && strcmp(w->path, path) == 0)
			return w;
	return NULL;
}

static void watch_set_kinds(struct watch *w, int kinds)
{
	if ((w->kinds & WATCH_RECURSIVE) && !(kinds & WATCH_RECURSIVE))
		w->table->n_recursive--;
	if (!(w->kinds & WATCH_RECURSIVE) && (kinds & WATCH_RECURSIVE))
		w->table->n_recursive++;
	w->kinds = kinds;
}

int watch_add(struct zkfsd *srv, struct watch_table *t, struct conn *conn, const char *path,
	      int kind)
{
	uint64_t hash = watch_hash(path);
	struct watch *w = watch_find(t, path, hash, conn), **bucket;

	size_t len = strlen(path);

	if (w != NULL) {
		watch_set_kinds(w, w->kinds | kind);
		return 0;
	}
	if (conn->n_watches >= (size_t)srv->cfg->max_watches ||
	    (int64_t)(conn->watch_bytes + len) > srv->cfg->max_watch_bytes) {
		server_refuse(srv, ZKFSD_REFUSED_WATCHES,
			      "%s:%d: watch refused: the connection holds %zu watches of %zu path "
			      "bytes (zkfsd.maxWatchesPerSession=%d, maxWatchBytesPerSession=%" PRId64
			      ")", conn->ip, conn->port, conn->n_watches, conn->watch_bytes,
			      srv->cfg->max_watches, srv->cfg->max_watch_bytes);
		return -EDQUOT;
	}
	w = calloc(1, sizeof(*w));
	if (w == NULL || (w->path = strdup(path)) == NULL) {
		free(w);
		return -ENOMEM;
	}
	w->hash = hash;
	w->conn = conn;
	w->table = t;
	watch_set_kinds(w, kind);
	bucket = watch_bucket(t, hash);
	w->hnext = *bucket;
	*bucket = w;
	w->cnext = conn->watches;
	if (conn->watches != NULL)
		conn->watches->cprev = w;
	conn->watches = w;
	conn->n_watches++;
	conn->watch_bytes += len;
	if (++t->count > 2 * t->n_buckets)
		watch_table_grow(t);
	return 0;
}

static void watch_unlink(struct watch *w)
{
	struct watch_table *t = w->table;
	struct watch **pp = watch_bucket(t, w->hash);

	while (*pp != w)
		pp = &(*pp)->hnext;
	*pp = w->hnext;
	if (w->cprev != NULL)
		w->cprev->cnext = w->cnext;
	else
		w->conn->watches = w->cnext;
	if (w->cnext != NULL)
		w->cnext->cprev = w->cprev;
	w->conn->n_watches--;
	w->conn->watch_bytes -= strlen(w->path);
	watch_set_kinds(w, 0);
	t->count--;
	free(w->path);
	free(w);
}

/* Deliver once per connection per store event (ZooKeeper's supress set): a connection
 * notified during event @gen is marked with it. */
static void watch_deliver(uint64_t gen, struct conn *conn, int type, const char *path,
			  int64_t zxid)
{
	if (conn->notified_gen == gen)
		return;
	conn->notified_gen = gen;
	conn_send_event(conn, type, path, zxid);
}

/* Fire the watches of @t registered exactly on the first @len bytes of @path (whose hash is
 * @hash) whose kinds intersect @mask. */
static void watch_trigger_prefix(struct watch_table *t, const char *path, size_t len,
				 uint64_t hash, int mask, int type, const char *event_path,
				 int64_t zxid, uint64_t gen)
{
	struct watch *w = *watch_bucket(t, hash), *next;

	for (; w != NULL; w = next) {
		next = w->hnext;
		if (w->hash != hash || !(w->kinds & mask) || strncmp(w->path, path, len) != 0 ||
		    w->path[len] != '\0')
			continue;
		watch_deliver(gen, w->conn, type, event_path, zxid);
		if (w->kinds & WATCH_STANDARD & mask) {
			watch_set_kinds(w, w->kinds & ~WATCH_STANDARD);
			if (w->kinds == 0)
				watch_unlink(w);
		}
	}
}

/* Fire the watches of @t registered exactly on @path whose kinds intersect @mask. */
static void watch_trigger_path(struct watch_table *t, const char *path, int mask, int type,
			       const char *event_path, int64_t zxid, uint64_t gen)
{
	watch_trigger_prefix(t, path, strlen(path), watch_hash(path), mask, type, event_path,
			     zxid, gen);
}

/* Fire @t for an event on @path: every watch on the path, then RECURSIVE ones above it. The
 * ancestors' hashes come from one pass over @path (the hash is streamed: the state before
 * each '/' is the hash of that ancestor), so a deep path costs its length, not its length
 * times its depth (setData took 0.44 s at depth 16,000). */
static void watch_trigger(struct watch_table *t, int type, const char *path, int64_t zxid,
			  uint64_t gen)
{
	size_t len = strlen(path), done = 1, slash;
	struct zk_hash h;

	watch_trigger_path(t, path, WATCH_STANDARD | WATCH_PERSISTENT | WATCH_RECURSIVE, type,
			   path, zxid, gen);
	if (t->n_recursive == 0 || len <= 1)
		return;
	zk_hash_init(&h, zk_hash_process_key());
	zk_hash_update(&h, path, 1);
	watch_trigger_prefix(t, path, 1, zk_hash_final(&h), WATCH_RECURSIVE, type, path, zxid,
			     gen); /* "/" */
	for (slash = 1; slash < len; slash++) {
		if (path[slash] != '/')
			continue;
		zk_hash_update(&h, path + done, slash - done);
		done = slash;
		watch_trigger_prefix(t, path, slash, zk_hash_final(&h), WATCH_RECURSIVE, type,
				     path, zxid, gen);
	}
}

void watch_on_event(void *ctx, int type, const char *path, int64_t zxid)
{
	struct zkfsd *srv = ctx;
	uint64_t gen = ++srv->trigger_gen;

	switch (type) {
	case ZK_EVENT_NODE_CREATED:
	case ZK_EVENT_NODE_DATA_CHANGED:
		watch_trigger(&srv->data_watches, type, path, zxid, gen);
		break;
	case ZK_EVENT_NODE_DELETED:
		watch_trigger(&srv->data_watches, type, path, zxid, gen);
		watch_trigger_path(&srv->child_watches, path, WATCH_STANDARD | WATCH_PERSISTENT,
				   type, path, zxid, gen);
		break;
	case ZK_EVENT_NODE_CHILDREN_CHANGED:
		watch_trigger_path(&srv->child_watches, path, WATCH_STANDARD | WATCH_PERSISTENT,
				   type, path, zxid, gen);
		break;
	default:
		zk_log_warn("store reported unknown event type %d on %s", type, path);
	}
}

/* Remove the kinds in @mask from @conn's watch on @path in @t. */
static bool watch_remove_from(struct watch_table *t, struct conn *conn, const char *path,
			      int mask, bool dry_run)
{
	struct watch *w = watch_find(t, path, watch_hash(path), conn);

	if (w == NULL || !(w->kinds & mask))
		return false;
	if (dry_run)
		return true;
	watch_set_kinds(w, w->kinds & ~mask);
	if (w->kinds == 0)
		watch_unlink(w);
	return true;
}

/* WatcherType 4 (Persistent) and 5 (PersistentRecursive) of ZooKeeper 3.6+. */
#define WATCHER_PERSISTENT 4
#define WATCHER_PERSISTENT_RECURSIVE 5

bool watch_remove(struct zkfsd *srv, struct conn *conn, const char *path, int type,
		  bool dry_run)
{
	const int all = WATCH_STANDARD | WATCH_PERSISTENT | WATCH_RECURSIVE;
	bool found = false;

	switch (type) {
	case ZK_WATCHER_CHILDREN:
		return watch_remove_from(&srv->child_watches, conn, path, all, dry_run);
	case ZK_WATCHER_DATA:
		return watch_remove_from(&srv->data_watches, conn, path, all, dry_run);
	case ZK_WATCHER_ANY:
		found = watch_remove_from(&srv->child_watches, conn, path, all, dry_run);
		return watch_remove_from(&srv->data_watches, conn, path, all, dry_run) || found;
	case WATCHER_PERSISTENT:
		found = watch_remove_from(&srv->child_watches, conn, path, WATCH_PERSISTENT,
					  dry_run);
		return watch_remove_from(&srv->data_watches, conn, path, WATCH_PERSISTENT,
					 dry_run) ||
		       found;
	case WATCHER_PERSISTENT_RECURSIVE:
		found = watch_remove_from(&srv->child_watches, conn, path, WATCH_RECURSIVE,
					  dry_run);
		return watch_remove_from(&srv->data_watches, conn, path, WATCH_RECURSIVE,
					 dry_run) ||
		       found;
	default:
		return false;
	}
}

void watch_drop_conn(struct zkfsd *srv, struct conn *conn)
{
	(void)srv;
	while (conn->watches != NULL)
		watch_unlink(conn->watches);
}

size_t watch_count_conn(const struct conn *conn)
{
	return conn->n_watches;
}

int watch_error(int rv)
{
	return rv == -EDQUOT ? ZK_ERR_QUOTAEXCEEDED : ZK_ERR_SYSTEMERROR;
}

/* setWatches for one path list. @kind: 'd' data, 'e' exist, 'c' child, 'p' persistent,
 * 'r' recursive. */
static int watch_set_one(struct zkfsd *srv, struct conn *conn, const char *path, char kind_char,
			 int64_t rel)
{
	struct zk_stat st;
	int rc = store_exists(srv->store, path, &st);
	int64_t last = store_last_zxid(srv->store);

	switch (kind_char) {
	case 'd':
		if (rc != ZK_ERR_OK)
			conn_send_event(conn, ZK_EVENT_NODE_DELETED, path, last);
		else if (st.mzxid > rel)
			conn_send_event(conn, ZK_EVENT_NODE_DATA_CHANGED, path, last);
		else
			return watch_add(srv, &srv->data_watches, conn, path, WATCH_STANDARD);
		return 0;
	case 'e':
		if (rc == ZK_ERR_OK)
			conn_send_event(conn, ZK_EVENT_NODE_CREATED, path, last);
		else
			return watch_add(srv, &srv->data_watches, conn, path, WATCH_STANDARD);
		return 0;
	case 'c':
		if (rc != ZK_ERR_OK)
			conn_send_event(conn, ZK_EVENT_NODE_DELETED, path, last);
		else if (st.pzxid > rel)
			conn_send_event(conn, ZK_EVENT_NODE_CHILDREN_CHANGED, path, last);
		else
			return watch_add(srv, &srv->child_watches, conn, path, WATCH_STANDARD);
		return 0;
	default: {
		int kind = kind_char == 'p' ? WATCH_PERSISTENT : WATCH_RECURSIVE;

		rc = watch_add(srv, &srv->data_watches, conn, path, kind);
		return rc != 0 ? rc : watch_add(srv, &srv->child_watches, conn, path, kind);
	}
	}
}

static int watch_set_list(struct zkfsd *srv, struct conn *conn, const struct jute_str_vec *v,
			  char kind, int64_t rel)
{
	for (int32_t i = 0; i < v->count; i++) {
		char *path = jute_str_dup(&v->items[i]);
		int rv;

		if (path == NULL)
			return -ENOMEM;
		rv = watch_set_one(srv, conn, path, kind, rel);
		zk_free(path);
		if (rv != 0)
			return rv;
	}
	return 0;
}

int watch_set(struct zkfsd *srv, struct conn *conn, const struct jute_set_watches2 *sw)
{
	int rv;

	rv = watch_set_list(srv, conn, &sw->data_watches, 'd', sw->relative_zxid);
	if (rv == 0)
		rv = watch_set_list(srv, conn, &sw->exist_watches, 'e', sw->relative_zxid);
	if (rv == 0)
		rv = watch_set_list(srv, conn, &sw->child_watches, 'c', sw->relative_zxid);
	if (rv == 0)
		rv = watch_set_list(srv, conn, &sw->persistent_watches, 'p', sw->relative_zxid);
	if (rv == 0)
		rv = watch_set_list(srv, conn, &sw->persistent_recursive_watches, 'r',
				    sw->relative_zxid);
	return rv;
}

/* ---- wchs, wchc, wchp ----------------------------------------------------------------------
 * As ZooKeeper 3.8's DataTree reports them: over the data table only (getData/exists watches
 * and the persistent ones; getChildren watches are not listed), and in the iteration order of
 * the Java HashMap/HashSet ZooKeeper keeps them in, so that the listings match line for line
 * (exact for a table that never held more entries than it does now; ties in one bucket are in
 * table order). */

/* Java's String.hashCode: valid paths hold BMP characters only, one UTF-16 unit per UTF-8
 * sequence. */
static uint32_t watch_java_hash(const char *path)
{
	const uint8_t *p = (const uint8_t *)path;
	uint32_t h = 0;

	while (*p != '\0') {
		uint32_t c = *p++;

		if (c >= 0xE0 && p[0] != '\0' && p[1] != '\0') {
			c = (c & 0x0F) << 12 | (uint32_t)(p[0] & 0x3F) << 6 | (p[1] & 0x3F);
			p += 2;
		} else if (c >= 0xC0 && p[0] != '\0') {
			c = (c & 0x1F) << 6 | (p[0] & 0x3F);
			p++;
		}
		h = 31 * h + c;
	}
	return h;
}

struct watch_sorted {
	const struct watch *w; /* Borrowed. */
	uint32_t bucket;       /* Its bucket in the Java table. */
	size_t seq;	       /* Position before sorting (ties). */
};

static int watch_sorted_cmp(const void *a, const void *b)
{
	const struct watch_sorted *x = a, *y = b;

	if (x->bucket != y->bucket)
		return x->bucket < y->bucket ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Sort @v (@n paths) into the order a java.util.HashMap of @n keys iterates them: capacity 16,
 * doubled past a 0.75 load; bucket (h ^ h >>> 16) & (capacity - 1). */
static void watch_java_sort(struct watch_sorted *v, size_t n)
{
	uint32_t cap = 16;

	while (n > cap / 4 * 3)
		cap *= 2;
	for (size_t i = 0; i < n; i++) {
		uint32_t h = watch_java_hash(v[i].w->path);

		v[i].bucket = (h ^ (h >> 16)) & (cap - 1);
		v[i].seq = i;
	}
	qsort(v, n, sizeof(*v), watch_sorted_cmp);
}

/* Is @w the first watch on its path in its bucket chain (so each path counts once)? */
static bool watch_first_on_path(const struct watch_table *t, const struct watch *w)
{
	for (const struct watch *o = t->buckets[w->hash & (t->n_buckets - 1)]; o != w;
	     o = o->hnext)
		if (o->hash == w->hash && strcmp(o->path, w->path) == 0)
			return false;
	return true;
}

/* The distinct paths of @t, one watch for each, in Java order. Returns the count; *@out is
 * malloc'ed (NULL when empty or out of memory). */
static size_t watch_paths(const struct watch_table *t, struct watch_sorted **out)
{
	struct watch_sorted *v = t->count ? calloc(t->count, sizeof(*v)) : NULL;
	size_t n = 0;

	*out = v;
	if (v == NULL)
		return 0;
	for (size_t i = 0; i < t->n_buckets; i++)
		for (const struct watch *w = t->buckets[i]; w != NULL; w = w->hnext)
			if (watch_first_on_path(t, w))
				v[n++].w = w;
	watch_java_sort(v, n);
	return n;
}

/* wchs: "N connections watching M paths\nTotal watches:K\n" (WatchManager.toString). Counts
 * only: no listing, no sort. */
static void watch_summary(struct zkfsd *srv, struct zk_buf *out)
{
	const struct watch_table *t = &srv->data_watches;
	size_t conns = 0, paths = 0;

	for (size_t i = 0; i < t->n_buckets; i++)
		for (const struct watch *w = t->buckets[i]; w != NULL; w = w->hnext)
			paths += watch_first_on_path(t, w);
	for (struct conn *c = srv->conns; c != NULL; c = c->next) {
		const struct watch *w = c->watches;

		while (w != NULL && w->table != &srv->data_watches)
			w = w->cnext;
		conns += w != NULL;
	}
	zk_buf_printf(out, "%zu connections watching %zu paths\nTotal watches:%zu\n", conns,
		      paths, srv->data_watches.count);
}

/* wchc: each session, then its watched paths (WatchesReport). */
static void watch_by_session(struct zkfsd *srv, struct zk_buf *out)
{
	for (struct conn *c = srv->conns; c != NULL; c = c->next) {
		struct watch_sorted *v;
		size_t n = 0;

		if (c->session == NULL)
			continue;
		for (const struct watch *w = c->watches; w != NULL; w = w->cnext)
			n += w->table == &srv->data_watches;
		v = n ? calloc(n, sizeof(*v)) : NULL;
		if (v == NULL)
			continue;
		n = 0;
		for (const struct watch *w = c->watches; w != NULL; w = w->cnext)
			if (w->table == &srv->data_watches)
				v[n++].w = w;
		watch_java_sort(v, n);
		zk_buf_printf(out, "0x%llx\n", (unsigned long long)c->session->id);
		for (size_t i = 0; i < n; i++)
			zk_buf_printf(out, "\t%s\n", v[i].w->path);
		free(v);
	}
	zk_buf_printf(out, "\n");
}

/* wchp: each watched path, then the sessions watching it (WatchesPathReport). */
static void watch_by_path(struct zkfsd *srv, struct zk_buf *out)
{
	const struct watch_table *t = &srv->data_watches;
	struct watch_sorted *v;
	size_t n = watch_paths(t, &v);

	for (size_t i = 0; i < n; i++) {
		zk_buf_printf(out, "%s\n", v[i].w->path);
		for (const struct watch *w = v[i].w; w != NULL; w = w->hnext)
			if (w->hash == v[i].w->hash && strcmp(w->path, v[i].w->path) == 0 &&
			    w->conn->session != NULL)
				zk_buf_printf(out, "\t0x%llx\n",
					      (unsigned long long)w->conn->session->id);
	}
	free(v);
	zk_buf_printf(out, "\n");
}

void watch_describe(struct zkfsd *srv, struct zk_buf *out, char mode)
{
	if (mode == 's')
		watch_summary(srv, out);
	else if (mode == 'c')
		watch_by_session(srv, out);
	else
		watch_by_path(srv, out);
}
