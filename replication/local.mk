# replication/: consensus on libraft (uv backend), the FSM onto store/, forwarding to the leader
# over the peer port (proto/peer.proto). Depends on store/, proto/, common/.
noinst_LIBRARIES += librepl.a
PEER_PB = proto/peer.pb-c.c proto/peer.pb-c.h
BUILT_SOURCES += $(PEER_PB)
CLEANFILES += $(PEER_PB)
EXTRA_DIST += proto/peer.proto
nodist_librepl_a_SOURCES = $(PEER_PB)
librepl_a_SOURCES = \
	replication/replication.h replication/replication_int.h \
	replication/raft.c replication/request.c replication/close.c replication/fsm.c \
	replication/transport.c replication/log_check.h replication/log_check.c \
	replication/membership.c replication/forward.c \
	replication/snapshot_fork.h replication/snapshot_fork.c
librepl_a_SOURCES += replication/stats.c replication/restore.c
librepl_a_SOURCES += replication/quorum_tls.h replication/quorum_tls.c replication/refusal.c
librepl_a_CFLAGS = $(AM_CFLAGS) $(UV_CFLAGS) $(RAFT_CFLAGS) $(PROTOBUF_C_CFLAGS) $(OPENSSL_CFLAGS)

# protoc-c writes both files; the header is made by the same run as the source.
proto/peer.pb-c.c: $(top_srcdir)/proto/peer.proto
	$(AM_V_GEN)$(MKDIR_P) proto && \
	$(PROTOC_C) --proto_path=$(top_srcdir) --c_out=$(top_builddir) $(top_srcdir)/proto/peer.proto
proto/peer.pb-c.h: proto/peer.pb-c.c
	@test -f $@ || { rm -f proto/peer.pb-c.c; $(MAKE) $(AM_MAKEFLAGS) proto/peer.pb-c.c; }
# BUILT_SOURCES covers `make` and `make check`; this also covers `make zkfsd/zkfsd` alone.
$(librepl_a_OBJECTS): proto/peer.pb-c.h proto/store.pb-c.h

# Link order for users of librepl.a (zkfsd, tests).
REPL_LIBS = librepl.a libstore.a libproto.a libcommon.a $(RAFT_LIBS) $(UV_LIBS) $(PROTOBUF_C_LIBS) \
	$(ZSTD_LIBS) $(OPENSSL_LIBS)

# Replication tests. The fake store (tests/unit/repl_fake_store.c) isolates replication from
# the tree: what is measured and tested here is libraft + the FSM glue.
REPL_FAKE_LIBS = librepl.a libcommon.a $(RAFT_LIBS) $(UV_LIBS) $(PROTOBUF_C_LIBS) $(OPENSSL_LIBS)
check_PROGRAMS += tests/unit/test_replication
TESTS += tests/unit/test_replication
tests_unit_test_replication_SOURCES = tests/unit/test_replication.c tests/unit/test_repl_util.h \
	tests/unit/repl_fake_store.c
tests_unit_test_replication_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) $(UV_CFLAGS) $(RAFT_CFLAGS)
tests_unit_test_replication_LDADD = $(REPL_FAKE_LIBS) $(CMOCKA_LIBS)

# The pre-start log check on crafted segments (no libraft I/O).
check_PROGRAMS += tests/unit/test_replication_log
TESTS += tests/unit/test_replication_log
tests_unit_test_replication_log_SOURCES = tests/unit/test_replication_log.c
tests_unit_test_replication_log_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) $(RAFT_CFLAGS)
tests_unit_test_replication_log_LDADD = librepl.a libcommon.a $(OPENSSL_LIBS) $(CMOCKA_LIBS)

# Prints commit throughput with N concurrent submitters and the start-up time: a
# measurement, not run by make check: `make tests/unit/bench_repl` builds it.
EXTRA_PROGRAMS += tests/unit/bench_repl
tests_unit_bench_repl_SOURCES = tests/unit/bench_repl.c tests/unit/repl_fake_store.c
tests_unit_bench_repl_CFLAGS = $(AM_CFLAGS) $(UV_CFLAGS) $(RAFT_CFLAGS)
tests_unit_bench_repl_LDADD = $(REPL_FAKE_LIBS)

