# cluster.sh: 3- or 5-node clusters of zkfsd or Apache ZooKeeper for the ensemble tests.
# Source it after lib.sh and zkt_init; then zkc_init KIND N.
#
#   zkc_init KIND N [OPTS]      KIND = zkfsd | apache, nodes 1..N (N <= 5) configured as voters;
#                               takes the cluster lock, sets up the nftables table, EXIT trap.
#                               OPTS: "observer=I" makes node I an observer in every config.
#   zkc_start I                 start node I (config written by zkc_init / zkc_config)
#   zkc_config I MEMBERS...     rewrite node I's config with server lines for MEMBERS only
#   zkc_stop I [SIG]            stop node I (TERM by default, KILL for a crash) and reap it; a
#                               zkfsd's exit status is checked (zkt_check_exit)
#   zkc_pause I / zkc_resume I  SIGSTOP / SIGCONT; zkc_signal I SIG sends any signal
#   zkc_running I               true while node I's process lives
#   zkc_wait_serving SECS I     poll until node I answers ruok and is leader/follower/observer
#   zkc_mode I                  srvr's Mode: leader, follower, observer, looking (zkfsd), ""
#   zkc_leader                  the index of the node that reports Mode: leader (fails if none)
#   zkc_wait_leader SECS [I..]  poll until one of the running nodes (minus the excluded I..) is
#                               leader; prints its index
#   zkc_4lw I WORD              a four-letter word's answer
#   zkc_addr I, zkc_hosts [I..] 127.0.0.1I and "addr:port,..." connect strings (default: all)
#   zkc_partition "I.." ["J.."] drop every packet between nodes I.. and nodes J.. (default: the
#                               others), both directions; clients still reach every node
#   zkc_heal                    remove every partition rule
#   zkc_forward PORT I          127.0.0.1:PORT reaches node I (for clients that only use 127.0.0.1)
#   zkc_load_start/_stop DIR .. background kazoo write load; zkc_acks, zkc_wait_acks, zkc_verify
#   zkc_wait_converged SECS I.. every node has the same dgst (zkfsd) / the same tree (Apache)
#   zkc_for_kinds NAME FUNC     FUNC KIND in a subshell per kind of $ZKT_SERVERS; ZKC_RESULT
#
# Addresses and ports: node I listens on 127.0.0.(10+I): client port 22050, raft (ZooKeeper's
# quorum) port 22051, peer (election) port 22052 -- the range 22050-22099 of the cluster tests.
#
# How a partition works on loopback: every node runs as its own uid (60010+I); a rule in the
# `zkt` nftables table stamps each new connection with the uid of the node that opened it
# (ct mark), and the partition rules drop packets whose connection was opened by one side and
# accepted on an address of the other. Client connections (opened by root) are never dropped.
# Packets sent between nodes always have 127.0.0.1 as the source of the connecting side (the
# kernel's choice on lo), which is why plain address rules cannot tell the nodes apart.
#
# Tear-down: nodes get SIGKILL from the kernel when the test shell dies (pdeathsig); the EXIT trap
# of the (sub)shell that called zkc_init kills them, deletes the table and the nodes' dirs (the
# logs were printed by zkt_fail if it failed); a table left by a killed run is deleted by the
# next zkc_init.
# Cluster tests share addresses and ports: outside a namespace of its own, zkc_init serialises
# them with a lock file.

ZKC_CLIENT_PORT=22050
ZKC_RAFT_PORT=22051
ZKC_PEER_PORT=22052
ZKC_UID_BASE=60010
ZKC_TABLE=zkt
ZKC_LOCK=${TMPDIR:-/tmp}/zkt-cluster.lock
ZKC_SUPER_PASS=zkt-super
ZKC_PY=/usr/bin/python3
# Debian's zookeeper.jar names no slf4j binding: without these the servers log nothing.
ZKC_LOG_JARS=/usr/share/java/slf4j-log4j12.jar:/usr/share/java/log4j-1.2.jar
ZKC_CLIENT="$top_srcdir/tests/integration/cluster_client.py"
# cluster_client.py imports zkt.py and the compat tests: no __pycache__ in the source tree.
export PYTHONDONTWRITEBYTECODE=1
ZKC_KIND=
ZKC_N=0
ZKC_OBSERVERS=" "
ZKC_NET=0
ZKC_LOCK_FD=9 # replaced by the lock's fd in zkc_init; children never inherit it
declare -A ZKC_PID=()

