#!/usr/bin/env bash
# The seed's master/worker flow exactly as ZooKeeper clients write it (issue 16, case 6): a
# task is a sequential node with data (`create -s /tasks/task- "cmd"`), the worker adds a child
# to it (`create /tasks/task-N/status "done"`), the client watches the task's children and
# reads both. With `-o dirs` (every node a directory, its data in `.data`) a shell plays either
# side: a kazoo client with a shell worker on the mount, and a shell client with a kazoo worker.
set -u
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/mount_lib.sh"
zkt_init mount_seed
zkt_require_root
zkt_require_cmd getfattr
[ -x "$ZKFS" ] || zkt_skip "zkfs not built at $ZKFS"

has() { [ "$(cat "$1" 2>/dev/null)" = "$2" ]; }
nonempty() { [ -s "$1" ]; }

# A kazoo client submits a task and waits (child watch) for its status; a shell worker on the
# mount serves it.
kazoo_client_shell_worker() {
	local d=$1 out=$ZKT_DIR/client.out pid path t cmd
	zkm_kazoo "$port" '
import threading
done = threading.Event()
p = zk.create("/tasks/task-", b"echo hello", sequence=True, makepath=True)
print(p, flush=True)
zk.ChildrenWatch(p, lambda kids: done.set() if "status" in kids else None)
assert done.wait(30), "no status child"
print(zk.get(p + "/status")[0].decode().strip(), flush=True)' >"$out" 2>&1 &
	pid=$!
	zkt_wait 20 nonempty "$out" || zkt_fail "the kazoo client did not create its task"
	path=$(head -n 1 "$out")
	t=${path##*/}
	zkt_wait 10 test -f "$d/tasks/$t/.data" || zkt_fail "the task's data is not $t/.data"
	cmd=$(cat "$d/tasks/$t/.data")
	bash -c "$cmd" >"$d/tasks/$t/status" || zkt_fail "the shell worker cannot add status"
	wait "$pid" || zkt_fail "kazoo client: $(cat "$out")"
	zkm_eq hello "$(tail -n 1 "$out")" "the status the kazoo client read"
}

# A shell client on the mount submits a task with data and waits for its status; a kazoo
# worker serves it.
shell_client_kazoo_worker() {
	local d=$1 path task
	exec 3>"$d/tasks/task-.seq"
	echo "echo world" >&3
	path=$(getfattr --only-values -n user.zkfs.path /proc/self/fd/3 2>/dev/null)
	exec 3>&-
	task=${path##*/}
	[ -n "$task" ] || zkt_fail "the shell client could not create a task"
	zkm_kazoo "$port" '
import subprocess
cmd = zk.get("/tasks/'"$task"'")[0].decode()
assert cmd == "echo world\n", cmd
out = subprocess.run(["bash", "-c", cmd], capture_output=True).stdout
zk.create("/tasks/'"$task"'/status", out)' || zkt_fail "kazoo worker"
	zkt_wait 15 has "$d/tasks/$task/status/.data" world ||
		zkt_fail "the shell client did not see the status"
	zkm_eq "echo world" "$(cat "$d/tasks/$task/.data")" "the task's own data"
}

run_kind() {
	local d
	port=$(zkm_port "$1" 7)
	zkt_start_server "$1" "$port"
	zkm_mount "d-$1" "127.0.0.1:$port" dirs
	d=$ZKM_MP
	kazoo_client_shell_worker "$d"
	shell_client_kazoo_worker "$d"
	fusermount3 -u "$d"
	zkt_stop_server "$port"
	zkt_log "$1: ok"
}

zkm_each_kind run_kind
