#!/usr/bin/env bash
# lock_measure.sh [KIND] [N]: start a server (zkfsd or apache; default zkfsd) and two mounts,
# then print the cluster locks' figures (fuse/lock.h): uncontended flock LOCK_EX + LOCK_UN per
# second through a mount against kazoo's Lock acquire + release, and the hand-over latency
# (holder's LOCK_UN -> the waiter on the other mount holds) against two kazoo clients. Each
# figure also gives the CPU time of the measuring process and of the mount. Run as root with
# top_builddir set (default: ./build). Prints figures; not a test.
set -u
source "$(dirname "$0")/../tests/integration/lib.sh"
source "$(dirname "$0")/../tests/integration/mount_lib.sh"
kind=${1:-zkfsd}
n=${2:-500}
zkt_init lock_measure
port=$(zkm_port "$kind" 8)
zkt_start_server "$kind" "$port"
zkm_mount a "127.0.0.1:$port"
a=$ZKM_MP
zkm_mount b "127.0.0.1:$port"
b=$ZKM_MP
echo lock >"$a/lk"
zkt_wait 10 test -f "$b/lk"
pid_a=$(pgrep -f -- "zkfs .* $a " | head -n 1)
echo "server: $kind; $n rounds; load: $(cut -d' ' -f1-3 /proc/loadavg)"
/usr/bin/python3 - "$a/lk" "$b/lk" "127.0.0.1:$port" "$n" "$pid_a" <<'PY'
import fcntl, os, resource, statistics, sys, threading, time
from kazoo.client import KazooClient

fa, fb, hosts, n, pid_a = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]

def cpu_of(pid):
    with open("/proc/%s/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

def me_cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime

def report(what, count, wall, cpu_me, cpu_mount=None):
    extra = "" if cpu_mount is None else ", mount CPU %.0f us/op" % (cpu_mount / count * 1e6)
    print("%-44s %7.0f /s  (client CPU %.0f us/op%s)" % (what, count / wall, cpu_me / count * 1e6, extra))

# 1. Uncontended lock + unlock, one descriptor kept open.
fd = os.open(fa, os.O_RDONLY)
c0, m0, t0 = me_cpu(), cpu_of(pid_a), time.monotonic()
for _ in range(n):
    fcntl.flock(fd, fcntl.LOCK_EX)
    fcntl.flock(fd, fcntl.LOCK_UN)
t = time.monotonic() - t0
report("flock LOCK_EX+LOCK_UN through the mount", n, t, me_cpu() - c0, cpu_of(pid_a) - m0)
os.close(fd)

zk = KazooClient(hosts=hosts, timeout=10)
zk.start(timeout=15)
lock = zk.Lock("/lk")
c0, t0 = me_cpu(), time.monotonic()
for _ in range(n):
    lock.acquire()
    lock.release()
t = time.monotonic() - t0
report("kazoo Lock acquire+release", n, t, me_cpu() - c0)

# 2. Hand-over latency: two holders alternate; each records when it got the lock and when it
# let it go (one monotonic clock: same host); a hand-over is release -> the other's acquire.
def run_pair(take, give, rounds):
    events = []
    mu = threading.Lock()
    def worker(name, i):
        for _ in range(rounds):
            take(i)
            with mu:
                events.append((time.monotonic_ns(), name, "acq"))
            time.sleep(0.002)  # The hold: lets the other side queue behind this holder.
            with mu:
                events.append((time.monotonic_ns(), name, "rel"))
            give(i)
    ts = [threading.Thread(target=worker, args=(k, k)) for k in (0, 1)]
    for t in ts: t.start()
    for t in ts: t.join()
    events.sort()
    lat = [b[0] - a[0] for a, b in zip(events, events[1:])
           if a[2] == "rel" and b[2] == "acq" and a[1] != b[1]]
    return lat

def show(what, lat):
    lat = sorted(lat)
    print("%-44s p50 %.2f ms  p90 %.2f ms  (%d hand-overs)" % (
        what, lat[len(lat) // 2] / 1e6, lat[int(len(lat) * 0.9)] / 1e6, len(lat)))

fds = [os.open(fa, os.O_RDONLY), os.open(fb, os.O_RDONLY)]
show("hand-over, two mounts (flock)",
     run_pair(lambda i: fcntl.flock(fds[i], fcntl.LOCK_EX), lambda i: fcntl.flock(fds[i], fcntl.LOCK_UN), n // 5))
zk2 = KazooClient(hosts=hosts, timeout=10)
zk2.start(timeout=15)
locks = [zk.Lock("/lk"), zk2.Lock("/lk")]
show("hand-over, two kazoo clients (Lock)",
     run_pair(lambda i: locks[i].acquire(), lambda i: locks[i].release(), n // 5))
zk.stop()
zk2.stop()
PY
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
fusermount3 -u "$a"
fusermount3 -u "$b"
