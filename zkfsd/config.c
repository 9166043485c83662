/* config: zoo.cfg parser, command-line flags and the myid file (see config.h).
 *
 * The file format is the subset of Java properties that zoo.cfg files use: one "key=value" per
 * line (spaces around both trimmed), '#' or '!' starting a comment line, blank lines ignored.
 * ZooKeeper (QuorumPeerConfig.parseProperties) rejects a value it cannot parse; so do we, with
 * the file, the line and the key. */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "zkfsd/config.h"

/* Where a value came from, for error messages: "zoo.cfg:12" or "--port". */
struct config_src {
	const char *where; /* File name, or NULL for the command line. */
	int line;	   /* Line in the file. */
	const char *key;   /* Key or flag name. */
	char *err;	   /* Error message destination. */
	size_t err_len;	   /* Its size. */
};

static int config_fail(const struct config_src *src, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int config_fail(const struct config_src *src, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (src->where != NULL)
		snprintf(src->err, src->err_len, "%s:%d: %s: %s", src->where, src->line, src->key,
			 msg);
	else
		snprintf(src->err, src->err_len, "%s: %s", src->key, msg);
	return -EINVAL;
}

static void config_http_defaults(struct config *cfg)
{
	strcpy(cfg->metrics.host, CONFIG_DEFAULT_HTTP_HOST);
	cfg->metrics.port = CONFIG_DEFAULT_METRICS_PORT;
	strcpy(cfg->admin.host, CONFIG_DEFAULT_HTTP_HOST);
	cfg->admin.port = CONFIG_DEFAULT_ADMIN_PORT;
	strcpy(cfg->admin.url, CONFIG_DEFAULT_ADMIN_URL);
}

void config_init(struct config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->tick_ms = CONFIG_DEFAULT_TICK_MS;
	cfg->client_port = CONFIG_DEFAULT_PORT;
	cfg->max_client_cnxns = CONFIG_DEFAULT_MAX_CNXNS;
	cfg->jute_maxbuffer = CONFIG_DEFAULT_MAXBUFFER;
	cfg->global_outstanding_limit = CONFIG_DEFAULT_OUTSTANDING;
	cfg->max_outstanding_per_conn = CONFIG_DEFAULT_PER_CONN;
	cfg->snap_count = CONFIG_DEFAULT_SNAP_COUNT;
	cfg->container_check_ms = CONFIG_DEFAULT_CONTAINER_CHECK_MS;
	cfg->max_acl_entries = CONFIG_DEFAULT_MAX_ACL_ENTRIES;
	cfg->max_watches = CONFIG_DEFAULT_MAX_WATCHES;
	cfg->max_watch_bytes = CONFIG_DEFAULT_MAX_WATCH_BYTES;
	cfg->max_output_bytes = CONFIG_DEFAULT_MAX_OUTPUT_BYTES;
	cfg->reconfig_enabled = false;
	cfg->log_level = ZK_LOG_LEVEL_INFO;
	config_http_defaults(cfg);
}

static void config_servers_free(struct config *cfg)
{
	for (int i = 0; i < cfg->n_servers; i++)
		config_server_close(&cfg->servers[i]);
	free(cfg->servers);
	cfg->servers = NULL;
	cfg->n_servers = 0;
}

void config_close(struct config *cfg)
{
	config_servers_free(cfg);
	free(cfg->data_dir);
	free(cfg->client_address);
	free(cfg->fourlw_whitelist);
	free(cfg->log_file);
	free(cfg->pid_file);
	free(cfg->super_digest);
	free(cfg->ssl_keystore);
	free(cfg->ssl_truststore);
	free(cfg->ssl_client_auth);
	free(cfg->ssl_quorum_keystore);
	free(cfg->ssl_quorum_truststore);
	free(cfg->sasl_db);
	free(cfg->sasl_keytab);
	free(cfg->sasl_principal);
	free(cfg->config_path);
	memset(cfg, 0, sizeof(*cfg));
}

/* ---- Value parsers ---------------------------------------------------------------------- */

static int parse_i64(const struct config_src *src, const char *v, int64_t min, int64_t max,
		     int64_t *out)
{
	char *end;
	long long n;

	errno = 0;
	n = strtoll(v, &end, 10);
	if (*v == '\0' || *end != '\0' || errno != 0)
		return config_fail(src, "expected an integer, got '%s'", v);
	if (n < min || n > max)
		return config_fail(src, "%lld is out of range [%" PRId64 ", %" PRId64 "]", n, min,
				   max);
	*out = n;
	return 0;
}

static int parse_int(const struct config_src *src, const char *v, int min, int max, int *out)
{
	int64_t n;
	int rv = parse_i64(src, v, min, max, &n);

	if (rv == 0)
		*out = (int)n;
	return rv;
}

static int parse_port(const struct config_src *src, const char *v, uint16_t *out)
{
	int n;
	int rv = parse_int(src, v, 1, 65535, &n);

	if (rv == 0)
		*out = (uint16_t)n;
	return rv;
}

static int set_str(char **dst, const char *v)
{
	char *copy = strdup(v);

	if (copy == NULL)
		return -ENOMEM;
	free(*dst);
	*dst = copy;
	return 0;
}

static int parse_nonempty_str(const struct config_src *src, const char *v, char **dst)
{
	if (*v == '\0')
		return config_fail(src, "empty value");
	return set_str(dst, v);
}

/* ---- server.N lines ----------------------------------------------------------------------- */

/* Split "host:port" at the last ':' (hosts may not contain one; IPv6 is written [::1]). */
static int parse_host_port(const struct config_src *src, char *s, char **host, uint16_t *port)
{
	char *colon = strrchr(s, ':');

	if (colon == NULL || colon == s)
		return config_fail(src, "expected host:port, got '%s'", s);
	*colon = '\0';
	*host = s;
	return parse_port(src, colon + 1, port);
}

/* The client part after ';': "[addr:]port". */
static int parse_server_client(const struct config_src *src, char *s, struct config_server *out)
{
	char *host = NULL;

	if (strchr(s, ':') == NULL) {
		host = "0.0.0.0";
		if (parse_port(src, s, &out->client_port) != 0)
			return -EINVAL;
	} else if (parse_host_port(src, s, &host, &out->client_port) != 0) {
		return -EINVAL;
	}
	out->client_address = strdup(host);
	return out->client_address ? 0 : -ENOMEM;
}

/* "host:raft_port:peer_port[:observer|:participant][;client]" into @out (owns strings). */
static int parse_server_value(const struct config_src *src, const char *value,
			      struct config_server *out)
{
	char *copy = strdup(value), *semi, *field[4];
	int n = 0, rv = -EINVAL;

	if (copy == NULL)
		return -ENOMEM;
	semi = strchr(copy, ';');
	if (semi != NULL)
		*semi++ = '\0';
	for (char *save = NULL, *tok = strtok_r(copy, ":", &save); tok != NULL;
	     tok = strtok_r(NULL, ":", &save)) {
		if (n == 4) {
			config_fail(src, "too many ':' fields in '%s'", value);
			goto out;
		}
		field[n++] = tok;
	}
	if (n < 3) {
		config_fail(src, "expected host:raft_port:peer_port[:observer|:participant], got '%s'",
			    value);
		goto out;
	}
	if (parse_port(src, field[1], &out->raft_port) != 0 ||
	    parse_port(src, field[2], &out->peer_port) != 0)
		goto out;
	if (n == 4 && strcmp(field[3], "observer") != 0 && strcmp(field[3], "participant") != 0) {
		config_fail(src, "role must be observer or participant, got '%s'", field[3]);
		goto out;
	}
	out->observer = n == 4 && strcmp(field[3], "observer") == 0;
	if (semi != NULL && parse_server_client(src, semi, out) != 0)
		goto out;
	out->host = strdup(field[0]);
	rv = out->host ? 0 : -ENOMEM;
out:
	free(copy);
	return rv;
}

static int config_add_server(struct config *cfg, const struct config_src *src, const char *key,
			     const char *value)
{
	struct config_server srv = {0}, *grown;
	int64_t id;

	if (parse_i64(src, key + strlen("server."), 0, INT64_MAX, &id) != 0)
		return -EINVAL;
	for (int i = 0; i < cfg->n_servers; i++)
		if (cfg->servers[i].id == (uint64_t)id)
			return config_fail(src, "server id %" PRId64 " given twice", id);
	srv.id = (uint64_t)id;
	if (parse_server_value(src, value, &srv) != 0) {
		free(srv.client_address);
		return -EINVAL;
	}
	grown = realloc(cfg->servers, sizeof(*grown) * (size_t)(cfg->n_servers + 1));
	if (grown == NULL) {
		free(srv.host);
		free(srv.client_address);
		return -ENOMEM;
	}
	cfg->servers = grown;
	cfg->servers[cfg->n_servers++] = srv;
	return 0;
}

int config_parse_server_line(const char *line, struct config_server *out, char *err,
			     size_t err_len)
{
	struct config_src src = {.key = "server", .err = err, .err_len = err_len};
	const char *eq = strchr(line, '=');
	char key[64];
	int64_t id;

	memset(out, 0, sizeof(*out));
	if (eq == NULL || strncmp(line, "server.", 7) != 0 || (size_t)(eq - line) >= sizeof(key))
		return config_fail(&src, "expected server.N=host:raft_port:peer_port..., got '%s'",
				   line);
	memcpy(key, line, (size_t)(eq - line));
	key[eq - line] = '\0';
	src.key = key;
	if (parse_i64(&src, key + 7, 1, INT64_MAX, &id) != 0)
		return -EINVAL;
	out->id = (uint64_t)id;
	if (parse_server_value(&src, eq + 1, out) != 0) {
		config_server_close(out);
		return -EINVAL;
	}
	return 0;
}

void config_server_close(struct config_server *s)
{
	free(s->host);
	free(s->client_address);
	s->host = s->client_address = NULL;
}

/* ---- Keys ---------------------------------------------------------------------------------- */

/* ZooKeeper keys zkfsd accepts and ignores (so an existing zoo.cfg loads). */
static const char *const ignored_keys[] = {
	"initLimit", "syncLimit", "dataLogDir",
	"autopurge.snapRetainCount", "autopurge.purgeInterval", "extendedTypesEnabled",
	"standaloneEnabled", "electionAlg",
	"peerType", "preAllocSize", "syncEnabled", "forceSync", "leaderServes",
	"cnxTimeout", "localSessionsEnabled", "serverCnxnFactory", "ssl.keyStore.password",
	"ssl.trustStore.password", "ssl.quorum.keyStore.password",
	"ssl.quorum.trustStore.password", "authProvider.x509", "authProvider.1", "authProvider.sasl",
	"localSessionsUpgradingEnabled", "quorumListenOnAllIPs", "maxCnxns",
	"clientPortListenBacklog", "audit.enable", "4lw.commands.enabled",
};

static bool config_ignored(const char *key)
{
	for (size_t i = 0; i < sizeof(ignored_keys) / sizeof(ignored_keys[0]); i++)
		if (strcmp(key, ignored_keys[i]) == 0)
			return true;
	return false;
}

static int config_set_log_level(struct config *cfg, const struct config_src *src, const char *v)
{
	if (zk_log_parse_level(v, &cfg->log_level) != 0)
		return config_fail(src, "expected error|warn|info|debug, got '%s'", v);
	return 0;
}

/* superDigest=super:base64(sha1("super:password")): the id whose `addauth digest` makes a
 * connection the super user (ZooKeeper's zookeeper.DigestAuthenticationProvider.superDigest). */
static int config_set_super_digest(struct config *cfg, const struct config_src *src,
				   const char *v)
{
	const char *colon = strchr(v, ':');

	if (colon == NULL || colon == v || colon[1] == '\0' || strchr(colon + 1, ':') != NULL)
		return config_fail(src, "expected user:base64-sha1, got a value without one ':'");
	return set_str(&cfg->super_digest, v);
}

/* A string key of struct config_http: it must fit @len bytes. */
static int config_http_str(const struct config_src *src, const char *v, char *dst, size_t len)
{
	if (v[0] == '\0' || strlen(v) >= len)
		return config_fail(src, "expected a value of 1 to %zu characters", len - 1);
	strcpy(dst, v);
	return 0;
}

/* metricsProvider.* and admin.* keys. */
static int config_set_http(struct config *cfg, const struct config_src *src, const char *key,
			   const char *v)
{
	struct config_http *h = key[0] == 'a' ? &cfg->admin : &cfg->metrics;
	const char *k = strchr(key, '.') + 1;

	if (strcmp(k, "className") == 0) {
		h->enabled = v[0] != '\0';
		return 0;
	}
	if (strcmp(k, "enableServer") == 0) {
		if (strcmp(v, "true") != 0 && strcmp(v, "false") != 0)
			return config_fail(src, "expected true or false, got '%s'", v);
		h->enabled = strcmp(v, "true") == 0;
		return 0;
	}
	if (strcmp(k, "httpHost") == 0 || strcmp(k, "serverAddress") == 0)
		return config_http_str(src, v, h->host, sizeof(h->host));
	if (strcmp(k, "httpPort") == 0 || strcmp(k, "serverPort") == 0)
		return parse_port(src, v, &h->port);
	if (strcmp(k, "idleTimeout") == 0 || strcmp(k, "portUnification") == 0 ||
	    strcmp(k, "exportJvmInfo") == 0 || strcmp(k, "numWorkerThreads") == 0 ||
	    strcmp(k, "maxQueueSize") == 0 || strcmp(k, "workerShutdownTimeoutMs") == 0)
		return 0; /* ZooKeeper's tuning of its Jetty and Prometheus threads. */
	if (strcmp(k, "commandURL") == 0 && v[0] == '/')
		return config_http_str(src, v, h->url, sizeof(h->url));
	return config_fail(src, strcmp(k, "commandURL") == 0 ? "must start with '/'"
							      : "unknown key");
}

static int parse_bool(const struct config_src *src, const char *v, bool *out)
{
	if (strcmp(v, "true") != 0 && strcmp(v, "false") != 0)
		return config_fail(src, "expected true or false, got '%s'", v);
	*out = strcmp(v, "true") == 0;
	return 0;
}

/* The quorum TLS keys (replication/quorum_tls.h): ZooKeeper 3.8's names, PEM stores only. */
static int config_set_quorum_tls(struct config *cfg, const struct config_src *src,
				 const char *key, const char *v)
{
	bool check = true;
	int rv;

	if (strcmp(key, "sslQuorum") == 0)
		return parse_bool(src, v, &cfg->ssl_quorum);
	if (strcmp(key, "ssl.quorum.keyStore.location") == 0)
		return parse_nonempty_str(src, v, &cfg->ssl_quorum_keystore);
	if (strcmp(key, "ssl.quorum.trustStore.location") == 0)
		return parse_nonempty_str(src, v, &cfg->ssl_quorum_truststore);
	if (strcmp(key, "ssl.quorum.keyStore.type") == 0 ||
	    strcmp(key, "ssl.quorum.trustStore.type") == 0)
		return strcasecmp(v, "PEM") == 0 ? 0 : config_fail(src, "only PEM is supported");
	if (strcmp(key, "ssl.quorum.hostnameVerification") == 0) {
		rv = parse_bool(src, v, &check);
		cfg->ssl_quorum_no_hostname_check = !check;
		return rv;
	}
	return config_ignored(key) ? 0 : config_fail(src, "unknown key");
}

/* The client TLS keys (tls.h): ZooKeeper 3.8's names, PEM stores only. */
static int config_set_tls(struct config *cfg, const struct config_src *src, const char *key,
			  const char *v)
{
	if (strncmp(key, "ssl.quorum.", 11) == 0 || strcmp(key, "sslQuorum") == 0)
		return config_set_quorum_tls(cfg, src, key, v);
	if (strcmp(key, "secureClientPort") == 0)
		return parse_port(src, v, &cfg->secure_client_port);
	if (strcmp(key, "ssl.keyStore.location") == 0)
		return parse_nonempty_str(src, v, &cfg->ssl_keystore);
	if (strcmp(key, "ssl.trustStore.location") == 0)
		return parse_nonempty_str(src, v, &cfg->ssl_truststore);
	if (strcmp(key, "ssl.keyStore.type") == 0 || strcmp(key, "ssl.trustStore.type") == 0)
		return strcasecmp(v, "PEM") == 0 ? 0 : config_fail(src, "only PEM is supported");
	if (strcmp(key, "ssl.clientAuth") == 0) {
		if (strcmp(v, "need") != 0 && strcmp(v, "want") != 0 && strcmp(v, "none") != 0)
			return config_fail(src, "expected need, want or none, got '%s'", v);
		return set_str(&cfg->ssl_client_auth, v);
	}
	return config_ignored(key) ? 0 : config_fail(src, "unknown key");
}

/* Apply one key of the file (or a flag mapped to the same key). */
static int config_set(struct config *cfg, const struct config_src *src, const char *key,
		      const char *v)
{
	int64_t n;
	int rv;

	if (strcmp(key, "tickTime") == 0)
		return parse_int(src, v, 1, 3600000, &cfg->tick_ms);
	if (strcmp(key, "dataDir") == 0)
		return parse_nonempty_str(src, v, &cfg->data_dir);
	if (strcmp(key, "clientPort") == 0) {
		cfg->port_set = true;
		return parse_port(src, v, &cfg->client_port);
	}
	if (strcmp(key, "clientPortAddress") == 0) {
		cfg->address_set = true;
		return parse_nonempty_str(src, v, &cfg->client_address);
	}
	if (strcmp(key, "maxClientCnxns") == 0)
		return parse_int(src, v, 0, INT_MAX, &cfg->max_client_cnxns);
	if (strcmp(key, "minSessionTimeout") == 0) {
		cfg->min_timeout_set = strcmp(v, "-1") != 0;
		return parse_int(src, v, -1, INT_MAX, &cfg->min_session_timeout_ms);
	}
	if (strcmp(key, "maxSessionTimeout") == 0) {
		cfg->max_timeout_set = strcmp(v, "-1") != 0;
		return parse_int(src, v, -1, INT_MAX, &cfg->max_session_timeout_ms);
	}
	if (strcmp(key, "jute.maxbuffer") == 0) {
		rv = parse_i64(src, v, 1024, INT32_MAX, &n);
		cfg->jute_maxbuffer = (uint32_t)n;
		return rv;
	}
	if (strcmp(key, "globalOutstandingLimit") == 0)
		return parse_int(src, v, 1, INT_MAX, &cfg->global_outstanding_limit);
	if (strcmp(key, "maxOutstandingPerConnection") == 0)
		return parse_int(src, v, 1, INT_MAX, &cfg->max_outstanding_per_conn);
	if (strcmp(key, "4lw.commands.whitelist") == 0)
		return set_str(&cfg->fourlw_whitelist, v);
	if (strcmp(key, "snapCount") == 0) {
		rv = parse_i64(src, v, 2, UINT32_MAX, &n);
		cfg->snap_count = (unsigned)n;
		return rv;
	}
	if (strcmp(key, "reconfigEnabled") == 0) {
		if (strcmp(v, "true") != 0 && strcmp(v, "false") != 0)
			return config_fail(src, "expected true or false, got '%s'", v);
		cfg->reconfig_enabled = strcmp(v, "true") == 0;
		return 0;
	}
	if (strcmp(key, "zkfsd.maxAclEntries") == 0)
		return parse_int(src, v, 1, INT32_MAX / 16, &cfg->max_acl_entries);
	if (strcmp(key, "zkfsd.maxWatchesPerSession") == 0)
		return parse_int(src, v, 1, INT_MAX, &cfg->max_watches);
	if (strcmp(key, "zkfsd.maxWatchBytesPerSession") == 0)
		return parse_i64(src, v, 1, INT64_MAX, &cfg->max_watch_bytes);
	if (strcmp(key, "zkfsd.maxOutputBytes") == 0) {
		rv = parse_i64(src, v, 1 << 20, INT64_MAX, &n);
		cfg->max_output_bytes = (size_t)n;
		return rv;
	}
	if (strcmp(key, "zkfsd.maxReplyBytes") == 0) {
		rv = parse_i64(src, v, 0, INT32_MAX, &n);
		cfg->max_reply_bytes = (uint32_t)n;
		return rv;
	}
	if (strcmp(key, "zkfsd.test.stallMs") == 0)
		return parse_int(src, v, 0, 60000, &cfg->test_stall_ms);
	if (strncmp(key, "ssl.", 4) == 0 || strcmp(key, "secureClientPort") == 0 ||
	    strcmp(key, "sslQuorum") == 0)
		return config_set_tls(cfg, src, key, v);
	if (strcmp(key, "zkfsd.saslDb") == 0)
		return parse_nonempty_str(src, v, &cfg->sasl_db);
	if (strcmp(key, "zkfsd.saslKeytab") == 0)
		return parse_nonempty_str(src, v, &cfg->sasl_keytab);
	if (strcmp(key, "zkfsd.saslPrincipal") == 0) {
		if (strchr(v, '/') == NULL)
			return config_fail(src, "expected service/host, got '%s'", v);
		return parse_nonempty_str(src, v, &cfg->sasl_principal);
	}
	if (strcmp(key, "superDigest") == 0)
		return config_set_super_digest(cfg, src, v);
	if (strcmp(key, "skipACL") == 0) {
		/* ZooKeeper's zookeeper.skipACL: "yes" skips every ACL check, anything else not. */
		cfg->skip_acl = strcmp(v, "yes") == 0;
		return 0;
	}
	if (strcmp(key, "znode.container.checkIntervalMs") == 0)
		return parse_int(src, v, 1, INT_MAX, &cfg->container_check_ms);
	if (strcmp(key, "logLevel") == 0)
		return config_set_log_level(cfg, src, v);
	if (strcmp(key, "logFile") == 0)
		return parse_nonempty_str(src, v, &cfg->log_file);
	if (strcmp(key, "myid") == 0) {
		cfg->myid_set = true;
		rv = parse_i64(src, v, 0, INT64_MAX, &n);
		cfg->myid = (uint64_t)n;
		return rv;
	}
	if (strncmp(key, "server.", 7) == 0)
		return config_add_server(cfg, src, key, v);
	if (strncmp(key, "admin.", 6) == 0 || strncmp(key, "metricsProvider.", 16) == 0)
		return config_set_http(cfg, src, key, v);
	return config_ignored(key) ? 0 : config_fail(src, "unknown key");
}

/* ---- The file ----------------------------------------------------------------------------- */

static char *trim(char *s)
{
	char *end;

	while (isspace((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return s;
}

static int config_load_line(struct config *cfg, struct config_src *src, char *line)
{
	char *s = trim(line), *eq, *key, *value;

	if (*s == '\0' || *s == '#' || *s == '!')
		return 0;
	eq = strchr(s, '=');
	if (eq == NULL) {
		src->key = s;
		return config_fail(src, "expected key=value");
	}
	*eq = '\0';
	key = trim(s);
	value = trim(eq + 1);
	src->key = key;
	if (*key == '\0')
		return config_fail(src, "empty key");
	return config_set(cfg, src, key, value);
}

int config_load_file(struct config *cfg, const char *path, char *err, size_t err_len)
{
	struct config_src src = {.where = path, .err = err, .err_len = err_len};
	char *line = NULL;
	size_t cap = 0;
	FILE *f;
	int rv = 0;

	f = fopen(path, "r");
	if (f == NULL) {
		rv = -errno;
		snprintf(err, err_len, "%s: cannot open: %s", path, strerror(errno));
		return rv;
	}
	while (rv == 0 && getline(&line, &cap, f) >= 0) {
		src.line++;
		rv = config_load_line(cfg, &src, line);
	}
	if (rv == 0 && ferror(f)) {
		/* getline's -1 is also a read error: a half-read file must not start a server. */
		rv = errno != 0 ? -errno : -EIO;
		snprintf(err, err_len, "%s: cannot read after line %d: %s", path, src.line,
			 strerror(-rv));
	}
	free(line);
	fclose(f);
	return rv;
}

/* ---- Command line --------------------------------------------------------------------------- */

enum {
	OPT_PORT = 256,
	OPT_ADDRESS,
	OPT_DATA_DIR,
	OPT_MYID,
	OPT_LOG_FILE,
	OPT_LOG_LEVEL,
	OPT_PID_FILE,
	OPT_DAEMON,
	OPT_SUPER_DIGEST,
};

static const struct option long_options[] = {
	{"config", required_argument, NULL, 'c'},
	{"port", required_argument, NULL, OPT_PORT},
	{"address", required_argument, NULL, OPT_ADDRESS},
	{"data-dir", required_argument, NULL, OPT_DATA_DIR},
	{"myid", required_argument, NULL, OPT_MYID},
	{"log-file", required_argument, NULL, OPT_LOG_FILE},
	{"log-level", required_argument, NULL, OPT_LOG_LEVEL},
	{"pid-file", required_argument, NULL, OPT_PID_FILE},
	{"daemon", no_argument, NULL, OPT_DAEMON},
	{"super-digest", required_argument, NULL, OPT_SUPER_DIGEST},
	{"help", no_argument, NULL, 'h'},
	{NULL, 0, NULL, 0},
};

void config_usage(void *out)
{
	fprintf(out,
		"usage: zkfsd [-c zoo.cfg] [--port N] [--address A] [--data-dir D] [--myid N]\n"
		"             [--log-file F] [--log-level error|warn|info|debug] [--pid-file F]\n"
		"             [--daemon] [--super-digest super:BASE64SHA1]\n"
		"Flags override the config file; with neither, zkfsd serves 127.0.0.1:2181 with\n"
		"its data in ./zkfsd-data.\n");
}

/* Each flag that takes a value: its name for error messages and the zoo.cfg key it is
 * another spelling of (parsed and checked by config_set), or NULL when it has none. */
static const struct {
	int opt;	  /* OPT_*. */
	const char *flag; /* "--name". */
	const char *key;  /* The zoo.cfg key, or NULL. */
} flag_keys[] = {
	{OPT_PORT, "--port", "clientPort"},
	{OPT_ADDRESS, "--address", "clientPortAddress"},
	{OPT_DATA_DIR, "--data-dir", "dataDir"},
	{OPT_MYID, "--myid", "myid"},
	{OPT_LOG_FILE, "--log-file", "logFile"},
	{OPT_LOG_LEVEL, "--log-level", "logLevel"},
	{OPT_PID_FILE, "--pid-file", NULL},
	{OPT_SUPER_DIGEST, "--super-digest", "superDigest"},
};

/* Apply one flag (not -c, which was handled first). */
static int config_apply_flag(struct config *cfg, struct config_src *src, int opt, const char *arg)
{
	if (opt == OPT_DAEMON) {
		cfg->daemon = true;
		return 0;
	}
	for (size_t i = 0; i < sizeof(flag_keys) / sizeof(flag_keys[0]); i++) {
		if (flag_keys[i].opt != opt)
			continue;
		src->key = flag_keys[i].flag;
		if (flag_keys[i].key != NULL)
			return config_set(cfg, src, flag_keys[i].key, arg);
		return parse_nonempty_str(src, arg, &cfg->pid_file); /* The one flag-only value. */
	}
	return -EINVAL;
}

/* First pass: only -c (and --help), so the file is loaded before the flags override it. */
static int config_find_file(struct config *cfg, int argc, char **argv, char *err, size_t err_len)
{
	int opt;

	optind = 0;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "c:h", long_options, NULL)) != -1) {
		if (opt == 'h') {
			config_usage(stdout);
			return 1;
		}
		if (opt == '?') {
			snprintf(err, err_len, "%s: unknown option or missing argument",
				 argv[optind - 1]);
			return -EINVAL;
		}
		if (opt == 'c' && set_str(&cfg->config_path, optarg) != 0)
			return -ENOMEM;
	}
	if (optind < argc) {
		snprintf(err, err_len, "%s: unexpected argument", argv[optind]);
		return -EINVAL;
	}
	return 0;
}

int config_parse_args(struct config *cfg, int argc, char **argv, char *err, size_t err_len)
{
	struct config_src src = {.err = err, .err_len = err_len};
	int opt, rv;

	rv = config_find_file(cfg, argc, argv, err, err_len);
	if (rv != 0)
		return rv;
	if (cfg->config_path != NULL) {
		rv = config_load_file(cfg, cfg->config_path, err, err_len);
		if (rv != 0)
			return rv;
	}
	optind = 0;
	while ((opt = getopt_long(argc, argv, "c:h", long_options, NULL)) != -1) {
		if (opt == 'c')
			continue;
		rv = config_apply_flag(cfg, &src, opt, optarg);
		if (rv != 0)
			return rv;
	}
	return 0;
}

/* ---- Derived settings and checks ----------------------------------------------------------- */

/* Read dataDir/myid when it exists (ZooKeeper's format: the id as decimal text). */
static int config_read_myid(struct config *cfg, char *err, size_t err_len)
{
	char path[PATH_MAX], buf[32];
	struct config_src src = {.where = path, .line = 1, .key = "myid", .err = err,
				 .err_len = err_len};
	int64_t id;
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "%s/myid", cfg->data_dir);
	f = fopen(path, "r");
	if (f == NULL)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	if (parse_i64(&src, trim(buf), 0, INT64_MAX, &id) != 0)
		return -EINVAL;
	cfg->myid = (uint64_t)id;
	cfg->myid_set = true;
	return 0;
}

