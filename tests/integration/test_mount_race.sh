#!/usr/bin/env bash
# Races between mounts: the bash noclobber election on an ephemeral (exactly one winner per
# round, the loser's open() fails with "cannot overwrite existing file"), and concurrent
# creators of sequential files learning their node's real name through user.zkfs.path.
# Also racing `mkdir -p` of one directory from two mounts.
set -u
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/mount_lib.sh"
zkt_init mount_race
zkt_require_root
zkt_require_cmd getfattr
[ -x "$ZKFS" ] || zkt_skip "zkfs not built at $ZKFS"

ROUNDS=8
CREATORS=8

# One candidate: prints "won" or the shell's error.
candidate() {
	(set -C; echo "$2" >"$1/race/leader.eph") 2>&1 && echo won
}

check_election() {
	local a=$1 b=$2 r out wins pids
	mkdir "$a/race"
	zkt_wait 10 test -d "$b/race" || zkt_fail "B does not see race/"
	for r in $(seq "$ROUNDS"); do
		candidate "$a" A >"$ZKT_DIR/ca" &
		pids=($!)
		candidate "$b" B >"$ZKT_DIR/cb" &
		wait "${pids[0]}" "$!"
		out="$(cat "$ZKT_DIR/ca") | $(cat "$ZKT_DIR/cb")"
		wins=$(grep -c '^won$' "$ZKT_DIR/ca" "$ZKT_DIR/cb" | awk -F: '{s += $2} END {print s}')
		zkm_eq 1 "$wins" "round $r winners ($out)"
		grep -q "cannot overwrite existing file" "$ZKT_DIR/ca" "$ZKT_DIR/cb" ||
			zkt_fail "round $r: the loser saw no EEXIST from open ($out)"
		rm "$a/race/leader" || zkt_fail "round $r: rm"
		zkt_wait 10 bash -c "! test -e '$b/race/leader'" || zkt_fail "B still sees the leader"
	done
}

# Create a sequential file on mount $1 holding $2; print the real path.
seq_create() {
	exec 3>"$1/q/item-.seq"
	printf '%s' "$2" >&3
	getfattr --only-values -n user.zkfs.path /proc/self/fd/3 2>/dev/null
	exec 3>&-
}

check_sequential() {
	local a=$1 b=$2 i m p got pids=() out=$ZKT_DIR/seq-${1##*/}.out
	mkdir "$a/q"
	zkt_wait 10 test -d "$b/q" || zkt_fail "B does not see q/"
	for i in $(seq "$CREATORS"); do
		for m in "$a" "$b"; do
			(p=$(seq_create "$m" "$m-$i") && echo "$p $m-$i" >>"$out") &
			pids+=($!)
		done
	done
	wait "${pids[@]}"
	zkm_eq $((2 * CREATORS)) "$(wc -l <"$out")" "creators that learned a path"
	zkm_eq $((2 * CREATORS)) "$(cut -d' ' -f1 "$out" | sort -u | wc -l)" "distinct paths"
	while read -r p want; do
		got=$(cat "$a$p")
		zkm_eq "$want" "$got" "content of $p"
	done <"$out"
	zkm_eq $((2 * CREATORS)) "$(ls "$b/q" | wc -l)" "nodes under q/"
}

# Both mounts `mkdir -p` the same new directory at once, as lock.sh does. The loser's mkdir gets
# EEXIST from the server before the winner's event reaches its mount; its stat must still find
# the directory (the cached child list that lacked it is dropped), or mkdir -p fails.
check_mkdir_p() {
	local a=$1 b=$2 i fails=0
	ls "$a" "$b" >/dev/null
	for i in $(seq 100); do
		mkdir -p "$a/mk/d$i/c" 2>>"$ZKT_DIR/mkdir.err" &
		mkdir -p "$b/mk/d$i/c" 2>>"$ZKT_DIR/mkdir.err" || fails=$((fails + 1))
		wait $! || fails=$((fails + 1))
	done
	zkm_eq 0 "$fails" "racing mkdir -p that failed ($(head -c 300 "$ZKT_DIR/mkdir.err"))"
	zkm_eq 100 "$(ls "$a/mk" | wc -l)" "directories made by racing mkdir -p"
}

run_kind() {
	zkm_pair "$1" 2
	check_mkdir_p "$ZKM_A" "$ZKM_B"
	check_election "$ZKM_A" "$ZKM_B"
	check_sequential "$ZKM_A" "$ZKM_B"
	zkm_pair_end "$1"
}

zkm_each_kind run_kind
