#!/usr/bin/env bash
# The mount's identity (issues 10 and 12), on zkfsd and Apache ZooKeeper:
#   - a node whose ACL denies the mount READ or WRITE gives EACCES ("Permission denied", never
#     EIO) and one log line per refused operation;
#   - -o auth_file=FILE (SCHEME:CREDENTIAL lines) is refused with a clear message unless FILE
#     is root's, mode 0600 or stricter, a regular file, well formed; nothing is mounted then;
#   - its identities are sent on every connection: after the server restarts, the mount still
#     reads (and hears of changes to) the node only they may read.
set -u
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/mount_lib.sh"
zkt_init mount_auth
zkt_require_root
zkt_require_cmd inotifywait
[ -x "$ZKFS" ] || zkt_skip "zkfs not built at $ZKFS"

denials() { grep -ci "permission denied" "$1" 2>/dev/null; }

# more_denials LOG BEFORE: the log has a new "permission denied" line since BEFORE lines.
more_denials() { [ "$(denials "$1")" -gt "$2" ]; }

# py_write FILE VALUE: write and close FILE, failing on an error of either (a shell ignores
# close()'s, where a whole-value write is refused).
py_write() { /usr/bin/python3 -c 'import sys; f = open(sys.argv[1], "w"); f.write(sys.argv[2]); f.close()' "$1" "$2"; }

# refused_ops M LOG: each refused operation fails with EACCES (never EIO) and is logged; a
# refused read logs exactly one line.
refused_ops() {
	local m=$1 log=$2 n
	n=$(denials "$log")
	zkm_fails "Permission denied" cat "$m/sec"
	zkm_eq $((n + 1)) "$(denials "$log")" "log lines after a refused read"
	zkm_fails "Permission denied" sh -c "echo x >'$m/sec'"
	zkm_eq $((n + 2)) "$(denials "$log")" "log lines after a refused open for writing"
	zkm_eq open "$(cat "$m/ro")" "a world-readable node"
	n=$(denials "$log")
	zkm_fails "Permission denied" py_write "$m/ro" y
	more_denials "$log" "$n" || zkt_fail "a refused write was not logged"
	n=$(denials "$log")
	zkm_fails "Permission denied" mkdir "$m/rodir/kid"
	more_denials "$log" "$n" || zkt_fail "a refused create was not logged"
	zkm_eq open "$(cat "$m/ro")" "the refused write left the value"
	! grep -q "Input/output error" "$log" || zkt_fail "EIO logged for a refusal"
}

# refuse WHY FILE: zkfs -o auth_file=FILE must exit at once, saying WHY, and mount nothing.
refuse() {
	local why=$1 file=$2 port=$3 out
	mkdir -p "$ZKT_DIR/never"
	out=$("$ZKFS" "127.0.0.1:$port" "$ZKT_DIR/never" -o "auth_file=$file" 2>&1) &&
		zkt_fail "auth_file refused for '$why' was accepted"
	case "$out" in *"auth_file=$file: "*"$why"*) ;;
	*) zkt_fail "auth_file ($why): unclear message '$out'" ;;
	esac
	! mountpoint -q "$ZKT_DIR/never" || zkt_fail "mounted despite a refused auth_file"
}

check_file_rules() {
	local port=$1 f=$ZKT_DIR/auth
	printf 'digest:alice:pw\n' >"$f"
	chmod 0644 "$f"
	refuse "mode 0600 or stricter (it is owner 0, mode 0644)" "$f" "$port"
	chmod 0600 "$f"
	chown 65534 "$f"
	refuse "owned by root" "$f" "$port"
	chown 0 "$f"
	ln -sf "$f" "$ZKT_DIR/auth-link"
	refuse "symbolic link" "$ZKT_DIR/auth-link" "$port"
	printf '# mine\ndigest alice pw\n' >"$f"
	refuse "line 2: not SCHEME:CREDENTIAL" "$f" "$port"
	printf '# nothing\n\n' >"$f"
	refuse "no SCHEME:CREDENTIAL line" "$f" "$port"
	refuse "No such file" "$ZKT_DIR/absent" "$port"
}

check_file_auth() {
	local kind=$1 port=$2 f=$ZKT_DIR/auth m ev
	printf '# zkfs identities\n\n  digest:alice:pw  \n' >"$f"
	chmod 0600 "$f"
	zkm_mount "file-$kind" "127.0.0.1:$port" "auth_file=$f,session_timeout=30,op_timeout=40"
	m=$ZKM_MP
	zkm_eq secret "$(cat "$m/sec")" "$kind: auth_file reads the protected node"
	zkm_watch "sec-$kind" "$m"
	ev=$ZKM_EVENTS
	zkt_stop_server "$port"
	zkt_start_server "$kind" "$port"
	zkm_kazoo "$port" 'zk.add_auth("digest", "alice:pw")
zk.set("/sec", b"again\n")' || zkt_fail "kazoo set /sec"
	zkt_wait 20 zkm_seen "$ev" "MODIFY sec$" || zkt_fail "$kind: no MODIFY sec after the restart"
	zkm_eq again "$(cat "$m/sec")" "$kind: the protected node after a reconnect"
	! grep -q "permission denied" "$ZKT_DIR/file-$kind.log" ||
		zkt_fail "$kind: refused after the reconnect: $(grep "permission denied" "$ZKT_DIR/file-$kind.log")"
	zkm_unwatch
	fusermount3 -u "$m"
}

run_kind() {
	local kind=$1 port
	port=$(zkm_port "$kind" 6)
	zkt_start_server "$kind" "$port"
	zkm_kazoo "$port" 'from kazoo.security import make_digest_acl, make_acl
zk.create("/sec", b"secret\n", acl=[make_digest_acl("alice", "pw", all=True)])
zk.create("/ro", b"open\n", acl=[make_acl("world", "anyone", read=True)])
zk.create("/rodir", b"", acl=[make_acl("world", "anyone", read=True)])' ||
		zkt_fail "kazoo create with ACLs"
	zkm_mount "m-$kind" "127.0.0.1:$port"
	refused_ops "$ZKM_MP" "$ZKT_DIR/m-$kind.log"
	fusermount3 -u "$ZKM_MP"
	check_file_rules "$port"
	check_file_auth "$kind" "$port"
	zkt_stop_server "$port"
	zkt_log "$kind: ok"
}

zkm_each_kind run_kind
