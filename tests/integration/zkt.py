"""zkt: the Python twin of lib.sh for the integration tests (run with /usr/bin/python3).

What it gives a test:
  - Server(kind, workdir): zkfsd ($top_builddir/zkfsd/zkfsd) or Apache ZooKeeper 3.8 (Debian
    `zookeeper`) on a free port of this suite's ranges, data and log in a temp dir; start, stop
    (any signal), pause/resume, restart on the same data dir; every server is killed at exit.
  - RawClient: a minimal ZooKeeper wire-protocol client (jute records of zookeeper.jute) that
    sends exactly the bytes a test wants and reports what comes back, in arrival order, so a
    test can see error codes, closed connections and event-before-reply ordering, and can use
    the operations kazoo 2.8 lacks (getEphemerals, getAllChildrenNumber, multiRead, addWatch,
    removeWatches, checkWatches, whoAmI, setWatches2, TTL and container creates).
  - Proxy: a TCP relay a test can cut and resume, so a client loses its connection while its
    session lives.
  - run_kinds(name, check): runs check(server) on each kind of $ZKT_SERVERS, skips zkfsd if it
    is not built, prints which kinds ran and every difference from Apache ZooKeeper; exit code
    0 pass, 77 skip, 1 fail (the server logs are printed on failure).
  - wait_for(pred, seconds): deadline polls (never sleep as synchronisation).

Conventions shared with lib.sh: env top_builddir / top_srcdir, ZKT_SERVERS ("zkfsd apache"),
ZKT_KEEP=1 keeps the temp dir.  Ports: 21810-21849 and 21890-21899. Under tests/run-one
($ZKT_NETNS) each test has its own network namespace, so a free port is enough; outside one,
each port is also taken with a lock file so tests running in parallel never collide.
"""

import ast
import atexit
import fcntl
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import traceback

SKIP = 77
HERE = os.path.dirname(os.path.abspath(__file__))
TOP_SRCDIR = os.environ.get("top_srcdir") or os.path.abspath(os.path.join(HERE, "..", ".."))
TOP_BUILDDIR = os.environ.get("top_builddir") or os.path.join(TOP_SRCDIR, "build")
ZKFSD = os.environ.get("ZKFSD") or os.path.join(TOP_BUILDDIR, "zkfsd", "zkfsd")
APACHE_JAR = "/usr/share/java/zookeeper.jar"
# Without a binding SLF4J drops Apache ZooKeeper's log; these give it log4j on stdout.
APACHE_LOG_JARS = "/usr/share/java/slf4j-log4j12.jar:/usr/share/java/log4j-1.2.jar"
PORTS = list(range(21810, 21850)) + list(range(21890, 21900))
LOCK_DIR = os.path.join(tempfile.gettempdir(), "zkt-port-locks")

SANITIZER = re.compile(r"(ERROR: (Address|Leak|Thread|Memory)Sanitizer.*|.*runtime error:.*|"
                       r".*double free.*|.*Segmentation fault.*)")

_servers = []
_port_locks = []
_ports_taken = set()


class Skip(Exception):
    """Raised to end a test with exit code 77."""


class Fail(Exception):
    """Raised when an assertion of a test fails."""


def log(*args):
    print("zkt:", *args, file=sys.stderr, flush=True)


def kinds():
    """The server kinds to run against, in $ZKT_SERVERS order (Apache first if both)."""
    ks = os.environ.get("ZKT_SERVERS", "zkfsd apache").split()
    return sorted(ks, key=lambda k: 0 if k == "apache" else 1)


def zkfsd_built():
    return os.access(ZKFSD, os.X_OK)


def unavailable(kind):
    """Why a server kind cannot run here, or None."""
    if kind == "zkfsd" and not zkfsd_built():
        return "zkfsd not built at %s" % ZKFSD
    if kind == "apache" and not (os.path.exists(APACHE_JAR) and shutil.which("java")):
        return "Debian zookeeper (or java) not installed"
    return None


def wait_for(pred, seconds, what="condition", interval=0.05):
    """Poll pred() until it returns a true value (returned) or the deadline passes (Fail)."""
    deadline = time.monotonic() + seconds
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() >= deadline:
            raise Fail("timed out after %.1fs waiting for %s" % (seconds, what))
        time.sleep(interval)


def check(cond, msg):
    if not cond:
        raise Fail(msg)


