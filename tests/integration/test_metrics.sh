#!/bin/bash
# /metrics (issue 15): a 3-server zkfsd ensemble with metricsProvider.* set, scraped by a real
# Prometheus (Debian `prometheus`). `promtool check metrics` accepts each server's output (its
# only complaints are ZooKeeper's own *_count gauge names); Prometheus's HTTP API then shows,
# for every server, the same znode_count, last zxid, server state, global_sessions,
# ephemerals_count and loop stalls as that server's `mntr`, quorum_size 3 everywhere, learners/synced_followers 2 and a lag series per
# follower on the leader. contrib/prometheus: the alert rules pass `promtool test rules`, the
# scrape config `promtool check config`, and every metric the rules and the Grafana dashboard
# use exists in the real scrape.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/cluster.sh"
zkt_init metrics

PROM_PORT=22090
contrib=$top_srcdir/contrib

zkt_require_cmd prometheus promtool curl
zkc_init zkfsd 3
for i in 1 2 3; do
	cat >>"$(zkc_dir "$i")/zoo.cfg" <<CFG
metricsProvider.className=org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider
metricsProvider.httpHost=$(zkc_addr "$i")
metricsProvider.httpPort=7000
CFG
done
zkc_start_all 60

# promtool: nothing but the _count lint of ZooKeeper's names.
for i in 1 2 3; do
	curl -sf "http://$(zkc_addr "$i"):7000/metrics" >"$ZKT_DIR/m$i.txt" ||
		zkt_fail "node $i: GET /metrics failed"
	promtool check metrics <"$ZKT_DIR/m$i.txt" >"$ZKT_DIR/lint$i.txt" 2>&1
	if grep -v -E '^(znode_count|watch_count|ephemerals_count|max_file_descriptor_count|open_file_descriptor_count) non-histogram and non-summary metrics should not have "_count" suffix$' \
		"$ZKT_DIR/lint$i.txt"; then
		zkt_fail "node $i: promtool check metrics complains (above)"
	fi
done
grep -q '^zkfsd_raft_term [1-9]' "$ZKT_DIR/m1.txt" || zkt_fail "no zkfsd_raft_term in /metrics"

promtool check config "$contrib/prometheus/prometheus.yml" >/dev/null ||
	zkt_fail "contrib/prometheus/prometheus.yml does not pass promtool check config"
(cd "$contrib/prometheus" && promtool test rules zkfsd-alerts-test.yml >/dev/null) ||
	zkt_fail "contrib/prometheus alert rules fail their promtool tests"

# Some writes and sessions, then a real Prometheus scraping every second.
"$ZKC_PY" - "$(zkc_hosts)" <<'PY' || zkt_fail "kazoo writes failed"
import sys
from kazoo.client import KazooClient
zk = KazooClient(sys.argv[1]); zk.start(30)
for i in range(50):
    zk.create("/m/n%02d" % i, b"x" * i, makepath=True)
zk.stop()
PY
zkc_wait_converged 30 1 2 3

cat >"$ZKT_DIR/prometheus.yml" <<CFG
global: {scrape_interval: 1s, evaluation_interval: 1s}
rule_files: ["$contrib/prometheus/zkfsd-alerts.yml"]
scrape_configs:
  - job_name: zkfsd
    static_configs:
      - targets: ["$(zkc_addr 1):7000", "$(zkc_addr 2):7000", "$(zkc_addr 3):7000"]
CFG
setpriv --pdeathsig KILL prometheus --config.file="$ZKT_DIR/prometheus.yml" \
	--storage.tsdb.path="$ZKT_DIR/tsdb" --web.listen-address="127.0.0.1:$PROM_PORT" \
	>"$ZKT_DIR/prometheus.log" 2>&1 {ZKC_LOCK_FD}>&- &
ZKT_PIDS[prometheus]=$!

"$ZKC_PY" - "$PROM_PORT" "$(zkc_leader)" "$contrib" <<'PY' || zkt_fail "Prometheus does not show what mntr shows"
import json, re, socket, sys, time, urllib.parse, urllib.request

