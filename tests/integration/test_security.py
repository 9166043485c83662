"""ACLs, authentication and the client port's secrets, against Apache ZooKeeper and zkfsd.

The ACL matrix: nodes whose ACL grants one permission (READ, WRITE, CREATE, DELETE, ADMIN) to
one id (world:anyone, digest alice, auth of alice, ip 127.0.0.0/8, ip 10.0.0.0/8), a node
that grants nothing and one readable by all and administered by alice and bob, each read and written by four clients (anonymous, alice, bob, the super
user) with every operation ZooKeeper checks or does not check (getData, exists, getChildren,
getChildren2, getAllChildrenNumber, getACL with its masked digests, setData, create, delete,
setACL, check and setData inside a multi, multiRead, sync, addWatch, getEphemerals); every
outcome is compared with Apache ZooKeeper 3.8's. Then skipACL=yes, kazoo's CREATOR_ALL_ACL, and
absolute checks that fail on a server that does not enforce ACLs.

zkfsd alone (Apache ZooKeeper differs on purpose, said at each): a wrong session password
leaves the session's live connection alone; the default four-letter-word whitelist; no secret
in the log, a log file of mode 0640, a pid file never written through a symlink; the cap on
auth ids per connection.
"""

import base64
import hashlib
import os
import stat
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import zkt  # noqa: E402
from zkt import Closed, Enc, Fail, RawClient, check, wait_for  # noqa: E402

READ, WRITE, CREATE, DELETE, ADMIN = 1, 2, 4, 8, 16
PERMS = {"r": READ, "w": WRITE, "c": CREATE, "d": DELETE, "a": ADMIN}
SUPER_PASS = "s3cret-super"
ALICE, BOB = "alice:alice-pw", "bob:bob-pw"


def digest_id(auth):
    user = auth.split(":", 1)[0]
    return "%s:%s" % (user, base64.b64encode(hashlib.sha1(auth.encode()).digest()).decode())


SUPER_DIGEST = digest_id("super:" + SUPER_PASS)


def kind_cfg(kind, extra=None):
    """superDigest for both servers: zkfsd's key, or Apache's system property (zoo.cfg keys it
    does not know become zookeeper.<key> properties)."""
    cfg = {"superDigest" if kind == "zkfsd"
           else "DigestAuthenticationProvider.superDigest": SUPER_DIGEST}
    cfg.update(extra or {})
    return cfg


def auth(c, scheme, data):
    """Send an auth packet; returns the error name of its answer ('CLOSED' if none)."""
    body = Enc().int(0).string(scheme).buffer(data.encode() if isinstance(data, str)
                                               else data).b
    try:
        c.request(100, body, xid=-4)
        return c.read_reply(-4).name
    except Closed:
        return "CLOSED"


def client(server, who):
    c = RawClient(server.port)
    if who == "alice":
        check(auth(c, "digest", ALICE) == "OK", "alice's auth failed")
    elif who == "bob":
        check(auth(c, "digest", BOB) == "OK", "bob's auth failed")
    elif who == "super":
        check(auth(c, "digest", "super:" + SUPER_PASS) == "OK", "super's auth failed")
    return c


def acl_for(scheme, bits):
    if scheme == "world":
        return [(bits, "world", "anyone")]
    if scheme == "digest":
        return [(bits, "digest", digest_id(ALICE))]
    if scheme == "auth":
        return [(bits, "auth", "")]
    if scheme == "ipin":
        return [(bits, "ip", "127.0.0.0/8")]
    if scheme == "ipout":
        return [(bits, "ip", "10.0.0.0/8")]
    if scheme == "mixed":
        return [(READ, "world", "anyone"), (31, "digest", digest_id(ALICE)),
                (31, "digest", digest_id(BOB))]
    return [(0, "world", "anyone")]


NODES = [(s, p) for s in ("world", "digest", "auth", "ipin", "ipout") for p in "rwcda"]
NODES += [("none", "-"), ("mixed", "-")]


def setup_tree(server):
    """/m/<scheme>-<perm> with a child c (open), then the node's ACL set (as alice, so that
    "auth" expands to her)."""
    a = client(server, "alice")
    check(a.create("/m")[0] == "OK", "create /m")
    for scheme, p in NODES:
        path = "/m/%s-%s" % (scheme, p)
        check(a.create(path, b"data")[0] == "OK", "create " + path)
        check(a.create(path + "/c")[0] == "OK", "create %s/c" % path)
        check(a.create(path + "/e%d" % 0)[0] == "OK", "create %s/e0" % path)
        err = a.set_acl(path, acl_for(scheme, PERMS.get(p, 0)))[0]
        check(err == "OK", "setACL %s: %s" % (path, err))
    a.close()


