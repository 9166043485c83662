#!/usr/bin/env bash
# measure.sh [KIND]: start a server (apache or zkfsd; default apache) and two mounts, then
# print the mount's figures next to /dev/shm and the C client (fuse/measure.c). Run as root
# from anywhere with top_builddir set (default: ./build). Prints figures; not a test.
set -u
source "$(dirname "$0")/../tests/integration/lib.sh"
source "$(dirname "$0")/../tests/integration/mount_lib.sh"
kind=${1:-apache}
M=$top_builddir/fuse/zkfs-measure
[ -x "$M" ] || { echo "build it first: make fuse/zkfs-measure" >&2; exit 1; }
zkt_init measure
port=$(zkm_port "$kind" 9)
zkt_start_server "$kind" "$port"
zkm_mount a "127.0.0.1:$port"
a=$ZKM_MP
zkm_mount b "127.0.0.1:$port"
b=$ZKM_MP
echo "server: $kind"
echo small >/dev/shm/zkfs-measure.txt
echo small >"$a/small"
cat "$a/small" >/dev/null
"$M" cat /dev/shm/zkfs-measure.txt 3
"$M" cat "$a/small" 3
rm -f /dev/shm/zkfs-measure.txt
mkdir "$a/mc"
"$M" mount-create "$a/mc" 3
"$M" zk-create "127.0.0.1:$port" /zc 3
echo x >"$a/ms"
"$M" mount-set "$a/ms" 3
"$M" zk-set "127.0.0.1:$port" /zs 3
echo 0 >"$a/lat"
zkt_wait 10 test -f "$b/lat"
cat "$b/lat" >/dev/null
"$M" latency "$a/lat" "$b" 300
