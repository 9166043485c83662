#!/usr/bin/env bash
# worker.sh APP NAME [LOG]: register as an ephemeral worker, run what the master assigns, write
# each task's status once (noclobber), and append "<task> <worker>" to LOG when given.
NAME=${2:?usage: worker.sh APP_DIR NAME [LOG]}
LOG=${3:-/dev/null}
source "$(dirname "$0")/common.sh"
setup_tree || exit 1
mkdir -p "$APP/assign/$NAME"
echo up >"$APP/workers/$NAME.eph" || exit 1
say "registered"

run_task() {
	local t=$1 out
	if [ ! -e "$APP/tasks/$t/status" ]; then
		out=$(bash -c "$(cat "$APP/assign/$NAME/$t")" 2>&1)
		if (set -C; echo "done by $NAME: $out" >"$APP/tasks/$t/status") 2>/dev/null; then
			echo "$t $NAME" >>"$LOG"
			say "finished $t"
		fi
	fi
	rm -f "$APP/assign/$NAME/$t"
}

while :; do
	for t in $(ls "$APP/assign/$NAME"); do run_task "$t"; done
	wait_event 2 create "$APP/assign/$NAME"
done
