/* quorum_tls: the TLS bridge of the quorum ports (see quorum_tls.h).
 *
 * A link owns three handles: the TCP socket (ciphertext), our end of the socketpair (plain),
 * and a timer bounding the handshake and claim. Flow control: a side's reads stop while the
 * other side has more than QTLS_HIGH_WATER bytes queued for writing, and resume once its
 * writes drained below QTLS_LOW_WATER, so a fast sender cannot grow our memory (libraft's
 * snapshots travel here too). A link is freed once all three handles are closed. */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/x509v3.h>

#include "common/zk_alloc.h"
#include "common/zk_buf.h"
#include "common/zk_log.h"
#include "common/zk_tls.h"
#include "replication/quorum_tls.h"
#include "replication/replication_int.h"

#define QTLS_HIGH_WATER (4u << 20)
#define QTLS_LOW_WATER (1u << 20)
#define QTLS_READ_CHUNK 65536

struct repl_qtls {
	struct repl *r;
	SSL_CTX *server_ctx, *client_ctx;
	bool verify_host;		/* ssl.quorum.hostnameVerification. */
	struct repl_qtls_link *links;	/* Every link not closing. */
	int n_links;			/* Links not freed yet (closing ones too). */
	bool closing;
	void (*done)(void *arg);	/* repl_qtls_close's. */
	void *done_arg;
};

struct repl_qtls_link {
	struct repl_qtls *q;
	uv_tcp_t tcp;			/* Ciphertext, to the peer. */
	uv_pipe_t pipe;			/* Plaintext, our end of the socketpair. */
	uv_timer_t timer;		/* Handshake and claim deadline. */
	uv_connect_t connect;
	int open_handles;		/* Handles not closed yet: freed at 0. */
	bool pipe_open;			/* pipe was initialised. */
	struct zk_tls *tls;
	bool server;
	bool bridging;			/* Handed over: bytes flow both ways. */
	bool closing;
	uint64_t id;			/* Connecting: the member expected; accepting: claimed. */
	repl_qtls_claim_cb claim;
	repl_qtls_ready_cb ready;	/* NULL once called or cancelled. */
	void *data;
	struct zk_buf plain;		/* Accepting: plaintext before the claim was judged. */
	struct zk_buf first;		/* Connecting: plaintext to send once established. */
	char ip[64];			/* The peer's address. */
	struct repl_qtls_link *next, *prev; /* q->links. */
};

struct qtls_write {
	uv_write_t w;
	struct repl_qtls_link *l;
	uint8_t *data;
};

static void link_close(struct repl_qtls_link *l);

/* ---- Identity --------------------------------------------------------------------------- */

/* Does @cert name @host (an IP subjectAltName, else a DNS name or the common name)? */
static bool qtls_cert_names(void *cert, const char *host)
{
	return X509_check_ip_asc(cert, host, 0) == 1 ||
	       X509_check_host(cert, host, strlen(host), 0, NULL) == 1;
}

/* Is the verified certificate of @l the one of member @id? Logs the refusal when not. */
static bool link_is_member(struct repl_qtls_link *l, uint64_t id)
{
	struct repl *r = l->q->r;
	SSL *ssl = zk_tls_ssl(l->tls);
	X509 *cert = SSL_get1_peer_certificate(ssl);
	const char *why = NULL;
	bool ok;

	if (cert == NULL || SSL_get_verify_result(ssl) != X509_V_OK)
		why = "no certificate signed by ssl.quorum.trustStore";
	else if (l->server && (id == r->cfg.id || !repl_member_match(r, id, NULL, NULL)))
		why = "not a member, or this server's own id";
	else if (l->q->verify_host && !repl_member_match(r, id, qtls_cert_names, cert))
		why = "its certificate does not name that member's configured host";
	X509_free(cert);
	ok = why == NULL;
	if (!ok)
		repl_refused(r, l->ip, "replication: quorum TLS connection %s %s (server id %llu) "
			     "refused: %s", l->server ? "from" : "to", l->ip,
			     (unsigned long long)id, why);
	return ok;
}

