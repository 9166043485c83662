#!/usr/bin/python3
"""test_hostile: hostile and careless clients against one server (issue 11).

Each case sends what a hostile (or merely careless) client would, in raw frames, while
  - a victim session pings every 0.5 s and owns an ephemeral: it must keep both;
  - a probe client measures the loop with `ruok` round trips every 50 ms;
and then checks the case's own budget: the worst probe round trip (less its waits for a core),
zkfsd's own log of loop stalls (every stall over 100 ms is logged, with its cause), the
server's RSS, and the answer the hostile client got.

Cases are scaled so that each still shows its bug on the code before issue 11 (a stall of a
second or more, an expired victim, hundreds of MB) while the suite runs in well under a minute
on zkfsd. `test_hostile.py CASE...` runs only those cases; ZKT_HOSTILE_SERVERS="zkfsd apache"
runs them against Apache ZooKeeper too (its figures are printed, its budgets not asserted:
the README's "Limits" paragraph says where zkfsd does better).
"""

import os
import re
import resource
import socket
import struct
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import zkt  # noqa: E402
from zkt import Enc, Fail, RawClient  # noqa: E402

TICK = 1000               # Session timeouts of 2 s (2 ticks): a stall of 2-3 s expires them.
VICTIM_TIMEOUT_MS = 2000
STALL_S = 3.0             # The test hook's stall: 1.5 session timeouts.



def sanitized():
    """Whether zkfsd is built with AddressSanitizer (CI's second pass): it runs 2-3 times
    slower, and its shadow memory and quarantine make RSS meaningless."""
    try:
        with open(zkt.ZKFSD, "rb") as f:
            return b"__asan_init" in f.read()
    except OSError:
        return False


SLOW = 3 if sanitized() else 1
PROBE_BUDGET_S = 1.0 * SLOW  # Worst ruok round trip less the waits for a core (Probe), with room.
STALL_BUDGET_MS = 100 * SLOW  # zkfsd logs every loop stall longer than 100 ms.
# A stall is judged on the loop thread's CPU time: on a shared machine the wall time of a turn
# also counts the time the thread waited for a core.
STALL_LINE = re.compile(r"loop stalled (\d+) ms \(cpu (\d+) ms\)")


