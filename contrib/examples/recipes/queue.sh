#!/usr/bin/env bash
# queue.sh put DIR DATA | queue.sh take DIR: a FIFO queue of sequential nodes. `take` blocks
# until an item is there, prints it and removes it; of two takers of one item, the one whose
# rm succeeds owns it (the other moves on).
set -u
cmd=${1:?usage: queue.sh put DIR DATA | take DIR}
dir=${2:?usage: queue.sh put DIR DATA | take DIR}
mkdir -p "$dir"
case "$cmd" in
put)
	printf '%s\n' "${3:?usage: queue.sh put DIR DATA}" >"$dir/item-.seq"
	;;
take)
	while :; do
		for item in $(ls "$dir" | grep '^item-' | sort); do
			data=$(cat "$dir/$item" 2>/dev/null) || continue
			rm "$dir/$item" 2>/dev/null || continue
			printf '%s\n' "$data"
			exit 0
		done
		inotifywait -qq -t 10 -e create "$dir" >/dev/null 2>&1 || true
	done
	;;
*) echo "usage: queue.sh put DIR DATA | take DIR" >&2; exit 2 ;;
esac
