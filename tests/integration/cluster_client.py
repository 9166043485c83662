"""cluster_client: the kazoo side of the cluster tests (run with /usr/bin/python3 by cluster.sh).

Subcommands (each exits 0 on success, 1 with a message on a failed check):
  load --hosts H --clients K --dir D [--rate R] [--first-host-pinned]
        K kazoo clients, each with its own session and an ephemeral /eph/cI, create
        /load/cI/nSEQ one after the other (at most R per second each) until D/stop exists.
        A write that fails with connection loss is retried on the same path, and NodeExists on
        a retry means the first attempt committed. Each acknowledged write is appended to
        D/acks.I as "SEQ T0 T1" (time.time_ns() before the request and at the answer). D/ready
        appears once every client is connected. On stop, D/summary.json has per client: session
        ids at start and end, acks, connection losses, session expiries, whether its ephemeral
        is still there and owned by its session.
  verify --hosts H --dir D [--allow-expiry]
        Every acknowledged write of D exists (read after sync); no session expired or changed.
  failover --dir D --since NS
        Milliseconds from NS to the first acknowledged write issued at or after NS.
  tree --host H
        "nodes=N sha256=X" of the whole tree seen from H after sync (without /zookeeper):
        path, data, czxid, mzxid, pzxid, version, cversion, ephemeralOwner of every node.
  write --host H --path P [--timeout S]
        One create on H; exit 0 if acknowledged, 3 if not within S seconds (connection loss,
        not serving, timeout).
  probe-session --hosts H --dir D --first HOST
        Helper for the partition test: a client that starts on FIRST (then may move to the others),
        creates /eph/probe, and writes its state to D/probe.json whenever it changes.
  raw-probe --port-old P1 --port-new P2 --dir D
        A raw-protocol session on 127.0.0.1:P1 with an ephemeral and a child watch on /probe that
        moves to P2 with setWatches when P1 stops answering; state in D/raw.json.
  reconfig --host H [--joining SPEC] [--leaving IDS]
        Incremental reconfig as the super user; prints the new /zookeeper/config.
  config --host H
        /zookeeper/config as seen from H (after sync).
  semantics --hosts H1,H2,H3
        Cross-node checks: read-your-writes after sync across nodes, watches firing for writes
        made through another node, sequential numbers, ephemerals, CAS and multi across nodes.
  compat --kind K --host H --raw-port P --out F
        Run the one-node compatibility checks of test_compat.py (kazoo on H, raw protocol on
        127.0.0.1:P, which cluster.sh forwards to the same node) and write the recorded rows to F.
  cclient --kind K --host H --out F
        test_cclient.py's script and watch checks through the C client (zkcheck) connected to
        H; rows to F (status 77 in F when zkcheck is not built).
  compare F1 F2...
        Compare compat rows of each file against the first (Apache ZooKeeper); print differences.
"""

import argparse
import hashlib
import json
import logging
import os
import re
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import zkt  # noqa: E402
from zkt import check  # noqa: E402
from kazoo.client import KazooClient, KazooState  # noqa: E402
from kazoo.exceptions import (BadVersionError, ConnectionLoss, NodeExistsError,  # noqa: E402
                              NoNodeError, SessionExpiredError)

logging.getLogger("kazoo").setLevel(logging.CRITICAL)
SUPER = ("digest", "super:zkt-super")
# /zookeeper/config ends with the zxid of the configuration, which no two servers share.
CONFIG_VERSION = re.compile(r"version=[0-9a-f]+")


def client(hosts, timeout=10.0, randomize=True, auth=None):
    c = KazooClient(hosts=hosts, timeout=timeout, randomize_hosts=randomize,
                    connection_retry={"max_tries": -1, "delay": 0.02, "max_delay": 0.2,
                                      "backoff": 1.5},
                    auth_data=auth)
    c.start(timeout=30)
    return c


# ---- load ----------------------------------------------------------------------------------

