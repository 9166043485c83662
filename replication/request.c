/* request.c: writes and barriers (repl_submit, repl_barrier), their completion, and the list
 * of requests waiting for this server to apply an index (forwarded writes, follower syncs).
 * A request completes exactly once: from libraft's callback on the leader, from forward.c on
 * a follower, or with -ECANCELED when the repl closes. */
#include <errno.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "common/zk_buf.h"
#include "common/zk_log.h"
#include "replication/replication_int.h"

void repl_req_done(struct repl_req *req, int status)
{
	struct repl *r = req->repl;

	if (req->prev != NULL)
		req->prev->next = req->next;
	else if (r->waiting == req)
		r->waiting = req->next;
	if (req->next != NULL)
		req->next->prev = req->prev;
	req->next = req->prev = NULL;
	if (status != 0 && r->closing)
		status = -ECANCELED;
	req->status = status;
	req->cb(req, status);
}

void repl_wait_applied(struct repl *r, struct repl_req *req, int64_t index)
{
	struct repl_req *at;

	req->index = index;
	if (index <= (int64_t)raft_last_applied(&r->raft)) {
		/* Still asynchronous for the caller: we get here from a network callback. */
		req->next = req->prev = NULL;
		req->cb(req, 0);
		return;
	}
	at = r->waiting;
	req->prev = NULL;
	while (at != NULL && at->index <= index) {
		req->prev = at;
		at = at->next;
	}
	req->next = at;
	if (at != NULL)
		at->prev = req;
	if (req->prev != NULL)
		req->prev->next = req;
	else
		r->waiting = req;
}

/* One local append or barrier finished: a draining close may go on. */
static void inflight_done(struct repl *r)
{
	r->inflight--;
	if (r->draining && r->inflight == 0)
		repl_close_resume(r);
}

/* libraft failed to write the log (a full disk despite the free-space guard of raft.c: another
 * process filled it between two checks, or one burst of appends outran them). libraft 0.15
 * cannot go on after that: appendLeaderCb answers only the first entry of the failed batch,
 * truncates its in-memory log under the batches still in flight, and the next one to complete
 * releases entries that are gone (a segfault in libraft, seen with four writers on a data dir
 * out of inodes). Exit here, inside the callback and before libraft does that: every write
 * acknowledged so far was fsync'ed and is found again at the restart (log_check cuts a torn
 * tail), and no write after it was acknowledged. EX_IOERR, so a supervisor (the systemd unit's
 * Restart=on-failure) restarts the server; _exit, because the loop must not run again. */
static void append_failed(struct repl *r, int status)
{
	zk_log_error("replication: writing the Raft log in %s failed: %s (%s). libraft cannot "
		     "continue after a failed log write: exiting (status %d); acknowledged writes "
		     "are on disk and are served again after a restart once space is freed",
		     r->data_dir, raft_strerror(status), raft_errmsg(&r->raft), EX_IOERR);
	_exit(EX_IOERR);
}

static void apply_cb(struct raft_apply *a, int status, void *result)
{
	struct repl_req *req = REPL_CONTAINER(a, struct repl_req, raft.apply);
	struct repl *r = req->repl;

	if (status == RAFT_IOERR || status == RAFT_NOSPACE)
		append_failed(r, status);
	repl_fsm_own_drop(&r->fsm_state, req);
	if (status == 0 && result == &repl_fsm_skipped)
		repl_req_done(req, -EBADMSG);
	else
		repl_req_done(req, repl_errno(status));
	inflight_done(r);
}

static int check_open(struct repl *r)
{
	if (r->closing)
		return -ECANCELED;
	if (!r->started)
		return -ENOTCONN;
	if (r->disk_low)
		return -ENOSPC;
	return 0;
}

static void req_init(struct repl *r, struct repl_req *req, int kind, repl_req_cb cb)
{
	req->repl = r;
	req->cb = cb;
	req->kind = kind;
	req->status = 0;
	req->index = 0;
	req->fwd_id = 0;
	req->zk_err = 0;
	req->failed_op = 0;
	req->session_id = 0;
	req->next = req->prev = NULL;
	req->own_txn = NULL;
	req->own_entry = NULL;
	req->own_next = NULL;
}

/* Append @len txn bytes at @p on the leader (as a padded entry, see repl_entry_pad). */
int repl_append_local(struct repl *r, struct repl_req *req, const void *p, size_t len,
		      const void **entry)
{
	struct raft_buffer buf;
	int rv;

	rv = repl_entry_pad(p, len, &buf);
	if (rv != 0)
		return rv;
	rv = raft_apply(&r->raft, &req->raft.apply, &buf, 1, apply_cb);
	if (rv != 0) {
		raft_free(buf.base);
		return repl_errno(rv);
	}
	r->inflight++;
	if (entry != NULL)
		*entry = buf.base;
	return 0;
}

int repl_submit(struct repl *r, struct repl_req *req, const struct store_txn *txn,
		repl_req_cb cb)
{
	struct store_txn *own = NULL;
	const void *entry;
	struct zk_buf b;
	int rv;

	rv = check_open(r);
	if (rv != 0)
		return rv;
	if (raft_state(&r->raft) != RAFT_LEADER)
		return -ENOTCONN; /* Txns never travel: a follower forwards requests. */
	zk_buf_init(&b);
	rv = store_txn_encode(txn, &b);
	if (rv == 0)
		rv = store_txn_copy(txn, &own);
	if (rv != 0)
		goto out;
	req_init(r, req, REPL_REQ_APPLY, cb);
	rv = repl_append_local(r, req, b.data, b.len, &entry);
	if (rv == 0) {
		repl_fsm_own_add(&r->fsm_state, req, own, entry);
		own = NULL;
	}
out:
	store_txn_free(own);
	zk_buf_close(&b);
	return rv;
}

int repl_forward(struct repl *r, struct repl_req *req, const struct repl_client_req *in,
		 repl_req_cb cb)
{
	int rv = check_open(r);

	if (rv != 0)
		return rv;
	req_init(r, req, REPL_REQ_APPLY, cb);
	if (raft_state(&r->raft) == RAFT_LEADER || r->fwd == NULL)
		return -ENOTCONN;
	return repl_fwd_request(r->fwd, req, in);
}

static void barrier_cb(struct raft_barrier *b, int status)
{
	struct repl_req *req = REPL_CONTAINER(b, struct repl_req, raft.barrier);
	struct repl *r = req->repl;

	repl_req_done(req, repl_errno(status));
	inflight_done(r);
}

int repl_barrier_local(struct repl *r, struct repl_req *req)
{
	int rv = raft_barrier(&r->raft, &req->raft.barrier, barrier_cb);

	if (rv != 0)
		return repl_errno(rv);
	r->inflight++;
	return 0;
}

int repl_barrier(struct repl *r, struct repl_req *req, repl_req_cb cb)
{
	int rv;

	rv = check_open(r);
	if (rv != 0)
		return rv;
	req_init(r, req, REPL_REQ_BARRIER, cb);
	if (raft_state(&r->raft) == RAFT_LEADER)
		return repl_barrier_local(r, req);
	if (r->fwd != NULL)
		return repl_fwd_barrier(r->fwd, req);
	return -ENOTCONN;
}
