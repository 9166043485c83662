#!/bin/bash
# Membership changes under load (issue 3), with ZooKeeper's incremental reconfig as the super
# user: a fourth server joins as a voter, then a server of the first three leaves (the leader, to
# make it hard), then a fifth server joins as an observer. After each change /zookeeper/config
# shows it on every member and writes keep being acknowledged. The observer reports
# Mode: observer, serves reads (a write made through a voter is read there after sync, and the
# reverse) and forwards writes. Nothing acknowledged is lost, the members end equal. zkfsd:
# the new servers join the running ensemble (their data dir is empty and the others serve)
# instead of bootstrapping a membership of their own.
# Apache ZooKeeper needs reconfigEnabled=true and the super user for reconfig (cluster.sh gives
# both). Runs against Apache ZooKeeper and zkfsd.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/cluster.sh"
zkt_init cluster-reconfig

config_has() { zkc_py config --host "$(zkc_hosts "$1")" 2>/dev/null | grep -q "^$2"; }
config_lacks() {
	local c
	c=$(zkc_py config --host "$(zkc_hosts "$1")" 2>/dev/null) && ! grep -q "^$2" <<<"$c"
}

# reconfig ARGS...: through the leader; prints the new configuration.
reconfig() {
	local leader out
	leader=$(zkc_wait_leader 30) || zkt_fail "no leader for reconfig"
	out=$(zkc_py reconfig --host "$(zkc_hosts "$leader")" "$@" 2>&1) ||
		zkt_fail "reconfig $* failed: $out"
	zkt_log "reconfig $* -> $(tr '\n' ' ' <<<"$out")"
}

wait_config() {
	local what=$1 line=$2 i
	shift 2
	for i in "$@"; do
		zkt_wait 30 "config_$what" "$i" "$line" || zkt_fail "node $i: /zookeeper/config $what $line"
	done
}

# zkfsd node I started with an empty data dir next to a running ensemble: it joined it.
joined_not_bootstrapped() {
	local log
	log=$(zkc_dir "$1")/server.log
	if grep -q "bootstrapped" "$log" || ! grep -q "joining it (no bootstrap)" "$log"; then
		zkt_fail "node $1 did not join the running ensemble: $(grep -E 'bootstrap|join' "$log")"
	fi
}

scenario() {
	local kind=$1 load leader gone members
	load=$ZKT_DIR/$kind-load
	zkc_init "$kind" 3
	zkc_start_all 60
	zkc_load_start "$load" 3 100 "$(zkc_hosts 1 2 3)"
	zkc_wait_acks 30 "$load" 50

	# Add node 4 as a voter: it starts with the current members plus itself.
	zkc_step "adding node 4"
	zkc_config 4 1 2 3 4
	zkc_start 4
	zkc_wait_serving 30 4
	[ "$kind" = zkfsd ] && joined_not_bootstrapped 4
	reconfig --joining "$(zkc_server_line 4)"
	wait_config has "server.4=" 1 2 3 4
	zkc_wait_acks 30 "$load" 50 "$(zkc_now)"

	# Remove the leader: the others go on.
	gone=$(zkc_leader) || zkt_fail "no leader"
	zkc_step "removing node $gone (the leader)"
	reconfig --leaving "$gone"
	members=$(printf '%s\n' 1 2 3 4 | grep -vx "$gone" | tr '\n' ' ')
	# shellcheck disable=SC2086
	wait_config lacks "server.$gone=" $members
	zkc_wait_leader 30 "$gone" >/dev/null || zkt_fail "no leader among $members"
	zkc_wait_acks 30 "$load" 50 "$(zkc_now)"
	zkc_stop "$gone" TERM

	# Add node 5 as an observer.
	zkc_step "adding node 5 as an observer"
	ZKC_OBSERVERS=" 5 "
	# shellcheck disable=SC2086
	zkc_config 5 $members 5
	zkc_start 5
	zkc_wait_serving 30 5
	[ "$kind" = zkfsd ] && joined_not_bootstrapped 5
	reconfig --joining "$(zkc_server_line 5)"
	# shellcheck disable=SC2086
	wait_config has "server.5=.*:observer" $members 5
	[ "$(zkc_mode 5)" = observer ] || zkt_fail "node 5 reports Mode: $(zkc_mode 5), not observer"
	voter=${members%% *}
	zkc_py write --host "$(zkc_hosts 5)" --path /via-observer --timeout 10 >&2 ||
		zkt_fail "the observer did not forward a write"
	zkc_py exists --host "$(zkc_hosts "$voter")" --path /via-observer ||
		zkt_fail "a write through the observer is not on node $voter"
	zkc_py write --host "$(zkc_hosts "$voter")" --path /via-voter --timeout 10 >&2 ||
		zkt_fail "node $voter did not take a write"
	zkc_py exists --host "$(zkc_hosts 5)" --path /via-voter ||
		zkt_fail "the observer does not serve a write made through node $voter"
	zkc_wait_acks 30 "$load" 50 "$(zkc_now)"

	zkc_step "stopping the load"
	zkc_load_stop "$load"
	zkc_verify "$load"
	# shellcheck disable=SC2086
	zkc_wait_converged 30 $members 5
}

zkc_for_kinds test_cluster_reconfig scenario
exit "$ZKC_RESULT"
