/* bench_repl.c: commit throughput of a standalone (one-voter) replication layer on libraft's uv
 * backend, and its start-up time. Prints figures; not a test.
 *
 * Each of N submitters keeps one write in flight, like N ZooKeeper sessions each waiting for
 * its reply: entries/s with N = 1 shows the cost of one write+fsync, larger N shows how much
 * libraft batches concurrent appends into one write. bench_repl uses the fake store
 * (tests/unit/repl_fake_store.c), so the figure is replication's alone; bench_repl_store is
 * the same program on the real store (creates under /).
 *
 * Usage: bench_repl [data-parent-dir] [seconds-per-run]   (default /tmp, 2) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/zk_log.h"
#include "replication/replication.h"
#include "store/store.h"

struct bench {
	uv_loop_t *loop;
	struct repl *repl;
	uint64_t committed, failed;
	bool stop;
	int in_flight;
	bool first_done;
};

struct submitter {
	struct repl_req req;
	struct bench *b;
	int id;
	uint64_t seq;
};

static void submit(struct submitter *s);

static void done_cb(struct repl_req *req, int status)
{
	struct submitter *s = req->data;

	s->b->in_flight--;
	if (status == 0)
		s->b->committed++;
	else
		s->b->failed++;
	s->b->first_done = true;
	if (!s->b->stop)
		submit(s);
}

static void submit(struct submitter *s)
{
	static const struct store_acl world = {31, "world", "anyone"};
	struct store_txn txn;
	char path[64];

	memset(&txn, 0, sizeof(txn));
	snprintf(path, sizeof(path), "/s%d-%010llu", s->id, (unsigned long long)s->seq++);
	txn.type = ZK_OP_CREATE;
	txn.op.type = ZK_OP_CREATE;
	txn.op.path = path;
	txn.op.data = (const uint8_t *)"0123456789012345678901234567890123456789";
	txn.op.data_len = 40;
	txn.op.version = -1;
	txn.op.ttl = -1;
	txn.op.acl = &world;
	txn.op.n_acl = 1;
	s->req.data = s;
	if (repl_submit(s->b->repl, &s->req, &txn, done_cb) == 0)
		s->b->in_flight++;
	else
		s->b->failed++;
}

static void stop_cb(uv_timer_t *t)
{
	struct bench *b = t->data;

	b->stop = true;
}

static void closed_cb(struct repl *r)
{
	(void)r;
}

static int open_repl(struct bench *b, const char *dir, struct store **store)
{
	struct repl_config cfg;
	int rv;

	repl_config_init(&cfg);
	cfg.data_dir = dir;
	rv = store_create(NULL, NULL, NULL, store);
	if (rv == 0)
		rv = repl_create(b->loop, &cfg, *store, NULL, NULL, &b->repl);
	if (rv == 0)
		rv = repl_start(b->repl);
	return rv;
}

static void close_repl(struct bench *b, struct store *store)
{
	repl_close(b->repl, closed_cb);
	while (uv_run(b->loop, UV_RUN_ONCE) != 0)
		;
	store_destroy(store);
}

/* Time from repl_start to the first committed write, on a fresh or an existing data dir. */
static void measure_start(uv_loop_t *loop, const char *dir, const char *what)
{
	struct bench b = {.loop = loop};
	struct submitter s = {.b = &b};
	struct store *store;
	uint64_t t0 = uv_hrtime();

	if (open_repl(&b, dir, &store) != 0) {
		fprintf(stderr, "cannot start in %s\n", dir);
		exit(1);
	}
	b.stop = true;
	submit(&s);
	while (!b.first_done)
		uv_run(loop, UV_RUN_ONCE);
	printf("start to first commit (%s data dir): %.1f ms\n", what, (uv_hrtime() - t0) / 1e6);
	close_repl(&b, store);
}

static void run(uv_loop_t *loop, const char *dir, int n, double seconds)
{
	struct bench b = {.loop = loop};
	struct submitter *subs = calloc((size_t)n, sizeof(*subs));
	struct store *store;
	uv_timer_t timer;
	uint64_t t0;
	double secs;
	int i;

	if (subs == NULL || open_repl(&b, dir, &store) != 0) {
		fprintf(stderr, "cannot start in %s\n", dir);
		exit(1);
	}
	uv_timer_init(loop, &timer);
	timer.data = &b;
	uv_timer_start(&timer, stop_cb, (uint64_t)(seconds * 1000), 0);
	t0 = uv_hrtime();
	for (i = 0; i < n; i++) {
		subs[i].b = &b;
		subs[i].id = i;
		submit(&subs[i]);
	}
	while (!b.stop || b.in_flight > 0)
		uv_run(loop, UV_RUN_ONCE);
	secs = (uv_hrtime() - t0) / 1e9;
	printf("%4d submitters: %8.0f entries/s committed (%llu in %.2f s, %llu failed)\n", n,
	       b.committed / secs, (unsigned long long)b.committed, secs,
	       (unsigned long long)b.failed);
	uv_close((uv_handle_t *)&timer, NULL);
	close_repl(&b, store);
	free(subs);
}

int main(int argc, char **argv)
{
	const char *parent = argc > 1 ? argv[1] : "/tmp";
	double seconds = argc > 2 ? atof(argv[2]) : 2.0;
	static const int ns[] = {1, 4, 16, 64, 256};
	char dir[512], cmd[600];
	uv_loop_t loop;
	size_t i;

	zk_log_open(NULL, ZK_LOG_LEVEL_WARN);
	uv_loop_init(&loop);
	snprintf(dir, sizeof(dir), "%s/zkfs-bench-repl-%d", parent, (int)getpid());
	measure_start(&loop, dir, "fresh");
	measure_start(&loop, dir, "existing");
	for (i = 0; i < sizeof(ns) / sizeof(ns[0]); i++) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			return 1;
		run(&loop, dir, ns[i], seconds);
	}
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		return 1;
	uv_loop_close(&loop);
	return 0;
}
