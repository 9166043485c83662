"""Durability of zkfsd: kill -9 under a write load, sessions and the tree across restarts, and a
torn or corrupted log tail.

Eight kazoo writers each commit transactions that create /load/wN-K, /pair/wN-K and a sequential
/seq/wN-K-NNNNNNNNNN with the same data, recording which K were acknowledged. The server
(snapCount=100, so restarts restore a snapshot plus the log after it) is killed with SIGKILL at
three points of the load (and once stopped with SIGTERM under load, which must exit 0) and
restarted on the same data dir: every acknowledged transaction must be there, whole, and nothing
else but at most the one transaction each writer had in flight (multi atomicity: the three nodes
exist together or not at all). Then a live session keeps its ephemeral across kill -9 while an
abandoned one expires, and with no session left the tree digest (dgst) is the same after kill -9
and after SIGTERM.

Then copies of a data dir killed under load (default snapshot threshold, so the newest segment
holds the load) get their newest segment truncated (torn write: 7 bytes, or half of it) or one
byte flipped (newest segment, an older closed one, the newest snapshot). zkfsd must either
refuse to start (non-zero exit, a clear log line, no crash, no sanitizer report) or serve a
prefix of the acknowledged history (per writer a contiguous 1..m, transactions whole, data
intact, numChildren right, a warning if acknowledged transactions were dropped) and accept new
writes.

zkfsd only; ZKT_DURABILITY_APACHE=1 also runs everything on Apache ZooKeeper (its log files are
version-2/log.<zxid>) for comparison, reporting but not failing on what it does.
"""

import os
import re
import shutil
import signal
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import zkt  # noqa: E402
from zkt import Fail, check, wait_for  # noqa: E402

WRITERS = 8
KILL_AFTER = (3, 150, 61, 60)  # Acknowledged transactions (this round) before each signal.
TERM_ROUND = 61  # The round that ends with SIGTERM (a clean stop under load), not SIGKILL.
SNAP_COUNT = 100  # zoo.cfg snapCount of the kill rounds: restarts restore snapshot + log.
DAMAGE_LOAD = 200  # Acknowledged transactions before the kill whose log is then damaged.
SEGMENT = re.compile(r"^(open-\d+|\d{16}-\d{16})$")
CRASH = re.compile(r"(?i)(AddressSanitizer|UndefinedBehaviorSanitizer|runtime error:|"
                   r"Segmentation fault|core dumped|Assertion .* failed)")


def payload(tag):
    return (tag + ":").encode() * 8


class Writer(threading.Thread):
    """One kazoo client committing transactions until its connection breaks."""

    def __init__(self, server, w, first_k):
        super().__init__(daemon=True)
        self.w, self.k = w, first_k
        self.client = zkt.kazoo_client(server)
        self.acked = []
        self.inflight = None
        self.errors = []

    def run(self):
        while True:
            tag = "w%d-%06d" % (self.w, self.k)
            self.inflight = self.k
            t = self.client.transaction()
            t.create("/load/" + tag, payload(tag))
            t.create("/pair/" + tag, payload(tag))
            t.create("/seq/" + tag + "-", payload(tag), sequence=True)
            try:
                res = t.commit()
            except Exception:  # noqa: B902 - connection lost: outcome unknown, stays inflight
                return
            if any(isinstance(r, Exception) for r in res):
                self.errors.append((tag, res))
                return
            self.acked.append(self.k)
            self.inflight = None
            self.k += 1

    def close_later(self):
        threading.Thread(target=self._close, daemon=True).start()

    def _close(self):
        try:
            self.client.stop()
            self.client.close()
        except Exception:  # noqa: B902 - best effort, the server may be gone
            pass


class History:
    """What the writers were told: acknowledged K per writer, and K in flight at a kill."""

    def __init__(self):
        self.acked = {w: set() for w in range(WRITERS)}
        self.inflight = {w: set() for w in range(WRITERS)}
        self.next_k = {w: 1 for w in range(WRITERS)}

    def total(self):
        return sum(len(v) for v in self.acked.values())

    def absorb(self, writers):
        for wr in writers:
            self.acked[wr.w].update(wr.acked)
            if wr.inflight is not None:
                self.inflight[wr.w].add(wr.inflight)
            self.next_k[wr.w] = wr.k + 1
            check(not wr.errors, "writer %d got an error result: %r" % (wr.w, wr.errors[:1]))