zkc_addr() { echo "127.0.0.$((10 + $1))"; }
zkc_dir() { echo "$ZKT_DIR/$ZKC_KIND-n$1"; }

zkc_hosts() {
	local i out=
	# shellcheck disable=SC2046
	[ $# -gt 0 ] || set -- $(zkc_up)
	for i in "$@"; do out="${out:+$out,}$(zkc_addr "$i"):$ZKC_CLIENT_PORT"; done
	echo "$out"
}

zkc_4lw() {
	timeout 5 bash -c 'exec 3<>"/dev/tcp/$1/$2" && printf %s "$3" >&3 && cat <&3' \
		_ "$(zkc_addr "$1")" "$ZKC_CLIENT_PORT" "$2" 2>/dev/null
}

zkc_mode() { zkc_4lw "$1" srvr | sed -n 's/^Mode: *//p'; }

zkc_running() { [ -n "${ZKC_PID[$1]:-}" ] && kill -0 "${ZKC_PID[$1]}" 2>/dev/null; }

zkc_is_serving() {
	zkc_running "$1" || return 1
	[ "$(zkc_4lw "$1" ruok)" = imok ] || return 1
	case "$(zkc_mode "$1")" in
	leader | follower | observer) return 0 ;;
	*) return 1 ;; # not serving, or zkfsd's "looking" (no leader known)
	esac
}

zkc_wait_serving() {
	zkt_wait "$1" zkc_is_serving "$2" ||
		zkt_fail "$ZKC_KIND node $2 not serving after $1 s (srvr: $(zkc_4lw "$2" srvr | head -1))"
}

# Prints the leader's index; fails when no running node (minus "$@") reports it.
zkc_leader() {
	local i skip=" $* "
	for i in $(zkc_up); do
		[[ $skip == *" $i "* ]] && continue
		[ "$(zkc_mode "$i")" = leader ] && { echo "$i"; return 0; }
	done
	return 1
}

# The indexes of the nodes whose process runs, ascending.
zkc_up() {
	local i
	for i in 1 2 3 4 5; do zkc_running "$i" && echo "$i"; done
}

zkc_wait_leader() {
	local secs=$1 deadline
	shift
	deadline=$(($(date +%s%N) + secs * 1000000000))
	until zkc_leader "$@"; do
		[ "$(date +%s%N)" -lt "$deadline" ] || return 1
		sleep 0.05
	done
}

# The server.I line of node I (ZooKeeper's dynamic form, which zkfsd's parser also takes).
zkc_server_line() {
	local role=participant
	[[ $ZKC_OBSERVERS == *" $1 "* ]] && role=observer
	local addr
	addr=$(zkc_addr "$1")
	echo "server.$1=$addr:$ZKC_RAFT_PORT:$ZKC_PEER_PORT:$role;$addr:$ZKC_CLIENT_PORT"
}

# The superDigest of ZooKeeper's DigestAuthenticationProvider: base64(sha1("super:PASS")).
zkc_super_digest() {
	"$ZKC_PY" -c 'import base64, hashlib, sys
print(base64.b64encode(hashlib.sha1(sys.argv[1].encode()).digest()).decode())' \
		"super:$ZKC_SUPER_PASS"
}

