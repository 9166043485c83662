#!/bin/bash
# Membership changes under load (issue 3), with ZooKeeper's incremental reconfig as the super
# user: a fourth server joins as a voter, then a server of the first three leaves (the leader, to
# make it hard), then a fifth server joins as an observer. After each change /zookeeper/config
# read through every member shows it, with the new server's client address, and writes keep
# being acknowledged. The observer reports Mode: observer, serves reads (a write made through a
# voter is read there after sync, and the reverse) and forwards writes. Nothing acknowledged is
# lost, the members end equal. zkfsd: the new servers join the existing ensemble (their data
# dir is empty and the others hold data) instead of bootstrapping a membership of their own;
# the fourth is started while the ensemble has no leader (a follower and the leader stopped):
# it logs that it waits for a leader, joins once the old leader is back, never leads before it
# is added, and the follower, restarted after the change, lists its client address too.
# Then the observer's role is switched with ZooKeeper's incremental form (joining an existing id
# with the other role): observer -> participant -> observer, each visible in srvr's Mode and in
# /zookeeper/config. zkfsd only: a second reconfig while the first is pending is refused with
# ReconfigInProgress (-14). The first is kept pending deterministically: node 5 is stopped
# (SIGSTOP) and the log moves on, so its promotion waits for it to catch up. Apache ZooKeeper
# commits that promotion at once with the other voters' acks (nothing stays pending long enough
# to race a second request reliably), so its half switches roles only.
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

mode_is() { [ "$(zkc_mode "$1")" = "$2" ]; }
mode_not() { [ "$(zkc_mode "$1")" != "$2" ]; }
mode_voter() {
	local m
	m=$(zkc_mode "$1") && [ "$m" = leader ] || [ "$m" = follower ]
}

# reconfig_log_count LOG: how many reconfig changes on server 5 LOG shows started.
reconfig_log_count() { grep -c "reconfig: change 1 of 1 on server 5" "$1"; }
reconfig_log_above() { [ "$(reconfig_log_count "$1")" -gt "$2" ]; }

# zkfsd: make node 5 a voter while it is stopped, and a second reconfig during that one must
# get ReconfigInProgress. Leaves node 5 a voter.
refuse_concurrent() {
	local load=$1 leader log before first out
	leader=$(zkc_wait_leader 30) || zkt_fail "no leader for reconfig"
	log=$(zkc_dir "$leader")/server.log
	before=$(reconfig_log_count "$log")
	zkc_pause 5
	zkc_wait_acks 30 "$load" 20 "$(zkc_now)" # the log moves past node 5
	zkc_py reconfig --host "$(zkc_hosts "$leader")" --joining "$(zkc_server_line 5)" \
		>"$ZKT_DIR/first-reconfig.out" 2>&1 &
	first=$!
	zkt_wait 10 reconfig_log_above "$log" "$before" ||
		zkt_fail "node $leader did not start the first reconfig"
	out=$(zkc_py reconfig --host "$(zkc_hosts "$leader")" --joining "$(zkc_server_line 5)" 2>&1) &&
		zkt_fail "a second reconfig during a pending one was accepted: $out"
	grep -q ReconfigInProcessError <<<"$out" ||
		zkt_fail "a second reconfig during a pending one failed otherwise: $out"
	zkt_log "second reconfig while one is pending: ReconfigInProgress (-14)"
	zkc_resume 5
	if ! wait "$first"; then
		# libraft gives up a promotion whose server does not answer for a catch-up round.
		zkt_log "first reconfig failed while node 5 was stopped: $(cat "$ZKT_DIR/first-reconfig.out")"
		reconfig --joining "$(zkc_server_line 5)"
	fi
}

# switch_role KIND LOAD ROLE MEMBERS...: node 5 becomes ROLE (participant | observer).
switch_role() {
	local kind=$1 load=$2 role=$3
	shift 3
	zkc_step "node 5 becomes $role"
	ZKC_OBSERVERS=" "
	[ "$role" = observer ] && ZKC_OBSERVERS=" 5 "
	if [ "$kind" = zkfsd ] && [ "$role" = participant ]; then
		refuse_concurrent "$load"
	else
		reconfig --joining "$(zkc_server_line 5)"
	fi
	wait_config has "server.5=.*:$role" "$@"
	if [ "$role" = observer ]; then
		zkt_wait 30 mode_is 5 observer || zkt_fail "node 5 reports Mode: $(zkc_mode 5), not observer"
	else
		zkt_wait 30 mode_voter 5 || zkt_fail "node 5 reports Mode: $(zkc_mode 5), not a voter's"
	fi
	zkc_wait_acks 30 "$load" 50 "$(zkc_now)"
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

# start_during_election I: a follower and the leader of nodes 1-3 stop, node I starts (its data
# dir empty) while the third has no leader: it must wait for one (logged), not bootstrap; then
# the old leader restarts, and node I joins. The follower stays down: its index in DOWN_NODE.
start_during_election() {
	local i=$1 leader follower alone log
	log=$(zkc_dir "$i")/server.log
	leader=$(zkc_leader) || zkt_fail "no leader"
	read -r follower alone <<<"$(printf '%s\n' 1 2 3 | grep -vx "$leader" | tr '\n' ' ')"
	zkc_stop "$follower" TERM
	zkc_stop "$leader" TERM
	zkt_wait 30 mode_not "$alone" leader || zkt_fail "node $alone still leads alone"
	zkc_start "$i"
	zkt_wait 20 grep -q "waiting for one before joining" "$log" ||
		zkt_fail "node $i did not wait for a leader: $(grep -E 'bootstrap|join' "$log")"
	zkc_start "$leader"
	DOWN_NODE=$follower
}

scenario() {
	local kind=$1 load gone members
	load=$ZKT_DIR/$kind-load
	zkc_init "$kind" 3
	zkc_start_all 60
	zkc_load_start "$load" 3 100 "$(zkc_hosts 1 2 3)"
	zkc_wait_acks 30 "$load" 50

	# Add node 4 as a voter: it starts with the current members plus itself.
	zkc_step "adding node 4"
	zkc_config 4 1 2 3 4
	if [ "$kind" = zkfsd ]; then
		start_during_election 4
	else
		zkc_start 4
	fi
	zkc_wait_serving 30 4
	[ "$kind" = zkfsd ] && joined_not_bootstrapped 4
	mode_not 4 leader || zkt_fail "node 4 leads before it was added"
	reconfig --joining "$(zkc_server_line 4)"
	if [ "$kind" = zkfsd ]; then
		# Restarted after the change: it lists node 4's client address too.
		zkc_start "$DOWN_NODE"
		zkc_wait_serving 30 "$DOWN_NODE"
	fi
	wait_config has "server.4=.*;$(zkc_addr 4):$ZKC_CLIENT_PORT\$" 1 2 3 4
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
	wait_config has "server.5=.*:observer;$(zkc_addr 5):$ZKC_CLIENT_PORT\$" $members 5
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

	# Role switches of an existing member (ZooKeeper's -add server.5=...:participant).
	# shellcheck disable=SC2086
	switch_role "$kind" "$load" participant $members 5
	# shellcheck disable=SC2086
	switch_role "$kind" "$load" observer $members 5

	zkc_step "stopping the load"
	zkc_load_stop "$load"
	zkc_verify "$load"
	# shellcheck disable=SC2086
	zkc_wait_converged 30 $members 5
}

zkc_for_kinds test_cluster_reconfig scenario
exit "$ZKC_RESULT"
