/* bench_load: the load of zkfs-bench: loop threads and sessions, prefill, the closed loop,
 * collection (the open loop is bench_rate.c). Closed loop: each session has --outstanding
 * slots; a slot issues one asynchronous request and, from its completion (run on the session's
 * loop thread, shared by --per-thread sessions), the next one, so each session keeps exactly
 * that many in flight, all pipelined on its connection.
 *
 * Phases: WARMUP (ops run, not measured) -> MEASURE (a slot issued in this phase is measured)
 * -> STOP (completions issue nothing more; the run drains). In --ops mode the slot that takes
 * the last ticket moves the run to STOP; otherwise the main thread does after --duration. The
 * first unexpected failure also stops the run, since its figures will be refused anyway. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "tools/bench.h"

uint64_t bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void bench_cpu_sample(struct bench_cpu *cpu, int server_pid)
{
	struct rusage ru;
	char path[64], buf[1024], *p;
	unsigned long ut = 0, st = 0;
	FILE *f;

	getrusage(RUSAGE_SELF, &ru);
	cpu->client_s = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
			(double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
	cpu->server_s = 0;
	if (server_pid <= 0)
		return;
	snprintf(path, sizeof(path), "/proc/%d/stat", server_pid);
	f = fopen(path, "r");
	if (f == NULL)
		return;
	/* Fields 14 and 15 (utime, stime, clock ticks) follow the ')' closing the name. */
	if (fgets(buf, sizeof(buf), f) != NULL && (p = strrchr(buf, ')')) != NULL &&
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) == 2)
		cpu->server_s = (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
	fclose(f);
}

static uint64_t bench_rand(struct bench_slot *slot)
{
	uint64_t x = slot->rng;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return slot->rng = x;
}

static void bench_path(const struct bench_opts *o, long long key, char *buf, size_t len)
{
	snprintf(buf, len, "%s/k%lld", o->prefix, key);
}

static bool bench_ignored(const struct bench_opts *o, int rc)
{
	for (int i = 0; i < o->n_ignore; i++) {
		if (o->ignore[i] == rc)
			return true;
	}
	return false;
}

void bench_load_failed(struct bench_run *run, int rc, long long key)
{
	if (bench_ignored(run->o, rc)) {
		atomic_fetch_add(&run->ignored, 1);
		return;
	}
	if (atomic_fetch_add(&run->errors, 1) == 0) {
		run->first_error = rc;
		run->first_error_key = key;
	}
	atomic_store(&run->phase, BENCH_STOP);
}

static void bench_issue(struct bench_slot *slot);

static void bench_done(struct bench_slot *slot, int rc)
{
	struct bench_session *s = slot->s;
	uint64_t now = bench_now_ns();

	if (rc != ZK_ERR_OK)
		bench_load_failed(s->run, rc, slot->key);
	if (s->run->o->rate > 0) {
		bench_rate_done(slot, now);
		return;
	}
	if (slot->measured &&
	    (s->run->o->ops > 0 || atomic_load(&s->run->phase) == BENCH_MEASURE)) {
		bench_hist_add(slot->write ? &s->writes : &s->reads, now - slot->start_ns);
		s->measured++;
		s->last_ns = now;
	}
	bench_issue(slot);
}

static void bench_on_done(void *ctx, const struct zkclient_result *r)
{
	bench_done(ctx, r->err);
}

/* Whether the slot may issue another request; takes a ticket in --ops mode. */
static bool bench_may_issue(struct bench_slot *slot)
{
	struct bench_run *run = slot->s->run;
	int phase = atomic_load(&run->phase);

	slot->measured = phase == BENCH_MEASURE;
	if (phase == BENCH_STOP)
		return false;
	if (slot->measured && run->o->ops > 0 &&
	    atomic_fetch_add(&run->tickets, 1) >= run->o->ops) {
		atomic_store(&run->phase, BENCH_STOP);
		return false;
	}
	return true;
}

