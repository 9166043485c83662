/* zkconn: the mount's one ZooKeeper session, through client/ (the project's own client, on a
 * loop thread of its own).
 *
 * Each operation is submitted asynchronously and waited for with a deadline and a cancel flag,
 * so a FUSE request never waits unbounded and a Ctrl-C (FUSE INTERRUPT) ends the wait at once.
 * Operations return 0 or a negative errno: ZooKeeper codes are mapped with proto/zk_const.h
 * (NoNode -> -ENOENT, BadVersion -> -ESTALE, ...); -ETIMEDOUT when no server answered before the
 * deadline (for a write: it was never sent); -EINTR when a read is cancelled. Reads retry
 * across a connection loss until the deadline. A write once sent is waited for until the
 * library answers (the server's reply, or a connection loss within its receive timeout); a
 * cancelled one is still waited for a second. A write left without an answer returns -EIO
 * with a log line: -EIO from a write always means "outcome unknown", never "not done".
 *
 * Session lifecycle:
 *   CONNECTING -> CONNECTED [server answered] -> CONNECTING [connection lost, same session]
 *   any -> EXPIRED [server expired it] -> CONNECTING [zkconn_renew: a new session]
 * The client's loop thread delivers watch events to the on_watch callback given at create; the
 * callback must only queue work (a blocking call there would deadlock). An expiry is reported
 * through on_expired the same way.
 *
 * Watches: each session asks for one persistent-recursive watch (addWatch) on the root. Once
 * the server accepted it (zkconn_recursive), every data change, creation and deletion in the
 * tree reaches on_watch, and getData and the data half of zkconn_arm set no one-shot data watch
 * any more (their @watch is ignored). Child lists keep one-shot child watches: ZooKeeper
 * (3.8.4+, and Debian's 3.8.0-11+deb12u2: the CVE-2024-23944 fix) sends no persistent-watch
 * event for a node the session may not READ, while a child watch is judged on the parent's ACL,
 * so only it sees every name. Until the server accepted the recursive watch, or for good when
 * it refuses addWatch (before 3.6) or with -o oneshot_watches, data watches are one-shot too.
 *
 * All functions may be called from any thread unless stated. */
#ifndef ZKFS_ZKCONN_H
#define ZKFS_ZKCONN_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* The types and numbers of Apache ZooKeeper's C API that the mount's files were written with,
 * defined here (field for field, value for value) so they keep working without
 * libzookeeper_mt. */
struct Stat {
	int64_t czxid;
	int64_t mzxid;
	int64_t ctime;
	int64_t mtime;
	int32_t version;
	int32_t cversion;
	int32_t aversion;
	int64_t ephemeralOwner;
	int32_t dataLength;
	int32_t numChildren;
	int64_t pzxid;
};

/* Names, each malloc'd, in a malloc'd array. */
struct String_vector {
	int32_t count;
	char **data;
};

/* Free the names and the array, and zero @v. Returns 0. */
int deallocate_String_vector(struct String_vector *v);

enum {
	ZOO_PERSISTENT = 0,		/* CreateMode values (proto/zk_const.h ZK_MODE_*). */
	ZOO_EPHEMERAL = 1,
	ZOO_PERSISTENT_SEQUENTIAL = 2,
	ZOO_EPHEMERAL_SEQUENTIAL = 3,
	ZOO_SEQUENCE = 2,		/* The sequential bit of a mode. */
	ZOO_SESSION_EVENT = -1,		/* Event types (ZK_EVENT_*). */
	ZOO_CREATED_EVENT = 1,
	ZOO_DELETED_EVENT = 2,
	ZOO_CHANGED_EVENT = 3,
	ZOO_CHILD_EVENT = 4,
};

struct zkconn;

/* A flag a waiter checks: set by zkconn_cancel (e.g. from a FUSE interrupt callback).
 * Owned by the caller, must outlive the operation it is passed to. */
struct zkconn_cancel {
	bool cancelled;
};

