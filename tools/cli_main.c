/* cli_main: zkfs-cli's entry point: global options as zkCli spells them (-server HOSTS,
 * -timeout MS), one command from the command line, or an interactive shell (with libedit
 * history when built with it) when no command is given. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "tools/cli.h"
#include "common/zk_log.h"

#ifdef HAVE_LIBEDIT
#include <editline/readline.h>
#endif

typedef int (*cli_cmd_fn)(struct cli *c, int argc, char **argv);

static const struct {
	const char *name;
	cli_cmd_fn fn;
	const char *usage;
} cli_cmds[] = {
	{"create", cli_cmd_create, "create [-s] [-e] [-c] [-t ttl] [-f file] path [data|-]"},
	{"ls", cli_cmd_ls, "ls [-s] [-w] [-R] path"},
	{"get", cli_cmd_get, "get [-s] [-w] path"},
	{"set", cli_cmd_set, "set [-v version] [-f file] path data|-"},
	{"stat", cli_cmd_stat, "stat [-w] path"},
	{"delete", cli_cmd_delete, "delete [-v version] path"},
	{"deleteall", cli_cmd_deleteall, "deleteall path"},
	{"sync", cli_cmd_sync, "sync path"},
	{"watch", cli_cmd_watch, "watch [-R] path"},
	{"multi", cli_cmd_multi, "multi [file|-]"},
};

#define N_CMDS (sizeof(cli_cmds) / sizeof(cli_cmds[0]))

static void cli_help(FILE *out)
{
	fprintf(out, "usage: zkfs-cli [-server host:port[,host:port...][/chroot]] [-timeout ms]\n"
		     "                [-tls] [-tls-ca FILE] [-tls-cert FILE -tls-key FILE]\n"
		     "                [-v] [cmd args...]\n"
		     "       zkfs-cli backup HOST:ADMINPORT[,HOST:ADMINPORT...] FILE\n"
		     "With no command, an interactive shell (help, quit; its exit status is\n"
		     "the last command's). Commands:\n");
	for (size_t i = 0; i < N_CMDS; i++)
		fprintf(out, "  %s\n", cli_cmds[i].usage);
	fprintf(out,
		"  ruok | srvr | mntr | conf | cons | dump | envi | wchs | ... | 4lw WORD\n"
		"      four-letter word, answer printed as the server sends it\n"
		"Data: the argument as is, \"-\" for all of stdin, or -f file (binary safe).\n"
		"get prints the bytes exactly (a newline is added only on a terminal or with -s).\n"
		"-w: wait for the watch to fire and print it (the shell prints it when it fires).\n"
		"watch: persistent watch (addWatch; -R recursive), prints events until SIGINT.\n"
		"multi: one op per line, all applied or none; prints created paths:\n"
		"  create [-s] [-e] [-c] [-f file] path [data] | set [-v version] [-f file] path "
		"data\n"
		"  delete [-v version] path | check -v version path | # comment\n"
		"-tls: speak TLS (the server's secureClientPort); -tls-ca: CA file (PEM; default: the\n"
		"system's), -tls-cert/-tls-key: client certificate and key (PEM). Each implies -tls.\n"
		"-v: the client's log on stderr (-v -v: debug); otherwise only errors.\n"
		"Exit status (errors are also named on stderr):\n");
	if (out == stdout)
		cli_print_exits();
}

static int cli_run(struct cli *c, int argc, char **argv)
{
	if (strcmp(argv[0], "4lw") == 0) {
		if (argc == 2)
			return cli_fourlw(c, argv[1]);
		fprintf(stderr, "zkfs-cli: 4lw: needs one word\n");
		return CLI_EXIT_USAGE;
	}
	if (cli_fourlw_known(argv[0]) && argc == 1)
		return cli_fourlw(c, argv[0]);
	for (size_t i = 0; i < N_CMDS; i++) {
		if (strcmp(argv[0], cli_cmds[i].name) == 0)
			return cli_cmds[i].fn(c, argc, argv);
	}
	fprintf(stderr, "zkfs-cli: unknown command \"%s\" (see zkfs-cli --help)\n", argv[0]);
	return CLI_EXIT_USAGE;
}

static void cli_on_signal(int sig)
{
	cli_interrupted = 1;
}

/* SIGINT/SIGTERM end waits (watch, -w) cleanly; no SA_RESTART so blocking calls return. */
static void cli_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = cli_on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

