/* tls: TLS on client connections (ZooKeeper's secureClientPort), with OpenSSL driven on the
 * loop thread through memory BIOs: the connection reads ciphertext from its socket and hands
 * it to tls_decrypt, which returns the plaintext the framing code reads; before each write the
 * plaintext replies are turned into ciphertext by tls_encrypt. No socket is given to OpenSSL,
 * so libuv keeps owning all I/O and flow control.
 *
 * Keys (ZooKeeper 3.8's): ssl.keyStore.location (a PEM file with the private key and the
 * certificate chain; ssl.keyStore.type PEM), ssl.trustStore.location (PEM CA bundle; type PEM),
 * ssl.clientAuth = need (default, as ZooKeeper) | want | none. TLS 1.2 and 1.3 only. A client
 * certificate's subject DN (RFC 2253, as Java's X500Principal.getName) becomes its "x509" id.
 * Everything here runs on the loop thread. */
#ifndef ZKFSD_TLS_H
#define ZKFSD_TLS_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/ssl.h>

#include "common/zk_buf.h"
#include "zkfsd/config.h"

struct tls_conn;

/* The server context from @cfg's ssl.* keys. Returns 0 and *@out (SSL_CTX_free), or -EINVAL
 * with the reason logged (unreadable file, key not matching the certificate...). */
int tls_ctx_create(const struct config *cfg, SSL_CTX **out);

/* A server-side TLS state for one accepted connection. NULL when out of memory. */
struct tls_conn *tls_conn_create(SSL_CTX *ctx);
void tls_conn_destroy(struct tls_conn *t);

/* Feed @n ciphertext bytes read from the socket; append the plaintext they complete to
 * @plain. Handshake records to send back are kept for the next tls_encrypt. Returns 0, or
 * -EPROTO (a TLS error: the caller closes; the reason is in @why, static). */
int tls_decrypt(struct tls_conn *t, const void *in, size_t n, struct zk_buf *plain,
		const char **why);

/* Replace the plaintext in @out with the ciphertext to write (including handshake records
 * pending from tls_decrypt). Returns 0, -ENOMEM or -EPROTO. */
int tls_encrypt(struct tls_conn *t, struct zk_buf *out);

/* The handshake finished and was not yet reported: true once, then false. */
bool tls_just_established(struct tls_conn *t);

/* The verified client certificate's subject DN (malloc'ed, RFC 2253), or NULL (none). */
char *tls_peer_dn(struct tls_conn *t);

#endif