/* The client call of the slot's next op. Returns ZK_ERR_OK or the code of a failed submission. */
static int bench_submit(struct bench_slot *slot, const char *path)
{
	const struct bench_opts *o = slot->s->run->o;
	struct zkclient *zc = slot->s->zc;
	const char *value = slot->s->run->value;
	int rc;

	switch (o->op) {
	case BENCH_CREATE:
		rc = zkclient_create(zc, path, value, o->value_size, NULL, ZK_MODE_PERSISTENT, 0,
				     false, bench_on_done, slot);
		break;
	case BENCH_SET:
		rc = zkclient_set_data(zc, path, value, o->value_size, -1, bench_on_done, slot);
		break;
	case BENCH_EXISTS:
		rc = zkclient_exists(zc, path, false, bench_on_done, slot);
		break;
	case BENCH_CHILDREN:
		rc = zkclient_get_children(zc, o->prefix, false, false, bench_on_done, slot);
		break;
	default: /* get, and mixed: getData or setData */
		if (slot->write)
			rc = zkclient_set_data(zc, path, value, o->value_size, -1, bench_on_done,
					       slot);
		else
			rc = zkclient_get_data(zc, path, false, bench_on_done, slot);
	}
	return rc == 0 ? ZK_ERR_OK : rc == -EINVAL ? ZK_ERR_BADARGUMENTS : ZK_ERR_SYSTEMERROR;
}

int bench_load_send(struct bench_slot *slot, bool stamp)
{
	struct bench_run *run = slot->s->run;
	const struct bench_opts *o = run->o;
	char path[256];

	if (o->op == BENCH_CREATE)
		slot->key = atomic_fetch_add(&run->create_seq, 1);
	else
		slot->key = (long long)(bench_rand(slot) % (uint64_t)o->keys);
	slot->write = o->op == BENCH_CREATE || o->op == BENCH_SET ||
		      (o->op == BENCH_MIXED && (int)(bench_rand(slot) % (uint64_t)(o->ratio_read +
						o->ratio_write)) >= o->ratio_read);
	bench_path(o, slot->key, path, sizeof(path));
	if (stamp)
		slot->start_ns = bench_now_ns();
	return bench_submit(slot, path);
}

static void bench_issue(struct bench_slot *slot)
{
	struct bench_run *run = slot->s->run;
	int rc;

	if (!bench_may_issue(slot)) {
		atomic_fetch_sub(&run->inflight, 1);
		return;
	}
	rc = bench_load_send(slot, true);
	if (rc != ZK_ERR_OK) {
		/* Not submitted, so no completion will come: the slot retires. */
		bench_load_failed(run, rc, slot->key);
		atomic_fetch_sub(&run->inflight, 1);
	}
}

/* The prefill: keys 0..keys-1 created through session 0 with a window of requests, existing
 * keys kept (a rerun on the same key space is expected). */
struct bench_prefill {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int inflight;
	int failed;  /* Code of a failure other than NodeExists, or ZK_ERR_OK. */
};

#define BENCH_PREFILL_WINDOW 256

static void bench_prefill_done(void *ctx, const struct zkclient_result *r)
{
	struct bench_prefill *p = ctx;

	pthread_mutex_lock(&p->mu);
	if (r->err != ZK_ERR_OK && r->err != ZK_ERR_NODEEXISTS && p->failed == ZK_ERR_OK)
		p->failed = r->err;
	p->inflight--;
	pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->mu);
}

/* Wait until at most @max prefill requests are in flight. */
static void bench_prefill_wait(struct bench_prefill *p, int max)
{
	pthread_mutex_lock(&p->mu);
	while (p->inflight > max)
		pthread_cond_wait(&p->cv, &p->mu);
	pthread_mutex_unlock(&p->mu);
}

static int bench_prefill(struct bench_run *run)
{
	struct bench_prefill p = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0,
				  ZK_ERR_OK};
	const struct bench_opts *o = run->o;
	char path[256];
	int rc = ZK_ERR_OK;

	for (long long k = 0; k < o->keys && rc == ZK_ERR_OK && p.failed == ZK_ERR_OK; k++) {
		bench_prefill_wait(&p, BENCH_PREFILL_WINDOW - 1);
		bench_path(o, k, path, sizeof(path));
		pthread_mutex_lock(&p.mu);
		p.inflight++;
		pthread_mutex_unlock(&p.mu);
		rc = zkclient_create(run->sessions[0].zc, path, run->value, o->value_size, NULL,
				     ZK_MODE_PERSISTENT, 0, false, bench_prefill_done, &p);
		if (rc != 0) {
			rc = ZK_ERR_SYSTEMERROR;
			pthread_mutex_lock(&p.mu);
			p.inflight--;
			pthread_mutex_unlock(&p.mu);
		}
	}
	/* Every submitted request completes (with ConnectionLoss at worst). */
	bench_prefill_wait(&p, 0);
	rc = rc != ZK_ERR_OK ? rc : p.failed;
	if (rc != ZK_ERR_OK)
		fprintf(stderr, "zkfs-bench: prefill of %s: %s (%d)\n", o->prefix,
			zk_err_name(rc), rc);
	return rc;
}

