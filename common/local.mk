# common/: logging, the allocator with its fault hook, the byte buffer. Depends on nothing of ours.
noinst_LIBRARIES += libcommon.a
libcommon_a_SOURCES = \
	common/zk_alloc.c common/zk_alloc.h \
	common/zk_buf.c common/zk_buf.h \
	common/zk_hash.c common/zk_hash.h \
	common/zk_log.c common/zk_log.h \
	common/zk_tls.c common/zk_tls.h
libcommon_a_CFLAGS = $(AM_CFLAGS) $(PROTOBUF_C_CFLAGS) $(OPENSSL_CFLAGS)
