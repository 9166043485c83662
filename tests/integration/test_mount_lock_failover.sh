#!/usr/bin/env bash
# Cluster locks across a failover (fuse/lock.h): on a 3-node ensemble, a holder on one mount and
# three contenders waiting in turn on two mounts; the leader is killed, then the holder
# releases: the three acquire one at a time and in the order they queued (their contenders and
# predecessor watches survive in the sessions, which move to other servers).
set -u
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/mount_lib.sh"
source "$(dirname "$0")/lock_lib.sh"
source "$(dirname "$0")/cluster.sh"
zkt_init mount_lock_failover
zkt_require_root
zkt_require_cmd flock getfattr
[ -x "$ZKFS" ] || zkt_skip "zkfs not built at $ZKFS"

# waiter MOUNT I: flock -x MOUNT/lk, record when the section starts and ends in $ZKT_DIR/wI.
waiter() {
	flock -x "$1/lk" sh -c 'date +%s%N >"$1.0"; sleep 0.2; date +%s%N >"$1.1"' _ "$ZKT_DIR/w$2"
}

run_cluster() {
	local kind=$1 a b leader i pids=() prev_end=0 s e
	rm -f "$ZKT_DIR"/w[0-9]* "$ZKT_DIR"/h.*
	zkc_init "$kind" 3
	for i in 1 2 3; do zkc_start "$i"; done
	zkc_wait_leader 60 >/dev/null || zkt_fail "$kind: no leader"
	zkm_mount "a-$kind" "$(zkc_hosts)" "session_timeout=10,op_timeout=20"
	a=$ZKM_MP
	zkm_mount "b-$kind" "$(zkc_hosts)" "session_timeout=10,op_timeout=20"
	b=$ZKM_MP
	echo lock >"$a/lk" || zkt_fail "setup"
	holder h "$a/lk" x
	for i in 1 2 3; do
		m=$b
		[ "$i" = 2 ] && m=$a
		waiter "$m" "$i" &
		pids+=($!)
		zkt_wait 10 nholders_is "$a/lk" $((i + 1)) || zkt_fail "contender $i"
	done
	leader=$(zkc_leader) || zkt_fail "no leader"
	zkc_stop "$leader" KILL
	zkc_wait_leader 60 "$leader" >/dev/null || zkt_fail "no new leader"
	[ -z "$(ls "$ZKT_DIR"/w*.0 2>/dev/null)" ] || zkt_fail "a contender got the lock while it was held"
	holder_say h un
	for i in 0 1 2; do wait "${pids[$i]}" || zkt_fail "contender $((i + 1)) failed"; done
	for i in 1 2 3; do
		s=$(cat "$ZKT_DIR/w$i.0") e=$(cat "$ZKT_DIR/w$i.1")
		[ "$s" -gt "$prev_end" ] || zkt_fail "contender $i started before contender $((i - 1)) ended"
		prev_end=$e
	done
	holder_kill h
	zkm_eq 0 "$(nholders "$a/lk")" "contenders left"
	fusermount3 -u "$a"
	fusermount3 -u "$b"
	zkt_log "$kind: ok"
}

# The cluster and the mounts live in zkc_init's subshell; its mounts are reaped here.
run_kind() { local rc; (run_cluster "$1"); rc=$?; zkm_reap; return "$rc"; }

zkc_for_kinds mount_lock_failover run_kind
exit "$ZKC_RESULT"