def rss_kb(server):
    """The server's resident set in KB (0 when unknown)."""
    try:
        with open("/proc/%d/status" % server.proc.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def cpu_s(server):
    """The server's CPU time (user + system) in seconds."""
    try:
        with open("/proc/%d/stat" % server.proc.pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


class Victim:
    """A healthy session: an ephemeral, and a ping every 0.5 s from its own thread."""

    def __init__(self, server, name):
        self.c = RawClient(server.port, timeout_ms=VICTIM_TIMEOUT_MS)
        self.path = "/victim-" + name
        err, _ = self.c.create(self.path, b"", mode="ephemeral")
        if err != "OK":
            raise Fail("victim create: %s" % err)
        self.stop = threading.Event()
        self.error = None
        self.pings = 0
        self.t = threading.Thread(target=self._run, daemon=True)
        self.t.start()

    def _run(self):
        try:
            while not self.stop.wait(0.5):
                r = self.c.ping()
                if r.err != 0:
                    self.error = "ping answered %s" % r.name
                    return
                self.pings += 1
        except (zkt.Closed, Fail, OSError) as e:
            self.error = "connection lost: %r" % e

    def finish(self, server):
        """Stop pinging; an error if the session or its ephemeral is gone."""
        self.stop.set()
        self.t.join(30)
        if self.error:
            return "victim %s" % self.error
        try:
            if self.c.ping().err != 0:
                return "victim's last ping failed"
        except (zkt.Closed, Fail, OSError) as e:
            return "victim's connection lost: %r" % e
        other = RawClient(server.port)
        try:
            err, st = other.exists(self.path)
        finally:
            other.close()
        self.c.close()
        if err != "OK":
            return "victim's ephemeral %s: %s" % (self.path, err)
        return None


def run_delay_s(path):
    """Time a thread spent runnable but waiting for a core (schedstat's run_delay), in s."""
    try:
        with open(path) as f:
            return int(f.read().split()[1]) / 1e9
    except (OSError, IndexError, ValueError):
        return 0.0


class Probe:
    """ruok round trips every 50 ms. worst is the longest one seen; worst_own the longest once
    the time the server's loop thread and the probe's thread waited for a core is taken off: on a
    loaded machine a round trip also waits for the scheduler, which is no stall of the server."""

    def __init__(self, server):
        self.port = server.port
        self.server_stat = "/proc/%d/schedstat" % server.proc.pid
        self.worst = 0.0
        self.worst_own = 0.0
        self.failed = 0
        self.stop = threading.Event()
        self.t = threading.Thread(target=self._run, daemon=True)
        self.t.start()

    def _run(self):
        own_stat = "/proc/self/task/%d/schedstat" % threading.get_native_id()
        while not self.stop.wait(0.05):
            waited0 = run_delay_s(self.server_stat) + run_delay_s(own_stat)
            t0 = time.monotonic()
            ok = zkt.four_lw(self.port, "ruok", 30) == "imok"
            dt = time.monotonic() - t0
            waited = run_delay_s(self.server_stat) + run_delay_s(own_stat) - waited0
            self.worst = max(self.worst, dt)
            self.worst_own = max(self.worst_own, dt - max(waited, 0.0))
            self.failed += not ok

    def finish(self):
        self.stop.set()
        self.t.join(40)
        return self.worst


def mntr(server):
    out = {}
    for line in zkt.four_lw(server.port, "mntr", 30).splitlines():
        k, _, v = line.partition("\t")
        out[k] = v
    return out


def refusal_counted(server, name):
    """[] if zkfsd counted a refusal of kind @name in mntr."""
    if server.kind != "zkfsd":
        return []
    if int(mntr(server).get("zk_refused_" + name, 0)) < 1:
        return ["mntr's zk_refused_%s did not count the refusal" % name]
    return []


def pipeline(c, requests):
    """Send every (op, body) from a thread while reading the replies; their error codes."""
    first = c.xid + 1
    sender = threading.Thread(target=lambda: [c.request(op, body) for op, body in requests],
                              daemon=True)
    sender.start()
    errs = [c.read_reply(first + i).err for i in range(len(requests))]
    sender.join(30)
    return errs


def drain_socket(sock):
    """Read and drop until the connection closes."""
    try:
        while sock.recv(1 << 20):
            pass
    except OSError:
        pass


def closed_after_drain(sock, quiet_s=0.5, seconds=20):
    """Read what the server sent; True if the connection ends (EOF or reset), False if it
    stays open and quiet for @quiet_s."""
    sock.settimeout(quiet_s)
    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline:
            if not sock.recv(1 << 20):
                return True
    except socket.timeout:
        return False
    except OSError:
        return True
    return False


def create_body(path, data=b"", acl=zkt.OPEN_ACL, mode=0):
    return Enc().string(path).buffer(data).acl(acl).int(mode).b


# ---- cases: each returns (figures dict, list of failures) and may raise Fail -----------------

def case_stall_expiry(server, fig, victim):
    """Two loop stalls of 1.5 session timeouts back to back (zkfsd's test hook `stal`, as
    two heavy requests would; Apache ZooKeeper is stopped with SIGSTOP instead). The victim's
    ping sent during the first one is read in the same loop turn as the second `stal`: its
    session must not expire. zkfsd must log the stalls with their cause."""
    t0 = time.monotonic()
    if server.kind != "zkfsd":
        server.pause()
        time.sleep(2 * STALL_S)  # The stall itself, not a synchronisation.
        server.resume()
    else:
        second = socket.create_connection(("127.0.0.1", server.port), timeout=30)
        mntr(server)  # A round trip through the loop: `second` is accepted by now.
        first = threading.Thread(target=lambda: zkt.four_lw(server.port, "stal", 30))
        first.start()
        # Inside the first stall (the stall itself, not a synchronisation): by then the
        # victim's next ping waits in its socket, next to the second word.
        time.sleep(STALL_S / 2)
        second.sendall(b"stal")
        fig["stal"] = second.recv(100).decode().strip()
        first.join(30)
        second.close()
    fig["stalled_s"] = round(time.monotonic() - t0, 2)
    # An expiry decided after the stall takes a log write to apply: let the victim ping on
    # for longer than its timeout before judging.
    after = victim.pings
    zkt.wait_for(lambda: victim.pings >= after + 5 or victim.error, 10, "victim's pings")
    if server.kind == "zkfsd" and not any("four-letter word stal" in line
                                          for line in stalls_logged(server, fig["log_at"], -1)):
        return ["no stall line naming the test hook in zkfsd's log"]
    return []


def case_acl_flood(server, fig, victim):
    """One create carrying 12,000 distinct ip ACL entries (ZooKeeper dedups them)."""
    c = RawClient(server.port)
    acl = [(31, "ip", "10.%d.%d.%d" % (i >> 16, (i >> 8) & 255, i & 255)) for i in range(12000)]
    t0 = time.monotonic()
    err, _ = c.create("/acl-flood", b"", acl=acl)
    fig["answer"] = err
    fig["seconds"] = round(time.monotonic() - t0, 2)
    c.close()
    if server.kind == "zkfsd" and err != "InvalidACL":
        return ["12,000-entry ACL answered %s, not InvalidACL" % err]
    return refusal_counted(server, "acl_entries")


def quota_setup(c, n_keys):
    for p in ("/q", "/zookeeper/quota/q"):
        c.create(p)
    c.create("/zookeeper/quota/q/zookeeper_limits", b"count=-1,bytes=-1")
    c.create("/zookeeper/quota/q/zookeeper_stats", b"count=1,bytes=0")
    text = ",".join("key%06d=%d" % (i, i) for i in range(n_keys)).encode()
    err, _ = c.set("/zookeeper/quota/q/zookeeper_stats", text)
    return err


def case_quota_stats(server, fig, victim):
    """A zookeeper_stats node of 25,000 keys, then 4 writes under its quota path."""
    c = RawClient(server.port)
    fig["stats_set"] = quota_setup(c, 25000)
    t0 = time.monotonic()
    errs = [c.create("/q/n%d" % i)[0] for i in range(4)]
    fig["writes_s"] = round(time.monotonic() - t0, 2)
    c.close()
    if errs != ["OK"] * 4:
        return ["writes under the quota: %r" % errs]
    if server.kind == "zkfsd" and "more than 1024 key=value pairs" not in server.log_since(
            fig["log_at"]):
        return ["no warning that the stats node is left unchanged"]
    if server.kind == "zkfsd" and int(mntr(server)["zk_refused_quota_stats"]) < 4:
        return ["mntr's zk_refused_quota_stats did not count the 4 writes"]
    return []


def case_deep_chain(server, fig, victim):
    """A chain 1500 deep (paths to 7.5 KB) under a recursive watch on "/": pipelined creates,
    mntr, pipelined deletes (the raw client's deep-tree case: 5-9 s of creates and 6 s of
    deletes, the loop blocked up to 7 s at a time, while libraft's pending buffer was copied
    whole for each 4 KiB it grew)."""
    depth = 1500 if SLOW == 1 else 800  # Under ASan: the sanitizer pass, not the figure.
    c = RawClient(server.port)
    paths = ["/deep" * (i + 1) for i in range(depth)]
    # A persistent recursive watch on "/": every event walks up its path (it re-hashed every
    # ancestor from scratch: quadratic in the depth per event). Its events are read and dropped.
    watcher = RawClient(server.port)
    if watcher.add_watch("/", 1)[0] != "OK":
        raise Fail("addWatch / failed")
    drain = threading.Thread(target=lambda: drain_socket(watcher.sock), daemon=True)
    drain.start()
    cpu0 = cpu_s(server)
    t0 = time.monotonic()
    errs = pipeline(c, [("create", create_body(p)) for p in paths])
    fig["create_s"] = round(time.monotonic() - t0, 2)
    t0 = time.monotonic()
    for _ in range(3):
        size = mntr(server).get("zk_approximate_data_size")
    fig["mntr_x3_s"] = round(time.monotonic() - t0, 2)
    fig["data_size"] = size
    t0 = time.monotonic()
    errs += pipeline(c, [("delete", Enc().string(p).int(-1).b) for p in paths[::-1]])
    fig["delete_s"] = round(time.monotonic() - t0, 2)
    fig["server_cpu_s"] = round(cpu_s(server) - cpu0, 2)
    c.close()
    watcher.close()
    bad = sum(e != 0 for e in errs)
    if bad:
        return ["%d of the chain's creates and deletes failed" % bad]
    # CPU, not wall time: the machine is shared. Re-hashing every ancestor: 2.5 s; now 0.7 s.
    if server.kind == "zkfsd" and fig["server_cpu_s"] > 1.5 * SLOW:
        return ["the chain cost the server %.2f s of CPU, over 1.5 s" % fig["server_cpu_s"]]
    return []


def multi_read_body(path, n):
    e = Enc()
    for _ in range(n):
        e.int(zkt.OP["getData"]).bool(False).int(-1).string(path).bool(False)
    return e.int(-1).bool(True).int(-1).b


def case_multiread_flood(server, fig, victim):
    """Two clients that never read each send an 8 KB multiRead of 300 getData of a 500,000
    byte node (a 150 MB reply each); then a well-behaved one asks the same."""
    c = RawClient(server.port)
    c.create("/big", b"x" * 500000)
    body = multi_read_body("/big", 300)
    hogs = [RawClient(server.port) for _ in range(2)]
    for h in hogs:
        h.request("multiRead", body)
    r = c.read_reply(c.request("multiRead", body))
    fig["answer"] = r.name
    # The hogs' answers have started to arrive (peeked, never read): they are built.
    for h in hogs:
        h.sock.settimeout(30)
        h.sock.recv(1, socket.MSG_PEEK)
    fig["rss_with_hogs_mb"] = rss_kb(server) // 1024
    rss_bound = 64
    if fig["rss_with_hogs_mb"] > rss_bound and SLOW == 1:
        return ["server RSS %d MB with two hogs, over %d MB" % (fig["rss_with_hogs_mb"],
                                                                rss_bound)]
    for h in hogs:
        h.close()
    c.close()
    if server.kind == "zkfsd" and r.name != "MarshallingError":
        return ["a 150 MB multiRead reply answered %s, not MarshallingError" % r.name]
    return refusal_counted(server, "reply_bytes")


def case_watch_flood(server, fig, victim):
    """One session sends 5 setWatches frames of 25,000 exist watches (125,000), another 6
    addWatch of 900 KB paths (each in both watch tables: 10.8 MB): past 100,000 watches or
    8 MiB of paths (this suite's limits) a session's watches are refused with QuotaExceeded."""
    c = RawClient(server.port)
    answers = [c.set_watches(0, exist=["/w%06d" % (i * 25000 + j) for j in range(25000)])[0]
               for i in range(5)]
    fig["set_watches"] = answers
    fig["rss_after_set_mb"] = rss_kb(server) // 1024
    # wchc and wchp list every watch in one loop turn (1 and 2.8 MB here, 0.1-0.5 s): not
    # written in slices yet, so not asked here.
    for word in ("wchs", "dump"):
        t0 = time.monotonic()
        size = len(zkt.four_lw(server.port, word, 30))
        fig[word] = "%d B in %.2f s" % (size, time.monotonic() - t0)
    c.close()
    c = RawClient(server.port)
    long_answers = [c.add_watch("/" + chr(97 + i) * 900000, 0)[0] for i in range(6)]
    fig["add_watch_ok"] = long_answers.count("OK")
    fig["add_watch_refused"] = len(long_answers) - long_answers.count("OK")
    c.close()
    if server.kind != "zkfsd":
        return []
    failures = []
    if answers != ["OK"] * 4 + ["QuotaExceeded"]:
        failures.append("setWatches past 100,000 watches answered %r" % answers)
    if long_answers != ["OK"] * 4 + ["QuotaExceeded"] * 2:
        failures.append("addWatch past 8 MiB of paths answered %r" % long_answers)
    if int(mntr(server)["zk_refused_watches"]) < 2:
        failures.append("mntr's zk_refused_watches did not count the refusals")
    return failures


def raise_fd_limit():
    """Raise this process's descriptor limit (zkfsd inherits it) toward 16,384; the number of
    connections conn_flood can open."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 16384 if hard == resource.RLIM_INFINITY else min(hard, 16384)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    return min(5000, resource.getrlimit(resource.RLIMIT_NOFILE)[0] - 200)


FLOOD = raise_fd_limit()


def case_conn_flood(server, fig, victim):
    """5,000 connections from one address (127.0.0.2: the victim and the probe use 127.0.0.1),
    held open, the first 200 sending 3 bytes of a frame and stalling (slowloris). Past
    maxClientCnxns (60) connections are refused; the victim and the probe are served."""
    socks, refused = [], 0
    t0 = time.monotonic()
    fig["flood"] = FLOOD
    for _ in range(FLOOD):
        try:
            socks.append(socket.create_connection(("127.0.0.1", server.port), timeout=5,
                                                  source_address=("127.0.0.2", 0)))
        except OSError:
            refused += 1
    for s in socks[:200]:
        try:
            s.sendall(b"\0\0\1")  # A partial length: the frame never comes.
        except OSError:
            pass
    fig["connect_s"] = round(time.monotonic() - t0, 2)
    fig["refused_at_connect"] = refused
    fig["rss_held_mb"] = rss_kb(server) // 1024
    for s in socks:
        s.close()
    if server.kind == "zkfsd":
        rejected = int(mntr(server)["zk_connection_rejected"])
        fig["rejected"] = rejected
        if rejected != FLOOD - 60:
            return ["%d of %d connections refused, not all but 60" % (rejected, FLOOD)]
    return []


def case_slow_readers(server, fig, victim):
    """12 clients pipeline 40 getData of a 500 KB node each (20 MB asked each, 240 MB in
    all) and never read (without the budget the server's RSS grew 98 MB). Each connection stops being read past 4 MiB of its own output, and
    past zkfsd.maxOutputBytes (16 MiB in this suite) over all of them; a reading client is
    still served."""
    c = RawClient(server.port)
    c.create("/half", b"h" * 500000)
    body = Enc().string("/half").bool(False).b
    before = rss_kb(server) // 1024
    hogs = []
    for _ in range(12):
        h = RawClient(server.port)
        h.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        for _ in range(40):
            h.request("getData", body)
        hogs.append(h)
    err, got = c.get("/half")
    fig["reader"] = err
    fig["rss_growth_mb"] = rss_kb(server) // 1024 - before
    for h in hogs:
        h.close()
    c.close()
    # The budget, a first reply per connection read before the budget stops it, and slack.
    if server.kind == "zkfsd" and fig["rss_growth_mb"] > 40 and SLOW == 1:
        return ["server RSS grew %d MB with 12 never-reading clients, over 40 MB"
                % fig["rss_growth_mb"]]
    return [] if err == "OK" else ["the reading client got %s" % err]


def case_event_hogs(server, fig, victim):
    """4 clients hold a recursive watch on /e and never read; 8,000 nodes with 1,000-byte
    names are created under /e (8 MB of events for each watcher). Past zkfsd.maxOutputBytes
    (16 MiB in this suite) a watcher with over 4 MiB waiting is closed (before: each could
    hold 64 MiB)."""
    c = RawClient(server.port)
    c.create("/e")
    hogs = []
    for _ in range(4):
        h = RawClient(server.port)
        if h.add_watch("/e", 1)[0] != "OK":
            raise Fail("addWatch /e failed")
        hogs.append(h)
    before = rss_kb(server) // 1024
    for start in range(0, 8000, 1000):
        errs = pipeline(c, [("create", create_body("/e/%04d%s" % (i, "x" * 996)))
                            for i in range(start, start + 1000)])
        if any(errs):
            raise Fail("creates under /e failed")
    fig["rss_growth_mb"] = rss_kb(server) // 1024 - before
    fig["hogs_closed"] = sum(closed_after_drain(h.sock) for h in hogs)
    for h in hogs:
        h.close()
    c.close()
    if server.kind != "zkfsd":
        return []
    failures = refusal_counted(server, "slow_readers")
    if fig["hogs_closed"] == 0:
        failures.append("no never-reading watcher was closed")
    return failures


def case_pipelined_gets(server, fig, victim):
    """One client sends, in one write, a setData and behind it 100 getData of a 900,000 byte
    node, and never reads. The reads wait for the write; when it applied, every one of them
    ran at once (90 MB of replies): the connection's output limit was checked only between
    frames read. Now a connection's reads stop running past its output limit (4 MiB) and go
    on as the client reads: one reply at most overshoots it."""
    c = RawClient(server.port, timeout_ms=30000)
    c.create("/g", b"g" * 900000)
    c.create("/gs", b"")
    # Not a tiny SO_RCVBUF: a 4 KB window reads 900 KB in 22 s, and the sessions expire.
    hog = RawClient(server.port, timeout_ms=30000)
    frames = [Enc().int(1).int(zkt.OP["setData"]).string("/gs").buffer(b"s").int(-1).b]
    frames += [Enc().int(i + 2).int(zkt.OP["getData"]).string("/g").bool(False).b
               for i in range(100)]
    before = rss_kb(server) // 1024
    hog.send_raw(b"".join(struct.pack(">i", len(f)) + f for f in frames))
    hog.sock.settimeout(30)
    hog.sock.recv(1, socket.MSG_PEEK)  # Its first reply arrives: the write applied.
    err, _ = c.get("/gs")  # The loop has pumped the hog's reads since.
    fig["rss_growth_mb"] = rss_kb(server) // 1024 - before
    # Reading now, the hog gets its answers in order: the held reads go on.
    got = [hog.read_reply(i + 1).err for i in range(12)]
    hog.close()
    c.close()
    failures = [] if err == "OK" else ["a reading client got %s" % err]
    if any(got):
        failures.append("the hog's answers: %s" % sorted(set(got)))
    if fig["rss_growth_mb"] > 24 and SLOW == 1:
        failures.append("server RSS grew %d MB for one never-reading client, over 24 MB"
                        % fig["rss_growth_mb"])
    return failures


def case_huge_children(server, fig, victim):
    """A getChildren whose reply would pass zkfsd.maxReplyBytes (by default jute.maxbuffer,
    1 MB: no client reads a bigger frame; the Java client drops the connection on one and
    reconnects, for ever): 5,500 children of 200-byte names, 1.1 MB. ZooKeeper sends it
    whole (it has no answer for this); zkfsd answers MarshallingError, as for a multiRead
    too large, with a log line and mntr's zk_refused_reply_bytes."""
    c = RawClient(server.port)
    c.create("/hc")
    for start in range(0, 5500, 500):
        errs = pipeline(c, [("create", create_body("/hc/%05d%s" % (i, "c" * 195)))
                            for i in range(start, start + 500)])
        if any(errs):
            raise Fail("creates under /hc failed")
    offset = server.log_size()
    answers = {}
    for op in ("getChildren", "getChildren2"):
        r = c.call(op, Enc().string("/hc").bool(True).b)
        answers[op] = r.name
    err, _ = c.get("/hc")
    c.close()
    fig.update(answers)
    if server.kind != "zkfsd":
        return []
    failures = ["%s of 1.1 MB answered %s, not MarshallingError" % (op, name)
                for op, name in answers.items() if name != "MarshallingError"]
    if err != "OK":
        failures.append("the connection did not go on after the refusal: %s" % err)
    if "getChildren" not in server.log_since(offset):
        failures.append("no log line names the refused getChildren")
    return failures + refusal_counted(server, "reply_bytes")


def children_order(server, names):
    c = RawClient(server.port)
    c.create("/k")
    pipeline(c, [("create", create_body("/k/" + n)) for n in names])
    err, got = c.children("/k")
    c.close()
    return got[0] if err == "OK" else []


def case_keyed_hash(server, fig, victim):
    """The same 300 child names created in the same order on two servers come back from
    getChildren in different orders: each process hashes names under its own random key, so
    a set of names precomputed against the hash (30,000 of them took 12.1 s to create against
    0.82 s for ordinary ones) lands in one bucket nowhere. With the unkeyed FNV both servers
    listed the same order."""
    if server.kind != "zkfsd":
        return []
    names = ["n%04d" % i for i in range(300)]
    other = zkt.Server(server.kind, os.path.dirname(server.dir), tick=TICK)
    other.start()
    try:
        first, second = children_order(server, names), children_order(other, names)
    finally:
        other.stop()
    fig["same_order"] = first == second
    if sorted(first) != names or sorted(second) != names:
        return ["getChildren lost names"]
    return ["both servers list the children in the same order"] if first == second else []


CASES = [("stall_expiry", case_stall_expiry, 64),
         ("acl_flood", case_acl_flood, 64),
         ("quota_stats", case_quota_stats, 64),
         ("multiread_flood", case_multiread_flood, 64),
         ("watch_flood", case_watch_flood, 64),
         ("deep_chain", case_deep_chain, 64),
         ("conn_flood", case_conn_flood, 64),
         ("slow_readers", case_slow_readers, 64),
         ("pipelined_gets", case_pipelined_gets, 64),
         ("huge_children", case_huge_children, 64),
         ("keyed_hash", case_keyed_hash, 64),
         ("event_hogs", case_event_hogs, 64)]


def stalls_logged(server, offset, cpu_budget_ms=STALL_BUDGET_MS):
    if server.kind != "zkfsd":
        return []
    text = server.log_since(offset)
    return [line for line in text.splitlines()
            if STALL_LINE.search(line) and int(STALL_LINE.search(line).group(2)) > cpu_budget_ms]


def run_case(server, name, fn, rss_mb):
    """One case with its victim and probe; a list of failures."""
    offset = server.log_size()
    victim = Victim(server, name)
    probe = Probe(server) if name != "stall_expiry" else None
    fig = {"log_at": offset}
    t0 = time.monotonic()
    try:
        failures = fn(server, fig, victim)
    except (Fail, zkt.Closed, OSError) as e:
        if server.kind == "zkfsd":
            raise
        failures = ["raised %r" % e]  # Apache ZooKeeper's figures are informative only.
    fig["case_s"] = round(time.monotonic() - t0, 2)
    if probe:
        fig["worst_ruok_s"] = round(probe.finish(), 3)
        fig["worst_ruok_own_s"] = round(probe.worst_own, 3)
        if probe.failed:
            failures.append("%d ruok probes got no answer" % probe.failed)
        if fig["worst_ruok_own_s"] > PROBE_BUDGET_S:
            failures.append("a ruok took %.2f s, %.2f s without waits for a core (budget %.1f s)"
                            % (fig["worst_ruok_s"], fig["worst_ruok_own_s"], PROBE_BUDGET_S))
    err = victim.finish(server) if server.alive() else "the server died"
    if err:
        failures.append(err)
    fig["rss_mb"] = rss_kb(server) // 1024
    if fig["rss_mb"] > rss_mb and SLOW == 1:
        failures.append("server RSS %d MB over the case's bound of %d MB" % (fig["rss_mb"],
                                                                             rss_mb))
    stalls = stalls_logged(server, offset)
    if stalls and name != "stall_expiry":
        failures.append("zkfsd logged %d loop stall(s): %s" % (len(stalls), stalls[0]))
    del fig["log_at"]
    zkt.log("%s %s: %s%s" % (server.kind, name, fig,
                             "" if not failures else " FAILED: " + "; ".join(failures)))
    return failures if server.kind == "zkfsd" else []


def main():
    wanted = sys.argv[1:] or [n for n, _, _ in CASES]
    kinds = os.environ.get("ZKT_HOSTILE_SERVERS", "zkfsd").split()

    def body():
        wd = zkt.workdir("test_hostile")
        failures = []
        for kind in kinds:
            # The test hook `stal` is a four-letter word: listed, as the default list omits it.
            cfg = {"zkfsd.test.stallMs": int(STALL_S * 1000), "zkfsd.maxWatchesPerSession": 100000,
                   "zkfsd.maxWatchBytesPerSession": 8 << 20,
                   "zkfsd.maxOutputBytes": 16 << 20,
                   "4lw.commands.whitelist": "*"} if kind == "zkfsd" else {}
            server = zkt.Server(kind, wd, tick=TICK, cfg=cfg)
            server.start()
            try:
                for name, fn, rss in CASES:
                    if name in wanted and not server.alive() and kind != "zkfsd":
                        server.stop()  # Apache ZooKeeper ran out of heap: a fresh one.
                        server.start()
                    if name in wanted:
                        failures += ["%s: %s" % (name, f) for f in run_case(server, name, fn,
                                                                            rss)]
                if not server.alive():
                    failures.append("%s died" % kind)
            finally:
                rc = server.stop()
                if kind == "zkfsd" and rc:
                    failures.append("zkfsd exited with status %s on SIGTERM" % rc)
                report = server.sanitizer_report()
                if report:
                    failures.append(report)
        if failures:
            raise Fail("; ".join(failures))
    zkt.run_main("test_hostile", body)


if __name__ == "__main__":
    main()
