/* backup: see backup.h. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/zk_alloc.h"
#include "common/zk_log.h"
#include "replication/snapshot_fork.h"
#include "zkfsd/backup.h"
#include "zkfsd/backup_format.h"
#include "zkfsd/http.h"
#include "zkfsd/zkfsd_int.h"

/* ---- Streaming ------------------------------------------------------------------------------ */

struct backup_job {
	struct http_request *req;	/* Borrowed until http_finish. */
	struct http_reply *reply;	/* The request's reply. */
	bool *busy;			/* Cleared when done. */
	struct repl_snapshot_job snap;	/* The child and its image. */
	uint64_t zxid;			/* Last applied zxid when the child was forked. */
	int status;			/* repl_snapshot_collect's result. */
	uv_work_t work;			/* Threadpool: the blocking collect. */
};

static void backup_collect(uv_work_t *w)
{
	struct backup_job *job = w->data;

	job->status = repl_snapshot_collect(&job->snap);
}

static void backup_error(struct http_reply *reply, int status, const char *why)
{
	reply->status = status;
	reply->content_type = "application/json";
	zk_buf_reset(&reply->body);
	zk_buf_printf(&reply->body, "{\"command\":\"snapshot\",\"error\":\"%s\"}\n", why);
}

static void backup_collected(uv_work_t *w, int status)
{
	struct backup_job *job = w->data;
	struct http_reply *reply = job->reply;
	const struct raft_buffer *img = &job->snap.buf;

	if (status != 0 || job->status != 0) {
		zk_log_error("backup at zxid %" PRIu64 ": the snapshot child failed", job->zxid);
		backup_error(reply, 500, "the snapshot child failed (see the server log)");
	} else if (!http_abandoned(job->req) &&
		   backup_encode(&reply->body, job->zxid, img->base, img->len) != 0) {
		backup_error(reply, 500, "out of memory");
	} else {
		reply->content_type = "application/octet-stream";
		reply->header = "last_zxid";
		snprintf(reply->header_value, sizeof(reply->header_value), "0x%" PRIx64, job->zxid);
		zk_log_info("backup at zxid 0x%" PRIx64 ": %zu bytes of image", job->zxid, img->len);
	}
	repl_snapshot_job_close(&job->snap);
	/* An abandoned request outlived its AdminServer (stopped): its flag is gone too. */
	if (!http_abandoned(job->req))
		*job->busy = false;
	http_finish(job->req);
	zk_free(job);
}

int backup_stream(struct zkfsd *srv, struct http_request *req, struct http_reply *reply,
		  bool *busy)
{
	struct backup_job *job;
	int rv;

	if (*busy) {
		backup_error(reply, 503, "a backup is already running");
		return 0;
	}
	job = zk_calloc(1, sizeof(*job));
	if (job == NULL)
		return -ENOMEM;
	job->req = req;
	job->reply = reply;
	job->busy = busy;
	job->work.data = job;
	job->zxid = (uint64_t)store_last_zxid(srv->store);
	rv = repl_snapshot_fork(srv->store, &job->snap);
	if (rv == 0)
		rv = uv_queue_work(srv->loop, &job->work, backup_collect, backup_collected);
	if (rv != 0) {
		repl_snapshot_job_close(&job->snap);
		zk_free(job);
		zk_log_warn("backup refused: no snapshot child (%s)", strerror(-rv));
		backup_error(reply, 503, "cannot fork the snapshot child");
		return 0;
	}
	*busy = true;
	return HTTP_LATER;
}

/* ---- zkfsd restore -------------------------------------------------------------------------- */

static int backup_read_file(const char *path, struct zk_buf *out)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	uint8_t chunk[65536];
	ssize_t n;
	int rv = 0;

	if (fd < 0)
		return -errno;
	while (rv == 0 && (n = read(fd, chunk, sizeof(chunk))) != 0)
		rv = n < 0 ? (errno == EINTR ? 0 : -errno) : zk_buf_append(out, chunk, (size_t)n);
	close(fd);
	return rv;
}

