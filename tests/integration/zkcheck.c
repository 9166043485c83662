/* zkcheck: drives Apache ZooKeeper's own C client (libzookeeper_mt) from a script on stdin and
 * prints one comparable line per command and per watch event, so an integration test can run
 * the same script against zkfsd and Apache ZooKeeper and diff the outputs.
 *
 * It covers what kazoo 2.8 cannot show: the C client's re-registration of watches with
 * setWatches and its last zxid after a reconnect, container and TTL creates, removeWatches,
 * multi with per-op results, and the C client's own path checks.
 *
 * Script (one command a line, fields separated by blanks, "-" is empty data):
 *   connect HOSTS TIMEOUT_MS      create PATH DATA MODE TTL    delete PATH VERSION
 *   exists PATH WATCH             get PATH WATCH               set PATH DATA VERSION
 *   children PATH WATCH           getacl PATH                  setacl PATH VERSION PERMS
 *   sync PATH                     rmwatch PATH TYPE LOCAL      session
 *   multi OP...  (c:PATH:DATA:MODE  d:PATH:VERSION  s:PATH:DATA:VERSION  k:PATH:VERSION)
 *   echo TEXT                     close                        quit
 * Output: "<command> <ZooKeeper error name> [details]" for each command, and asynchronously
 * "EVENT <type> <path>" for watch events and "SESSION <state>" for session events.
 * Exit status: 0 after quit or end of input, 2 on a usage error. */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zookeeper/zookeeper.h>

#include "proto/zk_const.h"

#define ZKCHECK_MAX_ARGS 64
#define ZKCHECK_DATA_MAX (1 << 20)
#define ZKCHECK_PATH_MAX 1024

static pthread_mutex_t zkcheck_out_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t zkcheck_state_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t zkcheck_state_cond = PTHREAD_COND_INITIALIZER;
static zhandle_t *zkcheck_zh;
static char zkcheck_data[ZKCHECK_DATA_MAX];

/* Every line goes out whole and flushed: the watcher thread prints too. */
static void zkcheck_say(const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&zkcheck_out_lock);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
	pthread_mutex_unlock(&zkcheck_out_lock);
}

static const char *zkcheck_state_name(int state)
{
	if (state == ZOO_CONNECTED_STATE)
		return "connected";
	if (state == ZOO_CONNECTING_STATE || state == ZOO_ASSOCIATING_STATE)
		return "connecting";
	if (state == ZOO_EXPIRED_SESSION_STATE)
		return "expired";
	if (state == ZOO_AUTH_FAILED_STATE)
		return "auth_failed";
	return "other";
}

static const char *zkcheck_event_name(int type)
{
	if (type == ZOO_CREATED_EVENT)
		return "NodeCreated";
	if (type == ZOO_DELETED_EVENT)
		return "NodeDeleted";
	if (type == ZOO_CHANGED_EVENT)
		return "NodeDataChanged";
	if (type == ZOO_CHILD_EVENT)
		return "NodeChildrenChanged";
	if (type == ZOO_NOTWATCHING_EVENT)
		return "NotWatching";
	return "Unknown";
}

/* The default watcher: runs on the client's completion thread. */
static void zkcheck_watcher(zhandle_t *zh, int type, int state, const char *path, void *ctx)
{
	if (type == ZOO_SESSION_EVENT) {
		zkcheck_say("SESSION %s", zkcheck_state_name(state));
		pthread_mutex_lock(&zkcheck_state_lock);
		pthread_cond_broadcast(&zkcheck_state_cond);
		pthread_mutex_unlock(&zkcheck_state_lock);
		return;
	}
	zkcheck_say("EVENT %s %s", zkcheck_event_name(type), path ? path : "");
}

/* The Stat fields two servers must agree on (zxids and times differ by design). */
static void zkcheck_stat_text(const struct Stat *st, char *out, size_t len)
{
	snprintf(out, len, "v=%d cv=%d av=%d nc=%d dl=%d eph=%d mz=cz:%d pz=cz:%d", st->version,
		 st->cversion, st->aversion, st->numChildren, st->dataLength,
		 st->ephemeralOwner != 0, st->mzxid == st->czxid, st->pzxid == st->czxid);
}

