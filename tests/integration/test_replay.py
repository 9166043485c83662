#!/usr/bin/python3
"""test_replay: a restarted server answers no client before it has replayed its own log
(issue 16, the server part).

A write the server acknowledged before a crash must be visible to every client the server
answers after its restart, also to one that never saw that write's zxid (its lastZxidSeen does
not protect it). ZooKeeper loads its whole log before it serves; zkfsd must not answer a
session until its applied index reaches the last index of the log it found at start.

Standalone: many small writes with no snapshot after them (snapCount far above the load, so
the restart replays them all from the log), kill -9, restart, and connect as soon as the port
accepts: the first read must show the last acknowledged write. The log must say when serving
started and how many entries were replayed.

Ensemble of three (zkfsd; cluster semantics against Apache are test_cluster_*): the same load,
every member killed with -9 and restarted; a session made before the load and idle since
resumes on each member as soon as it answers: the member must know the session and show every
acknowledged write on its first read. Before the fix a member answered as soon as it knew a
leader, from a store that had not applied its log yet: the session was "expired" (3 runs
in 6 with 10,000 entries).
"""

import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import zkt  # noqa: E402
from zkt import Enc, Fail, RawClient, check  # noqa: E402

WRITES = 6000  # Pipelined create+setData pairs before the kill: replaying them takes a while.
BATCH = 500     # Requests in flight at a time.


def idle_session(port):
    """(id, password) of a session that then sees none of the load: after the restart it
    resumes with lastZxidSeen 0, as another mount of the same server would."""
    c = first_session(port, 60)
    c.close()  # The socket only: the session lives on.
    return c.session_id, c.passwd


def load(port, writes=WRITES):
    """Create /r and /n, then pipelined creates of /n/kNNNNN each followed by a setData of /r;
    returns (last acknowledged version of /r, last acknowledged child name)."""
    c = RawClient(port, timeout_ms=30000)
    check(c.create("/r", b"0")[0] == "OK", "create /r")
    check(c.create("/n", b"")[0] == "OK", "create /n")
    version, name = 0, None
    for start in range(0, writes, BATCH):
        xids = []
        for k in range(start, min(start + BATCH, writes)):
            child = "/n/k%06d" % k
            xids.append((c.request("create", Enc().string(child).buffer(b"x" * 32)
                                   .acl(zkt.OPEN_ACL).int(0).b), child, None))
            xids.append((c.request("setData", Enc().string("/r").buffer(b"%d" % k).int(-1).b),
                         None, k))
        for xid, child, k in xids:
            r = c.read_reply(xid)
            check(r.err == 0, "write xid %d failed: %s" % (xid, r.name))
            if child is not None:
                name = child
            else:
                version = r.body.stat()["version"]
    c.close()
    return version, name


