/* Unit tests of zkfsd/config.c: zoo.cfg keys, server.N lines, flags over the file, myid file,
 * derived session timeouts, and one error per kind of bad line naming file:line and key. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "zkfsd/config.h"

struct fixture {
	char dir[64];	     /* Temp dir holding zoo.cfg and a data dir. */
	char cfg_path[128];  /* dir/zoo.cfg */
	struct config cfg;   /* Under test. */
	char err[512];	     /* Last error message. */
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	strcpy(f->dir, "/tmp/test_config.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->cfg_path, sizeof(f->cfg_path), "%s/zoo.cfg", f->dir);
	config_init(&f->cfg);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];

	config_close(&f->cfg);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static void write_file(const char *path, const char *text)
{
	FILE *out = fopen(path, "w");

	assert_non_null(out);
	fputs(text, out);
	fclose(out);
}

/* Write @text as zoo.cfg and load it; returns config_load_file's code. */
static int load(struct fixture *f, const char *text)
{
	write_file(f->cfg_path, text);
	return config_load_file(&f->cfg, f->cfg_path, f->err, sizeof(f->err));
}

/* Parse a NULL-terminated argv (argv[0] is added). */
static int parse_args(struct fixture *f, ...)
{
	char *argv[32] = {"zkfsd"};
	int argc = 1;
	va_list ap;

	va_start(ap, f);
	while ((argv[argc] = va_arg(ap, char *)) != NULL)
		argc++;
	va_end(ap);
	return config_parse_args(&f->cfg, argc, argv, f->err, sizeof(f->err));
}

#define ASSERT_BAD(f, text, needle)                                       \
	do {                                                              \
		assert_int_equal(load(f, text), -EINVAL);                 \
		if (strstr((f)->err, needle) == NULL)                     \
			fail_msg("error '%s' lacks '%s'", (f)->err, needle); \
	} while (0)

/* With nothing given, the defaults are ZooKeeper's and the README's. */
static void test_defaults(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(config_finish(&f->cfg, f->err, sizeof(f->err)), 0);
	assert_int_equal(f->cfg.client_port, 2181);
	assert_string_equal(f->cfg.client_address, "127.0.0.1");
	assert_string_equal(f->cfg.data_dir, "./zkfsd-data");
	assert_int_equal(f->cfg.min_session_timeout_ms, 4000);
	assert_int_equal(f->cfg.max_session_timeout_ms, 40000);
	assert_int_equal(f->cfg.jute_maxbuffer, 0xfffff);
	assert_int_equal(f->cfg.max_client_cnxns, 60);
	assert_int_equal(f->cfg.myid, 1);
	assert_int_equal(f->cfg.n_servers, 0);
}

/* Every key of a typical zoo.cfg is read; comments, blanks and spaces around '=' are fine. */
static void test_full_file(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(load(f, "# comment\n\n! also\n"
				 "tickTime = 500\n"
				 "dataDir=/var/lib/zk\n"
				 "clientPort=21851\n"
				 "clientPortAddress=0.0.0.0\n"
				 "maxClientCnxns=7\n"
				 "jute.maxbuffer=4096\n"
				 "globalOutstandingLimit=99\n"
				 "4lw.commands.whitelist=ruok, srvr\n"
				 "snapCount=1000\n"
				 "logLevel=debug\n"
				 "initLimit=5\n"
				 "admin.enableServer=false\n"),
			 0);
	assert_int_equal(config_finish(&f->cfg, f->err, sizeof(f->err)), 0);
	assert_int_equal(f->cfg.tick_ms, 500);
	assert_string_equal(f->cfg.data_dir, "/var/lib/zk");
	assert_int_equal(f->cfg.client_port, 21851);
	assert_string_equal(f->cfg.client_address, "0.0.0.0");
	assert_int_equal(f->cfg.max_client_cnxns, 7);
	assert_int_equal(f->cfg.jute_maxbuffer, 4096);
	assert_int_equal(f->cfg.global_outstanding_limit, 99);
	assert_int_equal(f->cfg.snap_count, 1000);
	assert_int_equal(f->cfg.log_level, ZK_LOG_LEVEL_DEBUG);
	assert_int_equal(f->cfg.min_session_timeout_ms, 1000);
	assert_int_equal(f->cfg.max_session_timeout_ms, 10000);
	assert_true(config_4lw_allowed(&f->cfg, "ruok"));
	assert_true(config_4lw_allowed(&f->cfg, "srvr"));
	assert_false(config_4lw_allowed(&f->cfg, "dump"));
}

