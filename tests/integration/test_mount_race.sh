#!/usr/bin/env bash
# Races between mounts: the bash noclobber election on an ephemeral (exactly one winner per
# round, the loser's open() fails with "cannot overwrite existing file"), and concurrent
# creators of sequential files learning their node's real name through user.zkfs.path.
# Also racing `mkdir -p` of one directory from two mounts, and the other answers of the server
# that contradict a mount's cache before the watch event arrives (NoNode on rm and write,
# NotEmpty on rmdir, BadVersion on a CAS write): right after such an error the mount shows the
# server's state, with no wait.
set -u
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/mount_lib.sh"
zkt_init mount_race
zkt_require_root
zkt_require_cmd getfattr setfattr
[ -x "$ZKFS" ] || zkt_skip "zkfs not built at $ZKFS"

ROUNDS=8
CREATORS=8
CONTRA_ROUNDS=10 # Of each contradicting-answer check.

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

# Both mounts rm one file at once: the loser's delete is answered NoNode, maybe before the
# winner's event arrived; at once neither mount may show the file any more.
check_rm_race() {
	local a=$1 b=$2 i
	mkdir "$a/rr"
	zkt_wait 10 test -d "$b/rr" || zkt_fail "B does not see rr/"
	for i in $(seq "$CONTRA_ROUNDS"); do
		echo x >"$a/rr/f$i"
		zkt_wait 10 test -f "$b/rr/f$i" || zkt_fail "B does not see rr/f$i"
		cat "$a/rr/f$i" "$b/rr/f$i" >/dev/null
		rm -f "$a/rr/f$i" &
		rm -f "$b/rr/f$i"
		wait $!
		[ ! -e "$a/rr/f$i" ] || zkt_fail "round $i: A still shows the removed file"
		[ ! -e "$b/rr/f$i" ] || zkt_fail "round $i: B still shows the removed file"
	done
	zkm_eq "" "$(ls "$a/rr")$(ls "$b/rr")" "files left after racing rm"
}

# A new directory of A (its child list cached empty, its watch maybe not set yet) gets a child
# from B: A's rmdir fails with ENOTEMPTY, and A's listing shows the child at once.
check_rmdir_not_empty() {
	local a=$1 b=$2 i
	for i in $(seq "$CONTRA_ROUNDS"); do
		mkdir "$a/ne$i"
		zkt_wait 10 test -d "$b/ne$i" || zkt_fail "B does not see ne$i"
		mkdir "$b/ne$i/kid" || zkt_fail "round $i: B cannot make ne$i/kid"
		zkm_fails "not empty" rmdir "$a/ne$i"
		zkm_eq kid "$(ls "$a/ne$i")" "round $i: A's listing after ENOTEMPTY"
	done
}

# A writes (its data watch is spent until its events thread re-reads), B overwrites, A's CAS
# write against the version it saw fails with ESTALE; at once A shows B's value and version.
check_cas_after_write() {
	local a=$1 b=$2 i v
	echo 0 >"$a/cas"
	zkt_wait 10 test -f "$b/cas" || zkt_fail "B does not see cas"
	for i in $(seq "$CONTRA_ROUNDS"); do
		echo "a$i" >"$a/cas"
		v=$(getfattr --absolute-names --only-values -n user.zkfs.version "$a/cas")
		echo "b$i" >"$b/cas"
		setfattr -n user.zkfs.expect_version -v "$v" "$a/cas"
		zkm_fails "Stale file handle" bash -c "echo c$i >'$a/cas'"
		zkm_eq "b$i" "$(cat "$a/cas")" "round $i: A's value after ESTALE"
		zkm_eq "$(getfattr --absolute-names --only-values -n user.zkfs.version "$b/cas")" \
			"$(getfattr --absolute-names --only-values -n user.zkfs.version "$a/cas")" "round $i: A's version"
	done
}

# B removes a file A has cached and A overwrites it at once: the open must not fail (the name
# is looked up again and created anew, or the event is not there yet and the write finds
# NoNode: nothing written); A shows at once what B settles on.
check_write_removed() {
	local a=$1 b=$2 i want
	mkdir "$a/wr"
	for i in $(seq "$CONTRA_ROUNDS"); do
		echo x >"$a/wr/f$i"
		zkt_wait 10 test -f "$b/wr/f$i" || zkt_fail "B does not see wr/f$i"
		cat "$a/wr/f$i" >/dev/null
		rm "$b/wr/f$i"
		echo "y$i" >"$a/wr/f$i" || zkt_fail "round $i: overwriting a file removed elsewhere"
		want=$(cat "$a/wr/f$i" 2>/dev/null || echo none)
		zkt_wait 10 bash -c "[ \"\$(cat '$b/wr/f$i' 2>/dev/null || echo none)\" = '$want' ]" ||
			zkt_fail "round $i: A shows '$want', B settles on '$(cat "$b/wr/f$i" 2>&1)'"
	done
}

run_kind() {
	zkm_pair "$1" 2
	check_mkdir_p "$ZKM_A" "$ZKM_B"
	check_rm_race "$ZKM_A" "$ZKM_B"
	check_rmdir_not_empty "$ZKM_A" "$ZKM_B"
	check_cas_after_write "$ZKM_A" "$ZKM_B"
	check_write_removed "$ZKM_A" "$ZKM_B"
	check_election "$ZKM_A" "$ZKM_B"
	check_sequential "$ZKM_A" "$ZKM_B"
	zkm_pair_end "$1"
}

zkm_each_kind run_kind