static const char *zkcheck_data_arg(const char *arg, int *len)
{
	if (strcmp(arg, "-") == 0) {
		*len = 0;
		return "";
	}
	*len = (int)strlen(arg);
	return arg;
}

static int zkcheck_wait_connected(int seconds)
{
	struct timespec deadline;
	int rc = 0;

	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += seconds;
	pthread_mutex_lock(&zkcheck_state_lock);
	while (zoo_state(zkcheck_zh) != ZOO_CONNECTED_STATE && rc == 0)
		rc = pthread_cond_timedwait(&zkcheck_state_cond, &zkcheck_state_lock, &deadline);
	pthread_mutex_unlock(&zkcheck_state_lock);
	return zoo_state(zkcheck_zh) == ZOO_CONNECTED_STATE ? 0 : -1;
}

static void zkcheck_connect(char **argv)
{
	zoo_set_debug_level(ZOO_LOG_LEVEL_ERROR);
	zoo_deterministic_conn_order(1);
	zkcheck_zh = zookeeper_init(argv[1], zkcheck_watcher, atoi(argv[2]), NULL, NULL, 0);
	if (!zkcheck_zh || zkcheck_wait_connected(30) < 0) {
		zkcheck_say("connect failed");
		return;
	}
	zkcheck_say("connect OK timeout=%d", zoo_recv_timeout(zkcheck_zh));
}

static void zkcheck_create(char **argv)
{
	char path[ZKCHECK_PATH_MAX] = "";
	char st_text[128] = "";
	struct Stat st;
	int len, rc, mode = atoi(argv[3]);
	long long ttl = atoll(argv[4]);
	const char *data = zkcheck_data_arg(argv[2], &len);

	memset(&st, 0, sizeof(st));
	if (ttl > 0)
		rc = zoo_create2_ttl(zkcheck_zh, argv[1], data, len, &ZOO_OPEN_ACL_UNSAFE, mode, ttl,
				     path, sizeof(path), &st);
	else
		rc = zoo_create2(zkcheck_zh, argv[1], data, len, &ZOO_OPEN_ACL_UNSAFE, mode, path,
				 sizeof(path), &st);
	if (rc == ZOK)
		zkcheck_stat_text(&st, st_text, sizeof(st_text));
	zkcheck_say("create %s %s %s", zk_err_name(rc), path, st_text);
}

static void zkcheck_delete(char **argv)
{
	zkcheck_say("delete %s", zk_err_name(zoo_delete(zkcheck_zh, argv[1], atoi(argv[2]))));
}

static void zkcheck_exists(char **argv)
{
	char st_text[128] = "";
	struct Stat st;
	int rc = zoo_exists(zkcheck_zh, argv[1], atoi(argv[2]), &st);

	if (rc == ZOK)
		zkcheck_stat_text(&st, st_text, sizeof(st_text));
	zkcheck_say("exists %s %s", zk_err_name(rc), st_text);
}

static void zkcheck_get(char **argv)
{
	char st_text[128] = "";
	struct Stat st;
	int len = (int)sizeof(zkcheck_data) - 1;
	int rc = zoo_get(zkcheck_zh, argv[1], atoi(argv[2]), zkcheck_data, &len, &st);

	if (rc != ZOK || len < 0)
		len = 0;
	zkcheck_data[len] = '\0';
	if (rc == ZOK)
		zkcheck_stat_text(&st, st_text, sizeof(st_text));
	zkcheck_say("get %s [%.64s] %s", zk_err_name(rc), zkcheck_data, st_text);
}

static void zkcheck_set(char **argv)
{
	char st_text[128] = "";
	struct Stat st;
	int len, rc;
	const char *data = zkcheck_data_arg(argv[2], &len);

	rc = zoo_set2(zkcheck_zh, argv[1], data, len, atoi(argv[3]), &st);
	if (rc == ZOK)
		zkcheck_stat_text(&st, st_text, sizeof(st_text));
	zkcheck_say("set %s %s", zk_err_name(rc), st_text);
}

