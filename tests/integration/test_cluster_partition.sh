#!/bin/bash
# Ensemble partition (issue 3): the leader of a 3-node cluster is cut off from the two others
# (nftables drops every packet between them, both directions; clients still reach every node).
# The cut-off node accepts no write (a client on it gets no acknowledgement within 3 s and the
# write never appears), the majority elects a leader and keeps acknowledging the load, a client
# whose session started on the cut-off node moves to the majority with its session and
# ephemeral (kazoo), and a raw-protocol client moves with its session, ephemeral and child watch
# (setWatches), which then fires for a write made through the majority; after the heal the node
# rejoins, nothing acknowledged is lost and every replica has
# the same tree. Runs against Apache ZooKeeper and zkfsd.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/cluster.sh"
zkt_init cluster-partition

probe_field() {
	/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get(sys.argv[2], ""))' \
		"$1/probe.json" "$2" 2>/dev/null
}

probe_on() { [ "$(probe_field "$1" connected)" = True ] && [ "$(probe_field "$1" host)" = "$2" ]; }

probe_moved() {
	[ "$(probe_field "$1" connected)" = True ] && [ "$(probe_field "$1" host)" != "$2" ] &&
		[ -n "$(probe_field "$1" host)" ]
}

raw_field() {
	/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get(sys.argv[2]))' \
		"$1/raw.json" "$2" 2>/dev/null
}

raw_field_is() { [ "$(raw_field "$1" "$2")" = "$3" ]; }

scenario() {
	local kind=$1 load old new t_cut probe rc
	load=$ZKT_DIR/$kind-load
	probe=$ZKT_DIR/$kind-probe
	mkdir -p "$probe"
	zkc_init "$kind" 3
	zkc_start_all 60
	zkc_load_start "$load" 3 100
	zkc_wait_acks 30 "$load" 50
	old=$(zkc_leader) || zkt_fail "no leader"

	zkc_py_bg "$probe/out" probe-session --hosts "$(zkc_hosts)" --first "$(zkc_hosts "$old")" \
		--dir "$probe"
	ZKT_PIDS["probe"]=$ZKC_BG_PID
	zkt_wait 30 probe_on "$probe" "$(zkc_hosts "$old")" || zkt_fail "probe client not on node $old"
	# kazoo drops its watches on a connection loss; a raw-protocol client shows that the
	# watch itself survives the move (setWatches), as with ZooKeeper's Java and C clients.
	zkc_forward 22061 "$old"
	zkc_forward 22062 "$(zkc_up | grep -vx "$old" | head -1)"
	zkc_py_bg "$probe/raw.out" raw-probe --port-old 22061 --port-new 22062 --dir "$probe"
	ZKT_PIDS["raw"]=$ZKC_BG_PID
	zkt_wait 30 test -f "$probe/raw.json" ||
		zkt_fail "raw probe did not start: $(cat "$probe/raw.out")"

	zkc_partition "$old" "$(zkc_up | grep -vx "$old" | tr '\n' ' ')"
	t_cut=$(zkc_now)
	new=$(zkc_wait_leader 30 "$old") || zkt_fail "the majority elected no leader within 30 s"
	zkc_wait_acks 30 "$load" 50 "$t_cut"
	zkt_log "RESULT partition $kind: node $old cut off, node $new leads, first write" \
		"acknowledged $(zkc_py failover --dir "$load" --since "$t_cut") ms after the cut"

	rc=0
	zkc_py write --host "$(zkc_hosts "$old")" --path "/minority-write" --timeout 3 >&2 || rc=$?
	[ "$rc" = 3 ] || zkt_fail "the cut-off node $old acknowledged a write (rc $rc)"
	zkc_py write --host "$(zkc_hosts "$new")" --path "/majority-write" --timeout 10 >&2 ||
		zkt_fail "the majority leader $new did not take a write"
	zkt_wait 30 probe_moved "$probe" "$(zkc_hosts "$old")" ||
		zkt_fail "the probe client did not move off node $old ($(cat "$probe/probe.json"))"
	zkt_log "probe client moved to $(probe_field "$probe" host)"
	zkt_wait 30 raw_field_is "$probe" moved True ||
		zkt_fail "the raw client did not move ($(cat "$probe/raw.json"))"
	[ "$(raw_field "$probe" new_sid)" = "$(raw_field "$probe" sid)" ] ||
		zkt_fail "the raw client's session was not kept ($(cat "$probe/raw.json"))"
	zkc_py write --host "$(zkc_hosts "$new")" --path /probe/child --timeout 10 >&2 ||
		zkt_fail "the majority leader $new did not take a write"
	zkt_wait 10 raw_field_is "$probe" events "[['NodeChildrenChanged', '/probe']]" ||
		zkt_fail "the raw client's child watch did not fire after its move ($(cat "$probe/raw.json"))"

	zkc_heal
	zkt_wait 60 zkc_mode_is "$old" follower ||
		zkt_fail "node $old did not rejoin as follower within 60 s of the heal" \
			"(Mode: $(zkc_mode "$old"); leader: node $(zkc_leader "$old"))"
	zkc_wait_acks 30 "$load" 50 "$(zkc_now)"
	zkc_py exists --host "$(zkc_hosts "$old")" --path /minority-write &&
		zkt_fail "the write sent to the cut-off node appeared after the heal"

	touch "$probe/probe.stop"
	wait "${ZKT_PIDS["probe"]}" || zkt_fail "probe client failed: $(cat "$probe/out")"
	unset "ZKT_PIDS[probe]"
	[ "$(probe_field "$probe" lost)" = 0 ] || zkt_fail "the probe client's session expired"
	[ "$(probe_field "$probe" sid0)" = "$(probe_field "$probe" sid1)" ] ||
		zkt_fail "the probe client has a new session"
	[ "$(probe_field "$probe" eph_ok)" = True ] || zkt_fail "the probe client's ephemeral is gone"
	touch "$probe/raw.stop"
	wait "${ZKT_PIDS["raw"]}" || zkt_fail "raw probe failed: $(cat "$probe/raw.out")"
	unset "ZKT_PIDS[raw]"
	raw_field_is "$probe" eph_ok True || zkt_fail "the raw client's ephemeral is gone"

	zkc_load_stop "$load"
	zkc_verify "$load"
	zkc_wait_converged 30 1 2 3
}

zkc_mode_is() { [ "$(zkc_mode "$1")" = "$2" ]; }

zkc_for_kinds test_cluster_partition scenario
exit "$ZKC_RESULT"
