/* Unit tests of client/ against a scripted fake server: the test thread plays the server on
 * loopback sockets (frames in, frames out, byte by byte when it wants), the client runs on its
 * own loop thread. Handshake, pipelining with partial frames, chroot, a reply out of xid order,
 * a malformed frame, a server that closes (reconnect to the other host with the same session,
 * setWatches2 with the last zxid), session expiry reported once, addauth re-sent. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "client/zkclient.h"
#include "common/zk_log.h"

#define FAKE_MS 5000 /* Deadline of every wait of the fake server. */

/* ---- The fake server ------------------------------------------------------------------------ */

struct fake {
	int lfd;	   /* Listening socket. */
	int fd;		   /* Accepted connection, or -1. */
	int port;
	uint8_t buf[65536]; /* Last frame body read. */
	size_t len;
};

static void fake_listen(struct fake *f)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t alen = sizeof(a);

	f->lfd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(f->lfd >= 0);
	assert_int_equal(bind(f->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(f->lfd, 8), 0);
	assert_int_equal(getsockname(f->lfd, (struct sockaddr *)&a, &alen), 0);
	f->port = ntohs(a.sin_port);
	f->fd = -1;
}

static void fake_close(struct fake *f)
{
	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
}

/* Accept on whichever of @f[0..n) the client reaches first; returns its index. */
static int fake_accept_any(struct fake *f, int n)
{
	struct pollfd p[4];

	for (int i = 0; i < n; i++)
		p[i] = (struct pollfd){.fd = f[i].lfd, .events = POLLIN};
	assert_true(poll(p, (nfds_t)n, FAKE_MS) > 0);
	for (int i = 0; i < n; i++) {
		if (p[i].revents & POLLIN) {
			f[i].fd = accept(f[i].lfd, NULL, NULL);
			assert_true(f[i].fd >= 0);
			return i;
		}
	}
	fail();
	return -1;
}

static void fake_read_n(struct fake *f, uint8_t *p, size_t n)
{
	struct pollfd pfd = {.fd = f->fd, .events = POLLIN};

	while (n > 0) {
		ssize_t r;

		assert_int_equal(poll(&pfd, 1, FAKE_MS), 1);
		r = read(f->fd, p, n);
		assert_true(r > 0);
		p += r;
		n -= (size_t)r;
	}
}

/* Read one frame into f->buf; returns its RequestHeader type (or the first int). */
static int32_t fake_read_frame(struct fake *f, int32_t *xid)
{
	uint8_t h[4];
	struct jute_in in;
	int32_t a = 0, b = 0;

	fake_read_n(f, h, 4);
	f->len = (size_t)h[0] << 24 | (size_t)h[1] << 16 | (size_t)h[2] << 8 | h[3];
	assert_true(f->len <= sizeof(f->buf));
	fake_read_n(f, f->buf, f->len);
	jute_in_init(&in, f->buf, f->len);
	jute_read_int(&in, &a);
	jute_read_int(&in, &b);
	if (xid != NULL)
		*xid = a;
	return b;
}

static void fake_write(struct fake *f, const void *p, size_t n)
{
	assert_int_equal(write(f->fd, p, n), (ssize_t)n);
}

/* A whole frame of @body into @out (appended). */
static void fake_frame(struct zk_buf *out, const struct zk_buf *body)
{
	assert_int_equal(zk_buf_append_be32(out, (uint32_t)body->len), 0);
	assert_int_equal(zk_buf_append(out, body->data, body->len), 0);
}

/* Read the ConnectRequest and answer it with @sid and @timeout (0 = expired). */
static void fake_handshake(struct fake *f, int64_t sid, int timeout, struct jute_connect_request *cr)
{
	static const uint8_t pw[ZK_SESSION_PASSWD_LEN] = "0123456789abcdef";
	struct jute_connect_response rsp = {.timeout = timeout, .session_id = timeout ? sid : 0,
					    .passwd = {pw, ZK_SESSION_PASSWD_LEN}};
	struct zk_buf body, out;
	uint8_t h[4];

	fake_read_n(f, h, 4);
	f->len = (size_t)h[0] << 24 | (size_t)h[1] << 16 | (size_t)h[2] << 8 | h[3];
	fake_read_n(f, f->buf, f->len);
	assert_int_equal(jute_decode_connect(f->buf, f->len, cr), 0);
	zk_buf_init(&body);
	zk_buf_init(&out);
	assert_int_equal(jute_encode_connect_response(&body, &rsp), 0);
	fake_frame(&out, &body);
	fake_write(f, out.data, out.len);
	zk_buf_close(&body);
	zk_buf_close(&out);
}