def first_session(port, seconds, session=(0, b"\0" * 16)):
    """Connect as soon as the server answers a handshake (it may refuse while starting: a
    closed connection or a refused connect is 'not serving yet'); returns the client. With
    @session (id, password), resume that session, as a client reconnecting after the restart
    does (no createSession goes through the log then)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            c = RawClient(port, timeout_ms=30000, sock_timeout=30.0, session_id=session[0],
                          passwd=session[1])
            check(session[0] == 0 or c.session_id == session[0],
                  "session 0x%x, acknowledged before the kill, is unknown to the restarted "
                  "server on port %d (it answered as if the session had expired)"
                  % (session[0], port))
            return c
        except (ConnectionRefusedError, ConnectionResetError, zkt.Closed):
            time.sleep(0.002)  # Polling the port, not synchronising: retried at once.
        except OSError as e:
            if e.errno not in (111, 104):
                raise
            time.sleep(0.002)
    raise Fail("no session within %.0f s of the restart" % seconds)


def check_first_read(c, version, name, where):
    err, res = c.get("/r")
    check(err == "OK", "%s: first read of /r: %s" % (where, err))
    data, stat = res
    zkt.log("%s: first read: /r version %d data %r (acknowledged: version %d)"
            % (where, stat["version"], data, version))
    check(stat["version"] == version and data == b"%d" % (version - 1),
          "%s: the first read after the restart shows /r at version %d (%r), but version %d "
          "was acknowledged before the kill" % (where, stat["version"], data, version))
    err, _ = c.exists(name)
    check(err == "OK", "%s: acknowledged %s missing on the first reads: %s" % (where, name, err))


def standalone(kind):
    work = zkt.workdir("replay-" + kind)
    cfg = {"snapCount": 10000000}
    srv = zkt.Server(kind, work, cfg=cfg).start()
    session = idle_session(srv.port)
    version, name = load(srv.port)
    zkt.log("%s: %d writes acknowledged, /r at version %d" % (kind, 2 * WRITES, version))
    srv.kill()
    offset = srv.log_size()
    t0 = time.monotonic()
    srv.start(wait=False)
    c = first_session(srv.port, 300, session)
    zkt.log("%s: session resumed %.3f s after the restart" % (kind, time.monotonic() - t0))
    check_first_read(c, version, name, kind + " (resumed session)")
    c.close()
    c = first_session(srv.port, 300)
    check_first_read(c, version, name, kind + " (new session)")
    c.close()
    if kind == "zkfsd":
        text = srv.log_since(offset)
        m = re.search(r"serving clients: replayed (\d+) log entr", text)
        check(m is not None, "zkfsd's log does not say when it started serving after the replay")
        check(int(m.group(1)) >= 2 * WRITES,
              "zkfsd says it replayed %s entries, fewer than the %d written" % (m.group(1),
                                                                               2 * WRITES))
        zkt.log(m.group(0))
    srv.stop()


class Member(zkt.Server):
    """One zkfsd of a three-member ensemble on 127.0.0.1 (ports of this suite's range)."""

    def __init__(self, work, myid, peers):
        super().__init__("zkfsd", work, tick=1000, cfg={"snapCount": 10000000})
        self.myid, self.peers = myid, peers
        self.raft_port, self.peer_port = zkt.alloc_port(), zkt.alloc_port()

    def command(self):
        lines = ["server.%d=127.0.0.1:%d:%d:participant;127.0.0.1:%d"
                 % (m.myid, m.raft_port, m.peer_port, m.port) for m in self.peers]
        self.cfg.update(dict(line.split("=", 1) for line in lines))
        return super().command() + ["--myid", str(self.myid)]


def leader_of(members):
    """The member that is leader once every member serves, else None."""
    modes = [re.search(r"Mode: (leader|follower)", zkt.four_lw(m.port, "srvr", 2) or "")
             for m in members]
    if not all(m.ready() for m in members) or None in modes:
        return None
    leaders = [m for m, mode in zip(members, modes) if mode.group(1) == "leader"]
    return leaders[0] if len(leaders) == 1 else None


def ensemble():
    work = zkt.workdir("replay-ensemble")
    members = []
    for i in (1, 2, 3):
        members.append(Member(work, i, members))
    for m in members:
        m.start(wait=False)
    leader = zkt.wait_for(lambda: leader_of(members), 60, "a leader, every member serving")
    session = idle_session(leader.port)
    version, name = load(leader.port, WRITES // 2)
    zkt.log("ensemble: %d writes acknowledged by member %d, /r at version %d"
            % (WRITES, leader.myid, version))
    for m in members:
        m.kill()
    for m in members:
        m.start(wait=False)
    # Each member answers its first session with every acknowledged write applied.
    for m in members:
        c = first_session(m.port, 300, session)
        check_first_read(c, version, name, "ensemble member %d (resumed session)" % m.myid)
        c.close()
    for m in members:
        m.stop()


def main():
    for kind in zkt.kinds():
        standalone(kind)
    if "zkfsd" in zkt.kinds():
        ensemble()


if __name__ == "__main__":
    zkt.run_main("test_replay", main)
