#!/usr/bin/env bash
# test_cli: every zkfs-cli command and exit status, and a zkfs-bench smoke run, against each
# server kind of $ZKT_SERVERS that is built/installed (Apache ZooKeeper and zkfsd). Ports
# 24000-24009 (tools range).
source "$(dirname "$0")/lib.sh"
zkt_init cli
# Background clients (watch, get -w) go too when a check fails half-way.
BG=()
trap 'kill "${BG[@]}" 2>/dev/null; zkt_cleanup' EXIT
CLI=$top_builddir/tools/zkfs-cli
BENCH=$top_builddir/tools/zkfs-bench
[ -x "$CLI" ] && [ -x "$BENCH" ] || zkt_skip "zkfs-cli/zkfs-bench not built"

OUT=$ZKT_DIR/out
ERR=$ZKT_DIR/err

# run WANT_STATUS cmd...: run zkfs-cli against $SRV, keep stdout/stderr, check the status.
run() {
	local want=$1 rc=0
	shift
	"$CLI" -server "$SRV" "$@" >"$OUT" 2>"$ERR" || rc=$?
	[ "$rc" -eq "$want" ] ||
		zkt_fail "[$KIND] zkfs-cli $* exited $rc, want $want; stderr: $(cat "$ERR")"
}

# out_is TEXT / err_has WORD: the last run's stdout is exactly TEXT / stderr names WORD.
out_is() { [ "$(cat "$OUT")" = "$1" ] || zkt_fail "[$KIND] stdout '$(cat "$OUT")', want '$1'"; }
out_has() { grep -q -- "$1" "$OUT" || zkt_fail "[$KIND] stdout lacks '$1': $(cat "$OUT")"; }
err_has() { grep -q -- "$1" "$ERR" || zkt_fail "[$KIND] stderr lacks '$1': $(cat "$ERR")"; }
gone() { ! "$CLI" -server "$SRV" stat "$1" >/dev/null 2>&1; }
has_lines() { [ "$(grep -c "$2" "$1" 2>/dev/null)" -ge "$3" ]; }

test_create_get_set() {
	run 0 create /t data1 && out_is /t
	run 5 create /t again && err_has NodeExists
	run 0 get /t && out_is data1
	run 0 get -s /t && out_has "dataVersion = 0" && out_has "dataLength = 5"
	run 0 set -v 0 /t data2
	run 6 set -v 0 /t data3 && err_has BadVersion
	run 0 get /t && out_is data2
	run 0 create -s /t/seq- && out_has '^/t/seq-[0-9]\{10\}$'
	run 0 create -c /cont
	run 0 create /nulldata && out_is /nulldata
	run 0 get /nulldata && out_is ""
	run 4 get /missing && err_has NoNode
	run 10 create /bad/ x && err_has BadArguments
	run 2 create -c -e /x && err_has "excludes"
	run 2 frobnicate /x
	run 2 create
}

test_binary() {
	printf 'a\0b\377\n\0' >"$ZKT_DIR/bin"
	run 0 create -f "$ZKT_DIR/bin" /bin
	run 0 get /bin && cmp -s "$OUT" "$ZKT_DIR/bin" || zkt_fail "[$KIND] -f data not kept"
	"$CLI" -server "$SRV" set /bin - <"$ZKT_DIR/bin" || zkt_fail "[$KIND] set from stdin"
	run 0 get -s /bin && out_has "dataVersion = 1" && out_has "dataLength = 6"
	run 13 create -f "$ZKT_DIR/no-such-file" /bin2
}

test_ls_stat_delete() {
	run 0 create /d && run 0 create /d/a && run 0 create /d/b && run 0 create /d/b/c
	run 0 ls /d && out_is "[a, b]"
	run 0 ls -s /d && out_has "^\[a, b\]$" && out_has "numChildren = 2"
	run 0 ls -R /d && out_is "$(printf '/d\n/d/a\n/d/b\n/d/b/c')"
	run 0 stat /d && out_has "numChildren = 2" && out_has "^cZxid = 0x"
	run 4 stat /d/zz && err_has NoNode
	run 7 delete /d && err_has NotEmpty
	run 6 delete -v 7 /d/a && err_has BadVersion
	run 0 delete -v 0 /d/a
	run 0 deleteall /d
	run 4 stat /d
	run 4 deleteall /d
	run 0 sync /
}

