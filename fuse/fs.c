/* fs: FUSE low-level operations mapped onto ZooKeeper (see fs.h, and the pending-write states
 * below).
 *
 * A file handle (struct handle) holds the whole value being written, because ZooKeeper has no
 * partial writes:
 *   CLEAN --write--> DIRTY --flush/close--> CLEAN     (one create or one setData per flush)
 * A PENDING node (plain new file, ".seq") is created at its handle's first flush after a
 * write (or at release when nothing was written), or when user.zkfs.path is read on it, with
 * the whole data: a watcher never sees it empty. An
 * exclusive create (".eph", O_EXCL) is made at open so the loser sees EEXIST from open().
 * A CAS handle (opened O_RDWR, or after user.zkfs.expect_version was set) performs each write
 * as setData(value, expected version) at once, so ESTALE reaches the writer's write(). */
#include "fuse/fs.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "common/zk_log.h"
#include "fuse/events.h"
#include "fuse/names.h"

struct zkfs *zkfs;

struct handle {
	pthread_mutex_t mu; /* Serialises write/flush/commit of this handle. */
	struct node *node;  /* Holds one of node->opens. */
	int refs;	    /* Open file + getxattr users (under inode_lock). */
	bool append;	    /* O_APPEND: every write goes at the end of the value. */
	int failed;	    /* A write failed (-errno): the next flush reports it, writes nothing. */
	bool writable;
	bool pending;	    /* The node is PENDING: commit creates it. */
	int create_mode;    /* ZOO_* mode of that create. */
	bool plain_name;    /* The dentry name is the node's name (no suffix). */
	bool dirty;	    /* buf differs from the server's value. */
	bool cas;	    /* Writes are setData against @expect, at once. */
	int32_t expect;
	bool rebase;	    /* O_RDWR read to the end: offsets count from the first write. */
	bool wrote;
	off_t base;
	char *buf;	    /* The value (write) or the snapshot read at open. */
	size_t len;
	size_t cap;
	int64_t seen_mzxid; /* What the opener saw, for poll. */
	int32_t seen_cversion;
};

/* One request's cancel flag, set by FUSE INTERRUPT (Ctrl-C in the caller). */
struct call {
	struct zkconn_cancel cancel;
};

static void on_interrupt(fuse_req_t req, void *data)
{
	struct call *c = data;

	(void)req;
	zkconn_cancel(zkfs->zk, &c->cancel);
}

static void call_begin(fuse_req_t req, struct call *c)
{
	c->cancel.cancelled = false;
	fuse_req_interrupt_func(req, on_interrupt, c);
}

bool fs_cache_valid(const struct node *n)
{
	return n->have_stat && n->cache_gen == zkconn_generation(zkfs->zk) &&
	       zkconn_connected(zkfs->zk);
}

static bool children_valid(const struct node *n)
{
	return n->have_children && n->children_fresh && n->cache_gen == zkconn_generation(zkfs->zk) &&
	       zkconn_connected(zkfs->zk);
}

void fs_fill_attr(const struct node *n, struct stat *st)
{
	mode_t perm = zkfs->opt.file_mode & 07777;

	memset(st, 0, sizeof(*st));
	if (n->kind == S_IFDIR)
		perm |= (perm & 0444) >> 2; /* r -> x for directories. */
	if (zkfs->opt.read_only)
		perm &= (mode_t)~0222;
	st->st_ino = inode_number(n->path, n->stat.czxid, n->data_file);
	st->st_mode = n->kind | perm;
	st->st_nlink = n->kind == S_IFDIR ? 2 : 1;
	st->st_uid = zkfs->opt.uid;
	st->st_gid = zkfs->opt.gid;
	st->st_size = n->stat.dataLength;
	st->st_blksize = 4096;
	st->st_blocks = (st->st_size + 511) / 512;
	st->st_mtim.tv_sec = n->stat.mtime / 1000;
	st->st_mtim.tv_nsec = (n->stat.mtime % 1000) * 1000000;
	st->st_ctim = st->st_mtim;
	st->st_atim = st->st_mtim;
}

static double node_timeout(const struct node *n)
{
	return fs_cache_valid(n) ? zkfs->opt.cache_timeout : 0.0;
}

void fs_fill_entry(struct node *n, struct fuse_entry_param *e)
{
	memset(e, 0, sizeof(*e));
	e->ino = n->id;
	fs_fill_attr(n, &e->attr);
	e->attr_timeout = node_timeout(n);
	e->entry_timeout = e->attr_timeout;
	inode_ref(n);
}

/* Copy a node's path under the lock. Returns 0, -ENOENT (no such node) or -ENOMEM. */
static int node_path(fuse_ino_t id, char *out, size_t size, mode_t *kind, bool *data_file)
{
	struct node *n;
	int rc = 0;

	inode_lock();
	n = inode_get(id);
	if (!n)
		rc = -ENOENT;
	else if (strlen(n->path) >= size)
		rc = -ENAMETOOLONG;
	else {
		strcpy(out, n->path);
		if (kind)
			*kind = n->kind;
		if (data_file)
			*data_file = n->data_file;
	}
	inode_unlock();
	return rc;
}

/* Fetch @path's Stat and value with a data watch (and its child list with a child watch when
 * it is a directory) and make the node for it: the existing one when its kind still fits, a
 * new one otherwise. On success returns 0 with inode_lock held and *out set. */
static int fetch_node(const char *path, bool data_file, struct zkconn_cancel *cancel,
		      struct node **out)
{
	uint64_t gen = zkconn_generation(zkfs->zk);
	struct String_vector kids = {0, NULL};
	struct Stat st;
	struct node *n;
	char *data = NULL;
	mode_t kind;
	int len = 0, rc;

