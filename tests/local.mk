# tests/: integration scripts that belong to no single module. Unit tests live with their
# module's local.mk (check_PROGRAMS + TESTS).
TESTS += $(INTEGRATION_TESTS)
EXTRA_DIST += $(INTEGRATION_TESTS) tests/integration/lib.sh tests/integration/zkt.py

# Server tests against zkfsd and Apache ZooKeeper (ports 21810-21849, 21890-21899).
INTEGRATION_TESTS += tests/integration/test_compat.py
