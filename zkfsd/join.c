/* join: does a server with an empty data dir bootstrap the configured membership, or join an
 * ensemble that already exists (repl_config.join)?
 *
 * Raft may bootstrap a membership only on the initial members, each with the same list: a
 * server that bootstraps next to an existing ensemble writes its own configuration at index 1,
 * which the others' logs also have, maybe with other members (two logs Raft takes for equal).
 * ZooKeeper's rule is that a new server starts with the current members plus itself and waits
 * for the leader. zkfsd decides it once, before repl_start:
 *  - the data dir holds a Raft log (libraft's metadata files): neither, the log has the
 *    membership (a restart);
 *  - otherwise each other server of the config whose server.N line has a client part
 *    ("...;addr:port") is asked `srvr`, then `mntr` and `conf` unless it leads (each at most
 *    1 s):
 *     - one reports Mode: leader: an ensemble runs, join it (an empty log; a member already in
 *       the leader's configuration is caught up at once, a new one waits to be added with
 *       reconfig);
 *     - one answers and is not fresh: an ensemble exists but has no leader now (an election,
 *       a lost quorum): wait and ask again, with a back-off from 250 ms doubling up to 4 s,
 *       logging who was asked and what they said, until a leader answers (SIGTERM/SIGINT stop
 *       the wait and the server, exit 0);
 *     - every server that answers is fresh, or none answers: the first start of the whole
 *       ensemble: bootstrap the servers of the config.
 *    "Fresh" is what an initial member looks like before and right after its own bootstrap:
 *    a Raft log holding nothing but the bootstrap entry (mntr's zk_raft_last_index <= 1; not
 *    srvr's Zxid, which stays 0 after a restart until a leader tells the commit index), and a
 *    membership that is still the bootstrap one of our config (conf: version=1 and the same
 *    server.N ids). A server whose whitelist refuses mntr is judged by its Zxid, one that
 *    refuses conf by its log only.
 * What this tells apart:
 *  - the first start of all members: each server bootstraps the same list, whatever order and
 *    timing they start in (one that finds another freshly bootstrapped, waiting for a quorum
 *    with Mode follower, bootstraps too; taking that one for a running ensemble would make
 *    every later member wait for a leader that cannot be elected);
 *  - a new server (not in the membership) or a member restarted with an empty disk, next to
 *    servers that hold data or a changed membership: never bootstraps; it joins once a leader
 *    answers, even if it was started during an election. A member with an empty disk joins
 *    with an empty log and is caught up by the leader like any lagging follower.
 * What it cannot tell: a server started with an empty data dir while no other server of its
 * config answers takes it for the first start and bootstraps its config's servers. So wipe a
 * member's data dir, or add a server, only while other servers run.
 * Blocking sockets are fine here: it runs before the loop serves anything; the waits between
 * rounds run the loop once so that a stop signal is seen. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

#include "common/zk_log.h"
#include "zkfsd/zkfsd_int.h"

#define JOIN_PROBE_TIMEOUT_MS 1000
#define JOIN_BACKOFF_MIN_MS 250
#define JOIN_BACKOFF_MAX_MS 4000
/* A waiting server repeats its "waiting for a leader" line at most this often when nothing
 * changes. */
#define JOIN_LOG_EVERY_MS 30000

/* What a configured server said, worst to best for "an ensemble runs". */
enum join_peer { JOIN_DOWN, JOIN_FRESH, JOIN_EXISTS, JOIN_LEADER };

/* Does @dir hold libraft's metadata (a log that was started once)? */
static bool join_has_log(const char *dir)
{
	static const char *const names[] = {"metadata1", "metadata2"};
	char path[4096];

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		if (access(path, F_OK) == 0)
			return true;
	}
	return false;
}

static int64_t join_now_ms(void)
{
	return (int64_t)(uv_hrtime() / 1000000);
}

/* Wait for @events on @fd until @deadline_ms (CLOCK_MONOTONIC ms). */
static bool join_wait(int fd, short events, int64_t deadline_ms)
{
	struct pollfd p = {.fd = fd, .events = events};
	int64_t left = deadline_ms - join_now_ms();

	return left > 0 && poll(&p, 1, (int)left) == 1 && (p.revents & events) != 0;
}

