/* conn.c: the TCP connection of one attempt: resolve the host (getaddrinfo on the loop thread:
 * connect strings are addresses or /etc/hosts names in practice), connect, read into the
 * session's input buffer (through TLS when configured), write batches of frames. */
#include <assert.h>
#include <netdb.h>
#include <string.h>

#include "client/client_int.h"
#include "common/zk_alloc.h"
#include "common/zk_log.h"

/* One uv_write with the bytes it owns. */
struct conn_write {
	uv_write_t req;
	uint8_t *data;
};

static void conn_on_closed(uv_handle_t *h)
{
	struct zkclient_conn *conn = h->data;

	if (conn->ssl != NULL)
		SSL_free(conn->ssl);
	zk_free(conn);
}

void zkclient_conn_drop(struct zkclient *c)
{
	struct zkclient_conn *conn = c->conn;

	if (conn == NULL)
		return;
	c->conn = NULL;
	conn->c = NULL;
	uv_close((uv_handle_t *)&conn->tcp, conn_on_closed);
}

static void conn_on_write(uv_write_t *req, int status)
{
	struct conn_write *w = (struct conn_write *)req;
	struct zkclient_conn *conn = req->handle->data;

	zk_free(w->data);
	zk_free(w);
	if (status != 0 && status != UV_ECANCELED && conn->c != NULL)
		zkclient_session_lost(conn->c, uv_strerror(status));
}

/* Write @len bytes the caller gives up (@data is zk_malloc'ed; freed here in every case). */
static int conn_write_owned(struct zkclient_conn *conn, uint8_t *data, size_t len)
{
	struct conn_write *w = zk_malloc(sizeof(*w));
	uv_buf_t buf = uv_buf_init((char *)data, (unsigned)len);
	int rc;

	if (w == NULL) {
		zk_free(data);
		return -ENOMEM;
	}
	w->data = data;
	rc = uv_write(&w->req, (uv_stream_t *)&conn->tcp, &buf, 1, conn_on_write);
	if (rc != 0) {
		zk_free(data);
		zk_free(w);
	}
	return rc;
}

int zkclient_conn_send_raw(struct zkclient_conn *conn, const uint8_t *p, size_t len)
{
	uint8_t *copy;
	uv_buf_t buf = uv_buf_init((char *)p, (unsigned)len);
	int n;

	/* Most batches fit in the socket buffer: no copy, no write request. */
	n = uv_try_write((uv_stream_t *)&conn->tcp, &buf, 1);
	if (n == (int)len)
		return 0;
	if (n < 0 && n != UV_EAGAIN)
		return n;
	if (n < 0)
		n = 0;
	copy = zk_malloc(len - (size_t)n);
	if (copy == NULL)
		return -ENOMEM;
	memcpy(copy, p + n, len - (size_t)n);
	return conn_write_owned(conn, copy, len - (size_t)n);
}

int zkclient_conn_write(struct zkclient *c, const uint8_t *p, size_t len)
{
	struct zkclient_conn *conn = c->conn;

	assert(conn != NULL);
	if (conn->ssl != NULL)
		return zkclient_tls_write(c, conn, p, len);
	return zkclient_conn_send_raw(conn, p, len);
}

static void conn_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
	struct zkclient_conn *conn = h->data;
	struct zkclient *c = conn->c;

	(void)hint;
	if (conn->ssl != NULL || c == NULL) {
		*buf = uv_buf_init((char *)conn->scratch, sizeof(conn->scratch));
		return;
	}
	if (zk_buf_reserve(&c->in, 65536) != 0) {
		*buf = uv_buf_init(NULL, 0);
		return;
	}
	*buf = uv_buf_init((char *)c->in.data + c->in.len, (unsigned)(c->in.cap - c->in.len));
}

