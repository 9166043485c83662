/* lock_ops: the mount's FUSE side of cluster locks (lock.h): flock(2), fcntl(2)/lockf(3)
 * whole-file locks and OFD locks become lock.h's recipe on the node; the lock xattrs; release
 * at close. Each function takes the mount's lock table from the request's userdata
 * (struct zkfs). Handlers follow fuse_lowlevel_ops semantics and answer @req themselves, except
 * the hooks documented as "no reply". */
#ifndef ZKFS_LOCK_OPS_H
#define ZKFS_LOCK_OPS_H

#include <fuse3/fuse_lowlevel.h>
#include <stdbool.h>

/* Ask the kernel for FLOCK and POSIX lock requests (from the init op). */
void lock_ops_init(struct fuse_conn_info *conn);

/* The .flock, .getlk and .setlk operations. Byte ranges other than the whole file are
 * refused with ENOLCK and a log line. */
void lock_ops_flock(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi, int op);
void lock_ops_getlk(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi,
		    struct flock *lock);
void lock_ops_setlk(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi,
		    struct flock *lock, int sleep);

/* getxattr hook: answers user.zkfs.lock_holders and user.zkfs.lock_token and returns true;
 * false (no reply) for any other name. */
bool lock_ops_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size);

/* read/write hook: when a lock taken through @fi was lost with the session, answers EIO and
 * returns true; false (no reply) otherwise. */
bool lock_ops_lost(fuse_req_t req, struct fuse_file_info *fi);

/* flush hook (no reply): release the POSIX locks of fi->lock_owner on @ino (a process's
 * close of any descriptor of the file drops them). */
void lock_ops_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);

/* release hook (no reply): release every lock taken through @fi (its last close). */
void lock_ops_release(fuse_req_t req, struct fuse_file_info *fi);

#endif
