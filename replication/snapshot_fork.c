/* snapshot_fork.c: see snapshot_fork.h. The pipe carries an 8-byte length (host order: the
 * reader is the writer's parent) and then the store_snapshot_write image, so the reader sizes
 * its buffer once and a child that stops early is told from a complete image by the length,
 * as well as by its exit status. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/zk_alloc.h"
#include "common/zk_buf.h"
#include "common/zk_log.h"
#include "replication/snapshot_fork.h"

/* The child's exit codes. */
enum { CHILD_NOMEM = 10, CHILD_WRITE = 11, CHILD_ORPHAN = 12 };

/* Bigger pipe, fewer wake-ups of the reader (1 MiB is Linux's default pipe-max-size). */
#define PIPE_SIZE (1 << 20)

static int write_whole(int fd, const void *p, size_t len)
{
	const uint8_t *at = p;
	ssize_t n;

	while (len > 0) {
		n = write(fd, at, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return CHILD_WRITE;
		at += n;
		len -= (size_t)n;
	}
	return 0;
}

struct repl_snapshot_hooks repl_snapshot_hooks = {.fork = fork, .child_write = write_whole};

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Signals the child must not handle as the daemon does (libuv's handlers would write to the
 * loop's pipes): back to the default. Synchronous fault signals keep the sanitizers' handlers. */
static void child_reset_signals(void)
{
	struct sigaction sa, old;
	sigset_t none;
	int sig;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	for (sig = 1; sig < NSIG; sig++) {
		if (sig == SIGSEGV || sig == SIGBUS || sig == SIGFPE || sig == SIGILL ||
		    sig == SIGABRT || sig == SIGTRAP || sig == SIGSYS)
			continue;
		if (sigaction(sig, NULL, &old) != 0 || old.sa_handler == SIG_DFL ||
		    old.sa_handler == SIG_IGN)
			continue;
		sigaction(sig, &sa, NULL);
	}
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

/* Drop everything inherited but stdin/out/err and @fd: the listener, client, Raft and peer
 * sockets stay the parent's alone. */
static void child_close_fds(int fd)
{
	long i, max;

	if ((fd <= 3 || close_range(3, (unsigned)fd - 1, 0) == 0) &&
	    close_range(fd >= 3 ? (unsigned)fd + 1 : 3, ~0U, 0) == 0)
		return;
	/* A kernel before 5.9 has no close_range. */
	max = sysconf(_SC_OPEN_MAX);
	for (i = 3; i < max; i++)
		if (i != fd)
			close((int)i);
}

/* Short of memory, the kernel's OOM killer should take the child (a dropped snapshot, tried
 * again later) rather than zkfsd, whose resident pages the child shares (Redis does the same
 * for its BGSAVE child). */
static void child_oom_first(void)
{
	int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return;
	n = write(fd, "1000", 4);
	(void)n; /* On failure the child is just not the first choice. */
	close(fd);
}

#ifdef ZK_COVERAGE
void __gcov_dump(void);
#endif

/* _exit: the parent's atexit handlers, stdio buffers and leak checks are not ours. In a
 * --enable-coverage build gcov's counts are written first (its atexit writer would not run). */
__attribute__((noreturn)) static void child_exit(int code)
{
#ifdef ZK_COVERAGE
	__gcov_dump();
#endif
	_exit(code);
}

__attribute__((noreturn)) static void child_run(const struct store *store, int fd, pid_t parent)
{
	struct zk_buf b;
	uint64_t len;
	int code;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		child_exit(CHILD_ORPHAN);
	child_reset_signals();
	child_close_fds(fd);
	child_oom_first();
	zk_buf_init(&b);
	len = 0;
	if (zk_buf_append(&b, &len, sizeof(len)) != 0 || store_snapshot_write(store, &b) != 0)
		child_exit(CHILD_NOMEM);
	len = b.len - sizeof(len);
	memcpy(b.data, &len, sizeof(len));
	code = repl_snapshot_hooks.child_write(fd, b.data, b.len);
	child_exit(code);
}

int repl_snapshot_fork(const struct store *store, struct repl_snapshot_job *job)
{
	pid_t parent = getpid();
	int p[2], err;
	int64_t t0;

	memset(job, 0, sizeof(*job));
	job->fd = -1;
	if (pipe2(p, O_CLOEXEC) != 0)
		return -errno;
	fcntl(p[0], F_SETPIPE_SZ, PIPE_SIZE);
	t0 = now_ns();
	job->pid = repl_snapshot_hooks.fork();
	if (job->pid == 0)
		child_run(store, p[1], parent);
	err = errno;
	job->forked_ns = now_ns();
	job->fork_ns = job->forked_ns - t0;
	close(p[1]);
	if (job->pid < 0) {
		close(p[0]);
		job->pid = 0;
		return -err;
	}
	job->fd = p[0];
	return 0;
}

/* Read up to @len bytes; *@got says how many came before end of file. */
static int read_whole(int fd, void *p, size_t len, size_t *got)
{
	uint8_t *at = p;
	ssize_t n;

	*got = 0;
	while (*got < len) {
		n = read(fd, at + *got, len - *got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		*got += (size_t)n;
	}
	return 0;
}

/* Read the framed image from job->fd into job->buf. Returns 0, -EIO (short or too long) or
 * -ENOMEM, with *@why saying which for the log line. */
static int read_image(struct repl_snapshot_job *job, const char **why)
{
	uint64_t len;
	size_t got;
	uint8_t extra;
	int rv;

	*why = "read error";
	rv = read_whole(job->fd, &len, sizeof(len), &got);
	if (rv != 0)
		return rv;
	*why = "no image";
	if (got < sizeof(len))
		return -EIO;
	*why = "no memory for the image";
	job->buf.base = zk_malloc(len > 0 ? len : 1);
	if (job->buf.base == NULL)
		return -ENOMEM;
	job->buf.len = len;
	*why = "image cut short";
	rv = read_whole(job->fd, job->buf.base, len, &got);
	if (rv == 0 && got < len)
		rv = -EIO;
	if (rv != 0)
		return rv;
	*why = "more bytes than announced";
	rv = read_whole(job->fd, &extra, 1, &got);
	return rv == 0 && got != 0 ? -EIO : rv;
}

static const char *child_failure(int code)
{
	switch (code) {
	case CHILD_NOMEM:
		return "out of memory";
	case CHILD_WRITE:
		return "pipe write failed";
	case CHILD_ORPHAN:
		return "parent gone";
	default:
		return "unknown";
	}
}

static int reap(struct repl_snapshot_job *job)
{
	const char *name;
	int status;
	pid_t pid = job->pid;

	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			zk_log_error("snapshot child %d: waitpid: %s", (int)pid, strerror(errno));
			job->pid = 0;
			return -EIO;
		}
	}
	job->pid = 0;
	job->done_ns = now_ns();
	if (WIFSIGNALED(status)) {
		name = sigabbrev_np(WTERMSIG(status));
		/* A stop sent to the whole group (systemd's default KillMode, Ctrl-C) reaches the
		 * child too: an ordinary end, not a fault. */
		if (WTERMSIG(status) == SIGTERM || WTERMSIG(status) == SIGINT)
			zk_log_info("snapshot child %d stopped by SIG%s: snapshot dropped", (int)pid,
				    name != NULL ? name : "?");
		else
			zk_log_error("snapshot child %d killed by signal %d (SIG%s)", (int)pid,
				     WTERMSIG(status), name != NULL ? name : "?");
		return -EIO;
	}
	if (WEXITSTATUS(status) != 0) {
		zk_log_error("snapshot child %d failed: exit status %d (%s)", (int)pid,
			     WEXITSTATUS(status), child_failure(WEXITSTATUS(status)));
		return -EIO;
	}
	return 0;
}

int repl_snapshot_collect(struct repl_snapshot_job *job)
{
	const char *why;
	int rv, reaped;

	rv = read_image(job, &why);
	/* Closing first unblocks a child still writing (EPIPE) when the read stopped early. */
	close(job->fd);
	job->fd = -1;
	reaped = reap(job);
	if (rv != 0 && reaped == 0)
		zk_log_error("snapshot child exited 0 but the image is not whole: %s (%s)", why,
			     strerror(-rv));
	if (rv == 0)
		rv = reaped;
	if (rv != 0) {
		zk_free(job->buf.base);
		job->buf.base = NULL;
		job->buf.len = 0;
		if (rv != -ENOMEM)
			rv = -EIO;
	}
	job->status = rv;
	return rv;
}

void repl_snapshot_job_close(struct repl_snapshot_job *job)
{
	if (job->fd >= 0) {
		close(job->fd);
		job->fd = -1;
	}
	if (job->pid > 0) {
		kill(job->pid, SIGKILL);
		while (waitpid(job->pid, NULL, 0) < 0 && errno == EINTR)
			;
		job->pid = 0;
	}
	zk_free(job->buf.base);
	job->buf.base = NULL;
	job->buf.len = 0;
}
