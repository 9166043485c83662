# lock_lib.sh: helpers of the mount lock tests (fuse/lock.h). Source lib.sh first.
#
#   holder NAME FILE MODE     a process holding flock MODE (x|s) on FILE; returns once it holds
#   holder_say NAME CMD       un (LOCK_UN) or write (a write on the locked descriptor, result in
#                             $ZKT_DIR/NAME.out: "write ok" or "write errno N")
#   holder_kill NAME          kill -9 it
#   holders FILE, nholders FILE   user.zkfs.lock_holders of FILE, and its number of lines
#   nholders_is FILE N        FILE has N contenders (for zkt_wait)
#   lock_free FILE            a flock -n -x of FILE succeeds now
#   mount_pid MOUNTPOINT      the zkfs process serving MOUNTPOINT
#   pid_gone PID              process PID has exited (for zkt_wait)

declare -A HOLDER_PID=() HOLDER_FD=()

# holder NAME FILE MODE: a process holding flock MODE (x|s) on FILE, started and waited for
# until it holds. It obeys lines sent with `holder_say NAME CMD`: un (LOCK_UN), write (report
# the result of a write on the locked descriptor). Its reports go to $ZKT_DIR/NAME.out.
holder() {
	local name=$1 fifo=$ZKT_DIR/$1.fifo fd
	mkfifo "$fifo"
	exec {fd}<>"$fifo"
	HOLDER_FD[$name]=$fd
	/usr/bin/python3 -c '
import fcntl, os, sys
path, mode, out = sys.argv[1:4]
fd = os.open(path, os.O_RDWR)
def say(s):
    with open(out, "a") as f:
        f.write(s + "\n")
fcntl.flock(fd, fcntl.LOCK_EX if mode == "x" else fcntl.LOCK_SH)
say("held")
for line in sys.stdin:
    if line.strip() == "un":
        fcntl.flock(fd, fcntl.LOCK_UN)
        say("unlocked")
    elif line.strip() == "write":
        try:
            os.pwrite(fd, b"x\n", 0)
            say("write ok")
        except OSError as e:
            say("write errno %d" % e.errno)
' "$2" "$3" "$ZKT_DIR/$name.out" <"$fifo" &
	HOLDER_PID[$name]=$!
	ZKT_PIDS[holder-$name]=$!
	zkt_wait 15 grep -q held "$ZKT_DIR/$name.out" 2>/dev/null || zkt_fail "$name: no lock on $2"
}

holder_say() { echo "$2" >&"${HOLDER_FD[$1]}"; }

holder_kill() {
	kill -KILL "${HOLDER_PID[$1]}" 2>/dev/null
	wait "${HOLDER_PID[$1]}" 2>/dev/null
	unset "ZKT_PIDS[holder-$1]"
	rm -f "$ZKT_DIR/$1.out" "$ZKT_DIR/$1.fifo"
}

holders() { getfattr --only-values -n user.zkfs.lock_holders "$1" 2>/dev/null; }
nholders() { holders "$1" | grep -c . ; }
nholders_is() { [ "$(nholders "$1")" = "$2" ]; }
# free FILE: a flock -n on FILE succeeds now.
lock_free() { flock -n -x "$1" true; }
# The newest match: a zkfs that served the same mount point before may still be exiting (under
# ASan its leak check at exit takes a while), and killing it instead would kill nothing useful.
mount_pid() { pgrep -n -f -- "zkfs .* $1 "; }
pid_gone() { ! kill -0 "$1" 2>/dev/null; }

