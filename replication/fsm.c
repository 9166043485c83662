/* fsm.c: the Raft state machine of zkfsd: committed entries are store transactions
 * (store_txn_encode bytes), applied to the store in log order with the entry's Raft index as
 * zxid; snapshots are store_snapshot_write images, restored with store_snapshot_load.
 *
 * libraft 0.15's fsm->apply gets no index: it applies entry raft->last_applied + 1 and only then
 * advances last_applied (src/replication.c replicationApply), so that is the zxid.
 *
 * Failure policy: -ENOMEM leaves the store unchanged and returns RAFT_NOMEM, so libraft stops
 * applying and retries the same entry later. An entry that does not decode (it passed libraft's
 * CRC, so it is a bug or a newer format, not disk rot) is logged and skipped on every replica
 * alike: the replicas stay identical and the submitter gets -EBADMSG. */
#include <assert.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "common/zk_alloc.h"
#include "common/zk_buf.h"
#include "common/zk_log.h"
#include "replication/replication_int.h"
#include "replication/snapshot_fork.h"

int repl_fsm_skipped;

int repl_entry_pad(const void *p, size_t len, struct raft_buffer *out)
{
	size_t pad = 8 - len % 8;

	out->len = len + pad;
	out->base = raft_malloc(out->len);
	if (out->base == NULL)
		return -ENOMEM;
	memcpy(out->base, p, len);
	memset((uint8_t *)out->base + len, 0, pad - 1);
	((uint8_t *)out->base)[out->len - 1] = (uint8_t)pad;
	return 0;
}

int repl_entry_unpad(const struct raft_buffer *buf, size_t *len)
{
	const uint8_t *p = buf->base;
	uint8_t pad;

	if (buf->len == 0 || buf->len % 8 != 0)
		return -EBADMSG;
	pad = p[buf->len - 1];
	if (pad < 1 || pad > 8)
		return -EBADMSG;
	*len = buf->len - pad;
	return 0;
}

/* libraft keeps every entry since the last snapshot (plus the trailing ones) in memory and
 * counts only entries, so a run of big writes (znodes of up to 1 MiB) could hold gigabytes.
 * Past log_bytes (or the last snapshot's size, whichever is larger: bounded write
 * amplification) of entries since the last snapshot, the threshold drops to 1 so libraft
 * takes one at the end of this apply round, and the trailing entries are cut to what fits in
 * log_bytes at the average entry size; fsm_snapshot restores the threshold, finalize the
 * trailing count. */
static void check_log_bytes(struct repl_fsm *f)
{
	size_t cap, avg;
	unsigned trailing;

	if (f->log_bytes == 0 || f->forced)
		return;
	cap = f->log_bytes > f->last_snapshot_len ? f->log_bytes : f->last_snapshot_len;
	if (f->log_bytes_now < cap)
		return;
	avg = f->log_bytes_now / f->log_entries_now;
	trailing = (unsigned)(f->log_bytes / (avg + 1));
	if (trailing > f->trailing)
		trailing = f->trailing;
	raft_set_snapshot_trailing(f->raft, trailing);
	raft_set_snapshot_threshold(f->raft, 1);
	f->forced = true;
}

static void limit_log_bytes(struct repl_fsm *f, size_t len)
{
	f->log_bytes_now += len;
	f->log_entries_now++;
	check_log_bytes(f);
}

void repl_fsm_own_add(struct repl_fsm *f, struct repl_req *req, struct store_txn *txn,
		      const void *entry)
{
	assert(f->own_last == NULL ||
	       (int64_t)req->raft.apply.index > (int64_t)f->own_last->raft.apply.index);
	req->own_txn = txn;
	req->own_entry = entry;
	req->own_next = NULL;
	if (f->own_last != NULL)
		f->own_last->own_next = req;
	else
		f->own_first = req;
	f->own_last = req;
}

