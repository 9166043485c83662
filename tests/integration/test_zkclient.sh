#!/usr/bin/env bash
# test_zkclient: every operation of client/ (tests/integration/zkclient_ops) against each server
# kind of $ZKT_SERVERS, with watch events in their place; the outputs of zkfsd and Apache
# ZooKeeper must be identical line for line, and hold the answers ZooKeeper defines.
# Ports 24020-24029 (tools range).
source "$(dirname "$0")/lib.sh"
zkt_init zkclient
trap zkt_cleanup EXIT
OPS=$top_builddir/tests/integration/zkclient_ops
[ -x "$OPS" ] || zkt_skip "zkclient_ops not built"

# want KIND LINE: the output of KIND has LINE exactly.
want() {
	grep -qxF -- "$2" "$ZKT_DIR/$1.out" || zkt_fail "[$1] no line '$2' in: $(cat "$ZKT_DIR/$1.out")"
}

# before KIND A B: line A comes before line B (an event before the reply that shows it).
before() {
	local a b
	a=$(grep -nxF -- "$2" "$ZKT_DIR/$1.out" | head -1 | cut -d: -f1)
	b=$(grep -nxF -- "$3" "$ZKT_DIR/$1.out" | head -1 | cut -d: -f1)
	[ -n "$a" ] && [ -n "$b" ] && [ "$a" -lt "$b" ] || zkt_fail "[$1] '$2' not before '$3'"
}

check() {
	local k=$1
	want "$k" "create: OK path=/t"
	want "$k" "create exists: NodeExists"
	want "$k" "create no parent: NoNode"
	want "$k" "create bad path: refused by the client"
	want "$k" "create2 seq: OK path=/t/s-0000000000 version=0 cversion=0 aversion=0 len=0 children=0 eph=no"
	want "$k" "create under eph: NoChildrenForEphemerals"
	want "$k" "set stale: BadVersion"
	before "$k" "event NodeDataChanged SyncConnected /t" "set v0: OK version=1 cversion=3 aversion=0 len=2 children=3 eph=no"
	before "$k" "event NodeCreated SyncConnected /later" "create later: OK path=/later"
	want "$k" "event NodeChildrenChanged SyncConnected /t"
	want "$k" "all children: OK number=4"
	want "$k" "ephemerals: OK /t/e /t/es-0000000002"
	want "$k" "delete not empty: NotEmpty"
	want "$k" "delete bad version: BadVersion"
	want "$k" "delete missing: NoNode"
	want "$k" "setACL auth without auth: InvalidACL"
	want "$k" "whoAmI: OK who=digest:u who=ip:127.0.0.1"
	want "$k" "setACL stale: BadVersion"
	want "$k" "multi: OK [create  /m] [setData ] [check ]"
	want "$k" "multi failing: BadVersion [error OK] [error BadVersion]"
	want "$k" "multiRead: OK [getData  '2'] [getChildren  c later m t ttl ttl-0000000003 zookeeper] [error NoNode]"
	before "$k" "event NodeCreated SyncConnected /w/x/y" "create w/x/y: OK path=/w/x/y"
	want "$k" "event NodeDataChanged SyncConnected /w/x/y"
	want "$k" "event NodeDeleted SyncConnected /w/x/y"
	want "$k" "checkWatches none: NoWatcher"
	want "$k" "checkWatches data: OK"
	want "$k" "removeWatches data: OK"
	want "$k" "event DataWatchRemoved SyncConnected /later"
	want "$k" "chroot create: OK path=/cr"
	want "$k" "chroot ephemerals: OK /cr"
	want "$k" "chroot multi: OK [create  /cm-0000000002]"
	want "$k" "event PersistentWatchRemoved SyncConnected /m"
	want "$k" "ruok: imok"
	[ "$(grep -c "event NodeDataChanged SyncConnected /m" "$ZKT_DIR/$k.out")" -eq 2 ] ||
		zkt_fail "[$k] the persistent watch on /m fired other than twice"
}

ran=()
port=24020
for KIND in $ZKT_SERVERS; do
	port=$((port + 1))
	case $KIND in
	zkfsd) [ -x "$ZKFSD" ] || { zkt_log "zkfsd not built: skipping it"; continue; } ;;
	apache) [ -f /usr/share/java/zookeeper.jar ] || { zkt_log "no ZooKeeper: skipping"; continue; } ;;
	esac
	zkt_start_server "$KIND" "$port"
	"$OPS" "127.0.0.1:$port" >"$ZKT_DIR/$KIND.out" 2>"$ZKT_DIR/$KIND.err" ||
		zkt_fail "[$KIND] zkclient_ops failed: $(cat "$ZKT_DIR/$KIND.err")"
	check "$KIND"
	zkt_stop_server "$port"
	zkt_log "[$KIND] ok"
	ran+=("$KIND")
done
[ ${#ran[@]} -gt 0 ] || zkt_skip "no server kind available"

# A host name whose first address is ::1 while the server listens on 127.0.0.1 only (Debian
# 12's /etc/hosts gives localhost both): the client tries the next address of the name
# instead of retrying ::1 until the session times out. The hosts file is this test's own
# (run-one gives each test a mount namespace).
if [ -x "$ZKFSD" ]; then
	printf '::1 zkt-dual\n127.0.0.1 zkt-dual\n' >"$ZKT_DIR/hosts"
	mount --bind "$ZKT_DIR/hosts" /etc/hosts || zkt_fail "cannot bind a hosts file"
	[ "$(getent ahosts zkt-dual | awk 'NR == 1 { print $1 }')" = ::1 ] ||
		zkt_fail "zkt-dual does not resolve to ::1 first: $(getent ahosts zkt-dual)"
	port=$((port + 1))
	zkt_start_server zkfsd "$port"
	out=$(timeout 20 "$top_builddir/tools/zkfs-cli" -server "zkt-dual:$port" -timeout 4000 \
		ls / 2>"$ZKT_DIR/dual.err") ||
		zkt_fail "no session through zkt-dual (::1 first): $(tail -3 "$ZKT_DIR/dual.err")"
	grep -qxF '[zookeeper]' <<<"$out" || zkt_fail "ls / through zkt-dual: '$out'"
	zkt_stop_server "$port"
	umount /etc/hosts
	zkt_log "a name giving ::1 first reaches the server on 127.0.0.1"
fi
if [ ${#ran[@]} -eq 2 ]; then
	diff -u "$ZKT_DIR/${ran[1]}.out" "$ZKT_DIR/${ran[0]}.out" >&2 ||
		zkt_fail "zkfsd and Apache ZooKeeper answered differently"
fi