/* Open session @i on its loop thread and wait for it to connect. Returns a ZooKeeper code. */
static int bench_open_session(struct bench_run *run, int i)
{
	const struct bench_opts *o = run->o;
	struct bench_session *s = &run->sessions[i];
	struct zkclient_config cfg;
	int rc;

	zkclient_config_init(&cfg);
	cfg.hosts = o->hosts;
	cfg.session_ms = o->session_ms;
	cfg.thread = run->threads[i / o->per_thread];
	s->run = run;
	rc = zkclient_open(&cfg, &s->zc);
	if (rc != 0)
		return rc == -EINVAL ? ZK_ERR_BADARGUMENTS : ZK_ERR_SYSTEMERROR;
	for (int j = 0; j < s->n_slots; j++) {
		s->slots[j].s = s;
		s->slots[j].rng = 0x9e3779b97f4a7c15ull * (uint64_t)(i * s->n_slots + j + 1);
	}
	return zkclient_wait_connected(s->zc, 10000);
}

/* Start the loop threads, open every session and make sure the prefix exists. */
static int bench_open(struct bench_run *run)
{
	const struct bench_opts *o = run->o;
	struct zkclient_wait w;
	int rc = ZK_ERR_OK;

	for (int t = 0; t < run->n_threads && rc == ZK_ERR_OK; t++)
		if (zkclient_thread_create(&run->threads[t]) != 0)
			rc = ZK_ERR_SYSTEMERROR;
	for (int i = 0; i < o->sessions && rc == ZK_ERR_OK; i++)
		rc = bench_open_session(run, i);
	if (rc != ZK_ERR_OK) {
		fprintf(stderr, "zkfs-bench: cannot open %d sessions to %s: %s (%d)\n",
			o->sessions, o->hosts, zk_err_name(rc), rc);
		return rc;
	}
	zkclient_wait_init(&w, NULL, NULL);
	rc = zkclient_create(run->sessions[0].zc, o->prefix, NULL, -1, NULL, ZK_MODE_PERSISTENT,
			     0, false, zkclient_wait_cb, &w);
	rc = rc == 0 ? zkclient_wait(&w) : ZK_ERR_SYSTEMERROR;
	if (rc != ZK_ERR_OK && rc != ZK_ERR_NODEEXISTS) {
		fprintf(stderr, "zkfs-bench: create %s: %s (%d)\n", o->prefix, zk_err_name(rc),
			rc);
		return rc;
	}
	return o->op == BENCH_CREATE ? ZK_ERR_OK : bench_prefill(run);
}

void bench_load_sleep_ms(long ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = ms % 1000 * 1000000L};

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* Poll until @cond holds or @deadline_ns (monotonic) passes. */
static bool bench_until(struct bench_run *run, bool (*cond)(struct bench_run *),
			uint64_t deadline_ns)
{
	while (!cond(run)) {
		if (bench_now_ns() > deadline_ns)
			return false;
		bench_load_sleep_ms(5);
	}
	return true;
}

static bool bench_stopped(struct bench_run *run)
{
	return atomic_load(&run->phase) == BENCH_STOP;
}

static bool bench_drained(struct bench_run *run)
{
	return atomic_load(&run->inflight) == 0;
}

/* Warm up, then measure for the duration or until the last ticket; returns the end time. */
static uint64_t bench_measure(struct bench_run *run)
{
	const struct bench_opts *o = run->o;
	uint64_t start, end;
	int warm = BENCH_WARMUP;

	atomic_store(&run->phase, o->warmup_s > 0 ? BENCH_WARMUP : BENCH_MEASURE);
	atomic_store(&run->measure_start, bench_now_ns());
	for (int i = 0; i < o->sessions; i++) {
		for (int j = 0; j < o->outstanding; j++) {
			atomic_fetch_add(&run->inflight, 1);
			bench_issue(&run->sessions[i].slots[j]);
		}
	}
	if (o->warmup_s > 0) {
		bench_until(run, bench_stopped, bench_now_ns() + (uint64_t)(o->warmup_s * 1e9));
		atomic_store(&run->measure_start, bench_now_ns());
		/* Only move on if no failure stopped the run during the warm-up. */
		atomic_compare_exchange_strong(&run->phase, &warm, BENCH_MEASURE);
	}
	bench_cpu_sample(&run->cpu_start, o->server_pid);
	start = atomic_load(&run->measure_start);
	if (o->ops > 0) {
		bench_until(run, bench_stopped, UINT64_MAX);
		bench_cpu_sample(&run->cpu_end, o->server_pid);
		return 0;
	}
	bench_until(run, bench_stopped, start + (uint64_t)(o->duration_s * 1e9));
	end = bench_now_ns();
	atomic_store(&run->phase, BENCH_STOP);
	bench_cpu_sample(&run->cpu_end, o->server_pid);
	return end;
}

