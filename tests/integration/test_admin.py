#!/usr/bin/python3
"""AdminServer (issue 15): zkfsd's /commands side by side with Apache ZooKeeper 3.8's own
AdminServer (Debian's zookeeper.jar with Jetty; javax.servlet comes from servlet-api.jar).

Both standalone, each with one kazoo session holding an ephemeral and a data and a child watch:
  - GET /commands lists every command zkfsd serves, as links;
  - each command's JSON has Apache's field names (nested ones too: server_stats, a connection,
    dump's maps), minus the fields zkfsd leaves out on purpose (OMITTED: figures it does not
    count) and plus its own (EXTRA); monitor's keys are exactly zkfsd's mntr keys and hold the
    ZooKeeper ones both servers have (MNTR_CORE), its values equal mntr's where they cannot
    move;
  - the same facts on both: the session id and its ephemeral in dump, the watch counts, the
    connection count;
  - with 4lw.commands.whitelist=srvr,ruok,mntr,conf,dgst a command outside it (dump, cons,
    environment) answers 403 with ZooKeeper's whitelist sentence, those inside answer 200;
  - with the server's TLS keys configured (ssl.keyStore.location, test_tls's PKI) the
    AdminServer answers HTTPS with that certificate (verified against the CA) and no plain HTTP.
"""
import json
import os
import ssl
import sys
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import zkt  # noqa: E402
import test_tls  # noqa: E402

COMMANDS = ["ruok", "server_stats", "srvr", "stats", "monitor", "mntr", "configuration", "conf",
            "connections", "cons", "dump", "watch_summary", "wchs", "environment", "envi",
            "dirs", "is_read_only", "leader", "voting_view", "last_snapshot"]
# Fields of Apache's answers zkfsd does not produce, on purpose (it does not count them).
OMITTED = {"fsync_threshold_exceed_count", "client_response_stats", "client_response",
           "auth_failed_count", "non_mtlsremote_conn_count", "non_mtlslocal_conn_count",
           "interest_ops", "last_response_time", "last_latency",
           # environment: the JVM's properties.
           "java.version", "java.vendor", "java.home", "java.class.path", "java.library.path",
           "java.io.tmpdir", "java.compiler", "os.arch", "os.version", "user.name",
           "user.home", "os.memory.free", "os.memory.max", "os.memory.total"}
EXTRA = {"zkfsd.pid", "zkfsd.dataDir"}
# mntr keys both servers have (metrics.c exports them under these names).
MNTR_CORE = {"version", "server_state", "ephemerals_count", "num_alive_connections",
             "avg_latency", "min_latency", "max_latency", "outstanding_requests", "znode_count",
             "global_sessions", "packets_sent", "packets_received", "watch_count",
             "max_file_descriptor_count", "open_file_descriptor_count", "uptime",
             "connection_rejected", "approximate_data_size"}


class ApacheWithAdmin(zkt.Server):
    def command(self):
        cmd = super().command()
        i = cmd.index("-cp") + 1
        cmd[i] += ":/usr/share/java/servlet-api.jar"
        return cmd


def get(port, name, code=200, scheme="http", ctx=None):
    url = "%s://127.0.0.1:%d/commands%s" % (scheme, port, "/" + name if name else "")
    try:
        with urllib.request.urlopen(url, timeout=10, context=ctx) as r:
            status, body = r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        status, body = e.code, e.read().decode()
    zkt.check(status == code, "GET %s: status %d, expected %d: %s" % (url, status, code, body))
    return json.loads(body) if name else body


def keys(obj, prefix=""):
    """Field paths of obj: nested objects walked, a list by its first element, maps keyed by
    ids or times (dump's) collapsed to '*'."""
    out = set()
    if isinstance(obj, dict):
        for k, v in obj.items():
            k = "*" if k.lstrip("-").isdigit() else k
            if k in OMITTED or k in EXTRA:
                continue
            out.add(prefix + k)
            out |= keys(v, prefix + k + ".")
    elif isinstance(obj, list) and obj:
        out |= keys(obj[0], prefix + "[].")
    return out


def start(kind, admin_port, whitelist="*", extra=None):
    cls = ApacheWithAdmin if kind == "apache" else zkt.Server
    s = cls(kind, WORK, cfg=dict({"admin.enableServer": "true",
                                  "admin.serverAddress": "127.0.0.1",
                                  "admin.serverPort": str(admin_port),
                                  "4lw.commands.whitelist": whitelist}, **(extra or {})))
    s.admin = admin_port
    return s.start(seconds=60)


def session(server):
    zk = zkt.kazoo_client(server)
    zk.create("/e", b"x", ephemeral=True)
    zk.exists("/e", watch=lambda e: None)
    zk.get_children("/", watch=lambda e: None)
    return zk


