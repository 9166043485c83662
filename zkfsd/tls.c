/* tls: OpenSSL on memory BIOs for client connections (see tls.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509.h>

#include "common/zk_log.h"
#include "zkfsd/tls.h"

struct tls_conn {
	SSL *ssl;	  /* Owns rbio and wbio. */
	BIO *rbio, *wbio; /* Ciphertext in (from the socket) / out (to the socket). */
	bool established; /* Handshake done. */
	bool reported;	  /* tls_just_established said so. */
};

static void tls_log_errors(const char *what, const char *path)
{
	char buf[256];
	unsigned long e = ERR_get_error();

	ERR_error_string_n(e, buf, sizeof(buf));
	zk_log_error("TLS: %s %s: %s", what, path != NULL ? path : "", e != 0 ? buf : "?");
	ERR_clear_error();
}

static int tls_verify_mode(const char *client_auth)
{
	if (client_auth != NULL && strcmp(client_auth, "none") == 0)
		return SSL_VERIFY_NONE;
	if (client_auth != NULL && strcmp(client_auth, "want") == 0)
		return SSL_VERIFY_PEER;
	return SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
}

int tls_ctx_create(const struct config *cfg, SSL_CTX **out)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	const char *key = cfg->ssl_keystore, *ca = cfg->ssl_truststore;

	if (ctx == NULL) {
		tls_log_errors("cannot create a context", NULL);
		return -ENOMEM;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	if (key == NULL || SSL_CTX_use_certificate_chain_file(ctx, key) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		tls_log_errors("ssl.keyStore.location: no usable PEM key and certificate in", key);
		goto err;
	}
	if (ca != NULL && SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1) {
		tls_log_errors("ssl.trustStore.location: no usable PEM CA bundle in", ca);
		goto err;
	}
	SSL_CTX_set_verify(ctx, tls_verify_mode(cfg->ssl_client_auth), NULL);
	*out = ctx;
	return 0;
err:
	SSL_CTX_free(ctx);
	return -EINVAL;
}

struct tls_conn *tls_conn_create(SSL_CTX *ctx)
{
	struct tls_conn *t = calloc(1, sizeof(*t));

	if (t == NULL)
		return NULL;
	t->ssl = SSL_new(ctx);
	t->rbio = BIO_new(BIO_s_mem());
	t->wbio = BIO_new(BIO_s_mem());
	if (t->ssl == NULL || t->rbio == NULL || t->wbio == NULL) {
		BIO_free(t->rbio);
		BIO_free(t->wbio);
		SSL_free(t->ssl);
		free(t);
		return NULL;
	}
	SSL_set_bio(t->ssl, t->rbio, t->wbio);
	SSL_set_accept_state(t->ssl);
	return t;
}

void tls_conn_destroy(struct tls_conn *t)
{
	if (t == NULL)
		return;
	SSL_free(t->ssl);
	free(t);
}

int tls_decrypt(struct tls_conn *t, const void *in, size_t n, struct zk_buf *plain,
		const char **why)
{
	uint8_t chunk[16384];
	int got, err;

	if (n > 0 && BIO_write(t->rbio, in, (int)n) != (int)n) {
		*why = "out of memory";
		return -EPROTO;
	}
	for (;;) {
		got = SSL_read(t->ssl, chunk, sizeof(chunk));
		if (got > 0) {
			if (zk_buf_append(plain, chunk, (size_t)got) != 0) {
				*why = "out of memory";
				return -EPROTO;
			}
			continue;
		}
		err = SSL_get_error(t->ssl, got);
		if (SSL_is_init_finished(t->ssl))
			t->established = true;
		if (err == SSL_ERROR_WANT_READ)
			return 0;
		*why = err == SSL_ERROR_ZERO_RETURN ? "closed by the client"
						    : ERR_reason_error_string(ERR_peek_error());
		if (*why == NULL)
			*why = "TLS error";
		ERR_clear_error();
		return -EPROTO;
	}
}

int tls_encrypt(struct tls_conn *t, struct zk_buf *out)
{
	struct zk_buf cipher;
	size_t pending;
	int rv = 0;

	if (out->len > 0 && SSL_write(t->ssl, out->data, (int)out->len) != (int)out->len) {
		ERR_clear_error();
		return -EPROTO; /* Memory BIOs never block: anything else is an error. */
	}
	pending = BIO_ctrl_pending(t->wbio);
	zk_buf_init(&cipher);
	if (pending > 0)
		rv = zk_buf_reserve(&cipher, pending);
	if (rv != 0) {
		zk_buf_close(&cipher);
		return rv;
	}
	if (pending > 0)
		cipher.len = (size_t)BIO_read(t->wbio, cipher.data, (int)pending);
	zk_buf_close(out);
	*out = cipher;
	return 0;
}

bool tls_just_established(struct tls_conn *t)
{
	if (!t->established || t->reported)
		return false;
	t->reported = true;
	return true;
}

char *tls_peer_dn(struct tls_conn *t)
{
	X509 *cert = SSL_get_peer_certificate(t->ssl);
	BIO *b;
	char *dn = NULL;
	long len;
	char *p;

	if (cert == NULL || SSL_get_verify_result(t->ssl) != X509_V_OK) {
		X509_free(cert);
		return NULL;
	}
	b = BIO_new(BIO_s_mem());
	if (b != NULL &&
	    X509_NAME_print_ex(b, X509_get_subject_name(cert), 0, XN_FLAG_RFC2253) >= 0) {
		len = BIO_get_mem_data(b, &p);
		dn = len >= 0 ? strndup(p, (size_t)len) : NULL;
	}
	BIO_free(b);
	X509_free(cert);
	return dn;
}