class Loader(threading.Thread):
    def __init__(self, idx, args, stop_path):
        super().__init__(daemon=True)
        self.idx = idx
        self.args = args
        self.stop_path = stop_path
        self.acks = 0
        self.losses = 0
        self.expired = 0
        self.expiry_times = []
        self.stopping = False
        self.sid0 = self.sid1 = None
        self.eph_ok = False
        self.error = None
        self.ready = threading.Event()

    def on_state(self, state):
        if state == KazooState.LOST and not self.stopping:
            self.expired += 1
            self.expiry_times.append(time.strftime("%H:%M:%S"))

    def run(self):
        try:
            self._run()
        except Exception as e:  # noqa: B902 - reported in the summary
            self.error = "%s: %s" % (type(e).__name__, e)
            self.ready.set()

    def _run(self):
        a = self.args
        hosts = a.hosts.split(",")
        # Spread the clients: client I starts on host I mod n (kazoo then tries the others).
        k = self.idx % len(hosts)
        c = client(",".join(hosts[k:] + hosts[:k]), timeout=a.session_timeout, randomize=False)
        c.add_listener(self.on_state)
        self.sid0 = c.client_id[0]
        base = "/load/c%d" % self.idx
        self.retry(lambda: c.ensure_path(base))
        eph = "/eph/c%d" % self.idx
        self.retry(lambda: c.ensure_path("/eph"))
        self.retry(lambda: c.create(eph, b"", ephemeral=True), exists_ok=True)
        out = open(os.path.join(a.dir, "acks.%d" % self.idx), "a", buffering=1)
        self.ready.set()
        seq = 0
        period = 1.0 / a.rate if a.rate > 0 else 0.0
        next_t = time.monotonic()
        while not os.path.exists(self.stop_path):
            t0 = time.time_ns()
            if self.retry(lambda: c.create("%s/n%07d" % (base, seq), b"%d" % seq),
                          exists_ok=True, stop=True):
                out.write("%d %d %d\n" % (seq, t0, time.time_ns()))
                self.acks += 1
                seq += 1
            if period:
                next_t += period
                delay = next_t - time.monotonic()
                if delay > 0:
                    time.sleep(delay)  # pacing of the load, not synchronisation
                else:
                    next_t = time.monotonic()
        out.close()
        self.sid1 = c.client_id[0] if c.client_id else None
        st = self.retry(lambda: c.exists(eph), stop=False)
        self.eph_ok = st is not None and st.ephemeralOwner == self.sid1
        self.stopping = True  # kazoo reports LOST when it closes the session itself
        c.stop()
        c.close()

    def retry(self, fn, exists_ok=False, stop=False):
        """fn() until it answers; connection loss is retried. A NodeExists after a retry means
        the lost attempt committed. Returns fn()'s value (True for a create), None if stopped."""
        retried = False
        while True:
            try:
                return fn() or True
            except NodeExistsError:
                if exists_ok or retried:
                    return True
                raise
            except ConnectionLoss:
                self.losses += 1
                retried = True
            except SessionExpiredError:
                retried = True
                time.sleep(0.05)  # kazoo is opening a new session; poll again
            if stop and os.path.exists(self.stop_path):
                return None


def cmd_load(a):
    os.makedirs(a.dir, exist_ok=True)
    stop_path = os.path.join(a.dir, "stop")
    loaders = [Loader(i, a, stop_path) for i in range(a.clients)]
    for ld in loaders:
        ld.start()
    for ld in loaders:
        ld.ready.wait(60)
    errors = [ld.error for ld in loaders if ld.error]
    if not errors:
        open(os.path.join(a.dir, "ready"), "w").close()
    for ld in loaders:
        ld.join()
    summary = {str(ld.idx): {"sid0": ld.sid0, "sid1": ld.sid1, "acks": ld.acks,
                             "losses": ld.losses, "expired": ld.expired,
                             "expiry_times": ld.expiry_times, "eph_ok": ld.eph_ok,
                             "error": ld.error} for ld in loaders}
    with open(os.path.join(a.dir, "summary.json"), "w") as f:
        json.dump(summary, f)
    total = sum(ld.acks for ld in loaders)
    print("load: %d clients, %d acknowledged writes, %d connection losses, %d expiries"
          % (len(loaders), total, sum(ld.losses for ld in loaders),
             sum(ld.expired for ld in loaders)))
    return 1 if any(ld.error for ld in loaders) else 0


