/* config: zkfsd's settings from a zoo.cfg-style file, the command line and the myid file.
 *
 * Order of precedence: built-in defaults < zoo.cfg (-c) < command-line flags; the myid file in
 * dataDir is read last, only when neither the file nor --myid gave an id. Keys are those of
 * Apache ZooKeeper's zoo.cfg that zkfsd uses (tickTime, dataDir, clientPort,
 * clientPortAddress, maxClientCnxns, minSessionTimeout, maxSessionTimeout, jute.maxbuffer,
 * globalOutstandingLimit, 4lw.commands.whitelist, server.N) plus zkfsd's own (snapCount,
 * logLevel, logFile, maxOutstandingPerConnection, znode.container.checkIntervalMs,
 * reconfigEnabled), metricsProvider.* and admin.* (below). Other ZooKeeper keys (initLimit,
 * syncLimit, ...) are accepted and ignored, so a real zoo.cfg loads; any other key is
 * an error (a typo must not pass silently). A bad line is an error naming file:line and the key; main() exits 2 on any error.
 * Not thread-safe: used by main() before the loop starts. */
#ifndef ZKFSD_CONFIG_H
#define ZKFSD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/zk_log.h"

/* Defaults (ZooKeeper 3.8's where it has one). */
#define CONFIG_DEFAULT_TICK_MS 2000
#define CONFIG_DEFAULT_PORT 2181
#define CONFIG_DEFAULT_ADDRESS "127.0.0.1"
#define CONFIG_DEFAULT_DATA_DIR "./zkfsd-data"
#define CONFIG_DEFAULT_MAX_CNXNS 60
#define CONFIG_DEFAULT_MAXBUFFER 0xfffff
#define CONFIG_DEFAULT_OUTSTANDING 1000
#define CONFIG_DEFAULT_PER_CONN 1000
#define CONFIG_DEFAULT_SNAP_COUNT 100000
/* What monitoring needs; cons, dump, wchc, wchp and envi hand out session ids and paths, so they
 * are answered only when listed. */
#define CONFIG_DEFAULT_4LW_WHITELIST "srvr,ruok,mntr,conf,dgst"
/* ZooKeeper's default is 60 s; zkfsd checks every 5 s so empty containers and expired TTL nodes
 * go within seconds (the check walks the tree: a few ms per 100k nodes). */
#define CONFIG_DEFAULT_CONTAINER_CHECK_MS 5000
/* Most entries an ACL may list (ZooKeeper has no cap; a create of 43k entries took seconds). */
#define CONFIG_DEFAULT_MAX_ACL_ENTRIES 1024
/* Watches one connection may hold, and their path bytes (ZooKeeper has no bound: 25 setWatches
 * frames made 2M watches, +222 MB). Enough for a cache of a 200k-node tree. */
#define CONFIG_DEFAULT_MAX_WATCHES 200000
#define CONFIG_DEFAULT_MAX_WATCH_BYTES (16 << 20)
/* Output waiting for slow readers over all connections (each also stops being read past
 * 4 MiB of its own): past it, connections with output pending are not read. */
#define CONFIG_DEFAULT_MAX_OUTPUT_BYTES (128u << 20)

/* metricsProvider.* and admin.* (the HTTP servers of metrics.c and admin.c). ZooKeeper enables
 * its AdminServer by default; zkfsd does not (admin.enableServer=true turns it on), so that
 * several servers on one host need no port of their own for it. metricsProvider.className
 * is only a switch: any value enables /metrics. */
#define CONFIG_DEFAULT_METRICS_PORT 7000
#define CONFIG_DEFAULT_ADMIN_PORT 8080
#define CONFIG_DEFAULT_HTTP_HOST "0.0.0.0"
#define CONFIG_DEFAULT_ADMIN_URL "/commands"

struct config_http {
	bool enabled;	/* Serve it. */
	char host[64];	/* IP address to listen on. */
	uint16_t port;	/* TCP port. */
	char url[64];	/* admin.commandURL (admin only). */
};

/* One server.N line: server.N=host:raft_port:peer_port[:observer|:participant][;[addr:]port]. */
struct config_server {
	uint64_t id;	      /* N. */
	char *host;	      /* Owned. */
	uint16_t raft_port;   /* Raft traffic (ZooKeeper's quorum port). */
	uint16_t peer_port;   /* Forwarding between servers (ZooKeeper's election port). */
	bool observer;	      /* ":observer": a non-voting member. */
	char *client_address; /* Owned, NULL when the line has no client part. */
	uint16_t client_port; /* 0 when the line has no client part. */
};