def port_free(port):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def alloc_port():
    """A port of this suite's ranges, locked for the life of this process."""
    start = (os.getpid() * 7) % len(PORTS)
    if os.environ.get("ZKT_NETNS"):
        for i in range(len(PORTS)):
            port = PORTS[(start + i) % len(PORTS)]
            if port not in _ports_taken and port_free(port):
                _ports_taken.add(port)
                return port
        raise Skip("no free port in %d-%d" % (PORTS[0], PORTS[-1]))
    os.makedirs(LOCK_DIR, exist_ok=True)
    for i in range(len(PORTS)):
        port = PORTS[(start + i) % len(PORTS)]
        fd = os.open(os.path.join(LOCK_DIR, str(port)), os.O_CREAT | os.O_RDWR, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            continue
        if port_free(port):
            _port_locks.append(fd)
            return port
        os.close(fd)
    raise Skip("no free port in 21810-21849/21890-21899")


def four_lw(port, word, timeout=5.0):
    """The answer to a four-letter word, or '' if the connection failed."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.sendall(word.encode())
            chunks = []
            while True:
                b = s.recv(65536)
                if not b:
                    break
                chunks.append(b)
            return b"".join(chunks).decode(errors="replace")
    except OSError:
        return ""


class Server:
    """One zkfsd or Apache ZooKeeper process on its own port and data dir under workdir."""

    def __init__(self, kind, workdir, tick=2000, cfg=None, args=()):
        if kind == "zkfsd" and not zkfsd_built():
            raise Skip("zkfsd not built at %s" % ZKFSD)
        if kind == "apache" and not os.path.exists(APACHE_JAR):
            raise Skip("Debian zookeeper not installed")
        if kind not in ("zkfsd", "apache"):
            raise Fail("unknown server kind %s" % kind)
        self.kind = kind
        self.port = alloc_port()
        self.dir = os.path.join(workdir, "%s-%d" % (kind, self.port))
        self.data = os.path.join(self.dir, "data")
        self.logfile = os.path.join(self.dir, "server.log")
        self.tick = tick
        self.cfg = dict(cfg or {})
        self.args = list(args)
        self.proc = None
        os.makedirs(self.data, exist_ok=True)
        _servers.append(self)

    def _write_cfg(self):
        path = os.path.join(self.dir, "zoo.cfg")
        lines = ["tickTime=%d" % self.tick, "dataDir=%s" % self.data,
                 "clientPort=%d" % self.port, "clientPortAddress=127.0.0.1"]
        if self.kind == "apache":
            lines += ["admin.enableServer=false", "4lw.commands.whitelist=*",
                      "extendedTypesEnabled=true"]
        else:
            # The same reaping period as Apache ZooKeeper's below (zkfsd's default is 5 s).
            lines += ["znode.container.checkIntervalMs=500"]
        lines += ["%s=%s" % kv for kv in self.cfg.items()]
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
        return path

    def command(self):
        cfg = self._write_cfg()
        if self.kind == "zkfsd":
            return [ZKFSD, "-c", cfg, "--port", str(self.port), "--address", "127.0.0.1",
                    "--data-dir", self.data] + self.args
        # Containers and TTL nodes are reaped by the container manager; its default period of
        # a minute would make the reaping tests slow, so Apache checks every 500 ms here.
        return ["java", "-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
                "-Dzookeeper.log.dir=" + self.dir, "-Dzookeeper.root.logger=INFO,CONSOLE",
                "-Dznode.container.checkIntervalMs=500", "-Dznode.container.maxPerMinute=100000",
                "-cp", "/etc/zookeeper/conf:%s:%s" % (APACHE_JAR, APACHE_LOG_JARS),
                "org.apache.zookeeper.server.quorum.QuorumPeerMain", cfg]

    def start(self, wait=True, seconds=40):
        out = open(self.logfile, "ab")
        out.write(("==== zkt: start %s on port %d at %s\n"
                   % (self.kind, self.port, time.strftime("%H:%M:%S"))).encode())
        out.flush()
        self.proc = subprocess.Popen(self.command(), stdout=out, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True)
        out.close()
        if wait:
            self.wait_ready(seconds)
        return self

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def ready(self):
        if not self.alive():
            return False
        if four_lw(self.port, "ruok", 2) != "imok":
            return False
        return "not currently serving" not in four_lw(self.port, "srvr", 2)

    def wait_ready(self, seconds=40):
        def up():
            if self.proc.poll() is not None:
                raise Fail("%s exited with status %s while starting" % (self.kind,
                                                                         self.proc.returncode))
            return self.ready()
        wait_for(up, seconds, "%s on port %d to serve" % (self.kind, self.port))

    def stop(self, sig=signal.SIGTERM, seconds=20):
        """Send sig and wait for the exit; returns the exit status (negative: signal). A zkfsd
        that does not exit 0 on SIGTERM/SIGINT (a crash, a sanitizer's leak report) fails."""
        if self.proc is None:
            return None
        running = self.proc.poll() is None
        if running:
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(seconds)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
                raise Fail("%s did not exit within %ds of signal %d" % (self.kind, seconds, sig))
        rc = self.proc.returncode
        self.proc = None
        if self.kind == "zkfsd" and sig in (signal.SIGTERM, signal.SIGINT) and rc != 0:
            raise Fail("zkfsd on port %d exited with status %s %s signal %d"
                       % (self.port, rc, "on" if running else "before", sig))
        return rc

    def kill(self):
        return self.stop(signal.SIGKILL)

    def pause(self):
        os.killpg(self.proc.pid, signal.SIGSTOP)

    def resume(self):
        os.killpg(self.proc.pid, signal.SIGCONT)

    def restart(self, sig=signal.SIGTERM):
        self.stop(sig)
        return self.start()

    def log_text(self):
        try:
            with open(self.logfile, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def log_size(self):
        try:
            return os.path.getsize(self.logfile)
        except OSError:
            return 0

    def log_since(self, offset):
        with open(self.logfile, "rb") as f:
            f.seek(offset)
            return f.read().decode(errors="replace")

    def sanitizer_report(self):
        """The first line of a sanitizer or crash report in the log, or None."""
        m = SANITIZER.search(self.log_text())
        return m.group(0) if m else None

    def print_log(self, lines=60):
        text = self.log_text().splitlines()
        print("---- %s (%s, last %d lines)" % (self.logfile, self.kind, lines), file=sys.stderr)
        for line in text[-lines:]:
            print(line, file=sys.stderr)

    def hosts(self):
        return "127.0.0.1:%d" % self.port


def servers():
    """Every Server this process created."""
    return list(_servers)


def sanitizer_reports():
    """(server dir, first report line) for every server of this run whose log has a sanitizer
    or crash report."""
    return [(s.dir, r) for s in _servers for r in [s.sanitizer_report()] if r]


def _cleanup():
    """Servers still running at exit get SIGTERM (resumed if paused) and up to 5 s before
    SIGKILL: a clean exit runs the sanitizers' leak check and writes gcov's counts."""
    running = [s for s in _servers if s.proc is not None and s.proc.poll() is None]
    for s in running:
        for sig in (signal.SIGCONT, signal.SIGTERM):
            try:
                os.killpg(s.proc.pid, sig)
            except ProcessLookupError:
                pass
    deadline = time.monotonic() + 5
    for s in running:
        try:
            s.proc.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            try:
                os.killpg(s.proc.pid, signal.SIGKILL)
                s.proc.wait(10)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                pass


atexit.register(_cleanup)


def _on_signal(signum, frame):
    _cleanup()
    sys.exit(128 + signum)


signal.signal(signal.SIGTERM, _on_signal)
signal.signal(signal.SIGHUP, _on_signal)


def workdir(name):
    """A temp dir removed at exit (after every server is killed) unless $ZKT_KEEP is set."""
    d = tempfile.mkdtemp(prefix="zkt-%s." % name)
    if not os.environ.get("ZKT_KEEP"):
        def remove():
            _cleanup()
            shutil.rmtree(d, True)
        atexit.register(remove)
    return d


def kazoo_client(server, timeout=10.0, **kw):
    """A started KazooClient on server (kazoo is Debian's python3-kazoo)."""
    try:
        from kazoo.client import KazooClient
    except ImportError:
        raise Skip("kazoo not importable by %s" % sys.executable)
    import logging
    logging.getLogger("kazoo").setLevel(logging.CRITICAL)
    c = KazooClient(hosts=server.hosts(), timeout=timeout,
                    connection_retry={"max_tries": -1, "delay": 0.05, "max_delay": 0.5}, **kw)
    c.start(timeout=20)
    return c


def run_main(name, body):
    """Run body(); map Skip/Fail/exceptions to exit codes, printing server logs on failure."""
    try:
        body()
    except Skip as e:
        log("%s: SKIP: %s" % (name, e))
        sys.exit(SKIP)
    except BaseException as e:  # noqa: B902 - every failure must print the logs
        if isinstance(e, SystemExit):
            raise
        traceback.print_exc()
        log("%s: FAIL: %s" % (name, e))
        for s in _servers:
            s.print_log()
        sys.exit(1)
    log("%s: PASS" % name)
    sys.exit(0)


def describe_diff(got, ref):
    """A readable difference: for two lists only the items that differ (as multisets)."""
    if isinstance(got, list) and isinstance(ref, list) and len(repr(ref)) > 300:
        g, r = list(got), list(ref)
        only_ref = [x for x in r if x not in g or g.remove(x)]
        g, r = list(got), list(ref)
        only_got = [x for x in g if x not in r or r.remove(x)]
        return "only apache: %r; only here: %r" % (only_ref, only_got)
    return "%r (apache: %r)" % (got, ref)


def compare_results(results):
    """results: {kind: [(label, value), ...]}; returns the list of differences from apache."""
    diffs = []
    if "apache" not in results:
        return diffs
    ref = dict(results["apache"])
    ref_order = [k for k, _ in results["apache"]]
    for kind, rows in results.items():
        if kind == "apache":
            continue
        got = dict(rows)
        for label in ref_order:
            if label not in got:
                diffs.append("%s: %s: missing (apache: %r)" % (kind, label, ref[label]))
            elif got[label] != ref[label]:
                diffs.append("%s: %s: %s" % (kind, label, describe_diff(got[label], ref[label])))
        for label, _ in rows:
            if label not in ref:
                diffs.append("%s: %s: extra result %r" % (kind, label, got[label]))
    return diffs


# ---------------------------------------------------------------------------------------------
# Stored Apache ZooKeeper results: a pass without Apache ZooKeeper (ZKT_SERVERS=zkfsd) compares
# zkfsd with what Apache ZooKeeper answered to the same test. reference/NAME.json holds those
# rows with a key: a hash of the test's files and the Debian zookeeper version. A reference of
# another key is stale: reported, and the test fails until tests/integration/refresh-reference
# (which runs the live comparison with ZKT_REFRESH_REFERENCE=1) rewrites it.

REFERENCE_DIR = os.path.join(HERE, "reference")


def zookeeper_version():
    """The installed Debian zookeeper package's version, or 'none'."""
    try:
        out = subprocess.run(["dpkg-query", "-W", "-f=${Version}", "zookeeper"],
                             capture_output=True, text=True).stdout.strip()
    except OSError:
        out = ""
    return out or "none"


def reference_key(files):
    h = hashlib.sha256()
    for path in files:
        h.update(os.path.basename(path).encode() + b"\0")
        with open(path, "rb") as f:
            h.update(f.read())
    return h.hexdigest()[:16]


def save_reference(name, files, rows):
    """Store Apache ZooKeeper's rows for NAME; every value must read back equal (a literal)."""
    for label, value in rows:
        try:
            same = ast.literal_eval(repr(value)) == value
        except (ValueError, SyntaxError):
            same = False
        check(same, "%s: %r cannot be stored as a literal" % (label, value))
    data = {"test": name, "files": [os.path.basename(f) for f in files],
            "key": reference_key(files), "zookeeper": zookeeper_version(),
            "rows": [[label, repr(value)] for label, value in rows]}
    os.makedirs(REFERENCE_DIR, exist_ok=True)
    path = os.path.join(REFERENCE_DIR, name + ".json")
    rows = data.pop("rows")
    with open(path, "w") as f:  # One row a line, so a refresh shows as a readable diff.
        f.write(json.dumps(data)[:-1] + ', "rows": [\n')
        f.write(",\n".join(json.dumps(r) for r in rows) + "\n]}\n")
    log("%s: stored %d Apache ZooKeeper results in %s" % (name, len(rows), path))


def load_reference(name, files):
    """The stored Apache ZooKeeper rows of NAME; Fail if there are none or they are stale."""
    path = os.path.join(REFERENCE_DIR, name + ".json")
    fix = "run tests/integration/refresh-reference"
    if not os.path.exists(path):
        raise Fail("no stored Apache ZooKeeper results %s (%s)" % (path, fix))
    with open(path) as f:
        data = json.load(f)
    stale = []
    if data["key"] != reference_key(files):
        stale.append("%s changed since it was made" % ", ".join(data["files"]))
    if data["zookeeper"] != zookeeper_version():
        stale.append("made with zookeeper %s, installed: %s"
                     % (data["zookeeper"], zookeeper_version()))
    if stale:
        raise Fail("stale reference %s: %s (%s)" % (path, "; ".join(stale), fix))
    log("%s: comparing with the stored Apache ZooKeeper %s results (%s)"
        % (name, data["zookeeper"], path))
    return [(label, ast.literal_eval(value)) for label, value in data["rows"]]


def reference_rows(name, files, results, failed):
    """Make results comparable: without a live Apache ZooKeeper, its stored rows take its place;
    with one and $ZKT_REFRESH_REFERENCE, its rows are stored (unless its own run failed)."""
    if "apache" in results:
        if os.environ.get("ZKT_REFRESH_REFERENCE") and not failed:
            save_reference(name, files, results["apache"])
        return
    if results:
        results["apache"] = load_reference(name, files)


def real_differences(diffs, known_gaps):
    """The differences (of compare_results) not under a label prefix of known_gaps ({prefix:
    reason}); each is logged, as DIFF or KNOWN GAP."""
    real = []
    for d in diffs:
        label = d.split(": ", 2)[1]
        gap = [r for p, r in known_gaps.items() if label.startswith(p)]
        if gap:
            log("KNOWN GAP (%s): %s" % (gap[0], d))
        else:
            real.append(d)
            log("DIFF " + d)
    return real


def run_kinds(name, check_fn, tick=2000, cfg=None, known_gaps=None):
    """Run check_fn(server, rec) against every kind of $ZKT_SERVERS and compare.

    check_fn records comparable results with rec(label, value) and may raise Fail for an
    absolute requirement.  Apache ZooKeeper is the reference: any difference fails the test,
    except under a label prefix of known_gaps ({prefix: reason}, a gap an issue defers on
    purpose): those are printed as KNOWN GAP and do not fail.
    """
    known_gaps = known_gaps or {}
    def body():
        wd = workdir(name)
        results, ran, skipped = {}, [], []
        failures = []
        for kind in kinds():
            if unavailable(kind):
                skipped.append("%s (%s)" % (kind, unavailable(kind)))
                continue
            rows = []
            server = Server(kind, wd, tick=tick, cfg=cfg)
            t0 = time.monotonic()
            try:
                server.start()
                check_fn(server, lambda label, value: rows.append((label, value)))
            except Skip:
                raise
            except Exception as e:  # noqa: B902 - report the kind and continue
                traceback.print_exc()
                failures.append("%s: %r" % (kind, e))
                server.print_log()
            finally:
                try:
                    server.stop()
                except Fail as e:
                    failures.append("%s: %s" % (kind, e))
                report = server.sanitizer_report()
                if report:
                    failures.append("%s: %s" % (kind, report))
            results[kind] = rows
            ran.append("%s (%d results, %.1fs)" % (kind, len(rows), time.monotonic() - t0))
        log("%s: ran against: %s" % (name, ", ".join(ran) or "nothing"))
        if skipped:
            log("%s: skipped: %s" % (name, ", ".join(skipped)))
        if not ran:
            raise Skip("no server kind could run")
        reference_rows(name, [os.path.abspath(sys.argv[0])], results,
                       [f for f in failures if f.startswith("apache:")])
        if os.environ.get("ZKT_VERBOSE"):
            for kind, rows in results.items():
                for label, value in rows:
                    log("  %s %s = %r" % (kind, label, value))
        diffs = real_differences(compare_results(results), known_gaps)
        if failures or diffs:
            raise Fail("%d failures, %d differences from Apache ZooKeeper: %s"
                       % (len(failures), len(diffs), "; ".join(failures)))
    run_main(name, body)


# ---------------------------------------------------------------------------------------------
# Raw wire protocol (zookeeper.jute)

ERR_NAMES = {
    0: "OK", -1: "SystemError", -2: "RuntimeInconsistency", -3: "DataInconsistency",
    -4: "ConnectionLoss", -5: "MarshallingError", -6: "Unimplemented", -7: "OperationTimeout",
    -8: "BadArguments", -12: "UnknownSession", -13: "NewConfigNoQuorum",
    -14: "ReconfigInProgress", -100: "APIError", -101: "NoNode", -102: "NoAuth",
    -103: "BadVersion", -108: "NoChildrenForEphemerals", -110: "NodeExists", -111: "NotEmpty",
    -112: "SessionExpired", -113: "InvalidCallback", -114: "InvalidACL", -115: "AuthFailed",
    -118: "SessionMoved", -119: "NotReadOnly", -120: "EphemeralOnLocalSession",
    -121: "NoWatcher", -123: "ReconfigDisabled", -125: "QuotaExceeded", -127: "ThrottledOp",
}

OP = {"create": 1, "delete": 2, "exists": 3, "getData": 4, "setData": 5, "getACL": 6,
      "setACL": 7, "getChildren": 8, "sync": 9, "ping": 11, "getChildren2": 12, "check": 13,
      "multi": 14, "create2": 15, "checkWatches": 17, "removeWatches": 18,
      "createContainer": 19, "createTTL": 21, "multiRead": 22, "setWatches": 101,
      "getEphemerals": 103, "getAllChildrenNumber": 104, "setWatches2": 105, "addWatch": 106,
      "whoAmI": 107, "closeSession": -11}

EVENT_NAMES = {-1: "None", 1: "NodeCreated", 2: "NodeDeleted", 3: "NodeDataChanged",
               4: "NodeChildrenChanged", 5: "DataWatchRemoved", 6: "ChildWatchRemoved",
               7: "PersistentWatchRemoved"}

MODE = {"persistent": 0, "ephemeral": 1, "sequential": 2, "ephemeral_sequential": 3,
        "container": 4, "ttl": 5, "ttl_sequential": 6}

OPEN_ACL = [(31, "world", "anyone")]


def err_name(code):
    return ERR_NAMES.get(code, "Err%d" % code)


class Enc:
    """Jute writer."""

    def __init__(self):
        self.b = bytearray()

    def int(self, v):
        self.b += struct.pack(">i", v)
        return self

    def long(self, v):
        self.b += struct.pack(">q", v)
        return self

    def bool(self, v):
        self.b += b"\x01" if v else b"\x00"
        return self

    def buffer(self, v):
        if v is None:
            return self.int(-1)
        self.int(len(v))
        self.b += v
        return self

    def string(self, v):
        return self.buffer(None if v is None else (v.encode("utf-8", "surrogateescape")
                                                   if isinstance(v, str) else v))

    def strings(self, vs):
        self.int(len(vs))
        for v in vs:
            self.string(v)
        return self

    def acl(self, acls):
        self.int(len(acls))
        for perms, scheme, ident in acls:
            self.int(perms).string(scheme).string(ident)
        return self


class Dec:
    """Jute reader over one frame body; raises Fail on a short frame."""

    def __init__(self, b):
        self.b, self.p = b, 0

    def _take(self, n):
        if self.p + n > len(self.b):
            raise Fail("short frame: need %d bytes at %d of %d" % (n, self.p, len(self.b)))
        v = self.b[self.p:self.p + n]
        self.p += n
        return v

    def int(self):
        return struct.unpack(">i", self._take(4))[0]

    def long(self):
        return struct.unpack(">q", self._take(8))[0]

    def bool(self):
        return self._take(1) != b"\x00"

    def buffer(self):
        n = self.int()
        return None if n < 0 else bytes(self._take(n))

    def string(self):
        v = self.buffer()
        return None if v is None else v.decode("utf-8", "replace")

    def strings(self):
        return [self.string() for _ in range(self.int())]

    def stat(self):
        names = ("czxid", "mzxid", "ctime", "mtime", "version", "cversion", "aversion",
                 "ephemeralOwner", "dataLength", "numChildren", "pzxid")
        fmt = (self.long, self.long, self.long, self.long, self.int, self.int, self.int,
               self.long, self.int, self.int, self.long)
        return dict(zip(names, (f() for f in fmt)))

    def acl(self):
        return [(self.int(), self.string(), self.string()) for _ in range(self.int())]


def stat_summary(st, session=None):
    """The Stat fields that must match between servers (zxids and times differ by design)."""
    if st is None:
        return None
    s = {k: st[k] for k in ("version", "cversion", "aversion", "numChildren", "dataLength")}
    s["ephemeral"] = st["ephemeralOwner"] != 0
    if session is not None and st["ephemeralOwner"]:
        s["ownerIsSession"] = st["ephemeralOwner"] == session
    s["mzxid==czxid"] = st["mzxid"] == st["czxid"]
    s["pzxid==czxid"] = st["pzxid"] == st["czxid"]
    return s


class Closed(Exception):
    """The server closed the connection."""


class Reply:
    def __init__(self, xid, zxid, err, body):
        self.xid, self.zxid, self.err, self.body = xid, zxid, err, body
        self.body_len = len(body.b) - body.p  # Bytes after the ReplyHeader.

    @property
    def name(self):
        return err_name(self.err)


class RawClient:
    """One connection speaking the client protocol by hand.

    Frames are read in arrival order; watch events (xid -1) go to self.events and also into
    self.trace, next to ("reply", xid), so tests can check that an event arrived before a reply.
    """

    def __init__(self, port, timeout_ms=10000, session_id=0, passwd=b"\0" * 16, last_zxid=0,
                 handshake=True, sock_timeout=10.0):
        self.port = port
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=sock_timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.rbuf = b""
        self.xid = 0
        self.events = []
        self.trace = []
        self.session_id = 0
        self.passwd = b""
        self.negotiated = 0
        self.last_zxid = last_zxid
        if handshake:
            self.connect(timeout_ms, session_id, passwd, last_zxid)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def send_raw(self, data):
        self.sock.sendall(data)

    def send_frame(self, body):
        self.sock.sendall(struct.pack(">i", len(body)) + bytes(body))

    def _recv_exact(self, n):
        while len(self.rbuf) < n:
            try:
                chunk = self.sock.recv(max(65536, n - len(self.rbuf)))
            except ConnectionResetError:
                chunk = b""
            except socket.timeout:
                raise Fail("no answer from the server within the socket timeout")
            if not chunk:
                raise Closed()
            self.rbuf += chunk
        v, self.rbuf = self.rbuf[:n], self.rbuf[n:]
        return v

    def read_frame(self):
        n = struct.unpack(">i", self._recv_exact(4))[0]
        if n < 0 or n > 64 << 20:
            raise Fail("server sent a frame length of %d" % n)
        return self._recv_exact(n)

    def connect(self, timeout_ms, session_id=0, passwd=b"\0" * 16, last_zxid=0):
        e = Enc().int(0).long(last_zxid).int(timeout_ms).long(session_id).buffer(passwd)
        e.bool(False)
        self.send_frame(e.b)
        d = Dec(self.read_frame())
        d.int()
        self.negotiated = d.int()
        self.session_id = d.long()
        self.passwd = d.buffer()
        return self.negotiated

    def is_closed(self, wait=0.0):
        """True if the server has closed the connection (reads and drops pending bytes)."""
        self.sock.settimeout(wait if wait > 0 else 0.0001)
        try:
            b = self.sock.recv(65536)
            if b:
                self.rbuf += b
                return False
            return True
        except (socket.timeout, BlockingIOError):
            return False
        except OSError:
            return True
        finally:
            self.sock.settimeout(10.0)

    def request(self, op, body=b"", xid=None):
        """Send one request; returns its xid."""
        if xid is None:
            self.xid += 1
            xid = self.xid
        self.send_frame(Enc().int(xid).int(OP[op] if isinstance(op, str) else op).b + body)
        return xid

    def read_reply(self, xid):
        """Frames until the reply with xid; events on the way are recorded."""
        while True:
            d = Dec(self.read_frame())
            rx, zxid, err = d.int(), d.long(), d.int()
            if rx == -1:
                ev = (EVENT_NAMES.get(d.int(), "?"), d.int(), d.string())
                self.events.append((ev[0], ev[2]))
                self.trace.append(("event", ev[0], ev[2]))
                continue
            if zxid > 0:
                self.last_zxid = max(self.last_zxid, zxid)
            self.trace.append(("reply", rx))
            if rx == -2 or rx == -8:
                if xid in (-2, -8) and rx == xid:
                    self.last = Reply(rx, zxid, err, d)
                    return self.last
                continue
            if rx != xid:
                raise Fail("reply for xid %d while waiting for %d" % (rx, xid))
            self.last = Reply(rx, zxid, err, d)
            return self.last

    def call(self, op, body=b""):
        return self.read_reply(self.request(op, body))

    def ping(self):
        return self.read_reply(self.request("ping", xid=-2))

    def wait_events(self, n, seconds=10.0):
        """Ping until at least n events have arrived (deadline); returns self.events."""
        wait_for(lambda: self.ping() and len(self.events) >= n, seconds,
                 "%d watch events (got %r)" % (n, self.events), interval=0.02)
        return self.events

    # ---- operations: each returns (error name, decoded result or None)

    def create(self, path, data=b"", mode="persistent", acl=OPEN_ACL, ttl=None, op=None):
        flags = MODE[mode] if isinstance(mode, str) else mode
        if op is None:
            op = "createTTL" if ttl is not None else ("createContainer" if flags == 4
                                                      else "create2")
        e = Enc().string(path).buffer(data).acl(acl).int(flags)
        if op == "createTTL":
            e.long(ttl if ttl is not None else -1)
        r = self.call(op, e.b)
        if r.err:
            return r.name, None
        if op == "create":
            return "OK", (r.body.string(), None)
        return "OK", (r.body.string(), r.body.stat())

    def delete(self, path, version=-1):
        return self.call("delete", Enc().string(path).int(version).b).name, None

    def exists(self, path, watch=False):
        r = self.call("exists", Enc().string(path).bool(watch).b)
        return r.name, (r.body.stat() if r.err == 0 else None)

    def get(self, path, watch=False):
        r = self.call("getData", Enc().string(path).bool(watch).b)
        return r.name, ((r.body.buffer(), r.body.stat()) if r.err == 0 else None)

    def set(self, path, data, version=-1):
        r = self.call("setData", Enc().string(path).buffer(data).int(version).b)
        return r.name, (r.body.stat() if r.err == 0 else None)

    def children(self, path, watch=False, two=True):
        r = self.call("getChildren2" if two else "getChildren",
                      Enc().string(path).bool(watch).b)
        if r.err:
            return r.name, None
        kids = r.body.strings()
        return "OK", (kids, r.body.stat() if two else None)

    def get_acl(self, path):
        r = self.call("getACL", Enc().string(path).b)
        return r.name, ((r.body.acl(), r.body.stat()) if r.err == 0 else None)

    def set_acl(self, path, acl, version=-1):
        r = self.call("setACL", Enc().string(path).acl(acl).int(version).b)
        return r.name, (r.body.stat() if r.err == 0 else None)

    def sync(self, path):
        r = self.call("sync", Enc().string(path).b)
        return r.name, (r.body.string() if r.err == 0 else None)

    def check(self, path, version):
        return self.call("check", Enc().string(path).int(version).b).name, None

    def all_children_number(self, path):
        r = self.call("getAllChildrenNumber", Enc().string(path).b)
        return r.name, (r.body.int() if r.err == 0 else None)

    def ephemerals(self, prefix):
        r = self.call("getEphemerals", Enc().string(prefix).b)
        return r.name, (r.body.strings() if r.err == 0 else None)

    def add_watch(self, path, mode):
        return self.call("addWatch", Enc().string(path).int(mode).b).name, None

    def remove_watches(self, path, wtype):
        return self.call("removeWatches", Enc().string(path).int(wtype).b).name, None

    def check_watches(self, path, wtype):
        return self.call("checkWatches", Enc().string(path).int(wtype).b).name, None

    def who_am_i(self):
        r = self.call("whoAmI")
        if r.err:
            return r.name, None
        return "OK", [(r.body.string(), r.body.string()) for _ in range(r.body.int())]

    def set_watches(self, rel_zxid, data=(), exist=(), child=(), persistent=None,
                    recursive=None):
        e = Enc().long(rel_zxid).strings(list(data)).strings(list(exist)).strings(list(child))
        op = "setWatches"
        if persistent is not None or recursive is not None:
            op = "setWatches2"
            e.strings(list(persistent or ())).strings(list(recursive or ()))
        r = self.read_reply(self.request(op, e.b, xid=-8))
        return r.name, None

    def close_session(self):
        r = self.call("closeSession")
        return r.name, None

    def multi(self, ops, read=False):
        """ops: ("create", path, data, mode) | ("create2", path, data) | ("container", path,
        data) | ("ttl", path, data, mode, ttl) | ("delete", path, ver) | ("set", path, data, ver)
        | ("check", path, ver) | ("getData", path) | ("getChildren", path).
        Returns (error name, [per-op (type, error name, result)])."""
        e = Enc()
        for op in ops:
            kind = op[0]
            if kind == "create":
                mode = MODE[op[3]] if len(op) > 3 else 0
                e.int(OP["create"]).bool(False).int(-1)
                e.string(op[1]).buffer(op[2]).acl(OPEN_ACL).int(mode)
            elif kind == "create2":
                e.int(OP["create2"]).bool(False).int(-1)
                e.string(op[1]).buffer(op[2]).acl(OPEN_ACL).int(0)
            elif kind == "container":
                e.int(OP["createContainer"]).bool(False).int(-1)
                e.string(op[1]).buffer(op[2]).acl(OPEN_ACL).int(MODE["container"])
            elif kind == "ttl":
                e.int(OP["createTTL"]).bool(False).int(-1)
                e.string(op[1]).buffer(op[2]).acl(OPEN_ACL).int(MODE[op[3]]).long(op[4])
            elif kind == "delete":
                e.int(OP["delete"]).bool(False).int(-1).string(op[1]).int(op[2])
            elif kind == "set":
                e.int(OP["setData"]).bool(False).int(-1).string(op[1]).buffer(op[2]).int(op[3])
            elif kind == "check":
                e.int(OP["check"]).bool(False).int(-1).string(op[1]).int(op[2])
            elif kind == "getData":
                e.int(OP["getData"]).bool(False).int(-1).string(op[1]).bool(False)
            elif kind == "getChildren":
                e.int(OP["getChildren"]).bool(False).int(-1).string(op[1]).bool(False)
            else:
                raise Fail("unknown multi op %s" % kind)
        e.int(-1).bool(True).int(-1)
        r = self.call("multiRead" if read else "multi", e.b)
        if r.err and not r.body.b[r.body.p:]:
            return r.name, None
        results = []
        d = r.body
        while True:
            typ, done, _ = d.int(), d.bool(), d.int()
            if done:
                break
            if typ == -1:
                results.append(("error", err_name(d.int()), None))
            elif typ == OP["create"]:
                results.append(("create", "OK", d.string()))
            elif typ == OP["create2"]:
                results.append(("create2", "OK", (d.string(), stat_summary(d.stat()))))
            elif typ == OP["setData"]:
                results.append(("set", "OK", stat_summary(d.stat())))
            elif typ in (OP["delete"], OP["check"]):
                results.append(({2: "delete", 13: "check"}[typ], "OK", None))
            elif typ == OP["getData"]:
                data = d.buffer()
                results.append(("getData", "OK", (data, stat_summary(d.stat()))))
            elif typ == OP["getChildren"]:
                results.append(("getChildren", "OK", sorted(d.strings())))
            else:
                raise Fail("unknown multi result type %d" % typ)
        return r.name, results


def raw_outcome(fn):
    """fn() -> value; a closed connection becomes 'CLOSED' (seen while reading, or while sending:
    a server may close the connection in the middle of a frame it refuses)."""
    try:
        return fn()
    except (Closed, BrokenPipeError, ConnectionResetError):
        return "CLOSED"


class Proxy:
    """A TCP relay 127.0.0.1:port -> target port; cut() drops every connection and refuses new
    ones (accept then close) until resume()."""

    def __init__(self, target_port):
        self.target = target_port
        self.port = alloc_port()
        self.lsock = socket.socket()
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind(("127.0.0.1", self.port))
        self.lsock.listen(16)
        self.cutting = False
        self.pairs = []
        self.lock = threading.Lock()
        self.accepted = 0
        threading.Thread(target=self._accept_loop, daemon=True).start()

    def _accept_loop(self):
        while True:
            try:
                c, _ = self.lsock.accept()
            except OSError:
                return
            with self.lock:
                self.accepted += 1
                if self.cutting:
                    c.close()
                    continue
            try:
                u = socket.create_connection(("127.0.0.1", self.target), timeout=5)
            except OSError:
                c.close()
                continue
            with self.lock:
                self.pairs.append((c, u))
            for a, b in ((c, u), (u, c)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(a, b):
        try:
            while True:
                data = a.recv(65536)
                if not data:
                    break
                b.sendall(data)
        except OSError:
            pass
        for s in (a, b):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def cut(self):
        with self.lock:
            self.cutting = True
            pairs, self.pairs = self.pairs, []
        for c, u in pairs:
            for s in (c, u):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()

    def resume(self):
        with self.lock:
            self.cutting = False

    def close(self):
        self.cut()
        self.lsock.close()


__all__ = ["Server", "RawClient", "Proxy", "Skip", "Fail", "Closed", "run_kinds", "run_main",
           "wait_for", "check", "four_lw", "kazoo_client", "workdir", "kinds", "zkfsd_built",
           "stat_summary", "raw_outcome", "err_name"]
