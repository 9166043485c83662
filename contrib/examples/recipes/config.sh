#!/usr/bin/env bash
# config.sh FILE CMD...: run CMD now and again each time FILE (a node on a zkfs mount) changes,
# wherever the change was made; CMD gets the new value on stdin.
set -u
file=${1:?usage: config.sh FILE CMD...}
shift
"$@" <"$file"
inotifywait -qm -e modify -e close_write "$file" | while read -r _; do
	"$@" <"$file"
done
