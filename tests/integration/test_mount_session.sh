#!/usr/bin/env bash
# Session loss: a server restart within the session timeout is transparent (the ephemeral
# survives, watches still fire); with no server an operation fails after op_timeout with
# ETIMEDOUT/EIO, and a caller waiting on the mount is interrupted at once by a signal; when the
# session expires the mount opens a new one, logs it, and local watchers see DELETE for the
# ephemerals it lost.
set -u
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/mount_lib.sh"
zkt_init mount_session
zkt_require_root
zkt_require_cmd inotifywait
[ -x "$ZKFS" ] || zkt_skip "zkfs not built at $ZKFS"

now_ms() { echo $(($(date +%s%N) / 1000000)); }
saw() { zkt_wait 15 zkm_seen "$1" "$2" || zkt_fail "no event matching '$2' in $(cat "$1")"; }

check_restart() {
	local kind=$1 port=$2 m=$3 ev
	mkdir "$m/sess"
	echo alive >"$m/sess/keep.eph"
	echo v1 >"$m/sess/f"
	zkm_watch restart "$m/sess"
	ev=$ZKM_EVENTS
	zkt_stop_server "$port"
	zkt_start_server "$kind" "$port"
	zkm_eq alive "$(cat "$m/sess/keep")" "ephemeral after a reconnect"
	zkm_kazoo "$port" 'zk.set("/sess/f", b"v2\n")'
	saw "$ev" "MODIFY f$"
	zkm_eq v2 "$(cat "$m/sess/f")" "value after a reconnect"
}

# stat sess/nothere on the mount $1 with no server: 0 unless the watched cache still answered ENOENT
# (the mount has not seen the connection go yet: late on a loaded machine); sets err, t0, t1.
stat_no_server() {
	t0=$(now_ms)
	err=$(stat "$1/sess/nothere" 2>&1) && zkt_fail "stat succeeded with no server"
	t1=$(now_ms)
	case "$err" in *"No such file"*) return 1 ;; esac
}

check_no_server() {
	local kind=$1 port=$2 m=$3 slow=$4 t0 t1 err
	zkt_stop_server "$port"
	zkt_wait 15 stat_no_server "$m" || zkt_fail "no server: still answered from the cache"
	case "$err" in
	*"timed out"* | *"Input/output error"*) ;;
	*) zkt_fail "no server: want ETIMEDOUT or EIO, got '$err'" ;;
	esac
	[ $((t1 - t0)) -lt 8000 ] || zkt_fail "no server: waited $((t1 - t0)) ms (op_timeout=3)"
	# A caller waiting on the mount (op_timeout=30 there) is interrupted by SIGINT.
	t0=$(now_ms)
	timeout -s INT 1 stat "$slow/sess/nothere" >/dev/null 2>&1
	t1=$(now_ms)
	[ $((t1 - t0)) -lt 4000 ] || zkt_fail "SIGINT did not interrupt a wait ($((t1 - t0)) ms)"
	zkt_start_server "$kind" "$port"
}

check_expiry() {
	local kind=$1 port=$2 m=$3 pid ev
	zkt_wait 15 test -e "$m/sess/keep" || zkt_fail "mount did not recover"
	echo mine >"$m/sess/mine.eph"
	zkm_watch expiry "$m/sess"
	ev=$ZKM_EVENTS
	pid=$(pgrep -f "^$ZKFS 127.0.0.1:$port $m ")
	[ -n "$pid" ] || zkt_fail "no zkfs process for $m"
	kill -STOP "$pid"
	zkt_wait 30 zkm_kazoo "$port" 'assert zk.exists("/sess/mine") is None' 2>/dev/null ||
		{ kill -CONT "$pid"; zkt_fail "the session did not expire"; }
	kill -CONT "$pid"
	saw "$ev" "DELETE mine$"
	saw "$ev" "DELETE keep$"
	zkt_wait 15 grep -q "session expired" "$ZKT_DIR/m-$kind.log" || zkt_fail "expiry not logged"
	echo again >"$m/sess/again.eph" || zkt_fail "no new session after expiry"
	zkm_kazoo "$port" 'assert zk.exists("/sess/again").ephemeralOwner != 0' ||
		zkt_fail "ephemeral of the new session"
}

run_kind() {
	local kind=$1 port m slow
	port=$(zkm_port "$kind" 3)
	zkt_start_server "$kind" "$port"
	zkm_mount "m-$kind" "127.0.0.1:$port" "session_timeout=4,op_timeout=3"
	m=$ZKM_MP
	zkm_mount "slow-$kind" "127.0.0.1:$port" "op_timeout=30"
	slow=$ZKM_MP
	check_restart "$kind" "$port" "$m"
	check_no_server "$kind" "$port" "$m" "$slow"
	check_expiry "$kind" "$port" "$m"
	zkm_unwatch
	fusermount3 -u "$m"
	fusermount3 -u "$slow"
	zkt_stop_server "$port"
	zkt_log "$kind: ok"
}

zkm_each_kind run_kind
