/* test_replication_fsm.c: the replication state machine (replication/fsm.c) on libraft's
 * raft_fixture: in-memory io, one shared clock, no sockets. Three servers each with their own
 * store; checks apply order and replica equality (digest), snapshots and catch-up by snapshot,
 * leader loss, a failed apply retried, an undecodable entry skipped alike everywhere. */
#include <raft/fixture.h>

#include "replication/replication_int.h"
#include "test_repl_util.h"

#define N_SERVERS 3

void repl_fake_store_fail_apply(struct store *s, long n);

struct fixture {
	struct raft_fixture cluster;
	struct raft_fsm fsms[N_SERVERS];
	struct repl_fsm states[N_SERVERS];
	struct store *stores[N_SERVERS];
	int64_t last_zxid[N_SERVERS];  /* applied_cb order check per server. */
	int replaced[N_SERVERS];       /* store_replaced hook calls. */
	struct raft_apply applies[256];
	int n_applies;
};

struct server_ctx {
	struct fixture *f;
	int i;
};

static struct server_ctx ctxs[N_SERVERS];

static void applied(void *ctx, int64_t zxid, const struct store_txn *txn,
		    const struct store_result *res)
{
	struct server_ctx *c = ctx;

	(void)txn;
	(void)res;
	assert_true(zxid > c->f->last_zxid[c->i]);
	c->f->last_zxid[c->i] = zxid;
}

