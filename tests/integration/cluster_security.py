"""cluster_security: the client and attacker side of test_cluster_security.sh (/usr/bin/python3).

Subcommands (exit 0 on success, 1 with a message on a failed check):
  reconfig --leader H --follower F --member N --super PASS
        Through the leader and a follower: an anonymous reconfig is refused (NoAuth), the super
        user's with a stale fromConfig gets BadVersion, then the super user switches a member
        N between participant and observer through the follower 10 times, and every answer must
        show the membership just made (ZooKeeper answers with the new configuration).
  acl --leader H --follower F --super PASS
        A digest-protected node made through the follower: an anonymous client can neither read
        nor write it through either server (the leader judges the forwarded write), alice can,
        the super user can.
  attack --src ADDR --members ID=ADDR,... --raft-port P --peer-port Q
        A non-member at ADDR (and, claiming another member's id, from a member's address):
        libraft handshakes followed by a forged RequestVote with the disrupt-leader flag, an
        AppendEntries and an InstallSnapshot on each Raft port; on each peer port a PeerHello
        followed by a forwarded write (create /hacked) and a PeerReconfig adding server 9.
        Prints how many connections it made.
  limits --src ADDR --member ID --target ADDR --peer-port Q
        From member ID's own address ADDR: a frame over the peer port's limit after a valid
        PeerHello is refused; 70 connections that never say hello are all closed (past 64 at
        once, the rest by the hello timeout).
  tls-attack --src ADDR --members ID=ADDR,... --raft-port P --peer-port Q --certs DIR
        Against an ensemble with sslQuorum, from ADDR to each member's Raft and peer port, the
        forgeries of `attack` sent by: a client certificate of another CA (DIR/rogue.pem), a
        plain-TCP peer (no TLS), and the certificate of one member (DIR/nI.pem) claiming
        another member's id. Prints how many connections it made.
  fill --host H --count N --size S
        N nodes /bulk/nI of S bytes each through H (pipelined), to move megabytes over the
        quorum links.
  flood --src ADDR --target ADDR --port P --count N
        N plain connections, one after the other, each sending a forged libraft handshake.
"""

import argparse
import base64
import hashlib
import logging
import os
import socket
import ssl
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from secutil import outcome  # noqa: E402
from zkt import Enc, check  # noqa: E402
from kazoo.client import KazooClient  # noqa: E402

logging.getLogger("kazoo").setLevel(logging.CRITICAL)
ALICE = "alice:alice-pw"


def client(host, auth=None):
    c = KazooClient(hosts=host, timeout=10.0, randomize_hosts=False,
                    connection_retry={"max_tries": -1, "delay": 0.02, "max_delay": 0.2},
                    auth_data=auth)
    c.start(timeout=30)
    return c


def config_lines(data):
    return sorted(line for line in data.decode().splitlines() if line.startswith("server."))


def cmd_reconfig(a):
    sup = [("digest", "super:" + a.super)]
    anon_l, anon_f = client(a.leader), client(a.follower)
    su_l, su_f = client(a.leader, sup), client(a.follower, sup)
    try:
        for name, c in (("leader", anon_l), ("follower", anon_f)):
            got = outcome(lambda: c.reconfig(joining=None, leaving="9", new_members=None))
            check(got == "NoAuth", "anonymous reconfig through the %s: %s" % (name, got))
        for name, c in (("leader", su_l), ("follower", su_f)):
            got = outcome(lambda: c.reconfig(joining=None, leaving="9", new_members=None,
                                             from_config=123456789))
            check(got == "BadVersion", "stale fromConfig through the %s: %s" % (name, got))
        data, _ = su_f.get("/zookeeper/config")
        line = [ln for ln in config_lines(data) if ln.startswith("server.%s=" % a.member)][0]
        base = line.rsplit(";", 1)
        for i in range(10):
            role = "observer" if i % 2 == 0 else "participant"
            spec = "%s;%s" % (base[0].rsplit(":", 1)[0] + ":" + role, base[1])
            try:
                data, _ = su_f.reconfig(joining=spec, leaving=None, new_members=None)
            except Exception as e:  # noqa: B902 - name the step
                raise RuntimeError("try %d, joining %s: %r" % (i, spec, e))
            check(spec in config_lines(data),
                  "try %d: the follower answered a reconfig to %s with %r" % (
                      i, role, config_lines(data)))
        print("10 reconfigs through the follower answered with the new membership")
    finally:
        for c in (anon_l, anon_f, su_l, su_f):
            c.stop()
    return 0


