/* zkfs: mount a ZooKeeper tree (zkfsd or Apache ZooKeeper) with FUSE.
 *
 *   zkfs HOSTS[/chroot] MOUNTPOINT [-f] [-d] [-o option[,option...]]
 *
 * Also run by mount(8) as `mount -t fuse.zkfs HOSTS MOUNTPOINT -o ...` (mount.fuse3 executes
 * the program named by the type with this same argument order). Options are listed in usage().
 * Without -f the program detaches and logs to -o log=FILE (default /var/log/zkfs.log). */
#include "config.h"

#include <errno.h>
#include <fuse3/fuse_lowlevel.h>
#include <fuse3/fuse_opt.h>
#include <limits.h>
#include <netdb.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/zk_log.h"
#include "fuse/authfile.h"
#include "fuse/events.h"
#include "fuse/fs.h"
#include "fuse/inode.h"
#include "fuse/lock.h"
#include "fuse/zkconn.h"

#define DEFAULT_LOG "/var/log/zkfs.log"
#define DEFAULT_MAX_DATA (1024 * 1024 - 1024) /* Fits Apache ZooKeeper's jute.maxbuffer. */

struct cli {
	char *hosts;
	char *mountpoint;
	int foreground;
	int show_help;
	int show_version;
	int read_only;
	int session_timeout; /* Seconds. */
	int op_timeout;	     /* Seconds; 0: the session timeout. */
	int uid, gid;	     /* -1: the mounting user's. */
	char *mode;
	char *log_file;
	char *log_level;
	char *auth;	     /* -o auth=scheme:credentials */
	char *auth_file;     /* -o auth_file=FILE (authfile.h) */
	char *auths;	     /* Both, one identity per line, for zkconn (owned). */
	int tls;	     /* -o tls, and the PEM files of -o tls_ca=, tls_cert=, tls_key= */
	char *tls_ca, *tls_cert, *tls_key;
	int max_data;
	int all_dirs;	     /* -o dirs: every node a directory (issue 16). */
	int oneshot;	     /* -o oneshot_watches: no persistent-recursive watch (issue 12). */
};

enum { KEY_RO, KEY_FOREGROUND, KEY_HELP, KEY_VERSION, KEY_DROP };

#define CLI_OPT(t, f) {t, offsetof(struct cli, f), 0}

static const struct fuse_opt cli_opts[] = {
	CLI_OPT("session_timeout=%d", session_timeout),
	CLI_OPT("op_timeout=%d", op_timeout),
	CLI_OPT("uid=%d", uid),
	CLI_OPT("gid=%d", gid),
	CLI_OPT("mode=%s", mode),
	CLI_OPT("log=%s", log_file),
	CLI_OPT("log_file=%s", log_file),
	CLI_OPT("log_level=%s", log_level),
	CLI_OPT("max_data=%d", max_data),
	{"dirs", offsetof(struct cli, all_dirs), 1},
	{"oneshot_watches", offsetof(struct cli, oneshot), 1},
	CLI_OPT("auth=%s", auth),
	CLI_OPT("auth_file=%s", auth_file),
	{"tls", offsetof(struct cli, tls), 1},
	CLI_OPT("tls_ca=%s", tls_ca),
	CLI_OPT("tls_cert=%s", tls_cert),
	CLI_OPT("tls_key=%s", tls_key),
	FUSE_OPT_KEY("ro", KEY_RO),
	FUSE_OPT_KEY("rw", KEY_DROP),
	FUSE_OPT_KEY("defaults", KEY_DROP),
	FUSE_OPT_KEY("_netdev", KEY_DROP),
	FUSE_OPT_KEY("nofail", KEY_DROP),
	FUSE_OPT_KEY("noauto", KEY_DROP),
	FUSE_OPT_KEY("auto", KEY_DROP),
	FUSE_OPT_KEY("x-", KEY_DROP),
	FUSE_OPT_KEY("-f", KEY_FOREGROUND),
	FUSE_OPT_KEY("-h", KEY_HELP),
	FUSE_OPT_KEY("--help", KEY_HELP),
	FUSE_OPT_KEY("-V", KEY_VERSION),
	FUSE_OPT_KEY("--version", KEY_VERSION),
	FUSE_OPT_END,
};

