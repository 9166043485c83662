/* close.c: the closing sequence of a struct repl (repl_close).
 *
 * Lifecycle (one struct repl):
 *   CREATED --repl_start--> STARTED --repl_close--> [TRANSFERRING] --> CLOSING --> freed
 *   CREATED/failed start --repl_close--> CLOSING --> freed
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
	r->close_cb = cb;
	r->closing = true;
	if (!start_transfer(r))
		close_continue(r);
}