/* 0 when @dir is missing (created, 0700) or empty; -ENOTEMPTY or another errno otherwise. */
static int backup_empty_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int rv = 0;

	if (d == NULL)
		return errno == ENOENT ? (mkdir(dir, 0700) == 0 ? 0 : -errno) : -errno;
	while (rv == 0 && (e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			rv = -ENOTEMPTY;
	closedir(d);
	return rv;
}

/* The image must load into a store and say the same zxid as the file's header. */
static int backup_check_image(const struct zk_buf *img, uint64_t zxid, uint64_t *nodes)
{
	struct store *st;
	int rv = store_create(NULL, NULL, NULL, &st);

	if (rv != 0)
		return rv;
	rv = store_snapshot_load(st, img->data, img->len);
	if (rv == 0 && (uint64_t)store_last_zxid(st) != zxid)
		rv = -EBADMSG;
	*nodes = store_node_count(st);
	store_destroy(st);
	return rv;
}

/* dataDir/myid, as an ensemble server's data dir has it. */
static int backup_write_myid(const struct config *cfg, char *err, size_t err_len)
{
	char path[4096];
	FILE *f;
	int rv = 0;

	snprintf(path, sizeof(path), "%s/myid", cfg->data_dir);
	f = fopen(path, "wx");
	if (f == NULL || fprintf(f, "%llu\n", (unsigned long long)cfg->myid) < 0)
		rv = -errno;
	if (f != NULL && fclose(f) != 0 && rv == 0)
		rv = -errno;
	if (rv != 0)
		snprintf(err, err_len, "cannot write dataDir/myid: %s", strerror(-rv));
	return rv;
}

/* The data dir of @cfg from the image. */
static int backup_restore_dir(const struct config *cfg, const struct zk_buf *img, uint64_t zxid,
			      char *err, size_t err_len)
{
	struct repl_config rc;
	struct repl_server *servers = server_repl_config(cfg, &rc);
	int rv;

	if (servers == NULL)
		return -ENOMEM;
	rv = repl_restore(&rc, img->data, img->len, zxid, err, err_len);
	free(servers);
	if (rv == 0 && cfg->n_servers > 0)
		rv = backup_write_myid(cfg, err, err_len);
	return rv;
}

/* Parse "restore --from FILE [zkfsd's flags]" into @cfg and *@from. */
static int backup_restore_args(int argc, char **argv, struct config *cfg, const char **from,
			       char *err, size_t err_len)
{
	char **rest = calloc((size_t)argc + 1, sizeof(*rest));
	int n = 0, rv;

	if (rest == NULL)
		return -ENOMEM;
	rest[n++] = "zkfsd restore";
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--from") == 0 && i + 1 < argc)
			*from = argv[++i];
		else
			rest[n++] = argv[i];
	}
	rv = config_parse_args(cfg, n, rest, err, err_len);
	if (rv == 0)
		rv = config_finish(cfg, err, err_len);
	free(rest);
	if (rv == 0 && *from == NULL) {
		snprintf(err, err_len, "usage: zkfsd restore --from FILE [-c zoo.cfg] "
				       "[--data-dir DIR] [--myid N]");
		rv = -EINVAL;
	}
	return rv;
}

static int backup_restore_run(const struct config *cfg, const char *from)
{
	struct zk_buf file, img;
	uint64_t zxid = 0, len = 0, nodes = 0;
	char err[512] = "";
	int rv;

	zk_buf_init(&file);
	zk_buf_init(&img);
	rv = backup_read_file(from, &file);
	if (rv != 0)
		snprintf(err, sizeof(err), "%s: %s", from, strerror(-rv));
	else if (backup_check(file.data, file.len, &zxid, &len, err, sizeof(err)) != 0)
		rv = -EBADMSG;
	else if (backup_image(file.data, file.len, &img) != 0)
		rv = -ENOMEM;
	else if ((rv = backup_check_image(&img, zxid, &nodes)) != 0)
		snprintf(err, sizeof(err), "the image does not load (%s)", strerror(-rv));
	else if ((rv = backup_empty_dir(cfg->data_dir)) != 0)
		snprintf(err, sizeof(err), "data dir %s: %s (restore needs an empty or new dir)",
			 cfg->data_dir, strerror(-rv));
	else
		rv = backup_restore_dir(cfg, &img, zxid, err, sizeof(err));
	if (rv == 0)
		printf("restored %s into %s: zxid 0x%" PRIx64 ", %" PRIu64 " znodes\n", from,
		       cfg->data_dir, zxid, nodes);
	else
		fprintf(stderr, "zkfsd restore: %s%s%s\n", rv == -EBADMSG ? from : "",
			rv == -EBADMSG ? ": " : "", err);
	zk_buf_close(&file);
	zk_buf_close(&img);
	return rv == 0 ? 0 : 1;
}

int backup_restore_main(int argc, char **argv)
{
	struct config cfg;
	const char *from = NULL;
	char err[512] = "";
	int rv;

	config_init(&cfg);
	rv = backup_restore_args(argc, argv, &cfg, &from, err, sizeof(err));
	if (rv != 0) {
		if (rv != 1)
			fprintf(stderr, "zkfsd restore: %s\n", err);
		config_close(&cfg);
		return rv == 1 ? 0 : 2;
	}
	rv = backup_restore_run(&cfg, from);
	config_close(&cfg);
	return rv;
}
