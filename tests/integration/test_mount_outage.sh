#!/usr/bin/env bash
# The mount keeps its word across an outage (issue 16, cases 1 and 2). While shell loops write
# new files and two `<>` CAS loops (one per mount) increment one counter, the server is paused
# (kill -STOP) and later killed (kill -9) and restarted; during each outage, once the mount
# noticed it, a new write must fail at open. Then: every file the shell was told was written exists with its
# value; none it was told failed exists; the counter is exactly the number of increments the
# shell was told were made, give or take those reported as unknown (EIO).
set -u
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/mount_lib.sh"
zkt_init mount_outage
zkt_require_root
[ -x "$ZKFS" ] || zkt_skip "zkfs not built at $ZKFS"

# classify LOG I ERRFILE RC: append "ok I", "unk I" (EIO: outcome unknown) or "fail I".
classify() {
	if [ "$4" -eq 0 ]; then
		echo "ok $2"
	elif grep -q "Input/output error" "$3"; then
		echo "unk $2"
	else
		echo "fail $2 $(tr '\n' ' ' <"$3")"
	fi >>"$1"
}

# new_files DIR LOG: write DIR/nI with vI for I = 1, 2, ... until $STOP exists.
new_files() {
	local i=0 rc
	while [ ! -e "$STOP" ]; do
		i=$((i + 1))
		{ echo "v$i" >"$1/n$i"; } 2>"$2.err"
		rc=$?
		classify "$2" "$i" "$2.err" "$rc"
	done
}

# cas_loop FILE LOG: increment FILE through a read-write descriptor until $STOP exists.
cas_loop() {
	local i=0 rc n
	while [ ! -e "$STOP" ]; do
		i=$((i + 1))
		{ { n=$(cat <&3) && echo $((n + 1)) >&3; } 3<>"$1"; } 2>"$2.err"
		rc=$?
		classify "$2" "$i" "$2.err" "$rc"
	done
}

count() { grep -c "^$1 " "$2"; }
progressed() { [ "$(count ok "$1")" -ge "$2" ]; }

lost() { [ "$(grep -c "connection to ZooKeeper lost" "$1")" -gt "$2" ]; }

# write_refused HOW: with no session, a new write fails at open (ETIMEDOUT after op_timeout),
# where the shell sees it, and leaves nothing behind (checked at the end: "fail").
write_refused() {
	local err
	{ echo "during $1" >"$ZKM_A/out/during-$1"; } 2>"$LOGS/during.err" &&
		zkt_fail "a write with no server ($1) succeeded"
	err=$(cat "$LOGS/during.err")
	case "$err" in
	*"timed out"*) echo "fail during-$1 $err" >>"$LOGS/new" ;;
	*) zkt_fail "a write with no server ($1): want ETIMEDOUT at open, got '$err'" ;;
	esac
}

# outage KIND HOW: pause (STOP) or kill (KILL) the server in the middle of the loops; once the
# mount has noticed, a new write must fail visibly; then the server comes back.
outage() {
	local kind=$1 how=$2 pid=${ZKT_PIDS[$ZKM_PORT]} before seen
	before=$(count ok "$LOGS/new")
	seen=$(grep -c "connection to ZooKeeper lost" "$ZKT_DIR/a-$kind.log")
	zkt_log "$kind: $how the server after $before new files"
	if [ "$how" = STOP ]; then
		kill -STOP "$pid"
	else
		zkt_stop_server "$ZKM_PORT" KILL
	fi
	zkt_wait 20 lost "$ZKT_DIR/a-$kind.log" "$seen" || zkt_fail "the mount did not notice $how"
	write_refused "$how"
	if [ "$how" = STOP ]; then
		kill -CONT "$pid"
	else
		zkt_start_server "$kind" "$ZKM_PORT"
	fi
	zkt_wait 40 progressed "$LOGS/new" $((before + 5)) || zkt_fail "no progress after $how"
	zkt_wait 40 progressed "$LOGS/casa" $(($(count ok "$LOGS/casa") + 2)) ||
		zkt_fail "the CAS loop of mount A made no progress after $how"
}

check_files() {
	local listing=$1 i value
	for i in $(awk '$1 == "ok" { print $2 }' "$LOGS/new"); do
		value=$(awk -v n="n$i" '$1 == n { print $2 }' "$listing")
		zkm_eq "v$i" "$value" "n$i, told written"
	done
	for i in $(awk '$1 == "fail" { print $2 }' "$LOGS/new"); do
		[[ "$i" == during-* ]] || i=n$i
		grep -q "^$i " "$listing" && zkt_fail "n$i is present, but the shell was told it failed: $(grep "^fail $i " "$LOGS/new")"
	done
	return 0
}

run_kind() {
	local kind=$1 ok unk ctr pids=() p
	ZKM_OPTS="session_timeout=6,op_timeout=3" zkm_pair "$kind" 0
	LOGS=$ZKT_DIR/logs-$kind
	STOP=$LOGS/stop
	mkdir -p "$LOGS"
	mkdir "$ZKM_A/out" && echo 0 >"$ZKM_A/out/ctr" || zkt_fail "setup"
	: >"$LOGS/new" && : >"$LOGS/casa" && : >"$LOGS/casb"
	new_files "$ZKM_A/out" "$LOGS/new" &
	pids+=($!)
	cas_loop "$ZKM_A/out/ctr" "$LOGS/casa" &
	pids+=($!)
	cas_loop "$ZKM_B/out/ctr" "$LOGS/casb" &
	pids+=($!)
	zkt_wait 30 progressed "$LOGS/new" 10 || zkt_fail "the loops do not start"
	outage "$kind" STOP
	outage "$kind" KILL
	touch "$STOP"
	for p in "${pids[@]}"; do wait "$p"; done
	zkm_kazoo "$ZKM_PORT" '
for c in zk.get_children("/out"):
    print(c, zk.get("/out/" + c)[0].decode().strip())' >"$LOGS/listing" || zkt_fail "kazoo listing"
	check_files "$LOGS/listing"
	ok=$(($(count ok "$LOGS/casa") + $(count ok "$LOGS/casb")))
	unk=$(($(count unk "$LOGS/casa") + $(count unk "$LOGS/casb")))
	ctr=$(awk '$1 == "ctr" { print $2 }' "$LOGS/listing")
	zkt_log "$kind: new files $(count ok "$LOGS/new") ok, $(count fail "$LOGS/new") failed," \
		"$(count unk "$LOGS/new") unknown; counter $ctr, increments $ok ok, $unk unknown," \
		"$(($(count fail "$LOGS/casa") + $(count fail "$LOGS/casb"))) failed"
	[ "$ctr" -ge "$ok" ] && [ "$ctr" -le $((ok + unk)) ] ||
		zkt_fail "counter $ctr, but $ok increments were told made and $unk unknown"
	grep -h "accepted by write()" "$ZKT_DIR"/a-"$kind".log "$ZKT_DIR"/b-"$kind".log >&2
	zkm_pair_end "$kind"
}

zkm_each_kind run_kind