def read_acks(d):
    acks = {}
    for name in os.listdir(d):
        if not name.startswith("acks."):
            continue
        rows = []
        with open(os.path.join(d, name)) as f:
            for line in f:
                parts = line.split()
                if len(parts) == 3:
                    rows.append(tuple(int(x) for x in parts))
        acks[int(name.split(".")[1])] = rows
    return acks


def cmd_verify(a):
    with open(os.path.join(a.dir, "summary.json")) as f:
        summary = json.load(f)
    problems = []
    for idx, s in sorted(summary.items()):
        if s["error"]:
            problems.append("client %s: %s" % (idx, s["error"]))
        if not a.allow_expiry:
            if s["expired"]:
                problems.append("client %s: session %x expired %d time(s) at %s"
                                % (idx, s["sid0"], s["expired"], " ".join(s["expiry_times"])))
            if s["sid0"] != s["sid1"]:
                problems.append("client %s: session changed %x -> %s"
                                % (idx, s["sid0"], s["sid1"]))
            if not s["eph_ok"]:
                problems.append("client %s: its ephemeral /eph/c%s is gone or not its own"
                                % (idx, idx))
    c = client(a.hosts)
    try:
        c.sync("/")
        total = missing = extra = 0
        for idx, rows in sorted(read_acks(a.dir).items()):
            base = "/load/c%d" % idx
            present = set(c.get_children(base)) if c.exists(base) else set()
            acked = {"n%07d" % seq for seq, _, _ in rows}
            lost = sorted(acked - present)
            total += len(acked)
            missing += len(lost)
            extra += len(present - acked)
            if lost:
                problems.append("client %d: %d acknowledged writes missing, first %s/%s"
                                % (idx, len(lost), base, lost[0]))
    finally:
        c.stop()
        c.close()
    losses = sum(s["losses"] for s in summary.values())
    print("verify: %d acknowledged writes, %d missing, %d committed without an answer "
          "(connection loss), %d connection-loss retries, sessions %s"
          % (total, missing, extra, losses,
             "kept" if not any("session" in p for p in problems) else "NOT kept"))
    for p in problems:
        print("verify: " + p)
    return 1 if problems else 0


def cmd_failover(a):
    first = None
    for rows in read_acks(a.dir).values():
        for _, t0, t1 in rows:
            if t0 >= a.since and (first is None or t1 < first):
                first = t1
    if first is None:
        print("none")
        return 1
    print("%.0f" % ((first - a.since) / 1e6))
    return 0


# ---- tree, single writes, config ------------------------------------------------------------

def walk(c, root="/"):
    """Every path under root but /zookeeper, breadth first with pipelined async reads."""
    paths, level = [], [root]
    while level:
        futs = [(p, c.get_children_async(p)) for p in level]
        level = []
        for p, f in futs:
            for name in f.get(timeout=30):
                child = (p.rstrip("/") + "/" + name)
                if child != "/zookeeper":
                    level.append(child)
                    paths.append(child)
    return sorted(paths)


def cmd_tree(a):
    c = client(a.host, randomize=False)
    try:
        c.sync("/")
        paths = walk(c)
        h = hashlib.sha256()
        futs = [(p, c.get_async(p)) for p in paths]
        for p, f in futs:
            data, st = f.get(timeout=30)
            h.update(repr((p, data, st.czxid, st.mzxid, st.pzxid, st.version, st.cversion,
                           st.ephemeralOwner)).encode())
        print("nodes=%d sha256=%s" % (len(paths), h.hexdigest()[:16]))
    finally:
        c.stop()
        c.close()
    return 0


