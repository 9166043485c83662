/* fourlw: the four-letter words on the client port (ZooKeeper 3.8's FourLetterCommands), in
 * ZooKeeper's output format where tools parse it (srvr, stat, mntr, cons with ZooKeeper's
 * lastOp words, conf, dirs, wchs/wchc/wchp, isro, ruok), plus zkfsd's `dgst`: "zxid 0x<last zxid>\ndigest <64-bit hex>\n", for comparing the
 * trees of replicas. A word not in 4lw.commands.whitelist gets ZooKeeper's refusal line.
 * Differences from ZooKeeper, on purpose: "Node count" counts "/" once (ZooKeeper's DataTree
 * counts it under "" and "/", so its number is one higher: we add 1 to print the same); mntr
 * lists only the keys zkfsd can fill truthfully, and zk_approximate_data_size may be up to 10 s
 * old (ZooKeeper keeps it up to date; the store has no running total). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <dirent.h>
#include <time.h>
#include <unistd.h>

#include "common/zk_log.h"
#include "zkfsd/zkfsd_int.h"

/* ZKFSD_VERSION comes from the build (zkfsd/local.mk). Tools parse the leading "3.8.0". */
#define FOURLW_VERSION "3.8.0-zkfsd-" ZKFSD_VERSION ", built on " __DATE__

static const char *const fourlw_words[] = {
	"ruok", "srvr", "stat", "mntr", "conf", "cons", "crst", "srst", "wchs", "wchc",
	"wchp", "dump", "isro", "envi", "dirs", "dgst", "stal",
};

/* How stale zk_approximate_data_size may be (it is a walk of the whole tree). */
#define FOURLW_DATA_SIZE_MS 10000

bool fourlw_is_word(const uint8_t *p)
{
	for (size_t i = 0; i < sizeof(fourlw_words) / sizeof(fourlw_words[0]); i++)
		if (memcmp(p, fourlw_words[i], 4) == 0)
			return true;
	return false;
}

static const char *fourlw_mode(struct zkfsd *srv)
{
	if (srv->cfg->n_servers == 0)
		return "standalone";
	switch (repl_role(srv->repl)) {
	case REPL_LEADER:
		return "leader";
	case REPL_FOLLOWER:
		return "follower";
	case REPL_OBSERVER:
		return "observer";
	default:
		return "looking";
	}
}

static void fourlw_latency(const struct zkfsd_stats *st, uint64_t *min, double *avg,
			   uint64_t *max)
{
	*min = st->latency_count ? st->latency_min_ms : 0;
	*max = st->latency_max_ms;
	*avg = st->latency_count ? (double)st->latency_total_ms / (double)st->latency_count : 0.0;
}

/* ServerStats.toString plus the node count (srvr/stat). */
static void fourlw_server_stats(struct zkfsd *srv, struct zk_buf *out)
{
	uint64_t min, max;
	double avg;

	fourlw_latency(&srv->stats, &min, &avg, &max);
	zk_buf_printf(out, "Latency min/avg/max: %" PRIu64 "/%.1f/%" PRIu64 "\n", min, avg, max);
	zk_buf_printf(out, "Received: %" PRIu64 "\n", srv->stats.packets_received);
	zk_buf_printf(out, "Sent: %" PRIu64 "\n", srv->stats.packets_sent);
	zk_buf_printf(out, "Connections: %d\n", srv->n_conns);
	zk_buf_printf(out, "Outstanding: %d\n", srv->outstanding);
	zk_buf_printf(out, "Zxid: 0x%" PRIx64 "\n", (uint64_t)store_last_zxid(srv->store));
	zk_buf_printf(out, "Mode: %s\n", fourlw_mode(srv));
	zk_buf_printf(out, "Node count: %" PRIu64 "\n", store_node_count(srv->store) + 1);
}

/* One line of cons/stat (ServerCnxn.dumpConnectionInfo). */
/* The wall-clock time in epoch ms of @loop_ms, a uv_now() reading (cons' est=, as Java's
 * Date.getTime()). */
static int64_t fourlw_epoch_ms(struct zkfsd *srv, uint64_t loop_ms)
{
	return request_wall_ms() - (int64_t)(uv_now(srv->loop) - loop_ms);
}

/* cons' "lop": the abbreviation FinalRequestProcessor stores as a connection's lastOp (tools
 * that parse cons see the same words). */
