/* watches.c: the watches the server holds for this session, kept by the client so that after a
 * reconnect one setWatches2 (zookeeper.jute SetWatches2, opcode 105, xid -8) with the last zxid
 * seen re-sets them all and the server replays what changed meanwhile (the Java client's
 * ZKWatchManager + primeConnection). One-shot watches leave the table when their event arrives,
 * by ZooKeeper's rules (Watcher.Event: created/changed consume data and exist watches, deleted
 * consumes all three, children-changed the child watch); persistent ones stay until removed.
 * Paths are kept as the user gave them (relative to the chroot). */
#include <search.h>
#include <string.h>

#include "client/client_int.h"
#include "common/zk_alloc.h"

/* Frames are cut before this many path bytes, as the Java client does (128 KiB). */
#define WATCH_FRAME_BYTES (128 * 1024)

static int watch_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

int zkclient_watch_add(struct zkclient *c, int kind, const char *path)
{
	char *copy, **found;

	if (tfind(path, &c->watches[kind], watch_cmp) != NULL)
		return 0;
	copy = zk_strdup(path);
	if (copy == NULL)
		return -ENOMEM;
	found = tsearch(copy, &c->watches[kind], watch_cmp);
	if (found == NULL) {
		zk_free(copy);
		return -ENOMEM;
	}
	return 0;
}

/* Forget the watch of @kind on @path; returns whether there was one. */
static bool watch_drop(struct zkclient *c, int kind, const char *path)
{
	char **found = tfind(path, &c->watches[kind], watch_cmp);
	char *key;

	if (found == NULL)
		return false;
	key = *found;
	tdelete(path, &c->watches[kind], watch_cmp);
	zk_free(key);
	return true;
}

static void watch_removed_event(struct zkclient *c, int type, const char *path)
{
	if (c->watch_cb != NULL)
		c->watch_cb(c->watch_ctx, type, ZK_STATE_SYNC_CONNECTED, path);
}

void zkclient_watch_remove(struct zkclient *c, int type, const char *path)
{
	bool any = type == ZK_WATCHER_ANY;

	/* The *WatchRemoved events come from the client, as ZooKeeper's ZKWatchManager does. */
	if ((type == ZK_WATCHER_CHILDREN || any) && watch_drop(c, ZKCLIENT_W_CHILD, path))
		watch_removed_event(c, ZK_EVENT_CHILD_WATCH_REMOVED, path);
	if (type == ZK_WATCHER_DATA || any) {
		bool data = watch_drop(c, ZKCLIENT_W_DATA, path);

		if (watch_drop(c, ZKCLIENT_W_EXIST, path) || data)
			watch_removed_event(c, ZK_EVENT_DATA_WATCH_REMOVED, path);
	}
	if (any) {
		bool persistent = watch_drop(c, ZKCLIENT_W_PERSISTENT, path);

		if (watch_drop(c, ZKCLIENT_W_RECURSIVE, path) || persistent)
			watch_removed_event(c, ZK_EVENT_PERSISTENT_WATCH_REMOVED, path);
	}
}

void zkclient_watch_fired(struct zkclient *c, int type, const char *path)
{
	switch (type) {
	case ZK_EVENT_NODE_CREATED:
	case ZK_EVENT_NODE_DATA_CHANGED:
		watch_drop(c, ZKCLIENT_W_DATA, path);
		watch_drop(c, ZKCLIENT_W_EXIST, path);
		return;
	case ZK_EVENT_NODE_DELETED:
		watch_drop(c, ZKCLIENT_W_DATA, path);
		watch_drop(c, ZKCLIENT_W_EXIST, path);
		watch_drop(c, ZKCLIENT_W_CHILD, path);
		return;
	case ZK_EVENT_NODE_CHILDREN_CHANGED:
		watch_drop(c, ZKCLIENT_W_CHILD, path);
		return;
	default:
		return;
	}
}

/* ---- setWatches2 ---------------------------------------------------------------------------- */