def cmd_write(a):
    c = KazooClient(hosts=a.host, timeout=a.timeout * 2,
                    connection_retry={"max_tries": -1, "delay": 0.05, "max_delay": 0.2})
    try:
        c.start(timeout=a.timeout)
    except Exception as e:  # noqa: B902 - not reaching the server is the expected outcome
        print("write: no session on %s: %s" % (a.host, type(e).__name__))
        c.close()
        return 3
    try:
        c.create_async(a.path, b"x").get(timeout=a.timeout)
        print("write: %s acknowledged by %s" % (a.path, a.host))
        return 0
    except Exception as e:  # noqa: B902 - every error means "not accepted"
        print("write: %s not accepted by %s: %s" % (a.path, a.host, type(e).__name__))
        return 3
    finally:
        c.stop()
        c.close()


def cmd_exists(a):
    c = client(a.host, randomize=False)
    try:
        c.sync("/")
        return 0 if c.exists(a.path) else 1
    finally:
        c.stop()
        c.close()


def cmd_probe_session(a):
    """A session that must survive a partition: starts on --first, moves to the others."""
    hosts = [a.first] + [h for h in a.hosts.split(",") if h != a.first]
    state = {"lost": 0, "events": []}
    out = os.path.join(a.dir, "probe.json")

    def dump(extra=None):
        d = dict(state)
        d.update(extra or {})
        tmp = out + ".tmp"
        with open(tmp, "w") as f:
            json.dump(d, f)
        os.rename(tmp, out)

    c = client(",".join(hosts), timeout=a.session_timeout, randomize=False)

    def listener(s):
        if s == KazooState.LOST:
            state["lost"] += 1

    c.add_listener(listener)
    c.ensure_path("/eph")
    c.create("/eph/probe", b"", ephemeral=True)
    c.ensure_path("/probe")
    def child_watch(ev):
        # A session event (type NONE, no path) reaches every watch; the watch stays set.
        if ev.path is not None:
            state["events"].append(ev.path)

    c.get_children("/probe", watch=child_watch)
    state["sid0"] = c.client_id[0]
    stop = os.path.join(a.dir, "probe.stop")
    while not os.path.exists(stop):
        host = "%s:%d" % c._connection._socket.getpeername() if (
            c.connected and c._connection._socket) else ""
        dump({"connected": c.connected, "host": host})
        time.sleep(0.1)  # reporting period, not synchronisation
    st = c.retry(c.exists, "/eph/probe")
    sid1 = c.client_id[0]
    dump({"connected": c.connected, "sid1": sid1,
          "eph_ok": st is not None and st.ephemeralOwner == sid1})
    c.stop()
    c.close()
    return 0


def reconnect(port, sid, passwd, last):
    """A RawClient resuming session sid on port, or None while the server refuses it."""
    try:
        return zkt.RawClient(port, timeout_ms=10000, session_id=sid, passwd=passwd,
                             last_zxid=last, sock_timeout=5.0)
    except (zkt.Closed, zkt.Fail, OSError):
        return None


