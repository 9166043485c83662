/* fs: names and directories of the mount -- lookup, getattr, mkdir, unlink/rmdir, the refused
 * operations (rename, links, device nodes), readdir -- and the operations table (see fs.h;
 * file handles are in fs_file.c). */
#include "fuse/fs_int.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/zk_log.h"
#include "fuse/events.h"
#include "fuse/lock.h"
#include "fuse/lock_ops.h"
#include "fuse/names.h"
#include "fuse/outcome.h"

struct zkfs *zkfs;

static void on_interrupt(fuse_req_t req, void *data)
{
	struct call *c = data;

	(void)req;
	zkconn_cancel(zkfs->zk, &c->cancel);
}

void fs_call_begin(fuse_req_t req, struct call *c)
{
	c->cancel.cancelled = false;
	fuse_req_interrupt_func(req, on_interrupt, c);
}

bool fs_cache_valid(const struct node *n)
{
	return n->have_stat && n->cache_gen == zkconn_generation(zkfs->zk) &&
	       zkconn_connected(zkfs->zk);
}

bool fs_children_valid(const struct node *n)
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
int fs_node_path(fuse_ino_t id, char *out, size_t size, mode_t *kind, bool *data_file)
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
int fs_fetch_node(const char *path, bool data_file, struct zkconn_cancel *cancel,
		      struct node **out)
{
	uint64_t gen = zkconn_generation(zkfs->zk), seq;
	struct String_vector kids = {0, NULL};
	struct Stat st;
	struct node *n;
	char *data = NULL;
	mode_t kind;
	int len = 0, rc;

