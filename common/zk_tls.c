/* zk_tls: OpenSSL on memory BIOs (see zk_tls.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include <openssl/err.h>

#include "common/zk_log.h"
#include "common/zk_tls.h"

struct zk_tls {
	SSL *ssl;	  /* Owns rbio and wbio. */
	BIO *rbio, *wbio; /* Ciphertext in (from the socket) / out (to the socket). */
	bool established; /* Handshake done. */
	bool reported;	  /* zk_tls_just_established said so. */
};

void zk_tls_log_errors(const char *what, const char *path)
{
	char buf[256];
	unsigned long e = ERR_get_error();

	ERR_error_string_n(e, buf, sizeof(buf));
	zk_log_error("TLS: %s %s: %s", what, path != NULL ? path : "", e != 0 ? buf : "?");
	ERR_clear_error();
}

int zk_tls_ctx_create(bool server, const char *keystore, const char *truststore,
		      const char *keys, SSL_CTX **out)
{
	SSL_CTX *ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
	char what[96];

	if (ctx == NULL) {
		zk_tls_log_errors("cannot create a context", NULL);
		return -ENOMEM;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	if (keystore == NULL || SSL_CTX_use_certificate_chain_file(ctx, keystore) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, keystore, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		snprintf(what, sizeof(what), "%skeyStore.location: no usable PEM key and "
			 "certificate in", keys);
		zk_tls_log_errors(what, keystore);
		goto err;
	}
	if (truststore != NULL && SSL_CTX_load_verify_locations(ctx, truststore, NULL) != 1) {
		snprintf(what, sizeof(what), "%strustStore.location: no usable PEM CA bundle in",
			 keys);
		zk_tls_log_errors(what, truststore);
		goto err;
	}
	*out = ctx;
	return 0;
err:
	SSL_CTX_free(ctx);
	return -EINVAL;
}

struct zk_tls *zk_tls_create(SSL_CTX *ctx, bool server)
{
	struct zk_tls *t = calloc(1, sizeof(*t));

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
	if (server)
		SSL_set_accept_state(t->ssl);
	else
		SSL_set_connect_state(t->ssl);
	return t;
}

void zk_tls_destroy(struct zk_tls *t)
{
	if (t == NULL)
		return;
	SSL_free(t->ssl);
	free(t);
}

int zk_tls_decrypt(struct zk_tls *t, const void *in, size_t n, struct zk_buf *plain,
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
		*why = err == SSL_ERROR_ZERO_RETURN ? "closed by the peer"
						    : ERR_reason_error_string(ERR_peek_error());
		if (*why == NULL)
			*why = "TLS error";
		ERR_clear_error();
		return -EPROTO;
	}
}

/* The connecting side speaks first: start its handshake (the ClientHello lands in wbio). */
static int zk_tls_start(struct zk_tls *t)
{
	int rv;

	if (SSL_is_server(t->ssl) || SSL_is_init_finished(t->ssl))
		return 0;
	rv = SSL_do_handshake(t->ssl);
	if (rv == 1 || SSL_get_error(t->ssl, rv) == SSL_ERROR_WANT_READ)
		return 0;
	ERR_clear_error();
	return -EPROTO;
}

int zk_tls_encrypt(struct zk_tls *t, struct zk_buf *out)
{
	struct zk_buf cipher;
	size_t pending;
	int rv = zk_tls_start(t);

	if (rv != 0)
		return rv;
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

bool zk_tls_just_established(struct zk_tls *t)
{
	if (!t->established || t->reported)
		return false;
	t->reported = true;
	return true;
}

SSL *zk_tls_ssl(struct zk_tls *t)
{
	return t->ssl;
}
