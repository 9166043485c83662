/* fs_file: the file-handle operations of the mount -- open, create, read, write, flush,
 * release, poll -- with the whole-value write states (see fs_int.h), and the attribute and
 * extended-attribute operations (truncate, the Stat as xattrs, user.zkfs.path, CAS). */
#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/zk_log.h"
#include "fuse/events.h"
#include "fuse/expect.h"
#include "fuse/fs_int.h"
#include "fuse/lock_ops.h"
#include "fuse/names.h"
#include "fuse/outcome.h"

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
	h->next_open = zkfs->handles;
	if (h->next_open)
		h->next_open->prev_open = h;
	zkfs->handles = h;
	return h;
}

/* Drop one reference. Must hold inode_lock. */
static void handle_put(struct handle *h)
{
	if (--h->refs > 0)
		return;
	if (h->node->pending == h)
		h->node->pending = NULL;
	if (h->prev_open)
		h->prev_open->next_open = h->next_open;
	else
		zkfs->handles = h->next_open;
	if (h->next_open)
		h->next_open->prev_open = h->prev_open;
	inode_close(h->node);
	pthread_mutex_destroy(&h->mu);
	free(h->buf);
	free(h);
}

void fs_close_handles(void)
{
	inode_lock();
	while (zkfs->handles) {
		struct handle *h = zkfs->handles;

		h->refs = 1;
		handle_put(h);
		assert(zkfs->handles != h);
	}
	inode_unlock();
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

/* The value is on the server now (answered at @seq, see events_settle): cache it and drop the
 * kernel's pages. */
static void committed(struct handle *h, const char *real, const struct Stat *st, uint64_t gen,
		      uint64_t seq)
{
	struct node *n = h->node;
	bool created = h->pending;

	inode_lock();
	if (created && inode_realize(n, real) == 0 && h->plain_name)
		fs_parent_child_update(real, true);
	h->pending = false;
	if (n->pending == h)
		n->pending = NULL;
	inode_set_stat(n, st, h->buf, (int)h->len, gen);
	events_settle(n, st, false, seq);
	n->told_mzxid = st->mzxid; /* The kernel reported our own write already. */
	h->seen_mzxid = st->mzxid;
	h->seen_cversion = st->cversion;
	if (h->cas)
		h->expect = st->version;
	inode_unlock();
	events_inval_inode(n->id);
	if (created)
		events_watch_new(real, false);
}

/* What one setData of send_set sends. */
struct set_args {
	struct handle *h;
	const char *path;
	int version;
	struct zkconn_cancel *cancel;
};

static int set_once(void *ctx, struct Stat *st)
{
	struct set_args *a = ctx;

	return zkconn_set(zkfs->zk, a->cancel, a->path, a->h->buf, (int)a->h->len, a->version, st);
}

/* setData of the handle's value at @version (-1: any), its unknown outcome resolved
 * (outcome.h). Must hold h->mu. */
static int send_set(struct handle *h, const char *path, int version, struct call *call,
		    struct Stat *st)
{
	struct set_args a = {h, path, version, &call->cancel};
	struct outcome_write w = {.path = path, .data = h->buf, .len = (int)h->len,
				  .version = version};

	return outcome_send(zkfs->zk, &call->cancel, fs_resolve_wait_ms(), FS_SEND_ATTEMPTS, &w,
			    set_once, &a, st);
}

/* Create the PENDING node with the whole value. Must hold h->mu. */
static int commit_create(struct handle *h, const char *path, struct call *call, char **real,
			 struct Stat *st)
{
	int rc;

	fs_inflight(path, 1);
	rc = fs_zk_create(path, h->buf ? h->buf : "", (int)h->len, h->create_mode, true, false,
			  &call->cancel, real, st);
	if (rc == -EEXIST || rc == -ENOENT) {
		inode_lock();
		if (rc == -EEXIST)
			fs_parent_children_stale(path);
		else
			fs_server_gone_parent(path);
		inode_unlock();
	}
	if (rc == -EEXIST && h->create_mode == ZOO_PERSISTENT) {
		/* Created meanwhile by someone else: `echo x > f` overwrites. */
		rc = send_set(h, path, -1, call, st);
		*real = rc == 0 ? strdup(path) : NULL;
		if (rc == 0 && !*real)
			rc = -ENOMEM;
	}
	fs_inflight(path, -1);
	return rc;
}

/* After a setData of @path (node @n) answered @rc: NoNode or BadVersion means the cache is
 * older than the server; stop trusting it so the next open reads the server's version. Must
 * hold inode_lock. */
static void set_refused(struct node *n, const char *path, int rc)
{
	if (rc == -ENOENT) {
		fs_server_gone(path);
	} else if (rc == -ESTALE && n->state == NODE_LIVE) {
		n->have_stat = false;
		events_inval_inode(n->id); /* The kernel's size too. */
	}
}

/* A failed value (EFBIG, a failed CAS) is written not at all: a PENDING node is dropped, and
 * one this handle created empty at open (O_EXCL, ".eph") is deleted again, so `cp` refused
 * with EFBIG leaves nothing behind. Must hold h->mu. */
static int commit_failed(struct handle *h, struct call *call)
{
	char path[NAMES_PATH_MAX + 1];
	int rc = h->failed;

	h->failed = 0;
	h->dirty = false;
	inode_lock();
	snprintf(path, sizeof(path), "%s", h->node->path);
	if (h->pending) {
		h->pending = false;
		inode_mark_stale(h->node);
	}
	inode_unlock();
	if (h->made_at_open) {
		h->made_at_open = false;
		fs_inflight(path, 1);
		if (zkconn_delete(zkfs->zk, &call->cancel, path, h->made_version) == 0) {
			inode_lock();
			fs_parent_child_update(path, false);
			if (h->node->state == NODE_LIVE)
				inode_mark_stale(h->node);
			inode_unlock();
		}
		fs_inflight(path, -1);
	}
	return rc;
}

/* Write the handle's value if it changed: one create or one setData. Must hold h->mu. */
static int commit(struct handle *h, struct call *call)
{
	uint64_t gen = zkconn_generation(zkfs->zk);
	char path[NAMES_PATH_MAX + 1];
	char *real = NULL;
	struct Stat st;
	int rc;

	if (h->failed)
		return commit_failed(h, call);
	if (!h->dirty && !h->pending)
		return 0;
	inode_lock();
	snprintf(path, sizeof(path), "%s", h->node->path);
	h->node->inflight++;
	inode_unlock();
	if (h->pending)
		rc = commit_create(h, path, call, &real, &st);
	else
		rc = send_set(h, path, h->cas ? h->expect : -1, call, &st);
	if (rc == 0)
		committed(h, real ? real : path, &st, gen, zkconn_answer_seq());
	free(real);
	inode_lock();
	if (!h->pending)
		set_refused(h->node, path, rc);
	h->node->inflight--;
	if (rc && h->pending)
		inode_mark_stale(h->node);
	inode_unlock();
	if (rc)
		zk_log_warn("writing %s failed: %s (%s)", path, strerror(-rc),
			    rc == -EIO ? "outcome unknown" : "nothing written");
	h->dirty = false;
	h->made_at_open = false;
	return rc;
}

/* An outage must reach a writer where a shell sees it -- open() and write(), not close(),
 * whose error bash ignores: both wait up to op_timeout for a connected session, then fail
 * with ETIMEDOUT. */
static int writer_session(struct call *call)
{
	int rc = zkconn_wait_connected(zkfs->zk, &call->cancel, zkfs->opt.op_timeout_ms);

	if (rc == -ETIMEDOUT)
		zk_log_warn("no ZooKeeper session within op_timeout: open/write for writing fails");
	return rc;
}

/* @tid: the opening thread (its user.zkfs.expect_version, if any, makes the handle CAS). */
static int open_for_write(struct handle *h, struct node *n, int flags, pid_t tid)
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
	if (expect_take(&n->expects, tid, &h->expect)) {
		/* Checked by the writes (setData with this version), not here: the VFS retries an
		 * open that fails with ESTALE, so an open-time error would be silently redone. */
		h->cas = true;
		zk_log_debug("%s: writer %d expects version %d", n->path, (int)tid, h->expect);
	} else if (n->expects) {
		zk_log_debug("%s: writer %d has no expectation here", n->path, (int)tid);
	}
	return 0;
}