/* A reply frame {xid, zxid, err} + @payload (may be NULL) appended to @out. */
static void fake_reply(struct zk_buf *out, int32_t xid, int64_t zxid, int32_t err,
		       const struct zk_buf *payload)
{
	struct zk_buf body;
	struct jute_reply_header h = {xid, zxid, err};

	zk_buf_init(&body);
	assert_int_equal(jute_encode_reply_header(&body, &h), 0);
	if (payload != NULL)
		assert_int_equal(zk_buf_append(&body, payload->data, payload->len), 0);
	fake_frame(out, &body);
	zk_buf_close(&body);
}

/* A GetDataResponse payload of @data. */
static void fake_data(struct zk_buf *out, const char *data)
{
	struct jute_get_data_response r = {.data = {(const uint8_t *)data, (int32_t)strlen(data)}};

	r.stat.version = 7;
	assert_int_equal(jute_encode_get_data_response(out, &r), 0);
}

/* ---- The client side -------------------------------------------------------------------------- */

struct events {
	pthread_mutex_t mu;
	int n;
	int type[32], state[32];
	char path[32][64];
};

static void on_event(void *ctx, int type, int state, const char *path)
{
	struct events *e = ctx;

	pthread_mutex_lock(&e->mu);
	if (e->n < 32) {
		e->type[e->n] = type;
		e->state[e->n] = state;
		snprintf(e->path[e->n], 64, "%s", path != NULL ? path : "");
		e->n++;
	}
	pthread_mutex_unlock(&e->mu);
}

/* Poll until @e holds an event of @type/@state (path @path unless NULL); returns its index. */
static int wait_event(struct events *e, int type, int state, const char *path)
{
	for (int tries = 0; tries < FAKE_MS / 5; tries++) {
		pthread_mutex_lock(&e->mu);
		for (int i = 0; i < e->n; i++) {
			if (e->type[i] == type && e->state[i] == state &&
			    (path == NULL || strcmp(e->path[i], path) == 0)) {
				pthread_mutex_unlock(&e->mu);
				return i;
			}
		}
		pthread_mutex_unlock(&e->mu);
		usleep(5000);
	}
	fail_msg("event %d/%d not seen", type, state);
	return -1;
}

static int count_events(struct events *e, int type, int state)
{
	int n = 0;

	pthread_mutex_lock(&e->mu);
	for (int i = 0; i < e->n; i++)
		n += e->type[i] == type && e->state[i] == state;
	pthread_mutex_unlock(&e->mu);
	return n;
}

/* An asynchronous request's outcome, checked by the test thread. */
struct outcome {
	pthread_mutex_t mu;
	bool done;
	int err;
	char text[128]; /* data or path */
	int version;
};

static void on_done(void *ctx, const struct zkclient_result *r)
{
	struct outcome *o = ctx;

	pthread_mutex_lock(&o->mu);
	o->err = r->err;
	if (r->data.len > 0)
		snprintf(o->text, sizeof(o->text), "%.*s", r->data.len, (const char *)r->data.p);
	if (r->path.len > 0)
		snprintf(o->text, sizeof(o->text), "%.*s", r->path.len, r->path.p);
	o->version = r->stat.version;
	o->done = true;
	pthread_mutex_unlock(&o->mu);
}

static void wait_outcome(struct outcome *o)
{
	for (int tries = 0; tries < FAKE_MS / 5; tries++) {
		bool done;

		pthread_mutex_lock(&o->mu);
		done = o->done;
		pthread_mutex_unlock(&o->mu);
		if (done)
			return;
		usleep(5000);
	}
	fail_msg("request did not complete");
}

struct fixture {
	struct fake f[2];
	struct events ev;
	struct zkclient *c;
	struct outcome o[4];
};

static struct fixture *fixture_new_ms(int hosts, const char *chroot, int session_ms)
{
	struct fixture *x = calloc(1, sizeof(*x));
	struct zkclient_config cfg;
	char connect[128];

