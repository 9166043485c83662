/* test_replication_cluster.c: real ensembles on loopback (libraft's TCP transport and the peer
 * port of replication/forward.c), several repl instances in one loop, ports 22000-22049:
 * election, writes forwarded by followers and observers, sync on a follower, graceful leader
 * hand-over, session touches reaching the leader, membership changes. */
#include <signal.h>
#include <string.h>

#include "replication/replication_int.h"
#include "test_repl_util.h"

#define MAX_NODES 5
/* Each ensemble takes 10 consecutive ports at 22000 + 10 * k (k < 4): a test that finds its ports
 * taken (another run of this binary, its twin on the real store) moves to the next k. */
#define PORT_BASE 22000
#define PORT_SLOTS 4 /* 22040-22049: bench_repl_cluster */

struct fixture {
	uv_loop_t loop;
	char *dir;
	struct repl_server servers[MAX_NODES];
	int n_servers;		     /* In the bootstrap configuration. */
	struct tr_node nodes[MAX_NODES];
	char dirs[MAX_NODES][300];
	int port_base;
	unsigned heartbeat_ms, election_ms; /* 0 = defaults */
	unsigned snapshot_threshold, snapshot_trailing; /* 0 = defaults */
	int replaced;		     /* store_replaced calls (any node). */
	int touched;		     /* session_touched calls on the leader. */
	int64_t touched_id;
};

static void on_touch(void *ctx, int64_t session_id);
static void on_replaced(void *ctx, int64_t zxid);

/* The running test's fixture, for the hooks (their ctx is the node). */
static struct fixture *current;

static void server_init(struct fixture *f, int i, bool observer)
{
	struct repl_server *s = &f->servers[i];

	s->id = (uint64_t)i + 1;
	s->host = i == 2 ? "localhost" : "127.0.0.1"; /* a name is resolved by repl_create */
	s->raft_port = (uint16_t)(f->port_base + 2 * i);
	s->peer_port = (uint16_t)(f->port_base + 2 * i + 1);
	s->observer = observer;
	snprintf(f->dirs[i], sizeof(f->dirs[i]), "%s/p%d-n%d", f->dir, f->port_base, i + 1);
	tr_node_init(&f->nodes[i], &f->loop, f->dirs[i]);
	f->nodes[i].cfg.id = s->id;
	f->nodes[i].cfg.servers = f->servers;
	f->nodes[i].cfg.snapshot_threshold = f->snapshot_threshold;
	f->nodes[i].cfg.snapshot_trailing = f->snapshot_trailing;
	f->nodes[i].cfg.install_snapshot_timeout_ms = 2000;
	if (f->heartbeat_ms != 0) {
		f->nodes[i].cfg.heartbeat_timeout_ms = f->heartbeat_ms;
		f->nodes[i].cfg.election_timeout_ms = f->election_ms;
	}
}

/* Start the ensemble on the current port slot; false (everything closed) when a server
 * cannot start, e.g. its ports are taken. */
static bool try_start(struct fixture *f, int n, int n_obs)
{
	struct repl_hooks hooks = {.session_touched = on_touch, .store_replaced = on_replaced,
				   .build = tr_build};
	int i, j;

	f->n_servers = n + n_obs;
	for (i = 0; i < f->n_servers; i++) {
		server_init(f, i, i >= n);
		f->nodes[i].cfg.n_servers = f->n_servers;
	}
	for (i = 0; i < f->n_servers; i++) {
		if (tr_node_open(&f->nodes[i]) != 0) {
			for (j = 0; j < f->n_servers; j++)
				tr_node_fini(&f->nodes[j]);
			memset(f->nodes, 0, sizeof(f->nodes));
			return false;
		}
		repl_set_hooks(f->nodes[i].repl, &hooks);
	}
	return true;
}