# zkc_config I MEMBERS...: node I's zoo.cfg (and myid) with the server lines of MEMBERS.
zkc_config() {
	local i=$1 dir m
	shift
	dir=$(zkc_dir "$i")
	mkdir -p "$dir/data"
	echo "$i" >"$dir/data/myid"
	{
		echo "tickTime=1000"
		echo "initLimit=10"
		echo "syncLimit=2"
		echo "dataDir=$dir/data"
		echo "snapCount=512"
		echo "4lw.commands.whitelist=*"
		if [ "$ZKC_KIND" = apache ]; then
			echo "admin.enableServer=false"
			echo "reconfigEnabled=true"
			echo "extendedTypesEnabled=true"
			echo "standaloneEnabled=false"
			[[ $ZKC_OBSERVERS == *" $i "* ]] && echo "peerType=observer"
		else
			echo "clientPort=$ZKC_CLIENT_PORT"
			echo "clientPortAddress=$(zkc_addr "$i")"
			echo "znode.container.checkIntervalMs=500" # as Apache's -D below
			echo "reconfigEnabled=true"
			echo "superDigest=super:$(zkc_super_digest)"
		fi
		for m in "$@"; do zkc_server_line "$m"; done
	} >"$dir/zoo.cfg"
	chown -R "$((ZKC_UID_BASE + i)):$((ZKC_UID_BASE + i))" "$dir"
}

zkc_start() {
	local i=$1 dir uid
	dir=$(zkc_dir "$i")
	uid=$((ZKC_UID_BASE + i))
	[ -f "$dir/zoo.cfg" ] || zkt_fail "node $i has no config"
	echo "==== zkc: start $ZKC_KIND node $i at $(date +%T.%N)" >>"$dir/server.log"
	case "$ZKC_KIND" in
	zkfsd)
		setpriv --reuid "$uid" --regid "$uid" --clear-groups --pdeathsig KILL \
			"$ZKFSD" -c "$dir/zoo.cfg" --address "$(zkc_addr "$i")" \
			--data-dir "$dir/data" --myid "$i" >>"$dir/server.log" 2>&1 {ZKC_LOCK_FD}>&- &
		;;
	apache)
		setpriv --reuid "$uid" --regid "$uid" --clear-groups --pdeathsig KILL \
			java -Xmx192m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -XX:-UsePerfData \
			-Dzookeeper.log.dir="$dir" -Dzookeeper.root.logger=INFO,CONSOLE \
			-Dzookeeper.snapshotSizeFactor=-1 \
			-Dznode.container.checkIntervalMs=500 -Dznode.container.maxPerMinute=100000 \
			-Dzookeeper.DigestAuthenticationProvider.superDigest="super:$(zkc_super_digest)" \
			-cp "/etc/zookeeper/conf:/usr/share/java/zookeeper.jar:$ZKC_LOG_JARS" \
			org.apache.zookeeper.server.quorum.QuorumPeerMain "$dir/zoo.cfg" \
			>>"$dir/server.log" 2>&1 {ZKC_LOCK_FD}>&- &
		;;
	esac
	ZKC_PID[$i]=$!
	ZKT_PIDS["node$i"]=$!
}

zkc_stop() {
	local i=$1 sig=${2:-TERM} pid=${ZKC_PID[$1]:-}
	[ -n "$pid" ] || return 0
	# stderr off: bash's "Killed" notice for the reaped job is noise in the test log.
	zkc_kill_wait "$pid" "$sig" 2>/dev/null ||
		zkt_fail "$ZKC_KIND node $i did not exit within 20 s of SIG$sig"
	echo "==== zkc: node $i stopped (SIG$sig, status $ZKC_EXIT) at $(date +%T.%N)" \
		>>"$(zkc_dir "$i")/server.log"
	unset "ZKC_PID[$i]" "ZKT_PIDS[node$i]"
	[ "$ZKC_KIND" != zkfsd ] || zkt_check_exit "zkfsd node $i" "$sig" "$ZKC_EXIT"
}