	pthread_mutex_init(&x->ev.mu, NULL);
	for (int i = 0; i < 4; i++)
		pthread_mutex_init(&x->o[i].mu, NULL);
	fake_listen(&x->f[0]);
	if (hosts == 2) {
		fake_listen(&x->f[1]);
		snprintf(connect, sizeof(connect), "127.0.0.1:%d,127.0.0.1:%d%s", x->f[0].port,
			 x->f[1].port, chroot);
	} else {
		snprintf(connect, sizeof(connect), "127.0.0.1:%d%s", x->f[0].port, chroot);
	}
	zkclient_config_init(&cfg);
	cfg.hosts = connect;
	cfg.session_ms = session_ms;
	cfg.watch_cb = on_event;
	cfg.watch_ctx = &x->ev;
	cfg.seed = 1;
	assert_int_equal(zkclient_open(&cfg, &x->c), 0);
	return x;
}

static struct fixture *fixture_new(int hosts, const char *chroot)
{
	return fixture_new_ms(hosts, chroot, 6000);
}

static void fixture_free(struct fixture *x)
{
	zkclient_close(x->c);
	for (int i = 0; i < 2; i++) {
		fake_close(&x->f[i]);
		if (x->f[i].lfd > 0)
			close(x->f[i].lfd);
	}
	free(x);
}

/* Accept and handshake a new session 0x42 on host 0. */
static void fixture_connect(struct fixture *x)
{
	struct jute_connect_request cr;

	assert_int_equal(fake_accept_any(x->f, 1), 0);
	fake_handshake(&x->f[0], 0x42, 6000, &cr);
	assert_int_equal(cr.session_id, 0);
	wait_event(&x->ev, ZK_EVENT_NONE, ZK_STATE_SYNC_CONNECTED, NULL);
}

/* ---- Tests ---------------------------------------------------------------------------------- */

/* Three pipelined getData go out before any reply; replies cut into 1-byte writes and glued
 * together complete each request with its own data, in order. */
static void test_pipelined_partial_frames(void **state)
{
	struct fixture *x = fixture_new(1, "");
	struct zk_buf out, p;
	int32_t xid[3];

	(void)state;
	fixture_connect(x);
	for (int i = 0; i < 3; i++)
		assert_int_equal(zkclient_get_data(x->c, "/a", false, on_done, &x->o[i]), 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(fake_read_frame(&x->f[0], &xid[i]), ZK_OP_GET_DATA);
	assert_true(xid[0] < xid[1] && xid[1] < xid[2]);
	zk_buf_init(&out);
	for (int i = 0; i < 3; i++) {
		char v[8];

		zk_buf_init(&p);
		snprintf(v, sizeof(v), "v%d", i);
		fake_data(&p, v);
		fake_reply(&out, xid[i], 10 + i, 0, &p);
		zk_buf_close(&p);
	}
	for (size_t i = 0; i < out.len; i++) {
		fake_write(&x->f[0], out.data + i, 1);
		if (i < 20)
			usleep(1000); /* Let the client see a few truly partial reads. */
	}
	for (int i = 0; i < 3; i++) {
		char v[8];

		wait_outcome(&x->o[i]);
		snprintf(v, sizeof(v), "v%d", i);
		assert_int_equal(x->o[i].err, 0);
		assert_string_equal(x->o[i].text, v);
		assert_int_equal(x->o[i].version, 7);
	}
	zk_buf_close(&out);
	fixture_free(x);
}

/* A reply whose xid is not the oldest request's is a protocol error: both requests fail with
 * ConnectionLoss, the watcher sees Disconnected, and the client comes back with its session. */
static void test_out_of_order_xid(void **state)
{
	struct fixture *x = fixture_new(1, "");
	struct jute_connect_request cr;
	struct zk_buf out;
	int32_t xid[2];

	(void)state;
	fixture_connect(x);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(zkclient_exists(x->c, "/a", false, on_done, &x->o[i]), 0);
		fake_read_frame(&x->f[0], &xid[i]);
	}
	zk_buf_init(&out);
	fake_reply(&out, xid[1], 5, ZK_ERR_NONODE, NULL);
	fake_write(&x->f[0], out.data, out.len);
	zk_buf_close(&out);
	for (int i = 0; i < 2; i++) {
		wait_outcome(&x->o[i]);
		assert_int_equal(x->o[i].err, ZK_ERR_CONNECTIONLOSS);
	}
	wait_event(&x->ev, ZK_EVENT_NONE, ZK_STATE_DISCONNECTED, NULL);
	fake_close(&x->f[0]);
	assert_int_equal(fake_accept_any(x->f, 1), 0);
	fake_handshake(&x->f[0], 0x42, 6000, &cr);
	assert_int_equal(cr.session_id, 0x42);
	assert_memory_equal(cr.passwd.p, "0123456789abcdef", ZK_SESSION_PASSWD_LEN);
	fixture_free(x);
}

