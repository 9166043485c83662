/* cli: zkfs-cli, a zkCli-style command line over client/ (its synchronous wrapper).
 *
 * One command per invocation (`zkfs-cli -server HOSTS cmd args...`) or an interactive shell.
 * Every command returns an exit status from CLI_EXITS, so scripts can branch on the ZooKeeper
 * error; the error's name goes to stderr. Module-private header of tools/cli_*.c. */
#ifndef CLI_H
#define CLI_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "client/zkclient.h"

/* Exit statuses: X(status, NAME, "what it means"), printed by --help. */
#define CLI_EXITS(X)                                                                          \
	X(0, OK, "success")                                                                   \
	X(1, ERROR, "another ZooKeeper error (SystemError, MarshallingError, ...)")           \
	X(2, USAGE, "usage: unknown command, bad option or argument, unreadable multi line")  \
	X(3, CONNECTION, "ConnectionLoss/OperationTimeout: no server answered, or it went away") \
	X(4, NONODE, "NoNode")                                                                \
	X(5, NODEEXISTS, "NodeExists")                                                        \
	X(6, BADVERSION, "BadVersion")                                                        \
	X(7, NOTEMPTY, "NotEmpty")                                                            \
	X(8, NOCHILDRENFOREPHEMERALS, "NoChildrenForEphemerals")                              \
	X(9, NOAUTH, "NoAuth, AuthFailed, InvalidACL")                                        \
	X(10, BADARGUMENTS, "BadArguments (e.g. an invalid path)")                            \
	X(11, UNIMPLEMENTED, "Unimplemented (e.g. TTL nodes or addWatch not enabled)")        \
	X(12, SESSION, "SessionExpired, SessionMoved")                                        \
	X(13, IO, "local I/O: a data or multi file, stdin, a four-letter-word socket")        \
	X(130, INTERRUPTED, "interrupted (SIGINT) while waiting for a -w watch")

#define CLI_EXIT_ENUM_(status, name, text) CLI_EXIT_##name = status,
enum cli_exit { CLI_EXITS(CLI_EXIT_ENUM_) };
#undef CLI_EXIT_ENUM_

/* The one pending -w watch of a one-shot command, filled by the client's loop thread. */
struct cli_wait {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool print_now;	/* Interactive: print each event as it fires instead. */
	bool stream;	/* `watch`: print each event line as it fires. */
	bool fired;	/* An event arrived. */
	int type;	/* ZK_EVENT_* of that event. */
	int state;	/* ZK_STATE_* of that event. */
	char path[1024]; /* Its path (truncated). */
};

struct cli {
	const char *hosts;	/* -server value, borrowed from argv. */
	int session_ms;		/* -timeout: session timeout. */
	int connect_ms;		/* Deadline to connect. */
	int verbose;		/* -v count: library log level. */
	bool tls;		/* -tls (or any -tls-* file). */
	const char *tls_ca;	/* -tls-ca, -tls-cert, -tls-key: borrowed from argv, or NULL. */
	const char *tls_cert;
	const char *tls_key;
	bool interactive;	/* Shell mode: -w events print as they come. */
	struct zkclient *zc;	/* Session, opened by the first command that needs one. */
	struct cli_wait wait;	/* One-shot -w state. */
};

/* One write of a create/set/delete/check command or multi line. */
enum cli_write_type { CLI_CREATE, CLI_SET, CLI_DELETE, CLI_CHECK };

struct cli_write {
	enum cli_write_type type;
	const char *path;  /* Borrowed from the command's argv. */
	char *data;	   /* Owned (free with cli_write_free); NULL = null data. */
	int len;	   /* Bytes of @data, -1 when null. */
	int mode;	   /* ZK_MODE_*. */
	int64_t ttl;	   /* ms, for TTL modes; 0 otherwise. */
	int version;	   /* Expected version, -1 = any. */
};

/* cli_node.c: the znode commands. Each takes the command's argv (argv[0] = its name) and
 * returns a CLI_EXIT_* status, having printed the result or the error. */
