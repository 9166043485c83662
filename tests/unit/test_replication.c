/* test_replication.c: the single-node replication layer on libraft's real uv backend, in a
 * temporary data dir: start, submit, barrier, restart (log replay and snapshot + tail), a torn
 * or corrupted log tail, a full disk, close with requests in flight. */
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>

#include "replication/log_check.h"
#include "replication/replication_int.h"
#include "test_repl_util.h"

/* libraft 0.15 leaks the entries it had loaded when a later batch of a closed segment is
 * corrupt (src/uv_segment.c uvSegmentLoadClosed error path: "TODO: release memory"); the
 * torn/corrupt tests hit it on purpose. The library is stripped, so the suppression names the
 * module: a leak of ours in raft-allocated memory would hide too, but only in this binary. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
	return "leak:libraft.so\n";
}

struct fixture {
	uv_loop_t loop;
	char *dir;
	struct tr_node node;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	uv_loop_init(&f->loop);
	f->dir = tr_tmpdir("repl");
	tr_node_init(&f->node, &f->loop, f->dir);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char dir[600];

	tr_node_fini(&f->node);
	/* A failed disk test must not leave its tmpfs behind (no-ops otherwise). */
	snprintf(dir, sizeof(dir), "%s/small", f->dir);
	umount2(dir, MNT_DETACH);
	snprintf(dir, sizeof(dir), "%s/disk", f->dir);
	umount2(dir, MNT_DETACH);
	assert_int_equal(uv_loop_close(&f->loop), 0);
	tr_rmdir(f->dir);
	free(f->dir);
	free(f);
	return 0;
}

/* Restart the node on the same data dir. */
static int reopen(struct fixture *f)
{
	tr_node_close(&f->node);
	return tr_node_open(&f->node);
}

/* A standalone server is leader as soon as repl_start returns. */
static void start_standalone_leader(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(tr_node_open(&f->node), 0);
	assert_int_equal(repl_role(f->node.repl), REPL_LEADER);
	assert_int_equal(repl_leader_id(f->node.repl), 1);
}

/* Writes complete after their applied_cb ran, with increasing zxids, in log order. */
static void submit_applies_in_order(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(tr_node_open(&f->node), 0);
	assert_int_equal(tr_submit_n(&f->node, "a", 0, 200, 10000), 0);
	assert_int_equal(f->node.n_applied, 200);
	assert_int_equal(f->node.early_done, 0);
	assert_int_equal(f->node.op_errors, 0);
	assert_int_equal(store_last_zxid(f->node.store), repl_applied_zxid(f->node.repl));
}

/* After a clean restart the log is replayed: same last zxid and digest. */
static void restart_replays_log(void **state)
{
	struct fixture *f = *state;
	uint64_t digest;
	int64_t zxid;

	assert_int_equal(tr_node_open(&f->node), 0);
	assert_int_equal(tr_submit_n(&f->node, "a", 0, 100, 10000), 0);
	digest = store_digest(f->node.store);
	zxid = store_last_zxid(f->node.store);
	assert_int_equal(reopen(f), 0);
	assert_int_equal(store_last_zxid(f->node.store), zxid);
	assert_true(store_digest(f->node.store) == digest);
	assert_int_equal(store_check(f->node.store), 0);
	assert_int_equal(tr_submit_n(&f->node, "b", 100, 10, 10000), 0);
	assert_true(store_last_zxid(f->node.store) > zxid);
}

/* A snapshot was stored and none is in flight: snapshots finish on libraft's async_work
 * thread after the apply that started them, and a close drops one still in flight. */
static bool snapshot_stored(void *arg)
{
	struct repl *r = ((struct fixture *)arg)->node.repl;

	return r->fsm_state.n_snapshots > 0 && r->raft.snapshot.pending.term == 0;
}

