/* raft.c: the libraft instance of zkfsd (libuv backend), its lifecycle, and the request API of
 * replication.h (submit, barrier, role, close).
 *
 * What was checked in libraft 0.15's source (github canonical/raft, tag v0.15.0):
 *  - Durability: open segments are created with O_DSYNC (src/uv_fs.c UvFsAllocateFile), so a
 *    segment write completes only once the data is on disk; the leader counts itself in the
 *    quorum only from appendLeaderCb, after that write (src/replication.c), and fsm->apply and
 *    the raft_apply callback run only for committed entries. On one voter an entry is therefore
 *    applied and acknowledged only after its own write+fsync.
 *  - Batching: each raft_apply submits its own io->append, but src/uv_append.c writes at most
 *    one batch per open segment at a time; appends arriving while a write is in flight queue up
 *    and go out together in the next single write (uvAppendMaybeStart), so N concurrent
 *    submitters share one fsync (measured by tests/unit/bench_repl).
 *  - A single voter self-elects inside raft_start (src/start.c maybeSelfElect) and applies the
 *    entries it restored right away (src/convert.c convertToLeader), so a standalone server
 *    has replayed its log when repl_start returns and serves at once.
 *
 * Lifecycle (one struct repl):
 *   CREATED --repl_start--> STARTED --repl_close--> [TRANSFERRING] --> CLOSING --> freed
 *   CREATED/failed start --repl_close--> CLOSING --> freed
 * CLOSING closes, in order: the forwarder (fails its requests), then waits (bounded) for the
 * local appends in flight to complete, then libraft (raft_close: the uv io and its transport),
 * the poll timer; the user's close callback then runs and r is freed. The wait is not only
 * politeness: libraft 0.15 frees an append request twice when raft_close cancels appends that
 * wait for their first open segment (seen under ASan in tests/unit/test_replication). */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include "common/zk_alloc.h"
#include "common/zk_buf.h"
#include "common/zk_log.h"
#include "replication/replication_int.h"

#define REPL_CONTAINER(ptr, type, member) ((type *)((char *)(ptr) - offsetof(type, member)))

/* libraft's open segments are preallocated files of this size (raft_uv_set_segment_size). */
#define REPL_SEGMENT_SIZE (8u << 20)
/* Writes are refused (-ENOSPC) while the data dir has less free space than this: a few open
 * segments plus room for a snapshot. Reason: libraft 0.15 mishandles a failed segment
 * allocation (ENOSPC): only the first two pending writes get an error, the others never
 * complete and the instance later crashes (seen in tests/unit/test_replication full_disk), so
 * zkfsd must not let libraft run out of space. */
#define REPL_MIN_FREE ((uint64_t)4 * REPL_SEGMENT_SIZE)

int repl_errno(int raft_rv)
{
	switch (raft_rv) {
	case 0:
		return 0;
	case RAFT_NOMEM:
		return -ENOMEM;
	case RAFT_NOTLEADER:
	case RAFT_LEADERSHIPLOST:
	case RAFT_NOCONNECTION:
		return -ENOTCONN;
	case RAFT_SHUTDOWN:
	case RAFT_CANCELED:
		return -ECANCELED;
	case RAFT_NOSPACE:
		return -ENOSPC;
	case RAFT_CORRUPT:
	case RAFT_MALFORMED:
		return -EBADMSG;
	case RAFT_TOOBIG:
		return -EMSGSIZE;
	case RAFT_BUSY:
	case RAFT_CANTCHANGE:
		return -EBUSY;
	case RAFT_BADID:
	case RAFT_DUPLICATEID:
	case RAFT_DUPLICATEADDRESS:
	case RAFT_BADROLE:
	case RAFT_INVALID:
	case RAFT_NOTFOUND:
		return -EINVAL;
	case RAFT_UNAUTHORIZED:
		return -EACCES;
	default:
		return -EIO;
	}
}

void repl_config_init(struct repl_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->election_timeout_ms = REPL_DEFAULT_ELECTION_TIMEOUT_MS;
	cfg->heartbeat_timeout_ms = REPL_DEFAULT_HEARTBEAT_TIMEOUT_MS;
	cfg->snapshot_threshold = REPL_DEFAULT_SNAPSHOT_THRESHOLD;
	cfg->snapshot_trailing = REPL_DEFAULT_SNAPSHOT_TRAILING;
}

