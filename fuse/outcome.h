/* outcome: after a write whose outcome is unknown (zkconn's -EIO: it was sent and no answer
 * came), decide from the node as the server has it now whether the write was made.
 *
 * The rules (README "## The mount", "Unknown outcomes"): a create is made when the node exists
 * with the value sent and, for an ephemeral, this session as its owner; a setData without a
 * version when the node holds the value sent; a setData at version v is not made while the
 * node is still at v (sending it again is then safe: the lost request, if it arrives later,
 * fails on the version), and failed for good when the node is at v + 1 with another value.
 * A node at v + 1 with the value sent may be this write or another writer's identical one:
 * that, an exclusive create of a persistent node found existing, and a sequential create
 * (whose name was never learned) cannot be told, and stay unknown. Any thread. */
#ifndef ZKFS_OUTCOME_H
#define ZKFS_OUTCOME_H

#include <stdbool.h>
#include "fuse/zkconn.h"

/* True for a sequential create mode. */
static inline bool outcome_sequential(int mode)
{
	return mode == ZOO_PERSISTENT_SEQUENTIAL || mode == ZOO_EPHEMERAL_SEQUENTIAL;
}

/* The write that was sent. Pointers borrowed for the call. */
struct outcome_write {
	const char *path;
	const char *data; /* The value sent, @len bytes. */
	int len;
	bool create;	  /* A create in @mode (else a setData at @version, -1: any). */
	bool exclusive;	  /* The create must not find the node (else it overwrites it). */
	int mode;
	int version;
};

/* Wait up to @wait_ms for a session, read @w->path and compare (see above).
 * Returns 0 (made; *st is the node's Stat), -EAGAIN (not made: send it again), -ESTALE or
 * -ENOENT or -EEXIST (not made, and it cannot be any more), or -EIO (cannot tell). */
int outcome_resolve(struct zkconn *zk, struct zkconn_cancel *cancel, int wait_ms,
		    const struct outcome_write *w, struct Stat *st);

/* Sends the write once: 0 or -errno as zkconn's (-EIO: outcome unknown); *st on success. */
typedef int (*outcome_send_fn)(void *ctx, struct Stat *st);

/* Send @w with @send; while its outcome is unknown, resolve it (outcome_resolve) and send it
 * again when it was not made, at most @attempts times. A copy sent again that is refused is
 * judged once more by reading the node back (never reported as a definite failure on the
 * strength of the refusal alone). Returns 0 (made: *st the node's Stat) or -errno (-EIO:
 * still unknown). */
int outcome_send(struct zkconn *zk, struct zkconn_cancel *cancel, int wait_ms, int attempts,
		 const struct outcome_write *w, outcome_send_fn send, void *ctx, struct Stat *st);

#endif
