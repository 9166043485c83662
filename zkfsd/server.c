/* server: the zkfsd process on its libuv loop: store + repl, the client listener, the flush
 * step, the periodic timers and the clean stop.
 *
 * Periodic work (STYLE.md §6):
 *  - session_timer, every max(tickTime/2, 1) ms: session expiry (ZooKeeper's tracker checks
 *    at tick granularity, so a session expires between timeout and timeout + tick/2 of
 *    silence);
 *  - container_timer, every znode.container.checkIntervalMs (5 s by default, against
 *    ZooKeeper's 60 s: see CONFIG_DEFAULT_CONTAINER_CHECK_MS): on the leader, empty containers
 *    and expired TTL nodes get deleteContainer transactions.
 * The flush step is a uv_prepare: once per loop turn, after every callback of the turn ran,
 * each dirty connection submits what it can and writes its replies and events in one write.
 *
 * Replay (server_serving): ZooKeeper loads its whole log before it serves a client. A zkfsd
 * answers no session until its applied index reaches the last index of the log it found at
 * start: a standalone server applies it inside repl_start, an ensemble member only once a
 * leader tells it the commit index, and until then its store (sessions included) is older
 * than what was acknowledged before the restart. */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/zk_log.h"
#include "zkfsd/admin.h"
#include "zkfsd/metrics.h"
#include "zkfsd/zkfsd_int.h"

static void server_on_flush(uv_prepare_t *h)
{
	struct zkfsd *srv = h->data;
	uint64_t t0 = uv_hrtime();

	conn_flush_all(srv);
	server_work_done(srv, t0, "the flush step (replies and events of the turn)");
	if (srv->dirty == NULL)
		uv_prepare_stop(h);
}

void server_wake_flush(struct zkfsd *srv)
{
	if (uv_prepare_start(&srv->flush, server_on_flush) != 0)
		zk_log_error("cannot start the flush step");
}

static void server_on_applied(void *ctx, int64_t zxid, const struct store_txn *txn,
			      const struct store_result *res)
{
	struct zkfsd *srv = ctx;
	uint64_t t0 = uv_hrtime();

	if (srv->replay.target != 0 && (uint64_t)zxid >= srv->replay.target)
		server_serving(srv);
	request_applied(ctx, zxid, txn, res);
	server_work_done(ctx, t0, "answering the applied txn type %d zxid 0x%" PRIx64, txn->type,
			 (uint64_t)zxid);
}

static void server_on_session_touched(void *ctx, int64_t session_id)
{
	tracker_touched(ctx, session_id);
}

static void server_on_store_replaced(void *ctx, int64_t zxid)
{
	zk_log_info("store replaced by a snapshot at zxid 0x%llx: sessions resynced",
		    (unsigned long long)zxid);
	tracker_resync(ctx);
}

static void server_on_session_timer(uv_timer_t *t)
{
	tracker_check_expiry(t->data);
	conn_reap(t->data);
}

/* ---- Loop stalls ---------------------------------------------------------------------------- */

static uint64_t server_ms(uint64_t ns)
{
	return ns / 1000000;
}

void server_work_done(struct zkfsd *srv, uint64_t t0, const char *fmt, ...)
{
	uint64_t ns = uv_hrtime() - t0;
	va_list ap;

	srv->stall.pieces++;
	if (ns <= srv->stall.cause_ns || ns < 1000000)
		return;
	srv->stall.cause_ns = ns;
	va_start(ap, fmt);
	vsnprintf(srv->stall.cause, sizeof(srv->stall.cause), fmt, ap);
	va_end(ap);
}

/* CPU time of the loop thread, in ns (what a turn really spent, preemption aside). */
static uint64_t server_cpu_ns(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0)
		return 0;
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* One stall line a second at most, so a client that causes many cannot flood the log. */
static void server_stall_log(struct zkfsd *srv, uint64_t now, uint64_t busy_ms, uint64_t cpu_ms)
{
	struct server_stall *st = &srv->stall;

	if (st->logged_ns != 0 && now - st->logged_ns < 1000000000ULL) {
		st->unlogged++;
		return;
	}
	zk_log_warn("loop stalled %" PRIu64 " ms (cpu %" PRIu64 " ms): %" PRIu64
		    " timed piece(s) of work, the longest %s%s (%" PRIu64 " ms)%s",
		    busy_ms, cpu_ms, st->pieces, st->cause[0] ? st->cause : "none over 1 ms",
		    st->cause[0] ? "" : " (the rest: replication's log writes, snapshots)",
		    server_ms(st->cause_ns),
		    st->unlogged ? "; more stalls since the last line" : "");
	st->logged_ns = now;
	st->unlogged = 0;
}