/* An ensemble of @n voters plus @n_obs observers, all started. */
static void start_ensemble(struct fixture *f, int n, int n_obs)
{
	int k;

	for (k = 0; k < PORT_SLOTS; k++) {
		f->port_base = PORT_BASE + 10 * k;
		if (try_start(f, n, n_obs))
			return;
		print_message("    ports %d-%d busy, trying the next ones\n", f->port_base,
			      f->port_base + 9);
	}
	fail_msg("no free port slot in %d-%d", PORT_BASE, PORT_BASE + 10 * PORT_SLOTS - 1);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	uv_loop_init(&f->loop);
	f->dir = tr_tmpdir("cluster");
	current = f;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	int i;

	for (i = 0; i < MAX_NODES; i++)
		if (f->nodes[i].digest_at != NULL)
			tr_node_fini(&f->nodes[i]);
	assert_int_equal(uv_loop_close(&f->loop), 0);
	tr_rmdir(f->dir);
	free(f->dir);
	free(f);
	return 0;
}

static void on_touch(void *ctx, int64_t session_id)
{
	struct fixture *f = current;

	(void)ctx;
	f->touched++;
	f->touched_id = session_id;
}

static void on_replaced(void *ctx, int64_t zxid)
{
	(void)ctx;
	(void)zxid;
	current->replaced++;
}

struct until {
	struct fixture *f;
	bool (*pred)(struct fixture *f, void *arg);
	void *arg;
	bool met;
};

static void until_check(uv_timer_t *t)
{
	struct until *u = t->data;

	u->met = u->pred(u->f, u->arg);
}

/* Run the loop until @pred holds (checked every 10 ms) or @ms elapse. */
static bool run_until(struct fixture *f, bool (*pred)(struct fixture *f, void *arg), void *arg,
		      unsigned ms)
{
	struct until u = {f, pred, arg, false};
	uv_timer_t t;

	uv_timer_init(&f->loop, &t);
	t.data = &u;
	uv_timer_start(&t, until_check, 0, 10);
	tr_run_until(&f->loop, &u.met, ms);
	tr_close_handle(&f->loop, (uv_handle_t *)&t);
	return u.met;
}

/* Every running node knows the same leader, which is one of them. */
static bool agreed_leader(struct fixture *f, void *arg)
{
	uint64_t leader = 0;
	int i;

	(void)arg;
	for (i = 0; i < MAX_NODES; i++) {
		struct repl *r = f->nodes[i].repl;
		if (r == NULL)
			continue;
		if (repl_leader_id(r) == 0 || (leader != 0 && repl_leader_id(r) != leader))
			return false;
		leader = repl_leader_id(r);
	}
	return leader != 0 && f->nodes[leader - 1].repl != NULL &&
	       repl_role(f->nodes[leader - 1].repl) == REPL_LEADER;
}

/* libraft draws each election timeout from [T, 2T]; a split vote costs another round, so the
 * wait covers several rounds of the configured timeout (3 s in one test), not a fixed 10 s. */
static int leader_index(struct fixture *f)
{
	unsigned rounds_ms = f->election_ms != 0 ? 6 * f->election_ms : 0;

	assert_true(run_until(f, agreed_leader, NULL, rounds_ms > 10000 ? rounds_ms : 10000));
	return (int)repl_leader_id(f->nodes[0].repl != NULL ? f->nodes[0].repl
							    : f->nodes[1].repl) - 1;
}

/* All running nodes have applied up to the same zxid with the same digest. */
static bool converged(struct fixture *f, void *arg)
{
	int i, first = -1;

	(void)arg;
	for (i = 0; i < MAX_NODES; i++) {
		if (f->nodes[i].repl == NULL)
			continue;
		if (first < 0) {
			first = i;
			continue;
		}
		if (store_last_zxid(f->nodes[i].store) != store_last_zxid(f->nodes[first].store) ||
		    store_digest(f->nodes[i].store) != store_digest(f->nodes[first].store))
			return false;
	}
	return true;
}

static int follower_of(struct fixture *f, int leader)
{
	return leader == 0 ? 1 : 0;
}

/* Prepare node 0 alone on a free port slot, with its Raft port (@raft) or its peer port taken
 * by @squatter (a listening socket of the test). */
