/* zk_tls: one TLS endpoint driven through OpenSSL memory BIOs, for code that keeps libuv in
 * charge of the socket: ciphertext read from the socket goes in through zk_tls_decrypt, which
 * returns the plaintext it completes; plaintext to send goes through zk_tls_encrypt, which
 * returns the ciphertext to write (with any handshake records pending). No socket is given to
 * OpenSSL, so libuv keeps owning all I/O and flow control. Used by the secure client port
 * (zkfsd/tls.c) and by quorum TLS (replication/quorum_tls.c), server and client side alike.
 * An endpoint is used by one thread at a time. */
#ifndef ZK_TLS_H
#define ZK_TLS_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/ssl.h>

#include "common/zk_buf.h"

struct zk_tls;

/* A context for the accepting (@server) or connecting side: TLS 1.2 and 1.3 only, the PEM
 * private key and certificate chain in file @keystore, the PEM CA bundle @truststore (NULL:
 * none). @keys is the prefix of the configuration keys named in the log ("ssl.",
 * "ssl.quorum."). The peer's certificate is not asked for: the caller sets the verify mode.
 * Returns 0 and *@out (SSL_CTX_free), or -ENOMEM / -EINVAL with the reason logged. */
int zk_tls_ctx_create(bool server, const char *keystore, const char *truststore,
		      const char *keys, SSL_CTX **out);

/* A TLS endpoint on @ctx: the accepting side when @server, else the connecting side (whose
 * first zk_tls_encrypt yields the ClientHello). NULL when out of memory. */
struct zk_tls *zk_tls_create(SSL_CTX *ctx, bool server);
void zk_tls_destroy(struct zk_tls *t);

/* Feed @n ciphertext bytes read from the socket; append the plaintext they complete to
 * @plain. Handshake records to send back are kept for the next zk_tls_encrypt. Returns 0, or
 * -EPROTO (a TLS error, or the peer closed: the caller closes; the reason is in @why,
 * static). */
int zk_tls_decrypt(struct zk_tls *t, const void *in, size_t n, struct zk_buf *plain,
		   const char **why);

/* Replace the plaintext in @out with the ciphertext to write (including handshake records
 * pending). Plaintext may be given only once the handshake is done. Returns 0, -ENOMEM or
 * -EPROTO. */
int zk_tls_encrypt(struct zk_tls *t, struct zk_buf *out);

/* The handshake finished and was not yet reported: true once, then false. */
bool zk_tls_just_established(struct zk_tls *t);

/* The endpoint's OpenSSL state, to read the peer's certificate. Owned by @t. */
SSL *zk_tls_ssl(struct zk_tls *t);

/* Log (error level) @what @path and the first queued OpenSSL error; clear the queue. */
void zk_tls_log_errors(const char *what, const char *path);

#endif
