/* lock_ops: FUSE flock/getlk/setlk, the lock xattrs and release at close, on lock.h's recipe
 * (see lock_ops.h). */
#include "fuse/lock_ops.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>

#include "common/zk_log.h"
#include "fuse/fs.h"
#include "fuse/fs_int.h"
#include "fuse/lock.h"
#include "fuse/names.h"

#define XATTR_HOLDERS "user.zkfs.lock_holders"
#define XATTR_TOKEN "user.zkfs.lock_token"

static struct lock_table *table_of(fuse_req_t req)
{
	struct zkfs *z = fuse_req_userdata(req);

	return z->locks;
}

/* A waiting request's cancel flag and the table to wake (FUSE INTERRUPT). */
struct lock_call {
	struct zkconn_cancel cancel;
	struct lock_table *t;
};

static void on_interrupt(fuse_req_t req, void *data)
{
	struct lock_call *c = data;

	(void)req;
	lock_interrupt(c->t, &c->cancel);
}

static void call_begin(fuse_req_t req, struct lock_call *c)
{
	c->cancel.cancelled = false;
	c->t = table_of(req);
	fuse_req_interrupt_func(req, on_interrupt, c);
}

void lock_ops_init(struct fuse_conn_info *conn)
{
	if (conn->capable & FUSE_CAP_FLOCK_LOCKS)
		conn->want |= FUSE_CAP_FLOCK_LOCKS;
	if (conn->capable & FUSE_CAP_POSIX_LOCKS)
		conn->want |= FUSE_CAP_POSIX_LOCKS;
}

/* Acquire for @w on @ino and answer @req. */
static void acquire(fuse_req_t req, fuse_ino_t ino, const struct lock_want *w)
{
	char path[NAMES_PATH_MAX + 1];
	struct call create = {{false}};
	struct lock_call call;
	int rc;

	/* `flock newfile cmd` opens with O_CREAT: the lock's node must exist on the server. */
	rc = fs_realize_pending(ino, &create) ?: fs_node_path(ino, path, sizeof(path), NULL, NULL);
	if (rc == 0) {
		call_begin(req, &call);
		rc = lock_acquire(call.t, path, w, &call.cancel);
	}
	if (rc && rc != -EWOULDBLOCK && rc != -EINTR)
		zk_log_info("lock %s: %s", path, strerror(-rc));
	fuse_reply_err(req, -rc);
}

void lock_ops_flock(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi, int op)
{
	struct lock_want w = {
		.ino = ino,
		.owner = fi->lock_owner,
		.handle = fi->fh,
		.shared = (op & LOCK_SH) != 0,
		.nonblock = (op & LOCK_NB) != 0,
		.pid = fuse_req_ctx(req)->pid,
	};

	if (op & LOCK_UN)
		fuse_reply_err(req, -lock_release(table_of(req), ino, fi->lock_owner, false));
	else
		acquire(req, ino, &w);
}

/* Whole-file locks only: ZooKeeper's recipe has no byte ranges. Answers ENOLCK otherwise. */
static bool whole_file(fuse_req_t req, fuse_ino_t ino, const struct flock *lock)
{
	char path[NAMES_PATH_MAX + 1] = "?";

	if (lock->l_start == 0 && lock->l_len == 0)
		return true;
	fs_node_path(ino, path, sizeof(path), NULL, NULL);
	zk_log_info("lock %s: byte range %lld+%lld refused (ENOLCK): only whole-file locks are "
		    "cluster-wide", path, (long long)lock->l_start, (long long)lock->l_len);
	fuse_reply_err(req, ENOLCK);
	return false;
}

void lock_ops_getlk(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi,
		    struct flock *lock)
{
	char path[NAMES_PATH_MAX + 1];
	struct lock_want w = {.ino = ino, .owner = fi->lock_owner, .posix = true,
			      .shared = lock->l_type == F_RDLCK};
	bool shared = false;
	pid_t pid = 0;
	int rc;

	if (!whole_file(req, ino, lock))
		return;
	rc = fs_node_path(ino, path, sizeof(path), NULL, NULL);
	if (rc == 0)
		rc = lock_conflict(table_of(req), path, &w, &shared, &pid);
	if (rc < 0) {
		fuse_reply_err(req, -rc);
		return;
	}
	lock->l_type = rc == 0 ? F_UNLCK : shared ? F_RDLCK : F_WRLCK;
	lock->l_whence = SEEK_SET;
	lock->l_pid = pid;
	fuse_reply_lock(req, lock);
}

void lock_ops_setlk(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi,
		    struct flock *lock, int sleep)
{
	struct lock_want w = {
		.ino = ino,
		.owner = fi->lock_owner,
		.handle = fi->fh,
		.posix = true,
		.shared = lock->l_type == F_RDLCK,
		.nonblock = !sleep,
		.pid = lock->l_pid,
	};

	if (!whole_file(req, ino, lock))
		return;
	if (lock->l_type == F_UNLCK)
		fuse_reply_err(req, -lock_release(table_of(req), ino, fi->lock_owner, true));
	else
		acquire(req, ino, &w);
}

bool lock_ops_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
	char path[NAMES_PATH_MAX + 1], value[16384];
	struct lock_call call;
	int64_t token;
	int rc;

	if (strcmp(name, XATTR_TOKEN) == 0) {
		rc = lock_token(table_of(req), ino, &token);
		if (rc == 0)
			rc = snprintf(value, sizeof(value), "%" PRId64, token);
	} else if (strcmp(name, XATTR_HOLDERS) == 0) {
		rc = fs_node_path(ino, path, sizeof(path), NULL, NULL);
		call_begin(req, &call);
		if (rc == 0)
			rc = lock_holders(call.t, &call.cancel, path, value, sizeof(value));
	} else {
		return false;
	}
	if (rc < 0)
		fuse_reply_err(req, -rc);
	else
		fs_reply_xattr(req, value, (size_t)rc, size);
	return true;
}

bool lock_ops_lost(fuse_req_t req, struct fuse_file_info *fi)
{
	if (lock_check_handle(table_of(req), fi->fh) == 0)
		return false;
	fuse_reply_err(req, EIO);
	return true;
}

void lock_ops_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	lock_release(table_of(req), ino, fi->lock_owner, true);
}

void lock_ops_release(fuse_req_t req, struct fuse_file_info *fi)
{
	lock_release_handle(table_of(req), fi->fh);
}
