/* zk_log: levelled log lines for every zkfs program.
 *
 * One logger per process, configured once at start-up (zk_log_open) from the main thread before
 * other threads start; after that zk_log_* may be called from any thread (each line is written
 * with a single write(2)). Lines look like:
 *   2026-11-25T20:18:16.123Z WARN  conn.c:120 refused connection from 127.0.0.1: too many
 * Names avoid libzookeeper_mt's exported log_message/logLevel (see STYLE.md §3). */
#ifndef ZK_LOG_H
#define ZK_LOG_H

#include <stdarg.h>
#include <stddef.h>

enum zk_log_level {
	ZK_LOG_LEVEL_ERROR = 0,
	ZK_LOG_LEVEL_WARN,
	ZK_LOG_LEVEL_INFO,
	ZK_LOG_LEVEL_DEBUG,
};

/* Send lines at or above @level to @path (appended), or to stderr when @path is NULL or "-".
 * Returns 0 or a negative errno (the previous destination stays in use; -ENAMETOOLONG past
 * 4095 bytes). */
int zk_log_open(const char *path, enum zk_log_level level);

/* Reopen the file given to zk_log_open under the same name (logrotate moved it away: the new
 * file is created), for SIGHUP. Lines written meanwhile by other threads go to the old or the
 * new file, none is lost or cut: the new file takes the place of the old descriptor in one
 * dup2(2). Async-signal-safe (open, dup2, fcntl, close only), so it may run in a signal
 * handler; logging that it happened may not. Must not race zk_log_open.
 * Returns 0 (also when logging to stderr: nothing to reopen) or a negative errno (the old file
 * stays in use). */
int zk_log_reopen(void);

/* The file zk_log_open was given, or NULL when logging to stderr. Borrowed. */
const char *zk_log_path(void);

/* Set the threshold only. */
void zk_log_set_level(enum zk_log_level level);

/* Parse "error", "warn", "info" or "debug" (any case). Returns 0 or -EINVAL. */
int zk_log_parse_level(const char *name, enum zk_log_level *out);

/* True when a line at @level would be written (to skip costly formatting). */
int zk_log_enabled(enum zk_log_level level);

void zk_log_write(enum zk_log_level level, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Log @len bytes of @data as hex (at most the first 64), after a formatted prefix. Used for
 * samples of malformed client frames. */
void zk_log_hex(enum zk_log_level level, const char *file, int line, const void *data, size_t len,
		const char *fmt, ...) __attribute__((format(printf, 6, 7)));

#define zk_log_error(...) zk_log_write(ZK_LOG_LEVEL_ERROR, __FILE__, __LINE__, __VA_ARGS__)
#define zk_log_warn(...) zk_log_write(ZK_LOG_LEVEL_WARN, __FILE__, __LINE__, __VA_ARGS__)
#define zk_log_info(...) zk_log_write(ZK_LOG_LEVEL_INFO, __FILE__, __LINE__, __VA_ARGS__)
#define zk_log_debug(...)                                                                  \
	do {                                                                               \
		if (zk_log_enabled(ZK_LOG_LEVEL_DEBUG))                                    \
			zk_log_write(ZK_LOG_LEVEL_DEBUG, __FILE__, __LINE__, __VA_ARGS__); \
	} while (0)

/* A decoder or loader found bytes that cannot be right: log where, return -EBADMSG. */
#define ZK_CORRUPT() zk_log_corrupt(__FILE__, __LINE__)
int zk_log_corrupt(const char *file, int line);

#endif