/* mkdir -p with mode 0700 for the directories it creates. */
static int make_dirs(const char *path)
{
	char buf[4096];
	size_t i, len = strlen(path);

	if (len == 0 || len >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, path, len + 1);
	for (i = 1; i <= len; i++) {
		if (buf[i] != '/' && buf[i] != '\0')
			continue;
		buf[i] = '\0';
		if (mkdir(buf, 0700) != 0 && errno != EEXIST)
			return -errno;
		buf[i] = path[i];
	}
	return 0;
}

static void free_copy(struct repl *r)
{
	int i;

	for (i = 0; r->servers != NULL && i < r->cfg.n_servers; i++)
		zk_free(r->servers[i].host);
	zk_free(r->servers);
	zk_free(r->data_dir);
}

static int copy_config(struct repl *r, const struct repl_config *cfg)
{
	int i;

	r->cfg = *cfg;
	r->cfg.servers = NULL;
	r->data_dir = zk_strdup(cfg->data_dir);
	if (r->data_dir == NULL)
		return -ENOMEM;
	r->cfg.data_dir = r->data_dir;
	if (cfg->n_servers == 0)
		return 0;
	r->servers = zk_calloc((size_t)cfg->n_servers, sizeof(*r->servers));
	if (r->servers == NULL)
		return -ENOMEM;
	for (i = 0; i < cfg->n_servers; i++) {
		r->servers[i] = cfg->servers[i];
		r->servers[i].host = zk_strdup(cfg->servers[i].host);
		if (r->servers[i].host == NULL)
			return -ENOMEM;
	}
	r->cfg.servers = r->servers;
	return 0;
}

static int check_config(const struct repl_config *cfg)
{
	int i, j, self = 0;

	if (cfg->data_dir == NULL || cfg->data_dir[0] == '\0' || cfg->n_servers < 0) {
		zk_log_error("replication: no data dir");
		return -EINVAL;
	}
	for (i = 0; i < cfg->n_servers; i++) {
		const struct repl_server *s = &cfg->servers[i];
		if (s->id == 0 || s->host == NULL || s->raft_port == 0 || s->peer_port == 0) {
			zk_log_error("replication: server %d: id, host, raft and peer port needed", i);
			return -EINVAL;
		}
		for (j = 0; j < i; j++)
			if (cfg->servers[j].id == s->id) {
				zk_log_error("replication: server.%llu listed twice",
					     (unsigned long long)s->id);
				return -EINVAL;
			}
		self += s->id == cfg->id;
	}
	if (cfg->n_servers > 0 && self == 0) {
		zk_log_error("replication: my id %llu is not among the servers",
			     (unsigned long long)cfg->id);
		return -EINVAL;
	}
	if (cfg->heartbeat_timeout_ms >= cfg->election_timeout_ms) {
		zk_log_error("replication: heartbeat timeout %u ms must be below election timeout %u ms",
			     cfg->heartbeat_timeout_ms, cfg->election_timeout_ms);
		return -EINVAL;
	}
	return 0;
}

static void fill_defaults(struct repl_config *c)
{
	if (c->election_timeout_ms == 0)
		c->election_timeout_ms = REPL_DEFAULT_ELECTION_TIMEOUT_MS;
	if (c->heartbeat_timeout_ms == 0)
		c->heartbeat_timeout_ms = REPL_DEFAULT_HEARTBEAT_TIMEOUT_MS;
	if (c->snapshot_threshold == 0)
		c->snapshot_threshold = REPL_DEFAULT_SNAPSHOT_THRESHOLD;
	if (c->snapshot_trailing == 0)
		c->snapshot_trailing = REPL_DEFAULT_SNAPSHOT_TRAILING;
}

/* Wake requests waiting for the local apply of an index (forwarded writes, barriers). The
 * list is kept sorted by index, so completion pops from the head. */
static void after_apply(void *arg, int64_t index)
{
	struct repl *r = arg;

	while (r->waiting != NULL && r->waiting->index <= index)
		repl_req_done(r->waiting, 0);
}

