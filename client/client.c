/* client.c: a zkclient's life: the connect string (hosts shuffled as ZooKeeper's
 * StaticHostProvider does, chroot), open and close on a caller's loop or a loop thread, the
 * hand-over of requests from other threads, and the synchronous wrapper. */
#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client/client_int.h"
#include "common/zk_alloc.h"
#include "common/zk_log.h"

void zkclient_config_init(struct zkclient_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->session_ms = 30000;
}

/* Parse one "host[:port]" or "[v6]:port" of @len bytes into @h. Returns 0 or -1. */
static int client_host_parse(const char *p, size_t len, struct zkclient_host *h)
{
	const char *end = p + len, *colon;
	size_t nlen;

	if (len > 0 && p[0] == '[') {
		const char *close = memchr(p, ']', len);

		if (close == NULL)
			return -1;
		nlen = (size_t)(close - p - 1);
		p++;
		colon = close + 1 < end && close[1] == ':' ? close + 1 : NULL;
	} else {
		colon = memrchr(p, ':', len);
		nlen = colon != NULL ? (size_t)(colon - p) : len;
	}
	if (nlen == 0 || nlen >= sizeof(h->name))
		return -1;
	memcpy(h->name, p, nlen);
	h->name[nlen] = '\0';
	if (colon == NULL) {
		strcpy(h->port, "2181");
		return 0;
	}
	len = (size_t)(end - colon - 1);
	if (len == 0 || len >= sizeof(h->port) || strspn(colon + 1, "0123456789") < len)
		return -1;
	memcpy(h->port, colon + 1, len);
	h->port[len] = '\0';
	return 0;
}

int zkclient_hosts_parse(const char *hosts, struct zkclient_host *out, int max,
			 const char **chroot)
{
	const char *slash = strchr(hosts, '/'), *p = hosts;
	const char *end = slash != NULL ? slash : hosts + strlen(hosts);
	int n = 0;

	if (chroot != NULL)
		*chroot = slash;
	while (p < end) {
		const char *comma = memchr(p, ',', (size_t)(end - p));
		const char *stop = comma != NULL ? comma : end;

		if (n == max || client_host_parse(p, (size_t)(stop - p), &out[n]) != 0)
			return -1;
		n++;
		p = comma != NULL ? comma + 1 : end;
	}
	return n > 0 ? n : -1;
}

/* Fisher-Yates with a small LCG of @seed: reproducible in tests. */
static void client_shuffle(struct zkclient_host *h, int n, uint32_t seed)
{
	for (int i = n - 1; i > 0; i--) {
		struct zkclient_host t;
		int j;

		seed = seed * 1103515245u + 12345u;
		j = (int)((seed >> 16) % (uint32_t)(i + 1));
		t = h[i];
		h[i] = h[j];
		h[j] = t;
	}
}

/* Hosts and chroot of @cfg into @c. Returns 0, -EINVAL or -ENOMEM. */
static int client_parse_hosts(struct zkclient *c, const struct zkclient_config *cfg)
{
	const char *chroot;
	int n, max = 1;

	if (cfg->hosts == NULL)
		return -EINVAL;
	for (const char *p = cfg->hosts; *p != '\0'; p++)
		max += *p == ',';
	c->hosts = zk_calloc((size_t)max, sizeof(*c->hosts));
	if (c->hosts == NULL)
		return -ENOMEM;
	n = zkclient_hosts_parse(cfg->hosts, c->hosts, max, &chroot);
	if (n < 0) {
		zk_log_error("zkclient: malformed connect string '%s'", cfg->hosts);
		return -EINVAL;
	}
	c->n_hosts = n;
	if (chroot != NULL && strcmp(chroot, "/") != 0) {
		size_t len = strlen(chroot);

		if (jute_path_validate(chroot, len, false) != 0) {
			zk_log_error("zkclient: invalid chroot '%s'", chroot);
			return -EINVAL;
		}
		c->chroot = zk_strdup(chroot);
		if (c->chroot == NULL)
			return -ENOMEM;
		c->chroot_len = len;
	}
	client_shuffle(c->hosts, n, cfg->seed != 0 ? cfg->seed : (uint32_t)time(NULL) ^
			(uint32_t)(uintptr_t)c);
	c->host_i = n - 1; /* The first attempt takes host 0. */
	return 0;
}

