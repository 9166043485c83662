/* backup: online backups and their restore.
 *
 * GET /commands/snapshot?streaming=true (ZooKeeper 3.9's form, AdminServer, whitelist word
 * "snap") answers a backup_format file of the tree as it is when the request arrives: the
 * image is written by a forked child (repl_snapshot_fork, the child that writes Raft
 * snapshots), collected on a libuv threadpool thread, so the loop keeps serving; the zxid is
 * also in the `last_zxid` header. One backup at a time (a second gets 503).
 * `zkfsd restore --from FILE [-c zoo.cfg] [--data-dir DIR] [--myid N]` checks the file and the
 * image and makes DIR (empty or missing) a data dir that starts with that tree at that zxid
 * (repl_restore). */
#ifndef ZKFSD_BACKUP_H
#define ZKFSD_BACKUP_H

#include <stdbool.h>

struct zkfsd;
struct http_request;
struct http_reply;

/* Start a backup for @req (admin.c's handler). *@busy is true while one runs (the caller's
 * flag, one per server; not touched once the HTTP server stopped and abandoned @req). Returns HTTP_LATER (the reply comes with http_finish), or 0 with an
 * error reply (busy, no child). Loop thread. */
int backup_stream(struct zkfsd *srv, struct http_request *req, struct http_reply *reply,
		  bool *busy);

/* `zkfsd restore ...`: @argv[0] is "restore". Returns the exit status: 0 restored, 1 refused
 * (damaged file, non-empty dir: a line on stderr says why), 2 bad usage or configuration. */
int backup_restore_main(int argc, char **argv);

#endif