/* Past the threshold a snapshot is taken; a restart loads it and replays the tail only. */
static void snapshot_then_restart(void **state)
{
	struct fixture *f = *state;
	uint64_t digest, before;
	int64_t zxid;
	int i;

	f->node.cfg.snapshot_threshold = 64;
	f->node.cfg.snapshot_trailing = 16;
	assert_int_equal(tr_node_open(&f->node), 0);
	for (i = 0; i < 10; i++)
		assert_int_equal(tr_submit_n(&f->node, "a", 30 * i, 30, 10000), 0);
	assert_true(tr_run_until_pred(&f->loop, snapshot_stored, f, 10000));
	digest = store_digest(f->node.store);
	zxid = store_last_zxid(f->node.store);
	before = f->node.n_applied;
	assert_int_equal(reopen(f), 0);
	assert_int_equal(store_last_zxid(f->node.store), zxid);
	assert_true(store_digest(f->node.store) == digest);
	assert_int_equal(store_check(f->node.store), 0);
	print_message("    replayed %llu of %llu entries after the snapshot\n",
		      (unsigned long long)(f->node.n_applied - before), (unsigned long long)before);
	/* Entries 2..301 hold the 300 writes; the snapshot covers at least index 64. */
	assert_true(f->node.n_applied - before <= before + 1 - 64);
}

/* A clean close of a standalone server with 1024 or more entries since its last snapshot
 * takes one first (trailing 0), so the next start replays nothing and keeps no log entries in
 * memory; with fewer, it closes at once and the restart replays them. */
static void close_takes_snapshot(void **state)
{
	struct fixture *f = *state;
	uint64_t digest, before;

	assert_int_equal(tr_node_open(&f->node), 0);
	assert_int_equal(tr_submit_n(&f->node, "a", 0, 1100, 30000), 0);
	digest = store_digest(f->node.store);
	before = f->node.n_applied;
	assert_int_equal(f->node.repl->fsm_state.n_snapshots, 0);
	assert_int_equal(reopen(f), 0);
	assert_true(store_digest(f->node.store) == digest);
	assert_int_equal(f->node.n_applied - before, 0);
	assert_int_equal(f->node.repl->raft.log.snapshot.last_index, f->node.repl->raft.last_applied);
	assert_int_equal(tr_submit_n(&f->node, "b", 0, 10, 10000), 0);
	before = f->node.n_applied;
	assert_int_equal(reopen(f), 0);
	assert_int_equal(f->node.n_applied - before, 10);
}

/* Big entries take a snapshot by bytes long before the entry threshold, so the log libraft
 * keeps in memory stays bounded; a restart then replays only the tail. */
static void snapshot_by_log_bytes(void **state)
{
	struct fixture *f = *state;
	uint64_t digest, before;
	int i;

	f->node.cfg.snapshot_log_bytes = 1 << 20;
	tr_data_len = 60000;
	memset(tr_data, 'x', (size_t)tr_data_len);
	assert_int_equal(tr_node_open(&f->node), 0);
	for (i = 0; i < 10; i++)
		assert_int_equal(tr_submit_n(&f->node, "big", 8 * i, 8, 10000), 0);
	tr_data_len = 4;
	assert_true(tr_run_until_pred(&f->loop, snapshot_stored, f, 10000));
	digest = store_digest(f->node.store);
	before = f->node.n_applied;
	assert_int_equal(reopen(f), 0);
	assert_true(store_digest(f->node.store) == digest);
	print_message("    replayed %llu of %llu entries of 60 kB\n",
		      (unsigned long long)(f->node.n_applied - before), (unsigned long long)before);
	/* The entry threshold (32768) was never reached: any snapshot came from the bytes. */
	assert_true(f->node.n_applied - before < before);
}

/* repl_barrier completes once everything before it is applied. */
static void barrier_completes(void **state)
{
	struct fixture *f = *state;
	struct tr_batch b = {.node = &f->node, .n = 1};
	struct repl_req req = {.data = &b};

	assert_int_equal(tr_node_open(&f->node), 0);
	assert_int_equal(tr_submit_n(&f->node, "a", 0, 10, 10000), 0);
	b.reqs = &req;
	b.first = 0; /* seen_xid[0] is set: the barrier counts as applied. */
	assert_int_equal(repl_barrier(f->node.repl, &req, tr_batch_cb), 0);
	assert_true(tr_run_until(&f->loop, &b.all_done, 5000));
	assert_int_equal(b.failed, 0);
}

