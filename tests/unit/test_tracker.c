/* Unit tests of zkfsd/tracker.c, the session tracker: timeout negotiation, the table, expiry
 * (only on the leader, once per session, retried after a failed submit, never right after a
 * leader change) and the resync after a snapshot install. repl and the store are replaced by
 * recorders; deadlines are set directly instead of waiting for time to pass. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "zkfsd/zkfsd_int.h"

/* ---- Fakes ---------------------------------------------------------------------------------- */

static enum repl_role fake_role = REPL_LEADER;
static struct repl_req *submitted[16];	 /* Requests handed to repl_submit. */
static repl_req_cb submitted_cb[16];
static int64_t submitted_sid[16];
static int n_submitted;
static int submit_refusal;		 /* repl_submit's return when not 0 (nothing queued). */
static int64_t store_ids[8];		 /* Sessions the fake store holds. */
static int n_store_ids;

enum repl_role repl_role(struct repl *r)
{
	(void)r;
	return fake_role;
}

int repl_submit(struct repl *r, struct repl_req *req, const struct store_txn *txn,
		repl_req_cb cb)
{
	(void)r;
	assert_int_equal(txn->type, ZK_OP_CLOSE_SESSION);
	if (submit_refusal != 0)
		return submit_refusal;
	assert_true(n_submitted < 16);
	submitted[n_submitted] = req;
	submitted_cb[n_submitted] = cb;
	submitted_sid[n_submitted++] = txn->session_id;
	return 0;
}

void store_session_foreach(const struct store *s,
			   void (*cb)(void *ctx, int64_t id, int32_t timeout_ms), void *ctx)
{
	(void)s;
	for (int i = 0; i < n_store_ids; i++)
		cb(ctx, store_ids[i], 6000);
}

int store_session_get(const struct store *s, int64_t id, int32_t *timeout_ms,
		      uint8_t passwd[ZK_SESSION_PASSWD_LEN])
{
	(void)s;
	(void)timeout_ms;
	(void)passwd;
	for (int i = 0; i < n_store_ids; i++)
		if (store_ids[i] == id)
			return ZK_ERR_OK;
	return ZK_ERR_SESSIONEXPIRED;
}

void conn_mark_dirty(struct conn *conn)
{
	(void)conn;
}

static uint64_t fake_stall_ms; /* What the next server_stall_claim reports. */

uint64_t server_stall_claim(struct zkfsd *srv)
{
	uint64_t ms = fake_stall_ms;

	(void)srv;
	fake_stall_ms = 0;
	return ms;
}

/* ---- Fixture -------------------------------------------------------------------------------- */

struct fixture {
	uv_loop_t loop;	    /* Only for uv_now. */
	struct config cfg;  /* tickTime 2000: timeouts in [4000, 40000]. */
	struct zkfsd srv;   /* Sessions table under test; repl is a dummy non-NULL pointer. */
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_int_equal(uv_loop_init(&f->loop), 0);
	config_init(&f->cfg);
	f->cfg.min_session_timeout_ms = 4000;
	f->cfg.max_session_timeout_ms = 40000;
	f->cfg.myid = 3;
	f->srv.loop = &f->loop;
	f->srv.cfg = &f->cfg;
	f->srv.repl = (struct repl *)f; /* Never dereferenced by the fakes. */
	assert_int_equal(tracker_table_init(&f->srv.sessions), 0);
	fake_role = REPL_LEADER;
	n_submitted = 0;
	submit_refusal = 0;
	n_store_ids = 0;
	fake_stall_ms = 0;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	for (int i = 0; i < n_submitted; i++)
		submitted_cb[i](submitted[i], -ECANCELED);
	tracker_table_close(&f->srv.sessions);
	config_close(&f->cfg);
	assert_int_equal(uv_loop_close(&f->loop), 0);
	free(f);
	return 0;
}

/* Make @id look silent for longer than its timeout. */
static void expire_now(struct fixture *f, int64_t id)
{
	struct session *s = tracker_find(&f->srv, id);

	assert_non_null(s);
	s->deadline_ms = 0;
	uv_update_time(&f->loop);
}

/* ---- Tests ---------------------------------------------------------------------------------- */

/* A requested timeout is clamped into [minSessionTimeout, maxSessionTimeout]. */
static void test_negotiate(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(tracker_negotiate(&f->cfg, 10), 4000);
	assert_int_equal(tracker_negotiate(&f->cfg, 10000), 10000);
	assert_int_equal(tracker_negotiate(&f->cfg, 1000000), 40000);
	assert_int_equal(tracker_negotiate(&f->cfg, -5), 4000);
}

/* Session ids carry myid in the top byte and never repeat. */
static void test_next_id(void **state)
{
	struct fixture *f = *state;
	int64_t a = tracker_next_id(&f->srv), b = tracker_next_id(&f->srv);

	assert_int_equal((uint64_t)a >> 56, 3);
	assert_int_equal(b, a + 1);
}

/* Adding twice keeps one entry with the newer timeout; removing forgets it. */
static void test_table(void **state)
{
	struct fixture *f = *state;

	for (int64_t id = 1; id <= 3000; id++)
		assert_non_null(tracker_add(&f->srv, id, 5000));
	assert_non_null(tracker_add(&f->srv, 7, 9000));
	assert_int_equal(f->srv.sessions.count, 3000);
	assert_int_equal(tracker_find(&f->srv, 7)->timeout_ms, 9000);
	tracker_remove(&f->srv, 7);
	tracker_remove(&f->srv, 7);
	assert_null(tracker_find(&f->srv, 7));
	assert_int_equal(f->srv.sessions.count, 2999);
}

