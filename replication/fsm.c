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
#include <stdint.h>
#include <string.h>

#include "common/zk_alloc.h"
#include "common/zk_buf.h"
#include "common/zk_log.h"
#include "replication/replication_int.h"

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
 * log_bytes at the average entry size; fsm_snapshot restores both. */
static void limit_log_bytes(struct repl_fsm *f, size_t len)
{
	size_t cap, avg;
	unsigned trailing;

	f->log_bytes_now += len;
	f->log_entries_now++;
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

static int fsm_apply(struct raft_fsm *fsm, const struct raft_buffer *buf, void **result)
{
	struct repl_fsm *f = fsm->data;
	int64_t zxid = (int64_t)f->raft->last_applied + 1;
	struct store_txn *txn;
	struct store_result res;
	size_t len = 0;
	int rv;

	*result = NULL;
	limit_log_bytes(f, buf->len);
	rv = repl_entry_unpad(buf, &len);
	if (rv == 0)
		rv = store_txn_decode(buf->base, len, &txn);
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
		store_txn_free(txn);
		return RAFT_NOMEM;
	}
	if (f->applied != NULL)
		f->applied(f->ctx, zxid, txn, &res);
	store_result_free(&res);
	store_txn_free(txn);
	if (f->after_apply != NULL)
		f->after_apply(f->after_apply_arg, zxid);
	return 0;
}

/* The image is built into one zk_buf and handed to libraft as one buffer; snapshot_finalize
 * frees it (fsm version 2), so our allocator owns it from start to end. */
static int fsm_snapshot(struct raft_fsm *fsm, struct raft_buffer *bufs[], unsigned *n_bufs)
{
	struct repl_fsm *f = fsm->data;
	struct zk_buf b;
	struct raft_buffer *out;
	size_t len;

	out = zk_malloc(sizeof(*out));
	if (out == NULL)
		return RAFT_NOMEM;
	zk_buf_init(&b);
	if (store_snapshot_write(f->store, &b) != 0) {
		zk_buf_close(&b);
		zk_free(out);
		return RAFT_NOMEM;
	}
	out->base = zk_buf_steal(&b, &len);
	out->len = len;
	f->last_snapshot_len = len;
	f->log_bytes_now = 0;
	f->log_entries_now = 0;
	if (f->forced) {
		raft_set_snapshot_threshold(f->raft, f->threshold);
		raft_set_snapshot_trailing(f->raft, f->trailing);
		f->forced = false;
	}
	*bufs = out;
	*n_bufs = 1;
	f->n_snapshots++;
	return 0;
}

static int fsm_snapshot_finalize(struct raft_fsm *fsm, struct raft_buffer *bufs[],
				 unsigned *n_bufs)
{
	unsigned i;

	(void)fsm;
	if (*bufs == NULL)
		return 0;
	for (i = 0; i < *n_bufs; i++)
		zk_free((*bufs)[i].base);
	zk_free(*bufs);
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