/* Explicit session timeouts are kept, and min > max is refused. */
static void test_session_timeouts(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(load(f, "minSessionTimeout=3000\nmaxSessionTimeout=9000\n"), 0);
	assert_int_equal(config_finish(&f->cfg, f->err, sizeof(f->err)), 0);
	assert_int_equal(f->cfg.min_session_timeout_ms, 3000);
	assert_int_equal(f->cfg.max_session_timeout_ms, 9000);
	assert_int_equal(load(f, "minSessionTimeout=9001\n"), 0);
	assert_int_equal(config_finish(&f->cfg, f->err, sizeof(f->err)), -EINVAL);
	assert_non_null(strstr(f->err, "minSessionTimeout"));
}

/* server.N lines in every form ZooKeeper allows, and the client port taken from ours. */
static void test_server_lines(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(load(f, "server.1=10.0.0.1:2888:3888\n"
				 "server.2=10.0.0.2:2888:3888:participant;21852\n"
				 "server.3=10.0.0.3:2888:3888:observer;127.0.0.3:2181\n"),
			 0);
	assert_int_equal(parse_args(f, "--myid", "2", NULL), 0);
	assert_int_equal(config_finish(&f->cfg, f->err, sizeof(f->err)), 0);
	assert_int_equal(f->cfg.n_servers, 3);
	assert_string_equal(f->cfg.servers[0].host, "10.0.0.1");
	assert_int_equal(f->cfg.servers[0].raft_port, 2888);
	assert_int_equal(f->cfg.servers[0].peer_port, 3888);
	assert_false(f->cfg.servers[1].observer);
	assert_int_equal(f->cfg.servers[1].client_port, 21852);
	assert_true(f->cfg.servers[2].observer);
	assert_string_equal(f->cfg.servers[2].client_address, "127.0.0.3");
	assert_int_equal(f->cfg.client_port, 21852);
}

/* An ensemble needs our id: from --myid, or the myid file in dataDir; and a line for it. */
static void test_myid_file(void **state)
{
	struct fixture *f = *state;
	char path[160], line[160];

	snprintf(line, sizeof(line), "dataDir=%s\nserver.5=h:1:2\n", f->dir);
	assert_int_equal(load(f, line), 0);
	assert_int_equal(config_finish(&f->cfg, f->err, sizeof(f->err)), -EINVAL);
	assert_non_null(strstr(f->err, "myid"));
	snprintf(path, sizeof(path), "%s/myid", f->dir);
	write_file(path, "5\n");
	assert_int_equal(config_finish(&f->cfg, f->err, sizeof(f->err)), 0);
	assert_int_equal(f->cfg.myid, 5);
	write_file(path, "five\n");
	f->cfg.myid_set = false;
	assert_int_equal(config_finish(&f->cfg, f->err, sizeof(f->err)), -EINVAL);
	assert_non_null(strstr(f->err, "/myid:1: myid"));
}

/* Flags override the file whatever their order relative to -c. */
static void test_flags_override_file(void **state)
{
	struct fixture *f = *state;

	write_file(f->cfg_path, "clientPort=1111\ndataDir=/a\n");
	assert_int_equal(parse_args(f, "--port", "21853", "-c", f->cfg_path, "--data-dir", "/b",
				    "--log-level", "warn", "--pid-file", "/tmp/p", "--daemon",
				    "--address", "127.0.0.9", "--log-file", "/tmp/l", NULL),
			 0);
	assert_int_equal(f->cfg.client_port, 21853);
	assert_string_equal(f->cfg.data_dir, "/b");
	assert_string_equal(f->cfg.client_address, "127.0.0.9");
	assert_string_equal(f->cfg.pid_file, "/tmp/p");
	assert_string_equal(f->cfg.log_file, "/tmp/l");
	assert_int_equal(f->cfg.log_level, ZK_LOG_LEVEL_WARN);
	assert_true(f->cfg.daemon);
}

