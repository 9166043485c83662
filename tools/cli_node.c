/* cli_node: zkfs-cli's znode commands over the C client's synchronous calls (zookeeper.h),
 * with zkCli's flags and output: create, ls, get, set, stat, delete, deleteall, sync. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tools/cli.h"

/* Flags of the read commands: -s, -w, -R. */
struct cli_read {
	bool stat, watch, recursive;
	const char *path;
};

/* Parse "[-s] [-w] [-R] path" allowing only the flags in @allowed, then open the session.
 * Returns a CLI_EXIT_*. */
static int cli_read_begin(struct cli *c, int argc, char **argv, const char *allowed,
			  struct cli_read *r)
{
	const char *cmd = argv[0];
	int opt;

	memset(r, 0, sizeof(*r));
	optind = 0;
	opterr = 0;
	while ((opt = getopt(argc, argv, allowed)) != -1) {
		switch (opt) {
		case 's': r->stat = true; break;
		case 'w': r->watch = true; break;
		case 'R': r->recursive = true; break;
		default:
			fprintf(stderr, "zkfs-cli: %s: unknown option -%c\n", cmd, optopt);
			return CLI_EXIT_USAGE;
		}
	}
	if (argc - optind != 1 || argv[optind][0] != '/') {
		fprintf(stderr, "zkfs-cli: %s: needs one absolute path\n", cmd);
		return CLI_EXIT_USAGE;
	}
	r->path = argv[optind];
	return cli_exit_status(cli_session(c));
}

/* create, set and delete: parse, open the session, one synchronous call. */
static int cli_write_cmd(struct cli *c, enum cli_write_type type, int argc, char **argv)
{
	struct cli_write w;
	char created[1024];
	int rc = cli_write_parse(type, argc, argv, true, &w);

	if (rc != CLI_EXIT_OK)
		return rc;
	rc = cli_session(c);
	if (rc != ZOK) {
		cli_write_free(&w);
		return cli_exit_status(rc);
	}
	if (type == CLI_CREATE && w.ttl > 0)
		rc = zoo_create_ttl(c->zh, w.path, w.data, w.len, &ZOO_OPEN_ACL_UNSAFE, w.mode,
				    w.ttl, created, sizeof(created));
	else if (type == CLI_CREATE)
		rc = zoo_create(c->zh, w.path, w.data, w.len, &ZOO_OPEN_ACL_UNSAFE, w.mode,
				created, sizeof(created));
	else if (type == CLI_SET)
		rc = zoo_set(c->zh, w.path, w.data, w.len, w.version);
	else
		rc = zoo_delete(c->zh, w.path, w.version);
	if (rc == ZOK && type == CLI_CREATE)
		printf("%s\n", created);
	cli_write_free(&w);
	return rc == ZOK ? CLI_EXIT_OK : cli_fail(rc, argv[0], w.path);
}

int cli_cmd_create(struct cli *c, int argc, char **argv)
{
	return cli_write_cmd(c, CLI_CREATE, argc, argv);
}

int cli_cmd_set(struct cli *c, int argc, char **argv)
{
	return cli_write_cmd(c, CLI_SET, argc, argv);
}

int cli_cmd_delete(struct cli *c, int argc, char **argv)
{
	return cli_write_cmd(c, CLI_DELETE, argc, argv);
}

static int cli_strcmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Children of @path sorted, into @out (free with deallocate_String_vector). */
static int cli_children(struct cli *c, const char *path, bool watch, struct String_vector *out,
			struct Stat *st)
{
	int rc = watch ? zoo_wget_children2(c->zh, path, cli_wait_watcher, &c->wait, out, st)
		       : zoo_get_children2(c->zh, path, 0, out, st);

	if (rc == ZOK && out->count > 1)
		qsort(out->data, (size_t)out->count, sizeof(char *), cli_strcmp);
	return rc;
}

/* The child @name of @parent as a full path (malloc'd). */
static char *cli_join(const char *parent, const char *name)
{
	size_t plen = strcmp(parent, "/") == 0 ? 0 : strlen(parent), nlen = strlen(name);
	char *p = malloc(plen + nlen + 2);

	if (p != NULL) {
		memcpy(p, parent, plen);
		p[plen] = '/';
		memcpy(p + plen + 1, name, nlen + 1);
	}
	return p;
}

/* zkCli's `ls -R`: the path, then every descendant, depth first, one per line. */
static int cli_ls_tree(struct cli *c, const char *path, bool top)
{
	struct String_vector kids;
	struct Stat st;
	int rc = cli_children(c, path, false, &kids, &st);

	/* A child deleted while we walk is not an error of the listing. */
	if (rc == ZNONODE && !top)
		return ZOK;
	if (rc != ZOK)
		return rc;
	printf("%s\n", path);
	for (int i = 0; i < kids.count && rc == ZOK; i++) {
		char *child = cli_join(path, kids.data[i]);

		rc = child != NULL ? cli_ls_tree(c, child, false) : ZSYSTEMERROR;
		free(child);
	}
	deallocate_String_vector(&kids);
	return rc;
}