static void conn_on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct zkclient_conn *conn = s->data;
	struct zkclient *c = conn->c;
	int rc;

	if (c == NULL || nread == 0)
		return;
	if (nread < 0) {
		zkclient_session_lost(c, nread == UV_EOF ? "closed by the server"
							 : uv_strerror((int)nread));
		return;
	}
	if (conn->ssl != NULL) {
		rc = zkclient_tls_input(c, conn, (const uint8_t *)buf->base, (size_t)nread);
		if (rc < 0) {
			zkclient_session_lost(c, "TLS error");
			return;
		}
		if (rc == 1) {
			zkclient_session_handshake(c);
			if (c->conn != conn)
				return;
		}
	} else {
		c->in.len += (size_t)nread;
	}
	if (zkclient_session_input(c) != 0 && c->conn == conn)
		zkclient_session_lost(c, "malformed frame");
}

static void conn_on_connect(uv_connect_t *req, int status)
{
	struct zkclient_conn *conn = req->data;
	struct zkclient *c = conn->c;
	int rc;

	if (c == NULL)
		return;
	if (status != 0) {
		zkclient_session_lost(c, uv_strerror(status));
		return;
	}
	rc = uv_read_start((uv_stream_t *)&conn->tcp, conn_alloc, conn_on_read);
	if (rc != 0) {
		zkclient_session_lost(c, uv_strerror(rc));
		return;
	}
	if (conn->ssl == NULL) {
		zkclient_session_handshake(c);
		return;
	}
	if (zkclient_tls_flush(conn) != 0)
		zkclient_session_lost(c, "TLS write failed");
}

/* The first address of @h, into @ss. Returns 0 or a negative errno (logged). */
/* The address of @c's current host numbered c->addr_i in getaddrinfo's order: a name such as
 * localhost may give ::1 first while the server listens on 127.0.0.1 only (Debian's
 * /etc/hosts), so each address is tried in turn before the next host (session.c). */
static int conn_resolve(struct zkclient *c, const struct zkclient_host *h,
			struct sockaddr_storage *ss)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res, *ai;
	int rc = getaddrinfo(h->name, h->port, &hints, &res);

	if (rc != 0) {
		zk_log_warn("zkclient: cannot resolve %s:%s: %s", h->name, h->port,
			    gai_strerror(rc));
		c->n_addrs = 0;
		return -EHOSTUNREACH;
	}
	c->n_addrs = 0;
	for (ai = res; ai != NULL; ai = ai->ai_next)
		c->n_addrs++;
	if (c->addr_i >= c->n_addrs)
		c->addr_i = 0;
	ai = res;
	for (int i = 0; i < c->addr_i; i++)
		ai = ai->ai_next;
	memcpy(ss, ai->ai_addr, ai->ai_addrlen);
	freeaddrinfo(res);
	return 0;
}

int zkclient_conn_start(struct zkclient *c)
{
	struct zkclient_host *h = &c->hosts[c->host_i];
	struct sockaddr_storage ss;
	struct zkclient_conn *conn;
	int rc = conn_resolve(c, h, &ss);

	if (rc != 0)
		return rc;
	conn = zk_calloc(1, sizeof(*conn));
	if (conn == NULL)
		return -ENOMEM;
	uv_tcp_init(c->loop, &conn->tcp);
	conn->tcp.data = conn;
	conn->connect.data = conn;
	conn->c = c;
	c->conn = conn;
	uv_tcp_nodelay(&conn->tcp, 1);
	if (c->ssl_ctx != NULL && zkclient_tls_start(c, conn, h->name) != 0) {
		zkclient_conn_drop(c);
		return -ENOMEM;
	}
	rc = uv_tcp_connect(&conn->connect, &conn->tcp, (struct sockaddr *)&ss, conn_on_connect);
	if (rc != 0) {
		zk_log_info("zkclient: connect to %s:%s: %s", h->name, h->port, uv_strerror(rc));
		zkclient_conn_drop(c);
		return rc;
	}
	return 0;
}