def cmd_acl(a):
    user = ALICE.split(":")[0]
    digest = base64.b64encode(hashlib.sha1(ALICE.encode()).digest()).decode()
    from kazoo.security import make_acl
    alice = client(a.follower, [("digest", ALICE)])
    anon_f, anon_l = client(a.follower), client(a.leader)
    sup = client(a.follower, [("digest", "super:" + a.super)])
    try:
        if alice.exists("/guarded"):
            sup.delete("/guarded")
        alice.create("/guarded", b"secret", acl=[make_acl("digest", "%s:%s" % (user, digest),
                                                           all=True)])
        for name, c in (("follower", anon_f), ("leader", anon_l)):
            c.sync("/guarded")
            check(outcome(lambda: c.get("/guarded")) == "NoAuth", "anonymous read via " + name)
            check(outcome(lambda: c.set("/guarded", b"x")) == "NoAuth",
                  "anonymous write via " + name)
            check(outcome(lambda: c.create("/guarded/c")) == "NoAuth",
                  "anonymous create via " + name)
        check(alice.set("/guarded", b"mine") is not None, "alice's write")
        check(sup.get("/guarded")[0] == b"mine", "the super user's read")
        sup.delete("/guarded")
        print("digest ACL enforced through the follower and the leader")
    finally:
        for c in (alice, anon_f, anon_l, sup):
            c.stop()
    return 0


# ---- forged quorum traffic -------------------------------------------------------------------

def le64(*vs):
    return b"".join(struct.pack("<Q", v & 0xFFFFFFFFFFFFFFFF) for v in vs)


def raft_handshake(claimed_id, address):
    """libraft 0.15's handshake: protocol 1, id, padded address size, the address."""
    raw = address.encode() + b"\0"
    raw += b"\0" * (-len(raw) % 8)
    return le64(1, claimed_id, len(raw)) + raw


def raft_message(kind, body):
    return le64(kind, len(body)) + body


REQUEST_VOTE, APPEND_ENTRIES, INSTALL_SNAPSHOT = 3, 1, 5


def raft_forgeries(claimed_id):
    term = 1 << 40
    vote = le64(term, claimed_id, 1 << 30, term, 1)  # flags: disrupt the leader
    append = le64(term, claimed_id, 0, 0, 1 << 30, 0)  # term, leader, prev i/t, commit, n
    snap = le64(term, claimed_id, 1 << 30, term, 0, 0)
    return (raft_message(REQUEST_VOTE, vote) + raft_message(APPEND_ENTRIES, append) +
            raft_message(INSTALL_SNAPSHOT, snap))


def varint(v):
    out = b""
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def pb(field, value):
    """One protobuf field: an int (varint) or bytes (length-delimited)."""
    if isinstance(value, int):
        return varint(field << 3) + varint(value)
    return varint(field << 3 | 2) + varint(len(value)) + value


def peer_frame(body):
    return struct.pack(">I", len(body)) + body


def peer_forgeries(claimed_id):
    hello = pb(1, pb(1, claimed_id))
    create = Enc().int(1).int(1).string("/hacked").buffer(b"x").acl(
        [(31, "world", "anyone")]).int(0).b
    request = pb(7, pb(1, 1) + pb(2, 0) + pb(3, create))
    reconfig = pb(6, pb(1, 2) + pb(2, 0) + pb(3, 9) + pb(4, b"127.0.0.99") + pb(5, 22051) +
                  pb(6, 22052) + pb(7, 1))
    return b"".join(peer_frame(m) for m in (hello, request, reconfig))


def send_from(src, dst, port, data, keystore=None):
    """@data from @src, then wait for the server to close (or 3 s). With @keystore (a PEM
    file with a client certificate and its key) over TLS; the server is not checked: this is
    the attacker."""
    raw = socket.socket()
    raw.settimeout(3)
    raw.bind((src, 0))
    try:
        raw.connect((dst, port))
        s = raw
        if keystore is not None:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            ctx.load_cert_chain(keystore)
            s = ctx.wrap_socket(raw)
        s.sendall(data)
        s.recv(4096)  # Closed by the server (b"", an alert) or a timeout.
    except OSError:
        pass
    finally:
        raw.close()


def cmd_attack(a):
    members = dict(m.split("=") for m in a.members.split(","))
    ids = sorted(members)
    n = 0
    for target_id, target in members.items():
        other = next(i for i in ids if i != target_id)
        # A non-member, then a member's address claiming another member's id.
        imposters = [(a.src, other), (members[other], next(i for i in ids if i not in
                                                           (other, target_id)))]
        for src, claimed in imposters:
            hs = raft_handshake(int(claimed), "%s:%d" % (members[claimed], a.raft_port))
            send_from(src, target, a.raft_port, hs + raft_forgeries(int(claimed)))
            send_from(src, target, a.peer_port, peer_forgeries(int(claimed)))
            n += 2
    print(n)
    return 0