static void usage(const char *prog)
{
	printf("usage: %s HOSTS[/chroot] MOUNTPOINT [-f] [-d] [-o opt,...]\n"
	       "   or: mount -t fuse.zkfs HOSTS[/chroot] MOUNTPOINT [-o opt,...]\n\n"
	       "HOSTS is ZooKeeper's connect string, e.g. 10.0.0.1:2181,10.0.0.2:2181/app\n\n"
	       "  -f                     stay in the foreground (log to stderr unless log=)\n"
	       "  -d                     FUSE debug output (implies -f)\n"
	       "  -o session_timeout=S   session timeout asked of the server (default 10)\n"
	       "  -o op_timeout=S        longest wait of one operation, then EIO/ETIMEDOUT\n"
	       "                         (default: the session timeout)\n"
	       "  -o ro                  refuse every change with EROFS\n"
	       "  -o dirs                every node is a directory, its data in .data\n"
	       "  -o uid=N,gid=N         owner shown for every node (default: the mounter)\n"
	       "  -o mode=0644           file permissions; directories add x where r is set\n"
	       "  -o max_data=BYTES      largest value written, EFBIG past it (default %d)\n"
	       "  -o auth=SCHEME:CRED    addauth on every session, e.g. auth=digest:alice:secret\n"
	       "  -o auth_file=FILE      the same, one SCHEME:CRED a line (# comments); FILE must be\n"
	       "                         owned by root, mode 0600 or stricter\n"
	       "  -o tls                 TLS to the servers' secure client port; tls_ca=FILE (PEM,\n"
	       "                         default: the system's CAs), tls_cert=FILE,tls_key=FILE (a\n"
	       "                         client certificate) imply it\n"
	       "  -o oneshot_watches     re-armed one-shot watches instead of one persistent\n"
	       "                         recursive watch (what a server before 3.6 gets anyway)\n"
	       "  -o log=FILE            log file (default " DEFAULT_LOG " when detached)\n"
	       "  -o log_level=L         error, warn, info (default) or debug\n"
	       "  other -o options go to FUSE (default_permissions is on; allow_other for root)\n",
	       prog, DEFAULT_MAX_DATA);
}

static int cli_key(void *data, const char *arg, int key, struct fuse_args *out)
{
	struct cli *cli = data;

	switch (key) {
	case FUSE_OPT_KEY_NONOPT:
		if (!cli->hosts)
			return (cli->hosts = strdup(arg)) ? 0 : -1;
		if (!cli->mountpoint)
			return (cli->mountpoint = strdup(arg)) ? 0 : -1;
		fprintf(stderr, "zkfs: unexpected argument '%s'\n", arg);
		return -1;
	case KEY_RO:
		cli->read_only = 1; /* Enforced by zkfs: a kernel ro mount would block events. */
		return 0;
	case KEY_FOREGROUND:
		cli->foreground = 1;
		return 0;
	case KEY_HELP:
		cli->show_help = 1;
		return 0;
	case KEY_VERSION:
		cli->show_version = 1;
		return 0;
	case KEY_DROP:
		return 0;
	default:
		if (strcmp(arg, "-d") == 0 || strcmp(arg, "debug") == 0)
			cli->foreground = 1;
		return 1;
	}
}

static int fill_options(const struct cli *cli, struct zkfs_options *o)
{
	char resolved[PATH_MAX];
	char *end = NULL;

	if (!realpath(cli->mountpoint, resolved)) {
		fprintf(stderr, "zkfs: mountpoint %s: %s\n", cli->mountpoint, strerror(errno));
		return -1;
	}
	o->hosts = cli->hosts;
	o->mountpoint = strdup(resolved);
	o->session_timeout_ms = (cli->session_timeout > 0 ? cli->session_timeout : 10) * 1000;
	o->op_timeout_ms = cli->op_timeout > 0 ? cli->op_timeout * 1000 : o->session_timeout_ms;
	o->read_only = cli->read_only;
	o->uid = cli->uid >= 0 ? (uid_t)cli->uid : getuid();
	o->gid = cli->gid >= 0 ? (gid_t)cli->gid : getgid();
	o->file_mode = 0644;
	if (cli->mode) {
		o->file_mode = (mode_t)strtoul(cli->mode, &end, 8);
		if (!*cli->mode || *end || o->file_mode > 07777) {
			fprintf(stderr, "zkfs: mode=%s is not an octal mode\n", cli->mode);
			return -1;
		}
	}
	o->max_data = cli->max_data > 0 ? cli->max_data : DEFAULT_MAX_DATA;
	o->all_dirs = cli->all_dirs;
	o->cache_timeout = 86400.0; /* Watches keep the kernel's cache true, not this expiry. */
	return o->mountpoint ? 0 : -1;
}

