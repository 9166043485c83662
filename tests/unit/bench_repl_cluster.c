/* bench_repl_cluster.c: a 3-server ensemble of separate processes on 127.0.0.1 (ports
 * 22040-22045, the benchmark end of the replication range): commit throughput on the leader,
 * failover time after kill -9 of the leader, and catch-up of the restarted server. Prints
 * figures; not a test. The last figure is the same load submitted on a follower. Uses the fake store (tests/unit/repl_fake_store.c).
 *
 * Each child runs one server; whenever it is leader it keeps 16 writes in flight (until
 * SIGUSR1; after SIGUSR2 it does so whatever its role, its writes then forwarded to the
 * leader) and reports on a shared pipe every 20 ms:
 *   S <id> <role> <leader> <applied> <digest> <committed>
 *   F <id> <monotonic ns>     first write committed in a term as leader
 * Usage: bench_repl_cluster [data-parent-dir] [load-seconds]   (default /tmp, 3) */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/zk_buf.h"
#include "common/zk_log.h"
#include "replication/replication.h"
#include "store/store.h"

#define N 3
#define IN_FLIGHT 16
#define PORT 22040

struct node {
	uv_loop_t loop;
	struct repl *repl;
	struct store *store;
	int id;
	int out;
	bool load;
	bool anywhere;		/* Load even when not leader (forwarded). */
	bool leader_reported;
	int in_flight;
	uint64_t committed, seq;
	struct repl_req reqs[IN_FLIGHT];
	bool busy[IN_FLIGHT];
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void emit(struct node *n, const char *line)
{
	if (write(n->out, line, strlen(line)) < 0)
		_exit(2);
}

static void submit(struct node *n, int i);

static void done_cb(struct repl_req *req, int status)
{
	struct node *n = req->data;
	int i = (int)(req - n->reqs);
	char line[64];

	n->busy[i] = false;
	n->in_flight--;
	if (status != 0)
		return;
	n->committed++;
	if (!n->leader_reported && repl_role(n->repl) == REPL_LEADER) {
		n->leader_reported = true;
		snprintf(line, sizeof(line), "F %d %llu\n", n->id, (unsigned long long)now_ns());
		emit(n, line);
	}
	submit(n, i);
}

/* repl_hooks.build: a forwarded "request" here is the encoded txn itself (zkfsd's hook builds
 * the txn from a client request). */
static int build_identity(void *ctx, const struct repl_client_req *in, struct zk_buf *txn,
			  struct repl_req *res)
{
	(void)ctx;
	(void)res;
	return zk_buf_append(txn, in->body, in->len);
}

/* On the leader append @txn; elsewhere forward it (txns never travel: it goes as a request). */
static int submit_txn(struct node *n, struct repl_req *req, const struct store_txn *txn)
{
	struct repl_client_req in = {0};
	struct zk_buf b;
	int rv;

	if (repl_role(n->repl) == REPL_LEADER)
		return repl_submit(n->repl, req, txn, done_cb);
	zk_buf_init(&b);
	rv = store_txn_encode(txn, &b);
	in.body = b.data;
	in.len = b.len;
	if (rv == 0)
		rv = repl_forward(n->repl, req, &in, done_cb);
	zk_buf_close(&b);
	return rv;
}

static void submit(struct node *n, int i)
{
	struct store_txn txn;
	char path[64];

	if (!n->load || n->busy[i] || (!n->anywhere && repl_role(n->repl) != REPL_LEADER))
		return;
	memset(&txn, 0, sizeof(txn));
	snprintf(path, sizeof(path), "/b/%d-%llu", n->id, (unsigned long long)n->seq++);
	txn.type = ZK_OP_CREATE;
	txn.op.type = ZK_OP_CREATE;
	txn.op.path = path;
	txn.op.data = (const uint8_t *)"0123456789012345678901234567890123456789";
	txn.op.data_len = 40;
	n->reqs[i].data = n;
	if (submit_txn(n, &n->reqs[i], &txn) == 0) {
		n->busy[i] = true;
		n->in_flight++;
	}
}

static void tick(uv_timer_t *t)
{
	struct node *n = t->data;
	char line[160];
	int i;

	if (repl_role(n->repl) != REPL_LEADER)
		n->leader_reported = false;
	for (i = 0; i < IN_FLIGHT; i++)
		submit(n, i);
	snprintf(line, sizeof(line), "S %d %d %llu %lld %llu %llu\n", n->id, repl_role(n->repl),
		 (unsigned long long)repl_leader_id(n->repl),
		 (long long)repl_applied_zxid(n->repl),
		 (unsigned long long)store_digest(n->store), (unsigned long long)n->committed);
	emit(n, line);
}

static void load_signal(uv_signal_t *s, int signum)
{
	struct node *n = s->data;

	n->load = signum == SIGUSR2;
	n->anywhere = signum == SIGUSR2;
}

static void child(int id, const char *parent, int out, bool load)
{
	struct repl_server servers[N];
	struct repl_config cfg;
	struct node n = {.id = id, .out = out, .load = load};
	uv_timer_t timer;
	uv_signal_t sig, sig2;
	char dir[400];
	int i;

	signal(SIGPIPE, SIG_IGN);
	zk_log_open(NULL, ZK_LOG_LEVEL_ERROR);
	for (i = 0; i < N; i++)
		servers[i] = (struct repl_server){.id = (uint64_t)i + 1,
						  .host = "127.0.0.1",
						  .raft_port = (uint16_t)(PORT + 2 * i),
						  .peer_port = (uint16_t)(PORT + 2 * i + 1)};
	snprintf(dir, sizeof(dir), "%s/n%d", parent, id);
	repl_config_init(&cfg);
	cfg.data_dir = dir;
	cfg.id = (uint64_t)id;
	cfg.servers = servers;
	cfg.n_servers = N;
	uv_loop_init(&n.loop);
	if (store_create(NULL, NULL, NULL, &n.store) != 0 ||
	    repl_create(&n.loop, &cfg, n.store, NULL, NULL, &n.repl) != 0 ||
	    (repl_set_hooks(n.repl, &(struct repl_hooks){.build = build_identity}), false) ||
	    repl_start(n.repl) != 0)
		_exit(1);
	uv_timer_init(&n.loop, &timer);
	timer.data = &n;
	uv_timer_start(&timer, tick, 20, 20);
	uv_signal_init(&n.loop, &sig);
	sig.data = &n;
	uv_signal_start(&sig, load_signal, SIGUSR1);
	uv_signal_init(&n.loop, &sig2);
	sig2.data = &n;
	uv_signal_start(&sig2, load_signal, SIGUSR2);
	uv_run(&n.loop, UV_RUN_DEFAULT);
	_exit(0);
}

struct status {
	int role;
	uint64_t leader, digest, committed;
	long long applied;
};

static struct status st[N + 1];
static uint64_t failover_at;
static int failover_id;

/* Read status lines for up to @ms milliseconds. */
static void read_for(FILE *in, unsigned ms)
{
	uint64_t end = now_ns() + (uint64_t)ms * 1000000;
	char line[200];
	int id;

	while (now_ns() < end && fgets(line, sizeof(line), in) != NULL) {
		struct status s;
		unsigned long long t;
		if (sscanf(line, "S %d %d %llu %lld %llu %llu", &id, &s.role,
			   (unsigned long long *)&s.leader, &s.applied,
			   (unsigned long long *)&s.digest,
			   (unsigned long long *)&s.committed) == 6 &&
		    id >= 1 && id <= N)
			st[id] = s;
		else if (sscanf(line, "F %d %llu", &id, &t) == 2 && failover_at == 0)
			failover_at = t, failover_id = id;
	}
}

static pid_t spawn(int id, const char *parent, int out, bool load)
{
	pid_t pid = fork();

	if (pid == 0)
		child(id, parent, out, load);
	return pid;
}

static int leader_of(void)
{
	int i;

	for (i = 1; i <= N; i++)
		if (st[i].role == REPL_LEADER)
			return i;
	return 0;
}

static bool all_equal(void)
{
	int i;

	for (i = 2; i <= N; i++)
		if (st[i].applied != st[1].applied || st[i].digest != st[1].digest)
			return false;
	return st[1].applied > 0;
}

int main(int argc, char **argv)
{
	const char *parent_dir = argc > 1 ? argv[1] : "/tmp";
	double load_s = argc > 2 ? atof(argv[2]) : 3.0;
	char parent[300], cmd[400];
	pid_t pids[N + 1];
	uint64_t t0, killed_at, committed0;
	int fds[2], i, leader, tries;
	FILE *in;

	snprintf(parent, sizeof(parent), "%s/zkfs-bench-cluster-%d", parent_dir, (int)getpid());
	for (i = 0; i <= N; i++)
		st[i].role = -1; /* no report yet (REPL_LEADER is 0) */
	if (pipe(fds) != 0)
		return 1;
	for (i = 1; i <= N; i++)
		pids[i] = spawn(i, parent, fds[1], true);
	in = fdopen(fds[0], "r");
	t0 = now_ns();
	for (tries = 0; tries < 100 && leader_of() == 0; tries++)
		read_for(in, 100);
	leader = leader_of();
	if (leader == 0) {
		fprintf(stderr, "no leader elected\n");
		goto out;
	}
	printf("leader %d elected %.0f ms after start\n", leader, (now_ns() - t0) / 1e6);
	read_for(in, 500);
	committed0 = st[leader].committed;
	t0 = now_ns();
	read_for(in, (unsigned)(load_s * 1000));
	printf("3 servers, %d writes in flight on the leader: %.0f commits/s\n", IN_FLIGHT,
	       (st[leader].committed - committed0) / ((now_ns() - t0) / 1e9));

	failover_at = 0;
	kill(pids[leader], SIGKILL);
	killed_at = now_ns();
	waitpid(pids[leader], NULL, 0);
	st[leader].role = -1;
	for (tries = 0; tries < 100 && failover_at == 0; tries++)
		read_for(in, 50);
	if (failover_at == 0)
		printf("no commit after killing leader %d\n", leader);
	else
		printf("kill -9 of leader %d: server %d committed again after %.0f ms\n", leader,
		       failover_id, (failover_at - killed_at) / 1e6);

	read_for(in, 1000);
	for (i = 1; i <= N; i++)
		if (i != leader)
			kill(pids[i], SIGUSR1);
	pids[leader] = spawn(leader, parent, fds[1], false);
	t0 = now_ns();
	for (tries = 0; tries < 200 && !all_equal(); tries++)
		read_for(in, 50);
	printf("restarted server %d %s after %.0f ms (applied %lld, digests %s)\n", leader,
	       all_equal() ? "caught up" : "did NOT catch up", (now_ns() - t0) / 1e6,
	       st[leader].applied, all_equal() ? "equal" : "differ");
	for (i = 1; i <= N && st[i].role != REPL_FOLLOWER; i++)
		;
	if (i <= N) {
		kill(pids[i], SIGUSR2);
		read_for(in, 500);
		committed0 = st[i].committed;
		t0 = now_ns();
		read_for(in, (unsigned)(load_s * 1000));
		printf("3 servers, %d writes in flight on follower %d (forwarded): %.0f commits/s\n",
		       IN_FLIGHT, i, (st[i].committed - committed0) / ((now_ns() - t0) / 1e9));
	}
out:
	for (i = 1; i <= N; i++) {
		kill(pids[i], SIGKILL);
		waitpid(pids[i], NULL, 0);
	}
	fclose(in);
	close(fds[1]);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", parent);
	return system(cmd) == 0 ? 0 : 1;
}
