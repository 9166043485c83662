#!/usr/bin/env bash
# The mount contract on one mount, against each server kind: shell operations and what they do
# on the server (checked with kazoo), suffixes, .data, xattrs, both CAS forms, EFBIG, bad input,
# options, findmnt, mount.fuse3's argument order, and that umount closes the session.
set -u
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/mount_lib.sh"
zkt_init mount_basic
zkt_require_root
zkt_require_cmd getfattr setfattr findmnt fusermount3
[ -x "$ZKFS" ] || zkt_skip "zkfs not built at $ZKFS"

check_files() {
	local m=$1 port=$2
	mkdir "$m/app" || zkt_fail "mkdir"
	echo hello >"$m/app/f"
	zkm_eq hello "$(cat "$m/app/f")" "cat after create"
	zkm_kazoo "$port" 'd, st = zk.get("/app/f"); assert d == b"hello\n" and st.version == 0, (d, st)' ||
		zkt_fail "create is not one create with the whole data"
	echo world >"$m/app/f"
	zkm_kazoo "$port" 'd, st = zk.get("/app/f"); assert d == b"world\n" and st.version == 1, (d, st)' ||
		zkt_fail "overwrite is not one setData"
	echo more >>"$m/app/f"
	zkm_eq "world more" "$(cat "$m/app/f" | tr '\n' ' ' | sed 's/ $//')" "append"
	zkm_eq "f" "$(ls "$m/app")" "ls"
	zkm_fails "Directory not empty" rmdir "$m/app"
	rm "$m/app/f" || zkt_fail "rm"
	zkm_kazoo "$port" 'assert zk.exists("/app/f") is None' || zkt_fail "rm did not delete"
	rmdir "$m/app" || zkt_fail "rmdir"
}

check_kinds() {
	local m=$1 port=$2
	mkdir "$m/k"
	mkdir "$m/k/empty"
	zkt_wait 5 test -d "$m/k/empty" || zkt_fail "a node never written must show as a directory"
	echo own >"$m/k/empty/child"
	echo mydata >"$m/k/empty/.data"
	zkm_eq mydata "$(cat "$m/k/empty/.data")" ".data"
	zkm_kazoo "$port" 'd, st = zk.get("/k/empty"); assert d == b"mydata\n" and st.numChildren == 1' ||
		zkt_fail ".data is not the directory node's data"
	zkm_fails "Operation not permitted" rm "$m/k/empty/.data"
}

check_suffixes() {
	local m=$1 port=$2 p
	mkdir "$m/s"
	echo up >"$m/s/w1.eph"
	zkm_eq up "$(cat "$m/s/w1")" "ephemeral node named without its suffix"
	zkm_kazoo "$port" 'st = zk.exists("/s/w1"); assert st.ephemeralOwner != 0' ||
		zkt_fail ".eph is not ephemeral"
	zkm_eq "0x0" "$(getfattr --only-values -n user.zkfs.ephemeral_owner "$m/s" 2>/dev/null)" \
		"persistent owner"
	mkdir "$m/s/job-.seq"
	zkm_kazoo "$port" 'assert zk.get_children("/s") and any(c.startswith("job-00000") for c in zk.get_children("/s"))' ||
		zkt_fail "mkdir x.seq did not make a sequential node"
	exec 3>"$m/s/t-.seq"
	echo payload >&3
	p=$(getfattr --only-values -n user.zkfs.path "/proc/self/fd/3" 2>/dev/null)
	exec 3>&-
	case "$p" in /s/t-[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]) ;; *) zkt_fail "seq path '$p'" ;; esac
	zkm_eq payload "$(cat "$m$p")" "the sequential node holds the whole data"
	echo e >"$m/s/l-.eph.seq"
	zkm_kazoo "$port" 'cs = [c for c in zk.get_children("/s") if c.startswith("l-")]; assert len(cs) == 1 and zk.exists("/s/" + cs[0]).ephemeralOwner != 0' ||
		zkt_fail ".eph.seq"
	zkm_fails "Invalid argument" mkdir "$m/s/d.eph"
}

check_xattrs_and_cas() {
	local m=$1 port=$2 v n
	echo 5 >"$m/c"
	for a in version cversion aversion czxid mzxid pzxid ctime mtime ephemeral_owner num_children data_length; do
		getfattr -d -m user.zkfs "$m/c" 2>/dev/null | grep -q "^user.zkfs.$a=" || zkt_fail "xattr $a missing"
	done
	zkm_eq 2 "$(getfattr --only-values -n user.zkfs.data_length "$m/c" 2>/dev/null)" "data_length"
	v=$(getfattr --only-values -n user.zkfs.version "$m/c" 2>/dev/null)
	# Form 1: state the expected version, then write.
	setfattr -n user.zkfs.expect_version -v "$v" "$m/c" && echo 6 >"$m/c" || zkt_fail "CAS with the right version"
	setfattr -n user.zkfs.expect_version -v "$v" "$m/c"
	zkm_fails "Stale file handle" bash -c "echo 7 > '$m/c'"
	zkm_eq 6 "$(cat "$m/c")" "a failed CAS writes nothing"
	# Form 2: read-modify-write through one read-write descriptor.
	exec 4<>"$m/c"
	n=$(cat <&4)
	zkm_kazoo "$port" 'zk.set("/c", b"100\n")'
	if (echo $((n + 1)) >&4) 2>/dev/null; then zkt_fail "RMW over a concurrent change succeeded"; fi
	exec 4>&-
	zkm_eq 100 "$(cat "$m/c")" "RMW conflict wrote nothing"
	exec 4<>"$m/c"
	n=$(cat <&4)
	echo $((n + 1)) >&4 || zkt_fail "RMW without conflict"
	exec 4>&-
	zkm_eq 101 "$(cat "$m/c")" "RMW result"
}