/* Closing with writes in flight completes each of them exactly once (applied or canceled). */
static void close_with_writes_in_flight(void **state)
{
	struct fixture *f = *state;
	struct tr_batch b = {.node = &f->node, .n = 50};
	struct repl_req reqs[50];
	char path[32];
	int i;

	assert_int_equal(tr_node_open(&f->node), 0);
	b.reqs = reqs;
	for (i = 0; i < 50; i++) {
		struct store_txn txn;
		snprintf(path, sizeof(path), "/c-%d", i);
		tr_txn(&txn, path, i);
		reqs[i].data = &b;
		assert_int_equal(repl_submit(f->node.repl, &reqs[i], &txn, tr_batch_cb), 0);
	}
	tr_node_close(&f->node);
	assert_int_equal(b.done, 50);
}

/* After repl_close has been called nothing is accepted. Calls before start fail cleanly. */
static void submit_before_start_fails(void **state)
{
	struct fixture *f = *state;
	struct store_txn txn;
	struct repl_req req;

	assert_int_equal(store_create(NULL, NULL, NULL, &f->node.store), 0);
	assert_int_equal(repl_create(&f->loop, &f->node.cfg, f->node.store, tr_applied, &f->node,
				     &f->node.repl),
			 0);
	tr_txn(&txn, "/x", 1);
	assert_int_equal(repl_submit(f->node.repl, &req, &txn, tr_batch_cb), -ENOTCONN);
	assert_int_equal(repl_role(f->node.repl), REPL_UNAVAILABLE);
}

/* A bad configuration is refused with -EINVAL. */
static void bad_config_refused(void **state)
{
	struct fixture *f = *state;
	struct repl_server s = {.id = 2, .host = "127.0.0.1", .raft_port = 22000, .peer_port = 22001};
	struct repl *r;

	assert_int_equal(store_create(NULL, NULL, NULL, &f->node.store), 0);
	f->node.cfg.servers = &s;
	f->node.cfg.n_servers = 1;
	f->node.cfg.id = 1; /* not among the servers */
	assert_int_equal(repl_create(&f->loop, &f->node.cfg, f->node.store, NULL, NULL, &r),
			 -EINVAL);
	f->node.cfg.id = 2;
	s.host = "no-such-host.invalid";
	assert_int_equal(repl_create(&f->loop, &f->node.cfg, f->node.store, NULL, NULL, &r),
			 -EINVAL);
	s.host = "127.0.0.1";
	s.client_address = "a;b"; /* would end the member address early */
	s.client_port = 2181;
	assert_int_equal(repl_create(&f->loop, &f->node.cfg, f->node.store, NULL, NULL, &r),
			 -EINVAL);
	f->node.cfg.n_servers = 0;
	f->node.cfg.heartbeat_timeout_ms = 5000;
	assert_int_equal(repl_create(&f->loop, &f->node.cfg, f->node.store, NULL, NULL, &r),
			 -EINVAL);
}

/* A member address carries the peer port and, after ';', the client address (an IPv6 literal
 * included); one written without them parses with 0 / NULL; libraft sees the part before ';'. */
