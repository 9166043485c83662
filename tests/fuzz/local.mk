# tests/fuzz/: libFuzzer targets of proto/jute (see tests/fuzz/fuzz.h).
# `make check` replays each target's seed corpus through its entry point with replay.c (no
# libFuzzer needed). With --enable-fuzzing (CC=clang) the real fuzzers are also buildable as
# tests/fuzz/fuzz_<name>; tests/fuzz/run builds and runs them for a bounded time.
FUZZ_COMMON = tests/fuzz/fuzz.h tests/fuzz/fuzz_common.c
FUZZ_LIBS = libproto.a libcommon.a

check_PROGRAMS += tests/fuzz/replay_frame tests/fuzz/replay_connect tests/fuzz/replay_path
TESTS += tests/fuzz/replay_frame tests/fuzz/replay_connect tests/fuzz/replay_path
tests_fuzz_replay_frame_SOURCES = tests/fuzz/replay.c tests/fuzz/fuzz_frame.c $(FUZZ_COMMON)
tests_fuzz_replay_frame_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_CORPUS_DIR='"$(abs_top_srcdir)/tests/fuzz/corpus/frame"'
tests_fuzz_replay_frame_LDADD = $(FUZZ_LIBS)
tests_fuzz_replay_connect_SOURCES = tests/fuzz/replay.c tests/fuzz/fuzz_connect.c $(FUZZ_COMMON)
tests_fuzz_replay_connect_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_CORPUS_DIR='"$(abs_top_srcdir)/tests/fuzz/corpus/connect"'
tests_fuzz_replay_connect_LDADD = $(FUZZ_LIBS)
tests_fuzz_replay_path_SOURCES = tests/fuzz/replay.c tests/fuzz/fuzz_path.c $(FUZZ_COMMON)
tests_fuzz_replay_path_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_CORPUS_DIR='"$(abs_top_srcdir)/tests/fuzz/corpus/path"'
tests_fuzz_replay_path_LDADD = $(FUZZ_LIBS)

# client/'s reply decoder (tests/fuzz/fuzz_reply.c).
check_PROGRAMS += tests/fuzz/replay_reply
TESTS += tests/fuzz/replay_reply
tests_fuzz_replay_reply_SOURCES = tests/fuzz/replay.c tests/fuzz/fuzz_reply.c $(FUZZ_COMMON)
tests_fuzz_replay_reply_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_CORPUS_DIR='"$(abs_top_srcdir)/tests/fuzz/corpus/reply"'
tests_fuzz_replay_reply_CFLAGS = $(AM_CFLAGS) $(UV_CFLAGS)
tests_fuzz_replay_reply_LDADD = $(ZKCLIENT_LIBS)

# jute_dump: the C half of tests/fuzz/zk_differential (run by tests/fuzz/run when javac is
# there), which compares proto/jute with ZooKeeper's own Java classes on the corpus.
EXTRA_PROGRAMS += tests/fuzz/jute_dump
tests_fuzz_jute_dump_SOURCES = tests/fuzz/jute_dump.c
tests_fuzz_jute_dump_LDADD = $(FUZZ_LIBS)

EXTRA_DIST += tests/fuzz/corpus tests/fuzz/make_seeds.py tests/fuzz/run \
	tests/fuzz/zk_differential tests/fuzz/ZkJuteCheck.java

if FUZZING
EXTRA_PROGRAMS += tests/fuzz/fuzz_frame tests/fuzz/fuzz_connect tests/fuzz/fuzz_path
tests_fuzz_fuzz_frame_SOURCES = tests/fuzz/fuzz_frame.c $(FUZZ_COMMON)
tests_fuzz_fuzz_frame_CFLAGS = $(AM_CFLAGS) -fsanitize=fuzzer
tests_fuzz_fuzz_frame_LDFLAGS = -fsanitize=fuzzer
tests_fuzz_fuzz_frame_LDADD = $(FUZZ_LIBS)
tests_fuzz_fuzz_connect_SOURCES = tests/fuzz/fuzz_connect.c $(FUZZ_COMMON)
tests_fuzz_fuzz_connect_CFLAGS = $(AM_CFLAGS) -fsanitize=fuzzer
tests_fuzz_fuzz_connect_LDFLAGS = -fsanitize=fuzzer
tests_fuzz_fuzz_connect_LDADD = $(FUZZ_LIBS)
tests_fuzz_fuzz_path_SOURCES = tests/fuzz/fuzz_path.c $(FUZZ_COMMON)
tests_fuzz_fuzz_path_CFLAGS = $(AM_CFLAGS) -fsanitize=fuzzer
tests_fuzz_fuzz_path_LDFLAGS = -fsanitize=fuzzer
tests_fuzz_fuzz_path_LDADD = $(FUZZ_LIBS)
check_PROGRAMS += tests/fuzz/fuzz_reply
tests_fuzz_fuzz_reply_SOURCES = tests/fuzz/fuzz_reply.c $(FUZZ_COMMON)
tests_fuzz_fuzz_reply_CFLAGS = $(AM_CFLAGS) $(UV_CFLAGS) -fsanitize=fuzzer
tests_fuzz_fuzz_reply_LDFLAGS = -fsanitize=fuzzer
tests_fuzz_fuzz_reply_LDADD = $(ZKCLIENT_LIBS)
endif