/* After every poll phase: the turn since the previous check step worked for its wall time
 * minus the time the poll blocked. */
static void server_on_check(uv_check_t *h)
{
	struct zkfsd *srv = h->data;
	struct server_stall *st = &srv->stall;
	uint64_t now = uv_hrtime(), idle = uv_metrics_idle_time(srv->loop), cpu = server_cpu_ns();
	uint64_t busy_ms = server_ms((now - st->turn_ns) - (idle - st->idle_ns));
	uint64_t cpu_ms = server_ms(cpu - st->cpu_ns);

	st->turn_ns = now;
	st->idle_ns = idle;
	st->cpu_ns = cpu;
	if (busy_ms > SERVER_STALL_MS) {
		srv->stats.loop_stalls++;
		if (busy_ms > srv->stats.loop_stall_max_ms)
			srv->stats.loop_stall_max_ms = busy_ms;
		st->unclaimed_ms += busy_ms;
		server_stall_log(srv, now, busy_ms, cpu_ms);
	}
	st->cause_ns = 0;
	st->pieces = 0;
	st->cause[0] = '\0';
}

uint64_t server_stall_claim(struct zkfsd *srv)
{
	uint64_t ms = srv->stall.unclaimed_ms, since = server_ms(uv_hrtime() - srv->stall.turn_ns);

	/* The check step has not seen the work of this turn's timers yet. */
	if (since > SERVER_STALL_MS)
		ms += since;
	srv->stall.unclaimed_ms = 0;
	return ms;
}

