#!/usr/bin/python3
"""Write the seed corpus of tests/fuzz/ (corpus/frame, corpus/connect, corpus/path).

The bytes are built here with struct, field by field from zookeeper.jute, and with kazoo's
own serializers (kazoo.protocol.serialization, when importable), independently of
proto/jute.c. They start the fuzzers from well-formed input of every opcode, and are test
vectors too: test_jute decodes each file and expects, by name prefix, req_ (every frame a
request that decodes), resp_ (a response), unsupported_ (-ENOTSUP) or bad_ (refused).
Run with /usr/bin/python3 from anywhere; rewrites the corpus directories."""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def i32(v): return struct.pack(">i", v)
def i64(v): return struct.pack(">q", v)
def b(v): return struct.pack(">?", v)
def s(v): return i32(-1) if v is None else i32(len(v.encode())) + v.encode()
def buf(v): return i32(-1) if v is None else i32(len(v)) + v
def vec(items, enc): return i32(-1) if items is None else i32(len(items)) + b"".join(enc(x) for x in items)
def acl(perms, scheme, ident): return i32(perms) + s(scheme) + s(ident)
def frame(body): return i32(len(body)) + body
def hdr(xid, op): return i32(xid) + i32(op)
def mh(op, done=False, err=-1): return i32(op) + b(done) + i32(err)


WORLD = [(31, "world", "anyone")]
ACLS = vec(WORLD, lambda a: acl(*a))
STAT = i64(1) + i64(2) + i64(3) + i64(4) + i32(5) + i32(6) + i32(7) + i64(8) + i32(9) + i32(10) + i64(11)

REQUESTS = {
    "create": hdr(1, 1) + s("/a") + buf(b"data") + ACLS + i32(0),
    "create2_seq": hdr(2, 15) + s("/q/") + buf(None) + ACLS + i32(2),
    "create_container": hdr(3, 19) + s("/c") + buf(b"") + ACLS + i32(4),
    "create_ttl": hdr(4, 21) + s("/t") + buf(b"x") + ACLS + i32(5) + i64(60000),
    "delete": hdr(5, 2) + s("/a") + i32(-1),
    "exists": hdr(6, 3) + s("/a") + b(True),
    "get_data": hdr(7, 4) + s("/a") + b(False),
    "set_data": hdr(8, 5) + s("/a") + buf(b"new") + i32(3),
    "get_acl": hdr(9, 6) + s("/a"),
    "set_acl": hdr(10, 7) + s("/a") + vec([(1, "digest", "u:x="), (31, "ip", "1.2.3.4")], lambda a: acl(*a)) + i32(0),
    "get_children": hdr(11, 8) + s("/") + b(True),
    "sync": hdr(12, 9) + s("/"),
    "ping": hdr(-2, 11),
    "get_children2": hdr(13, 12) + s("/zookeeper") + b(False),
    "check": hdr(14, 13) + s("/a") + i32(1),
    "multi": hdr(15, 14) + mh(1) + s("/m") + buf(b"") + ACLS + i32(0) + mh(13) + s("/m") + i32(0)
    + mh(5) + s("/m") + buf(b"v") + i32(-1) + mh(2) + s("/m") + i32(-1) + mh(-1, True, -1),
    "multi_empty": hdr(16, 14) + mh(-1, True, -1),
    "multi_bad_flags": hdr(32, 14) + mh(1) + s("/m") + buf(b"") + ACLS + i32(9) + mh(-1, True, -1),
    "multi_read": hdr(17, 22) + mh(8) + s("/") + b(False) + mh(4) + s("/a") + b(False) + mh(-1, True, -1),
    "reconfig": hdr(18, 16) + s("server.2=h:2888:3888") + s(None) + s(None) + i64(-1),
    "check_watches": hdr(19, 17) + s("/a") + i32(1),
    "remove_watches": hdr(20, 18) + s("/a") + i32(3),
    "auth": hdr(-4, 100) + i32(0) + s("digest") + buf(b"user:pass"),
    "set_watches": hdr(-8, 101) + i64(5) + vec(["/a"], s) + vec([], s) + vec(["/", "/b"], s),
    "sasl": hdr(21, 102) + buf(b"token"),
    "get_ephemerals": hdr(22, 103) + s("/"),
    "get_all_children_number": hdr(23, 104) + s("/"),
    "set_watches2": hdr(-8, 105) + i64(6) + vec(["/a"], s) + vec(None, s) + vec([], s) + vec(["/p"], s) + vec(["/r"], s),
    # A count below -1 is an empty vector to ZooKeeper's BinaryInputArchive (zk_differential).
    "set_watches2_negative_count": hdr(-8, 105) + i64(6) + vec(["/a"], s) + i32(-2) + vec([], s)
    + vec(["/p"], s) + vec(["/r"], s),
    "add_watch": hdr(24, 106) + s("/a") + i32(1),
    "who_am_i": hdr(25, 107),
    "close_session": hdr(26, -11),
}
UNSUPPORTED = {"opcode": hdr(27, 999) + s("/a"), "delete_container": hdr(28, 20) + s("/a")}
BAD = {
    "huge_vector_count": hdr(28, 101) + i64(0) + i32(0x7FFFFFFF),
    "negative_length": hdr(29, 4) + i32(-2),
    "trailing_byte": hdr(30, 3) + s("/a") + b(True) + b"\0",
    "multi_mixed": hdr(31, 14) + mh(4) + s("/a") + b(False) + mh(-1, True, -1),
    "multi_unterminated": hdr(33, 22) + mh(8) + s("/") + b(False),
}
MULTI_RESPONSE = (mh(1, False, 0) + s("/m0000000001") + mh(15, False, 0) + s("/n") + STAT
                  + mh(2, False, 0) + mh(13, False, 0) + mh(5, False, 0) + STAT
                  + mh(8, False, 0) + vec(["a", "b"], s) + mh(4, False, 0) + buf(b"d") + STAT
                  + mh(-1, False, -101) + i32(-101) + mh(-1, True, -1))
