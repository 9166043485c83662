/* fs: the FUSE low-level operations of the mount, mapping shell operations on files to
 * ZooKeeper requests as DESIGN.md's "mount contract" says (see README "## The mount").
 *
 * Handlers run on libfuse's worker threads and wait (bounded, interruptible) on zkconn. They
 * never call the kernel's notify functions themselves (a notification from inside a related
 * request can deadlock): they queue them to the events thread. Requests made by the events
 * thread itself (to produce inotify events, see events.h) are answered as no-ops. */
#ifndef ZKFS_FS_H
#define ZKFS_FS_H

#include <fuse3/fuse_lowlevel.h>
#include <stdbool.h>
#include <sys/types.h>

#include "fuse/inode.h"
#include "fuse/zkconn.h"

struct zkfs_options {
	char *hosts;		/* Connect string "h:p,...[/chroot]" (owned). */
	char *mountpoint;	/* Absolute path of the mount (owned). */
	int session_timeout_ms; /* Asked of the server (-o session_timeout=SECONDS). */
	int op_timeout_ms;	/* Longest wait of one operation (-o op_timeout=SECONDS). */
	bool read_only;		/* -o ro: every change fails with EROFS. */
	uid_t uid;		/* Owner shown for every node (-o uid=). */
	gid_t gid;		/* Group shown (-o gid=). */
	mode_t file_mode;	/* Permission bits of files (-o mode=, default 0644). */
	int max_data;		/* Largest value written (-o max_data=BYTES): EFBIG past it. */
	double cache_timeout;	/* Kernel entry/attr timeout for watched nodes, seconds. */
	bool all_dirs;		/* -o dirs: every node a directory, its data in .data. */
};

/* The mount's state, one per process. */
struct handle;

struct zkfs {
	struct zkfs_options opt;
	struct zkconn *zk;	 /* The session. */
	struct fuse_session *se; /* For notifications (set before the loop starts). */
	struct lock_table *locks; /* Cluster locks of this mount (fuse/lock.h). */
	struct handle *handles;	  /* Every open file handle (under inode_lock). */
};

extern struct zkfs *zkfs;

/* Free every handle still open: at unmount the kernel sends no release for them. After the
 * FUSE loop has ended, before inode_shutdown. Takes inode_lock. */
void fs_close_handles(void);

/* The operations table handed to fuse_session_new. */
const struct fuse_lowlevel_ops *fs_ops(void);

/* Fill @st with what the kernel is told about @n. Must hold inode_lock. */
void fs_fill_attr(const struct node *n, struct stat *st);

/* Fill @e for @n and take a kernel reference (inode_ref). Must hold inode_lock. */
void fs_fill_entry(struct node *n, struct fuse_entry_param *e);

/* Drop from @kids (a child list of @dir just read) the names the mount cannot show
 * (names_listable), so no listing, lookup or event ever uses them. Any lock. */
void fs_filter_children(const char *dir, struct String_vector *kids);

/* True when @n's cached Stat is watched in the current session. Must hold inode_lock. */
bool fs_cache_valid(const struct node *n);

#endif