/* Pseudo event types for zkconn_arm's completions (ZooKeeper's own are small positive ints). */
#define ZKCONN_ARMED_DATA 100	  /* A data watch is now set; @st is the node's Stat. */
#define ZKCONN_ARMED_CHILDREN 101 /* A child watch is now set; @st is the node's Stat. */

/* Called on the client's thread for each node event (type: ZOO_*_EVENT or ZKCONN_ARMED_*,
 * path relative to the chroot). @st, @data/@len (the value, borrowed for the call): for
 * ZKCONN_ARMED_DATA only; NULL/0 otherwise. */
typedef void (*zkconn_watch_cb)(void *ctx, int type, const char *path, const struct Stat *st,
				const char *data, int len);
/* Called on the client's thread when the session expired. */
typedef void (*zkconn_expired_cb)(void *ctx);
/* Called on the client's thread when a connection of the same session is back while the
 * persistent-recursive watch is held: the server does not replay what changed under it while
 * the connection was down (ZooKeeper 3.8 and zkfsd alike), so cached state must be read again. */
typedef void (*zkconn_reconnected_cb)(void *ctx);

struct zkconn_config {
	const char *hosts;	    /* "h1:p1,h2:p2[/chroot]", borrowed during create. */
	int session_timeout_ms;	    /* Asked of the server. */
	int op_timeout_ms;	    /* Longest wait of one operation. */
	const char *auth;	    /* "scheme:credentials" lines, each sent with addauth on every
				     * connection (e.g. "digest:alice:secret"), or NULL; borrowed. */
	bool tls;		    /* Speak TLS (implied by any of the files below). */
	const char *tls_ca;	    /* CA file (PEM; NULL: the system's), borrowed. */
	const char *tls_cert;	    /* Client certificate and key (PEM), or NULL; borrowed. */
	const char *tls_key;
	FILE *log_stream;	    /* Unused (the client logs through zk_log); kept for callers. */
	zkconn_watch_cb on_watch;   /* Node events. */
	zkconn_expired_cb on_expired; /* Session expiry. */
	zkconn_reconnected_cb on_reconnected; /* May be NULL. */
	bool oneshot;		    /* Never ask for the persistent-recursive watch (-o oneshot). */
	void *ctx;		    /* Handed to both callbacks. */
};

/* Start a session (connection happens in the background).
 * Returns 0 and *out (owned, free with zkconn_destroy), or -errno. */
int zkconn_create(const struct zkconn_config *cfg, struct zkconn **out);

/* Close the session (the server deletes its ephemerals) and free. Must not be called from a
 * callback of this connection. */
void zkconn_destroy(struct zkconn *c);

/* After an expiry: close the dead handle and open a new session. Must not be called from a
 * callback. Returns 0 or -errno. */
int zkconn_renew(struct zkconn *c);

/* Wake every wait that uses @cancel and make it return -EINTR. */
void zkconn_cancel(struct zkconn *c, struct zkconn_cancel *cancel);

/* Current session id (0 before the first connect) and whether it is connected now. */
int64_t zkconn_session_id(struct zkconn *c);
bool zkconn_connected(struct zkconn *c);
/* True when the current session holds the persistent-recursive watch on the root. */
bool zkconn_recursive(struct zkconn *c);
/* Incremented at each new session: cached state from an older generation is not watched. */
uint64_t zkconn_generation(struct zkconn *c);

/* Node events delivered to on_watch so far; inside on_watch, the number of that event. The
 * library delivers events and answers in the order the server sent them, so comparing this with
 * zkconn_answer_seq tells whether an event came after an answer (the answer is then older than
 * the change the event reports). */
uint64_t zkconn_event_seq(struct zkconn *c);
/* For the calling thread's last operation that got an answer (any result code): the
 * zkconn_event_seq when that answer arrived. */
uint64_t zkconn_answer_seq(void);

/* getData. @data: set to a malloc'd copy (caller frees; NULL when empty) unless @data is NULL.
 * @watch: leave a data watch. @cancel may be NULL. */