/* Past two sessions a bucket the table doubles, and every session is still found after. */
static void test_table_grows(void **state)
{
	struct fixture *f = *state;
	size_t first = f->srv.sessions.n_buckets;

	for (int64_t id = 1; id <= (int64_t)first * 5; id++)
		assert_non_null(tracker_add(&f->srv, id << 20, 5000));
	assert_true(f->srv.sessions.n_buckets >= first * 2);
	for (int64_t id = 1; id <= (int64_t)first * 5; id++)
		assert_int_equal(tracker_find(&f->srv, id << 20)->id, id << 20);
	tracker_remove(&f->srv, 3 << 20);
	assert_null(tracker_find(&f->srv, 3 << 20));
	assert_int_equal(f->srv.sessions.count, first * 5 - 1);
}

/* The leader submits one closeSession per silent session, and not twice. */
static void test_expiry_on_leader(void **state)
{
	struct fixture *f = *state;

	tracker_add(&f->srv, 1, 5000);
	tracker_add(&f->srv, 2, 5000);
	tracker_check_expiry(&f->srv); /* First check as leader: clocks restart. */
	expire_now(f, 2);
	tracker_check_expiry(&f->srv);
	tracker_check_expiry(&f->srv);
	assert_int_equal(n_submitted, 1);
	assert_int_equal(submitted_sid[0], 2);
	assert_true(tracker_find(&f->srv, 2)->closing);
	assert_false(tracker_find(&f->srv, 1)->closing);
}

/* After the loop stalled, every deadline moves later by the stall: a session overdue by less
 * than the stall (its ping may wait unread in its socket) is not expired; one overdue by more
 * still is. */
static void test_stall_moves_deadlines(void **state)
{
	struct fixture *f = *state;
	uint64_t now;

	tracker_add(&f->srv, 1, 5000);
	tracker_add(&f->srv, 2, 5000);
	tracker_check_expiry(&f->srv); /* First check as leader: clocks restart. */
	uv_update_time(&f->loop);
	now = uv_now(&f->loop);
	tracker_find(&f->srv, 1)->deadline_ms = now - 3000; /* Silent 3 s too long... */
	tracker_find(&f->srv, 2)->deadline_ms = now - 9000; /* ... and 9 s too long. */
	fake_stall_ms = 4000;				    /* The loop stalled 4 s. */
	tracker_check_expiry(&f->srv);
	assert_int_equal(n_submitted, 1);
	assert_int_equal(submitted_sid[0], 2);
	assert_int_equal(tracker_find(&f->srv, 1)->deadline_ms, now + 1000);
	tracker_check_expiry(&f->srv); /* No stall since: the moved deadline holds. */
	assert_int_equal(n_submitted, 1);
}

/* A failed closeSession is tried again at the next check. */
static void test_expiry_retried_after_failure(void **state)
{
	struct fixture *f = *state;

	tracker_add(&f->srv, 1, 5000);
	tracker_check_expiry(&f->srv);
	expire_now(f, 1);
	tracker_check_expiry(&f->srv);
	assert_int_equal(n_submitted, 1);
	submitted_cb[0](submitted[0], -ENOTCONN);
	n_submitted = 0;
	tracker_check_expiry(&f->srv);
	assert_int_equal(n_submitted, 1);
}

/* A closeSession refused at submit (full disk) is marked so that the retries, one per check,
 * stay quiet; once one is queued the session is closing and the mark is gone. */
static void test_expiry_refused_then_submitted(void **state)
{
	struct fixture *f = *state;
	struct session *s;

	tracker_add(&f->srv, 1, 5000);
	tracker_check_expiry(&f->srv);
	expire_now(f, 1);
	submit_refusal = -ENOSPC;
	tracker_check_expiry(&f->srv);
	s = tracker_find(&f->srv, 1);
	assert_true(s->expiry_refused);
	assert_false(s->closing);
	submit_refusal = 0;
	tracker_check_expiry(&f->srv);
	assert_int_equal(n_submitted, 1);
	assert_false(s->expiry_refused);
	assert_true(s->closing);
}

/* Followers never expire sessions; a server that becomes leader restarts every clock first. */
static void test_no_expiry_off_leader_and_after_election(void **state)
{
	struct fixture *f = *state;

	fake_role = REPL_FOLLOWER;
	tracker_add(&f->srv, 1, 5000);
	expire_now(f, 1);
	tracker_check_expiry(&f->srv);
	assert_int_equal(n_submitted, 0);
	fake_role = REPL_LEADER;
	tracker_check_expiry(&f->srv);
	assert_int_equal(n_submitted, 0);
	assert_true(tracker_find(&f->srv, 1)->deadline_ms > 0);
}

/* After a snapshot install the table holds exactly the store's sessions. */
static void test_resync(void **state)
{
	struct fixture *f = *state;

	tracker_add(&f->srv, 1, 5000);
	tracker_add(&f->srv, 3, 5000);
	store_ids[n_store_ids++] = 1;
	store_ids[n_store_ids++] = 2;
	tracker_resync(&f->srv);
	assert_non_null(tracker_find(&f->srv, 1));
	assert_non_null(tracker_find(&f->srv, 2));
	assert_null(tracker_find(&f->srv, 3));
	assert_int_equal(f->srv.sessions.count, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_negotiate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_next_id, setup, teardown),
		cmocka_unit_test_setup_teardown(test_table, setup, teardown),
		cmocka_unit_test_setup_teardown(test_table_grows, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expiry_on_leader, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stall_moves_deadlines, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expiry_retried_after_failure, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expiry_refused_then_submitted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_expiry_off_leader_and_after_election, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_resync, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