/* Bad flags: unknown option, bad value, stray argument, missing file. */
static void test_bad_flags(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(parse_args(f, "--bogus", NULL), -EINVAL);
	assert_int_equal(parse_args(f, "--port", "0", NULL), -EINVAL);
	assert_non_null(strstr(f->err, "--port"));
	assert_int_equal(parse_args(f, "--log-level", "loud", NULL), -EINVAL);
	assert_non_null(strstr(f->err, "--log-level"));
	assert_int_equal(parse_args(f, "stray", NULL), -EINVAL);
	assert_int_equal(parse_args(f, "-c", "/nonexistent/zoo.cfg", NULL), -ENOENT);
	assert_non_null(strstr(f->err, "/nonexistent/zoo.cfg"));
}

/* Each kind of bad line is refused with file:line and the key. */
static void test_bad_lines(void **state)
{
	struct fixture *f = *state;

	ASSERT_BAD(f, "tickTime=2000\nclientPort=abc\n", "zoo.cfg:2: clientPort: expected");
	ASSERT_BAD(f, "clientPort=70000\n", "zoo.cfg:1: clientPort:");
	ASSERT_BAD(f, "tickTime=0\n", "tickTime:");
	ASSERT_BAD(f, "tickTime=12abc\n", "tickTime: expected an integer");
	ASSERT_BAD(f, "just words\n", "zoo.cfg:1: just words: expected key=value");
	ASSERT_BAD(f, "=5\n", "empty key");
	ASSERT_BAD(f, "tickTme=5\n", "tickTme: unknown key");
	ASSERT_BAD(f, "dataDir=\n", "dataDir: empty value");
	ASSERT_BAD(f, "jute.maxbuffer=-1\n", "jute.maxbuffer:");
	ASSERT_BAD(f, "logLevel=chatty\n", "logLevel: expected error|warn|info|debug");
	ASSERT_BAD(f, "server.x=h:1:2\n", "server.x: expected an integer");
	ASSERT_BAD(f, "server.1=h:1\n", "server.1: expected host:raft_port:peer_port");
	ASSERT_BAD(f, "server.1=h:1:2:leader\n", "role must be observer or participant");
	ASSERT_BAD(f, "server.1=h:1:99999\n", "server.1: 99999 is out of range");
	ASSERT_BAD(f, "server.1=h:1:2;h:x\n", "server.1: expected an integer");
	ASSERT_BAD(f, "server.1=h:1:2:observer:9\n", "too many");
	ASSERT_BAD(f, "server.1=a:1:2\nserver.1=b:1:2\n", "zoo.cfg:2: server.1: server id 1 given");
}

/* A config path that opens but cannot be read (a directory) is an error, not an empty file. */
static void test_unreadable_file(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(config_load_file(&f->cfg, f->dir, f->err, sizeof(f->err)), -EISDIR);
	if (strstr(f->err, "cannot read") == NULL)
		fail_msg("error '%s' lacks 'cannot read'", f->err);
}

/* A reconfig joining spec parses like a server.N line; bad ones are refused with a reason. */
static void test_server_spec(void **state)
{
	struct fixture *f = *state;
	struct config_server srv;

	assert_int_equal(config_parse_server_line("server.4=10.0.0.4:1:2:observer;10.0.0.4:2181",
						  &srv, f->err, sizeof(f->err)),
			 0);
	assert_int_equal(srv.id, 4);
	assert_true(srv.observer);
	assert_int_equal(srv.client_port, 2181);
	config_server_close(&srv);
	assert_int_equal(config_parse_server_line("server.4=h:1", &srv, f->err, sizeof(f->err)),
			 -EINVAL);
	assert_non_null(strstr(f->err, "server.4"));
	assert_int_equal(config_parse_server_line("4=h:1:2", &srv, f->err, sizeof(f->err)),
			 -EINVAL);
	assert_int_equal(config_parse_server_line("server.0=h:1:2", &srv, f->err, sizeof(f->err)),
			 -EINVAL);
}

/* reconfigEnabled takes true/false only. */
static void test_reconfig_enabled(void **state)
{
	struct fixture *f = *state;

	assert_false(f->cfg.reconfig_enabled);
	assert_int_equal(load(f, "reconfigEnabled=true\n"), 0);
	assert_true(f->cfg.reconfig_enabled);
	assert_int_equal(load(f, "reconfigEnabled=false\n"), 0);
	assert_false(f->cfg.reconfig_enabled);
	ASSERT_BAD(f, "reconfigEnabled=yes\n", "reconfigEnabled: expected true or false");
}

