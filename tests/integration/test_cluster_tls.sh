#!/usr/bin/env bash
# Quorum TLS (issue 10): a 3-node zkfsd ensemble with sslQuorum=true and ZooKeeper's
# ssl.quorum.* keys (PEM), on both quorum ports (Raft and peer), mutual:
#  - it elects a leader, replicates a write made through a follower (forwarded over the TLS
#    peer port) and survives the leader's kill -9 (new leader, writes, the old one rejoins);
#  - a hostile peer is refused and changes nothing (same leader, same digest, no /hacked, no
#    server 9), with a log line per refused connection: a certificate of another CA, a
#    plain-TCP peer, and a member's certificate claiming another member's id, each on every
#    member's Raft and peer port, each sending the forged RequestVote (disrupt-leader flag),
#    AppendEntries, InstallSnapshot, forwarded write and PeerReconfig of the plain attack;
#  - a real member started with another member's certificate is refused and changes nothing;
#    back with its own, it catches up on 6 MB written meanwhile (flow control of the bridge);
#  - a flood of 300 refused connections from one address costs a handful of log lines
#    (rate-limited per source, replication/refusal.c), whose counts add up to 300.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/cluster.sh"
. "$(dirname "$0")/security_lib.sh"
zkt_init cluster-tls

HELPER="$top_srcdir/tests/integration/cluster_security.py"
ATTACKER=127.0.0.99
CERTS=$ZKT_DIR/certs

sec_py() { timeout -k 5 120 "$ZKC_PY" "$HELPER" "$@" {ZKC_LOCK_FD}>&-; }

# tls_config I PEM: node I's zoo.cfg gets the quorum TLS keys, with keystore PEM.
tls_config() {
	local cfg
	cfg=$(zkc_dir "$1")/zoo.cfg
	sed -i '/^sslQuorum=\|^ssl\.quorum\./d' "$cfg"
	{
		echo "sslQuorum=true"
		echo "ssl.quorum.keyStore.location=$CERTS/$2"
		echo "ssl.quorum.keyStore.type=PEM"
		echo "ssl.quorum.trustStore.location=$CERTS/ca.pem"
		echo "ssl.quorum.trustStore.type=PEM"
	} >>"$cfg"
}

write_via() { zkc_py write --host "$(zkc_hosts "$1")" --path "$2" >&2 || zkt_fail "write $2 via $1"; }

# hold LEADER: the leader must stay for 2 s (a deposed leader shows within an election timeout).
hold() {
	local t
	for t in $(seq 20); do
		[ "$(zkc_leader)" = "$1" ] || zkt_fail "the leader changed: $(zkc_leader), was $1"
		sleep 0.1 # the observation window itself, not a synchronisation
	done
}

attack() {
	local leader=$1 members before count digest
	members="1=$(zkc_addr 1),2=$(zkc_addr 2),3=$(zkc_addr 3)"
	zkc_wait_converged 30 1 2 3
	digest=$ZKC_STATE
	before=$(zks_refusals 1 2 3)
	count=$(sec_py tls-attack --src "$ATTACKER" --members "$members" \
		--raft-port "$ZKC_RAFT_PORT" --peer-port "$ZKC_PEER_PORT" --certs "$CERTS") ||
		zkt_fail "the attacker did not run"
	zkt_wait 40 zks_refusals_reach "$((before + count))" 1 2 3 ||
		zkt_fail "$count forged connections, $(($(zks_refusals 1 2 3) - before)) refusals logged"
	zkc_step "$count forged connections, $(($(zks_refusals 1 2 3) - before)) refusals logged"
	hold "$leader"
	zkc_wait_converged 10 1 2 3
	[ "${ZKC_STATE%% *}" = "${digest%% *}" ] || zkt_log "digest moved (writes of the session timer)"
	zkc_py exists --host "$(zkc_hosts 1)" --path /hacked && zkt_fail "a forged write applied"
	zkc_py config --host "$(zkc_hosts 1)" | grep -q "^server.9=" &&
		zkt_fail "a forged reconfig added server 9"
	grep -q "another CA\|certificate verify failed\|unknown ca" "$(zkc_dir 1)/server.log" ||
		zkt_log "note: the other CA's refusal reads: $(grep -m1 'TLS connection from' "$(zkc_dir 1)/server.log")"
	return 0
}

# refused_since_mark ADDR I...: one of nodes I... logged, after its last "impostor from here"
# mark, that a connection from ADDR was refused for a certificate naming another member.
refused_since_mark() {
	local addr=$1 i
	shift
	for i in "$@"; do
		sed -n '/^==== zkc: impostor from here/,$p' "$(zkc_dir "$i")/server.log" |
			grep -q "from $addr (server id [0-9]*) refused: its certificate does not name" &&
			return 0
	done
	return 1
}

