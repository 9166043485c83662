# tests/: integration scripts that belong to no single module. Unit tests live with their
# module's local.mk (check_PROGRAMS + TESTS).
TESTS += $(INTEGRATION_TESTS)
EXTRA_DIST += $(INTEGRATION_TESTS) tests/integration/lib.sh tests/integration/zkt.py tests/run-one \
	tests/integration/refresh-reference tests/integration/reference \
	tests/skip-allowed tests/durations

# Server tests against zkfsd and Apache ZooKeeper (ports 21810-21849, 21890-21899).
INTEGRATION_TESTS += tests/integration/test_compat.py tests/integration/test_cclient.py \
	tests/integration/test_badinput.py tests/integration/test_durability.py \
	tests/integration/test_recipes.py tests/integration/test_javaclient.py \
	tests/integration/test_security.py tests/integration/test_tls.py \
	tests/integration/test_sasl.py \
	tests/integration/test_gssapi.py
EXTRA_DIST += tests/integration/secutil.py
# Hostile and careless clients: stalls, huge requests, memory bounds (zkfsd; ports as above).
INTEGRATION_TESTS += tests/integration/test_hostile.py
# A restarted server serves no session before its log is replayed (zkfsd and Apache; ports as above).
INTEGRATION_TESTS += tests/integration/test_replay.py
# The data dir on a small loop-mounted ext4 that fills up (zkfsd only, root, ports as above).
INTEGRATION_TESTS += tests/integration/test_fulldisk.py
# Snapshots by a forked child under load, restarts, kill -9 (zkfsd only, ports 21850-21869).
INTEGRATION_TESTS += tests/integration/test_snapshot.py

# zkcheck: Apache ZooKeeper's C client driven by a script, for the C-client side-by-side test.
check_PROGRAMS += tests/integration/zkcheck
tests_integration_zkcheck_SOURCES = tests/integration/zkcheck.c
# THREADED: libzookeeper_mt declares its synchronous calls only with it.
tests_integration_zkcheck_CPPFLAGS = $(AM_CPPFLAGS) -DTHREADED
tests_integration_zkcheck_LDADD = $(ZOOKEEPER_LIBS) -lpthread