static void squat_port(struct fixture *f, bool raft, uv_tcp_t *squatter)
{
	struct sockaddr_in addr;
	int k, rv = -1;

	for (k = 0; k < PORT_SLOTS && rv != 0; k++) {
		f->port_base = PORT_BASE + 10 * k;
		server_init(f, 0, false);
		f->nodes[0].cfg.n_servers = 1;
		uv_tcp_init(&f->loop, squatter);
		uv_ip4_addr("127.0.0.1", raft ? f->servers[0].raft_port : f->servers[0].peer_port,
			    &addr);
		rv = uv_tcp_bind(squatter, (const struct sockaddr *)&addr, 0);
		if (rv == 0)
			rv = uv_listen((uv_stream_t *)squatter, 1, NULL);
		if (rv != 0) {
			tr_close_handle(&f->loop, (uv_handle_t *)squatter);
			tr_node_fini(&f->nodes[0]);
			memset(&f->nodes[0], 0, sizeof(f->nodes[0]));
		}
	}
	assert_int_equal(rv, 0);
}

/* A peer port already taken fails repl_start with -EADDRINUSE (logged), and the repl still
 * closes cleanly. */
static void peer_port_in_use(void **state)
{
	struct fixture *f = *state;
	uv_tcp_t squatter;

	squat_port(f, false, &squatter);
	assert_int_equal(tr_node_open(&f->nodes[0]), -EADDRINUSE);
	tr_node_close(&f->nodes[0]);
	tr_close_handle(&f->loop, (uv_handle_t *)&squatter);
}

/* A Raft port already taken fails repl_start with an error message that says so. */
static void raft_port_in_use(void **state)
{
	struct fixture *f = *state;
	uv_tcp_t squatter;

	squat_port(f, true, &squatter);
	assert_int_equal(tr_node_open(&f->nodes[0]), -EADDRINUSE);
	assert_non_null(strstr(repl_errmsg(f->nodes[0].repl), "Raft port"));
	tr_node_close(&f->nodes[0]);
	tr_close_handle(&f->loop, (uv_handle_t *)&squatter);
}

/* Three voters elect one leader, and all of them learn who it is. */
static void election(void **state)
{
	struct fixture *f = *state;
	uint64_t t0 = uv_hrtime();
	int leader;

	start_ensemble(f, 3, 0);
	leader = leader_index(f);
	print_message("    leader %d agreed after %.0f ms\n", leader + 1, (uv_hrtime() - t0) / 1e6);
	assert_int_equal(repl_role(f->nodes[follower_of(f, leader)].repl), REPL_FOLLOWER);
}

/* A write submitted on a follower is forwarded, committed, applied on the follower before
 * its request completes, and every replica ends equal. */
static void follower_forwards_writes(void **state)
{
	struct fixture *f = *state;
	int leader, follower;

	start_ensemble(f, 3, 0);
	leader = leader_index(f);
	follower = follower_of(f, leader);
	assert_int_equal(tr_submit_n(&f->nodes[follower], "f", 0, 100, 10000), 0);
	assert_int_equal(f->nodes[follower].early_done, 0);
	assert_int_equal(tr_submit_n(&f->nodes[leader], "l", 100, 100, 10000), 0);
	assert_true(run_until(f, converged, NULL, 10000));
	assert_int_equal(f->nodes[leader].n_applied, f->nodes[follower].n_applied);
}

/* Sequential writes on a follower are not held until the leader's next heartbeat (which
 * would tell the follower the commit index): with a 1 s heartbeat, 20 writes one after the
 * other take well under 20 s. The commit reaches the follower without an entry of its own
 * (forward.c's commit notices): the log grows by one entry per write. */
static void forwarded_write_not_delayed_by_heartbeat(void **state)
{
	struct fixture *f = *state;
	uint64_t t0, index0;
	int leader, follower, i;
	char prefix[16];

	f->heartbeat_ms = 1000;
	f->election_ms = 3000;
	start_ensemble(f, 3, 0);
	leader = leader_index(f);
	follower = follower_of(f, leader);
	assert_int_equal(tr_submit_n(&f->nodes[follower], "w", 0, 1, 10000), 0);
	index0 = repl_last_index(f->nodes[leader].repl);
	t0 = uv_hrtime();
	for (i = 1; i <= 20; i++) {
		snprintf(prefix, sizeof(prefix), "s%d", i);
		assert_int_equal(tr_submit_n(&f->nodes[follower], prefix, i, 1, 10000), 0);
	}
	print_message("    20 sequential forwarded writes: %.0f ms\n", (uv_hrtime() - t0) / 1e6);
	assert_true(uv_hrtime() - t0 < 5000000000ull);
	assert_int_equal(repl_last_index(f->nodes[leader].repl) - index0, 20);
}

