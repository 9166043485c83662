/* tls.c: TLS on the session's loop with OpenSSL memory BIOs: ciphertext read from the socket is
 * written into rbio, SSL_read yields plaintext for the framing; SSL_write's records are drained
 * from wbio onto the socket. The server's certificate is checked against the CA file (or the
 * system's paths) and, unless disabled, against the host name of the connect string
 * (SSL_set1_host: DNS name or IP address). */
#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <string.h>

#include "client/client_int.h"
#include "common/zk_alloc.h"
#include "common/zk_log.h"

static void tls_log_errors(const char *what)
{
	unsigned long e;
	char buf[256];

	while ((e = ERR_get_error()) != 0) {
		ERR_error_string_n(e, buf, sizeof(buf));
		zk_log_warn("zkclient: %s: %s", what, buf);
	}
}

int zkclient_tls_setup(struct zkclient *c, const struct zkclient_config *cfg)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	int ok;

	if (ctx == NULL)
		return -ENOMEM;
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	ok = cfg->tls_ca != NULL ? SSL_CTX_load_verify_locations(ctx, cfg->tls_ca, NULL)
				 : SSL_CTX_set_default_verify_paths(ctx);
	if (ok == 1 && cfg->tls_cert != NULL)
		ok = SSL_CTX_use_certificate_chain_file(ctx, cfg->tls_cert);
	if (ok == 1 && cfg->tls_key != NULL)
		ok = SSL_CTX_use_PrivateKey_file(ctx, cfg->tls_key, SSL_FILETYPE_PEM);
	if (ok == 1 && cfg->tls_key != NULL)
		ok = SSL_CTX_check_private_key(ctx);
	if (ok != 1) {
		tls_log_errors("TLS configuration (CA, certificate or key file)");
		SSL_CTX_free(ctx);
		return -EINVAL;
	}
	c->ssl_ctx = ctx;
	c->tls_verify_host = !cfg->tls_no_verify_host;
	return 0;
}

static bool tls_is_address(const char *host)
{
	uint8_t a[16];

	return inet_pton(AF_INET, host, a) == 1 || inet_pton(AF_INET6, host, a) == 1;
}

int zkclient_tls_start(struct zkclient *c, struct zkclient_conn *conn, const char *host)
{
	conn->ssl = SSL_new(c->ssl_ctx);
	if (conn->ssl == NULL)
		return -ENOMEM;
	conn->rbio = BIO_new(BIO_s_mem());
	conn->wbio = BIO_new(BIO_s_mem());
	if (conn->rbio == NULL || conn->wbio == NULL) {
		BIO_free(conn->rbio);
		BIO_free(conn->wbio);
		return -ENOMEM;
	}
	SSL_set_bio(conn->ssl, conn->rbio, conn->wbio);
	SSL_set_connect_state(conn->ssl);
	if (!tls_is_address(host))
		SSL_set_tlsext_host_name(conn->ssl, host);
	if (c->tls_verify_host && SSL_set1_host(conn->ssl, host) != 1)
		return -ENOMEM;
	/* Produce the ClientHello now; it is written once TCP is up (tls_flush). */
	SSL_do_handshake(conn->ssl);
	return 0;
}

int zkclient_tls_flush(struct zkclient_conn *conn)
{
	char *p;
	long n = BIO_get_mem_data(conn->wbio, &p);
	int rc;

	if (n <= 0)
		return 0;
	rc = zkclient_conn_send_raw(conn, (const uint8_t *)p, (size_t)n);
	(void)BIO_reset(conn->wbio);
	return rc;
}

/* Is @rc of an SSL call only "waiting for more bytes"? */
static bool tls_wants_more(SSL *ssl, int rc)
{
	int e = SSL_get_error(ssl, rc);

	return e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE;
}

static int tls_handshake(struct zkclient_conn *conn)
{
	int rc = SSL_do_handshake(conn->ssl);

	if (rc == 1) {
		conn->tls_up = true;
		return 1;
	}
	if (tls_wants_more(conn->ssl, rc))
		return 0;
	{
		long v = SSL_get_verify_result(conn->ssl);

		if (v != X509_V_OK)
			zk_log_warn("zkclient: server certificate refused: %s",
				    X509_verify_cert_error_string(v));
	}
	tls_log_errors("TLS handshake");
	return -EPROTO;
}

int zkclient_tls_input(struct zkclient *c, struct zkclient_conn *conn, const uint8_t *p,
		       size_t len)
{
	int finished = 0, rc;

	if (BIO_write(conn->rbio, p, (int)len) != (int)len)
		return -ENOMEM;
	if (!conn->tls_up) {
		finished = tls_handshake(conn);
		if (finished < 0)
			return finished;
	}
	while (conn->tls_up) {
		if (zk_buf_reserve(&c->in, 16384) != 0)
			return -ENOMEM;
		rc = SSL_read(conn->ssl, c->in.data + c->in.len, (int)(c->in.cap - c->in.len));
		if (rc > 0) {
			c->in.len += (size_t)rc;
			continue;
		}
		if (tls_wants_more(conn->ssl, rc))
			break;
		tls_log_errors("TLS read");
		return -EPROTO;
	}
	if (zkclient_tls_flush(conn) != 0)
		return -EPROTO;
	return finished;
}

int zkclient_tls_write(struct zkclient *c, struct zkclient_conn *conn, const uint8_t *p,
		       size_t len)
{
	(void)c;
	while (len > 0) {
		int n = SSL_write(conn->ssl, p, len > INT32_MAX ? INT32_MAX : (int)len);

		if (n <= 0) {
			tls_log_errors("TLS write");
			return -EPROTO;
		}
		p += n;
		len -= (size_t)n;
	}
	return zkclient_tls_flush(conn);
}
