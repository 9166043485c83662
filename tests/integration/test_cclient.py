"""The ZooKeeper C client (libzookeeper_mt, through zkcheck) against Apache ZooKeeper and zkfsd.

Covers what kazoo 2.8 cannot: creates in every mode including container and TTL, multi with
per-op results, removeWatches, the C client's own path checks, and reconnects: the client
loses its TCP connection (a relay is cut) while another client changes the tree, then
reconnects with the same session, re-sends its watches with setWatches and its last zxid and
must get the events it missed; the same after a restart of the server (the session lives in
the log).  Outputs are compared line by line with Apache ZooKeeper's.
"""

import os
import queue
import subprocess
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import zkt  # noqa: E402
from zkt import Fail, check, wait_for  # noqa: E402

ZKCHECK = os.path.join(zkt.TOP_BUILDDIR, "tests", "integration", "zkcheck")

BASIC = """
create /cc data 0 0
create /cc/p - 0 0
create /cc/p - 0 0
create /nope/x - 0 0
create /cc/e eph 1 0
create /cc/e/x - 0 0
create /cc/s- a 2 0
create /cc/s- b 2 0
create /cc/es- c 3 0
create /cc/ctr - 4 0
create /cc/ttl t 5 60000
create /cc/ttls- t 6 60000
create /cc/ttlbad t 5 0
create /cc/ttlbad t 0 5000
create cc - 0 0
create /cc/ - 0 0
create /cc/ - 2 0
create /cc/./x - 0 0
exists /cc 0
exists /cc/none 0
get /cc 0
get /cc/none 0
set /cc v1 0
set /cc v2 0
set /cc v3 -1
set /cc/none x -1
get /cc 0
children /cc 0
children /cc/none 0
delete /cc 0
delete /cc/p 5
delete /cc/p 0
delete /cc/p -1
getacl /cc
setacl /cc 0 31
setacl /cc 0 31
getacl /cc
getacl /cc/none
sync /cc
multi c:/cc/m1:a:0 c:/cc/m-:b:2 s:/cc/m1:c:0 k:/cc/m1:1 d:/cc/s-0000000002:-1
multi c:/cc/m2:a:0 k:/cc/m1:7 s:/cc/m1:x:-1
multi c:/cc/m3:a:0 d:/cc/none:-1
multi c:/cc/m4:a:0 c:/cc/e/k:b:0
exists /cc/m2 0
children /cc 0
"""


class ZkCheck:
    """A zkcheck process: send() a command, get its answer line; events collect in .events."""

    def __init__(self):
        if not os.access(ZKCHECK, os.X_OK):
            raise zkt.Skip("zkcheck not built at %s (make check builds it)" % ZKCHECK)
        self.proc = subprocess.Popen([ZKCHECK], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True, bufsize=1)
        self.lines = queue.Queue()
        self.events = []
        self.sessions = []
        self.lock = threading.Lock()
        threading.Thread(target=self._reader, daemon=True).start()

    def _reader(self):
        for line in self.proc.stdout:
            line = line.rstrip("\n")
            with self.lock:
                if line.startswith("EVENT "):
                    self.events.append(tuple(line.split(" ", 2)[1:]))
                    continue
                if line.startswith("SESSION "):
                    self.sessions.append(line.split(" ", 1)[1])
                    continue
            self.lines.put(line)
        self.lines.put(None)

    def send(self, cmd, seconds=30):
        self.proc.stdin.write(cmd + "\n")
        self.proc.stdin.flush()
        try:
            line = self.lines.get(timeout=seconds)
        except queue.Empty:
            raise Fail("zkcheck gave no answer to %r within %ds" % (cmd, seconds))
        if line is None:
            raise Fail("zkcheck exited (status %s) on %r" % (self.proc.wait(), cmd))
        return line

    def script(self, text, rec, prefix):
        for cmd in text.strip().splitlines():
            rec("%s %s" % (prefix, cmd), self.send(cmd))

    def wait_events(self, n, seconds=20):
        wait_for(lambda: len(self.events) >= n, seconds,
                 "%d C-client events (have %r)" % (n, self.events))
        with self.lock:
            return sorted(self.events)

    def wait_session(self, state, seconds=30):
        wait_for(lambda: state in self.sessions, seconds,
                 "C client session state %s (have %r)" % (state, self.sessions))
        with self.lock:
            self.sessions.clear()

    def quit(self):
        """Ends zkcheck; returns its exit status (a sanitizer report makes it non-zero)."""
        try:
            self.proc.stdin.write("quit\n")
            self.proc.stdin.flush()
            return self.proc.wait(20)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            return self.proc.wait()


def want(got, expected, what):
    """An invariant any correct server holds, asserted in every pass (not only compared)."""
    check(got == expected, "%s: %r, want %r" % (what, got, expected))


