/* expect: the versions set with user.zkfs.expect_version, each kept for the writer it was
 * meant for.
 *
 * The documented idiom is `setfattr -n user.zkfs.expect_version -v V f && echo new > f`: the
 * shell that ran setfattr writes (itself for a builtin, or a process it forked: a command, a
 * subshell, `bash -c`). So an expectation belongs to the parent process of setfattr -- the
 * shell P -- and only an open for writing by P or a descendant of P consumes it. Two scripts (two shells) on
 * one mount keep their own; an expectation is dropped after EXPECT_TTL_MS, and one that no
 * writer matches never fails another writer's write. The list hangs off a node; every
 * function must be called with inode_lock held. */
#ifndef ZKFS_EXPECT_H
#define ZKFS_EXPECT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* How long an expectation waits for its writer. */
#define EXPECT_TTL_MS 5000

struct expect;

/* Record @version for the writer of the caller @tid (a thread id, fuse_req_ctx's pid),
 * replacing that writer's earlier one. Returns 0, -ESRCH (the caller is gone) or -ENOMEM. */
int expect_set(struct expect **list, pid_t tid, int32_t version);

/* How many ancestors of a writer are searched for an expectation's owner. */
#define EXPECT_MAX_DEPTH 8

/* When an expectation of @list belongs to the writer @tid (owned by its process or one of its
 * EXPECT_MAX_DEPTH nearest ancestors), remove it, set *version and return true. Expired entries are dropped on the way. */
bool expect_take(struct expect **list, pid_t tid, int32_t *version);

/* Free every entry. */
void expect_clear(struct expect **list);

#endif