int zkconn_get(struct zkconn *c, struct zkconn_cancel *cancel, const char *path, bool watch,
	       char **data, int *len, struct Stat *st);

/* getChildren2 with an optional child watch. @kids: filled, free with deallocate_String_vector. */
int zkconn_children(struct zkconn *c, struct zkconn_cancel *cancel, const char *path, bool watch,
		    struct String_vector *kids, struct Stat *st);

/* exists (no watch). */
int zkconn_exists(struct zkconn *c, struct zkconn_cancel *cancel, const char *path,
		  struct Stat *st);

/* create2. @mode: ZOO_PERSISTENT, ZOO_EPHEMERAL, ... @created: the real path (malloc'd,
 * caller frees) unless NULL. @st may be NULL. */
int zkconn_create_node(struct zkconn *c, struct zkconn_cancel *cancel, const char *path,
		       const char *data, int len, int mode, char **created, struct Stat *st);

/* setData with @version (-1: any). @st may be NULL. */
int zkconn_set(struct zkconn *c, struct zkconn_cancel *cancel, const char *path, const char *data,
	       int len, int version, struct Stat *st);

/* Set a data watch (and a child watch when @children) on @path without waiting: each
 * completion reports through on_watch with ZKCONN_ARMED_*, nothing when the node is gone or
 * the connection is down (the cache then stays unwatched and is refetched on use). */
void zkconn_arm(struct zkconn *c, const char *path, bool children);

/* zkconn_arm's child half alone: a child watch on @path (the recursive watch covers its data). */
void zkconn_arm_children(struct zkconn *c, const char *path);

/* A watch delivered to its own callback instead of on_watch. Owned by the caller; must outlive
 * the connection (the client may deliver it until zkconn_destroy). */
struct zkconn_node_watch {
	/* On the client's thread (only signal from it): @type is ZOO_*_EVENT, or
	 * ZOO_SESSION_EVENT with @path "" when the connection or session changed. */
	void (*fn)(struct zkconn_node_watch *nw, int type, const char *path);
};

/* exists with a one-shot watch whose event goes to @nw->fn. Returns 0 when @path exists (the
 * watch is set), -ENOENT when it does not (the server keeps an exists watch, as kazoo's lock
 * leaves one too), or -errno as zkconn_exists. */
int zkconn_watch_exists(struct zkconn *c, struct zkconn_cancel *cancel, const char *path,
			struct zkconn_node_watch *nw);

/* delete with @version (-1: any). */
int zkconn_delete(struct zkconn *c, struct zkconn_cancel *cancel, const char *path, int version);

/* ---- added for the mount's word (issue 16): multi and waiting for a session ---- */

/* Most operations of one zkconn_multi. */
#define ZKCONN_MULTI_MAX 4

enum zkconn_op_kind { ZKCONN_OP_CREATE, ZKCONN_OP_SET, ZKCONN_OP_DELETE, ZKCONN_OP_CHECK };

/* One operation of a multi; its pointers are borrowed for the call. */
struct zkconn_op {
	enum zkconn_op_kind kind;
	const char *path;
	const char *data; /* CREATE, SET: the value (@len bytes; NULL with -1: none). */
	int len;
	int arg;	  /* CREATE: the ZOO_* mode; SET, DELETE, CHECK: the version (-1: any). */
};

/* multi: @count (1..ZKCONN_MULTI_MAX) operations applied all or none.
 * @st: when not NULL, set to the Stat the last SET produced. @failed: when not NULL, the index
 * of the operation that failed (-1 when none or not known). Returns 0 or that operation's
 * -errno, like the single operations (-EIO: sent, outcome unknown). */
int zkconn_multi(struct zkconn *c, struct zkconn_cancel *cancel, const struct zkconn_op *ops,
		 int count, struct Stat *st, int *failed);

/* Wait up to @timeout_ms for a connected session. Returns 0, -ETIMEDOUT or -EINTR. */
int zkconn_wait_connected(struct zkconn *c, struct zkconn_cancel *cancel, int timeout_ms);

#endif
