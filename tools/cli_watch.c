/* cli_watch: watches in zkfs-cli.
 *
 * `watch [-R] path` sets a persistent (optionally recursive) watch with addWatch (ZooKeeper
 * 3.6+) and prints each event until SIGINT/SIGTERM, then closes the session; the client re-sets
 * the watch after a reconnect, so only an expired session ends it early.
 *
 * The -w flag of ls/get/stat sets a one-shot watch: the client's loop thread fills struct
 * cli_wait and the main thread waits for it (one-shot mode), or the event is printed at once,
 * as zkCli does (interactive mode). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "tools/cli.h"

void cli_wait_init(struct cli_wait *w)
{
	pthread_condattr_t attr;

	memset(w, 0, sizeof(*w));
	pthread_mutex_init(&w->mu, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&w->cv, &attr);
	pthread_condattr_destroy(&attr);
}

void cli_wait_destroy(struct cli_wait *w)
{
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
}

void cli_wait_watcher(void *ctx, int type, int state, const char *path)
{
	struct cli_wait *w = ctx;

	/* Connection changes are not events of a watch; only an expiry ends the wait (the watch
	 * is gone with the session). */
	if (type == ZK_EVENT_NONE && state != ZK_STATE_EXPIRED)
		return;
	pthread_mutex_lock(&w->mu);
	if (w->stream && type != ZK_EVENT_NONE) {
		cli_print_event(type, state, path);
		pthread_mutex_unlock(&w->mu);
		return;
	}
	if (w->print_now) {
		printf("\nWATCHER::\n\n");
		cli_print_event(type, state, path);
	}
	w->fired = true;
	w->type = type;
	w->state = state;
	snprintf(w->path, sizeof(w->path), "%s", path != NULL ? path : "");
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

int cli_wait_event(struct cli *c)
{
	struct cli_wait *w = &c->wait;
	struct timespec until;
	int rc = CLI_EXIT_OK;

	if (c->interactive)
		return CLI_EXIT_OK;
	/* What the command printed must be out before a possibly long wait. */
	fflush(stdout);
	pthread_mutex_lock(&w->mu);
	/* Wake every 100 ms to notice SIGINT (the event thread may not be the one it hit). */
	while (!w->fired && !cli_interrupted) {
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_nsec += 100000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&w->cv, &w->mu, &until);
	}
	if (!w->fired)
		rc = CLI_EXIT_INTERRUPTED;
	else if (w->type == ZK_EVENT_NONE)
		rc = cli_fail(ZK_ERR_SESSIONEXPIRED, "watch", NULL);
	else
		cli_print_event(w->type, w->state, w->path);
	w->fired = false;
	pthread_mutex_unlock(&w->mu);
	return rc;
}

int cli_cmd_watch(struct cli *c, int argc, char **argv)
{
	struct zkclient_wait w;
	int opt, mode = ZK_ADD_WATCH_PERSISTENT, rc;

	optind = 0;
	opterr = 0;
	while ((opt = getopt(argc, argv, "+R")) != -1) {
		if (opt != 'R') {
			fprintf(stderr, "zkfs-cli: watch: unknown option -%c\n", optopt);
			return CLI_EXIT_USAGE;
		}
		mode = ZK_ADD_WATCH_PERSISTENT_RECURSIVE;
	}
	if (argc - optind != 1 || argv[optind][0] != '/') {
		fprintf(stderr, "zkfs-cli: watch: needs one absolute path\n");
		return CLI_EXIT_USAGE;
	}
	rc = cli_session(c);
	if (rc != ZK_ERR_OK)
		return cli_exit_status(rc);
	pthread_mutex_lock(&c->wait.mu);
	c->wait.stream = true;
	pthread_mutex_unlock(&c->wait.mu);
	zkclient_wait_init(&w, NULL, NULL);
	rc = cli_res_finish(&w, zkclient_add_watch(c->zc, argv[optind], mode, zkclient_wait_cb,
						    &w));
	if (rc != ZK_ERR_OK)
		return cli_fail(rc, "watch", argv[optind]);
	/* Events print from the loop thread; this one waits for SIGINT or an expiry. */
	rc = cli_wait_event(c);
	return rc == CLI_EXIT_INTERRUPTED ? CLI_EXIT_OK : rc;
}
