#!/usr/bin/env bash
# elect.sh DIR NAME CMD...: leader election. Whoever creates DIR/leader.eph (exclusive, made at
# open, so exactly one wins) runs CMD as leader; the others wait for its DELETE and retry.
set -u
dir=${1:?usage: elect.sh DIR NAME CMD...}
name=${2:?usage: elect.sh DIR NAME CMD...}
shift 2
mkdir -p "$dir"
until (set -C; echo "$name" >"$dir/leader.eph") 2>/dev/null; do
	inotifywait -qq -t 10 -e delete "$dir" >/dev/null 2>&1 || true
done
trap 'rm -f "$dir/leader"' EXIT
"$@"
