#!/bin/bash
# Rolling restart (issue 3): every server of a 3-node cluster is stopped (SIGTERM) and started
# again, one after the other, followers first and the leader last, under a write load from three
# clients. Each server must serve again and the cluster take writes before the next one goes.
# The clients may see connection-loss retries, nothing more: no session expires or changes, every
# ephemeral stays, nothing acknowledged is lost, and the replicas end equal.
# Runs against Apache ZooKeeper and zkfsd.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/cluster.sh"
zkt_init cluster-rolling

scenario() {
	local kind=$1 load leader order i t0
	load=$ZKT_DIR/$kind-load
	zkc_init "$kind" 3
	zkc_start_all 60
	zkc_load_start "$load" 3 100
	zkc_wait_acks 30 "$load" 50
	leader=$(zkc_leader) || zkt_fail "no leader"
	order="$(zkc_up | grep -vx "$leader" | tr '\n' ' ')$leader"
	for i in $order; do
		t0=$(zkc_now)
		zkc_stop "$i" TERM
		zkc_start "$i"
		zkc_wait_serving 60 "$i"
		zkc_wait_leader 30 >/dev/null || zkt_fail "no leader after restarting node $i"
		zkc_wait_acks 30 "$load" 50 "$(zkc_now)"
		zkt_log "node $i restarted as $(zkc_mode "$i") in" \
			"$((($(zkc_now) - t0) / 1000000)) ms (leader: node $(zkc_leader))"
	done
	zkc_load_stop "$load"
	zkc_verify "$load"
	zkc_wait_converged 30 1 2 3
}

zkc_for_kinds test_cluster_rolling scenario
exit "$ZKC_RESULT"