	rc = zkconn_get(zkfs->zk, cancel, path, true, &data, &len, &st);
	if (rc)
		return rc;
	kind = data_file ? S_IFREG : inode_kind_of(&st);
	if (kind == S_IFDIR && !data_file) {
		rc = zkconn_children(zkfs->zk, cancel, path, true, &kids, &st);
		if (rc)
			goto out;
	}
	inode_lock();
	n = inode_find(path, data_file);
	if (n && n->state == NODE_LIVE && n->kind != kind)
		n = NULL; /* The znode changed kind: a new kernel inode (open handles keep theirs). */
	if (!n || n->state == NODE_STALE)
		n = inode_new(path, kind, data_file, NODE_LIVE, true);
	if (!n || inode_set_stat(n, &st, data, len, gen) != 0 ||
	    (kind == S_IFDIR && !data_file && inode_set_children(n, &kids, gen) != 0)) {
		inode_unlock();
		rc = -ENOMEM;
		goto out;
	}
	if (kind == S_IFDIR && !data_file)
		events_prefetch(path, kids.data, kids.count);
	*out = n;
out:
	free(data);
	deallocate_String_vector(&kids);
	return rc;
}

/* Make sure @id's Stat is cached and watched. On success returns 0 with inode_lock held. */
static int ensure_node(fuse_ino_t id, struct zkconn_cancel *cancel, struct node **out,
		       bool *fetched)
{
	char path[NAMES_PATH_MAX + 1];
	struct node *n;
	bool data_file;
	int rc;

	inode_lock();
	n = inode_get(id);
	if (fetched)
		*fetched = false;
	if (n && (fs_cache_valid(n) || n->state == NODE_PENDING)) {
		*out = n;
		return 0;
	}
	if (!n || n->state == NODE_STALE) {
		inode_unlock();
		return -ENOENT;
	}
	inode_unlock();
	rc = node_path(id, path, sizeof(path), NULL, &data_file);
	if (rc)
		return rc;
	rc = fetch_node(path, data_file, cancel, &n);
	if (rc == -ENOENT) {
		inode_lock();
		n = inode_get(id);
		if (n)
			inode_mark_stale(n);
		inode_unlock();
		return rc;
	}
	if (rc)
		return rc;
	if (n->id != id) { /* The znode was replaced by one of another kind. */
		inode_unlock();
		return -ESTALE;
	}
	if (fetched)
		*fetched = true;
	*out = n;
	return 0;
}

static bool read_only(fuse_req_t req)
{
	if (!zkfs->opt.read_only)
		return false;
	fuse_reply_err(req, EROFS);
	return true;
}

/* Build the child path of @parent; answers the request on failure. */
static int child_path(fuse_req_t req, fuse_ino_t parent, const char *name, char *out, size_t size)
{
	char dir[NAMES_PATH_MAX + 1];
	int rc = node_path(parent, dir, sizeof(dir), NULL, NULL);

	if (rc == 0)
		rc = names_join(dir, name, out, size);
	if (rc) {
		zk_log_info("%s: %s", name, strerror(-rc));
		fuse_reply_err(req, -rc);
	}
	return rc;
}

/* ---- lookup, getattr, forget ---- */

/* Reply @n's entry and release inode_lock (held on entry). */
static void reply_node_entry_locked(fuse_req_t req, struct node *n)
{
	struct fuse_entry_param e;

	fs_fill_entry(n, &e);
	inode_unlock();
	fuse_reply_entry(req, &e);
}

static void reply_node_entry(fuse_req_t req, fuse_ino_t id)
{
	struct node *n;

	inode_lock();
	n = inode_get(id);
	if (!n) {
		inode_unlock();
		fuse_reply_err(req, ENOENT);
		return;
	}
	reply_node_entry_locked(req, n);
}

/* MKDIR/MKNOD from the events thread: the node at @path exists already; reply its entry. */
static void reply_found(fuse_req_t req, const char *path)
{
	struct node *n;

	inode_lock();
	n = inode_find(path, false);
	if (!n) {
		inode_unlock();
		fuse_reply_err(req, ENOENT);
		return;
	}
	reply_node_entry_locked(req, n);
}

/* LOOKUP from the events thread: ENOENT for a name it is about to create, the ghost node for
 * one it is about to delete. Returns true when answered. */
static bool events_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	fuse_ino_t ghost = 0;

	switch (events_intent(parent, name, &ghost)) {
	case EVENTS_CREATE:
		fuse_reply_err(req, ENOENT);
		return true;
	case EVENTS_DELETE:
		reply_node_entry(req, ghost);
		return true;
	default:
		return false;
	}
}

/* Answer from the cache when possible. Returns true when answered. */
static bool lookup_cached(fuse_req_t req, fuse_ino_t parent, const char *path, const char *name,
			  bool data_file)
{
	struct fuse_entry_param e;
	struct node *p, *n;

	inode_lock();
	n = inode_find(path, data_file);
	if (n && (n->state == NODE_PENDING ||
		  (fs_cache_valid(n) && (data_file || inode_kind_of(&n->stat) == n->kind)))) {
		fs_fill_entry(n, &e);
		inode_unlock();
		fuse_reply_entry(req, &e);
		return true;
	}
	p = inode_get(parent);
	if (!data_file && p && children_valid(p) && !inode_child_has(p, name)) {
		inode_unlock();
		fuse_reply_err(req, ENOENT);
		return true;
	}
	inode_unlock();
	return false;
}

