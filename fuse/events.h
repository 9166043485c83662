/* events: the thread that turns ZooKeeper watch events into kernel cache invalidations and
 * real inotify events on the mount.
 *
 * The kernel's notify calls produce no inotify event (DESIGN.md, measured), so this thread
 * performs the matching system call on its own mount -- mknod/mkdir for a name created
 * elsewhere (IN_CREATE), unlink/rmdir for one deleted (IN_DELETE), truncate to the new size for
 * a changed value (IN_MODIFY), utimensat for a directory's own data (IN_ATTRIB) -- and fs.c
 * answers the requests coming from this thread's id as no-ops (events_is_caller, events_intent).
 *
 * Watch events arrive on the client's loop thread (events_on_watch only queues). Jobs for one
 * path are coalesced; each reads again what its event covered (re-arming a one-shot child
 * watch; data is covered by the session's persistent-recursive watch, see zkconn.h) and diffs
 * against the cache, so a burst of changes between two reads yields one event per name, never a
 * missed final state. After a reconnect under the recursive watch it reads every cached value
 * again (nothing is replayed for it). The thread also renews an expired session; the diff then
 * shows the lost ephemerals as DELETE events. */
#ifndef ZKFS_EVENTS_H
#define ZKFS_EVENTS_H

#include <fuse3/fuse_lowlevel.h>
#include <stdbool.h>
#include <stdint.h>
#include "fuse/zkconn.h"

struct node;

/* Start the thread. Returns 0 or -errno. Must be called once, before the session loop. */
int events_start(void);
/* Stop and join it (after the session loop ended). */
void events_stop(void);

/* zkconn callbacks (see zkconn.h): queue work, never block. */
void events_on_watch(void *ctx, int type, const char *path, const struct Stat *st,
		     const char *data, int len);

/* Set data watches on the children of the directory @dir (names @kids) that have no node yet,
 * so their changes produce MODIFY/ATTRIB for watchers of @dir. Must hold inode_lock. */
void events_prefetch(const char *dir, char *const *kids, int count);
void events_on_expired(void *ctx);
/* A node this mount just created at @path (@dir: a directory): watch it. Without the recursive
 * watch that costs a read (zkconn_arm); with it, nothing. */
void events_watch_new(const char *path, bool dir);
/* The connection is back under the recursive watch: re-read what is cached (zkconn.h). */
void events_on_reconnected(void *ctx);

/* @n has just stored an answer of the server that arrived at @answer_seq (zkconn_answer_seq):
 * its Stat @st (NULL: none) and/or, when @children, its child list. When a watch event for its
 * path came after that answer, the answer is already older than the change (the event's job
 * reads again), so stop trusting what it stored; the next lookup asks the server. Must hold
 * inode_lock. */
void events_settle(struct node *n, const struct Stat *st, bool children, uint64_t answer_seq);

/* Queue kernel invalidations that a request handler must not make itself. @name is copied. */
void events_inval_inode(fuse_ino_t id);
void events_inval_entry(fuse_ino_t parent, const char *name);

/* True when @req was sent by the events thread (its thread id). */
bool events_is_caller(fuse_req_t req);

enum events_intent { EVENTS_NONE, EVENTS_CREATE, EVENTS_DELETE };

/* What the events thread is doing to (@parent, @name): EVENTS_CREATE (its LOOKUP must say
 * ENOENT), EVENTS_DELETE (*ghost: the node id its LOOKUP must return), or EVENTS_NONE. */
enum events_intent events_intent(fuse_ino_t parent, const char *name, fuse_ino_t *ghost);

#endif
