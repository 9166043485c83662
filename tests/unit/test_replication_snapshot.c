/* test_replication_snapshot.c: snapshots taken by a forked child (replication/snapshot_fork.c)
 * on libraft's real uv backend and the real store, in a temporary data dir: writes go on while
 * the child writes the image, the image is the store as it was at the fork, and the faults
 * (fork fails, the child is killed, the image is cut short) never leave a partial snapshot.
 *
 * Fault injection goes through repl_snapshot_hooks. A child is held back by a gate: the test
 * puts the read end of a pipe on its stdin (the child keeps fds 0-2 and its image pipe only),
 * and the child's write hook reads one byte from it first. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>

#include "replication/replication_int.h"
#include "replication/snapshot_fork.h"
#include "test_repl_util.h"

#define THRESHOLD 64

struct fixture {
	uv_loop_t loop;
	char *dir;
	struct tr_node node;
	int saved_stdin; /* The test's stdin while the gate sits on fd 0, else -1. */
	int gate;	 /* Write end of the gate, -1 when none. */
};

static struct repl_snapshot_hooks default_hooks; /* fork() and a whole write. */

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (default_hooks.fork == NULL)
		default_hooks = repl_snapshot_hooks;
	uv_loop_init(&f->loop);
	f->dir = tr_tmpdir("snap");
	tr_node_init(&f->node, &f->loop, f->dir);
	f->node.cfg.snapshot_threshold = THRESHOLD;
	f->node.cfg.snapshot_trailing = 16;
	f->saved_stdin = -1;
	f->gate = -1;
	*state = f;
	return 0;
}

/* Open the gate (the child goes on), put the test's stdin back; later children write at once. */
static void gate_open(struct fixture *f)
{
	repl_snapshot_hooks.child_write = default_hooks.child_write;
	if (f->gate >= 0) {
		assert_int_equal(write(f->gate, "g", 1), 1);
		close(f->gate);
		f->gate = -1;
	}
	if (f->saved_stdin >= 0) {
		dup2(f->saved_stdin, 0);
		close(f->saved_stdin);
		f->saved_stdin = -1;
	}
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	gate_open(f);
	tr_node_fini(&f->node);
	repl_snapshot_hooks = default_hooks;
	assert_int_equal(uv_loop_close(&f->loop), 0);
	tr_rmdir(f->dir);
	free(f->dir);
	free(f);
	return 0;
}

static struct repl_fsm *fsm_of(struct fixture *f)
{
	return &((struct repl *)f->node.repl)->fsm_state;
}

static bool snapshot_pending(struct fixture *f)
{
	return ((struct repl *)f->node.repl)->raft.snapshot.pending.term != 0;
}

static bool snapshot_stored(void *f)
{
	return fsm_of(f)->n_snapshots > 0 && !snapshot_pending(f);
}

static bool snapshot_failed(void *f)
{
	return fsm_of(f)->snapshot_retry_ns != 0 && !snapshot_pending(f);
}

/* Snapshot files (not their .meta) in the data dir. */
static int snapshot_files(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL)
		n += strncmp(e->d_name, "snapshot-", 9) == 0 && strstr(e->d_name, ".meta") == NULL;
	closedir(d);
	return n;
}

/* Restart on the same data dir: the same tree and last zxid, no replayed create failing (an
 * image holding entries past its index would make their replay fail with NodeExists), and the
 * snapshot used (fewer entries replayed than applied before). */
static void restart_same_tree(struct fixture *f)
{
	uint64_t digest = store_digest(f->node.store), before = f->node.n_applied;
	int64_t zxid = store_last_zxid(f->node.store);

	tr_node_close(&f->node);
	f->node.op_errors = 0;
	assert_int_equal(tr_node_open(&f->node), 0);
	assert_true(store_digest(f->node.store) == digest);
	assert_int_equal(store_last_zxid(f->node.store), zxid);
	assert_int_equal(f->node.op_errors, 0);
	assert_int_equal(store_check(f->node.store), 0);
	assert_true(f->node.n_applied - before < before);
}

/* The child's write hook behind the gate: it also checks that it inherited no descriptor but
 * stdin/out/err and its image pipe (no listener, socket or log file kept open) and that the
 * OOM killer would pick it first. */
