/* zkfsd: the server program. Parses the configuration (exit 2 on a bad one), optionally
 * daemonizes, starts replication (restoring the tree), opens the client port and runs the loop
 * until SIGTERM/SIGINT, then closes everything cleanly and exits 0. SIGHUP reopens --log-file
 * (after logrotate moved it) and logs a line in the new file.
 *
 * --daemon: the parent forks first and waits on a pipe until the child has restored the tree
 * and bound the client port (so the port answers when the parent exits, status 0), or exits
 * with the child's failure status. The child detaches (setsid, stdio to /dev/null) and writes
 * --pid-file. */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/zk_log.h"
#include "zkfsd/admin.h"
#include "zkfsd/backup.h"
#include "zkfsd/metrics.h"
#include "zkfsd/zkfsd_int.h"

enum { EXIT_CONFIG = 2 };

/* Allocations from this size up get their own mapping, returned to the system when freed.
 * glibc's default moves this threshold up to the size of the first such buffer freed (up to
 * 32 MiB), after which snapshot images and big values come from the heap and their pages
 * stay resident once freed: measured here, 1,000,000 creates of 100 bytes left about 400
 * resident bytes per znode with the default and 330 with a fixed threshold. */
#define MAIN_MMAP_THRESHOLD (128 * 1024)

static int main_load_config(struct config *cfg, int argc, char **argv)
{
	char err[512];
	int rv;

	config_init(cfg);
	rv = config_parse_args(cfg, argc, argv, err, sizeof(err));
	if (rv == 1)
		return 1;
	if (rv == 0)
		rv = config_finish(cfg, err, sizeof(err));
	if (rv != 0) {
		fprintf(stderr, "zkfsd: %s\n", err);
		return -EXIT_CONFIG;
	}
	return 0;
}

/* Fork; the parent waits for the child's readiness byte. Returns the pipe's write end in the
 * child (to signal readiness), or does not return in the parent. */
static int main_daemonize(void)
{
	int fds[2], devnull;
	char ok;
	pid_t pid;

	if (pipe(fds) != 0) {
		perror("zkfsd: pipe");
		exit(1);
	}
	pid = fork();
	if (pid < 0) {
		perror("zkfsd: fork");
		exit(1);
	}
	if (pid > 0) {
		close(fds[1]);
		if (read(fds[0], &ok, 1) == 1)
			exit(0);
		int status = 0;
		waitpid(pid, &status, 0);
		fprintf(stderr, "zkfsd: the server did not start (see --log-file for why)\n");
		exit(WIFEXITED(status) && WEXITSTATUS(status) != 0 ? WEXITSTATUS(status) : 1);
	}
	close(fds[0]);
	setsid();
	devnull = open("/dev/null", O_RDWR);
	if (devnull >= 0) {
		dup2(devnull, STDIN_FILENO);
		dup2(devnull, STDOUT_FILENO);
		dup2(devnull, STDERR_FILENO);
		if (devnull > STDERR_FILENO)
			close(devnull);
	}
	return fds[1];
}

/* Write our pid to @path, never through a symlink (a planted link would have a root daemon
 * truncate another file). Returns 0 or a negative errno (logged). */
static int main_write_pid(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
	int rv = 0;

	if (fd < 0)
		rv = -errno;
	else if (dprintf(fd, "%ld\n", (long)getpid()) < 0)
		rv = -errno;
	if (fd >= 0 && close(fd) != 0 && rv == 0)
		rv = -errno;
	if (rv != 0)
		zk_log_error("cannot write pid file %s: %s", path, strerror(-rv));
	return rv;
}

/* SIGHUP: reopen the log file under its name (logrotate's postrotate sends it). */
static void main_on_hup(uv_signal_t *h, int signum)
{
	const char *path = zk_log_path();
	int rv = zk_log_reopen();

	(void)h;
	(void)signum;
	if (path == NULL)
		zk_log_info("SIGHUP: logging to stderr, no log file to reopen");
	else if (rv != 0)
		zk_log_warn("SIGHUP: cannot reopen log file %s: %s (still writing the old one)", path,
			    strerror(-rv));
	else
		zk_log_info("SIGHUP: log file %s reopened", path);
}

