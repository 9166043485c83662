# security_lib.sh: helpers of the ensemble security tests (test_cluster_security.sh,
# test_cluster_tls.sh); sourced after lib.sh and cluster.sh.
#   zks_refusals I...        refused quorum connections logged by nodes I... so far
#   zks_refusals_reach N I... true once zks_refusals I... is at least N
#   zks_make_certs DIR ADDR...  a quorum CA and, per address, DIR/nK.pem (key + certificate
#                            naming ADDR as its IP subjectAltName, K = 1, 2...), DIR/ca.pem; and
#                            DIR/rogue.pem: a certificate of another CA naming the first ADDR

# A refusal is logged once per source per interval (replication/refusal.c): a line of its own,
# or counted in a later "N more quorum connections from ... refused" line.
zks_refusals() {
	local i
	for i in "$@"; do cat "$(zkc_dir "$i")/server.log"; done |
		awk '/refused/ { if (match($0, /: [0-9]+ more quorum connections/)) {
				split(substr($0, RSTART + 2), w, " "); n += w[1] } else n++ }
			END { print n + 0 }'
}

zks_refusals_reach() {
	local n=$1
	shift
	[ "$(zks_refusals "$@")" -ge "$n" ]
}

# zks_cert DIR NAME CA ADDR: DIR/NAME.pem, a P-256 key and its certificate by CA naming ADDR.
zks_cert() {
	local dir=$1 name=$2 ca=$3 addr=$4
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$name" \
		-keyout "$dir/$name.key" -out "$dir/$name.csr" 2>/dev/null || return 1
	printf 'subjectAltName=IP:%s\nextendedKeyUsage=serverAuth,clientAuth\n' "$addr" \
		>"$dir/$name.ext"
	openssl x509 -req -in "$dir/$name.csr" -CA "$dir/$ca.pem" -CAkey "$dir/$ca.key" \
		-CAcreateserial -days 2 -extfile "$dir/$name.ext" -out "$dir/$name.crt" \
		2>/dev/null || return 1
	cat "$dir/$name.key" "$dir/$name.crt" >"$dir/$name.pem"
}

zks_ca() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
		-subj "/CN=$2" -keyout "$1/$2.key" -out "$1/$2.pem" 2>/dev/null
}

zks_make_certs() {
	local dir=$1 k=0 addr
	shift
	mkdir -p "$dir"
	zks_ca "$dir" ca && zks_ca "$dir" rogue-ca || zkt_fail "openssl: cannot make the CAs"
	for addr in "$@"; do
		k=$((k + 1))
		zks_cert "$dir" "n$k" ca "$addr" || zkt_fail "openssl: cannot make n$k's certificate"
	done
	zks_cert "$dir" rogue rogue-ca "$1" || zkt_fail "openssl: cannot make the rogue certificate"
	chmod 755 "$dir"
	chmod 644 "$dir"/*.pem
}