static const struct config_server *config_self(const struct config *cfg)
{
	for (int i = 0; i < cfg->n_servers; i++)
		if (cfg->servers[i].id == cfg->myid)
			return &cfg->servers[i];
	return NULL;
}

static int config_check_ensemble(struct config *cfg, char *err, size_t err_len)
{
	const struct config_server *self;

	if (cfg->n_servers == 0) {
		if (!cfg->myid_set)
			cfg->myid = 1;
		return 0;
	}
	if (!cfg->myid_set) {
		snprintf(err, err_len, "myid: server.N lines are given but no --myid nor %s/myid",
			 cfg->data_dir);
		return -EINVAL;
	}
	self = config_self(cfg);
	if (self == NULL) {
		snprintf(err, err_len, "myid: %" PRIu64 " has no server.%" PRIu64 " line",
			 cfg->myid, cfg->myid);
		return -EINVAL;
	}
	/* ZooKeeper binds the client port of this server's own line ("addr:port", or
	 * 0.0.0.0 for a bare port) unless clientPort/clientPortAddress say otherwise. */
	if (!cfg->port_set && self->client_port != 0)
		cfg->client_port = self->client_port;
	if (!cfg->address_set && self->client_address != NULL &&
	    set_str(&cfg->client_address, self->client_address) != 0) {
		snprintf(err, err_len, "out of memory");
		return -ENOMEM;
	}
	return 0;
}

