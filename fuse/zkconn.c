/* zkconn: one ZooKeeper session driven through client/'s asynchronous API (zkclient.h, on a
 * loop thread of its own), with bounded, cancellable waits (see zkconn.h).
 *
 * Every waiter sleeps on the connection's one condition variable; completions (on the
 * client's loop thread) fill a struct zkwait and broadcast. A waiter that gives up
 * (deadline, cancel) marks its zkwait abandoned and the completion frees it later: the
 * client may still call back after we stopped waiting. */
#include "fuse/zkconn.h"

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client/zkclient.h"
#include "common/zk_log.h"
#include "proto/zk_const.h"

/* Session states (what the C client called ZOO_*_STATE). */
enum zkconn_state { ZKCONN_CONNECTING, ZKCONN_CONNECTED, ZKCONN_EXPIRED };

/* One zkclient session and what its watch callback needs (a renewed session gets a new one,
 * so late events of the old one are recognised). */
struct zkconn_handle {
	struct zkconn *c;
	struct zkclient *zc;
	bool asked;	/* addWatch of the recursive watch sent (or refused for good). */
	bool recursive; /* The server accepted it: the client re-sets it on every reconnect. */
};

/* A watch of zkconn_watch_exists: its events go to nw->fn. */
struct zkconn_nw {
	struct zkconn_nw *next;
	struct zkconn_node_watch *nw;
	char path[];
};

struct zkconn {
	pthread_mutex_t mu;	    /* Guards every field below and each zkwait. */
	pthread_cond_t cv;	    /* Broadcast on completions, state changes, cancels. */
	pthread_rwlock_t zh_lock;   /* Readers submit on zh; zkconn_renew swaps it. */
	struct zkconn_handle *zh;   /* The session (NULL while renewing). */
	int state;		    /* enum zkconn_state. */
	struct zkconn_nw *node_watches; /* zkconn_watch_exists registrations. */
	int64_t session_id;	    /* Of the current session, 0 before it connected. */
	uint64_t generation;	    /* Number of sessions opened. */
	char *hosts;		    /* Owned copy of the connect string. */
	char *auth;		    /* Owned "scheme:credentials", or NULL. */
	bool tls;		    /* And the owned copies of the TLS files, or NULL. */
	char *tls_ca, *tls_cert, *tls_key;
	int session_timeout_ms;
	int op_timeout_ms;
	zkconn_watch_cb on_watch;
	zkconn_expired_cb on_expired;
	zkconn_reconnected_cb on_reconnected;
	bool oneshot;		    /* -o oneshot: never ask for the recursive watch. */
	atomic_bool recursive;	    /* The current handle holds it (zkconn_recursive). */
	atomic_bool refused;	    /* The server refused addWatch (data_watch_ok). */
	void *ctx;
	atomic_uint_fast64_t events; /* Node events delivered (zkconn_event_seq). */
};

struct zkwait {
	struct zkconn *c;
	bool done;		   /* The completion ran. */
	bool abandoned;		   /* The waiter left; the completion frees. */
	int rc;			   /* ZooKeeper code. */
	uint64_t seq;		   /* c->events when the answer arrived. */
	struct Stat st;
	char *data;		   /* getData value (malloc'd). */
	int len;
	struct String_vector kids; /* getChildren2 names (malloc'd). */
	char *path;		   /* create2's real path. */
	int failed_op;		   /* multi: the index of the op that failed, or -1. */
};

