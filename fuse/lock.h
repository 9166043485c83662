/* lock: cluster-wide locks on the mount's nodes -- ZooKeeper's lock recipe in kazoo's layout,
 * so `flock` on /mnt/zk/locks/db and kazoo's client.Lock("/locks/db") exclude each other.
 *
 * A lock on node P is held by ephemeral sequential children of P named
 * `<32 hex>__lock__<10 digits>` (exclusive: kazoo's Lock and WriteLock) or
 * `<32 hex>__rlock__<10 digits>` (shared: kazoo's ReadLock). A contender holds the lock when no
 * contender it conflicts with has a smaller sequence number (an exclusive one conflicts with
 * every other, a shared one only with exclusive ones); otherwise it watches the closest such
 * predecessor only (exists + watch: no herd) and looks again when that one goes. The token of
 * an acquisition is its contender's czxid: it grows with every acquisition across the cluster.
 *
 * A contender of this mount (struct lock_entry, in the mount's struct lock_table):
 *   (none) --lock_acquire: create--> WAITING --no conflicting predecessor--> HELD
 *   WAITING --LOCK_NB with a predecessor, interrupt, error: delete--> (none)
 *   HELD --lock_release / lock_release_handle / flush of a POSIX owner: delete--> (none)
 *   HELD --the session that created it ended (generation moved)--> LOST: reported once (log
 *        line) and as EIO by lock_check_handle until the descriptor is closed.
 * Invariants: (1) at most one entry per (node, owner, style); (2) an entry's contender was
 * created by the session of generation entry->gen; (3) a HELD entry had no conflicting
 * predecessor when last checked.
 * Lock order: zkconn's mutex, then t->mu (zkconn calls the watch callback, which takes t->mu,
 * with its own mutex held), so nothing calls into zkconn while holding t->mu; the callback takes
 * nothing else (never inode_lock). All functions may be called from any thread. */
#ifndef ZKFS_LOCK_H
#define ZKFS_LOCK_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>

#include "fuse/zkconn.h"

#define LOCK_MARK_EXCLUSIVE "__lock__"
#define LOCK_MARK_SHARED "__rlock__"
#define LOCK_SEQ_DIGITS 10

/* True when a child named @name is a lock contender (kazoo's pattern: a mark, then an optional
 * '-' and 10 digits at the end). Such children are hidden from the mount's listings. Header-only
 * so that the node table's tests need not link the recipe. */
static inline bool lock_child_name(const char *name)
{
	size_t len = strlen(name), i;
	const char *end, *m;

	if (len < LOCK_SEQ_DIGITS + strlen(LOCK_MARK_EXCLUSIVE))
		return false;
	end = name + len - LOCK_SEQ_DIGITS;
	for (i = 0; i < LOCK_SEQ_DIGITS; i++) {
		if (end[i] < '0' || end[i] > '9')
			return false;
	}
	if (end > name && end[-1] == '-')
		end--;
	m = end - strlen(LOCK_MARK_EXCLUSIVE);
	if (m >= name && strncmp(m, LOCK_MARK_EXCLUSIVE, strlen(LOCK_MARK_EXCLUSIVE)) == 0)
		return true;
	m = end - strlen(LOCK_MARK_SHARED);
	return m >= name && strncmp(m, LOCK_MARK_SHARED, strlen(LOCK_MARK_SHARED)) == 0;
}

struct lock_table;

/* Who asks for a lock, and how. */
struct lock_want {
	uint64_t ino;	 /* The FUSE node the lock is on. */
	uint64_t owner;	 /* The kernel's lock owner (open file description, or POSIX process). */
	uint64_t handle; /* The file handle it came through (fi->fh): released with it. */
	bool posix;	 /* fcntl/lockf (released by the owner's flush) rather than flock/OFD. */
	bool shared;	 /* A read lock (__rlock__). */
	bool nonblock;	 /* Answer -EWOULDBLOCK at once instead of waiting. */
	pid_t pid;	 /* The requester, reported by lock_conflict. */
};

/* Make the table of the mount whose session is @zk (borrowed; must outlive the table).
 * Returns 0 and *out (owned: lock_table_destroy), or -ENOMEM. */
int lock_table_create(struct zkconn *zk, struct lock_table **out);

/* Free the table. Must be called after zkconn_destroy (the closed session removed the
 * contenders, and no watch callback can run any more). */
void lock_table_destroy(struct lock_table *t);

/* Acquire the lock on the node at @path for @w, waiting (unless w->nonblock) until it is held.
 * An owner that already holds it with the same mode keeps it; one that holds the other mode
 * releases it first (flock(2)'s conversion is not atomic either). @cancel (borrowed, may be
 * NULL) ends the wait: -EINTR. Returns 0 (held), -EWOULDBLOCK, -EINTR, -ENOENT (no such node)
 * or another -errno; on every error no contender of this call is left on the server. */
int lock_acquire(struct lock_table *t, const char *path, const struct lock_want *w,
		 struct zkconn_cancel *cancel);

/* Wake a lock_acquire waiting with @cancel (set cancel->cancelled first). */
void lock_interrupt(struct lock_table *t, struct zkconn_cancel *cancel);

/* Release @owner's lock of @style (@posix) on @ino, if any. Returns 0 or -errno of the delete
 * (the entry is gone either way; the server removes the contender with the session at worst). */
int lock_release(struct lock_table *t, uint64_t ino, uint64_t owner, bool posix);

/* Release every lock taken through @handle (its last close). */
void lock_release_handle(struct lock_table *t, uint64_t handle);

/* -EIO (and one log line) when a lock taken through @handle was lost with its session; 0
 * otherwise. */
int lock_check_handle(struct lock_table *t, uint64_t handle);

/* The token (contender czxid) of this mount's lock on @ino: the highest when several are held.
 * Returns 0 and *token, or -ENODATA when this mount holds none. */
int lock_token(struct lock_table *t, uint64_t ino, int64_t *token);

/* Whether @w would have to wait for a contender of another owner on @path: 1 and *shared /
 * *pid of the first such (pid 0 for one of another mount or client), 0 when not, or -errno. */
int lock_conflict(struct lock_table *t, const char *path, const struct lock_want *w,
		  bool *shared, pid_t *pid);

/* The contenders of the lock on @path, one name a line in sequence order (so the holder, or
 * the first of the shared holders, first) into @out. Returns the length written or -errno
 * (-ERANGE when @size is too small). */
int lock_holders(struct lock_table *t, struct zkconn_cancel *cancel, const char *path,
		 char *out, size_t size);

/* zkconn_children without the lock contenders; st->numChildren (when @st) counts only the
 * children left, so a locked file stays a file. */
int lock_children(struct zkconn *zk, struct zkconn_cancel *cancel, const char *path, bool watch,
		  struct String_vector *kids, struct Stat *st);

/* True when @path has lock contenders (so its removal is refused with EBUSY). */
bool lock_busy(struct zkconn *zk, const char *path);

#endif
