/* inode: the mount's table of nodes, the kernel inode numbers that name them, and what is
 * cached about each (Stat, value, child names) while a watch keeps it true.
 *
 * A node is one kernel inode: a (path, kind) pair. The FUSE node id is the struct's table
 * key, handed to the kernel in entry replies; the st_ino reported is derived from the znode's
 * czxid and path, so it is the same on every mount and for the znode's whole life.
 *
 * Node states:
 *   LIVE    -- in the path map; what a lookup of its path returns.
 *   PENDING -- created locally, not yet on the server (a plain or .seq create waits for its
 *              first flush); LIVE once created [inode_realize].
 *   STALE   -- deleted, or replaced by a node of another kind; out of the path map, kept until
 *              the kernel forgets it [inode_mark_stale].
 * Invariants: (1) at most one LIVE or PENDING node per key in the path map; (2) a node is freed
 * only when nlookup == 0, opens == 0 and it is not LIVE; (3) cached fields are trusted only while
 * cache_gen equals the session generation (watches of an expired session are gone); (4) an
 * answer is trusted (have_stat, children_fresh) only when no watch event for its path arrived
 * after it (events_settle), and an answer of the server that contradicts the cache (NoNode,
 * NodeExists, NotEmpty, BadVersion) drops what it contradicts (fs_server_gone and friends).
 * Every function here must be called with inode_lock held, except inode_lock/unlock. */
#ifndef ZKFS_INODE_H
#define ZKFS_INODE_H

#include <fuse3/fuse_lowlevel.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include "fuse/zkconn.h"

enum node_state { NODE_LIVE, NODE_PENDING, NODE_STALE };

struct node {
	fuse_ino_t id;		   /* FUSE node id (1 = the root). */
	char *path;		   /* ZooKeeper path ("/" for the root); owned. */
	char *key;		   /* Path map key: path, or path + "/.data" for a data file. */
	mode_t kind;		   /* S_IFDIR or S_IFREG, fixed for the node's life. */
	bool data_file;		   /* The ".data" file of the directory at path. */
	enum node_state state;
	uint64_t nlookup;	   /* Kernel references (LOOKUP replies minus FORGETs). */
	int opens;		   /* Open file handles. */
	int inflight;		   /* Local writes on this node or its children in flight. */
	bool have_stat;		   /* stat/data are the server's, watched (see cache_gen). */
	uint64_t cache_gen;	   /* Session generation of stat/data/children. */
	struct Stat stat;
	int64_t told_mzxid;	   /* mzxid watchers last heard of (-1: none yet): a change is
				    * reported once even if a read cached it first. */
	char *data;		   /* Cached value (owned), data_len bytes. */
	int data_len;
	bool have_children;	   /* children[] holds the last list read (the diff base). */
	bool children_fresh;	   /* ... and no child event arrived since: lookups trust it. */
	char **children;	   /* Sorted names (owned). */
	int nchildren;
	struct expect *expects;	   /* user.zkfs.expect_version, per writer (expect.h; owned). */
	void *pending;		   /* The handle that will create a PENDING node (fs.c's). */
	struct fuse_pollhandle **polls; /* Pollers to wake on a change (owned). */
	int npolls;
};

void inode_lock(void);
void inode_unlock(void);

/* Create the table with the root node ("/", id FUSE_ROOT_ID). Returns 0 or -ENOMEM. */
int inode_init(void);
/* Free every node. */
void inode_shutdown(void);

/* The node with FUSE id @id, or NULL. */
struct node *inode_get(fuse_ino_t id);
/* The LIVE or PENDING node at @path (@data_file: its ".data" file), or NULL. */
struct node *inode_find(const char *path, bool data_file);
/* The directory node of @path's parent, or NULL (the root, or the parent is not known). */
struct node *inode_find_parent(const char *path);

/* A new node in @state for @path/@kind, entered in the path map when @map (replacing and
 * marking stale any node already there; a STALE node is never mapped, nor a PENDING sequential
 * one, whose path is only a prefix). Returns NULL when out of memory. */
struct node *inode_new(const char *path, mode_t kind, bool data_file, enum node_state state,
		       bool map);

/* Take @n out of the path map and mark it STALE; frees it if nothing references it. */
void inode_mark_stale(struct node *n);

/* PENDING -> LIVE at @real_path (a sequential create learns its name). Returns 0 or -ENOMEM. */
int inode_realize(struct node *n, const char *real_path);

/* Store a fresh Stat (and value when @data is not NULL or @len is 0, copied) observed at
 * generation @gen; a Stat older than the cached one (smaller mzxid) is ignored. */
int inode_set_stat(struct node *n, const struct Stat *st, const char *data, int len, uint64_t gen);
/* Store a fresh child list (copied and sorted). Returns 0 or -ENOMEM. */
int inode_set_children(struct node *n, const struct String_vector *kids, uint64_t gen);
/* Forget the cached Stat/value (and children when @children). */
void inode_drop_cache(struct node *n, bool children);
/* Add or remove one cached child name (no-op when the list is not cached). */
void inode_child_add(struct node *n, const char *name);
void inode_child_remove(struct node *n, const char *name);
/* True when @name is in the cached child list. */
bool inode_child_has(const struct node *n, const char *name);

/* Free @n now if nothing references it (a ghost the kernel never looked up). */
void inode_release_unused(struct node *n);

/* Kernel reference counting: lookup replies add, FORGET subtracts; frees when allowed. */
void inode_ref(struct node *n);
void inode_forget(struct node *n, uint64_t count);
/* Drop an open handle's reference; frees when allowed. */
void inode_close(struct node *n);

/* Remember a poll handle (ownership moves to the node). */
void inode_add_poll(struct node *n, struct fuse_pollhandle *ph);
/* Wake and release every poller of @n. Must be called without waiting on the kernel... it
 * only writes notifications, never blocks on a request. */
void inode_wake_polls(struct node *n);

/* Kind a znode with @st shows as (the same on every mount, from the Stat alone): a node with
 * children is a directory; otherwise an ephemeral, a node with data, or one written at least
 * once (version > 0: an empty file made through the mount is at version 1) is a file; a node
 * never written and empty (mkdir, a parent made by a client) is a directory. */
mode_t inode_kind_of(const struct Stat *st);

/* The st_ino of the znode at @path created at @czxid. */
uint64_t inode_number(const char *path, int64_t czxid, bool data_file);

/* Visit every LIVE node (the table must not change during the walk). */
void inode_each_live(void (*fn)(struct node *n, void *arg), void *arg);

#endif
