"""The Java client (Apache ZooKeeper's own zkCli, the client Curator and most applications sit
on) against Apache ZooKeeper and zkfsd: every create mode, Stat printing, getEphemerals,
getAllChildrenNumber, whoami, persistent recursive watches and their removal, ACLs, sync, quotas
(the server keeps /zookeeper/quota/<path>/zookeeper_stats up to date), getConfig, errors.

One zkCli JVM runs the whole script from stdin.  Lines that carry zxids or times are dropped;
watch events arrive asynchronously between command outputs, so the outputs are compared as
sorted lists of lines.
"""

import os
import re
import subprocess
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import zkt  # noqa: E402
from zkt import check, wait_for  # noqa: E402

ZKCLI = "/usr/share/zookeeper/bin/zkCli.sh"

SCRIPT = """create /j data
create /j data
create -e /j/e eph
create -s /j/s- seq
create -s /j/s- seq
create -e -s /j/es- eph
create -c /j/ctr
create -t 60000 /j/ttl t
create -t 60000 -s /j/ttls- t
create /j/e/child x
create /nope/x x
get -s /j
ls -s /j
ls -R /j
getEphemerals
getEphemerals /j/e
getAllChildrenNumber /j
getAllChildrenNumber /nope
whoami
addWatch -m PERSISTENT_RECURSIVE /j
addWatch -m PERSISTENT /j/s-0000000002
set /j v2
set -v 0 /j v3
set -v 1 /j v3
create /j/x x
set /j/x xx
delete /j/x
removewatches /j -a
removewatches /j/none -a
stat /j
stat /nope
sync /j
getAcl /j
setAcl -v 0 /j world:anyone:cdrwa
setAcl -v 0 /j world:anyone:cdrwa
getAcl -s /j
delete /j
delete -v 7 /j/s-0000000002
deleteall /j
create /q q
setquota -n 3 /q
create /q/a a
create /q/b b
listquota /q
delquota /q
listquota /q
config
reconfig -remove 1
create /w w
get -w /w
ls -w /w
stat -w /w/none
set /w w2
create /w/none n
delete /w/none
delete /w
ls /
ls /zookeeper
get /zookeeper/config
quit
"""

DROP = re.compile(r"^(cZxid|mZxid|pZxid|ctime|mtime|ephemeralOwner) = |SLF4J|log4j|^\s*$|"
                  r"^WATCHER::$|^Connecting to |^Welcome to ZooKeeper|^JLine support|"
                  r"^\[zk: |state:Closed|type:None")


def sort_list(line):
    """'[b, a]' -> '[a, b]': Apache ZooKeeper lists getEphemerals in hash-set order."""
    m = re.match(r"^\[(.*)\]$", line)
    return "[%s]" % ", ".join(sorted(m.group(1).split(", "))) if m else line


def normalise(text):
    return sorted(sort_list(line.rstrip()) for line in text.splitlines()
                  if not DROP.search(line))


ENV = dict(os.environ, ZOO_LOG4J_PROP="ERROR,CONSOLE", CLIENT_JVMFLAGS="-Xmx128m")


class Cli:
    """An interactive zkCli fed line by line; its output lines collect in .lines."""

    def __init__(self, hosts):
        self.proc = subprocess.Popen([ZKCLI, "-server", hosts], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True, bufsize=1, env=ENV)
        self.lines = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.append(line.rstrip())

    def send(self, cmd):
        self.proc.stdin.write(cmd + "\n")
        self.proc.stdin.flush()

    def wait_line(self, text, count=1, seconds=30):
        wait_for(lambda: sum(text in ln for ln in self.lines) >= count, seconds,
                 "zkCli to print %r %d times (output: %r)" % (text, count, self.lines[-8:]))

    def quit(self):
        try:
            self.send("quit")
            return self.proc.wait(30)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            return self.proc.wait()


def reconnect(server, rec):
    """The Java client loses its connection (a relay is cut) while another client changes the
    tree; on reconnect it re-sends its one-shot and persistent watches (setWatches2): missed
    changes fire the one-shot ones, the persistent recursive one fires for later changes."""
    proxy = zkt.Proxy(server.port)
    cli = Cli("127.0.0.1:%d" % proxy.port)
    k = zkt.kazoo_client(server)
    try:
        reconnect_steps(proxy, cli, k, rec)
    finally:
        rc = cli.quit()
        proxy.close()
        k.stop()
        k.close()
    check(rc == 0, "zkCli exited with status %s after quit" % rc)
    rec("reconnect exit", rc)


def reconnect_steps(proxy, cli, k, rec):
    """The steps of reconnect(); a step that times out fails the test.
    One-shot and persistent watches are on different paths: Apache ZooKeeper 3.8 keeps one
    watch mode per path and connection (3.9 allows both)."""
    cli.wait_line("type:None path:null", seconds=40)  # JVM start and first connect.
    cli.send("create /jw x")
    cli.send("create /jo x")
    cli.send("addWatch -m PERSISTENT_RECURSIVE /jw")
    cli.send("get -w /jo")
    cli.send("ls -w /jo")
    cli.wait_line("[]")
    k.create("/jw/pre", b"")
    cli.wait_line("type:NodeCreated path:/jw/pre")
    proxy.cut()
    cli.wait_line("state:Disconnected")
    k.set("/jo", b"missed")
    k.create("/jo/a", b"")
    k.create("/jw/missed", b"")
    proxy.resume()
    # The reconnect itself: the Disconnected event above also ends in "type:None path:null".
    cli.wait_line("state:SyncConnected type:None path:null", 2)
    k.create("/jw/b", b"")
    k.set("/jw/b", b"after")
    cli.send("ls /jw")
    cli.wait_line("[b, missed, pre]")
    events = sorted(set(ln for ln in cli.lines if ln.startswith("WatchedEvent") and
                        "type:None" not in ln))
    # What any server must deliver: the persistent recursive watch fires before the cut, the
    # one-shot watches for the changes missed while disconnected.
    for typ, path in (("NodeCreated", "/jw/pre"), ("NodeDataChanged", "/jo"),
                      ("NodeChildrenChanged", "/jo")):
        check(any("type:%s path:%s" % (typ, path) in ln for ln in events),
              "no %s event for %s after the reconnect: %r" % (typ, path, events))
    rec("reconnect events", events)
    rec("reconnect errors", sorted(ln for ln in cli.lines if "KeeperErrorCode" in ln))


def javaclient(server, rec):
    if not os.access(ZKCLI, os.X_OK):
        raise zkt.Skip("zkCli.sh not installed (Debian zookeeper)")
    reconnect(server, rec)
    p = subprocess.run([ZKCLI, "-server", server.hosts()], input=SCRIPT, capture_output=True,
                       text=True, timeout=120, env=ENV)
    out, err = normalise(p.stdout), normalise(p.stderr)
    check(any("Created /j" == ln for ln in out + err),
          "zkCli did not create /j: %r" % (p.stdout[-500:] + p.stderr[-500:]))
    check(p.returncode == 0, "zkCli exited with status %s" % p.returncode)
    rec("zkCli exit", p.returncode)
    rec("zkCli stdout", out)
    rec("zkCli stderr", err)


if __name__ == "__main__":
    zkt.run_kinds("test_javaclient", javaclient)