const char *fourlw_last_op(int32_t op)
{
	switch (op) {
	case ZK_OP_PING:
		return "PING";
	case ZK_OP_CREATE_SESSION:
		return "SESS";
	case ZK_OP_MULTI:
		return "MULT";
	case ZK_OP_MULTI_READ:
		return "MLTR";
	case ZK_OP_CREATE:
	case ZK_OP_CREATE2:
	case ZK_OP_CREATE_CONTAINER:
	case ZK_OP_CREATE_TTL:
		return "CREA";
	case ZK_OP_DELETE:
	case ZK_OP_DELETE_CONTAINER:
		return "DELE";
	case ZK_OP_SET_DATA:
		return "SETD";
	case ZK_OP_RECONFIG:
		return "RECO";
	case ZK_OP_SET_ACL:
		return "SETA";
	case ZK_OP_CLOSE_SESSION:
		return "CLOS";
	case ZK_OP_SYNC:
		return "SYNC";
	case ZK_OP_CHECK:
		return "CHEC";
	case ZK_OP_EXISTS:
		return "EXIS";
	case ZK_OP_GET_DATA:
		return "GETD";
	case ZK_OP_SET_WATCHES:
		return "SETW";
	case ZK_OP_SET_WATCHES2:
		return "STW2";
	case ZK_OP_ADD_WATCH:
		return "ADDW";
	case ZK_OP_GET_ACL:
		return "GETA";
	case ZK_OP_GET_CHILDREN:
	case ZK_OP_GET_CHILDREN2:
		return "GETC";
	case ZK_OP_GET_ALL_CHILDREN_NUMBER:
		return "GETACN";
	case ZK_OP_CHECK_WATCHES:
		return "CHKW";
	case ZK_OP_REMOVE_WATCHES:
		return "REMW";
	case ZK_OP_WHO_AM_I:
		return "HOMI";
	case ZK_OP_GET_EPHEMERALS:
		return "GETE";
	default:
		return "NA";
	}
}

static void fourlw_conn_line(struct zkfsd *srv, struct conn *c, struct zk_buf *out, bool brief)
{
	zk_buf_printf(out, " /%s:%d[%d](queued=%d,recved=%" PRIu64 ",sent=%" PRIu64, c->ip,
		      c->port, c->state == CONN_READY ? 1 : 0, c->outstanding, c->received,
		      c->sent);
	if (!brief && c->session != NULL) {
		zk_buf_printf(out, ",sid=0x%" PRIx64 ",lop=%s,est=%" PRId64 ",to=%d",
			      (uint64_t)c->session->id,
			      c->lat_count ? fourlw_last_op(c->last_op) : "NA",
			      fourlw_epoch_ms(srv, c->established_ms), c->session->timeout_ms);
		if (c->lat_count)
			zk_buf_printf(out, ",lcxid=0x%x,lzxid=0x%" PRIx64 ",lresp=0,llat=0",
				      (unsigned)c->last_xid, (uint64_t)c->last_zxid);
		zk_buf_printf(out, ",minlat=%" PRIu64 ",avglat=%" PRIu64 ",maxlat=%" PRIu64,
			      c->lat_count ? c->lat_min : 0,
			      c->lat_count ? c->lat_total / c->lat_count : 0, c->lat_max);
	}
	zk_buf_printf(out, ")\n");
}

static void fourlw_cons(struct zkfsd *srv, struct zk_buf *out, bool brief)
{
	for (struct conn *c = srv->conns; c != NULL; c = c->next)
		fourlw_conn_line(srv, c, out, brief);
	zk_buf_printf(out, "\n");
}

static void fourlw_count_eph(void *ctx, const char *path)
{
	(void)path;
	(*(uint64_t *)ctx)++;
}

struct fourlw_eph {
	struct zkfsd *srv;	/* Borrowed. */
	uint64_t count;		/* mntr: ephemerals; dump: sessions owning ephemerals. */
	struct zk_buf *dump;	/* Non-NULL for `dump`: list them. */
};

/* mntr's zk_ephemerals_count: every ephemeral of session @id. */
static void fourlw_eph_session(void *ctx, int64_t id, int32_t timeout_ms)
{
	struct fourlw_eph *e = ctx;

	(void)timeout_ms;
	store_get_ephemerals(e->srv->store, id, NULL, fourlw_count_eph, &e->count);
}

static void fourlw_dump_eph(void *ctx, const char *path)
{
	zk_buf_printf(ctx, "\t%s\n", path);
}

