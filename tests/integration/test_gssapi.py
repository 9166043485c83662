"""SASL GSSAPI (Kerberos) on the client port, with kazoo's sasl_options, against Apache ZooKeeper
and zkfsd, with a real KDC (Debian's krb5-kdc) run here on a loopback port of the test's network
namespace.

The realm ZKT.TEST holds the service key zookeeper/localhost (in a keytab both servers read:
zkfsd through zkfsd.saslKeytab and Cyrus SASL's GSSAPI plugin, Apache ZooKeeper through a JAAS
Server section with Krb5LoginModule) and the user alice, whose ticket kinit puts in a cache.
Checked side by side: alice logs in and creates a node with the ACL sasl:alice@ZKT.TEST, reads it
back; an anonymous client gets NoAuth; a client without a ticket gets no session; a forged
token is refused (AuthFailed or a close). zkfsd must log the refused exchange.
"""

import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import zkt  # noqa: E402
from secutil import collect, fail_on_diffs, outcome  # noqa: E402
from zkt import check  # noqa: E402

REALM = "ZKT.TEST"
SERVICE = "zookeeper/localhost"


class GssServer(zkt.Server):
    """Apache ZooKeeper logs in from a JAAS file and finds the KDC through krb5.conf."""

    jaas = None
    krb5_conf = None

    def command(self):
        cmd = super().command()
        if self.kind == "apache":
            cmd[1:1] = ["-Djava.security.auth.login.config=" + self.jaas,
                        "-Djava.security.krb5.conf=" + self.krb5_conf]
        return cmd


def write(path, text):
    with open(path, "w") as f:
        f.write(text)
    return path


