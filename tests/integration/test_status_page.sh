#!/bin/bash
# The status page (issue 15): GET / of the AdminServer in a real browser (headless Chromium
# driven by Selenium: Debian's chromium, chromium-driver, python3-selenium). On a follower of a
# 3-server zkfsd ensemble the page shows the leader's id, the three members with the leader's
# row marked and the follower lag columns, the session count; after kill -9 of the leader it
# shows the new leader (as the server's own `leader` command does) within 30 s, without a
# reload.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/cluster.sh"
zkt_init status-page

zkt_require_cmd chromium chromedriver
/usr/bin/python3 -c 'import selenium' 2>/dev/null || zkt_skip "python3-selenium not installed"
zkc_init zkfsd 3
for i in 1 2 3; do
	cat >>"$(zkc_dir "$i")/zoo.cfg" <<CFG
admin.enableServer=true
admin.serverAddress=$(zkc_addr "$i")
admin.serverPort=8080
CFG
done
zkc_start_all 60
old=$(zkc_leader) || zkt_fail "no leader"
page=$((old % 3 + 1))
zkt_log "leader is node $old; the page is node $page's"

"$ZKC_PY" - "http://$(zkc_addr "$page"):8080/" "$old" "$ZKT_DIR/stop-leader" \
	"$ZKT_DIR/leader-stopped" <<'PY' &
import json, os, sys, time, urllib.request
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service

url, old, stop, stopped = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
opts = Options()
for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
    opts.add_argument(a)
drv = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)

def text(i):
    return drv.find_element("id", i).text

def wait(pred, secs, what):
    deadline = time.time() + secs
    while time.time() < deadline:
        try:
            if pred():
                return
        except Exception:
            pass
        time.sleep(0.2)
    sys.exit("page: %s not seen within %d s (leader %r, members %r, error %r)"
             % (what, secs, text("leader"), text("members"), text("error")))

try:
    drv.get(url)
    wait(lambda: text("leader") == old, 20, "leader %s" % old)
    wait(lambda: len(drv.find_elements("css selector", "#members tr")) == 3, 10, "3 members")
    # The page redraws its table as it polls: an element found just before a redraw is stale
    # (StaleElementReferenceException, seen under load), so each check is retried until it holds.
    wait(lambda: drv.find_element("css selector", "#members tr.leader").get_attribute("data-id")
         == old, 10, "the leader's row marked")
    wait(lambda: text("state") == "follower", 10, "state follower")
    wait(lambda: text("sessions").isdigit(), 10, "a session count")
    print("page shows leader %s and 3 members" % old, flush=True)
    open(stop, "w").close()
    wait(lambda: os.path.exists(stopped), 30, "the leader's kill")
    def moved():
        now = text("leader")
        if now in ("", "none", old, "…"):
            return False
        with urllib.request.urlopen(url + "commands/leader", timeout=5) as r:
            return json.load(r)["leader_id"] == int(now)
    wait(moved, 30, "a new leader")
    print("page followed the failover: leader %s" % text("leader"), flush=True)
finally:
    drv.quit()
PY
browser=$!
ZKT_PIDS[browser]=$browser
zkt_wait 40 test -f "$ZKT_DIR/stop-leader" || { wait "$browser"; zkt_fail "page never showed the leader"; }
zkc_stop "$old" KILL
touch "$ZKT_DIR/leader-stopped"
wait "$browser" || zkt_fail "the status page did not follow the failover"
unset "ZKT_PIDS[browser]"
zkt_log "PASS"
