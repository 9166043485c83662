/* cli_out: zkfs-cli's output in zkCli's shapes (Stat lines, WatchedEvent lines), the mapping
 * from ZooKeeper errors to exit statuses (cli.h CLI_EXITS), the session and the copies that
 * synchronous calls keep of their results. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tools/cli.h"

volatile int cli_interrupted;

int cli_exit_status(int rc)
{
	switch (rc) {
	case ZK_ERR_OK:
		return CLI_EXIT_OK;
	case ZK_ERR_CONNECTIONLOSS:
	case ZK_ERR_OPERATIONTIMEOUT:
		return CLI_EXIT_CONNECTION;
	case ZK_ERR_NONODE:
		return CLI_EXIT_NONODE;
	case ZK_ERR_NODEEXISTS:
		return CLI_EXIT_NODEEXISTS;
	case ZK_ERR_BADVERSION:
		return CLI_EXIT_BADVERSION;
	case ZK_ERR_NOTEMPTY:
		return CLI_EXIT_NOTEMPTY;
	case ZK_ERR_NOCHILDRENFOREPHEMERALS:
		return CLI_EXIT_NOCHILDRENFOREPHEMERALS;
	case ZK_ERR_NOAUTH:
	case ZK_ERR_AUTHFAILED:
	case ZK_ERR_INVALIDACL:
		return CLI_EXIT_NOAUTH;
	case ZK_ERR_BADARGUMENTS:
		return CLI_EXIT_BADARGUMENTS;
	case ZK_ERR_UNIMPLEMENTED:
		return CLI_EXIT_UNIMPLEMENTED;
	case ZK_ERR_SESSIONEXPIRED:
	case ZK_ERR_SESSIONMOVED:
		return CLI_EXIT_SESSION;
	}
	return CLI_EXIT_ERROR;
}

int cli_fail(int rc, const char *cmd, const char *path)
{
	fprintf(stderr, "zkfs-cli: %s%s%s: %s (%d)\n", cmd, path != NULL ? " " : "",
		path != NULL ? path : "", zk_err_name(rc), rc);
	return cli_exit_status(rc);
}

int cli_session(struct cli *c)
{
	struct zkclient_config cfg;
	int rc;

	if (c->zc != NULL)
		return ZK_ERR_OK;
	zkclient_config_init(&cfg);
	cfg.hosts = c->hosts;
	cfg.session_ms = c->session_ms;
	cfg.watch_cb = cli_wait_watcher;
	cfg.watch_ctx = &c->wait;
	cfg.tls = c->tls;
	cfg.tls_ca = c->tls_ca;
	cfg.tls_cert = c->tls_cert;
	cfg.tls_key = c->tls_key;
	rc = zkclient_open(&cfg, &c->zc);
	if (rc != 0) {
		rc = rc == -EINVAL ? ZK_ERR_BADARGUMENTS : ZK_ERR_SYSTEMERROR;
		c->zc = NULL;
	} else {
		rc = zkclient_wait_connected(c->zc, c->connect_ms);
	}
	if (rc != ZK_ERR_OK) {
		if (c->zc != NULL)
			zkclient_close(c->zc);
		c->zc = NULL;
		fprintf(stderr, "zkfs-cli: cannot open a session to %s: %s (%d)\n", c->hosts,
			zk_err_name(rc), rc);
	}
	return rc;
}

static int cli_strcmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Copies of @n strings (a null one as ""), sorted with @sort. Aborts when out of memory. */
static char **cli_copy_strs(const struct jute_str *items, int32_t n, bool sort)
{
	char **out = calloc((size_t)(n > 0 ? n : 1), sizeof(*out));

	for (int32_t i = 0; out != NULL && i < n; i++) {
		out[i] = strndup(items[i].p != NULL ? items[i].p : "",
				 items[i].len > 0 ? (size_t)items[i].len : 0);
		if (out[i] == NULL)
			abort(); /* A CLI out of memory: nothing sensible to do. */
	}
	if (out == NULL)
		abort();
	if (sort && n > 1)
		qsort(out, (size_t)n, sizeof(*out), cli_strcmp);
	return out;
}

