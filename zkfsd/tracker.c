/* tracker: the live-session table of zkfsd and its expiry (ZooKeeper's SessionTrackerImpl).
 * (Named tracker, not session: store/session.c keeps the sessions that live in the log; this
 * file keeps their liveness.)
 *
 * Sessions are created and closed only by applied transactions (createSession, closeSession),
 * so every server's table follows the log. Liveness is local: any request or ping on the
 * connection holding a session pushes its deadline to now + timeout. One timer, every
 * tickTime/2 (ZooKeeper checks at tick granularity), finds sessions past their deadline; on the
 * leader each gets a closeSession transaction (the one path that deletes ephemerals), whose
 * apply removes it here and closes its connection. After a restart every session of the store
 * gets a fresh full timeout, as ZooKeeper does when it loads its database.
 *
 * Stalls: libuv runs timers before it polls sockets, so after a loop turn that worked for
 * longer than a session timeout the expiry check would run while the pings sent meanwhile
 * still wait unread. So every deadline moves later by the time the loop stalled
 * (server_stall_claim): a session is expired only for silence the loop could have seen. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/zk_log.h"
#include "zkfsd/zkfsd_int.h"

/* The table starts small and doubles past two sessions a bucket, so a lookup (one per
 * request) stays a short chain walk however many sessions the server holds. */
#define SESSION_BUCKETS 1024
#define SESSION_LOAD 2

int tracker_table_init(struct session_table *t)
{
	memset(t, 0, sizeof(*t));
	t->buckets = calloc(SESSION_BUCKETS, sizeof(*t->buckets));
	if (t->buckets == NULL)
		return -ENOMEM;
	t->n_buckets = SESSION_BUCKETS;
	return 0;
}

void tracker_table_close(struct session_table *t)
{
	for (size_t i = 0; i < t->n_buckets; i++) {
		struct session *s = t->buckets[i], *next;

		for (; s != NULL; s = next) {
			next = s->hnext;
			free(s);
		}
	}
	free(t->buckets);
	memset(t, 0, sizeof(*t));
}

static struct session **tracker_bucket(struct session_table *t, int64_t id)
{
	uint64_t h = (uint64_t)id * 0x9e3779b97f4a7c15ULL;

	return &t->buckets[(h >> 32) & (t->n_buckets - 1)];
}

/* Double the bucket array. Out of memory only leaves the chains longer, so it is not an
 * error. */
static void tracker_grow(struct session_table *t)
{
	struct session_table bigger = {.n_buckets = t->n_buckets * 2, .count = t->count};

	bigger.buckets = calloc(bigger.n_buckets, sizeof(*bigger.buckets));
	if (bigger.buckets == NULL)
		return;
	for (size_t i = 0; i < t->n_buckets; i++) {
		struct session *s = t->buckets[i], *next, **bucket;

		for (; s != NULL; s = next) {
			next = s->hnext;
			bucket = tracker_bucket(&bigger, s->id);
			s->hnext = *bucket;
			*bucket = s;
		}
	}
	free(t->buckets);
	*t = bigger;
}

struct session *tracker_find(struct zkfsd *srv, int64_t id)
{
	for (struct session *s = *tracker_bucket(&srv->sessions, id); s != NULL; s = s->hnext)
		if (s->id == id)
			return s;
	return NULL;
}

int64_t tracker_next_id(struct zkfsd *srv)
{
	if (srv->next_session_id == 0) {
		/* ZooKeeper's SessionTrackerImpl.initializeNextSessionId: ms clock in the middle
		 * bits, server id in the top byte, so ids of servers and restarts differ. */
		struct timespec ts;
		uint64_t ms;

		clock_gettime(CLOCK_REALTIME, &ts);
		ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
		srv->next_session_id =
			(int64_t)(((ms << 24) >> 8) | ((uint64_t)srv->cfg->myid << 56));
	}
	return srv->next_session_id++;
}

int32_t tracker_negotiate(const struct config *cfg, int32_t requested)
{
	if (requested < cfg->min_session_timeout_ms)
		return cfg->min_session_timeout_ms;
	if (requested > cfg->max_session_timeout_ms)
		return cfg->max_session_timeout_ms;
	return requested;
}

void tracker_touch(struct zkfsd *srv, struct session *s)
{
	s->deadline_ms = uv_now(srv->loop) + (uint64_t)s->timeout_ms;
}

struct session *tracker_add(struct zkfsd *srv, int64_t id, int32_t timeout_ms)
{
	struct session *s = tracker_find(srv, id), **bucket;

	if (s == NULL) {
		s = calloc(1, sizeof(*s));
		if (s == NULL)
			return NULL;
		s->id = id;
		bucket = tracker_bucket(&srv->sessions, id);
		s->hnext = *bucket;
		*bucket = s;
		srv->sessions.count++;
		if (srv->sessions.count > SESSION_LOAD * srv->sessions.n_buckets)
			tracker_grow(&srv->sessions);
	}
	s->timeout_ms = timeout_ms;
	s->closing = false;
	tracker_touch(srv, s);
	return s;
}

