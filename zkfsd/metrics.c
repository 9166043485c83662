/* metrics: the Prometheus text exposition (https://prometheus.io/docs/instrumenting/
 * exposition_formats/, version 0.0.4) of zkfsd's figures, and the loop sampler behind the
 * zkfsd_loop_* and follower-lag figures. See metrics.h for what is exported.
 *
 * The ZooKeeper-named figures are parsed back from fourlw_mntr's "zk_key\tvalue" lines, so
 * /metrics and mntr can never disagree (the integration test compares them through a real
 * Prometheus). Every figure is a gauge, as ZooKeeper's PrometheusMetricsProvider registers
 * mntr's; zkfsd's counters end in _total. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "common/zk_alloc.h"
#include "common/zk_log.h"
#include "zkfsd/http.h"
#include "zkfsd/metrics.h"
#include "zkfsd/zkfsd_int.h"

/* The sampler's period: loop lag and the leader's last index are read this often. */
#define METRICS_SAMPLE_MS 100
/* Leader index samples kept for the follower lag in ms (60 s). */
#define METRICS_HISTORY 600

/* Upper bounds (ms) of the loop lag histogram's buckets (+Inf follows). */
static const unsigned metrics_lag_bounds[] = {5, 10, 25, 50, 100, 250, 500, 1000, 5000};
#define METRICS_LAG_BUCKETS (sizeof(metrics_lag_bounds) / sizeof(metrics_lag_bounds[0]))

struct metrics_sample {
	uint64_t ms;	/* uv_now. */
	uint64_t index; /* The leader's last log index then. */
};

struct metrics {
	struct zkfsd *srv;			 /* Borrowed. */
	struct http_server *http;		 /* Owned; NULL when /metrics is off. */
	uv_timer_t sampler;			 /* Every METRICS_SAMPLE_MS. */
	uint64_t due_ms;			 /* uv_now the sampler should fire at. */
	uint64_t lag_buckets[METRICS_LAG_BUCKETS]; /* Non-cumulative counts. */
	uint64_t lag_count;			 /* Samples. */
	uint64_t lag_sum_ms;			 /* Sum of the lags. */
	struct metrics_sample history[METRICS_HISTORY]; /* Ring of the leader's last index. */
	size_t history_next, history_len;
};

/* ---- The sampler ---------------------------------------------------------------------------- */

static void metrics_note_lag(struct metrics *m, uint64_t lag)
{
	size_t b = 0;

	while (b < METRICS_LAG_BUCKETS && lag > metrics_lag_bounds[b])
		b++;
	if (b < METRICS_LAG_BUCKETS)
		m->lag_buckets[b]++;
	m->lag_count++;
	m->lag_sum_ms += lag;
}

static void metrics_on_sample(uv_timer_t *t)
{
	struct metrics *m = t->data;
	uint64_t now = uv_now(t->loop);

	metrics_note_lag(m, now > m->due_ms ? now - m->due_ms : 0);
	m->due_ms = now + METRICS_SAMPLE_MS;
	if (m->srv->repl != NULL && repl_role(m->srv->repl) == REPL_LEADER) {
		m->history[m->history_next].ms = now;
		m->history[m->history_next].index = repl_last_index(m->srv->repl);
		m->history_next = (m->history_next + 1) % METRICS_HISTORY;
		if (m->history_len < METRICS_HISTORY)
			m->history_len++;
	} else {
		m->history_len = 0;
	}
}

uint64_t metrics_follower_lag_ms(struct zkfsd *srv, uint64_t match_index)
{
	struct metrics *m = srv->metrics;
	uint64_t now = uv_now(srv->loop), oldest = now;

	if (m == NULL || match_index >= repl_last_index(srv->repl))
		return 0;
	/* The newest sample whose index the follower has: it is as old as that sample. */
	for (size_t i = 1; i <= m->history_len; i++) {
		const struct metrics_sample *s =
			&m->history[(m->history_next + METRICS_HISTORY - i) % METRICS_HISTORY];

		if (s->index <= match_index)
			return now - s->ms;
		oldest = s->ms;
	}
	return now - oldest; /* Behind every sample kept: at least this old. */
}

