#!/usr/bin/env bash
# contrib/examples/master-worker on three mounts of one server: two masters (A active, B
# backup), workers on B and C, clients on C. Mount A dies (kill -9) mid-run: the backup takes
# over after A's session expires, and every task completes exactly once.
set -u
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/mount_lib.sh"
zkt_init mount_example
zkt_require_root
zkt_require_cmd inotifywait getfattr
[ -x "$ZKFS" ] || zkt_skip "zkfs not built at $ZKFS"
EX=$top_srcdir/contrib/examples/master-worker
SCRIPTS=()

# Start an example script in the background, its output in $ZKT_DIR/NAME.out.
start() {
	local name=$1
	shift
	"$@" >"$ZKT_DIR/$name.out" 2>&1 &
	SCRIPTS+=($!)
}

stop_scripts() {
	local p
	for p in "${SCRIPTS[@]}"; do
		pkill -KILL -P "$p" 2>/dev/null
		kill -KILL "$p" 2>/dev/null
	done
	SCRIPTS=()
}
trap 'stop_scripts; zkt_cleanup' EXIT

is_master() { [ "$(cat "$1/app/master" 2>/dev/null)" = "$2" ]; }

submit() { # submit FIRST LAST: clients for tasks FIRST..LAST on mount C, waited for.
	local i pids=()
	for i in $(seq "$1" "$2"); do
		timeout 40 "$EX/client.sh" "$c/app" "echo task $i" >"$ZKT_DIR/client-$i.out" 2>&1 &
		pids+=($!)
	done
	wait "${pids[@]}"
}

run_kind() {
	local kind=$1 port a b c apid log=$ZKT_DIR/exec.log i
	port=$(zkm_port "$kind" 4)
	zkt_start_server "$kind" "$port"
	for m in a b c; do
		zkm_mount "$m-$kind" "127.0.0.1:$port" "session_timeout=4"
		printf -v "$m" '%s' "$ZKM_MP"
	done
	: >"$log"
	start m1 "$EX/master.sh" "$a/app" m1
	zkt_wait 15 is_master "$a" m1 || zkt_fail "m1 is not master"
	start m2 "$EX/master.sh" "$b/app" m2
	start w1 "$EX/worker.sh" "$b/app" w1 "$log"
	start w2 "$EX/worker.sh" "$c/app" w2 "$log"
	zkt_wait 15 test -e "$c/app/workers/w1" -a -e "$c/app/workers/w2" || zkt_fail "workers"
	submit 1 4
	zkm_eq 4 "$(wc -l <"$log")" "tasks done before the failover"
	apid=$(pgrep -f "^$ZKFS 127.0.0.1:$port $a ")
	kill -KILL "$apid" || zkt_fail "cannot kill mount A"
	zkt_log "$kind: killed mount A (master m1)"
	submit 5 10
	zkt_wait 30 grep -q "active master" "$ZKT_DIR/m2.out" || zkt_fail "m2 did not take over"
	zkm_eq m2 "$(cat "$c/app/master")" "the new master"
	zkm_eq 10 "$(wc -l <"$log")" "task executions"
	zkm_eq 10 "$(cut -d' ' -f1 "$log" | sort -u | wc -l)" "distinct tasks executed"
	for i in $(seq 1 10); do
		grep -q "done by w[12]: task $i$" "$ZKT_DIR/client-$i.out" ||
			zkt_fail "client $i: $(cat "$ZKT_DIR/client-$i.out")"
	done
	stop_scripts
	for m in "$a" "$b" "$c"; do fusermount3 -u "$m" 2>/dev/null || umount -l "$m"; done
	zkt_stop_server "$port"
	zkt_log "$kind: ok"
}

zkm_each_kind run_kind
