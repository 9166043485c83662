#!/usr/bin/python3
"""fresh_reads.py: how soon followers apply a committed write (issue 14, goal 4).

  fresh_reads.py missed --creator PORT --reader PORT --rounds N [--max-missed M] [--prefix P]
      N times: a new session on the creator's server creates P/nI and closes its session; a
      reader session held open on another server then reads P/nI at once, without sync.
      Prints "missed=K rounds=N" (K reads that found no node, each with the milliseconds the
      node then took to appear there) and exits 1 when K > M (default 0). ZooKeeper sends
      COMMIT to every follower at once and a follower applies it without its own disk write,
      so the read finds the node; a libraft follower applies only what it has written itself.
  fresh_reads.py lag --leader PORT --followers PORT[,PORT...] --rounds N [--prefix P]
      N times: an exists watch on P/nI through each follower, then a create through the
      leader; the lag is the time from the leader's reply until the last follower's
      NodeCreated event arrived (0 when every event came first). Prints
      "lag_p50_us=.. lag_p99_us=.. lag_max_us=.. rounds=N".

Ports are 127.0.0.1 ports (cluster.sh's zkc_forward reaches a node through one). Raw protocol
(zkt.RawClient): one request at a time, no client library threads in the way.
"""
import argparse
import os
import select
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import zkt  # noqa: E402


def ensure(client, path):
    name, _ = client.create(path)
    if name not in ("OK", "NodeExists"):
        raise zkt.Fail("create %s: %s" % (path, name))


def catch_up_ms(reader, path):
    """How long the reader's server took to show @path after a miss (a diagnostic)."""
    t0 = time.monotonic()
    zkt.wait_for(lambda: reader.exists(path)[0] == "OK", 10, "%s on the reader" % path, 0.001)
    return round((time.monotonic() - t0) * 1000, 1)


def cmd_missed(a):
    reader = zkt.RawClient(a.reader)
    first = zkt.RawClient(a.creator)
    ensure(first, a.prefix)
    first.close_session()
    first.close()
    reader.sync(a.prefix)
    missed = []
    for i in range(a.rounds):
        path = "%s/n%d" % (a.prefix, i)
        c = zkt.RawClient(a.creator)
        name, _ = c.create(path)
        if name != "OK":
            raise zkt.Fail("create %s through the creator: %s" % (path, name))
        c.close_session()
        c.close()
        name, _ = reader.exists(path)
        if name == "NoNode":
            missed.append((i, catch_up_ms(reader, path)))
        elif name != "OK":
            raise zkt.Fail("exists %s through the reader: %s" % (path, name))
    reader.close()
    print("missed=%d rounds=%d%s" % (len(missed), a.rounds,
                                     " first_missed(round,ms_to_appear)=%s" % missed[:10]
                                     if missed else ""))
    return 1 if len(missed) > a.max_missed else 0


def frame_time(clients, xid, deadline):
    """Read frames as they arrive until the leader's reply and one event per follower came;
    returns {index: monotonic time of its frame}."""
    got = {}
    socks = {c.sock: i for i, c in enumerate(clients)}
    while len(got) < len(clients):
        left = deadline - time.monotonic()
        if left <= 0:
            raise zkt.Fail("no reply or watch event within the deadline (got %r)" % got)
        ready, _, _ = select.select([s for s in socks if socks[s] not in got], [], [], left)
        for s in ready:
            i = socks[s]
            d = zkt.Dec(clients[i].read_frame())
            rx = d.int()
            now = time.monotonic()
            if (i == 0 and rx == xid) or (i > 0 and rx == -1):
                got[i] = now
    return got


def cmd_lag(a):
    leader = zkt.RawClient(a.leader)
    followers = [zkt.RawClient(p) for p in a.followers]
    ensure(leader, a.prefix)
    for f in followers:
        f.sync(a.prefix)
    lags = []
    for i in range(a.rounds):
        path = "%s/w%d" % (a.prefix, i)
        for f in followers:
            name, _ = f.exists(path, watch=True)
            if name != "NoNode":
                raise zkt.Fail("exists %s: %s" % (path, name))
        body = zkt.Enc().string(path).buffer(b"").acl(zkt.OPEN_ACL).int(0).b
        xid = leader.request("create", body)
        got = frame_time([leader] + followers, xid, time.monotonic() + 10)
        lags.append(max(0.0, max(got[k] for k in got if k > 0) - got[0]))
    for c in [leader] + followers:
        c.close()
    lags.sort()
    pick = lambda q: lags[min(len(lags) - 1, int(q * len(lags)))] * 1e6  # noqa: E731
    print("lag_p50_us=%.0f lag_p99_us=%.0f lag_max_us=%.0f rounds=%d" %
          (pick(0.50), pick(0.99), lags[-1] * 1e6, len(lags)))
    return 0


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("missed")
    m.add_argument("--creator", type=int, required=True)
    m.add_argument("--reader", type=int, required=True)
    m.add_argument("--rounds", type=int, default=100)
    m.add_argument("--max-missed", type=int, default=0)
    m.add_argument("--prefix", default="/fresh")
    lg = sub.add_parser("lag")
    lg.add_argument("--leader", type=int, required=True)
    lg.add_argument("--followers", type=lambda s: [int(x) for x in s.split(",")], required=True)
    lg.add_argument("--rounds", type=int, default=100)
    lg.add_argument("--prefix", default="/fresh-lag")
    a = p.parse_args()
    try:
        return cmd_missed(a) if a.cmd == "missed" else cmd_lag(a)
    except (zkt.Fail, zkt.Closed, OSError) as e:
        print("fresh_reads.py %s: %s" % (a.cmd, e), file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