/* repl_barrier on a follower completes once it has applied what the leader had. */
static void follower_barrier(void **state)
{
	struct fixture *f = *state;
	struct tr_batch b = {.n = 1};
	struct repl_req req = {.data = &b};
	int leader, follower;
	int64_t leader_zxid;

	start_ensemble(f, 3, 0);
	leader = leader_index(f);
	follower = follower_of(f, leader);
	b.node = &f->nodes[follower];
	b.reqs = &req;
	assert_int_equal(tr_submit_n(&f->nodes[leader], "l", 0, 50, 10000), 0);
	leader_zxid = store_last_zxid(f->nodes[leader].store);
	assert_int_equal(repl_barrier(f->nodes[follower].repl, &req, tr_batch_cb), 0);
	assert_true(tr_run_until(&f->loop, &b.all_done, 5000));
	assert_int_equal(b.failed, 0);
	assert_true(store_last_zxid(f->nodes[follower].store) >= leader_zxid);
}

/* Closing the leader hands leadership over: the others agree on a new leader quickly and
 * keep accepting writes. */
static void graceful_leader_close(void **state)
{
	struct fixture *f = *state;
	uint64_t t0;
	int leader, next;

	start_ensemble(f, 3, 0);
	leader = leader_index(f);
	assert_int_equal(tr_submit_n(&f->nodes[leader], "a", 0, 20, 10000), 0);
	t0 = uv_hrtime();
	tr_node_close(&f->nodes[leader]);
	next = leader_index(f);
	print_message("    new leader %d after %.0f ms\n", next + 1, (uv_hrtime() - t0) / 1e6);
	assert_true(next != leader);
	assert_int_equal(tr_submit_n(&f->nodes[next], "b", 20, 20, 10000), 0);
	/* The third server, now a follower of the new leader. */
	assert_int_equal(tr_submit_n(&f->nodes[3 - leader - next], "c", 40, 20, 10000), 0);
}

/* A follower's clean close with 1024 (CLOSE_SNAPSHOT_MIN) or more entries since its last
 * snapshot takes one first, through a barrier it forwards to the leader for its apply round:
 * the next start replays nothing and keeps no log entry before the snapshot in memory. */
static void follower_close_takes_snapshot(void **state)
{
	struct fixture *f = *state;
	struct tr_node *n;
	uint64_t before;
	int leader;

	start_ensemble(f, 3, 0);
	leader = leader_index(f);
	n = &f->nodes[follower_of(f, leader)];
	assert_int_equal(tr_submit_n(&f->nodes[leader], "a", 0, 1100, 60000), 0);
	assert_true(run_until(f, converged, NULL, 15000));
	assert_int_equal(n->repl->fsm_state.n_snapshots, 0);
	tr_node_close(n);
	before = n->n_applied;
	assert_int_equal(tr_node_open(n), 0);
	assert_true(run_until(f, converged, NULL, 15000));
	assert_int_equal(n->n_applied - before, 0);
	assert_true(n->repl->raft.log.snapshot.last_index >= 1100);
	assert_true(n->repl->raft.log.offset >= n->repl->raft.log.snapshot.last_index);
}

static bool log_compacted(struct fixture *f, void *arg)
{
	struct tr_node *n = arg;

	(void)f;
	return n->repl->raft.log.offset > 20;
}

/* A follower that was down while the others took snapshots and compacted their logs catches
 * up over TCP by InstallSnapshot: its store is replaced (hook) and ends equal. */