# impostor LEADER F G: member F restarted with member G's certificate is refused, and the
# ensemble goes on as before; then F gets its own back and catches up.
impostor() {
	local leader=$1 f=$2 g=$3 others
	others=$(printf '%s\n' 1 2 3 | grep -vx "$f" | tr '\n' ' ')
	zkc_stop "$f"
	tls_config "$f" "n$g.pem"
	for i in $others; do echo "==== zkc: impostor from here" >>"$(zkc_dir "$i")/server.log"; done
	zkc_start "$f"
	# shellcheck disable=SC2086
	zkt_wait 30 refused_since_mark "$(zkc_addr "$f")" $others ||
		zkt_fail "no member refused node $f presenting node $g's certificate"
	write_via "$leader" /tls-b
	# 6 MB it must fetch over its TLS links once back (past the bridge's 4 MiB high water).
	sec_py fill --host "$(zkc_hosts "$leader")" --count 600 --size 10000 >&2 ||
		zkt_fail "cannot write the bulk nodes"
	hold "$leader"
	zkc_is_serving "$f" && zkt_fail "node $f with node $g's certificate joined the ensemble"
	# shellcheck disable=SC2086
	zkc_wait_converged 10 $others
	zkc_step "node $f with node $g's certificate refused; the others went on"
	zkc_stop "$f"
	tls_config "$f" "n$f.pem"
	zkc_start "$f"
	zkc_wait_serving 60 "$f"
	zkc_wait_converged 30 1 2 3
}

flood() {
	local leader=$1 before lines from
	before=$(zks_refusals 1)
	from=$(($(wc -l <"$(zkc_dir 1)/server.log") + 1))
	sec_py flood --src "$ATTACKER" --target "$(zkc_addr 1)" --port "$ZKC_RAFT_PORT" \
		--count 300 >/dev/null || zkt_fail "the flood did not run"
	zkt_wait 40 zks_refusals_reach "$((before + 300))" 1 ||
		zkt_fail "300 refused connections, $(($(zks_refusals 1) - before)) counted in the log"
	lines=$(tail -n +"$from" "$(zkc_dir 1)/server.log" | grep -c "$ATTACKER")
	zkc_step "300 refused connections from $ATTACKER: $lines log lines"
	[ "$lines" -le 4 ] || zkt_fail "300 refused connections took $lines log lines (at most 4)"
	[ "$(zkc_leader)" = "$leader" ] || zkt_fail "the leader changed during the flood"
}

scenario() {
	local kind=$1 leader follower other i
	# Debian's Apache ZooKeeper 3.8 with these keys and certificates elects no leader: each
	# election listener logs "Leaving listener" right after its first TLS connection (from
	# 127.0.0.1, as it dials from an unbound socket), also with hostnameVerification=false.
	if [ "$kind" = apache ]; then
		echo "apache: skipped (its quorum TLS elects no leader here, see the comment)" >&2
		return 77
	fi
	zkc_init "$kind" 3
	for i in 1 2 3; do tls_config "$i" "n$i.pem"; done
	zkc_start_all 60
	if [ "$kind" = zkfsd ]; then
		grep -q "quorum TLS (sslQuorum)" "$(zkc_dir 1)/server.log" ||
			zkt_fail "no quorum TLS line"
		grep -q "is not authenticated" "$(zkc_dir 1)/server.log" &&
			zkt_fail "the unauthenticated-quorum warning with sslQuorum on"
	fi
	leader=$(zkc_wait_leader 30) || zkt_fail "no leader"
	read -r follower other <<<"$(printf '%s\n' 1 2 3 | grep -vx "$leader" | tr '\n' ' ')"
	zkc_step "leader $leader; a write through follower $follower (TLS peer port)"
	write_via "$follower" /tls-a
	zkc_wait_converged 30 1 2 3
	for i in 1 2 3; do
		zkc_py exists --host "$(zkc_hosts "$i")" --path /tls-a || zkt_fail "/tls-a not on node $i"
	done
	if [ "$kind" = zkfsd ]; then
		zkc_step "a hostile peer: another CA, plain TCP, a member's certificate claiming another id"
		attack "$leader"
		zkc_step "member $follower started with member $other's certificate"
		impostor "$leader" "$follower" "$other"
		zkc_step "a flood of refused connections"
		flood "$leader"
	fi
	zkc_step "kill -9 of leader $leader"
	zkc_stop "$leader" KILL
	zkc_wait_leader 30 "$leader" >/dev/null || zkt_fail "no new leader after the kill"
	i=$(zkc_leader "$leader")
	write_via "$i" /tls-c
	zkc_start "$leader"
	zkc_wait_serving 60 "$leader"
	zkc_wait_converged 30 1 2 3
	zkc_py exists --host "$(zkc_hosts "$leader")" --path /tls-c || zkt_fail "/tls-c lost"
	zkc_step "new leader $i; old leader $leader rejoined and caught up"
}

zks_make_certs "$CERTS" "$(zkc_addr 1)" "$(zkc_addr 2)" "$(zkc_addr 3)"
zkc_for_kinds test_cluster_tls scenario
exit "$ZKC_RESULT"