int repl_create(uv_loop_t *loop, const struct repl_config *cfg, struct store *store,
		repl_applied_cb cb, void *ctx, struct repl **out)
{
	struct repl_config c = *cfg;
	struct repl *r;
	int rv;

	fill_defaults(&c);
	rv = check_config(&c);
	if (rv != 0)
		return rv;
	r = zk_calloc(1, sizeof(*r));
	if (r == NULL)
		return -ENOMEM;
	rv = copy_config(r, &c);
	if (rv != 0)
		goto err_after_alloc;
	if (r->cfg.n_servers == 0)
		r->cfg.id = 1;
	rv = make_dirs(r->data_dir);
	if (rv != 0) {
		zk_log_error("replication: cannot create data dir %s: %s", r->data_dir,
			     strerror(-rv));
		goto err_after_alloc;
	}
	r->loop = loop;
	r->store = store;
	repl_fsm_init(&r->fsm, &r->fsm_state, store, cb, ctx);
	r->fsm_state.after_apply = after_apply;
	r->fsm_state.after_apply_arg = r;
	uv_timer_init(loop, &r->timer);
	r->timer.data = r;
	*out = r;
	return 0;

err_after_alloc:
	free_copy(r);
	zk_free(r);
	return rv;
}

static int init_io(struct repl *r)
{
	int rv;

	if (r->cfg.n_servers == 0) {
		rv = repl_transport_null_init(&r->transport, r->loop);
		if (rv != 0)
			return rv;
		snprintf(r->address, sizeof(r->address), "127.0.0.1:0");
	} else {
		rv = raft_uv_tcp_init(&r->transport, r->loop);
		if (rv != 0)
			return repl_errno(rv);
		rv = repl_server_address(repl_server_find(r, r->cfg.id), r->address,
					 sizeof(r->address));
		if (rv != 0) {
			raft_uv_tcp_close(&r->transport);
			return rv;
		}
	}
	r->transport_ready = true;
	rv = raft_uv_init(&r->io, r->loop, r->data_dir, &r->transport);
	if (rv != 0) {
		zk_log_error("replication: raft_uv_init %s: %s", r->data_dir, r->io.errmsg);
		return repl_errno(rv);
	}
	r->io_ready = true;
	/* libraft's auto-recovery renames a corrupt segment aside and starts without it, which
	 * silently drops acknowledged writes: refuse to start instead (repl_start's error). */
	raft_uv_set_auto_recovery(&r->io, false);
	raft_uv_set_segment_size(&r->io, REPL_SEGMENT_SIZE);
	rv = raft_init(&r->raft, &r->io, &r->fsm, r->cfg.id, r->address);
	if (rv != 0) {
		zk_log_error("replication: raft_init: %s", raft_errmsg(&r->raft));
		return repl_errno(rv);
	}
	r->raft_ready = true;
	r->raft.data = r;
	r->fsm_state.raft = &r->raft;
	return 0;
}

static void tune(struct repl *r)
{
	raft_set_election_timeout(&r->raft, r->cfg.election_timeout_ms);
	raft_set_heartbeat_timeout(&r->raft, r->cfg.heartbeat_timeout_ms);
	raft_set_snapshot_threshold(&r->raft, r->cfg.snapshot_threshold);
	raft_set_snapshot_trailing(&r->raft, r->cfg.snapshot_trailing);
	raft_set_pre_vote(&r->raft, true);
}

/* Free space check of the data dir: sets r->disk_low (logged on each change). */
static int check_space(struct repl *r)
{
	uint64_t need = REPL_MIN_FREE + 2 * (uint64_t)r->fsm_state.last_snapshot_len;
	struct statvfs st;
	uint64_t avail;
	bool low;

	if (statvfs(r->data_dir, &st) != 0)
		return 0;
	avail = (uint64_t)st.f_bavail * st.f_frsize;
	low = avail < need;
	if (low != r->disk_low)
		zk_log_write(low ? ZK_LOG_LEVEL_ERROR : ZK_LOG_LEVEL_INFO, __FILE__, __LINE__,
			     "replication: data dir %s has %llu KiB free, %s %llu KiB: writes %s",
			     r->data_dir, (unsigned long long)(avail >> 10),
			     low ? "below" : "back above", (unsigned long long)(need >> 10),
			     low ? "refused (ENOSPC)" : "accepted again");
	r->disk_low = low;
	return low ? -ENOSPC : 0;
}