void repl_fsm_own_drop(struct repl_fsm *f, struct repl_req *req)
{
	struct repl_req **at = &f->own_first, *prev = NULL;

	if (req->own_txn == NULL)
		return;
	while (*at != req) {
		assert(*at != NULL);
		prev = *at;
		at = &(*at)->own_next;
	}
	*at = req->own_next;
	if (f->own_last == req)
		f->own_last = prev;
	store_txn_free(req->own_txn);
	req->own_txn = NULL;
	req->own_next = NULL;
}

/* The txn of the entry at @zxid: the leader's own copy (see repl_fsm_own_add, then *@own is
 * true and the copy stays the request's) or decoded from the entry. */
static int fsm_txn(struct repl_fsm *f, int64_t zxid, const struct raft_buffer *buf,
		   struct store_txn **txn, bool *own)
{
	const struct repl_req *req = f->own_first;
	size_t len = 0;
	int rv;

	*own = req != NULL && (int64_t)req->raft.apply.index == zxid && req->own_entry == buf->base;
	if (*own) {
		*txn = req->own_txn;
		return 0;
	}
	rv = repl_entry_unpad(buf, &len);
	return rv != 0 ? rv : store_txn_decode(buf->base, len, txn);
}

static void fsm_enable_async(struct raft_fsm *fsm);

static int fsm_apply(struct raft_fsm *fsm, const struct raft_buffer *buf, void **result)
{
	struct repl_fsm *f = fsm->data;
	int64_t zxid = (int64_t)f->raft->last_applied + 1;
	struct store_txn *txn;
	struct store_result res;
	bool own;
	int rv;

	*result = NULL;
	if (fsm->snapshot_async == NULL)
		fsm_enable_async(fsm);
	limit_log_bytes(f, buf->len);
	rv = fsm_txn(f, zxid, buf, &txn, &own);
	if (rv == -ENOMEM)
		return RAFT_NOMEM;
	if (rv != 0) {
		zk_log_error("log entry %lld (%zu bytes) is not a transaction: skipped",
			     (long long)zxid, buf->len);
		f->n_skipped++;
		*result = &repl_fsm_skipped;
		return 0;
	}
	rv = store_apply(f->store, zxid, txn, &res);
	if (rv != 0) {
		store_result_free(&res);
		if (!own)
			store_txn_free(txn);
		return RAFT_NOMEM;
	}
	if (f->applied != NULL)
		f->applied(f->ctx, zxid, txn, &res);
	store_result_free(&res);
	if (!own)
		store_txn_free(txn);
	if (f->after_apply != NULL)
		f->after_apply(f->after_apply_arg, zxid);
	return 0;
}

/* Snapshots (libraft fsm version 3, read in libraft v0.15.0 src/replication.c takeSnapshot):
 * fsm_snapshot runs on the loop right after an apply round, with the store between two
 * entries, and forks a child that writes the image of that frozen store (snapshot_fork.h);
 * fsm_snapshot_async runs on libraft's async_work thread (a libuv threadpool thread) and
 * collects it while the loop goes on applying entries (libraft only refuses to start another
 * snapshot or to install one meanwhile); snapshot_finalize runs on the loop once libraft wrote
 * the image to disk or gave up. libraft passes the same bufs/n_bufs through all three calls,
 * so bufs[0] is embedded in a struct snapshot, which carries the per-snapshot state.
 *
 * Failures: a failed fork (EAGAIN, ENOMEM) or pipe falls back to writing the image on the loop
 * as before (a stall, logged at WARN). A child that fails (killed, non-zero exit, short image)
 * fails snapshot_async, so libraft drops this snapshot and keeps its log; the next attempt is
 * refused (RAFT_BUSY, which libraft ignores) until SNAPSHOT_RETRY_NS passed, as Redis retries
 * a failed BGSAVE after 5 s. An error from fsm_snapshot itself means no snapshot and no
 * snapshot_finalize call. */
#define SNAPSHOT_RETRY_NS (5 * (int64_t)1000000000)