static int gated_write(int fd, const void *p, size_t len)
{
	char c, adj[8] = "";
	int i;

	for (i = 3; i < 1024; i++)
		if (i != fd && fcntl(i, F_GETFD) >= 0)
			return 20;
	i = open("/proc/self/oom_score_adj", O_RDONLY);
	if (i < 0 || read(i, adj, sizeof(adj) - 1) <= 0 || strncmp(adj, "1000", 4) != 0)
		return 22;
	close(i);
	if (read(0, &c, 1) != 1)
		return 21;
	return default_hooks.child_write(fd, p, len);
}

static void gate_close(struct fixture *f)
{
	int p[2];

	assert_int_equal(pipe(p), 0);
	f->saved_stdin = dup(0);
	assert_true(f->saved_stdin >= 0);
	assert_int_equal(dup2(p[0], 0), 0);
	close(p[0]);
	f->gate = p[1];
	repl_snapshot_hooks.child_write = gated_write;
}

/* Writes are applied and answered while the child writes the image; the image holds the store
 * as it was at the fork, and a restart from it plus the log gives the same tree. */
static void writes_continue_during_snapshot(void **state)
{
	struct fixture *f = *state;

	gate_close(f);
	assert_int_equal(tr_node_open(&f->node), 0);
	assert_int_equal(tr_submit_n(&f->node, "a", 0, THRESHOLD + 6, 10000), 0);
	assert_true(snapshot_pending(f));
	assert_int_equal(tr_submit_n(&f->node, "b", 100, 100, 10000), 0);
	assert_true(snapshot_pending(f));
	assert_int_equal(fsm_of(f)->n_snapshots, 0);
	gate_open(f);
	assert_true(tr_run_until_pred(&f->loop, snapshot_stored, f, 10000));
	assert_int_equal(snapshot_files(f->dir), 1);
	restart_same_tree(f);
}

static pid_t fork_eagain(void)
{
	errno = EAGAIN;
	return -1;
}

/* fork() fails: the image is written on the loop thread instead, and it is as good. */
static void fork_failure_falls_back(void **state)
{
	struct fixture *f = *state;

	repl_snapshot_hooks.fork = fork_eagain;
	assert_int_equal(tr_node_open(&f->node), 0);
	assert_int_equal(tr_submit_n(&f->node, "a", 0, THRESHOLD + 6, 10000), 0);
	assert_true(tr_run_until_pred(&f->loop, snapshot_stored, f, 10000));
	assert_int_equal(snapshot_files(f->dir), 1);
	restart_same_tree(f);
}

static int child_killed(int fd, const void *p, size_t len)
{
	(void)fd;
	(void)p;
	(void)len;
	raise(SIGKILL);
	return 0;
}

static int child_half(int fd, const void *p, size_t len)
{
	default_hooks.child_write(fd, p, len / 2);
	return 0;
}

/* A child that fails drops the snapshot: no snapshot file, the log kept (a restart replays
 * it all), no retry before the back-off; once it passed, the next snapshot is taken. */
static void failed_child_drops_snapshot(struct fixture *f, int (*hook)(int, const void *, size_t))
{
	repl_snapshot_hooks.child_write = hook;
	assert_int_equal(tr_node_open(&f->node), 0);
	assert_int_equal(tr_submit_n(&f->node, "a", 0, THRESHOLD + 6, 10000), 0);
	assert_true(tr_run_until_pred(&f->loop, snapshot_failed, f, 10000));
	assert_int_equal(tr_submit_n(&f->node, "b", 100, 10, 10000), 0);
	assert_false(snapshot_pending(f));
	assert_int_equal(fsm_of(f)->n_snapshots, 0);
	assert_int_equal(snapshot_files(f->dir), 0);
	repl_snapshot_hooks = default_hooks;
	fsm_of(f)->snapshot_retry_ns = 0;
	assert_int_equal(tr_submit_n(&f->node, "c", 200, 10, 10000), 0);
	assert_true(tr_run_until_pred(&f->loop, snapshot_stored, f, 10000));
	assert_int_equal(snapshot_files(f->dir), 1);
	restart_same_tree(f);
}

/* The child is killed (SIGKILL) before it writes anything. */
static void killed_child(void **state)
{
	failed_child_drops_snapshot(*state, child_killed);
}

/* The child writes half its image and exits 0: the length frame tells it is short. */
static void short_image(void **state)
{
	failed_child_drops_snapshot(*state, child_half);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(writes_continue_during_snapshot, setup, teardown),
		cmocka_unit_test_setup_teardown(fork_failure_falls_back, setup, teardown),
		cmocka_unit_test_setup_teardown(killed_child, setup, teardown),
		cmocka_unit_test_setup_teardown(short_image, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
