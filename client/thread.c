/* thread.c: a libuv loop running in a thread of its own, shared by the clients opened on it
 * (zkfs-bench puts N sessions on each), and the one way other threads get work done on it: a
 * call queued under a mutex, a uv_async wake-up, and a wait for the call to have run. */
#include <assert.h>
#include <stdlib.h>

#include "client/client_int.h"
#include "common/zk_alloc.h"
#include "common/zk_log.h"

/* One queued call; lives on the caller's stack until done. */
struct thread_call {
	struct thread_call *next;
	void (*fn)(void *arg);
	void *arg;
	bool done;
};

struct zkclient_thread {
	uv_loop_t loop;
	uv_thread_t tid;
	uv_async_t async;
	pthread_mutex_t mu;
	pthread_cond_t cv;	   /* A call is done. */
	struct thread_call *calls; /* LIFO; order between callers does not matter. */
	bool stop;
};

static void thread_on_async(uv_async_t *a)
{
	struct zkclient_thread *t = a->data;
	struct thread_call *calls, *next;
	bool stop;

	pthread_mutex_lock(&t->mu);
	calls = t->calls;
	t->calls = NULL;
	stop = t->stop;
	pthread_mutex_unlock(&t->mu);
	for (; calls != NULL; calls = next) {
		next = calls->next;
		calls->fn(calls->arg);
		pthread_mutex_lock(&t->mu);
		calls->done = true;
		pthread_cond_broadcast(&t->cv);
		pthread_mutex_unlock(&t->mu);
	}
	if (stop)
		uv_close((uv_handle_t *)&t->async, NULL);
}

static void thread_main(void *arg)
{
	struct zkclient_thread *t = arg;

	uv_run(&t->loop, UV_RUN_DEFAULT);
}

int zkclient_thread_create(struct zkclient_thread **out)
{
	struct zkclient_thread *t = zk_calloc(1, sizeof(*t));
	int rc;

	if (t == NULL)
		return -ENOMEM;
	rc = uv_loop_init(&t->loop);
	if (rc != 0) {
		zk_free(t);
		return rc;
	}
	pthread_mutex_init(&t->mu, NULL);
	pthread_cond_init(&t->cv, NULL);
	uv_async_init(&t->loop, &t->async, thread_on_async);
	t->async.data = t;
	rc = uv_thread_create(&t->tid, thread_main, t);
	if (rc != 0) {
		zk_log_error("zkclient: cannot start a loop thread: %s", uv_strerror(rc));
		uv_close((uv_handle_t *)&t->async, NULL);
		uv_run(&t->loop, UV_RUN_DEFAULT);
		uv_loop_close(&t->loop);
		zk_free(t);
		return rc;
	}
	*out = t;
	return 0;
}

bool zkclient_thread_is_self(struct zkclient_thread *t)
{
	uv_thread_t self = uv_thread_self();

	return uv_thread_equal(&self, &t->tid);
}

void zkclient_thread_call(struct zkclient_thread *t, void (*fn)(void *arg), void *arg)
{
	struct thread_call call = {.fn = fn, .arg = arg};

	if (zkclient_thread_is_self(t)) {
		fn(arg);
		return;
	}
	pthread_mutex_lock(&t->mu);
	call.next = t->calls;
	t->calls = &call;
	pthread_mutex_unlock(&t->mu);
	uv_async_send(&t->async);
	pthread_mutex_lock(&t->mu);
	while (!call.done)
		pthread_cond_wait(&t->cv, &t->mu);
	pthread_mutex_unlock(&t->mu);
}

uv_loop_t *zkclient_thread_loop(struct zkclient_thread *t)
{
	return &t->loop;
}

void zkclient_thread_destroy(struct zkclient_thread *t)
{
	assert(!zkclient_thread_is_self(t));
	pthread_mutex_lock(&t->mu);
	t->stop = true;
	pthread_mutex_unlock(&t->mu);
	uv_async_send(&t->async);
	uv_thread_join(&t->tid);
	if (uv_loop_close(&t->loop) != 0)
		zk_log_warn("zkclient: a loop thread ended with handles still open");
	pthread_mutex_destroy(&t->mu);
	pthread_cond_destroy(&t->cv);
	zk_free(t);
}
