/* metrics: GET /metrics in the Prometheus text format (version 0.0.4), on
 * metricsProvider.httpHost:httpPort when metricsProvider.className is set.
 *
 * ZooKeeper 3.8's names where zkfsd has the same quantity: the numeric keys of `mntr`
 * (fourlw_mntr, the one producer of those figures) that ZooKeeper's mntr has too, without
 * their "zk_" prefix, plus quorum_size, and on a leader learners and synced_followers.
 * zkfsd's own under zkfsd_: raft term, commit/applied/last/snapshot index, last zxid, follower
 * lag (entries and seconds), snapshot count/size/duration, a loop lag histogram (a 100 ms
 * timer's lateness, sampled here), the loop stalls server.c measures, refused requests by
 * reason, the disk reserve state. Everything runs on the loop thread. */
#ifndef ZKFSD_METRICS_H
#define ZKFSD_METRICS_H

#include <stddef.h>
#include <stdint.h>

struct zkfsd;
struct zk_buf;

/* Start the sampler and, when configured, the HTTP server (srv->metrics). Returns 0 or a
 * negative errno (logged: the port is taken). Loop thread, after server_listen. */
int metrics_start(struct zkfsd *srv);

/* Stop and free srv->metrics (NULL-safe). Loop thread. */
void metrics_stop(struct zkfsd *srv);

/* The Prometheus text of @srv into @out. Returns 0 or -ENOMEM. */
int metrics_render(struct zkfsd *srv, struct zk_buf *out);

/* The lag in ms of a member that acknowledged @match_index: the age of the leader's newest
 * sampled state it has (0 when caught up or unknown). Leader only. */
uint64_t metrics_follower_lag_ms(struct zkfsd *srv, uint64_t match_index);

#endif