static void poll_leader(struct repl *r)
{
	uint64_t id = repl_leader_id(r);

	if (id != r->last_leader) {
		if (id == 0)
			zk_log_warn("replication: server %llu: no leader",
				    (unsigned long long)r->cfg.id);
		else
			zk_log_info("replication: server %llu: leader is %llu%s",
				    (unsigned long long)r->cfg.id, (unsigned long long)id,
				    id == r->cfg.id ? " (this server)" : "");
		r->last_leader = id;
	}
}

static void timer_cb(uv_timer_t *t)
{
	struct repl *r = t->data;

	poll_leader(r);
	check_space(r);
	/* Entries that are not commands (barriers, configurations) advance last_applied
	 * without an fsm apply: requests waiting for such an index are woken here. */
	after_apply(r, (int64_t)raft_last_applied(&r->raft));
	if (r->fwd != NULL)
		repl_fwd_tick(r->fwd);
}

int repl_start(struct repl *r)
{
	uint64_t t0 = uv_hrtime();
	int rv;

	rv = check_space(r);
	if (rv != 0)
		return rv;
	rv = init_io(r);
	if (rv != 0)
		return rv;
	tune(r);
	rv = repl_membership_bootstrap(r);
	if (rv != 0)
		return rv;
	rv = raft_start(&r->raft);
	if (rv != 0) {
		zk_log_error("replication: cannot start from %s: %s", r->data_dir,
			     raft_errmsg(&r->raft)[0] != '\0' ? raft_errmsg(&r->raft)
							      : r->io.errmsg);
		return repl_errno(rv);
	}
	r->fsm_state.started = true;
	r->started = true;
	if (r->cfg.n_servers > 0) {
		rv = repl_fwd_create(r, &r->fwd);
		if (rv != 0)
			return rv;
	}
	uv_timer_start(&r->timer, timer_cb, r->cfg.heartbeat_timeout_ms,
		       r->cfg.heartbeat_timeout_ms);
	poll_leader(r);
	zk_log_info("replication: server %llu started from %s in %.1f ms: applied %llu, last "
		    "index %llu",
		    (unsigned long long)r->cfg.id, r->data_dir, (uv_hrtime() - t0) / 1e6,
		    (unsigned long long)raft_last_applied(&r->raft),
		    (unsigned long long)raft_last_index(&r->raft));
	return 0;
}

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

static void drained(uv_timer_t *t);

/* One local append or barrier finished: a draining close goes on, from the next loop
 * iteration since we are inside a libraft callback that still uses its io afterwards. */
static void inflight_done(struct repl *r)
{
	r->inflight--;
	if (r->draining && r->inflight == 0)
		uv_timer_start(&r->timer, drained, 0, 0);
}

static void apply_cb(struct raft_apply *a, int status, void *result)
{
	struct repl_req *req = REPL_CONTAINER(a, struct repl_req, raft.apply);
	struct repl *r = req->repl;

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
	req->next = req->prev = NULL;
}

/* Append @len txn bytes at @p on the leader (as a padded entry, see repl_entry_pad). */
int repl_append_local(struct repl *r, struct repl_req *req, const void *p, size_t len)
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
	return 0;
}