static int config_check_timeouts(struct config *cfg, char *err, size_t err_len)
{
	if (!cfg->min_timeout_set)
		cfg->min_session_timeout_ms = 2 * cfg->tick_ms;
	if (!cfg->max_timeout_set)
		cfg->max_session_timeout_ms = 20 * cfg->tick_ms;
	if (cfg->min_session_timeout_ms > cfg->max_session_timeout_ms) {
		snprintf(err, err_len,
			 "minSessionTimeout: %d is larger than maxSessionTimeout %d",
			 cfg->min_session_timeout_ms, cfg->max_session_timeout_ms);
		return -EINVAL;
	}
	return 0;
}

int config_finish(struct config *cfg, char *err, size_t err_len)
{
	int rv;

	if ((cfg->data_dir == NULL && set_str(&cfg->data_dir, CONFIG_DEFAULT_DATA_DIR) != 0) ||
	    (cfg->client_address == NULL &&
	     set_str(&cfg->client_address, CONFIG_DEFAULT_ADDRESS) != 0) ||
	    (cfg->fourlw_whitelist == NULL &&
	     set_str(&cfg->fourlw_whitelist, CONFIG_DEFAULT_4LW_WHITELIST) != 0)) {
		snprintf(err, err_len, "out of memory");
		return -ENOMEM;
	}
	if (!cfg->myid_set) {
		rv = config_read_myid(cfg, err, err_len);
		if (rv != 0)
			return rv;
	}
	rv = config_check_ensemble(cfg, err, err_len);
	if (rv != 0)
		return rv;
	/* Never fall back to clear quorum traffic when TLS was asked for. */
	if (cfg->ssl_quorum &&
	    (cfg->ssl_quorum_keystore == NULL || cfg->ssl_quorum_truststore == NULL)) {
		snprintf(err, err_len, "sslQuorum=true needs ssl.quorum.keyStore.location and "
			 "ssl.quorum.trustStore.location");
		return -EINVAL;
	}
	return config_check_timeouts(cfg, err, err_len);
}

bool config_4lw_allowed(const struct config *cfg, const char *word)
{
	const char *w = cfg->fourlw_whitelist;

	if (w == NULL)
		return true;
	while (*w != '\0') {
		size_t n;

		w += strspn(w, ", \t");
		n = strcspn(w, ", \t");
		if ((n == 1 && *w == '*') || (n == 4 && memcmp(w, word, 4) == 0))
			return true;
		w += n;
	}
	return false;
}