static void member_address(void **state)
{
	struct repl_server in = {.id = 4, .host = "10.0.0.4", .raft_port = 2888, .peer_port = 3888,
				 .client_address = "[::1]", .client_port = 2181};
	struct repl_server out;
	char text[REPL_ADDRESS_MAX], buf[REPL_ADDRESS_MAX];

	(void)state;
	assert_int_equal(repl_server_address(&in, text, sizeof(text)), 0);
	assert_string_equal(text, "10.0.0.4:2888:3888;[::1]:2181");
	assert_int_equal(repl_address_raft_len(text), strlen("10.0.0.4:2888:3888"));
	assert_int_equal(repl_address_parse(text, buf, sizeof(buf), &out), 0);
	assert_string_equal(out.host, "10.0.0.4");
	assert_int_equal(out.raft_port, 2888);
	assert_int_equal(out.peer_port, 3888);
	assert_string_equal(out.client_address, "[::1]");
	assert_int_equal(out.client_port, 2181);

	in.client_port = 0;
	assert_int_equal(repl_server_address(&in, text, sizeof(text)), 0);
	assert_string_equal(text, "10.0.0.4:2888:3888");
	assert_int_equal(repl_address_parse("10.0.0.4:2888", buf, sizeof(buf), &out), 0);
	assert_int_equal(out.peer_port, 0);
	assert_null(out.client_address);
	assert_int_equal(out.client_port, 0);

	assert_int_equal(repl_address_parse("10.0.0.4:2888:3888;2181", buf, sizeof(buf), &out),
			 -EINVAL);
	in.client_port = 2181;
	in.client_address = "a b";
	assert_int_equal(repl_server_address(&in, text, sizeof(text)), -EINVAL);
	assert_int_equal(repl_server_address(&in, text, 8), -EINVAL);
}

/* The newest segment file of @dir (closed "first-last" or "open-N"), largest by name order
 * of its first index. */
static void last_segment(const char *dir, char *out, size_t len)
{
	struct dirent *e;
	unsigned long long best = 0, a, b;
	DIR *d = opendir(dir);

	assert_non_null(d);
	out[0] = '\0';
	while ((e = readdir(d)) != NULL) {
		if (sscanf(e->d_name, "%llu-%llu", &a, &b) == 2 && a >= best) {
			best = a;
			snprintf(out, len, "%s/%s", dir, e->d_name);
		}
	}
	closedir(d);
	assert_true(out[0] != '\0');
}

/* After a damaged tail, the node either refuses to start (a clear error, nothing served) or
 * comes back with a store equal to the one it had at some earlier zxid (a true prefix). */
static void check_prefix_or_refused(struct fixture *f, int rv, int64_t zxid_before)
{
	int64_t zxid;

	if (rv != 0) {
		print_message("    start refused: %s (%s)\n", strerror(-rv),
			      repl_errmsg(f->node.repl));
		return;
	}
	zxid = store_last_zxid(f->node.store);
	print_message("    recovered to zxid %lld of %lld\n", (long long)zxid,
		      (long long)zxid_before);
	assert_true(zxid <= zxid_before);
	if (zxid > 0)
		assert_true(store_digest(f->node.store) == f->node.digest_at[zxid]);
}

/* Write 100 creates, close cleanly, and return the last zxid; @seg/@st: the last segment. */
static int64_t write_and_close(struct fixture *f, char *seg, size_t len, struct stat *st)
{
	int64_t zxid;

	assert_int_equal(tr_node_open(&f->node), 0);
	assert_int_equal(tr_submit_n(&f->node, "a", 0, 100, 10000), 0);
	zxid = store_last_zxid(f->node.store);
	tr_node_close(&f->node);
	last_segment(f->dir, seg, len);
	assert_int_equal(stat(seg, st), 0);
	return zxid;
}

/* A segment cut in the middle of its last entry (a torn write). */
static void torn_tail(void **state)
{
	struct fixture *f = *state;
	char seg[512];
	struct stat st;
	int64_t zxid = write_and_close(f, seg, sizeof(seg), &st);

	assert_int_equal(truncate(seg, st.st_size - 20), 0);
	check_prefix_or_refused(f, tr_node_open(&f->node), zxid);
}

/* One flipped byte in the middle of the last segment. */
static void corrupted_byte(void **state)
{
	struct fixture *f = *state;
	char seg[512];
	struct stat st;
	int64_t zxid = write_and_close(f, seg, sizeof(seg), &st);
	uint8_t c;
	int fd;

	fd = open(seg, O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &c, 1, st.st_size / 2), 1);
	c ^= 0x5a;
	assert_int_equal(pwrite(fd, &c, 1, st.st_size / 2), 1);
	close(fd);
	check_prefix_or_refused(f, tr_node_open(&f->node), zxid);
}

/* Apply the creates tr_submit_n(node, prefix, first, n) makes to a fresh store, as entries
 * 2, 3, ... (entry 1 is the bootstrap configuration), recording digest_at[zxid]. */
