/* cli_out: zkfs-cli's output in zkCli's shapes (Stat lines, WatchedEvent lines) and the mapping
 * from ZooKeeper errors to exit statuses (cli.h CLI_EXITS). */
#include <inttypes.h>
#include <stdio.h>
#include <time.h>

#include "tools/cli.h"
#include "client/zkclient.h"
#include "tools/zkc.h"

volatile int cli_interrupted;

int cli_exit_status(int rc)
{
	switch (rc) {
	case ZOK:
		return CLI_EXIT_OK;
	case ZCONNECTIONLOSS:
	case ZOPERATIONTIMEOUT:
	case ZCLOSING:
	case ZINVALIDSTATE:
		return CLI_EXIT_CONNECTION;
	case ZNONODE:
		return CLI_EXIT_NONODE;
	case ZNODEEXISTS:
		return CLI_EXIT_NODEEXISTS;
	case ZBADVERSION:
		return CLI_EXIT_BADVERSION;
	case ZNOTEMPTY:
		return CLI_EXIT_NOTEMPTY;
	case ZNOCHILDRENFOREPHEMERALS:
		return CLI_EXIT_NOCHILDRENFOREPHEMERALS;
	case ZNOAUTH:
	case ZAUTHFAILED:
	case ZINVALIDACL:
		return CLI_EXIT_NOAUTH;
	case ZBADARGUMENTS:
		return CLI_EXIT_BADARGUMENTS;
	case ZUNIMPLEMENTED:
		return CLI_EXIT_UNIMPLEMENTED;
	case ZSESSIONEXPIRED:
	case ZSESSIONMOVED:
		return CLI_EXIT_SESSION;
	}
	return CLI_EXIT_ERROR;
}

int cli_fail(int rc, const char *cmd, const char *path)
{
	fprintf(stderr, "zkfs-cli: %s%s%s: %s (%d)\n", cmd, path != NULL ? " " : "",
		path != NULL ? path : "", zkc_err_name(rc), rc);
	return cli_exit_status(rc);
}

int cli_session(struct cli *c)
{
	int rc;

	if (c->zh != NULL)
		return ZOK;
	rc = zkc_connect(c->hosts, c->session_ms, c->connect_ms, NULL, NULL, &c->zh);
	if (rc != ZOK)
		fprintf(stderr, "zkfs-cli: cannot open a session to %s: %s (%d)\n", c->hosts,
			zkc_err_name(rc), rc);
	return rc;
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

void cli_print_stat(const struct Stat *st)
{
	printf("cZxid = 0x%" PRIx64 "\n", (uint64_t)st->czxid);
	cli_print_time("ctime", st->ctime);
	printf("mZxid = 0x%" PRIx64 "\n", (uint64_t)st->mzxid);
	cli_print_time("mtime", st->mtime);
	printf("pZxid = 0x%" PRIx64 "\n", (uint64_t)st->pzxid);
	printf("cversion = %d\n", st->cversion);
	printf("dataVersion = %d\n", st->version);
	printf("aclVersion = %d\n", st->aversion);
	printf("ephemeralOwner = 0x%" PRIx64 "\n", (uint64_t)st->ephemeralOwner);
	printf("dataLength = %d\n", st->dataLength);
	printf("numChildren = %d\n", st->numChildren);
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