static void catch_up_by_snapshot(void **state)
{
	struct fixture *f = *state;
	struct repl_hooks hooks = {.session_touched = on_touch, .store_replaced = on_replaced,
				   .build = tr_build};
	int leader, down, i;

	f->snapshot_threshold = 32;
	f->snapshot_trailing = 4;
	start_ensemble(f, 3, 0);
	leader = leader_index(f);
	down = follower_of(f, leader);
	assert_int_equal(tr_submit_n(&f->nodes[leader], "a", 0, 10, 10000), 0);
	tr_node_close(&f->nodes[down]);
	for (i = 0; i < 10; i++)
		assert_int_equal(tr_submit_n(&f->nodes[leader], "b", 10 + 20 * i, 20, 10000), 0);
	/* The leader's log no longer holds what the follower misses (snapshot put done). */
	assert_true(run_until(f, log_compacted, &f->nodes[leader], 10000));
	assert_int_equal(tr_node_open(&f->nodes[down]), 0);
	repl_set_hooks(f->nodes[down].repl, &hooks);
	/* A snapshot sent while the follower was not listening yet is resent after 2 s. */
	assert_true(run_until(f, converged, NULL, 15000));
	print_message("    leader took %llu snapshots; follower store replaced %d time(s)\n",
		      (unsigned long long)f->nodes[leader].repl->fsm_state.n_snapshots,
		      f->replaced);
	assert_true(f->replaced > 0);
	assert_int_equal(store_check(f->nodes[down].store), 0);
}

/* An observer reports REPL_OBSERVER, replicates, and forwards its writes. */
static void observer_forwards(void **state)
{
	struct fixture *f = *state;

	start_ensemble(f, 3, 1);
	leader_index(f);
	assert_int_equal(repl_role(f->nodes[3].repl), REPL_OBSERVER);
	assert_int_equal(tr_submit_n(&f->nodes[3], "o", 0, 30, 10000), 0);
	assert_true(run_until(f, converged, NULL, 10000));
}

static bool touched(struct fixture *f, void *arg)
{
	(void)arg;
	return f->touched > 0;
}

/* A session touched on a follower is reported on the leader. */
static void session_touch_reaches_leader(void **state)
{
	struct fixture *f = *state;
	int leader;

	start_ensemble(f, 3, 0);
	leader = leader_index(f);
	/* No write went through the follower yet: its peer link is opened by the touch flush. */
	assert_int_equal(repl_session_touch(f->nodes[follower_of(f, leader)].repl, 0x77), 0);
	assert_true(run_until(f, touched, NULL, 3000));
	assert_int_equal(f->touched_id, 0x77);
}

static bool is_observer(struct fixture *f, void *arg)
{
	struct tr_node *n = arg;

	(void)f;
	return repl_role(n->repl) == REPL_OBSERVER;
}

static bool is_voter(struct fixture *f, void *arg)
{
	struct tr_node *n = arg;

	(void)f;
	return repl_role(n->repl) == REPL_FOLLOWER || repl_role(n->repl) == REPL_LEADER;
}

struct members {
	int n, n_observers;
};

static void count_member(void *ctx, const struct repl_server *srv)
{
	struct members *m = ctx;

	m->n++;
	m->n_observers += srv->observer;
}

/* The three original servers all list exactly three members. */
static bool removed_everywhere(struct fixture *f, void *arg)
{
	int i;

	(void)arg;
	for (i = 0; i < 3; i++) {
		struct members m = {0};
		repl_members(f->nodes[i].repl, count_member, &m);
		if (m.n != 3)
			return false;
	}
	return true;
}

struct change {
	struct repl_req req;
	bool done;
	int status;
};

static void change_cb(struct repl_req *req, int status)
{
	struct change *c = req->data;

	c->done = true;
	c->status = status;
}

/* Run a membership change submitted on node @at (the leader, or forwarded by a follower). */
static int reconfig(struct fixture *f, int at, enum repl_change_op op,
		    const struct repl_server *srv)
{
	struct change c = {.req = {.data = &c}};
	int rv;

	rv = repl_reconfig(f->nodes[at].repl, &c.req, op, srv, NULL, change_cb);
	if (rv != 0)
		return rv;
	assert_true(tr_run_until(&f->loop, &c.done, 10000));
	return c.status;
}

/* A new server (join: empty log) is added as a voter, catches up, then is turned into an
 * observer, back into a voter, an observer again, and removed (that change submitted on a follower, forwarded to the leader). A
 * second change while one is pending is refused with -EBUSY. */
