/* bench: zkfs-bench, a load generator over client/'s asynchronous calls, --per-thread sessions
 * on each loop thread. Closed loop: N
 * sessions keep K requests each in flight. Open loop (--rate): requests are sent on a fixed
 * schedule and each latency runs from its scheduled send time, so a stall counts against every
 * request it delayed. Either runs for a duration or an op count after a warm-up, records each
 * op's latency in log-linear histograms, and prints one key=value line, or refuses to print
 * figures when any op failed with an error not listed in --ignore (or, open loop, when the
 * achieved rate fell short of the target). Module-private header of tools/bench_*.c. */
#ifndef BENCH_H
#define BENCH_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "client/zkclient.h"

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
	double rate;		/* --rate: ops/s over all sessions; 0 = closed loop */
	int session_ms;		/* --timeout */
	int verbose;		/* -v */
	int per_thread;		/* --per-thread: sessions on one loop thread */
	int server_pid;		/* --server-pid: whose CPU time to report, 0 = none */
};

/* CPU time of this process and of the server at one instant. */
struct bench_cpu {
	double client_s;	/* getrusage(RUSAGE_SELF) user + system. */
	double server_s;	/* /proc/PID/stat utime + stime, 0 without --server-pid. */
};

/* Sample @cpu now (the server's with @server_pid > 0). */
void bench_cpu_sample(struct bench_cpu *cpu, int server_pid);

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

/* bench_sched.c: the open-loop schedule. Request @n (0, 1, ...) of a run at @rate ops/s
 * (> 0) starting at @start_ns is due at start + n / rate, computed from n rather than summed
 * so that it does not drift. */
uint64_t bench_sched_at(uint64_t start_ns, double rate, uint64_t n);

/* How far below the target an achieved rate may fall before the figures are refused. */
#define BENCH_RATE_MARGIN 0.05

/* Whether @achieved ops/s falls short of @target by more than BENCH_RATE_MARGIN. */
bool bench_sched_short(double achieved, double target);

/* Requests in flight per session in open loop: 5 s of the session's share of the rate, within
 * [16, 4096]. Past it the sender waits, and the wait counts in the latencies. */
int bench_sched_inflight(double rate, int sessions);

/* What one run measured. */
struct bench_result {
	struct bench_hist all, reads, writes; /* Measured ops (reads/writes split for mixed). */
	struct bench_hist lag;		       /* Open loop: actual minus scheduled send time. */
	uint64_t ops;			       /* Measured ops. */
	double seconds;			       /* Measured interval. */
	double achieved;		       /* Open loop: completions in the interval per s. */
	uint64_t errors;		       /* Unexpected failures, whole run. */
	uint64_t ignored;		       /* Failures listed in --ignore. */
	int first_error;		       /* Code of the first unexpected failure. */
	char first_error_path[128];	       /* Its path. */
	double client_cpu_s, server_cpu_s;     /* CPU time spent in the measured interval. */
};

/* bench_load.c: connect, prefill, warm up, measure, drain. Returns 0, or -1 when the sessions
 * could not be opened or the prefill failed (reported on stderr); op failures are in @res. */
int bench_load_run(const struct bench_opts *o, struct bench_result *res);

/* Monotonic clock in ns. */
uint64_t bench_now_ns(void);

/* ---- Shared by bench_load.c (closed loop, setup, collection) and bench_rate.c (open loop). */

enum bench_phase { BENCH_WARMUP, BENCH_MEASURE, BENCH_STOP };

struct bench_run;

/* One request context: closed loop, a slot that reissues from its completion; open loop, an
 * entry of its session's pool, taken by the sender and given back by the completion. */
struct bench_slot {
	struct bench_session *s;
	uint64_t start_ns;	/* Issued (closed loop) or scheduled (open loop) send time. */
	uint64_t rng;		/* xorshift64 state, touched only by the thread that issues. */
	long long key;		/* Key of the request in flight. */
	bool write;		/* It is a write (for the mixed split). */
	bool measured;		/* Its latency goes into the histograms. */
};

struct bench_session {
	struct bench_run *run;
	struct zkclient *zc;
	struct bench_hist reads, writes; /* Written by this session's loop thread only. */
	uint64_t measured;		 /* Measured ops completed. */
	uint64_t last_ns;		 /* Completion time of the last measured op. */
	uint64_t window_done;		 /* Open loop: completions inside the measured window. */
	struct bench_slot *slots;
	int n_slots;
	pthread_mutex_t pool_mu;	/* Open loop: guards pool/n_pool. */
	int *pool;			/* Open loop: indexes of the free slots. */
	int n_pool;
};

struct bench_run {
	const struct bench_opts *o;
	char *value;			/* o->value_size bytes written by create/set. */
	struct bench_session *sessions;
	struct zkclient_thread **threads; /* One per --per-thread sessions. */
	int n_threads;
	struct bench_cpu cpu_start, cpu_end; /* Around the measured interval. */
	atomic_int phase;
	atomic_ullong measure_start;	/* ns; set before phase becomes MEASURE. */
	uint64_t window_end;		/* Open loop: end of the measured schedule (ns). */
	atomic_llong tickets;		/* --ops mode: measured ops handed out. */
	atomic_int inflight;		/* Slots with a request in flight. */
	atomic_llong create_seq;	/* Next key of the create op. */
	atomic_ullong errors, ignored;
	int first_error;		/* Written by whoever counted error number 0. */
	long long first_error_key;
	struct bench_hist lag;		/* Open loop: send lag, written by the sender only. */
};

/* Pick the slot's key (and, for mixed, read or write), then submit its request; with @stamp
 * the slot's start_ns is taken just before the submission. Returns ZK_ERR_OK, or the code of a
 * submission that failed (no completion will come). */
int bench_load_send(struct bench_slot *slot, bool stamp);

/* Count a failure with code @rc on @key; the first unexpected one stops the run. */
void bench_load_failed(struct bench_run *run, int rc, long long key);

/* Sleep @ms milliseconds (EINTR resumed). */
void bench_load_sleep_ms(long ms);

/* bench_rate.c: put every slot of session @s (allocated, n_slots set) in its pool. Returns 0
 * or -1 (out of memory). bench_rate_free releases the pool (safe on a zeroed session). */
int bench_rate_init(struct bench_session *s);
void bench_rate_free(struct bench_session *s);

/* Run the schedule on the calling thread: warm-up, then the measured window, then STOP.
 * Returns the end of the window (ns). */
uint64_t bench_rate_measure(struct bench_run *run);

/* The completion side of an open-loop request finished at @now_ns: record it, give the slot
 * back. Called on the session's loop thread. */
void bench_rate_done(struct bench_slot *slot, uint64_t now_ns);

#endif
