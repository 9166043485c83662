/* close.c: the closing sequence of a struct repl (repl_close).
 *
 * Lifecycle (one struct repl):
 *   CREATED --repl_start--> STARTED --repl_close--> [SNAPSHOTTING] [TRANSFERRING] --> CLOSING
 *   --> freed
 *   CREATED/failed start --repl_close--> CLOSING --> freed
 * SNAPSHOTTING (a standalone server or a follower whose log holds CLOSE_SNAPSHOT_MIN entries
 * or more, the trailing ones kept behind its last snapshot included): the snapshot threshold
 * drops to 1 and the trailing entries to 0, and a barrier entry makes an apply round, after
 * which libraft takes the snapshot; close waits (bounded) until it is stored. A follower gets
 * its apply round from a barrier it forwards to the leader (as ZooKeeper's sync), which it
 * applies like any entry. The next start then reads the image alone: libraft keeps every entry
 * it reloads from the log, and each segment holding one whole, in memory until the next
 * snapshot (about 9 bytes per znode at 1M znodes written by creates). A leader with other
 * voters skips it: it hands leadership over instead (its successor keeps serving).
 * CLOSING waits (bounded) for the local appends in flight to complete (so followers get the
 * results of the writes they forwarded), then closes the forwarder (fails the requests this
 * server forwarded and has no answer for), libraft (raft_close: the uv io and its transport)
 * and the poll timer; the user's close callback then runs and r is freed. The wait is not
 * only politeness: libraft 0.15 frees an append request twice when raft_close cancels appends
 * that wait for their first open segment (seen under ASan in tests/unit/test_replication).
 */
#include "common/zk_alloc.h"
#include "common/zk_log.h"
#include "replication/replication_int.h"

static void timer_closed(uv_handle_t *h)
{
	struct repl *r = h->data;

	if (r->close_cb != NULL)
		r->close_cb(r);
	repl_config_free(r);
	zk_free(r);
}

static void io_closed(struct repl *r)
{
	uv_close((uv_handle_t *)&r->timer, timer_closed);
}

/* libraft's io closed its transport (transport.c frees its own state). */
static void raft_closed(struct raft *raft)
{
	struct repl *r = raft->data;

	raft_uv_close(&r->io);
	io_closed(r);
}

static void unstarted_transport_closed(struct raft_uv_transport *t)
{
	io_closed(REPL_CONTAINER(t, struct repl, transport));
}

/* libraft never took over the io/transport (start failed early): close them ourselves. */
static void close_unstarted_io(struct repl *r)
{
	if (r->io_ready)
		raft_uv_close(&r->io);
	if (r->transport_ready)
		r->transport.close(&r->transport, unstarted_transport_closed);
	else
		io_closed(r);
}

static void close_libraft(struct repl *r)
{
	while (r->waiting != NULL)
		repl_req_done(r->waiting, -ECANCELED);
	if (r->raft_ready)
		raft_close(&r->raft, raft_closed);
	else
		close_unstarted_io(r);
}

static void fwd_closed(struct repl *r)
{
	r->fwd = NULL; /* Freed by repl_fwd_close before it called us. */
	close_libraft(r);
}

/* Local appends are done (or the deadline passed): their results have reached the followers
 * that forwarded them; now the peer port, then libraft. */
static void after_drain(struct repl *r)
{
	uv_timer_stop(&r->timer);
	r->draining = false;
	if (r->fwd != NULL)
		repl_fwd_close(r->fwd, fwd_closed);
	else
		close_libraft(r);
}

static void drain_deadline(uv_timer_t *t)
{
	struct repl *r = t->data;

	zk_log_warn("replication: %u write(s) still in flight at close", r->inflight);
	after_drain(r);
}

static void drained(uv_timer_t *t)
{
	after_drain(t->data);
}

/* Called from inside a libraft callback that still uses its io afterwards: go on from the
 * next loop iteration. */
void repl_close_resume(struct repl *r)
{
	uv_timer_start(&r->timer, drained, 0, 0);
}

static void close_continue(struct repl *r)
{
	uv_timer_stop(&r->timer);
	r->transferring = false;
	if (r->inflight == 0) {
		after_drain(r);
		return;
	}
	r->draining = true;
	uv_timer_start(&r->timer, drain_deadline, 5000, 0);
}

static void transfer_cb(struct raft_transfer *t)
{
	struct repl *r = REPL_CONTAINER(t, struct repl, transfer);

	if (!r->transferring)
		return;
	zk_log_info("replication: leadership handed to %llu", (unsigned long long)repl_leader_id(r));
	close_continue(r);
}

static void transfer_deadline(uv_timer_t *t)
{
	struct repl *r = t->data;

	zk_log_warn("replication: leadership transfer did not finish in time; closing anyway");
	close_continue(r);
}

