/* http: libmicrohttpd driven from the libuv loop (see http.h for why on the loop).
 *
 * libmicrohttpd's external-epoll mode: MHD_run() does all the socket work that is ready and
 * returns; its epoll descriptor becomes readable whenever there is more, and MHD_get_timeout()
 * says when idle connections must be timed out. One uv_poll_t on that descriptor and one
 * uv_timer_t call MHD_run(). A request answered later (HTTP_LATER) is suspended
 * (MHD_suspend_connection) and resumed by http_finish; libmicrohttpd then calls the access
 * handler again, which queues the stored reply. */
#include <arpa/inet.h>
#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <microhttpd.h>

#include "common/zk_alloc.h"
#include "common/zk_log.h"
#include "zkfsd/http.h"

/* Idle HTTP connections are closed after this many seconds. */
#define HTTP_IDLE_TIMEOUT_S 30
/* At most this many HTTP connections at once (a scraper and a few operators). */
#define HTTP_MAX_CONNECTIONS 64

struct http_server {
	char name[32];		    /* For logs: "metrics", "admin". */
	struct MHD_Daemon *mhd;	    /* Owned. */
	uv_poll_t poll;		    /* On libmicrohttpd's epoll descriptor. */
	uv_timer_t timer;	    /* MHD_get_timeout. */
	http_handler fn;	    /* Every GET goes here. */
	void *ctx;		    /* Its context, borrowed. */
	int closing;		    /* Handles still to close (http_stop). */
	struct http_request *pending; /* Suspended requests (HTTP_LATER), linked by next. */
	struct zk_buf pem;	    /* HTTPS: the key and certificates, NUL-terminated. */
};

/* One request, from its first access-handler call to libmicrohttpd's completion callback. */
struct http_request {
	struct http_server *srv;	/* Borrowed; NULL once the server stopped. */
	struct MHD_Connection *conn;	/* Borrowed from libmicrohttpd. */
	struct http_reply reply;	/* The handler's answer. */
	bool pending;			/* Handler returned HTTP_LATER, http_finish not called. */
	bool ready;			/* http_finish called: queue the reply. */
	bool abandoned;			/* libmicrohttpd is done with it (client gone, stop). */
	struct http_request *next;	/* srv->pending. */
};

static void http_on_timer(uv_timer_t *t);

static void http_rearm(struct http_server *s)
{
	MHD_UNSIGNED_LONG_LONG ms;

	if (MHD_get_timeout(s->mhd, &ms) == MHD_YES)
		uv_timer_start(&s->timer, http_on_timer, ms, 0);
	else
		uv_timer_stop(&s->timer);
}

static void http_run(struct http_server *s)
{
	MHD_run(s->mhd);
	http_rearm(s);
}

static void http_on_poll(uv_poll_t *p, int status, int events)
{
	(void)status;
	(void)events;
	http_run(p->data);
}

static void http_on_timer(uv_timer_t *t)
{
	http_run(t->data);
}


static void http_unlink_pending(struct http_request *req)
{
	struct http_request **pp;

	if (req->srv == NULL)
		return;
	for (pp = &req->srv->pending; *pp != NULL; pp = &(*pp)->next)
		if (*pp == req) {
			*pp = req->next;
			return;
		}
}

/* Hand @req's reply to libmicrohttpd. */
static enum MHD_Result http_queue(struct http_request *req)
{
	struct http_reply *r = &req->reply;
	struct MHD_Response *resp;
	enum MHD_Result rv;
	size_t len = 0;
	uint8_t *body = zk_buf_steal(&r->body, &len);

	/* MHD_RESPMEM_MUST_FREE frees with free(): zk_buf's bytes come from malloc. */
	resp = MHD_create_response_from_buffer(len, body != NULL ? body : (uint8_t *)"",
					       body != NULL ? MHD_RESPMEM_MUST_FREE
							    : MHD_RESPMEM_PERSISTENT);
	if (resp == NULL) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
				r->content_type ? r->content_type : "text/plain; charset=utf-8");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	if (r->header != NULL)
		MHD_add_response_header(resp, r->header, r->header_value);
	rv = MHD_queue_response(req->conn, (unsigned)r->status, resp);
	MHD_destroy_response(resp);
	return rv;
}