/* The identities of -o auth= and -o auth_file=, one per line, into cli->auths (NULL: none).
 * Returns 0 or -1 (message printed): a refused file stops the mount before it exists. */
static int load_auths(struct cli *cli)
{
	char err[256], *file = NULL;
	size_t len;

	if (cli->auth_file && authfile_read(cli->auth_file, &file, err, sizeof(err)) != 0) {
		fprintf(stderr, "zkfs: auth_file=%s: %s\n", cli->auth_file, err);
		return -1;
	}
	if (!cli->auth) {
		cli->auths = file;
		return 0;
	}
	len = strlen(cli->auth) + (file ? strlen(file) : 0) + 2;
	cli->auths = malloc(len);
	if (cli->auths)
		snprintf(cli->auths, len, "%s\n%s", cli->auth, file ? file : "");
	if (file)
		explicit_bzero(file, strlen(file));
	free(file);
	return cli->auths ? 0 : -1;
}

/* Check before mounting that at least one "host:port" of @hosts resolves: once detached, a
 * bad connect string could only be reported in the log. Returns 0 or -1 (message printed). */
static int check_hosts(const char *hosts)
{
	char *copy = strdup(hosts), *save = NULL, *item, *colon, *slash;
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res;
	int good = 0;

	if (!copy)
		return -1;
	slash = strchr(copy, '/');
	if (slash)
		*slash = '\0'; /* The chroot. */
	for (item = strtok_r(copy, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
		colon = strrchr(item, ':');
		if (!colon || colon == item || !colon[1]) {
			fprintf(stderr, "zkfs: '%s' is not host:port\n", item);
			continue;
		}
		*colon = '\0';
		if (getaddrinfo(item, colon + 1, &hints, &res) == 0) {
			good++;
			freeaddrinfo(res);
		} else {
			fprintf(stderr, "zkfs: cannot resolve %s:%s\n", item, colon + 1);
		}
	}
	free(copy);
	return good > 0 ? 0 : -1;
}

/* fsname shows the hosts in findmnt; commas in them must be escaped for FUSE's parser. */
static int add_mount_options(struct fuse_args *args, const char *hosts)
{
	char *opts = NULL, *fsname = malloc(strlen(hosts) + 8);
	int rc;

	if (!fsname)
		return -1;
	sprintf(fsname, "fsname=%s", hosts);
	/* allow_other: a mount is for the whole host; a non-root user needs user_allow_other in
	 * /etc/fuse.conf for it, so only root gets it by default. */
	rc = fuse_opt_add_opt_escaped(&opts, fsname) || fuse_opt_add_opt(&opts, "subtype=zkfs") ||
	     (getuid() == 0 && fuse_opt_add_opt(&opts, "allow_other")) ||
	     fuse_opt_add_opt(&opts, "default_permissions") || fuse_opt_add_arg(args, "-o") ||
	     fuse_opt_add_arg(args, opts);
	free(fsname);
	free(opts);
	return rc ? -1 : 0;
}

static FILE *open_logs(const struct cli *cli)
{
	const char *path = cli->log_file ? cli->log_file : cli->foreground ? NULL : DEFAULT_LOG;
	enum zk_log_level level = ZK_LOG_LEVEL_INFO;
	FILE *stream;

	if (cli->log_level && zk_log_parse_level(cli->log_level, &level) != 0) {
		fprintf(stderr, "zkfs: log_level=%s: use error, warn, info or debug\n",
			cli->log_level);
		return NULL;
	}
	if (zk_log_open(path, level) != 0) {
		fprintf(stderr, "zkfs: cannot open log %s: %s\n", path, strerror(errno));
		return NULL;
	}
	if (!path)
		return stderr;
	stream = fopen(path, "a"); /* The ZooKeeper client's own lines go to the same file. */
	if (stream)
		setvbuf(stream, NULL, _IOLBF, 0);
	return stream;
}

static int serve(struct fuse_session *se, struct zkfs *z, FILE *zk_stream, const struct cli *cli)
{
	struct fuse_loop_config *loop = fuse_loop_cfg_create();
	struct zkconn_config zc = {
		.hosts = z->opt.hosts,
		.session_timeout_ms = z->opt.session_timeout_ms,
		.op_timeout_ms = z->opt.op_timeout_ms,
		.auth = cli->auths,
		.tls = cli->tls,
		.tls_ca = cli->tls_ca,
		.tls_cert = cli->tls_cert,
		.tls_key = cli->tls_key,
		.log_stream = zk_stream,
		.on_watch = events_on_watch,
		.on_expired = events_on_expired,
		.on_reconnected = events_on_reconnected,
		.oneshot = cli->oneshot,
	};
	int rc;

	if (!loop || inode_init() != 0 || zkconn_create(&zc, &z->zk) != 0) {
		zk_log_error("cannot start: out of memory or bad hosts '%s'", z->opt.hosts);
		fuse_loop_cfg_destroy(loop);
		return 1;
	}
	z->se = se;
	if (lock_table_create(z->zk, &z->locks) != 0 || events_start() != 0) {
		zk_log_error("cannot start the events thread");
		zkconn_destroy(z->zk);
		lock_table_destroy(z->locks);
		fuse_loop_cfg_destroy(loop);
		return 1;
	}
	zk_log_info("mounted %s on %s", z->opt.hosts, z->opt.mountpoint);
	fuse_loop_cfg_set_max_threads(loop, 64);
	fuse_loop_cfg_set_idle_threads(loop, 8);
	rc = fuse_session_loop_mt(se, loop);
	fuse_session_unmount(se); /* Aborts the events thread's pending calls on the mount. */
	events_stop();
	zkconn_destroy(z->zk); /* closeSession: the server deletes our ephemerals now. */
	lock_table_destroy(z->locks); /* The locks went with the session. */
	fuse_loop_cfg_destroy(loop);
	fs_close_handles();
	inode_shutdown();
	zk_log_info("unmounted %s", z->opt.mountpoint);
	return rc ? 1 : 0;
}

int main(int argc, char **argv)
{
	struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
	struct cli cli = {.uid = -1, .gid = -1};
	static struct zkfs z;
	struct fuse_session *se;
	FILE *zk_stream;
	int rc = 1;

	if (fuse_opt_parse(&args, &cli, cli_opts, cli_key) != 0)
		return 2;
	if (cli.show_help || cli.show_version) {
		if (cli.show_help)
			usage(argv[0]);
		else
			printf("zkfs " PACKAGE_VERSION " (FUSE %s)\n", fuse_pkgversion());
		return 0;
	}
	rc = 2; /* Refused before mounting; every exit below frees what parsing allocated. */
	if (!cli.hosts || !cli.mountpoint) {
		usage(argv[0]);
		goto out;
	}
	zkfs = &z;
	if (check_hosts(cli.hosts) != 0 || fill_options(&cli, &z.opt) != 0 ||
	    load_auths(&cli) != 0 || add_mount_options(&args, cli.hosts) != 0)
		goto out;
	zk_stream = open_logs(&cli);
	if (!zk_stream)
		goto out;
	rc = 1;
	se = fuse_session_new(&args, fs_ops(), sizeof(struct fuse_lowlevel_ops), &z);
	if (!se)
		goto out;
	if (fuse_set_signal_handlers(se) != 0)
		goto err_after_session;
	if (fuse_session_mount(se, z.opt.mountpoint) != 0)
		goto err_after_signals;
	if (fuse_daemonize(cli.foreground) != 0)
		goto err_after_mount;
	rc = serve(se, &z, zk_stream, &cli);
	goto err_after_signals;

err_after_mount:
	fuse_session_unmount(se);
err_after_signals:
	fuse_remove_signal_handlers(se);
err_after_session:
	fuse_session_destroy(se);
out:
	fuse_opt_free_args(&args);
	free(z.opt.mountpoint);
	free(cli.hosts);
	free(cli.mountpoint);
	free(cli.mode);
	free(cli.log_file);
	free(cli.log_level);
	free(cli.auth);
	free(cli.auth_file);
	if (cli.auths)
		explicit_bzero(cli.auths, strlen(cli.auths));
	free(cli.auths);
	free(cli.tls_ca);
	free(cli.tls_cert);
	free(cli.tls_key);
	return rc;
}