static void membership_changes(void **state)
{
	struct fixture *f = *state;
	struct members m = {0};
	struct change pending = {.req = {.data = &pending}};
	struct repl_req other;
	int leader;

	start_ensemble(f, 3, 0);
	leader = leader_index(f);
	assert_int_equal(tr_submit_n(&f->nodes[leader], "a", 0, 20, 10000), 0);
	server_init(f, 3, false);
	f->nodes[3].cfg.n_servers = 4; /* knows the others; not in their configuration */
	f->nodes[3].cfg.join = true;
	assert_int_equal(tr_node_open(&f->nodes[3]), 0);

	assert_int_equal(repl_reconfig(f->nodes[leader].repl, &pending.req, REPL_ADD,
				       &f->servers[3], NULL, change_cb),
			 0);
	assert_int_equal(repl_reconfig(f->nodes[leader].repl, &other, REPL_REMOVE, &f->servers[1], NULL,
				       change_cb),
			 -EBUSY);
	assert_true(tr_run_until(&f->loop, &pending.done, 10000));
	assert_int_equal(pending.status, 0);
	assert_true(run_until(f, converged, NULL, 10000));
	repl_members(f->nodes[leader].repl, count_member, &m);
	assert_int_equal(m.n, 4);
	assert_int_equal(m.n_observers, 0);

	assert_int_equal(reconfig(f, leader, REPL_MAKE_OBSERVER, &f->servers[3]), 0);
	m.n = m.n_observers = 0;
	repl_members(f->nodes[leader].repl, count_member, &m);
	assert_int_equal(m.n_observers, 1);
	assert_true(run_until(f, is_observer, &f->nodes[3], 5000));
	assert_int_equal(reconfig(f, leader, REPL_MAKE_VOTER, &f->servers[3]), 0);
	assert_true(run_until(f, is_voter, &f->nodes[3], 5000));
	assert_int_equal(reconfig(f, leader, REPL_MAKE_OBSERVER, &f->servers[3]), 0);
	assert_true(run_until(f, is_observer, &f->nodes[3], 5000));

	assert_int_equal(reconfig(f, follower_of(f, leader), REPL_REMOVE, &f->servers[3]), 0);
	assert_true(run_until(f, removed_everywhere, NULL, 5000));
	m.n = m.n_observers = 0;
	repl_members(f->nodes[leader].repl, count_member, &m);
	assert_int_equal(m.n, 3);
	assert_int_equal(tr_submit_n(&f->nodes[leader], "b", 20, 20, 10000), 0);
}

struct client_of {
	uint64_t id;	       /* Looked for. */
	const char *expected;  /* "addr:port", or NULL: @id must not be a member. */
	bool member, matches;
};

static void check_client(void *ctx, const struct repl_server *srv)
{
	struct client_of *c = ctx;
	char buf[300];

	if (srv->id != c->id)
		return;
	c->member = true;
	if (srv->client_port != 0)
		snprintf(buf, sizeof(buf), "%s:%u", srv->client_address, srv->client_port);
	c->matches = srv->client_port != 0 && c->expected != NULL &&
		     strcmp(buf, c->expected) == 0;
}

/* Every open node (the first @arg of them) lists server 4 with client address "zk4:2184". */
static bool client_everywhere(struct fixture *f, void *arg)
{
	int i, n = *(int *)arg;

	for (i = 0; i < n; i++) {
		struct client_of c = {.id = 4, .expected = "zk4:2184"};
		repl_members(f->nodes[i].repl, check_client, &c);
		if (!c.matches)
			return false;
	}
	return true;
}

/* The client address of a server added at run time is part of the replicated membership: every
 * node lists it (the change forwarded by a follower), also a follower restarted from a
 * snapshot taken after the change, and the configured ones keep theirs (an IPv6 literal
 * included); removing the server drops it everywhere. */