void fs_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	bool writing = (fi->flags & O_ACCMODE) != O_RDONLY;
	struct handle *h;
	struct node *n;
	struct call call;
	int rc;

	if (writing && fs_read_only(req))
		return;
	fs_call_begin(req, &call);
	rc = writing ? writer_session(&call) : 0;
	if (rc == 0)
		rc = fs_ensure_node(ino, &call.cancel, &n, NULL);
	if (rc == -ENOENT)
		rc = -ESTALE; /* Deleted elsewhere: the VFS looks the name up again and retries, so
			       * `echo x > f` creates it anew (FUSE_OPEN does not carry O_CREAT). */
	if (rc) {
		zk_log_debug("open of node %lu: %s", (unsigned long)ino, strerror(-rc));
		fuse_reply_err(req, -rc);
		return;
	}
	h = handle_new(n);
	rc = h ? handle_snapshot(h, n) : -ENOMEM;
	if (rc == 0 && writing)
		rc = open_for_write(h, n, fi->flags, fuse_req_ctx(req)->pid);
	if (rc) {
		if (h)
			handle_put(h);
		inode_unlock();
		fuse_reply_err(req, -rc);
		return;
	}
	inode_unlock();
	/* Every read reaches zkfs (from its watched cache, no server request): the kernel's
	 * pages and size can be older than the cache, and another descriptor's O_TRUNC open
	 * empties them at once (atomic_o_trunc), which made a concurrent `cat` read nothing. */
	fi->direct_io = 1;
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
	h->create_mode = fs_zk_mode(np);
	h->plain_name = !np->sequential;
	n->pending = h;
	*out = n;
	*hout = h;
	return 0;
}