static char *cli_readline(struct cli *c, int n)
{
	char prompt[512];

	snprintf(prompt, sizeof(prompt), "[zk: %s(%s) %d] ", c->hosts,
		 c->zc == NULL || zkclient_connected(c->zc) ? "CONNECTED" : "CONNECTING",
		 n);
#ifdef HAVE_LIBEDIT
	{
		char *line = readline(prompt);

		if (line != NULL && line[0] != '\0')
			add_history(line);
		return line;
	}
#else
	{
		char *line = NULL;
		size_t cap = 0;

		fputs(prompt, stdout);
		fflush(stdout);
		if (getline(&line, &cap, stdin) < 0) {
			free(line);
			return NULL;
		}
		return line;
	}
#endif
}

/* The shell: each line is one command; errors are printed and the shell goes on. */
static int cli_shell(struct cli *c)
{
	int n = 0, rc = CLI_EXIT_OK, argc;
	char *line, **argv;

	c->interactive = true;
	c->wait.print_now = true;
	while ((line = cli_readline(c, n++)) != NULL) {
		cli_interrupted = 0;
		argc = cli_split(line, &argv);
		if (argc < 0) {
			fprintf(stderr, "zkfs-cli: unterminated quote\n");
		} else if (argc > 0 && (strcmp(argv[0], "quit") == 0 ||
					strcmp(argv[0], "exit") == 0)) {
			free(argv);
			free(line);
			break;
		} else if (argc > 0 && strcmp(argv[0], "help") == 0) {
			cli_help(stdout);
		} else if (argc > 0) {
			rc = cli_run(c, argc, argv);
		}
		free(argv);
		free(line);
	}
	return rc;
}

/* -tls-ca/-tls-cert/-tls-key FILE: true when @opt is one of them with a @file. */
static bool cli_tls_file(struct cli *c, const char *opt, const char *file)
{
	const char **dst = strcmp(opt, "-tls-ca") == 0	   ? &c->tls_ca
			   : strcmp(opt, "-tls-cert") == 0 ? &c->tls_cert
			   : strcmp(opt, "-tls-key") == 0  ? &c->tls_key
							   : NULL;

	if (dst == NULL || file == NULL)
		return false;
	*dst = file;
	c->tls = true;
	return true;
}

/* Global options, zkCli's single-dash spelling. Returns the index of the command, or -1. */
static int cli_options(struct cli *c, int argc, char **argv)
{
	int i = 1;

	for (; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			cli_help(stdout);
			exit(CLI_EXIT_OK);
		} else if (strcmp(argv[i], "-v") == 0) {
			c->verbose++;
		} else if ((strcmp(argv[i], "-server") == 0 || strcmp(argv[i], "--server") == 0) &&
			   i + 1 < argc) {
			c->hosts = argv[++i];
		} else if ((strcmp(argv[i], "-timeout") == 0 ||
			    strcmp(argv[i], "--timeout") == 0) &&
			   i + 1 < argc && atoi(argv[i + 1]) > 0) {
			c->session_ms = atoi(argv[++i]);
		} else if (strcmp(argv[i], "-tls") == 0) {
			c->tls = true;
		} else if (cli_tls_file(c, argv[i], i + 1 < argc ? argv[i + 1] : NULL)) {
			i++;
		} else {
			fprintf(stderr, "zkfs-cli: bad option %s\n", argv[i]);
			cli_help(stderr);
			return -1;
		}
	}
	return i;
}

int main(int argc, char **argv)
{
	struct cli c = {.hosts = "127.0.0.1:2181", .session_ms = 30000, .connect_ms = 10000};
	int first, rc;

	if (argc > 1 && strcmp(argv[1], "backup") == 0)
		return cli_backup(argc - 1, argv + 1);
	first = cli_options(&c, argc, argv);
	if (first < 0)
		return CLI_EXIT_USAGE;
	/* Waiting for a server never takes longer than the session could live. */
	if (c.connect_ms > c.session_ms)
		c.connect_ms = c.session_ms;
	zk_log_open(NULL, c.verbose >= 2 ? ZK_LOG_LEVEL_DEBUG
					 : c.verbose == 1 ? ZK_LOG_LEVEL_WARN : ZK_LOG_LEVEL_ERROR);
	cli_wait_init(&c.wait);
	cli_signals();
	rc = first < argc ? cli_run(&c, argc - first, argv + first) : cli_shell(&c);
	fflush(stdout);
	if (c.zc != NULL)
		zkclient_close(c.zc);
	cli_wait_destroy(&c.wait);
	return rc;
}
