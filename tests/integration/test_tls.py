"""TLS on the client port (secureClientPort, PEM stores), against Apache ZooKeeper and zkfsd.

Certificates are made here with the openssl command: a CA, the server's (SAN 127.0.0.1),
clients alice and bob, and a client signed by another CA. Each server keeps its plain port and
adds a secure one (ssl.clientAuth=need, ZooKeeper's default). Checked side by side with kazoo
(use_ssl, certfile, keyfile, ca) and raw frames over an ssl socket: writes and reads over TLS,
whoAmI's x509 id (the client certificate's subject DN), an x509 ACL that lets alice in and bob
not, four-letter words on the secure port, and the refusals of a client without a certificate,
with one from another CA, and of a plain client on the secure port. Then Apache ZooKeeper's own
Java client (ZooKeeperMain, zkCli's class) with zookeeper.client.secure=true, the Netty socket
and PEM key and trust stores (zookeeper.ssl.*, as Debian's 3.8 takes them): a create, a read,
whoami (its x509 id) and the x509-protected node; then the same client with a certificate of
another CA, which must not get a session.
"""

import os
import re
import socket
import ssl
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import zkt  # noqa: E402
from secutil import fail_on_diffs  # noqa: E402
from zkt import Fail, RawClient, check  # noqa: E402


def openssl(*args, cwd):
    subprocess.run(["openssl"] + list(args), cwd=cwd, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)


def make_cert(d, name, subj, ca, san=None):
    """name.key + name.crt signed by ca (or self-signed when ca is None); name.pem = key+cert."""
    openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out",
            name + ".key", cwd=d)
    ext = os.path.join(d, name + ".ext")
    with open(ext, "w") as f:
        f.write("basicConstraints=CA:%s\n" % ("TRUE" if ca is None else "FALSE"))
        if san:
            f.write("subjectAltName=%s\n" % san)
    if ca is None:
        openssl("req", "-x509", "-new", "-key", name + ".key", "-subj", subj, "-days", "2",
                "-out", name + ".crt", "-addext", "basicConstraints=critical,CA:TRUE", cwd=d)
    else:
        openssl("req", "-new", "-key", name + ".key", "-subj", subj, "-out", name + ".csr", cwd=d)
        openssl("x509", "-req", "-in", name + ".csr", "-CA", ca + ".crt", "-CAkey", ca + ".key",
                "-CAcreateserial", "-days", "2", "-extfile", ext, "-out", name + ".crt", cwd=d)
    with open(os.path.join(d, name + ".pem"), "w") as out:
        for part in (".key", ".crt"):
            out.write(open(os.path.join(d, name + part)).read())


def make_pki(d):
    make_cert(d, "ca", "/O=zkt/CN=zkt test CA", None)
    make_cert(d, "other-ca", "/O=evil/CN=other CA", None)
    make_cert(d, "server", "/O=zkt/CN=localhost", "ca", "IP:127.0.0.1,DNS:localhost")
    make_cert(d, "alice", "/O=zkt/CN=alice", "ca")
    make_cert(d, "bob", "/O=zkt/CN=bob", "ca")
    make_cert(d, "mallory", "/O=zkt/CN=alice", "other-ca")


def tls_cfg(kind, d, port):
    cfg = {"secureClientPort": port,
           "ssl.keyStore.location": os.path.join(d, "server.pem"), "ssl.keyStore.type": "PEM",
           "ssl.trustStore.location": os.path.join(d, "ca.crt"), "ssl.trustStore.type": "PEM"}
    if kind == "apache":
        cfg["serverCnxnFactory"] = "org.apache.zookeeper.server.NettyServerCnxnFactory"
        cfg["authProvider.x509"] = "org.apache.zookeeper.server.auth.X509AuthenticationProvider"
    return cfg


NETTY = ":".join("/usr/share/java/netty-%s.jar" % m for m in
                 ("buffer", "codec", "common", "handler", "resolver", "transport"))


class TlsServer(zkt.Server):
    """Apache ZooKeeper's secure port needs Netty, which its jar's manifest does not list."""

    def command(self):
        cmd = super().command()
        if self.kind == "apache":
            i = cmd.index("-cp") + 1
            cmd[i] += ":" + NETTY
        return cmd


class TlsRaw(RawClient):
    """RawClient over TLS with the client certificate @who (None: no certificate)."""

    def __init__(self, port, d, who, ca="ca"):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.load_verify_locations(os.path.join(d, ca + ".crt"))
        ctx.check_hostname = False
        if who:
            ctx.load_cert_chain(os.path.join(d, who + ".crt"), os.path.join(d, who + ".key"))
        raw = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.sock = ctx.wrap_socket(raw)
        self.port, self.rbuf, self.xid, self.events, self.trace = port, b"", 0, [], []
        self.session_id, self.passwd, self.negotiated, self.last_zxid = 0, b"", 0, 0
        self.connect(10000)


def refused(port, d, who, ca="ca"):
    """How a client with certificate @who (None: none) fares on the secure port."""
    try:
        c = TlsRaw(port, d, who, ca)
        c.close()
        return "served"
    except (ssl.SSLError, OSError, zkt.Closed, Fail):
        return "refused"


def four_lw_tls(port, d, word):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(os.path.join(d, "ca.crt"))
    ctx.check_hostname = False
    ctx.load_cert_chain(os.path.join(d, "alice.crt"), os.path.join(d, "alice.key"))
    with ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=10)) as s:
        s.sendall(word.encode())
        out = b""
        while True:
            try:
                b = s.recv(4096)
            except (ssl.SSLError, OSError):
                break
            if not b:
                break
            out += b
        return out.decode(errors="replace")


