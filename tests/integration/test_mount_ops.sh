#!/usr/bin/env bash
# Everyday operations (issue 16, case 5), on two mounts of each server kind: rename of a file
# as one multi (replacing a target, `sed -i`, an ephemeral stays one), a directory moved by
# mv's copy-and-delete after EXDEV; touch of an existing file is a write of the same value;
# chmod/chown that change nothing succeed (`cp -p`); a name with a tab or newline is EINVAL at
# open; `rm -rf /zookeeper` says EPERM; a child named over 255 bytes or ".data" is left out of
# `ls`; `tail -f` shows what another mount appends.
set -u
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/mount_lib.sh"
zkt_init mount_ops
zkt_require_root
[ -x "$ZKFS" ] || zkt_skip "zkfs not built at $ZKFS"

gone() { [ ! -e "$1" ]; }
has() { [ "$(cat "$1" 2>/dev/null)" = "$2" ]; }
tailed() { grep -q "$2" "$1"; }

check_rename() {
	mkdir "$a/o" && echo one >"$a/o/f" || zkt_fail "setup"
	mv "$a/o/f" "$a/o/g" || zkt_fail "mv of a file"
	zkt_wait 10 has "$b/o/g" one || zkt_fail "mv: the new name on B"
	zkt_wait 10 gone "$b/o/f" || zkt_fail "mv: the old name still on B"
	echo two >"$a/o/h"
	mv "$a/o/g" "$a/o/h" || zkt_fail "mv over an existing file"
	zkm_eq one "$(cat "$a/o/h")" "the replaced target"
	sed -i s/one/three/ "$a/o/h" || zkt_fail "sed -i"
	zkt_wait 10 has "$b/o/h" three || zkt_fail "sed -i: the value on B"
	echo me >"$a/o/e.eph" && mv "$a/o/e" "$a/o/e2" || zkt_fail "mv of an ephemeral"
	zkm_kazoo "$port" 'st = zk.exists("/o/e2"); assert st and st.ephemeralOwner != 0, st' ||
		zkt_fail "a renamed ephemeral is not ephemeral"
	mkdir "$a/o/d" && echo c >"$a/o/d/c" || zkt_fail "setup d"
	mv "$a/o/d" "$a/o/d2" || zkt_fail "mv of a directory (EXDEV, then copy and delete)"
	zkm_eq c "$(cat "$b/o/d2/c")" "moved directory's child"
	zkt_wait 10 gone "$b/o/d" || zkt_fail "the moved directory is still there"
}

check_touch_chmod() {
	local v
	echo t >"$a/o/t"
	v=$(getfattr --only-values -n user.zkfs.version "$a/o/t")
	touch "$a/o/t" || zkt_fail "touch"
	zkm_eq $((v + 1)) "$(getfattr --only-values -n user.zkfs.version "$a/o/t")" "touch is a write"
	zkm_eq t "$(cat "$a/o/t")" "touch keeps the value"
	chmod "$(stat -c %a "$a/o/t")" "$a/o/t" || zkt_fail "chmod to the same mode"
	chown "$(stat -c %u:%g "$a/o/t")" "$a/o/t" || zkt_fail "chown to the same owner"
	zkm_fails "Operation not permitted" chmod 600 "$a/o/t"
	echo src >"$ZKT_DIR/src" && chmod "$(stat -c %a "$a/o/t")" "$ZKT_DIR/src"
	cp -p "$ZKT_DIR/src" "$a/o/cp" || zkt_fail "cp -p"
}

check_names() {
	local i
	for i in 1 2 3; do
		zkm_fails "Invalid argument" bash -c "echo x > '$a/o/tab$(printf '\t')$i'"
		zkm_fails "Invalid argument" bash -c "echo x > '$a/o/nl$(printf '\nx')$i'"
	done
	zkm_kazoo "$port" 'assert not [c for c in zk.get_children("/o") if "\t" in c or "\n" in c]' ||
		zkt_fail "a name with a tab or newline was created"
	zkm_fails "Operation not permitted" rm -rf "$a/zookeeper"
	ls "$a/zookeeper" >/dev/null || zkt_fail "/zookeeper"
	zkm_kazoo "$port" '
t = zk.transaction()
t.create("/n")
t.create("/n/" + "x" * 300, b"long")
t.create("/n/dd", b"own")
t.create("/n/dd/.data", b"real")
t.commit()' || zkt_fail "kazoo transaction"
	zkt_wait 10 test -d "$a/n/dd" || zkt_fail "/n/dd is not a directory"
	ls "$a/n" | grep -q xxxxxxxx && zkt_fail "a name over 255 bytes is listed"
	zkm_eq 1 "$(ls -A "$a/n/dd" | grep -c '^\.data$')" ".data listed once"
	zkm_eq own "$(cat "$a/n/dd/.data")" ".data is the directory's own data"
}

check_tail() {
	local pid
	echo l1 >"$a/o/log"
	tail -f "$a/o/log" >"$ZKT_DIR/tail.out" 2>&1 &
	pid=$!
	zkt_wait 10 tailed "$ZKT_DIR/tail.out" l1 || zkt_fail "tail -f: first line"
	echo l2 >>"$b/o/log"
	zkt_wait 15 tailed "$ZKT_DIR/tail.out" l2 || { kill "$pid"; zkt_fail "tail -f did not show the appended line"; }
	kill "$pid"
	wait "$pid" 2>/dev/null
}

run_kind() {
	zkm_pair "$1" 6
	a=$ZKM_A b=$ZKM_B port=$ZKM_PORT
	check_rename
	check_touch_chmod
	check_names
	check_tail
	zkm_pair_end "$1"
}

zkm_each_kind run_kind