def body():
    global WORK
    WORK = zkt.workdir("admin")
    z = start("zkfsd", zkt.alloc_port())
    a = start("apache", zkt.alloc_port())
    zz, za = session(z), session(a)

    listing = get(z.admin, "")
    for name in ["ruok", "server_stats", "monitor", "configuration", "connections", "dump",
                 "watch_summary", "environment", "leader", "voting_view", "last_snapshot",
                 "digest"]:
        zkt.check('href="/commands/%s"' % name in listing, "GET /commands lacks %s" % name)

    for name in COMMANDS:
        jz, ja = get(z.admin, name), get(a.admin, name)
        kz, ka = keys(jz), keys(ja)
        if name in ("monitor", "mntr"):
            # zkfsd's mntr has keys of its own: monitor must be exactly mntr, and hold the
            # ZooKeeper keys /metrics exports under ZooKeeper's names, as Apache's does.
            mntr = {l.split("\t", 1)[0][3:] for l in zkt.four_lw(z.port, "mntr").splitlines()}
            zkt.check(kz - {"command", "error"} == mntr, "%s is not mntr: %s"
                      % (name, sorted((kz - {"command", "error"}) ^ mntr)))
            zkt.check(MNTR_CORE <= kz and MNTR_CORE <= ka, "%s: ZooKeeper keys missing: %s"
                      % (name, sorted(MNTR_CORE - (kz & ka))))
        else:
            zkt.check(kz == ka, "%s: zkfsd has %s more, lacks %s" % (name, sorted(kz - ka),
                                                                       sorted(ka - kz)))
        zkt.check(jz["command"] == ja["command"], "%s: command %s, Apache %s"
                  % (name, jz["command"], ja["command"]))
        zkt.log("%s: same fields as Apache ZooKeeper (%d)" % (name, len(kz)))

    # The same facts, each server about its own session.
    for s, zk in ((z, zz), (a, za)):
        sid = zk.client_id[0]
        d = get(s.admin, "dump")
        zkt.check(d["session_id_to_ephemeral_paths"].get(str(sid)) == ["/e"],
                  "%s dump: %s" % (s.kind, d))
        zkt.check(any(sid in ids for ids in d["expiry_time_to_session_ids"].values()),
                  "%s dump: session %x has no expiry entry" % (s.kind, sid))
        c = get(s.admin, "connections")["connections"]
        zkt.check(len(c) == 1 and c[0]["session_id"] == sid, "%s connections: %s" % (s.kind, c))
        zkt.check(get(s.admin, "is_read_only")["read_only"] is False, "is_read_only")
    wz, wa = get(z.admin, "watch_summary"), get(a.admin, "watch_summary")
    zkt.check(wz == wa, "watch_summary: zkfsd %s, Apache %s" % (wz, wa))
    m = get(z.admin, "monitor")
    text = dict(l.split("\t", 1) for l in zkt.four_lw(z.port, "mntr").splitlines())
    for k in ("znode_count", "ephemerals_count", "watch_count", "global_sessions",
              "server_state", "version", "last_zxid"):
        zkt.check(str(m[k]) == text["zk_" + k], "monitor %s %s, mntr %s" % (k, m[k],
                                                                            text["zk_" + k]))
    zkt.check(get(z.admin, "leader")["error"] == get(a.admin, "leader")["error"],
              "leader on a standalone server")
    dg = get(z.admin, "digest")
    zkt.check(zkt.four_lw(z.port, "dgst").split() == ["zxid", "0x%x" % dg["last_zxid"],
                                                      "digest", dg["digest"]],
              "digest differs from dgst: %s" % dg)

    # The whitelist decides, as for the four-letter words.
    w = start("zkfsd", zkt.alloc_port(), whitelist="srvr,ruok,mntr,conf,dgst")
    for name in ("ruok", "server_stats", "monitor", "configuration", "digest", "leader"):
        get(w.admin, name, 200 if name != "leader" else 200)
    for name in ("dump", "connections", "environment", "watch_summary"):
        r = get(w.admin, name, 403)
        zkt.check("not in the whitelist" in r["error"], "%s refused without reason: %s"
                  % (name, r))
    zz.stop()
    za.stop()

    # HTTPS with the server's own TLS keys.
    pki = os.path.join(WORK, "pki")
    os.makedirs(pki)
    test_tls.make_pki(pki)
    t = start("zkfsd", zkt.alloc_port(), extra=test_tls.tls_cfg("zkfsd", pki, zkt.alloc_port()))
    ctx = ssl.create_default_context(cafile=os.path.join(pki, "ca.crt"))
    zkt.check(get(t.admin, "ruok", scheme="https", ctx=ctx)["error"] is None, "https ruok")
    try:
        get(t.admin, "ruok")
        raise zkt.Fail("plain HTTP answered on the HTTPS AdminServer")
    except (OSError, ValueError, urllib.error.URLError) as e:
        zkt.log("plain HTTP refused: %s" % e)


zkt.run_main("test_admin", body)
