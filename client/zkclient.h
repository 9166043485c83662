/* zkclient: the project's own asynchronous ZooKeeper client (zookeeper.jute over proto/'s codec,
 * on one libuv loop, optional TLS with OpenSSL memory BIOs).
 *
 * One struct zkclient is one ZooKeeper session. It runs on one libuv loop: a loop thread
 * (struct zkclient_thread) shared with other clients (config.thread), or one of its own
 * (config.thread and config.loop NULL), or the caller's loop (config.loop set; every call then
 * comes from that loop's thread). Completion and watch callbacks always run on the loop thread,
 * never inside the call that started the work.
 *
 * Sessions behave as ZooKeeper's own clients: the host list is shuffled, each connection attempt
 * gets session_ms / hosts to complete (TCP, TLS, ConnectResponse), a lost connection is
 * re-established on the next host with the same session id and password, after which the
 * client re-sends its addauth credentials and one setWatches2 with the last zxid it saw, so no
 * event is missed. Requests are pipelined: every request is sent at once (batched per loop
 * turn) and replies are matched to requests by xid in send order. A server that closes the
 * connection, stops answering for 2/3 of the negotiated timeout, or sends a malformed or
 * out-of-order frame costs a connection loss: every request in flight or queued completes with
 * ZK_ERR_CONNECTIONLOSS, the watch callback gets a Disconnected session event and the client
 * reconnects. A ConnectResponse with timeout 0 means the session expired: the watch callback
 * gets ZK_STATE_EXPIRED once, every request then completes with ZK_ERR_SESSIONEXPIRED, and the
 * client stays expired (create a new one).
 *
 * Not done: SASL authentication (it needs the server side of the security issue), read-only
 * mode. Error codes are proto/zk_const.h's (zk_err_name() names each). */
#ifndef ZKCLIENT_H
#define ZKCLIENT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "proto/jute.h"
#include "proto/zk_const.h"

struct zkclient;
struct zkclient_thread;

/* A watch event or a session event (type ZK_EVENT_NONE, @path NULL): @state is
 * ZK_STATE_SYNC_CONNECTED (connected or reconnected), ZK_STATE_DISCONNECTED (connection lost,
 * reconnecting), ZK_STATE_EXPIRED (once, final), ZK_STATE_AUTH_FAILED (an addauth was
 * refused) or ZK_STATE_CLOSED (after zkclient_close, last). @path (NUL-terminated, chroot
 * removed) is borrowed for the call. Runs on the loop thread. */
typedef void (*zkclient_watch_cb)(void *ctx, int type, int state, const char *path);

/* What a request returns. Every pointer is borrowed from the reply frame and valid only during
 * the completion callback: copy what you keep. Which fields are set follows the operation (see
 * each one); the others are zero. */
struct zkclient_result {
	int err;			    /* ZK_ERR_* (ZK_ERR_OK = 0). */
	int op;				    /* ZK_OP_* of the request. */
	int64_t zxid;			    /* The reply's zxid. */
	struct jute_str path;		    /* create*: the node created; sync: the path. */
	struct jute_bytes data;		    /* getData, getConfig, reconfig. */
	struct zk_stat stat;		    /* create2, exists, getData, setData, setACL,
					       getChildren2, getACL, getConfig, reconfig. */
	bool has_stat;			    /* stat is set. */
	struct jute_str_vec names;	    /* getChildren(2): names; getEphemerals: paths. */
	struct jute_acl_vec acl;	    /* getACL. */
	int32_t number;			    /* getAllChildrenNumber. */
	struct jute_multi_result *results;  /* multi, multiRead: one per op, in order. */
	int32_t n_results;
	struct jute_client_info_vec who;    /* whoAmI. */
};

/* Completion of one request, on the loop thread, exactly once for every request accepted. */
typedef void (*zkclient_cb)(void *ctx, const struct zkclient_result *r);

struct zkclient_config {
	const char *hosts;	 /* "host:port[,host:port...][/chroot]"; IPv6 as [addr]:port.
				    Borrowed during zkclient_open only. */
	int session_ms;		 /* Requested session timeout (the server negotiates). */
	uv_loop_t *loop;	 /* The caller's loop, or NULL. */
	struct zkclient_thread *thread; /* A shared loop thread (borrowed, outlives the client),
				    or NULL: with loop NULL too, the client starts its own. */
	zkclient_watch_cb watch_cb; /* May be NULL. */
	void *watch_ctx;	 /* Borrowed: must outlive the client. */
	int64_t session_id;	 /* Resume this session (0: a new one). */
	uint8_t passwd[ZK_SESSION_PASSWD_LEN]; /* Its password, when session_id != 0. */
	bool tls;		 /* Speak TLS to every host. */
	const char *tls_ca;	 /* CA file (PEM); NULL = the system's default paths. */
	const char *tls_cert;	 /* Client certificate (PEM), or NULL. */
	const char *tls_key;	 /* Its private key (PEM), or NULL. */
	bool tls_no_verify_host; /* Skip the check of the certificate's name against the host. */
	uint32_t seed;		 /* Host shuffle seed (0: from the clock). Tests set it. */
};