static void fs_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	char path[NAMES_PATH_MAX + 1];
	struct fuse_entry_param e;
	bool data_file = strcmp(name, NAMES_DATA_FILE) == 0;
	struct node *n;
	struct call call;
	int rc;

	if (events_is_caller(req) && events_lookup(req, parent, name))
		return;
	if (data_file) {
		rc = node_path(parent, path, sizeof(path), NULL, NULL);
		if (rc) {
			fuse_reply_err(req, -rc);
			return;
		}
	} else if (child_path(req, parent, name, path, sizeof(path))) {
		return;
	}
	if (lookup_cached(req, parent, path, name, data_file))
		return;
	call_begin(req, &call);
	rc = fetch_node(path, data_file, &call.cancel, &n);
	if (rc) {
		fuse_reply_err(req, -rc);
		return;
	}
	fs_fill_entry(n, &e);
	inode_unlock();
	fuse_reply_entry(req, &e);
}

static void fs_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	struct node *n;

	inode_lock();
	n = inode_get(ino);
	if (n)
		inode_forget(n, nlookup);
	inode_unlock();
	fuse_reply_none(req);
}

static void fs_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *forgets)
{
	struct node *n;
	size_t i;

	inode_lock();
	for (i = 0; i < count; i++) {
		n = inode_get(forgets[i].ino);
		if (n)
			inode_forget(n, forgets[i].nlookup);
	}
	inode_unlock();
	fuse_reply_none(req);
}

static void reply_attr_locked(fuse_req_t req, struct node *n)
{
	struct stat st;
	double timeout = node_timeout(n);

	fs_fill_attr(n, &st);
	if (n->pending) {
		const struct handle *h = n->pending;

		st.st_size = (off_t)h->len;
	}
	inode_unlock();
	fuse_reply_attr(req, &st, timeout);
}

static void fs_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct node *n;
	struct call call;
	int rc;

	call_begin(req, &call);
	rc = ensure_node(ino, &call.cancel, &n, NULL);
	if (rc) {
		fuse_reply_err(req, -rc);
		return;
	}
	reply_attr_locked(req, n);
}

/* ---- creating and removing nodes ---- */

static int zk_mode(const struct names_parsed *np)
{
	if (np->ephemeral)
		return np->sequential ? ZOO_EPHEMERAL_SEQUENTIAL : ZOO_EPHEMERAL;
	return np->sequential ? ZOO_PERSISTENT_SEQUENTIAL : ZOO_PERSISTENT;
}

/* Count a local change in flight under the directory @dir_path (the events thread waits for
 * it before diffing, so our own creates and deletes are not reported twice). */
static void inflight(const char *path, int delta)
{
	char dir[NAMES_PATH_MAX + 1];
	struct node *d;

	if (names_dirname(path, dir, sizeof(dir)) != 0)
		return;
	inode_lock();
	d = inode_find(dir, false);
	if (d)
		d->inflight += delta;
	inode_unlock();
}

/* After a local create or delete of @path's name: keep the parent's cached child list true. */
static void parent_child_update(const char *path, bool add)
{
	char dir[NAMES_PATH_MAX + 1];
	struct node *d;

	if (names_dirname(path, dir, sizeof(dir)) != 0)
		return;
	d = inode_find(dir, false);
	if (!d)
		return;
	if (add)
		inode_child_add(d, names_basename(path));
	else
		inode_child_remove(d, names_basename(path));
}

/* Create @path on the server now. On success returns 0 with inode_lock held and *out the new
 * LIVE node (kind @kind, cached with @st). @plain: the dentry name is the node's name. */
static int create_now(const char *path, int mode, mode_t kind, bool plain, struct call *call,
		      struct node **out)
{
	uint64_t gen = zkconn_generation(zkfs->zk);
	char *real = NULL;
	struct Stat st;
	struct node *n;
	int rc;

	inflight(path, 1);
	rc = zkconn_create_node(zkfs->zk, &call->cancel, path, NULL, -1, mode, &real, &st);
	inode_lock();
	if (rc == 0) {
		n = inode_new(real, kind, false, NODE_LIVE, true);
		if (!n || inode_set_stat(n, &st, NULL, 0, gen) != 0)
			rc = -ENOMEM;
		else if (plain)
			parent_child_update(real, true);
		if (kind == S_IFDIR && n) {
			struct String_vector none = {0, NULL};

			inode_set_children(n, &none, gen);
		}
		*out = n;
	}
	inode_unlock();
	inflight(path, -1);
	if (rc == 0) {
		zkconn_arm(zkfs->zk, real, kind == S_IFDIR);
		inode_lock();
	} else {
		zk_log_info("create %s: %s", path, strerror(-rc));
	}
	free(real);
	return rc;
}

static void fs_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	char path[NAMES_PATH_MAX + 1];
	struct names_parsed np;
	struct fuse_entry_param e;
	struct node *n;
	struct call call;
	int rc;

	if (events_is_caller(req)) {
		if (child_path(req, parent, name, path, sizeof(path)) == 0)
			reply_found(req, path);
		return;
	}
	if (read_only(req))
		return;
	rc = names_parse(name, &np);
	if (rc == 0 && np.ephemeral) {
		zk_log_info("mkdir %s: an ephemeral node cannot have children", name);
		rc = -EINVAL;
	}
	if (rc) {
		fuse_reply_err(req, -rc);
		return;
	}
	if (child_path(req, parent, np.base, path, sizeof(path)))
		return;
	call_begin(req, &call);
	rc = create_now(path, zk_mode(&np), S_IFDIR, !np.sequential, &call, &n);
	if (rc) {
		fuse_reply_err(req, -rc);
		return;
	}
	fs_fill_entry(n, &e);
	if (np.sequential || strcmp(np.base, name) != 0)
		e.entry_timeout = 0; /* The dentry's name is not the node's. */
	inode_unlock();
	fuse_reply_entry(req, &e);
}