static void expected_digests(struct tr_node *n, const char *prefix, int first, int count)
{
	struct store *s;
	struct store_result res;
	struct store_txn txn;
	char path[64];
	int i;

	assert_int_equal(store_create(NULL, NULL, NULL, &s), 0);
	for (i = 0; i < count; i++) {
		snprintf(path, sizeof(path), "/%s-%d", prefix, i);
		tr_txn(&txn, path, first + i);
		assert_int_equal(store_apply(s, 2 + i, &txn, &res), 0);
		store_result_free(&res);
		n->digest_at[2 + i] = store_digest(s);
	}
	store_destroy(s);
}

/* Child process: start, get @count writes acknowledged, report how many on @fd, and die
 * without closing anything (as kill -9 would). */
static void crash_child(struct fixture *f, int count, int fd)
{
	int acked;

	if (tr_node_open(&f->node) != 0)
		_exit(1);
	acked = count - tr_submit_n(&f->node, "k", 0, count, 10000);
	if (write(fd, &acked, sizeof(acked)) != sizeof(acked))
		_exit(1);
	_exit(0);
}

/* Run crash_child in a child process; returns the number of acknowledged writes. */
static int crash_after_writes(struct fixture *f, int count)
{
	int fds[2], acked = -1, status;
	pid_t pid;

	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		crash_child(f, count, fds[1]);
	close(fds[1]);
	assert_int_equal(read(fds[0], &acked, sizeof(acked)), sizeof(acked));
	close(fds[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return acked;
}

/* The newest open segment of @dir ("open-N") that holds data (libraft also keeps empty,
 * preallocated ones ready). */
static void open_segment(const char *dir, char *out, size_t len)
{
	char path[600];
	struct dirent *e;
	unsigned long long best = 0, n, format;
	DIR *d = opendir(dir);
	int fd;

	assert_non_null(d);
	out[0] = '\0';
	while ((e = readdir(d)) != NULL) {
		if (sscanf(e->d_name, "open-%llu", &n) != 1 || n < best)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		fd = open(path, O_RDONLY);
		assert_true(fd >= 0);
		format = 0;
		if (pread(fd, &format, 8, 0) != 8)
			format = 0;
		close(fd);
		if (format == 0)
			continue;
		best = n;
		snprintf(out, len, "%s", path);
	}
	closedir(d);
	assert_true(out[0] != '\0');
}

/* A server killed after its writes were acknowledged restarts with every one of them: the
 * open segment left behind is replayed. */
static void crash_keeps_acknowledged(void **state)
{
	struct fixture *f = *state;
	int acked;

	acked = crash_after_writes(f, 100);
	assert_int_equal(acked, 100);
	expected_digests(&f->node, "k", 0, 100);
	assert_int_equal(tr_node_open(&f->node), 0);
	assert_int_equal(store_last_zxid(f->node.store), 101);
	assert_true(store_digest(f->node.store) == f->node.digest_at[101]);
	assert_int_equal(store_check(f->node.store), 0);
}

/* A crash that tore the last write of the open segment (its bytes garbage): the server
 * recovers to a true prefix of what it had, or refuses to start; it never serves a corrupt
 * tree. (Here the torn write was acknowledged, which a real crash cannot produce, since
 * writes are acknowledged after O_DSYNC completes: the test shows only what libraft does.) */
static void crash_torn_open_segment(void **state)
{
	struct fixture *f = *state;
	char seg[600], junk[64];
	static uint8_t head[1 << 20];
	int fd, acked;
	off_t end;

	acked = crash_after_writes(f, 100);
	assert_int_equal(acked, 100);
	expected_digests(&f->node, "k", 0, 100);
	open_segment(f->dir, seg, sizeof(seg));
	fd = open(seg, O_RDWR);
	assert_true(fd >= 0);
	/* The data ends at the last non-zero byte before the zero-filled preallocation. */
	assert_int_equal(pread(fd, head, sizeof(head), 0), (ssize_t)sizeof(head));
	for (end = sizeof(head); end > 0 && head[end - 1] == 0; end--)
		;
	assert_true(end > 64);
	memset(junk, 0xa5, sizeof(junk));
	assert_int_equal(pwrite(fd, junk, sizeof(junk), end - 40), (ssize_t)sizeof(junk));
	close(fd);
	check_prefix_or_refused(f, tr_node_open(&f->node), 101);
}

/* The whole open segment @seg into *@buf (malloc'ed); returns its length. */
static size_t read_segment(const char *seg, uint8_t **buf)
{
	struct stat st;
	int fd = open(seg, O_RDONLY);

	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	*buf = malloc((size_t)st.st_size);
	assert_non_null(*buf);
	assert_int_equal(pread(fd, *buf, (size_t)st.st_size, 0), st.st_size);
	close(fd);
	return (size_t)st.st_size;
}

static void write_segment(const char *seg, const uint8_t *buf, size_t len)
{
	int fd = open(seg, O_WRONLY | O_TRUNC);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, buf, len), (ssize_t)len);
	close(fd);
}

