/* refusal.c: the log lines of refused quorum connections, rate-limited per source.
 *
 * Every refused Raft or peer connection (a non-member, a wrong certificate, a false claim, the
 * connection cap...) is worth a line, but a flood of them must not flood the log: per source
 * address the first refusal is logged at once and opens a window of REPL_REFUSAL_INTERVAL_MS;
 * refusals inside the window are only counted, and when it ends their count is logged in one
 * line with the last reason (and a new window opens if there were any). So a source costs
 * at most one line per interval. REPL_REFUSAL_SOURCES sources are followed at once; past that
 * the oldest window is closed early (its count logged). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/zk_alloc.h"
#include "common/zk_log.h"
#include "replication/replication_int.h"

#define REPL_REFUSAL_INTERVAL_MS 10000
#define REPL_REFUSAL_SOURCES 32
#define REPL_REFUSAL_SWEEP_MS 1000

struct refusal_source {
	char ip[64];		/* "" when the slot is free. */
	uint64_t start;		/* uv_now when its window opened. */
	unsigned suppressed;	/* Refusals counted, not logged, in this window. */
	char last[256];		/* The last suppressed line. */
};

struct repl_refusals {
	uv_timer_t timer;	/* Closes ended windows. */
	struct refusal_source src[REPL_REFUSAL_SOURCES];
	void (*done)(void *arg);
	void *done_arg;
};

/* End @s's window: log its count; keep it open for another window when there was any. */
static void source_flush(struct repl_refusals *rf, struct refusal_source *s, uint64_t now)
{
	if (s->suppressed == 0) {
		s->ip[0] = '\0';
		return;
	}
	zk_log_warn("replication: %u more quorum connections from %s refused in the last %llu s "
		    "(not logged one by one; the last: %s)", s->suppressed, s->ip,
		    (unsigned long long)((now - s->start + 999) / 1000), s->last);
	s->suppressed = 0;
	s->start = now;
	(void)rf;
}

static void sweep(uv_timer_t *t)
{
	struct repl_refusals *rf = t->data;
	uint64_t now = uv_now(t->loop);

	for (int i = 0; i < REPL_REFUSAL_SOURCES; i++)
		if (rf->src[i].ip[0] != '\0' && now - rf->src[i].start >= REPL_REFUSAL_INTERVAL_MS)
			source_flush(rf, &rf->src[i], now);
}

/* The slot of @ip: its open window, else a free slot, else the oldest (flushed). */
static struct refusal_source *source_find(struct repl_refusals *rf, const char *ip,
					  uint64_t now, bool *open)
{
	struct refusal_source *free_slot = NULL, *oldest = &rf->src[0];

	for (int i = 0; i < REPL_REFUSAL_SOURCES; i++) {
		struct refusal_source *s = &rf->src[i];

		if (s->ip[0] != '\0' && strcmp(s->ip, ip) == 0) {
			*open = true;
			return s;
		}
		if (s->ip[0] == '\0' && free_slot == NULL)
			free_slot = s;
		if (s->start < oldest->start)
			oldest = s;
	}
	*open = false;
	if (free_slot != NULL)
		return free_slot;
	source_flush(rf, oldest, now);
	return oldest;
}

static struct repl_refusals *refusals_get(struct repl *r)
{
	struct repl_refusals *rf = r->refusals;

	if (rf != NULL || r->closing)
		return rf;
	rf = zk_calloc(1, sizeof(*rf));
	if (rf == NULL)
		return NULL;
	uv_timer_init(r->loop, &rf->timer);
	rf->timer.data = rf;
	uv_timer_start(&rf->timer, sweep, REPL_REFUSAL_SWEEP_MS, REPL_REFUSAL_SWEEP_MS);
	r->refusals = rf;
	return rf;
}

void repl_refused(struct repl *r, const char *ip, const char *fmt, ...)
{
	struct repl_refusals *rf = refusals_get(r);
	uint64_t now = uv_now(r->loop);
	struct refusal_source *s;
	char line[256];
	va_list ap;
	bool open;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (rf == NULL) {
		zk_log_warn("%s", line);
		return;
	}
	s = source_find(rf, ip, now, &open);
	if (open) {
		s->suppressed++;
		snprintf(s->last, sizeof(s->last), "%s", line);
		return;
	}
	snprintf(s->ip, sizeof(s->ip), "%s", ip);
	s->start = now;
	s->suppressed = 0;
	zk_log_warn("%s", line);
}

static void refusals_closed(uv_handle_t *h)
{
	struct repl_refusals *rf = h->data;
	void (*done)(void *arg) = rf->done;
	void *arg = rf->done_arg;

	zk_free(rf);
	done(arg);
}

bool repl_refusals_close(struct repl *r, void (*done)(void *arg), void *arg)
{
	struct repl_refusals *rf = r->refusals;
	uint64_t now = uv_now(r->loop);

	if (rf == NULL)
		return false;
	for (int i = 0; i < REPL_REFUSAL_SOURCES; i++)
		if (rf->src[i].ip[0] != '\0')
			source_flush(rf, &rf->src[i], now);
	r->refusals = NULL;
	rf->done = done;
	rf->done_arg = arg;
	uv_close((uv_handle_t *)&rf->timer, refusals_closed);
	return true;
}