def acl_rows(c, who, path, rec):
    """Every operation of @who on @path; records the outcome of each."""
    lab = "%s %s " % (who, path)
    name, r = c.get(path)
    rec(lab + "getData", name if r is None else (name, r[0]))
    rec(lab + "exists", c.exists(path)[0])
    rec(lab + "exists+watch", c.exists(path, watch=True)[0])
    rec(lab + "getData+watch", c.get(path, watch=True)[0])
    rec(lab + "getChildren", c.children(path, two=False)[0])
    name, r = c.children(path)
    rec(lab + "getChildren2", name if r is None else (name, sorted(r[0])))
    rec(lab + "getAllChildrenNumber", c.all_children_number(path))
    name, r = c.get_acl(path)
    rec(lab + "getACL", name if r is None else (name, sorted(r[0])))
    rec(lab + "setData", c.set(path, b"x")[0])
    rec(lab + "create", c.create(path + "/n-" + who)[0])
    rec(lab + "multi check", c.multi([("check", path, -1)]))
    rec(lab + "multi setData", c.multi([("set", path, b"y", -1)]))
    rec(lab + "multiRead", c.multi([("getData", path), ("getChildren", path)], read=True))
    rec(lab + "sync", c.sync(path)[0])
    rec(lab + "addWatch", c.add_watch(path, 0)[0])
    rec(lab + "getEphemerals", c.ephemerals(path)[0])
    rec(lab + "delete child", c.delete(path + "/e0")[0])
    rec(lab + "setACL", c.set_acl(path, [(31, "world", "anyone")], version=0)[0])


def matrix(server, rec):
    setup_tree(server)
    clients = {w: client(server, w) for w in ("anon", "alice", "bob", "super")}
    # The super user goes last: its writes (setACL opens the node) would change the others'.
    for who in ("anon", "bob", "alice", "super"):
        for scheme, p in NODES:
            acl_rows(clients[who], who, "/m/%s-%s" % (scheme, p), rec)
    for c in clients.values():
        c.close()


def absolute_checks(server):
    """What fails on a server that does not enforce ACLs, whatever Apache says."""
    a, anon = client(server, "alice"), client(server, "anon")
    check(a.create("/secret", b"s", acl=[(31, "digest", digest_id(ALICE))])[0] == "OK",
          "alice creates /secret")
    check(anon.get("/secret")[0] == "NoAuth", "an anonymous client read a digest node")
    check(anon.set("/secret", b"x")[0] == "NoAuth", "an anonymous client overwrote it")
    check(anon.set_acl("/secret", [(31, "world", "anyone")])[0] == "NoAuth",
          "an anonymous client re-ACLed it")
    check(a.create("/secret/c")[0] == "OK", "alice creates /secret/c")
    check(anon.delete("/secret/c")[0] == "NoAuth", "an anonymous client deleted its child")
    check(a.create("/nothing", acl=[(0, "world", "anyone")])[0] == "OK", "create /nothing")
    check(anon.get("/nothing")[0] == "NoAuth", "read a node that grants nothing")
    check(a.get("/secret")[0] == "OK", "alice reads her node")
    a.close()
    anon.close()


def kazoo_checks(server, rec):
    """kazoo's CREATOR_ALL_ACL ("auth" with an empty id) and a digest ACL made by kazoo."""
    from kazoo.exceptions import NoAuthError
    from kazoo.security import CREATOR_ALL_ACL
    kc = zkt.kazoo_client(server, auth_data=[("digest", ALICE)])
    anon = zkt.kazoo_client(server)
    try:
        kc.create("/k", b"mine", acl=CREATOR_ALL_ACL)
        rec("kazoo CREATOR_ALL_ACL", [(a.perms, a.id.scheme, a.id.id)
                                      for a in kc.get_acls("/k")[0]])
        try:
            anon.get("/k")
            rec("kazoo anon get", "OK")
        except NoAuthError:
            rec("kazoo anon get", "NoAuth")
        rec("kazoo alice get", kc.get("/k")[0])
    finally:
        kc.stop()
        anon.stop()


def skip_acl(server, rec):
    a, anon = client(server, "alice"), client(server, "anon")
    a.create("/s", b"s", acl=[(READ, "digest", digest_id(ALICE))])
    rec("skipACL anon getData", anon.get("/s")[0])
    rec("skipACL anon setData", anon.set("/s", b"t")[0])
    rec("skipACL anon delete", anon.delete("/s")[0])
    a.close()
    anon.close()


def run_both(name, wd, body, extra=None):
    """body(server, rec) on each kind; returns the differences from Apache ZooKeeper."""
    results = {}
    for kind in zkt.kinds():
        if zkt.unavailable(kind):
            zkt.log("%s: skipped %s: %s" % (name, kind, zkt.unavailable(kind)))
            continue
        rows = []
        server = zkt.Server(kind, wd, cfg=kind_cfg(kind, extra))
        server.start()
        try:
            body(server, lambda label, value: rows.append((label, value)))
        finally:
            rc = server.stop()
            check(kind != "zkfsd" or not rc, "zkfsd exited with status %s" % rc)
            report = server.sanitizer_report()
            check(report is None, "%s: %s" % (kind, report))
        results[kind] = rows
        if kind == "zkfsd" and os.environ.get("ZKT_VERBOSE"):
            for label, value in rows:
                zkt.log("  %s = %r" % (label, value))
    diffs = zkt.compare_results(results)
    for d in diffs:
        zkt.log("DIFF " + d)
    zkt.log("%s: %s, %d results each, %d differences" % (
        name, " and ".join(results), len(next(iter(results.values()), [])), len(diffs)))
    return diffs