/* Defaults: session_ms 30000, everything else zero/NULL. */
void zkclient_config_init(struct zkclient_config *cfg);

/* A loop running in a thread of its own, for several clients. Returns 0 or a negative errno.
 * Destroy it (from another thread) once every client on it is closed. */
int zkclient_thread_create(struct zkclient_thread **out);
void zkclient_thread_destroy(struct zkclient_thread *t);
/* The thread's loop (to run one's own handles on it: only from that thread). */
uv_loop_t *zkclient_thread_loop(struct zkclient_thread *t);

/* Open a client and start connecting. @cfg is borrowed during the call only (except
 * watch_ctx). With cfg->loop set, must be called on that loop's thread; with a loop thread,
 * from any thread (it waits for the thread to take it). Returns 0 and *@out, or
 * -EINVAL (malformed hosts, bad TLS files: logged), -ENOMEM, or a libuv error; no callback
 * fires after an error return. */
int zkclient_open(const struct zkclient_config *cfg, struct zkclient **out);

/* Close the session (a closeSession request when connected, bounded by 1 s), fail what is
 * still pending with ZK_ERR_CONNECTIONLOSS, then fire the watch callback with ZK_STATE_CLOSED
 * and free the client. On a caller's loop: call it on the loop thread; the client is freed on
 * a later loop turn (run the loop until then). On a loop thread: call it from any other
 * thread; it returns once everything is freed (and its own thread ended). Once per client. */
void zkclient_close(struct zkclient *c);

/* The session id and password (valid once connected; 0 before). Any thread. */
int64_t zkclient_session_id(struct zkclient *c, uint8_t passwd[ZK_SESSION_PASSWD_LEN]);

/* The negotiated timeout in ms (0 before the first connect). Any thread. */
int zkclient_session_timeout(struct zkclient *c);

/* Whether the session is connected now (a hint: it may change at once). Any thread. */
bool zkclient_connected(struct zkclient *c);

/* The loop the client runs on. */
uv_loop_t *zkclient_loop(struct zkclient *c);

/* world:anyone with every permission (ZooKeeper's OPEN_ACL_UNSAFE), for multi's create ops. */
extern const struct jute_acl_vec zkclient_acl_open;

/* ---- Operations ------------------------------------------------------------------------------
 *
 * Each call queues one request and returns 0, or -ENOMEM / -EINVAL (a path that does not start
 * with '/') with no callback. Every other failure (server errors, connection loss, expiry)
 * reaches @cb. On the loop thread the request is queued directly; from another thread (loop
 * thread modes only) it is handed over through a uv_async. Strings and buffers passed in are
 * borrowed during the call. Paths are relative to the chroot. @watch sets a one-shot watch whose
 * event comes to the config's watch_cb; it is re-set after a reconnect. */

/* create / create2 (@want_stat) / createContainer (mode ZK_MODE_CONTAINER) / createTTL
 * (modes *_WITH_TTL, @ttl_ms > 0). @acl NULL = world:anyone ALL (OPEN_ACL_UNSAFE). @data NULL
 * with @len -1 = null data. Result: path (and stat with @want_stat; always for container/TTL). */
int zkclient_create(struct zkclient *c, const char *path, const void *data, int32_t len,
		    const struct jute_acl_vec *acl, int mode, int64_t ttl_ms, bool want_stat,
		    zkclient_cb cb, void *ctx);
int zkclient_delete(struct zkclient *c, const char *path, int32_t version, zkclient_cb cb,
		    void *ctx);
/* Result: stat (NoNode when missing; with @watch an exists watch is then set). */
int zkclient_exists(struct zkclient *c, const char *path, bool watch, zkclient_cb cb, void *ctx);
int zkclient_get_data(struct zkclient *c, const char *path, bool watch, zkclient_cb cb, void *ctx);
int zkclient_set_data(struct zkclient *c, const char *path, const void *data, int32_t len,
		      int32_t version, zkclient_cb cb, void *ctx);
/* getChildren, or getChildren2 with @want_stat. */
int zkclient_get_children(struct zkclient *c, const char *path, bool watch, bool want_stat,
			  zkclient_cb cb, void *ctx);
int zkclient_get_all_children_number(struct zkclient *c, const char *path, zkclient_cb cb,
				     void *ctx);
/* Result: names are full paths, chroot removed. */
int zkclient_get_ephemerals(struct zkclient *c, const char *prefix, zkclient_cb cb, void *ctx);
int zkclient_sync(struct zkclient *c, const char *path, zkclient_cb cb, void *ctx);
int zkclient_get_acl(struct zkclient *c, const char *path, zkclient_cb cb, void *ctx);
int zkclient_set_acl(struct zkclient *c, const char *path, const struct jute_acl_vec *acl,
		     int32_t version, zkclient_cb cb, void *ctx);
/* @ops (borrowed) as jute_request's: write ops for multi, getChildren/getData for multiRead
 * (@read). Their paths are relative to the chroot. Result: results/n_results (a failed multi:
 * err is the first failing op's code and every result is ZK_OP_ERROR). */