/* See SNAPSHOTTING above. */
#define CLOSE_SNAPSHOT_MIN 1024
#define CLOSE_SNAPSHOT_POLL_MS 20
#define CLOSE_SNAPSHOT_DEADLINE_MS 60000

static void close_after_snapshot(struct repl *r, const char *outcome)
{
	uv_timer_stop(&r->timer);
	r->snapshotting = false;
	zk_log_info("replication: snapshot at close %s (%llu ms)", outcome,
		    (unsigned long long)(uv_now(r->loop) - r->close_t0));
	raft_set_snapshot_trailing(&r->raft, r->fsm_state.trailing);
	raft_set_snapshot_threshold(&r->raft, r->fsm_state.threshold);
	close_continue(r);
}

/* Polled: the snapshot is stored, or none is coming (it failed, or libraft refused to start
 * one), or the deadline passed. */
static void close_snapshot_poll(uv_timer_t *t)
{
	struct repl *r = t->data;
	struct raft *raft = &r->raft;
	bool barrier_done = r->close_index != 0 && raft->last_applied >= r->close_index;

	if (barrier_done && raft->log.snapshot.last_index >= r->close_index)
		close_after_snapshot(r, "stored");
	else if (barrier_done && raft->snapshot.pending.term == 0)
		close_after_snapshot(r, "not taken (see above)");
	else if (uv_now(r->loop) - r->close_t0 >= CLOSE_SNAPSHOT_DEADLINE_MS)
		close_after_snapshot(r, "not finished in time: closing without it");
}

static void close_barrier_cb(struct raft_barrier *b, int status)
{
	struct repl *r = REPL_CONTAINER(b, struct repl, close_barrier);

	if (status != 0 && r->snapshotting)
		close_after_snapshot(r, "not taken: the barrier failed");
}

/* A follower's forwarded barrier is applied here (or failed: no leader, closing). */
static void close_sync_cb(struct repl_req *req, int status)
{
	struct repl *r = req->repl;

	if (status != 0 && r->snapshotting)
		close_after_snapshot(r, "not taken: the barrier failed");
	else if (status == 0)
		r->close_index = (raft_index)req->index + 1; /* The leader reports the entry
								before its barrier (forward.c). */
}

/* The barrier that makes the apply round: appended by a standalone leader, forwarded by a
 * follower (before r->closing is set, which refuses new requests). */
static bool close_barrier_start(struct repl *r)
{
	if (raft_state(&r->raft) == RAFT_LEADER) {
		if (raft_barrier(&r->raft, &r->close_barrier, close_barrier_cb) != 0)
			return false;
		r->close_index = r->close_barrier.index;
		return true;
	}
	r->close_index = 0;
	return repl_barrier(r, &r->close_sync, close_sync_cb) == 0;
}

static bool start_close_snapshot(struct repl *r)
{
	struct raft *raft = &r->raft;
	bool leader = raft_state(raft) == RAFT_LEADER;

	if (!r->started || (leader && r->cfg.n_servers != 0) ||
	    (!leader && raft_state(raft) != RAFT_FOLLOWER) ||
	    raft->last_applied < raft->log.offset + CLOSE_SNAPSHOT_MIN)
		return false;
	raft_set_snapshot_threshold(raft, 1);
	raft_set_snapshot_trailing(raft, 0);
	if (!close_barrier_start(r)) {
		raft_set_snapshot_trailing(raft, r->fsm_state.trailing);
		raft_set_snapshot_threshold(raft, r->fsm_state.threshold);
		return false;
	}
	r->snapshotting = true;
	r->close_t0 = uv_now(r->loop);
	uv_timer_stop(&r->timer);
	uv_timer_start(&r->timer, close_snapshot_poll, CLOSE_SNAPSHOT_POLL_MS,
		       CLOSE_SNAPSHOT_POLL_MS);
	return true;
}

/* A leader with other voters hands leadership over before leaving, so the ensemble does not
 * wait an election timeout for a new leader. */
static bool start_transfer(struct repl *r)
{
	if (!r->started || r->cfg.n_servers == 0 || raft_state(&r->raft) != RAFT_LEADER)
		return false;
	if (raft_transfer(&r->raft, &r->transfer, 0, transfer_cb) != 0)
		return false;
	r->transferring = true;
	uv_timer_stop(&r->timer);
	uv_timer_start(&r->timer, transfer_deadline, 2 * (uint64_t)r->cfg.election_timeout_ms, 0);
	return true;
}

void repl_close(struct repl *r, void (*cb)(struct repl *r))
{
	bool snapshot = start_close_snapshot(r);

	r->close_cb = cb;
	r->closing = true;
	if (!snapshot && !start_transfer(r))
		close_continue(r);
}