zkc_kill_wait() {
	local pid=$1 deadline=$(($(date +%s%N) + 20000000000))
	kill "-$2" "$pid"
	while kill -0 "$pid" && [ "$(zkc_pid_state "$pid")" != Z ]; do
		if [ "$(date +%s%N)" -ge "$deadline" ]; then
			kill -KILL "$pid"
			wait "$pid"
			return 1
		fi
		sleep 0.05
	done
	wait "$pid"
	ZKC_EXIT=$?
	return 0
}

zkc_pid_state() { sed -n 's/^State:[[:space:]]*\(.\).*/\1/p' "/proc/$1/status" 2>/dev/null; }

zkc_signal() { kill "-$2" "${ZKC_PID[$1]}"; }
zkc_pause() { kill -STOP "${ZKC_PID[$1]}"; }
zkc_resume() { kill -CONT "${ZKC_PID[$1]}"; }

zkc_nft() { nft "$@" || zkt_fail "nft $* failed"; }

# The table: a chain that stamps each new connection with its opener's node index.
zkc_net_setup() {
	local i rules=
	nft delete table inet "$ZKC_TABLE" 2>/dev/null
	for i in 1 2 3 4 5; do
		rules="$rules ct state new meta skuid $((ZKC_UID_BASE + i)) ct mark set $i;"
	done
	nft -f - <<NFT || zkt_skip "nftables unusable here (nft -f failed)"
table inet $ZKC_TABLE {
	chain cut { }
	chain nat {
		type nat hook output priority -100; policy accept;
	}
	chain out {
		type filter hook output priority filter; policy accept;
		$(tr ';' '\n' <<<"$rules")
		jump cut
	}
}
NFT
	ZKC_NET=1
}

zkc_set() {
	local f=$1 out= x
	shift
	for x in "$@"; do out="${out:+$out, }$("$f" "$x")"; done
	echo "{ $out }"
}

zkc_ident() { echo "$1"; }

zkc_partition() {
	local side_a=$1 side_b=${2:-} i
	if [ -z "$side_b" ]; then
		for i in $(seq 1 5); do [[ " $side_a " == *" $i "* ]] || side_b="$side_b $i"; done
	fi
	# shellcheck disable=SC2086
	zkc_nft add rule inet "$ZKC_TABLE" cut ct mark "$(zkc_set zkc_ident $side_a)" \
		ct original ip daddr "$(zkc_set zkc_addr $side_b)" drop
	# shellcheck disable=SC2086
	zkc_nft add rule inet "$ZKC_TABLE" cut ct mark "$(zkc_set zkc_ident $side_b)" \
		ct original ip daddr "$(zkc_set zkc_addr $side_a)" drop
	zkt_log "partition: {$side_a } | {$side_b } at $(date +%T.%N)"
}

zkc_heal() {
	zkc_nft flush chain inet "$ZKC_TABLE" cut
	zkt_log "partition healed at $(date +%T.%N)"
}

zkc_cleanup() {
	local rc=$? i
	# As lib.sh's zkt_cleanup: TERM (resumed if paused), KILL after 5 s, so the nodes' leak
	# checks run and their gcov counts are written.
	for i in "${!ZKT_PIDS[@]}"; do kill -CONT "${ZKT_PIDS[$i]}" 2>/dev/null; done
	for i in "${!ZKT_PIDS[@]}"; do kill -TERM "${ZKT_PIDS[$i]}" 2>/dev/null; done
	for i in "${!ZKT_PIDS[@]}"; do
		zkt_wait 5 zkt_gone "${ZKT_PIDS[$i]}" || kill -KILL "${ZKT_PIDS[$i]}" 2>/dev/null
	done
	for i in "${!ZKT_PIDS[@]}"; do wait "${ZKT_PIDS[$i]}" 2>/dev/null; done
	ZKC_PID=()
	ZKT_PIDS=()
	[ "$ZKC_NET" = 1 ] && nft delete table inet "$ZKC_TABLE" 2>/dev/null
	ZKC_NET=0
	[ -n "${ZKT_KEEP:-}" ] || rm -rf "$ZKT_DIR/$ZKC_KIND"-n*
	exit "$rc"
}

