/* quorum_tls: TLS on the quorum ports (ZooKeeper's sslQuorum), with mutual authentication.
 *
 * libraft reads and writes the streams it is handed itself, and forward.c frames its own
 * messages on a TCP handle, so TLS sits below both as a bridge per connection: the bridge owns
 * the TCP socket and one end of a socketpair, and pumps bytes between them through a
 * common/zk_tls.h endpoint (OpenSSL on memory BIOs, on the loop). libraft or forward.c gets the
 * other end of the socketpair as a plain stream and never sees ciphertext.
 *
 * Who is who (both sides present a certificate, and both are checked against the quorum CA,
 * ssl.quorum.trustStore.location):
 *  - accepting: the connection's first plaintext bytes claim a server id (libraft's handshake
 *    on the Raft port, a PeerHello on the peer port: the caller's claim callback reads it). It
 *    is handed over only when the id is a member other than this server and, with hostname
 *    verification (ssl.quorum.hostnameVerification, on by default), the certificate names that
 *    member's configured host: an IP subjectAltName equal to the host of its server.N line
 *    (names are resolved once at start), or a DNS subjectAltName / common name equal to it.
 *  - connecting: the accepting server's certificate must name the host of the member
 *    connected to, by the same rule.
 * Anything else is closed before a byte reaches libraft or forward.c, with a log line
 * (repl_refused). A connection must finish its handshake and claim within
 * REPL_QTLS_HELLO_MS.
 * Everything here runs on the loop thread. */
#ifndef REPL_QUORUM_TLS_H
#define REPL_QUORUM_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

struct repl;
struct repl_qtls;
struct repl_qtls_link;

/* Handshake and claim within this long (accepting side) / handshake (connecting side). */
#define REPL_QTLS_HELLO_MS 10000

/* Read the claim at the start of an accepted connection's plaintext @p (@n bytes so far).
 * Returns 0 with *@id (the server id claimed) and *@consumed (bytes of @p that belong to the
 * claim and are not passed on: 0 to pass everything on), -EAGAIN (incomplete), or -EBADMSG. */
typedef int (*repl_qtls_claim_cb)(const uint8_t *p, size_t n, uint64_t *id, size_t *consumed);

/* A link is ready: @fd (>= 0) is the plain end of the socketpair, now the caller's (close it,
 * or hand it to a libuv handle); @id the member at the other end; @claim and @claim_len the
 * bytes taken by the claim callback (accepting side; NULL, 0 when connecting); @ip the peer's
 * address. On the connecting side @fd < 0 (a negative errno) reports a failure (logged);
 * the accepting side calls only on success. Never called after repl_qtls_cancel. */
typedef void (*repl_qtls_ready_cb)(void *data, int fd, uint64_t id, const uint8_t *claim,
				   size_t claim_len, const char *ip);

/* The quorum TLS state of @r from r->cfg.tls_*. Returns 0 and *@out (NULL when sslQuorum is
 * off), or -EINVAL / -ENOMEM with the reason logged. */
int repl_qtls_create(struct repl *r, struct repl_qtls **out);

/* Accept a connection from @listener (its connection callback said one waits) as the TLS
 * server. Returns 0 (@ready follows only if the peer proves a member) or a uv error (nothing
 * accepted; the caller may ignore it). */
int repl_qtls_accept(struct repl_qtls *q, uv_stream_t *listener, repl_qtls_claim_cb claim,
		     repl_qtls_ready_cb ready, void *data);

/* Connect from @from_host to @host:@port, which must be member @id, as the TLS client, and send
 * @first (@first_len bytes, copied; may be 0) once the handshake is done. Returns the link
 * (@ready follows exactly once unless cancelled) or NULL when out of memory or closing. */
struct repl_qtls_link *repl_qtls_connect(struct repl_qtls *q, const char *from_host,
					 const char *host, uint16_t port, uint64_t id,
					 const void *first, size_t first_len,
					 repl_qtls_ready_cb ready, void *data);

/* Forget @l's callback (a connect whose caller no longer waits) and close it. Must be called
 * before @ready was. */
void repl_qtls_cancel(struct repl_qtls_link *l);

/* Close every link (the transport closes); @done(@arg) once all their handles are closed,
 * then @q is freed. */
void repl_qtls_close(struct repl_qtls *q, void (*done)(void *arg), void *arg);

#endif
