# common.sh: shared by master.sh, worker.sh and client.sh. APP is the application's directory
# on a zkfs mount (e.g. /mnt/zk/app); the tree is:
#   APP/master            ephemeral: the active master's name
#   APP/workers/<w>       ephemeral: one per live worker
#   APP/tasks/<task>/     sequential: cmd (what to run), status (written once, by the worker)
#   APP/assign/<w>/<task> the master's assignment of a task to worker w (holds the cmd)
set -u
APP=${1:?usage: $0 APP_DIR NAME}

say() { printf '%s %s: %s\n' "$(date +%T.%N | cut -c1-12)" "${NAME:-client}" "$*" >&2; }

setup_tree() {
	mkdir -p "$APP/workers" "$APP/tasks" "$APP/assign" 2>/dev/null
	[ -d "$APP/workers" ] && [ -d "$APP/tasks" ] && [ -d "$APP/assign" ]
}

# Wait (at most $1 seconds) for any of the events $2 (comma list) under the directories that
# follow; a timeout is not an error: callers re-check the tree after every wake-up.
wait_event() {
	local t=$1 events=$2 e args=()
	shift 2
	for e in ${events//,/ }; do args+=(-e "$e"); done
	inotifywait -qq -t "$t" "${args[@]}" "$@" >/dev/null 2>&1 || true
}