JAVA_SCRIPT = "create /jtls data\nget /jtls\nwhoami\nget /x\nquit\n"
# Lines of no interest or that differ by run: log lines, prompts, the connection's events.
JAVA_DROP = re.compile(r"^\d{4}-\d\d-\d\d|^\s+at |^WATCHER::$|^WatchedEvent|^Connecting to |"
                       r"^Welcome to ZooKeeper|^JLine support|^\[zk: |^$|^SLF4J: |^WARNING: |"
                       r"^[A-Z][a-z]{2} \d\d, \d{4} ")


def java_tls(sport, d, who):
    """Apache ZooKeeper's Java client over TLS with the certificate @who: its output lines of
    interest, sorted (None when Debian's zookeeper is not installed)."""
    jar = "/usr/share/java/zookeeper.jar"
    if not os.path.exists(jar):
        return None
    props = {"zookeeper.client.secure": "true",
             "zookeeper.clientCnxnSocket": "org.apache.zookeeper.ClientCnxnSocketNetty",
             "zookeeper.ssl.keyStore.location": os.path.join(d, who + ".pem"),
             "zookeeper.ssl.keyStore.type": "PEM",
             "zookeeper.ssl.trustStore.location": os.path.join(d, "ca.crt"),
             "zookeeper.ssl.trustStore.type": "PEM",
             "zookeeper.root.logger": "ERROR,CONSOLE"}
    cmd = (["java", "-Xmx128m", "-XX:TieredStopAtLevel=1", "-XX:-UsePerfData",
            "-cp", "/etc/zookeeper/conf:%s:%s" % (jar, NETTY)] +
           ["-D%s=%s" % kv for kv in props.items()] +
           ["org.apache.zookeeper.ZooKeeperMain", "-timeout", "10000",
            "-server", "127.0.0.1:%d" % sport])
    p = subprocess.run(cmd, input=JAVA_SCRIPT, capture_output=True, text=True, timeout=120)
    return sorted(ln.rstrip() for ln in (p.stdout + p.stderr).splitlines()
                  if not JAVA_DROP.search(ln))


def checks(server, d, sport, rec):
    from kazoo.client import KazooClient
    kc = KazooClient(hosts="127.0.0.1:%d" % sport, use_ssl=True, verify_certs=True,
                     ca=os.path.join(d, "ca.crt"), certfile=os.path.join(d, "alice.crt"),
                     keyfile=os.path.join(d, "alice.key"), timeout=10)
    kc.start(timeout=30)
    try:
        kc.create("/over-tls", b"secret")
        rec("kazoo tls get", kc.get("/over-tls")[0])
    finally:
        kc.stop()
    alice, bob = TlsRaw(sport, d, "alice"), TlsRaw(sport, d, "bob")
    name, ids = alice.who_am_i()
    rec("whoAmI alice", (name, sorted(i for i in ids if i[0] != "ip")))
    dn = [i[1] for i in ids if i[0] == "x509"]
    check(dn, "no x509 id for alice: %r" % ids)
    rec("x509 create", alice.create("/x", b"a", acl=[(31, "x509", dn[0])])[0])
    rec("x509 alice get", alice.get("/x")[0])
    rec("x509 bob get", bob.get("/x")[0])
    rec("x509 bob set", bob.set("/x", b"b")[0])
    plain = RawClient(server.port)
    rec("x509 plain get", plain.get("/x")[0])
    rec("plain sees tls write", plain.get("/over-tls")[0])
    plain.close()
    alice.close()
    bob.close()
    rec("4lw ruok over tls", four_lw_tls(sport, d, "ruok"))
    rec("no client certificate", refused(sport, d, None))
    rec("certificate of another CA", refused(sport, d, "mallory"))
    try:
        p = RawClient(sport, sock_timeout=5)
        p.close()
        rec("plain client on the secure port", "served")
    except (zkt.Closed, Fail, OSError):
        rec("plain client on the secure port", "refused")
    rec("java client over tls (alice)", java_tls(sport, d, "alice"))
    mallory = java_tls(sport, d, "mallory")
    rec("java client of another CA gets a session",
        None if mallory is None else any("Created /jtls" in ln or ln == "data" for ln in mallory))


def main():
    wd = zkt.workdir("tls")
    d = os.path.join(wd, "pki")
    os.makedirs(d)
    make_pki(d)
    results = {}
    for kind in zkt.kinds():
        if zkt.unavailable(kind):
            continue
        sport = zkt.alloc_port()
        server = TlsServer(kind, wd, cfg=tls_cfg(kind, d, sport))
        rows = []
        server.start()
        try:
            checks(server, d, sport, lambda label, value: rows.append((label, value)))
        finally:
            check(not server.stop() or kind == "apache", "zkfsd exited badly")
        results[kind] = rows
        for label, value in rows:
            zkt.log("  %s %s = %r" % (kind, label, value))
    if "zkfsd" not in results:
        raise zkt.Skip("zkfsd not built")
    got = dict(results["zkfsd"])
    check(got["x509 bob get"] == "NoAuth" and got["x509 alice get"] == "OK",
          "x509 ACL not enforced: %r" % got)
    check(got["no client certificate"] == "refused", "a client without a certificate served")
    check(got["certificate of another CA"] == "refused", "a certificate of another CA served")
    check(got["4lw ruok over tls"] == "imok", "ruok over TLS: %r" % got["4lw ruok over tls"])
    java = got["java client over tls (alice)"]
    if java is None:
        zkt.log("Java client over TLS not run: Debian zookeeper not installed")
    else:
        check("Created /jtls" in java and "data" in java, "the Java client over TLS: %r" % java)
        check(got["java client of another CA gets a session"] is False,
              "a Java client with a certificate of another CA was served")
    fail_on_diffs(results)


if __name__ == "__main__":
    zkt.run_main("test_tls", main)
