# lib.sh: shared helpers of the shell integration tests. Source it, then call zkt_init.
#
#   zkt_init NAME                 temp dir $ZKT_DIR, EXIT trap that stops everything started here
#   zkt_start_server KIND PORT    KIND = zkfsd | apache; waits until it answers ruok
#   zkt_stop_server PORT [SIG]    stop the server on PORT (default TERM; KILL for a crash); a
#                                 zkfsd's exit status is checked
#   zkt_4lw PORT WORD             a four-letter word's answer on stdout
#   zkt_wait SECONDS CMD...       poll CMD (every 50 ms, or as long as a try took) until it
#                                 succeeds or the deadline passes
#   zkt_skip REASON / zkt_fail REASON   exit 77 / print server logs and exit 1
#   zkt_require_root, zkt_require_cmd CMD...
#
# Servers under test: build/zkfsd/zkfsd from $top_builddir, and Apache ZooKeeper from Debian's
# `zookeeper` package (QuorumPeerMain on its own zoo.cfg). $ZKT_SERVERS (default "zkfsd apache")
# lists the kinds a test that compares both runs against.

: "${top_srcdir:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir/build}"
ZKFSD=${ZKFSD:-$top_builddir/zkfsd/zkfsd}
ZKT_SERVERS=${ZKT_SERVERS:-zkfsd apache}
# Without a binding SLF4J drops Apache ZooKeeper's log; these give it log4j on stdout.
ZKT_APACHE_LOG_JARS=/usr/share/java/slf4j-log4j12.jar:/usr/share/java/log4j-1.2.jar
declare -A ZKT_PIDS=() ZKT_KINDS=()
ZKT_MOUNTS=()

zkt_log() { printf '%s: %s\n' "${ZKT_NAME:-test}" "$*" >&2; }

zkt_cleanup() {
	local m p
	for m in "${ZKT_MOUNTS[@]}"; do
		mountpoint -q "$m" 2>/dev/null && { fusermount3 -u "$m" 2>/dev/null || umount -l "$m"; }
	done
	# TERM first (resumed if paused), KILL after 5 s: a clean exit runs the sanitizers' leak
	# check and writes gcov's counts.
	for p in "${!ZKT_PIDS[@]}"; do
		kill -CONT "${ZKT_PIDS[$p]}" 2>/dev/null
		kill -TERM "${ZKT_PIDS[$p]}" 2>/dev/null
	done
	for p in "${!ZKT_PIDS[@]}"; do
		zkt_wait 5 zkt_gone "${ZKT_PIDS[$p]}" || kill -KILL "${ZKT_PIDS[$p]}" 2>/dev/null
	done
	# Any other background job (inotifywait, a load loop) would make `wait` block forever.
	p=$(jobs -p)
	[ -z "$p" ] || kill -KILL $p 2>/dev/null
	wait 2>/dev/null
	[ -n "${ZKT_KEEP:-}" ] || rm -rf "$ZKT_DIR"
}

zkt_gone() { ! kill -0 "$1" 2>/dev/null || [[ $(ps -o stat= -p "$1" 2>/dev/null) == Z* ]]; }

zkt_init() {
	ZKT_NAME=$1
	ZKT_DIR=$(mktemp -d "${TMPDIR:-/tmp}/zkt-$1.XXXXXX")
	trap zkt_cleanup EXIT
}

zkt_skip() { zkt_log "SKIP: $*"; exit 77; }