int repl_submit(struct repl *r, struct repl_req *req, const struct store_txn *txn,
		repl_req_cb cb)
{
	struct zk_buf b;
	int rv;

	rv = check_open(r);
	if (rv != 0)
		return rv;
	zk_buf_init(&b);
	rv = store_txn_encode(txn, &b);
	if (rv != 0)
		goto out;
	req_init(r, req, REPL_REQ_APPLY, cb);
	if (raft_state(&r->raft) == RAFT_LEADER)
		rv = repl_append_local(r, req, b.data, b.len);
	else if (r->fwd != NULL)
		rv = repl_fwd_submit(r->fwd, req, uv_buf_init((char *)b.data, (unsigned)b.len));
	else
		rv = -ENOTCONN;
out:
	zk_buf_close(&b);
	return rv;
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

enum repl_role repl_role(struct repl *r)
{
	const struct raft_server *self = NULL;
	unsigned i;

	if (!r->started || r->closing)
		return REPL_UNAVAILABLE;
	switch (raft_state(&r->raft)) {
	case RAFT_LEADER:
		return REPL_LEADER;
	case RAFT_CANDIDATE:
		return REPL_CANDIDATE;
	case RAFT_FOLLOWER:
		for (i = 0; i < r->raft.configuration.n; i++)
			if (r->raft.configuration.servers[i].id == r->cfg.id)
				self = &r->raft.configuration.servers[i];
		if (self != NULL && self->role != RAFT_VOTER)
			return REPL_OBSERVER;
		return REPL_FOLLOWER;
	default:
		return REPL_UNAVAILABLE;
	}
}

uint64_t repl_leader_id(struct repl *r)
{
	raft_id id = 0;
	const char *address = NULL;

	if (!r->started)
		return 0;
	raft_leader(&r->raft, &id, &address);
	return id;
}

int64_t repl_applied_zxid(struct repl *r)
{
	return r->raft_ready ? (int64_t)raft_last_applied(&r->raft) : 0;
}

const char *repl_errmsg(struct repl *r)
{
	if (!r->raft_ready)
		return "not started";
	return raft_errmsg(&r->raft)[0] != '\0' ? raft_errmsg(&r->raft) : r->io.errmsg;
}

void repl_set_hooks(struct repl *r, const struct repl_hooks *hooks)
{
	r->hooks = *hooks;
	r->fsm_state.replaced = hooks->store_replaced;
}

int repl_session_touch(struct repl *r, int64_t session_id)
{
	if (r->fwd == NULL || !r->started || raft_state(&r->raft) == RAFT_LEADER)
		return 0;
	return repl_fwd_touch(r->fwd, session_id);
}

/* Closing: see the lifecycle at the top. */

static void timer_closed(uv_handle_t *h)
{
	struct repl *r = h->data;

	if (r->close_cb != NULL)
		r->close_cb(r);
	free_copy(r);
	zk_free(r);
}

static void io_closed(struct repl *r)
{
	uv_close((uv_handle_t *)&r->timer, timer_closed);
}

static void null_transport_closed(struct raft_uv_transport *t)
{
	(void)t;
}

static void raft_closed(struct raft *raft)
{
	struct repl *r = raft->data;

	raft_uv_close(&r->io);
	if (r->cfg.n_servers > 0)
		raft_uv_tcp_close(&r->transport);
	io_closed(r);
}

/* libraft never took over the io/transport (start failed early): close them ourselves. */
static void close_unstarted_io(struct repl *r)
{
	if (r->io_ready)
		raft_uv_close(&r->io);
	if (r->transport_ready && r->cfg.n_servers == 0)
		r->transport.close(&r->transport, null_transport_closed);
	else if (r->transport_ready)
		raft_uv_tcp_close(&r->transport);
	io_closed(r);
}

static void close_libraft(struct repl *r)
{
	uv_timer_stop(&r->timer);
	r->draining = false;
	while (r->waiting != NULL)
		repl_req_done(r->waiting, -ECANCELED);
	if (r->raft_ready)
		raft_close(&r->raft, raft_closed);
	else
		close_unstarted_io(r);
}

static void drain_deadline(uv_timer_t *t)
{
	struct repl *r = t->data;

	zk_log_warn("replication: %u write(s) still in flight at close", r->inflight);
	close_libraft(r);
}

static void drained(uv_timer_t *t)
{
	close_libraft(t->data);
}

static void close_raft(struct repl *r)
{
	if (r->inflight == 0) {
		close_libraft(r);
		return;
	}
	r->draining = true;
	uv_timer_start(&r->timer, drain_deadline, 5000, 0);
}

static void close_continue(struct repl *r)
{
	uv_timer_stop(&r->timer);
	r->transferring = false;
	if (r->fwd != NULL)
		repl_fwd_close(r->fwd, close_raft);
	else
		close_raft(r);
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
