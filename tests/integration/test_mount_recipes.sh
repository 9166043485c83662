#!/usr/bin/env bash
# contrib/examples/recipes on two mounts of one server: the lock serialises read-increment-write
# of a counter across mounts (no lost update), the queue hands each item to exactly one taker,
# the barrier releases its participants only when all arrived, and the election has one leader.
set -u
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/mount_lib.sh"
zkt_init mount_recipes
zkt_require_root
zkt_require_cmd inotifywait getfattr
[ -x "$ZKFS" ] || zkt_skip "zkfs not built at $ZKFS"
R=$top_srcdir/contrib/examples/recipes
ROUNDS=5

check_lock() {
	local a=$1 b=$2 m i pids=()
	echo 0 >"$a/counter"
	for m in "$a" "$a" "$b" "$b"; do
		(for i in $(seq "$ROUNDS"); do
			"$R/lock.sh" "$m/locks/c" bash -c "n=\$(cat '$m/counter'); echo \$((n + 1)) > '$m/counter'"
		done) &
		pids+=($!)
	done
	wait "${pids[@]}"
	zkm_eq $((4 * ROUNDS)) "$(cat "$a/counter")" "counter incremented under the lock"
}

check_queue() {
	local a=$1 b=$2 i pids=()
	for i in $(seq 10); do "$R/queue.sh" put "$a/q" "item $i" || zkt_fail "put"; done
	for m in "$a" "$b"; do
		(for i in 1 2 3 4 5; do timeout 20 "$R/queue.sh" take "$m/q"; done >"$ZKT_DIR/take-${#pids[@]}") &
		pids+=($!)
	done
	wait "${pids[@]}"
	zkm_eq 10 "$(cat "$ZKT_DIR"/take-* | sort -u | wc -l)" "distinct items taken"
	zkm_eq 10 "$(cat "$ZKT_DIR"/take-* | wc -l)" "items taken"
}

check_barrier_and_election() {
	local a=$1 b=$2 p1 p2
	timeout 30 "$R/barrier.sh" "$a/bar" 2 one &
	p1=$!
	zkt_wait 10 test -e "$a/bar/one" || zkt_fail "barrier entry"
	kill -0 "$p1" 2>/dev/null || zkt_fail "the barrier let one participant of two through"
	timeout 30 "$R/barrier.sh" "$b/bar" 2 two || zkt_fail "barrier (second)"
	wait "$p1" || zkt_fail "barrier (first)"
	timeout 20 "$R/elect.sh" "$a/el" A cat "$a/el/leader" >"$ZKT_DIR/el" || zkt_fail "election"
	zkm_eq A "$(cat "$ZKT_DIR/el")" "the leader runs with its name in leader"
}

run_kind() {
	zkm_pair "$1" 5
	check_lock "$ZKM_A" "$ZKM_B"
	check_queue "$ZKM_A" "$ZKM_B"
	check_barrier_and_election "$ZKM_A" "$ZKM_B"
	zkm_pair_end "$1"
}

zkm_each_kind run_kind