int cli_cmd_ls(struct cli *c, int argc, char **argv)
{
	struct String_vector kids;
	struct cli_read r;
	struct Stat st;
	int rc = cli_read_begin(c, argc, argv, "+swR", &r);

	if (rc != CLI_EXIT_OK)
		return rc;
	if (r.recursive && (r.stat || r.watch)) {
		fprintf(stderr, "zkfs-cli: ls: -R cannot be combined with -s or -w\n");
		return CLI_EXIT_USAGE;
	}
	if (r.recursive) {
		rc = cli_ls_tree(c, r.path, true);
		return rc == ZOK ? CLI_EXIT_OK : cli_fail(rc, "ls", r.path);
	}
	rc = cli_children(c, r.path, r.watch, &kids, &st);
	if (rc != ZOK)
		return cli_fail(rc, "ls", r.path);
	printf("[");
	for (int i = 0; i < kids.count; i++)
		printf("%s%s", i > 0 ? ", " : "", kids.data[i]);
	printf("]\n");
	deallocate_String_vector(&kids);
	if (r.stat)
		cli_print_stat(&st);
	return r.watch ? cli_wait_event(c) : CLI_EXIT_OK;
}

/* getData into a buffer sized from the node's stat (retried if the data grew meanwhile).
 * *@data is malloc'd, *@len -1 for null data. */
static int cli_get_data(struct cli *c, const struct cli_read *r, char **data, int *len,
			struct Stat *st)
{
	int rc = zoo_exists(c->zh, r->path, 0, st);

	while (rc == ZOK) {
		int cap = st->dataLength + 1;

		*data = malloc((size_t)cap);
		if (*data == NULL)
			return ZSYSTEMERROR;
		*len = cap;
		rc = r->watch ? zoo_wget(c->zh, r->path, cli_wait_watcher, &c->wait, *data, len, st)
			      : zoo_get(c->zh, r->path, 0, *data, len, st);
		if (rc == ZOK && st->dataLength < cap)
			return ZOK;
		free(*data);
		*data = NULL;
	}
	return rc;
}

int cli_cmd_get(struct cli *c, int argc, char **argv)
{
	struct cli_read r;
	struct Stat st;
	char *data = NULL;
	int len = -1, rc = cli_read_begin(c, argc, argv, "+sw", &r);

	if (rc != CLI_EXIT_OK)
		return rc;
	rc = cli_get_data(c, &r, &data, &len, &st);
	if (rc != ZOK) {
		free(data);
		return cli_fail(rc, "get", r.path);
	}
	/* The bytes exactly as stored; a newline only to keep a terminal or the stat readable. */
	if (len > 0)
		fwrite(data, 1, (size_t)len, stdout);
	if ((r.stat || c->interactive || isatty(STDOUT_FILENO)) && len > 0 && data[len - 1] != '\n')
		putchar('\n');
	free(data);
	if (r.stat)
		cli_print_stat(&st);
	return r.watch ? cli_wait_event(c) : CLI_EXIT_OK;
}

int cli_cmd_stat(struct cli *c, int argc, char **argv)
{
	struct cli_read r;
	struct Stat st;
	int rc = cli_read_begin(c, argc, argv, "+w", &r);

	if (rc != CLI_EXIT_OK)
		return rc;
	rc = r.watch ? zoo_wexists(c->zh, r.path, cli_wait_watcher, &c->wait, &st)
		     : zoo_exists(c->zh, r.path, 0, &st);
	if (rc != ZOK)
		return cli_fail(rc, "stat", r.path);
	cli_print_stat(&st);
	return r.watch ? cli_wait_event(c) : CLI_EXIT_OK;
}

/* Delete @path and everything under it, children first. */
static int cli_delete_tree(struct cli *c, const char *path)
{
	struct String_vector kids;
	struct Stat st;
	int rc = cli_children(c, path, false, &kids, &st);

	if (rc != ZOK)
		return rc;
	for (int i = 0; i < kids.count && (rc == ZOK || rc == ZNONODE); i++) {
		char *child = cli_join(path, kids.data[i]);

		rc = child != NULL ? cli_delete_tree(c, child) : ZSYSTEMERROR;
		free(child);
	}
	deallocate_String_vector(&kids);
	if (rc == ZOK || rc == ZNONODE)
		rc = zoo_delete(c->zh, path, -1);
	return rc;
}

int cli_cmd_deleteall(struct cli *c, int argc, char **argv)
{
	struct cli_read r;
	int rc = cli_read_begin(c, argc, argv, "+", &r);

	if (rc != CLI_EXIT_OK)
		return rc;
	rc = cli_delete_tree(c, r.path);
	return rc == ZOK ? CLI_EXIT_OK : cli_fail(rc, "deleteall", r.path);
}

/* zoo_async has no synchronous twin: wait for its completion here. */
struct cli_sync {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool done;
	int rc;
};

static void cli_sync_done(int rc, const char *value, const void *data)
{
	struct cli_sync *s = (struct cli_sync *)data;

	pthread_mutex_lock(&s->mu);
	s->rc = rc;
	s->done = true;
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mu);
}

int cli_cmd_sync(struct cli *c, int argc, char **argv)
{
	struct cli_sync s = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false, ZOK};
	struct cli_read r;
	int rc = cli_read_begin(c, argc, argv, "+", &r);

	if (rc != CLI_EXIT_OK)
		return rc;
	/* The completion always fires, with ZCONNECTIONLOSS/ZCLOSING at worst. */
	rc = zoo_async(c->zh, r.path, cli_sync_done, &s);
	pthread_mutex_lock(&s.mu);
	while (rc == ZOK && !s.done)
		pthread_cond_wait(&s.cv, &s.mu);
	pthread_mutex_unlock(&s.mu);
	if (rc == ZOK)
		rc = s.rc;
	return rc == ZOK ? CLI_EXIT_OK : cli_fail(rc, "sync", r.path);
}