# ---- zkfsd alone --------------------------------------------------------------------------

def wrong_password_keeps_owner(server):
    """Apache ZooKeeper 3.8 closes the session's connection before it checks the password
    (processConnectRequest: closeSession, then reopenSession); zkfsd checks first."""
    owner = RawClient(server.port)
    check(owner.create("/lock", mode="ephemeral")[0] == "OK", "owner's ephemeral")
    bad = owner.passwd[:-1] + bytes([owner.passwd[-1] ^ 1])
    thief = RawClient(server.port, handshake=False)
    thief.connect(10000, session_id=owner.session_id, passwd=bad)
    check(thief.session_id == 0, "a wrong password was accepted")
    check(thief.is_closed(wait=2.0), "the refused connection stays open")
    check(owner.exists("/lock")[0] == "OK", "the owner's connection was closed by a wrong "
          "password")
    owner.close()


def fourlw_whitelist(server):
    check(zkt.four_lw(server.port, "ruok") == "imok", "ruok")
    for w in ("srvr", "mntr", "conf", "dgst"):
        check("not in the whitelist" not in zkt.four_lw(server.port, w), w + " refused")
    for w in ("cons", "dump", "wchc", "wchp", "envi"):
        check("is not executed because it is not in the whitelist" in zkt.four_lw(server.port,
                                                                                  w),
              "%s is answered by default" % w)


def secrets_not_logged(server, logfile):
    c = RawClient(server.port)
    c.create("/x")
    # A malformed auth packet: the scheme is there, the auth buffer is cut short.
    body = Enc().int(-4).int(100).int(0).string("digest").b + struct.pack(">i", 64) + \
        b"hunter2-auth-password"
    c.send_frame(body)
    try:
        c.read_reply(-4)
    except Closed:
        pass
    c.close()
    # A ConnectRequest whose password field runs past the frame.
    raw = RawClient(server.port, handshake=False)
    body = Enc().int(0).long(0).int(10000).long(0x1234).b + struct.pack(">i", 64) + \
        b"hunter3-session-pass"
    raw.send_frame(body)
    check(raw.is_closed(wait=5.0), "a malformed ConnectRequest was not refused")
    raw.close()
    # Ten valid auth packets with a password, then one over the cap of the length.
    c = RawClient(server.port)
    check(auth(c, "digest", "carol:hunter4-valid") == "OK", "carol's auth")
    check(auth(c, "digest", "dave:" + "p" * 2000) == "AuthFailed",
          "auth data over the length cap accepted")
    c.close()
    d = RawClient(server.port)
    answers = [auth(d, "digest", "u%d:pw" % i) for i in range(17)]
    check(answers[:16] == ["OK"] * 16 and answers[16] in ("AuthFailed", "CLOSED"),
          "the 17th auth id of a connection was not refused: %r" % answers[-3:])
    d.close()
    wait_for(lambda: "refused: more than" in open(logfile, errors="replace").read(), 10,
             "the refused auth logged")
    text = open(logfile, "rb").read()
    for secret in (b"hunter2", b"hunter3", b"hunter4", "hunter2".encode().hex().encode()[:8]):
        check(secret not in text, "a secret reached the log: %r" % secret)
    mode = stat.S_IMODE(os.stat(logfile).st_mode)
    check(mode & 0o137 == 0, "log file mode %o, want 0640 or less" % mode)


def pid_file_symlink(wd):
    target = os.path.join(wd, "victim")
    with open(target, "w") as f:
        f.write("precious\n")
    link = os.path.join(wd, "zkfsd.pid")
    os.symlink(target, link)
    server = zkt.Server("zkfsd", wd, args=["--pid-file", link])
    server.start(wait=False)
    wait_for(lambda: not server.alive() or server.ready(), 20, "zkfsd to exit or serve")
    if server.alive():
        server.stop()
    else:
        server.proc = None  # It refused to start, as it should: nothing to stop.
    check(open(target).read() == "precious\n", "the pid file was written through a symlink")
    check("pid file" in server.log_text(), "no log line about the refused pid file")


def main():
    wd = zkt.workdir("security")
    diffs = run_both("acl matrix", wd, lambda s, rec: (matrix(s, rec), absolute_checks(s),
                                                      kazoo_checks(s, rec)))
    diffs += run_both("skipACL", wd, skip_acl, {"skipACL": "yes"})
    if zkt.unavailable("zkfsd"):
        raise zkt.Skip(zkt.unavailable("zkfsd"))
    logfile = os.path.join(wd, "zkfsd-own.log")
    server = zkt.Server("zkfsd", wd, args=["--log-file", logfile])
    server.start()
    try:
        wrong_password_keeps_owner(server)
        fourlw_whitelist(server)
        secrets_not_logged(server, logfile)
    finally:
        check(not server.stop(), "zkfsd exited badly")
    pid_file_symlink(wd)
    if diffs:
        raise Fail("%d differences from Apache ZooKeeper" % len(diffs))


if __name__ == "__main__":
    zkt.run_main("test_security", main)