def cmd_tls_attack(a):
    members = dict(m.split("=") for m in a.members.split(","))
    ids = sorted(members)
    n = 0
    for target_id, target in members.items():
        other = next(i for i in ids if i != target_id)
        third = next(i for i in ids if i not in (other, target_id))
        hs = raft_handshake(int(third), "%s:%d" % (members[third], a.raft_port))
        raft, peer = hs + raft_forgeries(int(third)), peer_forgeries(int(third))
        # Another CA; then member @other's own certificate claiming member @third's id.
        for keystore in ("rogue.pem", "n%s.pem" % other):
            path = os.path.join(a.certs, keystore)
            send_from(a.src, target, a.raft_port, raft, path)
            send_from(a.src, target, a.peer_port, peer, path)
            n += 2
        # No TLS at all.
        send_from(a.src, target, a.raft_port, raft)
        send_from(a.src, target, a.peer_port, peer)
        n += 2
    print(n)
    return 0


def cmd_fill(a):
    c = client(a.host)
    try:
        c.ensure_path("/bulk")
        data = os.urandom(a.size)
        pending = [c.create_async("/bulk/n%d" % i, data) for i in range(a.count)]
        for p in pending:
            p.get(timeout=60)
    finally:
        c.stop()
        c.close()
    print("%d nodes of %d bytes" % (a.count, a.size))
    return 0


def cmd_flood(a):
    hs = raft_handshake(1, "%s:%d" % (a.target, a.port)) + raft_forgeries(1)
    for _ in range(a.count):
        send_from(a.src, a.target, a.port, hs)
    print(a.count)
    return 0


def cmd_limits(a):
    """From member @a.member's own address to @a.target's peer port: a frame over the limit
    after a valid hello, then 70 connections that never say hello (64 may stay, until the
    hello timeout closes them)."""
    s = socket.socket()
    s.settimeout(10)
    s.bind((a.src, 0))
    s.connect((a.target, a.peer_port))
    s.sendall(peer_frame(pb(1, pb(1, int(a.member)))) + struct.pack(">I", 0x7FFFFFF0))
    check(s.recv(100) == b"", "a frame over the limit did not close the connection")
    s.close()
    socks = []
    for _ in range(70):
        c = socket.socket()
        c.bind((a.src, 0))
        c.connect((a.target, a.peer_port))
        c.settimeout(20)
        socks.append(c)
    closed = 0
    for c in socks:
        try:
            closed += c.recv(100) == b""
        except OSError:
            closed += 1
        c.close()
    check(closed == 70, "%d of 70 silent peer connections were closed" % closed)
    print("frame over the limit refused; 70 silent connections closed")
    return 0


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("reconfig")
    r.add_argument("--leader", required=True)
    r.add_argument("--follower", required=True)
    r.add_argument("--member", required=True)
    r.add_argument("--super", required=True)
    c = sub.add_parser("acl")
    c.add_argument("--leader", required=True)
    c.add_argument("--follower", required=True)
    c.add_argument("--super", required=True)
    t = sub.add_parser("attack")
    t.add_argument("--src", required=True)
    t.add_argument("--members", required=True)
    t.add_argument("--raft-port", type=int, required=True)
    t.add_argument("--peer-port", type=int, required=True)
    m = sub.add_parser("limits")
    m.add_argument("--src", required=True)
    m.add_argument("--member", required=True)
    m.add_argument("--target", required=True)
    m.add_argument("--peer-port", type=int, required=True)
    t = sub.add_parser("tls-attack")
    t.add_argument("--src", required=True)
    t.add_argument("--members", required=True)
    t.add_argument("--raft-port", type=int, required=True)
    t.add_argument("--peer-port", type=int, required=True)
    t.add_argument("--certs", required=True)
    f = sub.add_parser("fill")
    f.add_argument("--host", required=True)
    f.add_argument("--count", type=int, required=True)
    f.add_argument("--size", type=int, required=True)
    f = sub.add_parser("flood")
    f.add_argument("--src", required=True)
    f.add_argument("--target", required=True)
    f.add_argument("--port", type=int, required=True)
    f.add_argument("--count", type=int, required=True)
    a = p.parse_args()
    try:
        return {"reconfig": cmd_reconfig, "acl": cmd_acl, "attack": cmd_attack,
                "limits": cmd_limits, "tls-attack": cmd_tls_attack,
                "fill": cmd_fill, "flood": cmd_flood}[a.cmd](a)
    except Exception as e:  # noqa: B902 - report every failure as a failed check
        print("cluster_security %s: %s: %s" % (a.cmd, type(e).__name__, e), file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