static void remove_node(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	char path[NAMES_PATH_MAX + 1];
	struct node *n;
	struct call call;
	int rc;

	if (events_is_caller(req)) {
		fuse_reply_err(req, 0);
		return;
	}
	if (read_only(req))
		return;
	if (strcmp(name, NAMES_DATA_FILE) == 0) {
		zk_log_info("rm .data: a directory's own data cannot be removed, only emptied");
		fuse_reply_err(req, EPERM);
		return;
	}
	if (child_path(req, parent, name, path, sizeof(path)))
		return;
	call_begin(req, &call);
	inflight(path, 1);
	rc = zkconn_delete(zkfs->zk, &call.cancel, path, -1);
	inode_lock();
	if (rc == 0 || rc == -ENOENT) {
		parent_child_update(path, false);
		n = inode_find(path, false);
		if (n)
			inode_mark_stale(n);
		n = inode_find(path, true);
		if (n)
			inode_mark_stale(n);
	}
	inode_unlock();
	inflight(path, -1);
	fuse_reply_err(req, -rc);
}

static void fs_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	remove_node(req, parent, name);
}

static void fs_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	remove_node(req, parent, name);
}

static void fs_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
		      const char *newname, unsigned int flags)
{
	zk_log_info("rename %s -> %s refused: ZooKeeper has no rename", name, newname);
	fuse_reply_err(req, EOPNOTSUPP);
}

static void fs_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char *newname)
{
	zk_log_info("link %s refused: znodes have no hard links", newname);
	fuse_reply_err(req, EPERM);
}

static void fs_symlink(fuse_req_t req, const char *link, fuse_ino_t parent, const char *name)
{
	zk_log_info("symlink %s refused: znodes have no symbolic links", name);
	fuse_reply_err(req, EPERM);
}

static void fs_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, dev_t rdev)
{
	char path[NAMES_PATH_MAX + 1];

	if (events_is_caller(req)) {
		if (child_path(req, parent, name, path, sizeof(path)) == 0)
			reply_found(req, path);
		return;
	}
	zk_log_info("mknod %s refused: device nodes, fifos and sockets cannot be znodes", name);
	fuse_reply_err(req, EPERM);
}

/* ---- file handles ---- */

static struct handle *handle_new(struct node *n)
{
	struct handle *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	pthread_mutex_init(&h->mu, NULL);
	h->node = n;
	h->refs = 1;
	n->opens++;
	return h;
}

/* Drop one reference. Must hold inode_lock. */
static void handle_put(struct handle *h)
{
	if (--h->refs > 0)
		return;
	if (h->node->pending == h)
		h->node->pending = NULL;
	inode_close(h->node);
	pthread_mutex_destroy(&h->mu);
	free(h->buf);
	free(h);
}

static int handle_reserve(struct handle *h, size_t len)
{
	char *grown;
	size_t cap = h->cap ? h->cap : 256;

	if (len <= h->cap)
		return 0;
	while (cap < len)
		cap *= 2;
	grown = realloc(h->buf, cap);
	if (!grown)
		return -ENOMEM;
	h->buf = grown;
	h->cap = cap;
	return 0;
}

/* Copy the node's cached value into the handle. Must hold inode_lock. */
static int handle_snapshot(struct handle *h, const struct node *n)
{
	int rc = handle_reserve(h, (size_t)n->data_len);

	if (rc)
		return rc;
	if (n->data_len > 0)
		memcpy(h->buf, n->data, (size_t)n->data_len);
	h->len = (size_t)n->data_len;
	h->seen_mzxid = n->stat.mzxid;
	h->seen_cversion = n->stat.cversion;
	return 0;
}

/* The value is on the server now: cache it and drop the kernel's pages. */
static void committed(struct handle *h, const char *real, const struct Stat *st, uint64_t gen)
{
	struct node *n = h->node;
	bool created = h->pending;

	inode_lock();
	if (created && inode_realize(n, real) == 0 && h->plain_name)
		parent_child_update(real, true);
	h->pending = false;
	if (n->pending == h)
		n->pending = NULL;
	inode_set_stat(n, st, h->buf, (int)h->len, gen);
	n->told_mzxid = st->mzxid; /* The kernel reported our own write already. */
	h->seen_mzxid = st->mzxid;
	h->seen_cversion = st->cversion;
	if (h->cas)
		h->expect = st->version;
	inode_unlock();
	events_inval_inode(n->id);
	if (created)
		zkconn_arm(zkfs->zk, real, false);
}

/* Create the PENDING node with the whole value. Must hold h->mu. */
static int commit_create(struct handle *h, const char *path, struct call *call)
{
	uint64_t gen = zkconn_generation(zkfs->zk);
	char *real = NULL;
	struct Stat st;
	int rc;

	inflight(path, 1);
	rc = zkconn_create_node(zkfs->zk, &call->cancel, path, h->buf, (int)h->len, h->create_mode,
				&real, &st);
	if (rc == -EEXIST && h->create_mode == ZOO_PERSISTENT) {
		/* Created meanwhile by someone else: `echo x > f` overwrites. */
		rc = zkconn_set(zkfs->zk, &call->cancel, path, h->buf, (int)h->len, -1, &st);
		real = rc == 0 ? strdup(path) : NULL;
		if (rc == 0 && !real)
			rc = -ENOMEM;
	}
	if (rc == 0)
		committed(h, real, &st, gen);
	inflight(path, -1);
	free(real);
	return rc;
}