/* A frame with a negative length or a body that does not decode costs a connection loss, not a
 * crash; the next connection works. */
static void test_malformed_frames(void **state)
{
	static const uint8_t bad_len[] = {0xff, 0xff, 0xff, 0xf0};
	static const uint8_t short_body[] = {0, 0, 0, 3, 1, 2, 3};
	struct fixture *x = fixture_new(1, "");
	struct jute_connect_request cr;
	struct zk_buf out, p;
	int32_t xid;

	(void)state;
	fixture_connect(x);
	fake_write(&x->f[0], bad_len, sizeof(bad_len));
	wait_event(&x->ev, ZK_EVENT_NONE, ZK_STATE_DISCONNECTED, NULL);
	fake_close(&x->f[0]);
	assert_int_equal(fake_accept_any(x->f, 1), 0);
	fake_handshake(&x->f[0], 0x42, 6000, &cr);
	fake_write(&x->f[0], short_body, sizeof(short_body));
	assert_true(wait_event(&x->ev, ZK_EVENT_NONE, ZK_STATE_DISCONNECTED, NULL) >= 0);
	fake_close(&x->f[0]);
	/* The third connection works. */
	assert_int_equal(fake_accept_any(x->f, 1), 0);
	fake_handshake(&x->f[0], 0x42, 6000, &cr);
	wait_event(&x->ev, ZK_EVENT_NONE, ZK_STATE_SYNC_CONNECTED, NULL);
	assert_int_equal(zkclient_get_data(x->c, "/a", false, on_done, &x->o[0]), 0);
	fake_read_frame(&x->f[0], &xid);
	zk_buf_init(&out);
	zk_buf_init(&p);
	fake_data(&p, "ok");
	fake_reply(&out, xid, 3, 0, &p);
	fake_write(&x->f[0], out.data, out.len);
	wait_outcome(&x->o[0]);
	assert_int_equal(x->o[0].err, 0);
	assert_string_equal(x->o[0].text, "ok");
	zk_buf_close(&p);
	zk_buf_close(&out);
	fixture_free(x);
}

/* The server holding the session closes: the client moves to the other host with the same id
 * and password, its last zxid, its credentials and one setWatches2 re-setting its watches. */
