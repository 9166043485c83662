# tests/: unit tests (cmocka, one binary per module) and integration scripts.
# Modules add their own unit tests in their local.mk; integration scripts are listed here.
INTEGRATION_TESTS =
TESTS += $(INTEGRATION_TESTS)
EXTRA_DIST += $(INTEGRATION_TESTS)