struct snapshot {
	struct repl_snapshot_job job; /* job.buf is the bufs[0] handed to libraft. */
	raft_index index;	      /* Last index in the image. */
	size_t log_bytes_now, log_entries_now; /* Counters at the snapshot, given back when
					   it fails. */
	bool forced;		      /* Taken for log_bytes: trailing is cut until finalize. */
};

static int64_t fsm_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static struct snapshot *snapshot_of(struct raft_buffer *bufs)
{
	return REPL_CONTAINER(bufs, struct snapshot, job.buf);
}

/* The image written on the loop thread: the path when fork fails. */
static int snapshot_write_here(struct repl_fsm *f, struct snapshot *s)
{
	struct zk_buf b;
	size_t len;

	zk_buf_init(&b);
	if (store_snapshot_write(f->store, &b) != 0) {
		zk_buf_close(&b);
		return RAFT_NOMEM;
	}
	s->job.buf.base = zk_buf_steal(&b, &len);
	s->job.buf.len = len;
	return 0;
}

/* Start the image: a child, or on the loop when fork fails. */
static int snapshot_start(struct raft_fsm *fsm, struct repl_fsm *f, struct snapshot *s)
{
	int rv;

	if (fsm->snapshot_async == NULL)
		return snapshot_write_here(f, s);
	rv = repl_snapshot_fork(f->store, &s->job);
	if (rv == 0)
		return 0;
	zk_log_warn("snapshot at index %llu: no child (%s): written on the loop thread, which "
		    "stalls it", (unsigned long long)s->index, strerror(-rv));
	return snapshot_write_here(f, s);
}

static int fsm_snapshot(struct raft_fsm *fsm, struct raft_buffer *bufs[], unsigned *n_bufs)
{
	struct repl_fsm *f = fsm->data;
	struct snapshot *s;

	if (fsm_now_ns() < f->snapshot_retry_ns)
		return RAFT_BUSY;
	s = zk_calloc(1, sizeof(*s));
	if (s == NULL)
		return RAFT_NOMEM;
	s->index = f->raft->last_applied;
	s->job.fd = -1;
	if (snapshot_start(fsm, f, s) != 0) {
		zk_free(s);
		return RAFT_NOMEM;
	}
	s->log_bytes_now = f->log_bytes_now;
	s->log_entries_now = f->log_entries_now;
	f->log_bytes_now = 0;
	f->log_entries_now = 0;
	/* The cut trailing stays until finalize: libraft reads it when it stores the image. */
	if (f->forced) {
		raft_set_snapshot_threshold(f->raft, f->threshold);
		s->forced = true;
		f->forced = false;
	}
	*bufs = &s->job.buf;
	*n_bufs = 1;
	return 0;
}

/* libraft's async_work thread: touches only the job, never the store or the fsm state. */
static int fsm_snapshot_async(struct raft_fsm *fsm, struct raft_buffer *bufs[], unsigned *n_bufs)
{
	struct snapshot *s = snapshot_of(*bufs);

	(void)fsm;
	(void)n_bufs;
	if (s->job.pid == 0)
		return 0;
	return repl_snapshot_collect(&s->job) == 0 ? 0 : RAFT_IOERR;
}

/* A snapshot that was not stored: the entries since the previous one still count toward the
 * next (and may force it again by bytes), which waits SNAPSHOT_RETRY_NS. */
static void snapshot_failed(struct repl_fsm *f, const struct snapshot *s, const char *why)
{
	zk_log_warn("snapshot at index %llu dropped (%s): the log is kept, next try in %d s",
		    (unsigned long long)s->index, why, (int)(SNAPSHOT_RETRY_NS / 1000000000));
	f->snapshot_retry_ns = fsm_now_ns() + SNAPSHOT_RETRY_NS;
	f->log_bytes_now += s->log_bytes_now;
	f->log_entries_now += s->log_entries_now;
	check_log_bytes(f);
}

