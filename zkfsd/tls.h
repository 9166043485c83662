/* tls: TLS on client connections (ZooKeeper's secureClientPort). Each connection is one
 * common/zk_tls.h endpoint (OpenSSL on memory BIOs, on the loop thread): the connection reads
 * ciphertext from its socket and hands it to zk_tls_decrypt, which returns the plaintext the
 * framing code reads; before each write the plaintext replies become ciphertext through
 * zk_tls_encrypt. This file makes the server context from the ssl.* keys and reads the x509 id.
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

#include "common/zk_tls.h"
#include "zkfsd/config.h"


/* The server context from @cfg's ssl.* keys. Returns 0 and *@out (SSL_CTX_free), or -EINVAL
 * with the reason logged (unreadable file, key not matching the certificate...). */
int tls_ctx_create(const struct config *cfg, SSL_CTX **out);

/* The verified client certificate's subject DN (malloc'ed, RFC 2253), or NULL (none). */
char *tls_peer_dn(struct zk_tls *t);

#endif