/* ---- The exposition ------------------------------------------------------------------------- */

/* mntr's keys (without zk_) that are ZooKeeper 3.8's own, with their HELP text: only these are
 * exported under mntr's name; zkfsd's own figures are exported below as zkfsd_*. */
static const struct {
	const char *key, *help;
} metrics_help[] = {
	{"ephemerals_count", "Ephemeral znodes"},
	{"num_alive_connections", "Client connections open"},
	{"avg_latency", "Average request latency (ms)"},
	{"min_latency", "Minimum request latency (ms)"},
	{"max_latency", "Maximum request latency (ms)"},
	{"outstanding_requests", "Requests in flight"},
	{"znode_count", "Znodes in the tree"},
	{"global_sessions", "Sessions"},
	{"packets_sent", "Packets sent to clients"},
	{"packets_received", "Packets received from clients"},
	{"watch_count", "Watches set"},
	{"max_file_descriptor_count", "File descriptor limit"},
	{"open_file_descriptor_count", "Open file descriptors"},
	{"uptime", "Time since the start (ms)"},
	{"connection_rejected", "Connections refused by the limits"},
	{"approximate_data_size", "Sum of path and data lengths (bytes)"},
};

static const char *metrics_help_of(const char *key)
{
	for (size_t i = 0; i < sizeof(metrics_help) / sizeof(metrics_help[0]); i++)
		if (strcmp(key, metrics_help[i].key) == 0)
			return metrics_help[i].help;
	return NULL;
}

static void metrics_gauge(struct zk_buf *out, const char *name, const char *help, double v)
{
	zk_buf_printf(out, "# HELP %s %s\n# TYPE %s gauge\n%s %.17g\n", name, help, name, name, v);
}

static void metrics_counter(struct zk_buf *out, const char *name, const char *help, uint64_t v)
{
	zk_buf_printf(out, "# HELP %s %s\n# TYPE %s counter\n%s %" PRIu64 "\n", name, help, name,
		      name, v);
}

/* One "zk_key\tvalue" line of mntr: a ZooKeeper key becomes a gauge of that name. */
static void metrics_mntr_line(struct zk_buf *out, char *line, const char **state)
{
	char *tab = strchr(line, '\t'), *end;
	const char *help;
	double v;

	if (strncmp(line, "zk_", 3) != 0 || tab == NULL)
		return;
	*tab = '\0';
	v = strtod(tab + 1, &end);
	if (strcmp(line, "zk_server_state") == 0)
		*state = tab + 1; /* In zkfsd_info, with the version. */
	help = metrics_help_of(line + 3);
	if (help != NULL && end != tab + 1 && *end == '\0')
		metrics_gauge(out, line + 3, help, v);
}

static int metrics_mntr(struct zkfsd *srv, struct zk_buf *out)
{
	struct zk_buf text;
	const char *state = "unknown";
	char *line, *save = NULL;
	int rv = 0;

	zk_buf_init(&text);
	fourlw_mntr(srv, &text);
	if (zk_buf_append_u8(&text, 0) != 0) {
		zk_buf_close(&text);
		return -ENOMEM;
	}
	for (line = strtok_r((char *)text.data, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save))
		metrics_mntr_line(out, line, &state);
	zk_buf_printf(out, "# HELP zkfsd_info Version and role of this server\n"
			   "# TYPE zkfsd_info gauge\n"
			   "zkfsd_info{version=\"%s\",server_state=\"%s\"} 1\n",
		      ZKFSD_VERSION, state);
	zk_buf_close(&text);
	return rv;
}