/* ---- Writes and flow control -------------------------------------------------------------- */

static size_t queued(void *stream)
{
	return uv_stream_get_write_queue_size(stream);
}

static void read_start(struct repl_qtls_link *l, uv_stream_t *s);

static void write_done(uv_write_t *w, int status)
{
	struct qtls_write *qw = REPL_CONTAINER(w, struct qtls_write, w);
	struct repl_qtls_link *l = qw->l;
	uv_stream_t *self = w->handle; /* w is freed below. */
	uv_stream_t *other = self == (uv_stream_t *)&l->tcp ? (uv_stream_t *)&l->pipe
							    : (uv_stream_t *)&l->tcp;

	zk_free(qw->data);
	zk_free(qw);
	if (status != 0) {
		link_close(l);
		return;
	}
	/* Reads of the side that feeds this one resume once this one drained. */
	if (l->bridging && !l->closing && queued(self) < QTLS_LOW_WATER)
		read_start(l, other);
}

/* Write the bytes of @b on @s; @b is emptied (its memory moves to the request). */
static int link_write(struct repl_qtls_link *l, uv_stream_t *s, struct zk_buf *b)
{
	struct qtls_write *qw;
	uv_buf_t buf;
	size_t len;
	int rv;

	if (b->len == 0)
		return 0;
	qw = zk_malloc(sizeof(*qw));
	if (qw == NULL)
		return -ENOMEM;
	qw->l = l;
	qw->data = zk_buf_steal(b, &len);
	buf = uv_buf_init((char *)qw->data, (unsigned)len);
	rv = uv_write(&qw->w, s, &buf, 1, write_done);
	if (rv != 0) {
		zk_free(qw->data);
		zk_free(qw);
	}
	return rv;
}

/* Encrypt @plain (may be empty: pending handshake records only) and send it to the peer. */
static int send_cipher(struct repl_qtls_link *l, struct zk_buf *plain)
{
	int rv = zk_tls_encrypt(l->tls, plain);

	if (rv == 0)
		rv = link_write(l, (uv_stream_t *)&l->tcp, plain);
	return rv;
}

/* ---- Reads -------------------------------------------------------------------------------- */

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	(void)h;
	(void)suggested;
	buf->base = zk_malloc(QTLS_READ_CHUNK);
	buf->len = buf->base != NULL ? QTLS_READ_CHUNK : 0;
}

static void on_tcp_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf);
static void on_pipe_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf);

static void read_start(struct repl_qtls_link *l, uv_stream_t *s)
{
	int rv = s == (uv_stream_t *)&l->tcp ? uv_read_start(s, alloc_cb, on_tcp_read)
					      : uv_read_start(s, alloc_cb, on_pipe_read);

	if (rv != 0 && rv != UV_EALREADY)
		link_close(l);
}

/* Plaintext from libraft or forward.c: to the peer. */
static void on_pipe_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	struct repl_qtls_link *l = s->data;
	struct zk_buf b;

	if (n < 0 || l->closing) {
		zk_free(buf->base);
		link_close(l);
		return;
	}
	zk_buf_init(&b);
	b.data = (uint8_t *)buf->base;
	b.len = (size_t)n;
	b.cap = buf->len;
	if (n > 0 && send_cipher(l, &b) != 0)
		link_close(l);
	zk_buf_close(&b);
	if (!l->closing && queued(&l->tcp) > QTLS_HIGH_WATER)
		uv_read_stop(s);
}

/* Start the bridge: make the socketpair, pass on @rest (plaintext already received), and
 * hand the other end over. Returns 0 or a negative errno. */