/* Offsets of the batches of a segment libraft wrote (its header layout: 8-byte CRCs, 8-byte
 * entry count n, 16 bytes per entry with the data length in the last 4), up to @end; returns
 * how many, the offset after the last one in @starts[n]. */
static int batch_starts(const uint8_t *buf, size_t end, size_t *starts, int max)
{
	size_t off = 8, n, i, data;
	uint32_t len;
	int k = 0;

	while (off < end && k < max) {
		starts[k++] = off;
		memcpy(&n, buf + off + 8, 8);
		for (data = 0, i = 0; i < n; i++) {
			memcpy(&len, buf + off + 16 + 16 * i + 12, 4);
			data += len;
		}
		off += 16 + 16 * n + data;
	}
	starts[k] = off;
	return k;
}

/* Copy the data dir aside (cp -a) or back. */
static void copy_dir(const char *from, const char *to)
{
	char cmd[1300];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s' && cp -a '%s' '%s'", to, from, to);
	assert_int_equal(system(cmd), 0);
}

/* Restart on the pristine crashed data dir @saved with the newest open segment replaced by
 * @len bytes of @buf; expect the store of @zxid. */
static void start_with_segment(struct fixture *f, const char *saved, const char *seg,
			       const uint8_t *buf, size_t len, int64_t zxid)
{
	copy_dir(saved, f->dir);
	write_segment(seg, buf, len);
	assert_int_equal(tr_node_open(&f->node), 0);
	assert_int_equal(store_last_zxid(f->node.store), zxid);
	assert_true(store_digest(f->node.store) == f->node.digest_at[zxid]);
	tr_node_close(&f->node);
}

/* On a log libraft wrote and a crash left (open segments, preallocated zero tails), the
 * pre-start check finds every entry and changes nothing. */
static void crash_log_check_clean(void **state)
{
	struct fixture *f = *state;
	struct repl_log_check lc;

	assert_int_equal(crash_after_writes(f, 100), 100);
	assert_int_equal(repl_log_check(f->dir, &lc), 0);
	assert_int_equal(lc.n_entries, 101); /* + the bootstrap configuration */
	assert_true(lc.n_open >= 1);
	assert_string_equal(lc.cut_file, "");
}

/* The last batch of libraft's open segment torn at any byte (the file cut there): the check
 * cuts exactly that batch, and libraft (which double-freed on such a tail) then starts with
 * every entry before it. Scanned at every byte; started at a few. */
