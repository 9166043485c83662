# fuse/: `zkfs`, the mount program (libfuse3 low level + client/). See fuse/fs.h.
bin_PROGRAMS += fuse/zkfs
fuse_zkfs_SOURCES = \
	fuse/main.c fuse/authfile.c fuse/authfile.h \
	fuse/fs.c fuse/fs.h fuse/fs_int.h fuse/fs_file.c fuse/fs_rename.c \
	fuse/inode.c fuse/inode.h \
	fuse/zkconn.c fuse/zkconn.h \
	fuse/events.c fuse/events.h \
	fuse/names.c fuse/names.h \
	fuse/lock.c fuse/lock.h fuse/lock_ops.c fuse/lock_ops.h \
	fuse/outcome.c fuse/outcome.h \
	fuse/expect.c fuse/expect.h
fuse_zkfs_CFLAGS = $(AM_CFLAGS) $(FUSE_CFLAGS) $(UV_CFLAGS) -DFUSE_USE_VERSION=314 -pthread
fuse_zkfs_LDADD = $(ZKCLIENT_LIBS) $(FUSE_LIBS)

# Measuring programs (print figures; not timed tests): fuse/measure.sh runs them.
EXTRA_PROGRAMS += fuse/zkfs-measure
fuse_zkfs_measure_SOURCES = fuse/measure.c
fuse_zkfs_measure_CFLAGS = $(AM_CFLAGS) -DTHREADED -pthread
fuse_zkfs_measure_LDADD = $(ZOOKEEPER_LIBS) -lpthread

check_PROGRAMS += tests/unit/test_names
TESTS += tests/unit/test_names
tests_unit_test_names_SOURCES = tests/unit/test_names.c fuse/names.c fuse/names.h
tests_unit_test_names_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_names_LDADD = $(CMOCKA_LIBS)

check_PROGRAMS += tests/unit/test_lock
TESTS += tests/unit/test_lock
tests_unit_test_lock_SOURCES = tests/unit/test_lock.c fuse/lock.h
tests_unit_test_lock_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_lock_LDADD = $(CMOCKA_LIBS)

check_PROGRAMS += tests/unit/test_authfile
TESTS += tests/unit/test_authfile
tests_unit_test_authfile_SOURCES = tests/unit/test_authfile.c fuse/authfile.c fuse/authfile.h
tests_unit_test_authfile_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_authfile_LDADD = $(CMOCKA_LIBS)

check_PROGRAMS += tests/unit/test_inode
TESTS += tests/unit/test_inode
tests_unit_test_inode_SOURCES = tests/unit/test_inode.c fuse/inode.c fuse/inode.h fuse/names.c \
	fuse/expect.c
tests_unit_test_inode_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) $(FUSE_CFLAGS) $(UV_CFLAGS) -DFUSE_USE_VERSION=314
tests_unit_test_inode_LDADD = $(CMOCKA_LIBS) $(FUSE_LIBS)

INTEGRATION_TESTS += \
	tests/integration/test_mount_basic.sh \
	tests/integration/test_mount_events.sh \
	tests/integration/test_mount_race.sh \
	tests/integration/test_mount_session.sh \
	tests/integration/test_mount_example.sh \
	tests/integration/test_mount_failover.sh \
	tests/integration/test_mount_recipes.sh \
	tests/integration/test_mount_lock.sh \
	tests/integration/test_mount_lock_failover.sh \
	tests/integration/test_mount_outage.sh \
	tests/integration/test_mount_kinds.sh \
	tests/integration/test_mount_cas.sh \
	tests/integration/test_mount_ops.sh \
	tests/integration/test_mount_seed.sh \
	tests/integration/test_mount_watch.sh \
	tests/integration/test_mount_auth.sh
EXTRA_DIST += tests/integration/mount_lib.sh contrib/examples
EXTRA_DIST += tests/integration/lock_lib.sh

# `mount -t fuse.zkfs` runs mount.fuse3, which executes `zkfs` from a PATH that mount(8) has
# cleared to the system directories: make sure the program is in /usr/bin or /usr/local/bin.
install-exec-hook: install-zkfs-mount-helper
install-zkfs-mount-helper:
	@case "$(bindir)" in \
	/usr/bin|/usr/local/bin) ;; \
	*) if test -z "$(DESTDIR)" && test -w /usr/local/bin; then \
		ln -sf "$(bindir)/zkfs" /usr/local/bin/zkfs && \
		echo "linked /usr/local/bin/zkfs -> $(bindir)/zkfs (for mount -t fuse.zkfs)"; \
	   fi ;; \
	esac
.PHONY: install-zkfs-mount-helper
