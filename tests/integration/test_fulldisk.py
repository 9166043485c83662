"""zkfsd with its data dir on a file system that fills up.

The data dir is on a small ext4 image loop-mounted in the test's temp dir (72 MiB, 64 inodes;
a tmpfs of the same size if loop devices are unavailable). libraft preallocates three 8 MiB
open segments, and zkfsd refuses writes while less than 32 MiB (plus twice the last snapshot)
or 16 inodes are free (replication/raft.c), so this size leaves room to serve before the
balloon fills it. Checked, in this order:

  1. The disk fills up (a preallocated balloon file leaves 1 MiB): writes get SystemError on a
     connection that stays up (same session), a multi gets per-op results, reads keep
     working, the log says which data dir is full, and refused writes do not grow memory.
  2. The balloon is deleted: writes work again, no restart.
  3. The inodes run out (empty files): the same refusal and recovery.
  4. A full disk at startup: zkfsd exits with status 1 and a clear log line, no crash.
  5. After a restart every acknowledged write is there with its data.
No sanitizer or crash report may appear in any server log. Needs root (mount); exit 77 if not.
"""

import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import zkt  # noqa: E402
from zkt import Fail, Skip, check, wait_for  # noqa: E402

MIB = 1 << 20
FS_MIB = 72
FS_INODES = 64
REFUSED_BURST = 200  # Writes refused in a row while the memory is watched.
RSS_GROWTH_MAX_KIB = 16 << 10


def avail(path):
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