def prepare(server):
    k = zkt.kazoo_client(server)
    for p in ("/load", "/pair", "/seq"):
        k.ensure_path(p)
    k.stop()
    k.close()


def load_until_kill(server, hist, target, sig=signal.SIGKILL):
    """Start the writers, signal the server (SIGKILL: a crash; SIGTERM: a clean stop under
    load) once `target` more transactions were acked, and wait for it to exit."""
    base = sum(len(v) for v in hist.acked.values())
    writers = [Writer(server, w, hist.next_k[w]) for w in range(WRITERS)]
    for wr in writers:
        wr.start()
    wait_for(lambda: sum(len(wr.acked) for wr in writers) >= target or
             not any(wr.is_alive() for wr in writers), 60,
             "%d acknowledged transactions" % target)
    rc = server.stop(sig)
    check(sig == signal.SIGKILL or rc == 0 or server.kind != "zkfsd",
          "zkfsd exited with status %s on SIGTERM under load" % rc)
    for wr in writers:
        wr.join(10)
        if wr.is_alive():
            # kazoo queues a request made while it is reconnecting until it reconnects
            # (KazooClient._call): a writer whose previous commit was answered just before
            # the server went away (SIGTERM answers what is in flight, then closes) waits
            # there. Stopping the client fails that request (outcome unknown: in flight).
            wr.client.stop()
        wr.join(30)
        check(not wr.is_alive(), "writer %d still running after the kill" % wr.w)
    hist.absorb(writers)
    zkt.log("%s: signal %d after %d acknowledged (total %d), in flight %d"
            % (server.kind, sig, hist.total() - base, hist.total(),
               sum(1 for wr in writers if wr.inflight is not None)))
    return writers


def read_tree(server):
    """{tag: (load data, pair data)}, {tag: [seq data...]}, and the Stat checks."""
    k = zkt.kazoo_client(server)
    try:
        tree = {}
        for parent in ("/load", "/pair", "/seq"):
            kids = k.get_children(parent)
            st = k.exists(parent)
            check(st.numChildren == len(kids), "%s numChildren %d but %d children"
                  % (parent, st.numChildren, len(kids)))
            asyncs = [(kid, k.get_async("%s/%s" % (parent, kid))) for kid in kids]
            tree[parent] = {kid: a.get(timeout=30)[0] for kid, a in asyncs}
        return tree
    finally:
        k.stop()
        k.close()


def verify(server, hist, prefix_only):
    """Whole transactions only; every acked one present (or, after a torn tail, a per-writer
    prefix of them); nothing that was never sent."""
    tree = read_tree(server)
    load, pair, seq = tree["/load"], tree["/pair"], tree["/seq"]
    check(set(load) == set(pair), "half-done multi: /load and /pair differ: %r"
          % sorted(set(load) ^ set(pair))[:5])
    seq_tags = {}
    for name, data in seq.items():
        tag = name.rsplit("-", 1)[0]
        check(data == payload(tag), "corrupt data in /seq/%s" % name)
        check(tag not in seq_tags, "two /seq nodes for %s" % tag)
        seq_tags[tag] = name
    check(set(seq_tags) == set(load), "half-done multi: /seq and /load differ: %r"
          % sorted(set(seq_tags) ^ set(load))[:5])
    numbers = sorted(int(name.rsplit("-", 1)[1]) for name in seq)
    check(numbers == list(range(len(numbers))),
          "sequence numbers of /seq are not 0..%d without gaps: %r..."
          % (len(numbers) - 1, [n for i, n in enumerate(numbers) if n != i][:5]))
    present = {w: set() for w in range(WRITERS)}
    for tag, data in load.items():
        check(data == payload(tag) and pair[tag] == payload(tag), "corrupt data in %s" % tag)
        m = re.match(r"^w(\d+)-(\d+)$", tag)
        check(m is not None, "unexpected node /load/%s" % tag)
        w, kk = int(m.group(1)), int(m.group(2))
        check(kk in hist.acked[w] or kk in hist.inflight[w],
              "/load/%s appeared but was never acknowledged nor in flight" % tag)
        present[w].add(kk)
    for w in range(WRITERS):
        if prefix_only:
            acked_present = sorted(kk for kk in present[w] if kk in hist.acked[w])
            check(acked_present == list(range(1, len(acked_present) + 1)) or
                  acked_present == sorted(hist.acked[w])[:len(acked_present)],
                  "writer %d: present transactions are not a prefix: %r" % (w, acked_present))
        else:
            missing = hist.acked[w] - present[w]
            check(not missing, "writer %d: acknowledged transactions lost: %r"
                  % (w, sorted(missing)[:10]))
    return sum(len(v) for v in present.values())