static int link_bridge(struct repl_qtls_link *l, const uint8_t *claim, size_t claim_len)
{
	int fds[2], rv;
	repl_qtls_ready_cb ready = l->ready;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0)
		return -errno;
	uv_pipe_init(l->tcp.loop, &l->pipe, 0);
	l->pipe.data = l;
	l->pipe_open = true;
	l->open_handles++;
	rv = uv_pipe_open(&l->pipe, fds[0]);
	if (rv != 0) {
		close(fds[0]);
		close(fds[1]);
		return rv;
	}
	l->bridging = true;
	uv_timer_stop(&l->timer);
	read_start(l, (uv_stream_t *)&l->pipe);
	l->ready = NULL;
	ready(l->data, fds[1], l->id, claim, claim_len, l->ip);
	return 0;
}

/* Accepting side, handshake done: judge the claim in l->plain once it is complete. */
static int judge_claim(struct repl_qtls_link *l)
{
	size_t consumed = 0;
	struct zk_buf rest;
	int rv = l->claim(l->plain.data, l->plain.len, &l->id, &consumed);

	if (rv == -EAGAIN && l->plain.len <= REPL_ADDRESS_MAX + 64)
		return 0; /* Not all there yet. */
	if (rv != 0) {
		repl_refused(l->q->r, l->ip, "replication: quorum TLS connection from %s refused: "
			     "its first message claims no server id", l->ip);
		return rv;
	}
	if (!link_is_member(l, l->id))
		return -EPERM;
	rv = link_bridge(l, l->plain.data, consumed);
	if (rv != 0 || l->closing)
		return rv;
	zk_buf_init(&rest);
	rv = zk_buf_append(&rest, l->plain.data + consumed, l->plain.len - consumed);
	if (rv == 0)
		rv = link_write(l, (uv_stream_t *)&l->pipe, &rest);
	zk_buf_close(&rest);
	zk_buf_reset(&l->plain);
	return rv;
}

/* Connecting side, handshake done: check the server, send the first bytes, hand over. */
static int connected_tls(struct repl_qtls_link *l)
{
	int rv;

	if (!link_is_member(l, l->id))
		return -EPERM;
	rv = send_cipher(l, &l->first);
	if (rv == 0)
		rv = link_bridge(l, NULL, 0);
	return rv;
}

/* Handle the plaintext @plain just decrypted. */
static int on_plain(struct repl_qtls_link *l, struct zk_buf *plain)
{
	bool just = zk_tls_just_established(l->tls);

	if (l->bridging)
		return link_write(l, (uv_stream_t *)&l->pipe, plain);
	if (!l->server) {
		int rv = just ? connected_tls(l) : 0;

		if (rv == 0 && l->bridging && plain->len > 0)
			rv = link_write(l, (uv_stream_t *)&l->pipe, plain);
		return rv;
	}
	if (zk_buf_append(&l->plain, plain->data, plain->len) != 0)
		return -ENOMEM;
	if (SSL_is_init_finished(zk_tls_ssl(l->tls)) && l->plain.len > 0)
		return judge_claim(l);
	return 0;
}

/* Ciphertext from the peer. */
static void on_tcp_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	struct repl_qtls_link *l = s->data;
	struct zk_buf plain, out;
	const char *why = NULL;
	int rv;

	if (n < 0 || l->closing) {
		if (!l->bridging && !l->closing)
			repl_refused(l->q->r, l->ip, "replication: quorum TLS connection %s %s "
				     "closed during the handshake", l->server ? "from" : "to", l->ip);
		zk_free(buf->base);
		link_close(l);
		return;
	}
	zk_buf_init(&plain);
	zk_buf_init(&out);
	rv = zk_tls_decrypt(l->tls, buf->base, (size_t)n, &plain, &why);
	zk_free(buf->base);
	if (rv != 0 && !l->bridging)
		repl_refused(l->q->r, l->ip, "replication: quorum TLS connection %s %s refused: %s",
			     l->server ? "from" : "to", l->ip, why);
	if (rv == 0)
		rv = send_cipher(l, &out); /* Handshake records, alerts. */
	if (rv == 0 && (plain.len > 0 || !l->bridging))
		rv = on_plain(l, &plain);
	zk_buf_close(&plain);
	zk_buf_close(&out);
	if (rv != 0)
		link_close(l);
	else if (l->bridging && queued(&l->pipe) > QTLS_HIGH_WATER)
		uv_read_stop(s);
}

