#!/usr/bin/env bash
# test_zkfsd_cli: zkfsd's command-line contract (docs/ARCHITECTURE.md): a bad config or flag
# exits 2 naming file:line and key; --daemon returns once the port answers and writes the pid
# file; SIGTERM exits 0 and removes it; a restart keeps the tree (same dgst), the sessions
# (reattach with id + password, ephemerals kept) and refuses a wrong password; the 4lw
# whitelist is applied; SIGHUP reopens --log-file. Ports 21880-21882 (its own range).
source "$(dirname "$0")/lib.sh"
zkt_init zkfsd-cli
[ -x "$ZKFSD" ] || zkt_skip "zkfsd not built at $ZKFSD"
PY=/usr/bin/python3
"$PY" -c "import kazoo" 2>/dev/null || zkt_skip "needs /usr/bin/python3 with kazoo"
PORT=21880
DATA=$ZKT_DIR/data
PIDF=$ZKT_DIR/zkfsd.pid
LOG=$ZKT_DIR/server.log

# expect_exit WANT NEEDLE ARGS...: zkfsd ARGS exits WANT and says NEEDLE on stderr.
expect_exit() {
	local want=$1 needle=$2 rc=0
	shift 2
	timeout 10 "$ZKFSD" "$@" >"$ZKT_DIR/out" 2>"$ZKT_DIR/err" || rc=$?
	[ "$rc" -eq "$want" ] || zkt_fail "zkfsd $* exited $rc, want $want: $(cat "$ZKT_DIR/err")"
	grep -qF -- "$needle" "$ZKT_DIR/err" ||
		zkt_fail "zkfsd $* said '$(cat "$ZKT_DIR/err")', want '$needle'"
}

printf 'tickTime=2000\nclientPort=abc\n' >"$ZKT_DIR/bad.cfg"
expect_exit 2 "bad.cfg:2: clientPort: expected an integer" -c "$ZKT_DIR/bad.cfg"
printf 'tickTme=2000\n' >"$ZKT_DIR/typo.cfg"
expect_exit 2 "typo.cfg:1: tickTme: unknown key" -c "$ZKT_DIR/typo.cfg"
expect_exit 2 "--port" --port 0
expect_exit 2 "--bogus" --bogus
expect_exit 2 "cannot open" -c "$ZKT_DIR/missing.cfg"

start_daemon() {
	"$ZKFSD" --daemon --port "$PORT" --data-dir "$DATA" --pid-file "$PIDF" --log-file "$LOG" \
		"$@" || zkt_fail "zkfsd --daemon exited $?"
	# No wait: the parent returns only once the port is bound.
	zkt_is_ok "$PORT" || zkt_fail "the port does not answer right after --daemon returned"
	kill -0 "$(cat "$PIDF")" 2>/dev/null || zkt_fail "the pid file names no live process"
	ZKT_PIDS[$PORT]=$(cat "$PIDF") # The EXIT trap kills it if a check fails.
}

stop_daemon() {
	local pid
	pid=$(cat "$PIDF")
	kill -TERM "$pid"
	zkt_wait 20 eval "! kill -0 $pid 2>/dev/null" || zkt_fail "zkfsd did not stop on SIGTERM"
	[ ! -e "$PIDF" ] || zkt_fail "the pid file is still there after SIGTERM"
	grep -q "stopped" "$LOG" || zkt_fail "no clean stop in the log"
	unset "ZKT_PIDS[$PORT]"
}

start_daemon
"$PY" - "$PORT" "$ZKT_DIR/session" <<'EOF' || zkt_fail "could not make the session"
import sys
from kazoo.client import KazooClient
zk = KazooClient(hosts="127.0.0.1:" + sys.argv[1], timeout=30)
zk.start()
zk.create("/kept", b"v")
zk.create("/eph", b"e", ephemeral=True)
sid, pw = zk.client_id
open(sys.argv[2], "w").write("%d %s" % (sid, pw.hex()))
# Leave without closeSession: the session must outlive the connection and the restart.
import os
os._exit(0)
EOF
before=$(zkt_4lw "$PORT" dgst)
stop_daemon
start_daemon
after=$(zkt_4lw "$PORT" dgst)
[ "$before" = "$after" ] || zkt_fail "digest changed across a restart: '$before' vs '$after'"

"$PY" - "$PORT" "$ZKT_DIR/session" <<'EOF' || zkt_fail "the session did not survive the restart"
import sys
from kazoo.client import KazooClient
from kazoo.exceptions import SessionExpiredError
sid, pw = open(sys.argv[2]).read().split()
sid, pw = int(sid), bytes.fromhex(pw)
# A wrong password is refused (kazoo then makes a new session): the old one must not be ours.
bad = KazooClient(hosts="127.0.0.1:" + sys.argv[1], timeout=30, client_id=(sid, b"x" * 16))
bad.start(timeout=10)
assert bad.client_id[0] != sid, "a wrong password was accepted"
bad.stop()
bad.close()
zk = KazooClient(hosts="127.0.0.1:" + sys.argv[1], timeout=30, client_id=(sid, pw))
zk.start()
assert zk.client_id[0] == sid, "got a new session"
st = zk.exists("/eph")
assert st is not None and st.ephemeralOwner == sid, "ephemeral lost"
assert zk.get("/kept")[0] == b"v"
zk.stop()
zk.close()
EOF
stop_daemon

printf '4lw.commands.whitelist=ruok, mntr\n' >"$ZKT_DIR/wl.cfg"
start_daemon -c "$ZKT_DIR/wl.cfg"
[ "$(zkt_4lw "$PORT" mntr | grep -c '^zk_version')" = 1 ] || zkt_fail "mntr not answered"
zkt_4lw "$PORT" srvr | grep -q "srvr is not executed because it is not in the whitelist." ||
	zkt_fail "srvr answered although not whitelisted"
# SIGHUP reopens --log-file (logrotate moved it): the next lines go to a new file of that name.
mv "$LOG" "$LOG.1"
kill -HUP "$(cat "$PIDF")"
zkt_wait 10 grep -q "SIGHUP: log file $LOG reopened" "$LOG" || zkt_fail "no new log file after SIGHUP"
stop_daemon
zkt_log "PASS"
