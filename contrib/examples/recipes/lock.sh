#!/usr/bin/env bash
# lock.sh DIR CMD...: run CMD holding the cluster-wide lock DIR (a directory on a zkfs mount).
# ZooKeeper's lock recipe: each contender creates an ephemeral sequential node; the lowest
# holds the lock; the others wait for the DELETE of the node just before theirs (no herd).
# The node is removed when CMD ends, or by the server if this host's mount dies.
set -u
dir=${1:?usage: lock.sh DIR CMD...}
shift
mkdir -p "$dir"
exec 3>"$dir/lock-.eph.seq"
me=$(getfattr --only-values -n user.zkfs.path /proc/self/fd/3 2>/dev/null)
exec 3>&-
me=${me##*/}
[ -n "$me" ] || { echo "lock.sh: cannot create a lock node in $dir" >&2; exit 1; }
trap 'rm -f "$dir/$me"' EXIT
while :; do
	prev=$(ls "$dir" | grep '^lock-' | sort | awk -v me="$me" '$0 < me { p = $0 } END { print p }')
	[ -z "$prev" ] && break
	# Wait for the predecessor to go; the timeout only bounds a missed wake-up.
	inotifywait -qq -t 10 -e delete_self -e delete "$dir/$prev" >/dev/null 2>&1 || true
done
"$@"