void tracker_remove(struct zkfsd *srv, int64_t id)
{
	struct session **pp = tracker_bucket(&srv->sessions, id), *s;

	while (*pp != NULL && (*pp)->id != id)
		pp = &(*pp)->hnext;
	s = *pp;
	if (s == NULL)
		return;
	*pp = s->hnext;
	srv->sessions.count--;
	if (s->conn != NULL) {
		struct conn *conn = s->conn;

		conn->session = NULL;
		s->conn = NULL;
		/* The closeSession reply (if this connection asked) is already queued: close
		 * once it is written. */
		conn->close_after_flush = true;
		conn_mark_dirty(conn);
	}
	free(s);
}

/* A closeSession submitted for an expired session. */
struct tracker_expiry {
	struct repl_req req;	/* Embedded submit. */
	struct zkfsd *srv;	/* Borrowed. */
	int64_t id;		/* The session. */
};

/* The closeSession txn finished; on failure let the next period try again. */
static void tracker_expire_cb(struct repl_req *req, int status)
{
	struct tracker_expiry *e = req->data;
	struct session *s;

	if (status != 0) {
		zk_log_warn("closeSession for expired session 0x%llx failed: %d",
			    (unsigned long long)e->id, status);
		s = tracker_find(e->srv, e->id);
		if (s != NULL)
			s->closing = false;
	}
	free(e);
}

static void tracker_expire(struct zkfsd *srv, struct session *s)
{
	struct store_txn txn = {.type = ZK_OP_CLOSE_SESSION, .session_id = s->id, .xid = 0};
	struct tracker_expiry *e = calloc(1, sizeof(*e));
	struct timespec ts;
	int rv;

	if (e == NULL)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	txn.time_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	e->req.data = e;
	e->srv = srv;
	e->id = s->id;
	if (!s->expiry_refused)
		zk_log_info("session 0x%llx expired (timeout %d ms)", (unsigned long long)s->id,
			    s->timeout_ms);
	rv = repl_submit(srv->repl, &e->req, &txn, tracker_expire_cb);
	if (rv != 0) {
		if (!s->expiry_refused)
			zk_log_warn("cannot submit closeSession for 0x%llx: %s; retrying quietly",
				    (unsigned long long)s->id, strerror(-rv));
		s->expiry_refused = true;
		free(e);
		return;
	}
	s->expiry_refused = false;
	s->closing = true;
}

/* Every session gets a full timeout from now (restart, new leader). */
static void tracker_refresh_all(struct zkfsd *srv)
{
	for (size_t i = 0; i < srv->sessions.n_buckets; i++)
		for (struct session *s = srv->sessions.buckets[i]; s != NULL; s = s->hnext)
			tracker_touch(srv, s);
}

/* The loop stalled @ms: no session's clock ran meanwhile (their pings may be waiting unread
 * in their sockets, and the loop reads them only after the timers of this turn). */
static void tracker_stalled(struct zkfsd *srv, uint64_t ms)
{
	for (size_t i = 0; i < srv->sessions.n_buckets; i++)
		for (struct session *s = srv->sessions.buckets[i]; s != NULL; s = s->hnext)
			s->deadline_ms += ms;
	zk_log_info("%zu session deadline(s) moved %" PRIu64 " ms later: the loop stalled",
		    srv->sessions.count, ms);
}

void tracker_check_expiry(struct zkfsd *srv)
{
	uint64_t now = uv_now(srv->loop), stalled = server_stall_claim(srv);
	bool leader = srv->repl != NULL && repl_role(srv->repl) == REPL_LEADER;

	if (stalled > 0)
		tracker_stalled(srv, stalled);
	/* A new leader has not seen the pings sent to the old one: like ZooKeeper's new leader,
	 * it starts every session's clock afresh. */
	if (leader && !srv->was_leader)
		tracker_refresh_all(srv);
	srv->was_leader = leader;
	if (!leader)
		return;
	for (size_t i = 0; i < srv->sessions.n_buckets; i++)
		for (struct session *s = srv->sessions.buckets[i]; s != NULL; s = s->hnext)
			if (!s->closing && now > s->deadline_ms)
				tracker_expire(srv, s);
}

static void tracker_rebuild_one(void *ctx, int64_t id, int32_t timeout_ms)
{
	struct zkfsd *srv = ctx;

	if (tracker_add(srv, id, timeout_ms) == NULL)
		zk_log_error("out of memory rebuilding session 0x%llx", (unsigned long long)id);
}

void tracker_rebuild(struct zkfsd *srv)
{
	store_session_foreach(srv->store, tracker_rebuild_one, srv);
	zk_log_info("%zu session(s) restored, each with a fresh timeout", srv->sessions.count);
}

/* The store was replaced by a snapshot: drop sessions it no longer has, add the new ones. */
void tracker_resync(struct zkfsd *srv)
{
	for (size_t i = 0; i < srv->sessions.n_buckets; i++) {
		struct session *s = srv->sessions.buckets[i], *next;

		for (; s != NULL; s = next) {
			next = s->hnext;
			if (store_session_get(srv->store, s->id, NULL, NULL) != ZK_ERR_OK)
				tracker_remove(srv, s->id);
		}
	}
	tracker_rebuild(srv);
}

/* On the leader: a follower reports traffic of @id. */
void tracker_touched(struct zkfsd *srv, int64_t id)
{
	struct session *s = tracker_find(srv, id);

	if (s != NULL)
		tracker_touch(srv, s);
}
