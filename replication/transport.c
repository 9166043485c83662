/* transport.c: the raft_uv_transport of a standalone server (raft/uv.h struct
 * raft_uv_transport). A one-voter cluster never sends a message, so this transport listens on
 * nothing and refuses every connect: a standalone zkfsd opens no Raft port.
 *
 * libraft's uvClose() may check for completion right after calling close(), so close() must
 * not call back synchronously: a zero-delay timer defers it to the next loop iteration. */
#include <string.h>

#include "common/zk_alloc.h"
#include "replication/replication_int.h"

struct null_transport {
	uv_timer_t timer; /* Defers the close callback. */
	raft_uv_transport_close_cb close_cb;
	struct raft_uv_transport *t;
};

static int null_init(struct raft_uv_transport *t, raft_id id, const char *address)
{
	(void)t;
	(void)id;
	(void)address;
	return 0;
}

static int null_listen(struct raft_uv_transport *t, raft_uv_accept_cb cb)
{
	(void)t;
	(void)cb;
	return 0;
}

static int null_connect(struct raft_uv_transport *t, struct raft_uv_connect *req, raft_id id,
			const char *address, raft_uv_connect_cb cb)
{
	(void)req;
	(void)cb;
	snprintf(t->errmsg, sizeof(t->errmsg), "standalone server: no connection to %llu (%s)",
		 (unsigned long long)id, address);
	return RAFT_NOCONNECTION;
}

static void null_handle_closed(uv_handle_t *h)
{
	struct null_transport *n = h->data;
	struct raft_uv_transport *t = n->t;
	raft_uv_transport_close_cb cb = n->close_cb;

	zk_free(n);
	t->impl = NULL;
	if (cb != NULL)
		cb(t);
}

static void null_close(struct raft_uv_transport *t, raft_uv_transport_close_cb cb)
{
	struct null_transport *n = t->impl;

	n->close_cb = cb;
	uv_close((uv_handle_t *)&n->timer, null_handle_closed);
}

int repl_transport_null_init(struct raft_uv_transport *t, uv_loop_t *loop)
{
	struct null_transport *n;

	n = zk_calloc(1, sizeof(*n));
	if (n == NULL)
		return -ENOMEM;
	uv_timer_init(loop, &n->timer);
	n->timer.data = n;
	n->t = t;
	memset(t, 0, sizeof(*t));
	t->impl = n;
	t->init = null_init;
	t->listen = null_listen;
	t->connect = null_connect;
	t->close = null_close;
	return 0;
}
