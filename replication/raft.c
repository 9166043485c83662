/* raft.c: the libraft instance of zkfsd (libuv backend): configuration, create, start, the
 * poll timer (leader tracking, disk space), role and leader queries. Requests are in
 * request.c, the closing sequence in close.c.
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
 *  - Loading a damaged log: libraft double-frees on some torn tails and silently drops
 *    entries after a bad batch of an open segment; repl_start runs log_check.c first. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <netdb.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "common/zk_alloc.h"
#include "common/zk_buf.h"
#include "common/zk_log.h"
#include "replication/log_check.h"
#include "replication/replication_int.h"

/* libraft's open segments are preallocated files of this size (raft_uv_set_segment_size).
 * Two costs pull against each other. After a restart libraft keeps each segment it loaded
 * whole in memory until every entry in it is behind a snapshot, so the first one it needs
 * costs its full size (8 B per znode at 1M znodes). But closing a full segment destroys its
 * kernel AIO context (io_destroy) on the loop thread, which waited 35-50 ms here: with 2 MB
 * segments that stall came every 8,000 small writes and set a single session's setData p99
 * (1204 vs 750 us at 1500 ops/s) and p99.9 (27 vs 4 ms). libraft's default of 8 MB makes it
 * four times rarer, out of the p99, and keeps the memory within the issue-5 target. */
#define REPL_SEGMENT_SIZE (8u << 20)
/* Writes are refused (-ENOSPC) while the data dir has less free space than this (room for
 * several open segments) plus twice the last snapshot's size. Reason: libraft 0.15 mishandles
 * a failed segment allocation (ENOSPC): only the first two pending writes get an error, the
 * others never complete and the instance later crashes (seen in tests/unit/test_replication
 * full_disk), so zkfsd must not let libraft run out of space. */
#define REPL_MIN_FREE ((uint64_t)32 << 20)
/* ... and while fewer inodes than this are free (each new segment and snapshot is a new file,
 * libraft fails its append just the same on ENOSPC for want of an inode). */
#define REPL_MIN_INODES 16

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

void repl_error(struct repl *r, const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->errmsg, sizeof(r->errmsg), fmt, ap);
	va_end(ap);
	zk_log_write(ZK_LOG_LEVEL_ERROR, file, line, "replication: %s", r->errmsg);
}

void repl_config_init(struct repl_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->election_timeout_ms = REPL_DEFAULT_ELECTION_TIMEOUT_MS;
	cfg->heartbeat_timeout_ms = REPL_DEFAULT_HEARTBEAT_TIMEOUT_MS;
	cfg->snapshot_threshold = REPL_DEFAULT_SNAPSHOT_THRESHOLD;
	cfg->snapshot_trailing = REPL_DEFAULT_SNAPSHOT_TRAILING;
	cfg->snapshot_log_bytes = REPL_DEFAULT_SNAPSHOT_LOG_BYTES;
	cfg->install_snapshot_timeout_ms = REPL_DEFAULT_INSTALL_SNAPSHOT_TIMEOUT_MS;
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

void repl_config_free(struct repl *r)
{
	int i;

	for (i = 0; r->servers != NULL && i < r->cfg.n_servers; i++) {
		zk_free(r->servers[i].host);
		zk_free(r->servers[i].client_address);
	}
	zk_free(r->servers);
	zk_free(r->data_dir);
}

/* libraft 0.15 and the peer port take IPv4 literals only (src/uv_ip.c uv_ip4_addr): a name
 * is resolved once here, at create. Returns an owned dotted quad, or NULL (logged). */
static char *resolve_host(uint64_t id, const char *host)
{
	struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM};
	struct addrinfo *res;
	struct sockaddr_in sa;
	char buf[INET_ADDRSTRLEN];
	char *out;
	int rv;

	if (uv_ip4_addr(host, 0, &sa) == 0)
		return zk_strdup(host);
	rv = getaddrinfo(host, NULL, &hints, &res);
	if (rv != 0) {
		zk_log_error("replication: server.%llu: cannot resolve %s to an IPv4 address: %s",
			     (unsigned long long)id, host, gai_strerror(rv));
		return NULL;
	}
	inet_ntop(AF_INET, &((struct sockaddr_in *)res->ai_addr)->sin_addr, buf, sizeof(buf));
	freeaddrinfo(res);
	out = zk_strdup(buf);
	if (out != NULL)
		zk_log_info("replication: server.%llu: %s is %s", (unsigned long long)id, host, buf);
	return out;
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
		r->servers[i].client_address = NULL;
		r->servers[i].host = resolve_host(cfg->servers[i].id, cfg->servers[i].host);
		if (r->servers[i].host == NULL)
			return -EINVAL;
		if (cfg->servers[i].client_port != 0) {
			r->servers[i].client_address = zk_strdup(cfg->servers[i].client_address);
			if (r->servers[i].client_address == NULL)
				return -ENOMEM;
		}
	}
	r->cfg.servers = r->servers;
	return 0;
}

