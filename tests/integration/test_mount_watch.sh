#!/usr/bin/env bash
# The mount's one persistent-recursive watch (issue 12), on zkfsd and Apache ZooKeeper:
#   - the server holds a handful of watches for the mount, not one per node read (wchs);
#   - a change made while the mount's connection was down reaches its inotify watchers after
#     the reconnect (the server replays nothing for a persistent watch: the mount reads its
#     cached values again), also with -o oneshot_watches (setWatches2 replays those);
#   - a file another client gives a child is shown as a directory (issue 16: it stayed a file).
# The mount reaches the server through a relay that the test cuts and resumes.
set -u
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/mount_lib.sh"
zkt_init mount_watch
zkt_require_root
zkt_require_cmd inotifywait
[ -x "$ZKFS" ] || zkt_skip "zkfs not built at $ZKFS"

saw() { zkt_wait 20 zkm_seen "$1" "$2" || zkt_fail "no event matching '$2' in $(cat "$1")"; }

# relay_start NAME TARGET: zkt.Proxy (a TCP relay) to port TARGET, its port in $ZKM_RELAY;
# SIGUSR1 cuts every connection and refuses new ones until SIGUSR2.
relay_start() {
	local ready=$ZKT_DIR/relay-$1.port
	/usr/bin/python3 - "$(dirname "$0")" "$2" "$ready" <<'PY' &
import os, signal, sys
sys.path.insert(0, sys.argv[1])
import zkt
proxy = zkt.Proxy(int(sys.argv[2]))
signal.signal(signal.SIGUSR1, lambda *_: proxy.cut())
signal.signal(signal.SIGUSR2, lambda *_: proxy.resume())
with open(sys.argv[3] + ".tmp", "w") as f:
    f.write(str(proxy.port))
os.rename(sys.argv[3] + ".tmp", sys.argv[3])
while True:
    signal.pause()
PY
	ZKT_PIDS[relay-$1]=$!
	zkt_wait 10 test -e "$ready" || zkt_fail "the relay did not start"
	ZKM_RELAY=$(cat "$ready")
}

# total_watches PORT: the server's "Total watches" (wchs).
total_watches() { zkt_4lw "$1" wchs | sed -n 's/^Total watches: *//p'; }

# check_reconnect KIND PORT RELAY M LOG: values changed, names made and removed while the
# mount was cut off all reach its watcher once the relay lets it back in.
check_reconnect() {
	local kind=$1 port=$2 relay=$3 m=$4 log=$5 ev i
	mkdir "$m/rc" || zkt_fail "mkdir rc"
	for i in 1 2 3; do echo "v$i" >"$m/rc/f$i" || zkt_fail "write f$i"; done
	cat "$m/rc/f1" "$m/rc/f2" "$m/rc/f3" >/dev/null
	zkm_watch "rc-$kind-$relay" "$m/rc"
	ev=$ZKM_EVENTS
	kill -USR1 "${ZKT_PIDS[relay-$relay]}"
	zkt_wait 30 grep -q "connection to ZooKeeper lost" "$log" ||
		zkt_fail "$kind: the mount did not notice the cut"
	zkm_kazoo "$port" 'zk.set("/rc/f1", b"missed\n")
zk.create("/rc/new", b"n\n")
zk.delete("/rc/f2")' || zkt_fail "kazoo changes while the mount is cut off"
	kill -USR2 "${ZKT_PIDS[relay-$relay]}"
	saw "$ev" "MODIFY f1$"
	saw "$ev" "CREATE new$"
	saw "$ev" "DELETE f2$"
	zkm_eq missed "$(cat "$m/rc/f1")" "$kind: f1 changed while cut off"
	zkm_eq "f1 f3 new" "$(echo $(ls "$m/rc"))" "$kind: the listing after the reconnect"
	zkm_unwatch
}

# check_file_gets_child KIND PORT M: a file (cached, watched) that kazoo gives a child turns
# into a directory on the mount, its child readable.
check_file_gets_child() {
	local kind=$1 port=$2 m=$3
	echo data >"$m/fc" || zkt_fail "write fc"
	zkm_eq data "$(cat "$m/fc")" "$kind: fc read as a file"
	[ -f "$m/fc" ] || zkt_fail "$kind: fc is not a file"
	zkm_kazoo "$port" 'zk.create("/fc/kid", b"k\n")' || zkt_fail "kazoo create /fc/kid"
	zkt_wait 20 test -d "$m/fc" || zkt_fail "$kind: fc, given a child elsewhere, stays a file"
	zkm_eq k "$(cat "$m/fc/kid")" "$kind: the child of the former file"
}

run_kind() {
	local kind=$1 port relay relay1 m m1 held
	port=$(zkm_port "$kind" 3)
	relay=$kind-r
	relay1=$kind-r1
	printf '4lw.commands.whitelist=*\n' >"$ZKT_DIR/4lw.cfg"
	if [ "$kind" = zkfsd ]; then
		zkt_start_server "$kind" "$port" -c "$ZKT_DIR/4lw.cfg"
	else
		zkt_start_server "$kind" "$port"
	fi
	relay_start "$relay" "$port"
	zkm_mount "m-$kind" "127.0.0.1:$ZKM_RELAY" "session_timeout=30,op_timeout=40"
	m=$ZKM_MP
	zkt_wait 20 grep -q "one persistent recursive watch" "$ZKT_DIR/m-$kind.log" ||
		zkt_fail "$kind: the mount did not set its recursive watch"

	# Twenty files read: the recursive watch, plus one-shot child watches of directories.
	mkdir "$m/many" || zkt_fail "mkdir many"
	for i in $(seq 20); do echo "$i" >"$m/many/f$i" || zkt_fail "write f$i"; done
	cat "$m"/many/f* >/dev/null
	held=$(total_watches "$port")
	[ -n "$held" ] && [ "$held" -le 4 ] ||
		zkt_fail "$kind: the server holds '$held' watches for a mount that read 20 files"
	zkt_log "$kind: watches held after 20 files read: $held"

	check_reconnect "$kind" "$port" "$relay" "$m" "$ZKT_DIR/m-$kind.log"
	check_file_gets_child "$kind" "$port" "$m"
	fusermount3 -u "$m"

	# The one-shot scheme (servers before 3.6 get it) still sees what it missed.
	zkm_kazoo "$port" 'zk.delete("/rc", recursive=True)' || zkt_fail "kazoo clean-up"
	relay_start "$relay1" "$port"
	zkm_mount "m1-$kind" "127.0.0.1:$ZKM_RELAY" "session_timeout=30,op_timeout=40,oneshot_watches"
	m1=$ZKM_MP
	check_reconnect "$kind" "$port" "$relay1" "$m1" "$ZKT_DIR/m1-$kind.log"
	! grep -q "one persistent recursive watch" "$ZKT_DIR/m1-$kind.log" ||
		zkt_fail "$kind: -o oneshot_watches asked for the recursive watch"
	fusermount3 -u "$m1"
	zkt_stop_server "$port"
	zkt_log "$kind: ok"
}

zkm_each_kind run_kind