port, leader, contrib = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
addr = {i: "127.0.0.%d" % (10 + i) for i in (1, 2, 3)}

def query(q):
    url = "http://127.0.0.1:%d/api/v1/query?%s" % (port, urllib.parse.urlencode({"query": q}))
    with urllib.request.urlopen(url, timeout=5) as r:
        body = json.load(r)
    assert body["status"] == "success", body
    return body["data"]["result"]

def by_instance(q):
    return {r["metric"]["instance"].split(":")[0]: r for r in query(q)}

def mntr(i):
    s = socket.create_connection((addr[i], 22050), timeout=5)
    s.sendall(b"mntr")
    out = b""
    while True:
        b = s.recv(65536)
        if not b:
            break
        out += b
    return dict(l.split("\t", 1) for l in out.decode().splitlines() if "\t" in l)

def mismatches():
    bad = []
    up = by_instance("up")
    for i in (1, 2, 3):
        if up.get(addr[i], {}).get("value", [0, "0"])[1] != "1":
            bad.append("node %d not up in Prometheus" % i)
    if bad:
        return bad
    m = {i: mntr(i) for i in (1, 2, 3)}
    for name, key in (("znode_count", "znode_count"), ("zkfsd_last_zxid", "last_zxid"),
                      ("global_sessions", "global_sessions"),
                      ("ephemerals_count", "ephemerals_count"),
                      ("zkfsd_loop_stalls_total", "loop_stalls")):
        got = by_instance(name)
        for i in (1, 2, 3):
            v = got.get(addr[i], {}).get("value", [0, None])[1]
            if v != m[i]["zk_" + key]:
                bad.append("node %d %s: prometheus %s, mntr %s" % (i, name, v, m[i]["zk_" + key]))
    info = by_instance("zkfsd_info")
    for i in (1, 2, 3):
        st = info.get(addr[i], {}).get("metric", {}).get("server_state")
        if st != m[i]["zk_server_state"]:
            bad.append("node %d state: prometheus %s, mntr %s" % (i, st, m[i]["zk_server_state"]))
    for i, r in by_instance("quorum_size").items():
        if r["value"][1] != "3":
            bad.append("%s quorum_size %s" % (i, r["value"][1]))
    for name in ("learners", "synced_followers"):
        got = by_instance(name)
        if list(got) != [addr[leader]] or got[addr[leader]]["value"][1] != "2":
            bad.append("%s: %s (expected 2 on the leader only)" % (name, got))
    lag = query("zkfsd_follower_lag_entries")
    if sorted(r["metric"]["member"] for r in lag) != sorted(str(i) for i in (1, 2, 3) if i != leader):
        bad.append("zkfsd_follower_lag_entries series: %s" % lag)
    return bad

deadline = time.time() + 40
while True:
    try:
        bad = mismatches()
    except OSError as e:
        bad = ["prometheus not answering: %s" % e]
    if not bad:
        break
    if time.time() > deadline:
        sys.exit("\n".join(bad))
    time.sleep(0.5)

# Every metric the alert rules and the dashboard use exists in the real scrape.
with urllib.request.urlopen("http://127.0.0.1:%d/api/v1/label/__name__/values" % port) as r:
    names = set(json.load(r)["data"])
used = set()
for f in ("prometheus/zkfsd-alerts.yml", "grafana/zkfsd-dashboard.json"):
    text = open("%s/%s" % (contrib, f)).read()
    used |= set(re.findall(r"\b((?:zkfsd_|znode_|num_|avg_|global_|packets_)[a-z_]+?)(?:_bucket)?\{", text))
    used |= {"up"} if "up{" in text else set()
missing = sorted(n for n in used if n not in names and n + "_bucket" not in names)
if missing:
    sys.exit("used by contrib but not exported: %s" % missing)
print("prometheus and mntr agree on 3 servers; contrib uses %d exported metrics" % len(used))
PY
zkt_log "PASS"