def watches(server, zc, rec):
    """One-shot watches through the C client, changes made by kazoo."""
    k = zkt.kazoo_client(server)
    try:
        k.create("/cw", b"")
        k.create("/cw/a", b"")
        for cmd in ("get /cw/a 1", "exists /cw/b 1", "children /cw 1", "exists /cw/a 1"):
            rec("watch " + cmd, zc.send(cmd))
        k.set("/cw/a", b"1")
        k.set("/cw/a", b"2")
        k.create("/cw/b", b"")
        got = zc.wait_events(3)
        want(got, [("NodeChildrenChanged", "/cw"), ("NodeCreated", "/cw/b"),
                   ("NodeDataChanged", "/cw/a")], "one-shot watch events")
        rec("watch events", got)
        zc.send("sync /cw")
        rec("watch events-after-sync", sorted(zc.events))
        check(len(zc.events) == 3, "a one-shot watch fired more than once: %r" % zc.events)
        zc.events.clear()
        for cmd in ("get /cw/a 1", "children /cw/a 1", "rmwatch /cw/a 2 0", "rmwatch /cw/a 2 0",
                    "rmwatch /cw/a 1 0", "rmwatch /cw/none 3 0", "rmwatch /cw/none 3 1"):
            rec("rmwatch " + cmd, zc.send(cmd))
        k.set("/cw/a", b"3")
        k.create("/cw/a/k", b"")
        zc.send("sync /cw")
        want(sorted(zc.events), [], "events of removed watches")
        rec("rmwatch events", sorted(zc.events))
        zc.events.clear()
    finally:
        k.stop()
        k.close()


def reconnect(server, proxy, zc, rec):
    """The connection drops; changes happen; the C client reconnects and gets the events."""
    k = zkt.kazoo_client(server)
    try:
        k.create("/sw", b"")
        k.create("/sw/a", b"")
        k.create("/sw/gone", b"")
        rec("reconnect eph", zc.send("create /sw/eph - 1 0"))
        before = zc.send("session")
        for cmd in ("get /sw/a 1", "exists /sw/b 1", "children /sw 1", "exists /sw/gone 1"):
            rec("reconnect " + cmd, zc.send(cmd))
        proxy.cut()
        zc.wait_session("connecting")
        k.set("/sw/a", b"missed")
        k.create("/sw/b", b"")
        k.delete("/sw/gone")
        proxy.resume()
        zc.wait_session("connected")
        got = zc.wait_events(4)
        want(got, [("NodeChildrenChanged", "/sw"), ("NodeCreated", "/sw/b"),
                   ("NodeDataChanged", "/sw/a"), ("NodeDeleted", "/sw/gone")],
             "events missed while disconnected")
        rec("reconnect events", got)
        same = zc.send("session") == before
        want(same, True, "the same session after the reconnect")
        rec("reconnect same-session", same)
        eph = zc.send("exists /sw/eph 0")
        check(eph.startswith("exists OK") and " eph=1 " in eph, "ephemeral lost: %s" % eph)
        rec("reconnect eph-kept", eph)
        zc.events.clear()

        # The server restarts on the same data dir: the session and its ephemerals survive.
        rec("restart watch", zc.send("get /sw/a 1"))
        rec("restart child-watch", zc.send("children /sw 1"))
        server.stop()
        zc.wait_session("connecting")
        server.start()
        zc.wait_session("connected")
        same = zc.send("session") == before
        want(same, True, "the same session after the server's restart")
        rec("restart same-session", same)
        eph = zc.send("exists /sw/eph 0")
        check(eph.startswith("exists OK") and " eph=1 " in eph,
              "ephemeral lost across the restart: %s" % eph)
        rec("restart eph-kept", eph)
        k2 = zkt.kazoo_client(server)
        k2.set("/sw/a", b"after-restart")
        k2.create("/sw/c", b"")
        got = zc.wait_events(2)
        want(got, [("NodeChildrenChanged", "/sw"), ("NodeDataChanged", "/sw/a")],
             "events after the restart")
        rec("restart events", got)
        k2.stop()
        k2.close()
    finally:
        k.stop()
        k.close()


def cclient(server, rec):
    proxy = zkt.Proxy(server.port)
    zc = ZkCheck()
    try:
        line = zc.send("connect 127.0.0.1:%d 20000" % proxy.port)
        check(line.startswith("connect OK"), "C client could not connect: %s" % line)
        rec("connect", line)
        zc.script(BASIC, rec, "basic")
        watches(server, zc, rec)
        reconnect(server, proxy, zc, rec)
        line = zc.send("close")
        want(line, "close OK", "close")
        rec("close", line)
    finally:
        rc = zc.quit()
        proxy.close()
    check(rc == 0, "zkcheck exited with status %s" % rc)


if __name__ == "__main__":
    zkt.run_kinds("test_cclient", cclient)
