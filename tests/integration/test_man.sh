#!/bin/bash
# Manual pages (issue 15): each of zkfsd(8), zkfs(8), zkfs-cli(1), zkfs-bench(1) and
# zkfsd.conf(5) renders with `man -l` at 80 columns without a single groff warning (-ww) and
# has NAME, SYNOPSIS and DESCRIPTION; `make install` puts them under share/man/manN; every
# zoo.cfg key zkfsd accepts (zkfsd/config.c's config_set) is described in zkfsd.conf(5); every
# option `zkfsd --help` lists is in zkfsd(8).
. "$(dirname "$0")/lib.sh"
zkt_init man
zkt_require_cmd man groff
pages="zkfsd.8 zkfs.8 zkfs-cli.1 zkfs-bench.1 zkfsd.conf.5"
for p in $pages; do
	f=$top_srcdir/man/$p
	[ -f "$f" ] || zkt_fail "man/$p missing"
	out=$(MANWIDTH=80 man --warnings=all -l "$f" 2>&1 >"$ZKT_DIR/$p.txt") ||
		zkt_fail "man -l $p failed: $out"
	[ -z "$out" ] || zkt_fail "man -l $p warns: $out"
	for s in NAME SYNOPSIS DESCRIPTION; do
		grep -q "^$s" "$ZKT_DIR/$p.txt" || zkt_fail "$p has no $s section"
	done
done

make -s -C "$top_builddir" install-man DESTDIR="$ZKT_DIR/destdir" >/dev/null ||
	zkt_fail "make install-man failed"
for p in $pages; do
	n=${p##*.}
	[ -n "$(find "$ZKT_DIR/destdir" -path "*/man/man$n/$p")" ] || zkt_fail "$p not installed"
done

# The keys of config.c's config_set and of its admin./metricsProvider. family.
keys=$(sed -n 's/.*strcmp(key, "\([A-Za-z0-9.]*\)") == 0.*/\1/p' "$top_srcdir/zkfsd/config.c" |
	grep -v '^zkfsd\.test\.')
for k in $keys admin.enableServer admin.serverPort metricsProvider.httpPort; do
	grep -q -- "$(sed 's/-/\\\\-/g' <<<"$k")" "$top_srcdir/man/zkfsd.conf.5" ||
		zkt_fail "zkfsd.conf(5) does not describe $k"
done
for o in $("$ZKFSD" --help 2>&1 | grep -o -- '--[a-z-]*' | sort -u); do
	grep -q -- "$(sed 's/-/\\\\-/g' <<<"$o")" "$top_srcdir/man/zkfsd.8" ||
		zkt_fail "zkfsd(8) does not describe $o"
done
zkt_log "PASS: $(wc -w <<<"$pages") pages, $(wc -w <<<"$keys") zoo.cfg keys"