def acked_lost(server, hist):
    """How many acknowledged transactions the server no longer has."""
    k = zkt.kazoo_client(server)
    try:
        present = set(k.get_children("/load"))
    finally:
        k.stop()
        k.close()
    return sum(1 for w in range(WRITERS) for kk in hist.acked[w]
               if "w%d-%06d" % (w, kk) not in present)


def sessions_across_kill(server):
    """Sessions are in the log: after kill -9 and a restart a live client keeps its session and
    ephemeral, and a client that never comes back expires (its ephemeral goes)."""
    live = zkt.kazoo_client(server, timeout=20)
    live.create("/eph-live", b"", ephemeral=True)
    gone = zkt.RawClient(server.port, timeout_ms=4000)
    gone.create("/eph-gone", b"", "ephemeral")
    sid = live.client_id[0]
    server.kill()
    gone.close()
    server.start()
    wait_for(lambda: live.connected and live.exists("/eph-live") is not None, 30,
             "the live kazoo client to resume its session after kill -9")
    check(live.client_id[0] == sid, "kazoo got a new session after the restart")
    st = live.exists("/eph-live")
    check(st.ephemeralOwner == sid, "/eph-live lost its owner after kill -9")
    wait_for(lambda: live.exists("/eph-gone") is None, 30,
             "the session that never came back to expire after the restart")
    live.stop()
    live.close()
    k = zkt.kazoo_client(server)
    check(k.exists("/eph-live") is None, "closeSession after the restart left /eph-live")
    k.stop()
    k.close()
    zkt.log("%s: sessions survived kill -9; the abandoned one expired" % server.kind)


def snapshot_files(data_dir):
    names = os.listdir(data_dir)
    if "version-2" in names:
        names = os.listdir(os.path.join(data_dir, "version-2"))
    return sorted(n for n in names if n.startswith("snapshot") and not n.endswith(".meta"))


def mntr_value(server, key):
    for line in zkt.four_lw(server.port, "mntr").splitlines():
        if line.startswith(key + "\t"):
            return line.split("\t", 1)[1]
    return None


def digest_line(server):
    return [ln for ln in zkt.four_lw(server.port, "dgst").splitlines()
            if ln.startswith("digest")]


def digest_across_restarts(server):
    """With no session left (nothing can write), the tree digest (zkfsd's dgst word: every
    node's data, Stat and counters) is the same after kill -9 and after a clean restart."""
    wait_for(lambda: mntr_value(server, "zk_global_sessions") == "0", 60,
             "every session to be closed or expired (zk_global_sessions %s)"
             % mntr_value(server, "zk_global_sessions"))
    before = digest_line(server)
    check(before, "zkfsd's dgst word printed no digest line")
    for how in (signal.SIGKILL, signal.SIGTERM):
        server.stop(how)
        server.start()
        after = digest_line(server)
        check(after == before, "tree digest changed across a restart after signal %d: %r -> %r"
              % (how, before, after))
    zkt.log("zkfsd: same tree digest after kill -9 and after SIGTERM: %s" % before[0])


def kill_rounds(kind, wd, targets, snap_count=None):
    """Kill -9 under load once per target, restart, check every acknowledged transaction.
    With snap_count, snapshots must have been taken (restarts then restore snapshot + log) and
    sessions and the tree digest are checked across restarts too.  Returns a copy of the data
    dir as the last kill left it (its newest segment ends with the load) and the history."""
    cfg = {"snapCount": snap_count} if snap_count else None
    server = zkt.Server(kind, wd, cfg=cfg)
    server.start()
    prepare(server)
    hist = History()
    crashed = os.path.join(wd, "%s-%d-crashed-data" % (kind, server.port))
    for target in targets:
        sig = signal.SIGTERM if target == TERM_ROUND else signal.SIGKILL
        writers = load_until_kill(server, hist, target, sig)
        shutil.rmtree(crashed, ignore_errors=True)
        shutil.copytree(server.data, crashed)
        server.start()
        for wr in writers:
            wr.close_later()
        n = verify(server, hist, prefix_only=False)
        zkt.log("%s: after restart all %d acknowledged transactions present (%d nodes in /load)"
                % (kind, hist.total(), n))
    if snap_count:
        snaps = snapshot_files(server.data)
        check(snaps, "no snapshot in %s after %d transactions with snapCount=%d"
              % (server.data, hist.total(), snap_count))
        zkt.log("%s: %d snapshot file(s), e.g. %s" % (kind, len(snaps), snaps[-1]))
        sessions_across_kill(server)
        if kind == "zkfsd":
            digest_across_restarts(server)
    server.stop()
    return crashed, hist