static void crash_torn_at_every_byte(void **state)
{
	struct fixture *f = *state;
	char seg[600], saved[256];
	struct repl_log_scan sc;
	size_t starts[256], cut, len;
	uint8_t *buf;
	int nb;

	assert_int_equal(crash_after_writes(f, 100), 100);
	expected_digests(&f->node, "k", 0, 100);
	open_segment(f->dir, seg, sizeof(seg));
	len = read_segment(seg, &buf);
	repl_log_scan(buf, len, &sc);
	assert_int_equal(sc.end, REPL_LOG_CLEAN);
	nb = batch_starts(buf, sc.valid_end, starts, 255);
	assert_int_equal(starts[nb], sc.valid_end);
	for (cut = starts[nb - 1] + 1; cut < starts[nb]; cut++) {
		repl_log_scan(buf, cut, &sc);
		assert_int_equal(sc.end, REPL_LOG_TORN);
		assert_int_equal(sc.valid_end, starts[nb - 1]);
		assert_int_equal(sc.resync, 0);
	}
	snprintf(saved, sizeof(saved), "%s.saved", f->dir);
	copy_dir(f->dir, saved);
	for (cut = starts[nb - 1] + 1; cut < starts[nb]; cut += (starts[nb] - cut) / 3 + 1)
		start_with_segment(f, saved, seg, buf, cut, 100);
	start_with_segment(f, saved, seg, buf, starts[nb - 1] + 8, 100);
	start_with_segment(f, saved, seg, buf, starts[nb] - 1, 100);
	tr_rmdir(saved);
	free(buf);
}

/* A flipped byte in a batch of libraft's open segment that is not the last refuses the start
 * (-EBADMSG, before libraft runs: nothing leaks); in the last batch it is cut as a torn write
 * (in this test that write was acknowledged: a real crash cannot produce that). */
static void crash_flip_each_batch(void **state)
{
	struct fixture *f = *state;
	char seg[600];
	struct repl_log_scan sc;
	size_t starts[256], len;
	uint8_t *buf;
	int nb, i;

	assert_int_equal(crash_after_writes(f, 100), 100);
	expected_digests(&f->node, "k", 0, 100);
	open_segment(f->dir, seg, sizeof(seg));
	len = read_segment(seg, &buf);
	repl_log_scan(buf, len, &sc);
	nb = batch_starts(buf, sc.valid_end, starts, 255);
	assert_int_equal(starts[nb], sc.valid_end);
	for (i = 0; i < nb; i += (i + 1 < nb - 10) ? 9 : 1) {
		size_t at = (starts[i] + starts[i + 1]) / 2;
		buf[at] ^= 0x5a;
		write_segment(seg, buf, len);
		buf[at] ^= 0x5a;
		if (i + 1 < nb) {
			assert_int_equal(repl_log_check(f->dir, NULL), -EBADMSG);
			assert_int_equal(tr_node_open(&f->node), -EBADMSG);
			tr_node_close(&f->node);
		}
	}
	assert_int_equal(tr_node_open(&f->node), 0);
	assert_int_equal(store_last_zxid(f->node.store), 100);
	assert_true(store_digest(f->node.store) == f->node.digest_at[100]);
	free(buf);
}

struct tr_try {
	struct tr_node *node;
	int rv;
	bool matched;
	int want;
	struct repl_req req;
	bool done;
};

static void try_cb(struct repl_req *req, int status)
{
	struct tr_try *t = req->data;

	(void)status;
	t->done = true;
}

/* Poll (timer) until repl_submit returns @want: the space check runs every heartbeat. */
static void try_submit(uv_timer_t *timer)
{
	struct tr_try *t = timer->data;
	struct store_txn txn;

	if (t->matched || !(t->done || t->req.data == NULL))
		return;
	tr_txn(&txn, "/try", 0);
	t->req.data = t;
	t->done = false;
	t->rv = repl_submit(t->node->repl, &t->req, &txn, try_cb);
	if (t->rv != 0)
		t->done = true;
	t->matched = t->rv == t->want;
}

static bool submit_until(struct fixture *f, int want)
{
	struct tr_try t = {.node = &f->node, .want = want};
	uv_timer_t timer;
	bool ok;

	uv_timer_init(&f->loop, &timer);
	timer.data = &t;
	uv_timer_start(&timer, try_submit, 0, 20);
	ok = tr_run_until(&f->loop, &t.matched, 3000);
	tr_run_until(&f->loop, &t.done, 3000);
	tr_close_handle(&f->loop, (uv_handle_t *)&timer);
	return ok;
}

