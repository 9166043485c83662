#!/usr/bin/env bash
# client.sh APP CMD: submit CMD as a sequential task, wait for its status, print it.
source "$(dirname "$0")/common.sh"
CMD=${2:?usage: client.sh APP_DIR CMD}
setup_tree || exit 1

# Create tasks/task-NNNNNNNNNN and learn its name race-free: reading user.zkfs.path on the
# still-open descriptor creates the node at once (empty, so it is a directory) and names it.
exec 3>"$APP/tasks/task-.seq"
path=$(getfattr --only-values -n user.zkfs.path /proc/self/fd/3 2>/dev/null)
exec 3>&-
task=${path##*/}
[ -n "$task" ] || { say "could not create a task"; exit 1; }
echo "$CMD" >"$APP/tasks/$task/cmd"
say "submitted $task"
# The worker creates status with noclobber (exclusive, so at open, empty) then writes it.
until [ -s "$APP/tasks/$task/status" ]; do
	wait_event 5 create,modify "$APP/tasks/$task"
done
echo "$task: $(cat "$APP/tasks/$task/status")"
