# tests/: integration scripts that belong to no single module. Unit tests live with their
# module's local.mk (check_PROGRAMS + TESTS).
TESTS += $(INTEGRATION_TESTS)
EXTRA_DIST += $(INTEGRATION_TESTS) tests/integration/lib.sh