/* dump's ephemerals section (DataTree.dumpEphemerals) lists only the sessions that own
 * ephemerals: count them (e->dump NULL) or list them. */
static void fourlw_dump_session(void *ctx, int64_t id, int32_t timeout_ms)
{
	struct fourlw_eph *e = ctx;
	uint64_t n = 0;

	(void)timeout_ms;
	store_get_ephemerals(e->srv->store, id, NULL, fourlw_count_eph, &n);
	if (n == 0)
		return;
	e->count++;
	if (e->dump == NULL)
		return;
	zk_buf_printf(e->dump, "0x%" PRIx64 ":\n", (uint64_t)id);
	store_get_ephemerals(e->srv->store, id, NULL, fourlw_dump_eph, e->dump);
}

static int fourlw_open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	if (d == NULL)
		return -1;
	while (readdir(d) != NULL)
		n++;
	closedir(d);
	return n - 3; /* ".", ".." and the directory's own fd. */
}

/* zkfsd's own: the loop stalls (server.c) and the refusals of each limit. */
static void fourlw_mntr_limits(struct zkfsd *srv, struct zk_buf *out)
{
	static const char *const names[] = {
#define FOURLW_REFUSAL_NAME(id, name) name,
		ZKFSD_REFUSALS(FOURLW_REFUSAL_NAME)
#undef FOURLW_REFUSAL_NAME
	};

	zk_buf_printf(out, "zk_loop_stalls\t%" PRIu64 "\n", srv->stats.loop_stalls);
	zk_buf_printf(out, "zk_loop_stall_max_ms\t%" PRIu64 "\n", srv->stats.loop_stall_max_ms);
	zk_buf_printf(out, "zk_output_pending_bytes\t%zu\n", srv->writing + srv->unflushed);
	for (int i = 0; i < ZKFSD_REFUSED_N; i++)
		zk_buf_printf(out, "zk_refused_%s\t%" PRIu64 "\n", names[i], srv->stats.refused[i]);
	zk_buf_printf(out, "zk_refused_quota_stats\t%" PRIu64 "\n",
		      store_quota_stats_refused(srv->store));
}

/* The test hook `stal` (zkfsd.test.stallMs, off by default): block the loop as a slow disk
 * or a page-in storm would, so tests can check what a stall does to sessions. */
static void fourlw_stall(struct zkfsd *srv, struct zk_buf *out)
{
	struct timespec ts = {srv->cfg->test_stall_ms / 1000,
			      (long)(srv->cfg->test_stall_ms % 1000) * 1000000};

	if (srv->cfg->test_stall_ms == 0) {
		zk_buf_printf(out, "stal is a test hook, off (zkfsd.test.stallMs=0)\n");
		return;
	}
	zk_log_warn("test hook: blocking the loop for %d ms", srv->cfg->test_stall_ms);
	while (nanosleep(&ts, &ts) != 0)
		;
	zk_buf_printf(out, "stalled\n");
}

