# mount_lib.sh: helpers of the zkfs mount tests. Source lib.sh first.
#
#   zkm_kinds                     server kinds of $ZKT_SERVERS that can run here
#   zkm_each_kind FUNC            FUNC KIND for each of them (skip when none)
#   zkm_pair KIND N / zkm_pair_end KIND   a server and two mounts $ZKM_A $ZKM_B; tear-down
#   zkm_port KIND N               port N (0-9) of KIND in the mount tests' range 23000-23099
#                                 (plus $ZKM_PORT_SHIFT, for runs side by side)
#   zkm_mount NAME HOSTS [OPTS]   mount on $ZKT_DIR/NAME (path in $ZKM_MP), log NAME.log;
#                                 $ZKM_OPTS (e.g. log_level=debug) is added to every mount
#   zkm_kazoo PORT|HOSTS CODE     run Python CODE with a kazoo client `zk` on PORT (or HOSTS)
#   zkm_eq WANT GOT WHAT          fail unless equal
#   zkm_fails PATTERN CMD...      CMD must fail and print PATTERN (an errno text) on stderr
#   zkm_watch NAME DIR...         inotifywait -m into $ZKM_EVENTS; zkm_unwatch stops them all

: "${ZKFS:=$top_builddir/fuse/zkfs}"

zkm_kinds() {
	local k
	for k in $ZKT_SERVERS; do
		case "$k" in
		zkfsd) [ -x "$ZKFSD" ] && echo zkfsd ;;
		apache) [ -f /usr/share/java/zookeeper.jar ] && echo apache ;;
		esac
	done
	return 0
}

# zkm_each_kind FUNC: FUNC KIND for each kind of zkm_kinds; skip the test when there is none.
zkm_each_kind() {
	local kinds k
	kinds=$(zkm_kinds)
	[ -n "$kinds" ] || zkt_skip "no server kind available"
	for k in $kinds; do "$1" "$k"; done
}

# zkm_pair KIND N: start KIND on its port N and mount it twice: $ZKM_PORT, $ZKM_A, $ZKM_B.
zkm_pair() {
	ZKM_PORT=$(zkm_port "$1" "$2")
	zkt_start_server "$1" "$ZKM_PORT"
	zkm_mount "a-$1" "127.0.0.1:$ZKM_PORT"
	ZKM_A=$ZKM_MP
	zkm_mount "b-$1" "127.0.0.1:$ZKM_PORT"
	ZKM_B=$ZKM_MP
}

# zkm_pair_end KIND: stop the watchers, unmount the pair, stop the server, log success.
zkm_pair_end() {
	zkm_unwatch
	fusermount3 -u "$ZKM_A"
	fusermount3 -u "$ZKM_B"
	zkt_stop_server "$ZKM_PORT"
	zkt_log "$1: ok"
}

# $ZKM_PORT_SHIFT (0-40, default 0) moves every port, so two runs of one test can overlap.
zkm_port() {
	case "$1" in
	apache) echo $((23000 + ${ZKM_PORT_SHIFT:-0} + $2)) ;;
	zkfsd) echo $((23050 + ${ZKM_PORT_SHIFT:-0} + $2)) ;;
	esac
}

zkm_mount() {
	local name=$1 hosts=$2 opts=${3:-}
	ZKM_MP=$ZKT_DIR/$name
	mkdir -p "$ZKM_MP"
	opts=${opts:+$opts,}${ZKM_OPTS:-}
	"$ZKFS" "$hosts" "$ZKM_MP" -o "log=$ZKT_DIR/$name.log${opts:+,${opts%,}}" ||
		zkt_fail "zkfs $hosts $ZKM_MP did not start"
	ZKT_MOUNTS+=("$ZKM_MP")
	zkt_wait 10 mountpoint -q "$ZKM_MP" || zkt_fail "$ZKM_MP is not a mount point"
	zkt_wait 15 ls "$ZKM_MP/zookeeper" >/dev/null || zkt_fail "$ZKM_MP: no session"
}

zkm_kazoo() {
	local hosts=$1 code=$2
	[[ "$hosts" == *:* ]] || hosts=127.0.0.1:$hosts
	/usr/bin/python3 - "$hosts" <<PY
import sys
from kazoo.client import KazooClient
zk = KazooClient(hosts=sys.argv[1], timeout=10)
zk.start(timeout=15)
try:
$(printf '%s\n' "$code" | sed 's/^/    /')
finally:
    zk.stop()
PY
}

zkm_eq() {
	[ "$1" = "$2" ] || zkt_fail "$3: want '$1', got '$2'"
}

zkm_fails() {
	local pattern=$1 err
	shift
	if err=$("$@" 2>&1 >/dev/null); then
		zkt_fail "'$*' succeeded; want failure with '$pattern'"
	fi
	case "$err" in
	*"$pattern"*) ;;
	*) zkt_fail "'$*' failed with '$err'; want '$pattern'" ;;
	esac
}

# zkm_seen FILE REGEX: the inotifywait output FILE has a line matching REGEX.
zkm_seen() { grep -qE "$2" "$1"; }

# zkm_unwatch: stop every inotifywait zkm_watch started (before unmounting: an inotifywait -m
# left on an unmounted directory does not exit, and lib.sh's cleanup would wait for it).
zkm_unwatch() {
	local k
	for k in "${!ZKT_PIDS[@]}"; do
		case "$k" in inotify-*)
			kill -KILL "${ZKT_PIDS[$k]}" 2>/dev/null
			wait "${ZKT_PIDS[$k]}" 2>/dev/null
			unset "ZKT_PIDS[$k]"
			;;
		esac
	done
}

# zkm_reap: from a parent shell, after a subshell that used zkm_mount/zkm_watch ended (maybe
# by zkt_fail): stop its watchers and unmount its mounts.
zkm_reap() {
	local f m
	for f in "$ZKT_DIR"/*.events.pid; do
		[ -f "$f" ] && kill -KILL "$(cat "$f")" 2>/dev/null
		rm -f "$f"
	done
	for m in "$ZKT_DIR"/*/; do
		mountpoint -q "$m" && { fusermount3 -u "$m" 2>/dev/null || umount -l "$m"; }
	done
	return 0
}

# zkm_watch VAR DIR...: start `inotifywait -m` on DIRs into $ZKT_DIR/VAR.events; waits until
# the watches are set up. The output file name is left in $ZKM_EVENTS.
zkm_watch() {
	local var=$1
	shift
	ZKM_EVENTS=$ZKT_DIR/$var.events
	inotifywait -m "$@" >"$ZKM_EVENTS" 2>"$ZKM_EVENTS.err" &
	ZKT_PIDS[inotify-$var]=$!
	echo $! >"$ZKM_EVENTS.pid" # For a parent shell's clean-up (zkm_reap).
	zkt_wait 10 grep -q "Watches established" "$ZKM_EVENTS.err" ||
		zkt_fail "inotifywait did not start"
}
