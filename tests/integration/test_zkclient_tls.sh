#!/usr/bin/env bash
# test_zkclient_tls: client/'s TLS (OpenSSL memory BIOs on the loop) against Apache ZooKeeper's
# secureClientPort (Netty, client certificates required): every operation of zkclient_ops works
# over it; a client that does not trust the server's CA, or reaches it by a name its
# certificate does not carry, never gets a session. zkfsd joins when it serves TLS
# (secureClientPort in its zoo.cfg: the security issue). Ports 24030-24039 (tools range).
source "$(dirname "$0")/lib.sh"
zkt_init zkclient_tls
trap zkt_cleanup EXIT
OPS=$top_builddir/tests/integration/zkclient_ops
[ -x "$OPS" ] || zkt_skip "zkclient_ops not built"
[ -f /usr/share/java/zookeeper.jar ] || zkt_skip "Debian zookeeper not installed"
zkt_require_cmd openssl keytool java
PORT=24031 SECURE=24032
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
	openssl pkcs12 -export -in "$D/server.pem" -inkey "$D/server.key" -passout pass:secret \
		-out "$D/server.p12" || return 1
	keytool -importcert -noprompt -alias ca -file "$D/ca.pem" -storetype PKCS12 \
		-keystore "$D/trust.p12" -storepass secret >/dev/null 2>&1
}
pki || zkt_fail "cannot make the test certificates"

dir=$ZKT_DIR/apache-tls
mkdir -p "$dir/data"
cat >"$dir/zoo.cfg" <<CFG
tickTime=2000
dataDir=$dir/data
clientPort=$PORT
secureClientPort=$SECURE
clientPortAddress=127.0.0.1
serverCnxnFactory=org.apache.zookeeper.server.NettyServerCnxnFactory
ssl.keyStore.location=$D/server.p12
ssl.keyStore.password=secret
ssl.keyStore.type=PKCS12
ssl.trustStore.location=$D/trust.p12
ssl.trustStore.password=secret
ssl.trustStore.type=PKCS12
ssl.clientAuth=need
admin.enableServer=false
4lw.commands.whitelist=*
extendedTypesEnabled=true
CFG
# zookeeper.jar's manifest lists Netty's buffer/handler/transport jars but not the codec and
# resolver ones the Netty factory also needs.
NETTY=/usr/share/java/netty-codec.jar:/usr/share/java/netty-resolver.jar
java -Xmx512m -Dzookeeper.log.dir="$dir" -Dzookeeper.root.logger=INFO,CONSOLE \
	-cp "/etc/zookeeper/conf:/usr/share/java/zookeeper.jar:$NETTY:$ZKT_APACHE_LOG_JARS" \
	org.apache.zookeeper.server.quorum.QuorumPeerMain "$dir/zoo.cfg" >"$dir/server.log" 2>&1 &
ZKT_PIDS[$PORT]=$!
zkt_wait 30 zkt_is_ok "$PORT" || zkt_fail "apache (TLS) did not answer ruok"

"$OPS" "127.0.0.1:$SECURE" --tls "$D/ca.pem" "$D/client.pem" "$D/client.key" \
	>"$ZKT_DIR/tls.out" 2>"$ZKT_DIR/tls.err" ||
	zkt_fail "operations over TLS: $(cat "$ZKT_DIR/tls.err") $(tail -5 "$dir/server.log")"
for line in "create: OK path=/t" "multi failing: BadVersion [error OK] [error BadVersion]" \
	"event NodeCreated SyncConnected /w/x/y" "chroot create: OK path=/cr"; do
	grep -qxF -- "$line" "$ZKT_DIR/tls.out" || zkt_fail "over TLS, no '$line': $(cat "$ZKT_DIR/tls.out")"
done
# The client certificate is the session's x509 identity.
grep -q "^whoAmI: OK .*who=x509:CN=zkt-client" "$ZKT_DIR/tls.out" ||
	zkt_fail "no x509 identity: $(grep whoAmI "$ZKT_DIR/tls.out")"

# Untrusted CA, then a name the certificate lacks: no session (exit 1), within its deadline,
# and the log says the certificate was refused.
refused() {
	! ZKCLIENT_OPS_CONNECT_MS=3000 "$OPS" "$1:$SECURE" --tls "$D/$2.pem" "$D/client.pem" "$D/client.key" \
		>/dev/null 2>"$ZKT_DIR/bad.err" || zkt_fail "$3 was accepted"
	grep -q "server certificate refused: $4" "$ZKT_DIR/bad.err" ||
		zkt_fail "$3: not refused for its certificate: $(cat "$ZKT_DIR/bad.err")"
}
refused 127.0.0.1 other "a server signed by an unknown CA" "unable to get local issuer"
refused localhost ca "a certificate without the host name" "hostname mismatch"
zkt_log "[apache] TLS ok"
