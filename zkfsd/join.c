/* join: does a new ensemble server bootstrap the configured membership, or join an ensemble
 * that already runs (repl_config.join)?
 *
 * Raft may bootstrap a membership only on the initial members, each with the same list: a
 * server that bootstraps next to a running ensemble writes its own configuration at index 1,
 * which the leader's log also has with different members (two logs that Raft takes for equal).
 * ZooKeeper's rule is that a new server starts with the current members plus itself and waits
 * for the leader; zkfsd decides it this way, once, before repl_start:
 *  - the data dir holds a Raft log (libraft's metadata files): neither, the log has the
 *    membership (a restart);
 *  - otherwise each other server of the config whose server.N line has a client part
 *    ("...;addr:port", the dynamic form) is asked `srvr` on that port (bounded: about 1 s per
 *    server): one that reports Mode leader is a running ensemble, so this server joins (an
 *    empty log; a member already in the leader's configuration is caught up at once, a new one
 *    waits to be added with reconfig). Only a leader counts: a server that has just
 *    bootstrapped reports follower while it waits for the others to start, and taking that for
 *    a running ensemble made them join it instead of bootstrapping, so no leader could ever be
 *    elected. The price: a server started during an election bootstraps; start a new server
 *    while the ensemble has a leader;
 *  - nobody serving (the initial start of the ensemble): bootstrap.
 * Blocking sockets are fine here: it runs before the loop starts. */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

#include "common/zk_log.h"
#include "zkfsd/zkfsd_int.h"

#define JOIN_PROBE_TIMEOUT_MS 1000

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

/* Wait for @events on @fd until @deadline_ms (CLOCK_MONOTONIC ms). */
static bool join_wait(int fd, short events, int64_t deadline_ms)
{
	struct pollfd p = {.fd = fd, .events = events};
	int64_t left = deadline_ms - (int64_t)(uv_hrtime() / 1000000);

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

/* Ask `srvr` of @s's client port: is it the leader of a running ensemble? */
static bool join_peer_leads(const struct config_server *s)
{
	const char *host = s->client_address;
	int64_t deadline = (int64_t)(uv_hrtime() / 1000000) + JOIN_PROBE_TIMEOUT_MS;
	char buf[2048];
	size_t got = 0;
	ssize_t n;
	int fd;

	/* A wildcard client address: the server is reached at its host. */
	if (strcmp(host, "0.0.0.0") == 0 || strcmp(host, "::") == 0 || strcmp(host, "[::]") == 0)
		host = s->host;
	fd = join_connect(host, s->client_port, deadline);
	if (fd < 0)
		return false;
	if (send(fd, "srvr", 4, MSG_NOSIGNAL) == 4)
		while (got < sizeof(buf) - 1 && join_wait(fd, POLLIN, deadline) &&
		       (n = recv(fd, buf + got, sizeof(buf) - 1 - got, 0)) > 0)
			got += (size_t)n;
	close(fd);
	buf[got] = '\0';
	return strstr(buf, "Mode: leader\n") != NULL;
}

bool join_ensemble_running(const struct config *cfg)
{
	if (cfg->n_servers == 0 || join_has_log(cfg->data_dir))
		return false;
	zk_log_info("no Raft log in %s: asking the other servers whether an ensemble runs",
		    cfg->data_dir);
	for (int i = 0; i < cfg->n_servers; i++) {
		const struct config_server *s = &cfg->servers[i];

		if (s->id == cfg->myid || s->client_port == 0 || s->client_address == NULL)
			continue;
		if (join_peer_leads(s)) {
			zk_log_info("server %llu serves an ensemble and %s has no log: joining it "
				    "(no bootstrap)", (unsigned long long)s->id, cfg->data_dir);
			return true;
		}
	}
	return false;
}