/* Write the handle's value if it changed: one create or one setData. Must hold h->mu. */
static int commit(struct handle *h, struct call *call)
{
	uint64_t gen = zkconn_generation(zkfs->zk);
	char path[NAMES_PATH_MAX + 1];
	struct Stat st;
	int rc;

	if (h->failed) { /* EFBIG or a failed CAS: nothing of this value is written. */
		rc = h->failed;
		h->failed = 0;
		h->dirty = false;
		if (h->pending) {
			h->pending = false;
			inode_lock();
			inode_mark_stale(h->node);
			inode_unlock();
		}
		return rc;
	}
	if (!h->dirty && !h->pending)
		return 0;
	inode_lock();
	snprintf(path, sizeof(path), "%s", h->node->path);
	h->node->inflight++;
	inode_unlock();
	if (h->pending) {
		rc = commit_create(h, path, call);
	} else {
		rc = zkconn_set(zkfs->zk, &call->cancel, path, h->buf, (int)h->len,
				h->cas ? h->expect : -1, &st);
		if (rc == 0)
			committed(h, path, &st, gen);
	}
	inode_lock();
	h->node->inflight--;
	if (rc && h->pending)
		inode_mark_stale(h->node);
	inode_unlock();
	if (rc)
		zk_log_warn("writing %s failed: %s (nothing written)", path, strerror(-rc));
	h->dirty = false;
	return rc;
}

static int open_for_write(struct handle *h, struct node *n, int flags)
{
	if (n->state == NODE_PENDING) {
		zk_log_info("%s: still being created by another open file", n->path);
		return -EBUSY;
	}
	h->writable = true;
	h->append = (flags & O_APPEND) != 0;
	if (flags & O_TRUNC) {
		h->len = 0;
		h->dirty = true;
	} else if ((flags & O_ACCMODE) == O_RDWR) {
		h->cas = true; /* Read-modify-write through one descriptor. */
		h->rebase = true;
		h->expect = n->stat.version;
	}
	if (n->have_expect) {
		/* Checked by the writes (setData with this version), not here: the VFS retries an
		 * open that fails with ESTALE, so an open-time error would be silently redone. */
		n->have_expect = false;
		h->cas = true;
		h->expect = n->expect_version;
	}
	return 0;
}

static void fs_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	bool writing = (fi->flags & O_ACCMODE) != O_RDONLY, fetched;
	struct handle *h;
	struct node *n;
	struct call call;
	int rc;

	if (writing && read_only(req))
		return;
	call_begin(req, &call);
	rc = ensure_node(ino, &call.cancel, &n, &fetched);
	if (rc) {
		fuse_reply_err(req, -rc);
		return;
	}
	h = handle_new(n);
	rc = h ? handle_snapshot(h, n) : -ENOMEM;
	if (rc == 0 && writing)
		rc = open_for_write(h, n, fi->flags);
	if (rc) {
		if (h)
			handle_put(h);
		inode_unlock();
		fuse_reply_err(req, -rc);
		return;
	}
	inode_unlock();
	/* Pages are good only when the value was watched before this open. */
	fi->keep_cache = !writing && !fetched;
	fi->direct_io = writing || fetched;
	fi->fh = (uintptr_t)h;
	if (fuse_reply_open(req, fi) != 0) {
		inode_lock();
		handle_put(h);
		inode_unlock();
	}
}

static int create_pending(const char *path, const struct names_parsed *np, struct node **out,
			  struct handle **hout)
{
	struct node *n = inode_new(path, S_IFREG, false, NODE_PENDING, !np->sequential);
	struct handle *h = n ? handle_new(n) : NULL;

	if (!h) {
		if (n)
			inode_mark_stale(n);
		return -ENOMEM;
	}
	h->writable = true;
	h->pending = true;
	h->dirty = true;
	h->create_mode = zk_mode(np);
	h->plain_name = !np->sequential;
	n->pending = h;
	*out = n;
	*hout = h;
	return 0;
}

static void fs_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
		      struct fuse_file_info *fi)
{
	char path[NAMES_PATH_MAX + 1];
	struct fuse_entry_param e;
	struct names_parsed np;
	struct handle *h = NULL;
	struct node *n;
	struct call call;
	int rc;

	if (read_only(req))
		return;
	rc = names_parse(name, &np);
	if (rc) {
		fuse_reply_err(req, -rc);
		return;
	}
	if (child_path(req, parent, np.base, path, sizeof(path)))
		return;
	call_begin(req, &call);
	if (np.ephemeral || (fi->flags & O_EXCL)) {
		/* Exclusive: made now, so a loser's open() fails with EEXIST. */
		rc = create_now(path, zk_mode(&np), S_IFREG, strcmp(np.base, name) == 0, &call, &n);
		if (rc) {
			fuse_reply_err(req, -rc);
			return;
		}
		h = handle_new(n);
		if (h)
			h->writable = true;
	} else {
		inode_lock();
		if (create_pending(path, &np, &n, &h) != 0)
			h = NULL;
	}
	if (!h) {
		inode_unlock();
		fuse_reply_err(req, ENOMEM);
		return;
	}
	h->append = (fi->flags & O_APPEND) != 0;
	fs_fill_entry(n, &e);
	e.entry_timeout = 0; /* Until created, or when the name carries a suffix. */
	inode_unlock();
	fi->direct_io = 1;
	fi->fh = (uintptr_t)h;
	if (fuse_reply_create(req, &e, fi) != 0) {
		inode_lock();
		handle_put(h);
		inode_unlock();
	}
}

