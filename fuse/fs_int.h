/* fs_int: what fs.c (names, directories, lookups) and fs_file.c (file handles, attributes,
 * xattrs) share. Not a public interface: the module's contract is fs.h.
 *
 * A file handle (struct handle) holds the whole value being written, because ZooKeeper has no
 * partial writes:
 *   CLEAN --write--> DIRTY --flush after a write, or release--> CLEAN  (one create or setData)
 * Invariants: (1) a PENDING node (plain new file, ".seq") is created by its one handle's commit,
 * with the whole data, so a watcher never sees it empty; (2) nothing is committed at a FLUSH
 * before the handle's first write (a shell dup2()s and closes its first descriptor first);
 * (3) an exclusive create (".eph", O_EXCL) is made at open, so the loser sees EEXIST from
 * open(); (4) a CAS handle (opened O_RDWR, or after user.zkfs.expect_version) sends each write
 * as setData(value, expected version) at once, so ESTALE reaches write(); (5) a failed write
 * (EFBIG, ESTALE) poisons the value: nothing of it is written. */
#ifndef ZKFS_FS_INT_H
#define ZKFS_FS_INT_H

#include <pthread.h>

#include "fuse/fs.h"
#include "fuse/names.h"

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
	bool made_at_open;  /* This handle created the node empty at open (O_EXCL, ".eph")... */
	int32_t made_version; /* ... at this version: deleted again if its value fails. */
	off_t base;
	char *buf;	    /* The value (write) or the snapshot read at open. */
	size_t len;
	size_t cap;
	int64_t seen_mzxid; /* What the opener saw, for poll. */
	int32_t seen_cversion;
	struct handle *prev_open, *next_open; /* zkfs->handles (under inode_lock). */
};

/* One request's cancel flag, set by FUSE INTERRUPT (Ctrl-C in the caller). */
struct call {
	struct zkconn_cancel cancel;
};

/* Register @c as @req's interrupt target: a FUSE INTERRUPT cancels its waits (-EINTR). @c must
 * live until the request is answered. */
void fs_call_begin(fuse_req_t req, struct call *c);

/* True when @n's cached child list is watched and current. Must hold inode_lock. */
bool fs_children_valid(const struct node *n);

/* Copy node @id's path into @out (and its kind / data-file flag when not NULL).
 * Returns 0, -ENOENT or -ENAMETOOLONG. */
int fs_node_path(fuse_ino_t id, char *out, size_t size, mode_t *kind, bool *data_file);

/* Read @path with a data watch (and its children with a child watch for a directory) into the
 * node for it, a new node when its kind changed. On 0 returns with inode_lock held, *out set. */
int fs_fetch_node(const char *path, bool data_file, struct zkconn_cancel *cancel,
		  struct node **out);

/* Make sure node @id is cached and watched (fetching it if not; *fetched says so when not
 * NULL). On 0 returns with inode_lock held and *out set; -ENOENT/-ESTALE when it is gone. */
int fs_ensure_node(fuse_ino_t id, struct zkconn_cancel *cancel, struct node **out,
		   bool *fetched);

/* With -o ro, answer EROFS and return true. */
bool fs_read_only(fuse_req_t req);

/* The ZooKeeper path of @name under @parent into @out; on failure answers @req and returns
 * -errno. */
int fs_child_path(fuse_req_t req, fuse_ino_t parent, const char *name, char *out, size_t size);

/* The ZOO_* create mode of a parsed name's suffixes. */
int fs_zk_mode(const struct names_parsed *np);

/* Count a local create/delete in flight under @path's parent (the events thread waits for it,
 * so our own change is not reported twice). */
void fs_inflight(const char *path, int delta);

/* Add or remove @path's name in its parent's cached child list. Must hold inode_lock. */
void fs_parent_child_update(const char *path, bool add);

/* The server answered NoNode for @path while the cache may still show it: trust nothing cached
 * about it (the next operation asks the server) and drop the kernel's dentry. Its name stays in
 * the parent's child list (the diff base), so the deletion's event still reaches local
 * watchers. Must hold inode_lock. */
void fs_server_gone(const char *path);

/* The same for @path's parent (a create under it answered NoNode). Must hold inode_lock. */
void fs_server_gone_parent(const char *path);

/* The server answered NotEmpty for @path: its cached child list (and kind, for a file that got
 * children) is old. Must hold inode_lock. */
void fs_server_has_children(const char *path);

/* Stop trusting the cached child list of @path's parent (the server contradicted it); the next
 * lookup asks the server. Must hold inode_lock. */
void fs_parent_children_stale(const char *path);

/* Create @path (empty) on the server now. On 0 returns with inode_lock held and *out the new
 * LIVE node of @kind; @plain: the dentry name is the node's name. */
int fs_create_now(const char *path, int mode, mode_t kind, bool plain, struct call *call,
		  struct node **out);

/* How many times a write of unknown outcome found not made is sent (outcome.h). */
#define FS_SEND_ATTEMPTS 3

/* How long resolving an unknown outcome waits for a session: op_timeout + session timeout. */
int fs_resolve_wait_ms(void);

/* Create @path with @len bytes of @data (NULL, -1: none) in ZooKeeper @mode. A file's create
 * (@file) with no data is one multi with a setData of the empty value, so the node is at
 * version 1 and shows as a file on every mount (inode_kind_of); not a sequential one, whose
 * name is not known before: an empty ".seq" node stays a directory (version 0), as scripts
 * use `exec 3> dir/task-.seq` + user.zkfs.path to make a sequential directory. A create of unknown outcome is resolved
 * (outcome.h; @exclusive: it must not find the node) and sent again when it was not made.
 * Returns 0 with *real (malloc'd, the node's path) and *st, or -errno (-EIO: unknown). */
int fs_zk_create(const char *path, const char *data, int len, int mode, bool file,
		 bool exclusive, struct zkconn_cancel *cancel, char **real, struct Stat *st);

/* Answer @req with @n's attributes and release inode_lock (held on entry). */
void fs_reply_attr_locked(fuse_req_t req, struct node *n);

/* MKDIR/MKNOD of the events thread: answer with the existing node at @path. */
void fs_reply_found(fuse_req_t req, const char *path);

/* Create node @id now if it is PENDING (with what was written so far). Returns 0 or -errno. */
int fs_realize_pending(fuse_ino_t ino, struct call *call);

/* Answer a getxattr of @size bytes with @value (@len bytes): its length when @size is 0, ERANGE
 * when it does not fit. */
void fs_reply_xattr(fuse_req_t req, const char *value, size_t len, size_t size);

/* The operations of fs_file.c (fuse_lowlevel_ops semantics). */
void fs_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void fs_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
	       struct fuse_file_info *fi);
void fs_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi);
void fs_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
	      struct fuse_file_info *fi);
void fs_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void fs_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void fs_poll(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi,
	     struct fuse_pollhandle *ph);
void fs_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
		struct fuse_file_info *fi);
void fs_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size);
void fs_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size);
void fs_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value,
		 size_t size, int flags);
/* fs_rename.c. */
void fs_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
	       const char *newname, unsigned int flags);

#endif