test_ephemeral_ttl() {
	run 0 create -e /eph && out_is /eph
	# The one-shot session closed, so its ephemeral goes.
	zkt_wait 10 gone /eph || zkt_fail "[$KIND] ephemeral outlived its session"
	printf 'create -e /eph2\ncreate /eph2/c\n' | "$CLI" -server "$SRV" >"$OUT" 2>"$ERR"
	[ $? -eq 8 ] && err_has NoChildrenForEphemerals ||
		zkt_fail "[$KIND] child of an ephemeral: $(cat "$ERR")"
	run 0 create -t 60000 /ttl x && out_is /ttl
	run 0 create -s -t 60000 /ttls- && out_has '^/ttls-[0-9]\{10\}$'
}

test_multi() {
	printf 'create /m "a b"\ncreate -s /m/s-\n# comment\n\nset -v 0 /m c\ncheck -v 1 /m\n' \
		>"$ZKT_DIR/ops"
	run 0 multi "$ZKT_DIR/ops" && out_has '^/m$' && out_has '^/m/s-0000000000$'
	run 0 get /m && out_is c
	printf 'create /m2 x\ndelete /nope\n' | "$CLI" -server "$SRV" multi - >"$OUT" 2>"$ERR"
	[ $? -eq 4 ] && err_has NoNode && err_has "op 2" || zkt_fail "[$KIND] failing multi"
	run 4 stat /m2
	printf 'create /m3\nfrobnicate /x\n' >"$ZKT_DIR/ops"
	run 2 multi "$ZKT_DIR/ops" && err_has "line 2"
	run 4 stat /m3
}

test_watches() {
	local pid
	run 0 create /w
	"$CLI" -server "$SRV" watch -R /w >"$ZKT_DIR/watch" 2>&1 &
	pid=$!
	"$CLI" -server "$SRV" get -w /t >"$ZKT_DIR/getw" 2>&1 &
	local gpid=$!
	BG+=("$pid" "$gpid")
	# The watch is in place once a probe create is seen.
	zkt_wait 10 eval 'run 0 create -s /w/probe- && has_lines "$ZKT_DIR/watch" NodeCreated 1' ||
		zkt_fail "[$KIND] watch saw nothing: $(cat "$ZKT_DIR/watch")"
	run 0 create /w/x && run 0 create /w/x/y v && run 0 set /w/x/y v2 && run 0 deleteall /w/x
	zkt_wait 10 has_lines "$ZKT_DIR/watch" "NodeDeleted path:/w/x$" 1 ||
		zkt_fail "[$KIND] watch events: $(cat "$ZKT_DIR/watch")"
	grep -q "type:NodeCreated path:/w/x/y" "$ZKT_DIR/watch" &&
		grep -q "type:NodeDataChanged path:/w/x/y" "$ZKT_DIR/watch" ||
		zkt_fail "[$KIND] recursive watch missed events: $(cat "$ZKT_DIR/watch")"
	kill -INT "$pid"
	wait "$pid" || zkt_fail "[$KIND] watch did not end cleanly on SIGINT"
	# get -w: prints the data now, the event when it fires, then exits 0.
	zkt_wait 10 has_lines "$ZKT_DIR/getw" data2 1 || zkt_fail "[$KIND] get -w printed nothing"
	run 0 set /t data4
	wait "$gpid" || zkt_fail "[$KIND] get -w failed: $(cat "$ZKT_DIR/getw")"
	grep -q "type:NodeDataChanged path:/t" "$ZKT_DIR/getw" || zkt_fail "[$KIND] get -w event"
	# Interrupted while waiting for a -w watch: status 130.
	"$CLI" -server "$SRV" stat -w /t >"$ZKT_DIR/statw" 2>&1 &
	gpid=$!
	BG+=("$gpid")
	zkt_wait 10 has_lines "$ZKT_DIR/statw" "^cZxid" 1 || zkt_fail "[$KIND] stat -w printed nothing"
	kill -INT "$gpid"
	local rc=0
	wait "$gpid" || rc=$?
	[ $rc -eq 130 ] || zkt_fail "[$KIND] stat -w interrupted: status $rc, want 130"
}

