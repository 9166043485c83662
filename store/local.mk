# store/: the znode tree, sessions, transactions (protobuf-c, proto/store.proto), snapshots,
# digest and invariant checks. Depends on common/ and proto/zk_const.h only.
noinst_LIBRARIES += libstore.a
STORE_PB = proto/store.pb-c.c proto/store.pb-c.h
BUILT_SOURCES += $(STORE_PB)
CLEANFILES += $(STORE_PB)
EXTRA_DIST += proto/store.proto
nodist_libstore_a_SOURCES = $(STORE_PB)
libstore_a_SOURCES = \
	store/store.h store/store_int.h \
	store/store.c store/znode.c store/txn.c store/txn_ops.c store/session.c store/txn_codec.c \
	store/snapshot.c store/snapshot_zstd.c store/digest.c store/check.c store/quota.c
libstore_a_CFLAGS = $(AM_CFLAGS) $(PROTOBUF_C_CFLAGS) $(ZSTD_CFLAGS)

# protoc-c writes both files; the header is made by the same run as the source.
proto/store.pb-c.c: $(top_srcdir)/proto/store.proto
	$(AM_V_GEN)$(MKDIR_P) proto && \
	$(PROTOC_C) --proto_path=$(top_srcdir) --c_out=$(top_builddir) $(top_srcdir)/proto/store.proto
proto/store.pb-c.h: proto/store.pb-c.c
	@test -f $@ || { rm -f proto/store.pb-c.c; $(MAKE) $(AM_MAKEFLAGS) proto/store.pb-c.c; }
# So that `make libstore.a` (which skips BUILT_SOURCES) generates the header first.
$(libstore_a_OBJECTS): proto/store.pb-c.h

STORE_TEST_LIBS = libstore.a libcommon.a $(PROTOBUF_C_LIBS) $(ZSTD_LIBS) $(CMOCKA_LIBS)
check_PROGRAMS += tests/unit/test_store tests/unit/test_store_snapshot tests/unit/test_store_quota \
	tests/unit/test_store_layout
TESTS += tests/unit/test_store tests/unit/test_store_snapshot tests/unit/test_store_quota \
	tests/unit/test_store_layout
tests_unit_test_store_SOURCES = tests/unit/test_store.c tests/unit/test_store_util.h
tests_unit_test_store_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) $(PROTOBUF_C_CFLAGS)
tests_unit_test_store_LDADD = $(STORE_TEST_LIBS)
tests_unit_test_store_snapshot_SOURCES = tests/unit/test_store_snapshot.c tests/unit/test_store_util.h
tests_unit_test_store_snapshot_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) $(PROTOBUF_C_CFLAGS)
tests_unit_test_store_snapshot_LDADD = $(STORE_TEST_LIBS)
tests_unit_test_store_quota_SOURCES = tests/unit/test_store_quota.c tests/unit/test_store_util.h
tests_unit_test_store_quota_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) $(PROTOBUF_C_CFLAGS)
tests_unit_test_store_quota_LDADD = $(STORE_TEST_LIBS)
tests_unit_test_store_layout_SOURCES = tests/unit/test_store_layout.c tests/unit/test_store_util.h
tests_unit_test_store_layout_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) $(PROTOBUF_C_CFLAGS)
tests_unit_test_store_layout_LDADD = $(STORE_TEST_LIBS)

# Prints bytes per znode for 1,000,000 nodes: a measurement, built on demand (make NAME).
EXTRA_PROGRAMS += tests/unit/bench_store_memory
tests_unit_bench_store_memory_SOURCES = tests/unit/bench_store_memory.c
tests_unit_bench_store_memory_CFLAGS = $(AM_CFLAGS) $(PROTOBUF_C_CFLAGS)
tests_unit_bench_store_memory_LDADD = libstore.a libcommon.a $(PROTOBUF_C_LIBS) $(ZSTD_LIBS)

# Fuzz targets of the txn and snapshot decoders (tests/fuzz/fuzz.h): `make check` replays
# their seeds; with --enable-fuzzing the libFuzzer builds are tests/fuzz/fuzz_store_*.
STORE_FUZZ_LIBS = libstore.a libcommon.a $(PROTOBUF_C_LIBS) $(ZSTD_LIBS)
STORE_FUZZ_COMMON = tests/fuzz/fuzz.h tests/fuzz/fuzz_common.c
check_PROGRAMS += tests/fuzz/replay_store_txn tests/fuzz/replay_store_snapshot
TESTS += tests/fuzz/replay_store_txn tests/fuzz/replay_store_snapshot
tests_fuzz_replay_store_txn_SOURCES = tests/fuzz/replay.c tests/fuzz/fuzz_store_txn.c $(STORE_FUZZ_COMMON)
tests_fuzz_replay_store_txn_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_CORPUS_DIR='"$(abs_top_srcdir)/tests/fuzz/corpus/store_txn"'
tests_fuzz_replay_store_txn_CFLAGS = $(AM_CFLAGS) $(PROTOBUF_C_CFLAGS)
tests_fuzz_replay_store_txn_LDADD = $(STORE_FUZZ_LIBS)
tests_fuzz_replay_store_snapshot_SOURCES = tests/fuzz/replay.c tests/fuzz/fuzz_store_snapshot.c $(STORE_FUZZ_COMMON)
tests_fuzz_replay_store_snapshot_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_CORPUS_DIR='"$(abs_top_srcdir)/tests/fuzz/corpus/store_snapshot"'
tests_fuzz_replay_store_snapshot_CFLAGS = $(AM_CFLAGS) $(PROTOBUF_C_CFLAGS)
tests_fuzz_replay_store_snapshot_LDADD = $(STORE_FUZZ_LIBS)

if FUZZING
EXTRA_PROGRAMS += tests/fuzz/fuzz_store_txn tests/fuzz/fuzz_store_snapshot
tests_fuzz_fuzz_store_txn_SOURCES = tests/fuzz/fuzz_store_txn.c $(STORE_FUZZ_COMMON)
tests_fuzz_fuzz_store_txn_CFLAGS = $(AM_CFLAGS) $(PROTOBUF_C_CFLAGS) -fsanitize=fuzzer
tests_fuzz_fuzz_store_txn_LDFLAGS = -fsanitize=fuzzer
tests_fuzz_fuzz_store_txn_LDADD = $(STORE_FUZZ_LIBS)
tests_fuzz_fuzz_store_snapshot_SOURCES = tests/fuzz/fuzz_store_snapshot.c $(STORE_FUZZ_COMMON)
tests_fuzz_fuzz_store_snapshot_CFLAGS = $(AM_CFLAGS) $(PROTOBUF_C_CFLAGS) -fsanitize=fuzzer
tests_fuzz_fuzz_store_snapshot_LDFLAGS = -fsanitize=fuzzer
tests_fuzz_fuzz_store_snapshot_LDADD = $(STORE_FUZZ_LIBS)
endif