void server_refuse(struct zkfsd *srv, enum zkfsd_refusal r, const char *fmt, ...)
{
	struct server_stall *st = &srv->stall;
	uint64_t now = uv_hrtime();
	char line[256];
	va_list ap;

	assert(r < ZKFSD_REFUSED_N);
	srv->stats.refused[r]++;
	if (st->refusal_logged_ns[r] != 0 && now - st->refusal_logged_ns[r] < 1000000000ULL) {
		st->refusal_unlogged[r]++;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	zk_log_warn("%s%s", line, st->refusal_unlogged[r] ? " (and more like it since the last line)"
							     : "");
	st->refusal_logged_ns[r] = now;
	st->refusal_unlogged[r] = 0;
}

static int server_stall_init(struct zkfsd *srv)
{
	int rv = uv_loop_configure(srv->loop, UV_METRICS_IDLE_TIME);

	if (rv != 0)
		return rv;
	rv = uv_check_init(srv->loop, &srv->stall.check);
	if (rv != 0)
		return rv;
	srv->stall.check.data = srv;
	srv->stall.turn_ns = uv_hrtime();
	srv->stall.idle_ns = uv_metrics_idle_time(srv->loop);
	srv->stall.cpu_ns = server_cpu_ns();
	return uv_check_start(&srv->stall.check, server_on_check);
}

/* ---- Containers and TTL nodes ------------------------------------------------------------ */

struct server_gc {
	struct repl_req req; /* Embedded submit. */
	char *path;	     /* Owned. */
};

static void server_gc_done(struct repl_req *req, int status)
{
	struct server_gc *gc = req->data;

	if (status != 0)
		zk_log_warn("deleteContainer %s failed: %d (retried next period)", gc->path,
			    status);
	free(gc->path);
	free(gc);
}

struct server_gc_list {
	char **paths; /* Owned. */
	int n, cap;   /* Used / allocated. */
};

static void server_gc_collect(void *ctx, const char *path, int32_t op)
{
	struct server_gc_list *l = ctx;

	(void)op;
	if (l->n == l->cap) {
		int cap = l->cap ? l->cap * 2 : 16;
		char **p = realloc(l->paths, sizeof(*p) * (size_t)cap);

		if (p == NULL)
			return;
		l->paths = p;
		l->cap = cap;
	}
	l->paths[l->n] = strdup(path);
	if (l->paths[l->n] != NULL)
		l->n++;
}

static void server_gc_submit(struct zkfsd *srv, char *path, int64_t now_ms)
{
	struct store_txn txn = {.type = ZK_OP_DELETE_CONTAINER, .time_ms = now_ms};
	struct server_gc *gc = calloc(1, sizeof(*gc));

	txn.op.type = ZK_OP_DELETE_CONTAINER;
	txn.op.path = path;
	txn.op.version = -1;
	txn.op.ttl = -1;
	if (gc == NULL) {
		free(path);
		return;
	}
	gc->path = path;
	gc->req.data = gc;
	if (repl_submit(srv->repl, &gc->req, &txn, server_gc_done) != 0) {
		free(path);
		free(gc);
	}
}

static void server_on_container_timer(uv_timer_t *t)
{
	struct zkfsd *srv = t->data;
	struct server_gc_list l = {0};
	struct timespec ts;
	uint64_t t0 = uv_hrtime();
	int64_t now_ms;

	if (repl_role(srv->repl) != REPL_LEADER)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	now_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	store_collect_expired(srv->store, now_ms, server_gc_collect, &l);
	for (int i = 0; i < l.n; i++)
		server_gc_submit(srv, l.paths[i], now_ms);
	free(l.paths);
	server_work_done(srv, t0, "container/TTL scan (%d node(s) to delete)", l.n);
}

/* ---- Replay of the own log ------------------------------------------------------------- */

/* Before repl_start: what "replayed" will be counted from. */
static void server_replay_begin(struct zkfsd *srv)
{
	srv->replay.start_ns = uv_hrtime();
}

/* After repl_start: the log found at start is what must be applied before serving. */
static void server_replay_target(struct zkfsd *srv)
{
	struct repl_stats st;

	repl_stats(srv->repl, &st);
	srv->replay.snapshot = st.snapshot_index;
	srv->replay.target = repl_last_index(srv->repl);
	if (srv->replay.target == 0)
		srv->replay.target = 1; /* An empty log (joining): once it applied from a leader. */
	if (!server_serving(srv))
		zk_log_info("replaying the log up to index %" PRIu64 " (applied %" PRId64
			    ") before serving clients: it was written before the restart",
			    srv->replay.target, repl_applied_zxid(srv->repl));
}

bool server_serving(struct zkfsd *srv)
{
	struct server_replay *rp = &srv->replay;
	uint64_t last;

	if (rp->target == 0)
		return true;
	last = repl_last_index(srv->repl);
	if (last < rp->target) {
		/* The leader cut an uncommitted tail: it was never acknowledged to anyone. */
		zk_log_info("log tail after index %" PRIu64 " cut by the leader (never committed)",
			    last);
		rp->target = last;
	}
	if ((uint64_t)repl_applied_zxid(srv->repl) < rp->target)
		return false;
	zk_log_info("serving clients: replayed %" PRIu64 " log entr%s after the snapshot at "
		    "index %" PRIu64 ", applied index %" PRId64 ", %.1f ms after the start",
		    rp->target - rp->snapshot, rp->target - rp->snapshot == 1 ? "y" : "ies",
		    rp->snapshot, repl_applied_zxid(srv->repl),
		    (double)(uv_hrtime() - rp->start_ns) / 1e6);
	rp->target = 0;
	return true;
}

static void server_replay_barrier_cb(struct repl_req *req, int status)
{
	struct zkfsd *srv = req->data;

	srv->replay.barrier_pending = false;
	if (srv->stopping)
		return;
	if (status != 0)
		zk_log_warn("the replaying leader's barrier failed (%d): retried", status);
	server_serving(srv);
}

/* A Raft leader commits the entries of earlier terms only with one of its own (Raft §5.4.2):
 * after a restart of the whole ensemble, a leader that got no write would never apply them.
 * A barrier is such an entry (ZooKeeper's new leader likewise syncs its followers first). */
static void server_replay_barrier(struct zkfsd *srv)
{
	struct server_replay *rp = &srv->replay;

	if (rp->target == 0 || rp->barrier_pending || repl_role(srv->repl) != REPL_LEADER)
		return;
	rp->barrier.data = srv;
	if (repl_barrier(srv->repl, &rp->barrier, server_replay_barrier_cb) == 0)
		rp->barrier_pending = true;
}

/* ---- Quorum ------------------------------------------------------------------------------ */

/* Close the connections that carry a session or a handshake (a four-letter word being
 * answered on a new connection finishes). */
static void server_close_clients(struct zkfsd *srv)
{
	struct conn *c = srv->conns, *next;

	for (; c != NULL; c = next) {
		next = c->next;
		if (c->state == CONN_HANDSHAKE || c->state == CONN_READY)
			conn_close(c, NULL);
	}
}

/* Ensemble, every heartbeat: a server that knows no leader for an election timeout is outside
 * a quorum. Like ZooKeeper's, it then stops serving: its clients are disconnected so that
 * they move to a server of the majority (their sessions live on there: the new leader gave
 * every session a fresh timeout, tracker_check_expiry), and handshakes are refused until a
 * leader is known again (request_connect). libraft 0.15 has no leader callback: polled. */
static void server_on_quorum_timer(uv_timer_t *t)
{
	struct zkfsd *srv = t->data;
	uint64_t now = uv_now(srv->loop), leader = repl_leader_id(srv->repl);

	if (leader != srv->leader_seen) {
		/* Leadership moved, maybe away and back between two expiry checks: the next
		 * check on a leader starts every session's clock afresh (tracker.c). */
		srv->was_leader = false;
		srv->leader_seen = leader;
	}
	if (leader != 0 && !server_serving(srv))
		server_replay_barrier(srv);
	if (leader != 0) {
		srv->leaderless_since_ms = 0;
		if (srv->no_quorum)
			zk_log_info("leader is server %llu: serving clients",
				    (unsigned long long)leader);
		srv->no_quorum = false;
		if (srv->held) {
			/* Writes held during the election (request_submit): submit them now. */
			srv->held = false;
			for (struct conn *c = srv->conns; c != NULL; c = c->next)
				conn_mark_dirty(c);
		}
		return;
	}
	if (srv->leaderless_since_ms == 0)
		srv->leaderless_since_ms = now;
	if (srv->no_quorum || now - srv->leaderless_since_ms < srv->election_timeout_ms)
		return;
	srv->no_quorum = true;
	zk_log_warn("no leader for %llu ms: out of quorum, closing %d client connection(s) and "
		    "refusing new sessions until a leader is known",
		    (unsigned long long)(now - srv->leaderless_since_ms), srv->n_conns);
	server_close_clients(srv);
}

/* ---- Start ------------------------------------------------------------------------------- */

static void server_on_signal(uv_signal_t *h, int signum)
{
	zk_log_info("signal %d: stopping", signum);
	server_stop(h->data);
}

static int server_init_handles(struct zkfsd *srv)
{
	uv_handle_t *handles[] = {(uv_handle_t *)&srv->flush, (uv_handle_t *)&srv->session_timer,
				  (uv_handle_t *)&srv->container_timer,
				  (uv_handle_t *)&srv->quorum_timer,
				  (uv_handle_t *)&srv->sig_term, (uv_handle_t *)&srv->sig_int};

	if (uv_prepare_init(srv->loop, &srv->flush) || uv_timer_init(srv->loop, &srv->session_timer) ||
	    uv_timer_init(srv->loop, &srv->container_timer) ||
	    uv_timer_init(srv->loop, &srv->quorum_timer) ||
	    uv_signal_init(srv->loop, &srv->sig_term) || uv_signal_init(srv->loop, &srv->sig_int))
		return -ENOMEM;
	for (size_t i = 0; i < sizeof(handles) / sizeof(handles[0]); i++)
		handles[i]->data = srv;
	if (uv_signal_start(&srv->sig_term, server_on_signal, SIGTERM) ||
	    uv_signal_start(&srv->sig_int, server_on_signal, SIGINT))
		return -EIO;
	return 0;
}

int server_init(struct zkfsd *srv, uv_loop_t *loop, const struct config *cfg)
{
	struct store_config sc;
	int rv;

	memset(srv, 0, sizeof(*srv));
	srv->loop = loop;
	srv->cfg = cfg;
	srv->stats.latency_min_ms = UINT64_MAX;
	srv->start_ms = uv_now(loop);
	rv = server_init_handles(srv); /* First: server_stop may then run after any failure. */
	if (rv != 0)
		return rv;
	rv = server_stall_init(srv);
	if (rv != 0)
		return rv;
	store_config_init(&sc);
	sc.max_data_len = cfg->jute_maxbuffer;
	rv = store_create(&sc, watch_on_event, srv, &srv->store);
	if (rv != 0)
		return rv;
	if (tracker_table_init(&srv->sessions) != 0 || watch_table_init(&srv->data_watches) != 0 ||
	    watch_table_init(&srv->child_watches) != 0)
		return -ENOMEM;
	return 0;
}

struct repl_server *server_repl_config(const struct config *cfg, struct repl_config *rc)
{
	struct repl_server *servers = calloc((size_t)cfg->n_servers + 1, sizeof(*servers));

	if (servers == NULL)
		return NULL;
	for (int i = 0; i < cfg->n_servers; i++)
		servers[i] = (struct repl_server){cfg->servers[i].id, cfg->servers[i].host,
						  cfg->servers[i].raft_port,
						  cfg->servers[i].peer_port, cfg->servers[i].observer,
						  cfg->servers[i].client_address,
						  cfg->servers[i].client_port};
	repl_config_init(rc);
	rc->data_dir = cfg->data_dir;
	rc->id = cfg->myid;
	rc->servers = servers;
	rc->n_servers = cfg->n_servers;
	rc->snapshot_threshold = cfg->snap_count;
	rc->max_client_frame = cfg->jute_maxbuffer;
	if (cfg->ssl_quorum) {
		rc->tls_keystore = cfg->ssl_quorum_keystore;
		rc->tls_truststore = cfg->ssl_quorum_truststore;
		rc->tls_no_hostname_verification = cfg->ssl_quorum_no_hostname_check;
	}
	return servers;
}

int server_start_repl(struct zkfsd *srv)
{
	const struct config *cfg = srv->cfg;
	struct repl_config rc;
	struct repl_server *servers = server_repl_config(cfg, &rc);
	uint64_t period = cfg->tick_ms / 2 > 0 ? (uint64_t)cfg->tick_ms / 2 : 1;
	int rv;

	if (servers == NULL)
		return -ENOMEM;
	rv = join_decide(srv, &rc.join);
	if (rv != 0) {
		free(servers);
		return rv;
	}
	srv->election_timeout_ms = rc.election_timeout_ms;
	/* An ensemble server serves no client before it knows a leader (ZooKeeper's servers
	 * serve once they are in a quorum). */
	srv->no_quorum = cfg->n_servers > 0;
	rv = repl_create(srv->loop, &rc, srv->store, server_on_applied, srv, &srv->repl);
	free(servers);
	if (rv != 0)
		return rv;
	srv->repl_open = true;
	repl_set_hooks(srv->repl, &(struct repl_hooks){.session_touched = server_on_session_touched,
							.store_replaced = server_on_store_replaced,
							.build = request_build_forwarded,
							.reconfig_allowed = reconfig_allowed});
	if (cfg->n_servers > 0 && cfg->ssl_quorum)
		zk_log_info("quorum TLS (sslQuorum): the Raft and peer ports take only members "
			    "proven by a certificate of %s", cfg->ssl_quorum_truststore);
	else if (cfg->n_servers > 0)
		zk_log_warn("quorum traffic (Raft and peer ports) is not authenticated: only the "
			    "configured members' addresses are accepted; firewall these ports "
			    "from every other host (see README, Security)");
	server_replay_begin(srv);
	rv = repl_start(srv->repl);
	if (rv != 0)
		return rv;
	server_replay_target(srv);
	tracker_rebuild(srv);
	srv->session_timer.data = srv;
	srv->container_timer.data = srv;
	uv_timer_start(&srv->session_timer, server_on_session_timer, period, period);
	uv_timer_start(&srv->container_timer, server_on_container_timer,
		       (uint64_t)cfg->container_check_ms, (uint64_t)cfg->container_check_ms);
	if (cfg->n_servers > 0)
		uv_timer_start(&srv->quorum_timer, server_on_quorum_timer, 0,
			       REPL_DEFAULT_HEARTBEAT_TIMEOUT_MS);
	return 0;
}

static void server_on_connection(uv_stream_t *s, int status)
{
	struct zkfsd *srv = s->data;
	bool secure = s == (uv_stream_t *)&srv->secure_listener;

	if (status < 0) {
		zk_log_warn("accept: %s", uv_strerror(status));
		return;
	}
	conn_accept(srv, (uv_tcp_t *)s, secure ? srv->tls_ctx : NULL);
}

/* Listen on clientPortAddress:@port with @h (@open set once it must be closed). */
static int server_listen_on(struct zkfsd *srv, uv_tcp_t *h, bool *open, uint16_t port)
{
	const struct config *cfg = srv->cfg;
	struct sockaddr_storage ss;
	int rv;

	if (uv_ip4_addr(cfg->client_address, port, (struct sockaddr_in *)&ss) != 0 &&
	    uv_ip6_addr(cfg->client_address, port, (struct sockaddr_in6 *)&ss) != 0) {
		zk_log_error("clientPortAddress %s is not an IP address", cfg->client_address);
		return -EINVAL;
	}
	rv = uv_tcp_init(srv->loop, h);
	if (rv != 0)
		return rv;
	h->data = srv;
	*open = true;
	rv = uv_tcp_bind(h, (struct sockaddr *)&ss, 0);
	if (rv == 0)
		rv = uv_listen((uv_stream_t *)h, 1024, server_on_connection);
	if (rv != 0)
		zk_log_error("cannot listen on %s:%u: %s", cfg->client_address, port,
			     uv_strerror(rv));
	return rv;
}

int server_listen(struct zkfsd *srv)
{
	const struct config *cfg = srv->cfg;
	int rv = saslauth_init(srv);

	if (rv == 0)
		rv = server_listen_on(srv, &srv->listener, &srv->listening, cfg->client_port);
	if (rv != 0)
		return rv;
	zk_log_info("serving clients on %s:%u, data in %s", cfg->client_address, cfg->client_port,
		    cfg->data_dir);
	if (cfg->secure_client_port == 0)
		return 0;
	rv = tls_ctx_create(cfg, &srv->tls_ctx);
	if (rv == 0)
		rv = server_listen_on(srv, &srv->secure_listener, &srv->secure_listening,
				      cfg->secure_client_port);
	if (rv == 0)
		zk_log_info("serving TLS clients on %s:%u (ssl.clientAuth=%s)",
			    cfg->client_address, cfg->secure_client_port,
			    cfg->ssl_client_auth ? cfg->ssl_client_auth : "need");
	return rv;
}

/* ---- Stop ---------------------------------------------------------------------------------- */

static void server_on_repl_closed(struct repl *r)
{
	(void)r;
	zk_log_info("replication closed");
}

void server_stop(struct zkfsd *srv)
{
	if (srv->stopping || srv->loop == NULL) /* Stopping, or server_init never ran. */
		return;
	srv->stopping = true;
	if (srv->listening) {
		uv_close((uv_handle_t *)&srv->listener, NULL);
		srv->listening = false;
	}
	if (srv->secure_listening) {
		uv_close((uv_handle_t *)&srv->secure_listener, NULL);
		srv->secure_listening = false;
	}
	conn_close_all(srv);
	metrics_stop(srv);
	admin_stop(srv);
	uv_close((uv_handle_t *)&srv->session_timer, NULL);
	uv_close((uv_handle_t *)&srv->container_timer, NULL);
	uv_close((uv_handle_t *)&srv->quorum_timer, NULL);
	if (uv_is_active((uv_handle_t *)&srv->stall.check))
		uv_close((uv_handle_t *)&srv->stall.check, NULL);
	uv_close((uv_handle_t *)&srv->sig_term, NULL);
	uv_close((uv_handle_t *)&srv->sig_int, NULL);
	if (srv->repl_open) {
		srv->repl_open = false;
		repl_close(srv->repl, server_on_repl_closed);
	}
	/* The flush step stays open until everything else closed (write callbacks may still
	 * reach it); server_close closes it. */
}

void server_close(struct zkfsd *srv)
{
	if (srv->loop == NULL)
		return;
	conn_flush_all(srv);
	if (!uv_is_closing((uv_handle_t *)&srv->flush)) {
		uv_close((uv_handle_t *)&srv->flush, NULL);
		uv_run(srv->loop, UV_RUN_DEFAULT);
	}
	watch_table_close(&srv->data_watches);
	watch_table_close(&srv->child_watches);
	tracker_table_close(&srv->sessions);
	free(srv->read_buf);
	srv->read_buf = NULL;
	store_destroy(srv->store);
	srv->store = NULL;
	SSL_CTX_free(srv->tls_ctx);
	srv->tls_ctx = NULL;
}
