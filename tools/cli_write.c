/* cli_write: the argument syntax shared by the write commands and the lines of `multi`:
 *   create [-s] [-e] [-c] [-t ttl] [-f file] path [data]
 *   set [-v version] [-f file] path data
 *   delete [-v version] path
 *   check -v version path                      (multi only)
 * Data is the literal argument, "-" for all of stdin, or -f FILE, so binary values pass
 * untouched. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/cli.h"

/* Read all of @f into a new buffer. Returns 0 or -errno. */
static int cli_slurp(FILE *f, char **out, int *len)
{
	size_t cap = 4096, n = 0, got;
	char *buf = malloc(cap), *grown;

	if (buf == NULL)
		return -ENOMEM;
	while ((got = fread(buf + n, 1, cap - n, f)) > 0) {
		n += got;
		if (n == cap) {
			if (cap >= (size_t)1 << 30 || (grown = realloc(buf, cap * 2)) == NULL) {
				free(buf);
				return -EFBIG;
			}
			buf = grown;
			cap *= 2;
		}
	}
	if (ferror(f)) {
		free(buf);
		return -EIO;
	}
	*out = buf;
	*len = (int)n;
	return 0;
}

/* Fill @w's data from @file (may be NULL) or the literal @arg (may be NULL = null data). */
static int cli_write_data(struct cli_write *w, const char *file, const char *arg, bool stdin_ok)
{
	FILE *f;
	int rc;

	if (file == NULL && (arg == NULL || strcmp(arg, "-") != 0)) {
		w->len = arg != NULL ? (int)strlen(arg) : -1;
		w->data = arg != NULL ? strdup(arg) : NULL;
		return arg != NULL && w->data == NULL ? CLI_EXIT_IO : CLI_EXIT_OK;
	}
	if (file == NULL && !stdin_ok) {
		fprintf(stderr, "zkfs-cli: data \"-\" (stdin) is taken by the multi ops\n");
		return CLI_EXIT_USAGE;
	}
	f = file != NULL ? fopen(file, "rb") : stdin;
	if (f == NULL) {
		fprintf(stderr, "zkfs-cli: %s: %s\n", file, strerror(errno));
		return CLI_EXIT_IO;
	}
	rc = cli_slurp(f, &w->data, &w->len);
	if (f != stdin)
		fclose(f);
	if (rc != 0) {
		fprintf(stderr, "zkfs-cli: reading %s: %s\n", file != NULL ? file : "stdin",
			strerror(-rc));
		return CLI_EXIT_IO;
	}
	return CLI_EXIT_OK;
}

static int cli_usage_error(const char *cmd, const char *why)
{
	fprintf(stderr, "zkfs-cli: %s: %s (see zkfs-cli --help)\n", cmd, why);
	return CLI_EXIT_USAGE;
}

/* The create mode of zkCli's flag combination, or -1 when the flags conflict. */
static int cli_create_mode(bool seq, bool eph, bool container, bool ttl)
{
	if (container)
		return seq || eph || ttl ? -1 : ZK_MODE_CONTAINER;
	if (ttl)
		return eph ? -1
			   : seq ? ZK_MODE_PERSISTENT_SEQUENTIAL_WITH_TTL : ZK_MODE_PERSISTENT_WITH_TTL;
	if (eph)
		return seq ? ZK_MODE_EPHEMERAL_SEQUENTIAL : ZK_MODE_EPHEMERAL;
	return seq ? ZK_MODE_PERSISTENT_SEQUENTIAL : ZK_MODE_PERSISTENT;
}

static int cli_parse_int(const char *s, long long lo, long long hi, long long *out)
{
	char *end;

	errno = 0;
	*out = strtoll(s, &end, 10);
	return errno == 0 && end != s && *end == '\0' && *out >= lo && *out <= hi ? 0 : -1;
}

int cli_write_parse(enum cli_write_type type, int argc, char **argv, bool stdin_ok,
		    struct cli_write *w)
{
	static const char *const opts[] = {[CLI_CREATE] = "+:secf:t:", [CLI_SET] = "+:v:f:",
					   [CLI_DELETE] = "+:v:", [CLI_CHECK] = "+:v:"};
	static const int n_pos[] = {[CLI_CREATE] = 2, [CLI_SET] = 2, [CLI_DELETE] = 1,
				    [CLI_CHECK] = 1};
	bool seq = false, eph = false, container = false, has_ttl = false, has_v = false;
	const char *file = NULL, *cmd = argv[0];
	long long v;
	int opt;

	memset(w, 0, sizeof(*w));
	w->type = type;
	w->version = -1;
	w->len = -1;
	optind = 0;
	opterr = 0;
	while ((opt = getopt(argc, argv, opts[type])) != -1) {
		switch (opt) {
		case 's': seq = true; break;
		case 'e': eph = true; break;
		case 'c': container = true; break;
		case 'f': file = optarg; break;
		case 't':
			if (cli_parse_int(optarg, 1, INT64_MAX, &v) != 0)
				return cli_usage_error(cmd, "-t needs a TTL in ms > 0");
			has_ttl = true;
			w->ttl = v;
			break;
		case 'v':
			if (cli_parse_int(optarg, -1, INT32_MAX, &v) != 0)
				return cli_usage_error(cmd, "-v needs a version number");
			has_v = true;
			w->version = (int)v;
			break;
		case ':': return cli_usage_error(cmd, "an option is missing its argument");
		default: return cli_usage_error(cmd, "unknown option");
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1 || argc > n_pos[type] || argv[0][0] != '/')
		return cli_usage_error(cmd, "needs one absolute path (and data)");
	if (type == CLI_CHECK && !has_v)
		return cli_usage_error("check", "needs -v version");
	if (type == CLI_SET && argc == 1 && file == NULL)
		return cli_usage_error("set", "needs data, \"-\" (stdin) or -f file");
	if (file != NULL && argc == 2)
		return cli_usage_error(cmd, "give data or -f file, not both");
	w->path = argv[0];
	w->mode = cli_create_mode(seq, eph, container, has_ttl);
	if (w->mode < 0)
		return cli_usage_error("create", "-c excludes -s/-e/-t, and -e excludes -t");
	if (type != CLI_CREATE && type != CLI_SET)
		return CLI_EXIT_OK;
	return cli_write_data(w, file, argc == 2 ? argv[1] : NULL, stdin_ok);
}

void cli_write_free(struct cli_write *w)
{
	free(w->data);
	w->data = NULL;
}
