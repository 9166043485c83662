# proto/: the ZooKeeper client protocol codec (jute) and its constants. Depends on common/.
# store.proto and peer.proto are compiled by store/local.mk and replication/local.mk.
noinst_LIBRARIES += libproto.a
libproto_a_SOURCES = \
	proto/zk_const.h \
	proto/jute.h proto/jute_int.h \
	proto/jute.c proto/jute_records.c proto/jute_request.c proto/jute_path.c

check_PROGRAMS += tests/unit/test_jute
TESTS += tests/unit/test_jute
tests_unit_test_jute_SOURCES = tests/unit/test_jute.c
tests_unit_test_jute_CPPFLAGS = $(AM_CPPFLAGS) -DJUTE_CORPUS_DIR='"$(abs_top_srcdir)/tests/fuzz/corpus"'
tests_unit_test_jute_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_jute_LDADD = libproto.a libcommon.a $(CMOCKA_LIBS)

# Byte-for-byte against the C client's generated serializers (only in its static archive).
check_PROGRAMS += tests/unit/test_jute_zkc
TESTS += tests/unit/test_jute_zkc
tests_unit_test_jute_zkc_SOURCES = tests/unit/test_jute_zkc.c
tests_unit_test_jute_zkc_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_jute_zkc_LDADD = libproto.a libcommon.a -l:libzookeeper_mt.a $(CMOCKA_LIBS)
