/* zkc: see zkc.h. Session start-up follows the C client's contract (zookeeper.h): the global
 * watcher sees ZOO_SESSION_EVENT with ZOO_CONNECTED_STATE once the handshake completes, and
 * ZOO_EXPIRED_SESSION_STATE / ZOO_AUTH_FAILED_STATE when the session can never be used. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "proto/zk_const.h"
#include "tools/zkc.h"

/* Attached to each handle as its context: the connect wait and the user's watcher. */
struct zkc_session {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int state;	     /* Last session state seen (ZOO_*_STATE). */
	watcher_fn watcher;  /* User watcher for node events, or NULL. */
	void *watcher_ctx;   /* Borrowed. */
};

void zkc_log_setup(int verbose)
{
	static FILE *devnull;

	if (verbose <= 0) {
		/* The library writes its own lines (connection retries, ...) to the stream; scripts
		 * read our stderr for the error name only. */
		if (devnull == NULL)
			devnull = fopen("/dev/null", "w");
		if (devnull != NULL)
			zoo_set_log_stream(devnull);
		zoo_set_debug_level(ZOO_LOG_LEVEL_ERROR);
		return;
	}
	zoo_set_log_stream(stderr);
	zoo_set_debug_level(verbose == 1 ? ZOO_LOG_LEVEL_WARN : ZOO_LOG_LEVEL_DEBUG);
}

static void zkc_watcher(zhandle_t *zh, int type, int state, const char *path, void *ctx)
{
	struct zkc_session *s = ctx;

	if (type == ZOO_SESSION_EVENT) {
		pthread_mutex_lock(&s->mu);
		s->state = state;
		pthread_cond_broadcast(&s->cv);
		pthread_mutex_unlock(&s->mu);
		return;
	}
	if (s->watcher != NULL)
		s->watcher(zh, type, state, path, s->watcher_ctx);
}

static struct zkc_session *zkc_session_new(watcher_fn watcher, void *watcher_ctx)
{
	struct zkc_session *s = calloc(1, sizeof(*s));
	pthread_condattr_t attr;

	if (s == NULL)
		return NULL;
	pthread_mutex_init(&s->mu, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&s->cv, &attr);
	pthread_condattr_destroy(&attr);
	s->watcher = watcher;
	s->watcher_ctx = watcher_ctx;
	return s;
}

static void zkc_session_free(struct zkc_session *s)
{
	pthread_cond_destroy(&s->cv);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

/* Wait until the session is connected or can never be; returns ZOK or ZCONNECTIONLOSS. */
static int zkc_session_wait(struct zkc_session *s, int deadline_ms)
{
	struct timespec until;
	int rc = ZOK;

	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += deadline_ms / 1000;
	until.tv_nsec += (long)(deadline_ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&s->mu);
	while (s->state != ZOO_CONNECTED_STATE && s->state != ZOO_READONLY_STATE) {
		if (s->state == ZOO_EXPIRED_SESSION_STATE || s->state == ZOO_AUTH_FAILED_STATE ||
		    pthread_cond_timedwait(&s->cv, &s->mu, &until) == ETIMEDOUT) {
			rc = ZCONNECTIONLOSS;
			break;
		}
	}
	pthread_mutex_unlock(&s->mu);
	return rc;
}

int zkc_connect(const char *hosts, int session_ms, int deadline_ms, watcher_fn watcher,
		void *watcher_ctx, zhandle_t **out)
{
	struct zkc_session *s = zkc_session_new(watcher, watcher_ctx);
	zhandle_t *zh;
	int rc;

	if (s == NULL)
		return ZSYSTEMERROR;
	zh = zookeeper_init(hosts, zkc_watcher, session_ms, NULL, s, 0);
	if (zh == NULL) {
		rc = errno == EINVAL ? ZBADARGUMENTS : ZCONNECTIONLOSS;
		goto err_after_session;
	}
	rc = zkc_session_wait(s, deadline_ms);
	if (rc != ZOK)
		goto err_after_init;
	*out = zh;
	return ZOK;

err_after_init:
	zookeeper_close(zh);
err_after_session:
	zkc_session_free(s);
	return rc;
}

void zkc_close(zhandle_t *zh)
{
	struct zkc_session *s = (struct zkc_session *)zoo_get_context(zh);

	zookeeper_close(zh);
	zkc_session_free(s);
}

/* Codes only the C client returns (not in ZooKeeper's KeeperException table). */
static const struct {
	int rc;
	const char *name;
} client_errors[] = {
	{ZINVALIDSTATE, "InvalidState"},
	{ZSSLCONNECTIONERROR, "SSLConnectionError"},
	{ZCLOSING, "Closing"},
	{ZNOTHING, "Nothing"},
};

#define N_CLIENT_ERRORS (sizeof(client_errors) / sizeof(client_errors[0]))

const char *zkc_err_name(int rc)
{
	for (size_t i = 0; i < N_CLIENT_ERRORS; i++) {
		if (client_errors[i].rc == rc)
			return client_errors[i].name;
	}
	return zk_err_name(rc);
}

int zkc_err_parse(const char *name, int *rc)
{
	/* ZooKeeper's codes run from 0 down to -127 and the client's extras sit in that range. */
	for (int code = 0; code >= -127; code--) {
		const char *n = zkc_err_name(code);

		if (strcmp(n, "Unknown") != 0 && strcasecmp(n, name) == 0) {
			*rc = code;
			return 0;
		}
	}
	return -1;
}