static void fs_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	struct handle *h = (struct handle *)(uintptr_t)fi->fh;

	pthread_mutex_lock(&h->mu);
	if (off < 0 || (size_t)off >= h->len)
		fuse_reply_buf(req, NULL, 0);
	else
		fuse_reply_buf(req, h->buf + off,
			       size < h->len - (size_t)off ? size : h->len - (size_t)off);
	pthread_mutex_unlock(&h->mu);
}

/* Put @size bytes at @off into the value. Must hold h->mu. Returns 0 or -errno. */
static int handle_write(struct handle *h, const char *buf, size_t size, off_t off)
{
	size_t pos, end;
	int rc;

	if (h->rebase && !h->wrote && off > 0 && (size_t)off == h->len) {
		/* A read-write descriptor that was read to the end (a shell's `n=$(cat <&3)`)
		 * and is written there: the write starts the new value. */
		h->base = off;
		h->len = 0;
	} else if (h->rebase && !h->wrote) {
		h->rebase = false; /* Otherwise writes patch the value read at open. */
	}
	h->wrote = true;
	if (h->append)
		pos = h->len;
	else
		pos = (size_t)(off - (h->rebase ? h->base : 0));
	if (off < (h->rebase ? h->base : 0))
		return -EINVAL;
	end = pos + size;
	if (end > (size_t)zkfs->opt.max_data) {
		zk_log_info("%s: value of %zu bytes refused (max_data is %d)", h->node->path, end,
			    zkfs->opt.max_data);
		return -EFBIG;
	}
	rc = handle_reserve(h, end);
	if (rc)
		return rc;
	if (pos > h->len)
		memset(h->buf + h->len, 0, pos - h->len);
	if (size > 0)
		memcpy(h->buf + pos, buf, size);
	if (end > h->len)
		h->len = end;
	h->dirty = true;
	return 0;
}

static void fs_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
		     struct fuse_file_info *fi)
{
	struct handle *h = (struct handle *)(uintptr_t)fi->fh;
	struct call call;
	int rc;

	call_begin(req, &call);
	pthread_mutex_lock(&h->mu);
	rc = h->failed ? h->failed : handle_write(h, buf, size, off);
	if (rc == 0 && h->cas)
		rc = commit(h, &call); /* CAS: the writer must see ESTALE from write(). */
	if (rc && !h->failed && !h->cas)
		h->failed = rc;
	pthread_mutex_unlock(&h->mu);
	if (rc)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_write(req, size);
}

static void fs_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct handle *h = (struct handle *)(uintptr_t)fi->fh;
	struct call call;
	int rc;

	call_begin(req, &call);
	pthread_mutex_lock(&h->mu);
	/* A shell opens, dup2()s and closes the first descriptor before writing: that first
	 * FLUSH must not publish an empty or truncated value. Until a write came, the value is
	 * committed at RELEASE instead. */
	rc = h->wrote || h->failed ? commit(h, &call) : 0;
	pthread_mutex_unlock(&h->mu);
	fuse_reply_err(req, -rc);
}

/* An empty node shows as a directory: after `touch f` the kernel's file inode must go. */
static void drop_if_kind_changed(struct node *n)
{
	char dir[NAMES_PATH_MAX + 1];
	struct node *p;

	if (n->state != NODE_LIVE || !n->have_stat || n->data_file ||
	    inode_kind_of(&n->stat) == n->kind)
		return;
	if (names_dirname(n->path, dir, sizeof(dir)) == 0 && (p = inode_find(dir, false)))
		events_inval_entry(p->id, names_basename(n->path));
	inode_mark_stale(n);
}

static void fs_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct handle *h = (struct handle *)(uintptr_t)fi->fh;
	struct call call = {{false}};

	pthread_mutex_lock(&h->mu);
	if (h->dirty || h->pending)
		commit(h, &call);
	pthread_mutex_unlock(&h->mu);
	inode_lock();
	drop_if_kind_changed(h->node);
	handle_put(h);
	inode_unlock();
	fuse_reply_err(req, 0);
}

static void fs_poll(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi,
		    struct fuse_pollhandle *ph)
{
	struct handle *h = (struct handle *)(uintptr_t)fi->fh;
	struct node *n;
	bool changed;

	inode_lock();
	n = h->node;
	changed = n->state == NODE_STALE || !n->have_stat || n->stat.mzxid != h->seen_mzxid ||
		  n->stat.cversion != h->seen_cversion;
	if (ph && !changed)
		inode_add_poll(n, ph);
	else if (ph)
		fuse_pollhandle_destroy(ph);
	inode_unlock();
	fuse_reply_poll(req, changed ? POLLIN | POLLRDNORM | POLLPRI : 0);
}

/* ---- directories ---- */

struct dirlist {
	char **names; /* ".", "..", [".data"], children. */
	int count;
};

static void dirlist_free(struct dirlist *d)
{
	int i;

	for (i = 0; i < d->count; i++)
		free(d->names[i]);
	free(d->names);
	free(d);
}

static struct dirlist *dirlist_of(const struct node *n)
{
	struct dirlist *d = calloc(1, sizeof(*d));
	int i, k = 0;

	if (!d)
		return NULL;
	d->names = calloc((size_t)n->nchildren + 3, sizeof(char *));
	if (!d->names) {
		free(d);
		return NULL;
	}
	d->names[k++] = strdup(".");
	d->names[k++] = strdup("..");
	if (n->stat.dataLength > 0)
		d->names[k++] = strdup(NAMES_DATA_FILE);
	for (i = 0; i < n->nchildren; i++)
		d->names[k++] = strdup(n->children[i]);
	d->count = k;
	for (i = 0; i < k; i++) {
		if (!d->names[i]) {
			dirlist_free(d);
			return NULL;
		}
	}
	return d;
}

