#!/usr/bin/env bash
# user.zkfs.expect_version belongs to the writer it was meant for (issue 16, case 3): two
# scripts running `setfattr -n user.zkfs.expect_version ... && echo $((n + 1)) > f` at once on
# one mount count exactly (neither consumes the other's expectation); an expectation left by
# another process never fails an unrelated write, and one left unused expires (5 s).
set -u
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/mount_lib.sh"
zkt_init mount_cas
zkt_require_root
zkt_require_cmd getfattr setfattr
[ -x "$ZKFS" ] || zkt_skip "zkfs not built at $ZKFS"

ROUNDS=50

# increments FILE: ROUNDS increments of FILE with the setfattr idiom, retrying conflicts;
# prints how many writes were told done.
increments() {
	local f=$1 done=0 v n
	while [ "$done" -lt "$ROUNDS" ]; do
		v=$(getfattr --only-values -n user.zkfs.version "$f") || continue
		n=$(cat "$f") || continue
		if setfattr -n user.zkfs.expect_version -v "$v" "$f" &&
			{ echo $((n + 1)) >"$f"; } 2>/dev/null; then
			done=$((done + 1))
		fi
	done
	echo "$done"
}

check_two_scripts() {
	local m=$1 p1 p2 r1 r2
	mkdir "$m/cas" && echo 0 >"$m/cas/ctr" || zkt_fail "setup"
	increments "$m/cas/ctr" >"$ZKT_DIR/r1" &
	p1=$!
	increments "$m/cas/ctr" >"$ZKT_DIR/r2" &
	p2=$!
	wait "$p1" "$p2"
	r1=$(cat "$ZKT_DIR/r1") r2=$(cat "$ZKT_DIR/r2")
	zkm_eq $((r1 + r2)) "$(cat "$m/cas/ctr")" "counter after two scripts ($r1 + $r2 told done)"
}

check_scope() {
	local m=$1 port=$2
	echo a >"$m/cas/g"
	# The expectation still works for its own shell.
	zkm_fails "Stale file handle" bash -c "setfattr -n user.zkfs.expect_version -v 7 '$m/cas/g' && echo b > '$m/cas/g'"
	# Left by another process (a subshell that ran setfattr and wrote nothing).
	(setfattr -n user.zkfs.expect_version -v 7 "$m/cas/g"; true) || zkt_fail "setfattr"
	echo c >"$m/cas/g" || zkt_fail "an expectation of another process failed this write"
	# Left by this shell and not used: expires.
	setfattr -n user.zkfs.expect_version -v 7 "$m/cas/g" || zkt_fail "setfattr"
	sleep 5.5 # The expiry itself is what is tested.
	echo d >"$m/cas/g" || zkt_fail "an expired expectation failed a write"
	zkm_kazoo "$port" 'assert zk.get("/cas/g")[0] == b"d\n"' || zkt_fail "value after expiry"
}

run_kind() {
	zkm_pair "$1" 4
	check_two_scripts "$ZKM_A"
	check_scope "$ZKM_A" "$ZKM_PORT"
	zkm_pair_end "$1"
}

zkm_each_kind run_kind