/* Start everything; returns 0 or a negative errno (logged). */
static int main_start(struct zkfsd *srv, uv_loop_t *loop, const struct config *cfg)
{
	int rv;

	if (mkdir(cfg->data_dir, 0700) != 0 && errno != EEXIST) {
		rv = -errno; /* Before the log line, which may change errno. */
		zk_log_error("cannot create dataDir %s: %s", cfg->data_dir, strerror(-rv));
		return rv;
	}
	rv = server_init(srv, loop, cfg);
	if (rv != 0) {
		zk_log_error("cannot initialise the server: %s", strerror(-rv));
		return rv;
	}
	rv = server_start_repl(srv);
	if (rv == -ECANCELED && srv->stopping)
		return rv; /* Stopped by a signal while waiting to join: a clean stop. */
	if (rv != 0) {
		zk_log_error("cannot start replication in %s: %s", cfg->data_dir, strerror(-rv));
		return rv;
	}
	rv = server_listen(srv);
	if (rv == 0)
		rv = metrics_start(srv);
	if (rv == 0)
		rv = admin_start(srv);
	if (rv == 0 && cfg->pid_file != NULL)
		rv = main_write_pid(cfg->pid_file);
	return rv;
}

int main(int argc, char **argv)
{
	struct config cfg;
	struct zkfsd srv = {0};
	uv_signal_t hup;
	bool hup_ok;
	uv_loop_t *loop;
	int ready_fd = -1, rv;

	if (argc > 1 && strcmp(argv[1], "restore") == 0)
		return backup_restore_main(argc - 1, argv + 1);
	rv = main_load_config(&cfg, argc, argv);
	if (rv != 0) {
		config_close(&cfg);
		return rv == 1 ? 0 : EXIT_CONFIG;
	}
	rv = zk_log_open(cfg.log_file, cfg.log_level);
	if (rv != 0) {
		fprintf(stderr, "zkfsd: --log-file %s: %s\n", cfg.log_file, strerror(-rv));
		config_close(&cfg);
		return EXIT_CONFIG;
	}
	signal(SIGPIPE, SIG_IGN);
	mallopt(M_MMAP_THRESHOLD, MAIN_MMAP_THRESHOLD);
	if (cfg.daemon)
		ready_fd = main_daemonize();
	loop = uv_default_loop();
	/* Unreferenced: it does not keep the loop running once the server has stopped. */
	hup_ok = uv_signal_init(loop, &hup) == 0;
	if (!hup_ok || uv_signal_start(&hup, main_on_hup, SIGHUP) != 0)
		zk_log_warn("cannot handle SIGHUP: the log file will not be reopened on it");
	if (hup_ok)
		uv_unref((uv_handle_t *)&hup);
	rv = main_start(&srv, loop, &cfg);
	if (rv != 0)
		server_stop(&srv);
	else if (ready_fd >= 0 && write(ready_fd, "1", 1) != 1)
		zk_log_warn("cannot tell the parent we are ready");
	if (ready_fd >= 0)
		close(ready_fd);
	uv_run(loop, UV_RUN_DEFAULT);
	if (hup_ok) {
		uv_close((uv_handle_t *)&hup, NULL);
		uv_run(loop, UV_RUN_NOWAIT);
	}
	server_close(&srv);
	if (uv_loop_close(loop) != 0)
		zk_log_warn("handles still open at exit");
	if (cfg.pid_file != NULL && rv == 0)
		unlink(cfg.pid_file);
	zk_log_info("stopped");
	config_close(&cfg);
	return rv == 0 || (rv == -ECANCELED && srv.stopping) ? 0 : 1;
}