def cmd_raw_probe(a):
    """A raw-protocol session that moves itself, the way ZooKeeper's own clients do: on
    127.0.0.1:--port-old (forwarded to one node) with an ephemeral and a child watch on /probe;
    when that connection closes or stops answering pings it reconnects through --port-new with
    the same session id and password and re-registers the watch with setWatches."""
    out = os.path.join(a.dir, "raw.json")
    stop = os.path.join(a.dir, "raw.stop")
    c = zkt.RawClient(a.port_old, timeout_ms=10000, sock_timeout=2.0)
    sid, passwd = c.session_id, c.passwd
    c.create("/eph", b"")
    check(c.create("/eph/raw", b"", "ephemeral")[0] == "OK", "raw ephemeral not created")
    check(c.children("/probe", watch=True)[0] == "OK", "raw child watch not set")
    state = {"sid": sid, "moved": False, "new_sid": None, "events": [], "eph_ok": None}
    seen = []
    while not os.path.exists(stop):
        try:
            c.ping()
        except (zkt.Closed, zkt.Fail, OSError):
            check(not state["moved"], "the raw client lost its second server too")
            seen += c.events
            last = c.last_zxid
            c.close()
            c = zkt.wait_for(lambda: reconnect(a.port_new, sid, passwd, last), 30,
                         "a server to take the raw session back")
            state["moved"], state["new_sid"] = True, c.session_id
            if c.session_id == sid:
                c.set_watches(last, child=["/probe"])
        state["events"] = [list(e) for e in seen + c.events]
        with open(out + ".tmp", "w") as f:
            json.dump(state, f)
        os.rename(out + ".tmp", out)
        time.sleep(0.3)  # ping period of the probe, not synchronisation
    err, st = c.exists("/eph/raw")
    state["eph_ok"] = err == "OK" and st["ephemeralOwner"] == sid
    with open(out, "w") as f:
        json.dump(state, f)
    c.close()
    return 0


def cmd_reconfig(a):
    c = client(a.host, randomize=False, auth=[SUPER])
    try:
        data, _ = c.reconfig_async(joining=a.joining, leaving=a.leaving,
                                   new_members=None, from_config=-1).get(timeout=30)
        print(data.decode())
    finally:
        c.stop()
        c.close()
    return 0


def cmd_config(a):
    c = client(a.host, randomize=False)
    try:
        c.sync("/zookeeper/config")
        print(c.get("/zookeeper/config")[0].decode())
    finally:
        c.stop()
        c.close()
    return 0


# ---- cross-node semantics --------------------------------------------------------------------

def cmd_semantics(a):
    hosts = a.hosts.split(",")
    check(len(hosts) >= 3, "semantics needs three hosts")
    c1, c2, c3 = (client(h, randomize=False) for h in hosts[:3])
    try:
        semantics(c1, c2, c3, hosts)
    finally:
        for c in (c1, c2, c3):
            c.stop()
            c.close()
    print("semantics: all cross-node checks passed")
    return 0


