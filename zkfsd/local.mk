# zkfsd/: the server daemon (see docs/ARCHITECTURE.md). libzkfsd.a holds everything but main()
# so unit tests link the modules they test.
noinst_LIBRARIES += libzkfsd.a
libzkfsd_a_SOURCES = \
	zkfsd/config.c zkfsd/config.h \
	zkfsd/acl.c \
	zkfsd/tls.c zkfsd/tls.h \
	zkfsd/saslauth.c \
	zkfsd/conn.c \
	zkfsd/fourlw.c \
	zkfsd/join.c \
	zkfsd/read.c \
	zkfsd/reconfig.c \
	zkfsd/request.c \
	zkfsd/server.c \
	zkfsd/tracker.c \
	zkfsd/txn.c \
	zkfsd/watch.c \
	zkfsd/zkfsd_int.h
# ops: /metrics and the AdminServer over libmicrohttpd (http.c).
libzkfsd_a_SOURCES += zkfsd/http.c zkfsd/http.h zkfsd/metrics.c zkfsd/metrics.h \
	zkfsd/admin.c zkfsd/admin.h zkfsd/json.c zkfsd/json.h \
	zkfsd/backup.c zkfsd/backup.h zkfsd/backup_format.c zkfsd/backup_format.h
# The status page (GET / of the AdminServer) is a C string made from zkfsd/status.html.
nodist_libzkfsd_a_SOURCES = zkfsd/status_html.c
BUILT_SOURCES += zkfsd/status_html.c
CLEANFILES += zkfsd/status_html.c
EXTRA_DIST += zkfsd/status.html
zkfsd/status_html.c: $(top_srcdir)/zkfsd/status.html
	$(AM_V_GEN)$(MKDIR_P) zkfsd && { echo '/* Made from zkfsd/status.html by zkfsd/local.mk. */'; \
	  echo 'extern const char status_html[];'; echo 'const char status_html[] ='; \
	  sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/"/' -e 's/$$/\\n"/' $(top_srcdir)/zkfsd/status.html; \
	  echo ';'; } >$@
libzkfsd_a_CFLAGS = $(AM_CFLAGS) $(UV_CFLAGS) $(RAFT_CFLAGS) $(MHD_CFLAGS) -DZKFSD_VERSION='"$(PACKAGE_VERSION)"'

sbin_PROGRAMS += zkfsd/zkfsd
zkfsd_zkfsd_SOURCES = zkfsd/main.c
zkfsd_zkfsd_CFLAGS = $(AM_CFLAGS) $(UV_CFLAGS) $(RAFT_CFLAGS)
zkfsd_zkfsd_LDADD = libzkfsd.a librepl.a libstore.a libproto.a libcommon.a \
	$(UV_LIBS) $(RAFT_LIBS) $(PROTOBUF_C_LIBS) $(OPENSSL_LIBS) $(ZSTD_LIBS) $(MHD_LIBS) $(SASL_LIBS) -lm

check_PROGRAMS += tests/unit/test_config
TESTS += tests/unit/test_config
tests_unit_test_config_SOURCES = tests/unit/test_config.c
tests_unit_test_config_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_config_LDADD = libzkfsd.a libcommon.a $(CMOCKA_LIBS)

# The watch manager alone: the test fakes the connection's event sink and the store.
check_PROGRAMS += tests/unit/test_watch
TESTS += tests/unit/test_watch
tests_unit_test_watch_SOURCES = tests/unit/test_watch.c zkfsd/watch.c
tests_unit_test_watch_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) $(UV_CFLAGS) $(RAFT_CFLAGS)
tests_unit_test_watch_LDADD = libproto.a libcommon.a $(CMOCKA_LIBS)

check_PROGRAMS += tests/unit/test_acl
TESTS += tests/unit/test_acl
tests_unit_test_acl_SOURCES = tests/unit/test_acl.c zkfsd/acl.c zkfsd/tls.c
tests_unit_test_acl_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) $(UV_CFLAGS) $(RAFT_CFLAGS) $(OPENSSL_CFLAGS)
tests_unit_test_acl_LDADD = libstore.a libproto.a libcommon.a $(PROTOBUF_C_LIBS) $(OPENSSL_LIBS) $(CMOCKA_LIBS)

# The session tracker alone: repl and the store are faked by the test.
check_PROGRAMS += tests/unit/test_tracker
TESTS += tests/unit/test_tracker
tests_unit_test_tracker_SOURCES = tests/unit/test_tracker.c zkfsd/tracker.c zkfsd/config.c
tests_unit_test_tracker_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) $(UV_CFLAGS) $(RAFT_CFLAGS)
tests_unit_test_tracker_LDADD = libcommon.a $(UV_LIBS) $(CMOCKA_LIBS)

# zkfsd's command-line contract (exit codes, --daemon, pid file, SIGTERM, restart, whitelist).
INTEGRATION_TESTS += tests/integration/test_zkfsd_cli.sh

# ops (issue 15): /metrics through a real Prometheus, the AdminServer against Apache ZooKeeper's,
# backups, the status page in Chromium, the Debian packages (opt-in: ZKT_DEBIAN=1).
INTEGRATION_TESTS += tests/integration/test_metrics.sh tests/integration/test_admin.py \
	tests/integration/test_backup.py tests/integration/test_status_page.sh \
	tests/integration/test_debian.sh
EXTRA_DIST += debian
EXTRA_DIST += contrib/prometheus/prometheus.yml contrib/prometheus/zkfsd-alerts.yml \
	contrib/prometheus/zkfsd-alerts-test.yml contrib/grafana/zkfsd-dashboard.json