/* The frames being built while walking the tables. */
struct watch_resend {
	struct zkclient *c;
	struct jute_str_vec vec[ZKCLIENT_W_KINDS]; /* Server paths of the current frame. */
	int32_t cap[ZKCLIENT_W_KINDS];
	size_t bytes;		/* Path bytes in the current frame. */
	int rc;
	int kind;		/* Table being walked. */
};

static void watch_resend_reset(struct watch_resend *w)
{
	for (int k = 0; k < ZKCLIENT_W_KINDS; k++) {
		for (int32_t i = 0; i < w->vec[k].count; i++)
			zk_free((char *)w->vec[k].items[i].p);
		w->vec[k].count = 0;
	}
	w->bytes = 0;
}

/* Append one setWatches2 frame with what is collected, then start a new one. */
static void watch_resend_flush(struct watch_resend *w)
{
	struct jute_request jr = {.hdr = {.xid = ZK_XID_SET_WATCHES, .type = ZK_OP_SET_WATCHES2}};
	struct jute_set_watches2 *s = &jr.u.set_watches2;
	size_t start;

	if (w->rc != 0 || w->bytes == 0)
		return;
	s->relative_zxid = w->c->last_zxid;
	s->data_watches = w->vec[ZKCLIENT_W_DATA];
	s->exist_watches = w->vec[ZKCLIENT_W_EXIST];
	s->child_watches = w->vec[ZKCLIENT_W_CHILD];
	s->persistent_watches = w->vec[ZKCLIENT_W_PERSISTENT];
	s->persistent_recursive_watches = w->vec[ZKCLIENT_W_RECURSIVE];
	start = jute_frame_begin(&w->c->out);
	if (start == JUTE_FRAME_NOMEM || jute_encode_request(&w->c->out, &jr) != 0) {
		w->rc = -ENOMEM;
		return;
	}
	jute_frame_end(&w->c->out, start);
	watch_resend_reset(w);
}

static int watch_resend_add(struct watch_resend *w, const char *path)
{
	struct jute_str_vec *v = &w->vec[w->kind];
	size_t plen = strlen(path), clen = w->c->chroot_len;
	char *full;

	if (v->count == w->cap[w->kind]) {
		int32_t cap = w->cap[w->kind] > 0 ? w->cap[w->kind] * 2 : 16;
		struct jute_str *items = zk_realloc(v->items, sizeof(*items) * (size_t)cap);

		if (items == NULL)
			return -ENOMEM;
		v->items = items;
		w->cap[w->kind] = cap;
	}
	if (clen > 0 && strcmp(path, "/") == 0)
		plen = 0;
	full = zk_malloc(clen + plen + 1);
	if (full == NULL)
		return -ENOMEM;
	if (clen > 0) /* No chroot: chroot may be NULL, and memcpy's arguments never may. */
		memcpy(full, w->c->chroot, clen);
	memcpy(full + clen, path, plen);
	v->items[v->count++] = (struct jute_str){full, (int32_t)(clen + plen)};
	w->bytes += clen + plen;
	if (w->bytes >= WATCH_FRAME_BYTES)
		watch_resend_flush(w);
	return 0;
}

static void watch_resend_visit(const void *node, VISIT which, void *ctx)
{
	struct watch_resend *w = ctx;

	if ((which != postorder && which != leaf) || w->rc != 0)
		return;
	w->rc = watch_resend_add(w, *(const char *const *)node);
}

int zkclient_watch_resend(struct zkclient *c)
{
	struct watch_resend w = {.c = c};

	for (w.kind = 0; w.kind < ZKCLIENT_W_KINDS && w.rc == 0; w.kind++)
		twalk_r(c->watches[w.kind], watch_resend_visit, &w);
	watch_resend_flush(&w);
	watch_resend_reset(&w);
	for (int k = 0; k < ZKCLIENT_W_KINDS; k++)
		zk_free(w.vec[k].items);
	return w.rc;
}

void zkclient_watch_free_all(struct zkclient *c)
{
	for (int k = 0; k < ZKCLIENT_W_KINDS; k++) {
		tdestroy(c->watches[k], zk_free);
		c->watches[k] = NULL;
	}
}