check_bad_input() {
	local m=$1
	echo x >"$m/b"
	zkm_fails "File too large" bash -c "head -c 2000000 /dev/zero > '$m/big'"
	zkm_kazoo "$port" 'assert zk.exists("/big") is None' || zkt_fail "EFBIG wrote something"
	mv "$m/b" "$m/b2" && mv "$m/b2" "$m/b" || zkt_fail "rename of a file (issue 16: one multi)"
	zkm_fails "Operation not permitted" ln "$m/b" "$m/l"
	zkm_fails "Operation not permitted" ln -s b "$m/s2"
	zkm_fails "Operation not permitted" mknod "$m/dev" c 1 3
	zkm_fails "Operation not permitted" mkfifo "$m/fifo"
	zkm_fails "Invalid argument" mkdir "$m/bad$(printf '\001')name"
	zkm_fails "File name too long" touch "$m/$(printf 'a%.0s' $(seq 300))"
	printf 'X' | dd of="$m/b" bs=1 seek=1 conv=notrunc 2>/dev/null
	zkm_eq "xX" "$(cat "$m/b")" "a write at an offset is made whole"
}

check_options() {
	local kind=$1 port=$2 mp
	zkm_mount "ro-$kind" "127.0.0.1:$port" "ro,uid=123,gid=456,mode=0640"
	mp=$ZKM_MP
	zkm_fails "Read-only file system" mkdir "$mp/nope"
	zkm_eq "123:456:440" "$(stat -c %u:%g:%a "$mp/c")" "uid/gid/mode (ro drops w)"
	zkm_eq "fuse.zkfs 127.0.0.1:$port" "$(findmnt -n -o FSTYPE,SOURCE "$mp")" "findmnt"
	zkt_wait 10 fusermount3 -u "$mp" 2>/dev/null || zkt_fail "fusermount3 -u"
	# mount.fuse3 runs the program named by the type with mount's argument order.
	PATH=$(dirname "$ZKFS"):$PATH mount.fuse3 "127.0.0.1:$port" "$mp" -t zkfs \
		-o "session_timeout=5,log=$ZKT_DIR/mf-$kind.log" || zkt_fail "mount.fuse3"
	ZKT_MOUNTS+=("$mp")
	zkt_wait 10 test -e "$mp/c" || zkt_fail "mount.fuse3 mount has no tree"
	echo me >"$mp/gone.eph"
	# The events thread's own calls can keep the mount busy for a moment: retry (bounded).
	zkt_wait 10 umount "$mp" 2>/dev/null || zkt_fail "umount"
	zkm_kazoo "$port" 'assert zk.exists("/gone") is None' ||
		zkt_fail "umount did not close the session (its ephemeral is still there)"
	# `mount -t fuse.zkfs` (PATH cleared by mount) works once zkfs is installed.
	if [ -x /usr/local/bin/zkfs ] || [ -x /usr/bin/zkfs ]; then
		mount -t fuse.zkfs "127.0.0.1:$port" "$mp" -o "log=$ZKT_DIR/mt-$kind.log" ||
			zkt_fail "mount -t fuse.zkfs"
		zkm_eq "fuse.zkfs" "$(findmnt -n -o FSTYPE "$mp")" "mount -t fuse.zkfs"
		zkt_wait 10 umount "$mp" 2>/dev/null || zkt_fail "umount"
	elif [ -n "${ZKT_DESTDIR:-}" ]; then
		zkt_fail "tests/run-one installed zkfs in $ZKT_DESTDIR, but /usr/local/bin has no zkfs"
	else
		zkt_log "zkfs not installed: mount -t fuse.zkfs not checked"
	fi
}

check_auth() {
	local kind=$1 port=$2 m=$3
	zkm_kazoo "$port" 'from kazoo.security import make_digest_acl
zk.create("/sec", b"secret\n", acl=[make_digest_acl("alice", "pw", all=True)])' ||
		zkt_fail "kazoo create with a digest ACL"
	# zkfsd does not enforce READ ACLs yet (reported): the refusal is checked on Apache's.
	[ "$kind" = apache ] && zkm_fails "Permission denied" cat "$m/sec"
	zkm_mount "auth-$kind" "127.0.0.1:$port" "auth=digest:alice:pw"
	zkm_eq secret "$(cat "$ZKM_MP/sec")" "-o auth=digest:alice:pw reads the protected node"
	fusermount3 -u "$ZKM_MP"
}

run_kind() {
	local kind=$1 port m
	port=$(zkm_port "$kind" 0)
	zkt_start_server "$kind" "$port"
	zkm_mount "m-$kind" "127.0.0.1:$port" "session_timeout=5"
	m=$ZKM_MP
	check_files "$m" "$port"
	check_kinds "$m" "$port"
	check_suffixes "$m" "$port"
	check_xattrs_and_cas "$m" "$port"
	check_bad_input "$m"
	check_options "$kind" "$port"
	check_auth "$kind" "$port" "$m"
	fusermount3 -u "$m"
	zkt_stop_server "$port"
	zkt_log "$kind: ok"
}

zkm_each_kind run_kind