static void client_address_replicated(void **state)
{
	struct fixture *f = *state;
	struct client_of c = {.id = 2, .expected = "[::1]:2182"};
	int leader, down, four = 4, three = 3, i;

	f->snapshot_threshold = 32;
	f->snapshot_trailing = 4;
	for (i = 0; i < 3; i++)
		f->servers[i].client_port = (uint16_t)(2181 + i);
	f->servers[0].client_address = "127.0.0.1";
	f->servers[1].client_address = "[::1]";
	f->servers[2].client_address = "0.0.0.0";
	start_ensemble(f, 3, 0);
	leader = leader_index(f);
	server_init(f, 3, false);
	f->servers[3].client_address = "zk4";
	f->servers[3].client_port = 2184;
	f->nodes[3].cfg.n_servers = 4;
	f->nodes[3].cfg.join = true;
	assert_int_equal(tr_node_open(&f->nodes[3]), 0);
	assert_int_equal(reconfig(f, follower_of(f, leader), REPL_ADD, &f->servers[3]), 0);
	assert_true(run_until(f, client_everywhere, &four, 5000));
	repl_members(f->nodes[3].repl, check_client, &c);
	assert_true(c.matches);

	down = follower_of(f, leader);
	tr_node_close(&f->nodes[down]);
	assert_int_equal(tr_submit_n(&f->nodes[leader], "s", 0, 80, 10000), 0);
	assert_true(run_until(f, log_compacted, &f->nodes[leader], 10000));
	assert_int_equal(tr_node_open(&f->nodes[down]), 0);
	assert_true(run_until(f, client_everywhere, &four, 5000));

	assert_int_equal(reconfig(f, leader, REPL_REMOVE, &f->servers[3]), 0);
	assert_true(run_until(f, removed_everywhere, NULL, 5000));
	for (i = 0; i < 3; i++) {
		c = (struct client_of){.id = 4};
		repl_members(f->nodes[i].repl, check_client, &c);
		assert_false(c.member);
	}
	assert_false(client_everywhere(f, &three));
}

/* The tests whose outcome depends on the store: replicas' digests and zxids, a snapshot
 * replacing a follower's store. The real-store build (test_replication_cluster_store) runs only
 * these; the others are about transport, elections and membership, which the fake store shows. */
static const char *const store_matters[] = {
	"follower_forwards_writes", "follower_barrier", "catch_up_by_snapshot",
};

#define N_TESTS (sizeof(tests) / sizeof(tests[0]))

/* Keeps the store tests first in @t when built on the real store; returns how many to run. */
static size_t store_tests(struct CMUnitTest *t, size_t n)
{
#ifdef REPL_TEST_REAL_STORE
	size_t i, j, kept = 0;

	for (i = 0; i < n; i++)
		for (j = 0; j < sizeof(store_matters) / sizeof(store_matters[0]); j++)
			if (strcmp(t[i].name, store_matters[j]) == 0)
				t[kept++] = t[i];
	return kept;
#else
	(void)store_matters;
	return n;
#endif
}

int main(void)
{
	struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(peer_port_in_use, setup, teardown),
		cmocka_unit_test_setup_teardown(raft_port_in_use, setup, teardown),
		cmocka_unit_test_setup_teardown(election, setup, teardown),
		cmocka_unit_test_setup_teardown(follower_forwards_writes, setup, teardown),
		cmocka_unit_test_setup_teardown(forwarded_write_not_delayed_by_heartbeat, setup,
						teardown),
		cmocka_unit_test_setup_teardown(follower_barrier, setup, teardown),
		cmocka_unit_test_setup_teardown(graceful_leader_close, setup, teardown),
		cmocka_unit_test_setup_teardown(follower_close_takes_snapshot, setup, teardown),
		cmocka_unit_test_setup_teardown(catch_up_by_snapshot, setup, teardown),
		cmocka_unit_test_setup_teardown(observer_forwards, setup, teardown),
		cmocka_unit_test_setup_teardown(session_touch_reaches_leader, setup, teardown),
		cmocka_unit_test_setup_teardown(membership_changes, setup, teardown),
		cmocka_unit_test_setup_teardown(client_address_replicated, setup, teardown),
	};

	/* A peer closing its socket must not kill the process (zkfsd ignores SIGPIPE too). */
	signal(SIGPIPE, SIG_IGN);
	if (getenv("TEST_FILTER") != NULL)
		cmocka_set_test_filter(getenv("TEST_FILTER"));
	return _cmocka_run_group_tests("test_replication_cluster", tests, store_tests(tests, N_TESTS),
				       NULL, NULL);
}