PW = bytes(range(16))
CONNECT = {
    "new_session": i32(0) + i64(0) + i32(30000) + i64(0) + buf(bytes(16)) + b(False),
    "reconnect": i32(0) + i64(0x100000005) + i32(10000) + i64(0x1234) + buf(PW) + b(True),
    "old_client": i32(0) + i64(0) + i32(4000) + i64(0) + buf(bytes(16)),
}
CONNECT_BAD = {
    "trailing": i32(0) + i64(0) + i32(4000) + i64(0) + buf(bytes(16)) + b(False) + b"xx",
    "short_password": i32(0) + i64(0) + i32(4000) + i64(0) + i32(16) + bytes(8),
}


def kazoo_frames():
    """Request frames as kazoo's connection._submit writes them; {} without kazoo."""
    try:
        import kazoo.protocol.serialization as k
    except ImportError:
        return {}, {}
    acl = [k.ACL(31, k.Id("world", "anyone")), k.ACL(1, k.Id("digest", "u:h="))]
    ops = {
        "create": k.Create("/k", b"v", acl, 3), "create2": k.Create2("/k2", None, acl, 0),
        "delete": k.Delete("/k", -1), "exists": k.Exists("/k", True),
        "get_data": k.GetData("/k", False), "set_data": k.SetData("/k", b"", 2),
        "get_acl": k.GetACL("/k"), "set_acl": k.SetACL("/k", acl, -1),
        "get_children": k.GetChildren("/", True), "get_children2": k.GetChildren2("/", False),
        "sync": k.Sync("/"), "check": k.CheckVersion("/k", 1),
        "multi": k.Transaction([k.Create("/t", b"", acl, 0), k.CheckVersion("/t", 0),
                                k.SetData("/t", b"x", -1), k.Delete("/t", -1)]),
        "auth": k.Auth(0, "digest", "u:p"), "reconfig": k.Reconfig("server.9=h:1:2", None, None, -1),
        "sasl": k.SASL(b"challenge"), "close": k.Close(), "ping": k.Ping(),
    }
    frames = {"req_kazoo_" + n: frame(i32(n == "ping" and -2 or 7) + i32(op.type) + bytes(op.serialize()))
              for n, op in ops.items()}
    connect = {"req_kazoo": bytes(k.Connect(0, 0x100000001, 10000, 0x55, b"\1" * 16, True).serialize())}
    return frames, connect
PATHS = {
    "root": b"\0/", "plain": b"\0/a/b/c", "seq": b"\1/a/", "dots": b"\0/a/../b", "dot_seq": b"\1/a/.",
    "empty_comp": b"\0/a//b", "unicode": "\0/é/ü".encode(), "bad_range": "\0/\u0085".encode(),
    "private_use": "\0/\ue000".encode(), "emoji": "\0/\U0001f600".encode(),
    "overlong": b"\0/\xc0\xaf", "nul": b"\0/a\0b", "trailing": b"\0/a/",
}


def write(kind, files):
    d = os.path.join(HERE, "corpus", kind)
    os.makedirs(d, exist_ok=True)
    for name in os.listdir(d):
        os.unlink(os.path.join(d, name))
    for name, data in files.items():
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)


frames = {"req_" + name: frame(body) for name, body in REQUESTS.items()}
frames.update({"unsupported_" + name: frame(body) for name, body in UNSUPPORTED.items()})
frames.update({"bad_" + name: frame(body) for name, body in BAD.items()})
frames["resp_multi"] = frame(MULTI_RESPONSE)
frames["req_stream"] = b"".join(frame(REQUESTS[n]) for n in ("ping", "create", "multi", "get_data"))
frames["bad_truncated"] = frame(REQUESTS["create"])[:-3]
connect = {"req_" + name: body for name, body in CONNECT.items()}
connect.update({"bad_" + name: body for name, body in CONNECT_BAD.items()})
connect["resp_connect"] = i32(0) + i32(30000) + i64(0x1234) + buf(PW) + b(False)
kazoo_req, kazoo_connect = kazoo_frames()
frames.update(kazoo_req)
connect.update(kazoo_connect)
write("frame", frames)
write("connect", connect)
write("path", PATHS)