static void metrics_peers(struct zkfsd *srv, const struct repl_stats *st, struct zk_buf *out)
{
	unsigned synced = 0;

	zk_buf_printf(out, "# HELP zkfsd_follower_lag_entries Log entries a member lacks "
			   "(leader only)\n# TYPE zkfsd_follower_lag_entries gauge\n");
	for (unsigned i = 0; i < st->n_peers; i++)
		zk_buf_printf(out, "zkfsd_follower_lag_entries{member=\"%" PRIu64 "\"} %" PRIu64 "\n",
			      st->peers[i].id, st->last_index - st->peers[i].match_index);
	zk_buf_printf(out, "# HELP zkfsd_follower_lag_seconds Age of the newest state a member "
			   "has (leader only)\n# TYPE zkfsd_follower_lag_seconds gauge\n");
	for (unsigned i = 0; i < st->n_peers; i++)
		zk_buf_printf(out, "zkfsd_follower_lag_seconds{member=\"%" PRIu64 "\"} %.3f\n",
			      st->peers[i].id,
			      metrics_follower_lag_ms(srv, st->peers[i].match_index) / 1e3);
	for (unsigned i = 0; i < st->n_peers; i++)
		if (st->peers[i].recent && st->peers[i].match_index >= st->commit_index)
			synced++;
	metrics_gauge(out, "learners", "Members following this leader", st->n_peers);
	metrics_gauge(out, "synced_followers", "Members that have every committed entry",
		      synced);
}

static void metrics_repl(struct zkfsd *srv, struct zk_buf *out)
{
	struct repl_stats st;

	repl_stats(srv->repl, &st);
	metrics_gauge(out, "quorum_size", "Voting members", st.n_voters);
	metrics_gauge(out, "zkfsd_raft_term", "Raft term", (double)st.term);
	metrics_gauge(out, "zkfsd_raft_commit_index", "Highest index known committed",
		      (double)st.commit_index);
	metrics_gauge(out, "zkfsd_raft_applied_index", "Highest index applied",
		      (double)st.applied_index);
	metrics_gauge(out, "zkfsd_raft_last_index", "Last index in the log",
		      (double)st.last_index);
	metrics_gauge(out, "zkfsd_last_zxid", "Last zxid applied to the tree (mntr zk_last_zxid)",
		      (double)store_last_zxid(srv->store));
	metrics_gauge(out, "zkfsd_snapshot_index", "Index of the last snapshot",
		      (double)st.snapshot_index);
	metrics_counter(out, "zkfsd_snapshots_total", "Snapshots taken since the start",
			st.n_snapshots);
	metrics_gauge(out, "zkfsd_snapshot_size_bytes", "Size of the last snapshot taken",
		      (double)st.last_snapshot_bytes);
	metrics_gauge(out, "zkfsd_snapshot_duration_seconds",
		      "Time the last snapshot's child took to write it", st.last_snapshot_ms / 1e3);
	metrics_gauge(out, "zkfsd_disk_reserve_low",
		      "1 when free space is under the reserve and writes are refused",
		      st.disk_low ? 1 : 0);
	if (repl_role(srv->repl) == REPL_LEADER)
		metrics_peers(srv, &st, out);
}

static void metrics_loop(struct metrics *m, struct zk_buf *out)
{
	uint64_t cum = 0;

	zk_buf_printf(out, "# HELP zkfsd_loop_lag_seconds How late a %d ms timer of the event "
			   "loop fires\n# TYPE zkfsd_loop_lag_seconds histogram\n",
		      METRICS_SAMPLE_MS);
	for (size_t b = 0; b < METRICS_LAG_BUCKETS; b++) {
		cum += m->lag_buckets[b];
		zk_buf_printf(out, "zkfsd_loop_lag_seconds_bucket{le=\"%g\"} %" PRIu64 "\n",
			      metrics_lag_bounds[b] / 1e3, cum);
	}
	zk_buf_printf(out, "zkfsd_loop_lag_seconds_bucket{le=\"+Inf\"} %" PRIu64 "\n",
		      m->lag_count);
	zk_buf_printf(out, "zkfsd_loop_lag_seconds_sum %g\nzkfsd_loop_lag_seconds_count %" PRIu64
			   "\n", (double)m->lag_sum_ms / 1e3, m->lag_count);
}