/* ---- Life of a link ----------------------------------------------------------------------- */

static void qtls_free(struct repl_qtls *q)
{
	void (*done)(void *arg) = q->done;
	void *arg = q->done_arg;

	SSL_CTX_free(q->server_ctx);
	SSL_CTX_free(q->client_ctx);
	zk_free(q);
	done(arg);
}

static void link_handle_closed(uv_handle_t *h)
{
	struct repl_qtls_link *l = h->data;
	struct repl_qtls *q = l->q;

	if (--l->open_handles > 0)
		return;
	zk_tls_destroy(l->tls);
	zk_buf_close(&l->plain);
	zk_buf_close(&l->first);
	zk_free(l);
	if (--q->n_links == 0 && q->closing)
		qtls_free(q);
}

static void link_close(struct repl_qtls_link *l)
{
	struct repl_qtls *q = l->q;
	repl_qtls_ready_cb ready = l->ready;

	if (l->closing)
		return;
	l->closing = true;
	l->ready = NULL;
	if (l->prev != NULL)
		l->prev->next = l->next;
	else
		q->links = l->next;
	if (l->next != NULL)
		l->next->prev = l->prev;
	uv_close((uv_handle_t *)&l->tcp, link_handle_closed);
	uv_close((uv_handle_t *)&l->timer, link_handle_closed);
	if (l->pipe_open)
		uv_close((uv_handle_t *)&l->pipe, link_handle_closed);
	if (ready != NULL && !l->server)
		ready(l->data, -ECONNREFUSED, l->id, NULL, 0, l->ip);
}

static void link_timeout(uv_timer_t *t)
{
	struct repl_qtls_link *l = t->data;

	repl_refused(l->q->r, l->ip, "replication: quorum TLS connection %s %s refused: no "
		     "handshake and server id within %d ms", l->server ? "from" : "to", l->ip,
		     REPL_QTLS_HELLO_MS);
	link_close(l);
}

static struct repl_qtls_link *link_new(struct repl_qtls *q, bool server)
{
	struct repl_qtls_link *l;

	if (q->closing)
		return NULL;
	l = zk_calloc(1, sizeof(*l));
	if (l == NULL)
		return NULL;
	l->tls = zk_tls_create(server ? q->server_ctx : q->client_ctx, server);
	if (l->tls == NULL) {
		zk_free(l);
		return NULL;
	}
	l->q = q;
	q->n_links++;
	l->server = server;
	zk_buf_init(&l->plain);
	zk_buf_init(&l->first);
	uv_tcp_init(q->r->loop, &l->tcp);
	uv_tcp_nodelay(&l->tcp, 1);
	uv_timer_init(q->r->loop, &l->timer);
	l->tcp.data = l->timer.data = l;
	l->open_handles = 2;
	l->next = q->links;
	if (q->links != NULL)
		q->links->prev = l;
	q->links = l;
	uv_timer_start(&l->timer, link_timeout, REPL_QTLS_HELLO_MS, 0);
	return l;
}

int repl_qtls_accept(struct repl_qtls *q, uv_stream_t *listener, repl_qtls_claim_cb claim,
		     repl_qtls_ready_cb ready, void *data)
{
	struct repl_qtls_link *l = link_new(q, true);
	int rv;

	if (l == NULL)
		return UV_ENOMEM;
	l->claim = claim;
	l->ready = ready;
	l->data = data;
	rv = uv_accept(listener, (uv_stream_t *)&l->tcp);
	if (rv == 0 && repl_peer_ip((uv_stream_t *)&l->tcp, l->ip, sizeof(l->ip)) != 0)
		snprintf(l->ip, sizeof(l->ip), "?");
	if (rv == 0) {
		repl_tcp_tune(q->r, (uv_stream_t *)&l->tcp);
		read_start(l, (uv_stream_t *)&l->tcp);
	}
	if (rv != 0)
		link_close(l);
	return rv;
}