test_fourlw_shell_errors() {
	run 0 ruok && out_is imok
	run 0 srvr && out_has "Zookeeper version"
	run 0 mntr && out_has "zk_"
	run 2 4lw toolong
	printf 'create /sh x\nget /sh\nls /sh\nquit\n' | "$CLI" -server "$SRV" >"$OUT" 2>"$ERR" ||
		zkt_fail "[$KIND] shell: $(cat "$ERR")"
	out_has "^/sh$" && out_has "^x$" && out_has "^\[\]$"
	"$CLI" -server 127.0.0.1:24009 -timeout 1000 stat / >"$OUT" 2>"$ERR"
	[ $? -eq 3 ] && err_has ConnectionLoss || zkt_fail "no server: want status 3"
	"$CLI" -server 127.0.0.1:24009 ruok >"$OUT" 2>"$ERR"
	[ $? -eq 3 ] || zkt_fail "4lw with no server: want status 3"
}

test_bench() {
	local rc=0
	"$BENCH" --server "$SRV" --op create --ops 300 --sessions 2 --outstanding 4 --warmup 0 \
		--prefix /bench >"$OUT" 2>"$ERR" || zkt_fail "[$KIND] bench create: $(cat "$ERR")"
	out_has "^op=create .*ops=300 .*ops_per_s=[0-9.]* p50_us=[0-9.]* p99_us=.* errors=0"
	# The same key space again: every create fails with NodeExists; no figures.
	"$BENCH" --server "$SRV" --op create --ops 50 --warmup 0 --prefix /bench \
		>"$OUT" 2>"$ERR" || rc=$?
	[ $rc -eq 1 ] && [ ! -s "$OUT" ] && err_has "refusing to report" && err_has NodeExists ||
		zkt_fail "[$KIND] bench reported despite failures (rc $rc): $(cat "$OUT")"
	"$BENCH" --server "$SRV" --op create --ops 50 --warmup 0 --prefix /bench \
		--ignore NodeExists >"$OUT" 2>"$ERR" || zkt_fail "[$KIND] bench --ignore"
	out_has "ignored=50"
	"$BENCH" --server "$SRV" --op mixed --sessions 2 --outstanding 2 --keys 50 \
		--duration 1 --warmup 0.2 --prefix /bmix >"$OUT" 2>"$ERR" ||
		zkt_fail "[$KIND] bench mixed: $(cat "$ERR")"
	out_has "read_p99_us=" && out_has "write_p99_us="
	# Open loop: a rate the server sustains is reported with the client's send lag (a stall
	# at the very end of the window can make a run short: one retry); one it cannot is refused.
	bench_rate 100 || { [ $rc -eq 4 ] && bench_rate 100; } || zkt_fail "[$KIND] bench --rate: $(cat "$ERR")"
	out_has "^op=get sessions=2 rate=100 .*ops=100 .*send_lag_p99_us=[0-9.]* .*errors=0"
	bench_rate 1000000 || true
	[ $rc -eq 4 ] && [ ! -s "$OUT" ] && err_has "refusing to report: achieved" ||
		zkt_fail "[$KIND] bench --rate 1000000 not refused (rc $rc): $(cat "$OUT")"
}

# bench_rate RATE: zkfs-bench open loop for 1 s on 2 sessions; its exit status also in rc.
bench_rate() {
	rc=0
	"$BENCH" --server "$SRV" --op get --sessions 2 --rate "$1" --duration 1 --warmup 0.1 \
		--keys 50 --prefix /bmix >"$OUT" 2>"$ERR" || rc=$?
	return $rc
}

ran=0
port=24000
for KIND in $ZKT_SERVERS; do
	port=$((port + 1))
	case $KIND in
	zkfsd) [ -x "$ZKFSD" ] || { zkt_log "zkfsd not built: skipping it"; continue; } ;;
	apache) [ -f /usr/share/java/zookeeper.jar ] || { zkt_log "no ZooKeeper: skipping"; continue; } ;;
	esac
	zkt_start_server "$KIND" "$port"
	SRV=127.0.0.1:$port
	test_create_get_set
	test_binary
	test_ls_stat_delete
	test_ephemeral_ttl
	test_multi
	test_watches
	test_fourlw_shell_errors
	test_bench
	zkt_stop_server "$port"
	zkt_log "[$KIND] ok"
	ran=$((ran + 1))
done
[ $ran -gt 0 ] || zkt_skip "no server kind available"