void fs_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
		      struct fuse_file_info *fi)
{
	char path[NAMES_PATH_MAX + 1];
	struct fuse_entry_param e;
	struct names_parsed np;
	struct handle *h = NULL;
	struct node *n;
	struct call call;
	int rc;

	if (fs_read_only(req))
		return;
	rc = names_parse(name, &np);
	if (rc) {
		fuse_reply_err(req, -rc);
		return;
	}
	if (fs_child_path(req, parent, np.base, path, sizeof(path)))
		return;
	fs_call_begin(req, &call);
	if (np.ephemeral || (fi->flags & O_EXCL)) {
		/* Exclusive: made now, so a loser's open() fails with EEXIST. */
		rc = fs_create_now(path, fs_zk_mode(&np), S_IFREG, strcmp(np.base, name) == 0, &call, &n);
		if (rc) {
			fuse_reply_err(req, -rc);
			return;
		}
		h = handle_new(n);
		if (h) {
			h->writable = true;
			h->made_at_open = true;
			h->made_version = n->stat.version;
		}
	} else {
		rc = writer_session(&call);
		if (rc) {
			fuse_reply_err(req, -rc);
			return;
		}
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

/* A read past the end of what a read-only descriptor holds, after the node changed (`tail -f`
 * waiting for more): take the node's current value. Must hold h->mu. */
static void reread_if_changed(fuse_req_t req, fuse_ino_t ino, struct handle *h)
{
	struct call call;
	struct node *n;
	bool changed;

	inode_lock();
	n = h->node;
	changed = n->state == NODE_LIVE && (!fs_cache_valid(n) || n->stat.mzxid != h->seen_mzxid);
	inode_unlock();
	if (!changed)
		return;
	fs_call_begin(req, &call);
	if (fs_ensure_node(ino, &call.cancel, &n, NULL) != 0)
		return;
	if (n == h->node)
		handle_snapshot(h, n);
	inode_unlock();
}

void fs_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	struct handle *h = (struct handle *)(uintptr_t)fi->fh;

	if (lock_ops_lost(req, fi))
		return;
	pthread_mutex_lock(&h->mu);
	if (off >= 0 && (size_t)off + size > h->len && !h->writable)
		reread_if_changed(req, ino, h);
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

void fs_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
		     struct fuse_file_info *fi)
{
	struct handle *h = (struct handle *)(uintptr_t)fi->fh;
	struct call call;
	int rc;

	if (lock_ops_lost(req, fi))
		return;
	fs_call_begin(req, &call);
	rc = writer_session(&call);
	if (rc) {
		fuse_reply_err(req, -rc);
		return;
	}
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

/* The window that remains (README, "Outages"): every write() was accepted, and sending the
 * value at close failed or stayed unknown -- a shell, which ignores close()'s error, was told
 * it was written. Log it, so it can be found. Must hold h->mu. */
static void window_hit(const struct handle *h, int rc)
{
	if (rc && rc != -EFBIG && rc != -ESTALE && h->wrote)
		zk_log_error("%s: the value was accepted by write() but %s at close: %s",
			     h->node->path, rc == -EIO ? "its outcome is unknown" : "not written",
			     strerror(-rc));
}

void fs_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct handle *h = (struct handle *)(uintptr_t)fi->fh;
	struct call call;
	int rc;