/* Connect to @host:@port within the deadline. Returns the socket or -1. */
static int join_connect(const char *host, uint16_t port, int64_t deadline_ms)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *ai;
	char service[8];
	int fd = -1, err = 0;
	socklen_t len = sizeof(err);

	snprintf(service, sizeof(service), "%u", port);
	if (getaddrinfo(host, service, &hints, &ai) != 0)
		return -1;
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) != 0 &&
	    (errno != EINPROGRESS || !join_wait(fd, POLLOUT, deadline_ms) ||
	     getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0)) {
		close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
	return fd;
}

/* Ask four-letter word @word of @s's client port; the answer (NUL-terminated, maybe cut) in
 * @buf. Returns false when the server did not answer. */
static bool join_ask(const struct config_server *s, const char *word, char *buf, size_t len)
{
	const char *host = s->client_address;
	int64_t deadline = join_now_ms() + JOIN_PROBE_TIMEOUT_MS;
	size_t got = 0;
	ssize_t n;
	int fd;

	/* A wildcard client address: the server is reached at its host. */
	if (strcmp(host, "0.0.0.0") == 0 || strcmp(host, "::") == 0 || strcmp(host, "[::]") == 0)
		host = s->host;
	fd = join_connect(host, s->client_port, deadline);
	if (fd < 0)
		return false;
	if (send(fd, word, 4, MSG_NOSIGNAL) == 4)
		while (got < len - 1 && join_wait(fd, POLLIN, deadline) &&
		       (n = recv(fd, buf + got, len - 1 - got, 0)) > 0)
			got += (size_t)n;
	close(fd);
	buf[got] = '\0';
	return got > 0;
}

/* The value after "\n@key" (or at the start of @text), or NULL. */
static const char *join_field(const char *text, const char *key)
{
	size_t n = strlen(key);

	for (const char *p = text; p != NULL; p = strchr(p, '\n')) {
		p += *p == '\n';
		if (strncmp(p, key, n) == 0)
			return p + n;
	}
	return NULL;
}

/* Is the membership in @conf (conf's answer) still the bootstrap one of our config? */
static bool join_conf_fresh(const struct config *cfg, const char *conf)
{
	const char *version = join_field(conf, "version=");
	int listed = 0;

	if (version == NULL || strtoull(version, NULL, 16) != 1)
		return false;
	for (const char *p = join_field(conf, "server."); p != NULL;
	     p = join_field(p, "server.")) {
		uint64_t id = strtoull(p, NULL, 10);
		bool ours = false;

		for (int i = 0; i < cfg->n_servers; i++)
			ours |= cfg->servers[i].id == id;
		if (!ours)
			return false;
		listed++;
	}
	return listed == cfg->n_servers;
}

/* Append printf output to @why (@len bytes, NUL-terminated; cut when full). */
__attribute__((format(printf, 3, 4))) static void join_note(char *why, size_t len,
							    const char *fmt, ...)
{
	size_t used = strlen(why);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why + used, len - used, fmt, ap);
	va_end(ap);
}

/* Does @s hold more than the bootstrap entry? From mntr's zk_raft_last_index, or, from a
 * server whose whitelist refuses mntr, srvr's Zxid in @srvr. */
static bool join_has_history(const struct config_server *s, const char *srvr, char *why,
			     size_t len)
{
	char buf[4096];
	const char *v = NULL;
	uint64_t n;

	if (join_ask(s, "mntr", buf, sizeof(buf)))
		v = join_field(buf, "zk_raft_last_index\t");
	if (v != NULL) {
		n = strtoull(v, NULL, 10);
		join_note(why, len, ",log=%" PRIu64, n);
		return n > 1;
	}
	v = join_field(srvr, "Zxid: ");
	n = v != NULL ? strtoull(v, NULL, 16) : 0;
	join_note(why, len, ",zxid=0x%" PRIx64, n);
	return n > 0;
}