static void replaced(void *ctx, int64_t zxid)
{
	struct server_ctx *c = ctx;

	c->f->replaced[c->i]++;
	c->f->last_zxid[c->i] = zxid;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct raft_configuration conf;
	int i;

	assert_int_equal(raft_fixture_initialize(&f->cluster), 0);
	for (i = 0; i < N_SERVERS; i++) {
		ctxs[i].f = f;
		ctxs[i].i = i;
		assert_int_equal(store_create(NULL, NULL, NULL, &f->stores[i]), 0);
		repl_fsm_init(&f->fsms[i], &f->states[i], f->stores[i], applied, &ctxs[i]);
		f->states[i].replaced = replaced;
		f->states[i].started = true;
		assert_int_equal(raft_fixture_grow(&f->cluster, &f->fsms[i]), 0);
		f->states[i].raft = raft_fixture_get(&f->cluster, (unsigned)i);
	}
	assert_int_equal(raft_fixture_configuration(&f->cluster, N_SERVERS, &conf), 0);
	assert_int_equal(raft_fixture_bootstrap(&f->cluster, &conf), 0);
	raft_configuration_close(&conf);
	assert_int_equal(raft_fixture_start(&f->cluster), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	int i;

	raft_fixture_close(&f->cluster);
	for (i = 0; i < N_SERVERS; i++)
		store_destroy(f->stores[i]);
	free(f);
	return 0;
}

/* Append one create txn on server @i (must be leader); returns the entry index. */
static raft_index apply_on(struct fixture *f, unsigned i, int seq)
{
	struct raft *r = raft_fixture_get(&f->cluster, i);
	struct store_txn txn;
	struct raft_buffer buf;
	struct zk_buf b;
	char path[32];

	snprintf(path, sizeof(path), "/n-%d", seq);
	tr_txn(&txn, path, seq);
	zk_buf_init(&b);
	assert_int_equal(store_txn_encode(&txn, &b), 0);
	assert_int_equal(repl_entry_pad(b.data, b.len, &buf), 0);
	zk_buf_close(&b);
	assert_true(f->n_applies < 256);
	assert_int_equal(raft_apply(r, &f->applies[f->n_applies++], &buf, 1, NULL), 0);
	return raft_last_index(r);
}

static raft_index apply_n(struct fixture *f, unsigned leader, int first, int n)
{
	raft_index last = 0;
	int i;

	for (i = 0; i < n; i++)
		last = apply_on(f, leader, first + i);
	return last;
}

static void assert_replicas_equal(struct fixture *f)
{
	int i;

	for (i = 1; i < N_SERVERS; i++) {
		assert_true(store_digest(f->stores[i]) == store_digest(f->stores[0]));
		assert_int_equal(store_last_zxid(f->stores[i]), store_last_zxid(f->stores[0]));
	}
}

/* Committed entries reach every store in log order; the stores end equal. */
static void apply_replicates(void **state)
{
	struct fixture *f = *state;
	raft_index last;

	raft_fixture_elect(&f->cluster, 0);
	last = apply_n(f, 0, 0, 20);
	assert_true(raft_fixture_step_until_applied(&f->cluster, N_SERVERS, last, 5000));
	assert_replicas_equal(f);
	assert_int_equal(store_last_zxid(f->stores[0]), (int64_t)last);
}

/* The leader's snapshot is stored (and its log compacted): snapshots finish on libraft's
 * async_work, a step after the apply that started them. */
static bool leader_snapshotted(struct raft_fixture *cluster, void *arg)
{
	(void)cluster;
	return ((struct fixture *)arg)->states[0].n_snapshots > 0;
}

/* A server cut off while the others snapshot and compact their log catches up by
 * InstallSnapshot: its store is replaced (hook fired) and ends equal to the others. */
static void catch_up_by_snapshot(void **state)
{
	struct fixture *f = *state;
	raft_index last;
	int i;

	for (i = 0; i < N_SERVERS; i++) {
		raft_set_snapshot_threshold(raft_fixture_get(&f->cluster, (unsigned)i), 8);
		raft_set_snapshot_trailing(raft_fixture_get(&f->cluster, (unsigned)i), 2);
	}
	raft_fixture_elect(&f->cluster, 0);
	raft_fixture_disconnect(&f->cluster, 0, 2);
	raft_fixture_disconnect(&f->cluster, 1, 2);
	last = apply_n(f, 0, 0, 40);
	assert_true(raft_fixture_step_until_applied(&f->cluster, 1, last, 5000));
	assert_true(raft_fixture_step_until(&f->cluster, leader_snapshotted, f, 5000));
	raft_fixture_reconnect(&f->cluster, 0, 2);
	raft_fixture_reconnect(&f->cluster, 1, 2);
	assert_true(raft_fixture_step_until_applied(&f->cluster, 2, last, 10000));
	assert_true(f->replaced[2] > 0);
	assert_replicas_equal(f);
}

/* The leader dies: another server is elected, writes continue, survivors stay equal; the
 * old leader comes back and catches up. */
static void leader_loss(void **state)
{
	struct fixture *f = *state;
	unsigned leader;
	raft_index last;

	raft_fixture_elect(&f->cluster, 0);
	last = apply_n(f, 0, 0, 10);
	assert_true(raft_fixture_step_until_applied(&f->cluster, N_SERVERS, last, 5000));
	raft_fixture_kill(&f->cluster, 0);
	assert_true(raft_fixture_step_until_has_no_leader(&f->cluster, 10000));
	assert_true(raft_fixture_step_until_has_leader(&f->cluster, 10000));
	leader = raft_fixture_leader_index(&f->cluster);
	assert_true(leader != 0);
	last = apply_n(f, leader, 10, 10);
	assert_true(raft_fixture_step_until_applied(&f->cluster, leader == 1 ? 2 : 1, last, 5000));
	assert_true(raft_fixture_step_until_applied(&f->cluster, leader, last, 5000));
	assert_true(store_digest(f->stores[1]) == store_digest(f->stores[2]));
	raft_fixture_revive(&f->cluster, 0);
	assert_true(raft_fixture_step_until_applied(&f->cluster, 0, last, 10000));
	assert_replicas_equal(f);
}

/* A leader cut off from the majority commits nothing; the majority elects a leader and
 * commits; once healed, the old leader's uncommitted entries are discarded and every store
 * ends equal. */
static void minority_partition(void **state)
{
	struct fixture *f = *state;
	raft_index committed, last;
	unsigned leader;

	raft_fixture_elect(&f->cluster, 0);
	last = apply_n(f, 0, 0, 5);
	assert_true(raft_fixture_step_until_applied(&f->cluster, N_SERVERS, last, 5000));
	committed = last;
	raft_fixture_disconnect(&f->cluster, 0, 1);
	raft_fixture_disconnect(&f->cluster, 0, 2);
	apply_n(f, 0, 5, 5); /* never commits: 0 is alone */
	assert_true(raft_fixture_step_until_has_no_leader(&f->cluster, 10000));
	assert_true(raft_fixture_step_until_has_leader(&f->cluster, 10000));
	leader = raft_fixture_leader_index(&f->cluster);
	assert_true(leader != 0);
	assert_int_equal(store_last_zxid(f->stores[0]), (int64_t)committed);
	last = apply_n(f, leader, 100, 5);
	assert_true(raft_fixture_step_until_applied(&f->cluster, leader, last, 5000));
	raft_fixture_reconnect(&f->cluster, 0, 1);
	raft_fixture_reconnect(&f->cluster, 0, 2);
	assert_true(raft_fixture_step_until_applied(&f->cluster, N_SERVERS, last, 10000));
	assert_replicas_equal(f);
}

/* store_apply failing with -ENOMEM leaves the entry unapplied; libraft retries it when the
 * commit index next advances, and the replicas still end equal. */
static void apply_nomem_retried(void **state)
{
	struct fixture *f = *state;
	raft_index last = 0;
	int i;

	raft_fixture_elect(&f->cluster, 0);
	repl_fake_store_fail_apply(f->stores[1], 3);
	for (i = 0; i < 8; i++) {
		last = apply_on(f, 0, i);
		assert_true(raft_fixture_step_until_applied(&f->cluster, 0, last, 5000));
	}
	assert_true(raft_fixture_step_until_applied(&f->cluster, N_SERVERS, last, 10000));
	assert_replicas_equal(f);
}

/* An entry that is not a transaction is skipped (logged) on every replica alike. */
static void undecodable_entry_skipped(void **state)
{
	struct fixture *f = *state;
	struct raft *r;
	struct raft_buffer buf;
	raft_index last;
	int i;

	raft_fixture_elect(&f->cluster, 0);
	r = raft_fixture_get(&f->cluster, 0);
	assert_int_equal(repl_entry_pad("garbage!", 8, &buf), 0);
	assert_int_equal(raft_apply(r, &f->applies[f->n_applies++], &buf, 1, NULL), 0);
	last = apply_n(f, 0, 0, 3);
	assert_true(raft_fixture_step_until_applied(&f->cluster, N_SERVERS, last, 5000));
	for (i = 0; i < N_SERVERS; i++)
		assert_int_equal(f->states[i].n_skipped, 1);
	assert_replicas_equal(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(apply_replicates, setup, teardown),
		cmocka_unit_test_setup_teardown(catch_up_by_snapshot, setup, teardown),
		cmocka_unit_test_setup_teardown(leader_loss, setup, teardown),
		cmocka_unit_test_setup_teardown(minority_partition, setup, teardown),
		cmocka_unit_test_setup_teardown(apply_nomem_retried, setup, teardown),
		cmocka_unit_test_setup_teardown(undecodable_entry_skipped, setup, teardown),
	};

	if (getenv("TEST_FILTER") != NULL)
		cmocka_set_test_filter(getenv("TEST_FILTER"));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
