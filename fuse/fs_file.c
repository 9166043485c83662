/* fs_file: the file-handle operations of the mount -- open, create, read, write, flush,
 * release, poll -- with the whole-value write states (see fs_int.h), and the attribute and
 * extended-attribute operations (truncate, the Stat as xattrs, user.zkfs.path, CAS). */
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
#include "fuse/fs_int.h"
#include "fuse/lock_ops.h"
#include "fuse/names.h"

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
	n->kernel_stale++;	    /* Until events_inval_inode ran (see fs_open). */
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

	fs_inflight(path, 1);
	rc = zkconn_create_node(zkfs->zk, &call->cancel, path, h->buf, (int)h->len, h->create_mode,
				&real, &st);
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
		rc = zkconn_set(zkfs->zk, &call->cancel, path, h->buf, (int)h->len, -1, &st);
		real = rc == 0 ? strdup(path) : NULL;
		if (rc == 0 && !real)
			rc = -ENOMEM;
	}
	if (rc == 0)
		committed(h, real, &st, gen, zkconn_answer_seq());
	fs_inflight(path, -1);
	free(real);
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
		n->kernel_stale++; /* The kernel's size and pages too (see fs_open). */
		events_inval_inode(n->id);
	}
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
			committed(h, path, &st, gen, zkconn_answer_seq());
	}
	inode_lock();
	if (!h->pending)
		set_refused(h->node, path, rc);
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

void fs_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	bool writing = (fi->flags & O_ACCMODE) != O_RDONLY, fetched, stale;
	struct handle *h;
	struct node *n;
	struct call call;
	int rc;

	if (writing && fs_read_only(req))
		return;
	fs_call_begin(req, &call);
	rc = fs_ensure_node(ino, &call.cancel, &n, &fetched);
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
		rc = open_for_write(h, n, fi->flags);
	if (rc) {
		if (h)
			handle_put(h);
		inode_unlock();
		fuse_reply_err(req, -rc);
		return;
	}
	stale = n->kernel_stale > 0;
	inode_unlock();
	/* Pages (and the kernel's size) are good only when the value was watched before this
	 * open and no local write is waiting for its invalidation. */
	fi->keep_cache = !writing && !fetched && !stale;
	fi->direct_io = writing || fetched || stale;
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

void fs_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	struct handle *h = (struct handle *)(uintptr_t)fi->fh;

	if (lock_ops_lost(req, fi))
		return;
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

void fs_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
		     struct fuse_file_info *fi)
{
	struct handle *h = (struct handle *)(uintptr_t)fi->fh;
	struct call call;
	int rc;

	if (lock_ops_lost(req, fi))
		return;
	fs_call_begin(req, &call);
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
		commit(h, &call);
	pthread_mutex_unlock(&h->mu);
	inode_lock();
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

/* truncate(2) by path: setData of the value cut or zero-extended to @size. */
static int truncate_value(fuse_ino_t ino, off_t size, struct call *call)
{
	char path[NAMES_PATH_MAX + 1];
	struct Stat st;
	char *data = NULL, *value;
	int len = 0, rc;

	if (size > zkfs->opt.max_data)
		return -EFBIG;
	rc = fs_node_path(ino, path, sizeof(path), NULL, NULL) ?:
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
	if (rc == -ENOENT || rc == -ESTALE) {
		struct node *n;

		inode_lock();
		n = inode_get(ino);
		if (n)
			set_refused(n, path, rc);
		inode_unlock();
	}
	return rc;
}

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
	if (to_set & (FUSE_SET_ATTR_MODE | FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID)) {
		zk_log_info("chmod/chown refused: the mount's owner and modes are mount options");
		fuse_reply_err(req, EPERM);
		return;
	}
	fs_call_begin(req, &call);
	if (to_set & FUSE_SET_ATTR_SIZE) {
		if (fs_read_only(req))
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