/* Ask @s and sum its answer up in @why (appended). */
static enum join_peer join_probe(const struct config *cfg, const struct config_server *s,
				 char *why, size_t len)
{
	char srvr[4096], conf[4096];
	const char *mode;
	bool history, same;

	if (!join_ask(s, "srvr", srvr, sizeof(srvr))) {
		join_note(why, len, " %" PRIu64 ":down", s->id);
		return JOIN_DOWN;
	}
	mode = join_field(srvr, "Mode: ");
	join_note(why, len, " %" PRIu64 ":%.*s", s->id,
		  mode != NULL ? (int)strcspn(mode, "\n") : 1, mode != NULL ? mode : "?");
	if (mode != NULL && strncmp(mode, "leader\n", 7) == 0)
		return JOIN_LEADER;
	history = join_has_history(s, srvr, why, len);
	/* A whitelist that refuses conf leaves the membership unknown: taken as ours. */
	same = !join_ask(s, "conf", conf, sizeof(conf)) ||
	       strstr(conf, "is not executed because") != NULL || join_conf_fresh(cfg, conf);
	if (!same)
		join_note(why, len, ",other membership");
	return history || !same ? JOIN_EXISTS : JOIN_FRESH;
}

/* One round: the best answer of the other configured servers; @why lists them. */
static enum join_peer join_round(const struct config *cfg, char *why, size_t len)
{
	enum join_peer best = JOIN_DOWN;

	why[0] = '\0';
	for (int i = 0; i < cfg->n_servers && best != JOIN_LEADER; i++) {
		const struct config_server *s = &cfg->servers[i];
		enum join_peer p;

		if (s->id == cfg->myid || s->client_port == 0 || s->client_address == NULL)
			continue;
		p = join_probe(cfg, s, why, len);
		if (p > best)
			best = p;
	}
	return best;
}

static void join_timer_fired(uv_timer_t *t)
{
	*(bool *)t->data = true;
}

/* Sleep @ms running the loop (its signal handlers may call server_stop). Returns 0, or
 * -ECANCELED when the server is stopping. */
static int join_sleep(struct zkfsd *srv, unsigned ms)
{
	uv_timer_t t;
	bool fired = false;

	uv_timer_init(srv->loop, &t);
	t.data = &fired;
	uv_timer_start(&t, join_timer_fired, ms, 0);
	while (!fired && !srv->stopping)
		uv_run(srv->loop, UV_RUN_ONCE);
	uv_close((uv_handle_t *)&t, NULL);
	uv_run(srv->loop, UV_RUN_NOWAIT); /* Runs the close: @t may go out of scope. */
	return srv->stopping ? -ECANCELED : 0;
}

int join_decide(struct zkfsd *srv, bool *join)
{
	const struct config *cfg = srv->cfg;
	char why[1024], logged[1024] = "";
	unsigned delay = JOIN_BACKOFF_MIN_MS;
	int64_t logged_at = 0;

	*join = false;
	if (cfg->n_servers == 0 || join_has_log(cfg->data_dir))
		return 0;
	zk_log_info("no Raft log in %s: asking the other servers whether an ensemble runs",
		    cfg->data_dir);
	for (;;) {
		switch (join_round(cfg, why, sizeof(why))) {
		case JOIN_LEADER:
			zk_log_info("an ensemble runs (%s) and %s has no log: joining it (no "
				    "bootstrap)", why + 1, cfg->data_dir);
			*join = true;
			return 0;
		case JOIN_DOWN:
		case JOIN_FRESH:
			zk_log_info("first start of the ensemble (other servers:%s): bootstrapping "
				    "the %d servers of the config", why[0] ? why : " none listed",
				    cfg->n_servers);
			return 0;
		case JOIN_EXISTS:
			break;
		}
		if (strcmp(why, logged) != 0 || join_now_ms() - logged_at >= JOIN_LOG_EVERY_MS) {
			zk_log_warn("an ensemble exists but has no leader (%s): waiting for one "
				    "before joining, asking again every %.1f s at most", why + 1,
				    JOIN_BACKOFF_MAX_MS / 1000.0);
			snprintf(logged, sizeof(logged), "%s", why);
			logged_at = join_now_ms();
		}
		if (join_sleep(srv, delay) != 0)
			return -ECANCELED;
		delay = delay * 2 < JOIN_BACKOFF_MAX_MS ? delay * 2 : JOIN_BACKOFF_MAX_MS;
	}
}
