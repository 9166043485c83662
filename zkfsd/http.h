/* http: a small HTTP/1.1 server on the daemon's libuv loop, for /metrics (metrics.c) and the
 * AdminServer (admin.c). The protocol is libmicrohttpd's; this module only drives it from the
 * loop and hands each GET request to the server's handler.
 *
 * libmicrohttpd runs in its "external epoll" mode: it owns one epoll descriptor holding its
 * listener and connections, which a uv_poll_t watches; a uv_timer_t follows MHD_get_timeout.
 * So every handler runs on the loop thread and reads the server's state directly, with no
 * copy, lock or second thread (the alternative, MHD's own thread reading a snapshot of
 * counters published by the loop, would need a copy of everything `cons` and `dump` show).
 * Sockets are non-blocking; a slow client costs memory for its reply, never loop time.
 *
 * A handler either answers at once (fills @reply and returns 0) or returns HTTP_LATER and
 * calls http_finish() later on the loop (the backup waits for a forked child that way). */
#ifndef ZKFSD_HTTP_H
#define ZKFSD_HTTP_H

#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

#include "common/zk_buf.h"

#define HTTP_LATER 1

struct http_server;
struct http_request;

/* What a handler answers. */
struct http_reply {
	int status;		  /* HTTP status; 200 unless the handler changes it. */
	const char *content_type; /* Static string. */
	struct zk_buf body;	  /* The body (moved into libmicrohttpd's response). */
	const char *header;	  /* One more header's name (static), or NULL. */
	char header_value[64];	  /* Its value. */
};

/* @url: the path (no query string), borrowed for the call. Returns 0 (answered in @reply),
 * HTTP_LATER (answer later with http_finish(@req), @reply is kept until then) or a negative
 * errno (500 with the errno's text). Loop thread. */
typedef int (*http_handler)(void *ctx, struct http_request *req, const char *url,
			    struct http_reply *reply);

/* Start serving @host:@port (an IPv4 or IPv6 literal) on @loop: every GET/HEAD request goes
 * to @fn(@ctx, ...), other methods get 405. @tls_pem: NULL for plain HTTP, or a PEM file
 * holding the key and the certificate chain (ssl.keyStore.location) for HTTPS only. @name is
 * for log lines. Returns 0 with *@out set, or a negative errno (bad address, port in use,
 * unreadable PEM: logged). */
int http_start(uv_loop_t *loop, const char *name, const char *host, uint16_t port,
	       const char *tls_pem, http_handler fn, void *ctx, struct http_server **out);

/* The value of query parameter @key of @req, or NULL. Borrowed until the request ends. */
const char *http_query(struct http_request *req, const char *key);

/* The reply of a handler that returned HTTP_LATER is ready (in the struct it was given).
 * Loop thread. */
void http_finish(struct http_request *req);

/* True once a pending (HTTP_LATER) request was abandoned, which happens only in http_stop
 * (libmicrohttpd does not watch a suspended connection); its handler should drop its work,
 * touch nothing of the stopped server's and still call http_finish. */
bool http_abandoned(const struct http_request *req);

/* Stop listening, close every connection and free @s (pending requests are abandoned: their
 * handlers still call http_finish, which then only frees). @s may be NULL. Loop thread. */
void http_stop(struct http_server *s);

#endif