void fourlw_mntr(struct zkfsd *srv, struct zk_buf *out)
{
	struct fourlw_eph e = {.srv = srv};
	struct rlimit rl = {0};
	uint64_t min, max;
	double avg;

	fourlw_latency(&srv->stats, &min, &avg, &max);
	store_session_foreach(srv->store, fourlw_eph_session, &e);
	getrlimit(RLIMIT_NOFILE, &rl);
	zk_buf_printf(out, "zk_version\t%s\n", FOURLW_VERSION);
	zk_buf_printf(out, "zk_server_state\t%s\n", fourlw_mode(srv));
	zk_buf_printf(out, "zk_ephemerals_count\t%" PRIu64 "\n", e.count);
	zk_buf_printf(out, "zk_num_alive_connections\t%d\n", srv->n_conns);
	zk_buf_printf(out, "zk_avg_latency\t%.1f\n", avg);
	zk_buf_printf(out, "zk_outstanding_requests\t%d\n", srv->outstanding);
	zk_buf_printf(out, "zk_znode_count\t%" PRIu64 "\n", store_node_count(srv->store) + 1);
	zk_buf_printf(out, "zk_global_sessions\t%zu\n", srv->sessions.count);
	zk_buf_printf(out, "zk_packets_sent\t%" PRIu64 "\n", srv->stats.packets_sent);
	zk_buf_printf(out, "zk_packets_received\t%" PRIu64 "\n", srv->stats.packets_received);
	zk_buf_printf(out, "zk_watch_count\t%zu\n",
		      srv->data_watches.count + srv->child_watches.count);
	zk_buf_printf(out, "zk_min_latency\t%" PRIu64 "\n", min);
	zk_buf_printf(out, "zk_max_latency\t%" PRIu64 "\n", max);
	zk_buf_printf(out, "zk_max_file_descriptor_count\t%llu\n", (unsigned long long)rl.rlim_cur);
	zk_buf_printf(out, "zk_open_file_descriptor_count\t%d\n", fourlw_open_fds());
	zk_buf_printf(out, "zk_uptime\t%" PRIu64 "\n", uv_now(srv->loop) - srv->start_ms);
	zk_buf_printf(out, "zk_connection_rejected\t%" PRIu64 "\n", srv->stats.refused_conns);
	fourlw_mntr_limits(srv, out);
	/* A walk of the tree (tens of ns a node): at most once per FOURLW_DATA_SIZE_MS, timed by
	 * the clock after the walk (uv_now does not move during it: the cache never hit). */
	if (srv->data_size_at_ms == 0 ||
	    uv_hrtime() / 1000000 - srv->data_size_at_ms > FOURLW_DATA_SIZE_MS) {
		if (store_approximate_data_size(srv->store, &srv->data_size) == 0)
			srv->data_size_at_ms = uv_hrtime() / 1000000;
	}
	zk_buf_printf(out, "zk_approximate_data_size\t%" PRIu64 "\n", srv->data_size);
	zk_buf_printf(out, "zk_last_zxid\t%" PRId64 "\n", store_last_zxid(srv->store));
	/* zkfsd's own: the Raft log's last index (join.c tells a fresh server by it). */
	zk_buf_printf(out, "zk_raft_last_index\t%" PRIu64 "\n", repl_last_index(srv->repl));
}

/* ZooKeeper's getDataDirSize/getLogDirSize: the bytes of the files in the data dir (zkfsd's
 * is flat: libraft's segments, snapshots, metadata and myid). 0 when it cannot be read. */
static uint64_t fourlw_dir_size(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	struct stat st;
	uint64_t size = 0;

	if (d == NULL)
		return 0;
	while ((e = readdir(d)) != NULL)
		if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISREG(st.st_mode))
			size += (uint64_t)st.st_size;
	closedir(d);
	return size;
}

void fourlw_conf(struct zkfsd *srv, struct zk_buf *out)
{
	const struct config *cfg = srv->cfg;
	uint64_t size = fourlw_dir_size(cfg->data_dir);

	zk_buf_printf(out, "clientPort=%u\n", cfg->client_port);
	zk_buf_printf(out, "secureClientPort=-1\n");
	/* One directory holds log and snapshots: both sizes are its size. */
	zk_buf_printf(out, "dataDir=%s\n", cfg->data_dir);
	zk_buf_printf(out, "dataDirSize=%" PRIu64 "\n", size);
	zk_buf_printf(out, "dataLogDir=%s\n", cfg->data_dir);
	zk_buf_printf(out, "dataLogSize=%" PRIu64 "\n", size);
	zk_buf_printf(out, "tickTime=%d\n", cfg->tick_ms);
	zk_buf_printf(out, "maxClientCnxns=%d\n", cfg->max_client_cnxns);
	zk_buf_printf(out, "minSessionTimeout=%d\n", cfg->min_session_timeout_ms);
	zk_buf_printf(out, "maxSessionTimeout=%d\n", cfg->max_session_timeout_ms);
	zk_buf_printf(out, "clientPortListenBacklog=-1\n");
	zk_buf_printf(out, "serverId=%llu\n",
		      (unsigned long long)(cfg->n_servers ? cfg->myid : 0));
	if (cfg->n_servers > 0)
		reconfig_config_text(srv, out); /* The current membership, as /zookeeper/config. */
}

