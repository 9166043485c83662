#!/usr/bin/env bash
# barrier.sh DIR COUNT NAME: enter the barrier DIR as NAME and return once COUNT participants
# (on any hosts) have entered. Entries are ephemeral: a dead host leaves the barrier.
set -u
dir=${1:?usage: barrier.sh DIR COUNT NAME}
count=${2:?usage: barrier.sh DIR COUNT NAME}
name=${3:?usage: barrier.sh DIR COUNT NAME}
mkdir -p "$dir"
echo "$name" >"$dir/$name.eph" || exit 1
until [ "$(ls "$dir" | wc -l)" -ge "$count" ]; do
	inotifywait -qq -t 10 -e create "$dir" >/dev/null 2>&1 || true
done