static void zkwait_free(struct zkwait *w)
{
	free(w->data);
	free(w->path);
	deallocate_String_vector(&w->kids);
	free(w);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait on c->cv until @deadline_ms (monotonic). Must hold c->mu. Returns ETIMEDOUT or 0. */
static int wait_until(struct zkconn *c, int64_t deadline_ms)
{
	struct timespec ts = {.tv_sec = deadline_ms / 1000, .tv_nsec = (deadline_ms % 1000) * 1000000};

	return pthread_cond_timedwait(&c->cv, &c->mu, &ts);
}

int deallocate_String_vector(struct String_vector *v)
{
	for (int32_t i = 0; v->data != NULL && i < v->count; i++)
		free(v->data[i]);
	free(v->data);
	v->data = NULL;
	v->count = 0;
	return 0;
}

/* The Stat of client/ in the C API's shape. */
static void stat_from(struct Stat *out, const struct zk_stat *st)
{
	*out = (struct Stat){st->czxid, st->mzxid, st->ctime, st->mtime, st->version,
			     st->cversion, st->aversion, st->ephemeral_owner, st->data_length,
			     st->num_children, st->pzxid};
}

/* Hand @type on @path to the zkconn_watch_exists watches of @path (one-shot: they go), or to
 * every one of them for a session event (they stay). Must hold c->mu. */
static void node_watches_fire(struct zkconn *c, int type, const char *path)
{
	struct zkconn_nw **pp = &c->node_watches, *w;

	while ((w = *pp) != NULL) {
		if (type == ZOO_SESSION_EVENT) {
			w->nw->fn(w->nw, type, "");
			pp = &w->next;
		} else if (strcmp(w->path, path) == 0) {
			*pp = w->next;
			w->nw->fn(w->nw, type, path);
			free(w);
		} else {
			pp = &w->next;
		}
	}
}

static void session_changed(struct zkconn *c, struct zkconn_handle *h, int state)
{
	if (state == ZK_STATE_SYNC_CONNECTED) {
		int64_t id = zkclient_session_id(h->zc, NULL);

		if (c->session_id != id)
			zk_log_info("session 0x%llx established (timeout %d ms)",
				    (unsigned long long)id, zkclient_session_timeout(h->zc));
		c->session_id = id;
		c->state = ZKCONN_CONNECTED;
	} else if (state == ZK_STATE_DISCONNECTED) {
		zk_log_warn("connection to ZooKeeper lost; reconnecting (session 0x%llx)",
			    (unsigned long long)c->session_id);
		c->state = ZKCONN_CONNECTING;
	} else if (state == ZK_STATE_EXPIRED) {
		zk_log_warn("session 0x%llx expired", (unsigned long long)c->session_id);
		c->state = ZKCONN_EXPIRED;
	}
}

/* The answer to the recursive watch's addWatch, on the loop thread. A connection loss asks
 * again at the next connect; a refusal (a server without addWatch) keeps one-shot watches. */
static void on_recursive(void *ctx, const struct zkclient_result *r)
{
	struct zkconn_handle *h = ctx;
	struct zkconn *c = h->c;

	pthread_mutex_lock(&c->mu);
	if (r->err == ZK_ERR_OK) {
		h->recursive = true;
		if (h == c->zh)
			atomic_store(&c->recursive, true);
	} else if (r->err == ZK_ERR_CONNECTIONLOSS) {
		h->asked = false;
	}
	if (h == c->zh && r->err != ZK_ERR_OK && r->err != ZK_ERR_CONNECTIONLOSS &&
	    r->err != ZK_ERR_SESSIONEXPIRED)
		atomic_store(&c->refused, true);
	pthread_mutex_unlock(&c->mu);
	if (r->err == ZK_ERR_OK)
		zk_log_info("watching the tree with one persistent recursive watch");
	else if (r->err != ZK_ERR_CONNECTIONLOSS && r->err != ZK_ERR_SESSIONEXPIRED)
		zk_log_warn("the server refused addWatch (%s): watching with one-shot watches",
			    zk_err_name(r->err));
}

/* Ask for the recursive watch on the root. On the loop thread. */
static void ask_recursive(struct zkconn_handle *h)
{
	if (zkclient_add_watch(h->zc, "/", ZK_ADD_WATCH_PERSISTENT_RECURSIVE, on_recursive, h) !=
	    0) {
		zk_log_warn("cannot ask for the recursive watch: watching with one-shot watches");
	}
}

/* client/'s watch callback, on its loop thread: session changes and node events. */
static void on_event(void *ctx, int type, int state, const char *path)
{
	struct zkconn_handle *h = ctx;
	struct zkconn *c = h->c;
	bool ask, revalidate;

	if (type != ZK_EVENT_NONE) {
		pthread_mutex_lock(&c->mu);
		node_watches_fire(c, type, path);
		pthread_mutex_unlock(&c->mu);
		atomic_fetch_add(&c->events, 1);
		c->on_watch(c->ctx, type, path, NULL, NULL, 0);
		return;
	}
	if (state == ZK_STATE_AUTH_FAILED)
		zk_log_error("authentication refused by the server");
	if (state == ZK_STATE_CLOSED || state == ZK_STATE_AUTH_FAILED)
		return;
	pthread_mutex_lock(&c->mu);
	if (h != c->zh) { /* A late event of a session being closed. */
		pthread_mutex_unlock(&c->mu);
		return;
	}
	session_changed(c, h, state);
	node_watches_fire(c, ZOO_SESSION_EVENT, "");
	ask = state == ZK_STATE_SYNC_CONNECTED && !h->asked && !c->oneshot;
	h->asked = h->asked || ask;
	revalidate = state == ZK_STATE_SYNC_CONNECTED && h->recursive;
	pthread_cond_broadcast(&c->cv);
	pthread_mutex_unlock(&c->mu);
	if (ask)
		ask_recursive(h);
	if (revalidate && c->on_reconnected)
		c->on_reconnected(c->ctx);
	if (state == ZK_STATE_EXPIRED)
		c->on_expired(c->ctx);
}

/* Send one "scheme:credentials" identity (@len bytes at @id). */
static void add_one_auth(struct zkclient *zc, const char *id, size_t len)
{
	const char *colon = memchr(id, ':', len);
	char scheme[64];

	if (!colon || colon == id || (size_t)(colon - id) >= sizeof(scheme)) {
		zk_log_error("an identity without SCHEME: is not sent");
		return;
	}
	memcpy(scheme, id, (size_t)(colon - id));
	scheme[colon - id] = '\0';
	if (zkclient_add_auth(zc, scheme, colon + 1, (int)(len - (size_t)(colon + 1 - id)), NULL,
			      NULL) != 0)
		zk_log_error("cannot send the %s credentials", scheme);
}

/* Send the identities of -o auth= / auth_file= (one per line); the client repeats them after
 * each reconnect. */
static void add_auth(struct zkconn *c, struct zkclient *zc)
{
	const char *id = c->auth, *end;

	for (; id && *id; id = *end ? end + 1 : end) {
		end = strchr(id, '\n');
		if (!end)
			end = id + strlen(id);
		if (end > id)
			add_one_auth(zc, id, (size_t)(end - id));
	}
}

static struct zkconn_handle *open_handle(struct zkconn *c)
{
	struct zkconn_handle *h = calloc(1, sizeof(*h));
	struct zkclient_config cfg;
	int rc;

	if (!h)
		return NULL;
	h->c = c;
	zkclient_config_init(&cfg);
	cfg.hosts = c->hosts;
	cfg.session_ms = c->session_timeout_ms;
	cfg.watch_cb = on_event;
	cfg.watch_ctx = h;
	cfg.tls = c->tls;
	cfg.tls_ca = c->tls_ca;
	cfg.tls_cert = c->tls_cert;
	cfg.tls_key = c->tls_key;
	rc = zkclient_open(&cfg, &h->zc);
	if (rc != 0) {
		zk_log_error("cannot open a session to %s: %s", c->hosts, strerror(-rc));
		free(h);
		return NULL;
	}
	add_auth(c, h->zc);
	return h;
}

static void free_tls(struct zkconn *c)
{
	free(c->tls_ca);
	free(c->tls_cert);
	free(c->tls_key);
}

/* Keep the TLS settings for every session (zkconn_renew opens new ones). Returns 0 or -ENOMEM. */
static int copy_tls(struct zkconn *c, const struct zkconn_config *cfg)
{
	const char *in[3] = {cfg->tls_ca, cfg->tls_cert, cfg->tls_key};
	char **out[3] = {&c->tls_ca, &c->tls_cert, &c->tls_key};

	c->tls = cfg->tls;
	for (int i = 0; i < 3; i++) {
		if (!in[i])
			continue;
		c->tls = true;
		*out[i] = strdup(in[i]);
		if (!*out[i])
			return -ENOMEM;
	}
	return 0;
}

int zkconn_create(const struct zkconn_config *cfg, struct zkconn **out)
{
	pthread_condattr_t attr;
	struct zkconn *c = calloc(1, sizeof(*c));

	if (!c)
		return -ENOMEM;
	c->hosts = strdup(cfg->hosts);
	c->auth = cfg->auth ? strdup(cfg->auth) : NULL;
	if (!c->hosts || (cfg->auth && !c->auth) || copy_tls(c, cfg) != 0)
		goto err_after_alloc;
	c->session_timeout_ms = cfg->session_timeout_ms;
	c->op_timeout_ms = cfg->op_timeout_ms;
	c->on_watch = cfg->on_watch;
	c->on_expired = cfg->on_expired;
	c->on_reconnected = cfg->on_reconnected;
	c->oneshot = cfg->oneshot;
	c->ctx = cfg->ctx;
	c->state = ZKCONN_CONNECTING;
	c->generation = 1;
	pthread_mutex_init(&c->mu, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&c->cv, &attr);
	pthread_condattr_destroy(&attr);
	pthread_rwlock_init(&c->zh_lock, NULL);
	pthread_mutex_lock(&c->mu);
	c->zh = open_handle(c);
	pthread_mutex_unlock(&c->mu);
	if (!c->zh)
		goto err_after_init;
	*out = c;
	return 0;

err_after_init:
	pthread_rwlock_destroy(&c->zh_lock);
	pthread_cond_destroy(&c->cv);
	pthread_mutex_destroy(&c->mu);
err_after_alloc:
	free_tls(c);
	free(c->auth);
	free(c->hosts);
	free(c);
	return -ENOMEM;
}

/* Swap out and close the current handle. Must hold zh_lock for writing. */
static void close_handle(struct zkconn *c)
{
	struct zkconn_handle *old;

	pthread_mutex_lock(&c->mu);
	old = c->zh;
	c->zh = NULL;
	pthread_mutex_unlock(&c->mu);
	if (old) {
		/* Sends closeSession when connected, completes what is pending, ends the
		 * thread: no callback of @old runs after this. */
		zkclient_close(old->zc);
		free(old);
	}
}

void zkconn_destroy(struct zkconn *c)
{
	if (!c)
		return;
	pthread_rwlock_wrlock(&c->zh_lock);
	close_handle(c);
	pthread_rwlock_unlock(&c->zh_lock);
	while (c->node_watches) {
		struct zkconn_nw *w = c->node_watches;

		c->node_watches = w->next;
		free(w);
	}
	zk_log_info("session 0x%llx closed", (unsigned long long)c->session_id);
	pthread_rwlock_destroy(&c->zh_lock);
	pthread_cond_destroy(&c->cv);
	pthread_mutex_destroy(&c->mu);
	free_tls(c);
	free(c->auth);
	free(c->hosts);
	free(c);
}

int zkconn_renew(struct zkconn *c)
{
	struct zkconn_handle *zh;

	pthread_rwlock_wrlock(&c->zh_lock);
	close_handle(c);
	pthread_mutex_lock(&c->mu);
	c->state = ZKCONN_CONNECTING;
	c->session_id = 0;
	c->generation++;
	atomic_store(&c->recursive, false);
	atomic_store(&c->refused, false);
	c->zh = zh = open_handle(c);
	pthread_cond_broadcast(&c->cv);
	pthread_mutex_unlock(&c->mu);
	pthread_rwlock_unlock(&c->zh_lock);
	zk_log_info("opening a new session (generation %llu)", (unsigned long long)c->generation);
	return zh ? 0 : -EIO;
}

void zkconn_cancel(struct zkconn *c, struct zkconn_cancel *cancel)
{
	pthread_mutex_lock(&c->mu);
	cancel->cancelled = true;
	pthread_cond_broadcast(&c->cv);
	pthread_mutex_unlock(&c->mu);
}

int64_t zkconn_session_id(struct zkconn *c)
{
	int64_t id;

	pthread_mutex_lock(&c->mu);
	id = c->session_id;
	pthread_mutex_unlock(&c->mu);
	return id;
}

bool zkconn_connected(struct zkconn *c)
{
	bool up;

	pthread_mutex_lock(&c->mu);
	up = c->state == ZKCONN_CONNECTED;
	pthread_mutex_unlock(&c->mu);
	return up;
}

bool zkconn_recursive(struct zkconn *c)
{
	return atomic_load(&c->recursive);
}

/* Whether a read of @path may leave a one-shot data watch. Not under the recursive watch (it
 * covers every node), and not on the root unless the recursive watch is off for good:
 * ZooKeeper 3.8 keeps one watch mode per session and path, so a one-shot watch that reaches
 * the server after the addWatch replaces the recursive one (ZOOKEEPER-4466) and the mount hears
 * of nothing below. A read submitted from a FUSE thread can overtake the addWatch of the loop
 * thread, so the root gets none at all while the answer may still be "granted" (the root's own
 * data then goes unwatched until it is: it holds no file of the mount). */
static bool data_watch_ok(struct zkconn *c, const char *path)
{
	bool root = path[0] == '/' && path[1] == '\0';

	return !atomic_load(&c->recursive) &&
	       (!root || c->oneshot || atomic_load(&c->refused));
}

uint64_t zkconn_generation(struct zkconn *c)
{
	uint64_t g;

	pthread_mutex_lock(&c->mu);
	g = c->generation;
	pthread_mutex_unlock(&c->mu);
	return g;
}

/* Wait until connected. Must hold c->mu. Returns 0, -EINTR or -ETIMEDOUT. */
static int wait_connected(struct zkconn *c, struct zkconn_cancel *cancel, int64_t deadline)
{
	while (c->state != ZKCONN_CONNECTED || !c->zh) {
		if (cancel && cancel->cancelled)
			return -EINTR;
		if (wait_until(c, deadline) == ETIMEDOUT) {
			zk_log_warn("no ZooKeeper server answered within %d ms", c->op_timeout_ms);
			return -ETIMEDOUT;
		}
	}
	return 0;
}

/* How long a cancelled write already sent is still waited for. */
#define WRITE_GRACE_MS 1000

/* Wait for @w's completion. Must hold c->mu. On -EINTR/-ETIMEDOUT/-EIO @w is abandoned.
 * A read gives up at @deadline (-ETIMEDOUT) or when cancelled (-EINTR). A write already sent
 * is waited for until the client answers it -- with the server's reply or, within its receive
 * timeout, a connection loss -- because giving up earlier would call "failed" a write the
 * server may still make (@deadline then only guards against a client that never answers).
 * Cancelled (a signal to the caller: a shell's close() gets SIGCHLD of a background job), it is
 * still waited for WRITE_GRACE_MS. A write left without an answer returns -EIO: its outcome
 * is unknown. */
static int wait_done(struct zkconn *c, struct zkwait *w, struct zkconn_cancel *cancel,
		     int64_t deadline, bool write)
{
	bool grace = false;
	int rc = 0;

	while (!w->done) {
		if (cancel && cancel->cancelled && write && !grace) {
			grace = true;
			if (deadline > now_ms() + WRITE_GRACE_MS)
				deadline = now_ms() + WRITE_GRACE_MS;
		}
		if (cancel && cancel->cancelled && !write)
			rc = -EINTR;
		else if (wait_until(c, deadline) == ETIMEDOUT && !w->done)
			rc = write ? -EIO : -ETIMEDOUT;
		if (rc) {
			if (write)
				zk_log_warn("a write got no answer in time: outcome unknown");
			w->abandoned = true;
			return rc;
		}
	}
	return 0;
}

/* Completions: record the result, or free it when the waiter is gone. */
static bool complete_begin(struct zkwait *w, int rc)
{
	pthread_mutex_lock(&w->c->mu);
	w->rc = rc;
	w->seq = atomic_load(&w->c->events);
	if (w->abandoned)
		return false;
	return true;
}

static void complete_end(struct zkwait *w, bool kept)
{
	struct zkconn *c = w->c;

	if (kept) {
		w->done = true;
		pthread_cond_broadcast(&c->cv);
	}
	pthread_mutex_unlock(&c->mu);
	if (!kept)
		zkwait_free(w);
}

/* Copies of the names of @v into @out (malloc'd). Returns 0 or -ENOMEM. */
static int names_copy(struct String_vector *out, const struct jute_str_vec *v)
{
	out->count = 0;
	out->data = calloc((size_t)(v->count > 0 ? v->count : 1), sizeof(char *));
	if (!out->data)
		return -ENOMEM;
	for (int32_t i = 0; i < v->count; i++) {
		out->data[i] = strndup(v->items[i].p ? v->items[i].p : "",
				       v->items[i].len > 0 ? (size_t)v->items[i].len : 0);
		if (!out->data[i]) {
			deallocate_String_vector(out);
			return -ENOMEM;
		}
		out->count++;
	}
	return 0;
}

/* A multi's results: the first op that failed (a failed multi's err is that op's code), or
 * the Stat of its last setData. */
static void multi_done(struct zkwait *w, const struct zkclient_result *r)
{
	for (int32_t i = 0; i < r->n_results; i++) {
		const struct jute_multi_result *m = &r->results[i];

		if (r->err == ZK_ERR_OK && m->type == ZK_OP_SET_DATA)
			stat_from(&w->st, &m->stat);
		if (r->err != ZK_ERR_OK && w->failed_op < 0 && m->type == ZK_OP_ERROR &&
		    m->err != ZK_ERR_OK && m->err != ZK_ERR_RUNTIMEINCONSISTENCY)
			w->failed_op = i;
	}
}

/* One completion for every operation: keep what the waiter needs. */
static void on_done(void *ctx, const struct zkclient_result *r)
{
	struct zkwait *w = ctx;
	bool kept = complete_begin(w, r->err);

	if (kept && r->err == ZK_ERR_OK) {
		if (r->has_stat)
			stat_from(&w->st, &r->stat);
		if (r->data.p && r->data.len > 0) {
			w->data = malloc((size_t)r->data.len);
			if (w->data) {
				memcpy(w->data, r->data.p, (size_t)r->data.len);
				w->len = r->data.len;
			} else {
				w->rc = ZK_ERR_SYSTEMERROR;
			}
		}
		if ((r->op == ZK_OP_GET_CHILDREN2 && names_copy(&w->kids, &r->names) != 0) ||
		    (r->path.len > 0 && !(w->path = strndup(r->path.p, (size_t)r->path.len))))
			w->rc = ZK_ERR_SYSTEMERROR;
	}
	if (kept && r->op == ZK_OP_MULTI)
		multi_done(w, r);
	complete_end(w, kept);
}

/* What one operation submits; the fields a given kind uses. */
enum op_kind { OP_GET, OP_CHILDREN, OP_EXISTS, OP_CREATE, OP_SET, OP_DELETE, OP_WEXISTS,
	       OP_MULTI };

struct op {
	enum op_kind kind;
	const char *path;
	bool watch;
	const char *data;
	int len;
	int mode_or_version;
	struct zkconn_node_watch *node_watch; /* OP_WEXISTS: where the watch event goes. */
	const struct jute_multi_op *ops;      /* OP_MULTI: its operations. */
	int nops;
};

static const char *op_name(enum op_kind k)
{
	static const char *names[] = {"getData", "getChildren", "exists", "create", "setData",
				      "delete", "exists", "multi"};
	return names[k];
}

/* Register @op's node watch before the exists goes out, so its event cannot be missed. */
static int node_watch_add(struct zkconn *c, const struct op *op)
{
	size_t len = strlen(op->path) + 1;
	struct zkconn_nw *w = malloc(sizeof(*w) + len);

	if (!w)
		return -ENOMEM;
	w->nw = op->node_watch;
	memcpy(w->path, op->path, len);
	pthread_mutex_lock(&c->mu);
	for (struct zkconn_nw *o = c->node_watches; o && w; o = o->next) {
		if (o->nw == w->nw && strcmp(o->path, w->path) == 0) {
			free(w); /* Already registered: one event, one call. */
			w = NULL;
		}
	}
	if (w) {
		w->next = c->node_watches;
		c->node_watches = w;
	}
	pthread_mutex_unlock(&c->mu);
	return 0;
}

/* Submit @op on @zc. Returns 0 or a negative errno (no completion then). */
static int submit(struct zkconn *c, struct zkclient *zc, const struct op *op, struct zkwait *w)
{
	bool data_watch = op->watch && data_watch_ok(c, op->path);
	int rc;

	switch (op->kind) {
	case OP_GET:
		return zkclient_get_data(zc, op->path, data_watch, on_done, w);
	case OP_CHILDREN:
		return zkclient_get_children(zc, op->path, op->watch, true, on_done, w);
	case OP_EXISTS:
		return zkclient_exists(zc, op->path, false, on_done, w);
	case OP_CREATE:
		return zkclient_create(zc, op->path, op->data, op->data ? op->len : -1, NULL,
				       op->mode_or_version, 0, true, on_done, w);
	case OP_SET:
		return zkclient_set_data(zc, op->path, op->data, op->data ? op->len : -1,
					 op->mode_or_version, on_done, w);
	case OP_DELETE:
		return zkclient_delete(zc, op->path, op->mode_or_version, on_done, w);
	case OP_WEXISTS:
		rc = node_watch_add(c, op);
		return rc ? rc : zkclient_exists(zc, op->path, true, on_done, w);
	case OP_MULTI:
		return zkclient_multi(zc, op->ops, op->nops, false, on_done, w);
	}
	return -EINVAL;
}

static bool op_is_read(enum op_kind k)
{
	return k == OP_GET || k == OP_CHILDREN || k == OP_EXISTS || k == OP_WEXISTS;
}

static bool is_connection_error(int rc)
{
	return rc == ZK_ERR_CONNECTIONLOSS || rc == ZK_ERR_OPERATIONTIMEOUT ||
	       rc == ZK_ERR_SESSIONEXPIRED || rc == ZK_ERR_SESSIONMOVED;
}

/* Submit once on the current session. Returns a ZooKeeper code: ConnectionLoss while renewing,
 * BadArguments for a path the client refuses, SystemError when out of memory. */
static int submit_locked(struct zkconn *c, const struct op *op, struct zkwait *w)
{
	int rc = -EAGAIN;

	pthread_rwlock_rdlock(&c->zh_lock);
	if (c->zh)
		rc = submit(c, c->zh->zc, op, w);
	pthread_rwlock_unlock(&c->zh_lock);
	if (rc == -EAGAIN)
		return ZK_ERR_CONNECTIONLOSS;
	return rc == 0 ? ZK_ERR_OK : rc == -EINVAL ? ZK_ERR_BADARGUMENTS : ZK_ERR_SYSTEMERROR;
}

/* Run @op to completion: 0 and *out (caller frees with zkwait_free) or -errno. A write's
 * -EIO (or an answer that is a connection error, normalised to ConnectionLoss) means its
 * outcome is unknown; its other errors are definite (-ETIMEDOUT: it was never sent). */
static int run(struct zkconn *c, struct zkconn_cancel *cancel, const struct op *op,
	       struct zkwait **out)
{
	int64_t deadline = now_ms() + c->op_timeout_ms;
	bool write = !op_is_read(op->kind);
	struct zkwait *w;
	int rc, zrc;

	for (;;) {
		w = calloc(1, sizeof(*w));
		if (!w)
			return -ENOMEM;
		w->c = c;
		w->failed_op = -1;
		pthread_mutex_lock(&c->mu);
		rc = wait_connected(c, cancel, deadline);
		pthread_mutex_unlock(&c->mu);
		if (rc)
			goto err_free;
		zrc = submit_locked(c, op, w);
		if (zrc != ZK_ERR_OK) {
			free(w);
			if (!is_connection_error(zrc))
				return -zk_err_to_errno(zrc);
			if (now_ms() >= deadline)
				return -ETIMEDOUT;
			continue;
		}
		pthread_mutex_lock(&c->mu);
		if (write) /* See wait_done: the client answers within its receive timeout. */
			deadline = now_ms() + c->op_timeout_ms + c->session_timeout_ms;
		rc = wait_done(c, w, cancel, deadline, write);
		pthread_mutex_unlock(&c->mu);
		if (rc)
			return rc; /* w is abandoned: its completion frees it. */
		if (is_connection_error(w->rc) && !write && now_ms() < deadline) {
			zkwait_free(w);
			continue;
		}
		if (is_connection_error(w->rc) && write) {
			zk_log_warn("%s %s: %s (connection lost: outcome unknown)", op_name(op->kind),
				    op->path, zk_err_name(w->rc));
			w->rc = ZK_ERR_CONNECTIONLOSS;
		}
		*out = w;
		return 0;
	}

err_free:
	free(w);
	return rc;
}

/* zkconn_answer_seq of this thread. */
static _Thread_local uint64_t answer_seq;

uint64_t zkconn_answer_seq(void)
{
	return answer_seq;
}

uint64_t zkconn_event_seq(struct zkconn *c)
{
	return atomic_load(&c->events);
}

/* A refusal by ACL is the mount's identity lacking a permission: one line per operation, so
 * an admin can tell it from a fault (the caller gets EACCES). */
static void log_refusal(const struct op *op, int rc)
{
	if (rc == ZK_ERR_NOAUTH)
		zk_log_warn("permission denied: %s %s (NoAuth: the mount's identity lacks the "
			    "permission; see -o auth=, auth_file=)", op_name(op->kind), op->path);
}

/* Run @op and hand its results to the caller: on 0, @out holds what the completion stored
 * (the caller owns out->data, out->kids and out->path); otherwise -errno and nothing to free. */
static int run_take(struct zkconn *c, struct zkconn_cancel *cancel, const struct op *op,
		    struct zkwait *out)
{
	struct zkwait *w = NULL;
	int rc = run(c, cancel, op, &w);

	if (rc)
		return rc;
	answer_seq = w->seq;
	if (w->rc != ZK_ERR_OK) {
		log_refusal(op, w->rc);
		rc = -zk_err_to_errno(w->rc);
		zkwait_free(w);
		return rc;
	}
	*out = *w;
	free(w);
	return 0;
}

int zkconn_get(struct zkconn *c, struct zkconn_cancel *cancel, const char *path, bool watch,
	       char **data, int *len, struct Stat *st)
{
	struct op op = {.kind = OP_GET, .path = path, .watch = watch};
	struct zkwait r;
	int rc = run_take(c, cancel, &op, &r);

	if (rc)
		return rc;
	*st = r.st;
	if (len)
		*len = r.len;
	if (data)
		*data = r.data;
	else
		free(r.data);
	return 0;
}

int zkconn_children(struct zkconn *c, struct zkconn_cancel *cancel, const char *path, bool watch,
		    struct String_vector *kids, struct Stat *st)
{
	struct op op = {.kind = OP_CHILDREN, .path = path, .watch = watch};
	struct zkwait r;
	int rc = run_take(c, cancel, &op, &r);

	if (rc)
		return rc;
	*kids = r.kids;
	if (st)
		*st = r.st;
	return 0;
}

int zkconn_exists(struct zkconn *c, struct zkconn_cancel *cancel, const char *path,
		  struct Stat *st)
{
	struct op op = {.kind = OP_EXISTS, .path = path};
	struct zkwait r;
	int rc = run_take(c, cancel, &op, &r);

	if (rc == 0 && st)
		*st = r.st;
	return rc;
}

int zkconn_create_node(struct zkconn *c, struct zkconn_cancel *cancel, const char *path,
		       const char *data, int len, int mode, char **created, struct Stat *st)
{
	struct op op = {.kind = OP_CREATE, .path = path, .data = data, .len = len,
			.mode_or_version = mode};
	struct zkwait r;
	int rc = run_take(c, cancel, &op, &r);

	if (rc)
		return rc;
	if (st)
		*st = r.st;
	if (created)
		*created = r.path;
	else
		free(r.path);
	return 0;
}

int zkconn_set(struct zkconn *c, struct zkconn_cancel *cancel, const char *path, const char *data,
	       int len, int version, struct Stat *st)
{
	struct op op = {.kind = OP_SET, .path = path, .data = data, .len = len,
			.mode_or_version = version};
	struct zkwait r;
	int rc = run_take(c, cancel, &op, &r);

	if (rc == 0 && st)
		*st = r.st;
	return rc;
}

/* An arming request: the path is kept for the callback. */
struct arm {
	struct zkconn *c;
	bool children; /* getChildren2, else getData. */
	char path[];
};

/* The completion of an arming getData/getChildren2 (@a->children tells which). */
static void on_armed(void *ctx, const struct zkclient_result *r)
{
	struct arm *a = ctx;
	struct Stat st;

	if (r->err == ZK_ERR_OK) {
		stat_from(&st, &r->stat);
		if (a->children)
			a->c->on_watch(a->c->ctx, ZKCONN_ARMED_CHILDREN, a->path, &st, NULL, 0);
		else
			a->c->on_watch(a->c->ctx, ZKCONN_ARMED_DATA, a->path, &st,
				       (const char *)r->data.p, r->data.len > 0 ? r->data.len : 0);
	}
	free(a);
}

static struct arm *arm_new(struct zkconn *c, const char *path, bool children)
{
	size_t len = strlen(path) + 1;
	struct arm *a = malloc(sizeof(*a) + len);

	if (a) {
		a->c = c;
		a->children = children;
		memcpy(a->path, path, len);
	}
	return a;
}

void zkconn_arm(struct zkconn *c, const char *path, bool children)
{
	struct arm *a = arm_new(c, path, false), *b = children ? arm_new(c, path, true) : NULL;
	bool data_watch = data_watch_ok(c, path);

	pthread_rwlock_rdlock(&c->zh_lock);
	if (a && (!c->zh || zkclient_get_data(c->zh->zc, path, data_watch, on_armed, a) != 0))
		free(a);
	if (b && (!c->zh || zkclient_get_children(c->zh->zc, path, true, true, on_armed, b) != 0))
		free(b);
	pthread_rwlock_unlock(&c->zh_lock);
}

void zkconn_arm_children(struct zkconn *c, const char *path)
{
	struct arm *b = arm_new(c, path, true);

	pthread_rwlock_rdlock(&c->zh_lock);
	if (b && (!c->zh || zkclient_get_children(c->zh->zc, path, true, true, on_armed, b) != 0))
		free(b);
	pthread_rwlock_unlock(&c->zh_lock);
}

int zkconn_delete(struct zkconn *c, struct zkconn_cancel *cancel, const char *path, int version)
{
	struct op op = {.kind = OP_DELETE, .path = path, .mode_or_version = version};
	struct zkwait r;

	return run_take(c, cancel, &op, &r);
}

int zkconn_watch_exists(struct zkconn *c, struct zkconn_cancel *cancel, const char *path,
			struct zkconn_node_watch *nw)
{
	struct op op = {.kind = OP_WEXISTS, .path = path, .node_watch = nw};
	struct zkwait r;

	return run_take(c, cancel, &op, &r);
}

/* ---- multi, waiting for a session (issue 16) ---- */

/* @o as a jute multi op. */
static void multi_op_from(struct jute_multi_op *out, const struct zkconn_op *o)
{
	struct jute_str path = {o->path, (int32_t)strlen(o->path)};
	struct jute_bytes data = {(const uint8_t *)o->data, o->data ? o->len : -1};

	memset(out, 0, sizeof(*out));
	switch (o->kind) {
	case ZKCONN_OP_CREATE:
		out->type = ZK_OP_CREATE;
		out->u.create = (struct jute_create_request){path, data, zkclient_acl_open, o->arg};
		break;
	case ZKCONN_OP_SET:
		out->type = ZK_OP_SET_DATA;
		out->u.set_data = (struct jute_set_data_request){path, data, o->arg};
		break;
	case ZKCONN_OP_DELETE:
		out->type = ZK_OP_DELETE;
		out->u.delete = (struct jute_delete_request){path, o->arg};
		break;
	case ZKCONN_OP_CHECK:
		out->type = ZK_OP_CHECK;
		out->u.check_version = (struct jute_check_version_request){path, o->arg};
		break;
	}
}

int zkconn_multi(struct zkconn *c, struct zkconn_cancel *cancel, const struct zkconn_op *ops,
		 int count, struct Stat *st, int *failed)
{
	struct jute_multi_op jops[ZKCONN_MULTI_MAX];
	struct op op = {.kind = OP_MULTI, .path = ops[0].path, .ops = jops, .nops = count};
	struct zkwait *w = NULL;
	int rc, i;

	assert(count > 0 && count <= ZKCONN_MULTI_MAX);
	for (i = 0; i < count; i++)
		multi_op_from(&jops[i], &ops[i]);
	if (failed)
		*failed = -1;
	rc = run(c, cancel, &op, &w);
	if (rc)
		return rc;
	answer_seq = w->seq;
	log_refusal(&op, w->rc);
	rc = -zk_err_to_errno(w->rc);
	if (failed)
		*failed = w->failed_op;
	if (rc == 0 && st)
		*st = w->st;
	zkwait_free(w);
	return rc;
}

int zkconn_wait_connected(struct zkconn *c, struct zkconn_cancel *cancel, int timeout_ms)
{
	int rc;

	pthread_mutex_lock(&c->mu);
	rc = wait_connected(c, cancel, now_ms() + timeout_ms);
	pthread_mutex_unlock(&c->mu);
	return rc;
}