	fs_call_begin(req, &call);
	pthread_mutex_lock(&h->mu);
	/* A shell opens, dup2()s and closes the first descriptor before writing: that first
	 * FLUSH must not publish an empty or truncated value. Until a write came, the value is
	 * committed at RELEASE instead. */
	rc = h->wrote || h->failed ? commit(h, &call) : 0;
	window_hit(h, rc);
	pthread_mutex_unlock(&h->mu);
	lock_ops_flush(req, ino, fi);
	fuse_reply_err(req, -rc);
}

/* An empty node shows as a directory: after `touch f` the kernel's file inode must go. */
static void drop_if_kind_changed(struct node *n)
{
	struct node *p;

	if (n->state != NODE_LIVE || !n->have_stat || n->data_file ||
	    inode_kind_of(&n->stat) == n->kind)
		return;
	p = inode_find_parent(n->path);
	if (p)
		events_inval_entry(p->id, names_basename(n->path));
	inode_mark_stale(n);
}

void fs_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct handle *h = (struct handle *)(uintptr_t)fi->fh;
	struct call call = {{false}};

	lock_ops_release(req, fi);
	pthread_mutex_lock(&h->mu);
	if (h->dirty || h->pending)
		window_hit(h, commit(h, &call));
	pthread_mutex_unlock(&h->mu);
	inode_lock();
	if ((h->node->state == NODE_LIVE) && h->writable)
		events_inval_inode(h->node->id); /* An O_TRUNC open set the kernel's size to 0. */
	drop_if_kind_changed(h->node);
	handle_put(h);
	inode_unlock();
	fuse_reply_err(req, 0);
}

void fs_poll(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi,
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

/* ---- attributes ---- */

/* truncate(2) by path: setData of the value cut or zero-extended to @size; with @size < 0 the
 * value as it is (touch: the mtime moves and watchers hear of it). A file only: rewriting a
 * directory's empty value would make it a file (inode_kind_of). */
static int rewrite_value(fuse_ino_t ino, off_t size, struct call *call)
{
	char path[NAMES_PATH_MAX + 1];
	struct Stat st;
	char *data = NULL, *value;
	mode_t kind;
	int len = 0, rc;

	if (size > zkfs->opt.max_data)
		return -EFBIG;
	rc = fs_node_path(ino, path, sizeof(path), &kind, NULL) ?:
		zkconn_get(zkfs->zk, &call->cancel, path, false, &data, &len, &st);
	if (rc || (size < 0 && kind != S_IFREG))
		goto out;
	if (size < 0)
		size = len;
	value = calloc(1, (size_t)size + 1);
	rc = value ? 0 : -ENOMEM;
	if (value && data)
		memcpy(value, data, (size_t)(len < size ? len : size));
	if (value)
		rc = zkconn_set(zkfs->zk, &call->cancel, path, value, (int)size, st.version, NULL);
	free(value);
	if (rc == -ENOENT || rc == -ESTALE) {
		struct node *n;

		inode_lock();
		n = inode_get(ino);
		if (n)
			set_refused(n, path, rc);
		inode_unlock();
	}
out:
	free(data);
	return rc;
}

/* chmod/chown: owner and modes are mount options, so only a change is refused (EPERM); one
 * that changes nothing succeeds, as `cp -p` and `tar x` ask. */
static int owner_mode_change(fuse_ino_t ino, const struct stat *attr, int to_set)
{
	struct stat now;
	struct node *n;

	inode_lock();
	n = inode_get(ino);
	if (n)
		fs_fill_attr(n, &now);
	inode_unlock();
	if (!n)
		return -ENOENT;
	if (((to_set & FUSE_SET_ATTR_MODE) && (attr->st_mode & 07777) != (now.st_mode & 07777)) ||
	    ((to_set & FUSE_SET_ATTR_UID) && attr->st_uid != now.st_uid) ||
	    ((to_set & FUSE_SET_ATTR_GID) && attr->st_gid != now.st_gid)) {
		zk_log_info("chmod/chown refused: the mount's owner and modes are mount options");
		return -EPERM;
	}
	return 0;
}

#define SET_TIMES (FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME | FUSE_SET_ATTR_ATIME_NOW | \
		   FUSE_SET_ATTR_MTIME_NOW)

