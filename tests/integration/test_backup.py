#!/usr/bin/python3
"""Online backup and restore (issue 15).

A zkfsd with the AdminServer (whitelist "*") under a write load of one kazoo client creating
nodes as fast as it can:
  - `zkfs-cli backup` (the first host refuses connections: the next is tried) writes a file
    whose CRCs it verified; its zxid is the one the server reports in `last_zxid`;
  - `zkfsd restore --from FILE --data-dir NEW` makes a data dir; a zkfsd started on it serves
    exactly the source's nodes created at or before that zxid (path, data, czxid, mzxid,
    version, for every node of the load), its dgst shows that zxid, and new writes get larger
    zxids;
  - once the load has stopped, a second backup restored the same way has the source's dgst
    (zxid and digest equal);
  - restore refuses a non-empty data dir and a damaged file (a flipped byte: the CRC mismatch is
    reported with the block's byte offset), exit status 1, and leaves the dir empty;
  - `zkfs-cli backup` refuses a damaged answer (served by a test HTTP server) with the byte
    offset and leaves no file.
"""
import http.server
import os
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import zkt  # noqa: E402

CLI = os.path.join(zkt.TOP_BUILDDIR, "tools", "zkfs-cli")


def run(*args):
    p = subprocess.run(list(args), capture_output=True, text=True, timeout=60)
    zkt.log("$ %s -> %d\n%s%s" % (" ".join(args), p.returncode, p.stdout, p.stderr))
    return p


def backup(admin_port, path):
    dead = zkt.alloc_port()  # Nothing listens there: the CLI goes on to the next host.
    p = run(CLI, "backup", "127.0.0.1:%d,127.0.0.1:%d" % (dead, admin_port), path)
    zkt.check(p.returncode == 0, "zkfs-cli backup failed: %s" % p.stderr)
    with open(path, "rb") as f:
        head = f.read(28)
    zkt.check(head[:8] == b"ZKFSBAK1", "not a backup file")
    return int.from_bytes(head[8:16], "big")


def restore(path, work, name):
    data = os.path.join(work, name)
    p = run(zkt.ZKFSD, "restore", "--from", path, "--data-dir", data)
    zkt.check(p.returncode == 0, "restore failed: %s" % p.stderr)
    s = zkt.Server("zkfsd", work)
    s.data = data
    return s.start()


def dgst(server):
    return zkt.four_lw(server.port, "dgst").split()


def tree(zk, below):
    out = {}
    for name in zk.get_children(below):
        data, st = zk.get(below + "/" + name)
        out[name] = (data, st.czxid, st.mzxid, st.version)
    return out


def body():
    work = zkt.workdir("backup")
    admin = zkt.alloc_port()
    src = zkt.Server("zkfsd", work, cfg={"admin.enableServer": "true",
                                          "admin.serverAddress": "127.0.0.1",
                                          "admin.serverPort": str(admin),
                                          "4lw.commands.whitelist": "*"}).start()
    zk = zkt.kazoo_client(src)
    zk.ensure_path("/load")
    stop = threading.Event()
    made = []

    def load():
        lz = zkt.kazoo_client(src)
        i = 0
        while not stop.is_set():
            lz.create("/load/n%06d" % i, b"d%d" % i)
            made.append(i)
            i += 1
        lz.stop()

    t = threading.Thread(target=load)
    t.start()
    zkt.wait_for(lambda: len(made) >= 100, 30, "100 writes of the load")
    f1 = os.path.join(work, "b1.zkb")
    z1 = backup(admin, f1)
    n = len(made)
    zkt.wait_for(lambda: len(made) >= n + 50, 30, "50 more writes after the backup")
    stop.set()
    t.join(30)
    zkt.log("load: %d creates; backup 1 at zxid 0x%x" % (len(made), z1))

    r1 = restore(f1, work, "r1")
    zkt.check(dgst(r1)[1] == "0x%x" % z1, "restored dgst %s, backup zxid 0x%x" % (dgst(r1), z1))
    zr = zkt.kazoo_client(r1)
    want = {k: v for k, v in tree(zk, "/load").items() if v[1] <= z1}
    got = tree(zr, "/load")
    zkt.check(0 < len(want) < len(made), "backup 1 should hold part of the load: %d of %d"
              % (len(want), len(made)))
    zkt.check(got == want, "restored tree differs from the source's at zxid 0x%x: %d nodes, "
              "expected %d" % (z1, len(got), len(want)))
    _, st = zr.create("/after-restore", b""), zr.exists("/after-restore")
    zkt.check(st.czxid > z1, "a new write got zxid %d <= the backup's %d" % (st.czxid, z1))
    zr.stop()
    zkt.log("restore 1: %d nodes of the load equal the source's at zxid 0x%x" % (len(got), z1))

    # Quiet source: the restored server's digest is the source's.
    f2 = os.path.join(work, "b2.zkb")
    z2 = backup(admin, f2)
    r2 = restore(f2, work, "r2")
    zkt.check(dgst(r2) == dgst(src), "digest after restore %s, source %s" % (dgst(r2),
                                                                          dgst(src)))
    zkt.log("restore 2: dgst %s equals the source's (zxid 0x%x)" % (" ".join(dgst(r2)), z2))

    # Refusals.
    p = run(zkt.ZKFSD, "restore", "--from", f2, "--data-dir", r2.data)
    zkt.check(p.returncode == 1 and "not empty" in p.stderr, "non-empty dir not refused")
    with open(f2, "rb") as f:
        raw = bytearray(f.read())
    raw[100] ^= 0xff
    bad = os.path.join(work, "bad.zkb")
    with open(bad, "wb") as f:
        f.write(raw)
    empty = os.path.join(work, "r3")
    p = run(zkt.ZKFSD, "restore", "--from", bad, "--data-dir", empty)
    zkt.check(p.returncode == 1 and "CRC mismatch in the block at byte 28" in p.stderr,
              "damaged backup not refused with its offset: %s" % p.stderr)
    zkt.check(not os.path.exists(empty) or not os.listdir(empty), "refused restore wrote files")

    class Damaged(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(bytes(raw))

        def log_message(self, *a):
            pass

    port = zkt.alloc_port()
    httpd = http.server.HTTPServer(("127.0.0.1", port), Damaged)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    out = os.path.join(work, "cli-bad.zkb")
    p = run(CLI, "backup", "127.0.0.1:%d" % port, out)
    httpd.shutdown()
    zkt.check(p.returncode != 0 and "CRC mismatch in the block at byte 28" in p.stderr,
              "zkfs-cli accepted a damaged backup: %s" % p.stderr)
    zkt.check(not os.path.exists(out) and not os.path.exists(out + ".part"),
              "zkfs-cli left a damaged file")
    zk.stop()


zkt.run_main("test_backup", body)
