/* zkconn: one ZooKeeper session driven through libzookeeper_mt's asynchronous API, with
 * bounded, cancellable waits (see zkconn.h).
 *
 * Every waiter sleeps on the connection's one condition variable; completions (on the
 * library's completion thread) fill a struct zkwait and broadcast. A waiter that gives up
 * (deadline, cancel) marks its zkwait abandoned and the completion frees it later: the
 * library may still call back after we stopped waiting. */
#include "fuse/zkconn.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/zk_log.h"
#include "proto/zk_const.h"

struct zkconn {
	pthread_mutex_t mu;	    /* Guards every field below and each zkwait. */
	pthread_cond_t cv;	    /* Broadcast on completions, state changes, cancels. */
	pthread_rwlock_t zh_lock;   /* Readers submit on zh; zkconn_renew swaps it. */
	zhandle_t *zh;		    /* The library handle (NULL while renewing). */
	int state;		    /* Last ZOO_*_STATE seen. */
	int64_t session_id;	    /* Of the current session, 0 before it connected. */
	uint64_t generation;	    /* Number of sessions opened. */
	char *hosts;		    /* Owned copy of the connect string. */
	char *auth;		    /* Owned "scheme:credentials", or NULL. */
	int session_timeout_ms;
	int op_timeout_ms;
	zkconn_watch_cb on_watch;
	zkconn_expired_cb on_expired;
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
	struct String_vector kids; /* getChildren2 names (library-allocated vector). */
	char *path;		   /* create2's real path. */
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

/* Called by the library on its event thread for session changes and node events. */
static void on_event(zhandle_t *zh, int type, int state, const char *path, void *unused)
{
	struct zkconn *c = (struct zkconn *)zoo_get_context(zh);

	if (type != ZOO_SESSION_EVENT) {
		atomic_fetch_add(&c->events, 1);
		c->on_watch(c->ctx, type, path, NULL, NULL, 0);
		return;
	}
	pthread_mutex_lock(&c->mu);
	if (zh != c->zh) { /* A late event of a handle being closed. */
		pthread_mutex_unlock(&c->mu);
		return;
	}
	c->state = state;
	if (state == ZOO_CONNECTED_STATE) {
		const clientid_t *id = zoo_client_id(zh);

		if (c->session_id != id->client_id)
			zk_log_info("session 0x%llx established (timeout %d ms)",
				    (unsigned long long)id->client_id, zoo_recv_timeout(zh));
		c->session_id = id->client_id;
	} else if (state == ZOO_CONNECTING_STATE) {
		zk_log_warn("connection to ZooKeeper lost; reconnecting (session 0x%llx)",
			    (unsigned long long)c->session_id);
	} else if (state == ZOO_EXPIRED_SESSION_STATE) {
		zk_log_warn("session 0x%llx expired", (unsigned long long)c->session_id);
	}
	pthread_cond_broadcast(&c->cv);
	pthread_mutex_unlock(&c->mu);
	if (state == ZOO_EXPIRED_SESSION_STATE)
		c->on_expired(c->ctx);
}

/* The C client's own lines go to the mount's log, at most 20 per 10 s: with no server
 * reachable it logs several lines a second, which would fill a disk over a long outage. */
static void client_log(const char *message)
{
	static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
	static int64_t window;
	static int count, dropped;
	int64_t now = now_ms() / 10000;
	int len = (int)strcspn(message, "\n");

	pthread_mutex_lock(&mu);
	if (now != window) {
		if (dropped)
			zk_log_warn("(%d more lines of the ZooKeeper client not logged)", dropped);
		window = now;
		count = dropped = 0;
	}
	if (count++ < 20)
		zk_log_warn("zookeeper client: %.*s", len, message);
	else
		dropped++;
	pthread_mutex_unlock(&mu);
}

static void on_auth(int rc, const void *data)
{
	if (rc != ZOK)
		zk_log_error("authentication refused by the server: %s", zerror(rc));
}

/* Send the -o auth= credentials; the client repeats them after each reconnect. */
static void add_auth(struct zkconn *c, zhandle_t *zh)
{
	char *colon = c->auth ? strchr(c->auth, ':') : NULL;
	char scheme[64];

	if (!colon || colon == c->auth || (size_t)(colon - c->auth) >= sizeof(scheme))
		return;
	memcpy(scheme, c->auth, (size_t)(colon - c->auth));
	scheme[colon - c->auth] = '\0';
	if (zoo_add_auth(zh, scheme, colon + 1, (int)strlen(colon + 1), on_auth, NULL) != ZOK)
		zk_log_error("cannot send the %s credentials", scheme);
}

static zhandle_t *open_handle(struct zkconn *c)
{
	zhandle_t *zh = zookeeper_init2(c->hosts, on_event, c->session_timeout_ms, NULL, c, 0,
					client_log);

	if (!zh)
		zk_log_error("zookeeper_init(%s) failed: %s", c->hosts, strerror(errno));
	else
		add_auth(c, zh);
	return zh;
}

int zkconn_create(const struct zkconn_config *cfg, struct zkconn **out)
{
	pthread_condattr_t attr;
	struct zkconn *c = calloc(1, sizeof(*c));

	if (!c)
		return -ENOMEM;
	c->hosts = strdup(cfg->hosts);
	c->auth = cfg->auth ? strdup(cfg->auth) : NULL;
	if (!c->hosts || (cfg->auth && !c->auth))
		goto err_after_alloc;
	c->session_timeout_ms = cfg->session_timeout_ms;
	c->op_timeout_ms = cfg->op_timeout_ms;
	c->on_watch = cfg->on_watch;
	c->on_expired = cfg->on_expired;
	c->ctx = cfg->ctx;
	c->state = ZOO_CONNECTING_STATE;
	c->generation = 1;
	pthread_mutex_init(&c->mu, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&c->cv, &attr);
	pthread_condattr_destroy(&attr);
	pthread_rwlock_init(&c->zh_lock, NULL);
	if (cfg->log_stream)
		zoo_set_log_stream(cfg->log_stream);
	zoo_set_debug_level(ZOO_LOG_LEVEL_WARN);
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
	free(c->auth);
	free(c->hosts);
	free(c);
	return -ENOMEM;
}

/* Swap out and close the current handle. Must hold zh_lock for writing. */
static void close_handle(struct zkconn *c)
{
	zhandle_t *old;

	pthread_mutex_lock(&c->mu);
	old = c->zh;
	c->zh = NULL;
	pthread_mutex_unlock(&c->mu);
	if (old)
		zookeeper_close(old); /* Sends closeSession when connected; joins the threads. */
}

void zkconn_destroy(struct zkconn *c)
{
	if (!c)
		return;
	pthread_rwlock_wrlock(&c->zh_lock);
	close_handle(c);
	pthread_rwlock_unlock(&c->zh_lock);
	zk_log_info("session 0x%llx closed", (unsigned long long)c->session_id);
	pthread_rwlock_destroy(&c->zh_lock);
	pthread_cond_destroy(&c->cv);
	pthread_mutex_destroy(&c->mu);
	free(c->auth);
	free(c->hosts);
	free(c);
}

int zkconn_renew(struct zkconn *c)
{
	zhandle_t *zh;

	pthread_rwlock_wrlock(&c->zh_lock);
	close_handle(c);
	pthread_mutex_lock(&c->mu);
	c->state = ZOO_CONNECTING_STATE;
	c->session_id = 0;
	c->generation++;
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
	up = c->state == ZOO_CONNECTED_STATE;
	pthread_mutex_unlock(&c->mu);
	return up;
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
	while (c->state != ZOO_CONNECTED_STATE || !c->zh) {
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

/* Wait for @w's completion. Must hold c->mu. On -EINTR/-ETIMEDOUT @w is abandoned.
 * A cancelled @write (already sent) is still waited for up to WRITE_GRACE_MS: a shell's close()
 * is interrupted by any signal it gets (SIGCHLD of a background job), and giving up at once
 * would report as failed, and leave out of the cache, a write the server made. */
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
			rc = grace ? -EINTR : -ETIMEDOUT;
		if (rc) {
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

static void on_data(int rc, const char *value, int len, const struct Stat *st, const void *data)
{
	struct zkwait *w = (struct zkwait *)data;
	bool kept = complete_begin(w, rc);

	if (kept && rc == ZOK) {
		w->st = *st;
		if (value && len > 0) {
			w->data = malloc((size_t)len);
			if (w->data) {
				memcpy(w->data, value, (size_t)len);
				w->len = len;
			} else {
				w->rc = ZSYSTEMERROR;
			}
		}
	}
	complete_end(w, kept);
}

static void on_kids(int rc, const struct String_vector *kids, const struct Stat *st,
		    const void *data)
{
	struct zkwait *w = (struct zkwait *)data;
	bool kept = complete_begin(w, rc);
	int32_t i;

	if (kept && rc == ZOK) {
		w->st = *st;
		if (allocate_String_vector(&w->kids, kids->count) != 0 && kids->count > 0) {
			w->rc = ZSYSTEMERROR;
		} else {
			for (i = 0; i < kids->count; i++)
				w->kids.data[i] = strdup(kids->data[i]);
		}
	}
	complete_end(w, kept);
}

static void on_stat(int rc, const struct Stat *st, const void *data)
{
	struct zkwait *w = (struct zkwait *)data;
	bool kept = complete_begin(w, rc);

	if (kept && rc == ZOK && st)
		w->st = *st;
	complete_end(w, kept);
}

static void on_created(int rc, const char *path, const struct Stat *st, const void *data)
{
	struct zkwait *w = (struct zkwait *)data;
	bool kept = complete_begin(w, rc);

	if (kept && rc == ZOK) {
		if (st)
			w->st = *st;
		w->path = strdup(path);
	}
	complete_end(w, kept);
}

static void on_void(int rc, const void *data)
{
	struct zkwait *w = (struct zkwait *)data;

	complete_end(w, complete_begin(w, rc));
}

/* What one operation submits; the fields a given kind uses. */
enum op_kind { OP_GET, OP_CHILDREN, OP_EXISTS, OP_CREATE, OP_SET, OP_DELETE, OP_WEXISTS };

struct op {
	enum op_kind kind;
	const char *path;
	bool watch;
	const char *data;
	int len;
	int mode_or_version;
	struct zkconn_node_watch *node_watch; /* OP_WEXISTS: where the watch event goes. */
};

/* The library's watcher of an OP_WEXISTS: hand the event to the caller's callback. */
static void on_node_watch(zhandle_t *zh, int type, int state, const char *path, void *ctx)
{
	struct zkconn_node_watch *nw = ctx;

	(void)zh;
	(void)state;
	nw->fn(nw, type, path ? path : "");
}

static const char *op_name(enum op_kind k)
{
	static const char *names[] = {"getData", "getChildren", "exists", "create", "setData",
				      "delete", "exists"};
	return names[k];
}

static int submit(zhandle_t *zh, const struct op *op, struct zkwait *w)
{
	switch (op->kind) {
	case OP_GET:
		return zoo_aget(zh, op->path, op->watch, on_data, w);
	case OP_CHILDREN:
		return zoo_aget_children2(zh, op->path, op->watch, on_kids, w);
	case OP_EXISTS:
		return zoo_aexists(zh, op->path, 0, on_stat, w);
	case OP_CREATE:
		return zoo_acreate2(zh, op->path, op->data, op->len, &ZOO_OPEN_ACL_UNSAFE,
				    op->mode_or_version, on_created, w);
	case OP_SET:
		return zoo_aset(zh, op->path, op->data, op->len, op->mode_or_version, on_stat, w);
	case OP_DELETE:
		return zoo_adelete(zh, op->path, op->mode_or_version, on_void, w);
	case OP_WEXISTS:
		return zoo_awexists(zh, op->path, on_node_watch, op->node_watch, on_stat, w);
	}
	return ZBADARGUMENTS;
}

static bool op_is_read(enum op_kind k)
{
	return k == OP_GET || k == OP_CHILDREN || k == OP_EXISTS || k == OP_WEXISTS;
}

static bool is_connection_error(int rc)
{
	return rc == ZCONNECTIONLOSS || rc == ZOPERATIONTIMEOUT || rc == ZSESSIONEXPIRED ||
	       rc == ZCLOSING || rc == ZINVALIDSTATE || rc == ZSESSIONMOVED;
}

/* Submit once on the current handle. Returns a ZooKeeper code. */
static int submit_locked(struct zkconn *c, const struct op *op, struct zkwait *w)
{
	int zrc;

	pthread_rwlock_rdlock(&c->zh_lock);
	zrc = c->zh ? submit(c->zh, op, w) : ZINVALIDSTATE;
	pthread_rwlock_unlock(&c->zh_lock);
	return zrc;
}

/* Run @op to completion: 0 and *out (caller frees with zkwait_free) or -errno. */
static int run(struct zkconn *c, struct zkconn_cancel *cancel, const struct op *op,
	       struct zkwait **out)
{
	int64_t deadline = now_ms() + c->op_timeout_ms;
	struct zkwait *w;
	int rc, zrc;

	for (;;) {
		w = calloc(1, sizeof(*w));
		if (!w)
			return -ENOMEM;
		w->c = c;
		pthread_mutex_lock(&c->mu);
		rc = wait_connected(c, cancel, deadline);
		pthread_mutex_unlock(&c->mu);
		if (rc)
			goto err_free;
		zrc = submit_locked(c, op, w);
		if (zrc != ZOK) {
			free(w);
			if (!is_connection_error(zrc))
				return -zk_err_to_errno(zrc);
			if (now_ms() >= deadline)
				return -ETIMEDOUT;
			pthread_mutex_lock(&c->mu);
			if (c->state == ZOO_CONNECTED_STATE && zrc == ZINVALIDSTATE)
				c->state = ZOO_EXPIRED_SESSION_STATE;
			pthread_mutex_unlock(&c->mu);
			continue;
		}
		pthread_mutex_lock(&c->mu);
		rc = wait_done(c, w, cancel, deadline, !op_is_read(op->kind));
		pthread_mutex_unlock(&c->mu);
		if (rc)
			return rc; /* w is abandoned: its completion frees it. */
		if (is_connection_error(w->rc) && op_is_read(op->kind) && now_ms() < deadline) {
			zkwait_free(w);
			continue;
		}
		if (is_connection_error(w->rc))
			zk_log_warn("%s %s: %s (connection lost: outcome unknown)", op_name(op->kind),
				    op->path, zerror(w->rc));
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
	if (w->rc != ZOK) {
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
	char path[];
};

static void on_armed_data(int rc, const char *value, int len, const struct Stat *st,
			  const void *data)
{
	struct arm *a = (struct arm *)data;

	if (rc == ZOK)
		a->c->on_watch(a->c->ctx, ZKCONN_ARMED_DATA, a->path, st, value, len);
	free(a);
}

static void on_armed_children(int rc, const struct String_vector *kids, const struct Stat *st,
			      const void *data)
{
	struct arm *a = (struct arm *)data;

	(void)kids;
	if (rc == ZOK)
		a->c->on_watch(a->c->ctx, ZKCONN_ARMED_CHILDREN, a->path, st, NULL, 0);
	free(a);
}

static struct arm *arm_new(struct zkconn *c, const char *path)
{
	size_t len = strlen(path) + 1;
	struct arm *a = malloc(sizeof(*a) + len);

	if (a) {
		a->c = c;
		memcpy(a->path, path, len);
	}
	return a;
}

void zkconn_arm(struct zkconn *c, const char *path, bool children)
{
	struct arm *a = arm_new(c, path), *b = children ? arm_new(c, path) : NULL;

	pthread_rwlock_rdlock(&c->zh_lock);
	if (a && (!c->zh || zoo_aget(c->zh, path, 1, on_armed_data, a) != ZOK))
		free(a);
	if (b && (!c->zh || zoo_aget_children2(c->zh, path, 1, on_armed_children, b) != ZOK))
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
