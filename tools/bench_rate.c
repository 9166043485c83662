/* bench_rate: zkfs-bench's open loop (--rate). The calling thread is the sender: request n of
 * the run is due at bench_sched_at(start, rate, n) and goes to session n % sessions, so the
 * sessions share the rate evenly and in turn. Its latency runs from that scheduled time, not
 * from when it was actually sent, so a sender held up by a slow server or a busy machine does
 * not hide the delay (no coordinated omission). Requests scheduled in the first --warmup
 * seconds are not measured; those scheduled in the next --duration seconds (or --ops / rate)
 * are. The achieved rate is the number of completions inside that window per second, whichever
 * request they belong to: a server that cannot keep up completes fewer. */
#include <errno.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <time.h>

#include "tools/bench.h"

int bench_rate_init(struct bench_session *s)
{
	s->pool = malloc((size_t)s->n_slots * sizeof(*s->pool));
	if (s->pool == NULL)
		return -1;
	pthread_mutex_init(&s->pool_mu, NULL);
	for (int i = 0; i < s->n_slots; i++)
		s->pool[i] = i;
	s->n_pool = s->n_slots;
	return 0;
}

void bench_rate_free(struct bench_session *s)
{
	if (s->pool != NULL)
		pthread_mutex_destroy(&s->pool_mu);
	free(s->pool);
	s->pool = NULL;
}

static void bench_rate_put(struct bench_slot *slot)
{
	struct bench_session *s = slot->s;

	pthread_mutex_lock(&s->pool_mu);
	s->pool[s->n_pool++] = (int)(slot - s->slots);
	pthread_mutex_unlock(&s->pool_mu);
}

/* A free slot of @s, or NULL when the run stopped while every slot was in flight. The wait
 * (1 ms polls) only happens when the server is already seconds behind the schedule. */
static struct bench_slot *bench_rate_take(struct bench_run *run, struct bench_session *s)
{
	for (;;) {
		int i = -1;

		pthread_mutex_lock(&s->pool_mu);
		if (s->n_pool > 0)
			i = s->pool[--s->n_pool];
		pthread_mutex_unlock(&s->pool_mu);
		if (i >= 0)
			return &s->slots[i];
		if (atomic_load(&run->phase) == BENCH_STOP)
			return NULL;
		bench_load_sleep_ms(1);
	}
}

void bench_rate_done(struct bench_slot *slot, uint64_t now_ns)
{
	struct bench_session *s = slot->s;
	struct bench_run *run = s->run;

	if (slot->measured) {
		bench_hist_add(slot->write ? &s->writes : &s->reads, now_ns - slot->start_ns);
		s->measured++;
		s->last_ns = now_ns;
	}
	if (now_ns >= atomic_load(&run->measure_start) && now_ns < run->window_end)
		s->window_done++;
	bench_rate_put(slot);
	/* Last: once inflight reaches 0 the run may be freed. */
	atomic_fetch_sub(&run->inflight, 1);
}

static void bench_rate_sleep_until(uint64_t at_ns)
{
	struct timespec ts = {.tv_sec = (time_t)(at_ns / 1000000000ull),
			      .tv_nsec = (long)(at_ns % 1000000000ull)};

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

/* Send request @n, due at @at_ns, on its session. Returns false when the run stopped. */
static bool bench_rate_send(struct bench_run *run, uint64_t n, uint64_t at_ns)
{
	struct bench_session *s = &run->sessions[n % (uint64_t)run->o->sessions];
	struct bench_slot *slot = bench_rate_take(run, s);
	int rc;

	if (slot == NULL)
		return false;
	slot->start_ns = at_ns;
	slot->measured = at_ns >= atomic_load(&run->measure_start);
	atomic_fetch_add(&run->inflight, 1);
	rc = bench_load_send(slot, false);
	if (rc != ZK_ERR_OK) {
		/* Not submitted, so no completion will come. */
		bench_load_failed(run, rc, slot->key);
		bench_rate_put(slot);
		atomic_fetch_sub(&run->inflight, 1);
		return false;
	}
	if (slot->measured)
		bench_hist_add(&run->lag, bench_now_ns() - at_ns);
	return true;
}

uint64_t bench_rate_measure(struct bench_run *run)
{
	const struct bench_opts *o = run->o;
	double window_s = o->ops > 0 ? (double)o->ops / o->rate : o->duration_s;
	uint64_t start = bench_now_ns(), at, give_up;

	/* The default 50 µs timer slack would be added to every scheduled send. */
	prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
	atomic_store(&run->measure_start, start + (uint64_t)(o->warmup_s * 1e9));
	run->window_end = atomic_load(&run->measure_start) + (uint64_t)(window_s * 1e9);
	/* A sender still that far behind when the window closes has completed too few inside it
	 * for the figures to be reported: sending the rest would only lengthen the run. */
	give_up = run->window_end + (uint64_t)(window_s * BENCH_RATE_MARGIN * 1e9);
	atomic_store(&run->phase, BENCH_MEASURE);
	for (uint64_t n = 0;; n++) {
		at = bench_sched_at(start, o->rate, n);
		if (run->cpu_start.client_s == 0 && at >= atomic_load(&run->measure_start))
			bench_cpu_sample(&run->cpu_start, o->server_pid);
		if (at >= run->window_end || atomic_load(&run->phase) == BENCH_STOP ||
		    bench_now_ns() >= give_up)
			break;
		if (bench_now_ns() < at)
			bench_rate_sleep_until(at);
		if (!bench_rate_send(run, n, at))
			break;
	}
	atomic_store(&run->phase, BENCH_STOP);
	bench_cpu_sample(&run->cpu_end, o->server_pid);
	return run->window_end;
}