static void fs_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	char path[NAMES_PATH_MAX + 1];
	struct dirlist *d;
	struct node *n;
	struct call call;
	bool cached;
	int rc;

	inode_lock();
	n = inode_get(ino);
	cached = n && fs_cache_valid(n) && children_valid(n);
	inode_unlock();
	if (!cached) {
		call_begin(req, &call);
		rc = node_path(ino, path, sizeof(path), NULL, NULL) ?:
			fetch_node(path, false, &call.cancel, &n);
		if (rc) {
			fuse_reply_err(req, -rc);
			return;
		}
	} else {
		inode_lock();
		n = inode_get(ino);
	}
	d = n ? dirlist_of(n) : NULL;
	inode_unlock();
	if (!d) {
		fuse_reply_err(req, n ? ENOMEM : ENOENT);
		return;
	}
	fi->fh = (uintptr_t)d;
	fi->cache_readdir = 1;
	fi->keep_cache = cached;
	if (fuse_reply_open(req, fi) != 0)
		dirlist_free(d);
}

static void fs_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	struct dirlist *d = (struct dirlist *)(uintptr_t)fi->fh;
	struct stat st = {.st_ino = 1}; /* Never 0: readdir(3) skips entries with d_ino 0. */
	char *buf = malloc(size);
	size_t used = 0, need;
	off_t i;

	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	for (i = off; i < d->count; i++) {
		st.st_ino = (ino_t)i + 1;
		need = fuse_add_direntry(req, buf + used, size - used, d->names[i], &st, i + 1);
		if (need > size - used)
			break;
		used += need;
	}
	fuse_reply_buf(req, buf, used);
	free(buf);
}

static void fs_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	dirlist_free((struct dirlist *)(uintptr_t)fi->fh);
	fuse_reply_err(req, 0);
}

/* ---- attributes ---- */

/* truncate(2) by path: setData of the value cut or zero-extended to @size. */
static int truncate_value(fuse_ino_t ino, off_t size, struct call *call)
{
	char path[NAMES_PATH_MAX + 1];
	struct Stat st;
	char *data = NULL, *value;
	int len = 0, rc;

	if (size > zkfs->opt.max_data)
		return -EFBIG;
	rc = node_path(ino, path, sizeof(path), NULL, NULL) ?:
		zkconn_get(zkfs->zk, &call->cancel, path, false, &data, &len, &st);
	if (rc)
		return rc;
	value = calloc(1, (size_t)size + 1);
	if (!value) {
		free(data);
		return -ENOMEM;
	}
	if (data)
		memcpy(value, data, (size_t)(len < size ? len : size));
	free(data);
	rc = zkconn_set(zkfs->zk, &call->cancel, path, value, (int)size, st.version, NULL);
	free(value);
	return rc;
}

static void fs_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
		       struct fuse_file_info *fi)
{
	struct node *n;
	struct call call;
	int rc = 0;

	if (events_is_caller(req)) { /* Our own truncate/utimensat for an inotify event. */
		inode_lock();
		n = inode_get(ino);
		if (n)
			reply_attr_locked(req, n);
		else {
			inode_unlock();
			fuse_reply_err(req, ENOENT);
		}
		return;
	}
	if (to_set & (FUSE_SET_ATTR_MODE | FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID)) {
		zk_log_info("chmod/chown refused: the mount's owner and modes are mount options");
		fuse_reply_err(req, EPERM);
		return;
	}
	call_begin(req, &call);
	if (to_set & FUSE_SET_ATTR_SIZE) {
		if (read_only(req))
			return;
		if (fi && fi->fh) {
			struct handle *h = (struct handle *)(uintptr_t)fi->fh;

			pthread_mutex_lock(&h->mu);
			rc = handle_write(h, "", 0, attr->st_size);
			if (rc == 0)
				h->len = (size_t)attr->st_size;
			pthread_mutex_unlock(&h->mu);
		} else {
			rc = truncate_value(ino, attr->st_size, &call);
		}
	}
	if (rc == 0)
		rc = ensure_node(ino, &call.cancel, &n, NULL);
	if (rc) {
		fuse_reply_err(req, -rc);
		return;
	}
	reply_attr_locked(req, n);
}

/* ---- extended attributes: the Stat, the real path, the CAS version ---- */

#define XATTR_PREFIX "user.zkfs."

static const char *const xattr_names[] = {
	"path",	 "version", "cversion", "aversion",	   "czxid",	   "mzxid",
	"pzxid", "ctime",   "mtime",	"ephemeral_owner", "num_children", "data_length",
};

static int xattr_value(const struct node *n, const char *name, char *out, size_t size)
{
	const struct Stat *s = &n->stat;

	if (strcmp(name, "path") == 0)
		return snprintf(out, size, "%s", n->path);
	if (strcmp(name, "version") == 0)
		return snprintf(out, size, "%d", s->version);
	if (strcmp(name, "cversion") == 0)
		return snprintf(out, size, "%d", s->cversion);
	if (strcmp(name, "aversion") == 0)
		return snprintf(out, size, "%d", s->aversion);
	if (strcmp(name, "czxid") == 0)
		return snprintf(out, size, "%lld", (long long)s->czxid);
	if (strcmp(name, "mzxid") == 0)
		return snprintf(out, size, "%lld", (long long)s->mzxid);
	if (strcmp(name, "pzxid") == 0)
		return snprintf(out, size, "%lld", (long long)s->pzxid);
	if (strcmp(name, "ctime") == 0)
		return snprintf(out, size, "%lld", (long long)s->ctime);
	if (strcmp(name, "mtime") == 0)
		return snprintf(out, size, "%lld", (long long)s->mtime);
	if (strcmp(name, "ephemeral_owner") == 0)
		return snprintf(out, size, "0x%llx", (unsigned long long)s->ephemeralOwner);
	if (strcmp(name, "num_children") == 0)
		return snprintf(out, size, "%d", s->numChildren);
	if (strcmp(name, "data_length") == 0)
		return snprintf(out, size, "%d", s->dataLength);
	return -ENODATA;
}