static void http_error(struct http_reply *r, int status, const char *what)
{
	zk_buf_reset(&r->body);
	r->status = status;
	r->content_type = "text/plain; charset=utf-8";
	zk_buf_printf(&r->body, "%s\n", what);
}

/* First call for a request: run the handler. */
static enum MHD_Result http_dispatch(struct http_server *s, struct http_request *req,
				     const char *url, const char *method)
{
	int rv;

	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
		http_error(&req->reply, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET is served");
		return http_queue(req);
	}
	rv = s->fn(s->ctx, req, url, &req->reply);
	if (rv == HTTP_LATER) {
		req->pending = true;
		req->next = s->pending;
		s->pending = req;
		MHD_suspend_connection(req->conn);
		return MHD_YES;
	}
	if (rv < 0) {
		zk_log_warn("%s http: GET %s: %s", s->name, url, strerror(-rv));
		http_error(&req->reply, MHD_HTTP_INTERNAL_SERVER_ERROR, strerror(-rv));
	}
	return http_queue(req);
}

static enum MHD_Result http_on_request(void *cls, struct MHD_Connection *conn, const char *url,
				       const char *method, const char *version,
				       const char *upload, size_t *upload_len, void **state)
{
	struct http_server *s = cls;
	struct http_request *req = *state;

	(void)version;
	(void)upload;
	if (*upload_len != 0) {
		*upload_len = 0; /* A GET carries no body: drop what a client sends anyway. */
		return MHD_YES;
	}
	if (req != NULL) /* Resumed by http_finish. */
		return req->ready ? http_queue(req) : MHD_YES;
	req = zk_calloc(1, sizeof(*req));
	if (req == NULL)
		return MHD_NO;
	req->srv = s;
	req->conn = conn;
	req->reply.status = MHD_HTTP_OK;
	zk_buf_init(&req->reply.body);
	*state = req;
	return http_dispatch(s, req, url, method);
}

static void http_free_request(struct http_request *req)
{
	zk_buf_close(&req->reply.body);
	zk_free(req);
}

/* libmicrohttpd is done with the request (answered, client gone, or daemon stopping). */
static void http_on_completed(void *cls, struct MHD_Connection *conn, void **state,
			      enum MHD_RequestTerminationCode why)
{
	struct http_request *req = *state;

	(void)cls;
	(void)conn;
	(void)why;
	if (req == NULL)
		return;
	*state = NULL;
	if (req->pending) {
		http_unlink_pending(req);
		req->srv = NULL;
		req->abandoned = true; /* http_finish frees it. */
		return;
	}
	http_free_request(req);
}

static void http_on_log(void *cls, const char *fmt, va_list ap)
{
	char line[512];
	const struct http_server *s = cls;

	vsnprintf(line, sizeof(line), fmt, ap);
	line[strcspn(line, "\n")] = '\0';
	zk_log_warn("%s http: %s", s->name, line);
}

void http_finish(struct http_request *req)
{
	struct http_server *s = req->srv;

	assert(req->pending);
	req->pending = false;
	if (req->abandoned) {
		http_free_request(req);
		return;
	}
	http_unlink_pending(req);
	req->ready = true;
	MHD_resume_connection(req->conn);
	http_run(s);
}

bool http_abandoned(const struct http_request *req)
{
	return req->abandoned;
}

const char *http_query(struct http_request *req, const char *key)
{
	return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, key);
}

/* @host:@port into @sa; *@flags gets MHD_USE_IPv6 for an IPv6 literal. */
static int http_address(const char *host, uint16_t port, struct sockaddr_storage *sa,
			unsigned *flags)
{
	struct sockaddr_in *in = (struct sockaddr_in *)sa;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)sa;

	memset(sa, 0, sizeof(*sa));
	if (inet_pton(AF_INET, host, &in->sin_addr) == 1) {
		in->sin_family = AF_INET;
		in->sin_port = htons(port);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(port);
		*flags |= MHD_USE_IPv6;
		return 0;
	}
	return -EINVAL;
}