struct config {
	int tick_ms;			/* tickTime. */
	char *data_dir;			/* Owned. dataDir / --data-dir. */
	uint16_t client_port;		/* clientPort / --port. */
	char *client_address;		/* Owned. clientPortAddress / --address. */
	int max_client_cnxns;		/* Per client IP; 0 = no limit (as ZooKeeper). */
	int min_session_timeout_ms;	/* Default 2 ticks. */
	int max_session_timeout_ms;	/* Default 20 ticks. */
	uint32_t jute_maxbuffer;	/* Largest frame accepted from a client. */
	int global_outstanding_limit;	/* Requests in flight over all connections. */
	int max_outstanding_per_conn;	/* Requests in flight on one connection. */
	char *fourlw_whitelist;		/* Owned. Comma/space separated words, or "*". */
	unsigned snap_count;		/* Raft entries between snapshots. */
	bool reconfig_enabled;		/* reconfigEnabled; false by default, as ZooKeeper. When
					   on, reconfig still needs the super user or skipACL. */
	char *super_digest;		/* Owned, NULL = none. superDigest / --super-digest:
					   "super:base64(sha1(super:password))". */
	bool skip_acl;			/* skipACL=yes: no ACL is checked (ZooKeeper's
					   zookeeper.skipACL). */
	uint16_t secure_client_port;	/* secureClientPort: TLS clients (tls.h); 0 = none. */
	char *ssl_keystore;		/* Owned. ssl.keyStore.location: PEM key + chain. */
	char *ssl_truststore;		/* Owned. ssl.trustStore.location: PEM CA bundle. */
	char *ssl_client_auth;		/* Owned. ssl.clientAuth: need (NULL), want, none. */
	bool ssl_quorum;		/* sslQuorum: mutual TLS on the Raft and peer ports
					   (replication/quorum_tls.h). */
	char *ssl_quorum_keystore;	/* Owned. ssl.quorum.keyStore.location: PEM key + chain. */
	char *ssl_quorum_truststore;	/* Owned. ssl.quorum.trustStore.location: PEM CA. */
	bool ssl_quorum_no_hostname_check; /* ssl.quorum.hostnameVerification=false. */
	char *sasl_keytab;		/* Owned. zkfsd.saslKeytab: Kerberos keytab; with it SASL
					   is GSSAPI (saslauth.c); NULL = DIGEST-MD5 or none. */
	char *sasl_principal;		/* Owned. zkfsd.saslPrincipal: service/host of the
					   keytab's key; NULL = zookeeper/<hostname>. */
	char *sasl_db;			/* Owned. zkfsd.saslDb: Cyrus sasldb of the SASL
					   (DIGEST-MD5) users; NULL = no SASL. */
	int container_check_ms;		/* Container/TTL collection period (ZooKeeper's
					   znode.container.checkIntervalMs). */
	enum zk_log_level log_level;	/* logLevel / --log-level. */
	char *log_file;			/* Owned, NULL = stderr. */
	char *pid_file;			/* Owned, NULL = none. */
	bool daemon;			/* --daemon. */
	uint64_t myid;			/* This server's N; 1 when standalone. */
	bool myid_set;			/* myid came from --myid, the file, or the myid file. */
	struct config_server *servers;	/* Owned. server.N lines in file order. */
	int n_servers;			/* 0 = standalone. */
	char *config_path;		/* Owned copy of -c, NULL when none. */
	struct config_http metrics;	/* metricsProvider.className/httpHost/httpPort. */
	struct config_http admin;	/* admin.enableServer/serverAddress/serverPort/commandURL. */
	/* Which settings were given explicitly (so config_finish knows what to derive). */
	bool min_timeout_set, max_timeout_set, port_set, address_set;
	int max_acl_entries;		/* zkfsd.maxAclEntries: longest ACL list accepted. */
	int max_watches;		/* zkfsd.maxWatchesPerSession. */
	int64_t max_watch_bytes;	/* zkfsd.maxWatchBytesPerSession: their path bytes. */
	size_t max_output_bytes;	/* zkfsd.maxOutputBytes: replies and events not yet taken
					   by their clients, over all connections. */
	uint32_t max_reply_bytes;	/* zkfsd.maxReplyBytes: largest multiRead/getChildren
					   reply; 0 (the default): jute.maxbuffer. */
	int test_stall_ms;		/* zkfsd.test.stallMs: a test hook, 0 (off) by default:
					   the four-letter word `stal` blocks the loop this long. */
};

/* Fill @cfg with the defaults. Owns nothing yet, but must be closed with config_close. */
void config_init(struct config *cfg);

/* Free what @cfg owns. Safe twice. */
void config_close(struct config *cfg);

/* Read the zoo.cfg-style file @path into @cfg (later keys override earlier ones).
 * @err: filled with "file:line: key: reason" on error (@err_len bytes).
 * Returns 0, -ENOENT/-EACCES... (cannot open) or -EINVAL (a bad line). */
int config_load_file(struct config *cfg, const char *path, char *err, size_t err_len);

/* Parse the whole command line: find -c and load that file first, then apply every flag on
 * top. Returns 0, 1 when --help was asked (usage is printed to stdout), or a negative errno
 * with @err filled. */
int config_parse_args(struct config *cfg, int argc, char **argv, char *err, size_t err_len);

/* Derive what depends on other settings (session timeout bounds from tickTime, myid from the
 * dataDir/myid file, client address and port from this server's server.N line when
 * clientPortAddress/clientPort did not set them) and check the whole
 * configuration. Returns 0 or -EINVAL with @err filled. */
int config_finish(struct config *cfg, char *err, size_t err_len);

/* True when four-letter word @word (4 bytes, not NUL-terminated) is in the whitelist. */
bool config_4lw_allowed(const struct config *cfg, const char *word);

/* Parse one "server.N=host:raft_port:peer_port[:role][;[addr:]port]" line (a reconfig
 * joining spec) into @out (owns its strings: config_server_close). Returns 0 or -EINVAL with
 * @err filled. */
int config_parse_server_line(const char *line, struct config_server *out, char *err,
			     size_t err_len);
void config_server_close(struct config_server *s);

/* Print the command-line usage to @out (a FILE *, void here to keep stdio out of the header). */
void config_usage(void *out);

#endif