void fs_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
		       struct fuse_file_info *fi)
{
	struct node *n;
	struct call call;
	int rc = 0;

	if (events_is_caller(req)) { /* Our own truncate/utimensat for an inotify event. */
		inode_lock();
		n = inode_get(ino);
		if (n)
			fs_reply_attr_locked(req, n);
		else {
			inode_unlock();
			fuse_reply_err(req, ENOENT);
		}
		return;
	}
	if (to_set & (FUSE_SET_ATTR_MODE | FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID))
		rc = owner_mode_change(ino, attr, to_set);
	if (rc) {
		fuse_reply_err(req, -rc);
		return;
	}
	fs_call_begin(req, &call);
	if (to_set & (FUSE_SET_ATTR_SIZE | SET_TIMES)) {
		if (fs_read_only(req))
			return;
		if ((to_set & FUSE_SET_ATTR_SIZE) && fi && fi->fh) {
			struct handle *h = (struct handle *)(uintptr_t)fi->fh;

			pthread_mutex_lock(&h->mu);
			rc = handle_write(h, "", 0, attr->st_size);
			if (rc == 0)
				h->len = (size_t)attr->st_size;
			pthread_mutex_unlock(&h->mu);
		} else if (!(fi && fi->fh)) { /* A touch through an open descriptor: its close writes. */
			rc = rewrite_value(ino, (to_set & FUSE_SET_ATTR_SIZE) ? attr->st_size : -1,
					   &call);
			if (rc == -ESTALE && !(to_set & FUSE_SET_ATTR_SIZE))
				rc = 0; /* Written meanwhile by another: touched all the same. */
		}
	}
	if (rc == 0)
		rc = fs_ensure_node(ino, &call.cancel, &n, NULL);
	if (rc) {
		fuse_reply_err(req, -rc);
		return;
	}
	fs_reply_attr_locked(req, n);
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
int fs_realize_pending(fuse_ino_t ino, struct call *call)
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

void fs_reply_xattr(fuse_req_t req, const char *value, size_t len, size_t size)
{
	if (size == 0)
		fuse_reply_xattr(req, len);
	else if (size < len)
		fuse_reply_err(req, ERANGE);
	else
		fuse_reply_buf(req, value, len);
}

void fs_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
	char value[NAMES_PATH_MAX + 64];
	struct node *n;
	struct call call;
	int rc, len;

	if (lock_ops_getxattr(req, ino, name, size))
		return;
	if (strncmp(name, XATTR_PREFIX, strlen(XATTR_PREFIX)) != 0) {
		fuse_reply_err(req, ENODATA);
		return;
	}
	name += strlen(XATTR_PREFIX);
	fs_call_begin(req, &call);
	rc = strcmp(name, "path") == 0 ? fs_realize_pending(ino, &call) : 0;
	if (rc == 0)
		rc = fs_ensure_node(ino, &call.cancel, &n, NULL);
	if (rc) {
		fuse_reply_err(req, -rc);
		return;
	}
	len = xattr_value(n, name, value, sizeof(value));
	inode_unlock();
	if (len < 0)
		fuse_reply_err(req, -len);
	else
		fs_reply_xattr(req, value, (size_t)len, size);
}

void fs_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	char list[512];
	size_t used = 0, i;

	for (i = 0; i < sizeof(xattr_names) / sizeof(xattr_names[0]); i++)
		used += (size_t)snprintf(list + used, sizeof(list) - used, XATTR_PREFIX "%s",
					 xattr_names[i]) + 1;
	fs_reply_xattr(req, list, used, size);
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

void fs_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value,
			size_t size, int flags)
{
	struct node *n;
	int32_t version;
	int rc;

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
	rc = n ? expect_set(&n->expects, fuse_req_ctx(req)->pid, version) : -ENOENT;
	zk_log_debug("node %lu: caller %d expects version %d: %d", (unsigned long)ino,
		     (int)fuse_req_ctx(req)->pid, version, rc);
	inode_unlock();
	fuse_reply_err(req, -rc);
}