/* The PEM file @path into s->pem, NUL-terminated. */
static int http_read_pem(struct http_server *s, const char *path)
{
	FILE *f = fopen(path, "r");
	char chunk[4096];
	size_t n;
	int rv = 0;

	if (f == NULL) {
		rv = -errno;
		zk_log_error("%s http: cannot read %s: %s", s->name, path, strerror(-rv));
		return rv;
	}
	while (rv == 0 && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		rv = zk_buf_append(&s->pem, chunk, n);
	if (rv == 0)
		rv = ferror(f) ? -EIO : zk_buf_append_u8(&s->pem, 0);
	fclose(f);
	return rv;
}

static int http_open(struct http_server *s, const char *host, uint16_t port,
		     const char *tls_pem)
{
	struct sockaddr_storage sa;
	unsigned flags = MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
	struct MHD_OptionItem tls[] = {
		{MHD_OPTION_HTTPS_MEM_KEY, 0, NULL},
		{MHD_OPTION_HTTPS_MEM_CERT, 0, NULL},
		{MHD_OPTION_END, 0, NULL},
	};

	if (http_address(host, port, &sa, &flags) != 0) {
		zk_log_error("%s http: '%s' is not an IP address", s->name, host);
		return -EINVAL;
	}
	if (tls_pem != NULL) {
		int rv = http_read_pem(s, tls_pem);

		if (rv != 0)
			return rv;
		/* The key and the certificates are both found in the one PEM text. */
		tls[0].ptr_value = tls[1].ptr_value = s->pem.data;
		flags |= MHD_USE_TLS;
	}
	s->mhd = MHD_start_daemon(flags, port, NULL, NULL, http_on_request, s,
				  MHD_OPTION_EXTERNAL_LOGGER, http_on_log, s,
				  MHD_OPTION_ARRAY, tls_pem != NULL ? tls : &tls[2],
				  MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
				  MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)HTTP_IDLE_TIMEOUT_S,
				  MHD_OPTION_CONNECTION_LIMIT, (unsigned)HTTP_MAX_CONNECTIONS,
				  MHD_OPTION_NOTIFY_COMPLETED, http_on_completed, s, MHD_OPTION_END);
	if (s->mhd == NULL) {
		zk_log_error("%s http: cannot listen on %s:%u (port in use%s?)", s->name, host, port,
			     tls_pem != NULL ? ", or no usable key and certificate in the PEM" : "");
		return -EADDRINUSE;
	}
	return 0;
}

int http_start(uv_loop_t *loop, const char *name, const char *host, uint16_t port,
	       const char *tls_pem, http_handler fn, void *ctx, struct http_server **out)
{
	struct http_server *s = zk_calloc(1, sizeof(*s));
	const union MHD_DaemonInfo *info;
	int rv;

	if (s == NULL)
		return -ENOMEM;
	snprintf(s->name, sizeof(s->name), "%s", name);
	s->fn = fn;
	s->ctx = ctx;
	zk_buf_init(&s->pem);
	rv = http_open(s, host, port, tls_pem);
	if (rv != 0)
		goto err_after_alloc;
	info = MHD_get_daemon_info(s->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	rv = info != NULL ? uv_poll_init(loop, &s->poll, info->epoll_fd) : -EINVAL;
	if (rv != 0)
		goto err_after_open;
	uv_timer_init(loop, &s->timer);
	s->poll.data = s->timer.data = s;
	uv_poll_start(&s->poll, UV_READABLE, http_on_poll);
	http_rearm(s);
	zk_log_info("%s %s: listening on %s:%u", name, tls_pem != NULL ? "https" : "http", host,
		    port);
	*out = s;
	return 0;

err_after_open:
	MHD_stop_daemon(s->mhd);
err_after_alloc:
	zk_buf_close(&s->pem);
	zk_free(s);
	return rv;
}

static void http_on_close(uv_handle_t *h)
{
	struct http_server *s = h->data;

	if (--s->closing > 0)
		return;
	zk_buf_close(&s->pem);
	zk_free(s);
}

void http_stop(struct http_server *s)
{
	if (s == NULL)
		return;
	/* libmicrohttpd refuses to stop with suspended connections: resume them; their
	 * completion callbacks then mark the requests abandoned. */
	for (struct http_request *r = s->pending; r != NULL; r = r->next)
		MHD_resume_connection(r->conn);
	uv_poll_stop(&s->poll);
	uv_timer_stop(&s->timer);
	MHD_stop_daemon(s->mhd);
	s->closing = 2;
	uv_close((uv_handle_t *)&s->poll, http_on_close);
	uv_close((uv_handle_t *)&s->timer, http_on_close);
}