# zkc_init KIND N [observer=I ...]
zkc_init() {
	local i opt
	ZKC_KIND=$1
	ZKC_N=$2
	shift 2
	ZKC_OBSERVERS=" "
	for opt in "$@"; do
		case "$opt" in
		observer=*) ZKC_OBSERVERS="$ZKC_OBSERVERS${opt#observer=} " ;;
		*) zkt_fail "zkc_init: unknown option $opt" ;;
		esac
	done
	zkt_require_root
	zkt_require_cmd nft setpriv flock timeout "$ZKC_PY"
	case "$ZKC_KIND" in
	zkfsd) [ -x "$ZKFSD" ] || zkt_skip "zkfsd not built at $ZKFSD" ;;
	apache) [ -f /usr/share/java/zookeeper.jar ] || zkt_skip "Debian zookeeper not installed" ;;
	*) zkt_fail "unknown server kind $ZKC_KIND" ;;
	esac
	chmod 755 "$ZKT_DIR"
	# In its own network namespace (tests/run-one) a test meets no other ensemble; run-one's
	# cluster lanes bound how many run at once. Outside one, the machine-wide lock serialises.
	if [ -z "${ZKT_NETNS:-}" ]; then
		exec {ZKC_LOCK_FD}>>"$ZKC_LOCK"
		flock -w 900 "$ZKC_LOCK_FD" || zkt_fail "another cluster test held $ZKC_LOCK for 15 min"
	fi
	trap zkc_cleanup EXIT
	trap 'exit 143' TERM
	trap 'exit 130' INT
	trap 'exit 129' HUP
	zkc_net_setup
	ZKC_T0=$SECONDS
	for i in $(seq 1 "$ZKC_N"); do
		# shellcheck disable=SC2046
		zkc_config "$i" $(seq 1 "$ZKC_N")
	done
}

# zkc_start_all SECS: start every configured node and wait for a leader.
zkc_start_all() {
	local secs=$1 i
	for i in $(seq 1 "$ZKC_N"); do zkc_start "$i"; done
	zkc_wait_leader "$secs" >/dev/null || zkt_fail "no $ZKC_KIND leader within $secs s"
	for i in $(seq 1 "$ZKC_N"); do zkc_wait_serving "$secs" "$i"; done
}

# zkc_py ARGS...: the Python side (kazoo) of the cluster tests, bounded to 120 s.
zkc_py() { timeout -k 5 120 "$ZKC_PY" "$ZKC_CLIENT" "$@" {ZKC_LOCK_FD}>&-; }

# zkc_py_bg OUT ARGS...: the same in the background (no time bound: it runs until told to stop;
# killed with the test shell); its pid in ZKC_BG_PID.
zkc_py_bg() {
	local out=$1
	shift
	setpriv --pdeathsig KILL "$ZKC_PY" "$ZKC_CLIENT" "$@" >"$out" 2>&1 {ZKC_LOCK_FD}>&- &
	ZKC_BG_PID=$!
}

zkc_now() { date +%s%N; }

# zkc_step TEXT: a log line with the seconds since zkc_init, to see where a slow test spends.
zkc_step() { zkt_log "[+$((SECONDS - ZKC_T0))s] $*"; }

# zkc_forward PORT I: 127.0.0.1:PORT reaches node I's client port (DNAT in the zkt table), for
# clients that only connect to 127.0.0.1.
zkc_forward() {
	zkc_nft add rule inet "$ZKC_TABLE" nat ip daddr 127.0.0.1 tcp dport "$1" \
		dnat ip to "$(zkc_addr "$2"):$ZKC_CLIENT_PORT"
}