static int zkcheck_cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void zkcheck_children(char **argv)
{
	char st_text[128] = "", list[4096] = "";
	struct String_vector kids = { 0, NULL };
	struct Stat st;
	size_t used = 0;
	int rc = zoo_get_children2(zkcheck_zh, argv[1], atoi(argv[2]), &kids, &st);

	if (rc == ZOK) {
		zkcheck_stat_text(&st, st_text, sizeof(st_text));
		qsort(kids.data, (size_t)kids.count, sizeof(char *), zkcheck_cmp_str);
		for (int i = 0; i < kids.count && used < sizeof(list) - 1; i++)
			used += (size_t)snprintf(list + used, sizeof(list) - used, "%s%s",
						 i ? "," : "", kids.data[i]);
		deallocate_String_vector(&kids);
	}
	zkcheck_say("children %s [%s] %s", zk_err_name(rc), list, st_text);
}

static void zkcheck_getacl(char **argv)
{
	struct ACL_vector acl = { 0, NULL };
	struct Stat st;
	int rc = zoo_get_acl(zkcheck_zh, argv[1], &acl, &st);

	if (rc != ZOK) {
		zkcheck_say("getacl %s", zk_err_name(rc));
		return;
	}
	zkcheck_say("getacl OK n=%d perms=%d %s:%s av=%d", acl.count, acl.count ? acl.data[0].perms : -1,
		    acl.count ? acl.data[0].id.scheme : "", acl.count ? acl.data[0].id.id : "",
		    st.aversion);
	deallocate_ACL_vector(&acl);
}

static void zkcheck_setacl(char **argv)
{
	struct Id anyone = { "world", "anyone" };
	struct ACL entry = { atoi(argv[3]), anyone };
	struct ACL_vector acl = { 1, &entry };

	zkcheck_say("setacl %s", zk_err_name(zoo_set_acl(zkcheck_zh, argv[1], atoi(argv[2]), &acl)));
}

struct zkcheck_sync {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int done;
	int rc;
};

