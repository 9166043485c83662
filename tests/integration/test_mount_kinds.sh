#!/usr/bin/env bash
# The kind rule (issue 16, case 4), on two mounts of each server kind: a node is a directory
# when it has children, or has no data and was never written (version 0); otherwise a file.
# So empty files stay files everywhere: `: > f`, `truncate -s 0`, `touch new`, `mktemp -p`,
# `set -C; : > lockfile`, an editor's swap file (O_EXCL, then write); another mount's watcher
# sees a `cp` as CREATE (not ISDIR) then MODIFY; a `cp` refused with EFBIG leaves nothing.
set -u
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/mount_lib.sh"
zkt_init mount_kinds
zkt_require_root
zkt_require_cmd inotifywait
[ -x "$ZKFS" ] || zkt_skip "zkfs not built at $ZKFS"

# is_file PATH WHAT: PATH is a regular file on both mounts ($a, $b are the mount points).
is_file() {
	[ -f "$a/$1" ] || zkt_fail "$2: not a file on mount A ($(stat -c %F "$a/$1" 2>&1))"
	zkt_wait 10 test -f "$b/$1" || zkt_fail "$2: not a file on mount B ($(stat -c %F "$b/$1" 2>&1))"
}

# version PATH: the node's version, read by kazoo.
version() { zkm_kazoo "$port" "print(zk.exists('$1').version)"; }

check_empty_files() {
	local t
	mkdir "$a/k" || zkt_fail "mkdir"
	zkm_eq 0 "$(version /k)" "mkdir leaves version 0"
	[ -d "$b/k" ] || zkt_fail "mkdir: not a directory on B"
	echo x >"$a/k/f" && : >"$a/k/f"
	is_file k/f ": > f"
	echo y >"$a/k/f" || zkt_fail "echo > f after : > f"
	zkm_eq y "$(cat "$b/k/f")" "value after : > f"
	truncate -s 0 "$a/k/f" || zkt_fail "truncate"
	is_file k/f "truncate -s 0"
	touch "$a/k/new"
	is_file k/new "touch new"
	zkm_eq 1 "$(version /k/new)" "an empty file made through the mount"
	echo z >"$a/k/new" && rm "$a/k/new" || zkt_fail "write and rm of a touched file"
	t=$(mktemp -p "$a/k") || zkt_fail "mktemp -p"
	is_file "k/${t##*/}" "mktemp -p"
	echo tmp >"$t" && rm "$t" || zkt_fail "write and rm of a mktemp file"
	(set -C && : >"$a/k/lock") || zkt_fail "set -C; : > lock"
	is_file k/lock "set -C lock file"
	zkm_fails "cannot overwrite" bash -c "set -C; : > '$b/k/lock'"
	rm "$b/k/lock" || zkt_fail "rm lock"
	# An editor's swap file: O_CREAT|O_EXCL, then the data.
	/usr/bin/python3 -c 'import os, sys
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
os.write(fd, b"swap"); os.close(fd)' "$a/k/.f.swp" || zkt_fail "swap file"
	is_file k/.f.swp "swap file"
	zkm_eq swap "$(cat "$b/k/.f.swp")" "swap file value"
	rm "$a/k/.f.swp" || zkt_fail "rm swap file"
	zkm_kazoo "$port" 'zk.create("/k/zk-empty"); zk.create("/k/zk-set", b""); zk.set("/k/zk-set", b"")'
	zkt_wait 10 test -d "$b/k/zk-empty" || zkt_fail "a node created empty by a client is a directory"
	is_file k/zk-set "a node written empty by a client"
}

check_cp_events() {
	local ev
	mkdir "$a/cp" && ls "$b/cp" >/dev/null || zkt_fail "mkdir cp"
	zkm_watch "cp-$1" "$b/cp"
	ev=$ZKM_EVENTS
	echo copied >"$ZKT_DIR/src"
	cp "$ZKT_DIR/src" "$a/cp/copy" || zkt_fail "cp"
	zkt_wait 15 zkm_seen "$ev" "MODIFY copy$" || zkt_fail "no MODIFY for a cp: $(cat "$ev")"
	zkm_seen "$ev" "CREATE copy$" || zkt_fail "no CREATE (file) for a cp: $(cat "$ev")"
	zkm_seen "$ev" "ISDIR copy$" && zkt_fail "a cp'd file was seen as a directory: $(cat "$ev")"
	zkm_eq copied "$(cat "$b/cp/copy")" "cp value on B"
	head -c 3000 /dev/zero >"$ZKT_DIR/big"
	zkm_fails "File too large" cp "$ZKT_DIR/big" "$a/cp/big"
	zkm_kazoo "$port" 'assert zk.exists("/cp/big") is None, "EFBIG left a node"' ||
		zkt_fail "a cp refused with EFBIG left a node"
	zkm_unwatch
}

run_kind() {
	ZKM_OPTS="max_data=2000" zkm_pair "$1" 2
	a=$ZKM_A b=$ZKM_B port=$ZKM_PORT
	check_empty_files
	check_cp_events "$1"
	zkm_pair_end "$1"
}

zkm_each_kind run_kind