static int check_config(const struct repl_config *cfg)
{
	char address[REPL_ADDRESS_MAX];
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
		if (s->client_port != 0 && repl_server_address(s, address, sizeof(address)) != 0) {
			zk_log_error("replication: server.%llu: bad client address '%s'",
				     (unsigned long long)s->id,
				     s->client_address ? s->client_address : "(none)");
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
	if (c->snapshot_log_bytes == 0)
		c->snapshot_log_bytes = REPL_DEFAULT_SNAPSHOT_LOG_BYTES;
	if (c->install_snapshot_timeout_ms == 0)
		c->install_snapshot_timeout_ms = REPL_DEFAULT_INSTALL_SNAPSHOT_TIMEOUT_MS;
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
	repl_config_free(r);
	zk_free(r);
	return rv;
}

static int init_io(struct repl *r)
{
	int rv;

	if (r->cfg.n_servers == 0)
		snprintf(r->address, sizeof(r->address), "127.0.0.1:0");
	else if (repl_server_address(repl_server_find(r, r->cfg.id), r->address,
				     sizeof(r->address)) != 0)
		return -EINVAL;
	rv = repl_transport_init(&r->transport, r->loop, r->cfg.n_servers > 0);
	if (rv != 0)
		return rv;
	r->transport_ready = true;
	rv = raft_uv_init(&r->io, r->loop, r->data_dir, &r->transport);
	if (rv != 0) {
		REPL_ERROR(r, "raft_uv_init %s: %s", r->data_dir, r->io.errmsg);
		return repl_errno(rv);
	}
	r->io_ready = true;
	/* libraft's auto-recovery renames a corrupt segment aside and starts without it, which
	 * silently drops acknowledged writes: refuse to start instead (repl_start's error). */
	raft_uv_set_auto_recovery(&r->io, false);
	raft_uv_set_segment_size(&r->io, REPL_SEGMENT_SIZE);
	/* Snapshots go to disk as our own image, compressed by the store (zstd, in the forked
	 * child: store/snapshot_zstd.c) and checked by its CRC32C before it is decompressed.
	 * libraft 0.15's LZ4 stays off: its reader loops forever on some damaged frames (a
	 * flipped byte left zkfsd hanging in raft_start instead of refusing the data dir), and
	 * its size would make the free-space reserve guess wrong. Older LZ4 snapshots still
	 * load. */
	raft_uv_set_snapshot_compression(&r->io, false);
	rv = raft_init(&r->raft, &r->io, &r->fsm, r->cfg.id, r->address);
	if (rv != 0) {
		REPL_ERROR(r, "raft_init: %s", raft_errmsg(&r->raft));
		return repl_errno(rv);
	}
	r->raft_ready = true;
	r->raft.data = r;
	r->fsm_state.raft = &r->raft;
	return 0;
}

/* libraft 0.15 does not survive a failed listen on its Raft port (libuv then asserts in
 * uv__io_poll during the close, seen in tests/unit/test_replication_cluster), and says
 * nothing useful about it: check the port first with a throw-away socket. */
static int check_raft_port(struct repl *r)
{
	const struct repl_server *self = repl_server_find(r, r->cfg.id);
	struct sockaddr_in sa;
	int fd, one = 1, rv = 0;

	if (self == NULL || uv_ip4_addr(self->host, self->raft_port, &sa) != 0)
		return -EINVAL;
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(fd, 1) != 0)
		rv = -errno;
	close(fd);
	if (rv != 0)
		REPL_ERROR(r, "cannot listen on Raft port %s:%u: %s", self->host, self->raft_port,
			   strerror(-rv));
	return rv;
}