def start_kdc(d):
    """A KDC for REALM on a free loopback port; returns its process. Sets KRB5_CONFIG and
    KRB5CCNAME (alice's ticket cache) in the environment the servers and clients inherit."""
    for tool in ("krb5kdc", "kdb5_util", "kadmin.local", "kinit"):
        if not shutil.which(tool) and not os.path.exists("/usr/sbin/" + tool):
            raise zkt.Skip("%s not installed (Debian krb5-kdc, krb5-admin-server, krb5-user)"
                           % tool)
    if not os.path.exists("/usr/lib/x86_64-linux-gnu/sasl2/libgssapiv2.so"):
        raise zkt.Skip("Cyrus SASL's GSSAPI plugin not installed (libsasl2-modules-gssapi-mit)")
    port = zkt.alloc_port()
    conf = write(os.path.join(d, "krb5.conf"),
                 "[libdefaults]\n default_realm = %s\n dns_lookup_kdc = false\n"
                 " dns_lookup_realm = false\n rdns = false\n dns_canonicalize_hostname = false\n"
                 " udp_preference_limit = 1\n[realms]\n %s = {\n  kdc = 127.0.0.1:%d\n }\n"
                 % (REALM, REALM, port))
    kdc_conf = write(os.path.join(d, "kdc.conf"),
                     "[kdcdefaults]\n kdc_ports = %d\n kdc_tcp_ports = %d\n[realms]\n %s = {\n"
                     "  database_name = %s/principal\n  key_stash_file = %s/stash\n"
                     "  acl_file = %s/kadm5.acl\n }\n" % (port, port, REALM, d, d, d))
    write(os.path.join(d, "kadm5.acl"), "")
    os.environ.update(KRB5_CONFIG=conf, KRB5_KDC_PROFILE=kdc_conf,
                      KRB5CCNAME="FILE:" + os.path.join(d, "alice.cc"))
    GssServer.krb5_conf = conf
    env = dict(os.environ, PATH=os.environ["PATH"] + ":/usr/sbin")

    def run(*cmd, stdin=None):
        subprocess.run(list(cmd), input=stdin, env=env, check=True, capture_output=True,
                       text=True, timeout=60)
    run("kdb5_util", "create", "-s", "-r", REALM, "-P", "master-pw")
    keytab = os.path.join(d, "zk.keytab")
    run("kadmin.local", "-r", REALM, "-q", "addprinc -randkey %s" % SERVICE)
    run("kadmin.local", "-r", REALM, "-q", "ktadd -k %s %s" % (keytab, SERVICE))
    run("kadmin.local", "-r", REALM, "-q", "addprinc -pw alice-pw alice")
    kdc = subprocess.Popen(["krb5kdc", "-n", "-r", REALM], env=env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 30
    while True:
        try:
            run("kinit", "alice", stdin="alice-pw\n")
            break
        except subprocess.CalledProcessError:
            check(time.time() < deadline and kdc.poll() is None, "the KDC did not answer kinit")
            time.sleep(0.2)  # polling the KDC's start, with a deadline
    os.chmod(keytab, 0o644)  # read by the servers' users
    GssServer.jaas = write(os.path.join(d, "jaas.conf"),
                           "Server {\n  com.sun.security.auth.module.Krb5LoginModule required\n"
                           "  useKeyTab=true\n  keyTab=\"%s\"\n  storeKey=true\n"
                           "  useTicketCache=false\n  principal=\"%s@%s\";\n};\n"
                           % (keytab, SERVICE, REALM))
    return kdc, keytab


def kazoo(server, gssapi, timeout=10):
    from kazoo.client import KazooClient
    kw = {"sasl_options": {"mechanism": "GSSAPI", "service": "zookeeper"}} if gssapi else {}
    c = KazooClient(hosts="localhost:%d" % server.port, timeout=timeout,
                    connection_retry={"max_tries": 0}, **kw)
    c.start(timeout=timeout)
    return c


def checks(server, d, rec):
    from kazoo.security import make_acl
    alice, anon = kazoo(server, True), kazoo(server, False)
    try:
        alice.create("/g", b"hers", acl=[make_acl("sasl", "alice@" + REALM, all=True)])
        rec("alice get", outcome(lambda: alice.get("/g")))
        rec("anon get", outcome(lambda: anon.get("/g")))
        rec("anon set", outcome(lambda: anon.set("/g", b"x")))
        rec("acl", [(a.perms, a.id.scheme, a.id.id) for a in alice.get_acls("/g")[0]])
    finally:
        for c in (alice, anon):
            c.stop()
    cc = os.environ["KRB5CCNAME"]
    os.environ["KRB5CCNAME"] = "FILE:" + os.path.join(d, "nobody.cc")
    c = None
    try:
        c = kazoo(server, True, timeout=5)
        c.exists("/")
        rec("no ticket", "served")
    except Exception as e:  # noqa: B902 - any failure is the refusal
        rec("no ticket", "refused")
        zkt.log("%s: no ticket: %r" % (server.kind, e))
    finally:
        os.environ["KRB5CCNAME"] = cc
        if c is not None:
            c.stop()
    rec("forged token", forged_token(server))


def forged_token(server):
    """A sasl request (opcode 102) whose token is no GSS-API token: AuthFailed or a close."""
    raw = zkt.RawClient(server.port)
    try:
        xid = raw.request(102, zkt.Enc().buffer(b"\x60\x05forged-token").b)
        reply = raw.read_reply(xid)
        return "refused" if reply.name == "AuthFailed" else reply.name
    except (zkt.Closed, zkt.Fail, OSError):
        return "refused"
    finally:
        raw.close()


def main():
    wd = zkt.workdir("gssapi")
    d = os.path.join(wd, "krb")
    os.makedirs(d)
    kdc, keytab = start_kdc(d)
    results = {}
    try:
        for kind in zkt.kinds():
            if zkt.unavailable(kind):
                continue
            cfg = ({"zkfsd.saslKeytab": keytab,
                    "zkfsd.saslPrincipal": "%s@%s" % (SERVICE, REALM)}
                   if kind == "zkfsd" else
                   {"authProvider.1":
                    "org.apache.zookeeper.server.auth.SASLAuthenticationProvider"})
            server = GssServer(kind, wd, cfg=cfg)
            results[kind] = collect(server, lambda rec: checks(server, d, rec))
            if kind == "zkfsd":
                check("SASL authentication from" in server.log_text(),
                      "no log line for the refused GSSAPI exchange")
    finally:
        kdc.kill()
        kdc.wait()
    if "zkfsd" not in results:
        raise zkt.Skip("zkfsd not built")
    got = dict(results["zkfsd"])
    check(got["alice get"] == "OK" and got["anon get"] == "NoAuth",
          "sasl ACL over GSSAPI: %r" % got)
    check(got["no ticket"] == "refused", "a client without a ticket got a session")
    check(got["forged token"] == "refused", "a forged GSSAPI token: %r" % got["forged token"])
    fail_on_diffs(results)


if __name__ == "__main__":
    zkt.run_main("test_gssapi", main)
