# tools/: zkfs-cli and zkfs-bench over client/ (see docs/ARCHITECTURE.md), plus bench/'s fsync
# probe. `make bench` runs bench/run (not part of `make check`).
TOOLS_CPPFLAGS = $(AM_CPPFLAGS) $(UV_CFLAGS)

bin_PROGRAMS += tools/zkfs-cli
tools_zkfs_cli_SOURCES = \
	tools/cli.h tools/cli_main.c tools/cli_args.c tools/cli_write.c tools/cli_node.c \
	tools/cli_multi.c tools/cli_watch.c tools/cli_fourlw.c tools/cli_out.c
tools_zkfs_cli_CPPFLAGS = $(TOOLS_CPPFLAGS)
tools_zkfs_cli_LDADD = $(ZKCLIENT_LIBS) $(EDIT_LIBS)
# ops: `zkfs-cli backup` checks the backup file with zkfsd's format (store_crc32c).
tools_zkfs_cli_SOURCES += tools/cli_backup.c zkfsd/backup_format.c zkfsd/backup_format.h
tools_zkfs_cli_LDADD += libstore.a libproto.a libcommon.a $(PROTOBUF_C_LIBS) $(ZSTD_LIBS)

bin_PROGRAMS += tools/zkfs-bench
tools_zkfs_bench_SOURCES = \
	tools/bench.h tools/bench_main.c tools/bench_load.c tools/bench_rate.c tools/bench_hist.c \
	tools/bench_sched.c
tools_zkfs_bench_CPPFLAGS = $(TOOLS_CPPFLAGS)
tools_zkfs_bench_LDADD = $(ZKCLIENT_LIBS)

# zkfs-bench's arithmetic: latency histogram quantiles and the open-loop schedule.
check_PROGRAMS += tests/unit/test_bench
TESTS += tests/unit/test_bench
tests_unit_test_bench_SOURCES = tests/unit/test_bench.c tools/bench_hist.c tools/bench_sched.c
tests_unit_test_bench_CPPFLAGS = $(TOOLS_CPPFLAGS)
tests_unit_test_bench_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_bench_LDADD = $(CMOCKA_LIBS)

INTEGRATION_TESTS += tests/integration/test_cli.sh

# bench/run: zkfsd and Apache ZooKeeper side by side, writes BENCHMARKS.md in the source tree
# (~10-15 minutes; BENCH_FLAGS=--quick for a short try-out). Not part of `make check`.
EXTRA_DIST += bench/run bench/fsync_probe.c bench/latency-row bench/snapshot-stall
bench: all
	$(top_srcdir)/bench/run --build $(abs_top_builddir) $(BENCH_FLAGS)
.PHONY: bench
