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
	store/store.c store/znode.c store/txn.c store/session.c store/txn_codec.c \
	store/snapshot.c store/digest.c store/check.c
libstore_a_CFLAGS = $(AM_CFLAGS) $(PROTOBUF_C_CFLAGS)

# protoc-c writes both files; the header is made by the same run as the source.
proto/store.pb-c.c: $(top_srcdir)/proto/store.proto
	$(AM_V_GEN)$(MKDIR_P) proto && \
	$(PROTOC_C) --proto_path=$(top_srcdir) --c_out=$(top_builddir) $(top_srcdir)/proto/store.proto
proto/store.pb-c.h: proto/store.pb-c.c
	@test -f $@ || { rm -f proto/store.pb-c.c; $(MAKE) $(AM_MAKEFLAGS) proto/store.pb-c.c; }
# So that `make libstore.a` (which skips BUILT_SOURCES) generates the header first.
$(libstore_a_OBJECTS): proto/store.pb-c.h