/* The loop stalls server.c measures (mntr's zk_loop_stalls, zk_loop_stall_max_ms). */
static void metrics_stalls(struct zkfsd *srv, struct zk_buf *out)
{
	metrics_counter(out, "zkfsd_loop_stalls_total", "Event loop turns that stalled (server.c)",
			srv->stats.loop_stalls);
	metrics_gauge(out, "zkfsd_loop_stall_max_seconds", "The longest loop stall",
		      (double)srv->stats.loop_stall_max_ms / 1e3);
}

static void metrics_refused(struct zkfsd *srv, struct zk_buf *out)
{
	static const char *const names[] = {
#define METRICS_REFUSAL_NAME(id, name) name,
		ZKFSD_REFUSALS(METRICS_REFUSAL_NAME)
#undef METRICS_REFUSAL_NAME
	};

	zk_buf_printf(out, "# HELP zkfsd_refused_total Connections, frames and requests refused, "
			   "by reason\n# TYPE zkfsd_refused_total counter\n"
			   "zkfsd_refused_total{reason=\"connection_limit\"} %" PRIu64 "\n"
			   "zkfsd_refused_total{reason=\"bad_frame\"} %" PRIu64 "\n",
		      srv->stats.refused_conns, srv->stats.bad_frames);
	for (int i = 0; i < ZKFSD_REFUSED_N; i++)
		zk_buf_printf(out, "zkfsd_refused_total{reason=\"%s\"} %" PRIu64 "\n", names[i],
			      srv->stats.refused[i]);
}

int metrics_render(struct zkfsd *srv, struct zk_buf *out)
{
	int rv = metrics_mntr(srv, out);

	if (rv != 0)
		return rv;
	if (srv->repl != NULL && srv->repl_open)
		metrics_repl(srv, out);
	if (srv->metrics != NULL)
		metrics_loop(srv->metrics, out);
	metrics_stalls(srv, out);
	metrics_refused(srv, out);
	/* zk_buf_printf keeps what it had on -ENOMEM: make sure the text is whole. */
	return zk_buf_reserve(out, 1);
}

/* ---- HTTP and lifetime ---------------------------------------------------------------------- */

static int metrics_on_get(void *ctx, struct http_request *req, const char *url,
			  struct http_reply *reply)
{
	(void)req;
	if (strcmp(url, "/metrics") != 0) {
		reply->status = 404;
		return zk_buf_printf(&reply->body, "not found\n");
	}
	reply->content_type = "text/plain; version=0.0.4; charset=utf-8";
	return metrics_render(ctx, &reply->body);
}

int metrics_start(struct zkfsd *srv)
{
	const struct config_http *h = &srv->cfg->metrics;
	struct metrics *m = zk_calloc(1, sizeof(*m));
	int rv;

	if (m == NULL)
		return -ENOMEM;
	m->srv = srv;
	rv = h->enabled ? http_start(srv->loop, "metrics", h->host, h->port, NULL, metrics_on_get,
				     srv, &m->http)
			: 0;
	if (rv != 0) {
		zk_free(m);
		return rv;
	}
	uv_timer_init(srv->loop, &m->sampler);
	m->sampler.data = m;
	m->due_ms = uv_now(srv->loop) + METRICS_SAMPLE_MS;
	uv_timer_start(&m->sampler, metrics_on_sample, METRICS_SAMPLE_MS, METRICS_SAMPLE_MS);
	srv->metrics = m;
	return 0;
}

static void metrics_on_close(uv_handle_t *h)
{
	zk_free(h->data);
}

void metrics_stop(struct zkfsd *srv)
{
	struct metrics *m = srv->metrics;

	if (m == NULL)
		return;
	srv->metrics = NULL;
	http_stop(m->http);
	uv_close((uv_handle_t *)&m->sampler, metrics_on_close);
}
