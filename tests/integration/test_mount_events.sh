#!/usr/bin/env bash
# Remote changes reach another mount: inotifywait on mount B sees CREATE, DELETE, MODIFY and
# ATTRIB for changes made on mount A and by a plain ZooKeeper client (kazoo); the kernel cache
# of B shows the new value as soon as the event is out (no expiry); poll() on an open file of B
# wakes when the node changes; both mounts show the same node the same way.
set -u
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/mount_lib.sh"
zkt_init mount_events
zkt_require_root
zkt_require_cmd inotifywait getfattr
[ -x "$ZKFS" ] || zkt_skip "zkfs not built at $ZKFS"

# Wait until the events file $1 has a line matching $2.
saw() { zkt_wait 10 zkm_seen "$1" "$2" || zkt_fail "no event matching '$2' in $(cat "$1")"; }

check_mount_to_mount() {
	local a=$1 b=$2 ev
	mkdir "$a/ev"
	echo v1 >"$a/ev/f"
	mkdir "$a/ev/d"
	zkt_wait 10 test -f "$b/ev/f" || zkt_fail "B does not see f"
	zkm_eq v1 "$(cat "$b/ev/f")" "B reads f"
	zkm_watch b1 "$b/ev"
	ev=$ZKM_EVENTS
	echo v2 >"$a/ev/f"
	saw "$ev" "MODIFY f$"
	# The kernel cache of B was invalidated by the event: no expiry needed.
	zkm_eq v2 "$(cat "$b/ev/f")" "B's cached value after MODIFY"
	echo new >"$a/ev/g"
	saw "$ev" "CREATE g$"
	zkm_eq new "$(cat "$b/ev/g")" "B reads a created file"
	mkdir "$a/ev/sub"
	saw "$ev" "CREATE,ISDIR sub$"
	rm "$a/ev/g"
	saw "$ev" "DELETE g$"
	[ ! -e "$b/ev/g" ] || zkt_fail "B still shows a deleted file"
	rmdir "$a/ev/sub"
	saw "$ev" "DELETE,ISDIR sub$"
	echo kid >"$a/ev/d/kid"
	echo dirdata >"$a/ev/d/.data"
	saw "$ev" "ATTRIB,ISDIR d$"
	zkm_eq dirdata "$(cat "$b/ev/d/.data")" "B reads a directory's .data"
	# One node looks the same on both mounts.
	zkm_eq "$(stat -c '%i %F %s' "$a/ev/f")" "$(stat -c '%i %F %s' "$b/ev/f")" "same inode/kind/size"
}

check_other_client() {
	local b=$1 port=$2 ev
	zkm_watch b2 "$b/ev"
	ev=$ZKM_EVENTS
	zkm_kazoo "$port" 'zk.create("/ev/k", b"from kazoo")'
	saw "$ev" "CREATE k$"
	zkm_kazoo "$port" 'zk.set("/ev/k", b"changed")'
	saw "$ev" "MODIFY k$"
	zkm_eq changed "$(cat "$b/ev/k")" "B reads kazoo's value"
	zkm_kazoo "$port" 'zk.set("/ev/d", b"other")'
	saw "$ev" "ATTRIB,ISDIR d$"
	zkm_kazoo "$port" 'zk.delete("/ev/k")'
	saw "$ev" "DELETE k$"
}

check_poll() {
	local a=$1 b=$2 out=$ZKT_DIR/poll.out
	echo p0 >"$a/ev/p"
	zkt_wait 10 test -f "$b/ev/p" || zkt_fail "B does not see p"
	/usr/bin/python3 - "$b/ev/p" >"$out" 2>&1 <<'PY' &
import select, sys, time
fd = open(sys.argv[1], "rb")
p = select.poll()
p.register(fd, select.POLLIN | select.POLLPRI)
print("waiting", flush=True)
r = p.poll(15000)
print("woke" if r else "timeout", flush=True)
PY
	local pid=$!
	zkt_wait 10 grep -q waiting "$out" || zkt_fail "poller did not start"
	echo p1 >"$a/ev/p"
	wait "$pid"
	zkm_eq "waiting woke" "$(tr '\n' ' ' <"$out" | sed 's/ $//')" "poll() wakes on a change"
}

run_kind() {
	zkm_pair "$1" 1
	check_mount_to_mount "$ZKM_A" "$ZKM_B"
	check_other_client "$ZKM_B" "$ZKM_PORT"
	check_poll "$ZKM_A" "$ZKM_B"
	zkm_pair_end "$1"
}

zkm_each_kind run_kind