zkt_fail() {
	local f
	zkt_log "FAIL: $*"
	for f in "$ZKT_DIR"/*/server.log "$ZKT_DIR"/*.log; do
		[ -f "$f" ] || continue
		echo "---- $f (last 40 lines)" >&2
		tail -n 40 "$f" >&2
	done
	exit 1
}

zkt_require_root() { [ "$(id -u)" -eq 0 ] || zkt_skip "needs root"; }

zkt_require_cmd() {
	local c
	for c in "$@"; do command -v "$c" >/dev/null 2>&1 || zkt_skip "needs $c"; done
}

# zkt_wait SECS CMD...: poll CMD until it succeeds (true) or SECS pass (false). Between tries it
# sleeps 50 ms, or as long as the try took if longer: a probe that starts a Python client (about
# 0.3 s of CPU) then keeps a core at most half busy instead of all of it, which on a loaded
# 2-core machine slowed every other test.
# (Its locals have names no caller uses: CMD runs in its scope and may set its caller's t0.)
zkt_wait() {
	local zkt_wait_deadline=$(($(date +%s%N) + ${1%.*} * 1000000000)) zkt_wait_t0 zkt_wait_took
	shift
	while zkt_wait_t0=$(date +%s%N) && ! "$@"; do
		zkt_wait_took=$(($(date +%s%N) - zkt_wait_t0))
		[ $((zkt_wait_t0 + zkt_wait_took)) -lt "$zkt_wait_deadline" ] || return 1
		[ "$zkt_wait_took" -gt 50000000 ] || zkt_wait_took=50000000
		sleep "$((zkt_wait_took / 1000000000)).$(printf %09d $((zkt_wait_took % 1000000000)))"
	done
}

zkt_4lw() {
	timeout 5 bash -c 'exec 3<>/dev/tcp/127.0.0.1/$1 && printf %s "$2" >&3 && cat <&3' \
		_ "$1" "$2" 2>/dev/null
}

# Apache ZooKeeper answers imok before it serves ("not currently serving" in srvr): wait for both.
zkt_is_ok() {
	[ "$(zkt_4lw "$1" ruok)" = imok ] && ! zkt_4lw "$1" srvr | grep -q "not currently serving"
}

# zkt_start_server KIND PORT [extra zkfsd flags...]: data and log in $ZKT_DIR/KIND-PORT/.
zkt_start_server() {
	local kind=$1 port=$2 dir="$ZKT_DIR/$1-$2"
	shift 2
	mkdir -p "$dir/data"
	case "$kind" in
	zkfsd)
		[ -x "$ZKFSD" ] || zkt_skip "zkfsd not built at $ZKFSD"
		"$ZKFSD" --port "$port" --address 127.0.0.1 --data-dir "$dir/data" "$@" \
			>"$dir/server.log" 2>&1 &
		;;
	apache)
		[ -f /usr/share/java/zookeeper.jar ] || zkt_skip "Debian zookeeper not installed"
		cat >"$dir/zoo.cfg" <<CFG
tickTime=2000
dataDir=$dir/data
clientPort=$port
clientPortAddress=127.0.0.1
admin.enableServer=false
4lw.commands.whitelist=*
extendedTypesEnabled=true
CFG
		java -Xmx512m -Dzookeeper.log.dir="$dir" -Dzookeeper.root.logger=INFO,CONSOLE \
			-cp "/etc/zookeeper/conf:/usr/share/java/zookeeper.jar:$ZKT_APACHE_LOG_JARS" \
			org.apache.zookeeper.server.quorum.QuorumPeerMain "$dir/zoo.cfg" \
			>"$dir/server.log" 2>&1 &
		;;
	*) zkt_fail "unknown server kind $kind" ;;
	esac
	ZKT_PIDS[$port]=$!
	ZKT_KINDS[$port]=$kind
	zkt_wait 30 zkt_is_ok "$port" || zkt_fail "$kind on port $port did not answer ruok"
}

# zkt_stop_server PORT [SIG]: stop and reap the server; a zkfsd must exit 0 on TERM or INT (a
# sanitizer's leak report or a crash on the way out fails the test) and die of KILL.
zkt_stop_server() {
	local port=$1 sig=${2:-TERM} pid=${ZKT_PIDS[$1]:-} rc
	[ -n "$pid" ] || return 0
	kill "-$sig" "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	rc=$?
	unset "ZKT_PIDS[$port]"
	[ "${ZKT_KINDS[$port]:-}" = zkfsd ] || return 0
	zkt_check_exit "zkfsd on port $port" "$sig" "$rc"
}

# zkt_check_exit WHAT SIG STATUS: fail unless STATUS is what a clean exit on SIG gives.
zkt_check_exit() {
	local want
	case "$2" in
	TERM | INT) want=0 ;;
	KILL) want=137 ;;
	*) return 0 ;;
	esac
	[ "$3" -eq "$want" ] || zkt_fail "$1 exited with status $3 after SIG$2 (want $want)"
}