check_PROGRAMS += tests/unit/test_replication_fsm
TESTS += tests/unit/test_replication_fsm
tests_unit_test_replication_fsm_SOURCES = tests/unit/test_replication_fsm.c \
	tests/unit/test_repl_util.h tests/unit/repl_fake_store.c
tests_unit_test_replication_fsm_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) $(UV_CFLAGS) $(RAFT_CFLAGS)
tests_unit_test_replication_fsm_LDADD = $(REPL_FAKE_LIBS) $(CMOCKA_LIBS)

# Real ensembles on 127.0.0.1, ports 22000-22049.
check_PROGRAMS += tests/unit/test_replication_cluster
TESTS += tests/unit/test_replication_cluster
tests_unit_test_replication_cluster_SOURCES = tests/unit/test_replication_cluster.c \
	tests/unit/test_repl_util.h tests/unit/repl_fake_store.c
tests_unit_test_replication_cluster_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) $(UV_CFLAGS) \
	$(RAFT_CFLAGS)
tests_unit_test_replication_cluster_LDADD = $(REPL_FAKE_LIBS) $(CMOCKA_LIBS)

# The same single-node and ensemble tests on the real store (store/): restarts, snapshots and
# replicas must reach the same tree digest.
REPL_STORE_LIBS = librepl.a libstore.a libcommon.a $(RAFT_LIBS) $(UV_LIBS) $(PROTOBUF_C_LIBS) \
	$(ZSTD_LIBS) $(OPENSSL_LIBS)
check_PROGRAMS += tests/unit/test_replication_store tests/unit/test_replication_cluster_store
TESTS += tests/unit/test_replication_store tests/unit/test_replication_cluster_store
tests_unit_test_replication_store_SOURCES = tests/unit/test_replication.c \
	tests/unit/test_repl_util.h
tests_unit_test_replication_store_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) $(UV_CFLAGS) $(RAFT_CFLAGS)
tests_unit_test_replication_store_LDADD = $(REPL_STORE_LIBS) $(CMOCKA_LIBS)
tests_unit_test_replication_cluster_store_SOURCES = tests/unit/test_replication_cluster.c \
	tests/unit/test_repl_util.h
tests_unit_test_replication_cluster_store_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) $(UV_CFLAGS) \
	$(RAFT_CFLAGS) -DREPL_TEST_REAL_STORE
tests_unit_test_replication_cluster_store_LDADD = $(REPL_STORE_LIBS) $(CMOCKA_LIBS)

# Snapshots by a forked child on the real store: writes during the snapshot, fork failure,
# a killed child, a short image.
check_PROGRAMS += tests/unit/test_replication_snapshot
TESTS += tests/unit/test_replication_snapshot
tests_unit_test_replication_snapshot_SOURCES = tests/unit/test_replication_snapshot.c \
	tests/unit/test_repl_util.h
tests_unit_test_replication_snapshot_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) $(UV_CFLAGS) \
	$(RAFT_CFLAGS)
tests_unit_test_replication_snapshot_LDADD = $(REPL_STORE_LIBS) $(CMOCKA_LIBS)

# Prints 3-server figures (separate processes): commits/s, failover time after kill -9 of the
# leader, catch-up of the restarted server. Ports 22040-22045. Built on demand (make NAME).
EXTRA_PROGRAMS += tests/unit/bench_repl_cluster
tests_unit_bench_repl_cluster_SOURCES = tests/unit/bench_repl_cluster.c tests/unit/repl_fake_store.c
tests_unit_bench_repl_cluster_CFLAGS = $(AM_CFLAGS) $(UV_CFLAGS) $(RAFT_CFLAGS)
tests_unit_bench_repl_cluster_LDADD = $(REPL_FAKE_LIBS)
EXTRA_PROGRAMS += tests/unit/bench_repl_store
tests_unit_bench_repl_store_SOURCES = tests/unit/bench_repl.c
tests_unit_bench_repl_store_CFLAGS = $(AM_CFLAGS) $(UV_CFLAGS) $(RAFT_CFLAGS)
tests_unit_bench_repl_store_LDADD = $(REPL_STORE_LIBS)

# Followers apply a commit at once: a node created through one follower is read through another
# (3-node clusters of both kinds, cluster.sh; forwarded ports 22065-22067).
INTEGRATION_TESTS += tests/integration/test_cluster_fresh.sh
EXTRA_DIST += tests/integration/fresh_reads.py