def mount_small_fs(wd):
    """A small file system at wd/mnt (unmounted at exit, after the servers are killed)."""
    mnt = os.path.join(wd, "mnt")
    img = os.path.join(wd, "fs.img")
    os.makedirs(mnt)
    with open(img, "wb") as f:
        f.truncate(FS_MIB * MIB)
    attempts = []
    if shutil.which("mkfs.ext4"):
        attempts.append((["mkfs.ext4", "-q", "-F", "-m", "0", "-N", str(FS_INODES), img],
                         ["mount", "-o", "loop", img, mnt], "ext4"))
    attempts.append((None, ["mount", "-t", "tmpfs", "-o", "size=%dm,nr_inodes=%d"
                            % (FS_MIB, FS_INODES), "tmpfs", mnt], "tmpfs"))
    for mkfs, mount, kind in attempts:
        if mkfs and subprocess.run(mkfs, capture_output=True).returncode != 0:
            continue
        if subprocess.run(mount, capture_output=True).returncode == 0:
            break
    else:
        raise Skip("cannot mount a small file system (no loop device or tmpfs)")

    def unmount():
        for s in zkt.servers():
            if s.alive():
                s.kill()
        if subprocess.run(["umount", mnt], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", mnt], capture_output=True)
    import atexit
    atexit.register(unmount)
    zkt.log("data dir on %s: %d KiB, %d inodes free" % (kind, avail(mnt) >> 10,
                                                        os.statvfs(mnt).f_favail))
    return mnt


def fill_bytes(path, leave):
    """Preallocate a file at path so that about `leave` bytes stay free."""
    for _ in range(50):
        size = avail(os.path.dirname(path)) - leave
        if size <= 0:
            return
        fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
        try:
            os.posix_fallocate(fd, 0, size)
            return
        except OSError:
            pass  # The free space moved (the server wrote meanwhile): measure again.
        finally:
            os.close(fd)
    raise Fail("could not fill the file system to %d bytes free" % leave)


def fill_inodes(d):
    os.makedirs(d)
    n = 0
    while True:
        try:
            open(os.path.join(d, "f%d" % n), "w").close()
        except OSError:
            return n
        n += 1


def rss_kib(server):
    with open("/proc/%d/status" % server.proc.pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class Writer:
    """Creates /d/<tag>-N with known data; remembers what was acknowledged."""

    def __init__(self, client):
        self.k = client
        self.acked = {}
        self.n = 0

    def try_create(self, tag):
        """True if acknowledged, False if refused with SystemError; anything else fails."""
        from kazoo.exceptions import SystemZookeeperError
        self.n += 1
        path = "/d/%s-%05d" % (tag, self.n)
        data = path.encode() * 4
        try:
            self.k.create(path, data)
        except SystemZookeeperError:
            return False
        self.acked[path] = data
        return True

    def until_refused(self, tag):
        wait_for(lambda: not self.try_create(tag), 15, "a write refused with SystemError")

    def until_accepted(self, tag):
        wait_for(lambda: self.try_create(tag), 15, "writes accepted again")


def check_refusing(server, w, log_from, what):
    """While the disk is full: errors, reads, session, log lines and memory."""
    from kazoo.exceptions import SystemZookeeperError
    k = w.k
    session = k.client_id
    t0 = time.monotonic()
    rss0 = rss_kib(server)
    for _ in range(REFUSED_BURST):
        check(not w.try_create("refused"), "a write was acknowledged on a full disk")
    rss1 = rss_kib(server)
    zkt.log("%s: %d writes refused in %.2f s, RSS %d -> %d KiB"
            % (what, REFUSED_BURST, time.monotonic() - t0, rss0, rss1))
    check(rss1 - rss0 < RSS_GROWTH_MAX_KIB, "RSS grew by %d KiB over %d refused writes"
          % (rss1 - rss0, REFUSED_BURST))
    t = k.transaction()
    t.create("/d/multi-a", b"a")
    t.create("/d/multi-b", b"b")
    res = t.commit()
    check(len(res) == 2 and isinstance(res[0], SystemZookeeperError),
          "a multi on a full disk gave %r" % (res,))
    check(not k.exists("/d/multi-a"), "a refused multi left a node")
    some = sorted(w.acked)[0]
    check(k.get(some)[0] == w.acked[some], "read of %s on a full disk" % some)
    check(len(k.get_children("/d")) == len(w.acked), "children of /d on a full disk")
    check(k.client_id == session and k.connected, "the session or connection changed")
    check(server.alive(), "zkfsd exited on a full disk")
    text = server.log_since(log_from)
    check(server.data in text and "refused (disk full" in text,
          "no log line naming the full data dir %s:\n%s" % (server.data, text[-2000:]))
    check("refused: the data dir %s is full" % server.data in text,
          "no log line for the refused requests")


def body():
    if os.geteuid() != 0:
        raise Skip("needs root to mount a small file system")
    if not zkt.zkfsd_built():
        raise Skip("zkfsd not built at %s" % zkt.ZKFSD)
    wd = zkt.workdir("fulldisk")
    mnt = mount_small_fs(wd)
    server = zkt.Server("zkfsd", wd)
    server.data = os.path.join(mnt, "data")
    server.start()
    k = zkt.kazoo_client(server)
    k.ensure_path("/d")
    w = Writer(k)
    for _ in range(20):
        check(w.try_create("before"), "a write was refused with %d KiB free" % (avail(mnt) >> 10))

    # 1-2: bytes.
    balloon = os.path.join(mnt, "balloon")
    log_from = server.log_size()
    fill_bytes(balloon, MIB)
    w.until_refused("filling")
    check_refusing(server, w, log_from, "no space")
    os.unlink(balloon)
    w.until_accepted("freed")
    check("writes accepted again" in server.log_since(log_from), "no log line on recovery")

    # 3: inodes.
    log_from = server.log_size()
    n = fill_inodes(os.path.join(mnt, "inodes"))
    zkt.log("%d empty files took the free inodes" % n)
    w.until_refused("inodes")
    check_refusing(server, w, log_from, "no inodes")
    shutil.rmtree(os.path.join(mnt, "inodes"))
    w.until_accepted("inodes-freed")
    k.stop()
    k.close()

    # 4: a full disk at startup.
    check(server.stop() == 0, "zkfsd did not exit 0 on SIGTERM")
    fill_bytes(balloon, 0)
    log_from = server.log_size()
    server.start(wait=False)
    try:
        server.proc.wait(20)
    except subprocess.TimeoutExpired:
        raise Fail("zkfsd kept running on a full disk at startup")
    rc = server.proc.returncode
    server.proc = None
    text = server.log_since(log_from)
    zkt.log("full disk at startup: exit %d, %s" % (rc, [ln for ln in text.splitlines()
                                                        if "ERROR" in ln][-1:]))
    check(rc == 1, "zkfsd exited with %d on a full disk at startup (want 1)" % rc)
    check("cannot start" in text and "disk full" in text and server.data in text,
          "no clear log line for the full disk at startup:\n%s" % text[-2000:])
    os.unlink(balloon)

    # 5: everything acknowledged is there after a restart.
    server.start()
    k = w.k = zkt.kazoo_client(server)
    kids = set(k.get_children("/d"))
    missing = [p for p in w.acked if p.rsplit("/", 1)[1] not in kids]
    check(not missing, "%d acknowledged writes missing after restart: %r"
          % (len(missing), missing[:5]))
    wrong = [p for p, d in w.acked.items() if k.get(p)[0] != d]
    check(not wrong, "wrong data after restart: %r" % wrong[:5])
    check(len(kids) == len(w.acked), "%d nodes under /d, %d acknowledged"
          % (len(kids), len(w.acked)))
    check(w.try_create("restarted"), "a write after the restart was refused")
    k.stop()
    k.close()
    check(server.stop() == 0, "zkfsd did not exit 0 on SIGTERM")
    reports = zkt.sanitizer_reports()
    check(not reports, "sanitizer or crash report: %r" % reports)
    zkt.log("%d acknowledged writes all present after restart" % len(w.acked))


if __name__ == "__main__":
    zkt.run_main("test_fulldisk", body)