static void bench_collect(struct bench_run *run, uint64_t end, struct bench_result *res)
{
	const struct bench_opts *o = run->o;
	uint64_t last = 0, window_done = 0;

	for (int i = 0; i < o->sessions; i++) {
		struct bench_session *s = &run->sessions[i];

		bench_hist_merge(&res->reads, &s->reads);
		bench_hist_merge(&res->writes, &s->writes);
		res->ops += s->measured;
		window_done += s->window_done;
		if (s->last_ns > last)
			last = s->last_ns;
	}
	bench_hist_merge(&res->all, &res->reads);
	bench_hist_merge(&res->all, &res->writes);
	if (end == 0)
		end = last;
	res->seconds = end > atomic_load(&run->measure_start)
			       ? (double)(end - atomic_load(&run->measure_start)) / 1e9
			       : 0;
	res->achieved = res->seconds > 0 ? (double)window_done / res->seconds : 0;
	bench_hist_merge(&res->lag, &run->lag);
	res->errors = atomic_load(&run->errors);
	res->ignored = atomic_load(&run->ignored);
	res->first_error = run->first_error;
	res->client_cpu_s = run->cpu_end.client_s - run->cpu_start.client_s;
	res->server_cpu_s = run->cpu_end.server_s - run->cpu_start.server_s;
	bench_path(o, run->first_error_key, res->first_error_path, sizeof(res->first_error_path));
}

static void bench_free(struct bench_run *run)
{
	for (int i = 0; run->sessions != NULL && i < run->o->sessions; i++) {
		if (run->sessions[i].zc != NULL)
			zkclient_close(run->sessions[i].zc);
		bench_rate_free(&run->sessions[i]);
		free(run->sessions[i].slots);
	}
	for (int t = 0; run->threads != NULL && t < run->n_threads; t++)
		if (run->threads[t] != NULL)
			zkclient_thread_destroy(run->threads[t]);
	free(run->threads);
	free(run->sessions);
	free(run->value);
	free(run);
}

static struct bench_run *bench_new(const struct bench_opts *o)
{
	struct bench_run *run = calloc(1, sizeof(*run));
	bool ok = run != NULL;

	if (ok) {
		run->o = o;
		run->value = malloc((size_t)o->value_size + 1);
		run->sessions = calloc((size_t)o->sessions, sizeof(*run->sessions));
		run->n_threads = (o->sessions + o->per_thread - 1) / o->per_thread;
		run->threads = calloc((size_t)run->n_threads, sizeof(*run->threads));
		ok = run->value != NULL && run->sessions != NULL && run->threads != NULL;
	}
	for (int i = 0; ok && i < o->sessions; i++) {
		struct bench_session *s = &run->sessions[i];

		s->n_slots = o->rate > 0 ? bench_sched_inflight(o->rate, o->sessions)
					 : o->outstanding;
		s->slots = calloc((size_t)s->n_slots, sizeof(struct bench_slot));
		ok = s->slots != NULL && (o->rate == 0 || bench_rate_init(s) == 0);
	}
	if (!ok && run != NULL) {
		run->o = o;
		bench_free(run);
		return NULL;
	}
	memset(run->value, 'v', (size_t)o->value_size);
	return run;
}

int bench_load_run(const struct bench_opts *o, struct bench_result *res)
{
	struct bench_run *run = bench_new(o);
	uint64_t end;
	int rc = -1;

	if (run == NULL) {
		fprintf(stderr, "zkfs-bench: out of memory\n");
		return -1;
	}
	if (bench_open(run) != ZK_ERR_OK)
		goto out;
	end = o->rate > 0 ? bench_rate_measure(run) : bench_measure(run);
	/* The client completes every request, with ConnectionLoss once the connection is lost:
	 * twice the session timeout bounds the drain. */
	if (!bench_until(run, bench_drained, bench_now_ns() + 2ull * (uint64_t)o->session_ms *
									1000000ull)) {
		fprintf(stderr, "zkfs-bench: %d requests never completed\n",
			atomic_load(&run->inflight));
		goto out;
	}
	bench_collect(run, end, res);
	rc = 0;
out:
	/* A run that did not drain still has slots the client may call back: closing the
	 * sessions completes them before their memory goes. */
	bench_free(run);
	return rc;
}
