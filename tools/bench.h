/* bench: zkfs-bench, a load generator over the C client's asynchronous calls. N sessions keep
 * K requests each in flight for a duration or an op count after a warm-up, record each op's
 * latency in log-linear histograms, and print one key=value line, or refuse to print figures
 * when any op failed with an error not listed in --ignore. Module-private header of
 * tools/bench_*.c. */
#ifndef BENCH_H
#define BENCH_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <zookeeper/zookeeper.h>

enum bench_op { BENCH_CREATE, BENCH_SET, BENCH_GET, BENCH_EXISTS, BENCH_CHILDREN, BENCH_MIXED };

struct bench_opts {
	const char *hosts;	/* --server */
	enum bench_op op;	/* --op */
	int sessions;		/* --sessions */
	int outstanding;	/* --outstanding: requests in flight per session */
	int value_size;		/* --value-size: bytes written by create/set */
	int keys;		/* --keys: key space of set/get/exists/mixed */
	int ratio_read;		/* --ratio R:W of mixed */
	int ratio_write;
	double duration_s;	/* --duration (used when ops == 0) */
	long long ops;		/* --ops: measured op count, 0 = run for the duration */
	double warmup_s;	/* --warmup */
	const char *prefix;	/* --prefix: parent of the keys */
	int ignore[16];		/* --ignore: ZooKeeper codes counted but not fatal */
	int n_ignore;
	int session_ms;		/* --timeout */
	int verbose;		/* -v */
};

/* Log-linear latency histogram in ns: exact below 128 ns, then 64 sub-buckets per power of
 * two (about 1.6% resolution). Embedded; zero-initialised is empty. */
#define BENCH_HIST_BUCKETS (128 + 57 * 64)
struct bench_hist {
	uint64_t count[BENCH_HIST_BUCKETS];
	uint64_t total;
	uint64_t max_ns;
};

void bench_hist_add(struct bench_hist *h, uint64_t ns);
void bench_hist_merge(struct bench_hist *into, const struct bench_hist *from);
/* The latency at quantile @q (0..1) in ns, 0 when empty. */
uint64_t bench_hist_quantile(const struct bench_hist *h, double q);

/* What one run measured. */
struct bench_result {
	struct bench_hist all, reads, writes; /* Measured ops (reads/writes split for mixed). */
	uint64_t ops;			       /* Measured ops. */
	double seconds;			       /* Measured interval. */
	uint64_t errors;		       /* Unexpected failures, whole run. */
	uint64_t ignored;		       /* Failures listed in --ignore. */
	int first_error;		       /* Code of the first unexpected failure. */
	char first_error_path[128];	       /* Its path. */
};

/* bench_load.c: connect, prefill, warm up, measure, drain. Returns 0, or -1 when the sessions
 * could not be opened or the prefill failed (reported on stderr); op failures are in @res. */
int bench_load_run(const struct bench_opts *o, struct bench_result *res);

/* Monotonic clock in ns. */
uint64_t bench_now_ns(void);

#endif