static void mount_tmpfs(const char *dir, const char *size)
{
	char opts[64];

	snprintf(opts, sizeof(opts), "size=%s", size);
	assert_int_equal(mkdir(dir, 0700), 0);
	assert_int_equal(mount("tmpfs", dir, "tmpfs", 0, opts), 0);
}

/* A data dir without room for libraft's segments: start refused with a clear error. Needs
 * root (mounts a 2 MiB tmpfs); skipped otherwise. */
static void full_disk_refuses_start(void **state)
{
	struct fixture *f = *state;
	char dir[600];

	if (geteuid() != 0) {
		skip();
		return;
	}
	snprintf(dir, sizeof(dir), "%s/small", f->dir);
	mount_tmpfs(dir, "2m");
	f->node.cfg.data_dir = dir;
	assert_int_equal(tr_node_open(&f->node), -ENOSPC);
	tr_node_close(&f->node);
	assert_int_equal(umount(dir), 0);
}

/* The disk fills up while serving: writes are refused with -ENOSPC (never lost, never a
 * crash), and accepted again once space is freed. Needs root; skipped otherwise. */
static void disk_fills_up(void **state)
{
	struct fixture *f = *state;
	char dir[600], balloon[700], cmd[800];
	struct statvfs st;

	if (geteuid() != 0) {
		skip();
		return;
	}
	snprintf(dir, sizeof(dir), "%s/disk", f->dir);
	mount_tmpfs(dir, "96m");
	f->node.cfg.data_dir = dir;
	assert_int_equal(tr_node_open(&f->node), 0);
	assert_int_equal(tr_submit_n(&f->node, "a", 0, 50, 10000), 0);
	assert_int_equal(statvfs(dir, &st), 0);
	snprintf(balloon, sizeof(balloon), "%s/balloon", dir);
	snprintf(cmd, sizeof(cmd), "fallocate -l %llu '%s'",
		 (unsigned long long)st.f_bavail * st.f_frsize - (16u << 20), balloon);
	assert_int_equal(system(cmd), 0);
	assert_true(submit_until(f, -ENOSPC));
	assert_int_equal(unlink(balloon), 0);
	assert_true(submit_until(f, 0));
	tr_node_close(&f->node);
	assert_int_equal(umount(dir), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(start_standalone_leader, setup, teardown),
		cmocka_unit_test_setup_teardown(submit_applies_in_order, setup, teardown),
		cmocka_unit_test_setup_teardown(restart_replays_log, setup, teardown),
		cmocka_unit_test_setup_teardown(snapshot_then_restart, setup, teardown),
		cmocka_unit_test_setup_teardown(snapshot_by_log_bytes, setup, teardown),
		cmocka_unit_test_setup_teardown(close_takes_snapshot, setup, teardown),
		cmocka_unit_test_setup_teardown(barrier_completes, setup, teardown),
		cmocka_unit_test_setup_teardown(close_with_writes_in_flight, setup, teardown),
		cmocka_unit_test_setup_teardown(submit_before_start_fails, setup, teardown),
		cmocka_unit_test_setup_teardown(bad_config_refused, setup, teardown),
		cmocka_unit_test(member_address),
		cmocka_unit_test_setup_teardown(torn_tail, setup, teardown),
		cmocka_unit_test_setup_teardown(corrupted_byte, setup, teardown),
		cmocka_unit_test_setup_teardown(crash_keeps_acknowledged, setup, teardown),
		cmocka_unit_test_setup_teardown(crash_torn_open_segment, setup, teardown),
		cmocka_unit_test_setup_teardown(crash_log_check_clean, setup, teardown),
		cmocka_unit_test_setup_teardown(crash_torn_at_every_byte, setup, teardown),
		cmocka_unit_test_setup_teardown(crash_flip_each_batch, setup, teardown),
		cmocka_unit_test_setup_teardown(full_disk_refuses_start, setup, teardown),
		cmocka_unit_test_setup_teardown(disk_fills_up, setup, teardown),
	};

	if (getenv("TEST_FILTER") != NULL)
		cmocka_set_test_filter(getenv("TEST_FILTER"));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