static void tune(struct repl *r)
{
	raft_set_election_timeout(&r->raft, r->cfg.election_timeout_ms);
	raft_set_heartbeat_timeout(&r->raft, r->cfg.heartbeat_timeout_ms);
	/* A snapshot sent to a follower that was not listening yet is only resent after this. */
	raft_set_install_snapshot_timeout(&r->raft, r->cfg.install_snapshot_timeout_ms);
	raft_set_snapshot_threshold(&r->raft, r->cfg.snapshot_threshold);
	raft_set_snapshot_trailing(&r->raft, r->cfg.snapshot_trailing);
	r->fsm_state.threshold = r->cfg.snapshot_threshold;
	r->fsm_state.trailing = r->cfg.snapshot_trailing;
	r->fsm_state.log_bytes = r->cfg.snapshot_log_bytes;
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
	/* f_files is 0 on file systems without an inode limit (btrfs). */
	low = avail < need || (st.f_files != 0 && st.f_favail < REPL_MIN_INODES);
	if (low != r->disk_low)
		zk_log_write(low ? ZK_LOG_LEVEL_ERROR : ZK_LOG_LEVEL_INFO, __FILE__, __LINE__,
			     "replication: data dir %s has %llu KiB and %llu inodes free, %s "
			     "%llu KiB and %d inodes: writes %s",
			     r->data_dir, (unsigned long long)(avail >> 10),
			     (unsigned long long)st.f_favail, low ? "needs" : "back above",
			     (unsigned long long)(need >> 10), REPL_MIN_INODES,
			     low ? "refused (disk full, ENOSPC)" : "accepted again");
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

/* libraft 0.15 crashes on some torn log tails and silently drops acknowledged entries after
 * a corrupt batch of an open segment (log_check.h): check the segments ourselves first, before
 * libraft allocates anything, so a refusal leaves nothing of libraft to free. */
static int check_log(struct repl *r)
{
	struct repl_log_check lc;
	uint64_t t0 = uv_hrtime();
	int rv = repl_log_check(r->data_dir, &lc);

	if (rv != 0) {
		snprintf(r->errmsg, sizeof(r->errmsg), "log in %s is damaged (see the log): %s",
			 r->data_dir, strerror(-rv));
		return rv;
	}
	zk_log_info("replication: log check of %s: %u closed and %u open segment(s), %llu "
		    "entries, %.1f ms%s",
		    r->data_dir, lc.n_closed, lc.n_open, (unsigned long long)lc.n_entries,
		    (uv_hrtime() - t0) / 1e6, lc.cut_file[0] != '\0' ? " (torn tail cut)" : "");
	return 0;
}

int repl_start(struct repl *r)
{
	uint64_t t0 = uv_hrtime();
	int rv;

	rv = check_space(r);
	if (rv != 0) {
		snprintf(r->errmsg, sizeof(r->errmsg), "data dir %s: not enough free space",
			 r->data_dir);
		return rv;
	}
	rv = check_log(r);
	if (rv != 0)
		return rv;
	rv = init_io(r);
	if (rv != 0)
		return rv;
	tune(r);
	rv = repl_membership_bootstrap(r);
	if (rv != 0)
		return rv;
	/* The listeners first: a port in use fails the start before Raft runs. */
	if (r->cfg.n_servers > 0) {
		rv = check_raft_port(r);
		if (rv != 0)
			return rv;
		rv = repl_fwd_create(r, &r->fwd);
		if (rv != 0)
			return rv;
	}
	rv = raft_start(&r->raft);
	if (rv != 0) {
		REPL_ERROR(r, "cannot start from %s: %s", r->data_dir,
			   raft_errmsg(&r->raft)[0] != '\0' ? raft_errmsg(&r->raft) : r->io.errmsg);
		return repl_errno(rv);
	}
	r->fsm_state.started = true;
	r->started = true;
	repl_membership_check(r);
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

uint64_t repl_last_index(struct repl *r)
{
	return r->raft_ready ? (uint64_t)raft_last_index(&r->raft) : 0;
}

const char *repl_errmsg(struct repl *r)
{
	if (r->errmsg[0] != '\0')
		return r->errmsg;
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
	if (r->fwd == NULL || !r->started || r->closing || raft_state(&r->raft) == RAFT_LEADER)
		return 0;
	return repl_fwd_touch(r->fwd, session_id);
}

