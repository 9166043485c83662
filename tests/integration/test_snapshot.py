"""Snapshots of zkfsd taken by a forked child while clients write (replication/snapshot_fork.c).

zkfsd runs with snapCount=40 while four kazoo writers create znodes: several snapshots must be
written by a child (their INFO line), every child is reaped (no process of zkfsd's is left once
the load stops), and the tree digest (dgst) is the same after a SIGTERM restart and after a
kill -9 restart, both of which load a snapshot. Then zkfsd alone (not its process group) is
killed with SIGKILL under the same load: no snapshot child may outlive it (PR_SET_PDEATHSIG)
and the restarted server binds the same client port and serves every acknowledged create.

zkfsd only. Ports 21850-21869 (its own range, so it runs beside the other server tests).
"""

import os
import signal
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import zkt  # noqa: E402
from zkt import check, wait_for  # noqa: E402

zkt.PORTS = list(range(21850, 21870))
WRITERS = 4
PER_WRITER = 120
SNAPSHOT_LINE = "snapshot image at index"


class Writer(threading.Thread):
    """Creates /s/<tag>-K for K = 0.. until n are acknowledged or the connection breaks."""

    def __init__(self, server, tag, n):
        super().__init__(daemon=True)
        self.client = zkt.kazoo_client(server)
        self.tag, self.n, self.acked = tag, n, 0

    def run(self):
        try:
            while self.acked < self.n:
                self.client.create("/s/%s-%d" % (self.tag, self.acked), b"x" * 100)
                self.acked += 1
        except Exception:  # noqa: B902 - the server was killed: stop writing
            pass

    def close(self):
        try:
            self.client.stop()
            self.client.close()
        except Exception:  # noqa: B902 - already gone
            pass


def processes_of(session):
    """PIDs of live processes whose session id is @session (zkfsd and its snapshot children:
    zkt starts zkfsd in a new session)."""
    pids = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z" and int(fields[3]) == session:
            pids.append(int(d))
    return pids


def digest_line(server):
    return [ln for ln in zkt.four_lw(server.port, "dgst").splitlines() if ln.startswith("digest")]


def mntr_value(server, key):
    for line in zkt.four_lw(server.port, "mntr").splitlines():
        if line.startswith(key + "\t"):
            return line.split("\t", 1)[1]
    return None


def load(server, round_no, n=PER_WRITER):
    writers = [Writer(server, "r%d-w%d" % (round_no, i), n) for i in range(WRITERS)]
    for w in writers:
        w.start()
    return writers


def snapshots_while_writing(server):
    k = zkt.kazoo_client(server)
    k.create("/s")
    k.stop()
    k.close()
    writers = load(server, 0)
    for w in writers:
        w.join(120)
        check(not w.is_alive() and w.acked == PER_WRITER,
              "writer %s acknowledged %d of %d" % (w.tag, w.acked, PER_WRITER))
        w.close()
    n = server.log_text().count(SNAPSHOT_LINE)
    check(n >= 2, "%d snapshots written by a child (want >= 2 after %d creates, snapCount=40)"
          % (n, WRITERS * PER_WRITER))
    wait_for(lambda: processes_of(server.proc.pid) == [server.proc.pid], 20,
             "every snapshot child to be reaped")
    wait_for(lambda: mntr_value(server, "zk_global_sessions") == "0", 60,
             "every session to be closed")
    before = digest_line(server)
    check(before, "dgst printed no digest line")
    for how in (signal.SIGTERM, signal.SIGKILL):
        server.stop(how)
        server.start()
        check("store restored from a snapshot" in server.log_text().rsplit("==== zkt: start", 1)[1],
              "the restart after signal %d did not load a snapshot" % how)
        after = digest_line(server)
        check(after == before, "tree digest changed across a restart after signal %d: %r -> %r"
              % (how, before, after))
    zkt.log("zkfsd: %d snapshots by a child under load; same digest after SIGTERM and kill -9"
            % n)


def kill_under_load(server):
    offset = server.log_size()
    writers = load(server, 1, n=100000)
    wait_for(lambda: server.log_since(offset).count(SNAPSHOT_LINE) >= 2, 60,
             "two snapshots under the second load")
    session = server.proc.pid
    os.kill(server.proc.pid, signal.SIGKILL)
    server.proc.wait(10)
    server.proc = None
    for w in writers:
        w.join(30)
    wait_for(lambda: not processes_of(session), 10, "no snapshot child left after kill -9")
    server.start()
    k = zkt.kazoo_client(server)
    for w in writers:
        w.close()
        if w.acked:
            check(k.exists("/s/%s-%d" % (w.tag, w.acked - 1)) is not None,
                  "acknowledged create /s/%s-%d lost" % (w.tag, w.acked - 1))
    k.stop()
    k.close()
    zkt.log("zkfsd: killed under load with snapshots running; no child left, port reused, "
            "%d acknowledged creates present" % sum(w.acked for w in writers))


def main():
    if "zkfsd" not in zkt.kinds():
        raise zkt.Skip("zkfsd not in ZKT_SERVERS")
    wd = zkt.workdir("snapshot")
    server = zkt.Server("zkfsd", wd, cfg={"snapCount": 40})
    server.start()
    snapshots_while_writing(server)
    kill_under_load(server)
    server.stop()
    reports = zkt.sanitizer_reports()
    check(not reports, "sanitizer or crash report: %r" % reports)


if __name__ == "__main__":
    zkt.run_main("test_snapshot", main)
