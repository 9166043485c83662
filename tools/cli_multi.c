/* cli_multi: `multi [FILE|-]` reads one op per line (syntax in cli.h) and submits them as one
 * ZooKeeper multi: all applied or none. Prints each created path; on failure names the op that
 * failed and exits with its error's status. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/cli.h"

#define CLI_MULTI_MAX 1000

struct cli_multi {
	struct cli_write w[CLI_MULTI_MAX];
	char *lines[CLI_MULTI_MAX];	    /* Owned: the words of w[i] point into them. */
	char **words[CLI_MULTI_MAX];	    /* Owned arrays from cli_split. */
	struct jute_multi_op ops[CLI_MULTI_MAX];
	int n;
};

static const struct {
	const char *name;
	enum cli_write_type type;
} cli_multi_types[] = {
	{"create", CLI_CREATE}, {"set", CLI_SET}, {"delete", CLI_DELETE}, {"check", CLI_CHECK}};

/* Parse @line (taken over) as op number m->n. Returns a CLI_EXIT_*; blank lines add nothing. */
static int cli_multi_line(struct cli_multi *m, char *line, int lineno, bool stdin_ok)
{
	int argc, rc = CLI_EXIT_USAGE;
	bool matched = false;
	char **argv;

	m->lines[m->n] = line;
	argc = cli_split(line, &argv);
	if (argc < 0) {
		free(line);
		m->lines[m->n] = NULL;
		fprintf(stderr, "zkfs-cli: multi line %d: unterminated quote\n", lineno);
		return CLI_EXIT_USAGE;
	}
	m->words[m->n] = argv;
	if (argc == 0 || argv[0][0] == '#') {
		free(argv);
		free(line);
		m->words[m->n] = NULL;
		m->lines[m->n] = NULL;
		return CLI_EXIT_OK;
	}
	for (size_t i = 0; i < sizeof(cli_multi_types) / sizeof(cli_multi_types[0]); i++) {
		if (strcmp(argv[0], cli_multi_types[i].name) == 0) {
			matched = true;
			rc = cli_write_parse(cli_multi_types[i].type, argc, argv, stdin_ok,
					     &m->w[m->n]);
		}
	}
	if (!matched)
		fprintf(stderr, "zkfs-cli: multi line %d: not an op: %s\n", lineno, argv[0]);
	else if (rc != CLI_EXIT_OK)
		fprintf(stderr, "zkfs-cli: multi line %d: rejected\n", lineno);
	m->n++;
	return rc;
}

static int cli_multi_read(struct cli_multi *m, FILE *f, bool stdin_ok)
{
	char *line = NULL;
	size_t cap = 0;
	int lineno = 0, rc = CLI_EXIT_OK;

	while (rc == CLI_EXIT_OK && getline(&line, &cap, f) >= 0) {
		if (m->n == CLI_MULTI_MAX) {
			fprintf(stderr, "zkfs-cli: multi: more than %d ops\n", CLI_MULTI_MAX);
			rc = CLI_EXIT_USAGE;
			break;
		}
		rc = cli_multi_line(m, line, ++lineno, stdin_ok);
		line = NULL;
		cap = 0;
	}
	free(line);
	if (rc == CLI_EXIT_OK && ferror(f)) {
		fprintf(stderr, "zkfs-cli: multi: read error: %s\n", strerror(errno));
		rc = CLI_EXIT_IO;
	}
	return rc;
}

static struct jute_str cli_multi_str(const char *s)
{
	return (struct jute_str){s, (int32_t)strlen(s)};
}

