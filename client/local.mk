# client/: the project's own asynchronous ZooKeeper client (zkclient.h): proto/'s codec on a
# libuv loop, OpenSSL TLS. Depends on proto/ and common/. Link: libzkclient.a libproto.a
# libcommon.a $(UV_LIBS) $(OPENSSL_LIBS) -lpthread.
noinst_LIBRARIES += libzkclient.a
libzkclient_a_SOURCES = \
	client/zkclient.h client/client_int.h \
	client/client.c client/session.c client/conn.c client/tls.c client/reply.c \
	client/ops.c client/watches.c client/names.c client/thread.c
libzkclient_a_CFLAGS = $(AM_CFLAGS) $(UV_CFLAGS) $(OPENSSL_CFLAGS)
ZKCLIENT_LIBS = libzkclient.a libproto.a libcommon.a $(UV_LIBS) $(OPENSSL_LIBS) -lpthread

# Against a scripted fake server (tests/unit/test_zkclient.c).
check_PROGRAMS += tests/unit/test_zkclient
TESTS += tests/unit/test_zkclient
tests_unit_test_zkclient_SOURCES = tests/unit/test_zkclient.c
tests_unit_test_zkclient_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) $(UV_CFLAGS)
tests_unit_test_zkclient_LDADD = $(ZKCLIENT_LIBS) $(CMOCKA_LIBS)

# Every operation against zkfsd and Apache ZooKeeper side by side (tests/integration/).
check_PROGRAMS += tests/integration/zkclient_ops
tests_integration_zkclient_ops_SOURCES = tests/integration/zkclient_ops.c
tests_integration_zkclient_ops_CFLAGS = $(AM_CFLAGS) $(UV_CFLAGS)
tests_integration_zkclient_ops_LDADD = $(ZKCLIENT_LIBS)
INTEGRATION_TESTS += tests/integration/test_zkclient.sh tests/integration/test_zkclient_tls.sh