static void zkcheck_sync_done(int rc, const char *value, const void *data)
{
	struct zkcheck_sync *s = (struct zkcheck_sync *)data;

	pthread_mutex_lock(&s->lock);
	s->rc = rc;
	s->done = 1;
	pthread_cond_signal(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

static void zkcheck_sync(char **argv)
{
	struct zkcheck_sync s = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0 };
	int rc = zoo_async(zkcheck_zh, argv[1], zkcheck_sync_done, &s);

	if (rc == ZOK) {
		pthread_mutex_lock(&s.lock);
		while (!s.done)
			pthread_cond_wait(&s.cond, &s.lock);
		pthread_mutex_unlock(&s.lock);
		rc = s.rc;
	}
	zkcheck_say("sync %s", zk_err_name(rc));
}

static void zkcheck_rmwatch(char **argv)
{
	int rc = zoo_remove_all_watches(zkcheck_zh, argv[1], (ZooWatcherType)atoi(argv[2]),
					atoi(argv[3]));

	zkcheck_say("rmwatch %s", zk_err_name(rc));
}

static void zkcheck_session(char **argv)
{
	const clientid_t *id = zoo_client_id(zkcheck_zh);

	zkcheck_say("session %s id=%llx", zkcheck_state_name(zoo_state(zkcheck_zh)),
		    (unsigned long long)id->client_id);
}

/* One multi op from "c:PATH:DATA:MODE", "d:PATH:VERSION", "s:PATH:DATA:VERSION", "k:PATH:V".
 * Fields point into spec (modified in place); path buffers come from paths. */
static int zkcheck_multi_op(char *spec, zoo_op_t *op, char *path_buf, struct Stat *st)
{
	char *f[4] = { NULL, NULL, NULL, NULL };
	int n = 0, len;
	const char *data;

	for (char *save = NULL, *t = strtok_r(spec, ":", &save); t && n < 4;
	     t = strtok_r(NULL, ":", &save))
		f[n++] = t;
	if (n < 3)
		return -1;
	if (f[0][0] == 'c' && n == 4) {
		data = zkcheck_data_arg(f[2], &len);
		zoo_create_op_init(op, f[1], data, len, &ZOO_OPEN_ACL_UNSAFE, atoi(f[3]), path_buf,
				   ZKCHECK_PATH_MAX);
	} else if (f[0][0] == 'd') {
		zoo_delete_op_init(op, f[1], atoi(f[2]));
	} else if (f[0][0] == 's' && n == 4) {
		data = zkcheck_data_arg(f[2], &len);
		zoo_set_op_init(op, f[1], data, len, atoi(f[3]), st);
	} else if (f[0][0] == 'k') {
		zoo_check_op_init(op, f[1], atoi(f[2]));
	} else {
		return -1;
	}
	return 0;
}

static void zkcheck_multi(char **argv, int argc)
{
	static char paths[ZKCHECK_MAX_ARGS][ZKCHECK_PATH_MAX];
	zoo_op_t ops[ZKCHECK_MAX_ARGS];
	zoo_op_result_t res[ZKCHECK_MAX_ARGS];
	struct Stat stats[ZKCHECK_MAX_ARGS];
	char line[4096];
	size_t used;
	int n = argc - 1, rc;

	for (int i = 0; i < n; i++) {
		paths[i][0] = '\0';
		if (zkcheck_multi_op(argv[i + 1], &ops[i], paths[i], &stats[i]) < 0) {
			zkcheck_say("multi usage");
			return;
		}
	}
	memset(res, 0, sizeof(res));
	rc = zoo_multi(zkcheck_zh, n, ops, res);
	used = (size_t)snprintf(line, sizeof(line), "multi %s", zk_err_name(rc));
	for (int i = 0; i < n && used < sizeof(line) - 1; i++)
		used += (size_t)snprintf(line + used, sizeof(line) - used, " %s%s%s",
					 zk_err_name(res[i].err), paths[i][0] ? "=" : "", paths[i]);
	zkcheck_say("%s", line);
}

static void zkcheck_close(char **argv)
{
	int rc = zkcheck_zh ? zookeeper_close(zkcheck_zh) : ZOK;

	zkcheck_zh = NULL;
	zkcheck_say("close %s", zk_err_name(rc));
}

struct zkcheck_cmd {
	const char *name;
	int argc; /* Fields including the command name; 0: any number. */
	void (*fn)(char **argv);
};

static const struct zkcheck_cmd zkcheck_cmds[] = {
	{ "connect", 3, zkcheck_connect },   { "create", 5, zkcheck_create },
	{ "delete", 3, zkcheck_delete },     { "exists", 3, zkcheck_exists },
	{ "get", 3, zkcheck_get },	     { "set", 4, zkcheck_set },
	{ "children", 3, zkcheck_children }, { "getacl", 2, zkcheck_getacl },
	{ "setacl", 4, zkcheck_setacl },     { "sync", 2, zkcheck_sync },
	{ "rmwatch", 4, zkcheck_rmwatch },   { "session", 1, zkcheck_session },
	{ "close", 1, zkcheck_close },
};

/* Runs one script line; returns 1 on quit. */
static int zkcheck_run_line(char *line)
{
	char *argv[ZKCHECK_MAX_ARGS];
	int argc = 0;

	for (char *save = NULL, *t = strtok_r(line, " \t\n", &save); t && argc < ZKCHECK_MAX_ARGS;
	     t = strtok_r(NULL, " \t\n", &save))
		argv[argc++] = t;
	if (argc == 0)
		return 0;
	if (strcmp(argv[0], "quit") == 0)
		return 1;
	if (strcmp(argv[0], "echo") == 0) {
		zkcheck_say("echo %s", argc > 1 ? argv[1] : "");
		return 0;
	}
	if (strcmp(argv[0], "multi") == 0 && zkcheck_zh) {
		zkcheck_multi(argv, argc);
		return 0;
	}
	for (size_t i = 0; i < sizeof(zkcheck_cmds) / sizeof(zkcheck_cmds[0]); i++) {
		if (strcmp(argv[0], zkcheck_cmds[i].name) != 0)
			continue;
		if (argc != zkcheck_cmds[i].argc || (!zkcheck_zh && i != 0))
			break;
		zkcheck_cmds[i].fn(argv);
		return 0;
	}
	zkcheck_say("%s usage", argv[0]);
	return 0;
}

int main(int argc, char **argv)
{
	char line[8192];

	if (argc != 1) {
		fprintf(stderr, "usage: zkcheck < script (see the comment at the top of zkcheck.c)\n");
		return 2;
	}
	while (fgets(line, sizeof(line), stdin))
		if (zkcheck_run_line(line))
			break;
	if (zkcheck_zh)
		zookeeper_close(zkcheck_zh);
	return 0;
}