static void on_connect(uv_connect_t *req, int status)
{
	struct repl_qtls_link *l = req->data;
	struct zk_buf hello;

	if (l->closing)
		return;
	zk_buf_init(&hello);
	if (status == 0)
		status = send_cipher(l, &hello); /* The ClientHello. */
	zk_buf_close(&hello);
	if (status == 0) {
		repl_tcp_tune(l->q->r, (uv_stream_t *)&l->tcp);
		read_start(l, (uv_stream_t *)&l->tcp);
	} else {
		link_close(l);
	}
}

struct repl_qtls_link *repl_qtls_connect(struct repl_qtls *q, const char *from_host,
					 const char *host, uint16_t port, uint64_t id,
					 const void *first, size_t first_len,
					 repl_qtls_ready_cb ready, void *data)
{
	struct repl_qtls_link *l = link_new(q, false);
	struct sockaddr_in to, from;
	int rv;

	if (l == NULL)
		return NULL;
	l->id = id;
	l->ready = ready;
	l->data = data;
	l->connect.data = l;
	snprintf(l->ip, sizeof(l->ip), "%s", host);
	rv = zk_buf_append(&l->first, first, first_len);
	if (rv == 0)
		rv = uv_ip4_addr(host, port, &to);
	if (rv == 0)
		rv = uv_ip4_addr(from_host, 0, &from);
	if (rv == 0)
		rv = uv_tcp_bind(&l->tcp, (const struct sockaddr *)&from, 0);
	if (rv == 0)
		rv = uv_tcp_connect(&l->connect, &l->tcp, (const struct sockaddr *)&to, on_connect);
	if (rv != 0) {
		l->ready = NULL;
		link_close(l);
		return NULL;
	}
	return l;
}

void repl_qtls_cancel(struct repl_qtls_link *l)
{
	l->ready = NULL;
	link_close(l);
}

void repl_qtls_close(struct repl_qtls *q, void (*done)(void *arg), void *arg)
{
	q->closing = true;
	q->done = done;
	q->done_arg = arg;
	if (q->n_links == 0) {
		qtls_free(q);
		return;
	}
	while (q->links != NULL)
		link_close(q->links);
}

/* ---- Context ------------------------------------------------------------------------------ */

int repl_qtls_create(struct repl *r, struct repl_qtls **out)
{
	const struct repl_config *cfg = &r->cfg;
	struct repl_qtls *q;
	int rv;

	*out = NULL;
	if (cfg->tls_keystore == NULL)
		return 0;
	if (cfg->tls_truststore == NULL) {
		zk_log_error("sslQuorum: ssl.quorum.trustStore.location is needed (the CA that signs "
			     "the members' certificates)");
		return -EINVAL;
	}
	q = zk_calloc(1, sizeof(*q));
	if (q == NULL)
		return -ENOMEM;
	q->r = r;
	q->verify_host = !cfg->tls_no_hostname_verification;
	rv = zk_tls_ctx_create(true, cfg->tls_keystore, cfg->tls_truststore, "ssl.quorum.",
			       &q->server_ctx);
	if (rv == 0)
		rv = zk_tls_ctx_create(false, cfg->tls_keystore, cfg->tls_truststore,
				       "ssl.quorum.", &q->client_ctx);
	if (rv != 0) {
		SSL_CTX_free(q->server_ctx);
		zk_free(q);
		return rv;
	}
	SSL_CTX_set_verify(q->server_ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	SSL_CTX_set_verify(q->client_ctx, SSL_VERIFY_PEER, NULL);
	*out = q;
	return 0;
}