static void snapshot_done(struct repl_fsm *f, const struct snapshot *s)
{
	const struct repl_snapshot_job *j = &s->job;

	f->last_snapshot_len = j->buf.len;
	f->n_snapshots++;
	if (j->done_ns == 0)
		return;
	f->last_snapshot_ms = (double)(j->done_ns - j->forked_ns) / 1e6;
	zk_log_info("snapshot image at index %llu: %zu bytes by a child in %.1f ms (fork stalled "
		    "the loop %.2f ms), stored %.1f ms later", (unsigned long long)s->index,
		    j->buf.len, (double)(j->done_ns - j->forked_ns) / 1e6, (double)j->fork_ns / 1e6,
		    (double)(fsm_now_ns() - j->done_ns) / 1e6);
}

/* libraft 0.15's raft_uv_init implements async_work but sets io->version = 1, and raft_init
 * refuses a version 3 fsm with snapshot_async over an io below version 2 (src/raft.c
 * ioFsmCompat; the raft_fixture io says 0). Nothing else reads those versions: takeSnapshot
 * checks only fsm->version and fsm->snapshot_async, at each snapshot. So the fsm registers as
 * version 2 and becomes version 3 at its first apply, once raft_init is past; a snapshot taken
 * before any apply (only configuration or barrier entries) is written on the loop. */
static void fsm_enable_async(struct raft_fsm *fsm)
{
	struct repl_fsm *f = fsm->data;

	if (f->raft->io->async_work == NULL)
		return;
	fsm->snapshot_async = fsm_snapshot_async;
	fsm->version = 3;
}

/* Loop thread, after libraft stored the image, failed to, or dropped the snapshot (also when
 * closing). */
static int fsm_snapshot_finalize(struct raft_fsm *fsm, struct raft_buffer *bufs[],
				 unsigned *n_bufs)
{
	struct repl_fsm *f = fsm->data;
	struct snapshot *s;

	if (*bufs == NULL)
		return 0;
	s = snapshot_of(*bufs);
	if (s->forced && !f->forced)
		raft_set_snapshot_trailing(f->raft, f->trailing);
	/* libraft moves its log's snapshot index only once the image is on disk. */
	if (s->job.buf.base == NULL)
		snapshot_failed(f, s, "no image");
	else if (f->raft->log.snapshot.last_index != s->index)
		snapshot_failed(f, s, "not stored: closing or a write error");
	else
		snapshot_done(f, s);
	repl_snapshot_job_close(&s->job);
	zk_free(s);
	*bufs = NULL;
	*n_bufs = 0;
	return 0;
}

/* On success libraft hands us buf->base (allocated by raft_malloc); on failure it keeps it. */
static int fsm_restore(struct raft_fsm *fsm, struct raft_buffer *buf)
{
	struct repl_fsm *f = fsm->data;
	int rv;

	rv = store_snapshot_load(f->store, buf->base, buf->len);
	if (rv == -ENOMEM)
		return RAFT_NOMEM;
	if (rv != 0) {
		zk_log_error("snapshot (%zu bytes) is corrupt: store_snapshot_load: %s", buf->len,
			     strerror(-rv));
		return RAFT_CORRUPT;
	}
	f->last_snapshot_len = buf->len;
	f->log_bytes_now = 0;
	f->log_entries_now = 0;
	raft_free(buf->base);
	zk_log_info("store restored from a snapshot: last zxid %lld, %llu nodes",
		    (long long)store_last_zxid(f->store),
		    (unsigned long long)store_node_count(f->store));
	if (f->started && f->replaced != NULL)
		f->replaced(f->ctx, store_last_zxid(f->store));
	return 0;
}

void repl_fsm_init(struct raft_fsm *out, struct repl_fsm *state, struct store *store,
		   repl_applied_cb applied, void *ctx)
{
	memset(state, 0, sizeof(*state));
	state->store = store;
	state->applied = applied;
	state->ctx = ctx;
	memset(out, 0, sizeof(*out));
	out->version = 2;
	out->data = state;
	out->apply = fsm_apply;
	out->snapshot = fsm_snapshot;
	out->snapshot_finalize = fsm_snapshot_finalize;
	out->restore = fsm_restore;
}
