/* tls: the secure client port's context and x509 id (see tls.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509.h>

#include "common/zk_log.h"
#include "zkfsd/tls.h"

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
	int rv = zk_tls_ctx_create(true, cfg->ssl_keystore, cfg->ssl_truststore, "ssl.", out);

	if (rv == 0)
		SSL_CTX_set_verify(*out, tls_verify_mode(cfg->ssl_client_auth), NULL);
	return rv;
}

char *tls_peer_dn(struct zk_tls *t)
{
	X509 *cert = SSL_get_peer_certificate(zk_tls_ssl(t));
	BIO *b;
	char *dn = NULL;
	long len;
	char *p;

	if (cert == NULL || SSL_get_verify_result(zk_tls_ssl(t)) != X509_V_OK) {
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
