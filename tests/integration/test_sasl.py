"""SASL DIGEST-MD5 on the client port, with kazoo's sasl_options, against Apache ZooKeeper and
zkfsd.

zkfsd takes its users from a Cyrus sasldb file (zkfsd.saslDb, made here with saslpasswd2 in
realm zk-sasl-md5); Apache ZooKeeper from a JAAS file with DigestLoginModule and
authProvider.1=SASLAuthenticationProvider. Checked side by side: alice logs in and creates a
node with the ACL sasl:alice, reads it back; bob (logged in too) and an anonymous client get
NoAuth; a wrong password fails to connect. zkfsd must log the refused exchange.
"""

import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import zkt  # noqa: E402
from secutil import collect, fail_on_diffs, outcome  # noqa: E402
from zkt import check  # noqa: E402

USERS = {"alice": "alice-pw", "bob": "bob-pw"}


class SaslServer(zkt.Server):
    """Apache ZooKeeper reads its SASL users from a JAAS file named by a system property."""

    jaas = None

    def command(self):
        cmd = super().command()
        if self.kind == "apache":
            cmd.insert(1, "-Djava.security.auth.login.config=" + self.jaas)
        return cmd


def make_users(d):
    if not shutil.which("saslpasswd2"):
        raise zkt.Skip("saslpasswd2 not installed (Debian sasl2-bin)")
    db = os.path.join(d, "sasldb2")
    for user, pw in USERS.items():
        subprocess.run(["saslpasswd2", "-p", "-f", db, "-u", "zk-sasl-md5", "-c", user],
                       input=pw.encode(), check=True)
    jaas = os.path.join(d, "jaas.conf")
    with open(jaas, "w") as f:
        f.write("Server {\n  org.apache.zookeeper.server.auth.DigestLoginModule required\n")
        f.write("".join('  user_%s="%s"\n' % kv for kv in USERS.items()) + ";\n};\n")
    return db, jaas


def kazoo(server, user=None, pw=None, timeout=10):
    from kazoo.client import KazooClient
    kw = {}
    if user:
        kw["sasl_options"] = {"mechanism": "DIGEST-MD5", "username": user, "password": pw}
    c = KazooClient(hosts=server.hosts(), timeout=timeout,
                    connection_retry={"max_tries": 0}, **kw)
    c.start(timeout=timeout)
    return c


def checks(server, rec):
    from kazoo.security import make_acl
    alice, bob, anon = (kazoo(server, "alice", USERS["alice"]), kazoo(server, "bob", "bob-pw"),
                        kazoo(server))
    try:
        alice.create("/s", b"hers", acl=[make_acl("sasl", "alice", all=True)])
        rec("alice get", outcome(lambda: alice.get("/s")))
        rec("bob get", outcome(lambda: bob.get("/s")))
        rec("anon get", outcome(lambda: anon.get("/s")))
        rec("anon set", outcome(lambda: anon.set("/s", b"x")))
        rec("acl", [(a.perms, a.id.scheme, a.id.id) for a in alice.get_acls("/s")[0]])
    finally:
        for c in (alice, bob, anon):
            c.stop()
    # kazoo's start() may return before the exchange fails: a request shows the outcome.
    c = None
    try:
        c = kazoo(server, "alice", "wrong", timeout=5)
        c.exists("/")
        rec("wrong password", "served")
    except Exception as e:  # noqa: B902 - any failure is the refusal
        rec("wrong password", "refused")
        zkt.log("%s: wrong password: %r" % (server.kind, e))
    finally:
        if c is not None:
            c.stop()


def main():
    wd = zkt.workdir("sasl")
    db, SaslServer.jaas = make_users(wd)
    results = {}
    for kind in zkt.kinds():
        if zkt.unavailable(kind):
            continue
        cfg = {"zkfsd.saslDb": db} if kind == "zkfsd" else {
            "authProvider.1": "org.apache.zookeeper.server.auth.SASLAuthenticationProvider"}
        server = SaslServer(kind, wd, cfg=cfg)
        results[kind] = collect(server, lambda rec: checks(server, rec))
        if kind == "zkfsd":
            check("SASL authentication from" in server.log_text(),
                  "no log line for the refused SASL exchange")
            check("alice-pw" not in server.log_text(), "a password reached the log")
    if "zkfsd" not in results:
        raise zkt.Skip("zkfsd not built")
    got = dict(results["zkfsd"])
    check(got["alice get"] == "OK" and got["anon get"] == "NoAuth" and
          got["bob get"] == "NoAuth", "sasl ACL: %r" % got)
    check(got["wrong password"] == "refused", "a wrong SASL password connected")
    fail_on_diffs(results)


if __name__ == "__main__":
    zkt.run_main("test_sasl", main)