static void test_session_moves_to_other_host(void **state)
{
	struct fixture *x = fixture_new(2, "/app");
	struct jute_connect_request cr;
	struct jute_request req;
	struct zk_buf out;
	int32_t xid;
	int first, second, t;

	(void)state;
	first = fake_accept_any(x->f, 2);
	fake_handshake(&x->f[first], 0x77, 6000, &cr);
	wait_event(&x->ev, ZK_EVENT_NONE, ZK_STATE_SYNC_CONNECTED, NULL);
	assert_int_equal(zkclient_add_auth(x->c, "digest", "u:p", 3, on_done, &x->o[0]), 0);
	assert_int_equal(fake_read_frame(&x->f[first], &xid), ZK_OP_AUTH);
	assert_int_equal(xid, ZK_XID_AUTH);
	assert_int_equal(zkclient_exists(x->c, "/w", true, on_done, &x->o[1]), 0);
	assert_int_equal(fake_read_frame(&x->f[first], &xid), ZK_OP_EXISTS);
	zk_buf_init(&out);
	fake_reply(&out, ZK_XID_AUTH, 0, 0, NULL);
	fake_reply(&out, xid, 99, ZK_ERR_NONODE, NULL);
	fake_write(&x->f[first], out.data, out.len);
	wait_outcome(&x->o[0]);
	wait_outcome(&x->o[1]);
	assert_int_equal(x->o[1].err, ZK_ERR_NONODE);
	fake_close(&x->f[first]);
	wait_event(&x->ev, ZK_EVENT_NONE, ZK_STATE_DISCONNECTED, NULL);

	second = fake_accept_any(x->f, 2);
	assert_int_not_equal(second, first);
	fake_handshake(&x->f[second], 0x77, 6000, &cr);
	assert_int_equal(cr.session_id, 0x77);
	assert_int_equal(cr.last_zxid_seen, 99);
	assert_int_equal(fake_read_frame(&x->f[second], &xid), ZK_OP_AUTH);
	t = fake_read_frame(&x->f[second], &xid);
	assert_int_equal(t, ZK_OP_SET_WATCHES2);
	assert_int_equal(xid, ZK_XID_SET_WATCHES);
	assert_int_equal(jute_decode_request(x->f[second].buf, x->f[second].len, &req), 0);
	assert_int_equal(req.u.set_watches2.relative_zxid, 99);
	assert_int_equal(req.u.set_watches2.exist_watches.count, 1);
	assert_true(jute_str_eq(&req.u.set_watches2.exist_watches.items[0], "/app/w"));
	jute_request_free(&req);
	/* The watch fires (chroot removed from the path) and is then gone. */
	zk_buf_reset(&out);
	{
		struct zk_buf ev;
		struct jute_watcher_event we = {ZK_EVENT_NODE_CREATED, ZK_STATE_SYNC_CONNECTED,
						{"/app/w", 6}};

		zk_buf_init(&ev);
		assert_int_equal(jute_encode_watcher_event(&ev, &we), 0);
		fake_reply(&out, ZK_XID_WATCH_EVENT, -1, 0, &ev);
		zk_buf_close(&ev);
	}
	fake_write(&x->f[second], out.data, out.len);
	wait_event(&x->ev, ZK_EVENT_NODE_CREATED, ZK_STATE_SYNC_CONNECTED, "/w");
	zk_buf_close(&out);
	fixture_free(x);
}

/* A reconnect answered with timeout 0: Expired once, then every request fails with
 * SessionExpired and the client does not connect again. */
static void test_expiry_reported_once(void **state)
{
	struct fixture *x = fixture_new(1, "");
	struct jute_connect_request cr;
	struct pollfd p;

	(void)state;
	fixture_connect(x);
	fake_close(&x->f[0]);
	assert_int_equal(fake_accept_any(x->f, 1), 0);
	fake_handshake(&x->f[0], 0x42, 0, &cr);
	wait_event(&x->ev, ZK_EVENT_NONE, ZK_STATE_EXPIRED, NULL);
	assert_int_equal(zkclient_get_data(x->c, "/a", false, on_done, &x->o[0]), 0);
	wait_outcome(&x->o[0]);
	assert_int_equal(x->o[0].err, ZK_ERR_SESSIONEXPIRED);
	p = (struct pollfd){.fd = x->f[0].lfd, .events = POLLIN};
	assert_int_equal(poll(&p, 1, 300), 0); /* No new attempt. */
	assert_int_equal(count_events(&x->ev, ZK_EVENT_NONE, ZK_STATE_EXPIRED), 1);
	fixture_free(x);
}

/* create under a chroot sends the chrooted path and returns the user's form. */
static void test_chroot_create(void **state)
{
	struct fixture *x = fixture_new(1, "/app");
	struct jute_request req;
	struct zk_buf out, p;
	struct jute_create_response cr = {{"/app/n0000000001", 16}};
	int32_t xid;

	(void)state;
	fixture_connect(x);
	assert_int_equal(zkclient_create(x->c, "/n", "d", 1, NULL, ZK_MODE_PERSISTENT_SEQUENTIAL, 0,
					 false, on_done, &x->o[0]), 0);
	assert_int_equal(fake_read_frame(&x->f[0], &xid), ZK_OP_CREATE);
	assert_int_equal(jute_decode_request(x->f[0].buf, x->f[0].len, &req), 0);
	assert_true(jute_str_eq(&req.u.create.path, "/app/n"));
	assert_int_equal(req.u.create.flags, ZK_MODE_PERSISTENT_SEQUENTIAL);
	jute_request_free(&req);
	zk_buf_init(&out);
	zk_buf_init(&p);
	assert_int_equal(jute_encode_create_response(&p, &cr), 0);
	fake_reply(&out, xid, 4, 0, &p);
	fake_write(&x->f[0], out.data, out.len);
	wait_outcome(&x->o[0]);
	assert_int_equal(x->o[0].err, 0);
	assert_string_equal(x->o[0].text, "/n0000000001");
	zk_buf_close(&p);
	zk_buf_close(&out);
	fixture_free(x);
}