def semantics(c1, c2, c3, hosts):
    c1.create("/sem", b"")
    # Read-your-writes across servers after sync.
    c1.create("/sem/a", b"one")
    c3.sync("/sem/a")
    check(c3.get("/sem/a")[0] == b"one", "node 3 does not see node 1's write after sync")
    # A watch set through node 2 fires for a write made through node 3, exactly once.
    events = []
    c2.get("/sem/a", watch=lambda ev: events.append((ev.type, ev.path)))
    c2.get_children("/sem", watch=lambda ev: events.append((ev.type, ev.path)))
    c3.set("/sem/a", b"two")
    c1.create("/sem/b", b"")
    zkt.wait_for(lambda: len(events) >= 2, 10, "watch events on node 2 (got %r)" % events)
    c2.sync("/sem")
    check(sorted(events) == [("CHANGED", "/sem/a"), ("CHILD", "/sem")],
          "node 2's watch events: %r" % events)
    # Sequential numbers from three servers at once: distinct, contiguous, same list everywhere.
    c1.create("/sem/q", b"")
    made = []
    lock = threading.Lock()

    def seq_writer(c):
        for _ in range(10):
            p = c.create("/sem/q/s-", b"", sequence=True)
            with lock:
                made.append(p)

    ts = [threading.Thread(target=seq_writer, args=(c,)) for c in (c1, c2, c3)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(60)
    check(len(made) == 30, "only %d of 30 sequential creates returned" % len(made))
    nums = sorted(int(p.rsplit("-", 1)[1]) for p in made)
    check(nums == list(range(30)), "sequence numbers are not 0..29: %r" % nums)
    views = []
    for c in (c1, c2, c3):
        c.sync("/sem/q")
        views.append(sorted(c.get_children("/sem/q")))
    check(views[0] == views[1] == views[2] == sorted(p.rsplit("/", 1)[1] for p in made),
          "the servers list different children of /sem/q")
    # An ephemeral made through node 3 is owned by its session on node 1; gone once it closes.
    c4 = client(hosts[2], randomize=False)
    c4.create("/sem/e", b"", ephemeral=True)
    sid4 = c4.client_id[0]
    c1.sync("/sem/e")
    st = c1.exists("/sem/e")
    check(st is not None and st.ephemeralOwner == sid4,
          "node 1 sees the ephemeral of %x as %r" % (sid4, st))
    c4.stop()
    c4.close()
    c1.sync("/sem/e")
    check(c1.exists("/sem/e") is None, "ephemeral still on node 1 after its session closed")
    # Compare-and-set across servers: the second writer with the same version loses.
    v = c1.get("/sem/a")[1].version
    c1.set("/sem/a", b"three", version=v)
    c3.sync("/sem/a")
    try:
        c3.set("/sem/a", b"four", version=v)
        raise zkt.Fail("a stale version was accepted through node 3")
    except BadVersionError:
        pass
    # A multi through node 2 is all-or-nothing everywhere.
    t = c2.transaction()
    t.create("/sem/m1", b"")
    t.create("/sem/m2", b"")
    t.check("/sem/a", 0)
    res = t.commit()
    check(any(isinstance(r, BadVersionError) for r in res), "multi result %r" % res)
    c1.sync("/sem")
    check(c1.exists("/sem/m1") is None, "a failed multi left /sem/m1 on node 1")
    t = c2.transaction()
    t.create("/sem/m1", b"")
    t.delete("/sem/b")
    check(t.commit() == ["/sem/m1", True], "multi through node 2 failed")
    c3.sync("/sem")
    check(c3.exists("/sem/m1") is not None and c3.exists("/sem/b") is None,
          "node 3 does not see the multi made through node 2")
    try:
        c3.get("/sem/b")
        raise zkt.Fail("deleted node readable on node 3")
    except NoNodeError:
        pass


# ---- the one-node compatibility suite against a cluster node ---------------------------------

class NodeAdapter:
    """What test_compat's checks use of a zkt.Server: kazoo hosts and a raw 127.0.0.1 port."""

    def __init__(self, kind, host, raw_port):
        self.kind = kind
        self.host = host
        self.port = raw_port

    def hosts(self):
        return self.host


def cmd_compat(a):
    import test_compat
    rows = []
    node = NodeAdapter(a.kind, a.host, a.raw_port)
    status = 0
    try:
        for fn in (test_compat.kazoo_checks, test_compat.raw_checks, test_compat.raw_sessions):
            fn(node, lambda label, value: rows.append((label, repr(value))))
    except (zkt.Fail, AssertionError) as e:
        print("compat: FAIL: %s" % e)
        status = 1
    with open(a.out, "w") as f:
        json.dump({"rows": rows, "status": status}, f)
    print("compat: %d results recorded" % len(rows))
    return status


def cmd_cclient(a):
    """test_cclient.py's script and watch checks through the C client (zkcheck) on one node."""
    import test_cclient
    rows = []

    def rec(label, value):
        rows.append((label, repr(value)))

    try:
        zc = test_cclient.ZkCheck()
    except zkt.Skip as e:
        print("cclient: FAIL: %s" % e)  # zkcheck is built by make check: not a reason to skip
        return 1
    status = 0
    try:
        line = zc.send("connect %s 20000" % a.host)
        check(line.startswith("connect OK"), "C client could not connect: %s" % line)
        zc.script(test_cclient.BASIC, rec, "basic")
        test_cclient.watches(NodeAdapter(a.kind, a.host, 0), zc, rec)
        rec("close", zc.send("close"))
    except zkt.Fail as e:
        print("cclient: FAIL: %s" % e)
        status = 1
    finally:
        rc = zc.quit()
    if rc != 0:
        print("cclient: zkcheck exited with status %s" % rc)
        status = 1
    with open(a.out, "w") as f:
        json.dump({"rows": rows, "status": status}, f)
    print("cclient: %d results recorded" % len(rows))
    return status


# The files whose content the stored Apache ZooKeeper results of test_cluster_semantics
# depend on (zkt.reference_key).
SEMANTICS_FILES = [os.path.join(zkt.HERE, f) for f in (
    "test_cluster_semantics.sh", "cluster_client.py", "test_compat.py", "test_cclient.py")]


def cmd_compare(a):
    """Compare result files with Apache ZooKeeper's: the first file (live), or with --reference
    NAME the stored results (zkt.load_reference); --save NAME stores the first file's rows."""
    results = {}
    names = ["apache"] if a.reference is None else []
    for i, path in enumerate(a.files):
        with open(path) as f:
            name = names[i] if i < len(names) else os.path.basename(path)
            results[name] = [(label, CONFIG_VERSION.sub("version=X", value))
                             for label, value in json.load(f)["rows"]]
    if a.save:
        zkt.save_reference(a.save, SEMANTICS_FILES, results["apache"])
    if a.reference is not None:
        results["apache"] = zkt.load_reference(a.reference, SEMANTICS_FILES)
    diffs = zkt.compare_results(results)
    for d in diffs:
        print("DIFF " + d)
    print("compare: %d differences from Apache ZooKeeper" % len(diffs))
    return 1 if diffs else 0


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("load")
    s.add_argument("--hosts", required=True)
    s.add_argument("--clients", type=int, default=3)
    s.add_argument("--dir", required=True)
    s.add_argument("--rate", type=float, default=0)
    s.add_argument("--session-timeout", type=float, default=10.0)
    s = sub.add_parser("verify")
    s.add_argument("--hosts", required=True)
    s.add_argument("--dir", required=True)
    s.add_argument("--allow-expiry", action="store_true")
    s = sub.add_parser("failover")
    s.add_argument("--dir", required=True)
    s.add_argument("--since", type=int, required=True)
    for name in ("tree", "config"):
        s = sub.add_parser(name)
        s.add_argument("--host", required=True)
    s = sub.add_parser("write")
    s.add_argument("--host", required=True)
    s.add_argument("--path", required=True)
    s.add_argument("--timeout", type=float, default=3.0)
    s = sub.add_parser("exists")
    s.add_argument("--host", required=True)
    s.add_argument("--path", required=True)
    s = sub.add_parser("probe-session")
    s.add_argument("--hosts", required=True)
    s.add_argument("--first", required=True)
    s.add_argument("--dir", required=True)
    s.add_argument("--session-timeout", type=float, default=10.0)
    s = sub.add_parser("raw-probe")
    s.add_argument("--port-old", type=int, required=True)
    s.add_argument("--port-new", type=int, required=True)
    s.add_argument("--dir", required=True)
    s = sub.add_parser("reconfig")
    s.add_argument("--host", required=True)
    s.add_argument("--joining")
    s.add_argument("--leaving")
    s = sub.add_parser("semantics")
    s.add_argument("--hosts", required=True)
    s = sub.add_parser("compat")
    s.add_argument("--host", required=True)
    s.add_argument("--raw-port", type=int, required=True)
    s.add_argument("--kind", required=True)
    s.add_argument("--out", required=True)
    s = sub.add_parser("cclient")
    s.add_argument("--host", required=True)
    s.add_argument("--kind", required=True)
    s.add_argument("--out", required=True)
    s = sub.add_parser("compare")
    s.add_argument("--reference")
    s.add_argument("--save")
    s.add_argument("files", nargs="+")
    a = p.parse_args()
    try:
        return globals()["cmd_" + a.cmd.replace("-", "_")](a)
    except zkt.Fail as e:
        print("%s: FAIL: %s" % (a.cmd, e))
        return 1


if __name__ == "__main__":
    sys.exit(main())