static void cli_res_copy_multi(struct cli_res *res, const struct zkclient_result *r)
{
	res->n_results = r->n_results;
	res->errs = calloc((size_t)(r->n_results > 0 ? r->n_results : 1), sizeof(*res->errs));
	res->paths = calloc((size_t)(r->n_results > 0 ? r->n_results : 1), sizeof(*res->paths));
	if (res->errs == NULL || res->paths == NULL)
		abort();
	for (int32_t i = 0; i < r->n_results; i++) {
		const struct jute_multi_result *m = &r->results[i];

		res->errs[i] = m->type == ZK_OP_ERROR ? m->err : ZK_ERR_OK;
		if (m->path.len > 0)
			res->paths[i] = strndup(m->path.p, (size_t)m->path.len);
	}
}

/* Runs on the client's loop thread: keep what the command prints. */
static void cli_res_copy(void *ctx, const struct zkclient_result *r)
{
	struct cli_res *res = ctx;

	if (r->path.len > 0)
		res->path = strndup(r->path.p, (size_t)r->path.len);
	res->len = r->data.len;
	if (r->data.len >= 0 && r->data.p != NULL) {
		res->data = malloc((size_t)r->data.len + 1);
		if (res->data == NULL)
			abort();
		memcpy(res->data, r->data.p, (size_t)r->data.len);
		res->data[r->data.len] = '\0';
	}
	res->stat = r->stat;
	if (r->names.count > 0) {
		res->names = cli_copy_strs(r->names.items, r->names.count, true);
		res->n_names = r->names.count;
	}
	if (r->results != NULL)
		cli_res_copy_multi(res, r);
}

void cli_res_wait(struct zkclient_wait *w, struct cli_res *res)
{
	memset(res, 0, sizeof(*res));
	res->len = -1;
	zkclient_wait_init(w, cli_res_copy, res);
}

int cli_res_finish(struct zkclient_wait *w, int submit_rc)
{
	if (submit_rc != 0)
		return submit_rc == -EINVAL ? ZK_ERR_BADARGUMENTS : ZK_ERR_SYSTEMERROR;
	return zkclient_wait(w);
}

void cli_res_free(struct cli_res *res)
{
	for (int i = 0; i < res->n_names; i++)
		free(res->names[i]);
	for (int i = 0; res->paths != NULL && i < res->n_results; i++)
		free(res->paths[i]);
	free(res->names);
	free(res->paths);
	free(res->errs);
	free(res->path);
	free(res->data);
	memset(res, 0, sizeof(*res));
}

/* zkCli prints times with java.util.Date.toString(): "Wed Nov 25 20:31:00 UTC 2026". */
static void cli_print_time(const char *name, int64_t ms)
{
	char buf[64];
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (localtime_r(&t, &tm) == NULL || strftime(buf, sizeof(buf), "%a %b %d %H:%M:%S %Z %Y",
						      &tm) == 0)
		snprintf(buf, sizeof(buf), "%" PRId64, ms);
	printf("%s = %s\n", name, buf);
}

void cli_print_stat(const struct zk_stat *st)
{
	printf("cZxid = 0x%" PRIx64 "\n", (uint64_t)st->czxid);
	cli_print_time("ctime", st->ctime);
	printf("mZxid = 0x%" PRIx64 "\n", (uint64_t)st->mzxid);
	cli_print_time("mtime", st->mtime);
	printf("pZxid = 0x%" PRIx64 "\n", (uint64_t)st->pzxid);
	printf("cversion = %d\n", st->cversion);
	printf("dataVersion = %d\n", st->version);
	printf("aclVersion = %d\n", st->aversion);
	printf("ephemeralOwner = 0x%" PRIx64 "\n", (uint64_t)st->ephemeral_owner);
	printf("dataLength = %d\n", st->data_length);
	printf("numChildren = %d\n", st->num_children);
}

void cli_print_event(int type, int state, const char *path)
{
	printf("WatchedEvent state:%s type:%s path:%s\n", zkclient_state_name(state),
	       zkclient_event_name(type), path != NULL && path[0] != '\0' ? path : "null");
	fflush(stdout);
}

void cli_print_exits(void)
{
#define CLI_EXIT_HELP_(status, name, text) printf("  %3d  %s\n", status, text);
	CLI_EXITS(CLI_EXIT_HELP_)
#undef CLI_EXIT_HELP_
}
