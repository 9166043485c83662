#!/usr/bin/env bash
# test_zkclient_tls: client/'s TLS (OpenSSL memory BIOs on the loop) against the secure client
# port of Apache ZooKeeper (Netty) and zkfsd, client certificates required, PEM stores: every
# operation of zkclient_ops works over it with the same answers on both; a client that does not
# trust the server's CA, or reaches it by a name its certificate does not carry, never gets a
# session. zkfs-cli's -tls-* flags and the mount's -o tls_* options are checked the same way.
# Ports 24030-24039 (tools range).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/mount_lib.sh"
zkt_init zkclient_tls
trap zkt_cleanup EXIT
OPS=$top_builddir/tests/integration/zkclient_ops
[ -x "$OPS" ] || zkt_skip "zkclient_ops not built"
zkt_require_cmd openssl
D=$ZKT_DIR/pki
mkdir -p "$D"

# A CA, a server certificate for 127.0.0.1 only (no DNS name), a client certificate, and a
# second CA nobody uses.
pki() {
	local subj ext
	for ca in ca other; do
		openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=zkt-$ca" \
			-keyout "$D/$ca.key" -out "$D/$ca.pem" 2>/dev/null || return 1
	done
	for who in server client; do
		subj=/CN=zkt-$who
		ext="subjectAltName=IP:127.0.0.1"
		openssl req -newkey rsa:2048 -nodes -subj "$subj" -keyout "$D/$who.key" \
			-out "$D/$who.csr" 2>/dev/null || return 1
		openssl x509 -req -in "$D/$who.csr" -CA "$D/ca.pem" -CAkey "$D/ca.key" \
			-CAcreateserial -days 2 -extfile <(echo "$ext") -out "$D/$who.pem" \
			2>/dev/null || return 1
	done
	# The server's PEM key store: key and certificate in one file.
	cat "$D/server.key" "$D/server.pem" >"$D/server-store.pem"
}
pki || zkt_fail "cannot make the test certificates"

# tls_cfg KIND PORT SECURE: the zoo.cfg lines of a secure port (as test_tls.py writes them).
tls_cfg() {
	cat <<CFG
secureClientPort=$3
ssl.keyStore.location=$D/server-store.pem
ssl.keyStore.type=PEM
ssl.trustStore.location=$D/ca.pem
ssl.trustStore.type=PEM
ssl.clientAuth=need
CFG
	[ "$1" = apache ] || return 0
	echo serverCnxnFactory=org.apache.zookeeper.server.NettyServerCnxnFactory
	echo authProvider.x509=org.apache.zookeeper.server.auth.X509AuthenticationProvider
}

# start KIND PORT SECURE: the server with both ports; waits for ruok on the plain one.
start() {
	local kind=$1 port=$2 dir=$ZKT_DIR/$1-tls netty
	mkdir -p "$dir/data"
	tls_cfg "$kind" "$port" "$3" >"$dir/tls.cfg"
	if [ "$kind" = zkfsd ]; then
		zkt_start_server zkfsd "$port" -c "$dir/tls.cfg"
		return
	fi
	{
		echo tickTime=2000
		echo dataDir=$dir/data
		echo clientPort=$port
		echo clientPortAddress=127.0.0.1
		echo admin.enableServer=false
		echo 4lw.commands.whitelist=*
		echo extendedTypesEnabled=true
		cat "$dir/tls.cfg"
	} >"$dir/zoo.cfg"
	# zookeeper.jar's manifest lists Netty's buffer/handler/transport jars but not the codec
	# and resolver ones the Netty factory also needs.
	netty=/usr/share/java/netty-codec.jar:/usr/share/java/netty-resolver.jar
	java -Xmx512m -Dzookeeper.log.dir="$dir" -Dzookeeper.root.logger=INFO,CONSOLE \
		-cp "/etc/zookeeper/conf:/usr/share/java/zookeeper.jar:$netty:$ZKT_APACHE_LOG_JARS" \
		org.apache.zookeeper.server.quorum.QuorumPeerMain "$dir/zoo.cfg" \
		>"$dir/server.log" 2>&1 &
	ZKT_PIDS[$port]=$!
	ZKT_KINDS[$port]=apache
	zkt_wait 30 zkt_is_ok "$port" || zkt_fail "apache (TLS) did not answer ruok"
}