/* Reading user.zkfs.path of a node still PENDING creates it now, with what was written so far:
 * that is how a script learns the real name of its ".seq" file before closing it. */
static int realize_pending(fuse_ino_t ino, struct call *call)
{
	struct handle *h;
	struct node *n;
	int rc = 0;

	inode_lock();
	n = inode_get(ino);
	h = n && n->state == NODE_PENDING ? n->pending : NULL;
	if (h)
		h->refs++;
	inode_unlock();
	if (!h)
		return 0;
	pthread_mutex_lock(&h->mu);
	if (h->pending)
		rc = commit(h, call);
	pthread_mutex_unlock(&h->mu);
	inode_lock();
	handle_put(h);
	inode_unlock();
	return rc;
}

static void reply_xattr_value(fuse_req_t req, const char *value, size_t len, size_t size)
{
	if (size == 0)
		fuse_reply_xattr(req, len);
	else if (size < len)
		fuse_reply_err(req, ERANGE);
	else
		fuse_reply_buf(req, value, len);
}

static void fs_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
	char value[NAMES_PATH_MAX + 64];
	struct node *n;
	struct call call;
	int rc, len;

	if (strncmp(name, XATTR_PREFIX, strlen(XATTR_PREFIX)) != 0) {
		fuse_reply_err(req, ENODATA);
		return;
	}
	name += strlen(XATTR_PREFIX);
	call_begin(req, &call);
	rc = strcmp(name, "path") == 0 ? realize_pending(ino, &call) : 0;
	if (rc == 0)
		rc = ensure_node(ino, &call.cancel, &n, NULL);
	if (rc) {
		fuse_reply_err(req, -rc);
		return;
	}
	len = xattr_value(n, name, value, sizeof(value));
	inode_unlock();
	if (len < 0)
		fuse_reply_err(req, -len);
	else
		reply_xattr_value(req, value, (size_t)len, size);
}

static void fs_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	char list[512];
	size_t used = 0, i;

	for (i = 0; i < sizeof(xattr_names) / sizeof(xattr_names[0]); i++)
		used += (size_t)snprintf(list + used, sizeof(list) - used, XATTR_PREFIX "%s",
					 xattr_names[i]) + 1;
	reply_xattr_value(req, list, used, size);
}

static int parse_version(const char *value, size_t size, int32_t *out)
{
	char text[16];
	char *end;
	long v;

	if (size == 0 || size >= sizeof(text))
		return -EINVAL;
	memcpy(text, value, size);
	text[size] = '\0';
	errno = 0;
	v = strtol(text, &end, 10);
	if (errno || end == text || (*end && *end != '\n') || v < -1 || v > INT32_MAX)
		return -EINVAL;
	*out = (int32_t)v;
	return 0;
}

static void fs_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value,
			size_t size, int flags)
{
	struct node *n;
	int32_t version;

	if (strcmp(name, XATTR_PREFIX "expect_version") != 0) {
		zk_log_info("setxattr %s refused: only " XATTR_PREFIX "expect_version can be set",
			    name);
		fuse_reply_err(req, EOPNOTSUPP);
		return;
	}
	if (parse_version(value, size, &version) != 0) {
		zk_log_info("setxattr %s: not a version number", name);
		fuse_reply_err(req, EINVAL);
		return;
	}
	inode_lock();
	n = inode_get(ino);
	if (n) {
		n->have_expect = true;
		n->expect_version = version;
	}
	inode_unlock();
	fuse_reply_err(req, n ? 0 : ENOENT);
}

static void fs_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct statvfs st = {.f_bsize = 4096, .f_frsize = 4096, .f_namemax = 255};

	fuse_reply_statfs(req, &st);
}

static void fs_init(void *userdata, struct fuse_conn_info *conn)
{
	/* open(O_TRUNC) arrives as one OPEN, so `echo x > f` is one setData, not two. */
	if (conn->capable & FUSE_CAP_ATOMIC_O_TRUNC)
		conn->want |= FUSE_CAP_ATOMIC_O_TRUNC;
	conn->want &= ~(unsigned)FUSE_CAP_WRITEBACK_CACHE;
}

static const struct fuse_lowlevel_ops ops = {
	.init = fs_init,
	.lookup = fs_lookup,
	.forget = fs_forget,
	.forget_multi = fs_forget_multi,
	.getattr = fs_getattr,
	.setattr = fs_setattr,
	.mkdir = fs_mkdir,
	.mknod = fs_mknod,
	.unlink = fs_unlink,
	.rmdir = fs_rmdir,
	.rename = fs_rename,
	.link = fs_link,
	.symlink = fs_symlink,
	.create = fs_create,
	.open = fs_open,
	.read = fs_read,
	.write = fs_write,
	.flush = fs_flush,
	.release = fs_release,
	.opendir = fs_opendir,
	.readdir = fs_readdir,
	.releasedir = fs_releasedir,
	.getxattr = fs_getxattr,
	.listxattr = fs_listxattr,
	.setxattr = fs_setxattr,
	.statfs = fs_statfs,
	.poll = fs_poll,
};

const struct fuse_lowlevel_ops *fs_ops(void)
{
	return &ops;
}