/* A server that accepts and never answers the ConnectRequest: the attempt ends after session
 * timeout / hosts (here 2000 / 2 ms) and the client tries the other host. */
static void test_connect_timeout(void **state)
{
	struct fixture *x = fixture_new_ms(2, "", 2000);
	struct timespec t0, t1;
	int first;
	double ms;

	(void)state;
	first = fake_accept_any(x->f, 2);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(fake_accept_any(x->f, 2), 1 - first);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	assert_true(ms >= 900);	 /* A timer never fires early. */
	assert_true(ms < 4000); /* Lenient: a loaded machine. */
	fixture_free(x);
}

/* The server side of test_callers_loop, in its own thread: handshake, one getData answered. */
static void *callers_loop_server(void *arg)
{
	struct fake *f = arg;
	struct jute_connect_request cr;
	struct zk_buf out, p;
	int32_t xid;

	assert_int_equal(fake_accept_any(f, 1), 0);
	fake_handshake(f, 0x55, 6000, &cr);
	assert_int_equal(fake_read_frame(f, &xid), ZK_OP_GET_DATA);
	zk_buf_init(&out);
	zk_buf_init(&p);
	fake_data(&p, "loop");
	fake_reply(&out, xid, 2, 0, &p);
	fake_write(f, out.data, out.len);
	zk_buf_close(&p);
	zk_buf_close(&out);
	return NULL;
}

struct loop_state {
	struct zkclient *c;
	struct outcome o;
	bool closed;
};

static void loop_on_event(void *ctx, int type, int state, const char *path)
{
	struct loop_state *ls = ctx;

	(void)path;
	if (type == ZK_EVENT_NONE && state == ZK_STATE_SYNC_CONNECTED)
		assert_int_equal(zkclient_get_data(ls->c, "/a", false, on_done, &ls->o), 0);
	if (type == ZK_EVENT_NONE && state == ZK_STATE_CLOSED)
		ls->closed = true;
}

/* On the caller's loop: callbacks run inside uv_run of the test's thread, the request made from
 * the connected event completes, and close frees the client on a later turn of the loop. */
static void test_callers_loop(void **state)
{
	struct loop_state ls = {.o = {.mu = PTHREAD_MUTEX_INITIALIZER}};
	struct zkclient_config cfg;
	struct fake f;
	pthread_t server;
	uv_loop_t loop;
	char connect[64];

	(void)state;
	fake_listen(&f);
	assert_int_equal(pthread_create(&server, NULL, callers_loop_server, &f), 0);
	assert_int_equal(uv_loop_init(&loop), 0);
	snprintf(connect, sizeof(connect), "127.0.0.1:%d", f.port);
	zkclient_config_init(&cfg);
	cfg.hosts = connect;
	cfg.session_ms = 6000;
	cfg.loop = &loop;
	cfg.watch_cb = loop_on_event;
	cfg.watch_ctx = &ls;
	assert_int_equal(zkclient_open(&cfg, &ls.c), 0);
	while (!ls.o.done)
		assert_int_not_equal(uv_run(&loop, UV_RUN_ONCE), 0);
	assert_int_equal(ls.o.err, 0);
	assert_string_equal(ls.o.text, "loop");
	pthread_join(server, NULL);
	zkclient_close(ls.c);
	uv_run(&loop, UV_RUN_DEFAULT); /* Returns once every handle of the client is closed. */
	assert_true(ls.closed);
	assert_int_equal(uv_loop_close(&loop), 0);
	fake_close(&f);
	close(f.lfd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pipelined_partial_frames),
		cmocka_unit_test(test_out_of_order_xid),
		cmocka_unit_test(test_malformed_frames),
		cmocka_unit_test(test_session_moves_to_other_host),
		cmocka_unit_test(test_expiry_reported_once),
		cmocka_unit_test(test_chroot_create),
		cmocka_unit_test(test_connect_timeout),
		cmocka_unit_test(test_callers_loop),
	};

	zk_log_open(NULL, ZK_LOG_LEVEL_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