static void cli_multi_prepare(struct cli_multi *m)
{
	for (int i = 0; i < m->n; i++) {
		struct cli_write *w = &m->w[i];
		struct jute_multi_op *op = &m->ops[i];
		struct jute_bytes data = {(const uint8_t *)w->data, w->len};

		memset(op, 0, sizeof(*op));
		switch (w->type) {
		case CLI_CREATE:
			op->type = w->ttl > 0 ? ZK_OP_CREATE_TTL
			       : w->mode == ZK_MODE_CONTAINER ? ZK_OP_CREATE_CONTAINER
							       : ZK_OP_CREATE;
			op->u.create_ttl = (struct jute_create_ttl_request){
				cli_multi_str(w->path), data, zkclient_acl_open, w->mode, w->ttl};
			break;
		case CLI_SET:
			op->type = ZK_OP_SET_DATA;
			op->u.set_data = (struct jute_set_data_request){cli_multi_str(w->path),
									data, w->version};
			break;
		case CLI_DELETE:
			op->type = ZK_OP_DELETE;
			op->u.delete = (struct jute_delete_request){cli_multi_str(w->path),
								    w->version};
			break;
		case CLI_CHECK:
			op->type = ZK_OP_CHECK;
			op->u.check_version = (struct jute_check_version_request){
				cli_multi_str(w->path), w->version};
			break;
		}
	}
}

/* After a failed multi, ZooKeeper marks the ops it rolled back RuntimeInconsistency and
 * gives the failing op its own error: report that one. */
static int cli_multi_report(struct cli_multi *m, const struct cli_res *res, int rc)
{
	if (rc == ZK_ERR_OK) {
		for (int i = 0; i < m->n && i < res->n_results; i++) {
			if (m->w[i].type == CLI_CREATE && res->paths[i] != NULL)
				printf("%s\n", res->paths[i]);
		}
		return CLI_EXIT_OK;
	}
	for (int i = 0; i < m->n && i < res->n_results; i++) {
		int err = res->errs[i];

		if (err != ZK_ERR_OK && err != ZK_ERR_RUNTIMEINCONSISTENCY) {
			fprintf(stderr, "zkfs-cli: multi op %d (%s %s) failed\n", i + 1,
				m->words[i][0], m->w[i].path);
			return cli_fail(err, "multi", m->w[i].path);
		}
	}
	return cli_fail(rc, "multi", NULL);
}

static void cli_multi_free(struct cli_multi *m)
{
	for (int i = 0; i < m->n; i++) {
		cli_write_free(&m->w[i]);
		free(m->words[i]);
		free(m->lines[i]);
	}
	free(m);
}

int cli_cmd_multi(struct cli *c, int argc, char **argv)
{
	struct cli_multi *m = calloc(1, sizeof(*m));
	bool from_stdin = argc < 2 || strcmp(argv[1], "-") == 0;
	FILE *f = from_stdin ? stdin : fopen(argv[1], "r");
	int rc;

	if (m == NULL || argc > 2 || f == NULL) {
		if (f == NULL)
			fprintf(stderr, "zkfs-cli: multi: %s: %s\n", argv[1], strerror(errno));
		else if (argc > 2)
			fprintf(stderr, "zkfs-cli: multi: takes one file (or - for stdin)\n");
		if (f != NULL && f != stdin)
			fclose(f);
		free(m);
		return argc > 2 ? CLI_EXIT_USAGE : CLI_EXIT_IO;
	}
	rc = cli_multi_read(m, f, !from_stdin);
	if (f != stdin)
		fclose(f);
	if (rc == CLI_EXIT_OK && m->n == 0) {
		fprintf(stderr, "zkfs-cli: multi: no ops\n");
		rc = CLI_EXIT_USAGE;
	}
	if (rc == CLI_EXIT_OK) {
		int zrc = cli_session(c);

		if (zrc == ZK_ERR_OK) {
			struct zkclient_wait w;
			struct cli_res res;

			cli_multi_prepare(m);
			cli_res_wait(&w, &res);
			zrc = cli_res_finish(&w, zkclient_multi(c->zc, m->ops, m->n, false,
								 zkclient_wait_cb, &w));
			rc = cli_multi_report(m, &res, zrc);
			cli_res_free(&res);
		} else {
			rc = cli_exit_status(zrc);
		}
	}
	cli_multi_free(m);
	return rc;
}