/* The default whitelist (srvr,ruok,mntr,conf,dgst) leaves dump out; "*" allows every word; an
 * empty one allows none. */
static void test_whitelist(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(config_finish(&f->cfg, f->err, sizeof(f->err)), 0);
	assert_false(config_4lw_allowed(&f->cfg, "dump"));
	assert_true(config_4lw_allowed(&f->cfg, "mntr"));
	assert_int_equal(load(f, "4lw.commands.whitelist=*\n"), 0);
	assert_true(config_4lw_allowed(&f->cfg, "dump"));
	assert_int_equal(load(f, "4lw.commands.whitelist=\n"), 0);
	assert_false(config_4lw_allowed(&f->cfg, "ruok"));
}

/* The security keys: superDigest needs user:digest, skipACL takes "yes", the TLS keys take
 * ZooKeeper's names with PEM stores only, zkfsd.saslDb a path. */
static void test_security_keys(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(load(f, "superDigest=super:UOetC+p+nL8/irik5TzqjyWjAig=\n"
				 "skipACL=yes\nsecureClientPort=2281\n"
				 "ssl.keyStore.location=/k.pem\nssl.keyStore.type=PEM\n"
				 "ssl.trustStore.location=/ca.crt\nssl.clientAuth=want\n"
				 "zkfsd.saslDb=/db\n"),
			 0);
	assert_string_equal(f->cfg.super_digest, "super:UOetC+p+nL8/irik5TzqjyWjAig=");
	assert_true(f->cfg.skip_acl);
	assert_int_equal(f->cfg.secure_client_port, 2281);
	assert_string_equal(f->cfg.ssl_keystore, "/k.pem");
	assert_string_equal(f->cfg.ssl_truststore, "/ca.crt");
	assert_string_equal(f->cfg.ssl_client_auth, "want");
	assert_string_equal(f->cfg.sasl_db, "/db");
	ASSERT_BAD(f, "superDigest=nocolon\n", "superDigest: expected user:base64-sha1");
	ASSERT_BAD(f, "ssl.keyStore.type=JKS\n", "ssl.keyStore.type: only PEM is supported");
	ASSERT_BAD(f, "ssl.clientAuth=maybe\n", "ssl.clientAuth: expected need, want or none");
	ASSERT_BAD(f, "ssl.quorum.keyStore.type=JKS\n", "ssl.quorum.keyStore.type: only PEM is supported");
	ASSERT_BAD(f, "sslQuorum=yes\n", "sslQuorum: expected true or false");
}

/* Quorum TLS keys (ZooKeeper's names); sslQuorum without its stores is refused, never clear. */
static void test_quorum_tls_keys(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(load(f, "sslQuorum=true\nssl.quorum.keyStore.location=/q.pem\n"
				 "ssl.quorum.keyStore.type=PEM\nssl.quorum.trustStore.location=/qca.crt\n"
				 "ssl.quorum.trustStore.type=PEM\nssl.quorum.hostnameVerification=false\n"
				 "ssl.quorum.keyStore.password=x\n"),
			 0);
	assert_true(f->cfg.ssl_quorum);
	assert_string_equal(f->cfg.ssl_quorum_keystore, "/q.pem");
	assert_string_equal(f->cfg.ssl_quorum_truststore, "/qca.crt");
	assert_true(f->cfg.ssl_quorum_no_hostname_check);
}

static void test_quorum_tls_needs_stores(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(load(f, "sslQuorum=true\nssl.quorum.keyStore.location=/q.pem\n"), 0);
	assert_int_equal(config_finish(&f->cfg, f->err, sizeof(f->err)), -EINVAL);
	assert_non_null(strstr(f->err, "sslQuorum=true needs ssl.quorum.keyStore.location"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_defaults, setup, teardown),
		cmocka_unit_test_setup_teardown(test_quorum_tls_keys, setup, teardown),
		cmocka_unit_test_setup_teardown(test_quorum_tls_needs_stores, setup, teardown),
		cmocka_unit_test_setup_teardown(test_full_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_session_timeouts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_server_lines, setup, teardown),
		cmocka_unit_test_setup_teardown(test_myid_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flags_override_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_flags, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_lines, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unreadable_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_whitelist, setup, teardown),
		cmocka_unit_test_setup_teardown(test_server_spec, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reconfig_enabled, setup, teardown),
		cmocka_unit_test_setup_teardown(test_security_keys, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