int cli_cmd_create(struct cli *c, int argc, char **argv);
int cli_cmd_ls(struct cli *c, int argc, char **argv);
int cli_cmd_get(struct cli *c, int argc, char **argv);
int cli_cmd_set(struct cli *c, int argc, char **argv);
int cli_cmd_stat(struct cli *c, int argc, char **argv);
int cli_cmd_delete(struct cli *c, int argc, char **argv);
int cli_cmd_deleteall(struct cli *c, int argc, char **argv);
int cli_cmd_sync(struct cli *c, int argc, char **argv);

/* cli_write.c: parse a create/set/delete/check argv into @w (data read from -f FILE, "-" =
 * stdin, or the literal argument). @stdin_ok false refuses "-" (multi reading its ops from
 * stdin). Returns CLI_EXIT_OK, CLI_EXIT_USAGE or CLI_EXIT_IO, having printed why. */
int cli_write_parse(enum cli_write_type type, int argc, char **argv, bool stdin_ok,
		    struct cli_write *w);
void cli_write_free(struct cli_write *w);

/* cli_args.c: split @line in place into words (whitespace separated; '...' and "..." quote,
 * backslash escapes one character). *@argv is malloc'd (NULL-terminated), its words point into
 * @line. Returns the word count, or -1 on an unterminated quote or no memory. */
int cli_split(char *line, char ***argv);

/* cli_multi.c: `multi [FILE|-]`, one op per line:
 *   create [-s] [-e] [-c] [-f file] path [data] | set [-v version] [-f file] path data |
 *   delete [-v version] path | check -v version path     (# comments, blank lines skipped) */
int cli_cmd_multi(struct cli *c, int argc, char **argv);

/* cli_watch.c: `watch [-R] path` (addWatch, events printed until SIGINT) and the -w machinery
 * of ls/get/stat. */
int cli_cmd_watch(struct cli *c, int argc, char **argv);
void cli_wait_init(struct cli_wait *w);
void cli_wait_destroy(struct cli_wait *w);
/* The session's watch callback, with &c->wait as context. */
void cli_wait_watcher(void *ctx, int type, int state, const char *path);
/* In one-shot mode, block until the pending watch fires (print it, CLI_EXIT_OK) or SIGINT
 * (CLI_EXIT_INTERRUPTED). In interactive mode return CLI_EXIT_OK at once. */
int cli_wait_event(struct cli *c);

/* cli_fourlw.c: send a four-letter word to the first reachable host, print the answer. */
int cli_fourlw(struct cli *c, const char *word);
/* True when @word is a four-letter word zkfs-cli passes through as a command. */
bool cli_fourlw_known(const char *word);

/* cli_out.c: output, errors and synchronous calls. */
/* Open the session on first use. Returns ZK_ERR_OK or a ZooKeeper code (already reported). */
int cli_session(struct cli *c);

/* What a synchronous call keeps of its result (all malloc'd; cli_res_free). */
struct cli_res {
	char *path;		/* create: the created path. */
	char *data;		/* getData: the bytes (NUL added), NULL for null data. */
	int len;		/* Bytes of data, -1 when null. */
	struct zk_stat stat;
	char **names;		/* getChildren: sorted names. */
	int n_names;
	int *errs;		/* multi: each op's code. */
	char **paths;		/* multi: each create op's path (NULL otherwise). */
	int n_results;
};

/* Prepare @w to wait for one call whose result goes to @res (zeroed here). */
void cli_res_wait(struct zkclient_wait *w, struct cli_res *res);
/* Wait for the call that returned @submit_rc (0 or a negative errno: no callback) and return
 * its ZooKeeper code. */
int cli_res_finish(struct zkclient_wait *w, int submit_rc);
void cli_res_free(struct cli_res *res);
/* Report @rc of @cmd on @path (may be NULL) on stderr; returns its exit status. */
int cli_fail(int rc, const char *cmd, const char *path);
/* The exit status of a ZooKeeper code. */
int cli_exit_status(int rc);
void cli_print_stat(const struct zk_stat *st);
/* "WatchedEvent state:S type:T path:P", flushed (watch output goes to pipes). */
void cli_print_event(int type, int state, const char *path);
/* Print the exit status table (for --help). */
void cli_print_exits(void);
/* Set by the SIGINT/SIGTERM handler; commands that wait poll it. */
extern volatile int cli_interrupted;

/* `zkfs-cli backup HOSTS FILE` (cli_backup.c): argv[0] is "backup". Returns a CLI_EXIT_*. */
int cli_backup(int argc, char **argv);

#endif