def log_files(data_dir):
    """(order, path) of the files holding log entries: libraft segments for zkfsd (open ones
    are the newest), version-2/log.<zxid> for Apache ZooKeeper."""
    apache = os.path.join(data_dir, "version-2")
    if os.path.isdir(apache):
        return [((0, int(n[4:], 16)), os.path.join(apache, n)) for n in os.listdir(apache)
                if n.startswith("log.")]
    return [((1, int(n[5:])) if n.startswith("open-") else (0, int(n[17:])),
             os.path.join(data_dir, n)) for n in os.listdir(data_dir) if SEGMENT.match(n)]


def newest_segment(data_dir, closed_only=False):
    """The log file holding the newest entries, and the length of its written part (both
    servers preallocate log files with zeros)."""
    best = None
    files = sorted(log_files(data_dir))
    if closed_only:
        files = [f for f in files if not os.path.basename(f[1]).startswith("open-")][:-1] or \
            [f for f in files if not os.path.basename(f[1]).startswith("open-")]
    for order, path in files:
        with open(path, "rb") as f:
            used = len(f.read().rstrip(b"\0"))
        if used > 8 and (best is None or order > best[0]):
            best = (order, path, used)
    check(best is not None, "no log file with entries in %s" % data_dir)
    return best[1], best[2]


def damage_truncate_tail(path, used):
    os.truncate(path, used - 7)
    return "truncated %s from %d to %d bytes (torn last write)" % (os.path.basename(path), used,
                                                                   used - 7)


