/* snapshot_fork: a store image written by a forked child (Redis's BGSAVE), so the loop thread
 * pays only for fork(), not for serialising the tree.
 *
 * repl_snapshot_fork (loop thread) forks a child that sees the store frozen as it was at the
 * fork (copy-on-write pages) and writes its store_snapshot_write image, framed by an 8-byte
 * length, into a pipe, then _exit()s; the parent goes on applying entries at once.
 * repl_snapshot_collect (any one thread: libraft's async_work thread) reads the image and
 * reaps the child; repl_snapshot_job_close (loop thread) frees what is left and, when the
 * image was never collected, kills and reaps the child.
 *
 * The child touches nothing but the store, the pipe and stderr: it closes every other
 * inherited descriptor first (the client listener, Raft and peer sockets, the log file), so
 * it never holds a port or a connection open; it puts the signal handlers the daemon
 * installed back to their defaults (a SIGTERM sent to the process group ends it), dies with
 * its parent (PR_SET_PDEATHSIG) and is the OOM killer's first choice (oom_score_adj 1000).
 * It leaves through _exit: no atexit handlers, no stdio flush, no LeakSanitizer pass.
 * Memory: the pages the parent changes while the child runs are copied, so a write-heavy load
 * during a snapshot can at worst double the resident size.
 */
#ifndef REPLICATION_SNAPSHOT_FORK_H
#define REPLICATION_SNAPSHOT_FORK_H

#include <stdint.h>
#include <sys/types.h>

#include <raft.h>

#include "store/store.h"

/* One snapshot being taken. */
struct repl_snapshot_job {
	struct raft_buffer buf; /* The image (base owned, from zk_malloc; NULL until collected
				   or built in-process); handed to libraft as bufs[0]. */
	pid_t pid;		/* Child writing the image; 0 once reaped (or never forked). */
	int fd;			/* Read end of the child's pipe; -1 when none. */
	int64_t forked_ns;	/* CLOCK_MONOTONIC right after fork. */
	int64_t fork_ns;	/* Time fork() took on the caller's thread. */
	int64_t done_ns;	/* CLOCK_MONOTONIC when the child was reaped. */
	int status;		/* repl_snapshot_collect's result (0 = image complete). */
};

/* Fault injection for tests: the default hooks are fork() and a whole write(); tests replace
 * them (a fork that fails with EAGAIN, a child that dies or writes half its image). Nothing in
 * zkfsd changes them. */
struct repl_snapshot_hooks {
	pid_t (*fork)(void);
	/* Called in the child to write @len bytes at @p to @fd; returns the child's exit code
	 * (0 = all written). */
	int (*child_write)(int fd, const void *p, size_t len);
};
extern struct repl_snapshot_hooks repl_snapshot_hooks;

/* Start a child writing @store's image. @job: the caller's, zeroed by this call.
 * Must be called on the thread that owns @store, between two store_apply calls.
 * Returns 0 (child running: collect with repl_snapshot_collect, then repl_snapshot_job_close),
 * or -EAGAIN/-ENOMEM (fork failed), -EMFILE/-ENFILE (no pipe): no child, @job needs no
 * close, the caller may write the image itself. */
int repl_snapshot_fork(const struct store *store, struct repl_snapshot_job *job);

/* Read the child's image into job->buf and reap the child (blocks until it exits). Any thread,
 * but one at a time per job. Logs an ERROR and returns -EIO when the child failed (non-zero
 * exit, killed by a signal) or its image is short or too long, -ENOMEM when the image does not
 * fit in memory; job->buf is then empty. Also stored in job->status. */
int repl_snapshot_collect(struct repl_snapshot_job *job);

/* Free job->buf and, if the child was never collected, kill (SIGKILL) and reap it. Loop
 * thread. The job's memory stays the caller's. */
void repl_snapshot_job_close(struct repl_snapshot_job *job);

#endif