static void client_free(struct zkclient *c)
{
	struct zkclient_auth *a;

	assert(c->inbox.head == NULL && c->sent.head == NULL && c->pending.head == NULL);
	while ((a = c->auths) != NULL) {
		c->auths = a->next;
		zk_free(a->frame);
		zk_free(a);
	}
	zkclient_watch_free_all(c);
	zk_buf_close(&c->in);
	zk_buf_close(&c->out);
	if (c->ssl_ctx != NULL)
		SSL_CTX_free(c->ssl_ctx);
	pthread_mutex_destroy(&c->mu);
	pthread_cond_destroy(&c->connected_cv);
	zk_free(c->chroot);
	zk_free(c->hosts);
	zk_free(c);
}

void zkclient_closed(struct zkclient *c)
{
	struct zkclient_close_wait *w = c->close_wait;

	if (w == NULL) {
		client_free(c);
		return;
	}
	/* The closer frees @c once woken: nothing here may touch it after the signal. */
	pthread_mutex_lock(&w->mu);
	w->done = true;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

static void client_on_async(uv_async_t *a)
{
	struct zkclient *c = a->data;
	struct zkclient_queue q;
	struct zkclient_req *req;

	pthread_mutex_lock(&c->mu);
	q = c->inbox;
	c->inbox.head = c->inbox.tail = NULL;
	pthread_mutex_unlock(&c->mu);
	while ((req = zkclient_queue_pop(&q)) != NULL)
		zkclient_session_submit(c, req);
}

/* On the loop thread: handles and the first attempt. */
static void client_start(void *arg)
{
	struct zkclient *c = arg;

	uv_async_init(c->loop, &c->async, client_on_async);
	c->async.data = c;
	zkclient_session_init_handles(c);
	zkclient_session_next(c);
}

/* The loop @c runs on: the caller's, a shared thread's, or one of its own. */
static int client_place(struct zkclient *c, const struct zkclient_config *cfg)
{
	int rc;

	if (cfg->loop != NULL) {
		c->loop = cfg->loop;
		return 0;
	}
	c->thread = cfg->thread;
	if (c->thread == NULL) {
		rc = zkclient_thread_create(&c->thread);
		if (rc != 0)
			return rc;
		c->own_thread = true;
	}
	c->loop = zkclient_thread_loop(c->thread);
	return 0;
}

int zkclient_open(const struct zkclient_config *cfg, struct zkclient **out)
{
	struct zkclient *c = zk_calloc(1, sizeof(*c));
	int rc;

	if (c == NULL)
		return -ENOMEM;
	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->connected_cv, NULL);
	c->auth_waits_tail = &c->auth_waits;
	c->session_ms = cfg->session_ms > 0 ? cfg->session_ms : 30000;
	c->session_id = cfg->session_id;
	if (cfg->session_id != 0)
		memcpy(c->passwd, cfg->passwd, ZK_SESSION_PASSWD_LEN);
	c->next_xid = 1;
	c->watch_cb = cfg->watch_cb;
	c->watch_ctx = cfg->watch_ctx;
	zk_buf_init(&c->in);
	zk_buf_init(&c->out);
	rc = client_parse_hosts(c, cfg);
	if (rc == 0 && cfg->tls)
		rc = zkclient_tls_setup(c, cfg);
	if (rc == 0)
		rc = client_place(c, cfg);
	if (rc != 0) {
		client_free(c);
		return rc;
	}
	if (c->thread != NULL)
		zkclient_thread_call(c->thread, client_start, c);
	else
		client_start(c);
	*out = c;
	return 0;
}

static void client_close_on_loop(void *arg)
{
	zkclient_session_close(arg);
}

