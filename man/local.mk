# man/: the manual pages, installed by `make install` (and by the Debian packages).
dist_man_MANS += man/zkfsd.8 man/zkfs.8 man/zkfs-cli.1 man/zkfs-bench.1 man/zkfsd.conf.5
# Each page renders with `man -l` without a warning (groff's -ww).
INTEGRATION_TESTS += tests/integration/test_man.sh
