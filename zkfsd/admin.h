/* admin: ZooKeeper's AdminServer on admin.serverAddress:admin.serverPort when
 * admin.enableServer=true (HTTPS only, with ssl.keyStore.location's key and certificates, when
 * the server has TLS keys): GET <commandURL> lists the commands (HTML links, as ZooKeeper);
 * GET <commandURL>/<name> answers JSON with ZooKeeper 3.8's field names (ruok, server_stats
 * (srvr), stats (stat), monitor (mntr), configuration (conf), connections (cons), dump,
 * watch_summary (wchs), environment (envi), dirs, is_read_only (isro), leader, voting_view,
 * last_snapshot), plus zkfsd's digest (dgst) and snapshot?streaming=true (backup.c: the
 * whole tree, so its whitelist word "snap" is not a four-letter word and must be listed, or
 * "*"). Fields ZooKeeper shows that zkfsd does not count
 * (auth_failed_count, fsync_threshold_exceed_count, client_response_stats, interest_ops,
 * last_response_time, last_latency, the TLS/mTLS counters) are left out rather than
 * invented.
 *
 * Each command is allowed or refused by the four-letter-word whitelist
 * (config_4lw_allowed) under the word it corresponds to: leader and last_snapshot under srvr,
 * voting_view under conf. A refused command answers 403 with ZooKeeper's whitelist sentence
 * in "error"; an unknown one 200 with "Unknown command: <name>", as ZooKeeper.
 * zkfsd's own `members` (whitelist word conf) lists each member with its role and, on the
 * leader, its lag; GET / is the status page (zkfsd/status.html) over those commands. */
#ifndef ZKFSD_ADMIN_H
#define ZKFSD_ADMIN_H

struct zkfsd;

/* Start the AdminServer when configured (srv->admin). Returns 0 or a negative errno
 * (logged). Loop thread, after metrics_start. */
int admin_start(struct zkfsd *srv);

/* Stop and free srv->admin (NULL-safe). Loop thread. */
void admin_stop(struct zkfsd *srv);

#endif