int zkclient_multi(struct zkclient *c, const struct jute_multi_op *ops, int32_t n, bool read,
		   zkclient_cb cb, void *ctx);
/* addauth: remembered and re-sent after every reconnect. A refusal also fires the watch
 * callback with ZK_STATE_AUTH_FAILED. @scheme "digest" with "user:password". */
int zkclient_add_auth(struct zkclient *c, const char *scheme, const void *auth, int32_t len,
		      zkclient_cb cb, void *ctx);
int zkclient_who_am_i(struct zkclient *c, zkclient_cb cb, void *ctx);
/* addWatch: @mode ZK_ADD_WATCH_PERSISTENT or ZK_ADD_WATCH_PERSISTENT_RECURSIVE; kept until
 * removed and re-set after a reconnect. */
int zkclient_add_watch(struct zkclient *c, const char *path, int mode, zkclient_cb cb, void *ctx);
/* removeWatches / checkWatches with @type ZK_WATCHER_CHILDREN, _DATA or _ANY (ZooKeeper's
 * persistent watches are removed by _ANY). @local: remove locally without asking the server. */
int zkclient_remove_watches(struct zkclient *c, const char *path, int type, bool local,
			    zkclient_cb cb, void *ctx);
int zkclient_check_watches(struct zkclient *c, const char *path, int type, zkclient_cb cb,
			   void *ctx);
/* getConfig: getData of /zookeeper/config (outside the chroot). Result: data, stat. */
int zkclient_get_config(struct zkclient *c, bool watch, zkclient_cb cb, void *ctx);
/* reconfig: NULL strings are null; @from_config -1 = any. Result: data (the new config), stat. */
int zkclient_reconfig(struct zkclient *c, const char *joining, const char *leaving,
		      const char *members, int64_t from_config, zkclient_cb cb, void *ctx);

/* ---- Synchronous wrapper (loop thread modes, from any thread but the loop's) -----------------
 *
 * struct zkclient_wait s; zkclient_wait_init(&s, copy, &mine);
 * zkclient_get_data(c, "/a", false, zkclient_wait_cb, &s);  rc = zkclient_wait(&s);
 * @copy (may be NULL) runs on the loop thread with the borrowed result before the waiter wakes,
 * to copy out what the caller needs. The wait always ends: every request completes (reply,
 * connection loss, expiry or close). */
struct zkclient_wait {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool done;
	int err;	 /* The result's err once done. */
	zkclient_cb copy;
	void *copy_ctx;
};
void zkclient_wait_init(struct zkclient_wait *w, zkclient_cb copy, void *copy_ctx);
void zkclient_wait_cb(void *ctx, const struct zkclient_result *r);
/* Block until the request completes; returns its err. A wait whose request was never accepted
 * (the call returned an error) needs no clean-up. */
int zkclient_wait(struct zkclient_wait *w);

/* Wait until the session is connected, at most @deadline_ms. Returns ZK_ERR_OK,
 * ZK_ERR_SESSIONEXPIRED or ZK_ERR_CONNECTIONLOSS (not by the deadline). Loop thread modes,
 * any thread but the loop's. */
int zkclient_wait_connected(struct zkclient *c, int deadline_ms);

/* ---- Connect strings and names ---------------------------------------------------------- */

/* One host of a connect string. */
struct zkclient_host {
	char name[256]; /* Host name or address, without brackets. */
	char port[8];	/* Decimal port ("2181" when none is given). */
};

/* Split @hosts into at most @max entries of @out; *@chroot (may be NULL) receives a pointer
 * into @hosts at the "/chroot" suffix, or NULL. Returns the number of hosts (>= 1) or -1 when
 * @hosts is malformed. */
int zkclient_hosts_parse(const char *hosts, struct zkclient_host *out, int max,
			 const char **chroot);

/* "NodeCreated", ... for an event type and "SyncConnected", ... for a keeper state, as the Java
 * client's WatchedEvent.toString() prints them ("None" / "Unknown" otherwise). */
const char *zkclient_event_name(int type);
const char *zkclient_state_name(int state);

/* The code of a ZooKeeper error name, case-insensitive ("nodeexists"). Returns 0 and *@code,
 * or -1 when unknown. */
int zkclient_err_parse(const char *name, int *code);

/* ---- Four-letter words ----------------------------------------------------------------------
 * A blocking TCP connection to the first host of @hosts that accepts one within @deadline_ms
 * per host. Returns the socket (blocking, close-on-exec) or -1 with errno set. */
int zkclient_tcp_connect(const char *hosts, int deadline_ms);

/* Send @word to the first host of @hosts that accepts a TCP connection within @deadline_ms,
 * and read the answer until the server closes (at most @deadline_ms more). Blocking; any
 * thread. *@out (NUL-terminated, free()) and *@len receive it. Returns 0 or a negative errno. */
int zkclient_fourlw(const char *hosts, const char *word, int deadline_ms, char **out,
		    size_t *len);

#endif