def damage_truncate_half(path, used):
    os.truncate(path, used // 2)
    return "truncated %s from %d to %d bytes" % (os.path.basename(path), used, used // 2)


def damage_flip(path, used):
    at = used * 3 // 4
    with open(path, "r+b") as f:
        f.seek(at)
        b = f.read(1)
        f.seek(at)
        f.write(bytes([b[0] ^ 0x5a]))
    return "flipped byte %d of %s (%d bytes used)" % (at, os.path.basename(path), used)


def damage_flip_closed(data_dir):
    """A flipped byte in the middle of an older closed segment (not a torn tail)."""
    path, used = newest_segment(data_dir, closed_only=True)
    return damage_flip(path, used)


def damage_snapshot(data_dir):
    """A flipped byte in the middle of the newest snapshot."""
    snaps = snapshot_files(data_dir)
    check(snaps, "no snapshot to damage in %s" % data_dir)
    base = os.path.join(data_dir, "version-2") if os.path.isdir(
        os.path.join(data_dir, "version-2")) else data_dir
    path = os.path.join(base, snaps[-1])
    return damage_flip(path, os.path.getsize(path))


def libraft_only_leaks(log_text):
    """'N bytes in M allocations' if the sanitizer report is only LeakSanitizer leaks allocated
    directly by libraft (first frame after the allocator in libraft.so), else None."""
    if re.search(r"ERROR: AddressSanitizer|runtime error:", log_text) or \
            "ERROR: LeakSanitizer" not in log_text:
        return None
    firsts = re.findall(r"leak of .*\n\s+#0 [^\n]*\n\s+#1 ([^\n]*)", log_text)
    if not firsts or not all("libraft.so" in f for f in firsts):
        return None
    m = re.search(r"SUMMARY: AddressSanitizer: (.*) leaked in (.*)\.", log_text)
    return "%s in %s" % (m.group(1), m.group(2)) if m else "%d leaks" % len(firsts)


def damaged_restart(kind, wd, source, hist, damage):
    """Copy the data dir, damage it, start the server on it: refusal or a prefix, no crash."""
    server = zkt.Server(kind, wd)
    shutil.rmtree(server.data)
    shutil.copytree(source, server.data)
    if damage in (damage_flip_closed, damage_snapshot):
        what = damage(server.data)
    else:
        what = damage(*newest_segment(server.data))
    server.start(wait=False)
    wait_for(lambda: not server.alive() or server.ready(), 30,
             "%s to either serve or exit on a damaged log (%s)" % (kind, what))
    log_text = server.log_text()
    crash = CRASH.search(log_text)
    if crash and not server.alive() and libraft_only_leaks(log_text):
        # libraft 0.15 leaks a few bytes on raft_start's error paths; zkfsd cannot free them.
        zkt.log("%s: libraft leaked on refusing a damaged log (%s): %s"
                % (kind, what, libraft_only_leaks(log_text)))
        server.libraft_leak = True
        crash = None
    if crash:
        raise Fail("%s crashed or leaked on a damaged log (%s): %s"
                   % (kind, what, server.sanitizer_report() or crash.group(0)))
    if not server.alive():
        rc = server.proc.returncode
        check(rc > 0, "%s died by signal %d on a damaged log (%s)" % (kind, -rc, what))
        own = re.split(r"\n==\d+==ERROR", log_text)[0]  # the server's lines, not a report
        last = [ln for ln in own.splitlines() if ln.strip()][-6:]
        check(any(re.search(r"(?i)(corrupt|checksum|damaged|truncat|invalid|error|fail|load)",
                            ln) for ln in last),
              "%s refused a damaged log (%s) without a clear message: %r" % (kind, what, last))
        zkt.log("damaged log (%s): %s refused to start (exit %d): %s"
                % (what, kind, rc, next((ln for ln in last if "ERROR" in ln), last[-1])))
        server.proc = None
        return "refused"
    n = verify(server, hist, prefix_only=True)
    lost = acked_lost(server, hist)
    if lost:
        check(re.search(r"(?i)(WARN|ERROR).*(truncat|discard|lost|corrupt|checksum|torn|damag)",
                        server.log_text()),
              "%s dropped %d acknowledged transactions from a damaged log (%s) without "
              "a warning in its log" % (kind, lost, what))
    k = zkt.kazoo_client(server)
    k.create("/after-damage", b"ok")
    k.stop()
    k.close()
    server.stop(signal.SIGTERM)
    server.start()
    n2 = verify(server, hist, prefix_only=True)
    check(n2 == n, "a clean restart after recovery changed the tree: %d then %d nodes" % (n, n2))
    server.stop()
    zkt.log("damaged log (%s): %s recovered a prefix: %d transactions (%d acknowledged)"
            % (what, kind, n, hist.total()))
    return "recovered"


def main():
    wd = zkt.workdir("durability")
    kinds = [k for k in zkt.kinds() if k == "zkfsd" or os.environ.get("ZKT_DURABILITY_APACHE")]
    ran, problems = [], []
    for kind in kinds:
        if kind == "zkfsd" and not zkt.zkfsd_built():
            zkt.log("skipping zkfsd: not built at %s" % zkt.ZKFSD)
            continue
        t0 = time.monotonic()
        snapped, snap_hist = kill_rounds(kind, wd, KILL_AFTER, SNAP_COUNT)
        ran.append("%s %d kill -9/SIGTERM rounds (%.1fs)" % (kind, len(KILL_AFTER),
                                                           time.monotonic() - t0))
        # Default snapshot threshold: the newest segment holds the whole load.
        crashed, hist = kill_rounds(kind, wd, (DAMAGE_LOAD,))
        for damage in (damage_truncate_tail, damage_truncate_half, damage_flip,
                       damage_flip_closed, damage_snapshot):
            t0 = time.monotonic()
            try:
                if damage is damage_snapshot:
                    result = damaged_restart(kind, wd, snapped, snap_hist, damage)
                else:
                    result = damaged_restart(kind, wd, crashed, hist, damage)
            except Exception as e:  # noqa: B902 - a kazoo timeout is a finding too
                result = "FAILED: %r" % e
                if kind == "zkfsd":
                    problems.append(result)
            ran.append("%s %s: %s (%.1fs)" % (kind, damage.__name__, result,
                                              time.monotonic() - t0))
    if not ran:
        raise zkt.Skip("zkfsd not built (durability runs on zkfsd only)")
    zkt.log("test_durability: ran: %s" % "; ".join(ran))
    tolerated = {s.dir for s in zkt.servers() if getattr(s, "libraft_leak", False)}
    problems += ["%s: %s" % r for r in zkt.sanitizer_reports() if r[0] not in tolerated]
    if problems:
        raise Fail("%d problems: %s" % (len(problems), "; ".join(problems)))


if __name__ == "__main__":
    zkt.run_main("test_durability", main)