refused() {
	! ZKCLIENT_OPS_CONNECT_MS=3000 "$OPS" "$1:$SECURE" --tls "$D/$2.pem" "$D/client.pem" \
		"$D/client.key" >/dev/null 2>"$ZKT_DIR/bad.err" || zkt_fail "[$KIND] $3 was accepted"
	grep -q "server certificate refused: $4" "$ZKT_DIR/bad.err" ||
		zkt_fail "[$KIND] $3: not refused for its certificate: $(cat "$ZKT_DIR/bad.err")"
}

ran=()
port=24030
for KIND in $ZKT_SERVERS; do
	port=$((port + 2))
	SECURE=$((port + 1))
	case $KIND in
	zkfsd) [ -x "$ZKFSD" ] || { zkt_log "zkfsd not built: skipping it"; continue; } ;;
	apache) [ -f /usr/share/java/zookeeper.jar ] || { zkt_log "no ZooKeeper: skipping"; continue; } ;;
	esac
	start "$KIND" "$port" "$SECURE"
	"$OPS" "127.0.0.1:$SECURE" --tls "$D/ca.pem" "$D/client.pem" "$D/client.key" \
		>"$ZKT_DIR/$KIND.out" 2>"$ZKT_DIR/$KIND.err" ||
		zkt_fail "[$KIND] operations over TLS: $(cat "$ZKT_DIR/$KIND.err")"
	for line in "create: OK path=/t" "multi failing: BadVersion [error OK] [error BadVersion]" \
		"event NodeCreated SyncConnected /w/x/y" "chroot create: OK path=/cr"; do
		grep -qxF -- "$line" "$ZKT_DIR/$KIND.out" ||
			zkt_fail "[$KIND] over TLS, no '$line': $(cat "$ZKT_DIR/$KIND.out")"
	done
	# The client certificate is the session's x509 identity.
	grep -q "^whoAmI: OK .*who=x509:CN=zkt-client" "$ZKT_DIR/$KIND.out" ||
		zkt_fail "[$KIND] no x509 identity: $(grep whoAmI "$ZKT_DIR/$KIND.out")"
	# (OpenSSL's reason depends on whether the server sends its CA too: zkfsd does.)
	refused 127.0.0.1 other "a server signed by an unknown CA" ""
	refused localhost ca "a certificate without the host name" "hostname mismatch"
	# zkfs-cli's TLS flags; without them the secure port is a connection loss (exit 3).
	cli=$top_builddir/tools/zkfs-cli
	[ "$("$cli" -server "127.0.0.1:$SECURE" -tls-ca "$D/ca.pem" -tls-cert "$D/client.pem" \
		-tls-key "$D/client.key" create /clitls x)" = /clitls ] ||
		zkt_fail "[$KIND] zkfs-cli -tls-* create"
	rc=0
	"$cli" -server "127.0.0.1:$SECURE" -timeout 2000 stat /clitls >/dev/null 2>&1 || rc=$?
	[ "$rc" -eq 3 ] || zkt_fail "[$KIND] zkfs-cli without TLS on the secure port exited $rc"
	# The mount over TLS (root and FUSE only): a file written there is read back by zkfs-cli.
	if [ "$(id -u)" -eq 0 ] && [ -e /dev/fuse ] && [ -x "$ZKFS" ]; then
		zkm_mount "mnt-$KIND" "127.0.0.1:$SECURE" \
			"tls_ca=$D/ca.pem,tls_cert=$D/client.pem,tls_key=$D/client.key"
		echo via-mount >"$ZKM_MP/clitls.txt" || zkt_fail "[$KIND] write through the TLS mount"
		[ "$("$cli" -server "127.0.0.1:$SECURE" -tls-ca "$D/ca.pem" -tls-cert "$D/client.pem" \
			-tls-key "$D/client.key" get /clitls.txt)" = via-mount ] ||
			zkt_fail "[$KIND] the TLS mount's write not seen"
		zkt_wait 10 umount "$ZKM_MP" 2>/dev/null || zkt_fail "[$KIND] umount"
		zkt_log "[$KIND] mount over TLS ok"
	fi
	zkt_stop_server "$port"
	zkt_log "[$KIND] TLS ok"
	ran+=("$KIND")
done
[ ${#ran[@]} -gt 0 ] || zkt_skip "no server kind available"
if [ ${#ran[@]} -eq 2 ]; then
	diff -u "$ZKT_DIR/${ran[1]}.out" "$ZKT_DIR/${ran[0]}.out" >&2 ||
		zkt_fail "over TLS, zkfsd and Apache ZooKeeper answered differently"
fi
