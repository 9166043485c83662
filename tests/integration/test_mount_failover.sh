#!/usr/bin/env bash
# A mount of a 3-node ensemble keeps working and misses no event while servers fail: each node
# in turn is paused (SIGSTOP) -- one of them is the one the mount is connected to -- a plain
# ZooKeeper client changes a file through the others, and the mount's inotify watcher sees the
# MODIFY and the new value (the C client re-registers its watches with its last zxid). Then the
# leader is killed and the mount's ephemeral survives (same session on another server).
set -u
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/mount_lib.sh"
source "$(dirname "$0")/cluster.sh"
zkt_init mount_failover
zkt_require_root
zkt_require_cmd inotifywait
[ -x "$ZKFS" ] || zkt_skip "zkfs not built at $ZKFS"

modifies() { grep -c "MODIFY f$" "$1" 2>/dev/null; }
has_value() { [ "$(cat "$1" 2>/dev/null)" = "$2" ]; }
at_least() { [ "$(modifies "$1")" -ge "$2" ]; }

run_cluster() {
	local kind=$1 m ev i others leader
	zkc_init "$kind" 3
	for i in 1 2 3; do zkc_start "$i"; done
	zkc_wait_leader 60 >/dev/null || zkt_fail "$kind: no leader"
	zkm_mount "m-$kind" "$(zkc_hosts)" "session_timeout=10,op_timeout=20"
	m=$ZKM_MP
	mkdir "$m/fo" && echo v0 >"$m/fo/f" && echo mine >"$m/fo/owner.eph" || zkt_fail "setup"
	cat "$m/fo/f" >/dev/null
	zkm_watch "fo-$kind" "$m/fo"
	ev=$ZKM_EVENTS
	for i in 1 2 3; do
		others=$(zkc_hosts $(printf '%s\n' 1 2 3 | grep -vx "$i"))
		zkc_pause "$i"
		zkm_kazoo "$others" "zk.set('/fo/f', b'v$i\n')" || { zkc_resume "$i"; zkt_fail "kazoo set"; }
		zkt_wait 40 at_least "$ev" "$i" || { zkc_resume "$i"; zkt_fail "no MODIFY while node $i is paused"; }
		zkt_wait 20 has_value "$m/fo/f" "v$i" || { zkc_resume "$i"; zkt_fail "stale value with node $i paused"; }
		zkc_resume "$i"
		zkc_wait_serving 60 "$i" || zkt_fail "node $i did not come back"
	done
	leader=$(zkc_leader) || zkt_fail "no leader"
	zkc_stop "$leader" KILL
	zkc_wait_leader 60 "$leader" >/dev/null || zkt_fail "no new leader"
	zkt_wait 30 has_value "$m/fo/owner" mine || zkt_fail "the ephemeral did not survive a failover"
	echo after >"$m/fo/f" || zkt_fail "write after the failover"
	zkm_unwatch
	fusermount3 -u "$m"
	zkt_log "$kind: ok"
}

# The cluster and the mount live in a subshell (zkc_init's); whatever way it ends, its mount
# and watchers are cleaned up here.
run_kind() {
	local rc
	(run_cluster "$1")
	rc=$?
	zkm_reap
	return $rc
}

zkc_for_kinds mount_failover run_kind
exit "$ZKC_RESULT"