	rc = zkconn_get(zkfs->zk, cancel, path, true, &data, &len, &st);
	if (rc)
		return rc;
	seq = zkconn_answer_seq(); /* The older of the two answers. */
	kind = data_file ? S_IFREG : inode_kind_of(&st);
	if (kind == S_IFDIR && !data_file) {
		rc = lock_children(zkfs->zk, cancel, path, true, &kids, &st);
		if (rc)
			goto out;
		kind = inode_kind_of(&st); /* A file whose only children are lock contenders. */
		fs_filter_children(path, &kids);
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
	events_settle(n, &st, kind == S_IFDIR && !data_file, seq);
	*out = n;
out:
	free(data);
	deallocate_String_vector(&kids);
	return rc;
}

void fs_filter_children(const char *dir, struct String_vector *kids)
{
	int32_t i, k = 0;

	for (i = 0; i < kids->count; i++) {
		if (names_listable(kids->data[i])) {
			kids->data[k++] = kids->data[i];
			continue;
		}
		zk_log_debug("%s: child '%.40s...' not shown (over 255 bytes, or \"%s\")", dir,
			     kids->data[i], NAMES_DATA_FILE);
		free(kids->data[i]);
	}
	kids->count = k;
}

/* Make sure @id's Stat is cached and watched. On success returns 0 with inode_lock held. */
int fs_ensure_node(fuse_ino_t id, struct zkconn_cancel *cancel, struct node **out,
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
	rc = fs_node_path(id, path, sizeof(path), NULL, &data_file);
	if (rc)
		return rc;
	rc = fs_fetch_node(path, data_file, cancel, &n);
	if (rc == -ENOENT) {
		inode_lock();
		fs_server_gone(path);
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

bool fs_read_only(fuse_req_t req)
{
	if (!zkfs->opt.read_only)
		return false;
	fuse_reply_err(req, EROFS);
	return true;
}

/* Build the child path of @parent; answers the request on failure. */
int fs_child_path(fuse_req_t req, fuse_ino_t parent, const char *name, char *out, size_t size)
{
	char dir[NAMES_PATH_MAX + 1];
	int rc = fs_node_path(parent, dir, sizeof(dir), NULL, NULL);

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
void fs_reply_found(fuse_req_t req, const char *path)
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
	if (!data_file && p && fs_children_valid(p) && !inode_child_has(p, name)) {
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
	if (lock_child_name(name)) { /* Lock contenders are hidden (lock.h). */
		fuse_reply_err(req, ENOENT);
		return;
	}
	if (data_file) {
		rc = fs_node_path(parent, path, sizeof(path), NULL, NULL);
		if (rc) {
			fuse_reply_err(req, -rc);
			return;
		}
	} else if (fs_child_path(req, parent, name, path, sizeof(path))) {
		return;
	}
	if (lookup_cached(req, parent, path, name, data_file))
		return;
	fs_call_begin(req, &call);
	rc = fs_fetch_node(path, data_file, &call.cancel, &n);
	if (rc) {
		zk_log_debug("lookup %s: %s", path, strerror(-rc));
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

void fs_reply_attr_locked(fuse_req_t req, struct node *n)
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

	fs_call_begin(req, &call);
	rc = fs_ensure_node(ino, &call.cancel, &n, NULL);
	if (rc == -ENOENT && !fi)
		rc = -ESTALE; /* Deleted elsewhere: the VFS looks the name up again and retries (an
			       * open(O_CREAT) then creates it, a stat says ENOENT). */
	if (rc) {
		fuse_reply_err(req, -rc);
		return;
	}
	fs_reply_attr_locked(req, n);
}

/* ---- creating and removing nodes ---- */

int fs_zk_mode(const struct names_parsed *np)
{
	if (np->ephemeral)
		return np->sequential ? ZOO_EPHEMERAL_SEQUENTIAL : ZOO_EPHEMERAL;
	return np->sequential ? ZOO_PERSISTENT_SEQUENTIAL : ZOO_PERSISTENT;
}

/* Count a local change in flight under the directory @dir_path (the events thread waits for
 * it before diffing, so our own creates and deletes are not reported twice). */
void fs_inflight(const char *path, int delta)
{
	struct node *d;

	inode_lock();
	d = inode_find_parent(path);
	if (d)
		d->inflight += delta;
	inode_unlock();
}

/* After a local create or delete of @path's name: keep the parent's cached child list true. */
void fs_parent_child_update(const char *path, bool add)
{
	struct node *d = inode_find_parent(path);

	if (!d)
		return;
	if (add)
		inode_child_add(d, names_basename(path));
	else
		inode_child_remove(d, names_basename(path));
}

void fs_server_gone(const char *path)
{
	struct node *n = inode_find(path, false), *dn = inode_find(path, true), *d;

	if (n) {
		inode_drop_cache(n, false);
		n->children_fresh = false;
	}
	if (dn)
		inode_drop_cache(dn, false);
	d = inode_find_parent(path);
	if (!d)
		return;
	if (inode_child_has(d, names_basename(path)))
		d->children_fresh = false;
	if (n || dn) /* The kernel may hold a dentry for it. */
		events_inval_entry(d->id, names_basename(path));
}

void fs_server_has_children(const char *path)
{
	struct node *n = inode_find(path, false), *d;

	if (!n)
		return;
	n->have_stat = false;
	n->children_fresh = false;
	/* A file that got children is a directory now: the kernel must look it up again. */
	if (n->kind != S_IFDIR && (d = inode_find_parent(path)))
		events_inval_entry(d->id, names_basename(path));
}

void fs_server_gone_parent(const char *path)
{
	char dir[NAMES_PATH_MAX + 1];

	if (names_dirname(path, dir, sizeof(dir)) == 0)
		fs_server_gone(dir);
}

void fs_parent_children_stale(const char *path)
{
	struct node *d = inode_find_parent(path);

	if (d)
		d->children_fresh = false;
}

int fs_resolve_wait_ms(void)
{
	return zkfs->opt.op_timeout_ms + zkfs->opt.session_timeout_ms;
}

/* What one create of fs_zk_create sends. */
struct create_args {
	const char *path, *data;
	int len, mode;
	bool file;
	struct zkconn_cancel *cancel;
	char **real;
};

/* One create of fs_zk_create (an outcome_send_fn): an empty file's in one multi with its
 * setData, so it is at version 1. */
static int create_once(void *ctx, struct Stat *st)
{
	struct create_args *a = ctx;
	struct zkconn_op ops[2] = {
		{ZKCONN_OP_CREATE, a->path, "", 0, a->mode},
		{ZKCONN_OP_SET, a->path, "", 0, 0},
	};
	int rc;

	if (!a->file || a->len > 0 || outcome_sequential(a->mode))
		return zkconn_create_node(zkfs->zk, a->cancel, a->path, a->data, a->len, a->mode,
					  a->real, st);
	rc = zkconn_multi(zkfs->zk, a->cancel, ops, 2, st, NULL);
	if (rc == 0 && !(*a->real = strdup(a->path)))
		rc = -ENOMEM;
	return rc;
}

int fs_zk_create(const char *path, const char *data, int len, int mode, bool file,
		 bool exclusive, struct zkconn_cancel *cancel, char **real, struct Stat *st)
{
	struct create_args a = {path, data, len, mode, file, cancel, real};
	struct outcome_write w = {.path = path, .data = data, .len = len < 0 ? 0 : len,
				  .create = true, .exclusive = exclusive, .mode = mode};
	int rc;

	*real = NULL;
	rc = outcome_send(zkfs->zk, cancel, fs_resolve_wait_ms(), FS_SEND_ATTEMPTS, &w,
			  create_once, &a, st);
	if (rc == 0 && !*real && !(*real = strdup(path))) /* Made, found by reading it back. */
		rc = -ENOMEM;
	return rc;
}

/* Create @path on the server now. On success returns 0 with inode_lock held and *out the new
 * LIVE node (kind @kind, cached with @st). @plain: the dentry name is the node's name. */
int fs_create_now(const char *path, int mode, mode_t kind, bool plain, struct call *call,
		      struct node **out)
{
	struct String_vector none = {0, NULL};
	uint64_t gen = zkconn_generation(zkfs->zk), seq;
	bool file = kind == S_IFREG;
	char *real = NULL;
	struct Stat st;
	struct node *n;
	int rc;

	fs_inflight(path, 1);
	rc = fs_zk_create(path, file ? "" : NULL, file ? 0 : -1, mode, file, true, &call->cancel,
			  &real, &st);
	seq = zkconn_answer_seq();
	inode_lock();
	if (rc == 0) {
		n = inode_new(real, kind, false, NODE_LIVE, true);
		if (!n || inode_set_stat(n, &st, NULL, 0, gen) != 0)
			rc = -ENOMEM;
		else if (plain)
			fs_parent_child_update(real, true);
		/* Without the recursive watch, its list is trusted once zkconn_arm set its watch
		 * (check_armed); with it, a child made since is an event after @seq. */
		if (kind == S_IFDIR && n && inode_set_children(n, &none, gen) == 0)
			n->children_fresh = zkconn_recursive(zkfs->zk);
		if (n)
			events_settle(n, &st, kind == S_IFDIR, seq);
		*out = n;
	} else if (rc == -ENOENT) {
		fs_server_gone_parent(path);
	} else if (rc == -EEXIST) {
		/* The server has a child our cached list lacks (its event is still on the way):
		 * stop answering ENOENT from that list, so `mkdir -p`'s stat finds the node. */
		fs_parent_children_stale(path);
	}
	inode_unlock();
	fs_inflight(path, -1);
	if (rc == 0) {
		events_watch_new(real, kind == S_IFDIR);
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
		if (fs_child_path(req, parent, name, path, sizeof(path)) == 0)
			fs_reply_found(req, path);
		return;
	}
	if (fs_read_only(req))
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
	if (fs_child_path(req, parent, np.base, path, sizeof(path)))
		return;
	fs_call_begin(req, &call);
	rc = fs_create_now(path, fs_zk_mode(&np), S_IFDIR, !np.sequential, &call, &n);
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

/* True for /zookeeper and below, the server's own nodes (quota, config), when the mount has no
 * chroot: ZooKeeper refuses to delete them, and `rm -rf` must say so. */
static bool is_system_path(const char *path)
{
	return !strchr(zkfs->opt.hosts, '/') &&
	       (strcmp(path, "/zookeeper") == 0 || strncmp(path, "/zookeeper/", 11) == 0);
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
	if (fs_read_only(req))
		return;
	if (strcmp(name, NAMES_DATA_FILE) == 0) {
		zk_log_info("rm .data: a directory's own data cannot be removed, only emptied");
		fuse_reply_err(req, EPERM);
		return;
	}
	if (fs_child_path(req, parent, name, path, sizeof(path)))
		return;
	if (is_system_path(path)) {
		zk_log_info("rm %s refused: the server's own subtree", path);
		fuse_reply_err(req, EPERM);
		return;
	}
	fs_call_begin(req, &call);
	fs_inflight(path, 1);
	rc = zkconn_delete(zkfs->zk, &call.cancel, path, -1);
	inode_lock();
	if (rc == 0) {
		fs_parent_child_update(path, false);
		n = inode_find(path, false);
		if (n)
			inode_mark_stale(n);
		n = inode_find(path, true);
		if (n)
			inode_mark_stale(n);
	} else if (rc == -ENOENT) {
		fs_server_gone(path); /* Deleted elsewhere; its event reports it here. */
	} else if (rc == -ENOTEMPTY && lock_busy(zkfs->zk, path)) {
		rc = -EBUSY; /* Locked: its children are lock contenders (lock.h). */
	} else if (rc == -ENOTEMPTY) {
		fs_server_has_children(path);
	}
	inode_unlock();
	fs_inflight(path, -1);
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
		if (fs_child_path(req, parent, name, path, sizeof(path)) == 0)
			fs_reply_found(req, path);
		return;
	}
	zk_log_info("mknod %s refused: device nodes, fifos and sockets cannot be znodes", name);
	fuse_reply_err(req, EPERM);
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
	cached = n && fs_cache_valid(n) && fs_children_valid(n);
	inode_unlock();
	if (!cached) {
		fs_call_begin(req, &call);
		rc = fs_node_path(ino, path, sizeof(path), NULL, NULL) ?:
			fs_fetch_node(path, false, &call.cancel, &n);
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

static void fs_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct statvfs st = {.f_bsize = 4096, .f_frsize = 4096, .f_namemax = 255};

	fuse_reply_statfs(req, &st);
}

static void fs_init(void *userdata, struct fuse_conn_info *conn)
{
	inode_set_all_dirs(zkfs->opt.all_dirs);
	/* open(O_TRUNC) arrives as one OPEN, so `echo x > f` is one setData, not two. */
	if (conn->capable & FUSE_CAP_ATOMIC_O_TRUNC)
		conn->want |= FUSE_CAP_ATOMIC_O_TRUNC;
	conn->want &= ~(unsigned)FUSE_CAP_WRITEBACK_CACHE;
	lock_ops_init(conn);
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
	.flock = lock_ops_flock,
	.getlk = lock_ops_getlk,
	.setlk = lock_ops_setlk,
};

const struct fuse_lowlevel_ops *fs_ops(void)
{
	return &ops;
}