void zkclient_close(struct zkclient *c)
{
	struct zkclient_close_wait w = {.done = false};
	struct zkclient_thread *t = c->thread;
	bool own = c->own_thread;

	if (t == NULL) {
		zkclient_session_close(c);
		return;
	}
	assert(!zkclient_thread_is_self(t));
	pthread_mutex_init(&w.mu, NULL);
	pthread_cond_init(&w.cv, NULL);
	c->close_wait = &w;
	zkclient_thread_call(t, client_close_on_loop, c);
	pthread_mutex_lock(&w.mu);
	while (!w.done)
		pthread_cond_wait(&w.cv, &w.mu);
	pthread_mutex_unlock(&w.mu);
	pthread_mutex_destroy(&w.mu);
	pthread_cond_destroy(&w.cv);
	client_free(c);
	if (own)
		zkclient_thread_destroy(t);
}

int zkclient_req_queue(struct zkclient *c, struct zkclient_req *req)
{
	if (c->thread == NULL || zkclient_thread_is_self(c->thread)) {
		zkclient_session_submit(c, req);
		return 0;
	}
	pthread_mutex_lock(&c->mu);
	zkclient_queue_push(&c->inbox, req);
	pthread_mutex_unlock(&c->mu);
	uv_async_send(&c->async);
	return 0;
}

int64_t zkclient_session_id(struct zkclient *c, uint8_t passwd[ZK_SESSION_PASSWD_LEN])
{
	if (passwd != NULL)
		memcpy(passwd, c->passwd, ZK_SESSION_PASSWD_LEN);
	return atomic_load(&c->session_id);
}

int zkclient_session_timeout(struct zkclient *c)
{
	return atomic_load(&c->timeout);
}

bool zkclient_connected(struct zkclient *c)
{
	return __atomic_load_n(&c->state, __ATOMIC_ACQUIRE) == ZKCLIENT_CONNECTED;
}

uv_loop_t *zkclient_loop(struct zkclient *c)
{
	return c->loop;
}

/* ---- Synchronous wrapper ------------------------------------------------------------------ */

void zkclient_wait_init(struct zkclient_wait *w, zkclient_cb copy, void *copy_ctx)
{
	/* Static initialisers: nothing to destroy, so a wait that never started needs no care. */
	w->mu = (pthread_mutex_t)PTHREAD_MUTEX_INITIALIZER;
	w->cv = (pthread_cond_t)PTHREAD_COND_INITIALIZER;
	w->done = false;
	w->err = 0;
	w->copy = copy;
	w->copy_ctx = copy_ctx;
}

void zkclient_wait_cb(void *ctx, const struct zkclient_result *r)
{
	struct zkclient_wait *w = ctx;

	if (w->copy != NULL)
		w->copy(w->copy_ctx, r);
	pthread_mutex_lock(&w->mu);
	w->err = r->err;
	w->done = true;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

int zkclient_wait(struct zkclient_wait *w)
{
	int err;

	pthread_mutex_lock(&w->mu);
	while (!w->done)
		pthread_cond_wait(&w->cv, &w->mu);
	err = w->err;
	pthread_mutex_unlock(&w->mu);
	return err;
}

int zkclient_wait_connected(struct zkclient *c, int deadline_ms)
{
	struct timespec until;
	int err = ZK_ERR_OK;

	assert(c->thread != NULL);
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += deadline_ms / 1000;
	until.tv_nsec += (long)(deadline_ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&c->mu);
	/* state is the loop thread's; a stale read only costs one more wake-up. */
	while (__atomic_load_n(&c->state, __ATOMIC_ACQUIRE) != ZKCLIENT_CONNECTED) {
		if (__atomic_load_n(&c->state, __ATOMIC_ACQUIRE) == ZKCLIENT_EXPIRED) {
			err = ZK_ERR_SESSIONEXPIRED;
			break;
		}
		if (pthread_cond_timedwait(&c->connected_cv, &c->mu, &until) != 0) {
			err = ZK_ERR_CONNECTIONLOSS;
			break;
		}
	}
	pthread_mutex_unlock(&c->mu);
	return err;
}