static void fourlw_dump(struct zkfsd *srv, struct zk_buf *out)
{
	struct fourlw_eph e = {.srv = srv};

	zk_buf_printf(out, "SessionTracker dump:\nSession Sets (%zu)/(%zu):\n", srv->sessions.count,
		      srv->sessions.count);
	for (size_t i = 0; i < srv->sessions.n_buckets; i++)
		for (struct session *s = srv->sessions.buckets[i]; s != NULL; s = s->hnext)
			zk_buf_printf(out, "0x%" PRIx64 " expires in %lld ms\n", (uint64_t)s->id,
				      (long long)s->deadline_ms - (long long)uv_now(srv->loop));
	zk_buf_printf(out, "ephemeral nodes dump:\n");
	store_session_foreach(srv->store, fourlw_dump_session, &e);
	zk_buf_printf(out, "Sessions with Ephemerals (%" PRIu64 "):\n", e.count);
	e.dump = out;
	store_session_foreach(srv->store, fourlw_dump_session, &e);
	zk_buf_printf(out, "Connections dump:\nConnections Sets (%d)/(%d):\n", srv->n_conns,
		      srv->n_conns);
	for (struct conn *c = srv->conns; c != NULL; c = c->next)
		zk_buf_printf(out, "\tip: /%s:%d sessionId: 0x%" PRIx64 "\n", c->ip, c->port,
			      (uint64_t)(c->session ? c->session->id : 0));
}

void fourlw_envi(struct zkfsd *srv, struct zk_buf *out)
{
	char host[256] = "", cwd[1024] = "";

	gethostname(host, sizeof(host) - 1);
	if (getcwd(cwd, sizeof(cwd)) == NULL)
		strcpy(cwd, "?");
	zk_buf_printf(out, "Environment:\n");
	zk_buf_printf(out, "zookeeper.version=%s\n", FOURLW_VERSION);
	zk_buf_printf(out, "host.name=%s\n", host);
	zk_buf_printf(out, "os.name=Linux\n");
	zk_buf_printf(out, "user.dir=%s\n", cwd);
	zk_buf_printf(out, "zkfsd.pid=%ld\n", (long)getpid());
	zk_buf_printf(out, "zkfsd.dataDir=%s\n", srv->cfg->data_dir);
}

void fourlw_answer(struct zkfsd *srv, struct conn *conn, const char *word, struct zk_buf *out)
{
	if (!config_4lw_allowed(srv->cfg, word)) {
		zk_log_info("four-letter word %s from %s:%d refused: not in the whitelist", word,
			    conn->ip, conn->port);
		zk_buf_printf(out, "%s is not executed because it is not in the whitelist.\n", word);
		return;
	}
	zk_log_debug("four-letter word %s from %s:%d", word, conn->ip, conn->port);
	if (strcmp(word, "ruok") == 0) {
		zk_buf_printf(out, "imok");
	} else if (strcmp(word, "srvr") == 0 || strcmp(word, "stat") == 0) {
		zk_buf_printf(out, "Zookeeper version: %s\n", FOURLW_VERSION);
		if (word[1] == 't') {
			zk_buf_printf(out, "Clients:\n");
			fourlw_cons(srv, out, true);
		}
		fourlw_server_stats(srv, out);
	} else if (strcmp(word, "mntr") == 0) {
		fourlw_mntr(srv, out);
	} else if (strcmp(word, "conf") == 0) {
		fourlw_conf(srv, out);
	} else if (strcmp(word, "cons") == 0) {
		fourlw_cons(srv, out, false);
	} else if (strcmp(word, "crst") == 0 || strcmp(word, "srst") == 0) {
		memset(&srv->stats, 0, sizeof(srv->stats));
		srv->stats.latency_min_ms = UINT64_MAX;
		zk_buf_printf(out, word[0] == 'c' ? "Connection stats reset.\n"
						  : "Server stats reset.\n");
	} else if (strncmp(word, "wch", 3) == 0) {
		watch_describe(srv, out, word[3]);
	} else if (strcmp(word, "dump") == 0) {
		fourlw_dump(srv, out);
	} else if (strcmp(word, "stal") == 0) {
		fourlw_stall(srv, out);
	} else if (strcmp(word, "isro") == 0) {
		zk_buf_printf(out, "rw");
	} else if (strcmp(word, "envi") == 0) {
		fourlw_envi(srv, out);
	} else if (strcmp(word, "dirs") == 0) {
		uint64_t size = fourlw_dir_size(srv->cfg->data_dir);

		zk_buf_printf(out, "datadir_size: %" PRIu64 "\nlogdir_size: %" PRIu64 "\n", size,
			      size);
	} else {
		zk_buf_printf(out, "zxid 0x%" PRIx64 "\ndigest %016" PRIx64 "\n",
			      (uint64_t)store_last_zxid(srv->store), store_digest(srv->store));
	}
}