# zkc_load_start DIR CLIENTS RATE [HOSTS]: background write load (cluster_client.py load);
# returns once every client has its session.
zkc_load_start() {
	local dir=$1
	mkdir -p "$dir"
	zkc_py_bg "$dir/load.out" load --hosts "${4:-$(zkc_hosts)}" --clients "$2" --rate "$3" \
		--dir "$dir"
	ZKC_LOAD_PID=$ZKC_BG_PID
	ZKT_PIDS["load"]=$ZKC_LOAD_PID
	zkt_wait 60 test -f "$dir/ready" || { cat "$dir/load.out" >&2; zkt_fail "load did not start"; }
}

zkc_load_stop() {
	local dir=$1
	touch "$dir/stop"
	zkt_wait 60 test -f "$dir/summary.json" || zkt_fail "load did not stop within 60 s"
	wait "$ZKC_LOAD_PID"
	unset "ZKT_PIDS[load]"
	cat "$dir/load.out" >&2
}

# zkc_acks DIR [SINCE_NS]: acknowledged writes so far (issued at or after SINCE_NS).
zkc_acks() {
	cat "$1"/acks.* 2>/dev/null | awk -v s="${2:-0}" '$2 >= s { n++ } END { print n + 0 }'
}

zkc_acks_reach() { [ "$(zkc_acks "$1" "$3")" -ge "$2" ]; }

# zkc_wait_acks SECS DIR N [SINCE_NS]: poll until N more writes were acknowledged.
zkc_wait_acks() {
	zkt_wait "$1" zkc_acks_reach "$2" "$3" "${4:-0}" ||
		zkt_fail "fewer than $3 writes acknowledged within $1 s (got $(zkc_acks "$2" "${4:-0}"))"
}

zkc_verify() {
	zkc_py verify --hosts "$(zkc_hosts)" --dir "$@" >&2 ||
		zkt_fail "acknowledged writes or sessions lost"
}

# The replica's state to compare: zkfsd's dgst (tree digest and last zxid), or for Apache
# ZooKeeper (no dgst) a hash of the whole tree read through that node after sync.
zkc_state() {
	if [ "$ZKC_KIND" = zkfsd ]; then
		zkc_4lw "$1" dgst
	else
		zkc_py tree --host "$(zkc_hosts "$1")" 2>/dev/null
	fi
}

zkc_same_state() {
	local i first= st
	for i in "$@"; do
		st=$(zkc_state "$i")
		[ -n "$st" ] || return 1
		[ -n "$first" ] || first=$st
		[ "$st" = "$first" ] || return 1
	done
	ZKC_STATE=$first
}

# zkc_wait_converged SECS NODES...: poll until every node shows the same state.
zkc_wait_converged() {
	local secs=$1 i
	shift
	if ! zkt_wait "$secs" zkc_same_state "$@"; then
		for i in "$@"; do zkt_log "node $i: $(zkc_state "$i" | tr '\n' ' ')"; done
		zkt_fail "replicas differ after $secs s"
	fi
	zkt_log "nodes $* converged: $(tr '\n' ' ' <<<"$ZKC_STATE")"
}

# zkc_for_kinds NAME FUNC: run FUNC KIND in a subshell for each kind of $ZKT_SERVERS (Apache
# first). Sets ZKC_RESULT: 1 if one failed, 77 if none ran, 0 otherwise; skips are printed.
zkc_for_kinds() {
	local name=$1 fn=$2 kind rc t0 ran= failed= skipped=
	for kind in apache zkfsd; do
		[[ " $ZKT_SERVERS " == *" $kind "* ]] || continue
		t0=$SECONDS
		("$fn" "$kind")
		rc=$?
		case $rc in
		0) ran="$ran $kind($((SECONDS - t0))s)" ;;
		77) skipped="$skipped $kind" ;;
		*) failed="$failed $kind" ;;
		esac
	done
	zkt_log "$name: passed:${ran:- none} skipped:${skipped:- none} failed:${failed:- none}"
	ZKC_RESULT=0
	[ -n "$ran" ] || ZKC_RESULT=77
	[ -z "$failed" ] || ZKC_RESULT=1
}
