#!/usr/bin/env bash
# master.sh APP NAME: run for master; the loser waits for the master's DELETE and tries again.
# As master: give each task that has a cmd and no status to a live worker, exactly once.
NAME=${2:?usage: master.sh APP_DIR NAME}
source "$(dirname "$0")/common.sh"
setup_tree || exit 1

# Election: the ephemeral create is exclusive and made at open(), so with noclobber exactly
# one candidate's redirection succeeds; the others get "cannot overwrite existing file".
until (set -C; echo "$NAME" >"$APP/master.eph") 2>/dev/null; do
	say "backup (master is $(cat "$APP/master" 2>/dev/null))"
	wait_event 10 delete "$APP"
done
say "active master"

# Where is task $1 assigned? Prints the worker or nothing.
assigned_to() {
	local a
	for a in "$APP"/assign/*/"$1"; do
		[ -e "$a" ] || continue
		a=${a%/*}
		echo "${a##*/}"
		return
	done
}

assign_pending() {
	local workers=() t w
	for w in "$APP"/workers/*; do [ -e "$w" ] && workers+=("${w##*/}"); done
	[ ${#workers[@]} -gt 0 ] || return 0
	for t in $(ls "$APP/tasks"); do
		[ -e "$APP/tasks/$t/status" ] && continue
		[ -e "$APP/tasks/$t/cmd" ] || continue
		w=$(assigned_to "$t")
		if [ -n "$w" ]; then
			[ -e "$APP/workers/$w" ] && continue
			say "worker $w is gone: reassigning $t"
			rm -f "$APP/assign/$w/$t"
		fi
		w=${workers[RANDOM % ${#workers[@]}]}
		mkdir -p "$APP/assign/$w"
		# A plain create is made at close with the whole cmd: the worker never sees it
		# empty (a noclobber create would be made at open, before its data).
		cat "$APP/tasks/$t/cmd" >"$APP/assign/$w/$t" && say "assigned $t to $w"
	done
}

while :; do
	assign_pending
	wait_event 2 create,delete,modify "$APP/tasks" "$APP/workers"
done
