#!/bin/bash
# The semantic checks of the one-node issue against a 3-node cluster (issue 3):
#  - cross-node checks with three kazoo clients, one per server (cluster_client.py semantics):
#    a write through node 1 read on node 3 after sync, watches set on node 2 firing for writes
#    through nodes 3 and 1, sequential numbers from three servers at once, an ephemeral's owner
#    and its removal seen on another server, compare-and-set and multi across servers;
#  - the one-node compatibility checks of test_compat.py (kazoo and raw protocol, every
#    operation and error code) and the C client's script and watch checks of test_cclient.py
#    (zkcheck), run through a follower and compared between the two kinds.
# Runs against Apache ZooKeeper and zkfsd; any difference between them fails (without a live
# Apache ZooKeeper: any difference from its stored results).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/cluster.sh"
zkt_init cluster-semantics
RAW_PORT=22060

scenario() {
	local kind=$1 follower i
	zkc_init "$kind" 3
	zkc_start_all 60
	zkc_py semantics --hosts "$(zkc_hosts 1 2 3)" >&2 || zkt_fail "cross-node checks failed"
	for i in $(zkc_up); do [ "$(zkc_mode "$i")" = follower ] && follower=$i; done
	[ -n "$follower" ] || zkt_fail "no follower"
	zkc_forward "$RAW_PORT" "$follower"
	zkc_py compat --kind "$kind" --host "$(zkc_hosts "$follower")" --raw-port "$RAW_PORT" \
		--out "$ZKT_DIR/compat.$kind" >&2 || zkt_fail "compatibility checks failed on node $follower"
	zkc_py cclient --kind "$kind" --host "$(zkc_hosts "$follower")" --out "$ZKT_DIR/cclient.$kind" \
		>&2 || zkt_fail "C client checks failed on node $follower"
	zkc_wait_converged 30 1 2 3
}

zkc_for_kinds test_cluster_semantics scenario
# zkfsd's results against Apache ZooKeeper's: live when both ran, else the stored ones
# (tests/integration/reference/cluster_semantics.*.json, made by refresh-reference).
[ "$ZKC_RESULT" = 0 ] || exit "$ZKC_RESULT"
for suite in compat cclient; do
	a=$ZKT_DIR/$suite.apache z=$ZKT_DIR/$suite.zkfsd ref=cluster_semantics.$suite
	if [ -f "$a" ] && [ -f "$z" ]; then
		zkc_py compare ${ZKT_REFRESH_REFERENCE:+--save "$ref"} "$a" "$z" >&2 || exit 1
	elif [ -f "$z" ]; then
		zkc_py compare --reference "$ref" "$z" >&2 || exit 1
	fi
done
exit 0
