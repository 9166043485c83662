# zkfsd/: the server daemon (see docs/ARCHITECTURE.md). libzkfsd.a holds everything but main()
# so unit tests link the modules they test.
noinst_LIBRARIES += libzkfsd.a
libzkfsd_a_SOURCES = \
	zkfsd/config.c zkfsd/config.h
libzkfsd_a_CFLAGS = $(AM_CFLAGS) $(UV_CFLAGS) $(RAFT_CFLAGS)

check_PROGRAMS += tests/unit/test_config
TESTS += tests/unit/test_config
tests_unit_test_config_SOURCES = tests/unit/test_config.c
tests_unit_test_config_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_config_LDADD = libzkfsd.a libcommon.a $(CMOCKA_LIBS)
