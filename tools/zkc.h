/* zkc: what zkfs-cli and zkfs-bench share on top of Apache ZooKeeper's C client
 * (libzookeeper_mt): the library's logging kept off stdout/stderr unless asked, a session opened
 * with a deadline, ZooKeeper error names, and the host list parsed for raw TCP connections.
 *
 * libzookeeper_mt exports unprefixed log_message/logLevel/zerror (STYLE.md §3): nothing here
 * defines those names. */
#ifndef ZKC_H
#define ZKC_H

#include <stdbool.h>
#include <zookeeper/zookeeper.h>

/* Route the library's log: @verbose 0 = nothing (sent to /dev/null), 1 = warnings and errors
 * on stderr, 2 or more = debug on stderr. Must be called before the first zkc_connect, from the
 * main thread. */
void zkc_log_setup(int verbose);

/* Open a session to @hosts ("h:p[,h:p...][/chroot]") with a @session_ms timeout and wait at most
 * @deadline_ms for it to connect. @watcher (may be NULL) receives every non-session event with
 * @watcher_ctx (borrowed; must outlive the handle). On success *@out is the handle (close it
 * with zkc_close). Returns ZOK, ZBADARGUMENTS (malformed @hosts) or ZCONNECTIONLOSS (not
 * connected by the deadline, or the session was refused). */
int zkc_connect(const char *hosts, int session_ms, int deadline_ms, watcher_fn watcher,
		void *watcher_ctx, zhandle_t **out);

/* Close the session of a handle from zkc_connect and free what zkc attached to it. */
void zkc_close(zhandle_t *zh);

/* The ZooKeeper name of a C-client return code ("NoNode", "BadVersion", ...). */
const char *zkc_err_name(int rc);

/* The code of a ZooKeeper error name (case-insensitive, e.g. "nodeexists"). Returns 0 and sets
 * *@rc, or -1 when the name is unknown. */
int zkc_err_parse(const char *name, int *rc);

#endif
