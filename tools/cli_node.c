/* cli_node: zkfs-cli's znode commands over client/'s calls (each waited for), with zkCli's
 * flags and output: create, ls, get, set, stat, delete, deleteall, sync. */
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

/* create, set and delete: parse, open the session, one call. */
static int cli_write_cmd(struct cli *c, enum cli_write_type type, int argc, char **argv)
{
	struct zkclient_wait wt;
	struct cli_res res;
	struct cli_write w;
	int rc = cli_write_parse(type, argc, argv, true, &w);

	if (rc != CLI_EXIT_OK)
		return rc;
	rc = cli_session(c);
	if (rc != ZK_ERR_OK) {
		cli_write_free(&w);
		return cli_exit_status(rc);
	}
	cli_res_wait(&wt, &res);
	if (type == CLI_CREATE)
		rc = zkclient_create(c->zc, w.path, w.data, w.len, NULL, w.mode, w.ttl, false,
				     zkclient_wait_cb, &wt);
	else if (type == CLI_SET)
		rc = zkclient_set_data(c->zc, w.path, w.data, w.len, w.version, zkclient_wait_cb,
				       &wt);
	else
		rc = zkclient_delete(c->zc, w.path, w.version, zkclient_wait_cb, &wt);
	rc = cli_res_finish(&wt, rc);
	if (rc == ZK_ERR_OK && type == CLI_CREATE)
		printf("%s\n", res.path != NULL ? res.path : "");
	cli_res_free(&res);
	cli_write_free(&w);
	return rc == ZK_ERR_OK ? CLI_EXIT_OK : cli_fail(rc, argv[0], w.path);
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

/* Children of @path, sorted, into @res (free with cli_res_free). */
static int cli_children(struct cli *c, const char *path, bool watch, struct cli_res *res)
{
	struct zkclient_wait w;

	cli_res_wait(&w, res);
	return cli_res_finish(&w, zkclient_get_children(c->zc, path, watch, true,
							 zkclient_wait_cb, &w));
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
	struct cli_res kids;
	int rc = cli_children(c, path, false, &kids);

	/* A child deleted while we walk is not an error of the listing. */
	if (rc == ZK_ERR_NONODE && !top)
		rc = ZK_ERR_OK;
	else if (rc == ZK_ERR_OK)
		printf("%s\n", path);
	for (int i = 0; i < kids.n_names && rc == ZK_ERR_OK; i++) {
		char *child = cli_join(path, kids.names[i]);

		rc = child != NULL ? cli_ls_tree(c, child, false) : ZK_ERR_SYSTEMERROR;
		free(child);
	}
	cli_res_free(&kids);
	return rc;
}

int cli_cmd_ls(struct cli *c, int argc, char **argv)
{
	struct cli_res kids;
	struct cli_read r;
	int rc = cli_read_begin(c, argc, argv, "+swR", &r);

	if (rc != CLI_EXIT_OK)
		return rc;
	if (r.recursive && (r.stat || r.watch)) {
		fprintf(stderr, "zkfs-cli: ls: -R cannot be combined with -s or -w\n");
		return CLI_EXIT_USAGE;
	}
	if (r.recursive) {
		rc = cli_ls_tree(c, r.path, true);
		return rc == ZK_ERR_OK ? CLI_EXIT_OK : cli_fail(rc, "ls", r.path);
	}
	rc = cli_children(c, r.path, r.watch, &kids);
	if (rc != ZK_ERR_OK) {
		cli_res_free(&kids);
		return cli_fail(rc, "ls", r.path);
	}
	printf("[");
	for (int i = 0; i < kids.n_names; i++)
		printf("%s%s", i > 0 ? ", " : "", kids.names[i]);
	printf("]\n");
	if (r.stat)
		cli_print_stat(&kids.stat);
	cli_res_free(&kids);
	return r.watch ? cli_wait_event(c) : CLI_EXIT_OK;
}

int cli_cmd_get(struct cli *c, int argc, char **argv)
{
	struct zkclient_wait w;
	struct cli_res res;
	struct cli_read r;
	int rc = cli_read_begin(c, argc, argv, "+sw", &r);

	if (rc != CLI_EXIT_OK)
		return rc;
	cli_res_wait(&w, &res);
	rc = cli_res_finish(&w, zkclient_get_data(c->zc, r.path, r.watch, zkclient_wait_cb, &w));
	if (rc != ZK_ERR_OK) {
		cli_res_free(&res);
		return cli_fail(rc, "get", r.path);
	}
	/* The bytes exactly as stored; a newline only to keep a terminal or the stat readable. */
	if (res.len > 0)
		fwrite(res.data, 1, (size_t)res.len, stdout);
	if ((r.stat || c->interactive || isatty(STDOUT_FILENO)) && res.len > 0 &&
	    res.data[res.len - 1] != '\n')
		putchar('\n');
	if (r.stat)
		cli_print_stat(&res.stat);
	cli_res_free(&res);
	return r.watch ? cli_wait_event(c) : CLI_EXIT_OK;
}

int cli_cmd_stat(struct cli *c, int argc, char **argv)
{
	struct zkclient_wait w;
	struct cli_res res;
	struct cli_read r;
	int rc = cli_read_begin(c, argc, argv, "+w", &r);

	if (rc != CLI_EXIT_OK)
		return rc;
	cli_res_wait(&w, &res);
	rc = cli_res_finish(&w, zkclient_exists(c->zc, r.path, r.watch, zkclient_wait_cb, &w));
	if (rc != ZK_ERR_OK) {
		cli_res_free(&res);
		return cli_fail(rc, "stat", r.path);
	}
	cli_print_stat(&res.stat);
	cli_res_free(&res);
	return r.watch ? cli_wait_event(c) : CLI_EXIT_OK;
}

/* Delete @path and everything under it, children first. */
static int cli_delete_tree(struct cli *c, const char *path)
{
	struct zkclient_wait w;
	struct cli_res kids;
	int rc = cli_children(c, path, false, &kids);

	for (int i = 0; i < kids.n_names && (rc == ZK_ERR_OK || rc == ZK_ERR_NONODE); i++) {
		char *child = cli_join(path, kids.names[i]);

		rc = child != NULL ? cli_delete_tree(c, child) : ZK_ERR_SYSTEMERROR;
		free(child);
	}
	cli_res_free(&kids);
	if (rc != ZK_ERR_OK && rc != ZK_ERR_NONODE)
		return rc;
	zkclient_wait_init(&w, NULL, NULL);
	return cli_res_finish(&w, zkclient_delete(c->zc, path, -1, zkclient_wait_cb, &w));
}

int cli_cmd_deleteall(struct cli *c, int argc, char **argv)
{
	struct cli_read r;
	int rc = cli_read_begin(c, argc, argv, "+", &r);

	if (rc != CLI_EXIT_OK)
		return rc;
	rc = cli_delete_tree(c, r.path);
	return rc == ZK_ERR_OK ? CLI_EXIT_OK : cli_fail(rc, "deleteall", r.path);
}

int cli_cmd_sync(struct cli *c, int argc, char **argv)
{
	struct zkclient_wait w;
	struct cli_read r;
	int rc = cli_read_begin(c, argc, argv, "+", &r);

	if (rc != CLI_EXIT_OK)
		return rc;
	zkclient_wait_init(&w, NULL, NULL);
	rc = cli_res_finish(&w, zkclient_sync(c->zc, r.path, zkclient_wait_cb, &w));
	return rc == ZK_ERR_OK ? CLI_EXIT_OK : cli_fail(rc, "sync", r.path);
}
